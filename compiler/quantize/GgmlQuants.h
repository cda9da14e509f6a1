//===- GgmlQuants.h - bit-exact GGML block quantizers and fp16 helpers ------===//
//
// kiln's quantization modes write weights in the GGML legacy block formats (Q8_0, Q4_0, Q4_1,
// Q5_0, Q5_1) so that the GGUF file it emits (compiler/codegen/Gguf.h) holds the same bytes
// llama.cpp's reference quantizers would write, and any GGUF tool can read them. The
// definitions followed are ggml/src/ggml-quants.c (quantize_row_*_ref, dequantize_row_*) and
// its numpy twin gguf-py/gguf/quants.py; GgmlQuants.cpp cites them per format and
// tests/unit/quantize_vectors.py is an independent model of them that produces the test
// vectors. The file also holds kiln's own "int8" mode: symmetric per-output-channel int8.
//
// Every block covers 32 consecutive values along the innermost axis; scales d and minimums m
// are IEEE binary16:
//   Q8_0 (34 bytes) d, int8 q[32]                 x = d*q          d = amax/127
//   Q4_0 (18 bytes) d, nibbles[16]                x = d*(q-8)      d = max/-8
//   Q4_1 (20 bytes) d, m, nibbles[16]             x = d*q + m      d = (max-min)/15, m = min
//   Q5_0 (22 bytes) d, qh (u32 LE), nibbles[16]   x = d*(q-16)     d = max/-16
//   Q5_1 (24 bytes) d, m, qh, nibbles[16]         x = d*q + m      d = (max-min)/31, m = min
// Element j sits in the low nibble of byte j and element j+16 in its high nibble; bit 4 of
// element j (5-bit formats) is bit j of qh. "max" in Q4_0/Q5_0 is the signed value of largest
// magnitude (the first one on a tie), so d is negative when that value is positive.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_COMPILER_QUANTIZE_GGMLQUANTS_H
#define KILN_COMPILER_QUANTIZE_GGMLQUANTS_H

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace kiln {

/// A GGML legacy block format. The values are GGML type ids (enum ggml_type in ggml.h), the
/// same numbers as GgmlType in compiler/codegen/Gguf.h, so a format casts straight to the
/// tensor type a GGUF file records.
enum class GgmlQuantFormat : uint32_t {
  Q4_0 = 2,
  Q4_1 = 3,
  Q5_0 = 6,
  Q5_1 = 7,
  Q8_0 = 8,
};

/// Values per block, the same for all five formats (ggml's QK4_0 .. QK8_0).
constexpr int64_t kGgmlBlockLength = 32;

/// How `x*id + offset` is rounded when Q4_0/Q4_1/Q5_0/Q5_1 compute a quant. ggml's reference
/// writes the product and the add as two statements, so ISO C rounds twice; a compiler that
/// contracts them into one fused multiply-add (GCC does by default when the target has FMA,
/// e.g. AArch64, or x86 built with -march=native as llama.cpp did before mid-2024) rounds
/// once, and for rare inputs the truncated quant differs by one: for Q4_0/Q5_0 at any quant
/// boundary, for Q4_1/Q5_1 only between quants 0 and 1 (see GgmlQuants.cpp). Q8_0 has no add
/// and ignores the choice.
enum class GgmlRounding {
  /// Round the product, then the sum: the C source read literally, and what current
  /// llama.cpp x86-64 builds and gguf-py (since llama.cpp PR #15111, August 2025) produce.
  /// The default.
  Separate,
  /// One rounding of the exact x*id + offset (std::fma): matches files from FMA-contracting
  /// builds and gguf-py before August 2025.
  Fused,
};

/// The name ggml gives the format: "q4_0", "q4_1", "q5_0", "q5_1", "q8_0".
const char *ggmlQuantFormatName(GgmlQuantFormat format);

/// Parses a name as ggmlQuantFormatName spells it (lower case). Returns false for any other.
bool parseGgmlQuantFormat(const std::string &name, GgmlQuantFormat &format);

/// The GGML type id stored in a GGUF tensor info (2, 3, 6, 7 or 8).
inline uint32_t ggmlTypeId(GgmlQuantFormat format) { return static_cast<uint32_t>(format); }

/// Bytes one block of 32 values occupies: 34, 18, 20, 22 or 24.
int64_t ggmlBlockBytes(GgmlQuantFormat format);

/// Bytes a quantized row of `rowLength` values occupies; `rowLength` must be a multiple of
/// kGgmlBlockLength (pad it first with padRowsToBlock).
int64_t ggmlQuantizedRowBytes(GgmlQuantFormat format, int64_t rowLength);

/// Quantizes `rows` rows of `rowLength` contiguous floats (row-major, blocks run along the
/// row) into `out`, replacing its contents with rows * ggmlQuantizedRowBytes bytes that equal
/// ggml's quantize_row_*_ref output bit for bit.
///
/// Fails, leaving `out` empty and a message in `error`, when `rowLength` is not a multiple of
/// 32 (pad first), when an input is NaN or infinite (ggml would write garbage), or when a
/// block's d or m rounds to binary16 infinity (magnitude 65520 or more: ggml would store the
/// inf and the whole block would read back as inf/NaN). The messages name the row and block.
bool quantizeRows(GgmlQuantFormat format, const float *data, int64_t rows, int64_t rowLength,
                  std::vector<uint8_t> &out, std::string &error,
                  GgmlRounding rounding = GgmlRounding::Separate);

/// Decodes `byteCount` bytes holding `rows` quantized rows of `rowLength` values into `out`
/// (rows * rowLength floats), exactly as ggml's dequantize_row_* does. Fails when `rowLength`
/// is not a multiple of 32 or `byteCount` is not rows * ggmlQuantizedRowBytes.
bool dequantizeRows(GgmlQuantFormat format, const uint8_t *bytes, size_t byteCount,
                    int64_t rows, int64_t rowLength, std::vector<float> &out,
                    std::string &error);

/// `rowLength` rounded up to the next multiple of kGgmlBlockLength.
int64_t paddedRowLength(int64_t rowLength);

/// Copies `rows` rows of `rowLength` floats into rows of paddedRowLength(rowLength), the tail
/// of each filled with zeros, for quantizing a row whose length is not a multiple of 32.
///
/// What the padded tail reads back as after quantizing and dequantizing:
///  - Q8_0, Q4_0, Q5_0: exactly zero (possibly -0.0, which compares equal: Q4_0/Q5_0 store a
///    negative d when the block's largest-magnitude value is positive). A zero never raises
///    amax, so the real values of the last block quantize exactly as they would unpadded.
///  - Q4_1, Q5_1: the zeros join the block's min/max, so they can widen the range and
///    coarsen the last block's real values. The tail reads back as exactly +0 when the real
///    values of that block are all >= 0 (then min = 0, m = 0 and each zero gets q = 0).
///    Otherwise it reads back as q*d + m for the nearest q, off zero by up to about d/2 plus
///    the binary16 rounding of d and m.
/// The caller records the true row length; readers must ignore the tail.
std::vector<float> padRowsToBlock(const float *data, int64_t rows, int64_t rowLength);

/// IEEE binary32 -> binary16 bits, as x86 F16C's VCVTPS2PH with round-to-nearest-even (and
/// as ggml's GGML_FP32_TO_FP16 for all non-NaN values): overflow past 65519.99... gives inf,
/// results below the normal range round into subnormals or to a signed zero, inf stays inf,
/// and a NaN keeps its sign and the top 10 payload bits with the quiet bit set.
uint16_t fp32ToFp16(float value);

/// IEEE binary16 bits -> binary32, exact for every finite value and infinity, as F16C's
/// VCVTPH2PS: a NaN keeps its sign and payload and is made quiet.
float fp16ToFp32(uint16_t bits);

/// kiln-specific interleaved layouts for integer dot products (docs/formats.md). A matmul
/// weight of N rows (output columns) is stored in groups of 16 rows; for each block index b
/// a group holds the 16 rows' d (binary16, row order; the _1 formats: then the 16 m), then
/// the rows' quants in 4-byte chunks, row-interleaved: chunk c of row r sits at
/// S + 64*c + 4*r, S the bytes before them (32 or 64 of scales, plus 64 of high bits for the
/// 5-bit formats; InterleavedLayout below). One 64-byte load then feeds 16 output lanes of an
/// x86 VPDPBUSD (unsigned weight bytes times a broadcast 4-byte group of signed activations).
/// The bytes are GGML's, rearranged:
///   Q8_0x16 (544 bytes per group and block): chunk c holds elements 4c..4c+3 as q + 128
///           (unsigned), so x = d*(u - 128).
///   Q4_0x16 (288 bytes): chunk c (0..3) holds GGML bytes 4c..4c+3 of the block: low
///           nibbles are elements 4c+i, high nibbles elements 16+4c+i; x = d*(q - 8).
///   Q4_1x16 (320 bytes): 16 d, 16 m, then chunks as Q4_0x16; x = d*q + m.
///   Q5_0x16 (352 bytes): 16 d, the rows' qh (4 bytes each, row-interleaved: 64 bytes),
///           then chunks as Q4_0x16; q = nibble | bit j of qh << 4, x = d*(q - 16).
///   Q5_1x16 (384 bytes): 16 d, 16 m, the 16 qh, then the chunks; x = d*q + m.
/// The GGUF tensor keeps GGML's dims [rows, rowLength] and the same bytes per 32 values, so
/// only the type id (kKilnTypeIdBase + GGML id) tells a reader about the arrangement.
constexpr int64_t kInterleavedRows = 16;
constexpr uint32_t kKilnTypeIdBase = 1024;

/// Where one interleaved block of 16 rows keeps its parts: byte offsets within the
/// 16 * ggmlBlockBytes bytes of a group and block. interleaveRows writes this layout and the
/// integer kernels (targets/common/KernelAlgorithm.cpp) read it.
struct InterleavedLayout {
  bool withMin;        // Q4_1, Q5_1: the 16 m (binary16) follow the 16 d at byte 32
  bool fiveBit;        // Q5_0, Q5_1: the rows' qh, 4 bytes each, at highBitsAt + 4*row
  int64_t highBitsAt;  // after the scales: 32 or 64
  int64_t quantsAt;    // chunk c of row r at quantsAt + 64*c + 4*r
  int quantOffset;     // subtracted from a stored unsigned quant: 128 (Q8_0), 8 (Q4_0),
                       // 16 (Q5_0), or 0 for the formats with m
};
InterleavedLayout interleavedLayout(GgmlQuantFormat format);

/// Parses an interleaved format's name ("q8_0x16", ...) into its GGML format.
bool parseInterleavedFormat(const std::string &name, GgmlQuantFormat &format);

/// The interleaved format's name ("q8_0x16", "q4_0x16", ...) and GGUF type id.
std::string interleavedFormatName(GgmlQuantFormat format);
inline uint32_t interleavedTypeId(GgmlQuantFormat format) {
  return kKilnTypeIdBase + ggmlTypeId(format);
}

/// Rearranges `rows` GGML-quantized rows of `rowLength` values (quantizeRows' output) into
/// the interleaved layout. Fails when the format has none, `rows` is not a multiple of 16 or
/// the byte count does not match.
bool interleaveRows(GgmlQuantFormat format, const uint8_t *bytes, size_t byteCount,
                    int64_t rows, int64_t rowLength, std::vector<uint8_t> &out,
                    std::string &error);

/// The inverse of interleaveRows (tests and tools): GGML rows back from interleaved bytes.
bool deinterleaveRows(GgmlQuantFormat format, const uint8_t *bytes, size_t byteCount,
                      int64_t rows, int64_t rowLength, std::vector<uint8_t> &out,
                      std::string &error);

/// kiln's "int8" mode: symmetric per-output-channel int8. `data` holds `channels` rows of
/// `channelLength` values, the output channel outermost. For each channel
///   scale = amax / 127 (float32),  q = clamp(round(x / scale), -127, 127)
/// with round halfway cases away from zero; an all-zero channel gets scale 0 and q = 0, so
/// x = q * scale holds for every channel. -128 is never produced, which keeps the range
/// symmetric. Fails on NaN or infinite input. `values` gets channels * channelLength entries,
/// `scales` one per channel.
bool quantizeInt8PerChannel(const float *data, int64_t channels, int64_t channelLength,
                            std::vector<int8_t> &values, std::vector<float> &scales,
                            std::string &error);

/// Inverse of quantizeInt8PerChannel: x = q * scale[channel].
std::vector<float> dequantizeInt8PerChannel(const int8_t *values, const float *scales,
                                            int64_t channels, int64_t channelLength);

} // namespace kiln

#endif // KILN_COMPILER_QUANTIZE_GGMLQUANTS_H
