//===- ChipKey.h - which chip a measurement was taken on -----------------===//
//
// A tuned plan is only as good as the chip it was measured on. Measurements and exported
// plans carry a chip key: the CPU's vendor, family and model numbers and the ISA features
// that change code generation (AVX2, AVX-512 and its extensions, FMA; NEON dot products,
// SVE), plus the model name for people. `kiln compile --tuning` prefers plans measured on
// the exact chip, then on its family (same vendor and family numbers), then the heuristic.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_COMPILER_TUNE_CHIPKEY_H
#define KILN_COMPILER_TUNE_CHIPKEY_H

#include <string>

namespace kiln {

struct ChipKey {
  std::string key;     // "x86_64/AuthenticAMD/25/17/avx2+avx512f+..."
  std::string family;  // "x86_64/AuthenticAMD/25"
  std::string name;    // "AMD EPYC 9R14" (for people; not compared)
};

/// The machine kiln runs on, from /proc/cpuinfo (or the build's architecture alone when that
/// cannot be read).
ChipKey hostChip();

/// Parses the text of /proc/cpuinfo (exposed for tests).
ChipKey chipFromCpuinfo(const std::string &cpuinfo, const std::string &arch);

} // namespace kiln

#endif
