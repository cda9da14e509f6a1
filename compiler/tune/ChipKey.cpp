//===- ChipKey.cpp - the host chip's key from /proc/cpuinfo ---------------===//
#include "compiler/tune/ChipKey.h"

#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/MemoryBuffer.h"

#include <algorithm>
#include <set>
#include <sys/utsname.h>
#include <vector>

namespace kiln {
namespace {

/// ISA features that change the code kiln's kernels compile to. Others (microcode bugs,
/// virtualization flags) differ between machines of one chip and must not split the key.
const char *const kRelevantFeatures[] = {
    // x86
    "sse4_1", "sse4_2", "avx", "avx2", "fma", "f16c", "avx512f", "avx512bw", "avx512dq",
    "avx512vl", "avx512_vnni", "avx512_bf16", "avx512_fp16", "avx_vnni", "amx_tile",
    // AArch64
    "asimd", "asimddp", "asimdhp", "sve", "sve2", "i8mm", "bf16",
    // 32-bit ARM
    "neon", "vfpv4", "idiva"};

} // namespace

ChipKey chipFromCpuinfo(const std::string &cpuinfo, const std::string &arch) {
  std::string vendor, family, model, name, implementer, part;
  std::set<std::string> features;
  llvm::SmallVector<llvm::StringRef> lines;
  llvm::StringRef(cpuinfo).split(lines, '\n');
  for (llvm::StringRef line : lines) {
    auto [field, value] = line.split(':');
    field = field.trim();
    value = value.trim();
    // The first processor's entries are enough: a machine's cores are one chip (big.LITTLE
    // phones list two parts; the first is kept, which is what ran the measurements'
    // thread 0 most of the time).
    auto once = [&](std::string &slot) {
      if (slot.empty())
        slot = value.str();
    };
    if (field == "vendor_id") once(vendor);
    else if (field == "cpu family") once(family);
    else if (field == "model") once(model);
    else if (field == "model name") once(name);
    else if (field == "CPU implementer") once(implementer);
    else if (field == "CPU part") once(part);
    else if ((field == "flags" || field == "Features") && features.empty()) {
      llvm::SmallVector<llvm::StringRef> words;
      value.split(words, ' ', -1, false);
      for (llvm::StringRef word : words)
        if (std::find(std::begin(kRelevantFeatures), std::end(kRelevantFeatures), word) !=
            std::end(kRelevantFeatures))
          features.insert(word.str());
    }
  }
  if (vendor.empty() && !implementer.empty()) {  // ARM: implementer and part numbers
    vendor = "arm-" + implementer;
    family = part;
    model.clear();
  }
  std::string featureText;
  for (const std::string &f : features)
    featureText += (featureText.empty() ? "" : "+") + f;
  ChipKey chip;
  chip.family = arch + "/" + (vendor.empty() ? "unknown" : vendor) + "/" +
                (family.empty() ? "0" : family);
  chip.key = chip.family + "/" + (model.empty() ? "0" : model) + "/" + featureText;
  chip.name = name.empty() ? chip.family : name;
  return chip;
}

ChipKey hostChip() {
  struct utsname system;
  std::string arch = uname(&system) == 0 ? system.machine : "unknown";
  auto buffer = llvm::MemoryBuffer::getFileAsStream("/proc/cpuinfo");
  return chipFromCpuinfo(buffer ? (*buffer)->getBuffer().str() : std::string(), arch);
}

} // namespace kiln
