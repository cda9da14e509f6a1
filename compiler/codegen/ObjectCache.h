//===- ObjectCache.h - content-addressed cache of compiled objects ---------===//
//
// Compiling kernels with Halide dominates `kiln compile`. Kernels are keyed by what
// determines their code (the region's ops and shapes, the target, the compiler binary), so
// identical kernels inside one model compile once and later builds reuse them. The cache
// lives in $KILN_CACHE_DIR (default $XDG_CACHE_HOME/kiln or ~/.cache/kiln); KILN_CACHE_DIR=off
// disables it.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_COMPILER_CODEGEN_OBJECTCACHE_H
#define KILN_COMPILER_CODEGEN_OBJECTCACHE_H

#include "llvm/ADT/StringRef.h"
#include <optional>
#include <string>

namespace kiln {

class ObjectCache {
public:
  /// The cache configured by the environment (possibly disabled).
  static ObjectCache fromEnvironment();

  bool enabled() const { return !directory.empty(); }
  /// The cached file for `key`, if any.
  std::optional<std::string> lookup(llvm::StringRef key) const;
  /// Copies `path` into the cache as `key` (atomically; failures are ignored: the cache is
  /// only an accelerator).
  void store(llvm::StringRef key, llvm::StringRef path) const;

private:
  std::string directory;
};

/// Hex SHA-256 of `text`.
std::string contentHash(llvm::StringRef text);

/// A hash that changes whenever the running kiln binary changes (its file contents).
const std::string &compilerIdentity();

} // namespace kiln

#endif
