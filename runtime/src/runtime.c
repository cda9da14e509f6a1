/* runtime.c - opening, running and closing a compiled model (the API of kiln/runtime.h).
 *
 * Opening does all the work that can fail on input: it checks the program's own tables,
 * maps and validates the weights file, allocates the arena once and starts the thread pool.
 * Running is then only a loop over the program's steps with precomputed base pointers, so it
 * never allocates and can fail only if a kernel reports an error.
 */
#define _POSIX_C_SOURCE 200809L

#include "kiln/runtime.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common.h"
#include "context.h"
#include "device.h"
#include "error.h"
#include "gguf.h"

typedef unsigned long long ull;

/// The arena's alignment: a cache line, and enough for any vector load Halide emits.
#define ARENA_ALIGNMENT 64

struct kiln_model_t {
  const kiln_program_t *program;
  kiln_gguf_t weights_file;
  const uint8_t **weights;  // weights[i]: program->weights[i] inside the mapped file
  uint8_t *arena;
  bool owns_arena;  // allocated at open (not the caller's)
  kiln_exec_t exec;
  void *device;  // device.c's state for GPU programs
  kiln_context_t *context;
  bool owns_context;  // made by kiln_model_open, destroyed with the model
};

static _Thread_local char last_error[1024];

kiln_status_t kiln_set_error(kiln_status_t status, const char *format, ...) {
  va_list args;
  va_start(args, format);
  vsnprintf(last_error, sizeof last_error, format, args);
  va_end(args);
  return status;
}

const char *kiln_last_error(void) { return last_error; }

/// Checks that an input or output descriptor is self-consistent and inside the arena, so a
/// glue bug surfaces as a message at open instead of memory corruption during a run.
static kiln_status_t check_io(const kiln_program_t *program, const kiln_io_desc_t *io,
                              const char *kind) {
  const char *name = io->name != NULL ? io->name : "(null)";
  size_t element_size = kiln_dtype_size(io->dtype);
  uint64_t bytes = element_size;
  bool valid = io->name != NULL && element_size != 0 && io->rank >= 0 &&
               io->rank <= KILN_MAX_RANK;
  for (int32_t d = 0; valid && d < io->rank; d++) {
    valid = io->dims[d] >= 0 &&
            (io->dims[d] == 0 || bytes <= UINT64_MAX / (uint64_t)io->dims[d]);
    if (valid) bytes *= (uint64_t)io->dims[d];
  }
  if (!valid || bytes != io->byte_size || io->arena_offset > program->arena_size ||
      io->byte_size > program->arena_size - io->arena_offset ||
      !kiln_io_extent_is_valid(io, program->arena_size)) {
    return kiln_set_error(KILN_ERROR_ARGUMENT,
                          "program '%s': %s '%s' is inconsistent (dtype %d, rank %d, %llu bytes "
                          "at arena offset %llu, arena %llu bytes)",
                          program->model_name, kind, name, (int)io->dtype, io->rank,
                          (ull)io->byte_size, (ull)io->arena_offset, (ull)program->arena_size);
  }
  return KILN_OK;
}

static kiln_status_t check_program(const kiln_program_t *program) {
  if (program->abi_version != KILN_PROGRAM_ABI_VERSION) {
    return kiln_set_error(KILN_ERROR_ARGUMENT,
                          "program '%s' was generated for runtime ABI %d, this runtime is ABI %d "
                          "(compile the model again with this kiln)",
                          program->model_name ? program->model_name : "(null)",
                          (int)program->abi_version, KILN_PROGRAM_ABI_VERSION);
  }
  if (program->freestanding != NULL) {
    return kiln_set_error(KILN_ERROR_ARGUMENT, "program '%s' was compiled for a bare-metal "
                          "target and runs on the freestanding runtime only",
                          program->model_name ? program->model_name : "(null)");
  }
  const kiln_device_desc_t *device = program->device;
  if (device != NULL &&
      (device->ops == NULL || device->device_interface == NULL || device->num_slices < 0 ||
       (device->num_slices > 0 && device->slices == NULL) ||
       (program->num_inputs > 0 && device->input_slices == NULL) ||
       (program->num_outputs > 0 && device->output_slices == NULL))) {
    return kiln_set_error(KILN_ERROR_ARGUMENT, "program '%s': malformed device tables",
                          program->model_name ? program->model_name : "(null)");
  }
  for (int32_t i = 0; device != NULL && i < program->num_inputs + program->num_outputs; i++) {
    int32_t slice = i < program->num_inputs ? device->input_slices[i]
                                            : device->output_slices[i - program->num_inputs];
    if (slice < 0 || slice >= device->num_slices) {
      return kiln_set_error(KILN_ERROR_ARGUMENT, "program '%s': an input or output has no "
                            "device slice", program->model_name ? program->model_name : "(null)");
    }
  }
  if (program->num_inputs < 0 || program->num_outputs < 0 || program->num_weights < 0 ||
      program->num_steps < 0 || (program->num_inputs > 0 && program->inputs == NULL) ||
      (program->num_outputs > 0 && program->outputs == NULL) ||
      (program->num_weights > 0 && program->weights == NULL) ||
      (program->num_steps > 0 && program->steps == NULL) || program->fingerprint == NULL) {
    return kiln_set_error(KILN_ERROR_ARGUMENT, "program '%s': malformed tables",
                          program->model_name ? program->model_name : "(null)");
  }
  kiln_status_t status = KILN_OK;
  for (int32_t i = 0; status == KILN_OK && i < program->num_inputs; i++) {
    status = check_io(program, &program->inputs[i], "input");
  }
  for (int32_t i = 0; status == KILN_OK && i < program->num_outputs; i++) {
    status = check_io(program, &program->outputs[i], "output");
  }
  for (int32_t i = 0; status == KILN_OK && i < program->num_weights; i++) {
    const kiln_weight_desc_t *weight = &program->weights[i];
    if (weight->name == NULL || weight->rank < 0 || weight->rank > KILN_MAX_RANK) {
      status = kiln_set_error(KILN_ERROR_ARGUMENT, "program '%s': weight %d is malformed",
                              program->model_name, i);
    }
  }
  for (int32_t i = 0; status == KILN_OK && i < program->num_steps; i++) {
    if (!kiln_step_is_valid(program, i)) {
      status = kiln_set_error(KILN_ERROR_ARGUMENT, "program '%s': step %d is malformed",
                              program->model_name, i);
    }
  }
  return status;
}

static kiln_status_t run_steps(kiln_model_t *model, double *out_step_ms);

kiln_status_t kiln_model_open(const kiln_program_t *program, const char *weights_path,
                              kiln_model_t **out_model) {
  if (out_model == NULL) return kiln_set_error(KILN_ERROR_ARGUMENT, "out_model is NULL");
  *out_model = NULL;
  kiln_context_t *context = NULL;
  kiln_status_t status = kiln_context_create(0, &context);
  if (status != KILN_OK) return status;
  status = kiln_model_open_in(context, program, weights_path, out_model);
  if (status != KILN_OK) {
    kiln_context_destroy(context);
    return status;
  }
  (*out_model)->owns_context = true;
  return KILN_OK;
}

/// Where the weights come from: a file to map, or bytes in memory (the caller's or the
/// program's embedded ones); and the caller's arena, if any.
typedef struct weights_source_t {
  const char *path;
  const char *label;
  const uint8_t *bytes;
  uint64_t size;
  uint8_t *arena;
  uint64_t arena_size;
} weights_source_t;

static kiln_status_t open_model(kiln_context_t *context, const kiln_program_t *program,
                                const weights_source_t *source, kiln_model_t **out_model) {
  if (out_model == NULL) return kiln_set_error(KILN_ERROR_ARGUMENT, "out_model is NULL");
  *out_model = NULL;
  if (context == NULL) return kiln_set_error(KILN_ERROR_ARGUMENT, "kiln_model_open_in: context is NULL");
  if (program == NULL) return kiln_set_error(KILN_ERROR_ARGUMENT, "kiln_model_open: program is NULL");
  kiln_status_t status = check_program(program);
  if (status != KILN_OK) return status;
  if (program->arena_size > (uint64_t)SIZE_MAX - ARENA_ALIGNMENT) {
    return kiln_set_error(KILN_ERROR_MEMORY, "program '%s': arena of %llu bytes is too large",
                          program->model_name, (ull)program->arena_size);
  }
  if (source->arena != NULL &&
      (source->arena_size < program->arena_size || (uintptr_t)source->arena % ARENA_ALIGNMENT)) {
    return kiln_set_error(KILN_ERROR_ARGUMENT,
                          "program '%s': the caller's arena (%llu bytes at %p) must hold %llu "
                          "bytes at a multiple of %d", program->model_name,
                          (ull)source->arena_size, (void *)source->arena,
                          (ull)program->arena_size, ARENA_ALIGNMENT);
  }
  if (source->path == NULL && (uintptr_t)source->bytes % ARENA_ALIGNMENT) {
    return kiln_set_error(KILN_ERROR_ARGUMENT, "%s: weights at %p are not %d-byte aligned",
                          source->label, (const void *)source->bytes, ARENA_ALIGNMENT);
  }
  kiln_model_t *model = calloc(1, sizeof *model);
  if (model == NULL) return kiln_set_error(KILN_ERROR_MEMORY, "no memory for a model");
  model->program = program;
  model->context = context;
  status = source->path != NULL
               ? kiln_gguf_open(source->path, &model->weights_file)
               : kiln_gguf_parse(source->label, source->bytes, source->size, &model->weights_file);
  if (status == KILN_OK && program->num_weights > 0) {
    model->weights = calloc((size_t)program->num_weights, sizeof *model->weights);
    if (model->weights == NULL) {
      status = kiln_set_error(KILN_ERROR_MEMORY, "no memory for %d weight pointers",
                              program->num_weights);
    }
  }
  if (status == KILN_OK) {
    status = kiln_gguf_bind_program(&model->weights_file, program, model->weights);
  }
  if (status == KILN_OK && source->arena != NULL) {
    model->arena = source->arena;
    memset(model->arena, 0, (size_t)program->arena_size);
  } else if (status == KILN_OK) {
    // aligned_alloc wants a multiple of the alignment; an empty arena still gets one line.
    size_t arena_bytes = (size_t)((program->arena_size + ARENA_ALIGNMENT - 1) /
                                  ARENA_ALIGNMENT * ARENA_ALIGNMENT);
    if (arena_bytes == 0) arena_bytes = ARENA_ALIGNMENT;
    model->arena = aligned_alloc(ARENA_ALIGNMENT, arena_bytes);
    model->owns_arena = true;
    if (model->arena == NULL) {
      status = kiln_set_error(KILN_ERROR_MEMORY, "program '%s': no memory for an arena of %zu bytes",
                              program->model_name, arena_bytes);
    } else {
      memset(model->arena, 0, arena_bytes);
    }
  }
  if (status != KILN_OK) {
    kiln_model_close(model);
    return status;
  }
  model->exec.arena = model->arena;
  model->exec.weights = model->weights;
  model->exec.weights_file = model->weights_file.bytes;
  model->exec.user_context = context;  // Halide hands it to the hooks (context.c)
  if (program->device != NULL) {
    status = program->device->ops->open(program, model->arena, model->weights, &model->exec,
                                        &model->device);
    // One run on the zeroed arena makes the driver compile every kernel's device code
    // now, so the first real run is not the slow one.
    if (status == KILN_OK) status = run_steps(model, NULL);
    if (status != KILN_OK) {
      kiln_model_close(model);
      return status;
    }
  }
  *out_model = model;
  return KILN_OK;
}

/// The program's embedded weights as a source; an error when it has none.
static kiln_status_t embedded_source(const kiln_program_t *program, weights_source_t *source) {
  if (program == NULL || program->embedded_weights == NULL) {
    return kiln_set_error(KILN_ERROR_ARGUMENT, "program '%s' has no embedded weights: give the "
                          "weights file", program && program->model_name ? program->model_name
                                                                         : "(null)");
  }
  source->label = "embedded weights";
  source->bytes = program->embedded_weights;
  source->size = program->embedded_weights_size;
  return KILN_OK;
}

kiln_status_t kiln_model_open_in(kiln_context_t *context, const kiln_program_t *program,
                                 const char *weights_path, kiln_model_t **out_model) {
  weights_source_t source = {weights_path, weights_path, NULL, 0, NULL, 0};
  if (weights_path == NULL) {
    if (out_model != NULL) *out_model = NULL;
    kiln_status_t status = embedded_source(program, &source);
    if (status != KILN_OK) return status;
  }
  return open_model(context, program, &source, out_model);
}

kiln_status_t kiln_model_open_memory_in(kiln_context_t *context, const kiln_program_t *program,
                                        const char *label, const void *weights,
                                        uint64_t weights_size, void *arena,
                                        uint64_t arena_size, kiln_model_t **out_model) {
  weights_source_t source = {NULL, label != NULL ? label : "weights in memory", weights,
                             weights_size, arena, arena_size};
  if (weights == NULL) {
    if (out_model != NULL) *out_model = NULL;
    kiln_status_t status = embedded_source(program, &source);
    if (status != KILN_OK) return status;
  }
  return open_model(context, program, &source, out_model);
}

kiln_status_t kiln_model_verify_weights(const kiln_model_t *model) {
  if (model == NULL) return kiln_set_error(KILN_ERROR_ARGUMENT, "kiln_model_verify_weights: model is NULL");
  const kiln_program_t *program = model->program;
  char text[17];
  kiln_format_checksum(kiln_weights_checksum(program, model->weights, NULL), text);
  if (strcmp(text, program->fingerprint) != 0) {
    return kiln_set_error(KILN_ERROR_MISMATCH,
                          "weights file %s: the tensor data does not match model '%s' (checksum "
                          "%s, expected %s): the file is damaged",
                          model->weights_file.label, program->model_name, text,
                          program->fingerprint);
  }
  return KILN_OK;
}

void kiln_model_close(kiln_model_t *model) {
  if (model == NULL) return;
  if (model->device != NULL) model->program->device->ops->close(model->device);
  if (model->owns_arena) free(model->arena);
  free(model->weights);
  kiln_gguf_close(&model->weights_file);
  if (model->owns_context) kiln_context_destroy(model->context);
  free(model);
}

const kiln_program_t *kiln_model_program(const kiln_model_t *model) {
  return model != NULL ? model->program : NULL;
}

int32_t kiln_model_input_count(const kiln_model_t *model) {
  return model != NULL ? model->program->num_inputs : 0;
}

int32_t kiln_model_output_count(const kiln_model_t *model) {
  return model != NULL ? model->program->num_outputs : 0;
}

const kiln_io_desc_t *kiln_model_input(const kiln_model_t *model, int32_t index) {
  if (index < 0 || index >= kiln_model_input_count(model)) return NULL;
  return &model->program->inputs[index];
}

const kiln_io_desc_t *kiln_model_output(const kiln_model_t *model, int32_t index) {
  if (index < 0 || index >= kiln_model_output_count(model)) return NULL;
  return &model->program->outputs[index];
}

static int32_t find_io(const kiln_io_desc_t *ios, int32_t count, const char *name) {
  for (int32_t i = 0; name != NULL && i < count; i++) {
    if (strcmp(ios[i].name, name) == 0) return i;
  }
  return -1;
}

int32_t kiln_model_find_input(const kiln_model_t *model, const char *name) {
  return model != NULL ? find_io(model->program->inputs, model->program->num_inputs, name) : -1;
}

int32_t kiln_model_find_output(const kiln_model_t *model, const char *name) {
  return model != NULL ? find_io(model->program->outputs, model->program->num_outputs, name)
                       : -1;
}

void *kiln_model_input_data(kiln_model_t *model, int32_t index) {
  const kiln_io_desc_t *input = kiln_model_input(model, index);
  return input != NULL ? model->arena + input->arena_offset : NULL;
}

int32_t kiln_model_output_shape(const kiln_model_t *model, int32_t index, int64_t *dims) {
  const kiln_io_desc_t *output = kiln_model_output(model, index);
  return output != NULL && dims != NULL ? kiln_io_shape(output, model->arena, dims) : -1;
}

const void *kiln_model_output_data(const kiln_model_t *model, int32_t index) {
  const kiln_io_desc_t *output = kiln_model_output(model, index);
  return output != NULL ? model->arena + output->arena_offset : NULL;
}

static double now_ms(void) {
  struct timespec time;
  clock_gettime(CLOCK_MONOTONIC, &time);
  return (double)time.tv_sec * 1e3 + (double)time.tv_nsec * 1e-6;
}

/// Runs every step; with `out_step_ms`, also records each step's wall time.
static kiln_status_t run_steps(kiln_model_t *model, double *out_step_ms) {
  if (model == NULL) return kiln_set_error(KILN_ERROR_ARGUMENT, "kiln_model_run: model is NULL");
  const kiln_program_t *program = model->program;
  if (model->device != NULL) {
    kiln_status_t status = program->device->ops->upload_inputs(model->device);
    if (status != KILN_OK) return status;
  }
  for (int32_t i = 0; out_step_ms != NULL && i < program->num_steps; i++) out_step_ms[i] = 0.0;
  for (int32_t i = 0, next = 0; i < program->num_steps; i = next) {
    double start = out_step_ms != NULL ? now_ms() : 0.0;
    int code = kiln_run_step(program, i, &model->exec, &next);
    if (out_step_ms != NULL) out_step_ms[i] += now_ms() - start;  // (loops: every iteration)
    if (code == KILN_LOOP_LIMIT_EXCEEDED) {
      return kiln_set_error(KILN_ERROR_KERNEL, "model '%s': step %d ('%s'): the loop runs past "
                            "its iteration limit (kiln compile --max-loop-iterations)",
                            program->model_name, i, program->steps[i].name);
    }
    if (code != 0) {
      return kiln_set_error(KILN_ERROR_KERNEL, "model '%s': step %d of %d ('%s') failed with code %d",
                            program->model_name, i, program->num_steps, program->steps[i].name,
                            code);
    }
  }
  if (model->device != NULL) return program->device->ops->download_outputs(model->device);
  return KILN_OK;
}

kiln_status_t kiln_model_run(kiln_model_t *model) { return run_steps(model, NULL); }

kiln_status_t kiln_model_run_profiled(kiln_model_t *model, double *out_step_ms) {
  if (out_step_ms == NULL) {
    return kiln_set_error(KILN_ERROR_ARGUMENT, "kiln_model_run_profiled: out_step_ms is NULL");
  }
  return run_steps(model, out_step_ms);
}
