/* cpu.c — the first-call CPU check: error out instead of dying of SIGILL.
 *
 * texc targets the host CPU by default, so a .so copied to an older machine
 * would crash on its first AVX-512 instruction.  The module records the LLVM
 * features it was built with (module->cpu_features); before the first call we
 * ask the running CPU for each of them through GCC's __builtin_cpu_supports,
 * which also checks that the OS saves the wide registers (XCR0).
 *
 * Only names in the table below are checked; every other name is ignored on
 * purpose: LLVM's feature list also holds tuning flags and mode bits with no
 * cpuid meaning ("fast-variable-perlane-shuffle", "slow-3ops-lea", "64bit")
 * and ISA details __builtin_cpu_supports cannot ask about; refusing those
 * would reject CPUs that run the code fine.
 */
#include "texrt.h"

#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

/* LLVM feature name, GCC __builtin_cpu_supports name.  Both columns must be
 * string literals: the builtin accepts nothing else. */
// clang-format off
#define X86_FEATURES_CORE(X)                                                   \
  X("mmx", "mmx") X("sse", "sse") X("sse2", "sse2") X("sse3", "sse3")          \
  X("ssse3", "ssse3") X("sse4.1", "sse4.1") X("sse4.2", "sse4.2")              \
  X("sse4a", "sse4a") X("popcnt", "popcnt") X("cmov", "cmov")                  \
  X("avx", "avx") X("avx2", "avx2") X("fma", "fma") X("fma4", "fma4")          \
  X("xop", "xop") X("bmi", "bmi") X("bmi2", "bmi2") X("aes", "aes")            \
  X("pclmul", "pclmul") X("avx512f", "avx512f") X("avx512vl", "avx512vl")      \
  X("avx512bw", "avx512bw") X("avx512dq", "avx512dq")                          \
  X("avx512cd", "avx512cd") X("avx512vbmi", "avx512vbmi")                      \
  X("avx512vbmi2", "avx512vbmi2") X("avx512ifma", "avx512ifma")                \
  X("avx512vnni", "avx512vnni") X("avx512bitalg", "avx512bitalg")              \
  X("avx512vpopcntdq", "avx512vpopcntdq") X("avx512bf16", "avx512bf16")        \
  X("avx512vp2intersect", "avx512vp2intersect") X("gfni", "gfni")              \
  X("vpclmulqdq", "vpclmulqdq")

/* GCC 12 taught __builtin_cpu_supports these; older compilers and clang
 * reject them at compile time, so they are simply not checked there. */
#if defined(__GNUC__) && !defined(__clang__) && __GNUC__ >= 12
#define X86_FEATURES_NEW(X)                                                    \
  X("f16c", "f16c") X("movbe", "movbe") X("adx", "adx") X("sha", "sha")        \
  X("lzcnt", "lzcnt") X("xsave", "xsave") X("vaes", "vaes")                    \
  X("avxvnni", "avxvnni") X("avx512fp16", "avx512fp16")
#else
#define X86_FEATURES_NEW(X)
#endif
// clang-format on

#define X86_FEATURES(X) X86_FEATURES_CORE(X) X86_FEATURES_NEW(X)

#define FEATURE_NAME(llvm, gcc) llvm,
static const char *const known_features[] = {X86_FEATURES(FEATURE_NAME)};
#undef FEATURE_NAME

/* The one cached result: the module whose features this CPU was found to
 * have.  Each .so links its own copy of the runtime, so this is "once per
 * process"; a racing second check is harmless (same answer, same store). */
static _Atomic(const TexModuleInfo *) checked_module;

static int is_known(const char *name) {
  for (size_t i = 0; i < sizeof known_features / sizeof known_features[0]; i++)
    if (strcmp(known_features[i], name) == 0) return 1;
  return 0;
}

/* Copies one list item into name: spaces trimmed, a leading '+' dropped.
 * Returns 0 for items not worth checking: empty, disabled ("-avx512f", as
 * LLVMGetHostCPUFeatures writes them) or too long to be a known name. */
static int feature_token(const char *p, size_t n, char *name, size_t cap) {
  while (n > 0 && *p == ' ') p++, n--;
  while (n > 0 && p[n - 1] == ' ') n--;
  if (n > 0 && *p == '+') p++, n--;
  if (n == 0 || *p == '-' || n >= cap) return 0;
  memcpy(name, p, n);
  name[n] = '\0';
  return 1;
}

/* Appends ", name" (or "name" first) to out, dropping what does not fit. */
static void append_name(char *out, size_t cap, size_t *used, const char *name) {
  if (!out || *used >= cap) return;
  int n = snprintf(out + *used, cap - *used, "%s%s", *used ? ", " : "", name);
  if (n < 0 || (size_t)n >= cap - *used) {
    out[*used] = '\0'; /* keep whole names only */
    *used = cap;
    return;
  }
  *used += (size_t)n;
}

/* Does not touch the error message: texrt_check_cpu words it. */
int texrt_check_features(const char *required, int (*has)(const char *feature), char *missing, size_t missing_len) {
  size_t used = 0;
  int nmissing = 0;
  if (missing && missing_len) missing[0] = '\0';
  if (!required || !has) return TEX_OK;
  for (const char *p = required; *p;) {
    size_t n = strcspn(p, ",");
    char name[32];
    if (feature_token(p, n, name, sizeof name) && is_known(name) && !has(name)) {
      append_name(missing, missing_len, &used, name);
      nmissing++;
    }
    p += n;
    if (*p == ',') p++;
  }
  return nmissing ? TEX_ERR_CPU : TEX_OK;
}

/* The running CPU's answer for a known LLVM name.  Off x86 there is nothing
 * to ask; a module built for x86 could not have been loaded there anyway. */
static int host_has(const char *name) {
#if defined(__x86_64__) || defined(__i386__)
#define HOST_HAS(llvm, gcc)                                                                                                                \
  if (strcmp(name, llvm) == 0) return __builtin_cpu_supports(gcc) != 0;
  X86_FEATURES(HOST_HAS)
#undef HOST_HAS
#else
  (void)name;
#endif
  return 1;
}

int texrt_check_cpu(const TexModuleInfo *module) {
  if (!module || !module->cpu_features || !module->cpu_features[0]) return TEX_OK;
  if (atomic_load_explicit(&checked_module, memory_order_acquire) == module) return TEX_OK;
  char missing[512];
#if defined(__x86_64__) || defined(__i386__)
  __builtin_cpu_init(); /* idempotent; needed if we run before constructors */
#endif
  if (texrt_check_features(module->cpu_features, host_has, missing, sizeof missing) != TEX_OK)
    return texrt_fail(TEX_ERR_CPU,
                      "%s: this module was built for CPU '%s' and needs %s, which this "
                      "CPU lacks; rebuild with --cpu=x86-64-v2 (or another portable level)",
                      module->prefix ? module->prefix : "texc module", module->cpu ? module->cpu : "?", missing);
  atomic_store_explicit(&checked_module, module, memory_order_release);
  return TEX_OK;
}
