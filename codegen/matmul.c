/* matmul.c — K_MATMUL kernels for the CPU.
 *
 * C[m,n] = fma(A[m,k], B[k,n], acc) for k ascending from acc = +0.0
 * (lang/reference.md), per batch point.  Every path below keeps exactly that
 * order for every element, so they agree bit for bit with each other, at
 * every -O level, --cpu and split of [begin, end) over threads.
 *
 * Float products whose C has contiguous columns take the packed path (the
 * BLIS loop nest, loops outermost first):
 *
 *   jc   columns of C in blocks of NC       B block (KC x NC) stays in L2
 *   pc   k in blocks of KC                  pack B[pc.., jc..] into panels
 *   ir   rows [lo, hi) in steps of MR       pack A[ir.., pc..]: one panel, L1
 *   jr   columns of the block, NR vectors   one MR x NR-vector tile
 *
 * The tile is MR x NR vectors of accumulators in registers; each k step
 * loads NR vectors of the B panel and broadcasts MR elements of the A panel
 * into MR*NR fmas.  Between k blocks the partial tile is stored in C and
 * loaded again (exact), so the k order is that of the plain loop.  Packing
 * reads A and B with any strides (a transposed operand is an access map,
 * no copy) and pads the panels with zeros; the tile's loads and stores of
 * C are masked to the rows and columns that exist.  In the last k block the
 * epilogue (bias, activation: the kernel body) is applied to the tile in
 * registers before the one store, when it is made of loads that are
 * contiguous or constant along n and of elementwise ops; otherwise it runs
 * over the finished rows as in the plain path.
 *
 * The panels live in texrt_scratch (runtime/scratch.c): per-thread memory
 * kept between calls.  If it cannot be had, the kernel takes the plain path.
 *
 * The plain path (integers, vector operands, a C with n stride 0): i-k-j
 * loops, whose n loop LLVM vectorises; matrix-vector products run R_MV rows
 * at a time, each with its own accumulator (independent fma chains). */
#include <llvm-c/DebugInfo.h>

#include "cpu_impl.h"

/* Register tile and cache blocks of the packed path. */
typedef struct Mm {
  DType t;
  LLVMTypeRef et, vt, mt; /* element, <vl x element>, <vl x i1> */
  int vl, vb, mr, nr, kc, nc; /* vb: bytes per vector; nc: a multiple of nr * vl */
  int lm, ln, lk;
  unsigned bm;            /* batch loops */
  bool vec_epi;           /* epilogue on the tile's vectors */
  LLVMValueRef ap, bp;    /* the packed A panel and B block */
} Mm;

enum { R_MV = 8 };

/* ---- helpers -------------------------------------------------------------- */

static LLVMValueRef multiply_add(KEmit *e, DType t, LLVMValueRef a, LLVMValueRef b, LLVMValueRef c) {
  if (!dtype_is_float(t)) return LLVMBuildAdd(e->g->b, LLVMBuildMul(e->g->b, a, b, ""), c, "");
  LLVMValueRef args[3] = {a, b, c};
  LLVMTypeRef ty = LLVMTypeOf(a);
  return cg_intrinsic(e->g->b, "llvm.fma", &ty, 1, args, 3);
}

/* A matmul whose body is more than the accumulator has an epilogue. */
static bool has_epilogue(const Kernel *k) { return k->nbody > 1; }

static bool lit_is(Dim d, int64_t v) {
  int64_t x;
  return dim_is_lit(d, &x) && x == v;
}

static LLVMValueRef add(KEmit *e, LLVMValueRef a, LLVMValueRef b) { return LLVMBuildAdd(e->g->b, a, b, ""); }
static LLVMValueRef mul(KEmit *e, LLVMValueRef a, LLVMValueRef b) { return LLVMBuildMul(e->g->b, a, b, ""); }
static LLVMValueRef sub(KEmit *e, LLVMValueRef a, LLVMValueRef b) { return LLVMBuildSub(e->g->b, a, b, ""); }

static LLVMValueRef smin(KEmit *e, LLVMValueRef a, LLVMValueRef b) {
  return LLVMBuildSelect(e->g->b, LLVMBuildICmp(e->g->b, LLVMIntSLT, a, b, ""), a, b, "");
}

static LLVMValueRef gep(KEmit *e, LLVMTypeRef t, LLVMValueRef p, LLVMValueRef off) { return LLVMBuildGEP2(e->g->b, t, p, &off, 1, ""); }

/* Element offset of operand slot at the current ivs of the loops in mask. */
static LLVMValueRef offset(KEmit *e, int slot, unsigned mask) {
  LLVMValueRef off = i64c(e, 0);
  for (int l = 0; l < e->k->nloops; l++)
    if (mask >> l & 1 && e->lstride[slot][l]->nterms) off = add(e, off, mul(e, e->iv[l], emit_dim(e, e->lstride[slot][l])));
  return off;
}

/* ---- the configuration ------------------------------------------------------ */

/* True if the epilogue can run on the tile's vectors: loads contiguous or
 * constant along n, immediates and elementwise ops. */
static bool vector_epilogue(KEmit *e, int ln) {
  const Kernel *k = e->k;
  if (k->nbody > 32) return false; /* it is emitted once per vector of the tile */
  for (int i = 0; i < k->nbody; i++) {
    const KInstr *in = &k->body[i];
    if (in->op == OP_PARAM) {
      Dim s = e->lstride[in->operand][ln];
      if (s->nterms && !lit_is(s, 1)) return false;
    } else if (in->op != OP_MATMUL && in->op != OP_CONST && in->op != OP_DIMSIZE &&
               (in->op >= OP_COUNT || !(op_info[in->op].flags & F_ELEM) || in->pred1)) {
      return false;
    }
  }
  return true;
}

/* Fills mm and returns true if the kernel takes the packed path. */
static bool packed_config(KEmit *e, Mm *mm) {
  const Kernel *k = e->k;
  DType t = k->out.dtype;
  if ((t != DT_F32 && t != DT_F64) || k->mm_m < 0 || k->mm_n < 0) return false;
  if (k->in[0].dtype != t || k->in[1].dtype != t || k->in[0].gathered || k->in[1].gathered || k->out.gathered) return false;
  if (!lit_is(e->lstride[K_MAX_INPUTS][k->mm_n], 1)) return false;
  int vb = e->g->vec_bytes ? e->g->vec_bytes : 16, size = dtype_sizes[t];
  mm->t = t;
  mm->et = cg_type(e->g->ctx, t);
  mm->vl = vb / size;
  mm->vb = vb;
  mm->vt = LLVMVectorType(mm->et, (unsigned)mm->vl);
  mm->mt = LLVMVectorType(LLVMInt1TypeInContext(e->g->ctx), (unsigned)mm->vl);
  mm->mr = vb == 64 ? 8 : 6; /* 32 zmm registers: 24 accumulators; 16 ymm/xmm: 12 */
  mm->nr = vb == 64 ? 3 : 2;
  mm->kc = 256;
  int nrv = mm->nr * mm->vl;
  mm->nc = (512 * 1024 / (mm->kc * size)) / nrv * nrv; /* the B block: half of a 1 MiB L2 */
  mm->lm = k->mm_m, mm->ln = k->mm_n, mm->lk = k->mm_k;
  mm->bm = (1u << (k->nloops - 3)) - 1;
  mm->vec_epi = vector_epilogue(e, mm->ln);
  return true;
}

static int64_t scratch_bytes(const Mm *mm) {
  int64_t size = dtype_sizes[mm->t];
  return ((int64_t)mm->kc * mm->nc * size + 63) / 64 * 64 + (int64_t)mm->mr * mm->kc * size;
}

/* Closes loop l with metadata that keeps LLVM from vectorising or
 * unrolling it: packing loops that scatter or pad (a vectorised version is
 * no faster and costs compile time in every matmul kernel). */
static void loop_close_scalar(KEmit *e, Loop *l) {
  LLVMBasicBlockRef latch = LLVMGetInsertBlock(e->g->b);
  loop_close(e, l);
  LLVMContextRef c = e->g->ctx;
  LLVMMetadataRef self = LLVMTemporaryMDNode(c, NULL, 0);
  LLVMMetadataRef s1 = LLVMMDStringInContext2(c, "llvm.loop.unroll.disable", 24);
  LLVMMetadataRef s2[2] = {LLVMMDStringInContext2(c, "llvm.loop.vectorize.enable", 26),
                           LLVMValueAsMetadata(LLVMConstInt(LLVMInt1TypeInContext(c), 0, 0))};
  LLVMMetadataRef ops[3] = {self, LLVMMDNodeInContext2(c, &s1, 1), LLVMMDNodeInContext2(c, s2, 2)};
  LLVMMetadataRef loop = LLVMMDNodeInContext2(c, ops, 3);
  LLVMMetadataReplaceAllUsesWith(self, loop);
  LLVMSetMetadata(LLVMGetBasicBlockTerminator(latch), LLVMGetMDKindIDInContext(c, "llvm.loop", 9), LLVMMetadataAsValue(c, loop));
}

/* A loop of the plain path: scalar where `small` (the fallback of a packed
 * kernel, for when no scratch memory can be had: only correct, small). */
static void close_plain(KEmit *e, Loop *l, bool small) {
  if (small)
    loop_close_scalar(e, l);
  else
    loop_close(e, l);
}

/* ---- packing ------------------------------------------------------------------ */

/* One panel of w columns and kc rows, row p at dst + p*w: panel element
 * (p, j) is src[p*sp + j*sj] for j < cols, and 0 for cols <= j < w.  The
 * loop over the operand's contiguous axis is the inner one. */
static void pack_panel(KEmit *e, const Mm *mm, LLVMValueRef dst, LLVMValueRef src, Dim sp_dim, Dim sj_dim, LLVMValueRef kc,
                       LLVMValueRef cols, int w) {
  LLVMValueRef sp = emit_dim(e, sp_dim), sj = emit_dim(e, sj_dim), wv = i64c(e, w);
  bool p_inner = lit_is(sp_dim, 1) && !lit_is(sj_dim, 1);
  Loop outer, inner;
  LLVMValueRef p, j;
  if (p_inner) {
    j = loop_open(e, &outer, i64c(e, 0), cols, 1);
    p = loop_open(e, &inner, i64c(e, 0), kc, 1);
  } else {
    p = loop_open(e, &outer, i64c(e, 0), kc, 1);
    j = loop_open(e, &inner, i64c(e, 0), cols, 1);
  }
  LLVMValueRef x = load(e, mm->et, gep(e, mm->et, src, add(e, mul(e, p, sp), mul(e, j, sj))), dtype_sizes[mm->t]);
  store(e, x, gep(e, mm->et, dst, add(e, mul(e, p, wv), j)), dtype_sizes[mm->t]);
  if (p_inner || !lit_is(sj_dim, 1))
    loop_close_scalar(e, &inner); /* strided on one side */
  else
    loop_close(e, &inner); /* a contiguous copy: vectorised */
  loop_close(e, &outer);
  /* the padding: columns [cols, w) of every row */
  p = loop_open(e, &outer, i64c(e, 0), kc, 1);
  j = loop_open(e, &inner, cols, wv, 1);
  store(e, LLVMConstNull(mm->et), gep(e, mm->et, dst, add(e, mul(e, p, wv), j)), dtype_sizes[mm->t]);
  loop_close_scalar(e, &inner);
  loop_close(e, &outer);
}

/* The B block: k in [pc, pc+kc), n in [jc, jc+nc), as panels of nr*vl
 * columns, panel q at bp + q*kc*nr*vl. */
static void pack_b(KEmit *e, const Mm *mm, LLVMValueRef jc, LLVMValueRef nc, LLVMValueRef pc, LLVMValueRef kc) {
  int nrv = mm->nr * mm->vl;
  Loop q;
  LLVMValueRef j0 = loop_open(e, &q, i64c(e, 0), nc, nrv);
  e->iv[mm->lk] = pc, e->iv[mm->ln] = add(e, jc, j0);
  LLVMValueRef src = gep(e, mm->et, e->base[1], offset(e, 1, mm->bm | 1u << mm->lk | 1u << mm->ln));
  LLVMValueRef dst = gep(e, mm->et, mm->bp, mul(e, j0, kc)); /* j0 = q * nrv */
  pack_panel(e, mm, dst, src, e->lstride[1][mm->lk], e->lstride[1][mm->ln], kc, smin(e, i64c(e, nrv), sub(e, nc, j0)), nrv);
  loop_close(e, &q);
}

/* The A panel: rows [ir, ir+rows), k in [pc, pc+kc), row r of the panel is
 * column r: ap + p*mr + r. */
static void pack_a(KEmit *e, const Mm *mm, LLVMValueRef ir, LLVMValueRef rows, LLVMValueRef pc, LLVMValueRef kc) {
  e->iv[mm->lk] = pc, e->iv[mm->lm] = ir;
  LLVMValueRef src = gep(e, mm->et, e->base[0], offset(e, 0, mm->bm | 1u << mm->lk | 1u << mm->lm));
  pack_panel(e, mm, mm->ap, src, e->lstride[0][mm->lk], e->lstride[0][mm->lm], kc, rows, mm->mr);
}

/* ---- the register tile ----------------------------------------------------------- */

/* One MR x NR-vector tile of C: rows [ir, ir+rows), columns [col0,
 * col0+cols) of which the first nr*vl are the tile's. */
typedef struct Tile {
  LLVMValueRef bp, kc, ir, col0, rows, cols, first, last, rowmax;
  LLVMValueRef acc[8][4];  /* allocas: promoted to registers */
  LLVMValueRef mask[8][4]; /* tile_mask */
} Tile;

/* The lanes of vector j in row r that lie inside C: the low
 * min(cols - j*vl, vl) bits of an integer (none past the last row), as
 * <vl x i1>. */
static LLVMValueRef tile_mask(KEmit *e, const Mm *mm, const Tile *tl, int r, int j) {
  LLVMBuilderRef B = e->g->b;
  LLVMValueRef n = smin(e, sub(e, tl->cols, i64c(e, (int64_t)j * mm->vl)), i64c(e, mm->vl));
  n = LLVMBuildSelect(B, LLVMBuildICmp(B, LLVMIntSLT, i64c(e, r), tl->rows, ""), n, i64c(e, 0), "");
  n = LLVMBuildSelect(B, LLVMBuildICmp(B, LLVMIntSLT, n, i64c(e, 0), ""), i64c(e, 0), n, "");
  LLVMValueRef bits = sub(e, LLVMBuildShl(B, i64c(e, 1), n, ""), i64c(e, 1)); /* n <= vl <= 16 */
  LLVMTypeRef it = LLVMIntTypeInContext(e->g->ctx, (unsigned)mm->vl);
  return LLVMBuildBitCast(B, LLVMBuildTrunc(B, bits, it, ""), mm->mt, "");
}

static LLVMValueRef masked_load(KEmit *e, LLVMTypeRef vt, LLVMValueRef p, int align, LLVMValueRef mask) {
  LLVMTypeRef ov[2] = {vt, e->g->ptr};
  LLVMValueRef args[4] = {p, LLVMConstInt(e->g->i32, (unsigned)align, 0), mask, LLVMConstNull(vt)};
  return cg_intrinsic(e->g->b, "llvm.masked.load", ov, 2, args, 4);
}

static void masked_store(KEmit *e, LLVMValueRef v, LLVMValueRef p, int align, LLVMValueRef mask) {
  LLVMTypeRef ov[2] = {LLVMTypeOf(v), e->g->ptr};
  LLVMValueRef args[4] = {v, p, LLVMConstInt(e->g->i32, (unsigned)align, 0), mask};
  cg_intrinsic(e->g->b, "llvm.masked.store", ov, 2, args, 4);
}

/* Address of vector j in row r of the tile in C. */
static LLVMValueRef tile_c(KEmit *e, const Mm *mm, const Tile *tl, int r, int j) {
  e->iv[mm->lm] = tl->ir, e->iv[mm->ln] = tl->col0;
  LLVMValueRef off = offset(e, K_MAX_INPUTS, mm->bm | 1u << mm->lm | 1u << mm->ln);
  off = add(e, off, add(e, mul(e, i64c(e, r), emit_dim(e, e->lstride[K_MAX_INPUTS][mm->lm])), i64c(e, (int64_t)j * mm->vl)));
  return gep(e, mm->et, e->base[K_MAX_INPUTS], off);
}

/* The accumulators: +0.0 in the first k block, else the partial C. */
static void tile_init(KEmit *e, const Mm *mm, Tile *tl) {
  LLVMValueRef later = splat(e, LLVMBuildNot(e->g->b, tl->first, ""), mm->vl);
  for (int r = 0; r < mm->mr; r++)
    for (int j = 0; j < mm->nr; j++) {
      tl->acc[r][j] = entry_alloca(e, mm->vt, "acc");
      tl->mask[r][j] = tile_mask(e, mm, tl, r, j);
      LLVMValueRef m = LLVMBuildAnd(e->g->b, tl->mask[r][j], later, "");
      store(e, masked_load(e, mm->vt, tile_c(e, mm, tl, r, j), dtype_sizes[mm->t], m), tl->acc[r][j], mm->vb);
    }
}

/* kc steps of acc[r][j] = fma(A[r,p], B[p,j], acc[r][j]). */
static void tile_loop(KEmit *e, const Mm *mm, const Tile *tl) {
  int nrv = mm->nr * mm->vl, vb = mm->vb;
  Loop kl;
  LLVMValueRef p = loop_open(e, &kl, i64c(e, 0), tl->kc, 1), b[4];
  for (int j = 0; j < mm->nr; j++)
    b[j] = load(e, mm->vt, gep(e, mm->et, tl->bp, add(e, mul(e, p, i64c(e, nrv)), i64c(e, (int64_t)j * mm->vl))), vb);
  for (int r = 0; r < mm->mr; r++) {
    LLVMValueRef a = load(e, mm->et, gep(e, mm->et, mm->ap, add(e, mul(e, p, i64c(e, mm->mr)), i64c(e, r))), dtype_sizes[mm->t]);
    a = splat(e, a, mm->vl);
    for (int j = 0; j < mm->nr; j++)
      store(e, multiply_add(e, mm->t, a, b[j], load(e, mm->vt, tl->acc[r][j], mm->vb)), tl->acc[r][j], mm->vb);
  }
  loop_close(e, &kl);
}

/* The epilogue of vector j in row r, on the accumulator. */
static LLVMValueRef tile_epilogue(KEmit *e, const Mm *mm, const Tile *tl, int r, int j, LLVMValueRef acc, LLVMValueRef mask) {
  const Kernel *k = e->k;
  unsigned all = mm->bm | 1u << mm->lm | 1u << mm->ln;
  /* a row past the end reads the last row (its lanes are masked off) */
  e->iv[mm->lm] = smin(e, add(e, tl->ir, i64c(e, r)), tl->rowmax);
  e->iv[mm->ln] = add(e, tl->col0, i64c(e, (int64_t)j * mm->vl));
  Access ac = {.loop_mask = all, .width = mm->vl, .flat = i64c(e, 0), .acc = acc, .mask = mask};
  for (int o = 0; o < k->ninputs; o++) {
    ac.broadcast[o] = e->lstride[o][mm->ln]->nterms == 0;
    ac.par_off[o] = offset(e, o, all);
  }
  return eval_body(e, &ac);
}

/* The tile into C: after the last k block through the epilogue (computed
 * after every block, kept after the last). */
static void tile_store(KEmit *e, const Mm *mm, const Tile *tl) {
  bool epi = has_epilogue(e->k) && mm->vec_epi;
  for (int r = 0; r < mm->mr; r++)
    for (int j = 0; j < mm->nr; j++) {
      LLVMValueRef m = tl->mask[r][j], v = load(e, mm->vt, tl->acc[r][j], mm->vb);
      if (epi) v = LLVMBuildSelect(e->g->b, tl->last, cg_to_mem(e->g->b, mm->t, tile_epilogue(e, mm, tl, r, j, v, m)), v, "");
      masked_store(e, v, tile_c(e, mm, tl, r, j), dtype_sizes[mm->t], m);
    }
}

/* ---- the blocked loops -------------------------------------------------------------- */

/* The finished rows [lo, hi) of C through the epilogue, element by element
 * (an epilogue the tile cannot apply). */
static void epilogue_rows(KEmit *e, unsigned bm, LLVMValueRef mlo, LLVMValueRef mhi, LLVMValueRef nlo, LLVMValueRef nhi, bool small) {
  DType t = e->k->out.dtype;
  int lm = e->k->mm_m, ln = e->k->mm_n;
  unsigned mask = (lm >= 0 ? 1u << lm : 0) | bm | 1u << ln;
  Loop lmo, lno;
  if (mlo) e->iv[lm] = loop_open(e, &lmo, mlo, mhi, 1);
  e->iv[ln] = loop_open(e, &lno, nlo, nhi, 1);
  LLVMValueRef op = address(e, K_MAX_INPUTS, t, mask);
  Access epi = {.loop_mask = mask, .acc = load(e, cg_type(e->g->ctx, t), op, dtype_sizes[t])};
  store(e, cg_to_mem(e->g->b, t, eval_body(e, &epi)), op, dtype_sizes[t]);
  close_plain(e, &lno, small);
  if (mlo) close_plain(e, &lmo, small);
}

/* C rows [lo, hi) at the current batch point, packed. */
static void emit_packed(KEmit *e, const Mm *mm, LLVMValueRef lo, LLVMValueRef hi) {
  LLVMBuilderRef B = e->g->b;
  LLVMValueRef N = e->extent[mm->ln], K = e->extent[mm->lk], kcv = i64c(e, mm->kc);
  int nrv = mm->nr * mm->vl;
  LLVMValueRef kblocks = LLVMBuildSDiv(B, add(e, K, i64c(e, mm->kc - 1)), kcv, "");
  kblocks = LLVMBuildSelect(B, LLVMBuildICmp(B, LLVMIntSGT, K, i64c(e, 0), ""), kblocks, i64c(e, 1), ""); /* K = 0: one empty block */
  Loop jcl, pbl, irl, jrl;
  LLVMValueRef jc = loop_open(e, &jcl, i64c(e, 0), N, mm->nc);
  LLVMValueRef nc = smin(e, i64c(e, mm->nc), sub(e, N, jc));
  LLVMValueRef pb = loop_open(e, &pbl, i64c(e, 0), kblocks, 1);
  LLVMValueRef pc = mul(e, pb, kcv), kc = smin(e, kcv, sub(e, K, pc));
  Tile tl = {.kc = kc, .rowmax = sub(e, hi, i64c(e, 1))};
  tl.first = LLVMBuildICmp(B, LLVMIntEQ, pb, i64c(e, 0), "");
  tl.last = LLVMBuildICmp(B, LLVMIntEQ, pb, sub(e, kblocks, i64c(e, 1)), "");
  pack_b(e, mm, jc, nc, pc, kc);
  tl.ir = loop_open(e, &irl, lo, hi, mm->mr);
  tl.rows = smin(e, i64c(e, mm->mr), sub(e, hi, tl.ir));
  pack_a(e, mm, tl.ir, tl.rows, pc, kc);
  LLVMValueRef jr = loop_open(e, &jrl, i64c(e, 0), nc, nrv);
  tl.bp = gep(e, mm->et, mm->bp, mul(e, jr, kc));
  tl.col0 = add(e, jc, jr);
  tl.cols = sub(e, nc, jr);
  tile_init(e, mm, &tl);
  tile_loop(e, mm, &tl);
  tile_store(e, mm, &tl);
  loop_close(e, &jrl);
  loop_close(e, &irl);
  loop_close(e, &pbl);
  loop_close(e, &jcl);
}

/* ---- the plain path ------------------------------------------------------------------- */

/* Matrix-vector rows [lo, hi) (or all rows, at a batch point): R_MV rows at
 * a time, one accumulator each, k ascending; then the rows left. */
static void emit_matvec(KEmit *e, unsigned bm, LLVMValueRef lo, LLVMValueRef hi, bool small) {
  const Kernel *k = e->k;
  DType t = k->out.dtype;
  LLVMTypeRef et = cg_type(e->g->ctx, t);
  int lm = k->mm_m, lk = k->mm_k, size = dtype_sizes[t];
  unsigned m = 1u << lm | bm, kk = 1u << lk;
  LLVMValueRef zero = dtype_is_float(t) ? LLVMConstReal(et, 0.0) : LLVMConstInt(et, 0, 0), acc[R_MV];
  for (int r = 0; r < R_MV; r++) acc[r] = entry_alloca(e, et, "acc");
  Loop group, rest, lko;
  for (int pass = 0; pass < 2; pass++) {
    int R = pass ? 1 : R_MV;
    LLVMValueRef m0 = pass ? loop_open(e, &rest, group.iv, hi, 1) : loop_open(e, &group, lo, sub(e, hi, i64c(e, R_MV - 1)), R_MV);
    for (int r = 0; r < R; r++) store(e, zero, acc[r], size);
    e->iv[lk] = loop_open(e, &lko, i64c(e, 0), e->extent[lk], 1);
    Access ac = {.loop_mask = m | kk};
    LLVMValueRef b = load_operand(e, &(KInstr){.op = OP_PARAM, .operand = 1}, &ac);
    for (int r = 0; r < R; r++) {
      e->iv[lm] = add(e, m0, i64c(e, r));
      LLVMValueRef a = load_operand(e, &(KInstr){.op = OP_PARAM, .operand = 0}, &ac);
      store(e, multiply_add(e, t, a, b, load(e, et, acc[r], size)), acc[r], size);
    }
    close_plain(e, &lko, small);
    for (int r = 0; r < R; r++) {
      e->iv[lm] = add(e, m0, i64c(e, r));
      Access epi = {.loop_mask = m, .acc = load(e, et, acc[r], size)};
      store_out(e, eval_body(e, &epi), m);
    }
    close_plain(e, pass ? &rest : &group, small);
  }
}

/* One matrix product C[m,n] (or C[n], C) at the current batch indices (the
 * loops in bm); the first of m and n that exists runs over [begin, end)
 * when there are no batch loops. */
static void emit_matmul_one(KEmit *e, unsigned bm, LLVMValueRef begin, LLVMValueRef end, bool small) {
  const Kernel *k = e->k;
  DType t = k->out.dtype;
  LLVMTypeRef et = cg_type(e->g->ctx, t);
  int lm = k->mm_m, ln = k->mm_n, lk = k->mm_k;
  unsigned m = (lm >= 0 ? 1u << lm : 0) | bm, n = ln >= 0 ? 1u << ln : 0, kk = 1u << lk;
  LLVMValueRef zero = dtype_is_float(t) ? LLVMConstReal(et, 0.0) : LLVMConstInt(et, 0, 0);
  Access ac = {0};
  Loop lmo, lno, lko;
  if (lm >= 0 && ln < 0) return emit_matvec(e, bm, bm ? i64c(e, 0) : begin, bm ? e->extent[lm] : end, small);
  if (lm >= 0) e->iv[lm] = loop_open(e, &lmo, bm ? i64c(e, 0) : begin, bm ? e->extent[lm] : end, 1);
  if (ln >= 0) {
    /* i-k-j: zero the row of C, then C[m,:] += A[m,k] * B[k,:] for k ascending */
    bool outer = lm >= 0 || bm;
    LLVMValueRef lo = outer ? i64c(e, 0) : begin, hi = outer ? e->extent[ln] : end;
    e->iv[ln] = loop_open(e, &lno, lo, hi, 1);
    store_out(e, zero, m | n);
    close_plain(e, &lno, small);
    e->iv[lk] = loop_open(e, &lko, i64c(e, 0), e->extent[lk], 1);
    ac.loop_mask = m | kk;
    LLVMValueRef a = load_operand(e, &(KInstr){.op = OP_PARAM, .operand = 0}, &ac);
    e->iv[ln] = loop_open(e, &lno, lo, hi, 1);
    ac.loop_mask = bm | kk | n;
    LLVMValueRef b = load_operand(e, &(KInstr){.op = OP_PARAM, .operand = 1}, &ac);
    LLVMValueRef cp = address(e, K_MAX_INPUTS, t, m | n);
    store(e, multiply_add(e, t, a, b, load(e, et, cp, dtype_sizes[t])), cp, dtype_sizes[t]);
    close_plain(e, &lno, small);
    close_plain(e, &lko, small);
    if (has_epilogue(k)) epilogue_rows(e, bm, NULL, NULL, lo, hi, small); /* the finished row, still in cache */
  } else {
    /* a dot product: one accumulator */
    LLVMValueRef acc = entry_alloca(e, et, "acc");
    store(e, zero, acc, dtype_sizes[t]);
    e->iv[lk] = loop_open(e, &lko, i64c(e, 0), e->extent[lk], 1);
    ac.loop_mask = m | kk;
    LLVMValueRef a = load_operand(e, &(KInstr){.op = OP_PARAM, .operand = 0}, &ac);
    LLVMValueRef b = load_operand(e, &(KInstr){.op = OP_PARAM, .operand = 1}, &ac);
    store(e, multiply_add(e, t, a, b, load(e, et, acc, dtype_sizes[t])), acc, dtype_sizes[t]);
    close_plain(e, &lko, small);
    Access epi = {.loop_mask = m, .acc = load(e, et, acc, dtype_sizes[t])};
    store_out(e, eval_body(e, &epi), m);
  }
  if (lm >= 0) close_plain(e, &lmo, small);
}

/* ---- the kernel --------------------------------------------------------------------- */

/* The batch loops (all loops before m, n and k; the first over [begin,
 * end)), then one product per batch point: packed (mm) or plain. */
static void batch_loops(KEmit *e, const Mm *mm, LLVMValueRef begin, LLVMValueRef end, bool small) {
  const Kernel *k = e->k;
  int nb = k->nloops - 1 - (k->mm_m >= 0) - (k->mm_n >= 0);
  Loop loops[IR_MAX_RANK + 1];
  for (int l = 0; l < nb; l++) e->iv[l] = loop_open(e, &loops[l], l ? i64c(e, 0) : begin, l ? e->extent[l] : end, 1);
  unsigned bm = (1u << nb) - 1;
  if (!mm) {
    emit_matmul_one(e, bm, begin, end, small);
  } else {
    LLVMValueRef lo = nb ? i64c(e, 0) : begin, hi = nb ? e->extent[mm->lm] : end;
    emit_packed(e, mm, lo, hi);
    if (has_epilogue(k) && !mm->vec_epi) epilogue_rows(e, bm, lo, hi, i64c(e, 0), e->extent[mm->ln], false);
  }
  for (int l = nb - 1; l >= 0; l--) loop_close(e, &loops[l]);
}

void cg_k_emit_matmul(KEmit *e, LLVMValueRef begin, LLVMValueRef end) {
  Mm mm;
  if (!packed_config(e, &mm)) {
    batch_loops(e, NULL, begin, end, false);
    return;
  }
  LLVMTypeRef ft = LLVMFunctionType(e->g->ptr, &e->g->i64, 1, 0);
  LLVMValueRef fn = LLVMGetNamedFunction(e->g->mod, "texrt_scratch"), arg = i64c(e, scratch_bytes(&mm));
  if (!fn) fn = LLVMAddFunction(e->g->mod, "texrt_scratch", ft);
  LLVMValueRef s = LLVMBuildCall2(e->g->b, ft, fn, &arg, 1, "scratch");
  LLVMBasicBlockRef packed = LLVMAppendBasicBlockInContext(e->g->ctx, e->fn, "packed");
  LLVMBasicBlockRef plain = LLVMAppendBasicBlockInContext(e->g->ctx, e->fn, "plain");
  LLVMBasicBlockRef done = LLVMAppendBasicBlockInContext(e->g->ctx, e->fn, "matmul_done");
  LLVMBuildCondBr(e->g->b, LLVMBuildIsNull(e->g->b, s, ""), plain, packed);
  LLVMPositionBuilderAtEnd(e->g->b, packed);
  int64_t bbytes = ((int64_t)mm.kc * mm.nc * dtype_sizes[mm.t] + 63) / 64 * 64;
  mm.bp = s;
  mm.ap = gep(e, e->g->i8, s, i64c(e, bbytes));
  batch_loops(e, &mm, begin, end, false);
  LLVMBuildBr(e->g->b, done);
  LLVMPositionBuilderAtEnd(e->g->b, plain); /* no scratch memory: the same results, slower */
  batch_loops(e, NULL, begin, end, true);
  LLVMBuildBr(e->g->b, done);
  LLVMPositionBuilderAtEnd(e->g->b, done);
}
