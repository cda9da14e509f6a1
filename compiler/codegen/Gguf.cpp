//===- Gguf.cpp - writing the GGUF weights file -----------------------------===//
//
// Layout: header (magic, version 3, tensor count, kv count), key/values, tensor infos,
// padding to `alignment`, tensor data each at an aligned offset relative to the data start.
//
//===----------------------------------------------------------------------===//
#include "compiler/codegen/Gguf.h"

#include <cstdio>
#include <fstream>

namespace kiln {
namespace {

enum GgufValueType : uint32_t { GGUF_UINT32 = 4, GGUF_STRING = 8 };

struct ByteWriter {
  std::string bytes;
  template <typename T> void pod(T value) {
    bytes.append(reinterpret_cast<const char *>(&value), sizeof(T));
  }
  void string(const std::string &s) {
    pod<uint64_t>(s.size());
    bytes += s;
  }
  void pad(uint64_t alignment) {
    while (bytes.size() % alignment)
      bytes.push_back(0);
  }
};

} // namespace

bool writeGguf(const std::string &path, const std::map<std::string, std::string> &metadata,
               const std::vector<GgufTensor> &tensors, uint32_t alignment, std::string &error,
               GgufLayout *layout) {
  ByteWriter w;
  GgufLayout where;
  w.bytes += "GGUF";
  w.pod<uint32_t>(3);
  w.pod<uint64_t>(tensors.size());
  w.pod<uint64_t>(metadata.size() + 1);
  w.string("general.alignment");
  w.pod<uint32_t>(GGUF_UINT32);
  w.pod<uint32_t>(alignment);
  for (const auto &[key, value] : metadata) {
    w.string(key);
    w.pod<uint32_t>(GGUF_STRING);
    where.stringValueOffsets[key] = w.bytes.size() + sizeof(uint64_t);  // after the length
    w.string(value);
  }
  uint64_t offset = 0;
  for (const GgufTensor &t : tensors) {
    if (t.name.size() >= 64) {
      error = "tensor name '" + t.name + "' is longer than GGUF's 63 bytes";
      return false;
    }
    w.string(t.name);
    w.pod<uint32_t>(uint32_t(t.dims.size()));
    for (auto it = t.dims.rbegin(); it != t.dims.rend(); ++it)
      w.pod<uint64_t>(uint64_t(*it));
    w.pod<uint32_t>(t.type);
    w.pod<uint64_t>(offset);
    offset += t.data.size();
    offset = (offset + alignment - 1) / alignment * alignment;
  }
  w.pad(alignment);
  for (const GgufTensor &t : tensors) {
    where.tensorOffsets.push_back(w.bytes.size() + where.fileBytes);
    where.fileBytes += t.data.size();
    if (&t != &tensors.back())
      where.fileBytes = (where.fileBytes + alignment - 1) / alignment * alignment;
  }
  where.fileBytes += w.bytes.size();
  std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) {
      error = "cannot write " + tmp;
      return false;
    }
    out.write(w.bytes.data(), w.bytes.size());
    static const char zeros[64] = {0};
    for (size_t i = 0; i < tensors.size(); ++i) {
      const GgufTensor &t = tensors[i];
      out.write(t.data.data(), t.data.size());
      // Pad between tensors only: the file ends with the last tensor's last byte, so any
      // truncation cuts real data and is caught by the reader.
      size_t padding = i + 1 == tensors.size() ? 0 : (alignment - t.data.size() % alignment) % alignment;
      while (padding > 0) {
        size_t n = std::min<size_t>(padding, sizeof(zeros));
        out.write(zeros, n);
        padding -= n;
      }
    }
    if (!out.good()) {
      error = "error writing " + tmp;
      std::remove(tmp.c_str());
      return false;
    }
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    error = "cannot rename " + tmp + " to " + path;
    std::remove(tmp.c_str());
    return false;
  }
  if (layout)
    *layout = std::move(where);
  return true;
}

} // namespace kiln
