/* link.c — the shared object and its C header.
 *
 * The object is linked with the runtime archive (PIC, hidden visibility) by
 * the system C compiler driver and a version script that exports only the
 * module's own `<prefix>_*` symbols, so two models load into one process
 * without clashing.  `cc` is the only tool needed at compile time; $TEXC_CC
 * overrides it. */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "codegen.h"

const char *cg_runtime_path(char *buf, size_t len) {
  const char *env = getenv("TEXC_RUNTIME");
  if (env && *env) return snprintf(buf, len, "%s", env), buf;
  char exe[4096];
  ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (n <= 0) return NULL;
  exe[n] = 0;
  char *slash = strrchr(exe, '/');
  if (slash) *slash = 0;
  static const char *const candidates[] = {"%s/libtexrt.a", "%s/../lib/texc/libtexrt.a"};
  for (size_t i = 0; i < sizeof candidates / sizeof candidates[0]; i++) {
    snprintf(buf, len, candidates[i], exe);
    if (access(buf, R_OK) == 0) return buf;
  }
  return NULL;
}

static bool run_command(char *const *argv) {
  pid_t pid = fork();
  if (pid < 0) return false;
  if (pid == 0) {
    execvp(argv[0], argv);
    fprintf(stderr, "texc: cannot run %s (a C compiler driver is needed to link; set TEXC_CC)\n", argv[0]);
    _exit(127);
  }
  int status;
  while (waitpid(pid, &status, 0) < 0);
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

/* Every symbol must resolve at link time, except in the sanitizer build:
 * its runtime archive is instrumented and leaves the sanitizer's symbols to
 * the (instrumented) process that loads the .so. */
#ifdef TEXC_SANITIZED_RUNTIME
#define NO_UNDEFINED NULL
#else
#define NO_UNDEFINED "-Wl,--no-undefined"
#endif

bool cg_link(const char *const *obj_paths, int nobjs, const char *so_path, const char *prefix) {
  char rt[4096];
  if (!cg_runtime_path(rt, sizeof rt)) {
    fprintf(stderr, "texc: cannot find libtexrt.a beside the texc executable (set TEXC_RUNTIME)\n");
    return false;
  }
  char script[] = "/tmp/texc-XXXXXX.map";
  int fd = mkstemps(script, 4);
  FILE *f = fd < 0 ? NULL : fdopen(fd, "w");
  bool written = f && fprintf(f, "{ global: %s_*; local: *; };\n", prefix) > 0;
  if (f)
    written = fclose(f) == 0 && written;
  else if (fd >= 0)
    close(fd);
  if (!written) {
    fprintf(stderr, "texc: cannot write the linker's version script in /tmp: %s\n", strerror(errno));
    if (fd >= 0) unlink(script);
    return false;
  }
  char vs[4200];
  snprintf(vs, sizeof vs, "-Wl,--version-script=%s", script);
  const char *cc = getenv("TEXC_CC");
  char *argv[16];
  int n = 0;
  argv[n++] = (char *)(cc && *cc ? cc : "cc");
  argv[n++] = "-shared", argv[n++] = "-o", argv[n++] = (char *)so_path;
  for (int i = 0; i < nobjs && i < 4; i++) argv[n++] = (char *)obj_paths[i];
  argv[n++] = rt, argv[n++] = vs, argv[n++] = "-Wl,-z,noexecstack", argv[n++] = "-lm";
  argv[n++] = NO_UNDEFINED;
  argv[n] = NULL;
  bool ok = run_command(argv);
  unlink(script);
  if (!ok) fprintf(stderr, "texc: linking %s failed\n", so_path);
  return ok;
}

/* ---- the header ------------------------------------------------------------ */

static bool is_c_keyword(const char *s) {
  static const char *const kw[] = {"auto",   "break",    "case",     "char",     "const",  "continue", "default",  "do",      "double",
                                   "else",   "enum",     "extern",   "float",    "for",    "goto",     "if",       "inline",  "int",
                                   "long",   "register", "restrict", "return",   "short",  "signed",   "sizeof",   "static",  "struct",
                                   "switch", "typedef",  "union",    "unsigned", "void",   "volatile", "while",    "bool",    "true",
                                   "false",  "_Bool",    "class",    "new",      "delete", "this",     "template", "operator"};
  for (size_t i = 0; i < sizeof kw / sizeof kw[0]; i++)
    if (strcmp(kw[i], s) == 0) return true;
  return false;
}

static void write_signature_comment(FILE *out, IrModule *m, const KProgram *p) {
  char buf[512];
  fprintf(out, "/* %s(", p->func->name);
  for (int i = 0; i < p->ninputs; i++) {
    IrNode *n = p->func->params[i];
    ir_type_snprint(m, n->dtype, n->rank, n->shape, buf, sizeof buf);
    fprintf(out, "%s%s: %s%s", i ? ", " : "", n->name, n->inout ? "inout " : "", buf);
  }
  fputs(") -> ", out);
  for (int i = p->ninputs; i < p->nparams; i++) {
    ir_type_snprint(m, p->bufs[i].dtype, p->bufs[i].rank, p->bufs[i].shape, buf, sizeof buf);
    fprintf(out, "%s%s", i > p->ninputs ? ", " : "", buf);
  }
  fputs(" */\n", out);
}

void cg_write_header(FILE *out, IrModule *m, KProgram *const *progs, int nprogs) {
  char guard[256];
  size_t g = 0;
  for (const char *s = m->name; *s && g < sizeof guard - 3; s++) guard[g++] = (char)toupper((unsigned char)*s);
  guard[g] = 0;
  fprintf(out, "/* %s.h — generated by texc %s from %s; do not edit.\n", m->name, TEXC_VERSION, m->source ? m->source : "?");
  fputs(" * Every function returns 0 or a TexStatus code (texrt.h); on failure\n"
        " * <prefix>_last_error() says which argument was wrong and why.\n"
        " * Inputs first, then caller-allocated outputs; scalars are 0-d tensors. */\n",
        out);
  fprintf(out, "#ifndef %s_H\n#define %s_H\n\n#include <dlpack/dlpack.h>\n\n", guard, guard);
  fputs("#ifdef __cplusplus\nextern \"C\" {\n#endif\n\nstruct TexModuleInfo;\n\n", out);
  static const char *const variants[][2] = {
      {"", ""}, {"_workspace_size", "size_t *bytes"}, {"_ws", "void *workspace, size_t workspace_bytes"}};
  for (int i = 0; i < nprogs; i++) {
    const KProgram *p = progs[i];
    write_signature_comment(out, m, p);
    for (int v = 0; v < 3; v++) {
      if (v == 1)
        fputs("/* the same call with its temporaries in a caller's workspace of at least\n"
              " * *bytes bytes (any alignment): no allocation inside */\n",
              out);
      fprintf(out, "int %s_%s%s(", m->name, p->func->name, variants[v][0]);
      for (int a = 0; a < p->nparams; a++) {
        bool in = a < p->ninputs;
        const char *name = in ? p->func->params[a]->name : p->func->result_names[a - p->ninputs];
        fprintf(out, "%s%sDLTensor *%s%s", a ? ", " : "", in && !p->bufs[a].inout ? "const " : "", name, is_c_keyword(name) ? "_" : "");
      }
      if (v) fprintf(out, "%s%s", p->nparams ? ", " : "", variants[v][1]);
      fprintf(out, "%s);\n", p->nparams || v ? "" : "void");
    }
    fputc('\n', out);
  }
  fprintf(out, "/* Thread-local message of the last failed call in this module. */\nconst char *%s_last_error(void);\n\n", m->name);
  fprintf(out,
          "/* Threads for this module's later calls, callers included (1..256; 1: no\n"
          " * pool); overrides TEX_NUM_THREADS.  Returns 0 or TEX_ERR_ARG. */\n"
          "int %s_set_num_threads(int n);\n\n",
          m->name);
  fprintf(out,
          "/* Function #index of %s_module_info()->funcs, its arguments (inputs, then\n"
          " * outputs) as an array: for generic loaders. */\n"
          "int %s_call(int index, const DLTensor *const *args);\n\n",
          m->name, m->name);
  fprintf(out,
          "/* Names, dtypes and shapes of every function (struct in texrt.h). */\n"
          "const struct TexModuleInfo *%s_module_info(void);\n\n",
          m->name);
  fprintf(out, "#ifdef __cplusplus\n}\n#endif\n#endif /* %s_H */\n", guard);
}
