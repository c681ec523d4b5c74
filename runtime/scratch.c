/* scratch.c — per-thread scratch memory for kernels.
 *
 * The packed matmul (codegen/matmul.c) copies panels of A and B into a
 * buffer of under a megabyte before it multiplies them.  The buffer is kept
 * per thread between calls: a call faults in no fresh pages, and two threads
 * (the caller's, the pool's) never share one.  It is freed when its thread
 * exits (a pthread key's destructor).  On allocation failure the kernel gets
 * NULL and takes its plain loops instead, with the same results. */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdlib.h>

#include "texrt.h"

static _Thread_local void *scratch;
static _Thread_local size_t scratch_bytes;
static pthread_key_t scratch_key;
static pthread_once_t scratch_once = PTHREAD_ONCE_INIT;

static void scratch_init(void) { (void)pthread_key_create(&scratch_key, free); }

void *texrt_scratch(size_t bytes) {
  if (bytes <= scratch_bytes) return scratch;
  pthread_once(&scratch_once, scratch_init);
  size_t size = (bytes + 4095) / 4096 * 4096;
  void *p = NULL;
  if (posix_memalign(&p, 4096, size)) return NULL;
  free(scratch);
  scratch = p, scratch_bytes = size;
  (void)pthread_setspecific(scratch_key, p); /* freed at thread exit */
  return p;
}
