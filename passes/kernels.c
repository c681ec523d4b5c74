/* kernels.c — group an inlined function's IR into kernels (ARCHITECTURE.md, seam 3).
 *
 * Views (broadcast, transpose) and constants never become kernels of their
 * own: they fold into the access maps and bodies of the kernels that read
 * them.  Fusion: an elementwise value with exactly one use, reached without
 * a broadcast that repeats it, is computed inside its consumer's body (an
 * elementwise kernel or a reduction) instead of going through memory, so a
 * chain of elementwise ops and its trailing reduction is one loop nest and
 * one pass over memory.  Values used twice, results, and values a broadcast
 * would recompute are materialised.  The order of every arithmetic operation
 * is unchanged, so fused and unfused code give bitwise-identical results.
 * A fused group is split where it would read more than K_MAX_INPUTS
 * operands or chain more than K_MAX_FUSED_DEPTH ops.  A matmul used once by
 * an elementwise op takes that op's tree as its epilogue.  Memory planning
 * then lets temporaries share memory (see plan_memory).
 *
 * Requires: inlined, verified IR (no OP_CALL).  Produces: a KProgram whose
 * buffers are the ABI arguments, then one temporary per materialised value,
 * numbered in the order the kernels first write them. */
#include <stdlib.h>
#include <string.h>

#include "passes.h"

typedef struct Builder {
  IrModule *m;
  IrFunc *f;
  KProgram *p;
  int *buf_of;        /* per node id: buffer index, or -1 (view/const/unmaterialised) */
  bool *fused;        /* per node id: computed inside its consumer's kernel */
  const IrNode **epilogue;   /* per node id: the matmul it is the epilogue of */
  const IrNode *epilogue_of; /* the matmul whose epilogue is being built */
  struct Reads *reads;       /* per node id: what its fused tree reads (mark_fusion) */
  int *kernel_of;            /* per node id: its kernel (p->kernel_of, or scratch in a loop body) */
  int *kcap, *bcap;          /* capacities of p's arrays (shared with loop bodies' builders) */
} Builder;

static bool is_view(const IrNode *n) { return n->op == OP_BROADCAST || n->op == OP_TRANSPOSE || n->op == OP_STOP_GRADIENT; }
static bool is_immediate(const IrNode *n) { return n->op == OP_CONST || n->op == OP_DIMSIZE; }

static int add_typed_buffer(Builder *b, DType t, int rank, const Dim *shape, bool is_param) {
  if (b->p->nbufs == *b->bcap) {
    *b->bcap = *b->bcap ? *b->bcap * 2 : 16;
    b->p->bufs = tex_realloc(b->p->bufs, sizeof(KBuffer) * (size_t)*b->bcap);
  }
  KBuffer *kb = &b->p->bufs[b->p->nbufs];
  memset(kb, 0, sizeof *kb);
  kb->dtype = t;
  kb->rank = rank;
  memcpy(kb->shape, shape, sizeof(Dim) * (size_t)rank);
  kb->is_param = is_param;
  kb->reuses = -1;
  return b->p->nbufs++;
}

static int add_buffer(Builder *b, const IrNode *n, bool is_param) { return add_typed_buffer(b, n->dtype, n->rank, n->shape, is_param); }

static Kernel *add_kernel(Builder *b, KernelKind kind, const IrNode *n) {
  if (b->p->nkernels == *b->kcap) {
    *b->kcap = *b->kcap ? *b->kcap * 2 : 16;
    b->p->kernels = tex_realloc(b->p->kernels, sizeof(Kernel) * (size_t)*b->kcap);
  }
  Kernel *k = &b->p->kernels[b->p->nkernels];
  memset(k, 0, sizeof *k);
  k->kind = kind;
  k->inplace = -1;
  k->seq_trip = k->seq_state = -1;
  k->loc = n->loc;
  k->name =
      arena_printf(&b->m->arena, "%s_k%d_%s", b->p->func->name, b->p->nkernels, op_info[n->op].name); /* loop bodies: their function's */
  b->p->nkernels++;
  return k;
}

static int push_instr(Kernel *k, KInstr in) {
  k->body = tex_realloc(k->body, sizeof(KInstr) * (size_t)(k->nbody + 1));
  k->body[k->nbody] = in;
  return k->nbody++;
}

/* The operand reading buffer node x, where x's axis a is indexed by loop
 * loops[a]; views are looked through by composing their maps. */
static int operand_for(Builder *b, Kernel *k, const IrNode *x, const int *loops);

/* The body's load of buffer buf with this access map, if there is one: an
 * operand read twice at the same indices is loaded once. */
static int find_load(const Kernel *k, int buf, const IrNode *x, const int *l) {
  for (int j = 0; j < k->ninputs; j++) {
    const KOperand *o = &k->in[j];
    bool same = o->buf == buf && o->rank == x->rank;
    for (int a = 0; same && a < x->rank; a++) same = o->shape[a] == x->shape[a] && o->loop[a] == (dim_is_one(x->shape[a]) ? -1 : l[a]);
    for (int i = 0; same && i < k->nbody; i++)
      if (k->body[i].op == OP_PARAM && k->body[i].operand == j) return i;
  }
  return -1;
}

/* A fused producer: its own body, its operands read at the same indices. */
static int inline_producer(Builder *b, Kernel *k, const IrNode *x, const int *l) {
  b->kernel_of[x->id] = (int)(k - b->p->kernels);
  KInstr in = {.op = x->op, .dtype = x->dtype};
  for (int i = 0; i < x->nargs; i++) in.args[i] = operand_for(b, k, x->args[i], l);
  return push_instr(k, in);
}

/* A gen fused into its consumer (region.c, below). */
static int inline_gen(Builder *b, Kernel *k, const IrNode *g, const int *loops);

static int operand_for(Builder *b, Kernel *k, const IrNode *x, const int *loops) {
  int l[IR_MAX_RANK];
  memcpy(l, loops, sizeof(int) * (size_t)x->rank);
  while (is_view(x) && b->buf_of[x->id] < 0) { /* a materialised view is a buffer */
    const IrNode *y = x->args[0];
    int ly[IR_MAX_RANK];
    for (int i = 0; i < y->rank; i++) {
      if (x->op == OP_STOP_GRADIENT)
        ly[i] = l[i];
      else if (x->op == OP_TRANSPOSE)
        ly[x->attr.axes[i]] = l[i];
      else
        ly[i] = dim_is_one(y->shape[i]) ? -1 : l[x->attr.axes[i]];
    }
    memcpy(l, ly, sizeof(int) * (size_t)y->rank);
    x = y;
  }
  if (is_immediate(x)) {
    KInstr in = {.op = x->op, .dtype = x->dtype, .f = x->attr.f, .i = x->attr.i, .dim = x->attr.dim};
    return push_instr(k, in);
  }
  if (x == b->epilogue_of) return push_instr(k, (KInstr){.op = OP_MATMUL, .dtype = x->dtype});
  if (b->fused[x->id]) return x->op == OP_GEN ? inline_gen(b, k, x, l) : inline_producer(b, k, x, l);
  int buf = b->buf_of[x->id];
  if (buf < 0) ice("kernel operand %%%d has no buffer", x->id);
  int reuse = k->kind == K_MATMUL && k->ninputs < 2 ? -1 : find_load(k, buf, x, l); /* matmul's own in[0], in[1] */
  if (reuse >= 0) return reuse;
  if (k->ninputs == K_MAX_INPUTS) ice("kernel with more than %d inputs", K_MAX_INPUTS);
  KOperand *o = &k->in[k->ninputs];
  o->buf = buf;
  o->dtype = x->dtype;
  o->rank = x->rank;
  memcpy(o->shape, x->shape, sizeof(Dim) * (size_t)x->rank);
  for (int a = 0; a < x->rank; a++) o->loop[a] = dim_is_one(x->shape[a]) ? -1 : l[a];
  KInstr in = {.op = OP_PARAM, .dtype = x->dtype, .operand = k->ninputs++};
  return push_instr(k, in);
}

static void set_output(Kernel *k, const IrNode *n, int buf, const int *loops) {
  k->out.buf = buf;
  k->out.dtype = n->dtype;
  k->out.rank = n->rank;
  memcpy(k->out.shape, n->shape, sizeof(Dim) * (size_t)n->rank);
  for (int a = 0; a < n->rank; a++) k->out.loop[a] = dim_is_one(n->shape[a]) ? -1 : loops[a];
}

static void identity_loops(Kernel *k, const IrNode *n, int *loops) {
  k->nloops = n->rank;
  for (int a = 0; a < n->rank; a++) {
    k->extent[a] = n->shape[a];
    loops[a] = a;
  }
}

/* out = op(args...) over n's shape; also copies (OP_COPY) into results. */
static void build_elementwise(Builder *b, const IrNode *n, Op op, int buf) {
  Kernel *k = add_kernel(b, K_MAP, n);
  int loops[IR_MAX_RANK], args[3] = {0};
  identity_loops(k, n, loops);
  const IrNode *srcs[3];
  int nsrc = op == OP_COPY ? 1 : n->nargs;
  for (int i = 0; i < nsrc; i++) srcs[i] = op == OP_COPY ? n : n->args[i];
  for (int i = 0; i < nsrc; i++) args[i] = operand_for(b, k, srcs[i], loops);
  KInstr in = {.op = op, .dtype = n->dtype, .args = {args[0], args[1], args[2]}};
  push_instr(k, in);
  set_output(k, n, buf, loops);
}

/* True if every input of reduction k walks all its loops as one contiguous
 * block in loop order (or not at all), and the body reads nothing else. */
static bool reads_flat(const Kernel *k) {
  for (int i = 0; i < k->nbody; i++)
    if (k->body[i].op == OP_INDEX || k->body[i].op == OP_READ) return false;
  for (int j = 0; j < k->ninputs; j++) {
    int next = 0;
    for (int a = 0; a < k->in[j].rank; a++)
      if (k->in[j].loop[a] >= 0 && k->in[j].loop[a] != next++) return false;
    if (next != 0 && next != k->nloops) return false;
  }
  return true;
}

/* A full reduction (kernel ki) that may have more than TEX_REDUCE_BLOCK
 * elements becomes a blocks kernel writing one result per block into a
 * temporary, whose blocks are the range threads split, then an unblocked
 * reduction of those results into buf: lang/reference.md, reduction order,
 * rule 4 (with one block the result is that block's, exactly as before). */
static void split_blocks(Builder *b, int ki, const IrNode *n, int buf) {
  Kernel *k = &b->p->kernels[ki];
  DimTable *dt = b->m->dims;
  Dim count = dim_lit(dt, 1);
  int64_t c = 1, v;
  bool small = true;
  for (int l = 0; l < k->nloops; l++) {
    count = dim_mul(dt, count, k->extent[l]);
    small = small && dim_is_lit(k->extent[l], &v) && v <= TEX_REDUCE_BLOCK && (c *= v) <= TEX_REDUCE_BLOCK;
  }
  if (small || k->nloops == 0 || kernel_indexed(k) || !reads_flat(k)) return;
  DType t = k->body[k->nbody - 1].dtype;
  Dim nb = dim_floordiv(dt, dim_add(dt, count, dim_lit(dt, TEX_REDUCE_BLOCK - 1)), TEX_REDUCE_BLOCK);
  int part = add_typed_buffer(b, t, 1, &nb, false);
  k = &b->p->kernels[ki]; /* add_typed_buffer may not move kernels, but stay safe */
  k->blocks = true;
  k->out = (KOperand){.buf = part, .dtype = t, .rank = 1, .shape = {nb}, .loop = {-1}};
  Kernel *f = add_kernel(b, K_REDUCE, n);
  k = &b->p->kernels[ki];
  f->combiner = k->combiner;
  f->unblocked = true;
  f->nloops = 1;
  f->extent[0] = nb;
  f->reduce[0] = true;
  f->in[0] = (KOperand){.buf = part, .dtype = t, .rank = 1, .shape = {nb}, .loop = {0}};
  f->ninputs = 1;
  push_instr(f, (KInstr){.op = OP_PARAM, .dtype = t, .operand = 0});
  int none[IR_MAX_RANK];
  for (int a = 0; a < IR_MAX_RANK; a++) none[a] = -1;
  set_output(f, n, buf, none);
}

/* Parallel loops over the kept axes, then reduction loops over the reduced
 * axes in row-major order: that order defines the result (lang/reference.md). */
static void build_reduce(Builder *b, const IrNode *n, int buf) {
  const IrNode *x = n->args[0];
  static const Op combiner_of[OP_COUNT] = {
      [OP_SUM] = OP_ADD, [OP_RMAX] = OP_MAX, [OP_RMIN] = OP_MIN,      [OP_PROD] = OP_MUL,
      [OP_ANY] = OP_OR,  [OP_ALL] = OP_AND,  [OP_ARGMAX] = OP_ARGMAX, [OP_ARGMIN] = OP_ARGMIN,
  };
  Kernel *k = add_kernel(b, K_REDUCE, n);
  k->combiner = combiner_of[n->op];
  unsigned mask = 0;
  for (int i = 0; i < n->attr.naxes; i++) mask |= 1u << n->attr.axes[i];
  int xloops[IR_MAX_RANK], oloops[IR_MAX_RANK], npar = 0, o = 0;
  for (int a = 0; a < x->rank; a++)
    if (!(mask & (1u << a))) k->extent[npar] = x->shape[a], xloops[a] = npar++;
  k->nloops = npar;
  for (int a = 0; a < x->rank; a++)
    if (mask & (1u << a)) {
      k->extent[k->nloops] = x->shape[a];
      k->reduce[k->nloops] = true;
      xloops[a] = k->nloops++;
    }
  for (int a = 0; a < x->rank; a++) {
    if (!(mask & (1u << a)))
      oloops[o++] = xloops[a];
    else if (n->attr.keepdims)
      oloops[o++] = -1;
  }
  operand_for(b, k, x, xloops);
  set_output(k, n, buf, oloops);
  if (npar == 0) split_blocks(b, (int)(k - b->p->kernels), n, buf);
}

/* cumsum along one axis: parallel loops over the other axes, in order, then
 * the sequential scan loop (marked a reduction loop: it carries the sum). */
static void build_scan(Builder *b, const IrNode *n, int buf) {
  const IrNode *x = n->args[0];
  Kernel *k = add_kernel(b, K_SCAN, n);
  k->combiner = OP_ADD;
  k->scan_reverse = n->op == OP_CUMSUM_REV;
  int axis = (int)n->attr.axes[0], loops[IR_MAX_RANK], npar = 0;
  for (int a = 0; a < x->rank; a++)
    if (a != axis) k->extent[npar] = x->shape[a], loops[a] = npar++;
  k->extent[npar] = x->shape[axis];
  k->reduce[npar] = true;
  loops[axis] = npar;
  k->nloops = npar + 1;
  operand_for(b, k, x, loops);
  set_output(k, n, buf, loops);
}

/* True if x, looked at through views without buffers, is a constant. */
static bool reads_immediate(const Builder *b, const IrNode *x) {
  while (is_view(x) && b->buf_of[x->id] < 0) x = x->args[0];
  return is_immediate(x);
}

/* Gives view or constant v a compact temporary of its own (once). */
static void materialise(Builder *b, const IrNode *v) {
  if (b->buf_of[v->id] >= 0) return;
  int temp = add_buffer(b, v, false);
  build_elementwise(b, v, OP_COPY, temp); /* reads through the view */
  b->buf_of[v->id] = temp;
}

/* A matmul kernel for mm: its loops and its A and B operands (in[0], in[1]);
 * ol receives the loops indexing the output's axes.  The body is the
 * epilogue, applied to the accumulator (OP_MATMUL in the body) before it is
 * stored; a plain matmul's epilogue is the accumulator itself. */
static Kernel *matmul_kernel(Builder *b, const IrNode *mm, const IrNode *at, int *ol) {
  const IrNode *x = mm->args[0], *y = mm->args[1];
  /* A and B are read through their access maps (a transposed or broadcast
   * operand is a stride, codegen/matmul.c packs it); both are read from
   * memory, so a constant or a view of one (the seed of a gradient, a zero
   * cotangent) is materialised. */
  if (reads_immediate(b, y)) materialise(b, y);
  if (reads_immediate(b, x)) materialise(b, x);
  Kernel *k = add_kernel(b, K_MATMUL, at);
  /* loops: the batch dims (parallel), m (if x is a matrix), n (if y is a
   * matrix), k (reduction).  A batch of x or y that is missing or of literal
   * extent 1 is not indexed by its loop: a stride-0 broadcast. */
  int nb, nl = 0, lm = -1, ln = -1, lk;
  Dim batch[IR_MAX_RANK];
  if (!ir_matmul_batch(x, y, &nb, batch)) ice("matmul batch dims do not broadcast");
  for (int i = 0; i < nb; i++) k->extent[nl++] = batch[i];
  if (x->rank >= 2) k->extent[lm = nl++] = x->shape[x->rank - 2];
  if (y->rank >= 2) k->extent[ln = nl++] = y->shape[y->rank - 1];
  k->extent[lk = nl] = x->shape[x->rank - 1];
  k->reduce[lk] = true;
  k->nloops = nl + 1;
  k->mm_m = lm, k->mm_n = ln, k->mm_k = lk;
  int xl[IR_MAX_RANK], yl[IR_MAX_RANK], o = 0;
  int xb = x->rank > 2 ? x->rank - 2 : 0, yb = y->rank > 2 ? y->rank - 2 : 0;
  for (int i = 0; i < xb; i++) xl[i] = i + nb - xb;
  for (int i = 0; i < yb; i++) yl[i] = i + nb - yb;
  if (x->rank >= 2) xl[xb++] = lm;
  xl[xb] = lk;
  yl[yb] = lk;
  if (y->rank >= 2) yl[yb + 1] = ln;
  for (int i = 0; i < nb; i++) ol[o++] = i;
  if (lm >= 0) ol[o++] = lm;
  if (ln >= 0) ol[o++] = ln;
  operand_for(b, k, x, xl);
  operand_for(b, k, y, yl);
  k->nbody = 0; /* the operands' loads are emitted by the matmul itself */
  return k;
}

static void build_matmul(Builder *b, const IrNode *n, int buf) {
  int ol[IR_MAX_RANK];
  Kernel *k = matmul_kernel(b, n, n, ol);
  push_instr(k, (KInstr){.op = OP_MATMUL, .dtype = n->dtype});
  set_output(k, n, buf, ol);
}

/* root's kernel is the matmul mm with root's elementwise tree as epilogue. */
static void build_matmul_epilogue(Builder *b, const IrNode *root, const IrNode *mm, int buf) {
  int ol[IR_MAX_RANK];
  Kernel *k = matmul_kernel(b, mm, root, ol);
  b->epilogue_of = mm;
  KInstr in = {.op = root->op, .dtype = root->dtype};
  for (int i = 0; i < root->nargs; i++) in.args[i] = operand_for(b, k, root->args[i], ol);
  push_instr(k, in);
  b->epilogue_of = NULL;
  set_output(k, root, buf, ol);
}

/* ---- regions: gen and scatter -------------------------------------------------
 * A region's index variables are the kernel's loops, in order.  Its body
 * becomes the kernel body: a read whose subscripts are distinct plain index
 * variables, provably in range, is an ordinary operand with an access map
 * (so views fold into it and LLVM sees unit strides); any other read is a
 * gather (OP_READ) of a buffer at computed subscripts, checked when it runs
 * unless bounds.c proves them in range. */

typedef struct RegionCtx {
  Builder *b;
  Kernel *k;
  const IrNode *node;   /* the gen or scatter */
  const IrRegion *r;
  int *instr;           /* per body node id: its instruction, or -1 */
  const int *var_loop;  /* a gen fused into its consumer: the consumer's loop of
                           each index variable (-1: index 0); NULL: variable k is loop k */
  int pred;             /* the predicate of the branch of where being built, or -1 */
  PtrVec memos;         /* int*: instructions built under each enclosing predicate */
  signed char *reads;   /* per body node id: 1 if its value depends on a read, 2 if not */
  PtrVec conds;         /* const IrNode *: the enclosing where conditions that hold (bounds.c) */
} RegionCtx;

static int var_loop(const RegionCtx *c, int k) { return c->var_loop ? c->var_loop[k] : k; }

/* Index variable k's value: its loop's counter. */
static int var_instr(RegionCtx *c, int k) {
  int l = var_loop(c, k);
  return push_instr(c->k, l < 0 ? (KInstr){.op = OP_CONST, .dtype = DT_I64} : (KInstr){.op = OP_INDEX, .dtype = DT_I64, .i = l});
}

static int region_instr(RegionCtx *c, const IrNode *x);

/* "argument 'E' (#1)" or "the value of model.tex:3:5": for messages. */
static const char *describe(Builder *b, const IrNode *x) {
  while (is_view(x)) x = x->args[0];
  if (x->op == OP_PARAM) return arena_printf(&b->m->arena, "argument '%s' (#%lld)", x->name, (long long)x->attr.i + 1);
  return arena_printf(&b->m->arena, "the value of %s:%d:%d", x->loc.file ? x->loc.file : "?", x->loc.line, x->loc.col);
}

/* The loops a read's subscripts name if they are distinct plain index
 * variables, each provably within its axis; else false. */
static bool plain_read(RegionCtx *c, const IrNode *rd, const IrNode *x, int *loops) {
  unsigned seen = 0;
  for (int a = 0; a < rd->nargs; a++) {
    const IrNode *s = rd->args[a];
    if (s->op != OP_PARAM || (seen >> s->attr.i & 1) || !bounds_in_range(c->b->m, c->r, s, x->shape[a])) return false;
    seen |= 1u << s->attr.i;
    loops[a] = var_loop(c, (int)s->attr.i);
  }
  return true;
}

/* TEXC_UNCHECKED_GATHERS=1 drops every run-time subscript check: for
 * measuring what the checks cost only (ARCHITECTURE.md), never for users. */
static bool unchecked_gathers(void) {
  const char *v = getenv("TEXC_UNCHECKED_GATHERS");
  return v && strcmp(v, "1") == 0;
}

static void add_check(RegionCtx *c, KInstr *in, int axis, const IrNode *x, const IrNode *sub, const IrNode *rd) {
  Kernel *k = c->k;
  Builder *b = c->b;
  if (unchecked_gathers()) return;
  if (!in->check) in->check_id = k->nchecks;
  in->check |= 1u << axis;
  k->checks = tex_realloc(k->checks, sizeof(KCheck) * (size_t)(k->nchecks + 1));
  KCheck *ck = &k->checks[k->nchecks++];
  memset(ck, 0, sizeof *ck);
  ck->axis = axis;
  ck->extent = x->shape[axis];
  ck->array = describe(b, x);
  while (sub->op == OP_CAST && dtype_is_int(sub->args[0]->dtype)) sub = sub->args[0];
  if (sub->op == OP_READ) { /* an index array: name it and its position */
    const IrNode *idx = c->node->args[sub->attr.i], *p = idx;
    while (is_view(p)) p = p->args[0];
    /* "index array 'y' (#4): y[17]", "index array (the value of m.tex:3:5): index[2]"; a scalar
     * index has no position: "index 'k' (#2)", "index (the value of m.tex:3:5)" */
    if (idx->rank == 0)
      ck->what = p->op == OP_PARAM ? arena_printf(&b->m->arena, "index '%s' (#%lld)", p->name, (long long)p->attr.i + 1)
                                   : arena_printf(&b->m->arena, "index (%s)", describe(b, idx));
    else
      ck->what = p->op == OP_PARAM ? arena_printf(&b->m->arena, "index array '%s' (#%lld): %s", p->name, (long long)p->attr.i + 1, p->name)
                                   : arena_printf(&b->m->arena, "index array (%s): index", describe(b, idx));
    ck->nwhere = sub->nargs;
    for (int a = 0; a < sub->nargs; a++) ck->where[a] = region_instr(c, sub->args[a]);
    return;
  }
  ck->what = arena_printf(&b->m->arena, "index at %s:%d:%d", rd->loc.file ? rd->loc.file : "?", rd->loc.line, rd->loc.col);
  char names[256] = "";
  size_t len = 0;
  for (int l = 0; l < c->r->nidx && l <= IR_MAX_RANK; l++) {
    len += (size_t)snprintf(names + len, sizeof names - len, "%s%s", l ? "," : "", c->r->body->params[l]->name);
    if (len >= sizeof names) len = sizeof names - 1;
    ck->where[ck->nwhere++] = var_instr(c, l);
  }
  ck->where_names = arena_strdup(&b->m->arena, names);
}

/* A read at computed subscripts: a gathered operand (a buffer; views are
 * composed into the subscripts, constants need no load). */
static int gather(RegionCtx *c, const IrNode *rd, const IrNode *x, int *subs, const IrNode **subnodes) {
  Builder *b = c->b;
  while (is_view(x) && b->buf_of[x->id] < 0) {
    const IrNode *y = x->args[0];
    int ys[IR_MAX_RANK];
    const IrNode *yn[IR_MAX_RANK];
    for (int a = 0; a < y->rank; a++) {
      int from = x->op == OP_TRANSPOSE ? -1 : x->op == OP_STOP_GRADIENT ? a : (int)x->attr.axes[a];
      for (int i = 0; x->op == OP_TRANSPOSE && i < x->rank; i++)
        if (x->attr.axes[i] == a) from = i;
      bool one = x->op == OP_BROADCAST && dim_is_one(y->shape[a]);
      ys[a] = one ? push_instr(c->k, (KInstr){.op = OP_CONST, .dtype = DT_I64}) : subs[from];
      yn[a] = one ? NULL : subnodes[from];
    }
    memcpy(subs, ys, sizeof(int) * (size_t)y->rank);
    memcpy(subnodes, yn, sizeof(IrNode *) * (size_t)y->rank);
    x = y;
  }
  if (is_immediate(x))
    return push_instr(c->k, (KInstr){.op = x->op, .dtype = x->dtype, .f = x->attr.f, .i = x->attr.i, .dim = x->attr.dim});
  if (b->buf_of[x->id] < 0) ice("gathered value %%%d has no buffer", x->id);
  Kernel *k = c->k;
  int j = 0;
  while (j < k->ninputs && !(k->in[j].gathered && k->in[j].buf == b->buf_of[x->id])) j++;
  if (j == k->ninputs) {
    if (k->ninputs == K_MAX_INPUTS) ice("kernel with more than %d inputs", K_MAX_INPUTS);
    KOperand *o = &k->in[k->ninputs++];
    memset(o, 0, sizeof *o);
    o->buf = b->buf_of[x->id], o->dtype = x->dtype, o->rank = x->rank, o->gathered = true;
    memcpy(o->shape, x->shape, sizeof(Dim) * (size_t)x->rank);
  }
  KInstr in = {.op = OP_READ, .dtype = x->dtype, .operand = j, .nsub = x->rank, .pred1 = c->pred + 1};
  memcpy(in.sub, subs, sizeof(int) * (size_t)x->rank);
  for (int a = 0; a < x->rank; a++)
    if (!subnodes[a] || !bounds_in_range_under(b->m, c->r, subnodes[a], x->shape[a], (const IrNode *const *)c->conds.items, c->conds.len)) {
      if (subnodes[a]) add_check(c, &in, a, x, subnodes[a], rd);
    }
  return push_instr(k, in);
}

static int region_read(RegionCtx *c, const IrNode *rd) {
  const IrNode *x = c->node->args[rd->attr.i];
  int loops[IR_MAX_RANK], subs[IR_MAX_RANK];
  const IrNode *subnodes[IR_MAX_RANK];
  if (plain_read(c, rd, x, loops)) return operand_for(c->b, c->k, x, loops);
  for (int a = 0; a < rd->nargs; a++) subs[a] = region_instr(c, rd->args[a]), subnodes[a] = rd->args[a];
  return gather(c, rd, x, subs, subnodes);
}

/* The instruction computing body node x (built once, operands first). */
/* Whether x's value depends on a read of an array. */
static bool depends_on_read(RegionCtx *c, const IrNode *x) {
  if (!c->reads[x->id]) {
    bool any = x->op == OP_READ;
    for (int a = 0; a < x->nargs && !any; a++) any = depends_on_read(c, x->args[a]);
    c->reads[x->id] = any ? 1 : 2;
  }
  return c->reads[x->id] == 1;
}

/* The instruction already built for x here: in this branch, or outside it. */
static int memo_find(RegionCtx *c, const IrNode *x) {
  for (int l = c->memos.len - 1; l >= 0; l--) {
    int v = ((int *)c->memos.items[l])[x->id];
    if (v >= 0) return v;
  }
  return c->instr[x->id];
}

static int region_instr_new(RegionCtx *c, const IrNode *x);

/* x built under the predicate cond (negated): its reads happen only where
 * the predicate holds (and any enclosing one). */
static int region_under(RegionCtx *c, const IrNode *x, int cond, const IrNode *cond_node, bool negate) {
  int p = negate ? push_instr(c->k, (KInstr){.op = OP_NOT, .dtype = DT_BOOL, .args = {cond}}) : cond;
  if (c->pred >= 0) p = push_instr(c->k, (KInstr){.op = OP_AND, .dtype = DT_BOOL, .args = {c->pred, p}});
  int *memo = tex_calloc((size_t)c->r->body->body.len + 1, sizeof(int)), outer = c->pred;
  for (int i = 0; i < c->r->body->body.len; i++) memo[i] = -1;
  vec_push(&c->memos, memo);
  c->pred = p;
  if (!negate) vec_push(&c->conds, (void *)cond_node);
  int v = region_instr(c, x);
  if (!negate) c->conds.len--;
  c->pred = outer;
  c->memos.len--;
  tex_free(memo);
  return v;
}

/* The instruction computing body node x (built once per branch, operands
 * first).  The branches of a where that read arrays are built under its
 * condition, so a subscript in the branch not taken is not read. */
static int region_instr(RegionCtx *c, const IrNode *x) {
  int v = memo_find(c, x);
  if (v >= 0) return v;
  v = region_instr_new(c, x);
  if (c->pred >= 0)
    ((int *)c->memos.items[c->memos.len - 1])[x->id] = v;
  else
    c->instr[x->id] = v;
  return v;
}

static int region_instr_new(RegionCtx *c, const IrNode *x) {
  if (x->op == OP_PARAM) return var_instr(c, (int)x->attr.i);
  if (x->op == OP_READ) return region_read(c, x);
  if (is_immediate(x))
    return push_instr(c->k, (KInstr){.op = x->op, .dtype = x->dtype, .f = x->attr.f, .i = x->attr.i, .dim = x->attr.dim});
  KInstr in = {.op = x->op, .dtype = x->dtype};
  if (x->op == OP_SELECT && (depends_on_read(c, x->args[1]) || depends_on_read(c, x->args[2]))) {
    in.args[0] = region_instr(c, x->args[0]);
    in.args[1] = region_under(c, x->args[1], in.args[0], x->args[0], false);
    in.args[2] = region_under(c, x->args[2], in.args[0], x->args[0], true);
    return push_instr(c->k, in);
  }
  for (int a = 0; a < x->nargs; a++) in.args[a] = region_instr(c, x->args[a]);
  return push_instr(c->k, in);
}

static void ctx_init(RegionCtx *c, Builder *b, Kernel *k, const IrNode *n, const int *loops) {
  const IrRegion *r = n->attr.region;
  ir_renumber(r->body);
  size_t len = (size_t)r->body->body.len + 1;
  *c = (RegionCtx){b, k, n, r, tex_calloc(len, sizeof(int)), loops, -1, {0}, tex_calloc(len, 1), {0}};
  for (int i = 0; i < r->body->body.len; i++) c->instr[i] = -1;
}

static void ctx_free(RegionCtx *c) {
  tex_free(c->instr);
  tex_free(c->reads);
  vec_free(&c->memos);
  vec_free(&c->conds);
}

/* A gen without reductions computed inside its consumer's kernel: its index
 * variables are the consumer's loops that index its axes. */
static int inline_gen(Builder *b, Kernel *k, const IrNode *g, const int *loops) {
  const IrRegion *r = g->attr.region;
  b->kernel_of[g->id] = (int)(k - b->p->kernels);
  RegionCtx c;
  ctx_init(&c, b, k, g, loops);
  int v = region_instr(&c, ir_resolve(r->body->results[0]));
  ctx_free(&c);
  return v;
}

static Kernel *region_kernel(Builder *b, const IrNode *n, KernelKind kind, RegionCtx *c) {
  const IrRegion *r = n->attr.region;
  Kernel *k = add_kernel(b, kind, n);
  k->nloops = r->nidx;
  for (int l = 0; l < r->nidx; l++) k->extent[l] = r->extent[l], k->reduce[l] = kind == K_REDUCE && l >= n->rank;
  ctx_init(c, b, k, n, NULL);
  return k;
}

static void build_gen(Builder *b, const IrNode *n, int buf) {
  const IrRegion *r = n->attr.region;
  RegionCtx c;
  Kernel *k = region_kernel(b, n, r->nidx > n->rank ? K_REDUCE : K_MAP, &c);
  k->combiner = r->reduce == OP_SUM ? OP_ADD : r->reduce == OP_RMAX ? OP_MAX : OP_MIN;
  int v = region_instr(&c, ir_resolve(r->body->results[0]));
  if (v != k->nbody - 1) push_instr(k, (KInstr){.op = OP_COPY, .dtype = n->dtype, .args = {v}}); /* the result is last */
  int loops[IR_MAX_RANK];
  for (int a = 0; a < n->rank; a++) loops[a] = a;
  set_output(k, n, buf, loops);
  ctx_free(&c);
}

/* The output is zeroed, then every point adds its value at its subscripts. */
static void build_scatter(Builder *b, const IrNode *n, int buf) {
  const IrRegion *r = n->attr.region;
  Kernel *zero = add_kernel(b, K_MAP, n);
  int loops[IR_MAX_RANK];
  identity_loops(zero, n, loops);
  push_instr(zero, (KInstr){.op = OP_CONST, .dtype = n->dtype});
  set_output(zero, n, buf, loops);
  RegionCtx c;
  Kernel *k = region_kernel(b, n, K_SCATTER, &c);
  KInstr st = {.op = OP_SCATTER, .dtype = n->dtype, .nsub = n->rank};
  /* a value where(c, v, 0) adds only where c holds: nothing is computed,
   * read, checked or written elsewhere (the gradient of a guarded read) */
  const IrNode *v = ir_resolve(r->body->results[0]);
  int cond = -1;
  if (v->op == OP_SELECT && v->args[2]->op == OP_CONST && v->args[2]->attr.f == 0 && v->args[2]->attr.i == 0) {
    c.pred = cond = region_instr(&c, v->args[0]);
    int *memo = tex_calloc((size_t)r->body->body.len + 1, sizeof(int));
    for (int i = 0; i < r->body->body.len; i++) memo[i] = -1;
    vec_push(&c.memos, memo);
    vec_push(&c.conds, (void *)v->args[0]);
    v = v->args[1];
  }
  st.args[0] = region_instr(&c, v);
  IrNode *subn[IR_MAX_RANK];
  for (int a = 0; a < n->rank; a++) subn[a] = ir_resolve(r->body->results[a + 1]), st.sub[a] = region_instr(&c, subn[a]);
  for (int a = 0; a < n->rank; a++)
    if (!bounds_in_range(b->m, r, subn[a], n->shape[a])) add_check(&c, &st, a, n, subn[a], subn[a]);
  st.pred1 = c.pred + 1;
  push_instr(k, st);
  set_output(k, n, buf, loops);
  k->out.gathered = true;
  if (c.memos.len) tex_free(c.memos.items[0]);
  ctx_free(&c);
}

static void build_node(Builder *b, const IrNode *n, int buf) {
  b->kernel_of[n->id] = b->p->nkernels;
  if (b->epilogue[n->id]) b->kernel_of[b->epilogue[n->id]->id] = b->p->nkernels;
  if (b->epilogue[n->id])
    build_matmul_epilogue(b, n, b->epilogue[n->id], buf);
  else if (op_info[n->op].flags & F_ELEM)
    build_elementwise(b, n, n->op, buf);
  else if (op_info[n->op].flags & F_REDUCE)
    build_reduce(b, n, buf);
  else if (n->op == OP_MATMUL)
    build_matmul(b, n, buf);
  else if (n->op == OP_GEN)
    build_gen(b, n, buf);
  else if (n->op == OP_SCATTER)
    build_scatter(b, n, buf);
  else if (op_info[n->op].shape == SHAPE_SCAN)
    build_scan(b, n, buf);
  else
    ice("no kernel for op %s", op_info[n->op].name);
}

/* A reshape is its operand's buffer read with the reshape's shape (both are
 * compact row-major, so the elements are the same): it gets no kernel and
 * no memory of its own.  An operand without a buffer (a view, a constant)
 * is materialised once first; reading the alias keeps that buffer alive. */
static void alias_reshape(Builder *b, const IrNode *n) {
  const IrNode *x = n->args[0];
  if (b->buf_of[x->id] < 0) materialise(b, x);
  b->buf_of[n->id] = b->buf_of[x->id];
}

/* In-place parameters are written back last, after every kernel that reads
 * them: the value is computed into a temporary and copied at the end.  A
 * value without a buffer of its own (a view, a parameter) is first
 * materialised, so a copy never reads the buffer it writes. */
static void write_back_updates(Builder *b, int nvalues) {
  IrFunc *f = b->f;
  for (int u = 0; u < f->nupdates; u++) {
    IrNode *v = f->results[nvalues + u];
    int param_buf = b->buf_of[f->params[f->update_param[u]]->id];
    if (b->buf_of[v->id] == param_buf) continue; /* W = W */
    int src = b->buf_of[v->id];
    if (src < 0 || is_view(v)) {
      src = add_buffer(b, v, false);
      build_elementwise(b, v, OP_COPY, src);
    }
    Kernel *k = add_kernel(b, K_MAP, v);
    int loops[IR_MAX_RANK];
    identity_loops(k, v, loops);
    KOperand *o = &k->in[k->ninputs];
    set_output(k, v, src, loops); /* the same map, used as the input */
    *o = k->out;
    KInstr load = {.op = OP_PARAM, .dtype = v->dtype, .operand = k->ninputs++};
    KInstr copy = {.op = OP_COPY, .dtype = v->dtype, .args = {push_instr(k, load)}};
    push_instr(k, copy);
    set_output(k, v, param_buf, loops);
  }
}

/* Follows views from an operand to the value it reads; *repeats is set if a
 * broadcast on the way repeats values, *shared if a view has other users. */
static const IrNode *producer_of(const IrNode *x, bool *repeats, bool *shared) {
  *repeats = *shared = false;
  while (is_view(x)) {
    *shared = *shared || x->uses > 1;
    if (x->op == OP_BROADCAST) {
      const IrNode *y = x->args[0];
      for (int i = 0; i < x->rank; i++) {
        bool mapped = false;
        for (int a = 0; a < y->rank; a++)
          mapped = mapped || (x->attr.axes[a] == i && !(dim_is_one(y->shape[a]) && !dim_is_one(x->shape[i])));
        *repeats = *repeats || (!mapped && !dim_is_one(x->shape[i]));
      }
    }
    x = x->args[0];
  }
  return x;
}

/* A matmul used once, directly (no view between), by an elementwise op of
 * its dtype can take that op as its epilogue: the accumulator is finished
 * and stored once, without a round trip through memory. */
static bool matmul_feeds_epilogue(const IrNode *c, const IrNode *arg) {
  return arg->op == OP_MATMUL && arg->uses == 1 && (op_info[c->op].flags & F_ELEM) && c->dtype == arg->dtype && c->rank == arg->rank;
}

/* Collects the matmuls in the fused tree under x (through fused values
 * only); *views is set if a view lies on the way to one. */
static void fused_matmuls(const Builder *b, const IrNode *x, bool through_view, bool *views, PtrVec *found) {
  for (int a = 0; a < x->nargs; a++) {
    const IrNode *p = x->args[a];
    bool view = through_view;
    while (is_view(p)) view = true, p = p->args[0];
    if (!b->fused[p->id]) continue;
    if (p->op == OP_MATMUL) {
      *views = *views || view;
      vec_push(found, (void *)p);
    } else {
      fused_matmuls(b, p, view, views, found);
    }
  }
}

/* Fusion never gives a kernel more than K_MAX_INPUTS operands.  Each value
 * carries the set of operands its fused tree would read, keyed by the
 * argument node read (a view or a value: the same key is the same access, so
 * the count is exact or an overcount); a producer whose set would take its
 * consumer over the limit is materialised instead, and the group splits
 * there (17 parameters added together are two kernels).  So does a fused
 * tree deeper than K_MAX_FUSED_DEPTH: building a body recurses once per
 * level, and a chain of 40,000 operations becomes a few hundred kernels. */
typedef struct Reads {
  const IrNode *key[K_MAX_INPUTS];
  int n;
  int fixed;   /* operands shared with no other read: a fused matmul's A and
                  B, and what a tree fused through a view reads (at other
                  indices than the same key read directly) */
  int depth;   /* of the fused tree: building its body recurses this deep */
} Reads;

static bool reads_has(const Reads *r, const IrNode *key) {
  for (int i = 0; i < r->n; i++)
    if (r->key[i] == key) return true;
  return false;
}

/* True if r with add's keys and `reserve` more still fits a kernel. */
static bool reads_fit(const Reads *r, const Reads *add, int reserve) {
  if (add->depth + 1 > K_MAX_FUSED_DEPTH) return false;
  int n = r->n + r->fixed + add->fixed + reserve;
  for (int i = 0; i < add->n; i++) n += !reads_has(r, add->key[i]);
  return n <= K_MAX_INPUTS;
}

static void reads_add(Reads *r, const IrNode *key) {
  if (!reads_has(r, key)) r->key[r->n++] = key;
}

static void reads_union(Reads *r, const Reads *add) {
  for (int i = 0; i < add->n; i++) reads_add(r, add->key[i]);
  r->fixed += add->fixed;
  if (r->depth < add->depth + 1) r->depth = add->depth + 1;
}

/* What consumer c's kernel reads for its argument a, which is not fused:
 * nothing for a constant, else one operand. */
static void read_arg(Reads *r, const IrNode *arg) {
  const IrNode *x = arg;
  while (is_view(x)) x = x->args[0];
  if (!is_immediate(x)) reads_add(r, arg);
}

/* Ops whose kernel computes fused producers in its body: elementwise ops,
 * reductions, scans and gens. */
static bool hosts_fusion(const IrNode *c) {
  return (op_info[c->op].flags & (F_ELEM | F_REDUCE)) || op_info[c->op].shape == SHAPE_SCAN || c->op == OP_GEN;
}

static bool gen_reduces(const IrNode *g) { return g->op == OP_GEN && g->attr.region->nidx > g->rank; }

/* A gen reads operand a exactly once, at distinct plain index variables
 * spanning its whole index space, each over exactly that axis: a producer
 * computed there is computed once per point, as in an elementwise op. */
static bool gen_reads_once_everywhere(const IrNode *g, int a) {
  const IrRegion *r = g->attr.region;
  const IrNode *x = g->args[a], *only = NULL;
  for (int i = 0; i < r->body->body.len; i++) {
    const IrNode *rd = r->body->body.items[i];
    if (rd->op != OP_READ || rd->attr.i != a) continue;
    if (only) return false;
    only = rd;
  }
  if (!only || x->rank != r->nidx) return false;
  unsigned seen = 0;
  for (int k = 0; k < only->nargs; k++) {
    const IrNode *v = only->args[k];
    if (v->op != OP_PARAM || (seen >> v->attr.i & 1) || r->extent[v->attr.i] != x->shape[k]) return false;
    seen |= 1u << v->attr.i;
  }
  return true;
}

/* Whether c's kernel computes producer p (reached from argument a through
 * views) in its body.  A gen without reductions is fused like an
 * elementwise op, but only into elementwise consumers: in a reduction its
 * loop counters and gathers would make the reduction scalar. */
static bool can_fuse(const IrNode *c, int a, const IrNode *arg, const IrNode *p, bool repeats, bool shared) {
  if (matmul_feeds_epilogue(c, arg)) return true;
  if (is_view(p) || p->uses != 1 || repeats || shared) return false;
  if (c->op == OP_GEN) return (op_info[p->op].flags & F_ELEM) && arg == p && gen_reads_once_everywhere(c, a);
  if (p->op == OP_GEN) return !gen_reduces(p) && (op_info[c->op].flags & F_ELEM);
  return op_info[p->op].flags & F_ELEM;
}

/* Marks the values computed inside their only consumer. */
static void mark_fusion(Builder *b) {
  IrFunc *f = b->f;
  ir_count_uses(f);
  const IrNode **into = tex_calloc((size_t)f->body.len + 1, sizeof(IrNode *)); /* the consumer a value is fused into */
  for (int i = 0; i < f->body.len; i++) {
    const IrNode *c = f->body.items[i];
    if (!hosts_fusion(c) || is_view(c)) continue;
    Reads *rc = &b->reads[c->id];
    for (int a = 0; a < c->nargs; a++) {
      bool repeats, shared;
      const IrNode *arg = c->args[a], *p = producer_of(arg, &repeats, &shared);
      int reserve = c->nargs - a - 1; /* each later argument may read one operand */
      Reads mm = {{0}, 0, 2, 0}, via_view = b->reads[p->id];
      if (arg != p) via_view.fixed += via_view.n, via_view.n = 0; /* read at other indices */
      const Reads *rp = matmul_feeds_epilogue(c, arg) ? &mm : &via_view;
      if (can_fuse(c, a, arg, p, repeats, shared) && reads_fit(rc, rp, reserve)) {
        b->fused[p->id] = true;
        into[p->id] = c;
        reads_union(rc, rp);
      } else {
        read_arg(rc, arg);
      }
    }
  }
  /* A kernel hosts at most one matmul, as the epilogue of an elementwise
   * root reached without views; any other matmul gets its own kernel. */
  PtrVec found = {0};
  for (int i = f->body.len - 1; i >= 0; i--) {
    const IrNode *root = f->body.items[i];
    if (b->fused[i] || !hosts_fusion(root)) continue;
    bool views = false;
    found.len = 0;
    fused_matmuls(b, root, false, &views, &found);
    if (found.len == 0) continue;
    const IrNode *mm = found.items[0];
    bool ok = found.len == 1 && !views && (op_info[root->op].flags & F_ELEM) && root->dtype == mm->dtype && root->rank == mm->rank;
    if (ok) b->epilogue[root->id] = mm;
    for (int j = 0; j < found.len && !ok; j++) b->fused[((const IrNode *)found.items[j])->id] = false;
  }
  vec_free(&found);
  /* A gen whose chain of consumers ends in a reduction gets its own kernel
   * (its reads count as one operand there: never more than before). */
  for (int i = 0; i < f->body.len; i++) {
    const IrNode *g = f->body.items[i], *root = g;
    if (g->op != OP_GEN || !b->fused[i]) continue;
    while (b->fused[root->id] && into[root->id]) root = into[root->id];
    if (!(op_info[root->op].flags & F_ELEM)) b->fused[i] = false;
  }
  tex_free(into);
}

/* ---- memory planning ---------------------------------------------------------
 * A temporary takes over the memory of an earlier one of the same byte size
 * whose value is dead before the kernel that writes it, or, for an
 * elementwise kernel, the memory of an input that dies in that kernel and is
 * read only at the element being written (in place: each element is read
 * before it is overwritten, and nothing reads it again). */

static Dim buffer_bytes(IrModule *m, const KBuffer *kb) {
  Dim bytes = dim_lit(m->dims, dtype_sizes[kb->dtype]);
  for (int a = 0; a < kb->rank; a++) bytes = dim_mul(m->dims, bytes, kb->shape[a]);
  return bytes;
}

static bool same_access(const KOperand *a, const KOperand *b) {
  if (a->rank != b->rank || a->dtype != b->dtype) return false;
  for (int i = 0; i < a->rank; i++)
    if (a->shape[i] != b->shape[i] || a->loop[i] != b->loop[i]) return false;
  return true;
}

/* The input operand of map kernel k whose temporary the output can
 * overwrite: its value dies here (last use k), and every operand reading it
 * reads exactly the element being written. */
static int inplace_operand(const KProgram *p, const Kernel *k, int kidx, const int *last) {
  if (k->kind != K_MAP || k->out.buf < p->nparams) return -1;
  for (int j = 0; j < k->ninputs; j++) {
    int s = k->in[j].buf;
    bool ok = s >= p->nparams && s < k->out.buf && last[s] == kidx && !p->bufs[s].repointed; /* only an earlier one's memory */
    for (int i = 0; i < k->ninputs && ok; i++) ok = k->in[i].buf != s || (!k->in[i].gathered && same_access(&k->in[i], &k->out));
    if (ok) return j;
  }
  return -1;
}

/* Renumbers the temporaries in the order kernels first write them (a view
 * copied for a matmul gets its buffer late, after the matmul's own): plan_memory
 * walks them in index order as if it were time, and the runtime lets a
 * temporary take over only an earlier one's memory. */
static void order_temporaries(KProgram *p) {
  int n = p->nbufs, nt = 0;
  int *when = tex_calloc((size_t)n + 1, sizeof(int)), *order = tex_calloc((size_t)n + 1, sizeof(int));
  int *to = tex_calloc((size_t)n + 1, sizeof(int));
  for (int t = 0; t < n; t++) when[t] = p->nkernels;
  for (int k = p->nkernels - 1; k >= 0; k--) when[p->kernels[k].out.buf] = k;
  for (int i = 0; i < p->nloops; i++) { /* written by the runtime when the loop starts */
    const KLoop *l = &p->loops[i];
    for (int j = 0; j < l->nouts; j++)
      if (when[l->stack[j]] > l->first) when[l->stack[j]] = l->first;
    if (when[l->index] > l->first) when[l->index] = l->first;
    for (int k = 0; l->snaps && k < l->nprim; k++)
      if (when[l->snap[k]] > l->first) when[l->snap[k]] = l->first;
  }
  for (int t = p->nparams; t < n; t++) order[nt++] = t;
  for (int i = 1; i < nt; i++) /* stable insertion sort by first write */
    for (int j = i; j > 0 && when[order[j - 1]] > when[order[j]]; j--) {
      int x = order[j];
      order[j] = order[j - 1], order[j - 1] = x;
    }
  for (int t = 0; t < n; t++) to[t] = t;
  for (int i = 0; i < nt; i++) to[order[i]] = p->nparams + i;
  KBuffer *bufs = tex_calloc((size_t)n + 1, sizeof(KBuffer));
  for (int t = 0; t < n; t++) bufs[to[t]] = p->bufs[t];
  memcpy(p->bufs, bufs, sizeof(KBuffer) * (size_t)n);
  for (int k = 0; k < p->nkernels; k++) {
    for (int j = 0; j < p->kernels[k].ninputs; j++) p->kernels[k].in[j].buf = to[p->kernels[k].in[j].buf];
    p->kernels[k].out.buf = to[p->kernels[k].out.buf];
  }
  for (int i = 0; i < p->nbranches; i++) {
    KBranch *br = &p->branches[i];
    br->cond = to[br->cond];
    for (int k = 0; k < br->nvalues; k++) br->res[k] = to[br->res[k]];
  }
  for (int i = 0; i < p->nloops; i++) {
    KLoop *l = &p->loops[i];
    l->trip = to[l->trip], l->index = to[l->index];
    for (int k = 0; k < l->nstates; k++) l->cur[k] = to[l->cur[k]], l->next[k] = to[l->next[k]];
    for (int j = 0; j < l->nouts; j++) l->slot[j] = to[l->slot[j]], l->stack[j] = to[l->stack[j]];
    for (int k = 0; l->snaps && k < l->nprim; k++) l->snap[k] = to[l->snap[k]];
  }
  tex_free(bufs);
  tex_free(to);
  tex_free(order);
  tex_free(when);
}

static void loop_liveness(const KProgram *p, int *first, int *last);
static void branch_liveness(const KProgram *p, int *first, int *last);

/* The state buffer cur[0] of the one-kernel loop whose next[0] is t, or -1:
 * that loop never touches next[0], which takes no memory of its own. */
static int once_cur(const KProgram *p, int t) {
  for (int i = 0; i < p->nloops; i++)
    if (p->loops[i].once && p->loops[i].next[0] == t && p->loops[i].cur[0] < t) return p->loops[i].cur[0];
  return -1;
}

static void plan_memory(Builder *b) {
  KProgram *p = b->p;
  int n = p->nbufs;
  int *first = tex_calloc((size_t)n + 1, sizeof(int)), *last = tex_calloc((size_t)n + 1, sizeof(int));
  for (int t = 0; t < n; t++) first[t] = -1, last[t] = -1;
  for (int k = 0; k < p->nkernels; k++) {
    const Kernel *kk = &p->kernels[k];
    for (int j = 0; j < kk->ninputs; j++) last[kk->in[j].buf] = k;
    if (first[kk->out.buf] < 0) first[kk->out.buf] = k;
    if (last[kk->out.buf] < k) last[kk->out.buf] = k;
  }
  loop_liveness(p, first, last);
  branch_liveness(p, first, last);
  kernels_rows_liveness(p, first, last);
  /* free_after[slot]: the last kernel using the memory of leader slot */
  int *free_after = tex_calloc((size_t)n + 1, sizeof(int));
  for (int t = p->nparams; t < n; t++) {
    KBuffer *kb = &p->bufs[t];
    if (kb->repointed) { /* its writes go to a stack: its own memory is never shared with it */
      free_after[t] = last[t];
      continue;
    }
    int c = once_cur(p, t);
    if (c >= 0) {
      kb->reuses = p->bufs[c].reuses >= 0 ? p->bufs[c].reuses : c;
      continue;
    }
    Kernel *writer = first[t] >= 0 ? &p->kernels[first[t]] : NULL;
    int j = writer && writer->out.buf == t ? inplace_operand(p, writer, first[t], last) : -1;
    if (j >= 0) {
      int s = writer->in[j].buf, slot = p->bufs[s].reuses >= 0 ? p->bufs[s].reuses : s;
      writer->inplace = j;
      kb->reuses = slot;
      free_after[slot] = last[t];
      continue;
    }
    Dim bytes = buffer_bytes(b->m, kb);
    for (int s = p->nparams; s < t && first[t] >= 0; s++) {
      if (p->bufs[s].reuses >= 0 || buffer_bytes(b->m, &p->bufs[s]) != bytes || free_after[s] >= first[t]) continue;
      kb->reuses = s;
      free_after[s] = last[t];
      break;
    }
    if (kb->reuses < 0) free_after[t] = last[t];
  }
  tex_free(free_after);
  tex_free(last);
  tex_free(first);
}

/* The size symbols of f in ABI order: first appearance in the params. */
static void collect_symbols(Builder *b) {
  int nsyms = dim_nsymbols(b->m->dims);
  b->p->syms = tex_calloc((size_t)nsyms + 1, sizeof(int));
  for (int i = 0; i < b->f->nparams; i++)
    for (int d = 0; d < b->f->params[i]->rank; d++) {
      int s = dim_as_sym(b->f->params[i]->shape[d]);
      bool seen = false;
      for (int j = 0; j < b->p->nsyms; j++) seen = seen || b->p->syms[j] == s;
      if (s >= 0 && !seen) b->p->syms[b->p->nsyms++] = s;
    }
}

/* A builder for f's nodes, writing into p. */
static void builder_open(Builder *b, IrModule *m, IrFunc *f, KProgram *p, int *kcap, int *bcap) {
  ir_renumber(f);
  *b = (Builder){.m = m, .f = f, .p = p, .kcap = kcap, .bcap = bcap};
  size_t n = (size_t)f->body.len + 1;
  b->buf_of = tex_calloc(n, sizeof(int));
  b->fused = tex_calloc(n, sizeof(bool));
  b->kernel_of = tex_calloc(n, sizeof(int));
  b->epilogue = tex_calloc(n, sizeof(IrNode *));
  b->reads = tex_calloc(n, sizeof(Reads));
  for (int i = 0; i < f->body.len; i++) b->buf_of[i] = -1, b->kernel_of[i] = -1;
}

static void builder_close(Builder *b) {
  tex_free(b->fused);
  tex_free(b->epilogue);
  tex_free(b->reads);
  tex_free(b->buf_of);
  if (b->kernel_of != b->p->kernel_of) tex_free(b->kernel_of);
}

/* Results computed by a kernel write straight into their buffer (an output,
 * or a loop's next state); params, views, constants, loops and repeated
 * results are copied there after the nodes (finish_results). */
static void claim_results(Builder *b, const int *result_buf, int n) {
  for (int r = 0; r < n; r++) {
    const IrNode *x = b->f->results[r];
    bool direct = x->op != OP_PARAM && x->op != OP_RESHAPE && x->op != OP_LOOP && x->op != OP_IF && x->op != OP_PROJ && !is_view(x) &&
                  !is_immediate(x);
    if (b->buf_of[x->id] < 0 && direct && result_buf[r] >= 0) b->buf_of[x->id] = result_buf[r];
  }
}

static void finish_results(Builder *b, const int *result_buf, int n) {
  for (int r = 0; r < n; r++)
    if (result_buf[r] >= 0 && b->buf_of[b->f->results[r]->id] != result_buf[r]) /* < 0: a revolve body's state kept */
      build_elementwise(b, b->f->results[r], OP_COPY, result_buf[r]);
}

static void build_loop(Builder *b, const IrNode *n);
static void build_if(Builder *b, const IrNode *n);

static void build_nodes(Builder *b) {
  IrFunc *f = b->f;
  for (int i = 0; i < f->body.len; i++) {
    IrNode *n = f->body.items[i];
    if (n->op == OP_PARAM || is_view(n) || is_immediate(n) || b->fused[i]) continue;
    if (n->op == OP_RESHAPE) {
      alias_reshape(b, n);
      continue;
    }
    if (n->op == OP_LOOP) {
      build_loop(b, n);
      continue;
    }
    if (n->op == OP_IF) {
      build_if(b, n);
      continue;
    }
    if (n->op == OP_PROJ) { /* a loop's state k: its current-state buffer; an if's value k: its result buffer */
      b->buf_of[i] = b->buf_of[n->args[0]->id] + (int)n->attr.i;
      continue;
    }
    if (b->buf_of[i] < 0) b->buf_of[i] = add_buffer(b, n, false);
    build_node(b, n, b->buf_of[i]);
  }
}

/* ---- loops ---------------------------------------------------------------------
 * Before the loop: the trip count and the captured values get buffers, and
 * each initial state is copied into its current-state temporary (so the
 * states' memory is the loop's own: the runtime swaps the pointers).  The
 * body is built by a builder of its own, whose params are those buffers and
 * whose results are the next states; its kernels follow, then the plan's
 * KLoop says which kernels repeat.  The current-state buffers of a loop are
 * consecutive, so proj k of the loop is buffer cur[0] + k. */
/* The loop's own buffers: current states, stacks (consecutive, so proj k
 * is the first of them + k), next states, slots, the counter. */
static KLoop loop_buffers(Builder *b, const IrNode *n) {
  int ns = ir_loop_nstates(n), ny = ir_loop_nouts(n);
  KLoop l = {.trip = b->buf_of[n->args[0]->id], .nstates = ns, .nouts = ny, .cond_state = n->attr.is_while ? 0 : -1, .loc = n->loc};
  l.cur = tex_calloc((size_t)ns + 1, sizeof(int)), l.next = tex_calloc((size_t)ns + 1, sizeof(int));
  l.slot = tex_calloc((size_t)ny + 1, sizeof(int)), l.stack = tex_calloc((size_t)ny + 1, sizeof(int));
  for (int k = 0; k < ns; k++) l.cur[k] = add_buffer(b, n->args[IR_LOOP_FIXED + k], false);
  for (int j = 0; j < ny; j++) {
    DType t;
    int rank;
    Dim shape[IR_MAX_RANK];
    if (!ir_loop_proj_type(b->m, n, ns + j, &t, &rank, shape)) ice("loop output %d cannot be stacked", j);
    l.stack[j] = add_typed_buffer(b, t, rank, shape, false);
  }
  for (int k = 0; k < ns; k++) l.next[k] = add_buffer(b, n->args[IR_LOOP_FIXED + k], false);
  for (int j = 0; j < ny; j++) {
    l.slot[j] = add_buffer(b, n->attr.body->results[ns + j], false);
    b->p->bufs[l.slot[j]].repointed = true;
  }
  l.index = add_buffer(b, n->attr.body->params[0], false);
  if (n->attr.orelse) { /* a revolve loop: snaps rows per primal state */
    l.snaps = n->attr.snaps, l.nprim = n->attr.nprim;
    l.snap = tex_calloc((size_t)l.nprim + 1, sizeof(int));
    for (int k = 0; k < l.nprim; k++) {
      const IrNode *x = n->args[IR_LOOP_FIXED + k];
      Dim elems = dim_lit(b->m->dims, l.snaps);
      for (int a = 0; a < x->rank; a++) elems = dim_mul(b->m->dims, elems, x->shape[a]);
      l.snap[k] = add_typed_buffer(b, x->dtype, 1, &elems, false);
    }
  }
  b->buf_of[n->id] = ns ? l.cur[0] : l.stack[0];
  return l;
}

/* One of a loop's bodies, its params the loop's buffers, its results
 * written into `results` (-1: not written). */
static void build_loop_body(Builder *b, const IrNode *n, IrFunc *body, const KLoop *l, const int *results, int nres) {
  int ns = l->nstates;
  Builder c;
  builder_open(&c, b->m, body, b->p, b->kcap, b->bcap);
  mark_fusion(&c);
  c.buf_of[body->params[0]->id] = l->index;
  for (int k = 0; k < ns; k++) c.buf_of[body->params[1 + k]->id] = l->cur[k];
  for (int a = IR_LOOP_FIXED + ns; a < n->nargs; a++) c.buf_of[body->params[1 + a - IR_LOOP_FIXED]->id] = b->buf_of[n->args[a]->id];
  claim_results(&c, results, nres);
  build_nodes(&c);
  finish_results(&c, results, nres);
  builder_close(&c);
}

static void build_loop(Builder *b, const IrNode *n) {
  IrFunc *body = n->attr.body;
  int ns = ir_loop_nstates(n), ny = ir_loop_nouts(n), nargs = n->nargs;
  for (int a = 0; a < nargs; a++)
    if (a < IR_LOOP_FIXED || a >= IR_LOOP_FIXED + ns) materialise(b, n->args[a]); /* a view or a constant */
  KProgram *p = b->p;
  p->loops = tex_realloc(p->loops, sizeof(KLoop) * (size_t)(p->nloops + 1));
  int li = p->nloops++;
  KLoop l = loop_buffers(b, n);
  int nbranches = p->nbranches;
  for (int k = 0; k < ns; k++) build_elementwise(b, n->args[IR_LOOP_FIXED + k], OP_COPY, l.cur[k]);
  int *results = tex_calloc((size_t)(ns + ny) + 1, sizeof(int));
  for (int k = 0; k < ns; k++) results[k] = k < l.nprim ? -1 : l.next[k]; /* a revolve body keeps the primal states */
  for (int j = 0; j < ny; j++) results[ns + j] = l.slot[j];
  l.first = p->nkernels;
  build_loop_body(b, n, body, &l, results, ns + ny);
  l.mid = p->nkernels;
  if (n->attr.orelse) { /* the advance body computes the primal states only */
    for (int k = 0; k < ns; k++) results[k] = k < l.nprim ? l.next[k] : -1;
    build_loop_body(b, n, n->attr.orelse, &l, results, ns);
  }
  l.last = p->nkernels;
  tex_free(results);
  l.once = !l.snaps && p->nloops == li + 1 && p->nbranches == nbranches && kernels_fuse_steps(b->m, p, &l);
  p->loops[li] = l;
}

/* Liveness across loops (plan_memory): a value made before a loop and read
 * in its body is live until the loop ends; the loop's state buffers and its
 * counter are live through the whole loop (they carry values between
 * iterations); the trip count until the loop starts. */
static void loop_liveness(const KProgram *p, int *first, int *last) {
  for (int i = 0; i < p->nloops; i++) {
    const KLoop *l = &p->loops[i];
    for (int k = 0; k < l->nstates; k++) { /* swapped every iteration: cur's memory is next's every other one */
      first[l->next[k]] = l->first, last[l->next[k]] = l->last;
      if (last[l->cur[k]] < l->last) last[l->cur[k]] = l->last;
    }
    for (int j = 0; j < l->nouts; j++) { /* written in every iteration, through the slot */
      first[l->slot[j]] = l->first, last[l->slot[j]] = l->last;
      if (first[l->stack[j]] < 0 || first[l->stack[j]] > l->first) first[l->stack[j]] = l->first;
      if (last[l->stack[j]] < l->last) last[l->stack[j]] = l->last;
    }
    first[l->index] = l->first, last[l->index] = l->last;
    for (int k = 0; l->snaps && k < l->nprim; k++) first[l->snap[k]] = l->first, last[l->snap[k]] = l->last;
    if (last[l->trip] < l->first) last[l->trip] = l->first;
    for (int j = 0; j < p->nloops; j++) { /* a nested loop's trip count is read (by its step) every iteration */
      int x = p->loops[j].trip;
      if (j != i && p->loops[j].first >= l->first && p->loops[j].last <= l->last && (first[x] < l->first || x < p->nparams) &&
          last[x] < l->last)
        last[x] = l->last;
    }
    for (int k = l->first; k < l->last; k++) {
      const Kernel *kk = &p->kernels[k];
      for (int j = 0; j < kk->ninputs; j++) {
        int x = kk->in[j].buf;
        if ((first[x] < l->first || x < p->nparams) && last[x] < l->last) last[x] = l->last;
      }
    }
  }
}

/* ---- ifs -------------------------------------------------------------------------
 * Before the if: the condition and the captured values get buffers, and the
 * values get one temporary each (consecutive, so proj k is res[0] + k).
 * Each body is built by a builder of its own, whose params are the
 * captures' buffers and whose results are written into those temporaries:
 * the then kernels, then the else kernels, and the plan's KBranch says
 * which are which. */
static void build_branch_body(Builder *b, const IrNode *n, IrFunc *body, const int *res) {
  Builder c;
  builder_open(&c, b->m, body, b->p, b->kcap, b->bcap);
  mark_fusion(&c);
  for (int a = IR_IF_FIXED; a < n->nargs; a++) c.buf_of[body->params[a - IR_IF_FIXED]->id] = b->buf_of[n->args[a]->id];
  claim_results(&c, res, body->nresults);
  build_nodes(&c);
  finish_results(&c, res, body->nresults);
  builder_close(&c);
}

static void build_if(Builder *b, const IrNode *n) {
  for (int a = 0; a < n->nargs; a++) materialise(b, n->args[a]); /* a view or a constant */
  KProgram *p = b->p;
  p->branches = tex_realloc(p->branches, sizeof(KBranch) * (size_t)(p->nbranches + 1));
  int bi = p->nbranches++, nv = ir_if_nvalues(n);
  KBranch br = {.cond = b->buf_of[n->args[0]->id], .nvalues = nv, .res = tex_calloc((size_t)nv, sizeof(int))};
  for (int k = 0; k < nv; k++) br.res[k] = add_buffer(b, n->attr.body->results[k], false);
  b->buf_of[n->id] = br.res[0];
  br.first = p->nkernels;
  build_branch_body(b, n, n->attr.body, br.res);
  br.mid = p->nkernels;
  build_branch_body(b, n, n->attr.orelse, br.res);
  br.last = p->nkernels;
  p->branches[bi] = br;
}

/* Liveness across ifs (plan_memory): a value made before an if and read in
 * it lives until the if ends, and so does the condition (read before its
 * first kernel; through an enclosing loop if made before that loop); the
 * values' temporaries live from the if's start. */
static void branch_liveness(const KProgram *p, int *first, int *last) {
  for (int i = 0; i < p->nbranches; i++) {
    const KBranch *br = &p->branches[i];
    for (int k = 0; k < br->nvalues; k++) {
      int r = br->res[k];
      if (first[r] < 0 || first[r] > br->first) first[r] = br->first;
      if (last[r] < br->last) last[r] = br->last;
    }
    int c = br->cond;
    if (last[c] < br->first) last[c] = br->first;
    for (int l = 0; l < p->nloops; l++)
      if (p->loops[l].first <= br->first && br->last <= p->loops[l].last && (c < p->nparams || first[c] < p->loops[l].first) &&
          last[c] < p->loops[l].last)
        last[c] = p->loops[l].last;
    for (int k = br->first; k < br->last; k++)
      for (int j = 0; j < p->kernels[k].ninputs; j++) {
        int x = p->kernels[k].in[j].buf;
        if ((first[x] < br->first || x < p->nparams) && last[x] < br->last) last[x] = br->last;
      }
  }
}

KProgram *kernels_build(IrModule *m, IrFunc *f) {
  int kcap = 0, bcap = 0;
  Builder b;
  builder_open(&b, m, f, tex_calloc(1, sizeof(KProgram)), &kcap, &bcap);
  b.p->func = f;
  b.p->kernel_of = b.kernel_of;
  collect_symbols(&b);
  mark_fusion(&b);
  for (int i = 0; i < f->nparams; i++) {
    b.buf_of[f->params[i]->id] = add_buffer(&b, f->params[i], true);
    b.p->bufs[b.p->nbufs - 1].inout = f->params[i]->inout;
  }
  b.p->ninputs = f->nparams;
  int nvalues = f->nresults - f->nupdates;
  int *result_buf = tex_calloc((size_t)f->nresults + 1, sizeof(int));
  for (int r = 0; r < nvalues; r++) result_buf[r] = add_buffer(&b, f->results[r], true);
  claim_results(&b, result_buf, nvalues);
  b.p->nparams = b.p->nbufs;
  build_nodes(&b);
  finish_results(&b, result_buf, nvalues);
  write_back_updates(&b, nvalues);
  order_temporaries(b.p);
  kernels_rows(b.p);
  plan_memory(&b);
  tex_free(result_buf);
  builder_close(&b);
  return b.p;
}

void kernels_free(KProgram *p) {
  if (!p) return;
  for (int i = 0; i < p->nkernels; i++) tex_free(p->kernels[i].body), tex_free(p->kernels[i].checks);
  for (int i = 0; i < p->nloops; i++)
    tex_free(p->loops[i].cur), tex_free(p->loops[i].next), tex_free(p->loops[i].slot), tex_free(p->loops[i].stack),
        tex_free(p->loops[i].snap);
  tex_free(p->loops);
  for (int i = 0; i < p->nbranches; i++) tex_free(p->branches[i].res);
  tex_free(p->branches);
  tex_free(p->kernels);
  tex_free(p->bufs);
  tex_free(p->syms);
  tex_free(p->kernel_of);
  tex_free(p);
}
