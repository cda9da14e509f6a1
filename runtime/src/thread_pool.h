/* thread_pool.h - internal: the pthread pool that runs Halide's parallel loops.
 *
 * Halide kernels call halide_do_par_for for every parallel loop; kiln replaces Halide's own
 * pool with this one so that the thread count is the runtime's to set (kiln_set_num_threads),
 * threads start when a model opens rather than inside a run, and a run never allocates.
 */
#ifndef KILN_RUNTIME_THREAD_POOL_H_
#define KILN_RUNTIME_THREAD_POOL_H_

#include <stdint.h>

#include "HalideRuntime.h"
#include "kiln/runtime.h"

#ifdef __cplusplus
extern "C" {
#endif

/// Upper bound on pool threads: the worker table is static so the pool never allocates.
#define KILN_THREAD_POOL_MAX_THREADS 256

/// Runs task(user_context, i, closure) for i in [min, min + size) on the pool, the calling
/// thread included; returns 0 or the first nonzero task result (later tasks are then
/// skipped). Calls made from inside a task, or while another thread's loop holds the pool,
/// run serially on the calling thread, which cannot deadlock. Same signature as
/// halide_do_par_for_t.
int kiln_thread_pool_do_par_for(void *user_context, halide_task_t task, int min, int size,
                                uint8_t *closure);

/// Starts the worker threads if they are not running yet.
kiln_status_t kiln_thread_pool_start(void);

/// Starts the pool and makes Halide's parallel loops use it (halide_set_custom_do_par_for).
kiln_status_t kiln_thread_pool_install(void);

/// Sets the thread count (caller included, >= 1); restarts running workers to match.
/// Must not race with a running loop's caller (a loop that starts meanwhile runs serially).
kiln_status_t kiln_thread_pool_set_size(int32_t num_threads);

/// Threads that share a loop, the caller included (the size it runs or will run with).
int32_t kiln_thread_pool_size(void);

/// Stops and joins the workers; loops then run serially until the pool is started again.
void kiln_thread_pool_stop(void);

#ifdef __cplusplus
}
#endif

#endif /* KILN_RUNTIME_THREAD_POOL_H_ */
