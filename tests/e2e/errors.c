/* errors.c — the end-to-end suite's call-time error tests (see driver.c):
 * tests/e2e/errs.tex compiled by the real compiler, loaded with dlopen and
 * called with every kind of bad argument (NULL, dtype, rank, shape, overflow,
 * layout, device, alias), each checked for its status and message; and two
 * modules loaded at once keeping their own symbols and metadata. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dlfcn.h>
#include <math.h>
#include <stdbool.h>
#include <string.h>

#include "texrt.h"
#include "e2e.h"

/* ---- item 2: call-time errors through a real .so --------------------------------------------- */

typedef struct ErrLib {
  Lib lib;
  void *f, *g, *h;
} ErrLib;

static void tensor(DLTensor *t, void *data, int dtype, int rank, int64_t *shape) {
  memset(t, 0, sizeof *t);
  t->data = data;
  t->device = (DLDevice){kDLCPU, 0};
  t->dtype = e2e_dl_dtype(dtype);
  t->ndim = rank;
  t->shape = shape;
}

/* Expects status want and a message naming the symbol and every name in names. */
static void expect_status(Ctx *c, const ErrLib *e, const char *what, int rc, int want, const char *const *names) {
  const char *msg = e->lib.last_error();
  if (rc != want) {
    e2e_failf(c, "%s: status %d (%s), want %d (%s); message: %s", what, rc, tex_status_text(rc), want, tex_status_text(want),
              msg ? msg : "(null)");
    return;
  }
  if (want == TEX_OK) return;
  if (!msg) {
    e2e_failf(c, "%s: last_error() is NULL", what);
    return;
  }
  for (int i = 0; names && names[i]; i++) {
    char quoted[96];
    e2e_fmt(quoted, sizeof quoted, "'%s'", names[i]);
    if (!strstr(msg, quoted)) e2e_failf(c, "%s: the message does not name %s: %s", what, quoted, msg);
  }
  if (!strstr(msg, "errchk_")) e2e_failf(c, "%s: the message does not name the function: %s", what, msg);
  if (e2e_verbose) print_message("    %-40s -> %s: %s\n", what, tex_status_text(rc), msg);
}

static bool all_bytes(const void *p, size_t n, unsigned char v) {
  const unsigned char *b = p;
  for (size_t i = 0; i < n; i++)
    if (b[i] != v) return false;
  return true;
}

void e2e_test_call_errors(void **state) {
  (void)state;
  static Program prog;
  Ctx c = {.p = &prog};
  e2e_fmt(prog.path, sizeof prog.path, "%s/errs.tex", e2e_dir);
  e2e_fmt(prog.file, sizeof prog.file, "errs.tex (call errors)");
  ErrLib e;
  memset(&e, 0, sizeof e);
  e.lib.what = "default";
  if (!e2e_compile(&c, &prog, "errchk", "--prefix=errchk", &e.lib) || !e2e_load(&c, &e.lib)) fail_msg("cannot build tests/e2e/errs.tex");
  e.f = dlsym(e.lib.h, "errchk_f");
  e.g = dlsym(e.lib.h, "errchk_g");
  e.h = dlsym(e.lib.h, "errchk_h");
  if (!e.f || !e.g || !e.h) {
    e2e_unload(&e.lib);
    fail_msg("errs.tex must export f(x: f32[N, 3], y: f32[N]) -> f32[N], g(m: bool[N], x: f32[N]) -> f32[N], "
             "h(x: f32[N, K]) -> f32[N, K]");
  }
  enum { N = 5, K = 7 };
  float x[N * 3], y[N], out[N + 4], xk[N * K], outk[N * K];
  double xd[N * 3];
  int64_t sx[2] = {N, 3}, sy[1] = {N}, so[1] = {N};
  for (int i = 0; i < N * 3; i++) x[i] = (float)(i % 7) - 2.5f, xd[i] = x[i];
  for (int i = 0; i < N; i++) y[i] = 0.25f * (float)i;
  for (int i = 0; i < N * K; i++) xk[i] = (float)i * 0.5f - 3.0f;
  DLTensor tx, ty, to, *a[3];
  const char *const nx[] = {"x", NULL}, *const ny[] = {"y", NULL}, *const nout[] = {"out", NULL}, *const nm[] = {"m", NULL},
                    *const nalias[] = {"out", "y", NULL};
#define RESET()                                                                                                                            \
  do {                                                                                                                                     \
    tensor(&tx, x, TEX_F32, 2, sx);                                                                                                        \
    tensor(&ty, y, TEX_F32, 1, sy);                                                                                                        \
    tensor(&to, out, TEX_F32, 1, so);                                                                                                      \
    sx[0] = N, sx[1] = 3, sy[0] = N, so[0] = N;                                                                                            \
    memset(out, 0xEE, sizeof out);                                                                                                         \
    a[0] = &tx, a[1] = &ty, a[2] = &to;                                                                                                    \
  } while (0)
#define UNTOUCHED(what)                                                                                                                    \
  do {                                                                                                                                     \
    if (!all_bytes(out, sizeof out, 0xEE)) e2e_failf(&c, "%s: the output was written", what);                                              \
  } while (0)

  /* The good call first: f = sum(x, axis=1) + y. */
  RESET();
  int rc = e2e_call_fn(e.f, 3, a);
  expect_status(&c, &e, "good call", rc, TEX_OK, NULL);
  for (int i = 0; i < N && rc == 0; i++) {
    double want = xd[3 * i] + xd[3 * i + 1] + xd[3 * i + 2] + y[i];
    if (fabs(out[i] - want) > 1e-5) e2e_failf(&c, "good call: out[%d] = %g, want %g", i, out[i], want);
  }

  /* TEX_ERR_NULL: NULL tensor, NULL data with nonzero size, NULL shape. */
  RESET();
  a[0] = NULL;
  expect_status(&c, &e, "NULL input tensor", e2e_call_fn(e.f, 3, a), TEX_ERR_NULL, nx);
  UNTOUCHED("NULL input tensor");
  RESET();
  a[2] = NULL;
  expect_status(&c, &e, "NULL output tensor", e2e_call_fn(e.f, 3, a), TEX_ERR_NULL, nout);
  RESET();
  tx.data = NULL;
  expect_status(&c, &e, "NULL data, 15 elements", e2e_call_fn(e.f, 3, a), TEX_ERR_NULL, nx);
  UNTOUCHED("NULL data");
  RESET();
  to.data = NULL;
  expect_status(&c, &e, "NULL output data", e2e_call_fn(e.f, 3, a), TEX_ERR_NULL, nout);
  RESET();
  ty.shape = NULL;
  expect_status(&c, &e, "NULL shape pointer", e2e_call_fn(e.f, 3, a), TEX_ERR_NULL, ny);

  /* TEX_ERR_DTYPE: f64 for f32; int32 for f32; lanes. */
  RESET();
  tx.data = xd;
  tx.dtype = e2e_dl_dtype(TEX_F64);
  expect_status(&c, &e, "f64 for f32", e2e_call_fn(e.f, 3, a), TEX_ERR_DTYPE, nx);
  UNTOUCHED("f64 for f32");
  RESET();
  to.dtype = (DLDataType){kDLInt, 32, 1};
  expect_status(&c, &e, "int32 output for f32", e2e_call_fn(e.f, 3, a), TEX_ERR_DTYPE, nout);
  RESET();
  ty.dtype = (DLDataType){kDLFloat, 32, 4};
  expect_status(&c, &e, "float32x4 for f32", e2e_call_fn(e.f, 3, a), TEX_ERR_DTYPE, ny);

  /* bool: kDLUInt/8 and kDLBool(6)/8 accepted; kDLInt/8 rejected. g = where(m, x, -x). */
  {
    uint8_t m[N] = {1, 0, 1, 1, 0};
    float gx[N] = {1, 2, 3, 4, 5}, gout[N];
    int64_t sn[1] = {N}, sno[1] = {N};
    DLTensor tm, tgx, tgo, *ga[3] = {&tm, &tgx, &tgo};
    static const uint8_t codes[3] = {kDLUInt, 6, kDLInt};
    for (int k = 0; k < 3; k++) {
      tensor(&tm, m, TEX_BOOL, 1, sn);
      tm.dtype.code = codes[k];
      tensor(&tgx, gx, TEX_F32, 1, sn);
      tensor(&tgo, gout, TEX_F32, 1, sno);
      memset(gout, 0, sizeof gout);
      char what[64];
      e2e_fmt(what, sizeof what, "bool as %s (DLPack code %d, 8 bits)", k == 0 ? "kDLUInt" : k == 1 ? "kDLBool" : "kDLInt", codes[k]);
      rc = e2e_call_fn(e.g, 3, ga);
      expect_status(&c, &e, what, rc, k < 2 ? TEX_OK : TEX_ERR_DTYPE, nm);
      for (int i = 0; i < N && k < 2 && rc == 0; i++)
        if (gout[i] != (m[i] ? gx[i] : -gx[i])) e2e_failf(&c, "%s: out[%d] = %g", what, i, gout[i]);
    }
    tensor(&tm, m, TEX_BOOL, 1, sn);
    tm.dtype.bits = 32;
    expect_status(&c, &e, "bool as uint32", e2e_call_fn(e.g, 3, ga), TEX_ERR_DTYPE, nm);
  }

  /* TEX_ERR_RANK. */
  RESET();
  {
    int64_t s2[2] = {N, 1};
    ty.ndim = 2;
    ty.shape = s2;
    expect_status(&c, &e, "rank 2 for rank 1", e2e_call_fn(e.f, 3, a), TEX_ERR_RANK, ny);
  }
  RESET();
  to.ndim = 0;
  expect_status(&c, &e, "rank 0 output for rank 1", e2e_call_fn(e.f, 3, a), TEX_ERR_RANK, nout);
  UNTOUCHED("rank 0 output");

  /* TEX_ERR_SHAPE: a symbol disagreeing across two args, a literal dim, the
   * output shape, a negative dim. */
  RESET();
  sy[0] = N - 1;
  expect_status(&c, &e, "N disagrees between x and y", e2e_call_fn(e.f, 3, a), TEX_ERR_SHAPE, ny);
  UNTOUCHED("N disagrees");
  RESET();
  sx[1] = 2;
  expect_status(&c, &e, "literal dim 3 given 2", e2e_call_fn(e.f, 3, a), TEX_ERR_SHAPE, nx);
  RESET();
  so[0] = N + 1;
  expect_status(&c, &e, "output shape N+1", e2e_call_fn(e.f, 3, a), TEX_ERR_SHAPE, nout);
  UNTOUCHED("output shape");
  RESET();
  sy[0] = -1;
  expect_status(&c, &e, "negative dim", e2e_call_fn(e.f, 3, a), TEX_ERR_SHAPE, ny);

  /* TEX_ERR_OVERFLOW: the size product overflows (NULL data: bind must not
   * touch it); data + byte_offset wraps around. */
  {
    int64_t big[2] = {INT64_C(1) << 40, INT64_C(1) << 40}, sko[2] = {N, K};
    DLTensor tb, tko, *ha[2] = {&tb, &tko};
    tensor(&tb, NULL, TEX_F32, 2, big);
    tensor(&tko, outk, TEX_F32, 2, sko);
    expect_status(&c, &e, "shape 2^40 x 2^40", e2e_call_fn(e.h, 2, ha), TEX_ERR_OVERFLOW, nx);
    big[0] = INT64_MAX / 2, big[1] = 3;
    expect_status(&c, &e, "shape (2^62) x 3 f32 bytes", e2e_call_fn(e.h, 2, ha), TEX_ERR_OVERFLOW, nx);
    int64_t sk[2] = {N, K};
    tensor(&tb, xk, TEX_F32, 2, sk);
    tb.byte_offset = UINT64_MAX - 8;
    expect_status(&c, &e, "byte_offset wraps around", e2e_call_fn(e.h, 2, ha), TEX_ERR_OVERFLOW, nx);
  }

  /* TEX_ERR_LAYOUT: a transposed view; odd strides on extent-1 axes are fine. */
  {
    int64_t sk[2] = {N, K}, st[2] = {1, N}, sko[2] = {N, K};
    DLTensor tb, tko, *ha[2] = {&tb, &tko};
    tensor(&tb, xk, TEX_F32, 2, sk);
    tb.strides = st;
    tensor(&tko, outk, TEX_F32, 2, sko);
    expect_status(&c, &e, "transposed view (strides {1, N})", e2e_call_fn(e.h, 2, ha), TEX_ERR_LAYOUT, nx);
    int64_t sgood[2] = {K, 1}, spad[2] = {K + 1, 1};
    tb.strides = spad;
    expect_status(&c, &e, "padded rows (strides {K+1, 1})", e2e_call_fn(e.h, 2, ha), TEX_ERR_LAYOUT, nx);
    tb.strides = sgood;
    tko.strides = st;
    expect_status(&c, &e, "transposed output", e2e_call_fn(e.h, 2, ha), TEX_ERR_LAYOUT, nout);
    /* [1, K] with stride 999 on the extent-1 axis, [N, 1] with stride -7 there. */
    int64_t s1k[2] = {1, K}, st1k[2] = {999, 1}, sn1[2] = {N, 1}, stn1[2] = {1, -7};
    tensor(&tb, xk, TEX_F32, 2, s1k);
    tb.strides = st1k;
    tensor(&tko, outk, TEX_F32, 2, s1k);
    tko.strides = st1k;
    memset(outk, 0, sizeof outk);
    rc = e2e_call_fn(e.h, 2, ha);
    expect_status(&c, &e, "odd stride on extent-1 axis [1, K]", rc, TEX_OK, NULL);
    for (int i = 0; i < K && rc == 0; i++)
      if (outk[i] != 2 * xk[i]) e2e_failf(&c, "[1, K] odd strides: out[%d] = %g, want %g", i, outk[i], 2 * xk[i]);
    tensor(&tb, xk, TEX_F32, 2, sn1);
    tb.strides = stn1;
    tensor(&tko, outk, TEX_F32, 2, sn1);
    tko.strides = stn1;
    memset(outk, 0, sizeof outk);
    rc = e2e_call_fn(e.h, 2, ha);
    expect_status(&c, &e, "odd stride on extent-1 axis [N, 1]", rc, TEX_OK, NULL);
    for (int i = 0; i < N && rc == 0; i++)
      if (outk[i] != 2 * xk[i]) e2e_failf(&c, "[N, 1] odd strides: out[%d] = %g, want %g", i, outk[i], 2 * xk[i]);
  }

  /* byte_offset honoured; misaligned data (floats at address + 1 byte). */
  {
    enum { OFF = 6 };
    float bigbuf[N * K + OFF], bigout[N * K + 2];
    int64_t sk[2] = {N, K};
    DLTensor tb, tko, *ha[2] = {&tb, &tko};
    for (int i = 0; i < N * K + OFF; i++) bigbuf[i] = -100.0f - (float)i;
    memcpy(bigbuf + OFF, xk, sizeof xk);
    memset(bigout, 0, sizeof bigout);
    tensor(&tb, bigbuf, TEX_F32, 2, sk);
    tb.byte_offset = OFF * sizeof(float);
    tensor(&tko, bigout, TEX_F32, 2, sk);
    tko.byte_offset = 2 * sizeof(float);
    rc = e2e_call_fn(e.h, 2, ha);
    expect_status(&c, &e, "byte_offset", rc, TEX_OK, NULL);
    for (int i = 0; i < N * K && rc == 0; i++)
      if (bigout[i + 2] != 2 * xk[i]) {
        e2e_failf(&c, "byte_offset: out[%d] = %g, want %g", i, bigout[i + 2], 2 * xk[i]);
        break;
      }
    if (bigout[0] != 0 || bigout[1] != 0) e2e_failf(&c, "byte_offset: wrote before the output's byte_offset");

    unsigned char cin[sizeof xk + 16], cout[sizeof xk + 16];
    memset(cout, 0, sizeof cout);
    memcpy(cin + 1, xk, sizeof xk);
    tensor(&tb, cin, TEX_F32, 2, sk);
    tb.byte_offset = 1;
    tensor(&tko, cout + 3, TEX_F32, 2, sk); /* misaligned data pointer itself */
    rc = e2e_call_fn(e.h, 2, ha);
    expect_status(&c, &e, "misaligned input and output", rc, TEX_OK, NULL);
    for (int i = 0; i < N * K && rc == 0; i++) {
      float v;
      memcpy(&v, cout + 3 + sizeof(float) * (size_t)i, sizeof v);
      if (v != 2 * xk[i]) {
        e2e_failf(&c, "misaligned: out[%d] = %g, want %g", i, v, 2 * xk[i]);
        break;
      }
    }
    if (cout[0] || cout[1] || cout[2] || !all_bytes(cout + 3 + sizeof xk, sizeof cout - 3 - sizeof xk, 0))
      e2e_failf(&c, "misaligned: wrote outside the output");
  }

  /* TEX_ERR_DEVICE: CUDA memory; kDLCUDAHost (pinned host memory) is accepted. */
  RESET();
  tx.device = (DLDevice){kDLCUDA, 0};
  expect_status(&c, &e, "kDLCUDA input", e2e_call_fn(e.f, 3, a), TEX_ERR_DEVICE, nx);
  UNTOUCHED("kDLCUDA input");
  RESET();
  to.device = (DLDevice){kDLCUDA, 1};
  expect_status(&c, &e, "kDLCUDA output", e2e_call_fn(e.f, 3, a), TEX_ERR_DEVICE, nout);
  RESET();
  ty.device = (DLDevice){kDLCUDAHost, 0};
  expect_status(&c, &e, "kDLCUDAHost input", e2e_call_fn(e.f, 3, a), TEX_OK, NULL);

  /* TEX_ERR_ALIAS: the output overlapping an input, fully or partly; two
   * overlapping inputs are fine. */
  {
    float yo[N + 1];
    memcpy(yo, y, sizeof y);
    RESET();
    ty.data = yo;
    to.data = yo;
    expect_status(&c, &e, "output == input y", e2e_call_fn(e.f, 3, a), TEX_ERR_ALIAS, nalias);
    RESET();
    ty.data = yo;
    to.data = yo;
    to.byte_offset = sizeof(float) * (N - 1);
    expect_status(&c, &e, "output overlaps the last element of y", e2e_call_fn(e.f, 3, a), TEX_ERR_ALIAS, nalias);
    if (memcmp(yo, y, sizeof y) != 0) e2e_failf(&c, "alias: y was written");
    RESET();
    to.data = x;
    expect_status(&c, &e, "output inside x", e2e_call_fn(e.f, 3, a), TEX_ERR_ALIAS, nout);
    /* Adjacent, not overlapping: out right after y. */
    float yy[2 * N];
    memcpy(yy, y, sizeof y);
    RESET();
    ty.data = yy;
    to.data = yy + N;
    rc = e2e_call_fn(e.f, 3, a);
    expect_status(&c, &e, "output adjacent to y", rc, TEX_OK, NULL);
    /* Overlapping inputs: y is a view into x's buffer. */
    float xy[N * 3];
    memcpy(xy, x, sizeof x);
    RESET();
    tx.data = xy;
    ty.data = xy;
    rc = e2e_call_fn(e.f, 3, a);
    expect_status(&c, &e, "two inputs sharing memory", rc, TEX_OK, NULL);
    for (int i = 0; i < N && rc == 0; i++) {
      double want = (double)x[3 * i] + x[3 * i + 1] + x[3 * i + 2] + x[i];
      if (fabs(out[i] - want) > 1e-5) e2e_failf(&c, "shared inputs: out[%d] = %g, want %g", i, out[i], want);
    }
  }

  /* Empty tensors: N = 0 with NULL data everywhere is a valid call. */
  RESET();
  sx[0] = 0, sy[0] = 0, so[0] = 0;
  tx.data = ty.data = to.data = NULL;
  expect_status(&c, &e, "N = 0 with NULL data", e2e_call_fn(e.f, 3, a), TEX_OK, NULL);

  /* TEX_ERR_ASSERT: r reshapes x[P] to [Q, 2], asserted P == 2*Q at call time. */
  {
    void *r = dlsym(e.lib.h, "errchk_r");
    float rx[8] = {0}, ry[4] = {0}, rout[8];
    int64_t sp[1] = {6}, sq[1] = {4}, sro[2] = {4, 2};
    DLTensor trx, try_, tro, *ra[3] = {&trx, &try_, &tro};
    tensor(&trx, rx, TEX_F32, 1, sp);
    tensor(&try_, ry, TEX_F32, 1, sq);
    tensor(&tro, rout, TEX_F32, 2, sro);
    memset(rout, 0xEE, sizeof rout);
    rc = r ? e2e_call_fn(r, 3, ra) : -1;
    expect_status(&c, &e, "reshape of 6 elements into [4, 2]", rc, TEX_ERR_ASSERT, NULL);
    const char *msg = e.lib.last_error();
    static const char *const parts[] = {"errchk_r: reshape at ", "errs.tex:27:12 from f32[P] to f32[Q, 2]",
                                        "it has 6 elements, the new shape 8", "P == 2*Q with P = 6, Q = 4"};
    for (int i = 0; i < 4 && rc == TEX_ERR_ASSERT; i++)
      if (!strstr(msg, parts[i])) e2e_failf(&c, "reshape assertion: the message lacks \"%s\": %s", parts[i], msg);
    if (!all_bytes(rout, sizeof rout, 0xEE)) e2e_failf(&c, "reshape assertion: the output was written");
    sp[0] = 8;
    expect_status(&c, &e, "reshape of 8 elements into [4, 2]", r ? e2e_call_fn(r, 3, ra) : -1, TEX_OK, NULL);
  }
  /* TEX_ERR_TRIP: lp loops k times; k = -3 is an error naming the loop's line. */
  {
    void *lp = dlsym(e.lib.h, "errchk_lp");
    float lx[4] = {1, 2, 3, 4}, lout[4];
    int64_t lk = -3, sn[1] = {4}, s0[1] = {0};
    DLTensor tlx, tlk, tlo, *la[3] = {&tlx, &tlk, &tlo};
    tensor(&tlx, lx, TEX_F32, 1, sn);
    tensor(&tlk, &lk, TEX_I64, 0, s0);
    tensor(&tlo, lout, TEX_F32, 1, sn);
    memset(lout, 0xEE, sizeof lout);
    rc = lp ? e2e_call_fn(lp, 3, la) : -1;
    expect_status(&c, &e, "a loop with trip count -3", rc, TEX_ERR_TRIP, NULL);
    const char *msg = e.lib.last_error();
    if (rc == TEX_ERR_TRIP && (!strstr(msg, "errchk_lp: the trip count of the loop at ") || !strstr(msg, "errs.tex:35:12 is -3")))
      e2e_failf(&c, "negative trip count: unexpected message: %s", msg);
    if (!all_bytes(lout, sizeof lout, 0xEE)) e2e_failf(&c, "negative trip count: the output was written");
    lk = 2;
    rc = lp ? e2e_call_fn(lp, 3, la) : -1;
    expect_status(&c, &e, "a loop with trip count 2", rc, TEX_OK, NULL);
    for (int i = 0; i < 4 && rc == TEX_OK; i++)
      if (lout[i] != 4 * lx[i]) e2e_failf(&c, "loop of 2 trips: out[%d] = %g, want %g", i, lout[i], 4 * lx[i]);
  }
  /* TEX_ERR_MAXITER: wh halves x until max |x| <= 1, at most k times; 40
   * needs 6 halvings, so k = 3 is an error naming the loop's line. */
  {
    void *wh = dlsym(e.lib.h, "errchk_wh");
    float wx[4] = {1, 2, 3, 40}, wout[4];
    int64_t wk = 3, sn[1] = {4}, s0[1] = {0};
    DLTensor twx, twk, two, *wa[3] = {&twx, &twk, &two};
    tensor(&twx, wx, TEX_F32, 1, sn);
    tensor(&twk, &wk, TEX_I64, 0, s0);
    tensor(&two, wout, TEX_F32, 1, sn);
    memset(wout, 0xEE, sizeof wout);
    rc = wh ? e2e_call_fn(wh, 3, wa) : -1;
    expect_status(&c, &e, "a while loop past its max=3", rc, TEX_ERR_MAXITER, NULL);
    const char *msg = e.lib.last_error();
    if (rc == TEX_ERR_MAXITER && (!strstr(msg, "errchk_wh: the while loop at ") || !strstr(msg, "errs.tex:43:12 reached its maximum of 3")))
      e2e_failf(&c, "while at its max: unexpected message: %s", msg);
    if (!all_bytes(wout, sizeof wout, 0xEE)) e2e_failf(&c, "while at its max: the output was written");
    wk = 6;
    rc = wh ? e2e_call_fn(wh, 3, wa) : -1;
    expect_status(&c, &e, "a while loop of 6 steps with max=6", rc, TEX_OK, NULL);
    for (int i = 0; i < 4 && rc == TEX_OK; i++)
      if (wout[i] != wx[i] / 64) e2e_failf(&c, "while of 6 steps: out[%d] = %g, want %g", i, wout[i], wx[i] / 64);
  }
  /* The message of a good call after a failing one: the contract is "meaningful
   * only after a nonzero return", so only check it is still a string. */
  if (!e.lib.last_error()) e2e_failf(&c, "last_error() returned NULL");
#undef RESET
#undef UNTOUCHED
  e2e_unload(&e.lib);
  if (c.failures) fail_msg("call errors: %d failures", c.failures);
}

/* Two modules loaded at once keep their own symbols and metadata. */
void e2e_test_two_modules(void **state) {
  (void)state;
  static Program prog;
  Ctx c = {.p = &prog};
  e2e_fmt(prog.path, sizeof prog.path, "%s/errs.tex", e2e_dir);
  e2e_fmt(prog.file, sizeof prog.file, "errs.tex (two modules)");
  Lib a, b;
  memset(&a, 0, sizeof a);
  memset(&b, 0, sizeof b);
  a.what = b.what = "default";
  bool ok = e2e_compile(&c, &prog, "twomod_a", "--prefix=twomod_a", &a) && e2e_compile(&c, &prog, "twomod_b", "--prefix=twomod_b", &b) &&
            e2e_load(&c, &a) && e2e_load(&c, &b);
  if (ok) {
    if (a.mi == b.mi || strcmp(a.mi->prefix, "twomod_a") != 0 || strcmp(b.mi->prefix, "twomod_b") != 0)
      e2e_failf(&c, "two modules share metadata");
    if (dlsym(a.h, "texrt_bind") || dlsym(a.h, "texrt_run") || dlsym(b.h, "texrt_last_error"))
      e2e_failf(&c, "the runtime's texrt_* symbols leak out of the .so");
    /* An error in one module does not show in the other's message. */
    int64_t s[1] = {3}, s2[2] = {3, 2};
    float v[6] = {0};
    DLTensor tx, ty, to, *args[3] = {&tx, &ty, &to};
    tensor(&tx, v, TEX_F32, 2, s2);
    tensor(&ty, v, TEX_F32, 1, s);
    tensor(&to, v + 3, TEX_F32, 1, s);
    void *fa = dlsym(a.h, "twomod_a_f");
    if (fa && e2e_call_fn(fa, 3, args) != TEX_ERR_SHAPE) e2e_failf(&c, "twomod_a_f: want TEX_ERR_SHAPE");
    if (!strstr(a.last_error(), "twomod_a_f")) e2e_failf(&c, "module a's message: %s", a.last_error());
    if (strstr(b.last_error(), "twomod_a_f")) e2e_failf(&c, "module b shows module a's error: %s", b.last_error());
  }
  e2e_unload(&a);
  e2e_unload(&b);
  if (c.failures) fail_msg("two modules: %d failures", c.failures);
}
