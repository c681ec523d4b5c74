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
 *   K_MAP     elementwise loops; LLVM's loop vectoriser widens them.  A
 *             one-kernel loop (seq_trip) runs its T steps inside them.
 *   K_REDUCE  explicit <32 x T> accumulation in texc's lane order, then the
 *             fixed tree (codegen.h, TEX_REDUCE_LANES).
 *   K_MATMUL  C[m,n] = fma(A[m,k], B[k,n], acc) for k ascending: packed
 *             panels and a register tile, or plain loops (matmul.c).
 *   K_SCAN    the parallel loops, then the scan loop with a scalar running
 *             sum stored at every point.
 */
#include <string.h>

#include <llvm-c/DebugInfo.h>

#include "cpu_impl.h"

enum { W = TEX_REDUCE_LANES };

/* ---- small helpers ------------------------------------------------------ */

LLVMValueRef entry_alloca(KEmit *e, LLVMTypeRef ty, const char *name) {
  LLVMBuilderRef eb = LLVMCreateBuilderInContext(e->g->ctx);
  LLVMBasicBlockRef entry = LLVMGetEntryBasicBlock(e->fn);
  LLVMValueRef first = LLVMGetFirstInstruction(entry);
  if (first)
    LLVMPositionBuilderBefore(eb, first);
  else
    LLVMPositionBuilderAtEnd(eb, entry);
  LLVMValueRef a = LLVMBuildAlloca(eb, ty, name);
  LLVMDisposeBuilder(eb);
  return a;
}

/* The value of symbol sym: bound by an argument, or derived (num // den,
 * floor division) and computed from its definition. */
static LLVMValueRef emit_symbol(KEmit *e, int sym) {
  Dim num;
  int64_t den;
  if (!dim_derived(e->g->m->dims, sym, &num, &den)) return e->sym_val[e->g->abi_sym[sym]];
  LLVMBuilderRef B = e->g->b;
  LLVMValueRef a = emit_dim(e, num), c = i64c(e, den), q = LLVMBuildSDiv(B, a, c, "");
  LLVMValueRef neg = LLVMBuildAnd(B, LLVMBuildICmp(B, LLVMIntSLT, a, i64c(e, 0), ""),
                                  LLVMBuildICmp(B, LLVMIntNE, LLVMBuildSRem(B, a, c, ""), i64c(e, 0), ""), "");
  return LLVMBuildSub(B, q, LLVMBuildZExt(B, neg, e->g->i64, ""), "");
}

LLVMValueRef emit_dim(KEmit *e, Dim d) {
  int64_t v;
  if (dim_is_lit(d, &v)) return i64c(e, v);
  LLVMValueRef sum = NULL;
  for (int t = 0; t < d->nterms; t++) {
    LLVMValueRef term = d->terms[t].coef != 1 || d->terms[t].nfactors == 0 ? i64c(e, d->terms[t].coef) : NULL;
    for (int f = 0; f < d->terms[t].nfactors; f++)
      for (int p = 0; p < d->terms[t].factors[f].pow; p++) {
        LLVMValueRef s = emit_symbol(e, d->terms[t].factors[f].sym);
        term = term ? LLVMBuildMul(e->g->b, term, s, "") : s;
      }
    sum = sum ? LLVMBuildAdd(e->g->b, sum, term, "") : term;
  }
  return sum;
}

/* Elements between consecutive indices of loop l, for an operand. */
static void operand_strides(KEmit *e, const KOperand *o, Dim *lstride) {
  DimTable *t = e->g->m->dims;
  Dim stride = dim_lit(t, 1);
  for (int l = 0; l <= IR_MAX_RANK; l++) lstride[l] = dim_lit(t, 0);
  for (int a = o->rank - 1; a >= 0 && !o->gathered; a--) {
    if (o->loop[a] >= 0) lstride[o->loop[a]] = dim_add(t, lstride[o->loop[a]], stride);
    stride = dim_mul(t, stride, o->shape[a]);
  }
}

/* Pointer to the element of operand slot (inputs, then K_MAX_INPUTS = out)
 * at the current induction variables of the loops in mask. */
LLVMValueRef address(KEmit *e, int slot, DType t, unsigned loop_mask) {
  LLVMValueRef off = NULL;
  for (int l = 0; l < e->k->nloops; l++) {
    if (!(loop_mask & (1u << l)) || e->lstride[slot][l]->nterms == 0) continue; /* stride 0 */
    LLVMValueRef s = emit_dim(e, e->lstride[slot][l]);
    LLVMValueRef term = LLVMIsConstant(s) && LLVMConstIntGetSExtValue(s) == 1 ? e->iv[l] : LLVMBuildMul(e->g->b, e->iv[l], s, "");
    off = off ? LLVMBuildAdd(e->g->b, off, term, "") : term;
  }
  LLVMValueRef base = e->base[slot];
  if (!off) return base;
  return LLVMBuildGEP2(e->g->b, cg_mem_type(e->g->ctx, t), base, &off, 1, "");
}

/* ---- loops --------------------------------------------------------------- */

LLVMValueRef loop_open(KEmit *e, Loop *l, LLVMValueRef lo, LLVMValueRef hi, int64_t step) {
  LLVMBasicBlockRef pre = LLVMGetInsertBlock(e->g->b);
  l->header = LLVMAppendBasicBlockInContext(e->g->ctx, e->fn, "loop");
  LLVMBasicBlockRef body = LLVMAppendBasicBlockInContext(e->g->ctx, e->fn, "body");
  l->exit = LLVMAppendBasicBlockInContext(e->g->ctx, e->fn, "exit");
  l->step = step;
  LLVMBuildBr(e->g->b, l->header);
  LLVMPositionBuilderAtEnd(e->g->b, l->header);
  l->iv = LLVMBuildPhi(e->g->b, e->g->i64, "i");
  LLVMAddIncoming(l->iv, &lo, &pre, 1);
  LLVMBuildCondBr(e->g->b, LLVMBuildICmp(e->g->b, LLVMIntSLT, l->iv, hi, ""), body, l->exit);
  LLVMPositionBuilderAtEnd(e->g->b, body);
  return l->iv;
}

/* `!llvm.loop !{self, !{"llvm.loop.unroll.disable"}}`: the loops are
 * vectorised already, and unrolling them again multiplies code size and
 * compile time for no gain on memory-bound kernels. */
static void no_unroll(KEmit *e, LLVMValueRef latch_branch) {
  LLVMMetadataRef self = LLVMTemporaryMDNode(e->g->ctx, NULL, 0);
  const char *key = "llvm.loop.unroll.disable";
  LLVMMetadataRef str = LLVMMDStringInContext2(e->g->ctx, key, strlen(key));
  LLVMMetadataRef ops[2] = {self, LLVMMDNodeInContext2(e->g->ctx, &str, 1)};
  LLVMMetadataRef loop = LLVMMDNodeInContext2(e->g->ctx, ops, 2);
  LLVMMetadataReplaceAllUsesWith(self, loop);
  LLVMSetMetadata(latch_branch, LLVMGetMDKindIDInContext(e->g->ctx, "llvm.loop", 9), LLVMMetadataAsValue(e->g->ctx, loop));
}

void loop_close(KEmit *e, Loop *l) {
  LLVMValueRef next = LLVMBuildAdd(e->g->b, l->iv, i64c(e, l->step), "");
  LLVMBasicBlockRef latch = LLVMGetInsertBlock(e->g->b);
  no_unroll(e, LLVMBuildBr(e->g->b, l->header));
  LLVMAddIncoming(l->iv, &next, &latch, 1);
  LLVMPositionBuilderAtEnd(e->g->b, l->exit);
}

/* ---- bodies -------------------------------------------------------------- */

LLVMValueRef splat(KEmit *e, LLVMValueRef x, int width) {
  if (!width) return x;
  LLVMTypeRef ty = LLVMVectorType(LLVMTypeOf(x), (unsigned)width);
  LLVMValueRef v = LLVMBuildInsertElement(e->g->b, LLVMGetPoison(ty), x, LLVMConstInt(e->g->i32, 0, 0), "");
  return LLVMBuildShuffleVector(e->g->b, v, LLVMGetPoison(ty), LLVMConstNull(LLVMVectorType(e->g->i32, (unsigned)width)), "");
}

LLVMValueRef load_operand(KEmit *e, const KInstr *in, const Access *ac) {
  const KOperand *o = &e->k->in[in->operand];
  int size = dtype_sizes[o->dtype];
  LLVMTypeRef mt = cg_mem_type(e->g->ctx, o->dtype);
  if (!ac->width) return cg_from_mem(e->g->b, o->dtype, load(e, mt, address(e, in->operand, o->dtype, ac->loop_mask), size));
  LLVMValueRef p = LLVMBuildGEP2(e->g->b, mt, e->base[in->operand], (LLVMValueRef[]){ac->par_off[in->operand]}, 1, "");
  if (ac->broadcast[in->operand]) return splat(e, cg_from_mem(e->g->b, o->dtype, load(e, mt, p, size)), ac->width);
  p = LLVMBuildGEP2(e->g->b, mt, p, (LLVMValueRef[]){ac->flat}, 1, "");
  LLVMTypeRef vt = vty(e, o->dtype, ac->width, true);
  if (ac->mask) { /* lanes outside the operand are not read (0) */
    LLVMTypeRef ov[2] = {vt, e->g->ptr};
    LLVMValueRef args[4] = {p, LLVMConstInt(e->g->i32, (unsigned)size, 0), ac->mask, LLVMConstNull(vt)};
    return cg_from_mem(e->g->b, o->dtype, cg_intrinsic(e->g->b, "llvm.masked.load", ov, 2, args, 4));
  }
  return cg_from_mem(e->g->b, o->dtype, load(e, vt, p, size));
}

static LLVMValueRef immediate(KEmit *e, const KInstr *in, int width) {
  LLVMTypeRef ty = vty(e, in->dtype, width, false);
  if (in->op == OP_CONST) return dtype_is_float(in->dtype) ? cg_const_real(ty, in->f) : cg_const_int(ty, in->i);
  LLVMValueRef d = emit_dim(e, in->dim);
  LLVMTypeRef st = cg_type(e->g->ctx, in->dtype);
  d = dtype_is_float(in->dtype) ? LLVMBuildSIToFP(e->g->b, d, st, "") : LLVMBuildTrunc(e->g->b, d, st, "");
  return splat(e, d, width);
}

/* ---- gathers and checks ------------------------------------------------------ */

/* Element offset of operand slot at subscripts sub (instructions): compact
 * row-major, so axis a has stride prod(shape[a+1..]). */
static LLVMValueRef gather_offset(KEmit *e, const KOperand *o, const int *sub, LLVMValueRef *v) {
  LLVMValueRef off = i64c(e, 0);
  for (int a = 0; a < o->rank; a++) {
    LLVMValueRef s = LLVMBuildSExt(e->g->b, v[sub[a]], e->g->i64, "");
    off = a ? LLVMBuildAdd(e->g->b, LLVMBuildMul(e->g->b, off, emit_dim(e, o->shape[a]), ""), s, "") : s;
  }
  return off;
}

/* Each checked subscript must lie in [0, extent): one unsigned compare.
 * Out of range, the kernel records the check, the value and its where[]
 * values in *err and returns 1 (runtime/texrt.h, TexIndexError). */
static void emit_checks(KEmit *e, const KInstr *in, const KOperand *o, LLVMValueRef *v) {
  int id = in->check_id;
  for (int a = 0; a < in->nsub; a++) {
    if (!(in->check >> a & 1)) continue;
    const KCheck *ck = &e->k->checks[id++];
    LLVMValueRef s = LLVMBuildSExt(e->g->b, v[in->sub[a]], e->g->i64, "");
    LLVMValueRef bad = LLVMBuildICmp(e->g->b, LLVMIntUGE, s, emit_dim(e, o->shape[a]), "");
    LLVMBasicBlockRef fail = LLVMAppendBasicBlockInContext(e->g->ctx, e->fn, "index_error");
    LLVMBasicBlockRef ok = LLVMAppendBasicBlockInContext(e->g->ctx, e->fn, "index_ok");
    LLVMBuildCondBr(e->g->b, bad, fail, ok);
    LLVMPositionBuilderAtEnd(e->g->b, fail);
    store(e, LLVMConstInt(e->g->i32, (unsigned long long)(id - 1), 0), e->err, 4);
    LLVMValueRef words = LLVMBuildGEP2(e->g->b, e->g->i64, e->err, (LLVMValueRef[]){i64c(e, 1)}, 1, "");
    store(e, s, words, 8);
    for (int w = 0; w < ck->nwhere; w++) {
      LLVMValueRef p = LLVMBuildGEP2(e->g->b, e->g->i64, words, (LLVMValueRef[]){i64c(e, 1 + w)}, 1, "");
      store(e, LLVMBuildSExt(e->g->b, v[ck->where[w]], e->g->i64, ""), p, 8);
    }
    LLVMBuildRet(e->g->b, LLVMConstInt(e->g->i32, 1, 0));
    LLVMPositionBuilderAtEnd(e->g->b, ok);
  }
}

/* The checks of gather or scatter instruction i, once: they may come
 * before the instruction, in an outer loop (see compute_depths). */
static void checks_once(KEmit *e, int i, LLVMValueRef *v) {
  const KInstr *in = &e->k->body[i];
  if (!in->check || e->checked[i]) return;
  e->checked[i] = true;
  emit_checks(e, in, in->op == OP_SCATTER ? &e->k->out : &e->k->in[in->operand], v);
}

static LLVMValueRef read_now(KEmit *e, int i, LLVMValueRef *v) {
  const KInstr *in = &e->k->body[i];
  const KOperand *o = &e->k->in[in->operand];
  checks_once(e, i, v);
  LLVMTypeRef mt = cg_mem_type(e->g->ctx, o->dtype);
  LLVMValueRef p = LLVMBuildGEP2(e->g->b, mt, e->base[in->operand], (LLVMValueRef[]){gather_offset(e, o, in->sub, v)}, 1, "");
  return cg_from_mem(e->g->b, o->dtype, load(e, mt, p, dtype_sizes[o->dtype]));
}

/* A read in a branch of where happens (checks included) only where its
 * predicate holds; elsewhere its value is 0, which the where discards. */
static LLVMValueRef emit_read(KEmit *e, int i, LLVMValueRef *v) {
  const KInstr *in = &e->k->body[i];
  if (!in->pred1) return read_now(e, i, v);
  LLVMBasicBlockRef from = LLVMGetInsertBlock(e->g->b);
  LLVMBasicBlockRef then = LLVMAppendBasicBlockInContext(e->g->ctx, e->fn, "guarded");
  LLVMBasicBlockRef join = LLVMAppendBasicBlockInContext(e->g->ctx, e->fn, "guarded_end");
  LLVMBuildCondBr(e->g->b, v[in->pred1 - 1], then, join);
  LLVMPositionBuilderAtEnd(e->g->b, then);
  LLVMValueRef r = read_now(e, i, v);
  LLVMBasicBlockRef end = LLVMGetInsertBlock(e->g->b);
  LLVMBuildBr(e->g->b, join);
  LLVMPositionBuilderAtEnd(e->g->b, join);
  LLVMValueRef phi = LLVMBuildPhi(e->g->b, LLVMTypeOf(r), "");
  LLVMValueRef vals[2] = {r, LLVMConstNull(LLVMTypeOf(r))};
  LLVMBasicBlockRef blocks[2] = {end, from};
  LLVMAddIncoming(phi, vals, blocks, 2);
  return phi;
}

/* out[sub] += value: a scatter's last instruction (only where its
 * predicate holds, if it has one). */
static void emit_scatter_add(KEmit *e, int i, LLVMValueRef *v) {
  const KInstr *in = &e->k->body[i];
  const KOperand *o = &e->k->out;
  LLVMBasicBlockRef join = NULL;
  if (in->pred1) {
    LLVMBasicBlockRef then = LLVMAppendBasicBlockInContext(e->g->ctx, e->fn, "guarded");
    join = LLVMAppendBasicBlockInContext(e->g->ctx, e->fn, "guarded_end");
    LLVMBuildCondBr(e->g->b, v[in->pred1 - 1], then, join);
    LLVMPositionBuilderAtEnd(e->g->b, then);
  }
  checks_once(e, i, v);
  LLVMTypeRef mt = cg_mem_type(e->g->ctx, o->dtype);
  LLVMValueRef p = LLVMBuildGEP2(e->g->b, mt, e->base[K_MAX_INPUTS], (LLVMValueRef[]){gather_offset(e, o, in->sub, v)}, 1, "");
  LLVMValueRef args[2] = {cg_from_mem(e->g->b, o->dtype, load(e, mt, p, dtype_sizes[o->dtype])), v[in->args[0]]};
  store(e, cg_to_mem(e->g->b, o->dtype, cg_op(e->g->b, OP_ADD, o->dtype, o->dtype, args)), p, dtype_sizes[o->dtype]);
  if (join) {
    LLVMBuildBr(e->g->b, join);
    LLVMPositionBuilderAtEnd(e->g->b, join);
  }
}

/* ---- evaluation --------------------------------------------------------------- */

/* The loops instruction i needs: it can be computed inside loop depth-1
 * (depth 0: before any loop), which K_MAP uses to hoist what does not
 * change in the inner loops.  A gather's or scatter's checks need only
 * their checked subscripts and the values a failed check reports, so they
 * go in the outermost loop that has those (check_depth): an embedding
 * lookup checks each row's index once, not once per element, and the loop
 * that copies the row has no branch and vectorises. */
/* The depth of loop l's counter: l + 1, except in a one-kernel loop
 * (emit_seq_map), where the step loop (l = nloops) sits between the outer
 * loops and the innermost one: t is depth nloops (1 without loops), the
 * innermost loop's counter and the state depth nloops + 1. */
static int loop_depth(const Kernel *k, int l) {
  int n = k->nloops;
  if (k->seq_trip < 0 || l < n - 1) return l + 1;
  return l == n - 1 ? n + 1 : n ? n : 1;
}

static void compute_depths(KEmit *e) {
  const Kernel *k = e->k;
  for (int i = 0; i < k->nbody; i++) {
    const KInstr *in = &k->body[i];
    int d = 0;
    if (in->op == OP_INDEX) d = loop_depth(k, (int)in->i);
    if (in->op == OP_PARAM)
      for (int a = 0; a < k->in[in->operand].rank; a++)
        if (k->in[in->operand].loop[a] >= 0 && loop_depth(k, k->in[in->operand].loop[a]) > d) d = loop_depth(k, k->in[in->operand].loop[a]);
    int nargs = in->op == OP_READ || in->op == OP_SCATTER             ? in->nsub
                : in->op < OP_COUNT && op_info[in->op].flags & F_ELEM ? op_info[in->op].arity
                                                                      : 0;
    for (int a = 0; a < nargs; a++) {
      int j = in->op == OP_READ || in->op == OP_SCATTER ? in->sub[a] : in->args[a];
      if (e->depth[j] > d) d = e->depth[j];
    }
    if (in->op == OP_SCATTER && e->depth[in->args[0]] > d) d = e->depth[in->args[0]];
    int cd = 0;
    for (int a = 0; a < in->nsub && in->check; a++)
      if (in->check >> a & 1 && e->depth[in->sub[a]] > cd) cd = e->depth[in->sub[a]];
    for (int c = in->check_id; in->check && c < in->check_id + __builtin_popcount(in->check); c++)
      for (int w = 0; w < k->checks[c].nwhere; w++) /* a failed check stores its where[] values */
        if (e->depth[k->checks[c].where[w]] > cd) cd = e->depth[k->checks[c].where[w]];
    if (in->op == OP_MATMUL || in->op == OP_SCATTER) d = k->nloops;
    if (in->op == OP_PARAM && in->operand == k->seq_state) d = k->nloops + 1; /* changes every step, like t */
    if (in->pred1 && e->depth[in->pred1 - 1] > d) d = e->depth[in->pred1 - 1];
    if (in->pred1) cd = d; /* a guarded access checks inside its guard */
    e->check_depth[i] = cd;
    e->depth[i] = d > cd ? d : cd;
  }
}

/* Evaluates the instructions not yet evaluated whose depth is at most level. */
static void eval_upto(KEmit *e, const Access *ac, LLVMValueRef *v, int level) {
  const Kernel *k = e->k;
  for (int i = 0; i < k->nbody; i++) {
    const KInstr *in = &k->body[i];
    if (!v[i] && !in->pred1 && e->check_depth[i] <= level) checks_once(e, i, v);
    if (v[i] || e->depth[i] > level) continue;
    if (in->op == OP_PARAM) {
      v[i] = load_operand(e, in, ac);
    } else if (in->op == OP_MATMUL) {
      v[i] = ac->acc;
    } else if (in->op == OP_CONST || in->op == OP_DIMSIZE) {
      v[i] = immediate(e, in, ac->width);
    } else if (in->op == OP_INDEX) {
      v[i] = e->iv[in->i];
    } else if (in->op == OP_READ) {
      v[i] = emit_read(e, i, v);
    } else if (in->op == OP_SCATTER) {
      emit_scatter_add(e, i, v);
      v[i] = v[in->args[0]];
    } else {
      LLVMValueRef args[3];
      for (int a = 0; a < op_info[in->op].arity; a++) args[a] = v[in->args[a]];
      DType arg_t = k->body[in->args[in->op == OP_SELECT ? 1 : 0]].dtype;
      v[i] = cg_op(e->g->b, in->op, in->dtype, arg_t, args);
    }
  }
}

/* Evaluates the kernel body; returns the value of its last instruction. */
LLVMValueRef eval_body(KEmit *e, const Access *ac) {
  const Kernel *k = e->k;
  LLVMValueRef *v = tex_calloc((size_t)k->nbody, sizeof(LLVMValueRef));
  memset(e->checked, 0, sizeof(bool) * (size_t)k->nbody);
  eval_upto(e, ac, v, 1 << 20);
  LLVMValueRef r = v[k->nbody - 1];
  tex_free(v);
  return r;
}

void store_out(KEmit *e, LLVMValueRef v, unsigned loop_mask) {
  DType t = e->k->out.dtype;
  store(e, cg_to_mem(e->g->b, t, v), address(e, K_MAX_INPUTS, t, loop_mask), dtype_sizes[t]);
}

/* ---- K_MAP ---------------------------------------------------------------- */

/* Each instruction is computed in the outermost loop it depends on. */
static void emit_map(KEmit *e, LLVMValueRef begin, LLVMValueRef end) {
  const Kernel *k = e->k;
  Loop loops[IR_MAX_RANK + 1];
  unsigned all = (1u << k->nloops) - 1;
  Access ac = {.loop_mask = all};
  LLVMValueRef *v = tex_calloc((size_t)k->nbody, sizeof(LLVMValueRef));
  memset(e->checked, 0, sizeof(bool) * (size_t)k->nbody);
  for (int l = 0; l < k->nloops; l++) {
    e->iv[l] = loop_open(e, &loops[l], l ? i64c(e, 0) : begin, l ? e->extent[l] : end, 1);
    eval_upto(e, &ac, v, l + 1);
  }
  eval_upto(e, &ac, v, k->nloops);
  if (k->kind == K_MAP) store_out(e, v[k->nbody - 1], all);
  tex_free(v);
  for (int l = k->nloops - 1; l >= 0; l--) loop_close(e, &loops[l]);
}

/* A one-kernel loop (K_MAP with seq_trip): the element loops with the
 * innermost cut into blocks of SEQ_BLOCK elements, and in each block the
 * T steps (counter iv[nloops], OP_INDEX nloops), each a pass over the block
 * that reads the state and writes it back in place: the block stays in the
 * L1 cache from step to step and each pass vectorises.  Instructions that
 * depend on neither t nor the state are computed outside the steps, those
 * that depend on t but not on the innermost loop once per step
 * (loop_depth). */
enum { SEQ_BLOCK = 256 };
static void emit_seq_map(KEmit *e, LLVMValueRef begin, LLVMValueRef end) {
  const Kernel *k = e->k;
  LLVMBuilderRef B = e->g->b;
  int n = k->nloops;
  Loop loops[IR_MAX_RANK + 1], block, step, inner;
  Access ac = {.loop_mask = (1u << n) - 1};
  LLVMValueRef *v = tex_calloc((size_t)k->nbody, sizeof(LLVMValueRef)), first = NULL, last = NULL;
  memset(e->checked, 0, sizeof(bool) * (size_t)k->nbody);
  LLVMValueRef trip = load(e, e->g->i64, e->base[k->seq_trip], 8);
  eval_upto(e, &ac, v, 0);
  for (int l = 0; l + 1 < n; l++) {
    e->iv[l] = loop_open(e, &loops[l], l ? i64c(e, 0) : begin, l ? e->extent[l] : end, 1);
    eval_upto(e, &ac, v, l + 1);
  }
  if (n) {
    LLVMValueRef hi = n == 1 ? end : e->extent[n - 1];
    first = loop_open(e, &block, n == 1 ? begin : i64c(e, 0), hi, SEQ_BLOCK);
    LLVMValueRef b_end = LLVMBuildAdd(B, first, i64c(e, SEQ_BLOCK), "");
    last = LLVMBuildSelect(B, LLVMBuildICmp(B, LLVMIntSLT, b_end, hi, ""), b_end, hi, "");
  }
  e->iv[n] = loop_open(e, &step, i64c(e, 0), trip, 1);
  if (n) { /* what depends on t but not on the innermost loop: once per step */
    eval_upto(e, &ac, v, n);
    e->iv[n - 1] = loop_open(e, &inner, first, last, 1);
  }
  eval_upto(e, &ac, v, n + 1);
  store_out(e, v[k->nbody - 1], ac.loop_mask);
  tex_free(v);
  if (n) loop_close(e, &inner);
  loop_close(e, &step);
  if (n) loop_close(e, &block);
  for (int l = n - 2; l >= 0; l--) loop_close(e, &loops[l]);
}

/* ---- K_REDUCE -------------------------------------------------------------- */

/* a := a (+) b.  An indexed combiner keeps the pair that wins: the larger
 * value (smaller for argmin), a NaN over any number, and on a tie (or two
 * NaNs) the smaller index, so the result is the first index of the extremum
 * whatever order the pairs meet in.  The index identity is -1, the largest
 * as unsigned, so any element beats it. */
void combine(KEmit *e, DType t, LLVMValueRef *a, LLVMValueRef *ai, LLVMValueRef b, LLVMValueRef bi) {
  LLVMBuilderRef B = e->g->b;
  Op c = e->k->combiner;
  if (!kernel_indexed(e->k)) {
    LLVMValueRef args[2] = {*a, b};
    *a = cg_op(B, c, t, t, args);
    return;
  }
  Op better_op = c == OP_ARGMAX ? OP_GT : OP_LT;
  LLVMValueRef ab[2] = {b, *a};
  LLVMValueRef better = cg_op(B, better_op, DT_BOOL, t, ab), tie = cg_op(B, OP_EQ, DT_BOOL, t, ab);
  if (dtype_is_float(t)) {
    LLVMValueRef nan_a = LLVMBuildFCmp(B, LLVMRealUNO, *a, *a, ""), nan_b = LLVMBuildFCmp(B, LLVMRealUNO, b, b, "");
    better = LLVMBuildOr(B, better, LLVMBuildAnd(B, nan_b, LLVMBuildNot(B, nan_a, ""), ""), "");
    tie = LLVMBuildOr(B, tie, LLVMBuildAnd(B, nan_a, nan_b, ""), "");
  }
  LLVMValueRef first = LLVMBuildICmp(B, LLVMIntULT, bi, *ai, "");
  LLVMValueRef take = LLVMBuildOr(B, better, LLVMBuildAnd(B, tie, first, ""), "");
  *a = LLVMBuildSelect(B, take, b, *a, "");
  *ai = LLVMBuildSelect(B, take, bi, *ai, "");
}

LLVMValueRef acc_load(KEmit *e, const Acc *acc, int width, bool index) {
  if (index) return load(e, vty(e, DT_I64, width, false), acc->idx, 8);
  return cg_from_mem(e->g->b, acc->t, load(e, vty(e, acc->t, width, true), acc->val, 1));
}

void acc_store(KEmit *e, const Acc *acc, LLVMValueRef v, LLVMValueRef vi) {
  store(e, cg_to_mem(e->g->b, acc->t, v), acc->val, 1);
  if (vi) store(e, vi, acc->idx, 8);
}

/* The fixed tree: lane j combines with lane j + w, w = 16, 8, ..., 1.
 * Returns lane 0 (its index in *idx for an indexed combiner). */
static LLVMValueRef lane_tree(KEmit *e, DType t, LLVMValueRef v, LLVMValueRef vi, LLVMValueRef *idx) {
  for (int w = W / 2; w >= 1; w /= 2) {
    LLVMValueRef lo[W / 2], hi[W / 2];
    for (int j = 0; j < w; j++) {
      lo[j] = LLVMConstInt(e->g->i32, (unsigned long long)j, 0);
      hi[j] = LLVMConstInt(e->g->i32, (unsigned long long)(j + w), 0);
    }
    LLVMValueRef mlo = LLVMConstVector(lo, (unsigned)w), mhi = LLVMConstVector(hi, (unsigned)w);
    LLVMValueRef a = LLVMBuildShuffleVector(e->g->b, v, LLVMGetPoison(LLVMTypeOf(v)), mlo, "");
    LLVMValueRef b = LLVMBuildShuffleVector(e->g->b, v, LLVMGetPoison(LLVMTypeOf(v)), mhi, "");
    LLVMValueRef ai = vi ? LLVMBuildShuffleVector(e->g->b, vi, LLVMGetPoison(LLVMTypeOf(vi)), mlo, "") : NULL;
    LLVMValueRef bi = vi ? LLVMBuildShuffleVector(e->g->b, vi, LLVMGetPoison(LLVMTypeOf(vi)), mhi, "") : NULL;
    combine(e, t, &a, &ai, b, bi);
    v = a, vi = ai;
  }
  LLVMValueRef zero = LLVMConstInt(e->g->i32, 0, 0);
  if (vi) *idx = LLVMBuildExtractElement(e->g->b, vi, zero, "");
  return LLVMBuildExtractElement(e->g->b, v, zero, "");
}

/* True if every input walks the reduction loops as one contiguous block (or
 * not at all), so the reduction can load W consecutive elements at once. */
static bool flat_reduction(KEmit *e, int npar) {
  const Kernel *k = e->k;
  DimTable *t = e->g->m->dims;
  for (int i = 0; i < k->nbody; i++) /* loop counters and gathers are scalar code */
    if (k->body[i].op == OP_INDEX || k->body[i].op == OP_READ) return false;
  for (int o = 0; o < k->ninputs; o++) {
    bool zero = true;
    for (int l = npar; l < k->nloops; l++) zero = zero && e->lstride[o][l] == dim_lit(t, 0);
    if (zero) continue;
    Dim expect = dim_lit(t, 1);
    for (int l = k->nloops - 1; l >= npar; l--) {
      if (e->lstride[o][l] != expect) return false;
      expect = dim_mul(t, expect, k->extent[l]);
    }
  }
  return true;
}

/* Scalar accumulation of one element (v, at index vi) into lane `lane`. */
static void accumulate_lane(KEmit *e, const Acc *acc, LLVMValueRef lane, LLVMValueRef v, LLVMValueRef vi) {
  LLVMTypeRef mt = cg_mem_type(e->g->ctx, acc->t);
  LLVMValueRef p = LLVMBuildGEP2(e->g->b, mt, acc->val, &lane, 1, "");
  LLVMValueRef a = cg_from_mem(e->g->b, acc->t, load(e, mt, p, 1)), ai = NULL, pi = NULL;
  if (vi) {
    pi = LLVMBuildGEP2(e->g->b, e->g->i64, acc->idx, &lane, 1, "");
    ai = load(e, e->g->i64, pi, 8);
  }
  combine(e, acc->t, &a, &ai, v, vi);
  store(e, cg_to_mem(e->g->b, acc->t, a), p, 1);
  if (vi) store(e, ai, pi, 8);
}

/* <0, 1, ..., W-1> + splat(base): the indices of W consecutive elements. */
static LLVMValueRef lane_indices(KEmit *e, LLVMValueRef base) {
  LLVMValueRef iota[W];
  for (int j = 0; j < W; j++) iota[j] = i64c(e, j);
  return LLVMBuildAdd(e->g->b, splat(e, base, W), LLVMConstVector(iota, W), "");
}

Access flat_access(KEmit *e, int npar, LLVMValueRef start) {
  const Kernel *k = e->k;
  unsigned par_mask = (1u << npar) - 1;
  Access vec = {.loop_mask = par_mask, .width = W};
  for (int o = 0; o < k->ninputs; o++) {
    bool zero = true;
    for (int l = npar; l < k->nloops; l++) zero = zero && e->lstride[o][l] == dim_lit(e->g->m->dims, 0);
    vec.broadcast[o] = zero;
    LLVMValueRef base = e->base[o];
    e->base[o] = LLVMConstNull(e->g->ptr); /* address() then yields the offset as a pointer */
    LLVMValueRef p = address(e, o, k->in[o].dtype, par_mask);
    e->base[o] = base;
    vec.par_off[o] = LLVMBuildSDiv(e->g->b, LLVMBuildPtrToInt(e->g->b, p, e->g->i64, ""), i64c(e, dtype_sizes[k->in[o].dtype]), "");
    if (!zero) vec.par_off[o] = LLVMBuildAdd(e->g->b, vec.par_off[o], start, "");
  }
  return vec;
}

/* Elements [start, start + count) of the flattened reduced axes, lane
 * (i - start) mod W (start is a multiple of W). */
static void reduce_flat(KEmit *e, int npar, const Acc *acc, LLVMValueRef start, LLVMValueRef count) {
  Access vec = flat_access(e, npar, start);
  LLVMValueRef full = LLVMBuildAnd(e->g->b, count, i64c(e, ~(int64_t)(W - 1)), "");
  /* the main loop keeps the lanes in registers (phis), not in acc's memory:
   * a store and reload per block would put store forwarding on the
   * critical path of every output */
  LLVMBasicBlockRef pre = LLVMGetInsertBlock(e->g->b);
  LLVMValueRef a0 = acc_load(e, acc, W, false), ai0 = acc->idx ? acc_load(e, acc, W, true) : NULL;
  Loop main;
  vec.flat = loop_open(e, &main, i64c(e, 0), full, W);
  LLVMBasicBlockRef body = LLVMGetInsertBlock(e->g->b);
  LLVMPositionBuilderBefore(e->g->b, LLVMGetNextInstruction(main.iv));
  LLVMValueRef aphi = LLVMBuildPhi(e->g->b, LLVMTypeOf(a0), ""), aiphi = ai0 ? LLVMBuildPhi(e->g->b, LLVMTypeOf(ai0), "") : NULL;
  LLVMAddIncoming(aphi, &a0, &pre, 1);
  if (aiphi) LLVMAddIncoming(aiphi, &ai0, &pre, 1);
  LLVMPositionBuilderAtEnd(e->g->b, body);
  LLVMValueRef a = aphi, ai = aiphi;
  combine(e, acc->t, &a, &ai, eval_body(e, &vec), acc->idx ? lane_indices(e, vec.flat) : NULL);
  LLVMBasicBlockRef latch = LLVMGetInsertBlock(e->g->b);
  LLVMAddIncoming(aphi, &a, &latch, 1);
  if (aiphi) LLVMAddIncoming(aiphi, &ai, &latch, 1);
  loop_close(e, &main);
  acc_store(e, acc, aphi, aiphi);
  Loop tail;
  LLVMValueRef lane = loop_open(e, &tail, i64c(e, 0), LLVMBuildSub(e->g->b, count, full, ""), 1);
  Access sc = vec;
  sc.width = 1;
  sc.flat = LLVMBuildAdd(e->g->b, full, lane, "");
  LLVMValueRef v = LLVMBuildExtractElement(e->g->b, eval_body(e, &sc), LLVMConstInt(e->g->i32, 0, 0), "");
  accumulate_lane(e, acc, lane, v, acc->idx ? sc.flat : NULL);
  loop_close(e, &tail);
}

/* ---- blocks (lang/reference.md, reduction order, rule 4) ------------------------ */

enum { BLK = TEX_REDUCE_BLOCK, BLK_LOG2 = 12 };
_Static_assert(1 << BLK_LOG2 == BLK && BLK % W == 0, "TEX_REDUCE_BLOCK: a power of two, whole lanes");

/* True if a reduction of this kernel may have more than BLK elements. */
static bool may_block(KEmit *e, int npar) {
  if (e->k->unblocked || kernel_indexed(e->k)) return false;
  int64_t n = 1, v;
  for (int l = npar; l < e->k->nloops; l++) {
    if (!dim_is_lit(e->k->extent[l], &v)) return true;
    if (v > BLK || (n *= v) > BLK) return true;
  }
  return false;
}

/* A finished block: its lanes' tree goes to lane `lane` of outer, and the
 * lanes start again from the identity. */
void fold_block(KEmit *e, const Acc *acc, const Acc *outer, LLVMValueRef lane) {
  DType t = acc->t;
  LLVMValueRef r = lane_tree(e, t, acc_load(e, acc, W, false), NULL, NULL);
  accumulate_lane(e, outer, LLVMBuildAnd(e->g->b, lane, i64c(e, W - 1), ""), r, NULL);
  acc_store(e, acc, cg_identity(vty(e, t, W, false), e->k->combiner, t), NULL);
}

Acc outer_lanes(KEmit *e, const Acc *acc) {
  Acc outer = {.val = entry_alloca(e, vty(e, acc->t, W, true), "blocks"), .t = acc->t};
  acc_store(e, &outer, cg_identity(vty(e, acc->t, W, false), e->k->combiner, acc->t), NULL);
  return outer;
}

/* reduce_flat block by block; leaves the blocks' lanes in acc. */
static void reduce_flat_blocked(KEmit *e, int npar, const Acc *acc, LLVMValueRef count) {
  LLVMBuilderRef B = e->g->b;
  Acc outer = outer_lanes(e, acc);
  Loop blk;
  LLVMValueRef lo = loop_open(e, &blk, i64c(e, 0), count, BLK), rest = LLVMBuildSub(B, count, lo, "");
  LLVMValueRef n = LLVMBuildSelect(B, LLVMBuildICmp(B, LLVMIntSLT, rest, i64c(e, BLK), ""), rest, i64c(e, BLK), "");
  reduce_flat(e, npar, acc, lo, n);
  fold_block(e, acc, &outer, LLVMBuildLShr(B, lo, i64c(e, BLK_LOG2), ""));
  loop_close(e, &blk);
  acc_store(e, acc, acc_load(e, &outer, W, false), NULL);
}

/* Any access pattern: element c of the reduction goes to lane c mod W; when
 * blocked, every BLK elements fold into the blocks' lanes (left in acc). */
/* reduce_general over one reduction loop, blocked: a loop over the blocks,
 * each a loop over its elements, then its fold (no test per element). */
static void reduce_one_loop_blocked(KEmit *e, int npar, const Acc *acc) {
  LLVMBuilderRef B = e->g->b;
  Acc outer = outer_lanes(e, acc);
  LLVMValueRef count = e->extent[npar];
  Loop blk, in;
  LLVMValueRef lo = loop_open(e, &blk, i64c(e, 0), count, BLK), hi = LLVMBuildAdd(B, lo, i64c(e, BLK), "");
  hi = LLVMBuildSelect(B, LLVMBuildICmp(B, LLVMIntSLT, hi, count, ""), hi, count, "");
  e->iv[npar] = loop_open(e, &in, lo, hi, 1);
  Access ac = {.loop_mask = (1u << e->k->nloops) - 1};
  accumulate_lane(e, acc, LLVMBuildAnd(B, e->iv[npar], i64c(e, W - 1), ""), eval_body(e, &ac), NULL);
  loop_close(e, &in);
  fold_block(e, acc, &outer, LLVMBuildLShr(B, lo, i64c(e, BLK_LOG2), ""));
  loop_close(e, &blk);
  acc_store(e, acc, acc_load(e, &outer, W, false), NULL);
}

static void reduce_general(KEmit *e, int npar, const Acc *acc, bool blocked) {
  const Kernel *k = e->k;
  LLVMBuilderRef B = e->g->b;
  if (blocked && k->nloops == npar + 1) {
    reduce_one_loop_blocked(e, npar, acc);
    return;
  }
  LLVMValueRef counter = entry_alloca(e, e->g->i64, "c");
  store(e, i64c(e, 0), counter, 8);
  Acc outer = blocked ? outer_lanes(e, acc) : (Acc){0};
  Loop loops[IR_MAX_RANK + 1];
  for (int l = npar; l < k->nloops; l++) e->iv[l] = loop_open(e, &loops[l], i64c(e, 0), e->extent[l], 1);
  Access ac = {.loop_mask = (1u << k->nloops) - 1};
  LLVMValueRef v = eval_body(e, &ac);
  LLVMValueRef c = load(e, e->g->i64, counter, 8), c1 = LLVMBuildAdd(B, c, i64c(e, 1), "");
  accumulate_lane(e, acc, LLVMBuildAnd(B, c, i64c(e, W - 1), ""), v, acc->idx ? c : NULL);
  store(e, c1, counter, 8);
  if (blocked) { /* a block is full: fold it */
    LLVMBasicBlockRef fold = LLVMAppendBasicBlockInContext(e->g->ctx, e->fn, "fold"),
                      go = LLVMAppendBasicBlockInContext(e->g->ctx, e->fn, "go");
    LLVMBuildCondBr(B, LLVMBuildICmp(B, LLVMIntEQ, LLVMBuildAnd(B, c1, i64c(e, BLK - 1), ""), i64c(e, 0), ""), fold, go);
    LLVMPositionBuilderAtEnd(B, fold);
    fold_block(e, acc, &outer, LLVMBuildSub(B, LLVMBuildLShr(B, c1, i64c(e, BLK_LOG2), ""), i64c(e, 1), ""));
    LLVMBuildBr(B, go);
    LLVMPositionBuilderAtEnd(B, go);
  }
  for (int l = k->nloops - 1; l >= npar; l--) loop_close(e, &loops[l]);
  if (!blocked) return;
  c = load(e, e->g->i64, counter, 8); /* the last, partial block */
  LLVMBasicBlockRef fold = LLVMAppendBasicBlockInContext(e->g->ctx, e->fn, "fold"),
                    done = LLVMAppendBasicBlockInContext(e->g->ctx, e->fn, "done");
  LLVMBuildCondBr(B, LLVMBuildICmp(B, LLVMIntNE, LLVMBuildAnd(B, c, i64c(e, BLK - 1), ""), i64c(e, 0), ""), fold, done);
  LLVMPositionBuilderAtEnd(B, fold);
  fold_block(e, acc, &outer, LLVMBuildLShr(B, c, i64c(e, BLK_LOG2), ""));
  LLVMBuildBr(B, done);
  LLVMPositionBuilderAtEnd(B, done);
  acc_store(e, acc, acc_load(e, &outer, W, false), NULL);
}

/* ---- K_REDUCE across outputs ---------------------------------------------------
 * A reduction with few elements per output (a convolution's 9) spends its
 * time on each output's accumulator and lane tree.  When the innermost
 * parallel loop lp walks the output with stride 1 and every value of the
 * body is, along lp, uniform, an integer affine in lp (base + coef * lane:
 * a subscript r + u), or a contiguous load, P outputs are computed side by
 * side: each of the W accumulator lanes is a <P x T> vector, element c of
 * every output goes to lane c mod W in the order reduce_general uses, and
 * the lane tree runs on the vectors, so the results are bitwise those of
 * the scalar code.  The last lp % P outputs take the scalar path. */
enum { P = 16, UNI = 0, AFF = 1, VAR = 2 };

static bool is_lit(KEmit *e, Dim d, int64_t v) { return d == dim_lit(e->g->m->dims, v); }

/* Classifies the body; false if some value is none of the three. */
bool wide_classify(KEmit *e, Wide *w) {
  const Kernel *k = e->k;
  for (int i = 0; i < k->nbody; i++) {
    const KInstr *in = &k->body[i];
    int c = UNI;
    w->coef[i] = 0;
    if (in->op == OP_INDEX) {
      if (in->i == w->lp) c = AFF, w->coef[i] = 1;
    } else if (in->op == OP_PARAM) {
      Dim st = e->lstride[in->operand][w->lp];
      if (!is_lit(e, st, 0) && !is_lit(e, st, 1)) return false;
      c = is_lit(e, st, 0) ? UNI : VAR;
    } else if (in->op == OP_READ) {
      if (in->check) return false;
      for (int a = 0; a < in->nsub; a++) {
        int sc = w->cls[in->sub[a]];
        if (sc == VAR || (sc == AFF && (a != in->nsub - 1 || w->coef[in->sub[a]] != 1))) return false;
        if (sc == AFF) c = VAR;
      }
      if (in->pred1 && c == UNI && w->cls[in->pred1 - 1] != UNI) return false; /* wide_read */
    } else if (in->op == OP_MATMUL || in->op == OP_SCATTER) {
      return false;
    } else if (in->op != OP_CONST && in->op != OP_DIMSIZE) {
      int64_t cf[3] = {0};
      for (int a = 0; a < op_info[in->op].arity; a++) {
        c = w->cls[in->args[a]] > c ? w->cls[in->args[a]] : c;
        cf[a] = w->coef[in->args[a]];
      }
      bool linear = (in->op == OP_ADD || in->op == OP_SUB) && dtype_is_int(in->dtype);
      if (c == AFF && linear) w->coef[i] = in->op == OP_ADD ? cf[0] + cf[1] : cf[0] - cf[1];
      if (c == AFF && !linear) c = VAR;
      if (c == AFF && w->coef[i] == 0) c = UNI;
    }
    w->cls[i] = c;
  }
  return true;
}

/* Instruction i's value as a <P x T> vector. */
static LLVMValueRef wide_vec(KEmit *e, Wide *w, int i) {
  if (w->cls[i] == VAR) return w->v[i];
  LLVMValueRef b = splat(e, w->s[i], w->np);
  if (w->cls[i] == UNI) return b;
  LLVMValueRef steps[W];
  LLVMTypeRef it = cg_type(e->g->ctx, e->k->body[i].dtype);
  for (int j = 0; j < w->np; j++) steps[j] = LLVMConstInt(it, (unsigned long long)(w->coef[i] * j), 1);
  return LLVMBuildAdd(e->g->b, b, LLVMConstVector(steps, (unsigned)w->np), "");
}

/* A load at element pointer p: one element (uniform) or np consecutive,
 * only those in mask (or w->mask) if one is given (0 elsewhere). */
static LLVMValueRef wide_load(KEmit *e, const Wide *w, DType t, LLVMValueRef p, bool vec, LLVMValueRef mask) {
  LLVMTypeRef mt = vty(e, t, vec ? w->np : 0, true);
  if (vec && w->mask) mask = mask ? LLVMBuildAnd(e->g->b, mask, w->mask, "") : w->mask;
  if (!vec || !mask) return cg_from_mem(e->g->b, t, load(e, mt, p, dtype_sizes[t]));
  LLVMTypeRef ov[2] = {mt, e->g->ptr};
  LLVMValueRef args[4] = {p, LLVMConstInt(e->g->i32, (unsigned)dtype_sizes[t], 0), mask, LLVMConstNull(mt)};
  return cg_from_mem(e->g->b, t, cg_intrinsic(e->g->b, "llvm.masked.load", ov, 2, args, 4));
}

/* A gather in a branch of where reads only where its predicate holds: a
 * vector read under the predicate as a mask, a uniform one (its predicate
 * uniform too: wide_classify) under a branch, as emit_read. */
static LLVMValueRef wide_read(KEmit *e, Wide *w, int i, LLVMValueRef p) {
  const KInstr *in = &e->k->body[i];
  DType t = e->k->in[in->operand].dtype;
  bool vec = w->cls[i] == VAR;
  if (!in->pred1 || vec) return wide_load(e, w, t, p, vec, in->pred1 ? wide_vec(e, w, in->pred1 - 1) : NULL);
  LLVMBasicBlockRef from = LLVMGetInsertBlock(e->g->b);
  LLVMBasicBlockRef then = LLVMAppendBasicBlockInContext(e->g->ctx, e->fn, "guarded");
  LLVMBasicBlockRef join = LLVMAppendBasicBlockInContext(e->g->ctx, e->fn, "guarded_end");
  LLVMBuildCondBr(e->g->b, w->s[in->pred1 - 1], then, join);
  LLVMPositionBuilderAtEnd(e->g->b, then);
  LLVMValueRef r = wide_load(e, w, t, p, false, NULL);
  LLVMBuildBr(e->g->b, join);
  LLVMPositionBuilderAtEnd(e->g->b, join);
  LLVMValueRef phi = LLVMBuildPhi(e->g->b, LLVMTypeOf(r), "");
  LLVMValueRef vals[2] = {r, LLVMConstNull(LLVMTypeOf(r))};
  LLVMBasicBlockRef blocks[2] = {then, from};
  LLVMAddIncoming(phi, vals, blocks, 2);
  return phi;
}

/* Evaluates the body at lanes iv[lp] .. iv[lp] + P - 1; returns the result vector. */
LLVMValueRef wide_eval(KEmit *e, Wide *w) {
  const Kernel *k = e->k;
  unsigned all = (1u << k->nloops) - 1;
  for (int i = 0; i < k->nbody; i++) {
    const KInstr *in = &k->body[i];
    bool vec = w->cls[i] == VAR;
    LLVMValueRef r;
    if (in->op == OP_INDEX) {
      r = e->iv[in->i];
    } else if (in->op == OP_CONST || in->op == OP_DIMSIZE) {
      r = immediate(e, in, 0);
    } else if (in->op == OP_PARAM) {
      r = wide_load(e, w, in->dtype, address(e, in->operand, in->dtype, all), vec, NULL);
    } else if (in->op == OP_READ) {
      const KOperand *o = &k->in[in->operand];
      LLVMValueRef off = gather_offset(e, o, in->sub, w->s);
      r = wide_read(e, w, i, LLVMBuildGEP2(e->g->b, cg_mem_type(e->g->ctx, o->dtype), e->base[in->operand], &off, 1, ""));
    } else {
      LLVMValueRef args[3];
      for (int a = 0; a < op_info[in->op].arity; a++) args[a] = vec ? wide_vec(e, w, in->args[a]) : w->s[in->args[a]];
      r = cg_op(e->g->b, in->op, in->dtype, k->body[in->args[in->op == OP_SELECT ? 1 : 0]].dtype, args);
    }
    if (vec)
      w->v[i] = r;
    else
      w->s[i] = r;
  }
  return wide_vec(e, w, k->nbody - 1);
}

/* Q rows (loop lq = lp - 1 at q0 .. q0 + Q - 1; Q = 1: the current row) of
 * np outputs at iv[lp]: W lanes of Q x <np x T> in memory, the reduction
 * loops, the lane tree on vectors, one vector store per row.  The Q rows
 * share each pass over the reduced elements, so an operand that does not
 * depend on lq (a sum over an outer axis of a * b broadcast) is read once
 * for Q rows.  One reduction loop of more than BLK elements is blocked:
 * each block's lane trees fold into a second set of lanes. */
enum { Q_MAX = 8 }; /* the most rows a WideAcc holds */
typedef struct WideAcc {
  LLVMValueRef mem; /* W * Q vectors of np */
  LLVMTypeRef lt, mt;
  int Q, np;
} WideAcc;

static WideAcc wide_acc(KEmit *e, DType t, int Q, int np, const char *name) {
  WideAcc a = {entry_alloca(e, LLVMArrayType(vty(e, t, np, true), (unsigned)(W * Q)), name), vty(e, t, np, true), cg_mem_type(e->g->ctx, t),
               Q, np};
  return a;
}

static LLVMValueRef wide_slot(KEmit *e, const WideAcc *a, LLVMValueRef off) { return LLVMBuildGEP2(e->g->b, a->mt, a->mem, &off, 1, ""); }

static void wide_reset(KEmit *e, const WideAcc *a, DType t) {
  LLVMValueRef id = cg_to_mem(e->g->b, t, cg_identity(vty(e, t, a->np, false), e->k->combiner, t));
  for (int j = 0; j < W * a->Q; j++) store(e, id, wide_slot(e, a, i64c(e, j * a->np)), 1);
}

/* slot (lane, q) (+)= x */
static void wide_add(KEmit *e, const WideAcc *a, DType t, LLVMValueRef lane, int q, LLVMValueRef x) {
  LLVMValueRef off = LLVMBuildAdd(e->g->b, LLVMBuildMul(e->g->b, lane, i64c(e, a->Q * a->np), ""), i64c(e, q * a->np), "");
  LLVMValueRef p = wide_slot(e, a, off), v = cg_from_mem(e->g->b, t, load(e, a->lt, p, 1));
  combine(e, t, &v, NULL, x, NULL);
  store(e, cg_to_mem(e->g->b, t, v), p, 1);
}

static LLVMValueRef wide_tree(KEmit *e, const WideAcc *a, DType t, int q) {
  LLVMValueRef v[W];
  for (int j = 0; j < W; j++) v[j] = cg_from_mem(e->g->b, t, load(e, a->lt, wide_slot(e, a, i64c(e, (j * a->Q + q) * a->np)), 1));
  for (int h = W / 2; h >= 1; h /= 2) /* lane j combines with lane j + h, as lane_tree */
    for (int j = 0; j < h; j++) combine(e, t, &v[j], NULL, v[j + h], NULL);
  return v[0];
}

/* The body at element counter c (lane c mod W) for the Q rows. */
static void wide_step(KEmit *e, Wide *w, const WideAcc *a, DType t, LLVMValueRef c, LLVMValueRef q0, int npar) {
  LLVMValueRef lane = LLVMBuildAnd(e->g->b, c, i64c(e, W - 1), "");
  for (int q = 0; q < a->Q; q++) {
    if (a->Q > 1) e->iv[npar - 2] = LLVMBuildAdd(e->g->b, q0, i64c(e, q), "");
    wide_add(e, a, t, lane, q, wide_eval(e, w));
  }
}

/* Elements [lo, hi) of the one reduction loop (lo a multiple of W), lane
 * by lane: lane j's elements lo + j, lo + j + W, ... accumulate in
 * registers in increasing order (the defined order) and reach a's slots
 * once, so no slot's load and store is on the path of every element. */
static void wide_lanes(KEmit *e, Wide *w, const WideAcc *a, DType t, LLVMValueRef lo, LLVMValueRef hi, LLVMValueRef q0, int npar) {
  LLVMBuilderRef B = e->g->b;
  LLVMValueRef reg = entry_alloca(e, LLVMArrayType(a->lt, (unsigned)a->Q), "lanes"), p[Q_MAX];
  LLVMValueRef id = cg_to_mem(B, t, cg_identity(vty(e, t, a->np, false), e->k->combiner, t));
  Loop lane, in;
  LLVMValueRef j = loop_open(e, &lane, i64c(e, 0), i64c(e, W), 1);
  for (int q = 0; q < a->Q; q++) {
    p[q] = LLVMBuildGEP2(B, a->lt, reg, (LLVMValueRef[]){i64c(e, q)}, 1, "");
    store(e, id, p[q], 1);
  }
  e->iv[npar] = loop_open(e, &in, LLVMBuildAdd(B, lo, j, ""), hi, W);
  for (int q = 0; q < a->Q; q++) {
    if (a->Q > 1) e->iv[npar - 2] = LLVMBuildAdd(B, q0, i64c(e, q), "");
    LLVMValueRef v = cg_from_mem(B, t, load(e, a->lt, p[q], 1));
    combine(e, t, &v, NULL, wide_eval(e, w), NULL);
    store(e, cg_to_mem(B, t, v), p[q], 1);
  }
  loop_close(e, &in);
  for (int q = 0; q < a->Q; q++) {
    LLVMValueRef off = LLVMBuildAdd(B, LLVMBuildMul(B, j, i64c(e, a->Q * a->np), ""), i64c(e, q * a->np), "");
    store(e, load(e, a->lt, p[q], 1), wide_slot(e, a, off), 1);
  }
  loop_close(e, &lane);
}

static void reduce_wide(KEmit *e, int npar, Wide *w, LLVMValueRef count, LLVMValueRef q0, int Q) {
  const Kernel *k = e->k;
  LLVMBuilderRef B = e->g->b;
  DType t = k->body[k->nbody - 1].dtype;
  WideAcc acc = wide_acc(e, t, Q, w->np, "wacc"), res = acc;
  wide_reset(e, &acc, t);
  if (k->nloops == npar + 1 && may_block(e, npar)) { /* blocks of BLK, folded into res */
    res = wide_acc(e, t, Q, w->np, "wblocks");
    wide_reset(e, &res, t);
    Loop blk;
    LLVMValueRef lo = loop_open(e, &blk, i64c(e, 0), count, BLK), hi = LLVMBuildAdd(B, lo, i64c(e, BLK), "");
    hi = LLVMBuildSelect(B, LLVMBuildICmp(B, LLVMIntSLT, hi, count, ""), hi, count, "");
    wide_lanes(e, w, &acc, t, lo, hi, q0, npar);
    LLVMValueRef b = LLVMBuildLShr(B, lo, i64c(e, BLK_LOG2), "");
    for (int q = 0; q < Q; q++) wide_add(e, &res, t, LLVMBuildAnd(B, b, i64c(e, W - 1), ""), q, wide_tree(e, &acc, t, q));
    wide_reset(e, &acc, t);
    loop_close(e, &blk);
  } else if (k->nloops == npar + 1) {
    wide_lanes(e, w, &acc, t, i64c(e, 0), count, q0, npar);
  } else {
    LLVMValueRef counter = entry_alloca(e, e->g->i64, "c");
    store(e, i64c(e, 0), counter, 8);
    Loop loops[IR_MAX_RANK + 1];
    for (int l = npar; l < k->nloops; l++) e->iv[l] = loop_open(e, &loops[l], i64c(e, 0), e->extent[l], 1);
    LLVMValueRef c = load(e, e->g->i64, counter, 8);
    wide_step(e, w, &acc, t, c, q0, npar);
    store(e, LLVMBuildAdd(B, c, i64c(e, 1), ""), counter, 8);
    for (int l = k->nloops - 1; l >= npar; l--) loop_close(e, &loops[l]);
  }
  for (int q = 0; q < Q; q++) {
    LLVMValueRef r = wide_tree(e, &res, t, q);
    if (k->combiner == OP_ADD && dtype_is_float(t)) /* an empty sum is +0.0 */
      r = LLVMBuildSelect(B, LLVMBuildICmp(B, LLVMIntEQ, count, i64c(e, 0), ""), cg_const_real(LLVMTypeOf(r), 0.0), r, "");
    if (Q > 1) e->iv[npar - 2] = LLVMBuildAdd(B, q0, i64c(e, q), "");
    LLVMValueRef rm = cg_to_mem(B, t, r), p = address(e, K_MAX_INPUTS, t, (1u << npar) - 1);
    if (!w->mask) {
      store(e, rm, p, dtype_sizes[t]);
      continue;
    }
    LLVMTypeRef ov[2] = {LLVMTypeOf(rm), e->g->ptr}; /* the tail: the outputs that exist */
    LLVMValueRef args[4] = {rm, p, LLVMConstInt(e->g->i32, (unsigned)dtype_sizes[t], 0), w->mask};
    cg_intrinsic(B, "llvm.masked.store", ov, 2, args, 4);
  }
}

/* Any access pattern: along the innermost reduced loop if it vectorises
 * (reduce_rows), else element by element (reduce_general). */
static void reduce_any(KEmit *e, int npar, const Acc *acc, bool blocked) {
  size_t n = (size_t)e->k->nbody + 1;
  Wide w = {tex_calloc(n, sizeof(int)),
            tex_calloc(n, sizeof(int64_t)),
            tex_calloc(n, sizeof(LLVMValueRef)),
            tex_calloc(n, sizeof(LLVMValueRef)),
            0,
            W,
            NULL};
  if (use_rows(e, npar, &w))
    reduce_rows(e, npar, &w, acc, blocked);
  else
    reduce_general(e, npar, acc, blocked);
  tex_free(w.cls), tex_free(w.coef), tex_free(w.s), tex_free(w.v);
}

/* One output at the current parallel indices: the scalar paths, one block
 * (rules 2-3) or blocked (rule 4). */
static void reduce_one_level(KEmit *e, int npar, const Acc *acc, bool flat, LLVMValueRef count, bool blocked) {
  const Kernel *k = e->k;
  DType t = acc->t;
  acc_store(e, acc, cg_identity(vty(e, t, W, false), k->combiner, t), acc->idx ? LLVMConstAllOnes(vty(e, DT_I64, W, false)) : NULL);
  if (flat && blocked)
    reduce_flat_blocked(e, npar, acc, count);
  else if (flat)
    reduce_flat(e, npar, acc, i64c(e, 0), count);
  else
    reduce_any(e, npar, acc, blocked);
  LLVMValueRef idx = NULL;
  LLVMValueRef r = lane_tree(e, t, acc_load(e, acc, W, false), acc->idx ? acc_load(e, acc, W, true) : NULL, &idx);
  if (k->combiner == OP_ADD && dtype_is_float(t)) /* an empty sum is +0.0 */
    r = LLVMBuildSelect(e->g->b, LLVMBuildICmp(e->g->b, LLVMIntEQ, count, i64c(e, 0), ""), cg_const_real(LLVMTypeOf(r), 0.0), r, "");
  store_out(e, idx ? idx : r, (1u << npar) - 1);
}

/* Up to BLK elements take the one-block code (the blocked code would give
 * the same bits, with a second tree per output). */
static void reduce_exact(KEmit *e, int npar, const Acc *acc, bool flat, LLVMValueRef count) {
  if (!may_block(e, npar)) {
    reduce_one_level(e, npar, acc, flat, count, false);
    return;
  }
  LLVMBuilderRef B = e->g->b;
  LLVMBasicBlockRef one = LLVMAppendBasicBlockInContext(e->g->ctx, e->fn, "one_block");
  LLVMBasicBlockRef many = LLVMAppendBasicBlockInContext(e->g->ctx, e->fn, "blocks");
  LLVMBasicBlockRef join = LLVMAppendBasicBlockInContext(e->g->ctx, e->fn, "reduced");
  LLVMBuildCondBr(B, LLVMBuildICmp(B, LLVMIntSLE, count, i64c(e, BLK), ""), one, many);
  LLVMPositionBuilderAtEnd(B, one);
  reduce_one_level(e, npar, acc, flat, count, false);
  LLVMBuildBr(B, join);
  LLVMPositionBuilderAtEnd(B, many);
  reduce_one_level(e, npar, acc, flat, count, true);
  LLVMBuildBr(B, join);
  LLVMPositionBuilderAtEnd(B, join);
}

/* A flat float max/min takes the fast path (cpu_extremum.c) and falls back
 * on reduce_exact where that path says it may differ. */
static void reduce_one(KEmit *e, int npar, const Acc *acc, bool flat, LLVMValueRef count) {
  if (!flat || !cg_k_extremum_kernel(e)) {
    reduce_exact(e, npar, acc, flat, count);
    return;
  }
  LLVMBuilderRef B = e->g->b;
  Access vec = flat_access(e, npar, i64c(e, 0));
  LLVMValueRef redo, r = cg_k_extremum_fast(e, &vec, count, &redo);
  LLVMBasicBlockRef fast = LLVMAppendBasicBlockInContext(e->g->ctx, e->fn, "fast"),
                    exact = LLVMAppendBasicBlockInContext(e->g->ctx, e->fn, "exact"),
                    join = LLVMAppendBasicBlockInContext(e->g->ctx, e->fn, "reduced");
  LLVMBuildCondBr(B, redo, exact, fast);
  LLVMPositionBuilderAtEnd(B, fast);
  store_out(e, r, (1u << npar) - 1);
  LLVMBuildBr(B, join);
  LLVMPositionBuilderAtEnd(B, exact);
  reduce_exact(e, npar, acc, flat, count);
  LLVMBuildBr(B, join);
  LLVMPositionBuilderAtEnd(B, join);
}

/* A blocks kernel (Kernel.blocks): out[b] is block b's result, for the
 * blocks in [begin, end); passes/kernels.c made it only for flat inputs. */
static void emit_reduce_blocks(KEmit *e, const Acc *acc, LLVMValueRef count, LLVMValueRef begin, LLVMValueRef end) {
  LLVMBuilderRef B = e->g->b;
  DType t = acc->t;
  if (!flat_reduction(e, 0)) ice("blocks kernel %s does not read its inputs flat", e->k->name);
  Loop blk;
  LLVMValueRef b = loop_open(e, &blk, begin, end, 1), lo = LLVMBuildShl(B, b, i64c(e, BLK_LOG2), ""), rest = LLVMBuildSub(B, count, lo, "");
  LLVMValueRef n = LLVMBuildSelect(B, LLVMBuildICmp(B, LLVMIntSLT, rest, i64c(e, BLK), ""), rest, i64c(e, BLK), "");
  LLVMValueRef p = LLVMBuildGEP2(B, cg_mem_type(e->g->ctx, t), e->base[K_MAX_INPUTS], &b, 1, ""), r;
  LLVMBasicBlockRef done = NULL;
  if (cg_k_extremum_kernel(e)) { /* the fast path, as reduce_one */
    Access vec = flat_access(e, 0, lo);
    LLVMValueRef redo;
    r = cg_k_extremum_fast(e, &vec, n, &redo);
    LLVMBasicBlockRef fast = LLVMAppendBasicBlockInContext(e->g->ctx, e->fn, "fast"),
                      exact = LLVMAppendBasicBlockInContext(e->g->ctx, e->fn, "exact");
    done = LLVMAppendBasicBlockInContext(e->g->ctx, e->fn, "reduced");
    LLVMBuildCondBr(B, redo, exact, fast);
    LLVMPositionBuilderAtEnd(B, fast);
    store(e, cg_to_mem(B, t, r), p, dtype_sizes[t]);
    LLVMBuildBr(B, done);
    LLVMPositionBuilderAtEnd(B, exact);
  }
  acc_store(e, acc, cg_identity(vty(e, t, W, false), e->k->combiner, t), NULL);
  reduce_flat(e, 0, acc, lo, n);
  r = lane_tree(e, t, acc_load(e, acc, W, false), NULL, NULL);
  store(e, cg_to_mem(B, t, r), p, dtype_sizes[t]);
  if (done) {
    LLVMBuildBr(B, done);
    LLVMPositionBuilderAtEnd(B, done);
  }
  loop_close(e, &blk);
}

/* The reduction's element count, if every reduced extent is a literal and
 * the count is 1..W: each lane then holds at most one element, so the
 * lanes are the elements themselves (combine(identity, x) is x exactly)
 * and the fixed tree only combines lanes that hold one. */
static int64_t short_reduction(KEmit *e, int npar) {
  int64_t n = 1, v;
  for (int l = npar; l < e->k->nloops; l++) {
    if (!dim_is_lit(e->k->extent[l], &v)) return 0;
    n *= v;
    if (n > W) return 0;
  }
  return n >= 1 && !kernel_indexed(e->k) && e->k->nloops > npar ? n : 0;
}

/* One output of a short reduction: the body at each element (the reduced
 * loops' counters are constants), combined by the part of the fixed tree
 * that has elements in it.  No loop, no accumulator in memory: straight
 * code the vectoriser widens across the innermost output loop (a 3x3
 * convolution, a softmax over 10 classes), bitwise the same as the loop. */
static void reduce_unrolled(KEmit *e, int npar, int64_t n) {
  const Kernel *k = e->k;
  DType t = k->body[k->nbody - 1].dtype;
  LLVMValueRef lane[W] = {0};
  for (int64_t c = 0; c < n; c++) {
    int64_t rest = c, v;
    for (int l = k->nloops - 1; l >= npar; l--) {
      dim_is_lit(k->extent[l], &v);
      e->iv[l] = i64c(e, rest % v);
      rest /= v;
    }
    Access ac = {.loop_mask = (1u << k->nloops) - 1};
    lane[c] = eval_body(e, &ac);
  }
  for (int w = W / 2; w >= 1; w /= 2)
    for (int j = 0; j < w; j++)
      if (lane[j] && lane[j + w]) combine(e, t, &lane[j], NULL, lane[j + w], NULL);
  store_out(e, lane[0], (1u << npar) - 1);
}

/* True if the outputs can be computed P at a time (reduce_wide). */
static bool use_wide(KEmit *e, int npar, bool flat, Wide *w) {
  const Kernel *k = e->k;
  if (flat || npar == 0 || kernel_indexed(k) || !is_lit(e, e->lstride[K_MAX_INPUTS][npar - 1], 1)) return false;
  w->lp = npar - 1;
  int64_t v;
  w->np = dim_is_lit(k->extent[w->lp], &v) && v >= 2 && v < P ? (int)v : P;
  return wide_classify(e, w);
}

/* The last outputs along lp, fewer than np, as one more wide pass with the
 * lanes past hi masked (loads and the store), where wide passes may run
 * (ok): returns where the scalar tail starts (hi if done). */
static LLVMValueRef wide_tail(KEmit *e, int npar, Wide *w, LLVMValueRef count, LLVMValueRef q0, int Q, LLVMValueRef at, LLVMValueRef hi,
                              LLVMValueRef ok) {
  LLVMBuilderRef B = e->g->b;
  LLVMValueRef rem = LLVMBuildSub(B, hi, at, "");
  LLVMValueRef go = LLVMBuildAnd(B, LLVMBuildICmp(B, LLVMIntSGT, rem, i64c(e, 0), ""), ok, "");
  LLVMBasicBlockRef from = LLVMGetInsertBlock(B), masked = LLVMAppendBasicBlockInContext(e->g->ctx, e->fn, "wide_tail"),
                    join = LLVMAppendBasicBlockInContext(e->g->ctx, e->fn, "wide_tail_done");
  LLVMBuildCondBr(B, go, masked, join);
  LLVMPositionBuilderAtEnd(B, masked);
  LLVMValueRef iota[P];
  for (int j = 0; j < w->np; j++) iota[j] = i64c(e, j);
  e->iv[npar - 1] = at;
  w->mask = LLVMBuildICmp(B, LLVMIntSLT, LLVMConstVector(iota, (unsigned)w->np), splat(e, rem, w->np), "");
  reduce_wide(e, npar, w, count, q0, Q);
  w->mask = NULL;
  LLVMBasicBlockRef end = LLVMGetInsertBlock(B);
  LLVMBuildBr(B, join);
  LLVMPositionBuilderAtEnd(B, join);
  LLVMValueRef phi = LLVMBuildPhi(B, e->g->i64, "");
  LLVMValueRef vals[2] = {at, hi};
  LLVMBasicBlockRef blocks[2] = {from, end};
  LLVMAddIncoming(phi, vals, blocks, 2);
  return phi;
}

/* The outputs along lp, P at a time, then one by one (reduce_one), at Q
 * rows of lq from q0 (Q = 1: at the current iv[lq]). */
enum { Q_ROWS = Q_MAX };
static void wide_sweep(KEmit *e, int npar, Wide *w, const Acc *acc, bool flat, LLVMValueRef count, LLVMValueRef q0, int Q,
                       LLVMValueRef begin, LLVMValueRef end) {
  LLVMBuilderRef B = e->g->b;
  int lp = npar - 1;
  LLVMValueRef lo = lp ? i64c(e, 0) : begin, hi = lp ? e->extent[lp] : end;
  Loop chunk, tail, row;
  LLVMValueRef chunk_hi = LLVMBuildSub(B, hi, i64c(e, w->np - 1), ""), ok = LLVMConstInt(LLVMInt1TypeInContext(e->g->ctx), 1, 0);
  if (may_block(e, npar) && e->k->nloops > npar + 1) { /* blocked over several loops: the scalar paths */
    ok = LLVMBuildICmp(B, LLVMIntSLE, count, i64c(e, BLK), "");
    chunk_hi = LLVMBuildSelect(B, ok, chunk_hi, lo, "");
  }
  e->iv[lp] = loop_open(e, &chunk, lo, chunk_hi, w->np);
  reduce_wide(e, npar, w, count, q0, Q);
  loop_close(e, &chunk);
  LLVMValueRef start = wide_tail(e, npar, w, count, q0, Q, chunk.iv, hi, ok);
  e->iv[lp] = loop_open(e, &tail, start, hi, 1);
  if (Q > 1) e->iv[npar - 2] = loop_open(e, &row, q0, LLVMBuildAdd(B, q0, i64c(e, Q), ""), 1);
  reduce_one(e, npar, acc, flat, count);
  if (Q > 1) loop_close(e, &row);
  loop_close(e, &tail);
}

static void emit_reduce(KEmit *e, LLVMValueRef begin, LLVMValueRef end) {
  const Kernel *k = e->k;
  Acc acc = {.t = k->body[k->nbody - 1].dtype};
  int npar = 0;
  while (npar < k->nloops && !k->reduce[npar]) npar++;
  bool flat = flat_reduction(e, npar);
  LLVMValueRef count = i64c(e, 1);
  for (int l = npar; l < k->nloops; l++) count = LLVMBuildMul(e->g->b, count, e->extent[l], "");
  acc.val = entry_alloca(e, vty(e, acc.t, W, true), "acc");
  if (kernel_indexed(k)) acc.idx = entry_alloca(e, vty(e, DT_I64, W, false), "acci");
  if (k->blocks) {
    emit_reduce_blocks(e, &acc, count, begin, end);
    return;
  }
  size_t n = (size_t)k->nbody + 1;
  Wide w = {tex_calloc(n, sizeof(int)),
            tex_calloc(n, sizeof(int64_t)),
            tex_calloc(n, sizeof(LLVMValueRef)),
            tex_calloc(n, sizeof(LLVMValueRef)),
            0,
            P,
            NULL};
  bool wide = use_wide(e, npar, flat, &w);
  int q_rows = wide && npar >= 2 ? Q_ROWS : 1;
  int nout = npar;
  Loop loops[IR_MAX_RANK + 1];
  int64_t nshort = short_reduction(e, npar);
  if (nshort) nout = npar, wide = false;
  if (wide) nout = q_rows > 1 ? npar - 2 : npar - 1;
  for (int l = 0; l < nout; l++) e->iv[l] = loop_open(e, &loops[l], l ? i64c(e, 0) : begin, l ? e->extent[l] : end, 1);
  if (nshort) {
    reduce_unrolled(e, npar, nshort);
  } else if (wide && q_rows > 1) { /* Q rows at a time, then the rest one by one */
    int lq = npar - 2;
    LLVMValueRef lo = lq ? i64c(e, 0) : begin, hi = lq ? e->extent[lq] : end;
    Loop rows, rest;
    e->iv[lq] = loop_open(e, &rows, lo, LLVMBuildSub(e->g->b, hi, i64c(e, q_rows - 1), ""), q_rows);
    wide_sweep(e, npar, &w, &acc, flat, count, rows.iv, q_rows, begin, end);
    loop_close(e, &rows);
    e->iv[lq] = loop_open(e, &rest, rows.iv, hi, 1);
    wide_sweep(e, npar, &w, &acc, flat, count, NULL, 1, begin, end);
    loop_close(e, &rest);
  } else if (wide) {
    wide_sweep(e, npar, &w, &acc, flat, count, NULL, 1, begin, end);
  } else {
    reduce_one(e, npar, &acc, flat, count);
  }
  for (int l = nout - 1; l >= 0; l--) loop_close(e, &loops[l]);
  tex_free(w.cls), tex_free(w.coef), tex_free(w.s), tex_free(w.v);
}

/* ---- K_SCAN ------------------------------------------------------------------ */

/* Parallel loops, then the scan loop: acc = acc (+) body, stored at every
 * point, from the identity (-0.0 for float sums, so x[0] comes out exactly). */
static void emit_scan(KEmit *e, LLVMValueRef begin, LLVMValueRef end) {
  const Kernel *k = e->k;
  DType t = k->out.dtype;
  int ls = k->nloops - 1;
  Loop loops[IR_MAX_RANK + 1], scan;
  for (int l = 0; l < ls; l++) e->iv[l] = loop_open(e, &loops[l], l ? i64c(e, 0) : begin, l ? e->extent[l] : end, 1);
  LLVMTypeRef et = cg_type(e->g->ctx, t);
  LLVMValueRef acc = entry_alloca(e, et, "acc");
  store(e, cg_identity(et, k->combiner, t), acc, dtype_sizes[t]);
  LLVMValueRef i = loop_open(e, &scan, i64c(e, 0), e->extent[ls], 1);
  e->iv[ls] = k->scan_reverse ? LLVMBuildSub(e->g->b, LLVMBuildSub(e->g->b, e->extent[ls], i64c(e, 1), ""), i, "") : i;
  unsigned all = (1u << k->nloops) - 1;
  Access ac = {.loop_mask = all};
  LLVMValueRef a = load(e, et, acc, dtype_sizes[t]);
  combine(e, t, &a, NULL, eval_body(e, &ac), NULL);
  store(e, a, acc, dtype_sizes[t]);
  store_out(e, a, all);
  loop_close(e, &scan);
  for (int l = ls - 1; l >= 0; l--) loop_close(e, &loops[l]);
}

/* ---- the kernel function ---------------------------------------------------- */

static void add_attr(KEmit *e, LLVMValueRef fn, unsigned index, const char *name) {
  unsigned kind = LLVMGetEnumAttributeKindForName(name, strlen(name));
  LLVMAddAttributeAtIndex(fn, index, LLVMCreateEnumAttribute(e->g->ctx, kind, 0));
}

void kemit_init(KEmit *e, const Kernel *k, LLVMValueRef fn, const LLVMValueRef *ops, LLVMValueRef syms, LLVMValueRef err) {
  e->fn = fn;
  e->k = k;
  e->syms = syms;
  e->err = err;
  for (int s = 0; s < e->g->p->nsyms; s++) {
    LLVMValueRef p = LLVMBuildGEP2(e->g->b, e->g->i64, syms, (LLVMValueRef[]){i64c(e, s)}, 1, "");
    e->sym_val[s] = load(e, e->g->i64, p, 8);
  }
  for (int o = 0; o <= k->ninputs; o++) {
    int slot = o < k->ninputs ? o : K_MAX_INPUTS;
    e->base[slot] = ops[o];
    operand_strides(e, o < k->ninputs ? &k->in[o] : &k->out, e->lstride[slot]);
  }
  for (int l = 0; l < k->nloops; l++) e->extent[l] = emit_dim(e, k->extent[l]);
  e->depth = tex_calloc((size_t)k->nbody + 1, sizeof(int));
  e->check_depth = tex_calloc((size_t)k->nbody + 1, sizeof(int));
  e->checked = tex_calloc((size_t)k->nbody + 1, sizeof(bool));
  compute_depths(e);
}

void kemit_fini(KEmit *e) {
  tex_free(e->checked);
  tex_free(e->check_depth);
  tex_free(e->depth);
}

/* The body takes one `noalias` pointer per operand: memory planning
 * guarantees that an output shares memory with no input, so LLVM needs no
 * runtime alias checks before vectorising.  The exception is an in-place
 * kernel's output and the input it overwrites: those two are not noalias,
 * and the entry function passes them the same pointer value, so LLVM sees
 * that each element is loaded and then stored at the same address.  The
 * body is inlined into the entry function. */
static LLVMValueRef emit_body_function(KEmit *e, const Kernel *k) {
  int nptr = k->ninputs + 1;
  LLVMTypeRef params[K_MAX_INPUTS + 5];
  for (int i = 0; i < nptr; i++) params[i] = e->g->ptr;
  params[nptr] = e->g->ptr, params[nptr + 1] = e->g->i64, params[nptr + 2] = e->g->i64, params[nptr + 3] = e->g->ptr;
  char name[256];
  snprintf(name, sizeof name, "%s.body", k->name);
  LLVMValueRef fn = LLVMAddFunction(e->g->mod, name, LLVMFunctionType(e->g->i32, params, (unsigned)nptr + 4, 0));
  LLVMSetLinkage(fn, LLVMInternalLinkage);
  add_attr(e, fn, LLVMAttributeFunctionIndex, "alwaysinline");
  for (int i = 0; i < nptr; i++)
    if (k->inplace < 0 || (i != k->inplace && i != k->ninputs)) add_attr(e, fn, (unsigned)i + 1, "noalias");
  LLVMPositionBuilderAtEnd(e->g->b, LLVMAppendBasicBlockInContext(e->g->ctx, fn, "entry"));
  LLVMValueRef ops[K_MAX_INPUTS + 1];
  for (int o = 0; o < nptr; o++) ops[o] = LLVMGetParam(fn, (unsigned)o);
  kemit_init(e, k, fn, ops, LLVMGetParam(fn, (unsigned)nptr), LLVMGetParam(fn, (unsigned)nptr + 3));
  LLVMValueRef begin = LLVMGetParam(fn, (unsigned)nptr + 1), end = LLVMGetParam(fn, (unsigned)nptr + 2);
  switch (k->kind) {
  case K_MAP: k->seq_trip >= 0 ? emit_seq_map(e, begin, end) : emit_map(e, begin, end); break;
  case K_REDUCE: emit_reduce(e, begin, end); break;
  case K_MATMUL: cg_k_emit_matmul(e, begin, end); break;
  case K_SCATTER: emit_map(e, begin, end); break; /* the same loops; the body ends in OP_SCATTER */
  case K_SCAN: emit_scan(e, begin, end); break;
  }
  LLVMBuildRet(e->g->b, LLVMConstInt(e->g->i32, 0, 0));
  kemit_fini(e);
  return fn;
}

/* ---- row groups (issue 11, passes/kernels_rows.c) ----------------------------- */

enum { ROW_BLOCK_ELEMS = 2048 }; /* elements of a row block per member: 8 KiB of f32, L1-resident */

/* The step function of row group ks[0..n): for each block of rows in
 * [begin, end), every member's function (fns[m], with its operands at
 * ops[map[m][o]]) on that block, in order.  A block has max(1, 2048 / inner)
 * rows, inner the largest count of elements a member computes per row. */
LLVMValueRef cg_cpu_emit_rows(Cg *cg, const Kernel *ks, int n, const LLVMValueRef *fns, int *const *map) {
  KEmit *e = tex_calloc(1, sizeof *e);
  e->g = cg;
  LLVMBuilderRef B = cg->b;
  LLVMTypeRef params[5] = {cg->ptr, cg->ptr, cg->i64, cg->i64, cg->ptr};
  LLVMTypeRef fty = LLVMFunctionType(cg->i32, params, 5, 0);
  char name[300];
  snprintf(name, sizeof name, "%s_rows", ks[0].name);
  LLVMValueRef fn = LLVMAddFunction(cg->mod, name, fty);
  LLVMSetLinkage(fn, LLVMInternalLinkage);
  e->fn = fn;
  LLVMPositionBuilderAtEnd(B, LLVMAppendBasicBlockInContext(cg->ctx, fn, "entry"));
  LLVMValueRef ops = LLVMGetParam(fn, 0), syms = LLVMGetParam(fn, 1), err = LLVMGetParam(fn, 4);
  for (int s = 0; s < cg->p->nsyms; s++)
    e->sym_val[s] = load(e, cg->i64, LLVMBuildGEP2(B, cg->i64, syms, (LLVMValueRef[]){i64c(e, s)}, 1, ""), 8);
  LLVMValueRef inner = i64c(e, 1), mops[TEX_ROWS_MAX_OPERANDS];
  for (int m = 0; m < n; m++) {
    LLVMValueRef in = i64c(e, 1);
    for (int l = 1; l < ks[m].nloops; l++) in = LLVMBuildMul(B, in, emit_dim(e, ks[m].extent[l]), "");
    inner = LLVMBuildSelect(B, LLVMBuildICmp(B, LLVMIntSGT, in, inner, ""), in, inner, "");
    mops[m] = entry_alloca(e, LLVMArrayType(cg->ptr, (unsigned)ks[m].ninputs + 1), "ops");
    for (int o = 0; o <= ks[m].ninputs; o++) {
      LLVMValueRef src = LLVMBuildGEP2(B, cg->ptr, ops, (LLVMValueRef[]){i64c(e, map[m][o])}, 1, "");
      store(e, load(e, cg->ptr, src, 8), LLVMBuildGEP2(B, cg->ptr, mops[m], (LLVMValueRef[]){i64c(e, o)}, 1, ""), 8);
    }
  }
  LLVMValueRef rb = LLVMBuildSDiv(B, i64c(e, ROW_BLOCK_ELEMS), inner, "");
  rb = LLVMBuildSelect(B, LLVMBuildICmp(B, LLVMIntSGT, rb, i64c(e, 1), ""), rb, i64c(e, 1), "");
  Loop blk;
  LLVMValueRef end = LLVMGetParam(fn, 3), r = loop_open(e, &blk, LLVMGetParam(fn, 2), end, 1);
  LLVMValueRef stop = LLVMBuildAdd(B, r, rb, "");
  stop = LLVMBuildSelect(B, LLVMBuildICmp(B, LLVMIntSLT, stop, end, ""), stop, end, "");
  for (int m = 0; m < n; m++) {
    LLVMValueRef args[5] = {mops[m], syms, r, stop, err};
    LLVMValueRef rc = LLVMBuildCall2(B, fty, fns[m], args, 5, "");
    LLVMBasicBlockRef fail = LLVMAppendBasicBlockInContext(cg->ctx, fn, "failed"), ok = LLVMAppendBasicBlockInContext(cg->ctx, fn, "ok");
    LLVMBuildCondBr(B, LLVMBuildICmp(B, LLVMIntNE, rc, LLVMConstInt(cg->i32, 0, 0), ""), fail, ok);
    LLVMPositionBuilderAtEnd(B, fail);
    LLVMBuildRet(B, rc);
    LLVMPositionBuilderAtEnd(B, ok);
  }
  LLVMBasicBlockRef latch = LLVMGetInsertBlock(B);
  no_unroll(e, LLVMBuildBr(B, blk.header));
  LLVMAddIncoming(blk.iv, &stop, &latch, 1); /* the next block starts where this one stopped */
  LLVMPositionBuilderAtEnd(B, blk.exit);
  LLVMBuildRet(B, LLVMConstInt(cg->i32, 0, 0));
  tex_free(e);
  return fn;
}

/* The x86-64 target's emit_kernel (codegen.h). */
LLVMValueRef cg_cpu_emit_kernel(Cg *cg, const Kernel *k) {
  KEmit *e = tex_calloc(1, sizeof *e);
  e->g = cg;
  LLVMValueRef body = emit_body_function(e, k);
  LLVMTypeRef params[5] = {e->g->ptr, e->g->ptr, e->g->i64, e->g->i64, e->g->ptr};
  LLVMValueRef fn = LLVMAddFunction(e->g->mod, k->name, LLVMFunctionType(e->g->i32, params, 5, 0));
  LLVMSetLinkage(fn, LLVMInternalLinkage);
  LLVMPositionBuilderAtEnd(e->g->b, LLVMAppendBasicBlockInContext(e->g->ctx, fn, "entry"));
  LLVMValueRef args[K_MAX_INPUTS + 5], ops = LLVMGetParam(fn, 0);
  int nptr = k->ninputs + 1;
  for (int o = 0; o < nptr; o++) { /* operands in kernel order: inputs, then the output */
    LLVMValueRef p = LLVMBuildGEP2(e->g->b, e->g->ptr, ops, (LLVMValueRef[]){i64c(e, o)}, 1, "");
    args[o] = load(e, e->g->ptr, p, 8);
  }
  if (k->inplace >= 0) args[k->ninputs] = args[k->inplace];
  args[nptr] = LLVMGetParam(fn, 1), args[nptr + 1] = LLVMGetParam(fn, 2), args[nptr + 2] = LLVMGetParam(fn, 3);
  args[nptr + 3] = LLVMGetParam(fn, 4);
  LLVMBuildRet(e->g->b, LLVMBuildCall2(e->g->b, LLVMGlobalGetValueType(body), body, args, (unsigned)nptr + 4, ""));
  tex_free(e);
  return fn;
}
