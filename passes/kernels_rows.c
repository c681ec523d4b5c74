/* kernels_rows.c — row-resident kernels (issue 11).
 *
 * Softmax, logsumexp and layer_norm build to a chain of reductions and maps
 * over the same rows: max, exp-sum, normalise.  Run one after the other,
 * each pass streams the whole array through memory.  Here consecutive
 * kernels that share their outermost parallel loop (the same extent, the
 * rows) and whose buffers written inside the chain are read and written only
 * at the row being computed become a *row group*: the plan runs them as one
 * step that, for each block of rows, runs every member on that block
 * (codegen: the target's emit_rows).  A row is read from memory once and
 * stays in L1/L2 between the passes; each member runs its own loops, so the
 * arithmetic, and every result, is bitwise the same as ungrouped.
 *
 * First, a temporary that dies in an elementwise kernel writing a result,
 * read there only at the element being written, takes the result's memory
 * (softmax's exp(x - m) is computed into the output and divided in place),
 * so a group writes nothing but its results.
 *
 * Requires: kernels built and temporaries ordered (kernels.c), before
 * memory planning, which keeps every buffer a group touches live for the
 * whole group (kernels_rows_liveness). */
#include <stdlib.h>
#include <string.h>

#include "passes.h"

/* True if kernels [from, to) cross no loop's or if's boundary: a loop or
 * if either lies outside them or holds them all in one body. */
static bool inside_one_region(const KProgram *p, int from, int to) {
  for (int i = 0; i < p->nloops; i++) {
    const KLoop *l = &p->loops[i];
    if (!(to <= l->first || from >= l->last) && !(from >= l->first && to <= l->last)) return false;
    if (l->snaps && from < l->mid && to > l->mid) return false; /* a revolve loop's body and advance body */
  }
  for (int i = 0; i < p->nbranches; i++) {
    const KBranch *b = &p->branches[i];
    bool then = from >= b->first && to <= b->mid, els = from >= b->mid && to <= b->last, out = to <= b->first || from >= b->last;
    if (!(then || els || out)) return false;
  }
  return true;
}

static bool operand_is_buffer_shape(const KProgram *p, const KOperand *o) {
  const KBuffer *b = &p->bufs[o->buf];
  if (o->gathered || o->rank != b->rank || o->dtype != b->dtype) return false;
  for (int a = 0; a < o->rank; a++)
    if (o->shape[a] != b->shape[a]) return false;
  return true;
}

static bool same_map(const KOperand *a, const KOperand *b) {
  if (a->rank != b->rank || a->dtype != b->dtype || a->gathered || b->gathered) return false;
  for (int i = 0; i < a->rank; i++)
    if (a->shape[i] != b->shape[i] || a->loop[i] != b->loop[i]) return false;
  return true;
}

static bool kernel_touches(const Kernel *k, int buf) {
  for (int j = 0; j < k->ninputs; j++)
    if (k->in[j].buf == buf) return true;
  return k->out.buf == buf;
}

/* ---- temporaries in results ----------------------------------------------- */

/* Temporary t, written first by kernel w and read last by elementwise
 * kernel r (only at the element r writes), lives in r's output R, a result
 * no kernel in [w, r) touches: R then holds t until r overwrites it in place. */
static void try_result_memory(KProgram *p, int t) {
  int w = -1, r = -1;
  for (int k = 0; k < p->nkernels; k++) {
    if (p->kernels[k].out.buf == t && w < 0) w = k;
    for (int j = 0; j < p->kernels[k].ninputs; j++)
      if (p->kernels[k].in[j].buf == t) r = k;
  }
  if (w < 0 || r <= w || !inside_one_region(p, w, r + 1)) return;
  Kernel *kr = &p->kernels[r];
  int R = kr->out.buf, reader = -1;
  const KBuffer *bt = &p->bufs[t], *bR = &p->bufs[R];
  if (kr->kind != K_MAP || kr->seq_trip >= 0 || R < p->ninputs || R >= p->nparams || bR->inout || bt->repointed) return;
  if (bt->dtype != bR->dtype || bt->rank != bR->rank) return;
  for (int a = 0; a < bt->rank; a++)
    if (bt->shape[a] != bR->shape[a]) return;
  for (int j = 0; j < kr->ninputs; j++) {
    if (kr->in[j].buf == R) return;
    if (kr->in[j].buf != t) continue;
    if (!same_map(&kr->in[j], &kr->out) || reader >= 0) return;
    reader = j;
  }
  for (int k = w; k < r; k++)
    if (kernel_touches(&p->kernels[k], R)) return;
  for (int k = 0; k < p->nkernels; k++) { /* t is written once, by w */
    if (k != w && p->kernels[k].out.buf == t) return;
  }
  for (int k = w; k <= r; k++) {
    Kernel *kk = &p->kernels[k];
    for (int j = 0; j < kk->ninputs; j++)
      if (kk->in[j].buf == t) kk->in[j].buf = R;
    if (kk->out.buf == t) kk->out.buf = R;
  }
  kr->inplace = reader;
}

/* ---- row groups ------------------------------------------------------------- */

/* A kernel that can run a block of rows at a time: its outermost loop is
 * parallel and it runs without subscript checks or steps of its own. */
static bool row_kernel(const Kernel *k) {
  if (k->kind != K_MAP && k->kind != K_REDUCE) return false;
  return k->nloops >= 1 && !k->reduce[0] && k->seq_trip < 0 && k->nchecks == 0;
}

/* The axis of operand o that the row loop (loop 0) indexes, or -1. */
static int row_axis(const KOperand *o) {
  for (int a = 0; a < o->rank; a++)
    if (o->loop[a] == 0) return a;
  return -1;
}

/* True if kernel k can join the group [first, k): every access to a buffer
 * a member writes (k's output included) is at the row being computed. */
static bool joins(const KProgram *p, int first, int k, int *axis_of) {
  const Kernel *kk = &p->kernels[k];
  if (!row_kernel(kk) || kk->extent[0] != p->kernels[first].extent[0]) return false;
  int nops = 0;
  for (int m = first; m <= k; m++) nops += p->kernels[m].ninputs + 1;
  if (nops > TEX_ROWS_MAX_OPERANDS) return false;
  /* k's output: row-aligned with every earlier access of it */
  int ax = row_axis(&kk->out);
  if (ax < 0 || !operand_is_buffer_shape(p, &kk->out)) return false;
  for (int m = first; m < k; m++) {
    const Kernel *km = &p->kernels[m];
    for (int j = 0; j <= km->ninputs; j++) {
      const KOperand *o = j < km->ninputs ? &km->in[j] : &km->out;
      if (o->buf != kk->out.buf) continue;
      if (!operand_is_buffer_shape(p, o) || row_axis(o) != ax) return false;
    }
  }
  /* k's inputs written by earlier members: at the writer's row axis */
  for (int j = 0; j < kk->ninputs; j++) {
    int b = kk->in[j].buf;
    if (axis_of[b] == -2) continue; /* not written in the group */
    if (!operand_is_buffer_shape(p, &kk->in[j]) || row_axis(&kk->in[j]) != axis_of[b]) return false;
  }
  if (axis_of[kk->out.buf] != -2 && axis_of[kk->out.buf] != ax) return false;
  return true;
}

static void make_groups(KProgram *p) {
  int *axis_of = tex_calloc((size_t)p->nbufs + 1, sizeof(int));
  for (int i = 0; i < p->nkernels;) {
    for (int b = 0; b < p->nbufs; b++) axis_of[b] = -2;
    int end = i + 1;
    if (row_kernel(&p->kernels[i]) && row_axis(&p->kernels[i].out) >= 0 && operand_is_buffer_shape(p, &p->kernels[i].out)) {
      axis_of[p->kernels[i].out.buf] = row_axis(&p->kernels[i].out);
      bool reads_own = false; /* the first member may read what it writes only in place */
      for (int j = 0; j < p->kernels[i].ninputs; j++)
        reads_own = reads_own || (p->kernels[i].in[j].buf == p->kernels[i].out.buf && p->kernels[i].inplace != j);
      while (!reads_own && end < p->nkernels && inside_one_region(p, i, end + 1) && joins(p, i, end, axis_of)) {
        axis_of[p->kernels[end].out.buf] = row_axis(&p->kernels[end].out);
        end++;
      }
    }
    if (end - i >= 2) {
      p->kernels[i].rows = end - i;
      for (int m = i + 1; m < end; m++) p->kernels[m].rows = -1;
    }
    i = end;
  }
  tex_free(axis_of);
}

void kernels_rows(KProgram *p) {
  if (getenv("TEXC_NO_ROWS")) return; /* for measuring only */
  for (int t = p->nparams; t < p->nbufs && p->nloops == 0 && p->nbranches == 0; t++) try_result_memory(p, t);
  make_groups(p);
}

void kernels_rows_liveness(const KProgram *p, int *first, int *last) {
  for (int i = 0; i < p->nkernels; i++) {
    int n = p->kernels[i].rows;
    if (n < 2) continue;
    for (int k = i; k < i + n; k++) {
      const Kernel *kk = &p->kernels[k];
      for (int j = 0; j <= kk->ninputs; j++) {
        int b = j < kk->ninputs ? kk->in[j].buf : kk->out.buf;
        if (first[b] > i) first[b] = i;
        if (last[b] < i + n - 1) last[b] = i + n - 1;
      }
    }
  }
}
