/* treloadtest's code B: the same fast path counting egress in slot 2. */
#define TRELOADTEST_CODE_B 1
#include "treloadtest.bpf.c"
