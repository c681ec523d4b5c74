/* compile.c — the compiler from file to output, phase by phase:
 *   read -> parse + sema (or parse IR text) -> passes -> kernels -> LLVM ->
 *   object -> .so + header.
 * Every --emit=KIND stops after the phase that produces KIND. */
#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "driver.h"

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

char *texc_read_file(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  struct stat st; /* fopen opens a directory, and reading it then fails */
  if (fstat(fileno(f), &st) == 0 && S_ISDIR(st.st_mode)) {
    fclose(f);
    errno = EISDIR;
    return NULL;
  }
  size_t cap = 4096, n = 0;
  char *buf = tex_malloc(cap);
  for (size_t r; (r = fread(buf + n, 1, cap - n - 1, f)) > 0;) {
    n += r;
    if (n + 1 == cap) buf = tex_realloc(buf, cap *= 2);
  }
  int err = ferror(f) ? (errno ? errno : EIO) : 0;
  fclose(f);
  if (err) {
    tex_free(buf);
    errno = err;
    return NULL;
  }
  buf[n] = 0;
  *len = n;
  return buf;
}

/* The default prefix: the file's basename without extension, made a C
 * identifier. */
static void default_prefix(const char *path, char *out, size_t len) {
  const char *base = strrchr(path, '/');
  base = base ? base + 1 : path;
  size_t n = 0;
  if (isdigit((unsigned char)*base)) out[n++] = '_';
  for (const char *p = base; *p && *p != '.' && n + 1 < len; p++) out[n++] = isalnum((unsigned char)*p) ? *p : '_';
  out[n] = 0;
}

static bool ends_with(const char *s, const char *suffix) {
  size_t a = strlen(s), b = strlen(suffix);
  return a >= b && strcmp(s + a - b, suffix) == 0;
}

static bool to_stdout(const TexcOptions *o) { return !o->output || strcmp(o->output, "-") == 0; }

static FILE *open_output(const TexcOptions *o) {
  if (to_stdout(o)) return stdout;
  FILE *f = fopen(o->output, "w");
  if (!f) fprintf(stderr, "texc: cannot write %s: %s\n", o->output, strerror(errno));
  return f;
}

/* Closes (stdout: flushes) a written file; a full disk or a failed write
 * shows only here, so the answer decides the exit status. */
static bool finish_file(FILE *f, const char *path) {
  if (!f) return false;
  bool ok = !ferror(f);
  ok = (f == stdout ? fflush(f) : fclose(f)) == 0 && ok;
  if (!ok) fprintf(stderr, "texc: cannot write %s: %s\n", path, strerror(errno ? errno : EIO));
  return ok;
}

static bool close_output(const TexcOptions *o, FILE *f) { return finish_file(f, to_stdout(o) ? "<stdout>" : o->output); }

/* The header goes beside the .so: dir(output)/<prefix>.h. */
static bool write_header_beside(const char *so_path, IrModule *m, KProgram **progs, int n) {
  char path[4096];
  const char *slash = strrchr(so_path, '/');
  int dirlen = slash ? (int)(slash - so_path) + 1 : 0;
  snprintf(path, sizeof path, "%.*s%s.h", dirlen, so_path, m->name);
  FILE *f = fopen(path, "w");
  if (!f) {
    fprintf(stderr, "texc: cannot write %s: %s\n", path, strerror(errno));
    return false;
  }
  cg_write_header(f, m, progs, n);
  return finish_file(f, path);
}

/* One LLVM module on its way to an object file: optimised and emitted by
 * its own thread (each has its own context and target machine). */
typedef struct Shard {
  CgModule *cm;
  int opt_level;
  char obj[32];
  bool ok;
  double opt_ms, emit_ms;
} Shard;

static void *compile_shard(void *arg) {
  Shard *s = arg;
  snprintf(s->obj, sizeof s->obj, "/tmp/texc-XXXXXX.o");
  int fd = mkstemps(s->obj, 2);
  FILE *f = fd < 0 ? NULL : fdopen(fd, "wb");
  if (!f) {
    fprintf(stderr, "texc: cannot create a temporary object file in /tmp: %s\n", strerror(errno));
    if (fd >= 0) close(fd), unlink(s->obj);
    s->obj[0] = 0;
    return NULL;
  }
  double t0 = now_ms();
  s->cm->target->optimize(s->cm, s->opt_level);
  s->opt_ms = now_ms() - t0;
  s->ok = s->cm->target->emit(s->cm, LLVMObjectFile, f);
  s->emit_ms = now_ms() - t0 - s->opt_ms;
  s->ok = finish_file(f, s->obj) && s->ok;
  return NULL;
}

/* Optimises and emits both modules in parallel (this machine kind has two
 * cores; LLVM's time dominates a compile), then links the objects. */
static bool build_shared_object(const TexcOptions *o, CgModule *cm, CgModule *second, IrModule *m, KProgram **progs, int n) {
  char so[4096];
  if (o->output)
    snprintf(so, sizeof so, "%s", o->output);
  else
    snprintf(so, sizeof so, "lib%s.so", m->name);
  Shard shards[2] = {{.cm = cm, .opt_level = o->opt_level}, {.cm = second, .opt_level = o->opt_level}};
  double t0 = now_ms();
  pthread_t thread;
  bool threaded = second && pthread_create(&thread, NULL, compile_shard, &shards[1]) == 0;
  if (second && !threaded) compile_shard(&shards[1]);
  compile_shard(&shards[0]);
  if (threaded) pthread_join(thread, NULL);
  if (o->stats) {
    fprintf(stderr, "llvm-opt+emit %5.3f ms (%d module%s)\n", now_ms() - t0, second ? 2 : 1, second ? "s in 2 threads" : "");
    for (int i = 0; i < (second ? 2 : 1); i++)
      fprintf(stderr, "  module %d: optimise %.1f ms, emit %.1f ms\n", i, shards[i].opt_ms, shards[i].emit_ms);
  }
  bool ok = shards[0].ok && (!second || shards[1].ok);
  const char *objs[2] = {shards[0].obj, shards[1].obj};
  t0 = now_ms();
  ok = ok && cm->target->link(objs, second ? 2 : 1, so, m->name);
  if (o->stats) fprintf(stderr, "link       %8.3f ms\n", now_ms() - t0);
  for (int i = 0; i < 2; i++)
    if (shards[i].obj[0]) unlink(shards[i].obj);
  return ok && write_header_beside(so, m, progs, n);
}

static int total_kernels(KProgram **progs, int n) {
  int k = 0;
  for (int i = 0; i < n; i++) k += progs[i]->nkernels;
  return k;
}

static int codegen(const TexcOptions *o, IrModule *m, KProgram **progs, int n) {
  CgModule cm, second;
  bool split = o->emit == EMIT_SO && total_kernels(progs, n) >= 4;
  if (!cg_module_init(&cm, &cg_target_x86_64, m->name, o->cpu)) {
    fprintf(stderr, "texc: unknown --cpu=%s; known: %s\n", o->cpu, cg_known_cpus());
    return TEXC_EXIT_USAGE;
  }
  if (split) cg_module_init(&second, &cg_target_x86_64, m->name, o->cpu);
  double t0 = now_ms();
  cg_build_module(&cm, split ? &second : NULL, m, progs, n);
  if (o->stats) fprintf(stderr, "llvm-ir    %8.3f ms\n", now_ms() - t0);
  bool ok = true;
  if (o->emit == EMIT_SO) {
    ok = build_shared_object(o, &cm, split ? &second : NULL, m, progs, n);
  } else {
    cm.target->optimize(&cm, o->opt_level);
    FILE *out = open_output(o);
    if (!out)
      ok = false;
    else if (o->emit == EMIT_LLVM) {
      char *s = LLVMPrintModuleToString(cm.mod);
      fputs(s, out);
      LLVMDisposeMessage(s);
    } else {
      ok = cm.target->emit(&cm, o->emit == EMIT_ASM ? LLVMAssemblyFile : LLVMObjectFile, out);
    }
    ok = close_output(o, out) && ok;
  }
  cm.target->dispose(&cm);
  if (split) second.target->dispose(&second);
  return ok ? TEXC_EXIT_OK : TEXC_EXIT_OUTPUT;
}

/* The wrt set of f for --wrt (all floating-point params without it). */
static bool wrt_set(const TexcOptions *o, IrFunc *f, Diag *d, ParamSet *set) {
  ParamSet none = {{0}};
  *set = o->wrt ? none : ir_float_params(f);
  for (int i = 0; o->wrt && i < f->nparams; i++)
    if (tex_in_list(o->wrt, f->params[i]->name)) {
      const IrNode *p = f->params[i];
      if (!dtype_is_float(p->dtype)) {
        diag_error(d, p->loc, "--wrt: cannot differentiate with respect to '%s': it is %s; only floating-point parameters have gradients",
                   p->name, dtype_names[p->dtype]);
        return false;
      }
      ps_add(set, i);
    }
  if (ps_empty(set))
    diag_error(d, f->loc, "%s() has no floating-point parameter %sto differentiate", f->name, o->wrt ? "named by --wrt " : "");
  return !ps_empty(set);
}

static bool scalar_float_result(const IrFunc *f) {
  return f->nresults - f->nupdates == 1 && f->results[0]->rank == 0 && dtype_is_float(f->results[0]->dtype);
}

/* --grad f exports f_grad (value, gradients) for a scalar f, else f_vjp
 * (params and cotangents -> values, cotangents).  --grad-all: every exported
 * function with a scalar float result. */
static bool request_gradient(IrModule *m, IrFunc *f, const TexcOptions *o, Diag *d) {
  ParamSet wrt;
  if (f->nupdates || f->derive) {
    diag_error(d, f->loc, "--grad: %s() %s", f->name,
               f->derive ? "is itself a derivative" : "updates parameters in place and cannot be differentiated");
    return false;
  }
  if (!wrt_set(o, f, d, &wrt)) return false;
  bool scalar = scalar_float_result(f);
  char *name = arena_printf(&m->arena, "%s_%s", f->name, scalar ? "grad" : "vjp");
  if (ir_find_func(m, name)) {
    diag_error(d, f->loc, "--grad: a function named %s() already exists", name);
    return false;
  }
  IrFunc *g = ir_derive(m, f, scalar ? DERIVE_VALUE_AND_GRAD : DERIVE_VJP, &wrt, name, f->loc);
  g->exported = true;
  return true;
}

bool texc_request_gradients(IrModule *m, const TexcOptions *o, Diag *d) {
  bool ok = true;
  int nfuncs = m->funcs.len;
  for (const char *p = o->grad; p && *p;) {
    const char *end = strchr(p, ',');
    char *name = arena_strndup(&m->arena, p, end ? (size_t)(end - p) : strlen(p));
    IrFunc *f = ir_find_func(m, name);
    if (!f) {
      fprintf(stderr, "texc: --grad: no function named '%s' in %s\n", name, m->source);
      ok = false;
    } else {
      ok = request_gradient(m, f, o, d) && ok;
    }
    p = end ? end + 1 : NULL;
  }
  for (int i = 0; o->grad_all && i < nfuncs; i++) {
    IrFunc *f = m->funcs.items[i];
    if (f->exported && !f->derive && !f->nupdates && scalar_float_result(f) && !tex_in_list(o->grad, f->name))
      ok = request_gradient(m, f, o, d) && ok;
  }
  return ok;
}

/* "EXPR" or "EXPR = VALUE" when --dims gives every symbol a value. */
static void print_bytes(FILE *out, IrModule *m, Dim bytes, const char *dims) {
  dim_fprint(m->dims, bytes, out);
  int n = dim_nsymbols(m->dims);
  Dim *map = tex_calloc((size_t)n + 1, sizeof(Dim)); /* the symbols --dims gives, as literals */
  for (int s = 0; s < n && dims; s++) {
    const char *name = dim_symbol_name(m->dims, s);
    size_t len = strlen(name);
    for (const char *p = dims; p && *p; p = strchr(p, ',') ? strchr(p, ',') + 1 : NULL)
      if (strncmp(p, name, len) == 0 && p[len] == '=') map[s] = dim_lit(m->dims, atoll(p + len + 1));
  }
  int64_t v;
  Dim value = dims ? dim_subst(m->dims, bytes, map) : NULL; /* derived symbols follow their definitions */
  if (value && dim_is_lit(value, &v) && !dim_overflowed(m->dims)) fprintf(out, " = %lld", (long long)v);
  tex_free(map);
}

/* --stats: the temporaries each function needs, with and without planning. */
static void print_memory_stats(const TexcOptions *o, IrModule *m, KProgram **progs, int n) {
  for (int i = 0; i < n; i++) {
    fprintf(stderr, "peak temporary bytes: ");
    print_bytes(stderr, m, kernel_temp_bytes(m, progs[i], true), o->dims);
    fprintf(stderr, "  (%s; without reuse: ", progs[i]->func->name);
    print_bytes(stderr, m, kernel_temp_bytes(m, progs[i], false), o->dims);
    fprintf(stderr, ")\n");
  }
}

/* --emit=dot: every function before the passes, then each exported one
 * after them with its kernels as clusters. */
static char *dot_before(IrModule *m) {
  char *text = NULL;
  size_t len = 0;
  FILE *f = tex_memstream(&text, &len);
  for (int i = 0; i < m->funcs.len; i++) {
    IrFunc *fn = m->funcs.items[i];
    if (fn->built) ir_dot_func(f, m, fn, arena_printf(&m->arena, "before_%d_", i), NULL, 0);
  }
  fclose(f);
  return text;
}

static void dot_write(FILE *out, IrModule *m, const char *before, KProgram **progs, int n) {
  fputs("digraph texc {\n  rankdir=TB;\n  node [shape=box, fontname=\"monospace\", fontsize=10];\n", out);
  fprintf(out, "  subgraph cluster_before {\n  label=\"%s before optimisation\";\n%s  }\n", m->name, before);
  fprintf(out, "  subgraph cluster_after {\n  label=\"after optimisation (grey boxes: kernels)\";\n");
  for (int i = 0; i < n; i++)
    ir_dot_func(out, m, progs[i]->func, arena_printf(&m->arena, "after_%d_", i), progs[i]->kernel_of, progs[i]->nkernels);
  fputs("  }\n}\n", out);
}

/* A derivative needed an op that has none (autodiff_note_nondiff). */
static int report_nondiff(const TexcOptions *o, const IrModule *m) {
  static const char *const why = "texc has no derivative for it (polygamma(3, x) is not implemented): lgamma() can be "
                                 "differentiated three times, digamma() twice, trigamma() once, tetragamma() not at all";
  if (m->nondiff_why) { /* a construct this derivative cannot go through (a loop) */
    if (o->diag)
      diag_error(o->diag, m->nondiff_at, "%s", m->nondiff_why);
    else
      fprintf(stderr, "%s:%d:%d: error: %s\n", m->nondiff_at.file ? m->nondiff_at.file : "?", m->nondiff_at.line, m->nondiff_at.col,
              m->nondiff_why);
    return TEXC_EXIT_ERROR;
  }
  if (o->diag)
    diag_error(o->diag, m->nondiff_at, "cannot differentiate %s(), which this derivative needs: %s", m->nondiff_op, why);
  else
    fprintf(stderr, "%s:%d:%d: error: cannot differentiate %s(), which this derivative needs: %s\n",
            m->nondiff_at.file ? m->nondiff_at.file : "?", m->nondiff_at.line, m->nondiff_at.col, m->nondiff_op, why);
  return TEXC_EXIT_ERROR;
}

int texc_emit_module(const TexcOptions *o, IrModule *m) {
  PassOptions po = {.opt_level = o->opt_level,
                    .print_after = o->print_after,
                    .disabled = o->disable_pass,
                    .only = o->only_passes,
                    .verify = o->verify,
                    .stats = o->stats ? stderr : NULL};
  m->fast_math = o->fast_math;
  char *before = o->emit == EMIT_DOT ? dot_before(m) : NULL;
  if (pass_run_pipeline(m, &po)) return tex_free(before), TEXC_EXIT_ERROR; /* the IR failed --verify */
  if (m->nondiff_op) return tex_free(before), report_nondiff(o, m);
  if (o->stats) pass_print_rule_stats(stderr, m);
  if (o->emit == EMIT_IR) {
    FILE *out = open_output(o);
    if (!out) return tex_free(before), TEXC_EXIT_OUTPUT;
    ir_print_module(out, m);
    return tex_free(before), close_output(o, out) ? TEXC_EXIT_OK : TEXC_EXIT_OUTPUT;
  }
  KProgram **progs = tex_calloc((size_t)m->funcs.len + 1, sizeof(KProgram *));
  int n = 0;
  for (int i = 0; i < m->funcs.len; i++) {
    IrFunc *f = m->funcs.items[i];
    if (f->exported) progs[n++] = kernels_build(m, f);
  }
  if (o->stats) print_memory_stats(o, m, progs, n);
  int rc = TEXC_EXIT_OK;
  if (o->emit == EMIT_KERNELS || o->emit == EMIT_HEADER || o->emit == EMIT_DOT) {
    FILE *out = open_output(o);
    for (int i = 0; out && i < n && o->emit == EMIT_KERNELS; i++) kernel_print(out, m, progs[i]);
    if (out && o->emit == EMIT_HEADER) cg_write_header(out, m, progs, n);
    if (out && o->emit == EMIT_DOT) dot_write(out, m, before, progs, n);
    if (!close_output(o, out)) rc = TEXC_EXIT_OUTPUT;
  } else {
    rc = codegen(o, m, progs, n);
  }
  for (int i = 0; i < n; i++) kernels_free(progs[i]);
  tex_free(progs);
  tex_free(before);
  return rc;
}

const char *texc_options_error(const TexcOptions *o, char *buf, size_t len) {
  const char *lists[] = {o->only_passes, o->disable_pass, o->print_after};
  char name[64];
  for (int i = 0; i < 3; i++)
    if (pass_unknown_in(lists[i], name, sizeof name))
      return snprintf(buf, len, "unknown pass '%s' (texc --list-passes shows them)", name), buf;
  /* Skipping a lowering pass leaves calls, unbuilt derivatives or
   * stop_gradient for kernels and codegen, which cannot handle them. */
  for (int i = 0; i < pass_count; i++)
    if (!pass_table[i].optimising && tex_in_list(o->disable_pass, pass_table[i].name))
      return snprintf(buf, len, "--disable-pass: '%s' always runs (it lowers the program); only optimising passes can be disabled",
                      pass_table[i].name),
             buf;
  if (o->only_passes && o->emit != EMIT_IR && o->emit != EMIT_AST)
    return snprintf(buf, len, "--passes runs only the passes it names, for looking at their IR: use it with --emit=ir"), buf;
  return NULL;
}

/* The source text of o->input, or NULL after saying why not. */
static char *read_source(const TexcOptions *o, int *rc) {
  size_t len;
  char *text = texc_read_file(o->input, &len);
  if (!text) {
    fprintf(stderr, "texc: cannot read %s: %s\n", o->input, strerror(errno));
    *rc = TEXC_EXIT_USAGE;
    return NULL;
  }
  if (strlen(text) != len) { /* the lexer and the caret printer stop at a NUL */
    int line = 1;
    for (const char *p = text; *p; p++) line += *p == '\n';
    fprintf(stderr, "%s:%d: error: the file contains a NUL byte; a .tex file is text\n", o->input, line);
    tex_free(text);
    *rc = TEXC_EXIT_ERROR;
    return NULL;
  }
  return text;
}

/* An empty file (or /dev/null, or only comments) is a mistake worth a word:
 * it would build a .so that exports nothing. */
static int no_functions(const TexcOptions *o) {
  fprintf(stderr, "%s: error: no functions in %s; nothing to compile\n", o->input, o->input);
  return TEXC_EXIT_ERROR;
}

/* --emit=ast: parse only. */
static int emit_ast(const TexcOptions *o, const char *text, Diag *diag) {
  Arena arena = {0};
  Program prog = {0};
  diag_add_source(diag, o->input, text);
  fe_parse(&prog, o->input, text, &arena, diag);
  int rc = diag->errors ? TEXC_EXIT_ERROR : TEXC_EXIT_OK;
  if (!rc && !prog.fns.len) rc = no_functions(o);
  FILE *out = rc ? NULL : open_output(o);
  if (out) ast_print(out, &prog);
  if (!rc && !close_output(o, out)) rc = TEXC_EXIT_OUTPUT;
  vec_free(&prog.fns);
  vec_free(&prog.imports);
  arena_free(&arena);
  return rc;
}

/* A file name in a make rule: spaces, '#' and '$' escaped as make reads them. */
static void put_make_name(FILE *f, const char *name) {
  for (const char *p = name; *p; p++) {
    if (*p == ' ' || *p == '#' || *p == '\\') fputc('\\', f);
    if (*p == '$') fputc('$', f);
    fputc(*p, f);
  }
}

/* --depfile: "OUTPUT: FILE IMPORT...", the output depending on the source
 * and every module it imported (their real paths). */
static bool write_depfile(const TexcOptions *o, IrModule *m) {
  FILE *f = fopen(o->depfile, "w");
  if (!f) {
    fprintf(stderr, "texc: cannot write %s: %s\n", o->depfile, strerror(errno));
    return false;
  }
  char so[4096];
  snprintf(so, sizeof so, "lib%s.so", m->name);
  put_make_name(f, o->output && strcmp(o->output, "-") != 0 ? o->output : so);
  fputc(':', f);
  fputc(' ', f);
  put_make_name(f, o->input);
  for (int i = 0; i < m->imports.len; i++) fputs(" ", f), put_make_name(f, m->imports.items[i]);
  fputc('\n', f);
  bool ok = !ferror(f);
  ok = fclose(f) == 0 && ok;
  if (!ok) fprintf(stderr, "texc: cannot write %s\n", o->depfile);
  return ok;
}

static int compile_module(const TexcOptions *o, const char *text, Diag *diag, double t0) {
  char prefix[256];
  if (o->prefix)
    snprintf(prefix, sizeof prefix, "%s", o->prefix);
  else
    default_prefix(o->input, prefix, sizeof prefix);
  bool ir = ends_with(o->input, ".ir");
  IrModule *m = ir ? ir_parse(o->input, text, diag) : fe_compile_text_stdlib(o->input, text, prefix, o->stdlib, diag);
  if (m && ir) m->name = arena_strdup(&m->arena, prefix);
  if (o->stats) fprintf(stderr, "frontend   %8.3f ms\n", now_ms() - t0);
  int rc;
  if (!m)
    rc = TEXC_EXIT_ERROR;
  else if (!m->funcs.len)
    rc = no_functions(o);
  else if (ir && ir_verify(m, stderr, NULL)) { /* IR from a file is user input: always checked */
    fprintf(stderr, "texc: %s is not valid IR\n", o->input);
    rc = TEXC_EXIT_ERROR;
  } else if ((o->grad || o->grad_all) && !texc_request_gradients(m, o, diag))
    rc = TEXC_EXIT_ERROR;
  else {
    TexcOptions with_diag = *o;
    with_diag.diag = diag;
    rc = texc_emit_module(&with_diag, m);
    if (rc == TEXC_EXIT_OK && o->depfile && !write_depfile(o, m)) rc = TEXC_EXIT_OUTPUT;
  }
  ir_module_free(m);
  return rc;
}

int texc_compile(const TexcOptions *o) {
  double t0 = now_ms();
  int rc;
  char *text = read_source(o, &rc);
  if (!text) return rc;
  Diag diag;
  diag_init(&diag, stderr);
  rc = o->emit == EMIT_AST ? emit_ast(o, text, &diag) : compile_module(o, text, &diag, t0);
  if (diag.errors) fprintf(stderr, "%d error%s\n", diag.errors, diag.errors == 1 ? "" : "s");
  if (o->stats) fprintf(stderr, "total      %8.3f ms\n", now_ms() - t0);
  tex_free(text);
  return rc;
}
