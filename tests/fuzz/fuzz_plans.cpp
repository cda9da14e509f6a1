//===- fuzz_plans.cpp - fuzz target: the kernel plan file reader -----------===//
//
// Any text must either read as a plan file or fail with a message naming what is wrong. A
// file that reads is written back and read again: the plans must survive unchanged, and
// the second text must equal the first (the writer is canonical).
//
//===----------------------------------------------------------------------===//
#include "targets/KernelPlan.h"
#include <cstdint>
#include <cstdlib>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  std::string text(reinterpret_cast<const char *>(data), size), error;
  auto plans = kiln::PlanFile::fromJson(text, error);
  if (!plans) {
    if (error.empty())
      std::abort();  // a refusal must say why
    return 0;
  }
  std::string written = plans->toJson();
  auto again = kiln::PlanFile::fromJson(written, error);
  if (!again || again->size() != plans->size() || again->toJson() != written)
    std::abort();
  return 0;
}
