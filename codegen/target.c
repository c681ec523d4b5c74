/* target.c — the LLVM context, target machine, optimisation and emission.
 *
 * By default code is built for the host CPU with all its features.  --cpu
 * picks a portable level (x86-64-v2 ...) or a named microarchitecture; the
 * features that choice needs are recorded in the module metadata, and the
 * runtime checks them at the first call instead of dying with SIGILL. */
#include <string.h>

#include <llvm-c/Analysis.h>
#include <llvm-c/Support.h>
#include <llvm-c/Target.h>
#include <llvm-c/Transforms/PassBuilder.h>
#include <stdlib.h>

#include "codegen.h"

#define V2 "sse3,ssse3,sse4.1,sse4.2,popcnt"
#define V3 V2 ",avx,avx2,bmi,bmi2,f16c,fma,lzcnt,movbe"
#define V4 V3 ",avx512f,avx512bw,avx512cd,avx512dq,avx512vl"
#define ICELAKE V4 ",avx512vnni,avx512vbmi,avx512ifma,avx512vbmi2,avx512bitalg,avx512vpopcntdq,gfni,vpclmulqdq"

/* CPUs texc can target besides the host, with the features the runtime
 * checks (the x86-64 psABI levels, and the microarchitectures at each). */
static const struct {
  const char *name, *features;
} cpus[] = {
    {"x86-64", ""},
    {"x86-64-v2", V2},
    {"x86-64-v3", V3},
    {"x86-64-v4", V4},
    {"haswell", V3},
    {"broadwell", V3},
    {"skylake", V3},
    {"alderlake", V3},
    {"skylake-avx512", V4},
    {"cascadelake", V4 ",avx512vnni"},
    {"icelake-server", ICELAKE},
    {"sapphirerapids", ICELAKE ",avx512bf16,avx512fp16"},
    {"znver1", V3},
    {"znver2", V3},
    {"znver3", V3},
    {"znver4", ICELAKE ",avx512bf16"},
};

static void diagnostic_handler(LLVMDiagnosticInfoRef info, void *ctx) {
  CgModule *cm = ctx;
  if (LLVMGetDiagInfoSeverity(info) != LLVMDSError) return;
  char *msg = LLVMGetDiagInfoDescription(info);
  fprintf(stderr, "texc: LLVM error: %s\n", msg);
  LLVMDisposeMessage(msg);
  cm->llvm_errors++;
}

/* The "+feature" entries of LLVM's host feature string, without the '+'. */
static void host_features(const char *llvm_features, char *out, size_t len) {
  size_t n = 0;
  out[0] = 0;
  for (const char *p = llvm_features; p && *p;) {
    const char *end = strchr(p, ',');
    size_t l = end ? (size_t)(end - p) : strlen(p);
    if (*p == '+' && n + l + 1 < len) {
      n += (size_t)snprintf(out + n, len - n, "%s%.*s", n ? "," : "", (int)l - 1, p + 1);
    }
    p = end ? end + 1 : NULL;
  }
}

/* texc's kernels are loop nests it wrote itself: no calls left after the
 * body is inlined, no memory but the operands, reductions already in lane
 * order.  A short pipeline that promotes, simplifies, rotates and vectorises
 * them produces the same machine loops as default<O3> in a quarter of the
 * time (bench/mlp.tex with its gradient: LLVM optimisation 180 -> 45 ms).
 * -O3 keeps LLVM's whole pipeline for comparison. */
#define IC "instcombine<no-verify-fixpoint>"
static const char kernel_pipeline[] = "always-inline,function(sroa,early-cse," IC ",simplifycfg,loop(loop-rotate),loop-mssa(licm),indvars,"
                                      "loop-vectorize," IC ",simplifycfg)";
static const char *const pipelines[] = {"default<O0>", kernel_pipeline, kernel_pipeline, "default<O3>"};

/* Code generation options, process-wide in LLVM, set once.  Loop strength
 * reduction took a third of instruction emission and buys nothing on x86's
 * addressing modes for these loops; epilogue vectorisation doubles the code
 * of every loop for tails that are a few iterations long. */
static void set_codegen_options(void) {
  static bool done;
  if (done) return;
  done = true;
  const char *argv[] = {"texc", "-disable-lsr", "-enable-epilogue-vectorization=false"};
  LLVMParseCommandLineOptions(3, argv, NULL);
}

static bool x86_init(CgModule *cm, const char *name, const char *cpu) {
  memset(cm, 0, sizeof *cm);
  set_codegen_options();
  LLVMInitializeX86TargetInfo();
  LLVMInitializeX86Target();
  LLVMInitializeX86TargetMC();
  LLVMInitializeX86AsmPrinter();
  char *llvm_features = NULL;
  if (!cpu || strcmp(cpu, "host") == 0) {
    char *host = LLVMGetHostCPUName();
    snprintf(cm->cpu, sizeof cm->cpu, "%s", host);
    LLVMDisposeMessage(host);
    llvm_features = LLVMGetHostCPUFeatures();
    host_features(llvm_features, cm->checked_features, sizeof cm->checked_features);
  } else {
    size_t i = 0;
    while (i < sizeof cpus / sizeof cpus[0] && strcmp(cpus[i].name, cpu) != 0) i++;
    if (i == sizeof cpus / sizeof cpus[0]) return false;
    snprintf(cm->cpu, sizeof cm->cpu, "%s", cpu);
    snprintf(cm->checked_features, sizeof cm->checked_features, "%s", cpus[i].features);
  }
  char *triple = LLVMGetDefaultTargetTriple();
  LLVMTargetRef target;
  char *err = NULL;
  if (LLVMGetTargetFromTriple(triple, &target, &err)) ice("no LLVM target for %s: %s", triple, err);
  cm->tm = LLVMCreateTargetMachine(target, triple, cm->cpu, llvm_features ? llvm_features : "", LLVMCodeGenLevelAggressive, LLVMRelocPIC,
                                   LLVMCodeModelDefault);
  cm->ctx = LLVMContextCreate();
  LLVMContextSetDiagnosticHandler(cm->ctx, diagnostic_handler, cm);
  cm->mod = LLVMModuleCreateWithNameInContext(name, cm->ctx);
  LLVMSetTarget(cm->mod, triple);
  LLVMTargetDataRef layout = LLVMCreateTargetDataLayout(cm->tm);
  char *dl = LLVMCopyStringRepOfTargetData(layout);
  LLVMSetDataLayout(cm->mod, dl);
  LLVMDisposeMessage(dl);
  LLVMDisposeTargetData(layout);
  LLVMDisposeMessage(triple);
  if (llvm_features) LLVMDisposeMessage(llvm_features);
  return true;
}

const Target cg_target_x86_64 = {
    .name = "x86-64",
    .device = "cpu",
    .init = x86_init,
    .emit_kernel = cg_cpu_emit_kernel,
    .emit_rows = cg_cpu_emit_rows,
    .emit_entry = cg_cpu_emit_entry,
    .optimize = cg_optimize,
    .emit = cg_emit,
    .link = cg_link,
    .dispose = cg_module_dispose,
};

bool cg_module_init(CgModule *cm, const Target *t, const char *name, const char *cpu) {
  if (!t->init(cm, name, cpu)) return false;
  cm->target = t;
  return true;
}

const char *cg_known_cpus(void) {
  return "host, x86-64, x86-64-v2, x86-64-v3, x86-64-v4, haswell, broadwell, skylake, alderlake, skylake-avx512, "
         "cascadelake, icelake-server, sapphirerapids, znver1, znver2, znver3, znver4";
}

void cg_module_dispose(CgModule *cm) {
  if (cm->mod) LLVMDisposeModule(cm->mod);
  if (cm->ctx) LLVMContextDispose(cm->ctx);
  if (cm->tm) LLVMDisposeTargetMachine(cm->tm);
  memset(cm, 0, sizeof *cm);
}

void cg_optimize(CgModule *cm, int opt_level) {
  char *err = NULL;
  if (LLVMVerifyModule(cm->mod, LLVMReturnStatusAction, &err)) ice("generated LLVM IR is invalid: %s", err);
  LLVMDisposeMessage(err);
  LLVMPassBuilderOptionsRef po = LLVMCreatePassBuilderOptions();
  const char *pipe = getenv("TEXC_PIPELINE"); /* for measuring LLVM pipelines (ARCHITECTURE.md) */
  LLVMErrorRef e = LLVMRunPasses(cm->mod, pipe ? pipe : pipelines[opt_level < 0 ? 0 : opt_level > 3 ? 3 : opt_level], cm->tm, po);
  if (e) {
    char *msg = LLVMGetErrorMessage(e);
    ice("LLVM passes failed: %s", msg);
  }
  LLVMDisposePassBuilderOptions(po);
}

bool cg_emit(CgModule *cm, LLVMCodeGenFileType kind, FILE *out) {
  LLVMMemoryBufferRef buf = NULL;
  char *err = NULL;
  if (LLVMTargetMachineEmitToMemoryBuffer(cm->tm, cm->mod, kind, &err, &buf) || cm->llvm_errors) {
    fprintf(stderr, "texc: LLVM could not emit code: %s\n", err ? err : "see above");
    LLVMDisposeMessage(err);
    return false;
  }
  size_t n = LLVMGetBufferSize(buf);
  bool ok = fwrite(LLVMGetBufferStart(buf), 1, n, out) == n;
  LLVMDisposeMemoryBuffer(buf);
  return ok;
}
