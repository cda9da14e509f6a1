//===- GgmlQuants.cpp - bit-exact GGML block quantizers and fp16 helpers ----===//
//
// Implements the five GGML legacy block formats and kiln's per-channel int8 mode declared in
// GgmlQuants.h. Each block quantizer restates ggml's reference (ggml/src/ggml-quants.c,
// quantize_row_*_ref; gguf-py/gguf/quants.py is the numpy twin) step for step, because
// bit-exactness depends on details that look incidental:
//  - the quants are computed with id = 1/d from the fp32 d, not from the binary16 d that is
//    stored, so a block whose d underflows binary16 still gets nonzero quants;
//  - Q8_0 rounds with roundf (halfway away from zero) while the nibble formats add 0.5 (or
//    8.5 / 16.5) and truncate, i.e. round halfway cases up, towards +inf;
//  - the float->int8 casts are C conversions whose out-of-range results C leaves undefined;
//    kiln pins them to what ggml's x86-64 build does (truncateToInt32 below);
//  - `x*id + offset` is two statements in ggml and must be rounded twice (GgmlRounding).
//
// Nothing here may be compiled with -ffast-math: it would reorder exactly these steps.
//
//===----------------------------------------------------------------------===//
#include "compiler/quantize/GgmlQuants.h"

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstring>
#include <limits>

namespace kiln {
namespace {

//===----------------------------------------------------------------------===//
// Bit helpers
//===----------------------------------------------------------------------===//

uint32_t floatBits(float value) {
  uint32_t bits;
  std::memcpy(&bits, &value, sizeof(bits));
  return bits;
}

float floatFromBits(uint32_t bits) {
  float value;
  std::memcpy(&value, &bits, sizeof(value));
  return value;
}

// GGUF and ggml's block structs are little endian; writing byte by byte keeps kiln correct
// on a big-endian host too.
void storeLittleEndian16(uint8_t *out, uint16_t value) {
  out[0] = static_cast<uint8_t>(value);
  out[1] = static_cast<uint8_t>(value >> 8);
}

void storeLittleEndian32(uint8_t *out, uint32_t value) {
  for (int i = 0; i < 4; ++i)
    out[i] = static_cast<uint8_t>(value >> (8 * i));
}

uint16_t loadLittleEndian16(const uint8_t *in) {
  return static_cast<uint16_t>(in[0] | (in[1] << 8));
}

uint32_t loadLittleEndian32(const uint8_t *in) {
  return uint32_t(in[0]) | (uint32_t(in[1]) << 8) | (uint32_t(in[2]) << 16) |
         (uint32_t(in[3]) << 24);
}

bool isFp16Infinite(uint16_t bits) { return (bits & 0x7FFF) == 0x7C00; }

//===----------------------------------------------------------------------===//
// The arithmetic ggml's reference leaves to the platform
//===----------------------------------------------------------------------===//

/// The C conversion `(int8_t)f` / `(uint8_t)f` as ggml's x86-64 build executes it: CVTTSS2SI
/// truncates toward zero into an int32 and yields 0x80000000 ("integer indefinite") for NaN,
/// infinities and anything outside int32; the byte store then keeps the low 8 bits. Finite
/// quants always land in range; non-finite ones arise only when d is an fp32 subnormal so
/// small that 1/d overflows to inf (inputs around 1e-40). Then d's binary16 is 0 and the
/// quants cannot change the decoded values, but they are still bytes in the file, so they
/// are pinned here (to 0) instead of left to undefined behaviour.
int32_t truncateToInt32(float value) {
  if (!(value >= -2147483648.0f && value < 2147483648.0f))
    return std::numeric_limits<int32_t>::min();
  return static_cast<int32_t>(value);
}

/// The low byte of `value` read as int8_t (two's complement), as the C cast to int8_t keeps it.
int lowByteSigned(int32_t value) {
  int low = value & 0xFF;
  return low >= 128 ? low - 256 : low;
}

/// `x*scale + offset` rounded the way `rounding` says. GCC contracts a multiply and a later add
/// into an FMA even across statements when the target has one (-ffp-contract=fast is its C++
/// default), so the separate product goes through a volatile, which forces it to be rounded to
/// float before the add on every compiler and target.
float multiplyAdd(float x, float scale, float offset, GgmlRounding rounding) {
  if (rounding == GgmlRounding::Fused)
    return std::fma(x, scale, offset);
  volatile float product = x * scale;
  return product + offset;
}

/// ggml's `d ? 1.0f/d : 0.0f`: the reciprocal of the fp32 scale, 0 for an all-zero block.
float reciprocalOrZero(float d) { return d != 0.0f ? 1.0f / d : 0.0f; }

//===----------------------------------------------------------------------===//
// Block quantizers, one per ggml reference function
//===----------------------------------------------------------------------===//

/// Packs 32 quants into 16 bytes of nibbles (element j low, element j+16 high), preceded for
/// the 5-bit formats by qh, whose bit j is bit 4 of element j.
void packQuants(const uint8_t quants[kGgmlBlockLength], bool fiveBits, uint8_t *out) {
  constexpr int half = kGgmlBlockLength / 2;
  if (!fiveBits) {
    // ggml's Q4_0/Q4_1 store `xi0 | xi1 << 4` without masking xi0; quants are <= 15 there.
    for (int j = 0; j < half; ++j)
      out[j] = static_cast<uint8_t>(quants[j] | (quants[j + half] << 4));
    return;
  }
  uint32_t highBits = 0;
  for (int j = 0; j < half; ++j) {
    highBits |= uint32_t((quants[j] >> 4) & 1) << j;
    highBits |= uint32_t((quants[j + half] >> 4) & 1) << (j + half);
    out[4 + j] = static_cast<uint8_t>((quants[j] & 0x0F) | ((quants[j + half] & 0x0F) << 4));
  }
  storeLittleEndian32(out, highBits);
}

/// Q8_0 after quantize_row_q8_0_ref:
///  1. amax = max |x|, d = amax / 127, id = 1/d (0 when d is 0);
///  2. store binary16(d);
///  3. q = roundf(x * id), halfway cases away from zero.
void quantizeBlockQ8_0(const float *x, uint8_t *out) {
  float amax = 0.0f;
  for (int j = 0; j < kGgmlBlockLength; ++j)
    amax = std::max(amax, std::fabs(x[j]));
  const float d = amax / 127.0f;
  const float inverse = reciprocalOrZero(d);
  storeLittleEndian16(out, fp32ToFp16(d));
  for (int j = 0; j < kGgmlBlockLength; ++j)
    out[2 + j] = static_cast<uint8_t>(truncateToInt32(std::round(x[j] * inverse)));
}

/// Q4_0 (halfRange 8) and Q5_0 (halfRange 16) after quantize_row_q4_0_ref / q5_0_ref.
/// GgmlRounding matters at every quant boundary here: the product x*id is small next to the
/// offset, so it is rounded on a much finer grid than the sum, and rounding it first can turn
/// a sum just under a tie into an exact tie that rounds the other way.
///  1. max = the signed value of largest magnitude; a later value replaces it only when
///     strictly larger in magnitude, so the first of +a/-a wins;
///  2. d = max / -halfRange, so max itself maps to quant 0 and the far end of the range,
///     +halfRange*|d| on the other side, would be quant 2*halfRange: it clamps to
///     2*halfRange - 1 and reads back one step short;
///  3. q = min(2*halfRange - 1, (int8_t)(x*id + halfRange + 0.5)): the cast truncates, so
///     this rounds halfway cases up (towards +inf), not away from zero like Q8_0.
void quantizeBlockSymmetric(const float *x, uint8_t *out, int halfRange, bool fiveBits,
                            GgmlRounding rounding) {
  float amax = 0.0f;
  float max = 0.0f;
  for (int j = 0; j < kGgmlBlockLength; ++j) {
    if (amax < std::fabs(x[j])) {
      amax = std::fabs(x[j]);
      max = x[j];
    }
  }
  const float d = max / -static_cast<float>(halfRange);
  const float inverse = reciprocalOrZero(d);
  storeLittleEndian16(out, fp32ToFp16(d));
  const float offset = static_cast<float>(halfRange) + 0.5f; // 8.5f or 16.5f, both exact
  const int largestQuant = 2 * halfRange - 1;
  uint8_t quants[kGgmlBlockLength];
  for (int j = 0; j < kGgmlBlockLength; ++j) {
    int32_t truncated = truncateToInt32(multiplyAdd(x[j], inverse, offset, rounding));
    quants[j] = static_cast<uint8_t>(std::min(largestQuant, lowByteSigned(truncated)));
  }
  packQuants(quants, fiveBits, out + 2);
}

/// Q4_1 (levels 15) and Q5_1 (levels 31) after quantize_row_q4_1_ref / q5_1_ref:
///  1. min, max over the block; d = (max - min) / levels, id = 1/d (0 when d is 0);
///  2. store binary16(d), then binary16(min) as m;
///  3. q = (int)((x - min)*id + 0.5), truncated, so halfway cases round up. Q4_1 clamps to 15
///     through an int8_t (`MIN(15, (int8_t)...)`); Q5_1 casts straight to uint8_t with no
///     clamp. (x - min)*id never exceeds levels by half a step, so neither limit bites for
///     finite quants; they are kept for non-finite ones.
/// Fused and separate rounding (GgmlRounding) differ far more rarely here than in Q4_0/Q5_0:
/// rounding the product first can only matter where the product's float grid is finer than
/// the sum's, which for p + 0.5 happens only for p in [0.25, 0.5), i.e. at the boundary
/// between quants 0 and 1 (p a hair under 0.5 - 2^-25). gguf-py's random tests never hit it.
void quantizeBlockWithMinimum(const float *x, uint8_t *out, int levels, bool fiveBits,
                              GgmlRounding rounding) {
  float min = FLT_MAX;
  float max = -FLT_MAX;
  for (int j = 0; j < kGgmlBlockLength; ++j) {
    if (x[j] < min)
      min = x[j];
    if (x[j] > max)
      max = x[j];
  }
  const float d = (max - min) / static_cast<float>(levels);
  const float inverse = reciprocalOrZero(d);
  storeLittleEndian16(out, fp32ToFp16(d));
  storeLittleEndian16(out + 2, fp32ToFp16(min));
  uint8_t quants[kGgmlBlockLength];
  for (int j = 0; j < kGgmlBlockLength; ++j) {
    int32_t truncated = truncateToInt32(multiplyAdd(x[j] - min, inverse, 0.5f, rounding));
    quants[j] = fiveBits ? static_cast<uint8_t>(truncated & 0xFF)
                         : static_cast<uint8_t>(std::min(15, lowByteSigned(truncated)));
  }
  packQuants(quants, fiveBits, out + 4);
}

void quantizeBlock(GgmlQuantFormat format, const float *x, uint8_t *out,
                   GgmlRounding rounding) {
  switch (format) {
  case GgmlQuantFormat::Q8_0:
    return quantizeBlockQ8_0(x, out);
  case GgmlQuantFormat::Q4_0:
    return quantizeBlockSymmetric(x, out, /*halfRange=*/8, /*fiveBits=*/false, rounding);
  case GgmlQuantFormat::Q5_0:
    return quantizeBlockSymmetric(x, out, /*halfRange=*/16, /*fiveBits=*/true, rounding);
  case GgmlQuantFormat::Q4_1:
    return quantizeBlockWithMinimum(x, out, /*levels=*/15, /*fiveBits=*/false, rounding);
  case GgmlQuantFormat::Q5_1:
    return quantizeBlockWithMinimum(x, out, /*levels=*/31, /*fiveBits=*/true, rounding);
  }
}

//===----------------------------------------------------------------------===//
// Block dequantizers, after dequantize_row_*
//===----------------------------------------------------------------------===//

/// Reads the 32 quants of a nibble block (and qh for the 5-bit formats).
void unpackQuants(const uint8_t *in, bool fiveBits, int quants[kGgmlBlockLength]) {
  constexpr int half = kGgmlBlockLength / 2;
  const uint32_t highBits = fiveBits ? loadLittleEndian32(in) : 0;
  const uint8_t *nibbles = fiveBits ? in + 4 : in;
  for (int j = 0; j < half; ++j) {
    quants[j] = (nibbles[j] & 0x0F) | int(((highBits >> j) & 1) << 4);
    quants[j + half] = (nibbles[j] >> 4) | int(((highBits >> (j + half)) & 1) << 4);
  }
}

// Every product q*d below is exact in float32 (q has at most 8 significant bits, d at most
// 11), so the only rounding is the `+ m` of the offset formats, and contracting q*d + m into
// an FMA cannot change the result.
void dequantizeBlock(GgmlQuantFormat format, const uint8_t *in, float *out) {
  const float d = fp16ToFp32(loadLittleEndian16(in));
  int quants[kGgmlBlockLength];
  switch (format) {
  case GgmlQuantFormat::Q8_0:
    for (int j = 0; j < kGgmlBlockLength; ++j)
      out[j] = static_cast<float>(lowByteSigned(in[2 + j])) * d;
    return;
  case GgmlQuantFormat::Q4_0:
  case GgmlQuantFormat::Q5_0: {
    const bool fiveBits = format == GgmlQuantFormat::Q5_0;
    const int zeroPoint = fiveBits ? 16 : 8;
    unpackQuants(in + 2, fiveBits, quants);
    for (int j = 0; j < kGgmlBlockLength; ++j)
      out[j] = static_cast<float>(quants[j] - zeroPoint) * d;
    return;
  }
  case GgmlQuantFormat::Q4_1:
  case GgmlQuantFormat::Q5_1: {
    const float m = fp16ToFp32(loadLittleEndian16(in + 2));
    unpackQuants(in + 4, format == GgmlQuantFormat::Q5_1, quants);
    for (int j = 0; j < kGgmlBlockLength; ++j)
      out[j] = static_cast<float>(quants[j]) * d + m;
    return;
  }
  }
}

//===----------------------------------------------------------------------===//
// Argument checks shared by the row functions
//===----------------------------------------------------------------------===//

bool checkRowShape(GgmlQuantFormat format, int64_t rows, int64_t rowLength,
                   std::string &error) {
  if (rows < 0 || rowLength < 0) {
    error = std::string(ggmlQuantFormatName(format)) + ": negative shape (" +
            std::to_string(rows) + " rows of " + std::to_string(rowLength) + ")";
    return false;
  }
  if (rowLength % kGgmlBlockLength != 0) {
    error = std::string(ggmlQuantFormatName(format)) + ": row length " +
            std::to_string(rowLength) + " is not a multiple of the " +
            std::to_string(kGgmlBlockLength) +
            "-value block; pad the rows first (padRowsToBlock)";
    return false;
  }
  if (rowLength != 0 && rows > std::numeric_limits<int64_t>::max() / rowLength) {
    error = std::string(ggmlQuantFormatName(format)) + ": " + std::to_string(rows) +
            " rows of " + std::to_string(rowLength) + " values overflow int64";
    return false;
  }
  return true;
}

std::string describeNonFinite(float value) {
  return std::isnan(value) ? "NaN" : (value > 0 ? "+inf" : "-inf");
}

} // namespace

//===----------------------------------------------------------------------===//
// Formats
//===----------------------------------------------------------------------===//

const char *ggmlQuantFormatName(GgmlQuantFormat format) {
  switch (format) {
  case GgmlQuantFormat::Q4_0:
    return "q4_0";
  case GgmlQuantFormat::Q4_1:
    return "q4_1";
  case GgmlQuantFormat::Q5_0:
    return "q5_0";
  case GgmlQuantFormat::Q5_1:
    return "q5_1";
  case GgmlQuantFormat::Q8_0:
    return "q8_0";
  }
  return "unknown";
}

bool parseGgmlQuantFormat(const std::string &name, GgmlQuantFormat &format) {
  for (GgmlQuantFormat candidate :
       {GgmlQuantFormat::Q4_0, GgmlQuantFormat::Q4_1, GgmlQuantFormat::Q5_0,
        GgmlQuantFormat::Q5_1, GgmlQuantFormat::Q8_0}) {
    if (name == ggmlQuantFormatName(candidate)) {
      format = candidate;
      return true;
    }
  }
  return false;
}

int64_t ggmlBlockBytes(GgmlQuantFormat format) {
  // sizeof(block_q*) in ggml-common.h: a binary16 d, a binary16 m for the _1 formats, a
  // 32-bit qh for the 5-bit formats, then the quants.
  switch (format) {
  case GgmlQuantFormat::Q4_0:
    return 2 + 16;
  case GgmlQuantFormat::Q4_1:
    return 2 + 2 + 16;
  case GgmlQuantFormat::Q5_0:
    return 2 + 4 + 16;
  case GgmlQuantFormat::Q5_1:
    return 2 + 2 + 4 + 16;
  case GgmlQuantFormat::Q8_0:
    return 2 + 32;
  }
  return 0;
}

int64_t ggmlQuantizedRowBytes(GgmlQuantFormat format, int64_t rowLength) {
  return rowLength / kGgmlBlockLength * ggmlBlockBytes(format);
}

//===----------------------------------------------------------------------===//
// Rows
//===----------------------------------------------------------------------===//

bool quantizeRows(GgmlQuantFormat format, const float *data, int64_t rows, int64_t rowLength,
                  std::vector<uint8_t> &out, std::string &error, GgmlRounding rounding) {
  out.clear();
  if (!checkRowShape(format, rows, rowLength, error))
    return false;
  const int64_t blocksPerRow = rowLength / kGgmlBlockLength;
  const int64_t blockBytes = ggmlBlockBytes(format);
  const bool hasMinimum = format == GgmlQuantFormat::Q4_1 || format == GgmlQuantFormat::Q5_1;
  std::vector<uint8_t> bytes(static_cast<size_t>(rows * blocksPerRow * blockBytes));
  for (int64_t row = 0; row < rows; ++row) {
    for (int64_t block = 0; block < blocksPerRow; ++block) {
      const float *x = data + row * rowLength + block * kGgmlBlockLength;
      for (int j = 0; j < kGgmlBlockLength; ++j) {
        if (!std::isfinite(x[j])) {
          error = std::string(ggmlQuantFormatName(format)) + ": row " + std::to_string(row) +
                  ", element " + std::to_string(block * kGgmlBlockLength + j) + " is " +
                  describeNonFinite(x[j]) + "; GGML blocks cannot encode non-finite values";
          return false;
        }
      }
      uint8_t *blockOut = bytes.data() + (row * blocksPerRow + block) * blockBytes;
      quantizeBlock(format, x, blockOut, rounding);
      // ggml would store the inf and every value of the block would decode as inf or NaN.
      if (isFp16Infinite(loadLittleEndian16(blockOut)) ||
          (hasMinimum && isFp16Infinite(loadLittleEndian16(blockOut + 2)))) {
        error = std::string(ggmlQuantFormatName(format)) + ": row " + std::to_string(row) +
                ", block " + std::to_string(block) + " (elements " +
                std::to_string(block * kGgmlBlockLength) + ".." +
                std::to_string(block * kGgmlBlockLength + kGgmlBlockLength - 1) +
                "): its scale or minimum overflows binary16 (largest finite 65504)";
        return false;
      }
    }
  }
  out = std::move(bytes);
  return true;
}

bool dequantizeRows(GgmlQuantFormat format, const uint8_t *bytes, size_t byteCount,
                    int64_t rows, int64_t rowLength, std::vector<float> &out,
                    std::string &error) {
  out.clear();
  if (!checkRowShape(format, rows, rowLength, error))
    return false;
  const int64_t blockCount = rows * (rowLength / kGgmlBlockLength);
  const int64_t blockBytes = ggmlBlockBytes(format);
  if (blockCount > std::numeric_limits<int64_t>::max() / blockBytes ||
      static_cast<uint64_t>(blockCount * blockBytes) != byteCount) {
    error = std::string(ggmlQuantFormatName(format)) + ": " + std::to_string(rows) +
            " rows of " + std::to_string(rowLength) + " values need " +
            std::to_string(blockCount * blockBytes) + " bytes, got " +
            std::to_string(byteCount);
    return false;
  }
  std::vector<float> values(static_cast<size_t>(rows * rowLength));
  for (int64_t block = 0; block < blockCount; ++block)
    dequantizeBlock(format, bytes + block * blockBytes,
                    values.data() + block * kGgmlBlockLength);
  out = std::move(values);
  return true;
}

//===----------------------------------------------------------------------===//
// Interleaved layouts (kiln-specific, see the header)
//===----------------------------------------------------------------------===//

InterleavedLayout interleavedLayout(GgmlQuantFormat format) {
  InterleavedLayout layout;
  layout.withMin = format == GgmlQuantFormat::Q4_1 || format == GgmlQuantFormat::Q5_1;
  layout.fiveBit = format == GgmlQuantFormat::Q5_0 || format == GgmlQuantFormat::Q5_1;
  layout.highBitsAt = layout.withMin ? 64 : 32;
  layout.quantsAt = layout.highBitsAt + (layout.fiveBit ? 64 : 0);
  layout.quantOffset = format == GgmlQuantFormat::Q8_0 ? 128
                       : layout.withMin                ? 0
                       : layout.fiveBit                ? 16
                                                       : 8;
  return layout;
}

bool parseInterleavedFormat(const std::string &name, GgmlQuantFormat &format) {
  std::string suffix = "x" + std::to_string(kInterleavedRows);
  return name.size() > suffix.size() &&
         name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0 &&
         parseGgmlQuantFormat(name.substr(0, name.size() - suffix.size()), format);
}

std::string interleavedFormatName(GgmlQuantFormat format) {
  return std::string(ggmlQuantFormatName(format)) + "x" + std::to_string(kInterleavedRows);
}

namespace {

/// Moves every byte of `rows` GGML rows to or from its interleaved position (see
/// InterleavedLayout). A GGML block starts with h bytes of binary16 scales (h = 2: d; the _1
/// formats: d, m); scale s of row r goes to 32*s + 2*r of the group's block, the 5-bit
/// formats' qh (4 bytes) to highBitsAt + 4*r, quant byte e to quantsAt + 64*(e/4) + 4*r + e%4.
/// Q8_0 quants are stored offset by 128 (unsigned).
bool moveInterleaved(GgmlQuantFormat format, const uint8_t *bytes, size_t byteCount,
                     int64_t rows, int64_t rowLength, std::vector<uint8_t> &out,
                     std::string &error, bool toInterleaved) {
  out.clear();
  if (!checkRowShape(format, rows, rowLength, error))
    return false;
  if (rows % kInterleavedRows != 0) {
    error = interleavedFormatName(format) + ": " + std::to_string(rows) +
            " rows are not a multiple of " + std::to_string(kInterleavedRows);
    return false;
  }
  const int64_t blockBytes = ggmlBlockBytes(format), blocks = rowLength / kGgmlBlockLength;
  const size_t expected = size_t(rows * blocks * blockBytes);
  if (byteCount != expected) {
    error = interleavedFormatName(format) + ": " + std::to_string(byteCount) +
            " bytes where " + std::to_string(rows) + " rows of " + std::to_string(rowLength) +
            " values take " + std::to_string(expected);
    return false;
  }
  const uint8_t flip = format == GgmlQuantFormat::Q8_0 ? 0x80 : 0x00;
  const InterleavedLayout layout = interleavedLayout(format);
  const int64_t scaleBytes = layout.withMin ? 4 : 2, highBytes = layout.fiveBit ? 4 : 0;
  out.resize(expected);
  for (int64_t row = 0; row < rows; ++row) {
    int64_t group = row / kInterleavedRows, lane = row % kInterleavedRows;
    for (int64_t b = 0; b < blocks; ++b) {
      size_t plain = size_t((row * blocks + b) * blockBytes);
      size_t packed = size_t((group * blocks + b) * kInterleavedRows * blockBytes);
      auto move = [&](size_t from, size_t to, uint8_t mask) {
        if (toInterleaved)
          out[packed + to] = bytes[plain + from] ^ mask;
        else
          out[plain + from] = bytes[packed + to] ^ mask;
      };
      for (int64_t p = 0; p < scaleBytes; ++p)
        move(size_t(p), size_t(32 * (p / 2) + 2 * lane + p % 2), 0);
      for (int64_t p = 0; p < highBytes; ++p)
        move(size_t(scaleBytes + p), size_t(layout.highBitsAt + 4 * lane + p), 0);
      for (int64_t e = 0; e < blockBytes - scaleBytes - highBytes; ++e)
        move(size_t(scaleBytes + highBytes + e),
             size_t(layout.quantsAt + 64 * (e / 4) + 4 * lane + e % 4), flip);
    }
  }
  return true;
}

} // namespace

bool interleaveRows(GgmlQuantFormat format, const uint8_t *bytes, size_t byteCount,
                    int64_t rows, int64_t rowLength, std::vector<uint8_t> &out,
                    std::string &error) {
  return moveInterleaved(format, bytes, byteCount, rows, rowLength, out, error, true);
}

bool deinterleaveRows(GgmlQuantFormat format, const uint8_t *bytes, size_t byteCount,
                      int64_t rows, int64_t rowLength, std::vector<uint8_t> &out,
                      std::string &error) {
  return moveInterleaved(format, bytes, byteCount, rows, rowLength, out, error, false);
}

int64_t paddedRowLength(int64_t rowLength) {
  return (rowLength + kGgmlBlockLength - 1) / kGgmlBlockLength * kGgmlBlockLength;
}

std::vector<float> padRowsToBlock(const float *data, int64_t rows, int64_t rowLength) {
  const int64_t padded = paddedRowLength(rowLength);
  std::vector<float> out(static_cast<size_t>(rows * padded), 0.0f);
  for (int64_t row = 0; row < rows; ++row)
    std::copy(data + row * rowLength, data + (row + 1) * rowLength, out.begin() + row * padded);
  return out;
}

//===----------------------------------------------------------------------===//
// binary16
//===----------------------------------------------------------------------===//

uint16_t fp32ToFp16(float value) {
  const uint32_t bits = floatBits(value);
  const uint16_t sign = static_cast<uint16_t>((bits >> 16) & 0x8000);
  const uint32_t exponent = (bits >> 23) & 0xFF;
  const uint32_t mantissa = bits & 0x7FFFFF;
  if (exponent == 0xFF) {
    if (mantissa == 0)
      return sign | 0x7C00;
    // F16C keeps the top 10 payload bits and sets the quiet bit (ggml's software fallback
    // would give a canonical 0x7E00 instead; no finite input gets here).
    return static_cast<uint16_t>(sign | 0x7E00 | (mantissa >> 13));
  }
  const int unbiased = static_cast<int>(exponent) - 127;
  if (unbiased > 15)
    return sign | 0x7C00;
  if (unbiased >= -14) {
    // Normal binary16: keep 10 of the 23 mantissa bits and round the 13 dropped ones to
    // nearest even. A carry out of the mantissa bumps the exponent, which is right, up to
    // 0x7C00 (inf) for values at or above 65520.
    uint32_t half = (static_cast<uint32_t>(unbiased + 15) << 10) | (mantissa >> 13);
    const uint32_t dropped = mantissa & 0x1FFF;
    if (dropped > 0x1000 || (dropped == 0x1000 && (half & 1)))
      ++half;
    return static_cast<uint16_t>(sign | half);
  }
  // Below 2^-14: a subnormal binary16 counts units of 2^-24. fp32 subnormals (< 2^-126) and
  // anything under 2^-25 (half a unit; exactly 2^-25 ties to the even 0) round to zero.
  if (exponent == 0 || unbiased < -25)
    return sign;
  const uint32_t significand = mantissa | 0x800000; // value = significand * 2^(unbiased-23)
  const int shift = -unbiased - 1;                  // 14..24: from 2^(unbiased-23) to 2^-24
  uint32_t half = significand >> shift;
  const uint32_t dropped = significand & ((1u << shift) - 1);
  const uint32_t halfway = 1u << (shift - 1);
  if (dropped > halfway || (dropped == halfway && (half & 1)))
    ++half; // may carry into 0x0400, the smallest normal, which is the right encoding
  return static_cast<uint16_t>(sign | half);
}

float fp16ToFp32(uint16_t bits) {
  const uint32_t sign = static_cast<uint32_t>(bits & 0x8000) << 16;
  const uint32_t exponent = (bits >> 10) & 0x1F;
  const uint32_t mantissa = bits & 0x3FF;
  if (exponent == 0x1F) {
    // inf, or a NaN made quiet with its payload kept, as VCVTPH2PS does.
    const uint32_t nan = mantissa ? (0x400000 | (mantissa << 13)) : 0;
    return floatFromBits(sign | 0x7F800000 | nan);
  }
  if (exponent == 0) {
    // Zero or subnormal: mantissa * 2^-24, exact in float32.
    const float magnitude = std::ldexp(static_cast<float>(mantissa), -24);
    return floatFromBits(sign | floatBits(magnitude));
  }
  return floatFromBits(sign | ((exponent + 112) << 23) | (mantissa << 13));
}

//===----------------------------------------------------------------------===//
// int8 per output channel
//===----------------------------------------------------------------------===//

bool quantizeInt8PerChannel(const float *data, int64_t channels, int64_t channelLength,
                            std::vector<int8_t> &values, std::vector<float> &scales,
                            std::string &error) {
  values.clear();
  scales.clear();
  if (channels < 0 || channelLength < 0 ||
      (channelLength != 0 && channels > std::numeric_limits<int64_t>::max() / channelLength)) {
    error = "int8: bad shape (" + std::to_string(channels) + " channels of " +
            std::to_string(channelLength) + ")";
    return false;
  }
  std::vector<int8_t> quantized(static_cast<size_t>(channels * channelLength));
  std::vector<float> channelScales(static_cast<size_t>(channels));
  for (int64_t channel = 0; channel < channels; ++channel) {
    const float *x = data + channel * channelLength;
    float amax = 0.0f;
    for (int64_t i = 0; i < channelLength; ++i) {
      if (!std::isfinite(x[i])) {
        error = "int8: channel " + std::to_string(channel) + ", element " + std::to_string(i) +
                " is " + describeNonFinite(x[i]);
        return false;
      }
      amax = std::max(amax, std::fabs(x[i]));
    }
    const float scale = amax / 127.0f;
    channelScales[channel] = scale;
    for (int64_t i = 0; i < channelLength; ++i) {
      // Dividing (rather than multiplying by 1/scale) keeps x/scale finite even when scale is
      // a subnormal whose reciprocal overflows; the clamp catches the few-bit subnormal
      // scales (amax below ~1e-36) where the ratio can pass 127.
      float q = scale != 0.0f ? std::round(x[i] / scale) : 0.0f;
      q = std::min(127.0f, std::max(-127.0f, q));
      quantized[channel * channelLength + i] = static_cast<int8_t>(q);
    }
  }
  values = std::move(quantized);
  scales = std::move(channelScales);
  return true;
}

std::vector<float> dequantizeInt8PerChannel(const int8_t *values, const float *scales,
                                            int64_t channels, int64_t channelLength) {
  std::vector<float> out(static_cast<size_t>(channels * channelLength));
  for (int64_t channel = 0; channel < channels; ++channel)
    for (int64_t i = 0; i < channelLength; ++i)
      out[channel * channelLength + i] =
          static_cast<float>(values[channel * channelLength + i]) * scales[channel];
  return out;
}

} // namespace kiln
