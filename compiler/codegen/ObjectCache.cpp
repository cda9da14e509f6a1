//===- ObjectCache.cpp - content-addressed cache of compiled objects -------===//
//
// See ObjectCache.h. Entries are plain files named by key; a store writes a unique
// temporary file in the cache directory and renames it, so concurrent compiles never see a
// partial object.
//
//===----------------------------------------------------------------------===//
#include "compiler/codegen/ObjectCache.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/SHA256.h"
#include <cstdlib>
#include <unistd.h>

namespace kiln {

std::string contentHash(llvm::StringRef text) {
  auto digest = llvm::SHA256::hash(
      llvm::ArrayRef<uint8_t>(reinterpret_cast<const uint8_t *>(text.data()), text.size()));
  return llvm::toHex(digest, /*LowerCase=*/true);
}

const std::string &compilerIdentity() {
  static const std::string identity = [] {
    auto buffer = llvm::MemoryBuffer::getFile("/proc/self/exe");
    return buffer ? contentHash((*buffer)->getBuffer()) : std::string("unknown");
  }();
  return identity;
}

ObjectCache ObjectCache::fromEnvironment() {
  ObjectCache cache;
  const char *configured = std::getenv("KILN_CACHE_DIR");
  std::string dir;
  if (configured && *configured) {
    if (llvm::StringRef(configured) == "off")
      return cache;
    dir = configured;
  } else if (const char *xdg = std::getenv("XDG_CACHE_HOME"); xdg && *xdg) {
    dir = std::string(xdg) + "/kiln";
  } else if (const char *home = std::getenv("HOME"); home && *home) {
    dir = std::string(home) + "/.cache/kiln";
  } else {
    return cache;
  }
  if (!llvm::sys::fs::create_directories(dir))
    cache.directory = dir;
  return cache;
}

std::optional<std::string> ObjectCache::lookup(llvm::StringRef key) const {
  if (!enabled())
    return std::nullopt;
  std::string path = directory + "/" + key.str();
  if (llvm::sys::fs::exists(path))
    return path;
  return std::nullopt;
}

void ObjectCache::store(llvm::StringRef key, llvm::StringRef path) const {
  if (!enabled())
    return;
  llvm::SmallString<256> temp;
  int fd;
  if (llvm::sys::fs::createUniqueFile(directory + "/.tmp-%%%%%%%%", fd, temp))
    return;
  ::close(fd);
  if (llvm::sys::fs::copy_file(path, temp) ||
      llvm::sys::fs::rename(temp, directory + "/" + key.str()))
    llvm::sys::fs::remove(temp);
}

} // namespace kiln
