/* fuzz_source.c — source text through the frontend (lexer, parser, sema,
 * lowering), every pass of the pipeline (verified after each) and kernel
 * building; no LLVM (fuzz_llvm adds it).  The input is a .tex file, with an
 * optional `# RUN:` option line (fuzz.h). */
#include "fuzz/fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *text = fuzz_text(data, size);
  fuzz_compile(text, size, false, false);
  free(text);
  return 0;
}
