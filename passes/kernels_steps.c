/* kernels_steps.c — one-kernel loops (ARCHITECTURE.md, "Loops").
 *
 * A loop with one state whose body is elementwise work on the state, each
 * element of the next state reading the state only at that element, runs
 * as one kernel that does all the steps itself (an inner sequential loop
 * over t, codegen/cpu.c emit_seq_map), in place on the state's current
 * buffer: one kernel call instead of T, and the same ops per element in the
 * same order.  The body may be several kernels: scalar ones (no loops, not
 * reading the state: `f32(t) * dt`, `u[t]` used through a broadcast) are
 * merged into the last one, which must be the elementwise kernel writing
 * the next state.  In the merged kernel t (the loop's counter buffer) is
 * OP_INDEX nloops, and the trip count is one more input (seq_trip).
 *
 * Requires: the loop's kernels are the last of the program, and none of
 * them is a nested loop's or if's.  Preserves: every value bit for bit. */
#include <string.h>

#include "passes.h"

/* A kernel merged into the next-state kernel: scalar, not reading the state. */
static bool is_prelude(const Kernel *k, const KLoop *l) {
  if (k->kind != K_MAP || k->nloops || k->out.rank || k->seq_trip >= 0 || k->out.buf == l->cur[0] || k->out.buf == l->next[0]) return false;
  for (int j = 0; j < k->ninputs; j++)
    if (k->in[j].buf == l->cur[0] || k->in[j].buf == l->next[0]) return false;
  return true;
}

static bool same_operand(const KOperand *a, const KOperand *b) {
  bool same = a->buf == b->buf && a->dtype == b->dtype && a->rank == b->rank && a->gathered == b->gathered;
  for (int d = 0; same && d < a->rank; d++) same = a->shape[d] == b->shape[d] && a->loop[d] == b->loop[d];
  return same;
}

/* Appends kernel s's operands, instructions and checks to m.  value[k]
 * (by the kernels before s) is the instruction holding the value of the
 * prelude whose output is buffer bufs[k]; a load of it becomes a copy of
 * that instruction.  False if m would have too many operands. */
static bool append_kernel(Kernel *m, const Kernel *s, const int *bufs, const int *value, int nvalues) {
  int map[K_MAX_INPUTS], base = m->nbody;
  for (int j = 0; j < s->ninputs; j++) {
    map[j] = K_MAX_INPUTS;
    for (int v = 0; v < nvalues; v++)
      if (s->in[j].buf == bufs[v]) map[j] = -1 - value[v];
    for (int o = 0; o < m->ninputs && map[j] == K_MAX_INPUTS; o++)
      if (same_operand(&m->in[o], &s->in[j])) map[j] = o;
    if (map[j] != K_MAX_INPUTS) continue;
    if (m->ninputs == K_MAX_INPUTS - 1) return false; /* room for the trip count */
    m->in[m->ninputs] = s->in[j];
    map[j] = m->ninputs++;
  }
  m->body = tex_realloc(m->body, sizeof(KInstr) * (size_t)(m->nbody + s->nbody));
  for (int i = 0; i < s->nbody; i++) {
    KInstr in = s->body[i];
    int nargs = in.op < OP_COUNT && op_info[in.op].flags & F_ELEM ? op_info[in.op].arity : 0;
    for (int a = 0; a < nargs; a++) in.args[a] += base;
    for (int a = 0; a < in.nsub && in.op == OP_READ; a++) in.sub[a] += base;
    if (in.pred1) in.pred1 += base;
    if (in.check) in.check_id += m->nchecks;
    if ((in.op == OP_PARAM || in.op == OP_READ) && map[in.operand] < 0) {
      if (in.op == OP_READ) return false;
      in = (KInstr){.op = OP_COPY, .dtype = in.dtype, .args = {-1 - map[in.operand]}};
    } else if (in.op == OP_PARAM || in.op == OP_READ) {
      in.operand = map[in.operand];
    }
    m->body[m->nbody++] = in;
  }
  m->checks = tex_realloc(m->checks, sizeof(KCheck) * (size_t)(m->nchecks + s->nchecks + 1));
  for (int c = 0; c < s->nchecks; c++) {
    KCheck ck = s->checks[c];
    for (int w = 0; w < ck.nwhere; w++) ck.where[w] += base;
    m->checks[m->nchecks++] = ck;
  }
  return true;
}

/* The body's kernels as one (m: the last kernel's shape and output, no
 * body yet); false if they do not fit in one. */
static bool merge_body(const KProgram *p, const KLoop *l, Kernel *m) {
  int n = l->last - l->first, bufs[64], value[64], nv = 0;
  if (n > 64) return false;
  for (int i = 0; i < n; i++) {
    const Kernel *s = &p->kernels[l->first + i];
    if (i + 1 < n && !is_prelude(s, l)) return false;
    if (!append_kernel(m, s, bufs, value, nv)) return false;
    bufs[nv] = s->out.buf, value[nv++] = m->nbody - 1;
  }
  return true;
}

/* The merged kernel's one operand reading the state at the element it
 * writes (-1 if it does not read the state); -2 if the state is read
 * otherwise (at another element, or at computed subscripts). */
static int state_operand(const Kernel *m, const KLoop *l) {
  int state = -1;
  for (int j = 0; j < m->ninputs; j++) {
    const KOperand *o = &m->in[j];
    if (o->buf != l->cur[0]) continue;
    bool same = state < 0 && !o->gathered && o->rank == m->out.rank;
    for (int a = 0; same && a < o->rank; a++) same = o->shape[a] == m->out.shape[a] && o->loop[a] == m->out.loop[a];
    if (!same) return -2;
    state = j;
  }
  for (int i = 0; i < m->nbody; i++) {
    const KInstr *in = &m->body[i];
    if ((in->op == OP_READ && (in->operand == state || m->in[in->operand].buf == l->index)) || in->op == OP_SCATTER) return -2;
  }
  return state;
}

bool kernels_fuse_steps(IrModule *mod, KProgram *p, KLoop *l) {
  if (l->nstates != 1 || l->nouts || l->cond_state >= 0 || l->last <= l->first) return false;
  const Kernel *last = &p->kernels[l->last - 1];
  if (last->kind != K_MAP || last->out.buf != l->next[0]) return false;
  Kernel m = *last;
  m.ninputs = m.nbody = m.nchecks = 0, m.body = NULL, m.checks = NULL;
  int state = merge_body(p, l, &m) ? state_operand(&m, l) : -2;
  if (state < -1) {
    tex_free(m.body), tex_free(m.checks);
    return false;
  }
  for (int i = 0; i < m.nbody; i++)
    if (m.body[i].op == OP_PARAM && m.in[m.body[i].operand].buf == l->index)
      m.body[i] = (KInstr){.op = OP_INDEX, .dtype = DT_I64, .i = m.nloops};
  KOperand *trip = &m.in[m.ninputs];
  memset(trip, 0, sizeof *trip);
  trip->buf = l->trip, trip->dtype = DT_I64;
  m.seq_trip = m.ninputs++;
  m.seq_state = m.inplace = state;
  m.out.buf = l->cur[0];
  m.name = arena_printf(&mod->arena, "%s_k%d_steps", p->func->name, l->first); /* kernels after it are numbered from l->first + 1 */
  for (int k = l->first; k < l->last; k++) tex_free(p->kernels[k].body), tex_free(p->kernels[k].checks);
  p->kernels[l->first] = m;
  p->nkernels = l->last = l->first + 1;
  return true;
}
