/* freestanding.c - the runtime of bare-metal targets: no heap, no OS, no threads.
 *
 * Implements the part of kiln/runtime.h that needs no operating system, for programs
 * compiled with a kiln_freestanding_desc_t (Cortex-M targets). Everything lives in memory
 * the caller gives: the weights file (flash is fine, it is only read) and one arena that
 * holds the tensors, the kernels' scratch (each step's where no tensor is live then) and the
 * opened model's own state. The compiler planned all three, so opening only checks sizes, alignment and the fingerprint, and a run
 * can neither allocate nor fail for want of memory. libc: memcpy, memset and memcmp.
 *
 * The kernels were built without Halide's runtime; the three hooks they call are here:
 * halide_malloc and halide_free hand out the running step's scratch range as a stack (Halide frees in the
 * reverse order it allocates), halide_do_par_for runs a loop's iterations in order.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "common.h"
#include "kiln/runtime.h"

#define ARENA_ALIGNMENT 64
#define MODEL_MAGIC 0x6b696c6du /* "kilm" */

/* What a block of scratch keeps in its first SCRATCH_HEADER bytes. A block's header starts
 * where the stack's top was before it. Halide may free a block early, before blocks
 * allocated after it (its scope still encloses theirs): such a block is marked and given
 * back when everything above it is. */
enum { SCRATCH_HEADER = ARENA_ALIGNMENT };
typedef struct scratch_header_t {
  uint64_t previous;  // header offset of the block below, or NO_BLOCK
  uint32_t freed;
} scratch_header_t;
#define NO_BLOCK UINT64_MAX

struct kiln_model_t {
  uint32_t magic;
  const kiln_program_t *program;
  uint8_t *arena;
  const uint8_t *weights_file;
  const kiln_arena_range_t *scratch;  // the running step's range
  uint64_t scratch_top;   // offset of the next free scratch byte, from the range's start
  uint64_t scratch_last;  // header offset of the top block, or NO_BLOCK
  bool scratch_failed;   // a kernel asked for more than the plan (cannot happen; checked)
  kiln_exec_t exec;
};

_Static_assert(sizeof(struct kiln_model_t) <= KILN_FREESTANDING_STATE_BYTES,
               "the model's state must fit the arena range the compiler reserves for it");

/* Messages are fixed strings: no formatting, so no stdio. (The bare-metal executable's
 * .npy reader formats its own, board.c, and hands them over with kiln_set_error_text.) */
static const char *last_error = "";

static kiln_status_t fail(kiln_status_t status, const char *message) {
  last_error = message;
  return status;
}

void kiln_set_error_text(const char *message) { last_error = message; }

const char *kiln_last_error(void) { return last_error; }

kiln_status_t kiln_set_num_threads(int32_t num_threads) {
  return num_threads == 1 ? KILN_OK
                          : fail(KILN_ERROR_ARGUMENT, "bare-metal targets run on one thread");
}

static kiln_model_t *model_from_user(void *user_context) {
  kiln_model_t *model = user_context;
  return model != NULL && model->magic == MODEL_MAGIC ? model : NULL;
}

void *halide_malloc(void *user_context, size_t size) {
  kiln_model_t *model = model_from_user(user_context);
  if (model == NULL || model->scratch == NULL) return NULL;
  uint64_t need = SCRATCH_HEADER + (((uint64_t)size + ARENA_ALIGNMENT - 1) & ~(uint64_t)63);
  if (model->scratch_failed || need > model->scratch->size - model->scratch_top) {
    // The kernels were built without asserts, so a NULL block would be written through:
    // stop here instead (the compile-time plan makes this unreachable).
    model->scratch_failed = true;
    __builtin_trap();
  }
  uint8_t *block = model->arena + model->scratch->offset + model->scratch_top;
  scratch_header_t header = {model->scratch_last, 0};
  memcpy(block, &header, sizeof header);
  model->scratch_last = model->scratch_top;
  model->scratch_top += need;
  return block + SCRATCH_HEADER;
}

void halide_free(void *user_context, void *data) {
  kiln_model_t *model = model_from_user(user_context);
  if (model == NULL || model->scratch == NULL || data == NULL) return;
  uint8_t *scratch = model->arena + model->scratch->offset;
  scratch_header_t header;
  uint8_t *block = (uint8_t *)data - SCRATCH_HEADER;
  memcpy(&header, block, sizeof header);
  header.freed = 1;
  memcpy(block, &header, sizeof header);
  while (model->scratch_last != NO_BLOCK) {  // give back every freed block on top
    memcpy(&header, scratch + model->scratch_last, sizeof header);
    if (!header.freed) break;
    model->scratch_top = model->scratch_last;
    model->scratch_last = header.previous;
  }
}

typedef int (*halide_task_fn)(void *user_context, int index, uint8_t *closure);

int halide_do_par_for(void *user_context, halide_task_fn task, int min, int size,
                      uint8_t *closure) {
  for (int i = min; i < min + size; i++) {
    int result = task(user_context, i, closure);
    if (result != 0) return result;
  }
  return 0;
}

#if defined(__arm__)
/* llc gives kernels that call the hooks above EHABI unwind entries, which name these
 * personality routines. Nothing here throws, so they never run; defining them keeps
 * libgcc's unwinder (and the exception tables picolibc's script discards) out. */
__attribute__((weak)) void __aeabi_unwind_cpp_pr0(void) {}
__attribute__((weak)) void __aeabi_unwind_cpp_pr1(void) {}
#endif

static bool aligned(const void *pointer) {
  return (uintptr_t)pointer % ARENA_ALIGNMENT == 0;
}

kiln_status_t kiln_model_open_memory_in(kiln_context_t *context, const kiln_program_t *program,
                                        const char *label, const void *weights,
                                        uint64_t weights_size, void *arena,
                                        uint64_t arena_size, kiln_model_t **out_model) {
  (void)label;
  if (out_model == NULL) return fail(KILN_ERROR_ARGUMENT, "out_model is NULL");
  *out_model = NULL;
  if (context != NULL) return fail(KILN_ERROR_ARGUMENT, "bare-metal targets have no contexts");
  if (program == NULL || program->abi_version != KILN_PROGRAM_ABI_VERSION)
    return fail(KILN_ERROR_ARGUMENT, "the program is missing or from another kiln");
  const kiln_freestanding_desc_t *plan = program->freestanding;
  if (plan == NULL || plan->state_offset > program->arena_size ||
      program->arena_size - plan->state_offset < KILN_FREESTANDING_STATE_BYTES ||
      (program->num_steps > 0 && plan->step_scratch == NULL))
    return fail(KILN_ERROR_ARGUMENT, "the program was not compiled for a bare-metal target");
  for (int32_t i = 0; i < program->num_outputs; i++)
    if (!kiln_io_extent_is_valid(&program->outputs[i], program->arena_size))
      return fail(KILN_ERROR_ARGUMENT, "an output's varying length leaves the arena");
  for (int32_t i = 0; i < program->num_steps; i++) {
    if (!kiln_step_is_valid(program, i))
      return fail(KILN_ERROR_ARGUMENT, "the program's steps are malformed");
    const kiln_arena_range_t *range = &plan->step_scratch[i];
    if (range->offset > plan->state_offset || range->size > plan->state_offset - range->offset)
      return fail(KILN_ERROR_ARGUMENT, "the program's scratch plan leaves the arena");
  }
  if (weights == NULL) {
    weights = program->embedded_weights;
    weights_size = program->embedded_weights_size;
    if (weights == NULL)
      return fail(KILN_ERROR_ARGUMENT, "the program has no embedded weights: give them");
  }
  if (!aligned(weights)) return fail(KILN_ERROR_ARGUMENT, "the weights are not 64-byte aligned");
  if (weights_size != plan->weights_file_size)
    return fail(KILN_ERROR_MISMATCH, "the weights are not this model's: their size differs");
  const uint8_t *file = weights;
  if (memcmp(file, "GGUF", 4) != 0)
    return fail(KILN_ERROR_FORMAT, "the weights are not a GGUF file");
  if (plan->fingerprint_offset > weights_size || weights_size - plan->fingerprint_offset < 16 ||
      memcmp(file + plan->fingerprint_offset, program->fingerprint, 16) != 0)
    return fail(KILN_ERROR_MISMATCH, "the weights are not this model's: the fingerprint differs");
  for (int32_t i = 0; i < program->num_weights; i++) {
    const kiln_weight_desc_t *weight = &program->weights[i];
    if (weight->file_offset > weights_size || weight->byte_size > weights_size - weight->file_offset)
      return fail(KILN_ERROR_FORMAT, "a weight lies outside the weights file");
  }
  if (arena == NULL) return fail(KILN_ERROR_ARGUMENT, "bare-metal targets need the caller's arena");
  if (!aligned(arena)) return fail(KILN_ERROR_ARGUMENT, "the arena is not 64-byte aligned");
  if (arena_size < program->arena_size)
    return fail(KILN_ERROR_ARGUMENT, "the arena is smaller than the model needs");
  memset(arena, 0, (size_t)program->arena_size);
  kiln_model_t *model = (kiln_model_t *)((uint8_t *)arena + plan->state_offset);
  model->magic = MODEL_MAGIC;
  model->program = program;
  model->arena = arena;
  model->weights_file = file;
  model->exec.arena = arena;
  model->exec.weights_file = file;
  model->scratch_last = NO_BLOCK;
  model->exec.user_context = model;  // the scratch hooks find the model through it
  *out_model = model;
  return KILN_OK;
}

kiln_status_t kiln_model_verify_weights(const kiln_model_t *model) {
  if (model == NULL) return fail(KILN_ERROR_ARGUMENT, "model is NULL");
  char text[17];
  kiln_format_checksum(kiln_weights_checksum(model->program, NULL, model->weights_file), text);
  return memcmp(text, model->program->fingerprint, 16) == 0
             ? KILN_OK
             : fail(KILN_ERROR_MISMATCH, "the weights' bytes do not match the fingerprint: "
                                         "they are damaged");
}

void kiln_model_close(kiln_model_t *model) {
  if (model != NULL) model->magic = 0;
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

/* The clock of --profile and --bench: the bare-metal executable's startup defines it (a
 * count of executed instructions under qemu's -icount); a library has none. */
__attribute__((weak)) double kiln_clock_ms(void) { return 0.0; }

static kiln_status_t run_steps(kiln_model_t *model, double *out_step_ms) {
  if (model_from_user(model) == NULL) return fail(KILN_ERROR_ARGUMENT, "the model is not open");
  const kiln_program_t *program = model->program;
  for (int32_t i = 0; out_step_ms != NULL && i < program->num_steps; i++) out_step_ms[i] = 0.0;
  for (int32_t i = 0, next = 0; i < program->num_steps; i = next) {
    model->scratch = &program->freestanding->step_scratch[i];
    model->scratch_top = 0;
    model->scratch_last = NO_BLOCK;
    double start = out_step_ms != NULL ? kiln_clock_ms() : 0.0;
    int code = kiln_run_step(program, i, &model->exec, &next);
    if (out_step_ms != NULL) out_step_ms[i] += kiln_clock_ms() - start;
    model->scratch = NULL;
    if (code == KILN_LOOP_LIMIT_EXCEEDED)
      return fail(KILN_ERROR_KERNEL, "a loop runs past its iteration limit");
    if (code != 0) return fail(KILN_ERROR_KERNEL, "a kernel failed");
  }
  return KILN_OK;
}

kiln_status_t kiln_model_run(kiln_model_t *model) { return run_steps(model, NULL); }

kiln_status_t kiln_model_run_profiled(kiln_model_t *model, double *out_step_ms) {
  if (out_step_ms == NULL) return fail(KILN_ERROR_ARGUMENT, "out_step_ms is NULL");
  return run_steps(model, out_step_ms);
}
