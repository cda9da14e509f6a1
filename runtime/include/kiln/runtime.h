/* runtime.h - the public C API of the kiln runtime: open a compiled model, fill inputs, run it.
 *
 * A compiled model is a kiln_program_t (program.h) emitted by `kiln compile` plus a GGUF
 * weights file. kiln_model_open maps that file read-only, checks it against the program and
 * allocates the one arena the program asks for; afterwards kiln_model_run only calls kernels:
 * after the first run, which sizes the kernels' scratch blocks, it never allocates, so it can
 * run in a loop or a real-time thread. Every function that can
 * fail returns a kiln_status_t and leaves a message naming the file, tensor, input or step
 * involved in kiln_last_error().
 */
#ifndef KILN_RUNTIME_H_
#define KILN_RUNTIME_H_

#include <stdint.h>

#include "kiln/program.h"

#ifdef __cplusplus
extern "C" {
#endif

/** An opened model: the program, its mapped weights and its arena. */
typedef struct kiln_model_t kiln_model_t;

/** A runtime context: the thread pool that runs the kernels' parallel loops and the scratch
 *  memory they allocate from. Models opened in one context share them (and must not run
 *  at the same time); models in different contexts share nothing and may run concurrently. */
typedef struct kiln_context_t kiln_context_t;

typedef enum kiln_status_e {
  KILN_OK = 0,
  KILN_ERROR_IO,        /**< a file could not be opened, mapped, read or written */
  KILN_ERROR_FORMAT,    /**< a file is malformed (truncated, corrupted, unsupported version) */
  KILN_ERROR_MISMATCH,  /**< a file is well formed but does not match what the program expects */
  KILN_ERROR_ARGUMENT,  /**< the caller passed an invalid argument */
  KILN_ERROR_KERNEL,    /**< a kernel (step) returned an error code */
  KILN_ERROR_MEMORY,    /**< an allocation or thread creation failed */
} kiln_status_t;

/** Short constant name of a status ("KILN_ERROR_IO"). */
const char *kiln_status_string(kiln_status_t status);

/** Message describing the last failure on the calling thread ("" if none yet). The buffer is
 *  thread-local and stays valid until the next failing call on this thread. */
const char *kiln_last_error(void);

/** Sets the number of threads (the caller included) of contexts created afterwards with
 *  num_threads 0, kiln_model_open's among them; n >= 1. The default is the number of
 *  online CPUs. */
kiln_status_t kiln_set_num_threads(int32_t num_threads);

/** Creates a context whose pool has `num_threads` threads, the caller of each loop
 *  included (0: the kiln_set_num_threads default). Starts the threads now. */
kiln_status_t kiln_context_create(int32_t num_threads, kiln_context_t **out_context);

/** Resizes the context's pool; not while one of its models runs. */
kiln_status_t kiln_context_set_num_threads(kiln_context_t *context, int32_t num_threads);

/** Threads of the context's pool, the caller included (0 for NULL). */
int32_t kiln_context_num_threads(kiln_context_t *context);

/** A parallel loop on the caller's threads: calls task(task_data, i) once for every i in
 *  [0, count), in any order, on any threads, and returns when all have returned: 0, or
 *  the non-zero result of a failing task. */
typedef int (*kiln_parallel_for_fn)(void *user, int32_t count,
                                    int (*task)(void *task_data, int32_t index),
                                    void *task_data);

/** Runs the context's parallel loops with `parallel_for` (an application's own thread
 *  pool, an RTOS's workers) instead of the context's pool; NULL goes back to the pool.
 *  Loops nested inside a task run serially on that task's thread. Not while one of the
 *  context's models runs. */
kiln_status_t kiln_context_set_parallel_for(kiln_context_t *context,
                                            kiln_parallel_for_fn parallel_for, void *user);

/** Stops the context's threads and frees its scratch; close its models first. NULL is
 *  allowed. */
void kiln_context_destroy(kiln_context_t *context);

/** Opens a model.
 *  1. validates the program tables (offsets inside the arena, sizes consistent),
 *  2. maps the GGUF file at `weights_path` read-only and validates every count and offset,
 *  3. checks its "kiln.fingerprint" and every weight's presence, type, shape and size,
 *  4. allocates the zeroed, 64-byte aligned arena and starts the thread pool.
 *  A NULL `weights_path` takes the weights embedded in the program (an error when it has
 *  none).
 *  `program` must outlive the model. On failure *out_model is NULL. */
kiln_status_t kiln_model_open(const kiln_program_t *program, const char *weights_path,
                              kiln_model_t **out_model);

/** Like kiln_model_open, in `context` (which must outlive the model) instead of a context
 *  of the model's own. */
kiln_status_t kiln_model_open_in(kiln_context_t *context, const kiln_program_t *program,
                                 const char *weights_path, kiln_model_t **out_model);

/** The alignment kiln_model_open_memory_in asks of the weights bytes and of an arena. */
#define KILN_MEMORY_ALIGNMENT 64

/** Like kiln_model_open_in, with memory the caller owns instead of files and allocations:
 *  `weights` holds the whole weights file (weights_size bytes, KILN_MEMORY_ALIGNMENT
 *  aligned; in flash or ROM is fine: it is only read), checked as kiln_model_open checks a
 *  file; NULL takes the program's embedded weights. `arena`, when not NULL, is used instead
 *  of an allocated arena: at least program->arena_size bytes, KILN_MEMORY_ALIGNMENT aligned
 *  (its contents are overwritten). Both must outlive the model; `label` names the weights
 *  in messages (NULL: "weights in memory"). */
kiln_status_t kiln_model_open_memory_in(kiln_context_t *context, const kiln_program_t *program,
                                        const char *label, const void *weights,
                                        uint64_t weights_size, void *arena,
                                        uint64_t arena_size, kiln_model_t **out_model);

/** Reads every weight the program uses and checks them against the program's fingerprint
 *  (FNV-1a over each weight's name and bytes, in program order, computed by kiln compile):
 *  catches flipped or shifted bytes in a weights file that is otherwise well formed.
 *  Reads the whole file, so it is a request, not part of kiln_model_open. */
kiln_status_t kiln_model_verify_weights(const kiln_model_t *model);

/** Releases the arena, unmaps the weights and destroys the model's own context (if it has
 *  one). NULL is allowed. */
void kiln_model_close(kiln_model_t *model);

/** The program the model was opened with (names of steps, inputs, outputs...). */
const kiln_program_t *kiln_model_program(const kiln_model_t *model);

int32_t kiln_model_input_count(const kiln_model_t *model);
int32_t kiln_model_output_count(const kiln_model_t *model);
/** Description of input/output `index`, NULL if out of range. */
const kiln_io_desc_t *kiln_model_input(const kiln_model_t *model, int32_t index);
const kiln_io_desc_t *kiln_model_output(const kiln_model_t *model, int32_t index);
/** Index of the input called `name`, -1 if there is none. */
int32_t kiln_model_find_input(const kiln_model_t *model, const char *name);
/** Index of the output called `name`, -1 if there is none. */
int32_t kiln_model_find_output(const kiln_model_t *model, const char *name);
/** Where to write input `index` (byte_size bytes, row-major), NULL if out of range. Inputs
 *  live in the arena: write them before every run, a run may reuse their memory. */
void *kiln_model_input_data(kiln_model_t *model, int32_t index);
/** The shape of output `index` after a run (its dims, or for an output whose length
 *  depends on the data, that run's length along its varying axis) in `dims`
 *  (KILN_MAX_RANK entries); returns the rank, -1 if the index is out of range. */
int32_t kiln_model_output_shape(const kiln_model_t *model, int32_t index, int64_t *dims);
/** Where output `index` is after a run, NULL if out of range. */
const void *kiln_model_output_data(const kiln_model_t *model, int32_t index);

/** Runs the program's steps in order. A step that fails gives KILN_ERROR_KERNEL. Does not
 *  allocate. One model must not run on two threads at once (they share the arena). */
kiln_status_t kiln_model_run(kiln_model_t *model);

/** Like kiln_model_run, and writes each step's wall time in milliseconds (CLOCK_MONOTONIC)
 *  into out_step_ms[0 .. program->num_steps). */
kiln_status_t kiln_model_run_profiled(kiln_model_t *model, double *out_step_ms);

#ifdef __cplusplus
}
#endif

#endif /* KILN_RUNTIME_H_ */
