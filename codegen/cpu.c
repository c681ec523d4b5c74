/* cpu.c — kernels -> LLVM IR loop nests for the CPU.
 *
 * Every kernel becomes `void name(ptr ops, ptr syms, i64 begin, i64 end)`:
 * ops holds its operands' data pointers (inputs, then the output: the plan's
 * step says which buffers), syms the bound size symbols, and [begin,
 * end) is the range of the outermost parallel loop (the runtime may split it
 * over threads).  Buffers are compact row-major; an operand's address is
 * sum(iv[l] * lstride[l]) over the loops, with strides computed symbolically
 * so the innermost stride is a literal 1 (or 0) that LLVM vectorises on.
 *
 *   K_MAP     elementwise loops; LLVM's loop vectoriser widens them.
 *   K_REDUCE  explicit <32 x T> accumulation in texc's lane order, then the
 *             fixed tree (codegen.h, TEX_REDUCE_LANES).
 *   K_MATMUL  C[m,n] = fma(A[m,k], B[k,n], C[m,n]) for k ascending (i-k-j
 *             order: the n loop is parallel and vectorises).
 */
#include <string.h>

#include <llvm-c/DebugInfo.h>

#include "codegen.h"

enum { W = TEX_REDUCE_LANES };

/* ---- small helpers ------------------------------------------------------ */

static LLVMValueRef i64c(Cg *cg, int64_t v) { return LLVMConstInt(cg->i64, (unsigned long long)v, 1); }

static LLVMValueRef entry_alloca(Cg *cg, LLVMTypeRef ty, const char *name) {
  LLVMBuilderRef eb = LLVMCreateBuilderInContext(cg->ctx);
  LLVMBasicBlockRef entry = LLVMGetEntryBasicBlock(cg->fn);
  LLVMValueRef first = LLVMGetFirstInstruction(entry);
  if (first)
    LLVMPositionBuilderBefore(eb, first);
  else
    LLVMPositionBuilderAtEnd(eb, entry);
  LLVMValueRef a = LLVMBuildAlloca(eb, ty, name);
  LLVMDisposeBuilder(eb);
  return a;
}

LLVMValueRef cg_emit_dim(Cg *cg, Dim d) {
  int64_t v;
  if (dim_is_lit(d, &v)) return i64c(cg, v);
  LLVMValueRef sum = NULL;
  for (int t = 0; t < d->nterms; t++) {
    LLVMValueRef term = d->terms[t].coef != 1 ? i64c(cg, d->terms[t].coef) : NULL;
    for (int f = 0; f < d->terms[t].nfactors; f++)
      for (int p = 0; p < d->terms[t].factors[f].pow; p++) {
        LLVMValueRef s = cg->sym_val[cg->abi_sym[d->terms[t].factors[f].sym]];
        term = term ? LLVMBuildMul(cg->b, term, s, "") : s;
      }
    sum = sum ? LLVMBuildAdd(cg->b, sum, term, "") : term;
  }
  return sum;
}

/* Elements between consecutive indices of loop l, for an operand. */
static void operand_strides(Cg *cg, const KOperand *o, Dim *lstride) {
  DimTable *t = cg->m->dims;
  Dim stride = dim_lit(t, 1);
  for (int l = 0; l <= IR_MAX_RANK; l++) lstride[l] = dim_lit(t, 0);
  for (int a = o->rank - 1; a >= 0; a--) {
    if (o->loop[a] >= 0) lstride[o->loop[a]] = dim_add(t, lstride[o->loop[a]], stride);
    stride = dim_mul(t, stride, o->shape[a]);
  }
}

/* Pointer to the element of operand slot (inputs, then K_MAX_INPUTS = out)
 * at the current induction variables of the loops in mask. */
static LLVMValueRef address(Cg *cg, int slot, DType t, unsigned loop_mask) {
  LLVMValueRef off = NULL;
  for (int l = 0; l < cg->k->nloops; l++) {
    if (!(loop_mask & (1u << l)) || cg->lstride[slot][l]->nterms == 0) continue; /* stride 0 */
    LLVMValueRef s = cg_emit_dim(cg, cg->lstride[slot][l]);
    LLVMValueRef term = LLVMIsConstant(s) && LLVMConstIntGetSExtValue(s) == 1 ? cg->iv[l] : LLVMBuildMul(cg->b, cg->iv[l], s, "");
    off = off ? LLVMBuildAdd(cg->b, off, term, "") : term;
  }
  LLVMValueRef base = cg->base[slot];
  if (!off) return base;
  return LLVMBuildGEP2(cg->b, cg_mem_type(cg->ctx, t), base, &off, 1, "");
}

static LLVMValueRef load(Cg *cg, LLVMTypeRef ty, LLVMValueRef p, int align) {
  LLVMValueRef v = LLVMBuildLoad2(cg->b, ty, p, "");
  LLVMSetAlignment(v, (unsigned)align);
  return v;
}

static void store(Cg *cg, LLVMValueRef v, LLVMValueRef p, int align) {
  LLVMSetAlignment(LLVMBuildStore(cg->b, v, p), (unsigned)align);
}

/* ---- loops --------------------------------------------------------------- */

typedef struct Loop {
  LLVMBasicBlockRef header, exit;
  LLVMValueRef iv;
  int64_t step;
} Loop;

static LLVMValueRef loop_open(Cg *cg, Loop *l, LLVMValueRef lo, LLVMValueRef hi, int64_t step) {
  LLVMBasicBlockRef pre = LLVMGetInsertBlock(cg->b);
  l->header = LLVMAppendBasicBlockInContext(cg->ctx, cg->fn, "loop");
  LLVMBasicBlockRef body = LLVMAppendBasicBlockInContext(cg->ctx, cg->fn, "body");
  l->exit = LLVMAppendBasicBlockInContext(cg->ctx, cg->fn, "exit");
  l->step = step;
  LLVMBuildBr(cg->b, l->header);
  LLVMPositionBuilderAtEnd(cg->b, l->header);
  l->iv = LLVMBuildPhi(cg->b, cg->i64, "i");
  LLVMAddIncoming(l->iv, &lo, &pre, 1);
  LLVMBuildCondBr(cg->b, LLVMBuildICmp(cg->b, LLVMIntSLT, l->iv, hi, ""), body, l->exit);
  LLVMPositionBuilderAtEnd(cg->b, body);
  return l->iv;
}

/* `!llvm.loop !{self, !{"llvm.loop.unroll.disable"}}`: the loops are
 * vectorised already, and unrolling them again multiplies code size and
 * compile time for no gain on memory-bound kernels. */
static void no_unroll(Cg *cg, LLVMValueRef latch_branch) {
  LLVMMetadataRef self = LLVMTemporaryMDNode(cg->ctx, NULL, 0);
  const char *key = "llvm.loop.unroll.disable";
  LLVMMetadataRef str = LLVMMDStringInContext2(cg->ctx, key, strlen(key));
  LLVMMetadataRef ops[2] = {self, LLVMMDNodeInContext2(cg->ctx, &str, 1)};
  LLVMMetadataRef loop = LLVMMDNodeInContext2(cg->ctx, ops, 2);
  LLVMMetadataReplaceAllUsesWith(self, loop);
  LLVMSetMetadata(latch_branch, LLVMGetMDKindIDInContext(cg->ctx, "llvm.loop", 9), LLVMMetadataAsValue(cg->ctx, loop));
}

static void loop_close(Cg *cg, Loop *l) {
  LLVMValueRef next = LLVMBuildAdd(cg->b, l->iv, i64c(cg, l->step), "");
  LLVMBasicBlockRef latch = LLVMGetInsertBlock(cg->b);
  no_unroll(cg, LLVMBuildBr(cg->b, l->header));
  LLVMAddIncoming(l->iv, &next, &latch, 1);
  LLVMPositionBuilderAtEnd(cg->b, l->exit);
}

/* ---- bodies -------------------------------------------------------------- */

/* How operands are read while evaluating a body. */
typedef struct Access {
  unsigned loop_mask;       /* loops whose ivs address the operands */
  int width;                /* 0: scalar; else vector lanes (reductions) */
  LLVMValueRef flat;        /* vector mode: flat index into the reduced block */
  LLVMValueRef par_off[K_MAX_INPUTS]; /* vector mode: offset of the parallel point */
  bool broadcast[K_MAX_INPUTS];       /* vector mode: operand constant over the block */
  LLVMValueRef acc;                   /* K_MATMUL: the finished accumulator */
} Access;

static LLVMTypeRef vty(Cg *cg, DType t, int width, bool mem) {
  LLVMTypeRef e = mem ? cg_mem_type(cg->ctx, t) : cg_type(cg->ctx, t);
  return width ? LLVMVectorType(e, (unsigned)width) : e;
}

static LLVMValueRef splat(Cg *cg, LLVMValueRef x, int width) {
  if (!width) return x;
  LLVMTypeRef ty = LLVMVectorType(LLVMTypeOf(x), (unsigned)width);
  LLVMValueRef v = LLVMBuildInsertElement(cg->b, LLVMGetPoison(ty), x, LLVMConstInt(cg->i32, 0, 0), "");
  return LLVMBuildShuffleVector(cg->b, v, LLVMGetPoison(ty), LLVMConstNull(LLVMVectorType(cg->i32, (unsigned)width)), "");
}

static LLVMValueRef load_operand(Cg *cg, const KInstr *in, const Access *ac) {
  const KOperand *o = &cg->k->in[in->operand];
  int size = dtype_sizes[o->dtype];
  LLVMTypeRef mt = cg_mem_type(cg->ctx, o->dtype);
  if (!ac->width) return cg_from_mem(cg->b, o->dtype, load(cg, mt, address(cg, in->operand, o->dtype, ac->loop_mask), size));
  LLVMValueRef p = LLVMBuildGEP2(cg->b, mt, cg->base[in->operand], (LLVMValueRef[]){ac->par_off[in->operand]}, 1, "");
  if (ac->broadcast[in->operand]) return splat(cg, cg_from_mem(cg->b, o->dtype, load(cg, mt, p, size)), ac->width);
  p = LLVMBuildGEP2(cg->b, mt, p, (LLVMValueRef[]){ac->flat}, 1, "");
  return cg_from_mem(cg->b, o->dtype, load(cg, vty(cg, o->dtype, ac->width, true), p, size));
}

static LLVMValueRef immediate(Cg *cg, const KInstr *in, int width) {
  LLVMTypeRef ty = vty(cg, in->dtype, width, false);
  if (in->op == OP_CONST) return dtype_is_float(in->dtype) ? cg_const_real(ty, in->f) : cg_const_int(ty, in->i);
  LLVMValueRef d = cg_emit_dim(cg, in->dim);
  LLVMTypeRef st = cg_type(cg->ctx, in->dtype);
  d = dtype_is_float(in->dtype) ? LLVMBuildSIToFP(cg->b, d, st, "") : LLVMBuildTrunc(cg->b, d, st, "");
  return splat(cg, d, width);
}

/* Evaluates the kernel body; returns the value of its last instruction. */
static LLVMValueRef eval_body(Cg *cg, const Access *ac) {
  const Kernel *k = cg->k;
  LLVMValueRef *v = tex_calloc((size_t)k->nbody, sizeof(LLVMValueRef));
  for (int i = 0; i < k->nbody; i++) {
    const KInstr *in = &k->body[i];
    if (in->op == OP_PARAM) {
      v[i] = load_operand(cg, in, ac);
    } else if (in->op == OP_MATMUL) {
      v[i] = ac->acc;
    } else if (in->op == OP_CONST || in->op == OP_DIMSIZE) {
      v[i] = immediate(cg, in, ac->width);
    } else {
      LLVMValueRef args[3];
      for (int a = 0; a < op_info[in->op].arity; a++) args[a] = v[in->args[a]];
      DType arg_t = k->body[in->args[in->op == OP_SELECT ? 1 : 0]].dtype;
      v[i] = cg_op(cg->b, in->op, in->dtype, arg_t, args);
    }
  }
  LLVMValueRef r = v[k->nbody - 1];
  tex_free(v);
  return r;
}

static void store_out(Cg *cg, LLVMValueRef v, unsigned loop_mask) {
  DType t = cg->k->out.dtype;
  store(cg, cg_to_mem(cg->b, t, v), address(cg, K_MAX_INPUTS, t, loop_mask), dtype_sizes[t]);
}

/* ---- K_MAP ---------------------------------------------------------------- */

static void emit_map(Cg *cg, LLVMValueRef begin, LLVMValueRef end) {
  const Kernel *k = cg->k;
  Loop loops[IR_MAX_RANK + 1];
  for (int l = 0; l < k->nloops; l++)
    cg->iv[l] = loop_open(cg, &loops[l], l ? i64c(cg, 0) : begin, l ? cg->extent[l] : end, 1);
  unsigned all = (1u << k->nloops) - 1;
  Access ac = {.loop_mask = all};
  store_out(cg, eval_body(cg, &ac), all);
  for (int l = k->nloops - 1; l >= 0; l--) loop_close(cg, &loops[l]);
}

/* ---- K_REDUCE -------------------------------------------------------------- */

static LLVMValueRef combine(Cg *cg, LLVMValueRef a, LLVMValueRef b) {
  LLVMValueRef args[2] = {a, b};
  return cg_op(cg->b, cg->k->combiner, cg->k->out.dtype, cg->k->out.dtype, args);
}

/* The fixed tree: lane j combines with lane j + w, w = 16, 8, ..., 1. */
static LLVMValueRef lane_tree(Cg *cg, LLVMValueRef v) {
  for (int w = W / 2; w >= 1; w /= 2) {
    LLVMValueRef lo[W / 2], hi[W / 2];
    for (int j = 0; j < w; j++) {
      lo[j] = LLVMConstInt(cg->i32, (unsigned long long)j, 0);
      hi[j] = LLVMConstInt(cg->i32, (unsigned long long)(j + w), 0);
    }
    LLVMValueRef a = LLVMBuildShuffleVector(cg->b, v, LLVMGetPoison(LLVMTypeOf(v)), LLVMConstVector(lo, (unsigned)w), "");
    LLVMValueRef b = LLVMBuildShuffleVector(cg->b, v, LLVMGetPoison(LLVMTypeOf(v)), LLVMConstVector(hi, (unsigned)w), "");
    v = combine(cg, a, b);
  }
  return LLVMBuildExtractElement(cg->b, v, LLVMConstInt(cg->i32, 0, 0), "");
}

/* True if every input walks the reduction loops as one contiguous block (or
 * not at all), so the reduction can load W consecutive elements at once. */
static bool flat_reduction(Cg *cg, int npar) {
  const Kernel *k = cg->k;
  DimTable *t = cg->m->dims;
  for (int o = 0; o < k->ninputs; o++) {
    bool zero = true;
    for (int l = npar; l < k->nloops; l++) zero = zero && cg->lstride[o][l] == dim_lit(t, 0);
    if (zero) continue;
    Dim expect = dim_lit(t, 1);
    for (int l = k->nloops - 1; l >= npar; l--) {
      if (cg->lstride[o][l] != expect) return false;
      expect = dim_mul(t, expect, k->extent[l]);
    }
  }
  return true;
}

/* Scalar accumulation of one element into lane `lane` of the accumulator. */
static void accumulate_lane(Cg *cg, LLVMValueRef acc, LLVMValueRef lane, LLVMValueRef v) {
  LLVMTypeRef et = cg_type(cg->ctx, cg->k->out.dtype);
  LLVMValueRef p = LLVMBuildGEP2(cg->b, et, acc, &lane, 1, "");
  store(cg, combine(cg, load(cg, et, p, 1), v), p, 1);
}

static void reduce_flat(Cg *cg, int npar, LLVMValueRef acc, LLVMValueRef count) {
  const Kernel *k = cg->k;
  DType t = k->out.dtype;
  LLVMTypeRef vt = vty(cg, t, W, false);
  unsigned par_mask = (1u << npar) - 1;
  Access vec = {.loop_mask = par_mask, .width = W};
  for (int o = 0; o < k->ninputs; o++) {
    bool zero = true;
    for (int l = npar; l < k->nloops; l++) zero = zero && cg->lstride[o][l] == dim_lit(cg->m->dims, 0);
    vec.broadcast[o] = zero;
    LLVMValueRef base = cg->base[o];
    cg->base[o] = LLVMConstNull(cg->ptr); /* address() then yields the offset as a pointer */
    LLVMValueRef p = address(cg, o, k->in[o].dtype, par_mask);
    cg->base[o] = base;
    vec.par_off[o] = LLVMBuildSDiv(cg->b, LLVMBuildPtrToInt(cg->b, p, cg->i64, ""), i64c(cg, dtype_sizes[k->in[o].dtype]), "");
  }
  LLVMValueRef full = LLVMBuildAnd(cg->b, count, i64c(cg, ~(int64_t)(W - 1)), "");
  Loop main;
  vec.flat = loop_open(cg, &main, i64c(cg, 0), full, W);
  store(cg, combine(cg, load(cg, vt, acc, 1), eval_body(cg, &vec)), acc, 1);
  loop_close(cg, &main);
  Loop tail;
  LLVMValueRef lane = loop_open(cg, &tail, i64c(cg, 0), LLVMBuildSub(cg->b, count, full, ""), 1);
  Access sc = vec;
  sc.width = 1;
  sc.flat = LLVMBuildAdd(cg->b, full, lane, "");
  LLVMValueRef v = LLVMBuildExtractElement(cg->b, eval_body(cg, &sc), LLVMConstInt(cg->i32, 0, 0), "");
  accumulate_lane(cg, acc, lane, v);
  loop_close(cg, &tail);
}

/* Any access pattern: element c of the reduction goes to lane c mod W. */
static void reduce_general(Cg *cg, int npar, LLVMValueRef acc) {
  const Kernel *k = cg->k;
  LLVMValueRef counter = entry_alloca(cg, cg->i64, "c");
  store(cg, i64c(cg, 0), counter, 8);
  Loop loops[IR_MAX_RANK + 1];
  for (int l = npar; l < k->nloops; l++) cg->iv[l] = loop_open(cg, &loops[l], i64c(cg, 0), cg->extent[l], 1);
  Access ac = {.loop_mask = (1u << k->nloops) - 1};
  LLVMValueRef v = eval_body(cg, &ac);
  LLVMValueRef c = load(cg, cg->i64, counter, 8);
  accumulate_lane(cg, acc, LLVMBuildAnd(cg->b, c, i64c(cg, W - 1), ""), v);
  store(cg, LLVMBuildAdd(cg->b, c, i64c(cg, 1), ""), counter, 8);
  for (int l = k->nloops - 1; l >= npar; l--) loop_close(cg, &loops[l]);
}

static void emit_reduce(Cg *cg, LLVMValueRef begin, LLVMValueRef end) {
  const Kernel *k = cg->k;
  DType t = k->out.dtype;
  LLVMTypeRef vt = vty(cg, t, W, false);
  int npar = 0;
  while (npar < k->nloops && !k->reduce[npar]) npar++;
  bool flat = flat_reduction(cg, npar);
  LLVMValueRef count = i64c(cg, 1);
  for (int l = npar; l < k->nloops; l++) count = LLVMBuildMul(cg->b, count, cg->extent[l], "");
  LLVMValueRef acc = entry_alloca(cg, vt, "acc");
  Loop loops[IR_MAX_RANK + 1];
  for (int l = 0; l < npar; l++) cg->iv[l] = loop_open(cg, &loops[l], l ? i64c(cg, 0) : begin, l ? cg->extent[l] : end, 1);
  store(cg, cg_identity(vt, k->combiner, t), acc, 1);
  if (flat)
    reduce_flat(cg, npar, acc, count);
  else
    reduce_general(cg, npar, acc);
  LLVMValueRef r = lane_tree(cg, load(cg, vt, acc, 1));
  if (k->combiner == OP_ADD && dtype_is_float(t)) /* an empty sum is +0.0 */
    r = LLVMBuildSelect(cg->b, LLVMBuildICmp(cg->b, LLVMIntEQ, count, i64c(cg, 0), ""), cg_const_real(LLVMTypeOf(r), 0.0), r, "");
  store_out(cg, r, (1u << npar) - 1);
  for (int l = npar - 1; l >= 0; l--) loop_close(cg, &loops[l]);
}

/* ---- K_MATMUL -------------------------------------------------------------- */

static LLVMValueRef multiply_add(Cg *cg, DType t, LLVMValueRef a, LLVMValueRef b, LLVMValueRef c) {
  if (!dtype_is_float(t)) return LLVMBuildAdd(cg->b, LLVMBuildMul(cg->b, a, b, ""), c, "");
  LLVMValueRef args[3] = {a, b, c};
  LLVMTypeRef ty = LLVMTypeOf(a);
  return cg_intrinsic(cg->b, "llvm.fma", &ty, 1, args, 3);
}

/* A matmul whose body is more than the accumulator has an epilogue. */
static bool has_epilogue(const Kernel *k) { return k->nbody > 1; }

static void emit_matmul(Cg *cg, LLVMValueRef begin, LLVMValueRef end) {
  const Kernel *k = cg->k;
  DType t = k->out.dtype;
  LLVMTypeRef et = cg_type(cg->ctx, t);
  int lm = k->mm_m, ln = k->mm_n, lk = k->mm_k;
  unsigned m = lm >= 0 ? 1u << lm : 0, n = ln >= 0 ? 1u << ln : 0, kk = 1u << lk;
  LLVMValueRef zero = dtype_is_float(t) ? LLVMConstReal(et, 0.0) : LLVMConstInt(et, 0, 0);
  Access ac = {0};
  Loop lmo, lno, lko;
  if (lm >= 0) cg->iv[lm] = loop_open(cg, &lmo, begin, end, 1);
  if (ln >= 0) {
    /* i-k-j: zero the row of C, then C[m,:] += A[m,k] * B[k,:] for k ascending */
    LLVMValueRef lo = lm >= 0 ? i64c(cg, 0) : begin, hi = lm >= 0 ? cg->extent[ln] : end;
    cg->iv[ln] = loop_open(cg, &lno, lo, hi, 1);
    store_out(cg, zero, m | n);
    loop_close(cg, &lno);
    cg->iv[lk] = loop_open(cg, &lko, i64c(cg, 0), cg->extent[lk], 1);
    ac.loop_mask = m | kk;
    LLVMValueRef a = load_operand(cg, &(KInstr){.op = OP_PARAM, .operand = 0}, &ac);
    cg->iv[ln] = loop_open(cg, &lno, lo, hi, 1);
    ac.loop_mask = kk | n;
    LLVMValueRef b = load_operand(cg, &(KInstr){.op = OP_PARAM, .operand = 1}, &ac);
    LLVMValueRef cp = address(cg, K_MAX_INPUTS, t, m | n);
    store(cg, multiply_add(cg, t, a, b, load(cg, et, cp, dtype_sizes[t])), cp, dtype_sizes[t]);
    loop_close(cg, &lno);
    loop_close(cg, &lko);
    if (has_epilogue(k)) { /* the finished row, still in cache: out = epilogue(acc) */
      cg->iv[ln] = loop_open(cg, &lno, lo, hi, 1);
      LLVMValueRef op = address(cg, K_MAX_INPUTS, t, m | n);
      Access epi = {.loop_mask = m | n, .acc = load(cg, et, op, dtype_sizes[t])};
      store(cg, cg_to_mem(cg->b, t, eval_body(cg, &epi)), op, dtype_sizes[t]);
      loop_close(cg, &lno);
    }
  } else {
    /* matrix-vector or dot: one accumulator per output element */
    LLVMValueRef acc = entry_alloca(cg, et, "acc");
    store(cg, zero, acc, dtype_sizes[t]);
    cg->iv[lk] = loop_open(cg, &lko, i64c(cg, 0), cg->extent[lk], 1);
    ac.loop_mask = m | kk;
    LLVMValueRef a = load_operand(cg, &(KInstr){.op = OP_PARAM, .operand = 0}, &ac);
    LLVMValueRef b = load_operand(cg, &(KInstr){.op = OP_PARAM, .operand = 1}, &ac);
    store(cg, multiply_add(cg, t, a, b, load(cg, et, acc, dtype_sizes[t])), acc, dtype_sizes[t]);
    loop_close(cg, &lko);
    Access epi = {.loop_mask = m, .acc = load(cg, et, acc, dtype_sizes[t])};
    store_out(cg, eval_body(cg, &epi), m);
  }
  if (lm >= 0) loop_close(cg, &lmo);
}

/* ---- the kernel function ---------------------------------------------------- */

static void add_attr(Cg *cg, LLVMValueRef fn, unsigned index, const char *name) {
  unsigned kind = LLVMGetEnumAttributeKindForName(name, strlen(name));
  LLVMAddAttributeAtIndex(fn, index, LLVMCreateEnumAttribute(cg->ctx, kind, 0));
}

/* The body takes one `noalias` pointer per operand: memory planning
 * guarantees that an output shares memory with no input, so LLVM needs no
 * runtime alias checks before vectorising.  The exception is an in-place
 * kernel's output and the input it overwrites: those two are not noalias,
 * and the entry function passes them the same pointer value, so LLVM sees
 * that each element is loaded and then stored at the same address.  The
 * body is inlined into the entry function. */
static LLVMValueRef emit_body_function(Cg *cg, const Kernel *k) {
  int nptr = k->ninputs + 1;
  LLVMTypeRef params[K_MAX_INPUTS + 4];
  for (int i = 0; i < nptr; i++) params[i] = cg->ptr;
  params[nptr] = cg->ptr, params[nptr + 1] = cg->i64, params[nptr + 2] = cg->i64;
  char name[256];
  snprintf(name, sizeof name, "%s.body", k->name);
  LLVMValueRef fn = LLVMAddFunction(cg->mod, name, LLVMFunctionType(cg->voidt, params, (unsigned)nptr + 3, 0));
  LLVMSetLinkage(fn, LLVMInternalLinkage);
  add_attr(cg, fn, LLVMAttributeFunctionIndex, "alwaysinline");
  for (int i = 0; i < nptr; i++)
    if (k->inplace < 0 || (i != k->inplace && i != k->ninputs)) add_attr(cg, fn, (unsigned)i + 1, "noalias");
  cg->fn = fn;
  cg->k = k;
  LLVMPositionBuilderAtEnd(cg->b, LLVMAppendBasicBlockInContext(cg->ctx, fn, "entry"));
  LLVMValueRef syms = LLVMGetParam(fn, (unsigned)nptr);
  for (int s = 0; s < cg->p->nsyms; s++) {
    LLVMValueRef p = LLVMBuildGEP2(cg->b, cg->i64, syms, (LLVMValueRef[]){i64c(cg, s)}, 1, "");
    cg->sym_val[s] = load(cg, cg->i64, p, 8);
  }
  for (int o = 0; o < nptr; o++) {
    int slot = o < k->ninputs ? o : K_MAX_INPUTS;
    cg->base[slot] = LLVMGetParam(fn, (unsigned)o);
    operand_strides(cg, o < k->ninputs ? &k->in[o] : &k->out, cg->lstride[slot]);
  }
  for (int l = 0; l < k->nloops; l++) cg->extent[l] = cg_emit_dim(cg, k->extent[l]);
  LLVMValueRef begin = LLVMGetParam(fn, (unsigned)nptr + 1), end = LLVMGetParam(fn, (unsigned)nptr + 2);
  switch (k->kind) {
  case K_MAP: emit_map(cg, begin, end); break;
  case K_REDUCE: emit_reduce(cg, begin, end); break;
  case K_MATMUL: emit_matmul(cg, begin, end); break;
  }
  LLVMBuildRetVoid(cg->b);
  return fn;
}

LLVMValueRef cg_emit_kernel(Cg *cg, const Kernel *k) {
  LLVMValueRef body = emit_body_function(cg, k);
  LLVMTypeRef params[4] = {cg->ptr, cg->ptr, cg->i64, cg->i64};
  LLVMValueRef fn = LLVMAddFunction(cg->mod, k->name, LLVMFunctionType(cg->voidt, params, 4, 0));
  LLVMSetLinkage(fn, LLVMInternalLinkage);
  LLVMPositionBuilderAtEnd(cg->b, LLVMAppendBasicBlockInContext(cg->ctx, fn, "entry"));
  LLVMValueRef args[K_MAX_INPUTS + 4], ops = LLVMGetParam(fn, 0);
  int nptr = k->ninputs + 1;
  for (int o = 0; o < nptr; o++) { /* operands in kernel order: inputs, then the output */
    LLVMValueRef p = LLVMBuildGEP2(cg->b, cg->ptr, ops, (LLVMValueRef[]){i64c(cg, o)}, 1, "");
    args[o] = load(cg, cg->ptr, p, 8);
  }
  if (k->inplace >= 0) args[k->ninputs] = args[k->inplace];
  args[nptr] = LLVMGetParam(fn, 1), args[nptr + 1] = LLVMGetParam(fn, 2), args[nptr + 2] = LLVMGetParam(fn, 3);
  LLVMBuildCall2(cg->b, LLVMGlobalGetValueType(body), body, args, (unsigned)nptr + 3, "");
  LLVMBuildRetVoid(cg->b);
  return fn;
}
