/* common.h - internal: what both runtimes share (common.c). */
#ifndef KILN_RUNTIME_COMMON_H_
#define KILN_RUNTIME_COMMON_H_

#include <stdint.h>

#include "kiln/program.h"
#include "kiln/runtime.h"

#ifdef __cplusplus
extern "C" {
#endif

/// The checksum `kiln compile` records as the fingerprint: FNV-1a over every weight's name
/// and bytes. Weight i is at weights[i], or (weights NULL) at weights_file + program->weights[i].file_offset.
uint64_t kiln_weights_checksum(const kiln_program_t *program, const uint8_t *const *weights,
                               const uint8_t *weights_file);
/// The checksum as the fingerprint's 16 lower-case hex digits.
void kiln_format_checksum(uint64_t checksum, char out[17]);

/// Whether step `index` of `program` is well formed: a known kind with the function it
/// needs and, for a branch or a jump, a target after it and at most num_steps; a loop-back
/// step's target is at or before it (its test bounds the iterations).
int kiln_step_is_valid(const kiln_program_t *program, int32_t index);
/// Runs step `index` and sets *next to the step that runs after it. Returns 0, or the
/// kernel's (or the branch test's) error code.
int kiln_run_step(const kiln_program_t *program, int32_t index, const kiln_exec_t *exec,
                  int32_t *next);

/// Whether `io`'s varying length (if any) is inside an arena of `arena_size` bytes.
int kiln_io_extent_is_valid(const kiln_io_desc_t *io, uint64_t arena_size);
/// `io`'s shape after a run over `arena` into `dims`: its length along the varying axis
/// read from the arena and clamped to [0, bound]. Returns the rank.
int32_t kiln_io_shape(const kiln_io_desc_t *io, const uint8_t *arena, int64_t *dims);

/// Freestanding runtime: makes `message` (which must stay valid) kiln_last_error().
void kiln_set_error_text(const char *message);

#ifdef __cplusplus
}
#endif

#endif /* KILN_RUNTIME_COMMON_H_ */
