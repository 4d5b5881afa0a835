// libav* from Debian (FFmpeg 5.1). This module provides no stable Swift API: it wraps only the
// macros and variadic calls Swift cannot import.
#ifndef TRAJPROBE_CFFMPEG_SHIM_H
#define TRAJPROBE_CFFMPEG_SHIM_H
#include <libavformat/avformat.h>
#include <libavcodec/avcodec.h>
#include <libswscale/swscale.h>
#include <libswresample/swresample.h>
#include <libavutil/avutil.h>
#include <libavutil/channel_layout.h>
#include <libavutil/error.h>
#include <libavutil/imgutils.h>
#include <libavutil/opt.h>
#include <libavutil/samplefmt.h>
#include <libavutil/log.h>

static inline int tp_averror_eof(void) { return AVERROR_EOF; }
static inline int tp_averror_eagain(void) { return AVERROR(EAGAIN); }
static inline int tp_averror_invaliddata(void) { return AVERROR_INVALIDDATA; }
static inline int tp_averror_decoder_not_found(void) { return AVERROR_DECODER_NOT_FOUND; }
static inline int64_t tp_av_nopts_value(void) { return AV_NOPTS_VALUE; }
static inline AVRational tp_av_time_base_q(void) { return AV_TIME_BASE_Q; }
static inline int tp_av_time_base(void) { return AV_TIME_BASE; }

/// av_err2str is a macro over a compound literal; this writes into a caller buffer instead.
static inline const char *tp_av_err2str(int code, char *buf, size_t size) {
    av_strerror(code, buf, size);
    return buf;
}

/// Silences libav's stderr chatter (a corrupt file must fail with one typed error, not a log flood).
static inline void tp_av_quiet(void) { av_log_set_level(AV_LOG_QUIET); }

static inline void tp_channel_layout_default(AVChannelLayout *layout, int channels) {
    av_channel_layout_default(layout, channels);
}
#endif
