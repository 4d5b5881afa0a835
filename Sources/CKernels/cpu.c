#include "CKernels.h"

#include <stdlib.h>

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
