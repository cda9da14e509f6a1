/* fuzz_gguf.c - fuzz target: the runtime's GGUF reader and its binding to a program.
 *
 * Any bytes must either parse or fail with a message; a parsed file is then bound to a
 * fixed two-weight program (the seed corpus holds files that fit it), and every byte of a
 * bound weight is read, so a range check that lets a tensor run past the file shows up
 * under AddressSanitizer. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "gguf.h"

/* The program the seeds are written for (tests/fuzz/make_corpus.py, gguf_seed). */
static const kiln_weight_desc_t kWeights[2] = {
    {"conv.weight", 0 /* F32 */, 4, {4, 3, 3, 3}, 4 * 3 * 3 * 3 * 4},
    {"fc.weight", 8 /* Q8_0 */, 2, {2, 64}, 2 * 2 * 34},
};
static const kiln_program_t kProgram = {
    .abi_version = KILN_PROGRAM_ABI_VERSION,
    .model_name = "fuzz",
    .fingerprint = "fuzz-fingerprint",
    .num_weights = 2,
    .weights = kWeights,
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  kiln_gguf_t file;
  if (kiln_gguf_parse("fuzz.gguf", data, size, &file) != KILN_OK)
    return 0;
  volatile uint8_t sink = 0;
  for (uint64_t i = 0; i < file.tensor_count; ++i) {
    /* The first and last byte of every tensor the parser accepted, and its name. */
    const kiln_gguf_tensor_t *t = &file.tensors[i];
    if (t->byte_size)
      sink ^= t->data[0] ^ t->data[t->byte_size - 1];
    for (uint64_t c = 0; c < t->name_length; ++c)
      sink ^= (uint8_t)t->name[c];
  }
  for (int w = 0; w < 2; ++w)
    (void)kiln_gguf_find_tensor(&file, kWeights[w].name);
  const char *text;
  uint64_t length;
  if (kiln_gguf_find_string(&file, "kiln.fingerprint", &text, &length))
    for (uint64_t i = 0; i < length; ++i)
      sink ^= (uint8_t)text[i];
  const uint8_t *weights[2];
  if (kiln_gguf_bind_program(&file, &kProgram, weights) == KILN_OK)
    for (int w = 0; w < 2; ++w)
      for (uint64_t i = 0; i < kWeights[w].byte_size; ++i)
        sink ^= weights[w][i];
  (void)sink;
  kiln_gguf_close(&file);
  return 0;
}
