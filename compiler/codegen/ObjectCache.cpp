//===- ObjectCache.cpp - content-addressed cache of compiled objects -------===//
//
// See ObjectCache.h. Entries are plain files named by key; a store writes a unique
// temporary file in the cache directory and renames it, so concurrent compiles never see a
// partial object. Beside each entry, KEY.sha256 holds the SHA-256 of its bytes, written
// before the entry: a lookup verifies it, so a damaged object (a bad disk, a truncated
// copy) is evicted with a warning and rebuilt instead of being linked.
//
//===----------------------------------------------------------------------===//
#include "compiler/codegen/ObjectCache.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/SHA256.h"
#include "llvm/Support/raw_ostream.h"
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

namespace {

/// Hex SHA-256 of the file at `path`, or "" if it cannot be read.
std::string fileHash(const std::string &path) {
  auto buffer = llvm::MemoryBuffer::getFile(path, /*IsText=*/false,
                                            /*RequiresNullTerminator=*/false);
  return buffer ? contentHash((*buffer)->getBuffer()) : std::string();
}

/// Writes `text` to `path` atomically (unique temporary + rename); false on failure.
bool writeAtomically(const std::string &directory, const std::string &path,
                     llvm::StringRef text) {
  llvm::SmallString<256> temp;
  int fd;
  if (llvm::sys::fs::createUniqueFile(directory + "/.tmp-%%%%%%%%", fd, temp))
    return false;
  bool ok = ::write(fd, text.data(), text.size()) == ssize_t(text.size());
  ::close(fd);
  if (!ok || llvm::sys::fs::rename(temp, path)) {
    llvm::sys::fs::remove(temp);
    return false;
  }
  return true;
}

} // namespace

std::optional<std::string> ObjectCache::lookup(llvm::StringRef key) const {
  if (!enabled())
    return std::nullopt;
  std::string path = directory + "/" + key.str();
  if (!llvm::sys::fs::exists(path))
    return std::nullopt;
  auto expected = llvm::MemoryBuffer::getFile(path + ".sha256");
  if (!expected)
    return std::nullopt;  // no checksum (being stored, or stored by an older kiln): rebuild
  if (fileHash(path) == llvm::StringRef((*expected)->getBuffer()).trim())
    return path;
  llvm::errs() << "[kiln] warning: cache entry " << path
               << " does not match its checksum; removed, and rebuilt\n";
  llvm::sys::fs::remove(path);
  llvm::sys::fs::remove(path + ".sha256");
  return std::nullopt;
}

void ObjectCache::store(llvm::StringRef key, llvm::StringRef path) const {
  if (!enabled())
    return;
  std::string target = directory + "/" + key.str();
  std::string hash = fileHash(path.str());
  if (hash.empty() || !writeAtomically(directory, target + ".sha256", hash))
    return;
  llvm::SmallString<256> temp;
  int fd;
  if (llvm::sys::fs::createUniqueFile(directory + "/.tmp-%%%%%%%%", fd, temp))
    return;
  ::close(fd);
  if (llvm::sys::fs::copy_file(path, temp) || llvm::sys::fs::rename(temp, target))
    llvm::sys::fs::remove(temp);
}

} // namespace kiln
