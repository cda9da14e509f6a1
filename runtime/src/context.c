/* context.c - runtime contexts: the thread pool and scratch memory models run with.
 *
 * Kernels are compiled with Halide's user_context argument, and the glue passes the model's
 * context in it. Halide's hooks are process-wide (one halide_do_par_for, one halide_malloc
 * per process), so the hooks here only dispatch: a parallel loop runs on the pool of the
 * context it names, a scratch block comes from that context's table. Calls without a
 * context (Halide's own runtime, before any model) run serially and use a process-wide
 * table. Two models in one process never share a pool or scratch unless opened in one
 * context.
 */
#define _POSIX_C_SOURCE 200809L

#include <stdatomic.h>
#include <stdlib.h>

#include "HalideRuntime.h"
#include "context.h"
#include "error.h"

#define KILN_CONTEXT_MAGIC 0x6b696c6eu /* "kiln" */

static kiln_scratch_t process_scratch = KILN_SCRATCH_INITIALIZER;
static atomic_int default_threads;  // 0: one per online CPU

kiln_context_t *kiln_context_from_user(void *user_context) {
  kiln_context_t *context = user_context;
  return context != NULL && context->magic == KILN_CONTEXT_MAGIC ? context : NULL;
}

/// A Halide loop handed to the caller's parallel_for.
typedef struct caller_loop_t {
  void *user_context;
  halide_task_t task;
  int min;
  uint8_t *closure;
} caller_loop_t;

// The context whose caller's-loop task runs on this thread (NULL: none): loops nested in
// that task run here. Per context, so a pool thread that picks up another model's run
// while it waits still hands that model's loops to its parallel_for.
static _Thread_local kiln_context_t *caller_task_context;

static int run_caller_task(void *data, int32_t index) {
  const caller_loop_t *loop = data;
  kiln_context_t *outer = caller_task_context;
  caller_task_context = kiln_context_from_user(loop->user_context);
  int result = loop->task(loop->user_context, loop->min + index, loop->closure);
  caller_task_context = outer;
  return result;
}

static int context_do_par_for(void *user_context, halide_task_t task, int min, int size,
                              uint8_t *closure) {
  kiln_context_t *context = kiln_context_from_user(user_context);
  if (context != NULL && context->parallel_for != NULL && caller_task_context != context) {
    caller_loop_t loop = {user_context, task, min, closure};
    return context->parallel_for(context->parallel_for_user, size, run_caller_task, &loop);
  }
  if (context != NULL && context->parallel_for == NULL) {
    return kiln_thread_pool_run(context->pool, user_context, task, min, size, closure);
  }
  for (int i = 0; i < size; i++) {
    int result = task(user_context, min + i, closure);
    if (result != 0) return result;
  }
  return 0;
}

void *halide_malloc(void *user_context, size_t size) {
  kiln_context_t *context = kiln_context_from_user(user_context);
  return kiln_scratch_alloc(context != NULL ? &context->scratch : &process_scratch, size);
}

void halide_free(void *user_context, void *data) {
  (void)user_context;  // the block knows its table
  kiln_scratch_free(data);
}

kiln_status_t kiln_set_num_threads(int32_t num_threads) {
  if (num_threads < 1 || num_threads > KILN_THREAD_POOL_MAX_THREADS) {
    return kiln_set_error(KILN_ERROR_ARGUMENT, "thread count %d is not in [1, %d]", num_threads,
                          KILN_THREAD_POOL_MAX_THREADS);
  }
  atomic_store(&default_threads, num_threads);
  return KILN_OK;
}

kiln_status_t kiln_context_create(int32_t num_threads, kiln_context_t **out_context) {
  if (out_context == NULL) return kiln_set_error(KILN_ERROR_ARGUMENT, "out_context is NULL");
  *out_context = NULL;
  if (num_threads == 0) num_threads = atomic_load(&default_threads);
  kiln_context_t *context = calloc(1, sizeof *context);
  if (context == NULL) return kiln_set_error(KILN_ERROR_MEMORY, "no memory for a context");
  context->magic = KILN_CONTEXT_MAGIC;
  pthread_mutex_init(&context->scratch.lock, NULL);
  kiln_status_t status = kiln_thread_pool_create(num_threads, &context->pool);
  if (status != KILN_OK) {
    pthread_mutex_destroy(&context->scratch.lock);
    free(context);
    return status;
  }
  // Installing the dispatching hook again is harmless; it never changes.
  halide_set_custom_do_par_for(context_do_par_for);
  *out_context = context;
  return KILN_OK;
}

kiln_status_t kiln_context_set_num_threads(kiln_context_t *context, int32_t num_threads) {
  if (context == NULL) return kiln_set_error(KILN_ERROR_ARGUMENT, "context is NULL");
  return kiln_thread_pool_set_size(context->pool, num_threads);
}

kiln_status_t kiln_context_set_parallel_for(kiln_context_t *context,
                                            kiln_parallel_for_fn parallel_for, void *user) {
  if (context == NULL) return kiln_set_error(KILN_ERROR_ARGUMENT, "context is NULL");
  context->parallel_for = parallel_for;
  context->parallel_for_user = user;
  return KILN_OK;
}

int32_t kiln_context_num_threads(kiln_context_t *context) {
  return context != NULL ? kiln_thread_pool_size(context->pool) : 0;
}

void kiln_context_destroy(kiln_context_t *context) {
  if (context == NULL) return;
  kiln_thread_pool_destroy(context->pool);
  kiln_scratch_release(&context->scratch);
  pthread_mutex_destroy(&context->scratch.lock);
  context->magic = 0;
  free(context);
}
