/* rt_ws.c — a _ws call allocates nothing, even for a function with more
 * buffers than texrt_run keeps on the stack (over 128 parameters and
 * temporaries: its table of buffer pointers then lives in the workspace).
 * Linked by tests/fault/run.sh with the chain() module of run.sh, compiled
 * with --prefix=fault, and the runtime archive.  With an allocation hook that
 * fails every allocation, fault_chain_ws must give the bits fault_chain gave
 * (at any alignment of the workspace), and a workspace one byte short, or
 * NULL, must be an error naming the size function. */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "texrt.h"

int fault_chain(const DLTensor *x, DLTensor *out);
int fault_chain_ws(const DLTensor *x, DLTensor *out, void *ws, size_t bytes);
int fault_chain_workspace_size(const DLTensor *x, DLTensor *out, size_t *bytes);
const char *fault_last_error(void);

static atomic_long asked;

static void *no_memory(size_t bytes, size_t align) {
  (void)bytes, (void)align;
  atomic_fetch_add(&asked, 1);
  return NULL;
}

static int bad;

static void expect(int ok, const char *what) {
  if (!ok) fprintf(stderr, "rt_ws: %s (%s)\n", what, fault_last_error()), bad++;
}

int main(void) {
  enum { N = 300 };
  static float x[N];
  float want = 0, got = 0;
  for (int i = 0; i < N; i++) x[i] = (float)(i % 13) / 16.0f;
  int64_t shape[1] = {N};
  DLTensor tx = {x, {kDLCPU, 0}, 1, {kDLFloat, 32, 1}, shape, NULL, 0};
  DLTensor twant = {&want, {kDLCPU, 0}, 0, {kDLFloat, 32, 1}, NULL, NULL, 0}, tgot = twant;
  tgot.data = &got;
  size_t need = 0;
  expect(fault_chain(&tx, &twant) == TEX_OK, "the plain call failed");
  expect(fault_chain_workspace_size(&tx, &tgot, &need) == TEX_OK, "workspace_size failed");
  char *mem = malloc(need + 16);
  texrt_set_allocator(no_memory, free);
  for (int offset = 0; mem && offset < 16; offset += 3) {
    got = -1;
    expect(fault_chain_ws(&tx, &tgot, mem + offset, need) == TEX_OK, "the _ws call failed");
    expect(memcmp(&got, &want, sizeof got) == 0, "the _ws call gave other bits");
  }
  expect(atomic_load(&asked) == 0, "the _ws call asked the allocation hook for memory");
  expect(fault_chain_ws(&tx, &tgot, mem, 8) == TEX_ERR_ALLOC && strstr(fault_last_error(), "workspace_size"),
         "a workspace too small for the buffer table was not TEX_ERR_ALLOC naming workspace_size");
  expect(fault_chain_ws(&tx, &tgot, mem, need / 2) == TEX_ERR_ALLOC && strstr(fault_last_error(), "workspace_size"),
         "half the workspace was not TEX_ERR_ALLOC naming workspace_size");
  expect(fault_chain_ws(&tx, &tgot, NULL, need) == TEX_ERR_NULL, "a NULL workspace was not TEX_ERR_NULL");
  texrt_set_allocator(NULL, NULL);
  free(mem);
  printf("rt_ws: chain_ws with %zu bytes of workspace, no allocation: %d bad\n", need, bad);
  return bad ? 1 : 0;
}
