/* two_models.c - one program using the libraries of two models (convnet and mlp).
 *
 * usage: two_models DIR   (DIR holds convnet.gguf, mlp.gguf, x.bin, a.bin, b.bin; the
 * outputs go to DIR/y.bin, DIR/p.bin and DIR/n.bin). Checks the API's contract on the way:
 * argument errors, a weights file of the other model, verification, both models open at
 * once, every macro of the headers. Exit 0 when everything held.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "convnet.h"
#include "mlp.h"

static int failures = 0;

#define CHECK(cond, ...)                     \
  do {                                       \
    if (!(cond)) {                           \
      fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__); \
      fprintf(stderr, __VA_ARGS__);          \
      fprintf(stderr, "\n");                 \
      failures++;                            \
    }                                        \
  } while (0)

static void *read_file(const char *dir, const char *name, size_t bytes) {
  char path[4096];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  FILE *f = fopen(path, "rb");
  void *data = malloc(bytes);
  if (!f || !data || fread(data, 1, bytes, f) != bytes) {
    fprintf(stderr, "cannot read %zu bytes from %s\n", bytes, path);
    exit(2);
  }
  fclose(f);
  return data;
}

static void write_file(const char *dir, const char *name, const void *data, size_t bytes) {
  char path[4096];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  FILE *f = fopen(path, "wb");
  if (!f || fwrite(data, 1, bytes, f) != bytes || fclose(f) != 0) {
    fprintf(stderr, "cannot write %s\n", path);
    exit(2);
  }
}

/* The application's own "thread pool": runs the tasks in reverse order on this thread and
 * counts them. */
static int loops = 0, tasks = 0;
static int reverse_parallel_for(void *user, int32_t count,
                                int (*task)(void *task_data, int32_t index), void *task_data) {
  CHECK(user == &loops, "parallel_for gets its user pointer");
  loops++;
  for (int32_t i = count - 1; i >= 0; i--) {
    tasks++;
    int result = task(task_data, i);
    if (result != 0) return result;
  }
  return 0;
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: %s DIR\n", argv[0]);
    return 2;
  }
  const char *dir = argv[1];
  char conv_weights[4096], mlp_weights[4096];
  snprintf(conv_weights, sizeof conv_weights, "%s/convnet.gguf", dir);
  snprintf(mlp_weights, sizeof mlp_weights, "%s/mlp.gguf", dir);

  /* The headers describe the models completely. */
  static const int64_t x_dims[] = CONVNET_INPUT_0_DIMS, p_dims[] = MLP_OUTPUT_0_DIMS;
  CHECK(CONVNET_NUM_INPUTS == 1 && CONVNET_NUM_OUTPUTS == 1, "convnet's counts");
  CHECK(MLP_NUM_INPUTS == 2 && MLP_NUM_OUTPUTS == 2, "mlp's counts");
  CHECK(strcmp(CONVNET_INPUT_0_NAME, "x") == 0 && CONVNET_INPUT_X == 0, "convnet's input");
  CHECK(CONVNET_INPUT_0_RANK == 4 && x_dims[1] == 3 && CONVNET_INPUT_0_BYTES == 12288,
        "convnet's input shape");
  CHECK(MLP_INPUT_B == 1 && MLP_OUTPUT_N == 1 && MLP_OUTPUT_1_DTYPE == MLP_DTYPE_INT64 &&
        MLP_OUTPUT_1_BYTES == 16 && p_dims[1] == 8, "mlp's inputs and outputs");
  CHECK(CONVNET_ARENA_BYTES > 0 && CONVNET_WEIGHTS_BYTES > 0 && MLP_ARENA_ALIGNMENT >= 64,
        "sizes");
  CHECK(strlen(CONVNET_FINGERPRINT) == 16 && strcmp(CONVNET_FINGERPRINT, MLP_FINGERPRINT) != 0,
        "fingerprints");

  /* Argument errors and a weights file of the other model are refused. */
  convnet_model *conv = (convnet_model *)&failures;
  CHECK(convnet_open(NULL, 0, &conv) == CONVNET_ERROR_ARGUMENT && conv == NULL, "NULL path");
  CHECK(convnet_open(conv_weights, -1, &conv) == CONVNET_ERROR_ARGUMENT, "negative threads");
  CHECK(convnet_open(mlp_weights, 1, &conv) == CONVNET_ERROR_MISMATCH && conv == NULL,
        "mlp's weights opened as convnet's: %s", convnet_last_error());
  CHECK(strstr(convnet_last_error(), "mlp.gguf") != NULL, "the error names the file: %s",
        convnet_last_error());
  CHECK(strcmp(convnet_status_string(CONVNET_ERROR_MISMATCH), "CONVNET_ERROR_MISMATCH") == 0,
        "status string %s", convnet_status_string(CONVNET_ERROR_MISMATCH));
  CHECK(convnet_run(NULL, NULL, NULL) == CONVNET_ERROR_ARGUMENT, "run without a model");
  convnet_close(NULL);

  /* Both models open at once, each with its own threads. */
  mlp_model *mlp = NULL;
  CHECK(convnet_open(conv_weights, 2, &conv) == CONVNET_OK, "open convnet: %s",
        convnet_last_error());
  CHECK(mlp_open(mlp_weights, 1, &mlp) == MLP_OK, "open mlp: %s", mlp_last_error());
  if (failures) return 1;
  CHECK(convnet_verify_weights(conv) == CONVNET_OK, "verify: %s", convnet_last_error());
  CHECK(convnet_input(conv, 1) == NULL && mlp_output(mlp, 2) == NULL, "index out of range");

  void *x = read_file(dir, "x.bin", CONVNET_INPUT_0_BYTES);
  void *a = read_file(dir, "a.bin", MLP_INPUT_0_BYTES);
  void *b = read_file(dir, "b.bin", MLP_INPUT_1_BYTES);
  static float y[CONVNET_OUTPUT_0_BYTES / 4], p[MLP_OUTPUT_0_BYTES / 4];
  static int64_t n[MLP_OUTPUT_1_BYTES / 8];
  const void *conv_in[] = {x};
  void *conv_out[] = {y};
  const void *mlp_in[] = {a, b};
  void *mlp_out[] = {p, n};
  /* Interleaved runs: one model's run must not disturb the other's arena. */
  CHECK(mlp_run(mlp, mlp_in, NULL) == MLP_OK, "run mlp: %s", mlp_last_error());
  CHECK(convnet_run(conv, conv_in, conv_out) == CONVNET_OK, "run convnet: %s",
        convnet_last_error());
  memcpy(p, mlp_output(mlp, MLP_OUTPUT_P), sizeof p);
  memcpy(n, mlp_output(mlp, MLP_OUTPUT_N), sizeof n);
  /* In place: write the input where the model reads it, run without copies. */
  memcpy(mlp_input(mlp, MLP_INPUT_A), a, MLP_INPUT_0_BYTES);
  memcpy(mlp_input(mlp, MLP_INPUT_B), b, MLP_INPUT_1_BYTES);
  CHECK(mlp_run(mlp, NULL, NULL) == MLP_OK, "run mlp in place");
  CHECK(memcmp(mlp_output(mlp, MLP_OUTPUT_P), p, sizeof p) == 0, "in-place run differs");
  CHECK(mlp_run(mlp, mlp_in, mlp_out) == MLP_OK, "run mlp again");
  /* The caller's parallel loops give the same outputs. */
  static float y2[CONVNET_OUTPUT_0_BYTES / 4];
  void *conv_out2[] = {y2};
  CHECK(convnet_set_parallel_for(conv, reverse_parallel_for, &loops) == CONVNET_OK, "hook");
  CHECK(convnet_run(conv, conv_in, conv_out2) == CONVNET_OK, "run convnet on the hook");
  CHECK(loops > 0 && tasks >= loops, "the hook ran the loops (%d loops, %d tasks)", loops, tasks);
  CHECK(memcmp(y, y2, sizeof y) == 0, "the hook's outputs differ");
  CHECK(convnet_set_parallel_for(conv, NULL, NULL) == CONVNET_OK, "unhook");
  write_file(dir, "y.bin", y, sizeof y);
  write_file(dir, "p.bin", p, sizeof p);
  write_file(dir, "n.bin", n, sizeof n);
  convnet_close(conv);
  mlp_close(mlp);
  free(x);
  free(a);
  free(b);
  return failures ? 1 : 0;
}
