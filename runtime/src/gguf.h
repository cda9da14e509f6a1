/* gguf.h - internal: a bounds-checked GGUF v3 reader over a read-only mapped weights file.
 *
 * kiln's weights travel in GGUF files (the llama.cpp format): a header, metadata key/values,
 * tensor infos and an aligned data section. The reader validates every count, length and
 * offset against the file size before use, so a truncated or corrupted file yields an error
 * naming the file and byte offset or tensor, never a crash or a huge allocation. Tensor data
 * is used in place from the mapping: weights are never copied.
 */
#ifndef KILN_RUNTIME_GGUF_H_
#define KILN_RUNTIME_GGUF_H_

#include <stdbool.h>
#include <stdint.h>

#include "kiln/program.h"
#include "kiln/runtime.h"

#ifdef __cplusplus
extern "C" {
#endif

/// GGUF's spec allows 4 dimensions; kiln accepts as many as a kiln tensor can have.
#define KILN_GGUF_MAX_DIMS KILN_MAX_RANK


/// One tensor info, with its data located and its byte size computed.
typedef struct kiln_gguf_tensor_t {
  const char *name;  ///< points into the file: NOT NUL-terminated
  uint64_t name_length;
  uint32_t n_dims;
  uint64_t ne[KILN_GGUF_MAX_DIMS];  ///< innermost first (GGUF order), each <= INT64_MAX
  uint32_t ggml_type;
  uint64_t offset;     ///< relative to the data section, as stored
  uint64_t byte_size;  ///< from type and ne
  const uint8_t *data; ///< start of the tensor's bytes in the file
} kiln_gguf_tensor_t;

/// A parsed GGUF file. Everything points into `bytes`, which must outlive it.
typedef struct kiln_gguf_t {
  char *label;           ///< file path (or caller's label) used in messages
  const uint8_t *bytes;
  uint64_t size;
  bool mapped;           ///< bytes come from mmap and are unmapped by kiln_gguf_close
  uint32_t version;
  uint64_t kv_count;
  uint64_t kv_offset;    ///< byte offset of the first metadata key/value
  uint64_t alignment;    ///< "general.alignment" or 32
  uint64_t data_offset;  ///< start of the data section
  uint64_t tensor_count;
  kiln_gguf_tensor_t *tensors;
} kiln_gguf_t;

/// Maps `path` read-only and parses it (see kiln_gguf_parse). *out_file is zeroed on error.
kiln_status_t kiln_gguf_open(const char *path, kiln_gguf_t *out_file);

/// Parses and validates GGUF bytes that stay owned by the caller (embedded weights, tests).
/// `label` names the bytes in messages.
kiln_status_t kiln_gguf_parse(const char *label, const uint8_t *bytes, uint64_t size,
                              kiln_gguf_t *out_file);

/// Frees the tensor table and unmaps the file if kiln_gguf_open mapped it. NULL is allowed.
void kiln_gguf_close(kiln_gguf_t *file);

/// The tensor called `name`, NULL if absent.
const kiln_gguf_tensor_t *kiln_gguf_find_tensor(const kiln_gguf_t *file, const char *name);

/// Finds string metadata `key`; the string points into the file and is NOT NUL-terminated.
/// Returns false if the key is absent or holds another type.
bool kiln_gguf_find_string(const kiln_gguf_t *file, const char *key, const char **out_string,
                           uint64_t *out_length);

/// Block layout of a GGML type (1 element per "block" for plain types); false if unknown.
bool kiln_ggml_type_layout(uint32_t ggml_type, uint32_t *out_block_elements,
                           uint32_t *out_block_bytes);

/// Checks the file against the program: fingerprint, then each weight's presence, type,
/// dimensions (GGUF stores them reversed) and byte size. On success out_weights[i] points at
/// program->weights[i]'s data.
kiln_status_t kiln_gguf_bind_program(const kiln_gguf_t *file, const kiln_program_t *program,
                                     const uint8_t **out_weights);

#ifdef __cplusplus
}
#endif

#endif /* KILN_RUNTIME_GGUF_H_ */
