/* scratch.h - internal: scratch blocks kept across runs, one table per runtime context.
 *
 * Kernels allocate their intermediate buffers (padded inputs, reduction stages, decoded
 * weight tiles) through halide_malloc/halide_free, which context.c routes to the scratch of
 * the context the kernel runs in. A block freed by one run is handed out again to the next:
 * after its first run a model allocates nothing.
 */
#ifndef KILN_RUNTIME_SCRATCH_H_
#define KILN_RUNTIME_SCRATCH_H_

#include <pthread.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#define KILN_SCRATCH_SLOTS 256

typedef struct kiln_scratch_block_t {
  void *data;
  size_t capacity;
} kiln_scratch_block_t;

/// Freed blocks kept for reuse. Zero-initialized plus an initialized mutex is a valid, empty
/// table (KILN_SCRATCH_INITIALIZER for static ones).
typedef struct kiln_scratch_t {
  pthread_mutex_t lock;  // kernels allocate from parallel tasks
  int free_count;
  kiln_scratch_block_t free_blocks[KILN_SCRATCH_SLOTS];
} kiln_scratch_t;

#define KILN_SCRATCH_INITIALIZER {PTHREAD_MUTEX_INITIALIZER, 0, {{0, 0}}}

/// A 64-byte aligned block of at least `size` bytes: a kept one when one fits, else new.
void *kiln_scratch_alloc(kiln_scratch_t *scratch, size_t size);
/// Gives `data` back to the table it came from (kept, or freed when the table is full).
void kiln_scratch_free(void *data);
/// Frees every kept block (the table stays usable).
void kiln_scratch_release(kiln_scratch_t *scratch);

#ifdef __cplusplus
}
#endif

#endif /* KILN_RUNTIME_SCRATCH_H_ */
