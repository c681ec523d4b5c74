/* reduce_rows.c — K_REDUCE along the innermost reduced loop, W elements at
 * a time, in the lane order of lang/reference.md (rules 2 and 4), bitwise
 * the same as cpu.c's reduce_general.  Built on cpu.c's vector evaluation of
 * a body along a loop (wide_classify, wide_eval) and its accumulators. */
#include "cpu_impl.h"

enum { W = TEX_REDUCE_LANES, BLK = TEX_REDUCE_BLOCK, BLK_LOG2 = 12 };

/* ---- K_REDUCE along the innermost reduced loop ---------------------------------
 * reduce_general combines one element at a time.  When the body can be
 * evaluated W elements at a time along the innermost reduced loop lr (every
 * value uniform, affine or a contiguous load along it: wide_classify with lp
 * = lr), a row of lr is taken in chunks of W consecutive elements and a
 * tail (loads masked, missing lanes the identity).  Element c of the
 * flattened reduction belongs to lane c mod W, so a chunk starting at c
 * fills lanes f, f + 1, ... (mod W), f = c mod W, each at most once: the
 * lanes are kept rotated by f (A[j] is lane (f + j) mod W), a chunk is
 * combined into A as it is, and after a tail of len elements A turns by len
 * (a constant shuffle when the row's extent is a literal).  Every lane still
 * combines its elements in increasing c (rule 2): the bits of
 * reduce_general.  A block boundary (rule 4, a multiple of W) falls where
 * the lanes wrap, at chunk position W - f: such a chunk is combined in two
 * parts with the block's fold between (the lanes turned back through
 * memory: once per block). */
enum { ROWS_MIN = 8 }; /* shorter rows: reduce_general */

bool use_rows(KEmit *e, int npar, Wide *w) {
  const Kernel *k = e->k;
  int64_t v;
  int lr = k->nloops - 1;
  if (kernel_indexed(k) || lr < npar || (dim_is_lit(k->extent[lr], &v) && v < ROWS_MIN)) return false;
  w->lp = lr, w->np = W, w->mask = NULL;
  return wide_classify(e, w);
}

static LLVMValueRef lane_iota(KEmit *e) {
  LLVMValueRef iota[W];
  for (int j = 0; j < W; j++) iota[j] = i64c(e, j);
  return LLVMConstVector(iota, W);
}

/* x turned down by k lanes (lane j holds x[(j + k) mod W]): a shuffle for a
 * literal k, else through buf (x stored twice, read back from k). */
static LLVMValueRef rows_turn(KEmit *e, DType t, LLVMValueRef buf, LLVMValueRef x, LLVMValueRef k) {
  LLVMBuilderRef B = e->g->b;
  if (LLVMIsConstant(k)) {
    int64_t n = LLVMConstIntGetSExtValue(k) & (W - 1);
    LLVMValueRef m[W];
    for (int j = 0; j < W; j++) m[j] = LLVMConstInt(e->g->i32, (unsigned long long)((j + n) & (W - 1)), 0);
    return n ? LLVMBuildShuffleVector(B, x, LLVMGetPoison(LLVMTypeOf(x)), LLVMConstVector(m, W), "") : x;
  }
  LLVMTypeRef mt = cg_mem_type(e->g->ctx, t), vt = vty(e, t, W, true);
  LLVMValueRef xm = cg_to_mem(B, t, x);
  store(e, xm, buf, dtype_sizes[t]);
  store(e, xm, LLVMBuildGEP2(B, mt, buf, (LLVMValueRef[]){i64c(e, W)}, 1, ""), dtype_sizes[t]);
  LLVMValueRef p = LLVMBuildGEP2(B, mt, buf, (LLVMValueRef[]){LLVMBuildAnd(B, k, i64c(e, W - 1), "")}, 1, "");
  return cg_from_mem(B, t, load(e, vt, p, dtype_sizes[t]));
}

typedef struct Rows {
  Acc lanes, outer;    /* A (rotated by c mod W), and the blocks' lanes */
  LLVMValueRef buf, c; /* rows_turn's memory; the element counter */
  bool blocked;
} Rows;

/* A's lanes in order (lane i is A[(i - f) mod W]). */
static LLVMValueRef rows_lanes(KEmit *e, const Rows *r, LLVMValueRef f) {
  LLVMValueRef back = LLVMBuildSub(e->g->b, i64c(e, W), f, "");
  return rows_turn(e, r->lanes.t, r->buf, acc_load(e, &r->lanes, W, false), back);
}

/* A (+)= x where sel holds. */
static void rows_add(KEmit *e, const Rows *r, LLVMValueRef x, LLVMValueRef sel) {
  DType t = r->lanes.t;
  if (sel) x = LLVMBuildSelect(e->g->b, sel, x, cg_identity(vty(e, t, W, false), e->k->combiner, t), "");
  LLVMValueRef a = acc_load(e, &r->lanes, W, false);
  combine(e, t, &a, NULL, x, NULL);
  acc_store(e, &r->lanes, a, NULL);
}

/* A chunk of len elements x (missing lanes the identity) at counter c. */
static void rows_chunk(KEmit *e, const Rows *r, LLVMValueRef x, LLVMValueRef len) {
  LLVMBuilderRef B = e->g->b;
  LLVMValueRef c = load(e, e->g->i64, r->c, 8), f = LLVMBuildAnd(B, c, i64c(e, W - 1), "");
  store(e, LLVMBuildAdd(B, c, len, ""), r->c, 8);
  if (!r->blocked) {
    rows_add(e, r, x, NULL);
    return;
  }
  LLVMValueRef edge = LLVMBuildAdd(B, LLVMBuildSub(B, c, f, ""), i64c(e, W), ""); /* where the lanes wrap */
  LLVMValueRef at_block = LLVMBuildICmp(B, LLVMIntEQ, LLVMBuildAnd(B, edge, i64c(e, BLK - 1), ""), i64c(e, 0), "");
  LLVMValueRef reaches = LLVMBuildICmp(B, LLVMIntSGE, LLVMBuildAdd(B, c, len, ""), edge, "");
  LLVMBasicBlockRef split = LLVMAppendBasicBlockInContext(e->g->ctx, e->fn, "rows_split"),
                    whole = LLVMAppendBasicBlockInContext(e->g->ctx, e->fn, "rows_whole"),
                    join = LLVMAppendBasicBlockInContext(e->g->ctx, e->fn, "rows_done");
  LLVMBuildCondBr(B, LLVMBuildAnd(B, at_block, reaches, ""), split, whole);
  LLVMPositionBuilderAtEnd(B, whole);
  rows_add(e, r, x, NULL);
  LLVMBuildBr(B, join);
  LLVMPositionBuilderAtEnd(B, split);
  LLVMValueRef before = LLVMBuildICmp(B, LLVMIntSLT, lane_iota(e), splat(e, LLVMBuildSub(B, i64c(e, W), f, ""), W), "");
  rows_add(e, r, x, before);
  Acc tmp = {.val = r->lanes.val, .t = r->lanes.t}; /* the lanes in order, for fold_block */
  acc_store(e, &tmp, rows_lanes(e, r, f), NULL);
  fold_block(e, &tmp, &r->outer, LLVMBuildSub(B, LLVMBuildLShr(B, edge, i64c(e, BLK_LOG2), ""), i64c(e, 1), ""));
  rows_add(e, r, x, LLVMBuildNot(B, before, ""));
  LLVMBuildBr(B, join);
  LLVMPositionBuilderAtEnd(B, join);
}

/* The body at iv[lr] .. + len - 1 (mask: lanes < len, or NULL: W lanes). */
static LLVMValueRef rows_eval(KEmit *e, Wide *w, LLVMValueRef len) {
  DType t = e->k->body[e->k->nbody - 1].dtype;
  w->mask = len ? LLVMBuildICmp(e->g->b, LLVMIntSLT, lane_iota(e), splat(e, len, W), "") : NULL;
  LLVMValueRef x = wide_eval(e, w);
  if (w->mask) x = LLVMBuildSelect(e->g->b, w->mask, x, cg_identity(vty(e, t, W, false), e->k->combiner, t), "");
  w->mask = NULL;
  return x;
}

void reduce_rows(KEmit *e, int npar, Wide *w, const Acc *acc, bool blocked) {
  const Kernel *k = e->k;
  LLVMBuilderRef B = e->g->b;
  DType t = acc->t;
  int lr = k->nloops - 1;
  /* A is only ever loaded and stored whole: it lives in registers */
  Rows r = {.lanes = {.val = entry_alloca(e, vty(e, t, W, true), "rlanes"), .t = t},
            .buf = entry_alloca(e, LLVMArrayType(cg_mem_type(e->g->ctx, t), 2 * W), "rot"),
            .c = entry_alloca(e, e->g->i64, "c"),
            .blocked = blocked};
  if (blocked) r.outer = outer_lanes(e, acc);
  acc_store(e, &r.lanes, cg_identity(vty(e, t, W, false), k->combiner, t), NULL);
  store(e, i64c(e, 0), r.c, 8);
  Loop loops[IR_MAX_RANK + 1], chunk;
  for (int l = npar; l < lr; l++) e->iv[l] = loop_open(e, &loops[l], i64c(e, 0), e->extent[l], 1);
  LLVMValueRef n = e->extent[lr], full = LLVMBuildAnd(B, n, i64c(e, ~(int64_t)(W - 1)), "");
  LLVMValueRef tail = LLVMBuildSub(B, n, full, "");
  e->iv[lr] = loop_open(e, &chunk, i64c(e, 0), full, W);
  rows_chunk(e, &r, rows_eval(e, w, NULL), i64c(e, W));
  loop_close(e, &chunk);
  if (!LLVMIsConstant(tail) || LLVMConstIntGetSExtValue(tail)) {
    LLVMBasicBlockRef go = LLVMAppendBasicBlockInContext(e->g->ctx, e->fn, "rows_tail"),
                      done = LLVMAppendBasicBlockInContext(e->g->ctx, e->fn, "rows_tail_done");
    LLVMBuildCondBr(B, LLVMBuildICmp(B, LLVMIntSGT, tail, i64c(e, 0), ""), go, done);
    LLVMPositionBuilderAtEnd(B, go);
    e->iv[lr] = full;
    rows_chunk(e, &r, rows_eval(e, w, tail), tail);
    acc_store(e, &r.lanes, rows_turn(e, t, r.buf, acc_load(e, &r.lanes, W, false), tail), NULL);
    LLVMBuildBr(B, done);
    LLVMPositionBuilderAtEnd(B, done);
  }
  for (int l = lr - 1; l >= npar; l--) loop_close(e, &loops[l]);
  LLVMValueRef c = load(e, e->g->i64, r.c, 8), f = LLVMBuildAnd(B, c, i64c(e, W - 1), "");
  acc_store(e, &r.lanes, rows_lanes(e, &r, f), NULL);
  if (blocked) { /* the last, partial block */
    LLVMBasicBlockRef fold = LLVMAppendBasicBlockInContext(e->g->ctx, e->fn, "fold"),
                      done = LLVMAppendBasicBlockInContext(e->g->ctx, e->fn, "done");
    LLVMBuildCondBr(B, LLVMBuildICmp(B, LLVMIntNE, LLVMBuildAnd(B, c, i64c(e, BLK - 1), ""), i64c(e, 0), ""), fold, done);
    LLVMPositionBuilderAtEnd(B, fold);
    fold_block(e, &r.lanes, &r.outer, LLVMBuildLShr(B, c, i64c(e, BLK_LOG2), ""));
    LLVMBuildBr(B, done);
    LLVMPositionBuilderAtEnd(B, done);
    acc_store(e, &r.lanes, acc_load(e, &r.outer, W, false), NULL);
  }
  acc_store(e, acc, acc_load(e, &r.lanes, W, false), NULL);
}
