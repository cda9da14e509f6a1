//===- Gguf.h - writing the GGUF weights file -------------------------------===//
//
// kiln's weights travel in GGUF v3 (the llama.cpp/ggml container) so other GGUF tools can
// read them. Tensors keep GGML type ids and store dims innermost first; docs/formats.md
// lists the metadata keys kiln adds.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_COMPILER_CODEGEN_GGUF_H
#define KILN_COMPILER_CODEGEN_GGUF_H

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace kiln {

enum GgmlType : uint32_t {
  GGML_F32 = 0, GGML_F16 = 1, GGML_Q4_0 = 2, GGML_Q4_1 = 3, GGML_Q5_0 = 6, GGML_Q5_1 = 7,
  GGML_Q8_0 = 8, GGML_I8 = 24, GGML_I16 = 25, GGML_I32 = 26, GGML_I64 = 27, GGML_F64 = 28,
};

struct GgufTensor {
  std::string name;            // at most 63 bytes
  uint32_t type;
  std::vector<int64_t> dims;   // ONNX order; written reversed
  std::vector<char> data;
};

/// Writes a GGUF v3 file with string metadata and the tensors, aligned to `alignment`.
/// Writes `path`.tmp and renames it, so a failure leaves no partial file.
bool writeGguf(const std::string &path, const std::map<std::string, std::string> &metadata,
               const std::vector<GgufTensor> &tensors, uint32_t alignment, std::string &error);

} // namespace kiln

#endif
