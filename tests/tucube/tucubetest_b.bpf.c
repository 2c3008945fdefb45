/* tucubetest's code B: the same fast path, its micro-cube counting in slot 2. */
#define TUCUBETEST_CODE_B 1
#include "tucubetest.bpf.c"
