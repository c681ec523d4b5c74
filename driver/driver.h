/* driver.h — the command line and the compile driver: the one folder that
 * calls every phase in order (frontend, passes, codegen); nothing below it
 * calls back up.
 *
 * Sections follow the files of driver/:
 *   main.c       `texc` and `texc check-grad`: options into TexcOptions
 *   compile.c    the phases of a compile, --grad requests, output files
 *   checkgrad.c  texc check-grad: gradients against finite differences */
#ifndef TEXC_DRIVER_H
#define TEXC_DRIVER_H

#include "codegen.h"
#include "frontend.h"
#include "passes.h"

/* ==== compile.c ========================================================== */

typedef enum EmitKind { EMIT_SO, EMIT_IR, EMIT_KERNELS, EMIT_LLVM, EMIT_ASM, EMIT_OBJ, EMIT_HEADER, EMIT_AST, EMIT_DOT } EmitKind;

typedef struct TexcOptions {
  const char *input;
  const char *output;          /* NULL: stdout for text, lib<prefix>.so for EMIT_SO */
  EmitKind emit;
  const char *prefix;
  const char *cpu;
  int opt_level;
  const char *print_after, *disable_pass, *only_passes;
  bool verify, stats;
  const char *grad;            /* --grad NAME[,NAME]: export NAME_grad / NAME_vjp */
  const char *wrt;             /* --wrt P,Q: narrow the differentiated params */
  bool grad_all;               /* --grad-all: every exported scalar function */
  bool fast_math;              /* --fast-math: value-changing rewrites */
  const char *dims;            /* --dims N=1024,...: evaluate --stats sizes */
  const char *stdlib;          /* --stdlib DIR: where `import nn` looks after the file's folder */
  const char *depfile;         /* --depfile PATH: a make rule naming every file the output depends on */
  Diag *diag;                  /* where texc_emit_module reports errors (NULL: plain stderr) */
} TexcOptions;

/* Why the options cannot be used together (unknown pass names, a lowering
 * pass disabled, --passes with an emit that needs every lowering pass) in
 * buf, or NULL if they can. */
const char *texc_options_error(const TexcOptions *o, char *buf, size_t len);
/* Runs the whole compiler; returns the process exit status. */
int texc_compile(const TexcOptions *o);
/* Passes, kernels and code for a lowered module, emitted as o->emit says. */
int texc_emit_module(const TexcOptions *o, IrModule *m);
/* --grad / --grad-all: declares the derived functions o asks for in m;
 * false (reported to d) if one cannot be made. */
bool texc_request_gradients(IrModule *m, const TexcOptions *o, Diag *d);
/* The whole file, NUL-terminated; NULL if it cannot be read. */
char *texc_read_file(const char *path, size_t *len);

/* ==== checkgrad.c ======================================================== */

/* texc check-grad: the gradient of fn_name against finite differences.
 * Modes: reverse mode; reverse mode and jvp against it; jvp alone against
 * finite differences (for what reverse mode cannot go through: while). */
typedef enum CheckMode { CHECK_VJP, CHECK_VJP_JVP, CHECK_JVP_ONLY } CheckMode;
int texc_check_grad(const char *file, const char *fn_name, uint64_t seed, CheckMode mode);

#endif /* TEXC_DRIVER_H */
