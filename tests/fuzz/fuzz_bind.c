/* fuzz_bind.c — the runtime's argument checks (texrt_bind) and plan
 * execution (texrt_run, through <prefix>_call) against real metadata, with
 * DLTensors decoded from the fuzz bytes: any rank, dtype, device, shape,
 * strides, byte_offset, NULL tensors, shapes and data, aliasing.
 *
 * The models are the .tex files of tests/fuzz/models, compiled at build time into
 * build/fuzz/models/lib<name>.so with the instrumented runtime
 * (TEXC_FUZZ_MODELS overrides the directory).
 *
 * A tensor is *honest* when its data really holds what its header claims:
 * a buffer of byte_offset + numel * element bytes that ends at a guard page,
 * so that a read or write past it by the generated kernels (which ASan does
 * not instrument) faults too.  Dishonest tensors get NULL or a fake data
 * pointer that must never be dereferenced.  Each input:
 *   1. texrt_bind (this harness's copy of the runtime) checks the arguments;
 *   2. if it fails, <prefix>_call must fail with the same status, touching
 *      no data;
 *   3. if it succeeds and every tensor is honest (and the sizes small),
 *      <prefix>_call runs the plan on them and must succeed.
 * Bind accepting a dishonest tensor is not a failure by itself (a fake
 * pointer with the right header is indistinguishable): step 3 is skipped.
 * The functions of models/bind_gather.tex read index arrays filled from the
 * fuzz bytes: their oracles (below) say whether TEX_ERR_INDEX or success is
 * right, and check the values of a successful gather; those of
 * models/bind_loops.tex read trip counts from the fuzz bytes. */
#include <dirent.h>
#include <dlfcn.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "texrt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#ifndef FUZZ_MODELS_DIR
#define FUZZ_MODELS_DIR "build/fuzz/models"
#endif

typedef const TexModuleInfo *(*InfoFn)(void);
typedef int (*CallFn)(int, const DLTensor *const *);

typedef struct Model {
  const TexModuleInfo *info;
  CallFn call;
} Model;

static Model models[16];
static int nmodels, nfuncs_total;

/* ---- loading the models ---------------------------------------------------- */

static void load_model(const char *dir, const char *file) {
  char path[4096], sym[256];
  size_t n = strlen(file);
  if (nmodels == 16 || strncmp(file, "lib", 3) != 0 || n < 7 || strcmp(file + n - 3, ".so") != 0) return;
  snprintf(path, sizeof path, "%s/%s", dir, file);
  void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
  if (!h) {
    fprintf(stderr, "fuzz_bind: %s\n", dlerror());
    exit(1);
  }
  int plen = (int)n - 6; /* lib<prefix>.so */
  snprintf(sym, sizeof sym, "%.*s_module_info", plen, file + 3);
  InfoFn info = (InfoFn)dlsym(h, sym);
  snprintf(sym, sizeof sym, "%.*s_call", plen, file + 3);
  CallFn call = (CallFn)dlsym(h, sym);
  if (!info || !call) {
    fprintf(stderr, "fuzz_bind: %s lacks %s\n", path, sym);
    exit(1);
  }
  models[nmodels++] = (Model){info(), call};
  nfuncs_total += info()->nfuncs;
}

static void load_models(void) {
  const char *dir = getenv("TEXC_FUZZ_MODELS");
  dir = dir && *dir ? dir : FUZZ_MODELS_DIR;
  DIR *d = opendir(dir);
  if (!d) {
    fprintf(stderr, "fuzz_bind: no model directory %s (make fuzz-build makes it)\n", dir);
    exit(1);
  }
  for (struct dirent *e; (e = readdir(d));) load_model(dir, e->d_name);
  closedir(d);
  if (!nfuncs_total) {
    fprintf(stderr, "fuzz_bind: no functions in the models of %s\n", dir);
    exit(1);
  }
}

/* ---- reading the fuzz bytes -------------------------------------------------- */

typedef struct Bytes {
  const uint8_t *p, *end;
} Bytes;

static uint8_t byte(Bytes *b) { return b->p < b->end ? *b->p++ : 0; }

static uint64_t word(Bytes *b) {
  uint64_t v = 0;
  for (int i = 0; i < 8; i++) v = v << 8 | byte(b);
  return v;
}

/* ---- tensors ------------------------------------------------------------------ */

enum { MAX_T = TEX_MAX_ARGS, MAX_NDIM = 64, RUN_BYTES = 1 << 20, PAGE = 4096 };

typedef struct Tensor {
  DLTensor t;
  int64_t shape[MAX_NDIM], strides[MAX_NDIM];
  void *map;          /* the mapping behind an honest buffer */
  size_t map_bytes;
  size_t cap;         /* bytes from data to the guard page */
  bool honest;
} Tensor;

/* A buffer of n bytes ending at a PROT_NONE page. */
static void *guarded(Tensor *x, size_t n) {
  size_t pages = (n + PAGE - 1) / PAGE + 1;
  char *m = mmap(NULL, pages * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (m == MAP_FAILED) return NULL;
  mprotect(m + (pages - 1) * PAGE, PAGE, PROT_NONE);
  x->map = m;
  x->map_bytes = pages * PAGE;
  x->cap = n;
  return m + (pages - 1) * PAGE - n;
}

static const uint8_t dl_code[] = {kDLFloat, kDLFloat, kDLInt, kDLInt, kDLUInt};
static const uint8_t dl_bits[] = {32, 64, 32, 64, 8};

/* The dtype: the metadata's mostly, sometimes bool as kDLBool, or anything. */
static void decode_dtype(Bytes *b, DLTensor *t, const TexParamInfo *p) {
  uint8_t c = byte(b);
  int d = p->dtype < TEX_DTYPE_COUNT ? p->dtype : 0;
  if (c >= 200 && c < 220) d = c % TEX_DTYPE_COUNT;
  if (c < 220)
    t->dtype = (DLDataType){dl_code[d], dl_bits[d], 1};
  else if (c < 230)
    t->dtype = (DLDataType){6 /* kDLBool */, 8, 1};
  else
    t->dtype = (DLDataType){byte(b), byte(b), (uint16_t)(byte(b) | byte(b) << 8)};
}

/* One dim: mostly what the metadata's expression gives for this input's
 * symbol values (so most calls bind), else small or anything. */
static int64_t decode_dim(Bytes *b, const TexDimExpr *want, const int64_t *symvals) {
  uint8_t c = byte(b);
  int64_t v;
  if (c < 170 && want && texrt_dim_eval(want, symvals, &v) == TEX_OK) return v;
  if (c < 180) return symvals[c % 8];
  if (c < 230) return c % 9;
  if (c < 245) return (int64_t)(word(b) >> (c % 64));
  return c == 255 ? INT64_MIN : -(int64_t)(c - 244);
}

/* byte_offset: 0 mostly, small (possibly misaligned), or anything. */
static uint64_t decode_offset(Bytes *b) {
  uint8_t c = byte(b);
  return c < 180 ? 0 : c < 250 ? (uint64_t)(c - 180) : word(b);
}

/* Strides: NULL mostly, compact, or anything per axis. */
static void decode_strides(Bytes *b, Tensor *x, int nd) {
  uint8_t c = byte(b);
  if (c < 150 || nd <= 0) return;
  int64_t step = 1;
  for (int k = nd - 1; k >= 0; k--) {
    x->strides[k] = c < 220 ? step : (int64_t)word(b) % 9 - 1;
    if (__builtin_mul_overflow(step, x->shape[k] ? x->shape[k] : 1, &step)) step = 1;
  }
  x->t.strides = x->strides;
}

/* Element count and bytes of a well-formed header, or false. */
static bool claimed_bytes(const DLTensor *t, size_t *bytes) {
  uint64_t n = 1;
  for (int k = 0; k < t->ndim; k++) {
    if (t->shape[k] < 0 || __builtin_mul_overflow(n, (uint64_t)t->shape[k], &n)) return false;
  }
  uint64_t esize = ((uint64_t)t->dtype.bits * t->dtype.lanes + 7) / 8;
  return !__builtin_mul_overflow(n, esize, &n) && n <= SIZE_MAX && (*bytes = (size_t)n, true);
}

/* Data: an honest guarded buffer filled from the fuzz bytes, NULL, a fake
 * pointer, or (alias) another tensor's buffer if it is large enough. */
static void decode_data(Bytes *b, Tensor *xs, int i) {
  Tensor *x = &xs[i];
  uint8_t c = byte(b);
  size_t bytes, need;
  bool sized = claimed_bytes(&x->t, &bytes) && !__builtin_add_overflow(bytes, (size_t)x->t.byte_offset, &need) &&
               x->t.byte_offset < RUN_BYTES && need <= RUN_BYTES;
  if (c >= 240 && i > 0 && sized && xs[c % i].honest && xs[c % i].cap >= need) {
    x->t.data = xs[c % i].t.data; /* aliasing: bind must reject it for written arguments */
    x->honest = true;
  } else if (c < 225 && sized) {
    char *p = guarded(x, need);
    x->t.data = p;
    x->honest = p != NULL;
    for (size_t k = 0; p && k < need && b->p < b->end; k++) p[k] = (char)byte(b);
  } else {
    x->t.data = c < 235 ? NULL : (void *)(uintptr_t)(word(b) | 0x1000);
    x->honest = sized && bytes == 0 && !x->t.data; /* an empty tensor needs no data */
  }
}

static void decode_tensor(Bytes *b, Tensor *xs, int i, const TexParamInfo *p, const int64_t *symvals) {
  Tensor *x = &xs[i];
  uint8_t c = byte(b);
  x->t.device.device_type = c < 245 ? kDLCPU : c < 250 ? kDLCUDAHost : (DLDeviceType)byte(b);
  x->t.device.device_id = c == 255 ? (int32_t)byte(b) : 0;
  decode_dtype(b, &x->t, p);
  c = byte(b);
  x->t.ndim = c < 220 ? p->rank : c < 250 ? c % 12 : (int8_t)byte(b);
  int nd = x->t.ndim < 0 ? 0 : x->t.ndim > MAX_NDIM ? MAX_NDIM : x->t.ndim;
  if (x->t.ndim > MAX_NDIM) x->t.ndim = MAX_NDIM;
  for (int k = 0; k < nd; k++) x->shape[k] = decode_dim(b, k < p->rank && p->dims ? &p->dims[k] : NULL, symvals);
  x->t.shape = nd || byte(b) < 128 ? x->shape : NULL;
  decode_strides(b, x, nd);
  x->t.byte_offset = decode_offset(b);
  if (nd && byte(b) > 250) x->t.shape = NULL; /* a NULL shape with ndim > 0 */
  if (x->t.shape || !nd) decode_data(b, xs, i);
}

/* ---- oracles for the gathers of models/bind_gather.tex ------------------------- */

/* Element i of an honest, compact tensor. */
static const void *at(const DLTensor *t, size_t esize, int64_t i) { return (const char *)t->data + t->byte_offset + (size_t)i * esize; }
static int64_t numel(const DLTensor *t) {
  int64_t n = 1;
  for (int k = 0; k < t->ndim; k++) n *= t->shape[k];
  return n;
}
static int64_t idx_at(const DLTensor *t, int64_t i) {
  if (t->dtype.bits == 32) {
    int32_t v;
    memcpy(&v, at(t, 4, i), 4);
    return v;
  }
  int64_t v;
  memcpy(&v, at(t, 8, i), 8);
  return v;
}
/* Whether every index of t lies in [0, extent). */
static bool all_in(const DLTensor *t, int64_t extent) {
  for (int64_t i = 0; i < numel(t); i++)
    if (idx_at(t, i) < 0 || idx_at(t, i) >= extent) return false;
  return true;
}
enum { EITHER = -2 };
/* The status a call must return: an index array with a bad value read by a
 * loop nest that runs fails; with the other loops of the nest empty, the
 * kernel may or may not look at the index (EITHER). */
static int want_gather(const DLTensor *idx, int64_t extent, int64_t others) {
  if (numel(idx) == 0 || all_in(idx, extent)) return TEX_OK;
  return others == 0 ? EITHER : TEX_ERR_INDEX;
}

static int oracle_emb(DLTensor **a) { return want_gather(a[1], a[0]->shape[0], a[0]->shape[1]); }
static int oracle_take1(DLTensor **a) { return want_gather(a[1], a[0]->shape[1], a[0]->shape[0]); }
static int oracle_iadd(DLTensor **a) { return want_gather(a[1], a[0]->shape[0], a[0]->shape[1]); }
static int oracle_pick(DLTensor **a) { return want_gather(a[1], a[0]->shape[1], 1); }
static int oracle_tri(DLTensor **a) {
  int64_t P = a[0]->shape[0], D = a[1]->shape[0];
  return D == 0 || D * D + D - 2 < P ? TEX_OK : TEX_ERR_INDEX;
}
static int oracle_onehot(DLTensor **a) { return (void)a, TEX_OK; }

/* models/bind_loops.tex: lp loops k % 64 - 8 times (floor modulo);
 * wh halves x until max |x| <= 1 (NaN: at once; inf: never), at most k
 * times. */
static int64_t scalar_i64(const DLTensor *t) {
  int64_t v;
  memcpy(&v, at(t, 8, 0), 8);
  return v;
}
static int oracle_lp(DLTensor **a) { return (scalar_i64(a[1]) % 64 + 64) % 64 - 8 < 0 ? TEX_ERR_TRIP : TEX_OK; }
static int oracle_wh(DLTensor **a) {
  int64_t k = scalar_i64(a[1]), n = numel(a[0]), need = 0;
  if (k < 0) return TEX_ERR_TRIP;
  float m = -INFINITY;
  for (int64_t i = 0; i < n; i++) {
    float v;
    memcpy(&v, at(a[0], 4, i), 4);
    m = isnan(v) || isnan(m) ? NAN : fmaxf(m, fabsf(v));
  }
  for (; m > 1.0f && need <= k; m *= 0.5f) need++;
  return need > k ? TEX_ERR_MAXITER : TEX_OK;
}

/* After a successful emb, out[b, :] is E[idx[b], :] bit for bit. */
static void values_emb(DLTensor **a) {
  int64_t B = a[1]->shape[0], D = a[0]->shape[1];
  for (int64_t b = 0; b < B && D > 0; b++) /* empty tensors may have NULL data */
    if (memcmp(at(a[2], 4, b * D), at(a[0], 4, idx_at(a[1], b) * D), (size_t)D * 4) != 0) {
      fprintf(stderr, "fuzz_bind: emb: row %lld is not E[%lld]\n", (long long)b, (long long)idx_at(a[1], b));
      abort();
    }
}

static const struct {
  const char *name;
  int (*want)(DLTensor **);
  void (*values)(DLTensor **);
} call_oracles[] = {
    {"bind_gather_emb", oracle_emb, values_emb}, {"bind_gather_take1", oracle_take1, NULL}, {"bind_gather_iadd", oracle_iadd, NULL},
    {"bind_gather_pick", oracle_pick, NULL},     {"bind_gather_tri", oracle_tri, NULL},     {"bind_gather_onehot", oracle_onehot, NULL},
    {"bind_loops_lp", oracle_lp, NULL},          {"bind_loops_wh", oracle_wh, NULL},
};

/* The oracle of f, or -1 if it has none. */
static int find_oracle(const TexFuncInfo *f) {
  for (int i = 0; i < (int)(sizeof call_oracles / sizeof call_oracles[0]); i++)
    if (strcmp(f->symbol, call_oracles[i].name) == 0) return i;
  return -1;
}

/* ---- one input ----------------------------------------------------------------- */

static void pick(Bytes *b, const Model **m, int *index) {
  int k = (int)(word(b) % (uint64_t)nfuncs_total);
  for (int i = 0; i < nmodels; i++) {
    if (k < models[i].info->nfuncs) {
      *m = &models[i], *index = k;
      return;
    }
    k -= models[i].info->nfuncs;
  }
}

static void check(const Model *m, int index, DLTensor **args, Tensor *xs, int n) {
  const TexFuncInfo *f = &m->info->funcs[index];
  void *bufs[MAX_T];
  int64_t syms[TEX_MAX_SYMS];
  int bound = texrt_bind(m->info, f, (const DLTensor *const *)args, bufs, syms);
  bool honest = true;
  for (int i = 0; i < n; i++) honest = honest && args[i] && xs[i].honest;
  /* Temporaries are sized by the symbols: with empty arguments they can
   * be large while every argument is small.  Keep them small. */
  uint64_t prod = 1;
  for (int s = 0; bound == TEX_OK && s < f->nsyms && prod <= 4096; s++) prod *= syms[s] > 1 ? (uint64_t)syms[s] : 1;
  bool small = prod <= 4096;
  if (bound != TEX_OK || (honest && small)) {
    int st = m->call(index, (const DLTensor *const *)args);
    if (getenv("FUZZ_VERBOSE")) fprintf(stderr, "%s: bind %d, call %d: %s\n", f->symbol, bound, st, texrt_last_error());
    int o = bound == TEX_OK ? find_oracle(f) : -1;
    if (o >= 0) {
      int want = call_oracles[o].want(args);
      if (st != want && !(want == EITHER && (st == TEX_OK || st == TEX_ERR_INDEX))) {
        fprintf(stderr, "fuzz_bind: %s: the indices want %d (%s), the call gave %d: %s\n", f->symbol, want, tex_status_text(want), st,
                texrt_last_error());
        abort();
      }
      if (st == TEX_OK && call_oracles[o].values) call_oracles[o].values(args);
    } else if (st != bound) {
      fprintf(stderr, "fuzz_bind: %s: texrt_bind gave %d (%s), the call %d: %s\n", f->symbol, bound, tex_status_text(bound), st,
              texrt_last_error());
      abort();
    }
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (!nmodels) load_models();
  Bytes b = {data, data + size};
  const Model *m = NULL;
  int index = 0;
  pick(&b, &m, &index);
  const TexFuncInfo *f = &m->info->funcs[index];
  int64_t symvals[TEX_MAX_SYMS];
  for (int s = 0; s < 8; s++) symvals[s] = byte(&b) % 6;
  for (int s = 8; s < TEX_MAX_SYMS; s++) symvals[s] = symvals[s % 8];
  static Tensor xs[MAX_T];
  DLTensor *args[MAX_T];
  int n = f->nparams < MAX_T ? f->nparams : MAX_T;
  memset(xs, 0, sizeof xs);
  for (int i = 0; i < n; i++) {
    args[i] = byte(&b) == 255 ? NULL : &xs[i].t;
    decode_tensor(&b, xs, i, &f->params[i], symvals);
  }
  check(m, index, args, xs, n);
  for (int i = 0; i < n; i++)
    if (xs[i].map) munmap(xs[i].map, xs[i].map_bytes);
  return 0;
}
