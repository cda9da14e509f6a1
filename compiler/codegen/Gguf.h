//===- Gguf.h - writing the GGUF weights file -------------------------------===//
//
// kiln's weights travel in GGUF v3 (the llama.cpp/ggml container) so other GGUF tools can
// read them. Tensors keep GGML type ids and store dims innermost first; docs/formats.md
// lists the metadata keys kiln adds.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_COMPILER_CODEGEN_GGUF_H
#define KILN_COMPILER_CODEGEN_GGUF_H

#include "kiln/types.h"

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace kiln {

/// GGML type ids, numbered in runtime/include/kiln/types.h (shared with the runtime).
enum GgmlType : uint32_t {
  GGML_F32 = KILN_GGML_F32, GGML_F16 = KILN_GGML_F16, GGML_Q4_0 = KILN_GGML_Q4_0,
  GGML_Q4_1 = KILN_GGML_Q4_1, GGML_Q5_0 = KILN_GGML_Q5_0, GGML_Q5_1 = KILN_GGML_Q5_1,
  GGML_Q8_0 = KILN_GGML_Q8_0, GGML_I8 = KILN_GGML_I8, GGML_I16 = KILN_GGML_I16,
  GGML_I32 = KILN_GGML_I32, GGML_I64 = KILN_GGML_I64, GGML_F64 = KILN_GGML_F64,
};

struct GgufTensor {
  std::string name;            // at most 63 bytes
  uint32_t type;
  std::vector<int64_t> dims;   // ONNX order; written reversed
  std::vector<char> data;
};

/// Where writeGguf put things, for readers that do not parse (the freestanding runtime).
struct GgufLayout {
  uint64_t fileBytes = 0;
  std::vector<uint64_t> tensorOffsets;  // each tensor's data, from the file's start
  std::map<std::string, uint64_t> stringValueOffsets;  // each metadata string's bytes
};

/// Writes a GGUF v3 file with string metadata and the tensors, aligned to `alignment`.
/// Writes `path`.tmp and renames it, so a failure leaves no partial file. `layout`, if
/// given, receives where the tensors and metadata strings are.
bool writeGguf(const std::string &path, const std::map<std::string, std::string> &metadata,
               const std::vector<GgufTensor> &tensors, uint32_t alignment, std::string &error,
               GgufLayout *layout = nullptr);

} // namespace kiln

#endif
