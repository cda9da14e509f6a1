/* bare_metal.c - firmware using two models' heap-free libraries (convnet and mlp, built for
 * a Cortex-M target) on one board, checking the freestanding API's contract.
 *
 * usage (semihosting command line): bare_metal DIR   (DIR holds convnet.gguf, mlp.gguf,
 * x.bin, a.bin, b.bin; the outputs go to DIR/y.bin, p.bin and n.bin). The weights are read
 * into static buffers, as a bootloader would copy them to RAM; the arenas are static too.
 * Checks: arguments the runtime must refuse (misaligned or short arena, wrong or damaged
 * weights, threads), two instances of one model in two arenas keeping apart, and
 * verification. Exit 0 when everything held.
 */
#include <stdalign.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "convnet.h"
#include "mlp.h"

static int failures = 0;

#define CHECK(cond, ...)                                   \
  do {                                                     \
    if (!(cond)) {                                         \
      printf("FAIL %s:%d: ", __FILE__, __LINE__);          \
      printf(__VA_ARGS__);                                 \
      printf("\n");                                        \
      failures++;                                          \
    }                                                      \
  } while (0)

static alignas(64) uint8_t convnet_weights[CONVNET_WEIGHTS_BYTES];
static alignas(64) uint8_t mlp_weights[MLP_WEIGHTS_BYTES];
/* One byte more, to offer a misaligned arena of the full size. */
static alignas(64) uint8_t convnet_arena[CONVNET_ARENA_BYTES + 64];
static alignas(64) uint8_t mlp_arena[MLP_ARENA_BYTES];
static alignas(64) uint8_t mlp_arena_2[MLP_ARENA_BYTES];

static int file(const char *dir, const char *name, void *data, size_t bytes, int write) {
  char path[512];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  FILE *f = fopen(path, write ? "wb" : "rb");
  int ok = f != NULL && (write ? fwrite(data, 1, bytes, f) : fread(data, 1, bytes, f)) == bytes;
  if (f != NULL && fclose(f) != 0) ok = 0;
  if (!ok) printf("cannot %s %zu bytes %s %s\n", write ? "write" : "read", bytes,
                  write ? "to" : "from", path);
  return ok;
}

int main(int argc, char **argv) {
  if (argc != 2) {
    printf("usage: bare_metal DIR\n");
    return 2;
  }
  const char *dir = argv[1];
  static uint8_t x[CONVNET_INPUT_0_BYTES], a[MLP_INPUT_0_BYTES], b[MLP_INPUT_1_BYTES];
  static uint8_t y[CONVNET_OUTPUT_0_BYTES], p[MLP_OUTPUT_0_BYTES], n[MLP_OUTPUT_1_BYTES];
  if (!file(dir, "convnet.gguf", convnet_weights, sizeof convnet_weights, 0) ||
      !file(dir, "mlp.gguf", mlp_weights, sizeof mlp_weights, 0) ||
      !file(dir, "x.bin", x, sizeof x, 0) || !file(dir, "a.bin", a, sizeof a, 0) ||
      !file(dir, "b.bin", b, sizeof b, 0))
    return 2;
  CHECK(CONVNET_FREESTANDING == 1 && MLP_ARENA_SCRATCH_BYTES < MLP_ARENA_BYTES,
        "the header describes the heap-free profile");

  /* What the runtime refuses, each with a status and a message. */
  convnet_model *conv = NULL;
  CHECK(convnet_open_memory(convnet_weights, sizeof convnet_weights, convnet_arena + 1,
                            CONVNET_ARENA_BYTES, 1, &conv) == CONVNET_ERROR_ARGUMENT &&
            conv == NULL && convnet_last_error()[0] != '\0',
        "a misaligned arena");
  CHECK(convnet_open_memory(convnet_weights, sizeof convnet_weights, convnet_arena,
                            CONVNET_ARENA_BYTES - 1, 1, &conv) == CONVNET_ERROR_ARGUMENT,
        "a short arena");
  CHECK(convnet_open_memory(convnet_weights, sizeof convnet_weights, convnet_arena,
                            CONVNET_ARENA_BYTES, 2, &conv) == CONVNET_ERROR_ARGUMENT,
        "two threads");
  CHECK(convnet_open_memory(convnet_weights, sizeof convnet_weights - 1, convnet_arena,
                            CONVNET_ARENA_BYTES, 1, &conv) == CONVNET_ERROR_MISMATCH,
        "a short weights file: %s", convnet_last_error());
  CHECK(convnet_open_memory(mlp_weights, sizeof mlp_weights, convnet_arena,
                            CONVNET_ARENA_BYTES, 1, &conv) == CONVNET_ERROR_MISMATCH,
        "the other model's weights");
  CHECK(convnet_open_memory(NULL, 0, convnet_arena, CONVNET_ARENA_BYTES, 1, &conv) ==
            CONVNET_ERROR_ARGUMENT,
        "no weights (none embedded)");
  /* A damaged fingerprint is refused at open; a damaged weight by verification. */
  const char *fingerprint = CONVNET_FINGERPRINT;
  uint8_t *found = NULL;
  for (size_t i = 0; i + 16 <= sizeof convnet_weights && found == NULL; i++)
    if (memcmp(convnet_weights + i, fingerprint, 16) == 0) found = convnet_weights + i;
  CHECK(found != NULL, "the weights file holds the fingerprint");
  if (found != NULL) {
    found[3] ^= 1;
    CHECK(convnet_open_memory(convnet_weights, sizeof convnet_weights, convnet_arena,
                              CONVNET_ARENA_BYTES, 1, &conv) == CONVNET_ERROR_MISMATCH,
          "a damaged fingerprint");
    found[3] ^= 1;
  }
  uint8_t *last = convnet_weights + sizeof convnet_weights - 1;
  *last ^= 0x40;
  CHECK(convnet_open_memory(convnet_weights, sizeof convnet_weights, convnet_arena,
                            CONVNET_ARENA_BYTES, 1, &conv) == CONVNET_OK,
        "open with a damaged weight");
  CHECK(convnet_verify_weights(conv) == CONVNET_ERROR_MISMATCH, "verify a damaged weight");
  *last ^= 0x40;
  CHECK(convnet_verify_weights(conv) == CONVNET_OK, "verify the weights");

  /* Two models, and two instances of one, each in its own arena. */
  mlp_model *m1 = NULL, *m2 = NULL;
  CHECK(mlp_open_memory(mlp_weights, sizeof mlp_weights, mlp_arena, sizeof mlp_arena, 0, &m1) ==
            MLP_OK, "open mlp: %s", mlp_last_error());
  CHECK(mlp_open_memory(mlp_weights, sizeof mlp_weights, mlp_arena_2, sizeof mlp_arena_2, 1,
                        &m2) == MLP_OK, "open a second mlp");
  const void *conv_in[] = {x};
  void *conv_out[] = {y};
  CHECK(convnet_run(conv, conv_in, conv_out) == CONVNET_OK, "run convnet");
  static const uint8_t zeros[MLP_INPUT_0_BYTES];
  const void *mlp_in[] = {a, b}, *other[] = {zeros, b};
  void *mlp_out[] = {p, n};
  CHECK(mlp_run(m1, mlp_in, NULL) == MLP_OK, "run mlp");
  CHECK(mlp_run(m2, other, NULL) == MLP_OK, "run the second mlp on other inputs");
  CHECK(memcmp(mlp_output(m1, 0), mlp_output(m2, 0), MLP_OUTPUT_0_BYTES) != 0,
        "the two instances keep their own outputs");
  CHECK(mlp_run(m1, NULL, mlp_out) == MLP_OK, "run mlp again in place");
  CHECK(mlp_input(m1, 2) == NULL && mlp_output(m1, -1) == NULL, "indices out of range");
  mlp_close(m2);
  mlp_close(m1);
  convnet_close(conv);
  CHECK(mlp_run(m1, mlp_in, NULL) == MLP_ERROR_ARGUMENT, "a closed model does not run");

  if (!file(dir, "y.bin", y, sizeof y, 1) || !file(dir, "p.bin", p, sizeof p, 1) ||
      !file(dir, "n.bin", n, sizeof n, 1))
    return 2;
  printf("%s: %d failures\n", failures ? "FAILED" : "ok", failures);
  return failures ? 1 : 0;
}
