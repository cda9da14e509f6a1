/* embedded.c - the mlp model's library built with --weights embed, opened four ways: the
 * embedded weights (NULL path), the embedded weights with the caller's arena, a weights
 * file read into the caller's memory, and with bad memory (refused).
 *
 * usage: embedded DIR   (DIR holds a.bin, b.bin and mlp-file.gguf, the external weights of
 * the same model; the outputs go to DIR/p.bin and DIR/n.bin)
 */
#include <stdalign.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mlp.h"

static int failures = 0;
#define CHECK(cond, what)                                                              \
  do {                                                                                 \
    if (!(cond)) {                                                                     \
      fprintf(stderr, "FAIL %s:%d: %s (%s)\n", __FILE__, __LINE__, what, mlp_last_error()); \
      failures++;                                                                      \
    }                                                                                  \
  } while (0)

static size_t read_file(const char *dir, const char *name, void *data, size_t capacity) {
  char path[4096];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  FILE *f = fopen(path, "rb");
  if (!f) {
    fprintf(stderr, "cannot open %s\n", path);
    exit(2);
  }
  size_t got = fread(data, 1, capacity, f);
  fclose(f);
  return got;
}

static alignas(MLP_ARENA_ALIGNMENT) unsigned char arena[MLP_ARENA_BYTES + MLP_ARENA_ALIGNMENT];
static alignas(64) unsigned char weights_copy[MLP_WEIGHTS_BYTES + 64];

int main(int argc, char **argv) {
  if (argc != 2) return 2;
  const char *dir = argv[1];
  static float a[MLP_INPUT_0_BYTES / 4], b[MLP_INPUT_1_BYTES / 4], p[4][MLP_OUTPUT_0_BYTES / 4];
  static int64_t n[MLP_OUTPUT_1_BYTES / 8];
  read_file(dir, "a.bin", a, sizeof a);
  read_file(dir, "b.bin", b, sizeof b);
  const void *in[] = {a, b};
  CHECK(MLP_WEIGHTS_EMBEDDED == 1, "the header says the weights are embedded");

  mlp_model *m = NULL;
  CHECK(mlp_open(NULL, 1, &m) == MLP_OK, "open the embedded weights");
  CHECK(mlp_verify_weights(m) == MLP_OK, "verify the embedded weights");
  void *out0[] = {p[0], n};
  CHECK(mlp_run(m, in, out0) == MLP_OK, "run");
  mlp_close(m);

  CHECK(mlp_open_memory(NULL, 0, arena, MLP_ARENA_BYTES, 1, &m) == MLP_OK,
        "open with the caller's arena");
  void *out1[] = {p[1], NULL};
  CHECK(mlp_run(m, in, out1) == MLP_OK, "run in the caller's arena");
  CHECK((const unsigned char *)mlp_output(m, 0) >= arena &&
        (const unsigned char *)mlp_output(m, 0) < arena + MLP_ARENA_BYTES,
        "outputs live in the caller's arena");
  mlp_close(m);

  size_t size = read_file(dir, "mlp-file.gguf", weights_copy, sizeof weights_copy);
  CHECK(size == MLP_WEIGHTS_BYTES, "the weights file's size is MLP_WEIGHTS_BYTES");
  CHECK(mlp_open_memory(weights_copy, size, NULL, 0, 2, &m) == MLP_OK, "open weights in memory");
  void *out2[] = {p[2], NULL};
  CHECK(mlp_run(m, in, out2) == MLP_OK, "run on weights in memory");
  mlp_close(m);

  /* Refused: a short arena, a misaligned one, misaligned or damaged weights. */
  CHECK(mlp_open_memory(NULL, 0, arena, MLP_ARENA_BYTES - 1, 1, &m) == MLP_ERROR_ARGUMENT &&
        m == NULL, "a short arena is refused");
  CHECK(mlp_open_memory(NULL, 0, arena + 8, MLP_ARENA_BYTES, 1, &m) == MLP_ERROR_ARGUMENT,
        "a misaligned arena is refused");
  memmove(weights_copy + 8, weights_copy, size);
  CHECK(mlp_open_memory(weights_copy + 8, size, NULL, 0, 1, &m) == MLP_ERROR_ARGUMENT,
        "misaligned weights are refused");
  memmove(weights_copy, weights_copy + 8, size);
  CHECK(mlp_open_memory(weights_copy, size / 2, NULL, 0, 1, &m) == MLP_ERROR_FORMAT,
        "truncated weights are refused");
  weights_copy[size - 1] ^= 0x40;
  CHECK(mlp_open_memory(weights_copy, size, NULL, 0, 1, &m) == MLP_OK &&
        mlp_verify_weights(m) == MLP_ERROR_MISMATCH, "a flipped weight bit is found on request");
  mlp_close(m);

  CHECK(memcmp(p[0], p[1], sizeof p[0]) == 0 && memcmp(p[0], p[2], sizeof p[0]) == 0,
        "every way of opening gives the same outputs");
  char path[4096];
  snprintf(path, sizeof path, "%s/p.bin", dir);
  FILE *f = fopen(path, "wb");
  if (!f || fwrite(p[0], 1, sizeof p[0], f) != sizeof p[0] || fclose(f) != 0) return 2;
  snprintf(path, sizeof path, "%s/n.bin", dir);
  f = fopen(path, "wb");
  if (!f || fwrite(n, 1, sizeof n, f) != sizeof n || fclose(f) != 0) return 2;
  return failures ? 1 : 0;
}
