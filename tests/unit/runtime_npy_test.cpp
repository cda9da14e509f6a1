// runtime_npy_test.cpp - tests of the .npy reader and writer used by kiln executables.
//
// Round trips cover every dtype and the ranks 0 to 4; the expected header bytes were taken
// from numpy 1.24's np.save; hand-written headers cover what other writers produce
// (versions 2.0/3.0, other key orders, spacing) and every malformed case the reader rejects.

#include <gtest/gtest.h>
#include <stdlib.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "kiln/npy.h"

namespace {

class Npy : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (std::filesystem::temp_directory_path() / "kiln_npy_test_XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    directory_ = pattern;
  }
  void TearDown() override { std::filesystem::remove_all(directory_); }

  std::string Path(const std::string &name) const { return (directory_ / name).string(); }

  std::string ReadAll(const std::string &path) const {
    std::ifstream stream(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(stream), {});
  }

  /// Writes a .npy of `major` version with header dict `dict` (padded like numpy) and data.
  std::string WriteRaw(const std::string &dict, const std::string &data, int major = 1,
                       const std::string &name = "raw.npy") {
    std::string header = dict;
    size_t prefix = major == 1 ? 10 : 12;
    while ((prefix + header.size() + 1) % 64 != 0) header += ' ';
    header += '\n';
    std::string bytes = std::string("\x93NUMPY", 6) + static_cast<char>(major) + '\0';
    for (size_t i = 0; i < prefix - 8; i++) bytes += static_cast<char>(header.size() >> (8 * i));
    bytes += header + data;
    std::string path = Path(name);
    std::ofstream(path, std::ios::binary) << bytes;
    return path;
  }

  /// Reads `path` expecting failure with `fragment` in the message.
  void ExpectReadError(const std::string &path, const std::string &fragment,
                       kiln_status_t status = KILN_ERROR_FORMAT) {
    kiln_npy_array_t array;
    EXPECT_EQ(kiln_npy_read(path.c_str(), &array), status) << "expected: " << fragment;
    EXPECT_EQ(array.data, nullptr);
    EXPECT_NE(std::string(kiln_last_error()).find(fragment), std::string::npos)
        << "expected '" << fragment << "' in: " << kiln_last_error();
  }

  std::filesystem::path directory_;
};

TEST_F(Npy, RoundTripsEveryDtypeAndRank) {
  const kiln_dtype_t dtypes[] = {KILN_DTYPE_F32, KILN_DTYPE_F16, KILN_DTYPE_F64, KILN_DTYPE_I8,
                                 KILN_DTYPE_I16, KILN_DTYPE_I32, KILN_DTYPE_I64, KILN_DTYPE_U8,
                                 KILN_DTYPE_U16, KILN_DTYPE_U32, KILN_DTYPE_U64, KILN_DTYPE_BOOL};
  const std::vector<std::vector<int64_t>> shapes = {{}, {5}, {2, 3}, {1, 3, 0}, {2, 1, 3, 4}};
  for (kiln_dtype_t dtype : dtypes) {
    for (const std::vector<int64_t> &shape : shapes) {
      size_t count = 1;
      for (int64_t dim : shape) count *= static_cast<size_t>(dim);
      std::vector<uint8_t> data(count * kiln_dtype_size(dtype));
      for (size_t i = 0; i < data.size(); i++) data[i] = static_cast<uint8_t>(i * 7 + 1);
      std::string path = Path("a.npy");
      ASSERT_EQ(kiln_npy_write(path.c_str(), dtype, static_cast<int32_t>(shape.size()),
                               shape.data(), data.data()),
                KILN_OK)
          << kiln_last_error();
      EXPECT_EQ(ReadAll(path).size() % 64, data.size() % 64);  // header is a multiple of 64
      kiln_npy_array_t array;
      ASSERT_EQ(kiln_npy_read(path.c_str(), &array), KILN_OK) << kiln_last_error();
      EXPECT_EQ(array.dtype, dtype);
      ASSERT_EQ(array.rank, static_cast<int32_t>(shape.size()));
      for (size_t d = 0; d < shape.size(); d++) EXPECT_EQ(array.dims[d], shape[d]);
      ASSERT_EQ(array.byte_size, data.size());
      if (!data.empty()) {
        EXPECT_EQ(std::memcmp(array.data, data.data(), data.size()), 0);
      }
      kiln_npy_free(&array);
      EXPECT_EQ(array.data, nullptr);
    }
  }
  kiln_npy_free(nullptr);
  EXPECT_FALSE(std::filesystem::exists(Path("a.npy.tmp")));
}

TEST_F(Npy, WritesNumpysExactHeader) {
  // np.save(np.zeros((2, 3), np.float32)) and np.save(np.zeros((5,), np.int64)), numpy 1.24.
  const float values[6] = {0, 1, 2, 3, 4, 5};
  const int64_t shape_2x3[2] = {2, 3};
  std::string path = Path("h.npy");
  ASSERT_EQ(kiln_npy_write(path.c_str(), KILN_DTYPE_F32, 2, shape_2x3, values), KILN_OK);
  std::string expected = std::string("\x93NUMPY\x01\x00\x76\x00", 10) +
                         "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }" +
                         std::string(58, ' ') + "\n" +
                         std::string(reinterpret_cast<const char *>(values), sizeof values);
  EXPECT_EQ(ReadAll(path), expected);
  const int64_t shape_5[1] = {5};
  const int64_t longs[5] = {};
  ASSERT_EQ(kiln_npy_write(path.c_str(), KILN_DTYPE_I64, 1, shape_5, longs), KILN_OK);
  EXPECT_EQ(ReadAll(path).substr(0, 128),
            std::string("\x93NUMPY\x01\x00\x76\x00", 10) +
                "{'descr': '<i8', 'fortran_order': False, 'shape': (5,), }" + std::string(60, ' ') +
                "\n");
  EXPECT_EQ(ReadAll(path).size(), 128u + sizeof longs);
}

TEST_F(Npy, ReadsOtherWritersHeaders) {
  std::string four_floats(16, '\0');
  struct Case {
    std::string dict;
    int major;
    kiln_dtype_t dtype;
    int32_t rank;
  } cases[] = {
      {"{'shape': (2, 2), 'fortran_order': False, 'descr': '<f4'}", 1, KILN_DTYPE_F32, 2},
      {"{ \"descr\" : \"<i4\" , \"fortran_order\":False,\"shape\":( 4 , ) , }", 2, KILN_DTYPE_I32, 1},
      {"{'descr': '|u1', 'fortran_order': False, 'shape': (16,), }", 3, KILN_DTYPE_U8, 1},
      {"{'descr': '<i1', 'fortran_order': False, 'shape': (4, 4), }", 1, KILN_DTYPE_I8, 2},
      {"{'descr': '<u1', 'fortran_order': False, 'shape': (2,8), }", 1, KILN_DTYPE_U8, 2},
      {"{'descr': '?', 'fortran_order': False, 'shape': (16,), }", 1, KILN_DTYPE_BOOL, 1},
      {"{'descr': '|b1', 'fortran_order': False, 'shape': (1, 16), }", 1, KILN_DTYPE_BOOL, 2},
      {"{'descr': '<f8', 'fortran_order': False, 'shape': (2L,), }", 1, KILN_DTYPE_F64, 1},
      {"{'descr': '=u2', 'fortran_order': False, 'shape': (8,), }", 1, KILN_DTYPE_U16, 1},
  };
  for (const Case &c : cases) {
    std::string path = WriteRaw(c.dict, four_floats, c.major);
    kiln_npy_array_t array;
    ASSERT_EQ(kiln_npy_read(path.c_str(), &array), KILN_OK) << c.dict << ": " << kiln_last_error();
    EXPECT_EQ(array.dtype, c.dtype) << c.dict;
    EXPECT_EQ(array.rank, c.rank) << c.dict;
    EXPECT_EQ(array.byte_size, 16u);
    kiln_npy_free(&array);
  }
}

TEST_F(Npy, RejectsMalformedFiles) {
  std::string four(4, '\0');
  const std::string good = "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }";
  ExpectReadError(Path("absent.npy"), "absent.npy: cannot open", KILN_ERROR_IO);
  std::ofstream(Path("text.npy")) << "hello, world";
  ExpectReadError(Path("text.npy"), "text.npy: not a .npy file");
  std::ofstream(Path("short.npy"), std::ios::binary) << std::string("\x93NUMPY\x01", 7);
  ExpectReadError(Path("short.npy"), "not a .npy file");
  ExpectReadError(WriteRaw(good, four, 4), "format version 4.0");
  ExpectReadError(WriteRaw(good, ""), "need 4 bytes of data, the file has 0");
  ExpectReadError(WriteRaw(good, four + four), "need 4 bytes of data, the file has 8");
  ExpectReadError(WriteRaw("{'descr': '<f4', 'fortran_order': True, 'shape': (1,), }", four),
                  "fortran_order is True");
  ExpectReadError(WriteRaw("{'descr': '>f4', 'fortran_order': False, 'shape': (1,), }", four),
                  "'>f4' is not little endian");
  ExpectReadError(WriteRaw("{'descr': '<c8', 'fortran_order': False, 'shape': (1,), }", four),
                  "unsupported dtype '<c8'");
  ExpectReadError(WriteRaw("{'descr': '|f4', 'fortran_order': False, 'shape': (1,), }", four),
                  "unsupported dtype");
  ExpectReadError(WriteRaw("{'descr': '<f4', 'fortran_order': False, 'shape': (-1,), }", four),
                  "malformed header");
  ExpectReadError(WriteRaw("{'descr': '<f4', 'fortran_order': False, 'shape': (1,1,1,1,1,1,1,1,1)}",
                           four),
                  "malformed header");
  ExpectReadError(WriteRaw("{'descr': '<f4', 'shape': (1,), }", four), "malformed header");
  ExpectReadError(WriteRaw("{'descr': '<f4', 'fortran_order': False, 'shape': (1,), 'x': 1}",
                           four),
                  "unexpected header key 'x'");
  ExpectReadError(WriteRaw("{'descr': '<f4' 'fortran_order': False, 'shape': (1,)}", four),
                  "malformed header");
  ExpectReadError(WriteRaw("{'descr': '<f4', 'fortran_order': False, 'shape': (1,)} x", four),
                  "malformed header");
  ExpectReadError(WriteRaw("['descr', '<f4']", four), "malformed header");
  ExpectReadError(WriteRaw("{'descr': '<f4, 'fortran_order': False, 'shape': (1,)}", four),
                  "malformed header");
  ExpectReadError(
      WriteRaw("{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,)}", four),
      "malformed header");
  ExpectReadError(
      WriteRaw("{'descr': '<f8', 'fortran_order': False, 'shape': (4611686018427387904, 4)}",
               four),
      "shape overflows");
  // A header length that points past the end of the file.
  std::ofstream(Path("long.npy"), std::ios::binary)
      << std::string("\x93NUMPY\x02\x00\xff\xff\xff\x7f{}", 14);
  ExpectReadError(Path("long.npy"), "does not fit in the file");
}

TEST_F(Npy, TruncationsAreErrors) {
  std::string path = WriteRaw("{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }",
                              std::string(12, '\x01'));
  std::string bytes = ReadAll(path);
  for (size_t length = 0; length < bytes.size(); length++) {
    std::ofstream(Path("cut.npy"), std::ios::binary) << bytes.substr(0, length);
    kiln_npy_array_t array;
    EXPECT_NE(kiln_npy_read(Path("cut.npy").c_str(), &array), KILN_OK) << length;
  }
}

TEST_F(Npy, FailedWriteLeavesNoFile) {
  const float value = 1.0f;
  std::string path = Path("missing_dir/out.npy");
  EXPECT_EQ(kiln_npy_write(path.c_str(), KILN_DTYPE_F32, 0, nullptr, &value), KILN_ERROR_IO);
  EXPECT_NE(std::string(kiln_last_error()).find("out.npy.tmp"), std::string::npos)
      << kiln_last_error();
  EXPECT_FALSE(std::filesystem::exists(path));
  const int64_t negative[1] = {-2};
  EXPECT_EQ(kiln_npy_write(Path("n.npy").c_str(), KILN_DTYPE_F32, 1, negative, &value),
            KILN_ERROR_ARGUMENT);
  EXPECT_EQ(kiln_npy_write(Path("n.npy").c_str(), static_cast<kiln_dtype_t>(42), 0, nullptr,
                           &value),
            KILN_ERROR_ARGUMENT);
  EXPECT_FALSE(std::filesystem::exists(Path("n.npy")));
  // Replacing an existing file goes through the temporary too.
  ASSERT_EQ(kiln_npy_write(Path("r.npy").c_str(), KILN_DTYPE_F32, 0, nullptr, &value), KILN_OK);
  ASSERT_EQ(kiln_npy_write(Path("r.npy").c_str(), KILN_DTYPE_F32, 0, nullptr, &value), KILN_OK);
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(directory_), {}), 1);
}

}  // namespace
