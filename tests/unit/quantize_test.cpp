// quantize_test.cpp - tests of kiln's GGML block quantizers, binary16 helpers and int8 mode.
//
// The bit-exact tests compare compiler/quantize/GgmlQuants.cpp with vectors from
// quantize_vectors.inc, which tests/unit/quantize_vectors.py generates from an independent
// numpy model of ggml's reference quantizers (ggml-quants.c / gguf-py quants.py); each vector
// is one named case in one format and checks both the quantized bytes and the dequantized
// float bits. The remaining tests check what no fixed vector can: argument errors, the
// binary16 conversions against x86 F16C hardware when the CPU has it, what the zero padding
// of a short row reads back as, and round-trip error bounds on random data.

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <ostream>
#include <random>
#include <string>
#include <vector>

#include "compiler/quantize/GgmlQuants.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <cpuid.h>
#include <immintrin.h>
#define KILN_TEST_HAS_F16C_CHECK 1
#endif

namespace {

using kiln::GgmlQuantFormat;
using kiln::GgmlRounding;

/// One expected result from quantize_vectors.py: `input` holds rows x rowLength floats as bit
/// patterns; when rowLength is not a multiple of 32 the rows are padded with padRowsToBlock
/// before quantizing, and `dequantized` covers the padded rows.
struct QuantVector {
  const char *name;
  GgmlQuantFormat format;
  GgmlRounding rounding;
  int64_t rows;
  int64_t rowLength;
  const std::vector<uint32_t> *input;
  std::vector<uint8_t> quantized;
  std::vector<uint32_t> dequantized;
};

/// A binary32 bit pattern and the binary16 bits numpy rounds it to.
struct Fp16Vector {
  uint32_t f32;
  uint16_t f16;
};

#include "quantize_vectors.inc"

// Failures name the vector instead of dumping its bytes.
void PrintTo(const QuantVector &v, std::ostream *os) { *os << v.name; }

constexpr GgmlQuantFormat kAllFormats[] = {GgmlQuantFormat::Q8_0, GgmlQuantFormat::Q4_0,
                                           GgmlQuantFormat::Q4_1, GgmlQuantFormat::Q5_0,
                                           GgmlQuantFormat::Q5_1};

uint32_t BitsOf(float value) {
  uint32_t bits;
  std::memcpy(&bits, &value, sizeof(bits));
  return bits;
}

float FloatOf(uint32_t bits) {
  float value;
  std::memcpy(&value, &bits, sizeof(value));
  return value;
}

std::vector<float> Floats(const std::vector<uint32_t> &bits) {
  std::vector<float> out;
  for (uint32_t b : bits)
    out.push_back(FloatOf(b));
  return out;
}

std::vector<uint8_t> Quantize(GgmlQuantFormat format, const std::vector<float> &data,
                              int64_t rows, GgmlRounding rounding = GgmlRounding::Separate) {
  std::vector<uint8_t> out;
  std::string error;
  EXPECT_TRUE(kiln::quantizeRows(format, data.data(), rows,
                                 static_cast<int64_t>(data.size()) / rows, out, error,
                                 rounding))
      << error;
  return out;
}

std::vector<float> Dequantize(GgmlQuantFormat format, const std::vector<uint8_t> &bytes,
                              int64_t rows, int64_t rowLength) {
  std::vector<float> out;
  std::string error;
  EXPECT_TRUE(
      kiln::dequantizeRows(format, bytes.data(), bytes.size(), rows, rowLength, out, error))
      << error;
  return out;
}

/// `rows` x `length` normally distributed values (Box-Muller on mt19937, so the data is the
/// same on every standard library).
std::vector<float> RandomNormal(uint32_t seed, int64_t count, float sigma) {
  std::mt19937 engine(seed);
  std::vector<float> out;
  while (static_cast<int64_t>(out.size()) < count) {
    double u1 = (engine() + 1.0) / 4294967297.0;
    double u2 = engine() / 4294967296.0;
    out.push_back(static_cast<float>(sigma * std::sqrt(-2.0 * std::log(u1)) *
                                     std::cos(6.283185307179586 * u2)));
  }
  return out;
}

//===----------------------------------------------------------------------===//
// Bit-exact vectors from quantize_vectors.py
//===----------------------------------------------------------------------===//

class GgmlVectorTest : public ::testing::TestWithParam<QuantVector> {};

TEST_P(GgmlVectorTest, QuantizesAndDequantizesBitExactly) {
  const QuantVector &v = GetParam();
  std::vector<float> input = Floats(*v.input);
  ASSERT_EQ(static_cast<int64_t>(input.size()), v.rows * v.rowLength);
  const int64_t paddedLength = kiln::paddedRowLength(v.rowLength);
  if (paddedLength != v.rowLength)
    input = kiln::padRowsToBlock(input.data(), v.rows, v.rowLength);

  std::vector<uint8_t> bytes = Quantize(v.format, input, v.rows, v.rounding);
  ASSERT_EQ(bytes.size(), v.quantized.size());
  for (size_t i = 0; i < bytes.size(); ++i)
    ASSERT_EQ(bytes[i], v.quantized[i])
        << "byte " << i << " (block " << i / kiln::ggmlBlockBytes(v.format) << ", offset "
        << i % kiln::ggmlBlockBytes(v.format) << ")";

  // Decode the expected bytes, so a quantizer bug cannot hide a dequantizer bug.
  std::vector<float> values = Dequantize(v.format, v.quantized, v.rows, paddedLength);
  ASSERT_EQ(values.size(), v.dequantized.size());
  for (size_t i = 0; i < values.size(); ++i)
    ASSERT_EQ(BitsOf(values[i]), v.dequantized[i]) << "value " << i << " = " << values[i];
}

std::string VectorName(const ::testing::TestParamInfo<QuantVector> &info) {
  std::string name = info.param.name;
  for (char &c : name)
    if (!std::isalnum(static_cast<unsigned char>(c)))
      c = '_';
  return name;
}

INSTANTIATE_TEST_SUITE_P(Reference, GgmlVectorTest, ::testing::ValuesIn(kQuantVectors),
                         VectorName);

const QuantVector *FindVector(const std::string &name) {
  for (const QuantVector &v : kQuantVectors)
    if (name == v.name)
      return &v;
  return nullptr;
}

// The fma_sensitive_<format> inputs were searched for so that fused and separate rounding
// disagree in that format; if they ever agree, the vectors no longer test the choice.
TEST(GgmlRounding, FmaSensitiveVectorsTellTheRoundingsApart) {
  for (const char *format : {"q4_0", "q4_1", "q5_0", "q5_1"}) {
    std::string base = std::string("fma_sensitive_") + format + "_" + format;
    const QuantVector *separate = FindVector(base);
    const QuantVector *fused = FindVector(base + "_fused");
    ASSERT_NE(separate, nullptr) << base;
    ASSERT_NE(fused, nullptr) << base;
    EXPECT_NE(separate->quantized, fused->quantized) << base;
  }
}

TEST(GgmlRounding, Q8_0IgnoresTheRounding) {
  std::vector<float> data = RandomNormal(11, 256, 1.0f);
  EXPECT_EQ(Quantize(GgmlQuantFormat::Q8_0, data, 2, GgmlRounding::Separate),
            Quantize(GgmlQuantFormat::Q8_0, data, 2, GgmlRounding::Fused));
}

//===----------------------------------------------------------------------===//
// Formats and argument errors
//===----------------------------------------------------------------------===//

TEST(GgmlFormat, TypeIdsSizesAndNames) {
  struct Expected {
    GgmlQuantFormat format;
    uint32_t typeId;
    int64_t blockBytes;
    const char *name;
  };
  for (const Expected &e : {Expected{GgmlQuantFormat::Q8_0, 8, 34, "q8_0"},
                            Expected{GgmlQuantFormat::Q4_0, 2, 18, "q4_0"},
                            Expected{GgmlQuantFormat::Q4_1, 3, 20, "q4_1"},
                            Expected{GgmlQuantFormat::Q5_0, 6, 22, "q5_0"},
                            Expected{GgmlQuantFormat::Q5_1, 7, 24, "q5_1"}}) {
    EXPECT_EQ(kiln::ggmlTypeId(e.format), e.typeId);
    EXPECT_EQ(kiln::ggmlBlockBytes(e.format), e.blockBytes);
    EXPECT_STREQ(kiln::ggmlQuantFormatName(e.format), e.name);
    EXPECT_EQ(kiln::ggmlQuantizedRowBytes(e.format, 96), 3 * e.blockBytes);
    GgmlQuantFormat parsed = GgmlQuantFormat::Q8_0;
    EXPECT_TRUE(kiln::parseGgmlQuantFormat(e.name, parsed));
    EXPECT_EQ(parsed, e.format);
  }
  GgmlQuantFormat unused;
  EXPECT_FALSE(kiln::parseGgmlQuantFormat("Q4_0", unused));
  EXPECT_FALSE(kiln::parseGgmlQuantFormat("q4_k", unused));
  EXPECT_EQ(kiln::kGgmlBlockLength, 32);
}

/// Quantized rows of random data (`rows` x `rowLength`) in `format`.
std::vector<uint8_t> randomQuantizedRows(GgmlQuantFormat format, int64_t rows,
                                         int64_t rowLength, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.5f);
  std::vector<float> data(size_t(rows * rowLength));
  for (float &x : data)
    x = normal(rng);
  std::vector<uint8_t> packed;
  std::string error;
  EXPECT_TRUE(kiln::quantizeRows(format, data.data(), rows, rowLength, packed, error)) << error;
  return packed;
}

// The interleaved twins hold GGML's bytes at the positions docs/formats.md gives, and
// decoding them by that description gives dequantizeRows' values.
TEST(Interleaved, BytesSitWhereTheLayoutSays) {
  for (GgmlQuantFormat format :
       {GgmlQuantFormat::Q8_0, GgmlQuantFormat::Q4_0, GgmlQuantFormat::Q4_1,
        GgmlQuantFormat::Q5_0, GgmlQuantFormat::Q5_1}) {
    const int64_t rows = 48, rowLength = 96, blocks = 3;
    const int64_t blockBytes = kiln::ggmlBlockBytes(format);
    std::vector<uint8_t> plain = randomQuantizedRows(format, rows, rowLength, 11);
    std::vector<uint8_t> interleaved, back;
    std::string error;
    ASSERT_TRUE(kiln::interleaveRows(format, plain.data(), plain.size(), rows, rowLength,
                                     interleaved, error)) << error;
    ASSERT_EQ(interleaved.size(), plain.size());
    std::vector<float> expected;
    ASSERT_TRUE(kiln::dequantizeRows(format, plain.data(), plain.size(), rows, rowLength,
                                     expected, error)) << error;
    for (int64_t row = 0; row < rows; ++row) {
      int64_t group = row / 16, lane = row % 16;
      for (int64_t b = 0; b < blocks; ++b) {
        const uint8_t *block = interleaved.data() + (group * blocks + b) * 16 * blockBytes;
        auto half = [&](int s) {
          return kiln::fp16ToFp32(uint16_t(block[32 * s + 2 * lane] | block[32 * s + 2 * lane + 1] << 8));
        };
        float d = half(0);
        bool withMin = format == GgmlQuantFormat::Q4_1 || format == GgmlQuantFormat::Q5_1;
        bool fiveBit = format == GgmlQuantFormat::Q5_0 || format == GgmlQuantFormat::Q5_1;
        int highBits = withMin ? 64 : 32, quants = highBits + (fiveBit ? 64 : 0);
        for (int64_t j = 0; j < 32; ++j) {
          float value;
          if (format == GgmlQuantFormat::Q8_0) {
            int u = block[32 + 64 * (j / 4) + 4 * lane + j % 4];
            value = d * float(u - 128);
          } else {
            int e = int(j % 16);
            int byte = block[quants + 64 * (e / 4) + 4 * lane + e % 4];
            int q = j < 16 ? byte & 15 : byte >> 4;
            if (fiveBit)
              q |= (block[highBits + 4 * lane + j / 8] >> (j % 8) & 1) << 4;
            int offset = withMin ? 0 : fiveBit ? 16 : 8;
            value = d * float(q - offset) + (withMin ? half(1) : 0.0f);
          }
          ASSERT_EQ(value, expected[size_t(row * rowLength + b * 32 + j)])
              << kiln::interleavedFormatName(format) << " row " << row << " block " << b
              << " element " << j;
        }
      }
    }
    ASSERT_TRUE(kiln::deinterleaveRows(format, interleaved.data(), interleaved.size(), rows,
                                       rowLength, back, error)) << error;
    EXPECT_EQ(back, plain);
    EXPECT_EQ(kiln::interleavedTypeId(format), 1024 + kiln::ggmlTypeId(format));
  }
  EXPECT_EQ(kiln::interleavedFormatName(GgmlQuantFormat::Q8_0), "q8_0x16");
}

TEST(Interleaved, RejectsWhatItCannotArrange) {
  std::vector<uint8_t> plain = randomQuantizedRows(GgmlQuantFormat::Q8_0, 8, 32, 3), out;
  std::string error;
  EXPECT_FALSE(kiln::interleaveRows(GgmlQuantFormat::Q8_0, plain.data(), plain.size(), 8, 32,
                                    out, error));
  EXPECT_NE(error.find("8 rows are not a multiple of 16"), std::string::npos) << error;
  plain = randomQuantizedRows(GgmlQuantFormat::Q8_0, 16, 32, 3);
  EXPECT_FALSE(kiln::interleaveRows(GgmlQuantFormat::Q8_0, plain.data(), plain.size() - 1, 16,
                                    32, out, error));
  EXPECT_NE(error.find("bytes where 16 rows of 32 values take 544"), std::string::npos) << error;
  EXPECT_TRUE(out.empty());
}

TEST(GgmlErrors, RowLengthMustBeAMultipleOf32) {
  std::vector<float> data(45, 1.0f);
  std::vector<uint8_t> out = {1, 2, 3};
  std::string error;
  EXPECT_FALSE(kiln::quantizeRows(GgmlQuantFormat::Q4_0, data.data(), 1, 45, out, error));
  EXPECT_TRUE(out.empty());
  EXPECT_NE(error.find("45"), std::string::npos) << error;
  EXPECT_NE(error.find("padRowsToBlock"), std::string::npos) << error;
}

TEST(GgmlErrors, NonFiniteInputIsRejectedWithItsPosition) {
  for (float bad : {std::nanf(""), INFINITY, -INFINITY}) {
    std::vector<float> data(64, 0.5f);
    data[32 + 7] = bad;
    for (GgmlQuantFormat format : kAllFormats) {
      std::vector<uint8_t> out;
      std::string error;
      EXPECT_FALSE(kiln::quantizeRows(format, data.data(), 2, 32, out, error));
      EXPECT_NE(error.find("row 1, element 7"), std::string::npos) << error;
    }
  }
}

TEST(GgmlErrors, ScaleOrMinimumOverflowingBinary16IsRejected) {
  std::vector<uint8_t> out;
  std::string error;
  // Q8_0: d = amax/127 > 65504 once amax passes about 8.32e6.
  std::vector<float> big(32, 1.0f);
  big[3] = 1e7f;
  EXPECT_FALSE(kiln::quantizeRows(GgmlQuantFormat::Q8_0, big.data(), 1, 32, out, error));
  EXPECT_NE(error.find("block 0"), std::string::npos) << error;
  // Q4_1: a small range but a minimum beyond binary16.
  std::vector<float> offset(32, -70000.0f);
  offset[0] = -69999.0f;
  EXPECT_FALSE(kiln::quantizeRows(GgmlQuantFormat::Q4_1, offset.data(), 1, 32, out, error));
  // The same minimum is fine for Q4_0, whose d is 70000/8.
  EXPECT_TRUE(kiln::quantizeRows(GgmlQuantFormat::Q4_0, offset.data(), 1, 32, out, error))
      << error;
}

TEST(GgmlErrors, DequantizeChecksTheByteCount) {
  std::vector<uint8_t> bytes(2 * 18);
  std::vector<float> out;
  std::string error;
  EXPECT_TRUE(kiln::dequantizeRows(GgmlQuantFormat::Q4_0, bytes.data(), bytes.size(), 1, 64,
                                   out, error));
  EXPECT_EQ(out.size(), 64u);
  EXPECT_FALSE(kiln::dequantizeRows(GgmlQuantFormat::Q4_0, bytes.data(), bytes.size() - 1, 1,
                                    64, out, error));
  EXPECT_TRUE(out.empty());
  EXPECT_FALSE(kiln::dequantizeRows(GgmlQuantFormat::Q8_0, bytes.data(), bytes.size(), 1, 64,
                                    out, error));
  EXPECT_FALSE(kiln::dequantizeRows(GgmlQuantFormat::Q4_0, bytes.data(), bytes.size(), 1, 63,
                                    out, error));
}

TEST(GgmlErrors, EmptyInputIsEmptyOutput) {
  std::vector<uint8_t> out = {1};
  std::string error;
  EXPECT_TRUE(kiln::quantizeRows(GgmlQuantFormat::Q5_1, nullptr, 0, 64, out, error)) << error;
  EXPECT_TRUE(out.empty());
}

//===----------------------------------------------------------------------===//
// Padding a short row
//===----------------------------------------------------------------------===//

TEST(GgmlPadding, PadsEachRowWithZerosToTheNextBlock) {
  EXPECT_EQ(kiln::paddedRowLength(0), 0);
  EXPECT_EQ(kiln::paddedRowLength(1), 32);
  EXPECT_EQ(kiln::paddedRowLength(32), 32);
  EXPECT_EQ(kiln::paddedRowLength(33), 64);
  std::vector<float> data = {1, 2, 3, 4, 5, 6};
  std::vector<float> padded = kiln::padRowsToBlock(data.data(), 2, 3);
  ASSERT_EQ(padded.size(), 64u);
  EXPECT_EQ(padded[0], 1);
  EXPECT_EQ(padded[2], 3);
  EXPECT_EQ(padded[3], 0);
  EXPECT_EQ(padded[32], 4);
  EXPECT_EQ(padded[34], 6);
  EXPECT_EQ(padded[63], 0);
}

// The documented contract of padRowsToBlock: which formats read the tail back as zero.
TEST(GgmlPadding, TailReadsBackAsZeroForSymmetricFormats) {
  const int64_t rows = 8, length = 45;
  std::vector<float> data = RandomNormal(3, rows * length, 2.0f);
  std::vector<float> padded = kiln::padRowsToBlock(data.data(), rows, length);
  for (GgmlQuantFormat format :
       {GgmlQuantFormat::Q8_0, GgmlQuantFormat::Q4_0, GgmlQuantFormat::Q5_0}) {
    std::vector<float> values =
        Dequantize(format, Quantize(format, padded, rows), rows, 64);
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t i = length; i < 64; ++i)
        EXPECT_EQ(values[r * 64 + i], 0.0f)
            << kiln::ggmlQuantFormatName(format) << " row " << r << " element " << i;
  }
}

TEST(GgmlPadding, TailIsExactZeroForOffsetFormatsOnlyWhenTheBlockIsNonNegative) {
  const int64_t rows = 8, length = 45;
  std::vector<float> data = RandomNormal(4, rows * length, 2.0f);
  for (float &x : data)
    x = std::fabs(x);
  std::vector<float> padded = kiln::padRowsToBlock(data.data(), rows, length);
  for (GgmlQuantFormat format : {GgmlQuantFormat::Q4_1, GgmlQuantFormat::Q5_1}) {
    std::vector<float> values =
        Dequantize(format, Quantize(format, padded, rows), rows, 64);
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t i = length; i < 64; ++i)
        EXPECT_EQ(BitsOf(values[r * 64 + i]), 0u)
            << kiln::ggmlQuantFormatName(format) << " row " << r << " element " << i;
  }

  // With negative values in the last block, the zeros decode near zero but not to it.
  std::vector<float> signedData = RandomNormal(5, rows * length, 2.0f);
  std::vector<float> signedPadded = kiln::padRowsToBlock(signedData.data(), rows, length);
  for (GgmlQuantFormat format : {GgmlQuantFormat::Q4_1, GgmlQuantFormat::Q5_1}) {
    const float levels = format == GgmlQuantFormat::Q4_1 ? 15.0f : 31.0f;
    std::vector<float> values =
        Dequantize(format, Quantize(format, signedPadded, rows), rows, 64);
    bool anyNonZero = false;
    for (int64_t r = 0; r < rows; ++r) {
      float min = 0.0f, max = 0.0f;
      for (int64_t i = 32; i < 64; ++i) {
        min = std::min(min, signedPadded[r * 64 + i]);
        max = std::max(max, signedPadded[r * 64 + i]);
      }
      const float d = (max - min) / levels;
      const float bound = d / 2 + (max - min + std::fabs(min)) * 0x1p-11f + 1e-6f;
      for (int64_t i = length; i < 64; ++i) {
        EXPECT_LE(std::fabs(values[r * 64 + i]), bound);
        anyNonZero |= values[r * 64 + i] != 0.0f;
      }
    }
    EXPECT_TRUE(anyNonZero) << kiln::ggmlQuantFormatName(format)
                            << ": expected some padded zeros to read back inexactly";
  }
}

//===----------------------------------------------------------------------===//
// Round-trip error bounds
//===----------------------------------------------------------------------===//

/// The largest error a block of `format` may have at `x`, from the block's statistics: half a
/// step (a full step for the value that Q4_0/Q5_0 clamp), plus what rounding d and m to
/// binary16 (relative 2^-11) can add over up to `levels` steps, plus float32 slack.
float ErrorBound(GgmlQuantFormat format, const float *block, float x) {
  float amax = 0.0f, signedMax = 0.0f, min = block[0], max = block[0];
  for (int j = 0; j < 32; ++j) {
    if (std::fabs(block[j]) > amax) {
      amax = std::fabs(block[j]);
      signedMax = block[j];
    }
    min = std::min(min, block[j]);
    max = std::max(max, block[j]);
  }
  const float slack = 1e-6f * (amax + 1e-30f);
  switch (format) {
  case GgmlQuantFormat::Q8_0:
    return amax / 127 / 2 + amax * 0x1p-11f + slack;
  case GgmlQuantFormat::Q4_0:
  case GgmlQuantFormat::Q5_0: {
    const float halfRange = format == GgmlQuantFormat::Q4_0 ? 8.0f : 16.0f;
    const float step = amax / halfRange;
    // Values beyond (halfRange - 0.5) steps on the side opposite the max are clamped.
    const bool clamped = x * signedMax < 0 && std::fabs(x) > (halfRange - 0.5f) * step;
    return (clamped ? step : step / 2) + amax * 0x1p-11f + slack;
  }
  case GgmlQuantFormat::Q4_1:
  case GgmlQuantFormat::Q5_1: {
    const float levels = format == GgmlQuantFormat::Q4_1 ? 15.0f : 31.0f;
    return (max - min) / levels / 2 + (max - min + std::fabs(min)) * 0x1p-11f + slack;
  }
  }
  return 0.0f;
}

TEST(GgmlRoundTrip, ErrorStaysWithinHalfAStepPlusBinary16Rounding) {
  const int64_t rows = 16, length = 256;
  std::vector<float> data = RandomNormal(42, rows * length, 0.02f);
  // Give some blocks an offset and a spread of scales, as real weights have.
  for (int64_t i = 0; i < rows * length; ++i)
    data[i] = data[i] * static_cast<float>(1 + (i / 32) % 7) + ((i / 64) % 3 == 0 ? 0.05f : 0);
  for (GgmlQuantFormat format : kAllFormats) {
    std::vector<float> values =
        Dequantize(format, Quantize(format, data, rows), rows, length);
    double worstRatio = 0;
    for (int64_t i = 0; i < rows * length; ++i) {
      const float *block = &data[i / 32 * 32];
      const float bound = ErrorBound(format, block, data[i]);
      const float err = std::fabs(values[i] - data[i]);
      ASSERT_LE(err, bound) << kiln::ggmlQuantFormatName(format) << " element " << i
                            << ": " << data[i] << " -> " << values[i];
      worstRatio = std::max(worstRatio, double(err) / bound);
    }
    // The bound must not be so loose that it tests nothing.
    EXPECT_GT(worstRatio, 0.5) << kiln::ggmlQuantFormatName(format);
  }
}

//===----------------------------------------------------------------------===//
// binary16
//===----------------------------------------------------------------------===//

TEST(Fp16, MatchesNumpyRoundToNearestEven) {
  for (const Fp16Vector &v : kFp16Vectors) {
    EXPECT_EQ(kiln::fp32ToFp16(FloatOf(v.f32)), v.f16)
        << std::hex << "f32 0x" << v.f32 << " (" << FloatOf(v.f32) << ")";
  }
}

TEST(Fp16, EveryNonNanHalfRoundTripsExactly) {
  for (uint32_t h = 0; h < 0x10000; ++h) {
    if ((h & 0x7C00) == 0x7C00 && (h & 0x3FF) != 0)
      continue; // NaN: checked below
    const float f = kiln::fp16ToFp32(static_cast<uint16_t>(h));
    ASSERT_EQ(kiln::fp32ToFp16(f), h) << std::hex << "half 0x" << h;
  }
  EXPECT_EQ(kiln::fp16ToFp32(0x0001), 0x1p-24f);
  EXPECT_EQ(kiln::fp16ToFp32(0x03FF), 0x3FFp-24f);
  EXPECT_EQ(kiln::fp16ToFp32(0x0400), 0x1p-14f);
  EXPECT_EQ(kiln::fp16ToFp32(0x7BFF), 65504.0f);
  EXPECT_EQ(BitsOf(kiln::fp16ToFp32(0x8000)), 0x80000000u);
  EXPECT_EQ(BitsOf(kiln::fp16ToFp32(0xFC00)), 0xFF800000u);
}

TEST(Fp16, NanHandlingFollowsF16C) {
  // fp32 -> fp16: sign and top 10 payload bits kept, quiet bit set.
  EXPECT_EQ(kiln::fp32ToFp16(FloatOf(0x7FC00000u)), 0x7E00);
  EXPECT_EQ(kiln::fp32ToFp16(FloatOf(0x7F800001u)), 0x7E00); // signalling, payload below
  EXPECT_EQ(kiln::fp32ToFp16(FloatOf(0xFF812345u)), 0xFE09);
  EXPECT_EQ(kiln::fp32ToFp16(FloatOf(0x7FFFFFFFu)), 0x7FFF);
  // fp16 -> fp32: payload kept, quiet bit set.
  EXPECT_EQ(BitsOf(kiln::fp16ToFp32(0x7C01)), 0x7FC02000u);
  EXPECT_EQ(BitsOf(kiln::fp16ToFp32(0xFE00)), 0xFFC00000u);
}

TEST(Fp16, RoundingEdges) {
  EXPECT_EQ(kiln::fp32ToFp16(65519.0f), 0x7BFF);
  EXPECT_EQ(kiln::fp32ToFp16(65520.0f), 0x7C00); // the tie rounds to even, which is inf
  EXPECT_EQ(kiln::fp32ToFp16(0x1p-25f), 0x0000); // half the smallest subnormal: ties to 0
  EXPECT_EQ(kiln::fp32ToFp16(-0x1.000002p-25f), 0x8001);
  EXPECT_EQ(kiln::fp32ToFp16(0x3p-25f), 0x0002); // 1.5 units ties to even 2
  EXPECT_EQ(kiln::fp32ToFp16(0x1.ffep-15f), 0x0400); // rounds up into the smallest normal
  EXPECT_EQ(kiln::fp32ToFp16(1e-40f), 0x0000);
  EXPECT_EQ(kiln::fp32ToFp16(-1e-40f), 0x8000);
}

#ifdef KILN_TEST_HAS_F16C_CHECK
__attribute__((target("f16c"))) uint16_t HardwareToHalf(float value) {
  return static_cast<uint16_t>(_cvtss_sh(value, _MM_FROUND_TO_NEAREST_INT));
}

__attribute__((target("f16c"))) float HardwareToFloat(uint16_t bits) { return _cvtsh_ss(bits); }

/// CPUID leaf 1 ECX bit 29 is F16C; its VEX encoding also needs the OS to save AVX state,
/// which __builtin_cpu_supports("avx") checks (not every clang knows "f16c" there).
bool CpuHasF16c() {
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  return __get_cpuid(1, &eax, &ebx, &ecx, &edx) && (ecx & (1u << 29)) &&
         __builtin_cpu_supports("avx");
}

TEST(Fp16, MatchesF16cHardware) {
  if (!CpuHasF16c())
    GTEST_SKIP() << "CPU has no F16C";
  for (uint32_t h = 0; h < 0x10000; ++h)
    ASSERT_EQ(BitsOf(kiln::fp16ToFp32(static_cast<uint16_t>(h))),
              BitsOf(HardwareToFloat(static_cast<uint16_t>(h))))
        << std::hex << "half 0x" << h;
  // binary32 -> binary16: a stride through all 2^32 patterns, then, for every exponent that
  // lands near binary16's range, every kept mantissa with the dropped bits just below, at
  // and above the halfway point.
  for (uint64_t bits = 0; bits < (1ull << 32); bits += 997) {
    const float f = FloatOf(static_cast<uint32_t>(bits));
    ASSERT_EQ(kiln::fp32ToFp16(f), HardwareToHalf(f)) << std::hex << "f32 0x" << bits;
  }
  for (uint32_t sign : {0u, 0x80000000u})
    for (uint32_t exponent = 96; exponent <= 144; ++exponent)
      for (uint32_t kept = 0; kept < 1024; ++kept)
        for (uint32_t dropped : {0x0u, 0x1u, 0xFFFu, 0x1000u, 0x1001u, 0x1FFFu, 0x0800u}) {
          const uint32_t bits = sign | (exponent << 23) | (kept << 13) | dropped;
          const float f = FloatOf(bits);
          ASSERT_EQ(kiln::fp32ToFp16(f), HardwareToHalf(f)) << std::hex << "f32 0x" << bits;
        }
}
#endif

//===----------------------------------------------------------------------===//
// int8 per output channel
//===----------------------------------------------------------------------===//

TEST(Int8PerChannel, ScalesEachChannelByItsOwnMaximum) {
  // Channel 0: amax 127 makes scale 1, so q = round(x) with halves away from zero.
  // Channel 1: all zero. Channel 2: amax 31.75, so scale is exactly 0.25.
  std::vector<float> data = {127, 2.5f, -2.5f, 0.5f, -0.5f, 1.49f, -126.5f, 0,
                             0,   0,    0,     0,    0,     0,     0,       0,
                             -31.75f, 1.0f, 0.125f, -0.375f, 0, 31.75f, 0.3f, -0.3f};
  std::vector<int8_t> values;
  std::vector<float> scales;
  std::string error;
  ASSERT_TRUE(kiln::quantizeInt8PerChannel(data.data(), 3, 8, values, scales, error)) << error;
  ASSERT_EQ(scales.size(), 3u);
  EXPECT_EQ(scales[0], 1.0f);
  EXPECT_EQ(scales[1], 0.0f);
  EXPECT_EQ(scales[2], 0.25f);
  const std::vector<int8_t> expected = {127, 3, -3, 1, -1, 1, -127, 0, 0, 0, 0,  0,
                                        0,   0, 0,  0, -127, 4, 1, -2, 0, 127, 1, -1};
  EXPECT_EQ(values, expected);
  std::vector<float> back = kiln::dequantizeInt8PerChannel(values.data(), scales.data(), 3, 8);
  for (size_t i = 0; i < data.size(); ++i)
    EXPECT_LE(std::fabs(back[i] - data[i]), scales[i / 8] / 2 * 1.0001f) << i;
}

TEST(Int8PerChannel, NeverProducesMinus128AndBoundsTheError) {
  std::vector<float> data = RandomNormal(8, 64 * 100, 0.1f);
  data[5] = -1.0f; // a channel whose extreme is negative
  std::vector<int8_t> values;
  std::vector<float> scales;
  std::string error;
  ASSERT_TRUE(kiln::quantizeInt8PerChannel(data.data(), 64, 100, values, scales, error));
  std::vector<float> back =
      kiln::dequantizeInt8PerChannel(values.data(), scales.data(), 64, 100);
  for (size_t i = 0; i < data.size(); ++i) {
    ASSERT_GE(values[i], -127);
    ASSERT_LE(std::fabs(back[i] - data[i]), scales[i / 100] * 0.5f * 1.0001f) << i;
  }
  EXPECT_EQ(values[5], -127);
}

TEST(Int8PerChannel, SubnormalChannelsStayInRange) {
  std::vector<float> data = {1e-40f, -1e-40f, 5e-41f, 0, 1e-44f, -1e-45f, 0, 0};
  std::vector<int8_t> values;
  std::vector<float> scales;
  std::string error;
  ASSERT_TRUE(kiln::quantizeInt8PerChannel(data.data(), 2, 4, values, scales, error));
  EXPECT_GT(scales[0], 0.0f);
  EXPECT_EQ(values[0], 127);
  EXPECT_EQ(values[1], -127);
  for (int8_t q : values) {
    EXPECT_GE(q, -127);
    EXPECT_LE(q, 127);
  }
}

TEST(Int8PerChannel, RejectsNonFiniteInput) {
  std::vector<float> data = {1, 2, 3, std::nanf("")};
  std::vector<int8_t> values;
  std::vector<float> scales;
  std::string error;
  EXPECT_FALSE(kiln::quantizeInt8PerChannel(data.data(), 2, 2, values, scales, error));
  EXPECT_NE(error.find("channel 1, element 1"), std::string::npos) << error;
  EXPECT_TRUE(values.empty());
}

} // namespace
