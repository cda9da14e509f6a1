/* gguf.c - a bounds-checked GGUF v3 reader over a read-only mapped weights file.
 *
 * A GGUF file is: magic "GGUF", version, tensor count, metadata count, the metadata
 * key/values, the tensor infos, then the data section at the next multiple of
 * "general.alignment". All integers are little endian. Every read goes through a reader that
 * checks the bytes left first, and all size arithmetic is overflow-checked, because the file
 * is input: a cut or corrupted file must yield a message naming the file and the byte offset
 * or tensor, never a crash. The tensor table is allocated only after a first pass has proved
 * that every tensor info really is in the file, so a hostile count cannot cause a huge
 * allocation.
 */
#define _POSIX_C_SOURCE 200809L

#include "gguf.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "error.h"

typedef unsigned long long ull;  // printf's %llu, shorter than PRIu64 at every call

/// Metadata value types of GGUF v3.
enum {
  GGUF_TYPE_UINT32 = 4,
  GGUF_TYPE_STRING = 8,
  GGUF_TYPE_ARRAY = 9,
  GGUF_TYPE_COUNT = 13,
};

/// Bytes of one value of each metadata type; strings and arrays are sized by their content.
static const uint8_t kValueSizes[GGUF_TYPE_COUNT] = {1, 1, 2, 2, 4, 4, 4, 1, 0, 0, 8, 8, 8};

/// Arrays may hold arrays; the cap bounds recursion on hostile input.
#define MAX_ARRAY_NESTING 4
/// Names quoted in messages are clipped: a corrupted length could make them megabytes long.
#define NAME_CLIP(length) ((int)((length) > 200 ? 200 : (length)))

static bool add_u64(uint64_t a, uint64_t b, uint64_t *out) {
  if (a > UINT64_MAX - b) return false;
  *out = a + b;
  return true;
}

static bool mul_u64(uint64_t a, uint64_t b, uint64_t *out) {
  if (a != 0 && b > UINT64_MAX / a) return false;
  *out = a * b;
  return true;
}

/// A cursor over the file. `pos` never exceeds `size`.
typedef struct reader_t {
  const uint8_t *bytes;
  uint64_t size;
  uint64_t pos;
  const char *label;
} reader_t;

/// True if `count` bytes remain; otherwise records an error naming `what` and the offset.
static bool reader_need(reader_t *reader, uint64_t count, const char *what) {
  if (count <= reader->size - reader->pos) return true;
  kiln_set_error(KILN_ERROR_FORMAT,
                 "weights file %s: truncated or corrupted at byte %llu: %s needs %llu bytes, "
                 "%llu remain",
                 reader->label, (ull)reader->pos, what, (ull)count,
                 (ull)(reader->size - reader->pos));
  return false;
}

static bool read_uint(reader_t *reader, int bytes, const char *what, uint64_t *out) {
  if (!reader_need(reader, (uint64_t)bytes, what)) return false;
  uint64_t value = 0;
  for (int i = bytes - 1; i >= 0; i--) value = (value << 8) | reader->bytes[reader->pos + i];
  reader->pos += (uint64_t)bytes;
  *out = value;
  return true;
}

static bool read_u32(reader_t *reader, const char *what, uint32_t *out) {
  uint64_t value;
  if (!read_uint(reader, 4, what, &value)) return false;
  *out = (uint32_t)value;
  return true;
}

/// GGUF strings are a uint64 length and that many bytes, without a terminator.
static bool read_string(reader_t *reader, const char *what, const char **out,
                        uint64_t *out_length) {
  uint64_t length;
  if (!read_uint(reader, 8, what, &length) || !reader_need(reader, length, what)) return false;
  *out = (const char *)reader->bytes + reader->pos;
  *out_length = length;
  reader->pos += length;
  return true;
}

static bool string_equals(const char *string, uint64_t length, const char *c_string) {
  size_t c_length = strlen(c_string);
  return length == c_length && memcmp(string, c_string, c_length) == 0;
}

/// Skips one metadata value of `type`, recursing into arrays.
static bool skip_value(reader_t *reader, uint32_t type, int depth, const char *what) {
  if (type >= GGUF_TYPE_COUNT) {
    kiln_set_error(KILN_ERROR_FORMAT, "weights file %s: %s has unknown value type %u",
                   reader->label, what, type);
    return false;
  }
  if (type == GGUF_TYPE_STRING) {
    const char *unused;
    uint64_t length;
    return read_string(reader, what, &unused, &length);
  }
  if (type != GGUF_TYPE_ARRAY) {
    if (!reader_need(reader, kValueSizes[type], what)) return false;
    reader->pos += kValueSizes[type];
    return true;
  }
  uint32_t element_type;
  uint64_t count;
  if (!read_u32(reader, what, &element_type) || !read_uint(reader, 8, what, &count)) return false;
  if (element_type >= GGUF_TYPE_COUNT || (element_type == GGUF_TYPE_ARRAY &&
                                          depth + 1 >= MAX_ARRAY_NESTING)) {
    kiln_set_error(KILN_ERROR_FORMAT,
                   "weights file %s: %s is an array of unsupported type %u (at byte %llu)",
                   reader->label, what, element_type, (ull)reader->pos);
    return false;
  }
  // Every element takes at least this many bytes, so the count can be checked up front.
  uint64_t min_bytes = element_type == GGUF_TYPE_STRING  ? 8
                       : element_type == GGUF_TYPE_ARRAY ? 12
                                                         : kValueSizes[element_type];
  if (count > (reader->size - reader->pos) / min_bytes) {
    kiln_set_error(KILN_ERROR_FORMAT,
                   "weights file %s: %s: array of %llu elements at byte %llu does not fit in "
                   "the %llu bytes left",
                   reader->label, what, (ull)count, (ull)reader->pos,
                   (ull)(reader->size - reader->pos));
    return false;
  }
  if (element_type != GGUF_TYPE_STRING && element_type != GGUF_TYPE_ARRAY) {
    reader->pos += count * min_bytes;  // cannot overflow: checked against the bytes left
    return true;
  }
  for (uint64_t i = 0; i < count; i++) {
    if (!skip_value(reader, element_type, depth + 1, what)) return false;
  }
  return true;
}

/// Name and block layout of each GGML type kiln knows; plain types are 1-element blocks.
/// Quantized blocks hold 32 elements: an f16 scale (and min), then the packed values.
static const struct {
  const char *name;
  uint8_t block_elements;
  uint8_t block_bytes;
} kGgmlTypes[] = {
    [KILN_GGML_F32] = {"f32", 1, 4},     [KILN_GGML_F16] = {"f16", 1, 2},
    [KILN_GGML_Q4_0] = {"q4_0", 32, 18}, [KILN_GGML_Q4_1] = {"q4_1", 32, 20},
    [KILN_GGML_Q5_0] = {"q5_0", 32, 22}, [KILN_GGML_Q5_1] = {"q5_1", 32, 24},
    [KILN_GGML_Q8_0] = {"q8_0", 32, 34}, [KILN_GGML_I8] = {"i8", 1, 1},
    [KILN_GGML_I16] = {"i16", 1, 2},     [KILN_GGML_I32] = {"i32", 1, 4},
    [KILN_GGML_I64] = {"i64", 1, 8},     [KILN_GGML_F64] = {"f64", 1, 8},
};

/// kiln's interleaved twins take as many bytes per 32 values as the GGML format they
/// rearrange (the 16-row grouping shows in the layout, not the size).
static const struct {
  uint32_t id;
  const char *name;
  uint32_t ggml_twin;
} kKilnTypes[] = {
    {KILN_Q4_0_X16, "q4_0x16", KILN_GGML_Q4_0},
    {KILN_Q4_1_X16, "q4_1x16", KILN_GGML_Q4_1},
    {KILN_Q5_0_X16, "q5_0x16", KILN_GGML_Q5_0},
    {KILN_Q5_1_X16, "q5_1x16", KILN_GGML_Q5_1},
    {KILN_Q8_0_X16, "q8_0x16", KILN_GGML_Q8_0},
};

static bool ggml_type_known(uint32_t ggml_type) {
  return ggml_type < sizeof kGgmlTypes / sizeof kGgmlTypes[0] &&
         kGgmlTypes[ggml_type].name != NULL;
}

/// The GGML type whose block layout `type` has, or `type` itself; sets *name.
static uint32_t layout_type(uint32_t type, const char **name) {
  for (size_t i = 0; i < sizeof kKilnTypes / sizeof kKilnTypes[0]; i++) {
    if (kKilnTypes[i].id == type) {
      *name = kKilnTypes[i].name;
      return kKilnTypes[i].ggml_twin;
    }
  }
  *name = ggml_type_known(type) ? kGgmlTypes[type].name : "unknown";
  return type;
}

bool kiln_ggml_type_layout(uint32_t ggml_type, uint32_t *out_block_elements,
                           uint32_t *out_block_bytes) {
  const char *name;
  uint32_t layout = layout_type(ggml_type, &name);
  if (!ggml_type_known(layout)) return false;
  *out_block_elements = kGgmlTypes[layout].block_elements;
  *out_block_bytes = kGgmlTypes[layout].block_bytes;
  return true;
}

static const char *ggml_type_name(uint32_t ggml_type) {
  const char *name;
  layout_type(ggml_type, &name);
  return name;
}

/// Reads one tensor info; fills *out when it is not NULL (the second pass).
static bool read_tensor_info(reader_t *reader, uint64_t index, kiln_gguf_tensor_t *out) {
  char what[320];
  uint64_t info_offset = reader->pos;
  snprintf(what, sizeof what, "the name of tensor info %llu", (ull)index);
  const char *name;
  uint64_t name_length;
  if (!read_string(reader, what, &name, &name_length)) return false;
  snprintf(what, sizeof what, "tensor '%.*s' (info at byte %llu)", NAME_CLIP(name_length), name,
           (ull)info_offset);
  uint32_t n_dims, ggml_type;
  uint64_t ne[KILN_GGUF_MAX_DIMS], offset;
  if (!read_u32(reader, what, &n_dims)) return false;
  if (n_dims > KILN_GGUF_MAX_DIMS) {
    kiln_set_error(KILN_ERROR_FORMAT, "weights file %s: %s has %u dimensions (at most %d)",
                   reader->label, what, n_dims, KILN_GGUF_MAX_DIMS);
    return false;
  }
  for (uint32_t d = 0; d < n_dims; d++) {
    if (!read_uint(reader, 8, what, &ne[d])) return false;
    if (ne[d] > (uint64_t)INT64_MAX) {
      kiln_set_error(KILN_ERROR_FORMAT, "weights file %s: %s has dimension ne[%u] = %llu",
                     reader->label, what, d, (ull)ne[d]);
      return false;
    }
  }
  if (!read_u32(reader, what, &ggml_type) || !read_uint(reader, 8, what, &offset)) return false;
  if (out != NULL) {
    out->name = name;
    out->name_length = name_length;
    out->n_dims = n_dims;
    memcpy(out->ne, ne, n_dims * sizeof ne[0]);
    out->ggml_type = ggml_type;
    out->offset = offset;
  }
  return true;
}

/// Computes a tensor's byte size and locates its data inside the file.
static bool locate_tensor(const kiln_gguf_t *file, kiln_gguf_tensor_t *tensor) {
  int name_length = NAME_CLIP(tensor->name_length);
  uint32_t block_elements, block_bytes;
  if (!kiln_ggml_type_layout(tensor->ggml_type, &block_elements, &block_bytes)) {
    kiln_set_error(KILN_ERROR_FORMAT, "weights file %s: tensor '%.*s' has unknown GGML type %u",
                   file->label, name_length, tensor->name, tensor->ggml_type);
    return false;
  }
  uint64_t elements = 1;
  for (uint32_t d = 0; d < tensor->n_dims; d++) {
    if (!mul_u64(elements, tensor->ne[d], &elements)) {
      kiln_set_error(KILN_ERROR_FORMAT, "weights file %s: tensor '%.*s': element count overflows",
                     file->label, name_length, tensor->name);
      return false;
    }
  }
  // Quantized rows are made of whole blocks.
  uint64_t row = tensor->n_dims > 0 ? tensor->ne[0] : 1;
  if (row % block_elements != 0) {
    kiln_set_error(KILN_ERROR_FORMAT,
                   "weights file %s: tensor '%.*s': ne[0] = %llu is not a multiple of the "
                   "%s block size %u",
                   file->label, name_length, tensor->name, (ull)row,
                   ggml_type_name(tensor->ggml_type), block_elements);
    return false;
  }
  tensor->byte_size = elements / block_elements * block_bytes;  // <= elements * 2: no overflow
  if (tensor->offset % file->alignment != 0) {
    kiln_set_error(KILN_ERROR_FORMAT,
                   "weights file %s: tensor '%.*s': data offset %llu is not a multiple of the "
                   "alignment %llu",
                   file->label, name_length, tensor->name, (ull)tensor->offset,
                   (ull)file->alignment);
    return false;
  }
  uint64_t start, end;
  if (!add_u64(file->data_offset, tensor->offset, &start) ||
      !add_u64(start, tensor->byte_size, &end) || end > file->size) {
    kiln_set_error(KILN_ERROR_FORMAT,
                   "weights file %s: tensor '%.*s': %llu bytes of data at offset %llu + %llu lie "
                   "beyond the end of the file (%llu bytes)",
                   file->label, name_length, tensor->name, (ull)tensor->byte_size,
                   (ull)file->data_offset, (ull)tensor->offset, (ull)file->size);
    return false;
  }
  tensor->data = file->bytes + start;
  return true;
}

/// Parses header, metadata and tensor infos of file->bytes into *file.
static int compare_by_offset(const void *a, const void *b) {
  const kiln_gguf_tensor_t *x = *(const kiln_gguf_tensor_t *const *)a;
  const kiln_gguf_tensor_t *y = *(const kiln_gguf_tensor_t *const *)b;
  return (x->offset > y->offset) - (x->offset < y->offset);
}

/// Tensors must not share bytes: a moved offset that made two weights overlap would
/// otherwise pass every other check and run with wrong values.
static kiln_status_t check_no_overlap(const kiln_gguf_t *file) {
  if (file->tensor_count < 2) return KILN_OK;
  const kiln_gguf_tensor_t **order = malloc((size_t)file->tensor_count * sizeof *order);
  if (order == NULL) {
    return kiln_set_error(KILN_ERROR_MEMORY, "weights file %s: no memory", file->label);
  }
  for (uint64_t i = 0; i < file->tensor_count; i++) order[i] = &file->tensors[i];
  qsort(order, (size_t)file->tensor_count, sizeof *order, compare_by_offset);
  kiln_status_t status = KILN_OK;
  for (uint64_t i = 1; i < file->tensor_count && status == KILN_OK; i++) {
    const kiln_gguf_tensor_t *previous = order[i - 1], *tensor = order[i];
    if (previous->byte_size > 0 && tensor->byte_size > 0 &&
        previous->offset + previous->byte_size > tensor->offset) {
      status = kiln_set_error(
          KILN_ERROR_FORMAT,
          "weights file %s: tensors '%.*s' (data bytes %llu..%llu) and '%.*s' (from %llu) overlap",
          file->label, NAME_CLIP(previous->name_length), previous->name, (ull)previous->offset,
          (ull)(previous->offset + previous->byte_size), NAME_CLIP(tensor->name_length),
          tensor->name, (ull)tensor->offset);
    }
  }
  free(order);
  return status;
}

static kiln_status_t parse(kiln_gguf_t *file) {
  reader_t reader = {file->bytes, file->size, 0, file->label};
  uint32_t magic;
  uint64_t tensor_count, kv_count;
  if (!read_u32(&reader, "the magic number", &magic)) return KILN_ERROR_FORMAT;
  if (memcmp(file->bytes, "GGUF", 4) != 0) {
    const uint8_t *b = file->bytes;
    return kiln_set_error(KILN_ERROR_FORMAT,
                          "weights file %s: not a GGUF file (starts with %02x %02x %02x %02x)",
                          file->label, b[0], b[1], b[2], b[3]);
  }
  if (!read_u32(&reader, "the version", &file->version)) return KILN_ERROR_FORMAT;
  if (file->version != 3) {
    return kiln_set_error(KILN_ERROR_FORMAT,
                          "weights file %s: GGUF version %u is not supported (kiln reads 3)",
                          file->label, file->version);
  }
  if (!read_uint(&reader, 8, "the tensor count", &tensor_count) ||
      !read_uint(&reader, 8, "the metadata count", &kv_count)) {
    return KILN_ERROR_FORMAT;
  }
  // A key/value takes at least 13 bytes and a tensor info 24: reject absurd counts early.
  uint64_t left = file->size - reader.pos;
  if (kv_count > left / 13 || tensor_count > left / 24) {
    return kiln_set_error(KILN_ERROR_FORMAT,
                          "weights file %s: corrupted header: %llu tensors and %llu metadata "
                          "entries cannot fit in a file of %llu bytes",
                          file->label, (ull)tensor_count, (ull)kv_count, (ull)file->size);
  }
  file->kv_count = kv_count;
  file->kv_offset = reader.pos;
  file->alignment = 32;
  for (uint64_t i = 0; i < kv_count; i++) {
    char what[320];
    uint64_t entry_offset = reader.pos;
    snprintf(what, sizeof what, "the key of metadata entry %llu", (ull)i);
    const char *key;
    uint64_t key_length;
    uint32_t type;
    if (!read_string(&reader, what, &key, &key_length)) return KILN_ERROR_FORMAT;
    snprintf(what, sizeof what, "metadata '%.*s' (entry at byte %llu)", NAME_CLIP(key_length),
             key, (ull)entry_offset);
    if (!read_u32(&reader, what, &type)) return KILN_ERROR_FORMAT;
    if (!string_equals(key, key_length, "general.alignment")) {
      if (!skip_value(&reader, type, 0, what)) return KILN_ERROR_FORMAT;
      continue;
    }
    uint32_t alignment = 0;
    if (type == GGUF_TYPE_UINT32 && !read_u32(&reader, what, &alignment)) return KILN_ERROR_FORMAT;
    if (alignment == 0 || (alignment & (alignment - 1)) != 0) {
      return kiln_set_error(KILN_ERROR_FORMAT,
                            "weights file %s: %s must be a power of two of type uint32 (type %u, "
                            "value %u)",
                            file->label, what, type, alignment);
    }
    file->alignment = alignment;
  }
  // Pass 1 proves the infos are all in the file; only then is the table allocated (pass 2).
  uint64_t infos_offset = reader.pos;
  for (uint64_t i = 0; i < tensor_count; i++) {
    if (!read_tensor_info(&reader, i, NULL)) return KILN_ERROR_FORMAT;
  }
  uint64_t padded;
  if (!add_u64(reader.pos, file->alignment - 1, &padded)) {
    return kiln_set_error(KILN_ERROR_FORMAT, "weights file %s: data section offset overflows",
                          file->label);
  }
  file->data_offset = padded / file->alignment * file->alignment;
  file->tensor_count = tensor_count;
  if (tensor_count == 0) return KILN_OK;
  file->tensors = calloc((size_t)tensor_count, sizeof(kiln_gguf_tensor_t));
  if (file->tensors == NULL) {
    return kiln_set_error(KILN_ERROR_MEMORY, "weights file %s: no memory for %llu tensor infos",
                          file->label, (ull)tensor_count);
  }
  reader.pos = infos_offset;
  for (uint64_t i = 0; i < tensor_count; i++) {
    if (!read_tensor_info(&reader, i, &file->tensors[i]) ||
        !locate_tensor(file, &file->tensors[i])) {
      return KILN_ERROR_FORMAT;
    }
  }
  return check_no_overlap(file);
}

kiln_status_t kiln_gguf_parse(const char *label, const uint8_t *bytes, uint64_t size,
                              kiln_gguf_t *out_file) {
  memset(out_file, 0, sizeof *out_file);
  kiln_gguf_t file = {0};
  file.label = strdup(label != NULL ? label : "<memory>");
  if (file.label == NULL) return kiln_set_error(KILN_ERROR_MEMORY, "no memory for a file name");
  file.bytes = bytes;
  file.size = bytes != NULL ? size : 0;
  kiln_status_t status = parse(&file);
  if (status != KILN_OK) {
    kiln_gguf_close(&file);
    return status;
  }
  *out_file = file;
  return KILN_OK;
}

kiln_status_t kiln_gguf_open(const char *path, kiln_gguf_t *out_file) {
  memset(out_file, 0, sizeof *out_file);
  // O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer forever; it
  // fails the regular-file check below instead. (Regular files ignore the flag.)
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) {
    return kiln_set_error(KILN_ERROR_IO, "weights file %s: cannot open: %s", path,
                          strerror(errno));
  }
  struct stat info;
  if (fstat(fd, &info) != 0 || !S_ISREG(info.st_mode)) {
    close(fd);
    return kiln_set_error(KILN_ERROR_IO, "weights file %s: not a regular file", path);
  }
  if (info.st_size == 0 || (uint64_t)info.st_size > SIZE_MAX) {
    close(fd);
    return kiln_set_error(KILN_ERROR_FORMAT, "weights file %s: size %lld cannot be a GGUF file",
                          path, (long long)info.st_size);
  }
  size_t size = (size_t)info.st_size;
  void *map = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
  int map_errno = errno;
  close(fd);  // the mapping keeps the file open
  if (map == MAP_FAILED) {
    return kiln_set_error(KILN_ERROR_IO, "weights file %s: cannot map %zu bytes: %s", path, size,
                          strerror(map_errno));
  }
  kiln_status_t status = kiln_gguf_parse(path, map, size, out_file);
  if (status != KILN_OK) {
    munmap(map, size);
    return status;
  }
  out_file->mapped = true;
  return KILN_OK;
}

void kiln_gguf_close(kiln_gguf_t *file) {
  if (file == NULL) return;
  if (file->mapped) munmap((void *)file->bytes, (size_t)file->size);
  free(file->tensors);
  free(file->label);
  memset(file, 0, sizeof *file);
}

const kiln_gguf_tensor_t *kiln_gguf_find_tensor(const kiln_gguf_t *file, const char *name) {
  for (uint64_t i = 0; i < file->tensor_count; i++) {
    const kiln_gguf_tensor_t *tensor = &file->tensors[i];
    if (string_equals(tensor->name, tensor->name_length, name)) return tensor;
  }
  return NULL;
}

bool kiln_gguf_find_string(const kiln_gguf_t *file, const char *key, const char **out_string,
                           uint64_t *out_length) {
  // The metadata was validated by parse, so these reads cannot fail; they stay checked anyway.
  reader_t reader = {file->bytes, file->size, file->kv_offset, file->label};
  for (uint64_t i = 0; i < file->kv_count; i++) {
    const char *entry_key;
    uint64_t key_length;
    uint32_t type;
    if (!read_string(&reader, "a key", &entry_key, &key_length) ||
        !read_u32(&reader, "a type", &type)) {
      return false;
    }
    if (string_equals(entry_key, key_length, key)) {
      return type == GGUF_TYPE_STRING && read_string(&reader, key, out_string, out_length);
    }
    if (!skip_value(&reader, type, 0, "a value")) return false;
  }
  return false;
}

/// Writes "[d0,d1,...]" into `buffer` from `dims`, or from GGUF's innermost-first `ne`.
static const char *format_dims(char *buffer, size_t size, int rank, const int64_t *dims,
                               const uint64_t *ne) {
  size_t used = (size_t)snprintf(buffer, size, "[");
  for (int i = 0; i < rank && used < size; i++) {
    long long value = dims != NULL ? (long long)dims[i] : (long long)ne[rank - 1 - i];
    used += (size_t)snprintf(buffer + used, size - used, i ? ",%lld" : "%lld", value);
  }
  if (used < size) snprintf(buffer + used, size - used, "]");
  return buffer;
}

kiln_status_t kiln_gguf_bind_program(const kiln_gguf_t *file, const kiln_program_t *program,
                                     const uint8_t **out_weights) {
  const char *fingerprint;
  uint64_t fingerprint_length;
  if (!kiln_gguf_find_string(file, "kiln.fingerprint", &fingerprint, &fingerprint_length)) {
    return kiln_set_error(KILN_ERROR_MISMATCH,
                          "weights file %s does not belong to this executable: it has no string "
                          "metadata 'kiln.fingerprint' (model '%s' expects '%s')",
                          file->label, program->model_name, program->fingerprint);
  }
  if (!string_equals(fingerprint, fingerprint_length, program->fingerprint)) {
    return kiln_set_error(KILN_ERROR_MISMATCH,
                          "weights file %s does not belong to this executable: its "
                          "kiln.fingerprint is '%.*s', model '%s' expects '%s'",
                          file->label, NAME_CLIP(fingerprint_length), fingerprint,
                          program->model_name, program->fingerprint);
  }
  for (int32_t i = 0; i < program->num_weights; i++) {
    const kiln_weight_desc_t *weight = &program->weights[i];
    const kiln_gguf_tensor_t *tensor = kiln_gguf_find_tensor(file, weight->name);
    if (tensor == NULL) {
      return kiln_set_error(KILN_ERROR_MISMATCH, "weights file %s: tensor '%s' missing",
                            file->label, weight->name);
    }
    if (tensor->ggml_type != weight->ggml_type) {
      return kiln_set_error(KILN_ERROR_MISMATCH,
                            "weights file %s: tensor '%s' has GGML type %s (%u), expected %s (%u)",
                            file->label, weight->name, ggml_type_name(tensor->ggml_type),
                            tensor->ggml_type, ggml_type_name(weight->ggml_type),
                            weight->ggml_type);
    }
    bool same_dims = (int64_t)tensor->n_dims == weight->rank;
    for (int32_t d = 0; same_dims && d < weight->rank; d++) {
      same_dims = (uint64_t)weight->dims[d] == tensor->ne[weight->rank - 1 - d];
    }
    if (!same_dims) {
      char have[200], want[200];
      return kiln_set_error(KILN_ERROR_MISMATCH,
                            "weights file %s: tensor '%s' has shape %s, expected %s (outermost "
                            "first)",
                            file->label, weight->name,
                            format_dims(have, sizeof have, (int)tensor->n_dims, NULL, tensor->ne),
                            format_dims(want, sizeof want, weight->rank, weight->dims, NULL));
    }
    if (tensor->byte_size != weight->byte_size) {
      return kiln_set_error(KILN_ERROR_MISMATCH,
                            "weights file %s: tensor '%s' holds %llu bytes, expected %llu",
                            file->label, weight->name, (ull)tensor->byte_size,
                            (ull)weight->byte_size);
    }
    out_weights[i] = tensor->data;
  }
  return KILN_OK;
}
