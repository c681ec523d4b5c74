/* main.c — the texc command line.  Parses options into TexcOptions and hands
 * them to texc_compile (driver/compile.c). */
#include <stdlib.h>
#include <string.h>

#include "driver.h"

static const char usage[] = "usage: texc FILE.tex [options]\n"
                            "       texc check-grad FILE.tex FN [--seed S] [--jvp | --forward]\n"
                            "\n"
                            "Compiles FILE.tex into a shared object lib<prefix>.so and a C header <prefix>.h\n"
                            "beside it.  Every exported function becomes\n"
                            "  int <prefix>_<fn>(const DLTensor *in..., DLTensor *out...)\n"
                            "\n"
                            "options:\n"
                            "  -o PATH             output file (default lib<prefix>.so; '-' or none for text: stdout)\n"
                            "  --emit=KIND         so (default), ir, kernels, llvm, asm, obj, header, ast,\n"
                            "                      dot (Graphviz: the IR before and after optimisation,\n"
                            "                      kernels as clusters)\n"
                            "  --prefix=NAME       C symbol prefix (default: the file's basename)\n"
                            "  --cpu=NAME          target CPU: host (default), x86-64-v2, x86-64-v3, x86-64-v4, ...\n"
                            "                      the .so checks at its first call that the CPU has what it needs\n"
                            "  -O0 -O1 -O2 -O3     optimisation level (default -O2); -O0 turns texc's optimising\n"
                            "                      passes off; -O3 runs LLVM's whole O3 pipeline instead of\n"
                            "                      texc's short one (slower to compile, same loops); results\n"
                            "                      are bitwise identical at every level (a NaN stays a NaN;\n"
                            "                      its sign is not specified)\n"
                            "  --grad NAME[,NAME]  also export NAME_grad (value, then the gradient of each\n"
                            "                      float parameter) or, for a non-scalar result, NAME_vjp\n"
                            "                      (params, then one cotangent per result -> values, cotangents)\n"
                            "  --wrt P,Q           differentiate with respect to these parameters only\n"
                            "  --grad-all          --grad for every exported function with a scalar result\n"
                            "  --fast-math         allow value-changing rewrites (x*0 -> 0, reassociation, ...)\n"
                            "  --print-after=PASS  print the IR after PASS (or 'all') to stderr\n"
                            "  --disable-pass=P,Q  skip optimising passes\n"
                            "  --passes=P,Q        run exactly these passes (with --emit=ir, for testing passes)\n"
                            "  --verify            check the IR after every pass (also: TEXC_VERIFY=1)\n"
                            "  --stats             print phase timings, rewrite-rule hits and each function's\n"
                            "                      peak temporary bytes (a size expression) to stderr\n"
                            "  --dims N=1024,...   give --stats sizes a value\n"
                            "  --depfile PATH      also write a make rule: the output depends on FILE and\n"
                            "                      every module it imports (for build systems and caches)\n"
                            "  --stdlib DIR        where `import NAME` looks after FILE's folder (default:\n"
                            "                      $TEXC_STDLIB, else PREFIX/share/texc/stdlib beside the\n"
                            "                      installed texc, else the source tree's stdlib/)\n"
                            "  --list-passes       list the passes\n"
                            "  --help, --version\n"
                            "\n"
                            "FILE may also be IR text (.ir), as printed by --emit=ir; texc verifies it\n"
                            "before running anything on it.\n"
                            "\n"
                            "The compiled functions run large kernels on a thread pool: TEX_NUM_THREADS=N\n"
                            "(1..256; default: the CPUs the process may use) or <prefix>_set_num_threads(n);\n"
                            "results are bitwise the same at every thread count.\n"
                            "\n"
                            "exit status: 0 success, 1 errors in the program, 2 bad usage or unreadable\n"
                            "input, 3 an output cannot be written, 4 out of memory\n"
                            "\n"
                            "check-grad compiles FN in f64 and compares its reverse-mode gradient with\n"
                            "central finite differences at random inputs (symbol sizes 2..7); it prints\n"
                            "ARG max_rel_err=E per parameter and exits 1 if any error exceeds 1e-6;\n"
                            "--jvp also checks forward mode against reverse mode; --forward checks only\n"
                            "forward mode (jvp), against central differences along a random direction\n"
                            "(for functions reverse mode cannot go through, such as while loops).\n";

static const struct {
  const char *name;
  EmitKind kind;
} emit_kinds[] = {{"so", EMIT_SO},   {"ir", EMIT_IR},         {"kernels", EMIT_KERNELS}, {"llvm", EMIT_LLVM}, {"asm", EMIT_ASM},
                  {"obj", EMIT_OBJ}, {"header", EMIT_HEADER}, {"ast", EMIT_AST},         {"dot", EMIT_DOT}};

static int bad_usage(const char *fmt, const char *arg) {
  fprintf(stderr, "texc: ");
  fprintf(stderr, fmt, arg);
  fprintf(stderr, "\nrun 'texc --help' for usage\n");
  return TEXC_EXIT_USAGE;
}

/* Returns the value of "--name=value" if arg is that option, else NULL. */
static const char *option_value(const char *arg, const char *name) {
  size_t n = strlen(name);
  return strncmp(arg, name, n) == 0 && arg[n] == '=' ? arg + n + 1 : NULL;
}

static int parse_emit(TexcOptions *o, const char *v) {
  for (size_t i = 0; i < sizeof emit_kinds / sizeof emit_kinds[0]; i++)
    if (strcmp(emit_kinds[i].name, v) == 0) return o->emit = emit_kinds[i].kind, 0;
  return bad_usage("unknown --emit kind '%s' (so, ir, kernels, llvm, asm, obj, header, ast, dot)", v);
}

static int parse_option(TexcOptions *o, int argc, char **argv, int *i) {
  const char *a = argv[*i], *v;
  if (strcmp(a, "-o") == 0) {
    if (*i + 1 >= argc) return bad_usage("%s needs a path", a);
    o->output = argv[++*i];
  } else if (a[0] == '-' && a[1] == 'O' && a[2] >= '0' && a[2] <= '3' && !a[3]) {
    o->opt_level = a[2] - '0';
  } else if ((v = option_value(a, "--emit"))) {
    return parse_emit(o, v);
  } else if ((v = option_value(a, "--prefix"))) {
    o->prefix = v;
  } else if ((v = option_value(a, "--cpu"))) {
    o->cpu = v;
  } else if ((v = option_value(a, "--print-after"))) {
    o->print_after = v;
  } else if ((v = option_value(a, "--disable-pass"))) {
    o->disable_pass = v;
  } else if ((v = option_value(a, "--passes"))) {
    o->only_passes = v;
  } else if ((v = option_value(a, "--grad"))) {
    o->grad = v;
  } else if (strcmp(a, "--grad") == 0) {
    if (*i + 1 >= argc) return bad_usage("%s needs function names", a);
    o->grad = argv[++*i];
  } else if ((v = option_value(a, "--wrt"))) {
    o->wrt = v;
  } else if (strcmp(a, "--wrt") == 0) {
    if (*i + 1 >= argc) return bad_usage("%s needs parameter names", a);
    o->wrt = argv[++*i];
  } else if ((v = option_value(a, "--dims"))) {
    o->dims = v;
  } else if (strcmp(a, "--dims") == 0) {
    if (*i + 1 >= argc) return bad_usage("%s needs SYM=VALUE,...", a);
    o->dims = argv[++*i];
  } else if ((v = option_value(a, "--depfile"))) {
    o->depfile = v;
  } else if (strcmp(a, "--depfile") == 0) {
    if (*i + 1 >= argc) return bad_usage("%s needs a file", a);
    o->depfile = argv[++*i];
  } else if ((v = option_value(a, "--stdlib"))) {
    o->stdlib = v;
  } else if (strcmp(a, "--stdlib") == 0) {
    if (*i + 1 >= argc) return bad_usage("%s needs a folder", a);
    o->stdlib = argv[++*i];
  } else if (strcmp(a, "--fast-math") == 0) {
    o->fast_math = true;
  } else if (strcmp(a, "--grad-all") == 0) {
    o->grad_all = true;
  } else if (strcmp(a, "--verify") == 0) {
    o->verify = true;
  } else if (strcmp(a, "--stats") == 0) {
    o->stats = true;
  } else {
    return bad_usage("unknown option '%s'", a);
  }
  return 0;
}

/* texc check-grad FILE FN [--seed S] */
static int check_grad_command(int argc, char **argv) {
  const char *file = NULL, *fn = NULL;
  uint64_t seed = 1;
  CheckMode mode = CHECK_VJP;
  for (int i = 2; i < argc; i++) {
    if (strcmp(argv[i], "--jvp") == 0)
      mode = CHECK_VJP_JVP;
    else if (strcmp(argv[i], "--forward") == 0)
      mode = CHECK_JVP_ONLY;
    else if (strcmp(argv[i], "--seed") == 0 && i + 1 < argc)
      seed = strtoull(argv[++i], NULL, 10);
    else if (strncmp(argv[i], "--seed=", 7) == 0)
      seed = strtoull(argv[i] + 7, NULL, 10);
    else if (!file)
      file = argv[i];
    else if (!fn)
      fn = argv[i];
    else
      return bad_usage("check-grad: unexpected argument '%s' (usage: texc check-grad FILE FN [--seed S])", argv[i]);
  }
  if (!file || !fn) return bad_usage("%s", "usage: texc check-grad FILE FN [--seed S]");
  return texc_check_grad(file, fn, seed, mode);
}

int main(int argc, char **argv) {
  if (argc > 1 && strcmp(argv[1], "check-grad") == 0) return check_grad_command(argc, argv);
  TexcOptions o = {.opt_level = 2};
  const char *verify = getenv("TEXC_VERIFY"); /* the test suite sets it: verify after every pass */
  o.verify = verify && *verify && strcmp(verify, "0") != 0;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) return fputs(usage, stdout), TEXC_EXIT_OK;
    if (strcmp(a, "--version") == 0) return printf("texc %s (LLVM 19)\n", TEXC_VERSION), TEXC_EXIT_OK;
    if (strcmp(a, "--list-passes") == 0) {
      for (int p = 0; p < pass_count; p++)
        printf("%-10s %s%s\n", pass_table[p].name, pass_table[p].description, pass_table[p].optimising ? "" : " (always runs)");
      return TEXC_EXIT_OK;
    }
    if (a[0] != '-' || (a[1] == 0)) {
      if (o.input) return bad_usage("more than one input file ('%s')", a);
      o.input = a;
      continue;
    }
    int rc = parse_option(&o, argc, argv, &i);
    if (rc) return rc;
  }
  if (!o.input) return bad_usage("%s", "no input file");
  char why[256];
  if (texc_options_error(&o, why, sizeof why)) return bad_usage("%s", why);
  return texc_compile(&o);
}
