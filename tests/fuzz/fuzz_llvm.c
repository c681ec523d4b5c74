/* fuzz_llvm.c — fuzz_source plus LLVM IR emission: kernels, plans, metadata
 * and entry points into one LLVM module, which must verify.  Optimisation and
 * object emission are LLVM's own code and are skipped.  Inputs are capped at
 * 4 KiB (also pass -max_len=4096): LLVM makes each input slow. */
#include "fuzz/fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size > 4096) return -1; /* -1: never added to the corpus */
  char *text = fuzz_text(data, size);
  fuzz_compile(text, size, false, true);
  free(text);
  return 0;
}
