/* checkgrad.c — `texc check-grad FILE FN [--seed S]`, Theano's verify_grad.
 *
 * Compiles FN re-typed to f64 together with its vjp, loads the .so, draws
 * random symbol sizes (2..7) and inputs, and compares the reverse-mode
 * gradient of phi(x) = sum_k r_k . FN(x)_k (random r: a random projection,
 * so non-scalar results are checked too) with central finite differences,
 * element by element.  The error of an element is
 *     |analytic - numeric| / max(|analytic|, |numeric|, 1e-3)
 * and the check fails above 1e-6.  Step h = 6e-6 * max(1, |x|) (about
 * eps^(1/3), balancing truncation and rounding error in f64).
 *
 * With --jvp, forward mode is checked against reverse mode too: for a random
 * tangent t, <r, J t> (jvp) must equal <J^T r, t> (vjp).  With --forward,
 * only the jvp is built, and <r, J t> is checked against the central
 * difference of phi along t (functions reverse mode cannot go through). */
#include <dlfcn.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "driver.h"
#include "texrt.h"

/* Sized from the language limits, so every valid function can be checked. */
enum { MAX_PARAMS = TEX_MAX_PARAMS + TEX_MAX_RESULTS, MAX_CALL_ARGS = 2 * TEX_MAX_PARAMS + TEX_MAX_RESULTS };
#define TOLERANCE 1e-6

typedef struct Tensor {
  DLTensor t;
  int64_t shape[IR_MAX_RANK];
  int64_t numel;
  void *data;
} Tensor;

typedef struct Check {
  const TexFuncInfo *fn, *vjp, *jvp;
  const TexModuleInfo *mi;
  int (*call)(int index, const DLTensor *const *args);
  int fn_index, vjp_index, jvp_index;
  const char *(*last_error)(void);
  int64_t syms[TEX_MAX_SYMS];
  Tensor args[2 * MAX_PARAMS]; /* fn's params, then the vjp's extra ones */
  uint64_t rng;
} Check;

static double uniform(Check *c, double lo, double hi) {
  c->rng = c->rng * 6364136223846793005ull + 1442695040888963407ull;
  return lo + (hi - lo) * (double)(c->rng >> 11) * 0x1.0p-53;
}

/* Calls function #index of the module through <prefix>_call, with its
 * ABI arguments as an array (n only checks the count). */
static int call_fn(const Check *c, int index, int n, DLTensor **a) {
  if (n != c->mi->funcs[index].nparams) return -1;
  return c->call(index, (const DLTensor *const *)a);
}

static DLDataType dl_type(int dtype) {
  static const DLDataType types[] = {{kDLFloat, 64, 1}, {kDLFloat, 64, 1}, {kDLInt, 32, 1}, {kDLInt, 64, 1}, {kDLUInt, 8, 1}};
  return types[dtype];
}

/* Allocates an argument shaped by its metadata and the bound symbols. */
static bool alloc_arg(Check *c, Tensor *a, const TexParamInfo *p) {
  a->numel = 1;
  for (int d = 0; d < p->rank; d++) {
    if (texrt_dim_eval(&p->dims[d], c->syms, &a->shape[d]) != TEX_OK) return false;
    a->numel *= a->shape[d];
  }
  a->data = tex_calloc((size_t)a->numel + 1, 8);
  a->t = (DLTensor){a->data, {kDLCPU, 0}, p->rank, dl_type(p->dtype), a->shape, NULL, 0};
  return true;
}

/* Integers are 0 or 1: every size is at least 2, so an integer input is a
 * valid index into any axis of a symbolic size (labels, gathers). */
static void fill(Check *c, Tensor *a, int dtype, double lo, double hi) {
  for (int64_t j = 0; j < a->numel; j++) {
    if (dtype == TEX_F64 || dtype == TEX_F32)
      ((double *)a->data)[j] = uniform(c, lo, hi);
    else if (dtype == TEX_I32)
      ((int32_t *)a->data)[j] = (int32_t)uniform(c, 0, 2);
    else if (dtype == TEX_I64)
      ((int64_t *)a->data)[j] = (int64_t)uniform(c, 0, 2);
    else
      ((uint8_t *)a->data)[j] = uniform(c, 0, 1) < 0.5;
  }
}

/* phi = sum over float outputs of r . out, evaluating fn at the current inputs. */
static bool phi(Check *c, double *out) {
  DLTensor *a[2 * MAX_PARAMS];
  for (int i = 0; i < c->fn->nparams; i++) a[i] = &c->args[i].t;
  if (call_fn(c, c->fn_index, c->fn->nparams, a) != 0) return false;
  double s = 0;
  for (int i = c->fn->ninputs, k = 0; i < c->fn->nparams; i++) {
    if (c->fn->params[i].dtype != TEX_F64) continue;
    const Tensor *res = &c->args[i], *r = &c->args[c->fn->nparams + k++];
    for (int64_t j = 0; j < res->numel; j++) s += ((double *)res->data)[j] * ((double *)r->data)[j];
  }
  *out = s;
  return isfinite(s);
}

/* Analytic gradients: vjp(inputs, r) -> values, then one gradient per float input. */
static bool analytic(Check *c, Tensor *grads) {
  DLTensor *a[3 * MAX_PARAMS];
  int n = 0, nin = c->fn->ninputs, nfloat_out = 0;
  for (int i = 0; i < nin; i++) a[n++] = &c->args[i].t;
  for (int i = nin; i < c->fn->nparams; i++)
    if (c->fn->params[i].dtype == TEX_F64) a[n++] = &c->args[c->fn->nparams + nfloat_out++].t;
  for (int i = nin; i < c->fn->nparams; i++) a[n++] = &c->args[i].t; /* values: reuse fn's outputs */
  for (int i = 0, g = 0; i < nin; i++)
    if (c->fn->params[i].dtype == TEX_F64) {
      alloc_arg(c, &grads[g], &c->fn->params[i]);
      a[n++] = &grads[g++].t;
    }
  return call_fn(c, c->vjp_index, n, a) == 0;
}

static double numeric(Check *c, Tensor *x, int64_t j) {
  double *v = x->data, saved = v[j], h = 6e-6 * fmax(1.0, fabs(saved)), up = 0, down = 0;
  v[j] = saved + h;
  phi(c, &up);
  v[j] = saved - h;
  phi(c, &down);
  v[j] = saved;
  return (up - down) / (2 * h);
}

static bool setup_args(Check *c) {
  for (int s = 0; s < c->fn->nsyms; s++) c->syms[s] = (int64_t)uniform(c, 2, 8);
  for (int i = 0; i < c->fn->nparams; i++)
    if (!alloc_arg(c, &c->args[i], &c->fn->params[i])) return false;
  for (int i = c->fn->ninputs, k = 0; i < c->fn->nparams; i++)
    if (c->fn->params[i].dtype == TEX_F64) {
      alloc_arg(c, &c->args[c->fn->nparams + k], &c->fn->params[i]);
      fill(c, &c->args[c->fn->nparams + k++], TEX_F64, -1, 1);
    }
  /* inputs in [-1, 1]; if fn is not finite there (log, sqrt), in [0.1, 1.1] */
  double ranges[2][2] = {{-1, 1}, {0.1, 1.1}}, value;
  for (int attempt = 0; attempt < 2; attempt++) {
    for (int i = 0; i < c->fn->ninputs; i++) fill(c, &c->args[i], c->fn->params[i].dtype, ranges[attempt][0], ranges[attempt][1]);
    if (phi(c, &value)) return true;
  }
  return false;
}

static double dot(const Tensor *a, const Tensor *b) {
  double s = 0;
  for (int64_t j = 0; j < a->numel; j++) s += ((double *)a->data)[j] * ((double *)b->data)[j];
  return s;
}

/* <r, J t> from the jvp, for random tangents (one per float input, kept):
 * their number, or -1 if the call failed. */
static int jvp_dot(Check *c, Tensor *tangents, double *forward) {
  Tensor outs[MAX_PARAMS];
  memset(outs, 0, sizeof outs);
  DLTensor *a[3 * MAX_PARAMS];
  int n = 0, nt = 0, no = 0;
  for (int i = 0; i < c->fn->ninputs; i++) a[n++] = &c->args[i].t;
  for (int i = 0; i < c->fn->ninputs; i++)
    if (c->fn->params[i].dtype == TEX_F64) {
      alloc_arg(c, &tangents[nt], &c->fn->params[i]);
      fill(c, &tangents[nt], TEX_F64, -1, 1);
      a[n++] = &tangents[nt++].t;
    }
  for (int i = c->fn->ninputs; i < c->fn->nparams; i++)
    if (c->fn->params[i].dtype == TEX_F64) {
      alloc_arg(c, &outs[no], &c->fn->params[i]);
      a[n++] = &outs[no++].t;
    }
  bool ok = call_fn(c, c->jvp_index, n, a) == 0;
  *forward = 0;
  for (int k = 0; ok && k < no; k++) *forward += dot(&outs[k], &c->args[c->fn->nparams + k]);
  for (int k = 0; k < MAX_PARAMS; k++) tex_free(outs[k].data);
  return ok ? nt : -1;
}

/* The central difference of phi along the tangents. */
static double directional(Check *c, const Tensor *tangents) {
  double big = 1;
  for (int i = 0; i < c->fn->ninputs; i++)
    for (int64_t j = 0; c->fn->params[i].dtype == TEX_F64 && j < c->args[i].numel; j++)
      big = fmax(big, fabs(((double *)c->args[i].data)[j]));
  double h = 6e-6 * big, value[2] = {0, 0};
  for (int side = 0; side < 3; side++) { /* +h, -h, back */
    double step = side == 0 ? h : side == 1 ? -2 * h : h;
    for (int i = 0, g = 0; i < c->fn->ninputs; i++) {
      if (c->fn->params[i].dtype != TEX_F64) continue;
      for (int64_t j = 0; j < c->args[i].numel; j++) ((double *)c->args[i].data)[j] += step * ((double *)tangents[g].data)[j];
      g++;
    }
    if (side < 2) phi(c, &value[side]);
  }
  return (value[0] - value[1]) / (2 * h);
}

/* Forward mode alone against finite differences. */
static bool check_forward(Check *c) {
  Tensor tangents[MAX_PARAMS];
  memset(tangents, 0, sizeof tangents);
  double forward;
  bool ok = jvp_dot(c, tangents, &forward) >= 0;
  double numeric_dd = ok ? directional(c, tangents) : 0;
  double err = fabs(forward - numeric_dd) / fmax(fmax(fabs(forward), fabs(numeric_dd)), 1e-3);
  if (ok)
    printf("jvp_vs_fd rel_err=%.3g\n", err);
  else
    fprintf(stderr, "texc check-grad: the jvp of %s failed: %s\n", c->fn->name, c->last_error());
  for (int k = 0; k < MAX_PARAMS; k++) tex_free(tangents[k].data);
  return ok && err <= TOLERANCE;
}

/* <r, J t> from the jvp against <J^T r, t> from the vjp gradients. */
static bool check_jvp(Check *c, Tensor *grads) {
  Tensor tangents[MAX_PARAMS];
  memset(tangents, 0, sizeof tangents);
  double forward, reverse = 0;
  int nt = jvp_dot(c, tangents, &forward);
  for (int k = 0; k < nt; k++) reverse += dot(&grads[k], &tangents[k]);
  bool ok = nt >= 0;
  double err = fabs(forward - reverse) / fmax(fmax(fabs(forward), fabs(reverse)), 1e-3);
  if (ok) printf("jvp_vs_vjp rel_err=%.3g\n", err);
  for (int k = 0; k < MAX_PARAMS; k++) tex_free(tangents[k].data);
  return ok && err <= TOLERANCE;
}

static int report(Check *c, Tensor *grads) {
  double worst_all = 0;
  for (int i = 0, g = 0; i < c->fn->ninputs; i++) {
    if (c->fn->params[i].dtype != TEX_F64) continue;
    double worst = 0;
    for (int64_t j = 0; j < c->args[i].numel; j++) {
      double a = ((double *)grads[g].data)[j], n = numeric(c, &c->args[i], j);
      double err = fabs(a - n) / fmax(fmax(fabs(a), fabs(n)), 1e-3);
      if (!(err <= worst)) worst = err; /* NaN counts as the worst */
    }
    printf("%s max_rel_err=%.3g\n", c->fn->params[i].name, worst);
    if (!(worst <= worst_all)) worst_all = worst;
    g++;
  }
  bool ok = worst_all <= TOLERANCE;
  if (c->jvp) ok = check_jvp(c, grads) && ok;
  printf("check-grad: %s\n", ok ? "ok" : "FAILED");
  return ok ? TEXC_EXIT_OK : TEXC_EXIT_ERROR;
}

static const TexFuncInfo *find(const TexModuleInfo *mi, const char *name) {
  for (int i = 0; i < mi->nfuncs; i++)
    if (strcmp(mi->funcs[i].name, name) == 0) return &mi->funcs[i];
  return NULL;
}

static int check_loaded(void *so, const char *fn_name, uint64_t seed, CheckMode mode) {
  Check c = {0};
  c.rng = seed * 0x9E3779B97F4A7C15ull + 1;
  const TexModuleInfo *(*info)(void) = (const TexModuleInfo *(*)(void))dlsym(so, "checkgrad_module_info");
  c.last_error = (const char *(*)(void))dlsym(so, "checkgrad_last_error");
  const TexModuleInfo *mi = info();
  c.fn = find(mi, fn_name);
  c.vjp = find(mi, "vjp");
  c.mi = mi;
  c.call = (int (*)(int, const DLTensor *const *))dlsym(so, "checkgrad_call");
  c.fn_index = (int)(c.fn - mi->funcs);
  c.vjp_index = c.vjp ? (int)(c.vjp - mi->funcs) : -1;
  c.jvp = mode != CHECK_VJP ? find(mi, "jvp") : NULL;
  c.jvp_index = c.jvp ? (int)(c.jvp - mi->funcs) : -1;
  if (c.fn->nparams > MAX_PARAMS || (c.vjp && c.vjp->nparams > MAX_CALL_ARGS) || (c.jvp && c.jvp->nparams > MAX_CALL_ARGS)) {
    fprintf(stderr, "texc check-grad: %s has too many parameters for check-grad\n", fn_name);
    return TEXC_EXIT_USAGE;
  }
  Tensor grads[MAX_PARAMS];
  memset(grads, 0, sizeof grads);
  int rc;
  if (!setup_args(&c)) {
    fprintf(stderr, "texc check-grad: %s is not finite at random inputs (or failed: %s)\n", fn_name, c.last_error());
    rc = TEXC_EXIT_ERROR;
  } else if (mode == CHECK_JVP_ONLY) {
    bool ok = check_forward(&c);
    printf("check-grad: %s\n", ok ? "ok" : "FAILED");
    rc = ok ? TEXC_EXIT_OK : TEXC_EXIT_ERROR;
  } else if (!analytic(&c, grads)) {
    fprintf(stderr, "texc check-grad: the gradient of %s failed: %s\n", fn_name, c.last_error());
    rc = TEXC_EXIT_ERROR;
  } else {
    rc = report(&c, grads);
  }
  for (int i = 0; i < 2 * MAX_PARAMS; i++) tex_free(c.args[i].data);
  for (int i = 0; i < MAX_PARAMS; i++) tex_free(grads[i].data);
  return rc;
}

static bool has_float_param(const IrFunc *f) {
  ParamSet all = ir_float_params(f);
  return !ps_empty(&all);
}

/* Lowers FILE, keeps only FN and its vjp (and jvp) exported, re-types to
 * f64.  *text is the source, which d shows in diagnostics until the caller
 * frees it. */
static IrModule *prepare(const char *file, const char *fn_name, CheckMode mode, Diag *d, char **text) {
  size_t len;
  *text = texc_read_file(file, &len);
  if (!*text) {
    fprintf(stderr, "texc: cannot read %s: %s\n", file, strerror(errno));
    return NULL;
  }
  IrModule *m = fe_compile_text(file, *text, "checkgrad", d);
  IrFunc *f = m ? ir_find_func(m, fn_name) : NULL;
  if (m && (!f || !has_float_param(f) || f->nupdates || f->derive)) {
    fprintf(stderr, "texc check-grad: %s has no function '%s' with floating-point parameters to check\n", file, fn_name);
    ir_module_free(m);
    return NULL;
  }
  if (!m) return NULL;
  for (int i = 0; i < m->funcs.len; i++) ((IrFunc *)m->funcs.items[i])->exported = false;
  f->exported = true;
  pass_specialise_f64(m);
  ParamSet all = ir_float_params(f);
  if (mode != CHECK_JVP_ONLY) ir_derive(m, f, DERIVE_VJP, &all, "vjp", f->loc)->exported = true;
  if (mode != CHECK_VJP) ir_derive(m, f, DERIVE_JVP, &all, "jvp", f->loc)->exported = true;
  return m;
}

int texc_check_grad(const char *file, const char *fn_name, uint64_t seed, CheckMode mode) {
  Diag d;
  diag_init(&d, stderr);
  char *text = NULL;
  IrModule *m = prepare(file, fn_name, mode, &d, &text);
  if (!m) {
    tex_free(text);
    return TEXC_EXIT_ERROR;
  }
  char dir[] = "/tmp/texc-checkgrad-XXXXXX", so_path[64], h_path[64];
  if (!mkdtemp(dir)) {
    ir_module_free(m);
    tex_free(text);
    return TEXC_EXIT_OUTPUT;
  }
  snprintf(so_path, sizeof so_path, "%s/libcheckgrad.so", dir);
  snprintf(h_path, sizeof h_path, "%s/checkgrad.h", dir);
  TexcOptions o = {.emit = EMIT_SO, .output = so_path, .opt_level = 2, .diag = &d};
  int rc = texc_emit_module(&o, m);
  ir_module_free(m);
  tex_free(text);
  void *so = rc == 0 ? dlopen(so_path, RTLD_NOW | RTLD_LOCAL) : NULL;
  if (so) {
    rc = check_loaded(so, fn_name, seed, mode);
    dlclose(so);
  } else if (rc == 0) {
    fprintf(stderr, "texc check-grad: %s\n", dlerror());
    rc = TEXC_EXIT_OUTPUT;
  }
  unlink(so_path);
  unlink(h_path);
  rmdir(dir);
  return rc;
}
