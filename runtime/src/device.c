/* device.c - running a program's kernels on a GPU through Halide's device runtime.
 *
 * At open: the driver library named by the program is loaded (so a machine without it
 * gets a message naming the API instead of a crash inside a kernel), one device buffer
 * the size of the host arena is allocated, every slice the kernels use becomes a device
 * view of it (halide_device_crop: CUDA adds an offset to the pointer, OpenCL and Metal
 * keep one with the handle), and every weight is uploaded once into a buffer of its own.
 * The glue then hands kernels buffers whose `device` field is the slice's handle: data
 * stays on the device between kernels and only inputs and outputs cross the bus.
 */
#define _POSIX_C_SOURCE 200809L

#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>

#include "HalideRuntime.h"
#include "device.h"
#include "error.h"

typedef unsigned long long ull;

typedef struct device_state_t {
  const kiln_program_t *program;
  const kiln_device_desc_t *desc;
  const struct halide_device_interface_t *interface;
  halide_dimension_t arena_dim;
  halide_buffer_t arena;
  int32_t num_slices;
  halide_dimension_t *slice_dims;
  halide_buffer_t *slices;
  uint64_t *slice_handles;
  int32_t num_weights;
  halide_dimension_t *weight_dims;
  halide_buffer_t *weights;
  uint64_t *weight_handles;
} device_state_t;

static void device_close(void *opaque) {
  device_state_t *state = opaque;
  if (state == NULL) return;
  for (int32_t i = 0; state->slices != NULL && i < state->num_slices; i++) {
    if (state->slices[i].device != 0) halide_device_release_crop(NULL, &state->slices[i]);
  }
  for (int32_t i = 0; state->weights != NULL && i < state->num_weights; i++) {
    if (state->weights[i].device != 0) halide_device_free(NULL, &state->weights[i]);
  }
  if (state->arena.device != 0) halide_device_free(NULL, &state->arena);
  free(state->slice_dims);
  free(state->slices);
  free(state->slice_handles);
  free(state->weight_dims);
  free(state->weights);
  free(state->weight_handles);
  free(state);
}

/* A one-dimensional uint8 buffer of `bytes` bytes at `host`, its only dimension starting
 * at `min` (crops are placed by their dimension's min). */
static void byte_buffer(halide_buffer_t *buffer, halide_dimension_t *dim, uint8_t *host,
                        uint64_t min, uint64_t bytes) {
  memset(buffer, 0, sizeof *buffer);
  dim->min = (int32_t)min;
  dim->extent = (int32_t)bytes;
  dim->stride = 1;
  dim->flags = 0;
  buffer->host = host;
  buffer->type.code = halide_type_uint;
  buffer->type.bits = 8;
  buffer->type.lanes = 1;
  buffer->dimensions = 1;
  buffer->dim = dim;
}

static kiln_status_t device_open(const kiln_program_t *program, uint8_t *arena,
                                 const uint8_t *const *weights, kiln_exec_t *exec,
                                 void **out_state) {
  const kiln_device_desc_t *desc = program->device;
  *out_state = NULL;
  const char *api = desc->api_name != NULL ? desc->api_name : "device";
  /* Halide's device runtime addresses buffers with 32-bit extents and minimums. */
  if (program->arena_size > INT32_MAX) {
    return kiln_set_error(KILN_ERROR_MEMORY, "%s: the arena of %llu bytes exceeds the 2 GB a "
                          "device buffer can address", api, (ull)program->arena_size);
  }
  /* RTLD_GLOBAL: Halide's runtime then finds the driver's symbols in the process. */
  if (desc->driver_library != NULL && dlopen(desc->driver_library, RTLD_NOW | RTLD_GLOBAL) == NULL) {
    const char *why = dlerror();
    return kiln_set_error(KILN_ERROR_IO, "%s: cannot load the driver library %s (%s); this "
                          "executable needs a machine with a %s driver and device", api,
                          desc->driver_library, why != NULL ? why : "not found", api);
  }
  device_state_t *state = calloc(1, sizeof *state);
  if (state == NULL) return kiln_set_error(KILN_ERROR_MEMORY, "no memory for the device state");
  state->program = program;
  state->desc = desc;
  state->interface = desc->device_interface();
  state->num_slices = desc->num_slices;
  state->num_weights = program->num_weights;
  size_t slices = desc->num_slices > 0 ? (size_t)desc->num_slices : 1;
  size_t weight_count = program->num_weights > 0 ? (size_t)program->num_weights : 1;
  state->slice_dims = calloc(slices, sizeof *state->slice_dims);
  state->slices = calloc(slices, sizeof *state->slices);
  state->slice_handles = calloc(slices, sizeof *state->slice_handles);
  state->weight_dims = calloc(weight_count, sizeof *state->weight_dims);
  state->weights = calloc(weight_count, sizeof *state->weights);
  state->weight_handles = calloc(weight_count, sizeof *state->weight_handles);
  if (state->slice_dims == NULL || state->slices == NULL || state->slice_handles == NULL ||
      state->weight_dims == NULL || state->weights == NULL || state->weight_handles == NULL) {
    device_close(state);
    return kiln_set_error(KILN_ERROR_MEMORY, "no memory for the device state");
  }

  uint64_t arena_bytes = program->arena_size > 0 ? program->arena_size : 1;
  byte_buffer(&state->arena, &state->arena_dim, arena, 0, arena_bytes);
  int code = halide_device_malloc(NULL, &state->arena, state->interface);
  if (code != 0) {
    device_close(state);
    return kiln_set_error(KILN_ERROR_IO, "%s: no usable device (allocating the %llu-byte "
                          "device arena failed with Halide error %d)", api, (ull)arena_bytes, code);
  }
  for (int32_t i = 0; i < desc->num_slices; i++) {
    const kiln_device_slice_t *slice = &desc->slices[i];
    if (slice->arena_offset > program->arena_size ||
        slice->byte_size > program->arena_size - slice->arena_offset) {
      device_close(state);
      return kiln_set_error(KILN_ERROR_ARGUMENT, "program '%s': device slice %d lies outside "
                            "the arena", program->model_name, i);
    }
    if (slice->byte_size == 0) continue;
    byte_buffer(&state->slices[i], &state->slice_dims[i], arena + slice->arena_offset,
                slice->arena_offset, slice->byte_size);
    code = halide_device_crop(NULL, &state->arena, &state->slices[i]);
    if (code != 0) {
      device_close(state);
      return kiln_set_error(KILN_ERROR_IO, "%s: cannot make a device view of arena bytes "
                            "%llu..%llu (Halide error %d)", api, (ull)slice->arena_offset,
                            (ull)(slice->arena_offset + slice->byte_size), code);
    }
    state->slice_handles[i] = state->slices[i].device;
  }
  for (int32_t i = 0; i < program->num_weights; i++) {
    uint64_t bytes = program->weights[i].byte_size;
    if (bytes == 0) continue;
    if (bytes > INT32_MAX) {
      device_close(state);
      return kiln_set_error(KILN_ERROR_MEMORY, "%s: weight '%s' of %llu bytes exceeds the 2 GB "
                            "a device buffer can address", api, program->weights[i].name, (ull)bytes);
    }
    /* The mapping is read-only; Halide only reads host memory when uploading. */
    byte_buffer(&state->weights[i], &state->weight_dims[i], (uint8_t *)weights[i], 0, bytes);
    state->weights[i].flags = halide_buffer_flag_host_dirty;
    code = halide_copy_to_device(NULL, &state->weights[i], state->interface);
    if (code != 0) {
      device_close(state);
      return kiln_set_error(KILN_ERROR_IO, "%s: uploading weight '%s' (%llu bytes) failed "
                            "with Halide error %d", api, program->weights[i].name, (ull)bytes, code);
    }
    state->weight_handles[i] = state->weights[i].device;
  }
  exec->device_slices = state->slice_handles;
  exec->device_weights = state->weight_handles;
  exec->device_interface = state->interface;
  *out_state = state;
  return KILN_OK;
}

static kiln_status_t device_upload_inputs(void *opaque) {
  device_state_t *state = opaque;
  const kiln_program_t *program = state->program;
  for (int32_t i = 0; i < program->num_inputs; i++) {
    halide_buffer_t *slice = &state->slices[state->desc->input_slices[i]];
    if (slice->device == 0) continue;
    slice->flags = halide_buffer_flag_host_dirty;
    int code = halide_copy_to_device(NULL, slice, state->interface);
    slice->flags = 0;
    if (code != 0) {
      return kiln_set_error(KILN_ERROR_KERNEL, "%s: copying input '%s' to the device failed "
                            "with Halide error %d", state->desc->api_name,
                            program->inputs[i].name, code);
    }
  }
  return KILN_OK;
}

static kiln_status_t device_download_outputs(void *opaque) {
  device_state_t *state = opaque;
  const kiln_program_t *program = state->program;
  for (int32_t i = 0; i < program->num_outputs; i++) {
    halide_buffer_t *slice = &state->slices[state->desc->output_slices[i]];
    if (slice->device == 0) continue;
    slice->flags = halide_buffer_flag_device_dirty;
    int code = halide_copy_to_host(NULL, slice);
    slice->flags = 0;
    if (code != 0) {
      return kiln_set_error(KILN_ERROR_KERNEL, "%s: copying output '%s' from the device failed "
                            "with Halide error %d", state->desc->api_name,
                            program->outputs[i].name, code);
    }
  }
  return KILN_OK;
}

const kiln_device_ops_t kiln_device_ops = {device_open, device_upload_inputs,
                                           device_download_outputs, device_close};
