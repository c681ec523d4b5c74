/* test_vecmath.c — accuracy, special values and vectorisation of the inline
 * elementary functions of codegen/vecmath.c.
 *
 * One module holds, for every function and dtype, three kernels built around
 * cg_math: a scalar function T f(T), a loop void k(const T*, T*, i64) over
 * scalars (which the O3 loop vectoriser vectorises), and a loop over explicit
 * <16 x float> / <8 x double> vectors.  The module is optimised with
 * default<O3> for the host target machine and run with ORC LLJIT.  Each
 * function is then evaluated on special values, thresholds +- a few ulps, a
 * dense sweep of its core interval, uniform samples of its whole interesting
 * domain and random bit patterns (log-uniform, both signs), and compared with
 * libm: double libm for f32, long double libm for f64, errors in ulps of the
 * result's dtype.  The three kernels must agree bitwise; the optimised module
 * must contain no calls other than llvm.* intrinsics.
 *
 * Prints the table of lang/math.md (max ulp, worst input, ns/element).
 * Environment: VECMATH_EXHAUSTIVE=1 also runs every float input through the
 * f32 kernels (minutes; VECMATH_EXHAUSTIVE=exp,erf only through those);
 * VECMATH_SCALE=n takes n times the random samples;
 * VECMATH_IR=file writes the optimised CPU module; VECMATH_PTX=file writes
 * the PTX of the NVPTX lowering test. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <float.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <llvm-c/Analysis.h>
#include <llvm-c/Core.h>
#include <llvm-c/Error.h>
#include <llvm-c/LLJIT.h>
#include <llvm-c/Orc.h>
#include <llvm-c/Target.h>
#include <llvm-c/TargetMachine.h>
#include <llvm-c/Transforms/PassBuilder.h>

#include "codegen.h"
#define GAMMA_REF_QUAD
#include "unit/gamma_ref.h"

enum { F32, F64, NDT };
static const char *const dt_names[NDT] = {"f32", "f64"};
static const unsigned vec_width[NDT] = {16, 8};

/* Documented bounds (lang/math.md): max ulp error per function and dtype.
 * Every function is faithfully rounded (< 1 ulp); measured maxima are
 * 0.5-0.88 ulp (f32: over all 2^32 inputs). */
/* Every op texc's vecmath implements. */
#define FOR_MATH(fn) for (int fn = 0; fn < OP_COUNT; fn++) if (cg_math_has((Op)fn))

static const double ulp_bound[OP_COUNT][NDT] = {
    [OP_EXP] = {1.0, 1.0},     [OP_LOG] = {1.0, 1.0},   [OP_TANH] = {1.0, 1.0},
    [OP_SIGMOID] = {1.0, 1.0}, [OP_EXPM1] = {1.0, 1.0}, [OP_LOG1P] = {1.0, 1.0},
    [OP_ERF] = {1.0, 1.0},     [OP_ERFC] = {1.0, 1.0},  [OP_LOG1MEXP] = {1.0, 1.0},
    [OP_SIN] = {1.0, 1.0},     [OP_COS] = {1.0, 1.0},   [OP_RSQRT] = {1.0, 1.0},
    [OP_LGAMMA] = {1.0, 1.0},  [OP_DIGAMMA] = {1.0, 1.0}, [OP_TRIGAMMA] = {1.0, 1.0},
    [OP_TETRAGAMMA] = {1.0, 1.0},
};

typedef void (*LoopFn)(const void *x, void *y, int64_t n);

typedef struct KernelSet {
    void *scalar; /* float (*)(float) or double (*)(double) */
    LoopFn loop;
    LoopFn vec;
} KernelSet;

typedef struct Fixture {
    LLVMOrcLLJITRef jit;
    KernelSet k[OP_COUNT][NDT];
    int foreign_calls;                       /* calls to non-llvm.* functions after O3 */
    bool loop_vectorised[OP_COUNT][NDT]; /* the scalar loop has vector instructions */
    double max_ulp[OP_COUNT][NDT];
    double worst_x[OP_COUNT][NDT];
    double ns_per_elem[OP_COUNT][NDT];
    long samples[OP_COUNT][NDT];
} Fixture;

/* ---- building the kernels ----------------------------------------------- */

static LLVMTypeRef dtype_type(LLVMContextRef ctx, int dt)
{
    return dt == F64 ? LLVMDoubleTypeInContext(ctx) : LLVMFloatTypeInContext(ctx);
}

static void kernel_name(char *buf, size_t n, const char *kind, Op fn, int dt)
{
    snprintf(buf, n, "%s_%s_%s", kind, op_info[fn].name, dt_names[dt]);
}

/* T scalar_<fn>_<dt>(T x) { return fn(x); } */
static void build_scalar(LLVMModuleRef m, Op fn, int dt)
{
    LLVMContextRef ctx = LLVMGetModuleContext(m);
    LLVMTypeRef t = dtype_type(ctx, dt);
    char name[64];
    kernel_name(name, sizeof name, "scalar", fn, dt);
    LLVMValueRef f = LLVMAddFunction(m, name, LLVMFunctionType(t, &t, 1, 0));
    LLVMBuilderRef b = LLVMCreateBuilderInContext(ctx);
    LLVMPositionBuilderAtEnd(b, LLVMAppendBasicBlockInContext(ctx, f, "entry"));
    LLVMBuildRet(b, cg_math(b, fn, LLVMGetParam(f, 0)));
    LLVMDisposeBuilder(b);
}

/* void <kind>_<fn>_<dt>(const T *x, T *y, i64 n): for (i = 0; i < n; i += w)
 * y[i..i+w) = fn(x[i..i+w)), on T when w == 1 and on <w x T> otherwise (then
 * n must be a multiple of w). */
static void build_loop(LLVMModuleRef m, Op fn, int dt, unsigned w)
{
    LLVMContextRef ctx = LLVMGetModuleContext(m);
    LLVMTypeRef t = dtype_type(ctx, dt);
    LLVMTypeRef vt = w == 1 ? t : LLVMVectorType(t, w);
    LLVMTypeRef i64 = LLVMInt64TypeInContext(ctx);
    LLVMTypeRef ptr = LLVMPointerTypeInContext(ctx, 0);
    LLVMTypeRef params[3] = {ptr, ptr, i64};
    char name[64];
    kernel_name(name, sizeof name, w == 1 ? "loop" : "vec", fn, dt);
    LLVMValueRef f = LLVMAddFunction(m, name, LLVMFunctionType(LLVMVoidTypeInContext(ctx), params, 3, 0));
    unsigned noalias = LLVMGetEnumAttributeKindForName("noalias", 7);
    for (unsigned i = 0; i < 2; i++)
        LLVMAddAttributeAtIndex(f, i + 1, LLVMCreateEnumAttribute(ctx, noalias, 0));
    LLVMBasicBlockRef entry = LLVMAppendBasicBlockInContext(ctx, f, "entry");
    LLVMBasicBlockRef body = LLVMAppendBasicBlockInContext(ctx, f, "body");
    LLVMBasicBlockRef done = LLVMAppendBasicBlockInContext(ctx, f, "done");
    LLVMBuilderRef b = LLVMCreateBuilderInContext(ctx);
    LLVMValueRef n = LLVMGetParam(f, 2), zero = LLVMConstInt(i64, 0, 0);
    LLVMPositionBuilderAtEnd(b, entry);
    LLVMBuildCondBr(b, LLVMBuildICmp(b, LLVMIntSGT, n, zero, ""), body, done);
    LLVMPositionBuilderAtEnd(b, body);
    LLVMValueRef i = LLVMBuildPhi(b, i64, "i");
    LLVMValueRef px = LLVMBuildGEP2(b, t, LLVMGetParam(f, 0), &i, 1, "");
    LLVMValueRef py = LLVMBuildGEP2(b, t, LLVMGetParam(f, 1), &i, 1, "");
    LLVMValueRef x = LLVMBuildLoad2(b, vt, px, "");
    LLVMSetAlignment(x, dt == F64 ? 8 : 4);
    LLVMValueRef st = LLVMBuildStore(b, cg_math(b, fn, x), py);
    LLVMSetAlignment(st, dt == F64 ? 8 : 4);
    LLVMValueRef next = LLVMBuildAdd(b, i, LLVMConstInt(i64, w, 0), "");
    LLVMBuildCondBr(b, LLVMBuildICmp(b, LLVMIntSGE, next, n, ""), done, body);
    LLVMValueRef in_vals[2] = {zero, next};
    LLVMBasicBlockRef in_bbs[2] = {entry, body};
    LLVMAddIncoming(i, in_vals, in_bbs, 2);
    LLVMPositionBuilderAtEnd(b, done);
    LLVMBuildRetVoid(b);
    LLVMDisposeBuilder(b);
}

static LLVMTargetMachineRef host_target_machine(void)
{
    char *triple = LLVMGetDefaultTargetTriple();
    char *cpu = LLVMGetHostCPUName();
    char *features = LLVMGetHostCPUFeatures();
    LLVMTargetRef target = NULL;
    char *err = NULL;
    LLVMTargetMachineRef tm = NULL;
    if (LLVMGetTargetFromTriple(triple, &target, &err) == 0)
        tm = LLVMCreateTargetMachine(target, triple, cpu, features, LLVMCodeGenLevelAggressive, LLVMRelocDefault,
                                     LLVMCodeModelJITDefault);
    else
        fprintf(stderr, "target: %s\n", err);
    LLVMDisposeMessage(err);
    LLVMDisposeMessage(triple);
    LLVMDisposeMessage(cpu);
    LLVMDisposeMessage(features);
    return tm;
}

static bool starts_with(const char *s, size_t len, const char *prefix)
{
    size_t n = strlen(prefix);
    return len >= n && memcmp(s, prefix, n) == 0;
}

/* Calls to anything but an llvm.* intrinsic in function f. */
static int count_foreign_calls(LLVMValueRef f)
{
    int calls = 0;
    for (LLVMBasicBlockRef bb = LLVMGetFirstBasicBlock(f); bb; bb = LLVMGetNextBasicBlock(bb))
        for (LLVMValueRef in = LLVMGetFirstInstruction(bb); in; in = LLVMGetNextInstruction(in)) {
            if (LLVMGetInstructionOpcode(in) != LLVMCall && LLVMGetInstructionOpcode(in) != LLVMInvoke)
                continue;
            size_t len = 0;
            const char *callee = LLVMGetValueName2(LLVMGetCalledValue(in), &len);
            if (!starts_with(callee, len, "llvm.")) {
                fprintf(stderr, "foreign call to '%.*s'\n", (int)len, callee);
                calls++;
            }
        }
    return calls;
}

/* Whether any instruction of f produces a vector. */
static bool has_vector_code(LLVMValueRef f)
{
    for (LLVMBasicBlockRef bb = LLVMGetFirstBasicBlock(f); bb; bb = LLVMGetNextBasicBlock(bb))
        for (LLVMValueRef in = LLVMGetFirstInstruction(bb); in; in = LLVMGetNextInstruction(in))
            if (LLVMGetTypeKind(LLVMTypeOf(in)) == LLVMVectorTypeKind)
                return true;
    return false;
}

static void inspect_module(Fixture *fx, LLVMModuleRef m)
{
    for (LLVMValueRef f = LLVMGetFirstFunction(m); f; f = LLVMGetNextFunction(f))
        fx->foreign_calls += count_foreign_calls(f);
    FOR_MATH(fn)
        for (int dt = 0; dt < NDT; dt++) {
            char name[64];
            kernel_name(name, sizeof name, "loop", (Op)fn, dt);
            fx->loop_vectorised[fn][dt] = has_vector_code(LLVMGetNamedFunction(m, name));
        }
}

/* Builds every kernel, verifies, optimises with O3 for the host. */
static bool build_module(Fixture *fx, LLVMModuleRef m, LLVMTargetMachineRef tm)
{
    FOR_MATH(fn)
        for (int dt = 0; dt < NDT; dt++) {
            build_scalar(m, (Op)fn, dt);
            build_loop(m, (Op)fn, dt, 1);
            build_loop(m, (Op)fn, dt, vec_width[dt]);
        }
    char *msg = NULL;
    bool bad = LLVMVerifyModule(m, LLVMReturnStatusAction, &msg);
    if (bad)
        fprintf(stderr, "verify: %s\n", msg);
    LLVMDisposeMessage(msg);
    if (bad)
        return false;
    char *triple = LLVMGetTargetMachineTriple(tm);
    LLVMSetTarget(m, triple);
    LLVMDisposeMessage(triple);
    LLVMTargetDataRef td = LLVMCreateTargetDataLayout(tm);
    LLVMSetModuleDataLayout(m, td);
    LLVMDisposeTargetData(td);
    LLVMPassBuilderOptionsRef opts = LLVMCreatePassBuilderOptions();
    LLVMErrorRef err = LLVMRunPasses(m, "default<O3>", tm, opts);
    LLVMDisposePassBuilderOptions(opts);
    if (err) {
        char *em = LLVMGetErrorMessage(err);
        fprintf(stderr, "passes: %s\n", em);
        LLVMDisposeErrorMessage(em);
        return false;
    }
    const char *dump = getenv("VECMATH_IR");
    char *perr = NULL;
    if (dump && LLVMPrintModuleToFile(m, dump, &perr))
        fprintf(stderr, "VECMATH_IR: %s\n", perr);
    LLVMDisposeMessage(perr);
    inspect_module(fx, m);
    return true;
}

static bool jit_ok(LLVMErrorRef err, const char *what)
{
    if (!err)
        return true;
    char *msg = LLVMGetErrorMessage(err);
    fprintf(stderr, "%s: %s\n", what, msg);
    LLVMDisposeErrorMessage(msg);
    return false;
}

static bool lookup_kernels(Fixture *fx)
{
    FOR_MATH(fn)
        for (int dt = 0; dt < NDT; dt++) {
            static const char *const kinds[3] = {"scalar", "loop", "vec"};
            LLVMOrcExecutorAddress addr[3];
            for (int i = 0; i < 3; i++) {
                char name[64];
                kernel_name(name, sizeof name, kinds[i], (Op)fn, dt);
                if (!jit_ok(LLVMOrcLLJITLookup(fx->jit, &addr[i], name), name))
                    return false;
            }
            fx->k[fn][dt].scalar = (void *)(uintptr_t)addr[0];
            fx->k[fn][dt].loop = (LoopFn)(uintptr_t)addr[1];
            fx->k[fn][dt].vec = (LoopFn)(uintptr_t)addr[2];
        }
    return true;
}

static int setup(void **state)
{
    LLVMInitializeNativeTarget();
    LLVMInitializeNativeAsmPrinter();
    Fixture *fx = calloc(1, sizeof *fx);
    LLVMTargetMachineRef tm = host_target_machine();
    if (!fx || !tm)
        return -1;
    LLVMOrcThreadSafeContextRef tsc = LLVMOrcCreateNewThreadSafeContext();
    LLVMModuleRef m = LLVMModuleCreateWithNameInContext("vecmath", LLVMOrcThreadSafeContextGetContext(tsc));
    bool ok = build_module(fx, m, tm);
    LLVMDisposeTargetMachine(tm);
    if (ok)
        ok = jit_ok(LLVMOrcCreateLLJIT(&fx->jit, NULL), "lljit");
    if (ok) {
        LLVMOrcThreadSafeModuleRef tsm = LLVMOrcCreateNewThreadSafeModule(m, tsc);
        ok = jit_ok(LLVMOrcLLJITAddLLVMIRModule(fx->jit, LLVMOrcLLJITGetMainJITDylib(fx->jit), tsm), "add module");
        if (!ok)
            LLVMOrcDisposeThreadSafeModule(tsm);
    } else {
        LLVMDisposeModule(m);
    }
    LLVMOrcDisposeThreadSafeContext(tsc);
    if (ok)
        ok = lookup_kernels(fx);
    *state = fx;
    return ok ? 0 : -1;
}

static void print_table(const Fixture *fx)
{
    printf("\n| fn       | dtype | max ulp | worst input              |    samples | ns/elem (loop) |\n");
    printf("|----------|-------|---------|--------------------------|------------|----------------|\n");
    FOR_MATH(fn)
        for (int dt = 0; dt < NDT; dt++)
            printf("| %-8s | %-5s | %7.3f | %-24.17g | %10ld | %14.2f |\n", op_info[fn].name, dt_names[dt],
                   fx->max_ulp[fn][dt], fx->worst_x[fn][dt], fx->samples[fn][dt], fx->ns_per_elem[fn][dt]);
}

static int teardown(void **state)
{
    Fixture *fx = *state;
    if (!fx)
        return 0;
    print_table(fx);
    if (fx->jit)
        jit_ok(LLVMOrcDisposeLLJIT(fx->jit), "dispose lljit");
    free(fx);
    return 0;
}

/* ---- references and ulp errors ------------------------------------------ */

static long double ref_f64(Op fn, long double x)
{
    switch (fn) {
    case OP_EXP: return expl(x);
    case OP_LOG: return logl(x);
    case OP_TANH: return tanhl(x);
    case OP_SIGMOID: return 1.0L / (1.0L + expl(-x));
    case OP_EXPM1: return expm1l(x);
    case OP_LOG1P: return log1pl(x);
    case OP_ERF: return erfl(x);
    case OP_ERFC: return erfcl(x);
    case OP_LOG1MEXP: /* Maechler's rule; x > 0 gives NaN, 0 gives -inf */
        return x > -0.693147180559945309417232121458176568L ? logl(-expm1l(x)) : log1pl(-expl(x));
    case OP_SIN: return sinl(x); /* glibc reduces with its own 2/pi table: good for every x */
    case OP_COS: return cosl(x);
    case OP_RSQRT: return 1.0L / sqrtl(x);
    /* the gamma family in __float128: long double's 2^-64 is too coarse
     * next to their zeros */
    case OP_LGAMMA: return (long double)lgammaq((__float128)x);
    case OP_DIGAMMA: return (long double)gref_digamma_q((double)x);
    case OP_TRIGAMMA: return (long double)gref_trigamma_q((double)x);
    case OP_TETRAGAMMA: return (long double)gref_tetragamma_q((double)x);
    default: break;
    }
    return NAN;
}

static long double ref_f32(Op fn, double x)
{
    switch (fn) {
    case OP_EXP: return exp(x);
    case OP_LOG: return log(x);
    case OP_TANH: return tanh(x);
    case OP_SIGMOID: return x < 0 ? exp(x) / (1.0 + exp(x)) : 1.0 / (1.0 + exp(-x));
    case OP_EXPM1: return expm1(x);
    case OP_LOG1P: return log1p(x);
    case OP_ERF: return erf(x);
    case OP_ERFC: return erfc(x);
    case OP_LOG1MEXP: return x > -0x1.62e42fefa39efp-1 ? log(-expm1(x)) : log1p(-exp(x));
    case OP_SIN: return sin(x);
    case OP_COS: return cos(x);
    case OP_RSQRT: return 1.0L / sqrtl(x); /* double's 1/sqrt is off by up to 1 double ulp: too coarse near f32 ties */
    case OP_LGAMMA: return lgammal(x);
    case OP_DIGAMMA: return gref_digamma_ld(x);
    case OP_TRIGAMMA: return gref_trigamma_ld(x);
    case OP_TETRAGAMMA: return gref_tetragamma_ld(x);
    default: break;
    }
    return NAN;
}

/* Error of y against the (more precise) ref in ulps of dtype dt; inf counts
 * as the next power of two after the largest finite value, so returning inf
 * next to the overflow threshold costs about one ulp.  NaN must match NaN. */
static double ulp_error(long double y, long double ref, int dt)
{
    int prec = dt == F64 ? DBL_MANT_DIG : FLT_MANT_DIG;
    int emin = dt == F64 ? DBL_MIN_EXP - 1 : FLT_MIN_EXP - 1; /* exponent of the smallest normal */
    int emax = dt == F64 ? DBL_MAX_EXP - 1 : FLT_MAX_EXP - 1;
    if (isnan(y) || isnan(ref))
        return isnan(y) && isnan(ref) ? 0 : INFINITY;
    long double rounded = dt == F64 ? (long double)(double)ref : (long double)(float)ref;
    if (isinf(rounded) && y == rounded)
        return 0;
    if (isinf(ref))
        return INFINITY;
    if (isinf(y))
        y = copysignl(ldexpl(1.0L, emax + 1), y);
    int e = ref == 0 ? emin : ilogbl(ref);
    if (e < emin)
        e = emin;
    if (e > emax)
        e = emax;
    return (double)(fabsl(y - ref) / ldexpl(1.0L, e - (prec - 1)));
}

/* ---- inputs ------------------------------------------------------------- */

typedef struct Rng {
    uint64_t s;
} Rng;

static uint64_t rng_next(Rng *r) /* splitmix64 */
{
    uint64_t z = (r->s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static double rng_unit(Rng *r) { return (double)(rng_next(r) >> 11) * 0x1p-53; }

/* A growable array of inputs, stored as double (exact for f32 inputs too). */
typedef struct Inputs {
    double *v;
    size_t n, cap;
} Inputs;

static void push(Inputs *in, double x)
{
    if (in->n == in->cap) {
        in->cap = in->cap ? 2 * in->cap : 4096;
        in->v = realloc(in->v, in->cap * sizeof *in->v);
        assert_non_null(in->v);
    }
    in->v[in->n++] = x;
}

static double to_dtype(double x, int dt) { return dt == F64 ? x : (double)(float)x; }
static double next_up(double x, int dt) { return dt == F64 ? nextafter(x, INFINITY) : nextafterf((float)x, INFINITY); }
static double next_down(double x, int dt)
{
    return dt == F64 ? nextafter(x, -INFINITY) : nextafterf((float)x, -INFINITY);
}

/* x and the 8 representable neighbours on either side. */
static void push_around(Inputs *in, double x, int dt)
{
    double up = to_dtype(x, dt), dn = up;
    push(in, up);
    for (int i = 0; i < 8; i++) {
        up = next_up(up, dt);
        dn = next_down(dn, dt);
        push(in, up);
        push(in, dn);
    }
}

/* Special values and every threshold any of the functions has, both signs. */
static void push_specials(Inputs *in, int dt)
{
    double tiny = dt == F64 ? 0x1p-1074 : 0x1p-149, norm_min = dt == F64 ? DBL_MIN : FLT_MIN;
    double maxf = dt == F64 ? DBL_MAX : FLT_MAX;
    const double fixed[] = {0.0, INFINITY, NAN, tiny, norm_min - tiny, norm_min, maxf, 1.0, 2.0, 0.5, 1e-30, 1e-5};
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++) {
        push(in, to_dtype(fixed[i], dt));
        push(in, -to_dtype(fixed[i], dt));
    }
    const double f64_points[] = {709.782712893384, -708.3964185322641, -745.1332191019411, -744.4400719213812,
                                 -38.816242111356935, 36.7368005696771, 22.0, 19.06154746539849};
    const double f32_points[] = {88.72283935546875, -87.33654475, -103.97208, -103.27893, -18.714973, 17.328680,
                                 9.0, 15.942385};
    const double shared[] = {0.34657359027997264, 1.0397207708399179, 0.5493061443340549, 0.41421356237309515,
                             -0.2928932188134524, -1.0, -0.25, 0.25, 3.0};
    for (size_t i = 0; i < 8; i++) {
        push_around(in, dt == F64 ? f64_points[i] : f32_points[i], dt);
        push_around(in, dt == F64 ? -f64_points[i] : -f32_points[i], dt);
    }
    for (size_t i = 0; i < sizeof shared / sizeof shared[0]; i++) {
        push_around(in, shared[i], dt);
        push_around(in, -shared[i], dt);
    }
    /* erf/erfc: interval bounds (0.84375, 1.25, 1/0.35, the float tables'
     * 2.85715, erf's fdlibm tiny bound 2^-28), where erfc's result becomes
     * subnormal and 0 (f64: 26.543, 27.226; f32: 9.1945, 10.0542), where erf
     * rounds to 1, the |x| limits 28 and 11; log1mexp: -ln2 (its own list
     * above) and where its result becomes subnormal and 0. */
    const double erf_points[] = {0.84375,          1.25,   2.857142857142857, 2.85715, 0x1p-28, 6.0,
                                 4.0,              28.0,   11.0,              26.543, 27.2264, 9.1945,
                                 10.0542,          5.8636, 3.9215,            -708.3964185322641,
                                 -745.1332191019411, -87.33654475, -103.97208};
    for (size_t i = 0; i < sizeof erf_points / sizeof erf_points[0]; i++) {
        push_around(in, erf_points[i], dt);
        push_around(in, -erf_points[i], dt);
    }
}

/* sin/cos: for each binary exponent, the double closest to a multiple of
 * pi/2 (found from the continued fraction of 2^(e-52)*2/pi in 2600-bit
 * arithmetic): the 24 closest of all exponents, from 0x1.6ac5b262ca1ffp+849
 * (Kahan and McDonald's worst case, |x*2/pi - k| = 2^-61.5) and
 * 0x1.6c6cbc45dc8dep+5 (2^-61.1, in the Cody-Waite range), then one every 64
 * exponents.  The reduction must keep the full relative accuracy there. */
static const double pio2_hard[] = {
    0x1.6ac5b262ca1ffp+849, 0x1.6c6cbc45dc8dep+5, 0x1.6ac5b262ca1ffp+850, 0x1.6c6cbc45dc8dep+6,
    0x1.b951f1572eba5p+23, 0x1.504cac51f1eafp+131, 0x1.6ac5b262ca1ffp+851, 0x1.e009c53148be1p+991,
    0x1.6c6cbc45dc8dep+7, 0x1.4c96c11134d36p+577, 0x1.cfe482285f8edp+860, 0x1.db41f3cb71d7bp+680,
    0x1.e7e44a78ac18cp+197, 0x1.b951f1572eba5p+24, 0x1.c45cd11154dfdp+295, 0x1.504cac51f1eafp+132,
    0x1.83009e2e9e2ebp+614, 0x1.b2196364d750bp+253, 0x1.6ac5b262ca1ffp+852, 0x1.e009c53148be1p+992,
    0x1.69eab0985179bp+246, 0x1.6c6cbc45dc8dep+8, 0x1.4c96c11134d36p+578, 0x1.782b7a20df6d4p+67,
    0x1.b2196364d750bp+256, 0x1.776ae889d49fcp+512, 0x1.668db30162b3dp+640, 0x1.a7f3bc5a7ed9ep+64,
    0x1.921fb54442d18p+0, 0x1.2e28b9339bd65p+448, 0x1.6fb0d0ab996fap+832, 0x1.f0c9d98414062p+704,
    0x1.870a967710516p+320, 0x1.afeb41302d02ap+768, 0x1.715b33a0d143ep+384, 0x1.ea17c46d23a3cp+960,
    0x1.84a40a64ab4cap+192, 0x1.58588f8cda276p+896, 0x1.29fd89961d61ep+576, 0x1.12155b2d3a126p+128,
};

/* The gamma family: where lgamma and digamma are 0 (1, 2, digamma's x0, the
 * first negative zeros), the shift and series bounds (8, 1 +- 1/4, 2 +- 1/4,
 * x0 +- 1/4), the tiny-argument bounds 2^-60, 2^-30, lgamma's overflow. */
static const double gamma_hard[] = {
    1.0, 2.0, 0x1.762d86356be3fp+0, 8.0, 0.75, 1.25, 1.75, 2.25, 0x1.262d86356be3fp+0, 0x1.c62d86356be3fp+0, 0x1p-60,
    0x1p-30, 0x1.7ffc8p+1014, 2.5563481638716906e305, 4.0850e36, 0.5, 0.25, 7.5, 7.9999999999,
    -0x1.5fb410a1bd901p+1, -0x1.3a7fc9600f86cp+1, -0x1.fa471547c2fe5p+1, -0x1.9260dbc9e59afp+1, -0x1.3f7577a6eeafdp+2,
    -0x1.0284e78599581p+2, -0x1.7fe92f591f40dp+2, -0x1.4086a57f0b6d9p+2, -0x1.8016b25897c8dp+2,
    -0x1.02172b05ee260p-1, -0x1.92d0cbc289d4ap+0, -0x1.4e2c19f679e5ap+1, -0x1.d1514b041b2a8p+1, -0x1.29cea5c1ccbd0p+2,
    -0.5, -1.5, -2.5, -100.5, -170.5, -1e-5, -0.25,
};

/* The zeros of lgamma in (-16, -2) (gamma_coefs.py), where the reflection
 * formula cancels and vecmath_gamma.c uses a series per zero instead. */
static const double lgamma_neg_zeros[] = {-0x1.5fb410a1bd901p+1, -0x1.3a7fc9600f86cp+1, -0x1.fa471547c2fe5p+1, -0x1.9260dbc9e59afp+1, -0x1.3f7577a6eeafdp+2, -0x1.0284e78599581p+2, -0x1.7fe92f591f40dp+2, -0x1.4086a57f0b6d9p+2, -0x1.bffcbf76b86f0p+2, -0x1.8016b25897c8dp+2, -0x1.ffff97f8159cfp+2, -0x1.c0033fdedfe1fp+2, -0x1.1ffffa3884bd0p+3, -0x1.000034028b3f9p+3, -0x1.3fffff6c0d7c0p+3, -0x1.200005c7768fbp+3, -0x1.5ffffff28cdd4p+3, -0x1.40000093f2777p+3, -0x1.7ffffffee1127p+3, -0x1.6000000d7322ap+3, -0x1.9fffffffe9edcp+3, -0x1.800000011eed9p+3, -0x1.bffffffffe6c7p+3, -0x1.a000000016124p+3, -0x1.dfffffffffe52p+3, -0x1.c000000001939p+3, -0x1.fffffffffffe5p+3, -0x1.e0000000001aep+3};

static void push_gamma_hard(Inputs *in, int dt)
{
    for (size_t i = 0; i < sizeof gamma_hard / sizeof gamma_hard[0]; i++)
        push_around(in, gamma_hard[i], dt);
    for (size_t i = 0; i < sizeof lgamma_neg_zeros / sizeof lgamma_neg_zeros[0]; i++) {
        double z = lgamma_neg_zeros[i];
        push_around(in, z, dt);
        for (int k = 4; k <= 52; k++) { /* every scale of distance, the series' windows included */
            push_around(in, z + ldexp(z, -k), dt);
            push_around(in, z - ldexp(z, -k), dt);
        }
    }
    for (int n = 1; n <= 40; n++) { /* next to the poles */
        push_around(in, -n, dt);
        push_around(in, -n + 0.5, dt);
    }
}

static void push_trig_hard(Inputs *in, int dt)
{
    for (size_t i = 0; i < sizeof pio2_hard / sizeof pio2_hard[0]; i++) {
        push_around(in, pio2_hard[i], dt);
        push_around(in, -pio2_hard[i], dt);
    }
    for (int e = -30; e < (dt == F64 ? 1024 : 128); e++) /* every bucket bound of the reduction */
        push_around(in, ldexp(1.0, e), dt);
}

/* Where each function is interesting: [lo, hi] of the dense sweep (core) and
 * of the uniform random samples (domain). */
typedef struct Ranges {
    double core_lo, core_hi, dom_lo, dom_hi;
} Ranges;

static Ranges ranges_for(Op fn, int dt)
{
    bool d = dt == F64;
    switch (fn) {
    case OP_EXP: return (Ranges){-2, 2, d ? -746 : -104, d ? 710 : 89};
    case OP_LOG: return (Ranges){0.5, 2, 0, 16};
    case OP_TANH: return (Ranges){-3, 3, d ? -22 : -10, d ? 22 : 10};
    case OP_SIGMOID: return (Ranges){-8, 8, d ? -746 : -104, d ? 40 : 20};
    case OP_EXPM1: return (Ranges){-1.5, 1.5, d ? -40 : -20, d ? 710 : 89};
    case OP_LOG1P: return (Ranges){-0.5, 1, -1, 16};
    case OP_ERF: return (Ranges){-3, 3, d ? -7 : -5, d ? 7 : 5};
    case OP_ERFC: return (Ranges){-2, 4, d ? -7 : -5, d ? 28 : 11};
    case OP_LOG1MEXP: return (Ranges){-3, 0, d ? -750 : -110, 0};
    case OP_SIN: case OP_COS: return (Ranges){-7, 7, -0x1p24, 0x1p24}; /* the Cody-Waite range */
    case OP_RSQRT: return (Ranges){0.25, 4, 0, d ? 1e300 : 1e38};
    case OP_LGAMMA: return (Ranges){0.5, 8, -30, d ? 200 : 40};
    case OP_DIGAMMA: case OP_TRIGAMMA: case OP_TETRAGAMMA: return (Ranges){0.25, 8, -30, 100};
    default: break;
    }
    return (Ranges){0, 0, 0, 0};
}

/* Random bit patterns: uniform over the exponents, so log-uniform over the
 * whole range of both signs (subnormals, +-inf included; NaNs skipped). */
static double random_bits(Rng *r, int dt)
{
    for (;;) {
        uint64_t u = rng_next(r);
        double x;
        if (dt == F64) {
            memcpy(&x, &u, sizeof x);
        } else {
            uint32_t v = (uint32_t)u;
            float f;
            memcpy(&f, &v, sizeof f);
            x = f;
        }
        if (!isnan(x))
            return x;
    }
}

enum { N_DENSE = 100000, N_DOMAIN = 200000, N_BITS = 600000 };

/* VECMATH_SCALE=n multiplies the random sample counts (default 1). */
static long sample_scale(void)
{
    const char *s = getenv("VECMATH_SCALE");
    long n = s ? strtol(s, NULL, 10) : 1;
    return n > 0 ? n : 1;
}

static Inputs make_inputs(Op fn, int dt)
{
    Inputs in = {0};
    long scale = sample_scale();
    Rng rng = {0x5eed0000u + (uint64_t)fn * 2 + (uint64_t)dt};
    Ranges r = ranges_for(fn, dt);
    push_specials(&in, dt);
    if (fn == OP_SIN || fn == OP_COS)
        push_trig_hard(&in, dt);
    if (fn == OP_LGAMMA || fn == OP_DIGAMMA || fn == OP_TRIGAMMA || fn == OP_TETRAGAMMA)
        push_gamma_hard(&in, dt);
    for (int i = 0; i <= N_DENSE; i++)
        push(&in, to_dtype(r.core_lo + (r.core_hi - r.core_lo) * i / N_DENSE, dt));
    for (long i = 0; i < N_DOMAIN * scale; i++)
        push(&in, to_dtype(r.dom_lo + (r.dom_hi - r.dom_lo) * rng_unit(&rng), dt));
    for (long i = 0; i < N_BITS * scale; i++)
        push(&in, random_bits(&rng, dt));
    return in;
}

/* ---- running the kernels ------------------------------------------------ */

/* The three kernels' results on the inputs, as doubles. */
typedef struct Outputs {
    double *scalar, *loop, *vec;
    double ns_per_elem;
} Outputs;

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static double call_scalar(const KernelSet *k, int dt, double x)
{
    if (dt == F64)
        return ((double (*)(double))(uintptr_t)k->scalar)(x);
    return ((float (*)(float))(uintptr_t)k->scalar)((float)x);
}

/* Runs kernel `run` on the inputs converted to the dtype (padded with zeros to
 * a multiple of the vector width); returns the results widened to double. */
static double *run_array(LoopFn run, const Inputs *in, int dt)
{
    size_t w = vec_width[dt], n = (in->n + w - 1) / w * w, esz = dt == F64 ? 8 : 4;
    char *xb = calloc(n, esz), *yb = calloc(n, esz);
    double *out = malloc(n * sizeof *out);
    assert_true(xb && yb && out);
    for (size_t i = 0; i < in->n; i++) {
        if (dt == F64)
            ((double *)(void *)xb)[i] = in->v[i];
        else
            ((float *)(void *)xb)[i] = (float)in->v[i];
    }
    run(xb, yb, (int64_t)n);
    for (size_t i = 0; i < n; i++)
        out[i] = dt == F64 ? ((double *)(void *)yb)[i] : ((float *)(void *)yb)[i];
    free(xb);
    free(yb);
    return out;
}

/* Best-of-N time per element of the loop kernel on N_TIME values spread over
 * the core interval (no subnormals, which would time the CPU's assists). */
enum { N_TIME = 1 << 14, TIME_REPS = 30 };
static double time_loop(LoopFn run, Op fn, int dt)
{
    size_t esz = dt == F64 ? 8 : 4;
    char *xb = calloc(N_TIME, esz), *yb = calloc(N_TIME, esz);
    assert_true(xb && yb);
    Ranges r = ranges_for(fn, dt);
    for (size_t i = 0; i < N_TIME; i++) {
        double x = r.core_lo + (r.core_hi - r.core_lo) * (double)i / N_TIME;
        if (dt == F64)
            ((double *)(void *)xb)[i] = x;
        else
            ((float *)(void *)xb)[i] = (float)x;
    }
    double best = INFINITY;
    for (int rep = 0; rep < TIME_REPS; rep++) {
        double t0 = now_ns();
        run(xb, yb, N_TIME);
        double t = (now_ns() - t0) / N_TIME;
        best = t < best ? t : best;
    }
    free(xb);
    free(yb);
    return best;
}

static Outputs run_kernels(const KernelSet *k, const Inputs *in, Op fn, int dt)
{
    Outputs o;
    o.scalar = malloc(in->n * sizeof *o.scalar);
    assert_non_null(o.scalar);
    for (size_t i = 0; i < in->n; i++)
        o.scalar[i] = call_scalar(k, dt, in->v[i]);
    o.loop = run_array(k->loop, in, dt);
    o.vec = run_array(k->vec, in, dt);
    o.ns_per_elem = time_loop(k->loop, fn, dt);
    return o;
}

static void free_outputs(Outputs *o)
{
    free(o->scalar);
    free(o->loop);
    free(o->vec);
}

static bool same_bits(double a, double b)
{
    return (isnan(a) && isnan(b)) || memcmp(&a, &b, sizeof a) == 0;
}

/* ---- special values ----------------------------------------------------- */

typedef struct Special {
    Op fn;
    double x, want;
} Special;

/* Exact results every dtype must produce (signs of zeros included). */
static const Special specials[] = {
    {OP_EXP, -INFINITY, 0.0},       {OP_EXP, INFINITY, INFINITY},     {OP_EXP, NAN, NAN},
    {OP_EXP, 0.0, 1.0},             {OP_EXP, -0.0, 1.0},              {OP_EXP, 1000.0, INFINITY},
    {OP_EXP, -1000.0, 0.0},         {OP_EXP, 1e300, INFINITY},        {OP_EXP, -1e300, 0.0},
    {OP_LOG, 0.0, -INFINITY},       {OP_LOG, -0.0, -INFINITY},        {OP_LOG, -1.0, NAN},
    {OP_LOG, -INFINITY, NAN},       {OP_LOG, INFINITY, INFINITY},     {OP_LOG, 1.0, 0.0},
    {OP_LOG, NAN, NAN},             {OP_LOG, -1e-30, NAN},            {OP_TANH, INFINITY, 1.0},
    {OP_TANH, -INFINITY, -1.0},     {OP_TANH, 0.0, 0.0},              {OP_TANH, -0.0, -0.0},
    {OP_TANH, NAN, NAN},            {OP_TANH, 1e-30, 1e-30},          {OP_TANH, -1e-30, -1e-30},
    {OP_TANH, 1e300, 1.0},          {OP_TANH, -1e300, -1.0},          {OP_SIGMOID, INFINITY, 1.0},
    {OP_SIGMOID, -INFINITY, 0.0},   {OP_SIGMOID, NAN, NAN},           {OP_SIGMOID, 0.0, 0.5},
    {OP_SIGMOID, -0.0, 0.5},        {OP_SIGMOID, 1e300, 1.0},         {OP_SIGMOID, -1e300, 0.0},
    {OP_EXPM1, -INFINITY, -1.0},    {OP_EXPM1, INFINITY, INFINITY},   {OP_EXPM1, NAN, NAN},
    {OP_EXPM1, 0.0, 0.0},           {OP_EXPM1, -0.0, -0.0},           {OP_EXPM1, 1e-30, 1e-30},
    {OP_EXPM1, -1e-30, -1e-30},     {OP_EXPM1, 1000.0, INFINITY},     {OP_EXPM1, -1000.0, -1.0},
    {OP_LOG1P, -1.0, -INFINITY},    {OP_LOG1P, -2.0, NAN},            {OP_LOG1P, -INFINITY, NAN},
    {OP_LOG1P, INFINITY, INFINITY}, {OP_LOG1P, 0.0, 0.0},             {OP_LOG1P, -0.0, -0.0},
    {OP_LOG1P, 1e-30, 1e-30},       {OP_LOG1P, -1e-30, -1e-30},       {OP_LOG1P, NAN, NAN},
    {OP_LOG1P, -1.0000001, NAN},    {OP_ERF, 0.0, 0.0},               {OP_ERF, -0.0, -0.0},
    {OP_ERF, INFINITY, 1.0},        {OP_ERF, -INFINITY, -1.0},        {OP_ERF, NAN, NAN},
    {OP_ERF, 30.0, 1.0},            {OP_ERF, -30.0, -1.0},            {OP_ERF, 1e300, 1.0},
    {OP_ERFC, 0.0, 1.0},            {OP_ERFC, -0.0, 1.0},             {OP_ERFC, INFINITY, 0.0},
    {OP_ERFC, -INFINITY, 2.0},      {OP_ERFC, NAN, NAN},              {OP_ERFC, 30.0, 0.0},
    {OP_ERFC, -30.0, 2.0},          {OP_ERFC, 1e300, 0.0},            {OP_ERFC, -1e300, 2.0},
    {OP_ERFC, 1e-30, 1.0},          {OP_LOG1MEXP, 0.0, -INFINITY},    {OP_LOG1MEXP, -0.0, -INFINITY},
    {OP_LOG1MEXP, -INFINITY, -0.0}, {OP_LOG1MEXP, NAN, NAN},          {OP_LOG1MEXP, INFINITY, NAN},
    {OP_LOG1MEXP, 1.0, NAN},        {OP_LOG1MEXP, 1e-30, NAN},        {OP_LOG1MEXP, -1000.0, -0.0},
    {OP_LOG1MEXP, -1e300, -0.0},
    {OP_SIN, 0.0, 0.0},             {OP_SIN, -0.0, -0.0},             {OP_SIN, INFINITY, NAN},
    {OP_SIN, -INFINITY, NAN},       {OP_SIN, NAN, NAN},               {OP_SIN, 1e-30, 1e-30},
    {OP_SIN, -1e-30, -1e-30},       {OP_COS, 0.0, 1.0},               {OP_COS, -0.0, 1.0},
    {OP_COS, INFINITY, NAN},        {OP_COS, -INFINITY, NAN},         {OP_COS, NAN, NAN},
    {OP_COS, 1e-30, 1.0},           {OP_COS, -1e-30, 1.0},
    {OP_RSQRT, 0.0, INFINITY},      {OP_RSQRT, -0.0, -INFINITY},      {OP_RSQRT, INFINITY, 0.0},
    {OP_RSQRT, -1.0, NAN},          {OP_RSQRT, -INFINITY, NAN},       {OP_RSQRT, NAN, NAN},
    {OP_RSQRT, 1.0, 1.0},           {OP_RSQRT, 4.0, 0.5},             {OP_RSQRT, 0.25, 2.0},
    {OP_LGAMMA, 1.0, 0.0},          {OP_LGAMMA, 2.0, 0.0},            {OP_LGAMMA, 0.0, INFINITY},
    {OP_LGAMMA, -0.0, INFINITY},    {OP_LGAMMA, -1.0, INFINITY},      {OP_LGAMMA, -2.0, INFINITY},
    {OP_LGAMMA, -1e10, INFINITY},   {OP_LGAMMA, -0x1p52, INFINITY},   {OP_LGAMMA, -1e300, INFINITY},
    {OP_LGAMMA, INFINITY, INFINITY}, {OP_LGAMMA, -INFINITY, INFINITY}, {OP_LGAMMA, NAN, NAN},
    {OP_LGAMMA, 1e306, INFINITY},   {OP_DIGAMMA, 0.0, NAN},           {OP_DIGAMMA, -0.0, NAN},
    {OP_DIGAMMA, -1.0, NAN},        {OP_DIGAMMA, -3.0, NAN},          {OP_DIGAMMA, -1e300, NAN},
    {OP_DIGAMMA, INFINITY, INFINITY}, {OP_DIGAMMA, -INFINITY, NAN},   {OP_DIGAMMA, NAN, NAN},
    {OP_TRIGAMMA, 0.0, INFINITY},   {OP_TRIGAMMA, -0.0, INFINITY},    {OP_TRIGAMMA, -1.0, INFINITY},
    {OP_TRIGAMMA, -1e30, INFINITY}, {OP_TRIGAMMA, INFINITY, 0.0},    {OP_TRIGAMMA, -INFINITY, NAN},
    {OP_TRIGAMMA, NAN, NAN},        {OP_TRIGAMMA, 1e-300, INFINITY},
    {OP_TETRAGAMMA, 0.0, NAN},      {OP_TETRAGAMMA, -0.0, NAN},       {OP_TETRAGAMMA, -2.0, NAN},
    {OP_TETRAGAMMA, -1e30, NAN},    {OP_TETRAGAMMA, INFINITY, -0.0},  {OP_TETRAGAMMA, -INFINITY, NAN},
    {OP_TETRAGAMMA, NAN, NAN},      {OP_TETRAGAMMA, 1e300, -0.0},
};

static void check_one_special(const KernelSet *k, Op fn, int dt, double x, double want)
{
    double got = call_scalar(k, dt, to_dtype(x, dt));
    want = to_dtype(want, dt);
    if (!same_bits(got, want)) {
        fprintf(stderr, "%s_%s(%a) = %a, want %a\n", op_info[fn].name, dt_names[dt], x, got, want);
        fail();
    }
}

static void check_specials(const Fixture *fx, Op fn, int dt)
{
    for (size_t i = 0; i < sizeof specials / sizeof specials[0]; i++)
        if (specials[i].fn == fn)
            check_one_special(&fx->k[fn][dt], fn, dt, specials[i].x, specials[i].want);
    if (fn == OP_ERF) { /* erf(x) ~ 1.128 x: the smallest subnormals round to x */
        double x = dt == F64 ? 0x1p-1074 : 0x1p-149;
        check_one_special(&fx->k[fn][dt], fn, dt, x, x);
        check_one_special(&fx->k[fn][dt], fn, dt, -x, -x);
    }
    if (fn == OP_TANH || fn == OP_EXPM1 || fn == OP_LOG1P) { /* f(x) = x for subnormal x */
        double sub[2] = {dt == F64 ? 0x1p-1074 : 0x1p-149, dt == F64 ? DBL_MIN / 3 : FLT_MIN / 3};
        for (int i = 0; i < 2; i++) {
            double x = to_dtype(sub[i], dt);
            check_one_special(&fx->k[fn][dt], fn, dt, x, x);
            check_one_special(&fx->k[fn][dt], fn, dt, -x, -x);
        }
    }
}

/* ---- the tests ---------------------------------------------------------- */

/* The largest ulp error seen and where. */
typedef struct Worst {
    double ulp, x;
    long samples;
} Worst;

/* f64 digamma and tetragamma at x < 0 cancel next to their zeros: there the bound is
 * in ulps of max(|f(x)|, gamma_neg_floor(x)), i.e. an absolute error below
 * 2^-66 (2 + |x|) log2(2 + |x|) (lang/math.md; measured: 2^-67.8 of it). */
static long double gamma_neg_floor(double x)
{
    double t = 2 + fabs(x);
    return ldexpl(t * log2(t), -14);
}

static void account(Worst *w, Op fn, int dt, double x, double y)
{
    long double ref = dt == F64 ? ref_f64(fn, x) : ref_f32(fn, x);
    double err = ulp_error(y, ref, dt);
    if ((fn == OP_DIGAMMA || fn == OP_TETRAGAMMA) && dt == F64 && x < 0 && isfinite(y) && fabsl(ref) < gamma_neg_floor(x))
        err = ulp_error(y, ref, dt) * (double)(fabsl(ref) / gamma_neg_floor(x));
    if (err > w->ulp || (isinf(err) && w->samples == 0)) {
        w->ulp = err;
        w->x = x;
    }
    w->samples++;
}

/* Every float bit pattern through the loop kernel, in chunks (opt-in: takes
 * minutes, dominated by the libm reference). */
static Worst exhaustive_f32(const KernelSet *k, Op fn)
{
    enum { CHUNK = 1 << 22 };
    Worst w = {0, 0, 0};
    float *xb = malloc(CHUNK * sizeof *xb), *yb = malloc(CHUNK * sizeof *yb);
    assert_true(xb && yb);
    for (uint64_t base = 0; base < (1ULL << 32); base += CHUNK) {
        for (uint32_t i = 0; i < CHUNK; i++) {
            uint32_t bits = (uint32_t)(base + i);
            memcpy(&xb[i], &bits, sizeof bits);
        }
        k->loop(xb, yb, CHUNK);
        for (uint32_t i = 0; i < CHUNK; i++)
            account(&w, fn, F32, xb[i], yb[i]);
    }
    free(xb);
    free(yb);
    return w;
}

/* VECMATH_EXHAUSTIVE set: "1" (or anything not naming a function) for every
 * function, else a comma-separated list of names. */
static bool exhaustive_wanted(Op fn)
{
    const char *env = getenv("VECMATH_EXHAUSTIVE");
    if (!env)
        return false;
    bool names_any = false;
    for (int f = 0; f < OP_COUNT; f++) {
        size_t n = strlen(op_info[f].name);
        for (const char *p = env; (p = strstr(p, op_info[f].name)) != NULL; p += n)
            if ((p == env || p[-1] == ',') && (p[n] == ',' || p[n] == 0)) {
                names_any = true;
                if (f == (int)fn)
                    return true;
            }
    }
    return !names_any;
}

/* Accuracy against libm, special values, and scalar == loop == vector. */
static void check_function(Fixture *fx, Op fn, int dt)
{
    Inputs in = make_inputs(fn, dt);
    Outputs o = run_kernels(&fx->k[fn][dt], &in, fn, dt);
    Worst w = {0, 0, 0};
    size_t mismatches = 0;
    for (size_t i = 0; i < in.n; i++) {
        if (!same_bits(o.scalar[i], o.loop[i]) || !same_bits(o.scalar[i], o.vec[i])) {
            if (mismatches++ < 5)
                fprintf(stderr, "%s_%s(%a): scalar %a loop %a vec %a\n", op_info[fn].name, dt_names[dt], in.v[i],
                        o.scalar[i], o.loop[i], o.vec[i]);
        }
        account(&w, fn, dt, in.v[i], o.scalar[i]);
    }
    if (dt == F32 && exhaustive_wanted(fn)) {
        Worst all = exhaustive_f32(&fx->k[fn][dt], fn);
        if (all.ulp > w.ulp)
            w = (Worst){all.ulp, all.x, all.samples};
        w.samples = all.samples;
    }
    fx->max_ulp[fn][dt] = w.ulp;
    fx->worst_x[fn][dt] = w.x;
    fx->ns_per_elem[fn][dt] = o.ns_per_elem;
    fx->samples[fn][dt] = w.samples;
    free_outputs(&o);
    free(in.v);
    if (w.ulp > ulp_bound[fn][dt])
        fprintf(stderr, "%s_%s: %.3f ulp at %a (%.17g), bound %.1f\n", op_info[fn].name, dt_names[dt], w.ulp, w.x,
                w.x, ulp_bound[fn][dt]);
    assert_int_equal(mismatches, 0);
    assert_true(w.ulp <= ulp_bound[fn][dt]);
    check_specials(fx, fn, dt);
}

#define FN_TEST(fn, dt)                                                                                             \
    static void test_##fn##_##dt(void **state) { check_function(*state, fn, dt); }
FN_TEST(OP_EXP, F32)
FN_TEST(OP_EXP, F64)
FN_TEST(OP_LOG, F32)
FN_TEST(OP_LOG, F64)
FN_TEST(OP_TANH, F32)
FN_TEST(OP_TANH, F64)
FN_TEST(OP_SIGMOID, F32)
FN_TEST(OP_SIGMOID, F64)
FN_TEST(OP_EXPM1, F32)
FN_TEST(OP_EXPM1, F64)
FN_TEST(OP_LOG1P, F32)
FN_TEST(OP_LOG1P, F64)
FN_TEST(OP_ERF, F32)
FN_TEST(OP_ERF, F64)
FN_TEST(OP_ERFC, F32)
FN_TEST(OP_ERFC, F64)
FN_TEST(OP_LOG1MEXP, F32)
FN_TEST(OP_LOG1MEXP, F64)
FN_TEST(OP_SIN, F32)
FN_TEST(OP_SIN, F64)
FN_TEST(OP_COS, F32)
FN_TEST(OP_COS, F64)
FN_TEST(OP_RSQRT, F32)
FN_TEST(OP_RSQRT, F64)
FN_TEST(OP_LGAMMA, F32)
FN_TEST(OP_LGAMMA, F64)
FN_TEST(OP_DIGAMMA, F32)
FN_TEST(OP_DIGAMMA, F64)
FN_TEST(OP_TRIGAMMA, F32)
FN_TEST(OP_TRIGAMMA, F64)
FN_TEST(OP_TETRAGAMMA, F32)
FN_TEST(OP_TETRAGAMMA, F64)

/* After O3: no calls but llvm.* intrinsics (so no libm import), and the
 * scalar loops were vectorised. */
static void test_no_calls_and_vectorised(void **state)
{
    Fixture *fx = *state;
    assert_int_equal(fx->foreign_calls, 0);
    FOR_MATH(fn)
        for (int dt = 0; dt < NDT; dt++) {
            if (!fx->loop_vectorised[fn][dt])
                fprintf(stderr, "loop_%s_%s was not vectorised\n", op_info[fn].name, dt_names[dt]);
            assert_true(fx->loop_vectorised[fn][dt]);
        }
}

/* NVPTX: the same IR (scalar and <8 x T>/<16 x T> loops as kernels) must
 * lower for sm_90 with no diagnostics and give PTX without calls or extern
 * functions.  VECMATH_PTX=file writes the PTX (for ptxas -arch=sm_90). */
static void count_errors(LLVMDiagnosticInfoRef di, void *ctx)
{
    if (LLVMGetDiagInfoSeverity(di) == LLVMDSError) {
        char *msg = LLVMGetDiagInfoDescription(di);
        fprintf(stderr, "nvptx: %s\n", msg);
        LLVMDisposeMessage(msg);
        ++*(int *)ctx;
    }
}

static char *emit_ptx(LLVMModuleRef m, LLVMTargetMachineRef tm)
{
    char *err = NULL;
    LLVMMemoryBufferRef buf = NULL;
    if (LLVMTargetMachineEmitToMemoryBuffer(tm, m, LLVMAssemblyFile, &err, &buf)) {
        fprintf(stderr, "nvptx emit: %s\n", err);
        LLVMDisposeMessage(err);
        return NULL;
    }
    size_t n = LLVMGetBufferSize(buf);
    char *ptx = malloc(n + 1);
    assert_non_null(ptx);
    memcpy(ptx, LLVMGetBufferStart(buf), n);
    ptx[n] = 0;
    LLVMDisposeMemoryBuffer(buf);
    return ptx;
}

static void test_nvptx_lowering(void **state)
{
    (void)state;
    LLVMInitializeNVPTXTargetInfo();
    LLVMInitializeNVPTXTarget();
    LLVMInitializeNVPTXTargetMC();
    LLVMInitializeNVPTXAsmPrinter();
    const char *triple = "nvptx64-nvidia-cuda";
    LLVMTargetRef target = NULL;
    char *err = NULL;
    assert_int_equal(LLVMGetTargetFromTriple(triple, &target, &err), 0);
    LLVMDisposeMessage(err);
    LLVMTargetMachineRef tm = LLVMCreateTargetMachine(target, triple, "sm_90", "+ptx80", LLVMCodeGenLevelAggressive,
                                                      LLVMRelocDefault, LLVMCodeModelDefault);
    LLVMContextRef ctx = LLVMContextCreate();
    int errors = 0;
    LLVMContextSetDiagnosticHandler(ctx, count_errors, &errors);
    LLVMModuleRef m = LLVMModuleCreateWithNameInContext("vecmath_ptx", ctx);
    LLVMSetTarget(m, triple);
    LLVMTargetDataRef td = LLVMCreateTargetDataLayout(tm);
    LLVMSetModuleDataLayout(m, td);
    LLVMDisposeTargetData(td);
    FOR_MATH(fn)
        for (int dt = 0; dt < NDT; dt++) {
            build_loop(m, (Op)fn, dt, 1);
            build_loop(m, (Op)fn, dt, vec_width[dt]);
        }
    for (LLVMValueRef f = LLVMGetFirstFunction(m); f; f = LLVMGetNextFunction(f))
        if (LLVMCountBasicBlocks(f) > 0)
            LLVMSetFunctionCallConv(f, LLVMPTXKernelCallConv);
    LLVMPassBuilderOptionsRef opts = LLVMCreatePassBuilderOptions();
    LLVMErrorRef perr = LLVMRunPasses(m, "default<O3>", tm, opts);
    LLVMDisposePassBuilderOptions(opts);
    assert_true(jit_ok(perr, "nvptx passes"));
    char *ptx = emit_ptx(m, tm);
    assert_non_null(ptx);
    const char *path = getenv("VECMATH_PTX");
    FILE *out = path ? fopen(path, "w") : NULL;
    if (out) {
        fputs(ptx, out);
        fclose(out);
    }
    bool has_call = strstr(ptx, "call") != NULL || strstr(ptx, ".extern") != NULL;
    bool has_kernels = strstr(ptx, ".entry loop_exp_f32") != NULL && strstr(ptx, ".entry vec_log1p_f64") != NULL;
    free(ptx);
    LLVMDisposeModule(m);
    LLVMContextDispose(ctx);
    LLVMDisposeTargetMachine(tm);
    assert_int_equal(errors, 0);
    assert_false(has_call);
    assert_true(has_kernels);
}

/* cg_const_real / cg_const_int: scalars, and splats for vector types. */
static void test_constants(void **state)
{
    (void)state;
    LLVMContextRef ctx = LLVMContextCreate();
    LLVMTypeRef f32 = LLVMFloatTypeInContext(ctx), i64 = LLVMInt64TypeInContext(ctx);
    LLVMValueRef s = cg_const_real(f32, 1.5);
    assert_true(LLVMIsConstant(s) && LLVMTypeOf(s) == f32);
    LLVMBool lossy = 0;
    assert_true(LLVMConstRealGetDouble(s, &lossy) == 1.5);
    LLVMTypeRef v16 = LLVMVectorType(f32, 16);
    LLVMValueRef v = cg_const_real(v16, -2.25);
    assert_true(LLVMIsConstant(v) && LLVMTypeOf(v) == v16);
    for (unsigned i = 0; i < 16; i += 5)
        assert_true(LLVMConstRealGetDouble(LLVMGetAggregateElement(v, i), &lossy) == -2.25);
    LLVMTypeRef vi = LLVMVectorType(i64, 8);
    LLVMValueRef c = cg_const_int(vi, -7);
    assert_true(LLVMIsConstant(c) && LLVMTypeOf(c) == vi);
    assert_int_equal(LLVMConstIntGetSExtValue(LLVMGetAggregateElement(c, 7)), -7);
    assert_int_equal(LLVMConstIntGetSExtValue(cg_const_int(i64, 1LL << 40)), 1LL << 40);
    assert_true(cg_math_has(OP_SIGMOID) && cg_math_has(OP_LOG1MEXP) && cg_math_has(OP_COS)); /* vecmath's table, keyed by op */
    assert_false(cg_math_has(OP_ADD) || cg_math_has(OP_SQRT));
    LLVMContextDispose(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_constants),
        cmocka_unit_test(test_no_calls_and_vectorised),
        cmocka_unit_test(test_nvptx_lowering),
        cmocka_unit_test(test_OP_EXP_F32),
        cmocka_unit_test(test_OP_EXP_F64),
        cmocka_unit_test(test_OP_LOG_F32),
        cmocka_unit_test(test_OP_LOG_F64),
        cmocka_unit_test(test_OP_TANH_F32),
        cmocka_unit_test(test_OP_TANH_F64),
        cmocka_unit_test(test_OP_SIGMOID_F32),
        cmocka_unit_test(test_OP_SIGMOID_F64),
        cmocka_unit_test(test_OP_EXPM1_F32),
        cmocka_unit_test(test_OP_EXPM1_F64),
        cmocka_unit_test(test_OP_LOG1P_F32),
        cmocka_unit_test(test_OP_LOG1P_F64),
        cmocka_unit_test(test_OP_ERF_F32),
        cmocka_unit_test(test_OP_ERF_F64),
        cmocka_unit_test(test_OP_ERFC_F32),
        cmocka_unit_test(test_OP_ERFC_F64),
        cmocka_unit_test(test_OP_LOG1MEXP_F32),
        cmocka_unit_test(test_OP_LOG1MEXP_F64),
        cmocka_unit_test(test_OP_SIN_F32),
        cmocka_unit_test(test_OP_SIN_F64),
        cmocka_unit_test(test_OP_COS_F32),
        cmocka_unit_test(test_OP_COS_F64),
        cmocka_unit_test(test_OP_RSQRT_F32),
        cmocka_unit_test(test_OP_RSQRT_F64),
        cmocka_unit_test(test_OP_LGAMMA_F32),
        cmocka_unit_test(test_OP_LGAMMA_F64),
        cmocka_unit_test(test_OP_DIGAMMA_F32),
        cmocka_unit_test(test_OP_DIGAMMA_F64),
        cmocka_unit_test(test_OP_TRIGAMMA_F32),
        cmocka_unit_test(test_OP_TRIGAMMA_F64),
        cmocka_unit_test(test_OP_TETRAGAMMA_F32),
        cmocka_unit_test(test_OP_TETRAGAMMA_F64),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
