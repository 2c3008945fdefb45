/* treloadtest's code B: the same fast path counting egress in slots 2 and 4. */
#define TRELOADTEST_CODE_B 1
#include "treloadtest.bpf.c"
