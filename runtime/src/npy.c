/* npy.c - reading and writing NumPy .npy files (format versions 1.0, 2.0 and 3.0).
 *
 * A .npy file is: "\x93NUMPY", major and minor version bytes, the header length (uint16 in
 * 1.0, uint32 in 2.0/3.0, little endian), then a Python dict literal such as
 * "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 3), }" padded with spaces and a
 * newline, then the raw data. The dict is parsed by a small tokenizer that accepts any key
 * order, spacing and trailing commas, because other writers than numpy produce these files.
 */
#define _POSIX_C_SOURCE 200809L

#include "kiln/npy.h"

#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "error.h"

/// Copies `length` bytes of `text` into `out` for a message, printable ASCII as is and every
/// other byte as \xNN (a malformed file must not put raw bytes on a terminal).
static const char *printable(char *out, size_t capacity, const char *text, size_t length) {
  size_t used = 0;
  for (size_t i = 0; i < length && used + 5 < capacity; i++) {
    unsigned char c = (unsigned char)text[i];
    if (c >= 0x20 && c < 0x7f) {
      out[used++] = (char)c;
    } else {
      used += (size_t)snprintf(out + used, capacity - used, "\\x%02x", c);
    }
  }
  out[used] = '\0';
  return out;
}

typedef unsigned long long ull;

static const char kMagic[6] = {'\x93', 'N', 'U', 'M', 'P', 'Y'};

/// A cursor over the header text, for the dict tokenizer.
typedef struct cursor_t {
  const char *text;
  size_t length;
  size_t pos;
} cursor_t;

static void skip_space(cursor_t *cursor) {
  while (cursor->pos < cursor->length && isspace((unsigned char)cursor->text[cursor->pos])) {
    cursor->pos++;
  }
}

/// Consumes `token` (after optional whitespace) if it comes next.
static bool accept(cursor_t *cursor, const char *token) {
  skip_space(cursor);
  size_t length = strlen(token);
  if (cursor->length - cursor->pos < length ||
      memcmp(cursor->text + cursor->pos, token, length) != 0) {
    return false;
  }
  cursor->pos += length;
  return true;
}

/// Reads a '...' or "..." literal (no escapes: descr strings never need them) into `out`.
static bool parse_quoted(cursor_t *cursor, char *out, size_t capacity) {
  skip_space(cursor);
  if (cursor->pos >= cursor->length) return false;
  char quote = cursor->text[cursor->pos];
  if (quote != '\'' && quote != '"') return false;
  size_t start = ++cursor->pos;
  while (cursor->pos < cursor->length && cursor->text[cursor->pos] != quote) cursor->pos++;
  size_t length = cursor->pos - start;
  if (cursor->pos >= cursor->length || length >= capacity) return false;
  memcpy(out, cursor->text + start, length);
  out[length] = '\0';
  cursor->pos++;
  return true;
}

/// Reads "(d0, d1, ...)" with an optional trailing comma; "()" is a scalar.
static bool parse_shape(cursor_t *cursor, int32_t *out_rank, int64_t *out_dims) {
  if (!accept(cursor, "(")) return false;
  int32_t rank = 0;
  while (!accept(cursor, ")")) {
    skip_space(cursor);
    if (rank == KILN_MAX_RANK || cursor->pos >= cursor->length ||
        !isdigit((unsigned char)cursor->text[cursor->pos])) {
      return false;
    }
    int64_t value = 0;
    while (cursor->pos < cursor->length && isdigit((unsigned char)cursor->text[cursor->pos])) {
      int digit = cursor->text[cursor->pos++] - '0';
      if (value > (INT64_MAX - digit) / 10) return false;
      value = value * 10 + digit;
    }
    accept(cursor, "L");  // Python 2 long literals: "(3L, 4L)"
    out_dims[rank++] = value;
    if (!accept(cursor, ",")) {
      if (!accept(cursor, ")")) return false;
      break;
    }
  }
  *out_rank = rank;
  return true;
}

/// Maps a descr such as '<f4' or '|b1' to a dtype; sets *out_big_endian for '>' multi-byte.
static bool parse_descr(const char *descr, kiln_dtype_t *out_dtype, bool *out_big_endian) {
  char order = '=';
  if (descr[0] != '\0' && strchr("<>|=", descr[0]) != NULL) order = *descr++;
  char kind = descr[0];
  long size = 1;  // "?" (bool) has no size digits
  if (kind != '?' || descr[1] != '\0') {
    char *end = NULL;
    if (kind == '\0' || !isdigit((unsigned char)descr[1])) return false;
    size = strtol(descr + 1, &end, 10);
    if (*end != '\0') return false;
  }
  static const struct { char kind; long size; kiln_dtype_t dtype; } kTypes[] = {
      {'f', 2, KILN_DTYPE_F16}, {'f', 4, KILN_DTYPE_F32}, {'f', 8, KILN_DTYPE_F64},
      {'i', 1, KILN_DTYPE_I8},  {'i', 2, KILN_DTYPE_I16}, {'i', 4, KILN_DTYPE_I32},
      {'i', 8, KILN_DTYPE_I64}, {'u', 1, KILN_DTYPE_U8},  {'u', 2, KILN_DTYPE_U16},
      {'u', 4, KILN_DTYPE_U32}, {'u', 8, KILN_DTYPE_U64}, {'b', 1, KILN_DTYPE_BOOL},
      {'?', 1, KILN_DTYPE_BOOL},
  };
  // '|' (no byte order) only makes sense for single bytes; '=' is native order, which is
  // little endian on every target kiln supports.
  if (size > 1 && order == '|') return false;
  for (size_t i = 0; i < sizeof kTypes / sizeof kTypes[0]; i++) {
    if (kTypes[i].kind == kind && kTypes[i].size == size) {
      *out_big_endian = size > 1 && order == '>';
      *out_dtype = kTypes[i].dtype;
      return true;
    }
  }
  return false;
}

/// Parses the header dict into *out (dtype, rank, dims).
static kiln_status_t parse_header(const char *path, const char *text, size_t length,
                                  kiln_npy_array_t *out) {
  cursor_t cursor = {text, length, 0};
  char key[32], descr[32] = "";
  bool have_descr = false, have_order = false, have_shape = false, fortran_order = false;
  bool ok = accept(&cursor, "{");
  while (ok && !accept(&cursor, "}")) {
    ok = parse_quoted(&cursor, key, sizeof key) && accept(&cursor, ":");
    if (!ok) break;
    if (strcmp(key, "descr") == 0) {
      ok = have_descr = parse_quoted(&cursor, descr, sizeof descr);
    } else if (strcmp(key, "fortran_order") == 0) {
      have_order = true;
      fortran_order = accept(&cursor, "True");
      ok = fortran_order || accept(&cursor, "False");
    } else if (strcmp(key, "shape") == 0) {
      ok = have_shape = parse_shape(&cursor, &out->rank, out->dims);
    } else {
      char shown[160];
      return kiln_set_error(KILN_ERROR_FORMAT, "npy file %s: unexpected header key '%s'", path,
                            printable(shown, sizeof shown, key, strlen(key)));
    }
    // Entries are separated by commas, and one comma may trail before the '}'.
    if (ok && !accept(&cursor, ",")) {
      ok = accept(&cursor, "}");
      break;
    }
  }
  skip_space(&cursor);
  ok = ok && cursor.pos == cursor.length;
  if (!ok || !have_descr || !have_order || !have_shape) {
    while (length > 0 && isspace((unsigned char)text[length - 1])) length--;  // for the message
    char shown[1024];
    return kiln_set_error(KILN_ERROR_FORMAT,
                          "npy file %s: malformed header at character %zu (a dict with 'descr', "
                          "'fortran_order' and 'shape' is required): %s",
                          path, cursor.pos,
                          printable(shown, sizeof shown, text, length > 200 ? 200 : length));
  }
  if (fortran_order) {
    return kiln_set_error(KILN_ERROR_FORMAT,
                          "npy file %s: fortran_order is True; save a C-order array "
                          "(numpy.ascontiguousarray)",
                          path);
  }
  bool big_endian = false;
  if (!parse_descr(descr, &out->dtype, &big_endian)) {
    char shown[160];
    return kiln_set_error(KILN_ERROR_FORMAT, "npy file %s: unsupported dtype '%s'", path,
                          printable(shown, sizeof shown, descr, strlen(descr)));
  }
  if (big_endian) {
    return kiln_set_error(KILN_ERROR_FORMAT,
                          "npy file %s: dtype '%s' is not little endian; convert it with "
                          "array.astype(array.dtype.newbyteorder('<'))",
                          path, descr);
  }
  return KILN_OK;
}

static uint64_t read_le(const unsigned char *bytes, int count) {
  uint64_t value = 0;
  for (int i = count - 1; i >= 0; i--) value = (value << 8) | bytes[i];
  return value;
}

/// Reads the whole header and data of an open file into *out.
static kiln_status_t read_file(const char *path, FILE *file, uint64_t file_size,
                               kiln_npy_array_t *out) {
  unsigned char prefix[12];
  if (file_size < 10 || fread(prefix, 1, 10, file) != 10 || memcmp(prefix, kMagic, 6) != 0) {
    return kiln_set_error(KILN_ERROR_FORMAT, "npy file %s: not a .npy file (no \\x93NUMPY magic)",
                          path);
  }
  int major = prefix[6];
  if (major < 1 || major > 3) {
    return kiln_set_error(KILN_ERROR_FORMAT, "npy file %s: format version %d.%d not supported",
                          path, major, prefix[7]);
  }
  int length_bytes = major == 1 ? 2 : 4;
  if (major > 1 && (file_size < 12 || fread(prefix + 10, 1, 2, file) != 2)) {
    return kiln_set_error(KILN_ERROR_FORMAT, "npy file %s: truncated header", path);
  }
  uint64_t header_length = read_le(prefix + 8, length_bytes);
  uint64_t data_offset = 8 + (uint64_t)length_bytes + header_length;
  if (data_offset > file_size) {
    return kiln_set_error(KILN_ERROR_FORMAT,
                          "npy file %s: header of %llu bytes does not fit in the file (%llu bytes)",
                          path, (ull)header_length, (ull)file_size);
  }
  char *header = malloc((size_t)header_length + 1);
  if (header == NULL) return kiln_set_error(KILN_ERROR_MEMORY, "npy file %s: no memory", path);
  kiln_status_t status = KILN_OK;
  if (fread(header, 1, (size_t)header_length, file) != header_length) {
    status = kiln_set_error(KILN_ERROR_IO, "npy file %s: cannot read the header", path);
  } else {
    header[header_length] = '\0';
    status = parse_header(path, header, (size_t)header_length, out);
  }
  free(header);
  if (status != KILN_OK) return status;

  uint64_t bytes = kiln_dtype_size(out->dtype);
  for (int32_t d = 0; d < out->rank; d++) {
    uint64_t dim = (uint64_t)out->dims[d];
    if (dim != 0 && bytes > UINT64_MAX / dim) {
      return kiln_set_error(KILN_ERROR_FORMAT, "npy file %s: shape overflows", path);
    }
    bytes *= dim;
  }
  if (bytes != file_size - data_offset) {
    return kiln_set_error(KILN_ERROR_FORMAT,
                          "npy file %s: shape and dtype %s need %llu bytes of data, the file has "
                          "%llu",
                          path, kiln_dtype_name(out->dtype), (ull)bytes,
                          (ull)(file_size - data_offset));
  }
  out->byte_size = bytes;
  out->data = malloc(bytes > 0 ? (size_t)bytes : 1);
  if (out->data == NULL) {
    return kiln_set_error(KILN_ERROR_MEMORY, "npy file %s: no memory for %llu bytes", path,
                          (ull)bytes);
  }
  if (fread(out->data, 1, (size_t)bytes, file) != bytes) {
    return kiln_set_error(KILN_ERROR_IO, "npy file %s: cannot read %llu bytes of data", path,
                          (ull)bytes);
  }
  return KILN_OK;
}

kiln_status_t kiln_npy_read(const char *path, kiln_npy_array_t *out) {
  memset(out, 0, sizeof *out);
  // O_NONBLOCK and a regular-file check: a FIFO or device would block or never end.
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) {
    return kiln_set_error(KILN_ERROR_IO, "npy file %s: cannot open: %s", path, strerror(errno));
  }
  struct stat info;
  if (fstat(fd, &info) != 0 || !S_ISREG(info.st_mode)) {
    close(fd);
    return kiln_set_error(KILN_ERROR_IO, "npy file %s: not a regular file", path);
  }
  FILE *file = fdopen(fd, "rb");
  if (file == NULL) {
    close(fd);
    return kiln_set_error(KILN_ERROR_IO, "npy file %s: cannot open: %s", path, strerror(errno));
  }
  long size = -1;
  if (fseek(file, 0, SEEK_END) == 0) size = ftell(file);
  kiln_status_t status;
  if (size < 0 || fseek(file, 0, SEEK_SET) != 0) {
    status = kiln_set_error(KILN_ERROR_IO, "npy file %s: cannot determine its size", path);
  } else {
    status = read_file(path, file, (uint64_t)size, out);
  }
  fclose(file);
  if (status != KILN_OK) kiln_npy_free(out);
  return status;
}

void kiln_npy_free(kiln_npy_array_t *array) {
  if (array == NULL) return;
  free(array->data);
  memset(array, 0, sizeof *array);
}

static const char *descr_of(kiln_dtype_t dtype) {
  switch (dtype) {
    case KILN_DTYPE_F32: return "<f4";
    case KILN_DTYPE_F16: return "<f2";
    case KILN_DTYPE_F64: return "<f8";
    case KILN_DTYPE_I8: return "|i1";
    case KILN_DTYPE_I16: return "<i2";
    case KILN_DTYPE_I32: return "<i4";
    case KILN_DTYPE_I64: return "<i8";
    case KILN_DTYPE_U8: return "|u1";
    case KILN_DTYPE_U16: return "<u2";
    case KILN_DTYPE_U32: return "<u4";
    case KILN_DTYPE_U64: return "<u8";
    case KILN_DTYPE_BOOL: return "|b1";
  }
  return NULL;
}

kiln_status_t kiln_npy_write(const char *path, kiln_dtype_t dtype, int32_t rank,
                             const int64_t *dims, const void *data) {
  const char *descr = descr_of(dtype);
  uint64_t bytes = kiln_dtype_size(dtype);
  bool valid = descr != NULL && rank >= 0 && rank <= KILN_MAX_RANK && (rank == 0 || dims);
  for (int32_t d = 0; valid && d < rank; d++) {
    valid = dims[d] >= 0 && (dims[d] == 0 || bytes <= UINT64_MAX / (uint64_t)dims[d]);
    if (valid) bytes *= (uint64_t)dims[d];
  }
  if (!valid || (bytes > 0 && data == NULL)) {
    return kiln_set_error(KILN_ERROR_ARGUMENT, "npy file %s: invalid dtype %d or shape (rank %d)",
                          path, (int)dtype, rank);
  }
  // 1. The header, byte for byte as numpy writes it: "(n,)" for one dimension, padded with
  //    spaces so that magic + version + length + dict + '\n' is a multiple of 64 bytes.
  char header[512];
  int length = snprintf(header, sizeof header, "{'descr': '%s', 'fortran_order': False, 'shape': (",
                        descr);
  for (int32_t d = 0; d < rank; d++) {
    length += snprintf(header + length, sizeof header - (size_t)length, d ? ", %lld" : "%lld",
                       (long long)dims[d]);
  }
  length += snprintf(header + length, sizeof header - (size_t)length, "%s), }",
                     rank == 1 ? "," : "");
  // numpy leaves room for the first dimension to grow to 21 digits (appending in place).
  if (rank > 0) {
    int digits = snprintf(NULL, 0, "%lld", (long long)dims[0]);
    while (digits++ < 21) header[length++] = ' ';
  }
  while ((10 + length + 1) % 64 != 0) header[length++] = ' ';
  header[length++] = '\n';
  unsigned char prefix[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0,
                              (unsigned char)(length & 0xff), (unsigned char)(length >> 8)};

  // 2. Write "<path>.tmp" and rename it over `path` only once everything is on disk.
  size_t path_length = strlen(path);
  char *temporary = malloc(path_length + 5);
  if (temporary == NULL) return kiln_set_error(KILN_ERROR_MEMORY, "npy file %s: no memory", path);
  memcpy(temporary, path, path_length);
  memcpy(temporary + path_length, ".tmp", 5);
  kiln_status_t status = KILN_OK;
  // Created exclusively and never through a symlink: a link planted at "<path>.tmp" must not
  // redirect the write. A stale temporary (a crashed run's) is removed once, not followed.
  int flags = O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC;
  int fd = open(temporary, flags, 0644);
  if (fd < 0 && errno == EEXIST && unlink(temporary) == 0) fd = open(temporary, flags, 0644);
  FILE *file = fd >= 0 ? fdopen(fd, "wb") : NULL;
  if (file == NULL && fd >= 0) close(fd);
  if (file == NULL) {
    status = kiln_set_error(KILN_ERROR_IO, "npy file %s: cannot create: %s", temporary,
                            strerror(errno));
  } else {
    bool written = fwrite(prefix, 1, sizeof prefix, file) == sizeof prefix &&
                   fwrite(header, 1, (size_t)length, file) == (size_t)length &&
                   (bytes == 0 || fwrite(data, 1, (size_t)bytes, file) == bytes);
    written = (fclose(file) == 0) && written;
    if (!written || rename(temporary, path) != 0) {
      status = kiln_set_error(KILN_ERROR_IO, "npy file %s: cannot write: %s", path,
                              strerror(errno));
      remove(temporary);
    }
  }
  free(temporary);
  return status;
}
