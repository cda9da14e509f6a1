/* common.c - what the hosted runtime (runtime.c) and the freestanding one (freestanding.c)
 * share: names and sizes of the enums, and the weights checksum. No libc beyond headers. */
#include "common.h"

#include <string.h>

const char *kiln_status_string(kiln_status_t status) {
  switch (status) {
    case KILN_OK: return "KILN_OK";
    case KILN_ERROR_IO: return "KILN_ERROR_IO";
    case KILN_ERROR_FORMAT: return "KILN_ERROR_FORMAT";
    case KILN_ERROR_MISMATCH: return "KILN_ERROR_MISMATCH";
    case KILN_ERROR_ARGUMENT: return "KILN_ERROR_ARGUMENT";
    case KILN_ERROR_KERNEL: return "KILN_ERROR_KERNEL";
    case KILN_ERROR_MEMORY: return "KILN_ERROR_MEMORY";
  }
  return "KILN_ERROR_UNKNOWN";
}

size_t kiln_dtype_size(kiln_dtype_t dtype) {
  switch (dtype) {
    case KILN_DTYPE_F64: case KILN_DTYPE_I64: case KILN_DTYPE_U64: return 8;
    case KILN_DTYPE_F32: case KILN_DTYPE_I32: case KILN_DTYPE_U32: return 4;
    case KILN_DTYPE_F16: case KILN_DTYPE_I16: case KILN_DTYPE_U16: return 2;
    case KILN_DTYPE_I8: case KILN_DTYPE_U8: case KILN_DTYPE_BOOL: return 1;
  }
  return 0;
}

const char *kiln_dtype_name(kiln_dtype_t dtype) {
  static const char *const names[] = {"float32", "float16", "float64", "int8",
                                      "int16",   "int32",   "int64",   "uint8",
                                      "uint16",  "uint32",  "uint64",  "bool"};
  return (unsigned)dtype < sizeof names / sizeof names[0] ? names[dtype] : "unknown";
}


uint64_t kiln_weights_checksum(const kiln_program_t *program, const uint8_t *const *weights,
                               const uint8_t *weights_file) {
  uint64_t hash = 1469598103934665603ull;  // FNV-1a over each weight's name and bytes
  for (int32_t i = 0; i < program->num_weights; i++) {
    const unsigned char *name = (const unsigned char *)program->weights[i].name;
    for (size_t k = 0; name[k] != '\0'; k++) hash = (hash ^ name[k]) * 1099511628211ull;
    const uint8_t *data = weights != NULL ? weights[i] : weights_file + program->weights[i].file_offset;
    for (uint64_t k = 0; k < program->weights[i].byte_size; k++) {
      hash = (hash ^ data[k]) * 1099511628211ull;
    }
  }
  return hash;
}

void kiln_format_checksum(uint64_t checksum, char out[17]) {
  static const char digits[] = "0123456789abcdef";
  for (int i = 15; i >= 0; i--, checksum >>= 4) out[i] = digits[checksum & 15];
  out[16] = '\0';
}

int kiln_step_is_valid(const kiln_program_t *program, int32_t index) {
  const kiln_step_desc_t *step = &program->steps[index];
  if (step->name == NULL) return 0;
  switch (step->kind) {
    case KILN_STEP_KERNEL:
      return step->run != NULL;
    case KILN_STEP_BRANCH_UNLESS:
      if (step->test == NULL) return 0;
      /* fall through */
    case KILN_STEP_JUMP:
      return step->target > index && step->target <= program->num_steps;
    case KILN_STEP_LOOP_BACK:
      return step->test != NULL && step->target >= 0 && step->target <= index;
    default:
      return 0;
  }
}

int kiln_run_step(const kiln_program_t *program, int32_t index, const kiln_exec_t *exec,
                  int32_t *next) {
  const kiln_step_desc_t *step = &program->steps[index];
  *next = index + 1;
  if (step->kind == KILN_STEP_KERNEL) return step->run(exec);
  if (step->kind == KILN_STEP_JUMP) {
    *next = step->target;
    return 0;
  }
  int32_t taken = 0;
  int code = step->test(exec, &taken);
  if (code == 0 && (step->kind == KILN_STEP_LOOP_BACK) == (taken != 0)) *next = step->target;
  return code;
}

int kiln_io_extent_is_valid(const kiln_io_desc_t *io, uint64_t arena_size) {
  if (!io->has_extent) return 1;
  return io->extent_axis >= 0 && io->extent_axis < io->rank && io->extent_offset % 8 == 0 &&
         io->extent_offset <= arena_size && arena_size - io->extent_offset >= 8;
}

int32_t kiln_io_shape(const kiln_io_desc_t *io, const uint8_t *arena, int64_t *dims) {
  for (int32_t d = 0; d < io->rank; d++) dims[d] = io->dims[d];
  if (io->has_extent) {
    int64_t length;
    memcpy(&length, arena + io->extent_offset, sizeof length);
    int64_t bound = io->dims[io->extent_axis];
    dims[io->extent_axis] = length < 0 ? 0 : length > bound ? bound : length;
  }
  return io->rank;
}
