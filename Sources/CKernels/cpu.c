#include "CKernels.h"

#include <stdlib.h>
#include <string.h>

int tp_kernels_use_avx2(void) {
#if defined(__x86_64__) || defined(__i386__)
    static int cached = -1;  // benign race: every thread computes the same value
    int v = __atomic_load_n(&cached, __ATOMIC_RELAXED);
    if (v < 0) {
        const char *off = getenv("TRAJPROBE_NO_AVX2");
        __builtin_cpu_init();
        v = (!(off && off[0] && off[0] != '0') && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) ? 1 : 0;
        __atomic_store_n(&cached, v, __ATOMIC_RELAXED);
    }
    return v;
#else
    return 0;
#endif
}

size_t tp_first_nonfinite(const float *values, size_t count) {
    // Blocks of 64 checked without branches (exponent all ones means NaN or infinity), then the
    // first block that has one is searched element by element.
    size_t i = 0;
    for (; i + 64 <= count; i += 64) {
        uint32_t bad = 0;
        for (int j = 0; j < 64; j++) {
            uint32_t bits;
            memcpy(&bits, values + i + j, sizeof bits);
            bad |= (uint32_t)((bits & 0x7f800000u) == 0x7f800000u);
        }
        if (bad) break;
    }
    for (; i < count; i++) {
        uint32_t bits;
        memcpy(&bits, values + i, sizeof bits);
        if ((bits & 0x7f800000u) == 0x7f800000u) return i;
    }
    return count;
}
