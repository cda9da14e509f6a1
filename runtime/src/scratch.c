/* scratch.c - Halide's scratch allocations served from blocks kept across runs.
 *
 * Kernels allocate their intermediate buffers (padded inputs, reduction stages, decoded
 * weight tiles) through halide_malloc/halide_free. The Halide runtime object defines those
 * weakly; these definitions replace them so that a block freed by one run is handed out
 * again to the next: after the first run of a model, running it allocates nothing. Blocks
 * are 64-byte aligned (Halide's vector loads assume it) and kept in a small table guarded
 * by a mutex (kernels allocate from parallel tasks).
 */
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#define KILN_SCRATCH_SLOTS 256

typedef struct kiln_scratch_block_t {
  void *data;
  size_t capacity;
} kiln_scratch_block_t;

static kiln_scratch_block_t free_blocks[KILN_SCRATCH_SLOTS];
static int free_count = 0;
static pthread_mutex_t scratch_lock = PTHREAD_MUTEX_INITIALIZER;

/* Capacity of a live block, stored just before the data (the data stays 64-byte aligned). */
enum { KILN_SCRATCH_HEADER = 64 };

static void *block_data(void *base) { return (uint8_t *)base + KILN_SCRATCH_HEADER; }
static void *block_base(void *data) { return (uint8_t *)data - KILN_SCRATCH_HEADER; }

void *halide_malloc(void *user_context, size_t size) {
  (void)user_context;
  size_t capacity = (size + 63) & ~(size_t)63;
  pthread_mutex_lock(&scratch_lock);
  /* Reuse the smallest kept block that fits without wasting more than half of it. */
  int best = -1;
  for (int i = 0; i < free_count; ++i) {
    size_t c = free_blocks[i].capacity;
    if (c >= capacity && c / 2 <= capacity && (best < 0 || c < free_blocks[best].capacity))
      best = i;
  }
  if (best >= 0) {
    void *data = free_blocks[best].data;
    free_blocks[best] = free_blocks[--free_count];
    pthread_mutex_unlock(&scratch_lock);
    return data;
  }
  pthread_mutex_unlock(&scratch_lock);
  void *base = aligned_alloc(64, capacity + KILN_SCRATCH_HEADER);
  if (!base)
    return NULL;
  *(size_t *)base = capacity;
  return block_data(base);
}

void halide_free(void *user_context, void *data) {
  (void)user_context;
  if (!data)
    return;
  size_t capacity = *(size_t *)block_base(data);
  pthread_mutex_lock(&scratch_lock);
  if (free_count < KILN_SCRATCH_SLOTS) {
    free_blocks[free_count].data = data;
    free_blocks[free_count].capacity = capacity;
    ++free_count;
    data = NULL;
  }
  pthread_mutex_unlock(&scratch_lock);
  if (data)
    free(block_base(data));
}
