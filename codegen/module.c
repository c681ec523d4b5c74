/* module.c — one LLVM module per .tex file: kernels, plans, metadata, the
 * exported C entry points, the target machine, and object emission.
 *
 * Each exported function `f` becomes
 *   int <prefix>_f(const DLTensor *in..., DLTensor *out...)
 * which only calls texrt_run(&plan_f, args): the runtime binds and checks
 * the arguments against the metadata, allocates temporaries and runs the
 * kernels.  The metadata tables mirror runtime/texrt.h field for field. */
#include <stdlib.h>
#include <string.h>

#include <llvm-c/Analysis.h>
#include <llvm-c/Transforms/PassBuilder.h>

#include "codegen.h"
#include "texrt.h"

/* ---- LLVM mirrors of the texrt.h structs ---------------------------------- */

typedef struct MetaTypes {
  LLVMTypeRef dimexpr, param, func, module, step, temp, plan, check, loop, branch;
} MetaTypes;

static LLVMTypeRef struct_of(Cg *cg, LLVMTypeRef *fields, int n) { return LLVMStructTypeInContext(cg->ctx, fields, (unsigned)n, 0); }

static MetaTypes meta_types(Cg *cg) {
  MetaTypes t;
  LLVMTypeRef p = cg->ptr, i32 = cg->i32, i16 = LLVMInt16TypeInContext(cg->ctx), i8 = cg->i8;
  t.dimexpr = struct_of(cg, (LLVMTypeRef[]){p, i32}, 2);
  t.param = struct_of(cg, (LLVMTypeRef[]){p, i8, i8, i16, p}, 5);
  t.func = struct_of(cg, (LLVMTypeRef[]){p, p, i32, i32, p, i32, p, i32, p, p}, 10);
  t.module = struct_of(cg, (LLVMTypeRef[]){i32, p, p, p, p, p, p, i32, p}, 9);
  t.step = struct_of(cg, (LLVMTypeRef[]){p, t.dimexpr, p, i32, p, i32, p, p, t.dimexpr, i32}, 10);
  t.branch = struct_of(cg, (LLVMTypeRef[]){i32, i32, i32}, 3);
  t.loop = struct_of(cg, (LLVMTypeRef[]){i32, i32, i32, i32, p, p, p, i32, p, p, i32, i32, i32, i32, i32, p}, 16);
  t.check = struct_of(cg, (LLVMTypeRef[]){p, p, p, i32, i32, t.dimexpr}, 6);
  t.temp = struct_of(cg, (LLVMTypeRef[]){t.dimexpr, i8, i32}, 3);
  t.plan = struct_of(cg, (LLVMTypeRef[]){p, p, i32, p, i32, p}, 6);
  return t;
}

static LLVMValueRef private_global(Cg *cg, LLVMValueRef init, const char *name) {
  LLVMValueRef g = LLVMAddGlobal(cg->mod, LLVMTypeOf(init), name);
  LLVMSetInitializer(g, init);
  LLVMSetGlobalConstant(g, 1);
  LLVMSetLinkage(g, LLVMPrivateLinkage);
  return g;
}

static LLVMValueRef cstring(Cg *cg, const char *s) {
  return private_global(cg, LLVMConstStringInContext(cg->ctx, s, (unsigned)strlen(s), 0), "str");
}

static LLVMValueRef c32(Cg *cg, int64_t v) { return LLVMConstInt(cg->i32, (unsigned long long)v, 1); }

static LLVMValueRef array_global(Cg *cg, LLVMTypeRef elem, LLVMValueRef *items, int n, const char *name) {
  if (n == 0) return LLVMConstNull(cg->ptr);
  return private_global(cg, LLVMConstArray2(elem, items, (uint64_t)n), name);
}

/* Words of the texrt bytecode of d (texrt.h), at most dim_words(NULL, d). */
static int dim_code(Cg *cg, Dim d, LLVMValueRef *code);

/* Symbol sym's value as bytecode: an argument's (by ABI number), or a
 * derived symbol's definition num // den. */
static int sym_code(Cg *cg, int sym, LLVMValueRef *code) {
  Dim num;
  int64_t den;
  int n = 0;
#define EMIT(v) (code ? (code[n] = LLVMConstInt(cg->i64, (unsigned long long)(int64_t)(v), 1)) : NULL, n++)
  if (dim_derived(cg->m->dims, sym, &num, &den)) {
    n = dim_code(cg, num, code);
    EMIT(TEX_DIM_LIT), EMIT(den), EMIT(TEX_DIM_FLOORDIV);
    return n;
  }
  int abi = cg->abi_sym[sym];
  if (abi < 0) ice("dim symbol %s is not a parameter symbol", dim_symbol_name(cg->m->dims, sym));
  EMIT(TEX_DIM_SYM), EMIT(abi);
  return n;
}

static int dim_code(Cg *cg, Dim d, LLVMValueRef *code) {
  int n = 0;
  if (d->nterms == 0) EMIT(TEX_DIM_LIT), EMIT(0);
  for (int i = 0; i < d->nterms; i++) {
    const DimTerm *term = &d->terms[i];
    bool first = true;
    if (term->coef != 1 || term->nfactors == 0) EMIT(TEX_DIM_LIT), EMIT(term->coef), first = false;
    for (int f = 0; f < term->nfactors; f++)
      for (int p = 0; p < term->factors[f].pow; p++) {
        n += sym_code(cg, term->factors[f].sym, code ? code + n : NULL);
        if (!first) EMIT(TEX_DIM_MUL);
        first = false;
      }
    if (i > 0) EMIT(TEX_DIM_ADD);
  }
#undef EMIT
  return n;
}

/* a, or `a cmp b` when b is given (an assertion: TEX_DIM_EQ or
 * TEX_DIM_LE), as texrt bytecode. */
static LLVMValueRef dim_expr_cmp(Cg *cg, const MetaTypes *t, Dim a, Dim b, int cmp) {
  int na = dim_code(cg, a, NULL), nb = b ? dim_code(cg, b, NULL) + 1 : 0;
  LLVMValueRef *code = tex_calloc((size_t)(na + nb), sizeof(LLVMValueRef));
  dim_code(cg, a, code);
  if (b) dim_code(cg, b, code + na), code[na + nb - 1] = LLVMConstInt(cg->i64, (unsigned long long)cmp, 1);
  LLVMValueRef arr = private_global(cg, LLVMConstArray2(cg->i64, code, (uint64_t)(na + nb)), "dim");
  tex_free(code);
  return LLVMConstNamedStruct(t->dimexpr, (LLVMValueRef[]){arr, c32(cg, na + nb)}, 2);
}

static LLVMValueRef dim_expr(Cg *cg, const MetaTypes *t, Dim d) { return dim_expr_cmp(cg, t, d, NULL, 0); }

static LLVMValueRef dims_array(Cg *cg, const MetaTypes *t, int rank, const Dim *shape) {
  LLVMValueRef items[IR_MAX_RANK];
  for (int i = 0; i < rank; i++) items[i] = dim_expr(cg, t, shape[i]);
  return array_global(cg, t->dimexpr, items, rank, "dims");
}

static LLVMValueRef param_info(Cg *cg, const MetaTypes *t, const char *name, const KBuffer *b, int role) {
  LLVMValueRef f[5] = {cstring(cg, name), LLVMConstInt(cg->i8, (unsigned long long)b->dtype, 0),
                       LLVMConstInt(cg->i8, (unsigned long long)role, 0),
                       LLVMConstInt(LLVMInt16TypeInContext(cg->ctx), (unsigned long long)b->rank, 0), dims_array(cg, t, b->rank, b->shape)};
  return LLVMConstNamedStruct(t->param, f, 5);
}

/* The call-time assertions of f: each reshape whose element counts are not
 * provably equal asserts them equal (once per pair), with a note naming the
 * reshape for the runtime's message. */
static int reshape_asserts(Cg *cg, const MetaTypes *t, const PtrVec *all, LLVMValueRef **exprs, LLVMValueRef **notes) {
  int n = 0;
  Dim(*seen)[2] = tex_calloc((size_t)all->len + 1, sizeof *seen);
  *exprs = tex_calloc((size_t)all->len + 1, sizeof(LLVMValueRef));
  *notes = tex_calloc((size_t)all->len + 1, sizeof(LLVMValueRef));
  for (int i = 0; i < all->len; i++) {
    const IrNode *r = all->items[i], *x = r->nargs ? r->args[0] : NULL;
    if (r->op != OP_RESHAPE) continue;
    Dim from = ir_numel(cg->m, x->rank, x->shape), to = ir_numel(cg->m, r->rank, r->shape);
    bool dup = from == to;
    for (int j = 0; j < n && !dup; j++) dup = (seen[j][0] == from && seen[j][1] == to) || (seen[j][0] == to && seen[j][1] == from);
    if (dup) continue;
    char tx[256], tr[256], note[700];
    ir_type_snprint(cg->m, x->dtype, x->rank, x->shape, tx, sizeof tx);
    ir_type_snprint(cg->m, r->dtype, r->rank, r->shape, tr, sizeof tr);
    snprintf(note, sizeof note, "reshape at %s:%d:%d from %s to %s", r->loc.file ? r->loc.file : "?", r->loc.line, r->loc.col, tx, tr);
    seen[n][0] = from, seen[n][1] = to;
    (*notes)[n] = cstring(cg, note);
    (*exprs)[n++] = dim_expr_cmp(cg, t, from, to, TEX_DIM_EQ);
  }
  tex_free(seen);
  return n;
}

/* True if d is >= 0 for every value of its symbols (sizes are >= 0). */
static bool dim_surely_nonneg(Dim d) {
  for (int i = 0; i < d->nterms; i++)
    if (d->terms[i].coef < 0) return false;
  return true;
}

/* The ranges of index notation that may be negative (a slice x[1:N-1] has
 * extent N - 2) are asserted >= 0 when the function is called, once each. */
static int range_asserts(Cg *cg, const MetaTypes *t, const PtrVec *all, int n, LLVMValueRef *exprs, LLVMValueRef *notes, int cap) {
  Dim zero = dim_lit(cg->m->dims, 0), seen[64];
  int nseen = 0;
  for (int i = 0; i < all->len; i++) {
    const IrNode *g = all->items[i];
    const IrRegion *r = op_info[g->op].attr == ATTR_REGION ? g->attr.region : NULL;
    for (int k = 0; r && k < r->nidx; k++) {
      bool dup = dim_surely_nonneg(r->extent[k]);
      for (int j = 0; j < nseen && !dup; j++) dup = seen[j] == r->extent[k];
      if (dup || n == cap || nseen == 64) continue;
      seen[nseen++] = r->extent[k];
      char ext[256], note[700];
      dim_snprint(cg->m->dims, r->extent[k], ext, sizeof ext);
      snprintf(note, sizeof note, "the range of %s at %s:%d:%d is %s, which must not be negative", r->body->params[k]->name,
               g->loc.file ? g->loc.file : "?", g->loc.line, g->loc.col, ext);
      notes[n] = cstring(cg, note);
      exprs[n++] = dim_expr_cmp(cg, t, zero, r->extent[k], TEX_DIM_LE);
    }
  }
  return n;
}

static LLVMValueRef func_info(Cg *cg, const MetaTypes *t, const KProgram *p, const char *symbol) {
  IrFunc *f = p->func;
  LLVMValueRef params[TEX_MAX_ARGS], names[TEX_MAX_SYMS];
  if (p->nparams > TEX_MAX_ARGS) ice("too many parameters");
  for (int i = 0; i < p->nparams; i++) {
    bool in = i < p->ninputs;
    int role = !in ? TEX_OUT : p->bufs[i].inout ? TEX_INOUT : TEX_IN;
    params[i] = param_info(cg, t, in ? f->params[i]->name : f->result_names[i - p->ninputs], &p->bufs[i], role);
  }
  for (int s = 0; s < p->nsyms; s++) names[s] = cstring(cg, dim_symbol_name(cg->m->dims, p->syms[s]));
  LLVMValueRef *asserts, *notes;
  PtrVec all = {0};
  ir_all_nodes(f, &all); /* the loop bodies' reshapes and ranges too */
  int nasserts = reshape_asserts(cg, t, &all, &asserts, &notes);
  int cap = nasserts + 64;
  asserts = tex_realloc(asserts, sizeof(LLVMValueRef) * (size_t)cap);
  notes = tex_realloc(notes, sizeof(LLVMValueRef) * (size_t)cap);
  nasserts = range_asserts(cg, t, &all, nasserts, asserts, notes, cap);
  vec_free(&all);
  LLVMValueRef fields[10] = {cstring(cg, f->name),
                             cstring(cg, symbol),
                             c32(cg, p->nparams),
                             c32(cg, p->ninputs),
                             array_global(cg, t->param, params, p->nparams, "params"),
                             c32(cg, p->nsyms),
                             array_global(cg, cg->ptr, names, p->nsyms, "syms"),
                             c32(cg, nasserts),
                             array_global(cg, t->dimexpr, asserts, nasserts, "asserts"),
                             array_global(cg, cg->ptr, notes, nasserts, "notes")};
  tex_free(asserts);
  tex_free(notes);
  return LLVMConstNamedStruct(t->func, fields, 10);
}

/* ---- plans and entry points ------------------------------------------------- */

/* Iterations of a kernel's outermost parallel loop (1 if it has none). */
static Dim step_extent(IrModule *m, const Kernel *k) {
  if (k->blocks) return k->out.shape[0]; /* one iteration per block (issue 11) */
  return k->nloops > 0 && !k->reduce[0] ? k->extent[0] : dim_lit(m->dims, 1);
}

/* May the runtime split the outer loop over threads (texrt.h TexStep.split)?
 * Only if every outer iteration writes its own output elements: loop 0 is
 * parallel and indexes an axis of the plainly addressed output.  That holds
 * for maps, reductions over trailing axes, matmul over batch/m (or n), and
 * scans along a later axis, and the blocks of a blocked full reduction
 * (Kernel.blocks: each writes its own block result); it does not for a scan or dot whose loop 0 is
 * the sequential one, nor for a scatter (two points may add into one
 * element, and the kernel zeroes the whole output first). */
static int step_split(const Kernel *k) {
  if (k->blocks) return 1; /* each block writes its own out[b] (issue 11) */
  if (k->nloops == 0 || k->reduce[0] || k->kind == K_SCATTER || k->out.gathered) return 0;
  if ((k->kind == K_SCAN && k->nloops < 2) || (k->kind == K_MATMUL && k->mm_k == 0)) return 0;
  for (int a = 0; a < k->out.rank; a++)
    if (k->out.loop[a] == 0) return 1;
  return 0;
}

/* Element-operations per outer iteration, for the runtime's "worth waking
 * the pool" test: the inner iterations times the body's length. */
static Dim step_work(IrModule *m, const Kernel *k) {
  Dim w = dim_lit(m->dims, k->nbody < 1 ? 1 : k->nbody > 64 ? 64 : k->nbody);
  if (k->blocks) return dim_mul(m->dims, w, dim_lit(m->dims, TEX_REDUCE_BLOCK)); /* an iteration is a block */
  for (int l = 1; l < k->nloops; l++) w = dim_mul(m->dims, w, k->extent[l]);
  return w;
}

static Dim numel(IrModule *m, const KBuffer *b) {
  Dim n = dim_lit(m->dims, 1);
  for (int i = 0; i < b->rank; i++) n = dim_mul(m->dims, n, b->shape[i]);
  return n;
}

/* Emits kernel k into this module, or, every other kernel, into the second
 * module (compiled by another thread) with a hidden declaration here. */
static LLVMValueRef place_kernel(Cg *cg, Cg *aux, const Kernel *k) {
  if (!aux || cg->nplaced++ % 2 == 0) return cg->target->emit_kernel(cg, k);
  LLVMValueRef def = cg->target->emit_kernel(aux, k);
  LLVMSetLinkage(def, LLVMExternalLinkage);
  LLVMSetVisibility(def, LLVMHiddenVisibility);
  LLVMTypeRef params[5] = {cg->ptr, cg->ptr, cg->i64, cg->i64, cg->ptr};
  LLVMValueRef decl = LLVMAddFunction(cg->mod, k->name, LLVMFunctionType(cg->i32, params, 5, 0));
  LLVMSetVisibility(decl, LLVMHiddenVisibility);
  return decl;
}

/* What makes two kernels the same code: everything but their buffer
 * numbers and names, and the positions of the symbols they read. */
static char *kernel_key(Cg *cg, const Kernel *k) {
  char *key = NULL;
  size_t len = 0;
  FILE *f = tex_memstream(&key, &len);
  fprintf(f, "%d %d %d %d %d %d %d %d %d %d %d %d|", k->kind, k->nloops, k->combiner, k->inplace, k->scan_reverse, k->mm_m, k->mm_n,
          k->mm_k, k->seq_trip, k->seq_state, k->blocks, k->unblocked);
  for (int l = 0; l < k->nloops; l++) fprintf(f, "%p %d,", (const void *)k->extent[l], k->reduce[l]);
  for (int o = 0; o <= k->ninputs; o++) {
    const KOperand *op = o < k->ninputs ? &k->in[o] : &k->out;
    fprintf(f, "|%d %d %d:", op->dtype, op->rank, op->gathered);
    for (int a = 0; a < op->rank; a++) fprintf(f, "%p %d,", (const void *)op->shape[a], op->loop[a]);
  }
  for (int i = 0; i < k->nbody; i++) {
    const KInstr *in = &k->body[i];
    fprintf(f, "|%d %d %d %d %d %d %a %lld %p %d %u %d:", in->op, in->dtype, in->args[0], in->args[1], in->args[2], in->operand, in->f,
            (long long)in->i, (const void *)in->dim, in->nsub, in->check, in->check_id * 65536 + in->pred1);
    for (int a = 0; a < in->nsub; a++) fprintf(f, "%d,", in->sub[a]);
  }
  for (int c = 0; c < k->nchecks; c++) { /* the code stores where[]; the texts are the step's */
    fprintf(f, "|c%d:", k->checks[c].nwhere);
    for (int w = 0; w < k->checks[c].nwhere; w++) fprintf(f, "%d,", k->checks[c].where[w]);
  }
  fputc('|', f);
  for (int s = 0; s < dim_nsymbols(cg->m->dims); s++) fprintf(f, "%d,", cg->abi_sym[s]);
  fclose(f);
  return key;
}

/* The function for kernel k: an identical kernel already emitted (in any
 * function of the module) is reused, so `loss` inside `train_step` and in
 * its own entry point is compiled once. */
static LLVMValueRef shared_kernel(Cg *cg, Cg *aux, const Kernel *k) {
  char *key = kernel_key(cg, k);
  for (int i = 0; i < cg->kernel_keys.len; i++)
    if (strcmp(cg->kernel_keys.items[i], key) == 0) {
      tex_free(key);
      return cg->kernel_fns.items[i];
    }
  LLVMValueRef fn = place_kernel(cg, aux, k);
  vec_push(&cg->kernel_keys, key);
  vec_push(&cg->kernel_fns, fn);
  return fn;
}

/* The step's table of subscript checks (texrt.h, TexIndexCheck). */
static LLVMValueRef check_table(Cg *cg, const MetaTypes *t, const Kernel *k) {
  LLVMValueRef *items = tex_calloc((size_t)k->nchecks + 1, sizeof(LLVMValueRef));
  for (int c = 0; c < k->nchecks; c++) {
    const KCheck *ck = &k->checks[c];
    LLVMValueRef f[6] = {
        cstring(cg, ck->what), cstring(cg, ck->array), ck->where_names ? cstring(cg, ck->where_names) : LLVMConstNull(cg->ptr),
        c32(cg, ck->axis),     c32(cg, ck->nwhere),    dim_expr(cg, t, ck->extent)};
    items[c] = LLVMConstNamedStruct(t->check, f, 6);
  }
  LLVMValueRef table = array_global(cg, t->check, items, k->nchecks, "checks");
  tex_free(items);
  return table;
}

/* ---- issue 10: if steps (texrt.h, TexBranch) --------------------------------------
 * The steps of kernels [from, to) beyond the kernels: the if steps of the
 * ifs in that range (and nested_steps adds the loop steps). */
static int nested_branches(const KProgram *p, int from, int to) {
  int n = 0;
  for (int j = 0; j < p->nbranches; j++) n += p->branches[j].first >= from && p->branches[j].last <= to;
  return n;
}

/* Kernels in [from, to) with a step of their own: all but the later members
 * of row groups, which their first member's step runs (issue 11). */
static int kernel_steps(const Cg *cg, const KProgram *p, int from, int to) {
  int n = 0;
  for (int i = from; i < to; i++) n += !(p->kernels[i].rows < 0 && cg->target->emit_rows);
  return n;
}

static int nested_steps(const Cg *cg, const KProgram *p, int from, int to) {
  int n = kernel_steps(cg, p, from, to) + nested_branches(p, from, to);
  for (int j = 0; j < p->nloops; j++) n += p->loops[j].first >= from && p->loops[j].last <= to;
  return n;
}

/* One TexStep: a kernel's (its function, operands and checks, its work and
 * whether the pool may split it), or a loop's or an if's (no function, one
 * iteration, never split).  A NULL pointer field is a null pointer, a NULL
 * dim is 1. */
typedef struct StepFields {
  LLVMValueRef fn, ops, checks, loop, branch;
  Dim extent, work;
  int nops, nchecks, split;
} StepFields;

static LLVMValueRef step_value(Cg *cg, const MetaTypes *t, StepFields f) {
  LLVMValueRef null = LLVMConstNull(cg->ptr);
  Dim one = dim_lit(cg->m->dims, 1);
  LLVMValueRef fields[10] = {f.fn ? f.fn : null,
                             dim_expr(cg, t, f.extent ? f.extent : one),
                             f.ops ? f.ops : null,
                             c32(cg, f.nops),
                             f.checks ? f.checks : null,
                             c32(cg, f.nchecks),
                             f.loop ? f.loop : null,
                             f.branch ? f.branch : null,
                             dim_expr(cg, t, f.work ? f.work : one),
                             c32(cg, f.split)};
  return LLVMConstNamedStruct(t->step, fields, 10);
}

static LLVMValueRef branch_step(Cg *cg, const MetaTypes *t, const KProgram *p, const KBranch *br) {
  LLVMValueRef bf[3] = {c32(cg, br->cond), c32(cg, nested_steps(cg, p, br->first, br->mid)),
                        c32(cg, nested_steps(cg, p, br->mid, br->last))};
  return step_value(cg, t, (StepFields){.branch = private_global(cg, LLVMConstNamedStruct(t->branch, bf, 3), "branch")});
}

static LLVMValueRef loop_step(Cg *cg, const MetaTypes *t, const KProgram *p, int li);

/* The loop and if steps that start at kernel i, outer first (an outer one
 * ends later: every body and branch ends with a kernel of its own). */
static int structured_steps(Cg *cg, const MetaTypes *t, const KProgram *p, int i, LLVMValueRef *out) {
  int n = 0, end = p->nkernels + 1;
  for (;;) {
    int best = -1, kind = 0; /* the latest-ending one before end: 1 a loop, 2 an if */
    for (int l = 0; l < p->nloops; l++)
      if (p->loops[l].first == i && p->loops[l].last < end && (best < 0 || p->loops[l].last > best)) best = p->loops[l].last, kind = 1;
    for (int b = 0; b < p->nbranches; b++)
      if (p->branches[b].first == i && p->branches[b].last < end && (best < 0 || p->branches[b].last > best))
        best = p->branches[b].last, kind = 2;
    if (best < 0) return n;
    for (int l = 0; kind == 1 && l < p->nloops; l++)
      if (p->loops[l].first == i && p->loops[l].last == best) out[n++] = loop_step(cg, t, p, l);
    for (int b = 0; kind == 2 && b < p->nbranches; b++)
      if (p->branches[b].first == i && p->branches[b].last == best) out[n++] = branch_step(cg, t, p, &p->branches[b]);
    end = best;
  }
}

/* A loop step (texrt.h, TexLoop): no kernel; the runtime runs the nbody
 * steps after it trip times. */
static LLVMValueRef loop_step(Cg *cg, const MetaTypes *t, const KProgram *p, int li) {
  const KLoop *l = &p->loops[li];
  int mid = l->snaps ? l->mid : l->last, nbody = kernel_steps(cg, p, l->first, mid);
  for (int j = li + 1; j < p->nloops; j++) nbody += p->loops[j].first >= l->first && p->loops[j].last <= mid;
  nbody += nested_branches(p, l->first, mid);
  int nadvance = l->snaps ? nested_steps(cg, p, mid, l->last) : 0;
  int n = l->nstates > l->nouts ? l->nstates : l->nouts;
  LLVMValueRef *a = tex_calloc((size_t)n + 1, sizeof(LLVMValueRef)), *b = tex_calloc((size_t)n + 1, sizeof(LLVMValueRef));
  for (int k = 0; k < l->nstates; k++) a[k] = c32(cg, l->cur[k]), b[k] = c32(cg, l->next[k]);
  LLVMValueRef cur = array_global(cg, cg->i32, a, l->nstates, "cur"), next = array_global(cg, cg->i32, b, l->nstates, "next");
  for (int j = 0; j < l->nouts; j++) a[j] = c32(cg, l->slot[j]), b[j] = c32(cg, l->stack[j]);
  LLVMValueRef slot = array_global(cg, cg->i32, a, l->nouts, "slot"), stack = array_global(cg, cg->i32, b, l->nouts, "stack");
  for (int k = 0; k < l->nprim; k++) a[k] = c32(cg, l->snap[k]);
  LLVMValueRef snap = array_global(cg, cg->i32, a, l->snaps ? l->nprim : 0, "snap");
  char where[512];
  snprintf(where, sizeof where, "%s:%d:%d", l->loc.file ? l->loc.file : "?", l->loc.line, l->loc.col);
  LLVMValueRef lf[16] = {c32(cg, l->trip),
                         c32(cg, l->index),
                         c32(cg, nbody),
                         c32(cg, l->nstates),
                         cur,
                         next,
                         cstring(cg, where),
                         c32(cg, l->nouts),
                         slot,
                         stack,
                         c32(cg, l->cond_state),
                         c32(cg, l->once),
                         c32(cg, nadvance),
                         c32(cg, l->nprim),
                         c32(cg, l->snaps),
                         snap};
  tex_free(a);
  tex_free(b);
  return step_value(cg, t, (StepFields){.loop = private_global(cg, LLVMConstNamedStruct(t->loop, lf, 16), "loop")});
}

static LLVMValueRef kernel_step(Cg *cg, Cg *aux, const MetaTypes *t, const Kernel *k) {
  LLVMValueRef fn = shared_kernel(cg, aux, k), ops[K_MAX_INPUTS + 1];
  for (int o = 0; o <= k->ninputs; o++) ops[o] = c32(cg, o < k->ninputs ? k->in[o].buf : k->out.buf);
  return step_value(cg, t,
                    (StepFields){.fn = fn,
                                 .extent = step_extent(cg->m, k),
                                 .ops = array_global(cg, cg->i32, ops, k->ninputs + 1, "ops"),
                                 .nops = k->ninputs + 1,
                                 .checks = check_table(cg, t, k),
                                 .nchecks = k->nchecks,
                                 .work = step_work(cg->m, k),
                                 .split = step_split(k)});
}

/* The step of the row group starting at kernel i (issue 11): its operands are
 * the members' buffers, each once; the target's function runs the members
 * row block by row block. */
static LLVMValueRef rows_step(Cg *cg, Cg *aux, const MetaTypes *t, const KProgram *p, int i) {
  const Kernel *ks = &p->kernels[i];
  int n = ks[0].rows, nops = 0, bufs[TEX_ROWS_MAX_OPERANDS], *map[TEX_ROWS_MAX_OPERANDS];
  LLVMValueRef fns[TEX_ROWS_MAX_OPERANDS], ops[TEX_ROWS_MAX_OPERANDS];
  for (int m = 0; m < n; m++) {
    fns[m] = shared_kernel(cg, aux, &ks[m]);
    map[m] = tex_calloc((size_t)ks[m].ninputs + 1, sizeof(int));
    for (int o = 0; o <= ks[m].ninputs; o++) {
      int b = o < ks[m].ninputs ? ks[m].in[o].buf : ks[m].out.buf, at = 0;
      while (at < nops && bufs[at] != b) at++;
      if (at == nops) bufs[nops++] = b;
      map[m][o] = at;
    }
  }
  LLVMValueRef fn = cg->target->emit_rows(cg, ks, n, fns, map);
  for (int m = 0; m < n; m++) tex_free(map[m]);
  for (int o = 0; o < nops; o++) ops[o] = c32(cg, bufs[o]);
  int split = 1; /* the members share the outer loop over rows: split if each may be */
  for (int m = 0; m < n; m++) split &= step_split(&ks[m]);
  return step_value(cg, t,
                    (StepFields){.fn = fn,
                                 .extent = step_extent(cg->m, &ks[0]),
                                 .ops = array_global(cg, cg->i32, ops, nops, "ops"),
                                 .nops = nops,
                                 .checks = check_table(cg, t, &ks[0]),
                                 .work = step_work(cg->m, &ks[0]),
                                 .split = split});
}

/* The steps: the kernels in order, each loop's step just before its body's
 * first kernel (outer loops first); a row group is one step. */
static LLVMValueRef plan_global(Cg *cg, Cg *aux, const MetaTypes *t, const KProgram *p, LLVMValueRef module, LLVMValueRef finfo) {
  int ntemps = p->nbufs - p->nparams, nsteps = 0;
  LLVMValueRef *temps = tex_calloc((size_t)ntemps + 1, sizeof(LLVMValueRef));
  LLVMValueRef *steps = tex_calloc((size_t)(p->nkernels + p->nloops + p->nbranches) + 1, sizeof(LLVMValueRef));
  for (int i = 0; i < ntemps; i++) {
    const KBuffer *b = &p->bufs[p->nparams + i];
    int reuses = b->reuses >= 0 ? b->reuses - p->nparams + 1 : 0;
    temps[i] = LLVMConstNamedStruct(
        t->temp, (LLVMValueRef[]){dim_expr(cg, t, numel(cg->m, b)), LLVMConstInt(cg->i8, b->dtype, 0), c32(cg, reuses)}, 3);
  }
  for (int i = 0; i < p->nkernels; i++) {
    nsteps += structured_steps(cg, t, p, i, steps + nsteps); /* loops and ifs, outer first */
    bool rows = cg->target->emit_rows != NULL;
    if (rows && p->kernels[i].rows < 0) continue;
    steps[nsteps++] = rows && p->kernels[i].rows > 0 ? rows_step(cg, aux, t, p, i) : kernel_step(cg, aux, t, &p->kernels[i]);
  }
  LLVMValueRef fields[6] = {module,          finfo,
                            c32(cg, ntemps), array_global(cg, t->temp, temps, ntemps, "temps"),
                            c32(cg, nsteps), array_global(cg, t->step, steps, nsteps, "steps")};
  tex_free(temps);
  tex_free(steps);
  return private_global(cg, LLVMConstNamedStruct(t->plan, fields, 6), "plan");
}

static LLVMValueRef declare(Cg *cg, const char *name, LLVMTypeRef ret, LLVMTypeRef *params, int n) {
  LLVMValueRef fn = LLVMGetNamedFunction(cg->mod, name);
  return fn ? fn : LLVMAddFunction(cg->mod, name, LLVMFunctionType(ret, params, (unsigned)n, 0));
}

/* The three C entry points of a function: the call, the call in a caller's
 * workspace, and the workspace size; each packs its tensor arguments into an
 * array for the runtime:
 *   int <symbol>(ptr a0, ..., ptr an)                   -> texrt_run(plan, args)
 *   int <symbol>_ws(ptr a0, ..., ptr an, ptr ws, i64 n) -> texrt_run_ws(plan, args, ws, n)
 *   int <symbol>_workspace_size(ptr a0, ..., ptr bytes) -> texrt_workspace_size(plan, args, bytes) */
typedef enum EntryKind { ENTRY_RUN, ENTRY_WS, ENTRY_WS_SIZE } EntryKind;

static const struct {
  const char *suffix, *runtime;
  int extra;
} entry_kinds[] = {{"", "texrt_run", 0}, {"_ws", "texrt_run_ws", 2}, {"_workspace_size", "texrt_workspace_size", 1}};

static void entry_point(Cg *cg, const char *symbol, int nparams, LLVMValueRef plan, EntryKind kind) {
  int extra = entry_kinds[kind].extra;
  LLVMTypeRef *pt = tex_calloc((size_t)nparams + 3, sizeof(LLVMTypeRef));
  for (int i = 0; i < nparams + extra; i++) pt[i] = cg->ptr;
  if (kind == ENTRY_WS) pt[nparams + 1] = cg->i64;
  char name[512];
  snprintf(name, sizeof name, "%s%s", symbol, entry_kinds[kind].suffix);
  LLVMValueRef fn = LLVMAddFunction(cg->mod, name, LLVMFunctionType(cg->i32, pt, (unsigned)(nparams + extra), 0));
  LLVMPositionBuilderAtEnd(cg->b, LLVMAppendBasicBlockInContext(cg->ctx, fn, "entry"));
  LLVMTypeRef arr_t = LLVMArrayType2(cg->ptr, (uint64_t)(nparams ? nparams : 1));
  LLVMValueRef arr = LLVMBuildAlloca(cg->b, arr_t, "args");
  for (int i = 0; i < nparams; i++) {
    LLVMValueRef idx[2] = {LLVMConstInt(cg->i64, 0, 0), LLVMConstInt(cg->i64, (unsigned long long)i, 0)};
    LLVMBuildStore(cg->b, LLVMGetParam(fn, (unsigned)i), LLVMBuildInBoundsGEP2(cg->b, arr_t, arr, idx, 2, ""));
  }
  LLVMTypeRef rt[4] = {cg->ptr, cg->ptr, pt[nparams], pt[nparams + 1]};
  LLVMValueRef run = declare(cg, entry_kinds[kind].runtime, cg->i32, rt, 2 + extra);
  LLVMValueRef args[4] = {plan, arr};
  for (int e = 0; e < extra; e++) args[2 + e] = LLVMGetParam(fn, (unsigned)(nparams + e));
  LLVMBuildRet(cg->b, LLVMBuildCall2(cg->b, LLVMGlobalGetValueType(run), run, args, (unsigned)(2 + extra), ""));
  tex_free(pt);
}

void cg_cpu_emit_entry(Cg *cg, const char *symbol, int nparams, LLVMValueRef plan) {
  for (int kind = ENTRY_RUN; kind <= ENTRY_WS_SIZE; kind++) entry_point(cg, symbol, nparams, plan, (EntryKind)kind);
}

/* int <prefix>_call(i32 index, ptr args) -> texrt_call(plans, n, index, args):
 * any function by its index in module_info()->funcs, for generic loaders. */
static void call_by_index(Cg *cg, const char *prefix, LLVMValueRef *plans, int nplans) {
  char name[512];
  snprintf(name, sizeof name, "%s_call", prefix);
  LLVMTypeRef pt[2] = {cg->i32, cg->ptr};
  LLVMValueRef fn = LLVMAddFunction(cg->mod, name, LLVMFunctionType(cg->i32, pt, 2, 0));
  LLVMPositionBuilderAtEnd(cg->b, LLVMAppendBasicBlockInContext(cg->ctx, fn, "entry"));
  LLVMValueRef table = array_global(cg, cg->ptr, plans, nplans, "plans");
  LLVMTypeRef rt[4] = {cg->ptr, cg->i32, cg->i32, cg->ptr};
  LLVMValueRef call = declare(cg, "texrt_call", cg->i32, rt, 4);
  LLVMValueRef args[4] = {table, c32(cg, nplans), LLVMGetParam(fn, 0), LLVMGetParam(fn, 1)};
  LLVMBuildRet(cg->b, LLVMBuildCall2(cg->b, LLVMGlobalGetValueType(call), call, args, 4, ""));
}

/* <prefix>_last_error, <prefix>_set_num_threads and <prefix>_module_info. */
static void module_entry_points(Cg *cg, const char *prefix, LLVMValueRef module) {
  char name[512];
  snprintf(name, sizeof name, "%s_last_error", prefix);
  LLVMValueRef fn = LLVMAddFunction(cg->mod, name, LLVMFunctionType(cg->ptr, NULL, 0, 0));
  LLVMPositionBuilderAtEnd(cg->b, LLVMAppendBasicBlockInContext(cg->ctx, fn, "entry"));
  LLVMValueRef le = declare(cg, "texrt_last_error", cg->ptr, NULL, 0);
  LLVMBuildRet(cg->b, LLVMBuildCall2(cg->b, LLVMGlobalGetValueType(le), le, NULL, 0, ""));
  snprintf(name, sizeof name, "%s_set_num_threads", prefix); /* int (int n): texrt_set_num_threads */
  LLVMTypeRef i32 = cg->i32;
  fn = LLVMAddFunction(cg->mod, name, LLVMFunctionType(i32, &i32, 1, 0));
  LLVMPositionBuilderAtEnd(cg->b, LLVMAppendBasicBlockInContext(cg->ctx, fn, "entry"));
  LLVMValueRef sn = declare(cg, "texrt_set_num_threads", i32, &i32, 1), n = LLVMGetParam(fn, 0);
  LLVMBuildRet(cg->b, LLVMBuildCall2(cg->b, LLVMGlobalGetValueType(sn), sn, &n, 1, ""));
  snprintf(name, sizeof name, "%s_module_info", prefix);
  fn = LLVMAddFunction(cg->mod, name, LLVMFunctionType(cg->ptr, NULL, 0, 0));
  LLVMPositionBuilderAtEnd(cg->b, LLVMAppendBasicBlockInContext(cg->ctx, fn, "entry"));
  LLVMBuildRet(cg->b, module);
}

/* ---- the whole module ---------------------------------------------------- */

static void set_abi_symbols(Cg *cg, const KProgram *p) {
  int n = dim_nsymbols(cg->m->dims);
  for (int i = 0; i < n; i++) cg->abi_sym[i] = -1;
  for (int s = 0; s < p->nsyms; s++) cg->abi_sym[p->syms[s]] = s;
}

static Cg cg_open(CgModule *cm, IrModule *m) {
  Cg cg = {0};
  cg.target = cm->target;
  cg.ctx = cm->ctx;
  cg.mod = cm->mod;
  cg.m = m;
  cg.b = LLVMCreateBuilderInContext(cg.ctx);
  cg.i64 = LLVMInt64TypeInContext(cg.ctx);
  cg.i32 = LLVMInt32TypeInContext(cg.ctx);
  cg.i8 = LLVMInt8TypeInContext(cg.ctx);
  cg.ptr = LLVMPointerTypeInContext(cg.ctx, 0);
  cg.voidt = LLVMVoidTypeInContext(cg.ctx);
  cg.vec_bytes = strstr(cm->checked_features, "avx512f") ? 64 : strstr(cm->checked_features, "avx") ? 32 : 16;
  cg.abi_sym = tex_calloc((size_t)dim_nsymbols(m->dims) + 1, sizeof(int));
  return cg;
}

static void cg_close(Cg *cg) {
  for (int i = 0; i < cg->kernel_keys.len; i++) tex_free(cg->kernel_keys.items[i]);
  vec_free(&cg->kernel_keys);
  vec_free(&cg->kernel_fns);
  tex_free(cg->abi_sym);
  LLVMDisposeBuilder(cg->b);
}

void cg_build_module(CgModule *out, CgModule *second, IrModule *m, KProgram *const *progs, int nprogs) {
  Cg cg = cg_open(out, m), aux = second ? cg_open(second, m) : (Cg){0};
  aux.home = &cg; /* one GEMM driver for both modules (codegen/matmul.c) */
  MetaTypes t = meta_types(&cg);

  /* The module info refers to the func infos and the plans to both, so the
   * module global is created first and initialised last. */
  LLVMValueRef module = LLVMAddGlobal(cg.mod, t.module, "texc_module_info");
  LLVMSetLinkage(module, LLVMPrivateLinkage);
  LLVMSetGlobalConstant(module, 1);
  LLVMValueRef *finfos = tex_calloc((size_t)nprogs + 1, sizeof(LLVMValueRef));
  char **symbols = tex_calloc((size_t)nprogs + 1, sizeof(char *));
  for (int i = 0; i < nprogs; i++) {
    set_abi_symbols(&cg, progs[i]);
    symbols[i] = arena_printf(&m->arena, "%s_%s", m->name, progs[i]->func->name);
    finfos[i] = func_info(&cg, &t, progs[i], symbols[i]);
  }
  LLVMTypeRef funcs_t = LLVMArrayType2(t.func, (uint64_t)nprogs);
  LLVMValueRef funcs = private_global(&cg, LLVMConstArray2(t.func, finfos, (uint64_t)nprogs), "funcs");
  LLVMValueRef *plans = tex_calloc((size_t)nprogs + 1, sizeof(LLVMValueRef));
  for (int i = 0; i < nprogs; i++) {
    set_abi_symbols(&cg, progs[i]);
    cg.p = progs[i];
    if (second) set_abi_symbols(&aux, progs[i]), aux.p = progs[i];
    LLVMValueRef idx[2] = {LLVMConstInt(cg.i64, 0, 0), LLVMConstInt(cg.i64, (unsigned long long)i, 0)};
    LLVMValueRef finfo = LLVMConstInBoundsGEP2(funcs_t, funcs, idx, 2);
    LLVMValueRef plan = plans[i] = plan_global(&cg, second ? &aux : NULL, &t, progs[i], module, finfo);
    cg.target->emit_entry(&cg, symbols[i], progs[i]->nparams, plan);
  }
  LLVMValueRef mfields[9] = {c32(&cg, TEX_ABI_VERSION),
                             cstring(&cg, m->name),
                             cstring(&cg, m->source ? m->source : ""),
                             cstring(&cg, TEXC_VERSION),
                             cstring(&cg, out->target->device),
                             cstring(&cg, out->cpu),
                             cstring(&cg, out->checked_features),
                             c32(&cg, nprogs),
                             funcs};
  LLVMSetInitializer(module, LLVMConstNamedStruct(t.module, mfields, 9));
  module_entry_points(&cg, m->name, module);
  call_by_index(&cg, m->name, plans, nprogs);
  tex_free(plans);
  tex_free(symbols);
  tex_free(finfos);
  cg_close(&cg);
  if (second) cg_close(&aux);
}
