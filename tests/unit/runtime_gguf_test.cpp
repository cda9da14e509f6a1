// runtime_gguf_test.cpp - tests of the GGUF reader and of kiln_model_open's weight checks.
//
// The GGUF files are built byte by byte by GgufWriter below, so each test states exactly
// what its file holds; the truncation and corruption tests then cut or patch those bytes and
// require an error that names the file, never a crash (run them under ASan to be sure).

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <stdlib.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "gguf.h"
#include "kiln/runtime.h"

namespace {

using Bytes = std::vector<uint8_t>;

// GGUF metadata value types.
constexpr uint32_t kUint8 = 0, kUint32 = 4, kFloat32 = 6, kBool = 7, kString = 8, kArray = 9,
                   kInt64 = 11;

void AppendLe(Bytes &out, uint64_t value, int bytes) {
  for (int i = 0; i < bytes; i++) out.push_back(static_cast<uint8_t>(value >> (8 * i)));
}

void AppendString(Bytes &out, const std::string &text) {
  AppendLe(out, text.size(), 8);
  out.insert(out.end(), text.begin(), text.end());
}

Bytes FloatBytes(const std::vector<float> &values) {
  Bytes out(values.size() * sizeof(float));
  std::memcpy(out.data(), values.data(), out.size());
  return out;
}

/// Writes GGUF v3 files: metadata in the order added, then tensor infos, then the data
/// section, each tensor at the next multiple of the alignment and nothing after the last one.
class GgufWriter {
 public:
  GgufWriter &String(const std::string &key, const std::string &value) {
    Key(key, kString);
    AppendString(kv_, value);
    return *this;
  }
  GgufWriter &U32(const std::string &key, uint32_t value) {
    Key(key, kUint32);
    AppendLe(kv_, value, 4);
    return *this;
  }
  /// A value given as raw bytes after its type, for arrays and corrupt values.
  GgufWriter &Raw(const std::string &key, uint32_t type, const Bytes &value) {
    Key(key, type);
    kv_.insert(kv_.end(), value.begin(), value.end());
    return *this;
  }
  GgufWriter &Alignment(uint32_t alignment) {
    alignment_ = alignment;
    return U32("general.alignment", alignment);
  }
  GgufWriter &Tensor(const std::string &name, uint32_t ggml_type, std::vector<uint64_t> ne,
                     Bytes data) {
    tensors_.push_back({name, ggml_type, std::move(ne), std::move(data)});
    return *this;
  }
  /// Stores tensor `index` at `offset` in the data section instead of the next free slot.
  GgufWriter &MoveTensor(size_t index, uint64_t offset) {
    moved_[index] = offset;
    return *this;
  }

  Bytes Build() const {
    Bytes out = {'G', 'G', 'U', 'F'};
    AppendLe(out, 3, 4);
    AppendLe(out, tensors_.size(), 8);
    AppendLe(out, kv_count_, 8);
    out.insert(out.end(), kv_.begin(), kv_.end());
    std::vector<uint64_t> offsets;
    uint64_t offset = 0;
    for (size_t i = 0; i < tensors_.size(); i++) {
      const TensorEntry &tensor = tensors_[i];
      uint64_t at = moved_.count(i) ? moved_.at(i) : offset;
      offsets.push_back(at);
      AppendString(out, tensor.name);
      AppendLe(out, tensor.ne.size(), 4);
      for (uint64_t extent : tensor.ne) AppendLe(out, extent, 8);
      AppendLe(out, tensor.ggml_type, 4);
      AppendLe(out, at, 8);
      offset = AlignUp(std::max(offset, at + tensor.data.size()));
    }
    if (tensors_.empty()) return out;
    uint64_t data_start = AlignUp(out.size());
    for (size_t i = 0; i < tensors_.size(); i++) {
      if (out.size() < data_start + offsets[i] + tensors_[i].data.size())
        out.resize(data_start + offsets[i] + tensors_[i].data.size(), 0);
      std::copy(tensors_[i].data.begin(), tensors_[i].data.end(),
                out.begin() + long(data_start + offsets[i]));
    }
    return out;
  }

 private:
  struct TensorEntry {
    std::string name;
    uint32_t ggml_type;
    std::vector<uint64_t> ne;
    Bytes data;
  };
  std::map<size_t, uint64_t> moved_;
  void Key(const std::string &key, uint32_t type) {
    AppendString(kv_, key);
    AppendLe(kv_, type, 4);
    kv_count_++;
  }
  uint64_t AlignUp(uint64_t value) const {
    return (value + alignment_ - 1) / alignment_ * alignment_;
  }

  Bytes kv_;
  uint64_t kv_count_ = 0;
  uint32_t alignment_ = 32;
  std::vector<TensorEntry> tensors_;
};

constexpr const char *kFingerprint = "fp-1234";
const std::vector<float> kWeightValues = {0.5f, 1.5f, 2.5f, 3.5f, 4.5f, 5.5f};

/// The file the test program expects: weight "w", f32, ONNX shape [2,3], plus metadata of
/// every kind so that the walk over the metadata is exercised.
GgufWriter ValidWriter() {
  Bytes u8_array, string_array, nested_array;
  AppendLe(u8_array, kUint8, 4);
  AppendLe(u8_array, 3, 8);
  u8_array.insert(u8_array.end(), {1, 2, 3});
  AppendLe(string_array, kString, 4);
  AppendLe(string_array, 2, 8);
  AppendString(string_array, "a");
  AppendString(string_array, "bc");
  AppendLe(nested_array, kArray, 4);  // [[7], []] of int64
  AppendLe(nested_array, 2, 8);
  AppendLe(nested_array, kInt64, 4);
  AppendLe(nested_array, 1, 8);
  AppendLe(nested_array, 7, 8);
  AppendLe(nested_array, kInt64, 4);
  AppendLe(nested_array, 0, 8);
  GgufWriter writer;
  writer.String("general.name", "test")
      .Raw("general.flag", kBool, {1})
      .Raw("test.scale", kFloat32, {0, 0, 128, 63})
      .Raw("test.u8s", kArray, u8_array)
      .Raw("test.strings", kArray, string_array)
      .Raw("test.nested", kArray, nested_array)
      .String("kiln.fingerprint", kFingerprint)
      .Tensor("bias", KILN_GGML_F32, {2}, FloatBytes({9.0f, 8.0f}))
      .Tensor("w", KILN_GGML_F32, {3, 2}, FloatBytes(kWeightValues));
  return writer;
}

/// Parses an exact-size heap copy of `bytes`, so that ASan sees any read past the end.
kiln_status_t Parse(const Bytes &bytes, kiln_gguf_t *file) {
  std::unique_ptr<uint8_t[]> copy(new uint8_t[bytes.size()]);
  if (!bytes.empty()) std::memcpy(copy.get(), bytes.data(), bytes.size());
  kiln_status_t status = kiln_gguf_parse("test.gguf", copy.get(), bytes.size(), file);
  kiln_gguf_close(file);  // the copy dies here: results are checked through the status only
  return status;
}

TEST(GgufParse, ValidFileRoundTrip) {
  Bytes bytes = ValidWriter().Build();
  kiln_gguf_t file;
  ASSERT_EQ(kiln_gguf_parse("test.gguf", bytes.data(), bytes.size(), &file), KILN_OK)
      << kiln_last_error();
  EXPECT_EQ(file.version, 3u);
  EXPECT_EQ(file.kv_count, 7u);
  EXPECT_EQ(file.alignment, 32u);
  EXPECT_EQ(file.data_offset % 32, 0u);
  ASSERT_EQ(file.tensor_count, 2u);
  const kiln_gguf_tensor_t *weight = kiln_gguf_find_tensor(&file, "w");
  ASSERT_NE(weight, nullptr);
  EXPECT_EQ(weight->n_dims, 2u);
  EXPECT_EQ(weight->ne[0], 3u);
  EXPECT_EQ(weight->ne[1], 2u);
  EXPECT_EQ(weight->byte_size, 24u);
  EXPECT_EQ(weight->offset, 32u);  // "bias" takes the first aligned slot
  EXPECT_EQ(std::memcmp(weight->data, kWeightValues.data(), 24), 0);
  EXPECT_EQ(kiln_gguf_find_tensor(&file, "nope"), nullptr);
  EXPECT_EQ(kiln_gguf_find_tensor(&file, "bia"), nullptr);

  const char *text;
  uint64_t length;
  ASSERT_TRUE(kiln_gguf_find_string(&file, "kiln.fingerprint", &text, &length));
  EXPECT_EQ(std::string(text, length), kFingerprint);
  ASSERT_TRUE(kiln_gguf_find_string(&file, "general.name", &text, &length));
  EXPECT_EQ(std::string(text, length), "test");
  EXPECT_FALSE(kiln_gguf_find_string(&file, "test.scale", &text, &length));  // not a string
  EXPECT_FALSE(kiln_gguf_find_string(&file, "absent", &text, &length));
  kiln_gguf_close(&file);
  kiln_gguf_close(nullptr);
}

// A moved offset that makes two tensors share bytes is refused, naming both.
TEST(GgufParse, RejectsOverlappingTensors) {
  Bytes data(64, 0x3f);
  Bytes bytes = GgufWriter()
                    .Tensor("first", KILN_GGML_F32, {16}, data)
                    .Tensor("second", KILN_GGML_F32, {16}, data)
                    .MoveTensor(1, 32)
                    .Build();
  kiln_gguf_t file;
  EXPECT_EQ(kiln_gguf_parse("overlap.gguf", bytes.data(), bytes.size(), &file), KILN_ERROR_FORMAT);
  EXPECT_NE(std::string(kiln_last_error()).find("tensors 'first' (data bytes 0..64) and 'second' (from 32) overlap"),
            std::string::npos)
      << kiln_last_error();
  // Side by side they are fine.
  Bytes apart = GgufWriter()
                    .Tensor("first", KILN_GGML_F32, {16}, data)
                    .Tensor("second", KILN_GGML_F32, {16}, data)
                    .MoveTensor(1, 64)
                    .Build();
  ASSERT_EQ(kiln_gguf_parse("apart.gguf", apart.data(), apart.size(), &file), KILN_OK)
      << kiln_last_error();
  kiln_gguf_close(&file);
}

TEST(GgufParse, HonoursAlignmentAndBlockTypes) {
  Bytes q8(2 * 34, 0x11);  // two Q8_0 blocks: a row of 64 elements
  Bytes bytes = GgufWriter()
                    .Alignment(64)
                    .String("kiln.fingerprint", kFingerprint)
                    .Tensor("i8", KILN_GGML_I8, {3}, Bytes{1, 2, 3})
                    .Tensor("q", KILN_GGML_Q8_0, {64, 1}, q8)
                    .Build();
  kiln_gguf_t file;
  ASSERT_EQ(kiln_gguf_parse("test.gguf", bytes.data(), bytes.size(), &file), KILN_OK)
      << kiln_last_error();
  EXPECT_EQ(file.alignment, 64u);
  EXPECT_EQ(file.data_offset % 64, 0u);
  const kiln_gguf_tensor_t *q = kiln_gguf_find_tensor(&file, "q");
  ASSERT_NE(q, nullptr);
  EXPECT_EQ(q->byte_size, 68u);
  EXPECT_EQ(q->offset, 64u);
  kiln_gguf_close(&file);

  uint32_t elements, block_bytes;
  ASSERT_TRUE(kiln_ggml_type_layout(KILN_GGML_Q4_1, &elements, &block_bytes));
  EXPECT_EQ(elements, 32u);
  EXPECT_EQ(block_bytes, 20u);
  EXPECT_FALSE(kiln_ggml_type_layout(12, &elements, &block_bytes));  // Q4_K: not supported
}

TEST(GgufParse, RejectsBadHeaders) {
  Bytes bytes = ValidWriter().Build();
  kiln_gguf_t file;
  Bytes bad_magic = bytes;
  bad_magic[0] = 'X';
  EXPECT_EQ(Parse(bad_magic, &file), KILN_ERROR_FORMAT);
  EXPECT_NE(std::string(kiln_last_error()).find("not a GGUF file"), std::string::npos);
  Bytes version2 = bytes;
  version2[4] = 2;
  EXPECT_EQ(Parse(version2, &file), KILN_ERROR_FORMAT);
  EXPECT_NE(std::string(kiln_last_error()).find("version 2"), std::string::npos)
      << kiln_last_error();
  EXPECT_EQ(kiln_gguf_parse("empty.gguf", nullptr, 0, &file), KILN_ERROR_FORMAT);
}

TEST(GgufParse, EveryTruncationIsAnError) {
  Bytes bytes = ValidWriter().Build();
  for (size_t length = 0; length < bytes.size(); length++) {
    Bytes prefix(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(length));
    kiln_gguf_t file;
    ASSERT_NE(Parse(prefix, &file), KILN_OK) << "prefix of " << length << " bytes parsed";
    EXPECT_NE(std::string(kiln_last_error()).find("test.gguf"), std::string::npos)
        << kiln_last_error();
  }
}

TEST(GgufParse, CorruptedByteNeverCrashes) {
  // Any byte set to 0xff or 0x00 must give a clean result, whichever it is.
  Bytes bytes = ValidWriter().Build();
  for (size_t i = 0; i < bytes.size(); i++) {
    for (uint8_t value : {uint8_t{0x00}, uint8_t{0xff}, uint8_t{0x80}}) {
      Bytes corrupt = bytes;
      corrupt[i] = value;
      kiln_gguf_t file;
      Parse(corrupt, &file);
    }
  }
}

/// The valid file with the little-endian field at `offset` replaced.
Bytes Patched(Bytes bytes, size_t offset, uint64_t value, int width) {
  for (int i = 0; i < width; i++) bytes[offset + i] = static_cast<uint8_t>(value >> (8 * i));
  return bytes;
}

void ExpectError(const Bytes &bytes, const std::string &fragment) {
  kiln_gguf_t file;
  EXPECT_EQ(Parse(bytes, &file), KILN_ERROR_FORMAT) << "expected: " << fragment;
  EXPECT_NE(std::string(kiln_last_error()).find(fragment), std::string::npos)
      << kiln_last_error();
}

TEST(GgufParse, RejectsCorruptedCountsAndLengths) {
  Bytes bytes = GgufWriter()
                    .String("kiln.fingerprint", kFingerprint)
                    .Tensor("w", KILN_GGML_F32, {3, 2}, FloatBytes(kWeightValues))
                    .Build();
  // Layout: header 24 bytes, key length at 24, key (16) at 32, type at 48, value length at 52,
  // value (7) at 60, tensor info at 67: name length, name, n_dims at 76, ne at 80 and 88,
  // type at 96, offset at 100.
  ExpectError(Patched(bytes, 8, UINT64_MAX, 8), "corrupted header");
  ExpectError(Patched(bytes, 16, uint64_t{1} << 40, 8), "corrupted header");
  ExpectError(Patched(bytes, 24, UINT64_MAX, 8), "truncated or corrupted at byte 32");
  ExpectError(Patched(bytes, 52, UINT64_MAX - 3, 8), "metadata 'kiln.fingerprint'");
  ExpectError(Patched(bytes, 48, 77, 4), "unknown value type 77");
  ExpectError(Patched(bytes, 67, uint64_t{1} << 62, 8), "name of tensor info 0");
  ExpectError(Patched(bytes, 76, 9, 4), "has 9 dimensions");
  ExpectError(Patched(bytes, 80, UINT64_MAX, 8), "dimension ne[0]");
  ExpectError(Patched(Patched(bytes, 80, uint64_t{1} << 62, 8), 88, uint64_t{1} << 62, 8),
              "element count overflows");
  ExpectError(Patched(bytes, 80, 4, 8), "beyond the end of the file");
  ExpectError(Patched(bytes, 96, 99, 4), "unknown GGML type 99");
  ExpectError(Patched(bytes, 96, KILN_GGML_Q8_0, 4), "not a multiple of the q8_0 block size");
  ExpectError(Patched(bytes, 100, 8, 8), "not a multiple of the alignment");
  ExpectError(Patched(bytes, 100, UINT64_MAX - 31, 8), "beyond the end of the file");
}

TEST(GgufParse, RejectsHostileArrays) {
  Bytes huge_array, deep_array, bad_element;
  AppendLe(huge_array, kString, 4);
  AppendLe(huge_array, uint64_t{1} << 61, 8);
  AppendLe(bad_element, 42, 4);
  AppendLe(bad_element, 1, 8);
  for (int depth = 0; depth < 6; depth++) {
    AppendLe(deep_array, kArray, 4);
    AppendLe(deep_array, 1, 8);
  }
  AppendLe(deep_array, kUint8, 4);
  AppendLe(deep_array, 0, 8);
  ExpectError(GgufWriter().Raw("a", kArray, huge_array).Build(), "does not fit");
  ExpectError(GgufWriter().Raw("a", kArray, deep_array).Build(), "array of unsupported type");
  ExpectError(GgufWriter().Raw("a", kArray, bad_element).Build(), "unsupported type 42");
  ExpectError(GgufWriter().Raw("general.alignment", kUint32, {3, 0, 0, 0}).Build(),
              "power of two");
  ExpectError(GgufWriter().Raw("general.alignment", kString, {}).Build(), "power of two");
}

// ---------------------------------------------------------------------------------------
// kiln_model_open: the file checked against a program.

/// x (f32 [2,3]) + w -> y, with the arena laid out by hand: x at 0, y at 64.
int AddWeight(const kiln_exec_t *exec) {
  const float *x = reinterpret_cast<const float *>(exec->arena);
  const float *w = reinterpret_cast<const float *>(exec->weights[0]);
  float *y = reinterpret_cast<float *>(exec->arena + 64);
  for (int i = 0; i < 6; i++) y[i] = x[i] + w[i];
  return 0;
}

int FailWith42(const kiln_exec_t *) { return 42; }

struct TestProgram {
  kiln_io_desc_t input = {"x", KILN_DTYPE_F32, 2, {2, 3}, 24, 0};
  kiln_io_desc_t output = {"y", KILN_DTYPE_F32, 2, {2, 3}, 24, 64};
  kiln_weight_desc_t weight = {"w", KILN_GGML_F32, 2, {2, 3}, 24};
  kiln_step_desc_t steps[2] = {{"k0_add", AddWeight}, {"k1_fail", FailWith42}};
  kiln_program_t program = {KILN_PROGRAM_ABI_VERSION, "test_model", kFingerprint, 100, 1, &input,
                            1, &output, 1, &weight, 1, steps, nullptr};
};

class ModelOpen : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "kiln_gguf_test_XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    directory_ = pattern;
  }
  void TearDown() override { std::filesystem::remove_all(directory_); }

  std::string Write(const Bytes &bytes, const std::string &name = "model.gguf") {
    std::string path = (directory_ / name).string();
    std::ofstream(path, std::ios::binary)
        .write(reinterpret_cast<const char *>(bytes.data()),
               static_cast<std::streamsize>(bytes.size()));
    return path;
  }

  /// Opens `bytes` with `program`, expecting `status` and a message containing `fragment`.
  void ExpectOpen(const kiln_program_t &program, const Bytes &bytes, kiln_status_t status,
                  const std::string &fragment) {
    std::string path = Write(bytes);
    kiln_model_t *model = reinterpret_cast<kiln_model_t *>(1);
    EXPECT_EQ(kiln_model_open(&program, path.c_str(), &model), status) << kiln_last_error();
    EXPECT_EQ(model, nullptr);
    EXPECT_NE(std::string(kiln_last_error()).find(fragment), std::string::npos)
        << "expected '" << fragment << "' in: " << kiln_last_error();
  }

  std::filesystem::path directory_;
};

TEST_F(ModelOpen, RunsAValidModel) {
  TestProgram test;
  std::string path = Write(ValidWriter().Build());
  kiln_model_t *model = nullptr;
  ASSERT_EQ(kiln_model_open(&test.program, path.c_str(), &model), KILN_OK) << kiln_last_error();
  EXPECT_EQ(kiln_model_program(model), &test.program);
  ASSERT_EQ(kiln_model_input_count(model), 1);
  ASSERT_EQ(kiln_model_output_count(model), 1);
  EXPECT_STREQ(kiln_model_input(model, 0)->name, "x");
  EXPECT_EQ(kiln_model_input(model, 1), nullptr);
  EXPECT_EQ(kiln_model_output(model, -1), nullptr);
  EXPECT_EQ(kiln_model_find_input(model, "x"), 0);
  EXPECT_EQ(kiln_model_find_input(model, "y"), -1);
  EXPECT_EQ(kiln_model_find_output(model, "y"), 0);
  auto *x = static_cast<float *>(kiln_model_input_data(model, 0));
  ASSERT_NE(x, nullptr);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(x) % 64, 0u);
  EXPECT_EQ(kiln_model_input_data(model, 1), nullptr);
  for (int i = 0; i < 6; i++) x[i] = static_cast<float>(i);
  ASSERT_EQ(kiln_model_run(model), KILN_OK) << kiln_last_error();
  auto *y = static_cast<const float *>(kiln_model_output_data(model, 0));
  for (int i = 0; i < 6; i++) EXPECT_EQ(y[i], static_cast<float>(i) + kWeightValues[i]);
  double step_ms[1] = {-1.0};
  ASSERT_EQ(kiln_model_run_profiled(model, step_ms), KILN_OK);
  EXPECT_GE(step_ms[0], 0.0);
  EXPECT_EQ(kiln_model_run_profiled(model, nullptr), KILN_ERROR_ARGUMENT);
  kiln_model_close(model);
  kiln_model_close(nullptr);
}

TEST_F(ModelOpen, FailingStepIsNamed) {
  TestProgram test;
  test.program.num_steps = 2;
  std::string path = Write(ValidWriter().Build());
  kiln_model_t *model = nullptr;
  ASSERT_EQ(kiln_model_open(&test.program, path.c_str(), &model), KILN_OK) << kiln_last_error();
  EXPECT_EQ(kiln_model_run(model), KILN_ERROR_KERNEL);
  EXPECT_NE(std::string(kiln_last_error()).find("step 1 of 2 ('k1_fail') failed with code 42"),
            std::string::npos)
      << kiln_last_error();
  double step_ms[2];
  EXPECT_EQ(kiln_model_run_profiled(model, step_ms), KILN_ERROR_KERNEL);
  kiln_model_close(model);
}

TEST_F(ModelOpen, RejectsMismatchedWeights) {
  TestProgram test;
  ExpectOpen(test.program,
             GgufWriter().String("kiln.fingerprint", kFingerprint)
                 .Tensor("v", KILN_GGML_F32, {3, 2}, FloatBytes(kWeightValues)).Build(),
             KILN_ERROR_MISMATCH, "tensor 'w' missing");
  ExpectOpen(test.program,
             GgufWriter().String("kiln.fingerprint", kFingerprint)
                 .Tensor("w", KILN_GGML_I32, {3, 2}, Bytes(24, 0)).Build(),
             KILN_ERROR_MISMATCH, "tensor 'w' has GGML type i32 (26), expected f32 (0)");
  ExpectOpen(test.program,
             GgufWriter().String("kiln.fingerprint", kFingerprint)
                 .Tensor("w", KILN_GGML_F32, {2, 3}, Bytes(24, 0)).Build(),
             KILN_ERROR_MISMATCH, "tensor 'w' has shape [3,2], expected [2,3]");
  ExpectOpen(test.program,
             GgufWriter().String("kiln.fingerprint", kFingerprint)
                 .Tensor("w", KILN_GGML_F32, {6}, Bytes(24, 0)).Build(),
             KILN_ERROR_MISMATCH, "has shape [6], expected [2,3]");
  TestProgram wrong_size;
  wrong_size.weight.byte_size = 28;
  ExpectOpen(wrong_size.program, ValidWriter().Build(), KILN_ERROR_MISMATCH,
             "tensor 'w' holds 24 bytes, expected 28");
}

TEST_F(ModelOpen, RejectsForeignWeightsFile) {
  TestProgram test;
  ExpectOpen(test.program,
             GgufWriter().String("kiln.fingerprint", "other")
                 .Tensor("w", KILN_GGML_F32, {3, 2}, FloatBytes(kWeightValues)).Build(),
             KILN_ERROR_MISMATCH, "does not belong to this executable: its kiln.fingerprint is "
                                  "'other', model 'test_model' expects 'fp-1234'");
  ExpectOpen(test.program,
             GgufWriter().U32("kiln.fingerprint", 7)
                 .Tensor("w", KILN_GGML_F32, {3, 2}, FloatBytes(kWeightValues)).Build(),
             KILN_ERROR_MISMATCH, "does not belong to this executable");
}

TEST_F(ModelOpen, ProgramWithoutWeightsStillNeedsAValidFile) {
  TestProgram test;
  test.program.num_weights = 0;
  test.program.num_steps = 0;
  kiln_model_t *model = nullptr;
  std::string missing = (directory_ / "absent.gguf").string();
  EXPECT_EQ(kiln_model_open(&test.program, missing.c_str(), &model), KILN_ERROR_IO);
  EXPECT_NE(std::string(kiln_last_error()).find("absent.gguf: cannot open"), std::string::npos)
      << kiln_last_error();
  ExpectOpen(test.program, Bytes{}, KILN_ERROR_FORMAT, "model.gguf");
  ExpectOpen(test.program, Bytes{'G', 'G', 'U', 'F', 3, 0}, KILN_ERROR_FORMAT, "truncated");
  std::string path = Write(GgufWriter().String("kiln.fingerprint", kFingerprint).Build());
  ASSERT_EQ(kiln_model_open(&test.program, path.c_str(), &model), KILN_OK) << kiln_last_error();
  EXPECT_EQ(kiln_model_run(model), KILN_OK);
  kiln_model_close(model);
}

TEST_F(ModelOpen, TruncatedFileOnDiskNamesTheFile) {
  TestProgram test;
  Bytes bytes = ValidWriter().Build();
  for (size_t length : {size_t{0}, size_t{3}, size_t{23}, bytes.size() / 2, bytes.size() - 1}) {
    ExpectOpen(test.program, Bytes(bytes.begin(), bytes.begin() + static_cast<long>(length)),
               KILN_ERROR_FORMAT, "model.gguf");
  }
}

TEST_F(ModelOpen, RejectsInconsistentPrograms) {
  TestProgram outside_arena;
  outside_arena.output.arena_offset = 80;  // 80 + 24 > 100
  ExpectOpen(outside_arena.program, ValidWriter().Build(), KILN_ERROR_ARGUMENT,
             "output 'y' is inconsistent");
  TestProgram wrong_bytes;
  wrong_bytes.input.byte_size = 20;
  ExpectOpen(wrong_bytes.program, ValidWriter().Build(), KILN_ERROR_ARGUMENT,
             "input 'x' is inconsistent");
  TestProgram no_kernel;
  no_kernel.steps[0].run = nullptr;
  ExpectOpen(no_kernel.program, ValidWriter().Build(), KILN_ERROR_ARGUMENT, "step 0");
  kiln_model_t *model = nullptr;
  EXPECT_EQ(kiln_model_open(nullptr, "x", &model), KILN_ERROR_ARGUMENT);
  EXPECT_STREQ(kiln_status_string(KILN_ERROR_MISMATCH), "KILN_ERROR_MISMATCH");
}

/// y = x - w (the else branch of BranchProgram).
int SubtractWeight(const kiln_exec_t *exec) {
  const float *x = reinterpret_cast<const float *>(exec->arena);
  const float *w = reinterpret_cast<const float *>(exec->weights[0]);
  float *y = reinterpret_cast<float *>(exec->arena + 64);
  for (int i = 0; i < 6; i++) y[i] = x[i] - w[i];
  return 0;
}

/// The branch condition: the bool at arena byte 96.
int TestByte96(const kiln_exec_t *exec, int32_t *out_true) {
  *out_true = exec->arena[96] != 0;
  return 0;
}

/// A run-time If as the glue lays it out: branch to the else steps unless the condition
/// holds, the then step, a jump over the else step, the else step.
struct BranchProgram : TestProgram {
  BranchProgram() {
    program.num_steps = 4;
    program.steps = branch_steps;
  }
  kiln_step_desc_t branch_steps[4] = {
      {"if0:else", nullptr, KILN_STEP_BRANCH_UNLESS, 3, TestByte96},
      {"k0_add", AddWeight, KILN_STEP_KERNEL, 0, nullptr},
      {"if0:end", nullptr, KILN_STEP_JUMP, 4, nullptr},
      {"k1_subtract", SubtractWeight, KILN_STEP_KERNEL, 0, nullptr},
  };
};

TEST_F(ModelOpen, BranchesOnTheCondition) {
  BranchProgram test;
  std::string path = Write(ValidWriter().Build());
  kiln_model_t *model = nullptr;
  ASSERT_EQ(kiln_model_open(&test.program, path.c_str(), &model), KILN_OK) << kiln_last_error();
  auto *x = static_cast<float *>(kiln_model_input_data(model, 0));
  auto *condition = reinterpret_cast<uint8_t *>(x) + 96;  // the test's layout
  for (int i = 0; i < 6; i++) x[i] = static_cast<float>(i);
  for (uint8_t taken : {1, 0, 1}) {
    *condition = taken;
    double step_ms[4] = {-1, -1, -1, -1};
    ASSERT_EQ(kiln_model_run_profiled(model, step_ms), KILN_OK) << kiln_last_error();
    auto *y = static_cast<const float *>(kiln_model_output_data(model, 0));
    for (int i = 0; i < 6; i++)
      EXPECT_EQ(y[i], static_cast<float>(i) + (taken ? kWeightValues[i] : -kWeightValues[i]));
    // A step that did not run took no time (the else path skips the jump too).
    EXPECT_EQ(step_ms[taken ? 3 : 1], 0.0);
    if (!taken) {
      EXPECT_EQ(step_ms[2], 0.0);
    }
  }
  kiln_model_close(model);
}

TEST_F(ModelOpen, RejectsBranchesThatCouldLoopOrLeave) {
  BranchProgram backward;
  backward.branch_steps[2].target = 0;  // a jump back could run forever
  ExpectOpen(backward.program, ValidWriter().Build(), KILN_ERROR_ARGUMENT, "step 2");
  BranchProgram self;
  self.branch_steps[0].target = 0;
  ExpectOpen(self.program, ValidWriter().Build(), KILN_ERROR_ARGUMENT, "step 0");
  BranchProgram past_end;
  past_end.branch_steps[0].target = 5;
  ExpectOpen(past_end.program, ValidWriter().Build(), KILN_ERROR_ARGUMENT, "step 0");
  BranchProgram no_test;
  no_test.branch_steps[0].test = nullptr;
  ExpectOpen(no_test.program, ValidWriter().Build(), KILN_ERROR_ARGUMENT, "step 0");
  BranchProgram unknown_kind;
  unknown_kind.branch_steps[1].kind = 7;
  ExpectOpen(unknown_kind.program, ValidWriter().Build(), KILN_ERROR_ARGUMENT, "step 1");
}

/// y += w while the iteration count at arena byte 96 stays under 3 (a loop's step back).
int AccumulateWeight(const kiln_exec_t *exec) {
  const float *w = reinterpret_cast<const float *>(exec->weights[0]);
  float *y = reinterpret_cast<float *>(exec->arena + 64);
  for (int i = 0; i < 6; i++) y[i] += w[i];
  return 0;
}
int ZeroOutput(const kiln_exec_t *exec) {
  for (int i = 0; i < 6; i++) reinterpret_cast<float *>(exec->arena + 64)[i] = 0;
  exec->arena[96] = 0;
  return 0;
}
int CountToThree(const kiln_exec_t *exec, int32_t *out_true) {
  *out_true = ++exec->arena[96] < 3;
  return 0;
}
int RunsPastItsLimit(const kiln_exec_t *, int32_t *) { return KILN_LOOP_LIMIT_EXCEEDED; }

struct LoopProgram : TestProgram {
  LoopProgram() {
    program.num_steps = 3;
    program.steps = loop_steps;
  }
  kiln_step_desc_t loop_steps[3] = {
      {"k0_zero", ZeroOutput, KILN_STEP_KERNEL, 0, nullptr},
      {"k1_accumulate", AccumulateWeight, KILN_STEP_KERNEL, 0, nullptr},
      {"loop0:next", nullptr, KILN_STEP_LOOP_BACK, 1, CountToThree},
  };
};

TEST_F(ModelOpen, LoopsBackWhileItsTestHolds) {
  LoopProgram test;
  std::string path = Write(ValidWriter().Build());
  kiln_model_t *model = nullptr;
  ASSERT_EQ(kiln_model_open(&test.program, path.c_str(), &model), KILN_OK) << kiln_last_error();
  double step_ms[3];
  ASSERT_EQ(kiln_model_run_profiled(model, step_ms), KILN_OK) << kiln_last_error();
  auto *y = static_cast<const float *>(kiln_model_output_data(model, 0));
  for (int i = 0; i < 6; i++) EXPECT_EQ(y[i], 3 * kWeightValues[i]);  // three iterations
  test.loop_steps[2].test = RunsPastItsLimit;
  EXPECT_EQ(kiln_model_run(model), KILN_ERROR_KERNEL);
  EXPECT_NE(std::string(kiln_last_error()).find("'loop0:next'): the loop runs past its iteration "
                                                "limit"),
            std::string::npos)
      << kiln_last_error();
  kiln_model_close(model);
  LoopProgram forward;
  forward.loop_steps[2].target = 3;  // a loop's step back must point back
  ExpectOpen(forward.program, ValidWriter().Build(), KILN_ERROR_ARGUMENT, "step 2");
  LoopProgram no_test;
  no_test.loop_steps[2].test = nullptr;
  ExpectOpen(no_test.program, ValidWriter().Build(), KILN_ERROR_ARGUMENT, "step 2");
}

TEST(Dtype, SizesAndNames) {
  EXPECT_EQ(kiln_dtype_size(KILN_DTYPE_F32), 4u);
  EXPECT_EQ(kiln_dtype_size(KILN_DTYPE_F16), 2u);
  EXPECT_EQ(kiln_dtype_size(KILN_DTYPE_U64), 8u);
  EXPECT_EQ(kiln_dtype_size(KILN_DTYPE_BOOL), 1u);
  EXPECT_EQ(kiln_dtype_size(static_cast<kiln_dtype_t>(99)), 0u);
  EXPECT_STREQ(kiln_dtype_name(KILN_DTYPE_F32), "float32");
  EXPECT_STREQ(kiln_dtype_name(KILN_DTYPE_BOOL), "bool");
  EXPECT_STREQ(kiln_dtype_name(static_cast<kiln_dtype_t>(-1)), "unknown");
}

}  // namespace
