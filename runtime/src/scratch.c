/* scratch.c - scratch blocks kept across runs (scratch.h).
 *
 * Blocks are 64-byte aligned (Halide's vector loads assume it). Each carries a 64-byte
 * header with its capacity and the table it belongs to, so a block always goes back to its
 * own context's table, whichever context frees it.
 */
#include "scratch.h"

#include <stdint.h>
#include <stdlib.h>

enum { KILN_SCRATCH_HEADER = 64 };

typedef struct block_header_t {
  size_t capacity;
  kiln_scratch_t *owner;
} block_header_t;

static void *block_data(void *base) { return (uint8_t *)base + KILN_SCRATCH_HEADER; }
static block_header_t *block_header(void *data) {
  return (block_header_t *)((uint8_t *)data - KILN_SCRATCH_HEADER);
}

void *kiln_scratch_alloc(kiln_scratch_t *scratch, size_t size) {
  if (size > SIZE_MAX - 2 * KILN_SCRATCH_HEADER) return NULL;
  size_t capacity = (size + 63) & ~(size_t)63;
  pthread_mutex_lock(&scratch->lock);
  /* Reuse the smallest kept block that fits without wasting more than half of it. */
  int best = -1;
  for (int i = 0; i < scratch->free_count; ++i) {
    size_t c = scratch->free_blocks[i].capacity;
    if (c >= capacity && c / 2 <= capacity &&
        (best < 0 || c < scratch->free_blocks[best].capacity))
      best = i;
  }
  if (best >= 0) {
    void *data = scratch->free_blocks[best].data;
    scratch->free_blocks[best] = scratch->free_blocks[--scratch->free_count];
    pthread_mutex_unlock(&scratch->lock);
    return data;
  }
  pthread_mutex_unlock(&scratch->lock);
  void *base = aligned_alloc(64, capacity + KILN_SCRATCH_HEADER);
  if (!base) return NULL;
  block_header_t *header = base;
  header->capacity = capacity;
  header->owner = scratch;
  return block_data(base);
}

void kiln_scratch_free(void *data) {
  if (!data) return;
  block_header_t *header = block_header(data);
  kiln_scratch_t *scratch = header->owner;
  pthread_mutex_lock(&scratch->lock);
  if (scratch->free_count < KILN_SCRATCH_SLOTS) {
    scratch->free_blocks[scratch->free_count].data = data;
    scratch->free_blocks[scratch->free_count].capacity = header->capacity;
    ++scratch->free_count;
    data = NULL;
  }
  pthread_mutex_unlock(&scratch->lock);
  if (data) free(header);
}

void kiln_scratch_release(kiln_scratch_t *scratch) {
  pthread_mutex_lock(&scratch->lock);
  for (int i = 0; i < scratch->free_count; ++i) free(block_header(scratch->free_blocks[i].data));
  scratch->free_count = 0;
  pthread_mutex_unlock(&scratch->lock);
}
