/* thread_pool.h - internal: the pthread pools that run Halide's parallel loops.
 *
 * Each runtime context (context.c) owns a pool; Halide kernels call halide_do_par_for with
 * the context as user_context, and the context's hook runs the loop on its pool. The
 * thread count is the caller's to set, threads start when the context is made rather than
 * inside a run, and a run never allocates.
 */
#ifndef KILN_RUNTIME_THREAD_POOL_H_
#define KILN_RUNTIME_THREAD_POOL_H_

#include <stdint.h>

#include "HalideRuntime.h"
#include "kiln/runtime.h"

#ifdef __cplusplus
extern "C" {
#endif

/// Upper bound on pool threads: the worker table is fixed so the pool never allocates.
#define KILN_THREAD_POOL_MAX_THREADS 256

typedef struct kiln_thread_pool_t kiln_thread_pool_t;

/// Starts a pool of `num_threads` threads, the caller of each loop included (0: one per
/// online CPU).
kiln_status_t kiln_thread_pool_create(int32_t num_threads, kiln_thread_pool_t **out_pool);

/// Stops and joins the workers and frees the pool. NULL is allowed.
void kiln_thread_pool_destroy(kiln_thread_pool_t *pool);

/// Runs task(user_context, i, closure) for i in [min, min + size) on the pool, the calling
/// thread included; returns 0 or the first nonzero task result (later tasks are then
/// skipped). Calls made from inside a task, or while another thread's loop holds the pool,
/// run serially on the calling thread, which cannot deadlock.
int kiln_thread_pool_run(kiln_thread_pool_t *pool, void *user_context, halide_task_t task,
                         int min, int size, uint8_t *closure);

/// Sets the thread count (caller included, >= 1); restarts the workers to match.
/// Must not race with a running loop's caller (a loop that starts meanwhile runs serially).
kiln_status_t kiln_thread_pool_set_size(kiln_thread_pool_t *pool, int32_t num_threads);

/// Threads that share a loop, the caller included.
int32_t kiln_thread_pool_size(kiln_thread_pool_t *pool);

#ifdef __cplusplus
}
#endif

#endif /* KILN_RUNTIME_THREAD_POOL_H_ */
