/* rt_fault.c — allocation failures in the runtime: for every function of a
 * module compiled with `texc --emit=obj --prefix=fault`, fail the 1st, 2nd,
 * ... allocation of a call through texrt_set_allocator, until a call
 * finishes without reaching N.  Each failing call must return TEX_ERR_ALLOC
 * with an "out of memory" message and give back every block it took; the
 * call after the sweep must give the same bits as the first.  Linked at
 * test time (tests/fault/run.sh) with the object and the runtime archive, so
 * the hook it sets is the one the generated code calls. */
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "modargs.h"

const TexModuleInfo *fault_module_info(void);
int fault_call(int index, const DLTensor *const *args);
const char *fault_last_error(void);

static atomic_long count, live;
static long fail_at;

static void *counting_alloc(size_t bytes, size_t align) {
  if (atomic_fetch_add(&count, 1) + 1 == fail_at) return NULL;
  void *p = aligned_alloc(align, (bytes + align - 1) / align * align);
  if (p) atomic_fetch_add(&live, 1);
  return p;
}

static void counting_free(void *p) {
  if (p) atomic_fetch_sub(&live, 1);
  free(p);
}

/* One call with allocation `at` failing (0: none); returns its status. */
static int call(int index, ModArgs *a, long at) {
  modargs_reset(a);
  atomic_store(&count, 0);
  fail_at = at;
  texrt_set_allocator(counting_alloc, counting_free);
  int st = fault_call(index, a->p);
  texrt_set_allocator(NULL, NULL);
  return st;
}

/* The outputs and inout parameters after a call, for comparing calls. */
static char *outputs(const ModArgs *a) {
  size_t total = 0;
  for (int i = 0; i < a->n; i++) total += a->f->params[i].role == TEX_IN ? 0 : a->bytes[i];
  char *out = malloc(total + 1), *p = out;
  for (int i = 0; out && i < a->n; i++)
    if (a->f->params[i].role != TEX_IN) memcpy(p, a->t[i].data, a->bytes[i]), p += a->bytes[i];
  return out;
}

static bool same_outputs(const ModArgs *a, const char *want) {
  char *got = outputs(a);
  size_t total = 0;
  for (int i = 0; i < a->n; i++) total += a->f->params[i].role == TEX_IN ? 0 : a->bytes[i];
  bool same = got && memcmp(got, want, total) == 0;
  free(got);
  return same;
}

static int sweep(int index, const TexFuncInfo *f) {
  ModArgs a;
  if (modargs_make(&a, f, 5, 1) != 0) return fprintf(stderr, "rt_fault: %s: cannot make arguments\n", f->name), 1;
  int bad = 0, st = call(index, &a, 0);
  long allocs = atomic_load(&count);
  char *want = outputs(&a);
  if (st != TEX_OK) {
    fprintf(stderr, "rt_fault: %s: the call without failures gave %d: %s\n", f->name, st, fault_last_error());
    bad++;
  }
  for (long n = 1; !bad && n <= allocs + 1; n++) {
    st = call(index, &a, n);
    const char *why = NULL;
    if (n <= allocs && st != TEX_ERR_ALLOC) why = "the failed allocation did not give TEX_ERR_ALLOC";
    else if (n <= allocs && !strstr(fault_last_error(), "out of memory")) why = "no 'out of memory' message";
    else if (n > allocs && st != TEX_OK) why = "the call after the sweep failed";
    else if (n > allocs && !same_outputs(&a, want)) why = "the call after the sweep gave other bits";
    else if (atomic_load(&live)) why = "blocks were not given back";
    if (why) {
      fprintf(stderr, "rt_fault: %s, allocation %ld failing: %s (status %d: %s)\n", f->name, n, why, st,
              fault_last_error());
      bad++;
    }
  }
  printf("rt_fault: %s: %ld allocation%s swept, %d bad\n", f->name, allocs, allocs == 1 ? "" : "s", bad);
  free(want);
  modargs_free(&a);
  return bad;
}

int main(void) {
  const TexModuleInfo *mi = fault_module_info();
  int bad = 0;
  for (int i = 0; i < mi->nfuncs; i++) bad += sweep(i, &mi->funcs[i]);
  return bad ? 1 : 0;
}
