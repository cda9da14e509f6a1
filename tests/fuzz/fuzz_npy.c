/* fuzz_npy.c - fuzz target: the runtime's .npy reader, and a write/read round trip.
 *
 * Any bytes must either read or fail with a message. An array that reads is written back
 * with kiln_npy_write and read again: dtype, shape and data must survive unchanged. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kiln/npy.h"

static char input_path[64], copy_path[64];

static int write_file(const char *path, const uint8_t *data, size_t size) {
  FILE *f = fopen(path, "wb");
  if (!f)
    return 0;
  int ok = fwrite(data, 1, size, f) == size;
  return fclose(f) == 0 && ok;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (!input_path[0]) {
    snprintf(input_path, sizeof input_path, "/tmp/kiln-fuzz-npy-%d.npy", (int)getpid());
    snprintf(copy_path, sizeof copy_path, "/tmp/kiln-fuzz-npy-%d-copy.npy", (int)getpid());
  }
  if (!write_file(input_path, data, size))
    abort();
  kiln_npy_array_t array;
  if (kiln_npy_read(input_path, &array) == KILN_OK) {
    if (kiln_npy_write(copy_path, array.dtype, array.rank, array.dims, array.data) != KILN_OK)
      abort();  /* an array kiln read must be writable */
    kiln_npy_array_t again;
    if (kiln_npy_read(copy_path, &again) != KILN_OK || again.dtype != array.dtype ||
        again.rank != array.rank || again.byte_size != array.byte_size ||
        memcmp(again.dims, array.dims, sizeof array.dims) != 0 ||
        (array.byte_size && memcmp(again.data, array.data, array.byte_size) != 0))
      abort();  /* the round trip changed the array */
    kiln_npy_free(&again);
    kiln_npy_free(&array);
  }
  unlink(input_path);
  unlink(copy_path);
  return 0;
}
