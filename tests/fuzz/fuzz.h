/* fuzz.h — what the compiler harnesses share: the phases of the texc driver
 * (driver/compile.c) called as library functions on an in-memory text, with
 * diagnostics sent to a sink instead of stderr.
 *
 * The driver's own rules are kept: a text with a NUL byte is refused (texc
 * refuses it), IR read from text is verified before any pass, every pass is
 * followed by ir_verify (as TEXC_VERIFY=1 does in the test suite), and a
 * verifier problem after a pass or invalid LLVM IR is a compiler bug, so the
 * harness aborts on it and libFuzzer records the input.
 *
 * A text may start with the golden tests' option line, `# RUN: ARGS` (.tex)
 * or `// RUN: ARGS` (.ir), so the tests' files are seeds as they are:
 * -O0..-O3, --fast-math, --grad NAME, --grad-all, --wrt P,Q, --passes P,Q,
 * --disable-pass P,Q and --emit=ir (stop after the passes) are honoured;
 * other words are ignored.  Options texc would refuse (texc_options_error)
 * end the input as texc's usage error does. */
#ifndef TEXC_FUZZ_H
#define TEXC_FUZZ_H

#include <llvm-c/Analysis.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "driver.h"

/* Where diagnostics go: a valid program and a wrong one cost the same, and
 * the fuzzer's own output stays readable.  FUZZ_VERBOSE=1 shows them (to
 * see why a crashing input's earlier phases said what they said). */
static FILE *fuzz_sink(void) {
  static FILE *sink;
  if (!sink) sink = getenv("FUZZ_VERBOSE") ? stderr : fopen("/dev/null", "w");
  return sink;
}

/* Options read from a `RUN:` line; the strings point into words. */
typedef struct FuzzOptions {
  TexcOptions o;
  char words[512];
} FuzzOptions;

/* The value of "--name=V" or "--name V" at *w (advancing *w past V), or NULL. */
static const char *fuzz_option_value(char **w, char *end, const char *name) {
  size_t n = strlen(name);
  if (strncmp(*w, name, n) != 0) return NULL;
  if ((*w)[n] == '=') return *w + n + 1;
  if ((*w)[n] != 0) return NULL;
  char *next = *w + n + 1;
  if (next >= end || !*next) return NULL;
  *w = next;
  return next;
}

static void fuzz_parse_word(FuzzOptions *fo, char **w, char *end) {
  TexcOptions *o = &fo->o;
  const char *v, *a = *w;
  if (a[0] == '-' && a[1] == 'O' && a[2] >= '0' && a[2] <= '3' && !a[3]) o->opt_level = a[2] - '0';
  else if (strcmp(a, "--fast-math") == 0) o->fast_math = true;
  else if (strcmp(a, "--grad-all") == 0) o->grad_all = true;
  else if ((v = fuzz_option_value(w, end, "--grad"))) o->grad = v;
  else if ((v = fuzz_option_value(w, end, "--wrt"))) o->wrt = v;
  else if ((v = fuzz_option_value(w, end, "--passes"))) o->only_passes = v;
  else if ((v = fuzz_option_value(w, end, "--disable-pass"))) o->disable_pass = v;
  else if ((v = fuzz_option_value(w, end, "--emit"))) o->emit = strcmp(v, "ir") == 0 ? EMIT_IR : EMIT_KERNELS;
}

/* Reads the options of a leading `# RUN:` / `// RUN:` line. */
static void fuzz_parse_options(FuzzOptions *fo, const char *text) {
  memset(fo, 0, sizeof *fo);
  fo->o.opt_level = 2;
  const char *p = strncmp(text, "# RUN:", 6) == 0 ? text + 6 : strncmp(text, "// RUN:", 7) == 0 ? text + 7 : NULL;
  if (!p) return;
  size_t n = strcspn(p, "\n");
  if (n >= sizeof fo->words) n = sizeof fo->words - 1;
  memcpy(fo->words, p, n);
  char *end = fo->words + n;
  for (char *c = fo->words; c < end; c++)
    if (*c == ' ' || *c == '\t' || *c == '\r') *c = 0;
  fo->o.emit = EMIT_SO;
  for (char *w = fo->words; w < end; w += strlen(w) + 1)
    if (*w) fuzz_parse_word(fo, &w, end);
  if (fo->o.only_passes && fo->o.emit == EMIT_SO) fo->o.emit = EMIT_IR; /* as run-golden.sh runs them */
}

/* A compiler bug found: say what, then abort so libFuzzer keeps the input. */
static _Noreturn void fuzz_bug(const char *what, const char *detail) {
  fprintf(stderr, "fuzz: %s%s%s\n", what, detail ? ": " : "", detail ? detail : "");
  abort();
}

/* Kernels -> one LLVM module, verified (no optimisation, no object). */
static void fuzz_llvm(IrModule *m, KProgram **progs, int n) {
  CgModule cm;
  if (!cg_module_init(&cm, &cg_target_x86_64, m->name, "x86-64-v3")) fuzz_bug("cg_module_init failed", NULL);
  cg_build_module(&cm, NULL, m, progs, n);
  char *err = NULL;
  if (LLVMVerifyModule(cm.mod, LLVMReturnStatusAction, &err)) fuzz_bug("generated LLVM IR is invalid", err);
  LLVMDisposeMessage(err);
  cg_module_dispose(&cm);
}

/* Passes (verified after each), kernels of every exported function, and
 * optionally LLVM IR: texc_emit_module without the output files. */
static void fuzz_backend(IrModule *m, const TexcOptions *o, bool llvm) {
  PassOptions po = {.opt_level = o->opt_level, .disabled = o->disable_pass, .only = o->only_passes, .verify = true};
  m->fast_math = o->fast_math;
  if (pass_run_pipeline(m, &po)) fuzz_bug("the IR is invalid after a pass (see above)", NULL);
  if (o->emit == EMIT_IR) {
    ir_print_module(fuzz_sink(), m);
    return;
  }
  KProgram **progs = tex_calloc((size_t)m->funcs.len + 1, sizeof(KProgram *));
  int n = 0;
  for (int i = 0; i < m->funcs.len; i++) {
    IrFunc *f = m->funcs.items[i];
    if (f->exported) progs[n++] = kernels_build(m, f);
  }
  for (int i = 0; i < n; i++) kernel_print(fuzz_sink(), m, progs[i]);
  if (llvm) fuzz_llvm(m, progs, n);
  for (int i = 0; i < n; i++) kernels_free(progs[i]);
  tex_free(progs);
}

/* The whole compiler on text (NUL-terminated, len bytes), as texc FILE
 * would run it (FILE a .ir when ir), stopping before LLVM unless llvm.
 * False if texc rejects the text (a diagnostic). */
static bool fuzz_compile(const char *text, size_t len, bool ir, bool llvm) {
  if (strlen(text) != len) return false; /* texc refuses a NUL byte */
  FuzzOptions fo;
  char why[256];
  fuzz_parse_options(&fo, text);
  if (texc_options_error(&fo.o, why, sizeof why)) return false; /* texc stops with a usage error */
  Diag d;
  diag_init(&d, fuzz_sink());
  IrModule *m = ir ? ir_parse("fuzz.ir", text, &d) : fe_compile_text("fuzz.tex", text, "fuzz", &d);
  if (!m) return false;
  if (ir) m->name = arena_strdup(&m->arena, "fuzz");
  bool ok = !ir || ir_verify(m, fuzz_sink(), "parse") == 0;
  if (ok && (fo.o.grad || fo.o.grad_all)) ok = texc_request_gradients(m, &fo.o, &d);
  if (ok) fuzz_backend(m, &fo.o, llvm);
  ir_module_free(m);
  return ok;
}

/* libFuzzer's input as a NUL-terminated string (freed by the caller). */
static inline char *fuzz_text(const uint8_t *data, size_t size) {
  char *text = malloc(size + 1);
  memcpy(text, data, size);
  text[size] = 0;
  return text;
}

#endif /* TEXC_FUZZ_H */
