/* run.c — texrt_run, the body of every exported function, and the allocator
 * hook it allocates through.
 *
 * A generated wrapper is one line, `return texrt_run(&plan, args);`: CPU
 * check, bind, temporaries, kernels, free.  Temporaries (and, past
 * INLINE_BUFS buffers, the table of their pointers) are the runtime's only
 * allocations, so the hook that tests use to inject out-of-memory lives
 * here with them; a _ws call takes both from the caller's workspace, and
 * with the default allocator each thread keeps its temporaries' block
 * between calls (the cache below).  Everything per call is on the stack (or in one block from
 * the hook), which keeps calls reentrant and thread-safe.
 * On success the thread's error message is left untouched, not cleared: the
 * hot path writes no thread-local memory, and the message is documented as
 * meaningful only right after a nonzero return (like errno).
 */
#include "texrt.h"

#include <pthread.h>
#include <stdalign.h>
#include <stdbool.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TEMP_ALIGN 64 /* a cache line and an AVX-512 vector: aligned loads never split */
#define INLINE_BUFS 128 /* more buffers than this: bufs on the heap */

/* ---- the allocator hook ---------------------------------------------------- */

/* C11 aligned_alloc wants the size to be a multiple of the alignment. */
static void *default_alloc(size_t bytes, size_t align) {
  size_t size = (bytes + align - 1) / align * align;
  return size < bytes ? NULL : aligned_alloc(align, size ? size : align);
}

/* Atomic so a test thread can swap the hook without a data race; swapping
 * while calls are in flight may still pair one call's alloc with the other
 * hook's release, so set it before calls start. */
static _Atomic(TexAllocFn) hook_alloc = default_alloc;
static _Atomic(TexFreeFn) hook_release = free;

void texrt_set_allocator(TexAllocFn alloc, TexFreeFn release) {
  int dflt = !alloc || !release; /* half a custom pair would free with the wrong free */
  atomic_store(&hook_alloc, dflt ? default_alloc : alloc);
  atomic_store(&hook_release, dflt ? free : release);
}

/* ---- temporaries ------------------------------------------------------------- */

static const char *fn_name(const TexPlan *plan) {
  const TexFuncInfo *f = plan->func;
  return f->symbol ? f->symbol : f->name ? f->name : "?";
}

/* Size of temporary t in bytes, overflow-checked. */
static int temp_bytes(const TexPlan *plan, int32_t t, const int64_t *syms, int64_t *bytes) {
  const TexTemp *tmp = &plan->temps[t];
  int64_t n, size = texrt_dtype_bytes(tmp->dtype);
  char why[256];
  if (size == 0) return texrt_fail(TEX_ERR_DTYPE, "%s: temporary #%d has unknown dtype %d", fn_name(plan), t, tmp->dtype);
  int st = texrt_dim_eval(&tmp->elems, syms, &n);
  if (st != TEX_OK) {
    snprintf(why, sizeof why, "%s", texrt_last_error()); /* copy: we overwrite it */
    return texrt_fail(st, "%s: temporary #%d: element count: %s", fn_name(plan), t, why);
  }
  if (n < 0) return texrt_fail(TEX_ERR_SHAPE, "%s: temporary #%d: element count is %lld", fn_name(plan), t, (long long)n);
  if (__builtin_mul_overflow(n, size, bytes))
    return texrt_fail(TEX_ERR_OVERFLOW,
                      "%s: temporary #%d: %lld elements overflow a 64-bit "
                      "byte size",
                      fn_name(plan), t, (long long)n);
  return TEX_OK;
}

/* Lays the temporaries out back to back, each at a multiple of TEMP_ALIGN.
 * Computes the total; with a base, also points tbufs into it.  Run twice
 * (size, then place) so no offset array is needed. */
static int layout_temps(const TexPlan *plan, const int64_t *syms, char *base, void **tbufs, size_t *total) {
  size_t off = 0;
  for (int32_t t = 0; t < plan->ntemps; t++) {
    int64_t bytes;
    int st = temp_bytes(plan, t, syms, &bytes);
    if (st != TEX_OK) return st;
    int32_t r = plan->temps[t].reuses;
    if (r > 0 && r <= t) { /* planned reuse of an earlier temporary's memory (texc
                              only pairs temporaries of equal byte size) */
      if (base) tbufs[t] = tbufs[r - 1];
      continue;
    }
    if (base) tbufs[t] = base + off;
    if ((uint64_t)bytes > SIZE_MAX || __builtin_add_overflow(off, (size_t)bytes, &off) || __builtin_add_overflow(off, TEMP_ALIGN - 1, &off))
      return texrt_fail(TEX_ERR_OVERFLOW, "%s: temporaries overflow the address space", fn_name(plan));
    off &= ~(size_t)(TEMP_ALIGN - 1);
  }
  *total = off;
  return TEX_OK;
}

/* ---- the per-thread cache of temporaries ----------------------------------------
 * With the default allocator, a thread keeps its temporaries' block between
 * calls (grow only; freed when the thread exits, or at dlclose for the
 * thread that unloads): a call then touches pages that are already mapped,
 * where a fresh block of a few MiB faults in every page again (glibc maps
 * large blocks anew each time).  A custom hook (texrt_set_allocator) sees
 * every call's allocation and release, as before; _ws calls use only the
 * caller's workspace. */
typedef struct Cache {
  void *block;
  size_t bytes;
  bool busy; /* taken by a call on this thread (a reentrant call allocates) */
} Cache;

static _Thread_local Cache cache;
static pthread_key_t cache_key; /* its destructor frees a thread's block at exit */
static pthread_once_t cache_once = PTHREAD_ONCE_INIT;
static bool cache_keyed;

static void cache_free(void *arg) {
  Cache *c = arg;
  free(c->block);
  c->block = NULL, c->bytes = 0;
}

static void cache_init(void) { cache_keyed = pthread_key_create(&cache_key, cache_free) == 0; }

/* This thread's cached block, grown to `total` bytes; NULL if it is in use
 * or the memory is not there. */
static void *cache_take(size_t total) {
  Cache *c = &cache;
  if (c->busy) return NULL;
  if (c->bytes < total) {
    pthread_once(&cache_once, cache_init);
    size_t bytes = (total + 4095) & ~(size_t)4095; /* whole pages: a slightly larger call fits */
    void *p = bytes < total ? NULL : default_alloc(bytes, 4096);
    if (!p) return NULL;
    free(c->block);
    c->block = p, c->bytes = bytes;
    if (cache_keyed) pthread_setspecific(cache_key, c);
  }
  c->busy = true;
  return c->block;
}

/* dlclose (or exit): no thread's exit may call into unmapped code; the
 * unloading thread's block is freed, other threads' blocks are left. */
__attribute__((destructor)) static void cache_shutdown(void) {
  if (cache_keyed) pthread_key_delete(cache_key);
  cache_keyed = false;
  if (!cache.busy) cache_free(&cache);
}

/* Points tbufs at one block for all temporaries: the thread's cached block
 * (*cached set) or one from the hook into *block (NULL if all are empty). */
static int alloc_temps(const TexPlan *plan, const int64_t *syms, void **tbufs, void **block, TexAllocFn alloc, bool *cached) {
  size_t total = 0;
  int st = layout_temps(plan, syms, NULL, tbufs, &total);
  *block = NULL;
  if (st != TEX_OK) return st;
  if (total == 0) {
    for (int32_t t = 0; t < plan->ntemps; t++) tbufs[t] = NULL;
    return TEX_OK;
  }
  void *base = alloc == default_alloc ? cache_take(total) : NULL;
  *cached = base != NULL;
  if (!base && !(base = *block = alloc(total, TEMP_ALIGN)))
    return texrt_fail(TEX_ERR_ALLOC,
                      "%s: out of memory allocating %zu bytes for %d "
                      "temporaries",
                      fn_name(plan), total, plan->ntemps);
  return layout_temps(plan, syms, base, tbufs, &total);
}

/* ---- the call ------------------------------------------------------------------ */

/* The message of a failed subscript check (texrt.h, TexIndexCheck). */
static int index_error(const TexPlan *plan, const TexStep *step, int32_t s, const TexIndexError *err, const int64_t *syms) {
  if (err->check < 0 || err->check >= step->nchecks || !step->checks)
    return texrt_fail(TEX_ERR_INDEX, "%s: step #%d: an index is out of range", fn_name(plan), s);
  const TexIndexCheck *ck = &step->checks[err->check];
  char pos[256] = "";
  int n = 0, nwhere = ck->nwhere < 0 ? 0 : ck->nwhere > TEX_MAX_WHERE ? TEX_MAX_WHERE : ck->nwhere;
  const char *names = ck->where_names;
  for (int w = 0; w < nwhere && n < (int)sizeof pos - 1; w++) {
    if (names) {
      size_t len = strcspn(names, ",");
      n += snprintf(pos + n, sizeof pos - (size_t)n, "%s%.*s = %lld", w ? ", " : " (", (int)len, names, (long long)err->where[w]);
      names += len + (names[len] == ',');
    } else {
      n += snprintf(pos + n, sizeof pos - (size_t)n, "%s%lld", w ? ", " : "[", (long long)err->where[w]);
    }
  }
  if (nwhere && n < (int)sizeof pos - 1) snprintf(pos + n, sizeof pos - (size_t)n, "%s", ck->where_names ? ")" : "]");
  int64_t extent = -1;
  texrt_dim_eval(&ck->extent, syms, &extent);
  return texrt_fail(TEX_ERR_INDEX, "%s: %s%s = %lld is out of range for axis %d of extent %lld (%s)", fn_name(plan),
                    ck->what ? ck->what : "index", pos, (long long)err->value, ck->axis, (long long)extent, ck->array ? ck->array : "?");
}

static int run_range(const TexPlan *plan, void **bufs, const int64_t *syms, int32_t from, int32_t to);

static int run_kernel(const TexPlan *plan, void *const *bufs, const int64_t *syms, int32_t s) {
  char why[256];
  const TexStep *step = &plan->steps[s];
  int64_t extent;
  int st = texrt_dim_eval(&step->extent, syms, &extent);
  if (st != TEX_OK) {
    snprintf(why, sizeof why, "%s", texrt_last_error());
    return texrt_fail(st, "%s: step #%d: loop extent: %s", fn_name(plan), s, why);
  }
  if (!step->fn) return texrt_fail(TEX_ERR_NULL, "%s: step #%d has no kernel", fn_name(plan), s);
  if (step->noperands > TEX_MAX_OPERANDS) return texrt_fail(TEX_ERR_OVERFLOW, "%s: step #%d has too many operands", fn_name(plan), s);
  void *ops[TEX_MAX_OPERANDS];
  int32_t nbufs = plan->func->nparams + plan->ntemps;
  for (int32_t j = 0; j < step->noperands; j++) {
    if (step->operands[j] < 0 || step->operands[j] >= nbufs)
      return texrt_fail(TEX_ERR_SHAPE, "%s: step #%d: bad operand", fn_name(plan), s);
    ops[j] = bufs[step->operands[j]];
  }
  TexIndexError err;
  int64_t work = 1; /* an estimate: a malformed expression only keeps the step serial */
  if (step->split && step->work.len && texrt_dim_eval(&step->work, syms, &work) != TEX_OK) work = 0;
  void *const *args = step->noperands ? ops : bufs;
  if (extent > 0 &&
      (step->split && work > 0 ? texrt_parallel_for(step->fn, args, syms, extent, work, &err) : step->fn(args, syms, 0, extent, &err)))
    return index_error(plan, step, s, &err, syms);
  return TEX_OK;
}

/* A loop's buffers: the trip count and t are 8-byte buffers, the states temporaries. */
static int check_loop(const TexPlan *plan, const TexLoop *l, int32_t s, int32_t to) {
  int32_t np = plan->func->nparams, nbufs = np + plan->ntemps;
  bool ok = l->trip >= 0 && l->trip < nbufs && l->index >= np && l->index < nbufs && l->nbody >= 0 && l->nbody <= to - s - 1 &&
            l->nstates >= 0 && (!l->nstates || (l->cur && l->next)) && l->nouts >= 0 && (!l->nouts || (l->slot && l->stack)) &&
            l->cond_state >= -1 && l->cond_state < l->nstates;
  for (int32_t k = 0; ok && k < l->nstates; k++) ok = l->cur[k] >= np && l->cur[k] < nbufs && l->next[k] >= np && l->next[k] < nbufs;
  for (int32_t j = 0; ok && j < l->nouts; j++) ok = l->slot[j] >= np && l->slot[j] < nbufs && l->stack[j] >= np && l->stack[j] < nbufs;
  ok = ok && l->snaps >= 0 && l->nadvance >= 0 &&
       (!l->snaps ||
        (l->nadvance <= to - s - 1 - l->nbody && l->nprim >= 0 && l->nprim <= l->nstates && (!l->nprim || l->snap) && !l->once));
  for (int32_t k = 0; ok && l->snaps && k < l->nprim; k++) ok = l->snap[k] >= np && l->snap[k] < nbufs;
  return ok ? TEX_OK : texrt_fail(TEX_ERR_NULL, "%s: step #%d: malformed loop", fn_name(plan), s);
}

/* Points each output slot at row t of its stack (the rows are the slot's
 * size; a stack holds trip rows, so the row is inside it).  Nothing else
 * holds a slot's pointer: a temporary that shares its own memory took the
 * pointer when the temporaries were laid out. */
static int point_slots(const TexPlan *plan, void **bufs, const int64_t *syms, const TexLoop *l, int64_t t) {
  for (int32_t j = 0; j < l->nouts; j++) {
    int64_t bytes;
    int st = temp_bytes(plan, l->slot[j] - plan->func->nparams, syms, &bytes);
    if (st != TEX_OK) return st;
    bufs[l->slot[j]] = (char *)bufs[l->stack[j]] + t * bytes;
  }
  return TEX_OK;
}

static void swap_range(void **bufs, const TexLoop *l, int32_t from, int32_t to) {
  for (int32_t k = from; k < to; k++) {
    void *x = bufs[l->cur[k]];
    bufs[l->cur[k]] = bufs[l->next[k]], bufs[l->next[k]] = x;
  }
}

static void swap_states(void **bufs, const TexLoop *l) {
  for (int32_t k = 0; k < l->nstates; k++) {
    void *x = bufs[l->cur[k]];
    bufs[l->cur[k]] = bufs[l->next[k]], bufs[l->next[k]] = x;
  }
}

/* After an odd number of iterations the states are in the next buffers'
 * memory: the pointers go back and the states are copied home. */
static int settle_states(const TexPlan *plan, void **bufs, const int64_t *syms, const TexLoop *l) {
  swap_states(bufs, l);
  for (int32_t k = 0; k < l->nstates; k++) {
    int64_t bytes;
    int st = temp_bytes(plan, l->cur[k] - plan->func->nparams, syms, &bytes);
    if (st != TEX_OK) return st;
    if (bytes > 0) memcpy(bufs[l->cur[k]], bufs[l->next[k]], (size_t)bytes);
  }
  return TEX_OK;
}

/* A while loop's flag: its state cond_state, a bool scalar, in cur. */
static bool go_on(void **bufs, const TexLoop *l) {
  uint8_t c;
  memcpy(&c, bufs[l->cur[l->cond_state]], 1);
  return c != 0;
}

/* ---- revolve loops (texrt.h TexLoop.snaps; the schedule is revolve.c's) ---- */

typedef struct Revolve {
  const TexPlan *plan;
  void **bufs;
  const int64_t *syms;
  const TexLoop *l;
  int32_t s;            /* the loop's step */
  int64_t trip, primal_swaps, back_swaps;
} Revolve;

static int rv_advance(void *ctx, int64_t t) {
  Revolve *v = ctx;
  const TexLoop *l = v->l;
  *(int64_t *)v->bufs[l->index] = t;
  int32_t from = v->s + 1 + l->nbody;
  int st = run_range(v->plan, v->bufs, v->syms, from, from + l->nadvance);
  swap_range(v->bufs, l, 0, l->nprim);
  v->primal_swaps++;
  return st;
}

static int rv_back(void *ctx, int64_t t) {
  Revolve *v = ctx;
  const TexLoop *l = v->l;
  int64_t it = v->trip - 1 - t; /* iteration it of the body runs step t back */
  *(int64_t *)v->bufs[l->index] = it;
  int st = point_slots(v->plan, v->bufs, v->syms, l, it);
  if (st == TEX_OK) st = run_range(v->plan, v->bufs, v->syms, v->s + 1, v->s + 1 + l->nbody);
  swap_range(v->bufs, l, l->nprim, l->nstates);
  v->back_swaps++;
  return st;
}

/* Copies the primal states between the current buffers and row `slot` of
 * their snapshot temporaries. */
static int rv_copy(Revolve *v, int32_t slot, bool store) {
  const TexLoop *l = v->l;
  int32_t np = v->plan->func->nparams;
  for (int32_t k = 0; k < l->nprim; k++) {
    int64_t bytes;
    int st = temp_bytes(v->plan, l->cur[k] - np, v->syms, &bytes);
    if (st != TEX_OK) return st;
    char *row = (char *)v->bufs[l->snap[k]] + (size_t)slot * (size_t)bytes;
    if (bytes > 0) memcpy(store ? row : v->bufs[l->cur[k]], store ? v->bufs[l->cur[k]] : row, (size_t)bytes);
  }
  return TEX_OK;
}

static int rv_store(void *ctx, int32_t slot) { return rv_copy(ctx, slot, true); }
static int rv_restore(void *ctx, int32_t slot) { return rv_copy(ctx, slot, false); }

/* The backward sweep by the schedule; at the end the pointers go home, the
 * primal states P_0 (slot 0) and the others' final values in cur. */
static int run_revolve(const TexPlan *plan, void **bufs, const int64_t *syms, int32_t s, int64_t trip) {
  const TexLoop *l = plan->steps[s].loop;
  Revolve v = {plan, bufs, syms, l, s, trip, 0, 0};
  TexRevolveOps ops = {&v, rv_advance, rv_back, rv_store, rv_restore};
  int st = texrt_revolve(trip, l->snaps, &ops);
  if (v.primal_swaps % 2) swap_range(bufs, l, 0, l->nprim);
  if (trip > 0) {
    int restored = rv_restore(&v, 0);
    if (st == TEX_OK) st = restored;
  }
  if (v.back_swaps % 2) {
    swap_range(bufs, l, l->nprim, l->nstates);
    for (int32_t k = l->nprim; k < l->nstates; k++) {
      int64_t bytes;
      int sb = temp_bytes(plan, l->cur[k] - plan->func->nparams, syms, &bytes);
      if (sb == TEX_OK && bytes > 0) memcpy(bufs[l->cur[k]], bufs[l->next[k]], (size_t)bytes);
      if (st == TEX_OK) st = sb;
    }
  }
  return st;
}

static int run_loop(const TexPlan *plan, void **bufs, const int64_t *syms, int32_t s, int32_t to) {
  const TexLoop *l = plan->steps[s].loop;
  int st = check_loop(plan, l, s, to);
  if (st != TEX_OK) return st;
  int64_t trip, t = 0;
  memcpy(&trip, bufs[l->trip], sizeof trip); /* an argument's data need not be aligned */
  if (trip < 0)
    return texrt_fail(TEX_ERR_TRIP, "%s: the trip count of the loop at %s is %lld; it must not be negative", fn_name(plan),
                      l->where ? l->where : "?", (long long)trip);
  if (l->snaps) return run_revolve(plan, bufs, syms, s, trip);
  if (l->once) return run_range(plan, bufs, syms, s + 1, s + 1 + l->nbody);
  for (; t < trip && st == TEX_OK; t++) {
    if (l->cond_state >= 0 && !go_on(bufs, l)) break;
    *(int64_t *)bufs[l->index] = t;
    st = point_slots(plan, bufs, syms, l, t);
    if (st == TEX_OK) st = run_range(plan, bufs, syms, s + 1, s + 1 + l->nbody);
    swap_states(bufs, l);
  }
  if (st == TEX_OK && l->cond_state >= 0 && t == trip && go_on(bufs, l))
    st = texrt_fail(TEX_ERR_MAXITER, "%s: the while loop at %s reached its maximum of %lld iterations with its condition still true",
                    fn_name(plan), l->where ? l->where : "?", (long long)trip);
  if (t % 2) { /* the pointers go home even after an error: the block is freed by them */
    int settled = settle_states(plan, bufs, syms, l);
    if (st == TEX_OK) st = settled;
  }
  return st;
}

/* An if step: the then steps after it, or the else steps after those. */
static int run_branch(const TexPlan *plan, void **bufs, const int64_t *syms, int32_t s, int32_t to) {
  const TexBranch *b = plan->steps[s].branch;
  int32_t nbufs = plan->func->nparams + plan->ntemps;
  if (b->cond < 0 || b->cond >= nbufs || b->nthen < 0 || b->nelse < 0 || b->nthen > to - s - 1 || b->nelse > to - s - 1 - b->nthen)
    return texrt_fail(TEX_ERR_NULL, "%s: step #%d: malformed if", fn_name(plan), s);
  uint8_t c;
  memcpy(&c, bufs[b->cond], 1);
  return c ? run_range(plan, bufs, syms, s + 1, s + 1 + b->nthen)
           : run_range(plan, bufs, syms, s + 1 + b->nthen, s + 1 + b->nthen + b->nelse);
}

/* Steps [from, to): kernels, and loops and ifs that run the steps after them. */
static int run_range(const TexPlan *plan, void **bufs, const int64_t *syms, int32_t from, int32_t to) {
  for (int32_t s = from; s < to; s++) {
    const TexStep *step = &plan->steps[s];
    int st = step->loop     ? run_loop(plan, bufs, syms, s, to)
             : step->branch ? run_branch(plan, bufs, syms, s, to)
                            : run_kernel(plan, bufs, syms, s);
    if (st != TEX_OK) return st;
    if (step->loop) s += step->loop->nbody + step->loop->nadvance;
    if (step->branch && !step->loop) s += step->branch->nthen + step->branch->nelse;
  }
  return TEX_OK;
}

static int run_steps(const TexPlan *plan, void **bufs, const int64_t *syms) { return run_range(plan, bufs, syms, 0, plan->nsteps); }

/* The plan's own sizes, before they size anything. */
static int check_plan(const TexPlan *plan) {
  const TexFuncInfo *f = plan->func;
  if (f->nparams < 0 || f->nparams > TEX_MAX_ARGS || f->nsyms < 0 || f->nsyms > TEX_MAX_SYMS || plan->ntemps < 0 ||
      plan->ntemps > TEX_MAX_TEMPS)
    return texrt_fail(TEX_ERR_OVERFLOW,
                      "%s: %d parameters, %d size symbols and %d "
                      "temporaries; the runtime supports at most %d, %d and %d",
                      fn_name(plan), f->nparams, f->nsyms, plan->ntemps, TEX_MAX_ARGS, TEX_MAX_SYMS, TEX_MAX_TEMPS);
  if ((plan->ntemps && !plan->temps) || plan->nsteps < 0 || (plan->nsteps && !plan->steps))
    return texrt_fail(TEX_ERR_NULL, "%s: malformed plan", fn_name(plan));
  return TEX_OK;
}

/* Where the temporaries live: one block from the allocation hook, or the
 * caller's workspace (aligned up to TEMP_ALIGN inside it). */
typedef struct Memory {
  void *ws;
  size_t ws_bytes;
  bool use_ws;
} Memory;

static int place_temps(const TexPlan *plan, const int64_t *syms, void **tbufs, void **block, TexAllocFn alloc, const Memory *mem,
                       bool *cached) {
  if (!mem->use_ws) return alloc_temps(plan, syms, tbufs, block, alloc, cached);
  size_t total = 0;
  int st = layout_temps(plan, syms, NULL, tbufs, &total);
  if (st != TEX_OK || total == 0) return st;
  uintptr_t base = ((uintptr_t)mem->ws + TEMP_ALIGN - 1) & ~(uintptr_t)(TEMP_ALIGN - 1);
  if (!mem->ws)
    return texrt_fail(TEX_ERR_NULL, "%s: the workspace is NULL; this call needs %zu bytes", fn_name(plan), total + TEMP_ALIGN - 1);
  if (base - (uintptr_t)mem->ws + total > mem->ws_bytes)
    return texrt_fail(TEX_ERR_ALLOC, "%s: the workspace has %zu bytes; this call needs %zu (see %s_workspace_size)", fn_name(plan),
                      mem->ws_bytes, total + TEMP_ALIGN - 1, fn_name(plan));
  return layout_temps(plan, syms, (char *)base, tbufs, &total);
}

/* The one place the runtime asks whether it can run a module's code here,
 * by the module's target: "cpu" checks the CPU's features once.  A GPU
 * runtime file adds its device's row. */
static int check_device(const TexModuleInfo *module) {
  if (!module || !module->target || strcmp(module->target, "cpu") == 0) return texrt_check_cpu(module);
  return texrt_fail(TEX_ERR_DEVICE, "%s: built for target '%s', which this runtime cannot run", module->prefix ? module->prefix : "?",
                    module->target);
}

/* More buffers than fit on the stack: their pointer table comes from the
 * start of the workspace (so a _ws call allocates nothing, as promised) or
 * from the allocation hook.  *mem is left describing the rest. */
static int buffer_table(const TexPlan *plan, size_t table, Memory *mem, TexAllocFn alloc, void ***bufs) {
  if (!mem->use_ws) {
    if (!(*bufs = alloc(table, alignof(void *))))
      return texrt_fail(TEX_ERR_ALLOC, "%s: out of memory allocating %zu bytes of buffer pointers", fn_name(plan), table);
    return TEX_OK;
  }
  if (!mem->ws)
    return texrt_fail(TEX_ERR_NULL, "%s: the workspace is NULL; this call needs one (see %s_workspace_size)", fn_name(plan), fn_name(plan));
  uintptr_t base = ((uintptr_t)mem->ws + alignof(void *) - 1) & ~(uintptr_t)(alignof(void *) - 1);
  size_t skip = base - (uintptr_t)mem->ws;
  if (skip + table > mem->ws_bytes)
    return texrt_fail(TEX_ERR_ALLOC, "%s: the workspace has %zu bytes; this call needs more (see %s_workspace_size)", fn_name(plan),
                      mem->ws_bytes, fn_name(plan));
  *bufs = (void **)base;
  mem->ws = (char *)base + table;
  mem->ws_bytes -= skip + table;
  return TEX_OK;
}

/* bind, then either run the steps or only measure the workspace (which
 * binds only the parameters, so it needs no table of its own). */
static int run(const TexPlan *plan, const DLTensor *const *args, const Memory *mem, size_t *measure) {
  if (!plan || !plan->func) return texrt_fail(TEX_ERR_NULL, "texrt_run: the plan is NULL");
  int st = check_plan(plan);
  if (st != TEX_OK || (st = check_device(plan->module)) != TEX_OK) return st;
  TexAllocFn alloc = atomic_load_explicit(&hook_alloc, memory_order_relaxed);
  TexFreeFn release = atomic_load_explicit(&hook_release, memory_order_relaxed);
  void *local[INLINE_BUFS], **bufs = local, *block = NULL;
  size_t nbufs = (size_t)plan->func->nparams + (size_t)plan->ntemps;
  size_t table = nbufs > INLINE_BUFS ? nbufs * sizeof *bufs : 0;
  Memory rest = *mem;
  if (table && !measure && (st = buffer_table(plan, table, &rest, alloc, &bufs)) != TEX_OK) return st;
  int64_t syms[TEX_MAX_SYMS] = {0}; /* a plan reading an unbound symbol sees 0, not garbage */
  st = texrt_bind(plan->module, plan->func, args, bufs, syms);
  if (st == TEX_OK && measure) {
    st = layout_temps(plan, syms, NULL, bufs + plan->func->nparams, measure);
    if (*measure) *measure += TEMP_ALIGN - 1; /* room to align any workspace pointer */
    if (table) *measure += table + alignof(void *) - 1;
  } else if (st == TEX_OK) {
    bool cached = false;
    st = place_temps(plan, syms, bufs + plan->func->nparams, &block, alloc, &rest, &cached);
    if (st == TEX_OK) st = run_steps(plan, bufs, syms);
    if (cached) cache.busy = false;
  }
  if (block) release(block);
  if (bufs != local && !mem->use_ws) release(bufs);
  return st;
}

int texrt_run(const TexPlan *plan, const DLTensor *const *args) {
  Memory mem = {NULL, 0, false};
  return run(plan, args, &mem, NULL);
}

int texrt_run_ws(const TexPlan *plan, const DLTensor *const *args, void *workspace, size_t workspace_bytes) {
  Memory mem = {workspace, workspace_bytes, true};
  return run(plan, args, &mem, NULL);
}

int texrt_workspace_size(const TexPlan *plan, const DLTensor *const *args, size_t *bytes) {
  if (!bytes) return texrt_fail(TEX_ERR_NULL, "%s: the bytes pointer is NULL", plan && plan->func ? fn_name(plan) : "texrt");
  *bytes = 0;
  Memory mem = {NULL, 0, false};
  return run(plan, args, &mem, bytes);
}

int texrt_call(const TexPlan *const *plans, int32_t nplans, int32_t index, const DLTensor *const *args) {
  if (!plans || index < 0 || index >= nplans) return texrt_fail(TEX_ERR_INDEX, "no function #%d in this module (it has %d)", index, nplans);
  return texrt_run(plans[index], args);
}
