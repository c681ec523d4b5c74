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
 * C are masked to the rows and columns that exist.
 *
 * All of that is one function per module and (dtype, vector width), the
 * GEMM driver, which each packed kernel calls with its sizes, strides and
 * pointers per batch point: emitted per kernel, its ~600 machine
 * instructions made compile time grow 2.6x on bench/mlp.tex's gradient.
 * An epilogue (bias, activation: the kernel body) made of loads contiguous
 * or constant along n and elementwise ops runs in a small function of the
 * kernel's that the driver calls on each finished tile, still in L1;
 * other epilogues run over the finished rows after the driver returns.
 *
 * The panels live in texrt_scratch (runtime/scratch.c): per-thread memory
 * kept between calls.  If it cannot be had, the driver runs plain i-k-j
 * loops instead (same order, slow).
 *
 * The plain path (integers, vector operands, a C with n stride 0): i-k-j
 * loops, whose n loop LLVM vectorises; matrix-vector products run R_MV rows
 * at a time, each with its own accumulator (independent fma chains). */
#include <llvm-c/DebugInfo.h>
#include <stdio.h>
#include <string.h>

#include "cpu_impl.h"

/* Register tile and cache blocks of the packed path. */
typedef struct Mm {
  DType t;
  LLVMTypeRef et, vt, mt;     /* element, <vl x element>, <vl x i1> */
  int vl, vb, mr, nr, kc, nc; /* vb: bytes per vector; nc: a multiple of nr * vl */
  /* the kernel's side */
  int lm, ln, lk, nb;             /* nb batch loops, bm: their mask */
  unsigned bm;
  bool vec_epi;                   /* an epilogue on vectors along n */
  LLVMValueRef scratch, driver, epi, ctx;
  /* the driver's side */
  LLVMValueRef ap, bp; /* the packed A panel and B block */
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

/* True if the epilogue can run on vectors along n: loads contiguous or
 * constant along n, immediates and elementwise ops, nothing checked. */
static bool vector_epilogue(KEmit *e, int ln) {
  const Kernel *k = e->k;
  for (int i = 0; i < k->nbody; i++) {
    const KInstr *in = &k->body[i];
    if (in->check || in->pred1) return false;
    if (in->op == OP_PARAM) {
      Dim s = e->lstride[in->operand][ln];
      if (s->nterms && !lit_is(s, 1)) return false;
    } else if (in->op != OP_MATMUL && in->op != OP_CONST && in->op != OP_DIMSIZE &&
               (in->op >= OP_COUNT || !(op_info[in->op].flags & F_ELEM))) {
      return false;
    }
  }
  return true;
}

/* The register tile and cache blocks of dtype t (f32 or f64) on g's target. */
static void gemm_config(Cg *g, DType t, Mm *mm) {
  int vb = g->vec_bytes ? g->vec_bytes : 16, size = dtype_sizes[t];
  mm->t = t;
  mm->et = cg_type(g->ctx, t);
  mm->vl = vb / size;
  mm->vb = vb;
  mm->vt = LLVMVectorType(mm->et, (unsigned)mm->vl);
  mm->mt = LLVMVectorType(LLVMInt1TypeInContext(g->ctx), (unsigned)mm->vl);
  mm->mr = vb == 64 ? 8 : 6; /* 32 zmm registers: 24 accumulators; 16 ymm/xmm: 12 */
  mm->nr = vb == 64 ? 3 : 2;
  mm->kc = 256;
  int nrv = mm->nr * mm->vl;
  mm->nc = (512 * 1024 / (mm->kc * size)) / nrv * nrv; /* the B block: half of a 1 MiB L2 */
}

/* Fills mm and returns true if the kernel takes the packed path. */
static bool packed_config(KEmit *e, Mm *mm) {
  const Kernel *k = e->k;
  DType t = k->out.dtype;
  if ((t != DT_F32 && t != DT_F64) || k->mm_m < 0 || k->mm_n < 0) return false;
  if (k->in[0].dtype != t || k->in[1].dtype != t || k->in[0].gathered || k->in[1].gathered || k->out.gathered) return false;
  if (!lit_is(e->lstride[K_MAX_INPUTS][k->mm_n], 1)) return false;
  *mm = (Mm){0};
  gemm_config(e->g, t, mm);
  mm->lm = k->mm_m, mm->ln = k->mm_n, mm->lk = k->mm_k;
  mm->nb = k->nloops - 3;
  mm->bm = (1u << mm->nb) - 1;
  mm->vec_epi = vector_epilogue(e, mm->ln);
  return true;
}

static int64_t b_bytes(const Mm *mm) { return ((int64_t)mm->kc * mm->nc * dtype_sizes[mm->t] + 63) / 64 * 64; }
static int64_t scratch_bytes(const Mm *mm) { return b_bytes(mm) + (int64_t)mm->mr * mm->kc * dtype_sizes[mm->t]; }

/* Closes loop l with metadata that keeps LLVM from vectorising or
 * unrolling it: packing loops that scatter or pad (a vectorised version is
 * no faster and costs compile time). */
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

/* The lanes [0, n) of a <vl x i1> for 0 <= n <= vl. */
static LLVMValueRef count_mask(KEmit *e, const Mm *mm, LLVMValueRef n) {
  LLVMBuilderRef B = e->g->b;
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

/* ---- the GEMM driver: once per module and (dtype, vector width) ------------------ *
 *
 * Every packed matmul kernel of a module calls one internal function that
 * holds the blocked loops, the packing and the register tile, with sizes,
 * strides and pointers as arguments: the machine code of a tile is some 600
 * instructions, and emitting it per kernel made compile time grow with the
 * number of matmuls (bench/mlp.tex with its gradient: 22 of them). */

enum { G_A, G_SAM, G_SAK, G_B, G_SBK, G_SBN, G_C, G_SCM, G_M, G_N, G_K, G_SCRATCH, G_CARRY, G_EPI, G_CTX, G_NPARAMS };

/* void driver(A, A's m and k strides, B, B's k and n strides, C (n stride
 * 1), C's m stride, M, N, K, scratch, carry, epilogue, ctx): C[M,N] =
 * A[M,K] B[K,N] from +0.0, or from C's own values if carry (the same fma
 * order as k ascending over both products); then epilogue(ctx, i0, rows,
 * j0, cols) on every finished tile of C, unless it is NULL. */
static LLVMTypeRef driver_type(Cg *g) {
  LLVMTypeRef p = g->ptr, i = g->i64, b = LLVMInt1TypeInContext(g->ctx);
  LLVMTypeRef params[G_NPARAMS] = {p, i, i, p, i, i, p, i, i, i, i, p, b, p, p};
  return LLVMFunctionType(g->voidt, params, G_NPARAMS, 0);
}

static LLVMTypeRef epilogue_type(Cg *g) {
  LLVMTypeRef params[5] = {g->ptr, g->i64, g->i64, g->i64, g->i64};
  return LLVMFunctionType(g->voidt, params, 5, 0);
}

/* dst[p*w + j] = src[p*sp + j*sj] for p < kc, j < cols: p outer, j inner
 * (vectorised: contiguous when sj is the constant 1), or j outer. */
static void pack_copy(KEmit *d, const Mm *mm, LLVMValueRef dst, LLVMValueRef src, LLVMValueRef sp, LLVMValueRef sj, LLVMValueRef kc,
                      LLVMValueRef cols, int w, bool p_inner) {
  Loop outer, inner;
  LLVMValueRef p, j;
  if (p_inner) {
    j = loop_open(d, &outer, i64c(d, 0), cols, 1);
    p = loop_open(d, &inner, i64c(d, 0), kc, 1);
  } else {
    p = loop_open(d, &outer, i64c(d, 0), kc, 1);
    j = loop_open(d, &inner, i64c(d, 0), cols, 1);
  }
  LLVMValueRef x = load(d, mm->et, gep(d, mm->et, src, add(d, mul(d, p, sp), mul(d, j, sj))), dtype_sizes[mm->t]);
  store(d, x, gep(d, mm->et, dst, add(d, mul(d, p, i64c(d, w)), j)), dtype_sizes[mm->t]);
  if (!LLVMIsConstant(sj) || p_inner)
    loop_close_scalar(d, &inner); /* strided on one side */
  else
    loop_close(d, &inner);
  loop_close(d, &outer);
}

/* One panel of w columns and kc rows, row p at dst + p*w: panel element
 * (p, j) is src[p*sp + j*sj] for j < cols, and 0 for cols <= j < w.  The
 * loop over the operand's contiguous axis is the inner one. */
static void pack_panel(KEmit *d, const Mm *mm, LLVMValueRef dst, LLVMValueRef src, LLVMValueRef sp, LLVMValueRef sj, LLVMValueRef kc,
                       LLVMValueRef cols, int w) {
  LLVMBuilderRef B = d->g->b;
  LLVMBasicBlockRef bb[4], join = LLVMAppendBasicBlockInContext(d->g->ctx, d->fn, "packed");
  for (int i = 0; i < 4; i++) bb[i] = LLVMAppendBasicBlockInContext(d->g->ctx, d->fn, "pack");
  LLVMValueRef one = i64c(d, 1);
  LLVMBuildCondBr(B, LLVMBuildICmp(B, LLVMIntEQ, sj, one, ""), bb[0], bb[1]);
  LLVMPositionBuilderAtEnd(B, bb[1]);
  LLVMBuildCondBr(B, LLVMBuildICmp(B, LLVMIntEQ, sp, one, ""), bb[2], bb[3]);
  for (int i = 0; i < 4; i++) {
    if (i == 1) continue;
    LLVMPositionBuilderAtEnd(B, bb[i]);
    pack_copy(d, mm, dst, src, sp, i == 0 ? one : sj, kc, cols, w, i == 2);
    LLVMBuildBr(B, join);
  }
  LLVMPositionBuilderAtEnd(B, join);
  Loop outer, inner; /* the padding: columns [cols, w) of every row */
  LLVMValueRef p = loop_open(d, &outer, i64c(d, 0), kc, 1);
  LLVMValueRef j = loop_open(d, &inner, cols, i64c(d, w), 1);
  store(d, LLVMConstNull(mm->et), gep(d, mm->et, dst, add(d, mul(d, p, i64c(d, w)), j)), dtype_sizes[mm->t]);
  loop_close_scalar(d, &inner);
  loop_close(d, &outer);
}

/* The B block (kc rows, nc columns at b) as panels of nr*vl columns, panel q
 * at bp + q*kc*nr*vl. */
static void pack_b(KEmit *d, const Mm *mm, LLVMValueRef b, LLVMValueRef sk, LLVMValueRef sn, LLVMValueRef kc, LLVMValueRef nc) {
  int nrv = mm->nr * mm->vl;
  Loop q;
  LLVMValueRef j0 = loop_open(d, &q, i64c(d, 0), nc, nrv);
  LLVMValueRef dst = gep(d, mm->et, mm->bp, mul(d, j0, kc)); /* j0 = q * nrv */
  pack_panel(d, mm, dst, gep(d, mm->et, b, mul(d, j0, sn)), sk, sn, kc, smin(d, i64c(d, nrv), sub(d, nc, j0)), nrv);
  loop_close(d, &q);
}

/* One MR x NR-vector tile of C: rows [0, rows) and columns [0, cols) from
 * c (of which the first nr*vl are the tile's), its B panel at bp. */
typedef struct Tile {
  LLVMValueRef bp, kc, c, scm, rows, cols, first;
  LLVMValueRef arow[8], astep; /* A[r, p] at arow[r] + p * astep */
  LLVMValueRef acc[8][4];  /* allocas: promoted to registers */
  LLVMValueRef mask[8][4]; /* the lanes inside C */
} Tile;

/* Address of vector j in row r of the tile in C. */
static LLVMValueRef tile_c(KEmit *d, const Mm *mm, const Tile *tl, int r, int j) {
  return gep(d, mm->et, tl->c, add(d, mul(d, i64c(d, r), tl->scm), i64c(d, (int64_t)j * mm->vl)));
}

/* The accumulators: +0.0 in the first k block, else the partial C. */
static void tile_init(KEmit *d, const Mm *mm, Tile *tl) {
  LLVMBuilderRef B = d->g->b;
  LLVMValueRef later = splat(d, LLVMBuildNot(B, tl->first, ""), mm->vl);
  for (int r = 0; r < mm->mr; r++)
    for (int j = 0; j < mm->nr; j++) {
      tl->acc[r][j] = entry_alloca(d, mm->vt, "acc");
      /* min(cols - j*vl, vl) lanes, none past the last row */
      LLVMValueRef n = smin(d, sub(d, tl->cols, i64c(d, (int64_t)j * mm->vl)), i64c(d, mm->vl));
      n = LLVMBuildSelect(B, LLVMBuildICmp(B, LLVMIntSLT, i64c(d, r), tl->rows, ""), n, i64c(d, 0), "");
      n = LLVMBuildSelect(B, LLVMBuildICmp(B, LLVMIntSLT, n, i64c(d, 0), ""), i64c(d, 0), n, "");
      tl->mask[r][j] = count_mask(d, mm, n);
      LLVMValueRef m = LLVMBuildAnd(B, tl->mask[r][j], later, "");
      store(d, masked_load(d, mm->vt, tile_c(d, mm, tl, r, j), dtype_sizes[mm->t], m), tl->acc[r][j], mm->vb);
    }
}

/* kc steps of acc[r][j] = fma(A[r,p], B[p,j], acc[r][j]). */
static void tile_loop(KEmit *d, const Mm *mm, const Tile *tl) {
  int nrv = mm->nr * mm->vl, vb = mm->vb;
  Loop kl;
  LLVMValueRef p = loop_open(d, &kl, i64c(d, 0), tl->kc, 1), b[4];
  for (int j = 0; j < mm->nr; j++)
    b[j] = load(d, mm->vt, gep(d, mm->et, tl->bp, add(d, mul(d, p, i64c(d, nrv)), i64c(d, (int64_t)j * mm->vl))), vb);
  for (int r = 0; r < mm->mr; r++) {
    LLVMValueRef a = load(d, mm->et, gep(d, mm->et, tl->arow[r], mul(d, p, tl->astep)), dtype_sizes[mm->t]);
    a = splat(d, a, mm->vl);
    for (int j = 0; j < mm->nr; j++)
      store(d, multiply_add(d, mm->t, a, b[j], load(d, mm->vt, tl->acc[r][j], mm->vb)), tl->acc[r][j], mm->vb);
  }
  loop_close(d, &kl);
}

static void tile_store(KEmit *d, const Mm *mm, const Tile *tl) {
  for (int r = 0; r < mm->mr; r++)
    for (int j = 0; j < mm->nr; j++)
      masked_store(d, load(d, mm->vt, tl->acc[r][j], mm->vb), tile_c(d, mm, tl, r, j), dtype_sizes[mm->t], tl->mask[r][j]);
}

/* epilogue(ctx, i0, rows, j0, cols) if this is the last k block and there
 * is an epilogue. */
static void call_epilogue(KEmit *d, const LLVMValueRef *P, LLVMValueRef last, LLVMValueRef *args) {
  LLVMBuilderRef B = d->g->b;
  LLVMBasicBlockRef call = LLVMAppendBasicBlockInContext(d->g->ctx, d->fn, "epilogue");
  LLVMBasicBlockRef next = LLVMAppendBasicBlockInContext(d->g->ctx, d->fn, "tile_done");
  LLVMBuildCondBr(B, LLVMBuildAnd(B, last, LLVMBuildIsNotNull(B, P[G_EPI], ""), ""), call, next);
  LLVMPositionBuilderAtEnd(B, call);
  args[0] = P[G_CTX];
  LLVMBuildCall2(B, epilogue_type(d->g), P[G_EPI], args, 5, "");
  LLVMBuildBr(B, next);
  LLVMPositionBuilderAtEnd(B, next);
}

/* Where the tile reads A: rows [ir, ir+rows) from k = pc.  With k
 * contiguous (A's k stride 1) straight from A, row r at A[ir + r, pc..]
 * (a row past the end reads the last row; its results are masked off):
 * the MR row segments stay in L1 across the tiles of the row, and packing
 * cost as much as 15% of sgemm time.  Otherwise through the packed panel,
 * row r at ap + r, step mr. */
static void a_panel(KEmit *d, const Mm *mm, const LLVMValueRef *P, LLVMValueRef ir, LLVMValueRef pc, Tile *tl) {
  LLVMBuilderRef B = d->g->b;
  LLVMValueRef direct = LLVMBuildICmp(B, LLVMIntEQ, P[G_SAK], i64c(d, 1), "");
  LLVMBasicBlockRef pack = LLVMAppendBasicBlockInContext(d->g->ctx, d->fn, "pack_a");
  LLVMBasicBlockRef done = LLVMAppendBasicBlockInContext(d->g->ctx, d->fn, "a_ready");
  LLVMValueRef a = gep(d, mm->et, P[G_A], add(d, mul(d, ir, P[G_SAM]), mul(d, pc, P[G_SAK])));
  LLVMBuildCondBr(B, direct, done, pack);
  LLVMPositionBuilderAtEnd(B, pack);
  pack_panel(d, mm, mm->ap, a, P[G_SAK], P[G_SAM], tl->kc, tl->rows, mm->mr);
  LLVMBuildBr(B, done);
  LLVMPositionBuilderAtEnd(B, done);
  tl->astep = LLVMBuildSelect(B, direct, i64c(d, 1), i64c(d, mm->mr), "");
  LLVMValueRef last = sub(d, tl->rows, i64c(d, 1));
  for (int r = 0; r < mm->mr; r++) {
    LLVMValueRef row = gep(d, mm->et, a, mul(d, smin(d, i64c(d, r), last), P[G_SAM]));
    tl->arow[r] = LLVMBuildSelect(B, direct, row, gep(d, mm->et, mm->ap, i64c(d, r)), "");
  }
}

/* The BLIS loop nest (see the top of the file) over the driver's arguments P. */
static void driver_loops(KEmit *d, const Mm *mm, const LLVMValueRef *P) {
  LLVMBuilderRef B = d->g->b;
  LLVMValueRef N = P[G_N], K = P[G_K], kcv = i64c(d, mm->kc);
  int nrv = mm->nr * mm->vl;
  LLVMValueRef kblocks = LLVMBuildSDiv(B, add(d, K, i64c(d, mm->kc - 1)), kcv, "");
  kblocks = LLVMBuildSelect(B, LLVMBuildICmp(B, LLVMIntSGT, K, i64c(d, 0), ""), kblocks, i64c(d, 1), ""); /* K = 0: one empty block */
  Loop jcl, pbl, irl, jrl;
  LLVMValueRef jc = loop_open(d, &jcl, i64c(d, 0), N, mm->nc);
  LLVMValueRef nc = smin(d, i64c(d, mm->nc), sub(d, N, jc));
  LLVMValueRef pb = loop_open(d, &pbl, i64c(d, 0), kblocks, 1);
  LLVMValueRef pc = mul(d, pb, kcv), kc = smin(d, kcv, sub(d, K, pc));
  Tile tl = {.kc = kc, .scm = P[G_SCM]};
  tl.first = LLVMBuildAnd(B, LLVMBuildICmp(B, LLVMIntEQ, pb, i64c(d, 0), ""), LLVMBuildNot(B, P[G_CARRY], ""), "");
  LLVMValueRef last = LLVMBuildICmp(B, LLVMIntEQ, pb, sub(d, kblocks, i64c(d, 1)), "");
  pack_b(d, mm, gep(d, mm->et, P[G_B], add(d, mul(d, pc, P[G_SBK]), mul(d, jc, P[G_SBN]))), P[G_SBK], P[G_SBN], kc, nc);
  LLVMValueRef ir = loop_open(d, &irl, i64c(d, 0), P[G_M], mm->mr);
  tl.rows = smin(d, i64c(d, mm->mr), sub(d, P[G_M], ir));
  a_panel(d, mm, P, ir, pc, &tl);
  LLVMValueRef jr = loop_open(d, &jrl, i64c(d, 0), nc, nrv);
  LLVMValueRef col0 = add(d, jc, jr);
  tl.bp = gep(d, mm->et, mm->bp, mul(d, jr, kc));
  tl.c = gep(d, mm->et, P[G_C], add(d, mul(d, ir, P[G_SCM]), col0));
  tl.cols = sub(d, nc, jr);
  tile_init(d, mm, &tl);
  tile_loop(d, mm, &tl);
  tile_store(d, mm, &tl);
  call_epilogue(d, P, last, (LLVMValueRef[]){NULL, ir, tl.rows, col0, smin(d, tl.cols, i64c(d, nrv))});
  loop_close(d, &jrl);
  loop_close(d, &irl);
  loop_close(d, &pbl);
  loop_close(d, &jcl);
}

/* Without scratch memory: i-k-j loops, the same fma order, only correct. */
static void driver_plain(KEmit *d, const Mm *mm, const LLVMValueRef *P) {
  LLVMBuilderRef B = d->g->b;
  int size = dtype_sizes[mm->t];
  Loop il, jl, pl;
  LLVMValueRef i = loop_open(d, &il, i64c(d, 0), P[G_M], 1), row = gep(d, mm->et, P[G_C], mul(d, i, P[G_SCM]));
  LLVMValueRef j = loop_open(d, &jl, i64c(d, 0), P[G_N], 1), cp = gep(d, mm->et, row, j);
  store(d, LLVMBuildSelect(B, P[G_CARRY], load(d, mm->et, cp, size), LLVMConstNull(mm->et), ""), cp, size);
  loop_close_scalar(d, &jl);
  LLVMValueRef p = loop_open(d, &pl, i64c(d, 0), P[G_K], 1);
  LLVMValueRef a = load(d, mm->et, gep(d, mm->et, P[G_A], add(d, mul(d, i, P[G_SAM]), mul(d, p, P[G_SAK]))), size);
  j = loop_open(d, &jl, i64c(d, 0), P[G_N], 1), cp = gep(d, mm->et, row, j);
  LLVMValueRef b = load(d, mm->et, gep(d, mm->et, P[G_B], add(d, mul(d, p, P[G_SBK]), mul(d, j, P[G_SBN]))), size);
  store(d, multiply_add(d, mm->t, a, b, load(d, mm->et, cp, size)), cp, size);
  loop_close_scalar(d, &jl);
  loop_close_scalar(d, &pl);
  call_epilogue(d, P, LLVMConstInt(LLVMInt1TypeInContext(d->g->ctx), 1, 0), (LLVMValueRef[]){NULL, i, i64c(d, 1), i64c(d, 0), P[G_N]});
  loop_close_scalar(d, &il);
}

static void add_fn_attr(Cg *g, LLVMValueRef fn, unsigned index, const char *name) {
  unsigned kind = LLVMGetEnumAttributeKindForName(name, strlen(name));
  LLVMAddAttributeAtIndex(fn, index, LLVMCreateEnumAttribute(g->ctx, kind, 0));
}

/* The driver for dtype t on h's target, defined in h's module. */
static LLVMValueRef emit_driver(Cg *h, DType t, const char *name) {
  LLVMValueRef fn = LLVMAddFunction(h->mod, name, driver_type(h));
  LLVMSetLinkage(fn, LLVMInternalLinkage);
  add_fn_attr(h, fn, LLVMAttributeFunctionIndex, "noinline");
  add_fn_attr(h, fn, LLVMAttributeFunctionIndex, "noduplicate");
  add_fn_attr(h, fn, LLVMAttributeFunctionIndex, "nounwind");
  /* A, B and the scratch: noalias (C is not: the epilogue writes it) */
  for (int i = 0; i < 3; i++) add_fn_attr(h, fn, (unsigned)(i == 0 ? G_A : i == 1 ? G_B : G_SCRATCH) + 1, "noalias");
  LLVMBasicBlockRef saved = LLVMGetInsertBlock(h->b);
  KEmit d = {.g = h, .fn = fn};
  Mm mm = {0};
  gemm_config(h, t, &mm);
  LLVMPositionBuilderAtEnd(h->b, LLVMAppendBasicBlockInContext(h->ctx, fn, "entry"));
  LLVMValueRef P[G_NPARAMS];
  for (int i = 0; i < G_NPARAMS; i++) P[i] = LLVMGetParam(fn, (unsigned)i);
  mm.bp = P[G_SCRATCH];
  mm.ap = gep(&d, h->i8, mm.bp, i64c(&d, b_bytes(&mm)));
  LLVMBasicBlockRef packed = LLVMAppendBasicBlockInContext(h->ctx, fn, "packed");
  LLVMBasicBlockRef plain = LLVMAppendBasicBlockInContext(h->ctx, fn, "plain");
  LLVMBuildCondBr(h->b, LLVMBuildIsNull(h->b, mm.bp, ""), plain, packed);
  LLVMPositionBuilderAtEnd(h->b, packed);
  driver_loops(&d, &mm, P);
  LLVMBuildRetVoid(h->b);
  LLVMPositionBuilderAtEnd(h->b, plain); /* no scratch memory: the same results, slower */
  driver_plain(&d, &mm, P);
  LLVMBuildRetVoid(h->b);
  if (saved) LLVMPositionBuilderAtEnd(h->b, saved);
  return fn;
}

/* The driver for mm's dtype and vector width, emitted on first use into the
 * module that holds shared functions (g->home: one copy when the kernels
 * are split over two modules; the other declares it, hidden).  noinline
 * keeps one copy; noduplicate keeps -O3's function specialisation (IPSCCP)
 * from cloning it per constant argument. */
static LLVMValueRef gemm_driver(KEmit *e, const Mm *cfg) {
  Cg *h = e->g->home ? e->g->home : e->g;
  char name[64];
  snprintf(name, sizeof name, "texc.gemm.%s.x%d", dtype_names[cfg->t], cfg->vl);
  LLVMValueRef fn = LLVMGetNamedFunction(e->g->mod, name), def;
  if (fn) return fn;
  if (!(def = LLVMGetNamedFunction(h->mod, name))) def = emit_driver(h, cfg->t, name);
  if (h == e->g) return def;
  LLVMSetLinkage(def, LLVMExternalLinkage);
  LLVMSetVisibility(def, LLVMHiddenVisibility);
  fn = LLVMAddFunction(e->g->mod, name, driver_type(e->g));
  LLVMSetVisibility(fn, LLVMHiddenVisibility);
  return fn;
}

/* ---- the kernel's side of the packed path ------------------------------------------ *
 *
 * An epilogue (bias, activation: the rest of the kernel body) made of loads
 * contiguous or constant along n and elementwise ops runs in a small
 * function of the kernel's own that the driver calls on each finished tile,
 * still in L1, as masked vectors along n.  The alternative, a copy of the
 * register tile per kernel with the epilogue applied before its store, is
 * the per-kernel code that the driver exists to remove; the call and the
 * tile's round trip through L1 measured within noise at K = 64 and 256 and
 * about 10% at K = 16 (relu(a @ b + c), 512 x K x 512, f32).
 * Other epilogues run over the finished rows after the driver returns.
 *
 * The epilogue's context (ctx) is an array of 8-byte slots: the operands'
 * bases (inputs, then the output), the symbols, the driver's first row,
 * then the batch loops' counters. */

/* The epilogue function of the kernel: fn(ctx, i0, rows, j0, cols). */
static LLVMValueRef epilogue_fn(KEmit *e, const Mm *mm) {
  const Kernel *k = e->k;
  int nptr = k->ninputs + 1;
  char name[256];
  snprintf(name, sizeof name, "%s.epilogue", k->name);
  LLVMValueRef fn = LLVMAddFunction(e->g->mod, name, epilogue_type(e->g));
  LLVMSetLinkage(fn, LLVMInternalLinkage);
  LLVMBasicBlockRef saved = LLVMGetInsertBlock(e->g->b);
  KEmit x = {.g = e->g};
  LLVMPositionBuilderAtEnd(e->g->b, LLVMAppendBasicBlockInContext(e->g->ctx, fn, "entry"));
  LLVMValueRef ctx = LLVMGetParam(fn, 0), ops[K_MAX_INPUTS + 1], slot[K_MAX_INPUTS + 3 + IR_MAX_RANK];
  for (int s = 0; s < nptr + 2 + mm->nb; s++) {
    LLVMValueRef p = gep(e, e->g->i64, ctx, i64c(e, s));
    slot[s] = load(e, s <= nptr ? e->g->ptr : e->g->i64, p, 8);
  }
  for (int o = 0; o < nptr; o++) ops[o] = slot[o];
  kemit_init(&x, k, fn, ops, slot[nptr], NULL); /* NULL: a vector epilogue has no checks */
  for (int l = 0; l < mm->nb; l++) x.iv[l] = slot[nptr + 2 + l];
  LLVMValueRef i0 = add(e, LLVMGetParam(fn, 1), slot[nptr + 1]), j0 = LLVMGetParam(fn, 3);
  Loop rl, cl;
  x.iv[mm->lm] = loop_open(&x, &rl, i0, add(e, i0, LLVMGetParam(fn, 2)), 1);
  LLVMValueRef j1 = add(e, j0, LLVMGetParam(fn, 4));
  x.iv[mm->ln] = loop_open(&x, &cl, j0, j1, mm->vl);
  LLVMValueRef mask = count_mask(&x, mm, smin(&x, sub(&x, j1, x.iv[mm->ln]), i64c(&x, mm->vl)));
  unsigned all = mm->bm | 1u << mm->lm | 1u << mm->ln;
  LLVMValueRef cp = address(&x, K_MAX_INPUTS, mm->t, all);
  Access ac = {.loop_mask = all, .width = mm->vl, .flat = i64c(&x, 0), .mask = mask};
  ac.acc = masked_load(&x, mm->vt, cp, dtype_sizes[mm->t], mask);
  for (int o = 0; o < k->ninputs; o++) {
    ac.broadcast[o] = x.lstride[o][mm->ln]->nterms == 0;
    ac.par_off[o] = offset(&x, o, all);
  }
  masked_store(&x, cg_to_mem(e->g->b, mm->t, eval_body(&x, &ac)), cp, dtype_sizes[mm->t], mask);
  loop_close(&x, &cl);
  loop_close(&x, &rl);
  LLVMBuildRetVoid(e->g->b);
  kemit_fini(&x);
  LLVMPositionBuilderAtEnd(e->g->b, saved);
  return fn;
}

/* The epilogue's context, filled with what does not change between calls. */
static LLVMValueRef epilogue_ctx(KEmit *e, const Mm *mm) {
  int nptr = e->k->ninputs + 1;
  LLVMValueRef ctx = entry_alloca(e, LLVMArrayType2(e->g->i64, (uint64_t)(nptr + 2 + mm->nb)), "epilogue_ctx");
  for (int o = 0; o < nptr; o++) store(e, e->base[o < e->k->ninputs ? o : K_MAX_INPUTS], gep(e, e->g->i64, ctx, i64c(e, o)), 8);
  store(e, e->syms, gep(e, e->g->i64, ctx, i64c(e, nptr)), 8);
  return ctx;
}

/* C rows [lo, hi) at the current batch point: one call of the driver. */
static void emit_packed(KEmit *e, const Mm *mm, LLVMValueRef lo, LLVMValueRef hi) {
  int nptr = e->k->ninputs + 1;
  unsigned bm = mm->bm, m = 1u << mm->lm;
  e->iv[mm->lm] = lo;
  if (mm->ctx) {
    store(e, lo, gep(e, e->g->i64, mm->ctx, i64c(e, nptr + 1)), 8);
    for (int l = 0; l < mm->nb; l++) store(e, e->iv[l], gep(e, e->g->i64, mm->ctx, i64c(e, nptr + 2 + l)), 8);
  }
  LLVMValueRef null = LLVMConstNull(e->g->ptr), args[G_NPARAMS] = {
                                                    [G_A] = gep(e, mm->et, e->base[0], offset(e, 0, bm | m)),
                                                    [G_SAM] = emit_dim(e, e->lstride[0][mm->lm]),
                                                    [G_SAK] = emit_dim(e, e->lstride[0][mm->lk]),
                                                    [G_B] = gep(e, mm->et, e->base[1], offset(e, 1, bm)),
                                                    [G_SBK] = emit_dim(e, e->lstride[1][mm->lk]),
                                                    [G_SBN] = emit_dim(e, e->lstride[1][mm->ln]),
                                                    [G_C] = gep(e, mm->et, e->base[K_MAX_INPUTS], offset(e, K_MAX_INPUTS, bm | m)),
                                                    [G_SCM] = emit_dim(e, e->lstride[K_MAX_INPUTS][mm->lm]),
                                                    [G_M] = sub(e, hi, lo),
                                                    [G_N] = e->extent[mm->ln],
                                                    [G_K] = e->extent[mm->lk],
                                                    [G_SCRATCH] = mm->scratch,
                                                    [G_CARRY] = LLVMConstInt(LLVMInt1TypeInContext(e->g->ctx), 0, 0),
                                                    [G_EPI] = mm->epi ? mm->epi : null,
                                                    [G_CTX] = mm->ctx ? mm->ctx : null,
                                                };
  LLVMBuildCall2(e->g->b, driver_type(e->g), mm->driver, args, G_NPARAMS, "");
}

/* ---- the plain path ------------------------------------------------------------------- */

/* The finished rows [lo, hi) of C through the epilogue, element by element
 * (an epilogue the tile cannot apply). */
static void epilogue_rows(KEmit *e, unsigned bm, LLVMValueRef mlo, LLVMValueRef mhi, LLVMValueRef nlo, LLVMValueRef nhi) {
  DType t = e->k->out.dtype;
  int lm = e->k->mm_m, ln = e->k->mm_n;
  unsigned mask = (lm >= 0 ? 1u << lm : 0) | bm | 1u << ln;
  Loop lmo, lno;
  if (mlo) e->iv[lm] = loop_open(e, &lmo, mlo, mhi, 1);
  e->iv[ln] = loop_open(e, &lno, nlo, nhi, 1);
  LLVMValueRef op = address(e, K_MAX_INPUTS, t, mask);
  Access epi = {.loop_mask = mask, .acc = load(e, cg_type(e->g->ctx, t), op, dtype_sizes[t])};
  store(e, cg_to_mem(e->g->b, t, eval_body(e, &epi)), op, dtype_sizes[t]);
  loop_close(e, &lno);
  if (mlo) loop_close(e, &lmo);
}

/* Matrix-vector rows [lo, hi) (or all rows, at a batch point): R_MV rows at
 * a time, one accumulator each, k ascending; then the rows left. */
static void emit_matvec(KEmit *e, unsigned bm, LLVMValueRef lo, LLVMValueRef hi) {
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
    loop_close(e, &lko);
    for (int r = 0; r < R; r++) {
      e->iv[lm] = add(e, m0, i64c(e, r));
      Access epi = {.loop_mask = m, .acc = load(e, et, acc[r], size)};
      store_out(e, eval_body(e, &epi), m);
    }
    loop_close(e, pass ? &rest : &group);
  }
}

/* One matrix product C[m,n] (or C[n], C) at the current batch indices (the
 * loops in bm); the first of m and n that exists runs over [begin, end)
 * when there are no batch loops. */
static void emit_matmul_one(KEmit *e, unsigned bm, LLVMValueRef begin, LLVMValueRef end) {
  const Kernel *k = e->k;
  DType t = k->out.dtype;
  LLVMTypeRef et = cg_type(e->g->ctx, t);
  int lm = k->mm_m, ln = k->mm_n, lk = k->mm_k;
  unsigned m = (lm >= 0 ? 1u << lm : 0) | bm, n = ln >= 0 ? 1u << ln : 0, kk = 1u << lk;
  LLVMValueRef zero = dtype_is_float(t) ? LLVMConstReal(et, 0.0) : LLVMConstInt(et, 0, 0);
  Access ac = {0};
  Loop lmo, lno, lko;
  if (lm >= 0 && ln < 0) return emit_matvec(e, bm, bm ? i64c(e, 0) : begin, bm ? e->extent[lm] : end);
  if (lm >= 0) e->iv[lm] = loop_open(e, &lmo, bm ? i64c(e, 0) : begin, bm ? e->extent[lm] : end, 1);
  if (ln >= 0) {
    /* i-k-j: zero the row of C, then C[m,:] += A[m,k] * B[k,:] for k ascending */
    bool outer = lm >= 0 || bm;
    LLVMValueRef lo = outer ? i64c(e, 0) : begin, hi = outer ? e->extent[ln] : end;
    e->iv[ln] = loop_open(e, &lno, lo, hi, 1);
    store_out(e, zero, m | n);
    loop_close(e, &lno);
    e->iv[lk] = loop_open(e, &lko, i64c(e, 0), e->extent[lk], 1);
    ac.loop_mask = m | kk;
    LLVMValueRef a = load_operand(e, &(KInstr){.op = OP_PARAM, .operand = 0}, &ac);
    e->iv[ln] = loop_open(e, &lno, lo, hi, 1);
    ac.loop_mask = bm | kk | n;
    LLVMValueRef b = load_operand(e, &(KInstr){.op = OP_PARAM, .operand = 1}, &ac);
    LLVMValueRef cp = address(e, K_MAX_INPUTS, t, m | n);
    store(e, multiply_add(e, t, a, b, load(e, et, cp, dtype_sizes[t])), cp, dtype_sizes[t]);
    loop_close(e, &lno);
    loop_close(e, &lko);
    if (has_epilogue(k)) epilogue_rows(e, bm, NULL, NULL, lo, hi); /* the finished row, still in cache */
  } else {
    /* a dot product: one accumulator */
    LLVMValueRef acc = entry_alloca(e, et, "acc");
    store(e, zero, acc, dtype_sizes[t]);
    e->iv[lk] = loop_open(e, &lko, i64c(e, 0), e->extent[lk], 1);
    ac.loop_mask = m | kk;
    LLVMValueRef a = load_operand(e, &(KInstr){.op = OP_PARAM, .operand = 0}, &ac);
    LLVMValueRef b = load_operand(e, &(KInstr){.op = OP_PARAM, .operand = 1}, &ac);
    store(e, multiply_add(e, t, a, b, load(e, et, acc, dtype_sizes[t])), acc, dtype_sizes[t]);
    loop_close(e, &lko);
    Access epi = {.loop_mask = m, .acc = load(e, et, acc, dtype_sizes[t])};
    store_out(e, eval_body(e, &epi), m);
  }
  if (lm >= 0) loop_close(e, &lmo);
}

/* ---- the kernel --------------------------------------------------------------------- */

/* The batch loops (all loops before m, n and k; the first over [begin,
 * end)), then one product per batch point: packed (mm) or plain. */
static void batch_loops(KEmit *e, const Mm *mm, LLVMValueRef begin, LLVMValueRef end) {
  const Kernel *k = e->k;
  int nb = k->nloops - 1 - (k->mm_m >= 0) - (k->mm_n >= 0);
  Loop loops[IR_MAX_RANK + 1];
  for (int l = 0; l < nb; l++) e->iv[l] = loop_open(e, &loops[l], l ? i64c(e, 0) : begin, l ? e->extent[l] : end, 1);
  unsigned bm = (1u << nb) - 1;
  if (!mm) {
    emit_matmul_one(e, bm, begin, end);
  } else {
    LLVMValueRef lo = nb ? i64c(e, 0) : begin, hi = nb ? e->extent[mm->lm] : end;
    emit_packed(e, mm, lo, hi);
    if (has_epilogue(k) && !mm->vec_epi) epilogue_rows(e, bm, lo, hi, i64c(e, 0), e->extent[mm->ln]);
  }
  for (int l = nb - 1; l >= 0; l--) loop_close(e, &loops[l]);
}

void cg_k_emit_matmul(KEmit *e, LLVMValueRef begin, LLVMValueRef end) {
  Mm mm;
  if (!packed_config(e, &mm)) {
    batch_loops(e, NULL, begin, end);
    return;
  }
  LLVMTypeRef ft = LLVMFunctionType(e->g->ptr, &e->g->i64, 1, 0);
  LLVMValueRef fn = LLVMGetNamedFunction(e->g->mod, "texrt_scratch"), arg = i64c(e, scratch_bytes(&mm));
  if (!fn) fn = LLVMAddFunction(e->g->mod, "texrt_scratch", ft);
  mm.scratch = LLVMBuildCall2(e->g->b, ft, fn, &arg, 1, "scratch"); /* NULL: the driver's plain loops */
  mm.driver = gemm_driver(e, &mm);
  if (has_epilogue(e->k) && mm.vec_epi) {
    mm.epi = epilogue_fn(e, &mm);
    mm.ctx = epilogue_ctx(e, &mm);
  }
  batch_loops(e, &mm, begin, end);
}
