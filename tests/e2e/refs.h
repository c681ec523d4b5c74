/* refs.h — the plain C references of the end-to-end suite (refs.c).
 *
 * A reference gets every input converted to double (integers and bools are
 * exact, floats are the values the compiled code saw), the shapes of the
 * inputs and of the output, and the bound size symbols; it writes the
 * expected output, row-major, as doubles.  References never look at the
 * compiler: they are written from lang/reference.md with ordinary loops and
 * double accumulation.
 *
 * Conventions for the expected values (driver.c compares):
 *   - float outputs: the double value; the driver rounds it to the output
 *     dtype and compares within the program's stated tolerance;
 *   - integer and bool outputs: the exact value (bool: 0 or 1);
 *   - REF_ANY (a NaN) for an integer or bool output element means "either
 *     answer is right" (a comparison of computed values that is too close to
 *     call in double). */
#ifndef E2E_REFS_H
#define E2E_REFS_H

#include <math.h>
#include <stdint.h>

enum { REF_MAX_ARGS = 16, REF_MAX_RANK = 8 };

#define REF_ANY ((double)NAN)

typedef struct RefArgs {
  int nin;
  const double *in[REF_MAX_ARGS];
  int in_rank[REF_MAX_ARGS];
  const int64_t *in_shape[REF_MAX_ARGS];
  int64_t in_numel[REF_MAX_ARGS];
  double *out;
  int out_rank;
  const int64_t *out_shape;
  int64_t out_numel;
  int nsyms;
  const char *const *sym_names;
  const int64_t *syms;
} RefArgs;

typedef void (*RefFn)(const RefArgs *a);

/* The reference named `name`, or NULL. */
RefFn ref_lookup(const char *name);

/* The names of all references, NULL-terminated (for "unknown ref" hints). */
const char *ref_name_at(int i);

/* The references of refs_red.c (reductions, scans, batched matmul), which
 * ref_lookup and ref_name_at also search. */
RefFn ref_red_lookup(const char *name);
const char *ref_red_name_at(int i);

/* The references of refs_index.c (index notation, slices, gathers,
 * scatters, array literals), searched after refs_red.c's. */
RefFn ref_index_lookup(const char *name);
const char *ref_index_name_at(int i);

/* The references of refs_loop.c (differentiable loops: an LSTM, RK4,
 * nested loops and ifs in loops, with hand-written backward passes),
 * searched after refs_index.c's. */
RefFn ref_loop_lookup(const char *name);
const char *ref_loop_name_at(int i);

/* The references of refs_mm.c (matrix products in texc's fma order, with
 * transposed operands and epilogues), searched before refs_red.c's. */
RefFn ref_mm_lookup(const char *name);
const char *ref_mm_name_at(int i);

#endif /* E2E_REFS_H */
