/* fuzz_ir.c — the IR text parser (ir/parse.c), then ir_verify; IR that
 * verifies goes through the passes (verified after each) and kernel
 * building.  The input is a .ir file with an optional `// RUN:` line (the
 * golden pass tests' --passes= selects the passes). */
#include "fuzz/fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *text = fuzz_text(data, size);
  fuzz_compile(text, size, true, false);
  free(text);
  return 0;
}
