/* modargs.h — arguments for any function of a compiled module, made from its
 * metadata (TexFuncInfo): every size symbol gets one value, every input a
 * deterministic pattern.  For the tests that call generated code generically
 * (tests/fault/rt_fault.c, tests/tsan/threads.c); header-only, static.
 * Link with the runtime archive (texrt_dim_eval, texrt_dtype_bytes). */
#ifndef TEXC_TESTS_MODARGS_H
#define TEXC_TESTS_MODARGS_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "texrt.h"

enum { MODARGS_MAX_RANK = 8 };

typedef struct ModArgs {
  int n;
  DLTensor t[TEX_MAX_ARGS];
  int64_t shape[TEX_MAX_ARGS][MODARGS_MAX_RANK];
  size_t bytes[TEX_MAX_ARGS];
  void *pristine[TEX_MAX_ARGS]; /* the inputs as made: inout ones are written */
  const DLTensor *p[TEX_MAX_ARGS];
  const TexFuncInfo *f;
} ModArgs;

static DLDataType modargs_dltype(int dtype) {
  switch (dtype) {
  case TEX_F32: return (DLDataType){kDLFloat, 32, 1};
  case TEX_F64: return (DLDataType){kDLFloat, 64, 1};
  case TEX_I32: return (DLDataType){kDLInt, 32, 1};
  case TEX_I64: return (DLDataType){kDLInt, 64, 1};
  default: return (DLDataType){kDLUInt, 8, 1};
  }
}

/* Element i of an input: small, positive, varied, never zero (divisions). */
static void modargs_fill(void *data, int dtype, size_t elems, unsigned seed) {
  for (size_t i = 0; i < elems; i++) {
    unsigned v = (unsigned)(i * 7 + seed * 13) % 11;
    switch (dtype) {
    case TEX_F32: ((float *)data)[i] = 0.25f + (float)v / 8; break;
    case TEX_F64: ((double *)data)[i] = 0.25 + (double)v / 8; break;
    case TEX_I32: ((int32_t *)data)[i] = (int32_t)v + 1; break;
    case TEX_I64: ((int64_t *)data)[i] = (int64_t)v + 1; break;
    default: ((uint8_t *)data)[i] = (uint8_t)(v & 1); break;
    }
  }
}

/* Makes a's tensors for f with every size symbol = sym; returns 0 or -1. */
static int modargs_make(ModArgs *a, const TexFuncInfo *f, int64_t sym, unsigned seed) {
  int64_t syms[TEX_MAX_SYMS];
  memset(a, 0, sizeof *a);
  a->f = f;
  a->n = f->nparams;
  if (f->nparams > TEX_MAX_ARGS || f->nsyms > TEX_MAX_SYMS) return -1;
  for (int s = 0; s < f->nsyms; s++) syms[s] = sym;
  for (int i = 0; i < f->nparams; i++) {
    const TexParamInfo *p = &f->params[i];
    size_t elems = 1;
    if (p->rank > MODARGS_MAX_RANK) return -1;
    for (int k = 0; k < p->rank; k++) {
      if (texrt_dim_eval(&p->dims[k], syms, &a->shape[i][k]) != TEX_OK) return -1;
      elems *= (size_t)a->shape[i][k];
    }
    a->bytes[i] = elems * (size_t)texrt_dtype_bytes(p->dtype);
    void *data = aligned_alloc(64, (a->bytes[i] + 64) / 64 * 64);
    if (!data) return -1;
    memset(data, 0, a->bytes[i]);
    if (p->role != TEX_OUT) {
      modargs_fill(data, p->dtype, elems, seed + (unsigned)i);
      a->pristine[i] = malloc(a->bytes[i] + 1);
      if (!a->pristine[i]) return -1;
      memcpy(a->pristine[i], data, a->bytes[i]);
    }
    a->t[i] = (DLTensor){data, {kDLCPU, 0}, p->rank, modargs_dltype(p->dtype), a->shape[i], NULL, 0};
    a->p[i] = &a->t[i];
  }
  return 0;
}

/* Inputs back to their pristine values, outputs to zero. */
static void modargs_reset(ModArgs *a) {
  for (int i = 0; i < a->n; i++) {
    if (a->pristine[i]) memcpy(a->t[i].data, a->pristine[i], a->bytes[i]);
    else memset(a->t[i].data, 0, a->bytes[i]);
  }
}

static void modargs_free(ModArgs *a) {
  for (int i = 0; i < a->n; i++) {
    free(a->t[i].data);
    free(a->pristine[i]);
  }
}

#endif /* TEXC_TESTS_MODARGS_H */
