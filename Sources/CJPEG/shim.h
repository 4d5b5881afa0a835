// libjpeg-turbo from Debian (libjpeg62-turbo-dev). This module provides no stable Swift API: it
// wraps libjpeg's setjmp/longjmp error handling, which Swift cannot express.
#ifndef TRAJPROBE_CJPEG_SHIM_H
#define TRAJPROBE_CJPEG_SHIM_H
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <setjmp.h>
#include <jpeglib.h>

typedef struct {
    struct jpeg_error_mgr pub;
    jmp_buf jump;
} tp_jpeg_error_mgr;

static void tp_jpeg_error_exit(j_common_ptr cinfo) {
    tp_jpeg_error_mgr *err = (tp_jpeg_error_mgr *)cinfo->err;
    longjmp(err->jump, 1);
}

/// Warnings (corrupt-data recoveries) change no pixel; they are not printed.
static void tp_jpeg_output_message(j_common_ptr cinfo) { (void)cinfo; }

/// Decodes a baseline/progressive JPEG held in memory to interleaved 8-bit RGB with
/// libjpeg's defaults as OpenCV's `imread` leaves them (JDCT_ISLOW, fancy upsampling on, no
/// block smoothing change, no scaling); only the output colour order is RGB instead of BGR,
/// which libjpeg-turbo's colour converter fills with the same values.
///
/// Call with `out == NULL` to learn the size: returns 1 and sets `*width`, `*height`.
/// Returns 0 when `out` (at least `width * height * 3` bytes, `capacity`) was filled, -1 on a
/// JPEG error (message in `message`), -2 when the image is not 1- or 3-component YCbCr/grey.
static inline int tp_jpeg_decode_rgb(const unsigned char *data, size_t size, unsigned char *out,
                                     size_t capacity, int *width, int *height,
                                     char *message, size_t message_size) {
    struct jpeg_decompress_struct cinfo;
    tp_jpeg_error_mgr jerr;
    memset(&cinfo, 0, sizeof(cinfo));
    cinfo.err = jpeg_std_error(&jerr.pub);
    jerr.pub.error_exit = tp_jpeg_error_exit;
    jerr.pub.output_message = tp_jpeg_output_message;
    if (setjmp(jerr.jump)) {
        if (message && message_size > 0) {
            char buffer[JMSG_LENGTH_MAX];
            (*cinfo.err->format_message)((j_common_ptr)&cinfo, buffer);
            strncpy(message, buffer, message_size - 1);
            message[message_size - 1] = 0;
        }
        jpeg_destroy_decompress(&cinfo);
        return -1;
    }
    jpeg_create_decompress(&cinfo);
    jpeg_mem_src(&cinfo, data, (unsigned long)size);
    jpeg_read_header(&cinfo, TRUE);
    *width = (int)cinfo.image_width;
    *height = (int)cinfo.image_height;
    if (cinfo.num_components != 3 && cinfo.num_components != 1) {
        jpeg_destroy_decompress(&cinfo);
        return -2;
    }
    if (out == NULL || capacity < (size_t)cinfo.image_width * cinfo.image_height * 3) {
        jpeg_destroy_decompress(&cinfo);
        return 1;
    }
    cinfo.out_color_space = JCS_EXT_RGB;
    cinfo.out_color_components = 3;
    jpeg_start_decompress(&cinfo);
    size_t stride = (size_t)cinfo.output_width * 3;
    while (cinfo.output_scanline < cinfo.output_height) {
        JSAMPROW row = out + (size_t)cinfo.output_scanline * stride;
        jpeg_read_scanlines(&cinfo, &row, 1);
    }
    jpeg_finish_decompress(&cinfo);
    jpeg_destroy_decompress(&cinfo);
    return 0;
}

/// The libjpeg-turbo version compiled against, e.g. 2001005 for 2.1.5 (provenance records).
static inline int tp_jpeg_turbo_version(void) { return LIBJPEG_TURBO_VERSION_NUMBER; }
#endif
