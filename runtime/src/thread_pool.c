/* thread_pool->c - a small pthread pool that runs Halide's parallel loops.
 *
 * One loop ("job") runs at a time. The caller publishes it, wakes the workers and takes part
 * itself. The tasks are cut into BLOCKS_PER_THREAD contiguous blocks per thread; each thread
 * runs its own blocks first, in order, then takes what is left of the others' from their
 * ends (one atomic exchange per block), so a thread that starts late or runs slow is covered
 * for, and otherwise each thread works on the same share of every loop: consecutive kernels
 * that split the same axis find their inputs in the cache of the core that wrote them.
 * (MobileNetV2 at 2 threads on the 2-core VM: 3.9-4.0 ms with runs claimed from one shared
 * counter, 3.80-3.85 ms with blocks; 7.7-7.8 against 7.0-7.2 ms while the VM's second vCPU
 * ran slow. One claim per task had made loops of many tiny tasks 6x slower at 2 threads than
 * at 1: the counter's cache line bounced between the cores.) Between jobs, workers spin briefly
 * (kernels of a model follow each other within microseconds) and then sleep on a condition
 * variable. Each runtime context (context.c) owns one pool; nothing allocates after its
 * workers start: the worker table and the job live in the pool itself.
 *
 * Publishing protocol (why the job fields may be plain, non-atomic memory):
 *   `generation` is odd while the job fields are being written, even while a job is open.
 *   A worker counts itself in `inside`, then re-checks that the generation it saw is still
 *   current before it reads the fields; the caller makes the generation odd, then waits
 *   until `inside` is 0 before it writes. With sequentially consistent atomics, either the
 *   caller sees the worker inside or the worker sees the new generation, never neither.
 */
#define _POSIX_C_SOURCE 200809L

#include "thread_pool.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "error.h"

/// Iterations a worker polls for the next job before it sleeps (tens of microseconds).
#define SPIN_ITERATIONS 4096

/// Contiguous blocks of a loop's tasks per thread.
#define BLOCKS_PER_THREAD 2

struct kiln_thread_pool_t;

/// What a worker thread is started with.
typedef struct worker_start_t {
  struct kiln_thread_pool_t *pool;
  int slot;
  unsigned seen;  // the job generation open when the worker started: already served
} worker_start_t;

typedef struct kiln_thread_pool_t {
  pthread_mutex_t mutex;  // guards the sleeps below, never the job itself
  pthread_cond_t wake;    // workers sleep here between jobs
  pthread_cond_t done;    // the caller sleeps here until the last task finishes
  atomic_flag busy;       // held by the caller whose job is running (and by resizes)
  atomic_uint generation; // even: job open; odd: job being written (see the file comment)
  atomic_int inside;      // workers currently looking at the job fields
  atomic_int completed;   // tasks finished (or skipped after a failure)
  atomic_int result;      // first nonzero task result
  atomic_int sleepers;    // workers waiting on `wake`
  atomic_bool stopping;
  // The current job.
  halide_task_t task;
  void *user_context;
  int min;
  int size;
  atomic_bool block_taken[KILN_THREAD_POOL_MAX_THREADS * BLOCKS_PER_THREAD];
  uint8_t *closure;
  // Configuration, changed only under config_mutex while `busy` is held.
  int32_t requested_threads;  // 0: one per online CPU
  int32_t num_workers;        // threads running besides the caller
  bool started;
  pthread_t workers[KILN_THREAD_POOL_MAX_THREADS];
  worker_start_t starts[KILN_THREAD_POOL_MAX_THREADS];
  pthread_mutex_t config_mutex;  // serializes start, stop and resize
} pool_t;

/// True on pool workers and on a caller while it takes part in its own job: a par_for made
/// there must not wait for the pool it is part of.
static _Thread_local bool in_task;

/// This thread's place in a loop's partition: 0 for a caller, i + 1 for worker i.
static _Thread_local int thread_slot;

static inline void cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  __asm__ __volatile__("yield");
#endif
}

/// Runs tasks [first, end) of the current job and counts them as completed.
static void run_range(pool_t *pool, unsigned first, unsigned end) {
  for (unsigned index = first; index < end; index++) {
    if (atomic_load_explicit(&pool->result, memory_order_relaxed) != 0) break;
    int result = pool->task(pool->user_context, pool->min + (int)index, pool->closure);
    int expected = 0;
    if (result != 0) atomic_compare_exchange_strong(&pool->result, &expected, result);
  }
  int count = (int)(end - first);
  if (count > 0 && atomic_fetch_add(&pool->completed, count) + count == pool->size) {
    pthread_mutex_lock(&pool->mutex);
    pthread_cond_signal(&pool->done);
    pthread_mutex_unlock(&pool->mutex);
  }
}

/// Claims and runs blocks of the current job until none are left: first this thread's own
/// blocks in order, then the other threads' blocks from their ends.
static void run_tasks(pool_t *pool) {
  int threads = pool->num_workers + 1, blocks = threads * BLOCKS_PER_THREAD;
  for (int k = 0; k < blocks; k++) {
    int owner = (thread_slot + k / BLOCKS_PER_THREAD) % threads;
    int within = k % BLOCKS_PER_THREAD;
    int block = owner * BLOCKS_PER_THREAD +
                (owner == thread_slot ? within : BLOCKS_PER_THREAD - 1 - within);
    if (atomic_exchange(&pool->block_taken[block], true)) continue;
    run_range(pool, (unsigned)((long long)pool->size * block / blocks),
              (unsigned)((long long)pool->size * (block + 1) / blocks));
  }
}

static bool has_new_job(pool_t *pool, unsigned seen, unsigned *out_generation) {
  unsigned generation = atomic_load(&pool->generation);
  *out_generation = generation;
  return (generation & 1u) == 0 && generation != seen;
}

static void *worker_main(void *start) {
  pool_t *pool = ((worker_start_t *)start)->pool;
  thread_slot = ((worker_start_t *)start)->slot;
  in_task = true;
  // A worker started by a resize must not join the last job, which finished before it
  // existed (it would run that job's unclaimed blocks with a dangling closure).
  unsigned seen = ((worker_start_t *)start)->seen, generation;
  for (;;) {
    // 1. Wait for a job we have not served: spin first, then sleep.
    for (int spin = 0; !has_new_job(pool, seen, &generation); spin++) {
      if (atomic_load(&pool->stopping)) return NULL;
      if (spin < SPIN_ITERATIONS) {
        cpu_relax();
        continue;
      }
      pthread_mutex_lock(&pool->mutex);
      atomic_fetch_add(&pool->sleepers, 1);
      while (!has_new_job(pool, seen, &generation) && !atomic_load(&pool->stopping)) {
        pthread_cond_wait(&pool->wake, &pool->mutex);
      }
      atomic_fetch_sub(&pool->sleepers, 1);
      pthread_mutex_unlock(&pool->mutex);
      spin = 0;
    }
    seen = generation;
    // 2. Enter, and work only if the job did not change meanwhile.
    atomic_fetch_add(&pool->inside, 1);
    if (atomic_load(&pool->generation) == generation) run_tasks(pool);
    atomic_fetch_sub(&pool->inside, 1);
  }
}

static int run_serially(void *user_context, halide_task_t task, int min, int size,
                        uint8_t *closure) {
  for (int i = 0; i < size; i++) {
    int result = task(user_context, min + i, closure);
    if (result != 0) return result;
  }
  return 0;
}

int kiln_thread_pool_run(kiln_thread_pool_t *pool, void *user_context, halide_task_t task,
                         int min, int size, uint8_t *closure) {
  if (size <= 0) return 0;
  if (in_task || size == 1 || atomic_flag_test_and_set(&pool->busy)) {
    return run_serially(user_context, task, min, size, closure);
  }
  if (pool->num_workers == 0) {
    atomic_flag_clear(&pool->busy);
    return run_serially(user_context, task, min, size, closure);
  }
  // 1. Close the previous job and let late workers leave it (they find nothing to claim).
  atomic_fetch_add(&pool->generation, 1u);
  for (int spin = 0; atomic_load(&pool->inside) != 0; spin++) {
    if (spin < SPIN_ITERATIONS) cpu_relax(); else sched_yield();
  }
  // 2. Write and open the job, waking sleeping workers if there are any.
  pool->task = task;
  pool->user_context = user_context;
  pool->min = min;
  pool->size = size;
  pool->closure = closure;
  for (int b = 0; b < (pool->num_workers + 1) * BLOCKS_PER_THREAD; b++) {
    atomic_store(&pool->block_taken[b], false);
  }
  atomic_store(&pool->completed, 0);
  atomic_store(&pool->result, 0);
  atomic_fetch_add(&pool->generation, 1u);
  if (atomic_load(&pool->sleepers) > 0) {
    pthread_mutex_lock(&pool->mutex);
    pthread_cond_broadcast(&pool->wake);
    pthread_mutex_unlock(&pool->mutex);
  }
  // 3. Work, then wait for the tasks that workers are still running.
  in_task = true;
  run_tasks(pool);
  in_task = false;
  for (int spin = 0; atomic_load(&pool->completed) < size && spin < SPIN_ITERATIONS; spin++) {
    cpu_relax();
  }
  if (atomic_load(&pool->completed) < size) {
    pthread_mutex_lock(&pool->mutex);
    while (atomic_load(&pool->completed) < size) pthread_cond_wait(&pool->done, &pool->mutex);
    pthread_mutex_unlock(&pool->mutex);
  }
  int result = atomic_load(&pool->result);
  atomic_flag_clear(&pool->busy);
  return result;
}

static int32_t default_thread_count(void) {
  long cpus = sysconf(_SC_NPROCESSORS_ONLN);
  return cpus < 1 ? 1 : cpus > KILN_THREAD_POOL_MAX_THREADS ? KILN_THREAD_POOL_MAX_THREADS
                                                            : (int32_t)cpus;
}

/// Joins all workers. Caller holds config_mutex.
static void stop_locked(pool_t *pool) {
  while (atomic_flag_test_and_set(&pool->busy)) sched_yield();  // let a running job finish
  atomic_store(&pool->stopping, true);
  pthread_mutex_lock(&pool->mutex);
  pthread_cond_broadcast(&pool->wake);
  pthread_mutex_unlock(&pool->mutex);
  for (int32_t i = 0; i < pool->num_workers; i++) pthread_join(pool->workers[i], NULL);
  pool->num_workers = 0;
  pool->started = false;
  atomic_store(&pool->stopping, false);
  atomic_flag_clear(&pool->busy);
}

/// Starts the configured number of workers. Caller holds config_mutex.
static kiln_status_t start_locked(pool_t *pool) {
  if (pool->started) return KILN_OK;
  int32_t threads = pool->requested_threads > 0 ? pool->requested_threads : default_thread_count();
  while (atomic_flag_test_and_set(&pool->busy)) sched_yield();
  for (int32_t i = 0; i < threads - 1; i++) {
    pool->starts[i].pool = pool;
    pool->starts[i].slot = i + 1;
    pool->starts[i].seen = atomic_load(&pool->generation);
    int error = pthread_create(&pool->workers[i], NULL, worker_main, &pool->starts[i]);
    if (error != 0) {
      atomic_flag_clear(&pool->busy);
      stop_locked(pool);
      return kiln_set_error(KILN_ERROR_MEMORY, "thread pool: cannot start thread %d of %d: %s",
                            i + 2, threads, strerror(error));
    }
    pool->num_workers = i + 1;
  }
  pool->started = true;
  atomic_flag_clear(&pool->busy);
  return KILN_OK;
}

kiln_status_t kiln_thread_pool_create(int32_t num_threads, kiln_thread_pool_t **out_pool) {
  *out_pool = NULL;
  if (num_threads < 0 || num_threads > KILN_THREAD_POOL_MAX_THREADS) {
    return kiln_set_error(KILN_ERROR_ARGUMENT, "thread count %d is not in [1, %d]", num_threads,
                          KILN_THREAD_POOL_MAX_THREADS);
  }
  pool_t *pool = calloc(1, sizeof *pool);
  if (pool == NULL) return kiln_set_error(KILN_ERROR_MEMORY, "no memory for a thread pool");
  pthread_mutex_init(&pool->mutex, NULL);
  pthread_cond_init(&pool->wake, NULL);
  pthread_cond_init(&pool->done, NULL);
  pthread_mutex_init(&pool->config_mutex, NULL);
  atomic_flag_clear(&pool->busy);
  atomic_init(&pool->generation, 0u);  // even: "job 0" is open and empty, so workers wait
  pool->requested_threads = num_threads;
  pthread_mutex_lock(&pool->config_mutex);
  kiln_status_t status = start_locked(pool);
  pthread_mutex_unlock(&pool->config_mutex);
  if (status != KILN_OK) {
    kiln_thread_pool_destroy(pool);
    return status;
  }
  *out_pool = pool;
  return KILN_OK;
}

void kiln_thread_pool_destroy(kiln_thread_pool_t *pool) {
  if (pool == NULL) return;
  pthread_mutex_lock(&pool->config_mutex);
  stop_locked(pool);
  pthread_mutex_unlock(&pool->config_mutex);
  pthread_mutex_destroy(&pool->mutex);
  pthread_cond_destroy(&pool->wake);
  pthread_cond_destroy(&pool->done);
  pthread_mutex_destroy(&pool->config_mutex);
  free(pool);
}

kiln_status_t kiln_thread_pool_set_size(kiln_thread_pool_t *pool, int32_t num_threads) {
  if (num_threads < 1 || num_threads > KILN_THREAD_POOL_MAX_THREADS) {
    return kiln_set_error(KILN_ERROR_ARGUMENT, "thread count %d is not in [1, %d]", num_threads,
                          KILN_THREAD_POOL_MAX_THREADS);
  }
  pthread_mutex_lock(&pool->config_mutex);
  kiln_status_t status = KILN_OK;
  pool->requested_threads = num_threads;
  if (pool->num_workers != num_threads - 1) {
    stop_locked(pool);
    status = start_locked(pool);
  }
  pthread_mutex_unlock(&pool->config_mutex);
  return status;
}

int32_t kiln_thread_pool_size(kiln_thread_pool_t *pool) {
  pthread_mutex_lock(&pool->config_mutex);
  int32_t size = pool->num_workers + 1;
  pthread_mutex_unlock(&pool->config_mutex);
  return size;
}
