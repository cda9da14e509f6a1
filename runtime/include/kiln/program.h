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

#include "kiln/types.h"

#ifdef __cplusplus
extern "C" {
#endif

#define KILN_MAX_RANK 8

/** Bumped whenever a table below changes shape; the runtime refuses other versions, so
 *  glue from one kiln never runs against another kiln's runtime by accident. */
#define KILN_PROGRAM_ABI_VERSION 5

struct halide_device_interface_t;


/** A model input or output: a dense row-major tensor that lives in the arena. An output
 *  whose length along one axis depends on the data (NonZero, NonMaxSuppression) has
 *  `dims` as its bound and the run's length as an int64 in the arena: its data is the
 *  dense row-major tensor of the run's shape at the start of its bytes
 *  (kiln_model_output_shape). */
typedef struct kiln_io_desc_t {
  const char *name;             /* ONNX value name */
  kiln_dtype_t dtype;
  int32_t rank;
  int64_t dims[KILN_MAX_RANK];  /* ONNX order, outermost first */
  uint64_t byte_size;
  uint64_t arena_offset;
  int32_t has_extent;           /* 0: the shape is dims; 1: dims[extent_axis] varies */
  int32_t extent_axis;
  uint64_t extent_offset;       /* the run's length along extent_axis (int64, in the arena) */
} kiln_io_desc_t;

/** A weight tensor the program expects to find in the GGUF weights file. */
typedef struct kiln_weight_desc_t {
  const char *name;             /* GGUF tensor name */
  uint32_t ggml_type;           /* GGML type id it must carry in the file */
  int32_t rank;
  int64_t dims[KILN_MAX_RANK];  /* ONNX order, outermost first (GGUF stores them reversed) */
  uint64_t byte_size;
  uint64_t file_offset;         /* freestanding programs: its data's offset in the file */
} kiln_weight_desc_t;

/** What a step sees while it runs: base pointers resolved by the runtime. */
typedef struct kiln_exec_t {
  uint8_t *arena;                 /* one block of program->arena_size bytes, 64-byte aligned */
  const uint8_t *const *weights;  /* weights[i] points at weight i inside the mapped file */
  const uint8_t *weights_file;    /* the weights file's first byte (freestanding glue adds
                                     each weight's offset, known when it was written) */
  void *user_context;             /* passed to the Halide kernels */
  /* Device programs only (NULL otherwise): Halide device handles of the arena slices
   * (program->device->slices) and of the weights, uploaded once at open. */
  const uint64_t *device_slices;
  const uint64_t *device_weights;
  const struct halide_device_interface_t *device_interface;
} kiln_exec_t;

/** One kernel call. Returns 0 on success, the kernel's error code otherwise. */
typedef int (*kiln_step_fn)(const kiln_exec_t *exec);

/** Reads a branch's condition (a bool the model computed) into *out_true. Returns 0 on
 *  success, a Halide error code when the value could not be brought to the host. */
typedef int (*kiln_test_fn)(const kiln_exec_t *exec, int32_t *out_true);

/** What a step does. Steps run in order; a kiln.if is a branch over its then steps to its
 *  else steps and a jump over the else steps at the end of the then steps; a kiln.loop is
 *  a branch past the loop when it runs zero times, its body, and a step back to the body
 *  while it runs. Only loop-back steps point backward, and their tests fail
 *  (KILN_LOOP_LIMIT_EXCEEDED) past the loop's iteration limit, so every run ends. */
typedef enum kiln_step_kind_t {
  KILN_STEP_KERNEL = 0,         /* run(exec), then the next step */
  KILN_STEP_BRANCH_UNLESS = 1,  /* test(exec): true goes on to the next step, false to target */
  KILN_STEP_JUMP = 2,           /* continue at target */
  KILN_STEP_LOOP_BACK = 3,      /* test(exec): true goes back to target, false on */
} kiln_step_kind_t;

/** What a loop-back step's test returns when the loop would run past its limit. */
#define KILN_LOOP_LIMIT_EXCEEDED (-19001)

typedef struct kiln_step_desc_t {
  const char *name;  /* kernel name, e.g. "k12_conv_hardswish" (used by --profile and errors) */
  kiln_step_fn run;  /* KILN_STEP_KERNEL */
  int32_t kind;      /* a kiln_step_kind_t */
  int32_t target;    /* BRANCH_UNLESS, JUMP: a later step's index, or num_steps (the end);
                        LOOP_BACK: an earlier step's index */
  kiln_test_fn test; /* BRANCH_UNLESS, LOOP_BACK */
} kiln_step_desc_t;

/** A range of the arena that kernels see as one device buffer. */
typedef struct kiln_device_slice_t {
  uint64_t arena_offset;
  uint64_t byte_size;
} kiln_device_slice_t;

/** Entry points of the device runtime (runtime/src/device.c), linked into GPU artifacts. */
typedef struct kiln_device_ops_t kiln_device_ops_t;

/** What a GPU program needs at run time. The runtime maps one device arena the size of the
 *  host arena, gives every slice a device view of it (halide_device_crop), uploads every
 *  weight once at open, and moves only inputs (before a run) and outputs (after it). */
typedef struct kiln_device_desc_t {
  const char *api_name;        /* "CUDA", "OpenCL", "Metal" (in messages) */
  const char *driver_library;  /* dlopen'ed at open; NULL when linked in (Metal) */
  const struct halide_device_interface_t *(*device_interface)(void);
  int32_t num_slices;
  const kiln_device_slice_t *slices;
  const int32_t *input_slices;   /* program->inputs[i] is slices[input_slices[i]] */
  const int32_t *output_slices;  /* likewise for outputs */
  const kiln_device_ops_t *ops;
} kiln_device_desc_t;

/** An arena range. */
typedef struct kiln_arena_range_t {
  uint64_t offset;
  uint64_t size;
} kiln_arena_range_t;

/** What a program for the freestanding runtime (runtime/src/freestanding.c: bare-metal
 *  targets and WebAssembly, no heap, no threads) carries beyond the tables: its weights
 *  file's exact layout, so opening checks it without parsing or allocating, and the arena's
 *  plan for the kernels' scratch and for the model's own state. */
typedef struct kiln_freestanding_desc_t {
  uint64_t weights_file_size;   /* the weights file, byte for byte */
  uint64_t fingerprint_offset;  /* where the file holds the 16 hex digits of `fingerprint` */
  /* Per step, where its kernel's halide_malloc blocks go: a range no tensor live at that
   * step uses, planned at compile time (size 0: the kernel allocates nothing). */
  const kiln_arena_range_t *step_scratch;
  uint64_t state_offset;        /* KILN_FREESTANDING_STATE_BYTES for the opened model */
} kiln_freestanding_desc_t;

/** Arena bytes a freestanding program reserves for its opened model's state. */
#define KILN_FREESTANDING_STATE_BYTES 256

typedef struct kiln_program_t {
  int32_t abi_version;  /* KILN_PROGRAM_ABI_VERSION of the kiln that generated it */
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
  const kiln_device_desc_t *device;  /* NULL for CPU programs */
  /* The weights file linked into the artifact (`kiln compile --weights embed`), 64-byte
   * aligned in a read-only section of its own; NULL when the weights are a separate file. */
  const uint8_t *embedded_weights;
  uint64_t embedded_weights_size;
  /* Programs for the freestanding runtime (bare-metal targets); NULL for hosted ones. */
  const kiln_freestanding_desc_t *freestanding;
} kiln_program_t;

/** Size in bytes of one element of `dtype` (0 for an unknown value). */
size_t kiln_dtype_size(kiln_dtype_t dtype);
/** Lower-case name ("float32", "int64", ...) for messages. */
const char *kiln_dtype_name(kiln_dtype_t dtype);

#ifdef __cplusplus
}
#endif

#endif /* KILN_PROGRAM_H_ */
