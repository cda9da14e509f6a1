/* program.h - the contract between the glue that `kiln compile` generates and the runtime.
 *
 * A compiled model is a kiln_program_t: static tables that describe its inputs, outputs,
 * weights and the ordered kernel calls ("steps"). The generated C file defines one such
 * table; the runtime (runtime.c) validates the weights file against it, allocates the one
 * arena it asks for and runs its steps. Nothing here allocates or depends on the compiler.
 */
#ifndef KILN_PROGRAM_H_
#define KILN_PROGRAM_H_

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define KILN_MAX_RANK 8

/** Element types. The numbering is kiln's own and is stable (it appears in generated code). */
typedef enum kiln_dtype_e {
  KILN_DTYPE_F32 = 0,
  KILN_DTYPE_F16 = 1,
  KILN_DTYPE_F64 = 2,
  KILN_DTYPE_I8 = 3,
  KILN_DTYPE_I16 = 4,
  KILN_DTYPE_I32 = 5,
  KILN_DTYPE_I64 = 6,
  KILN_DTYPE_U8 = 7,
  KILN_DTYPE_U16 = 8,
  KILN_DTYPE_U32 = 9,
  KILN_DTYPE_U64 = 10,
  KILN_DTYPE_BOOL = 11,
} kiln_dtype_t;

/** A model input or output: a dense row-major tensor that lives in the arena. */
typedef struct kiln_io_desc_t {
  const char *name;             /* ONNX value name */
  kiln_dtype_t dtype;
  int32_t rank;
  int64_t dims[KILN_MAX_RANK];  /* ONNX order, outermost first */
  uint64_t byte_size;
  uint64_t arena_offset;
} kiln_io_desc_t;

/** A weight tensor the program expects to find in the GGUF weights file. */
typedef struct kiln_weight_desc_t {
  const char *name;             /* GGUF tensor name */
  uint32_t ggml_type;           /* GGML type id it must carry in the file */
  int32_t rank;
  int64_t dims[KILN_MAX_RANK];  /* ONNX order, outermost first (GGUF stores them reversed) */
  uint64_t byte_size;
} kiln_weight_desc_t;

/** What a step sees while it runs: base pointers resolved by the runtime. */
typedef struct kiln_exec_t {
  uint8_t *arena;                 /* one block of program->arena_size bytes, 64-byte aligned */
  const uint8_t *const *weights;  /* weights[i] points at weight i inside the mapped file */
  void *user_context;             /* passed to the Halide kernels */
} kiln_exec_t;

/** One kernel call. Returns 0 on success, the kernel's error code otherwise. */
typedef int (*kiln_step_fn)(const kiln_exec_t *exec);

typedef struct kiln_step_desc_t {
  const char *name;  /* kernel name, e.g. "k12_conv_hardswish" (used by --profile and errors) */
  kiln_step_fn run;
} kiln_step_desc_t;

typedef struct kiln_program_t {
  const char *model_name;
  const char *fingerprint;  /* must equal the weights file's "kiln.fingerprint" metadata */
  uint64_t arena_size;
  int32_t num_inputs;
  const kiln_io_desc_t *inputs;
  int32_t num_outputs;
  const kiln_io_desc_t *outputs;
  int32_t num_weights;
  const kiln_weight_desc_t *weights;
  int32_t num_steps;
  const kiln_step_desc_t *steps;
} kiln_program_t;

/** Size in bytes of one element of `dtype` (0 for an unknown value). */
size_t kiln_dtype_size(kiln_dtype_t dtype);
/** Lower-case name ("float32", "int64", ...) for messages. */
const char *kiln_dtype_name(kiln_dtype_t dtype);

#ifdef __cplusplus
}
#endif

#endif /* KILN_PROGRAM_H_ */
