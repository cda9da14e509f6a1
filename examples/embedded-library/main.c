/* main.c - a firmware-style program: the model's static library with its weights linked
 * in (read-only data, for flash), the arena a static buffer, one thread, no files.
 *
 * On a hosted target, running never allocates after the first run (which sizes the
 * kernels' scratch); opening allocates the model's small bookkeeping. On a bare-metal
 * target (--target cortex-m4 ...) nothing allocates at all: the kernels' scratch and the
 * model's state are inside the arena, whose size the compiler planned.
 */
#include <stdalign.h>
#include <stdio.h>

#include "cls.h"

/* Planned at compile time: the header gives the exact figure. */
static alignas(CLS_ARENA_ALIGNMENT) unsigned char arena[CLS_ARENA_BYTES];

int main(void) {
  cls_model *model = NULL;
  if (cls_open_memory(NULL, 0, arena, sizeof arena, 1, &model) != CLS_OK ||
      cls_verify_weights(model) != CLS_OK) {
    fprintf(stderr, "cannot open the model: %s\n", cls_last_error());
    return 1;
  }
  float *x = cls_input(model, 0);
  for (unsigned i = 0; i < CLS_INPUT_0_BYTES / sizeof(float); i++)
    x[i] = (i / 192 % 48 > 20 && i / 192 % 48 < 28) ? -1.0f : 1.0f;  /* one dark band */
  for (int frame = 0; frame < 3; frame++) {  /* a sensor loop would run here */
    if (cls_run(model, NULL, NULL) != CLS_OK) {
      fprintf(stderr, "run failed: %s\n", cls_last_error());
      return 1;
    }
  }
  const float *p = cls_output(model, 0);
  printf("arena %u bytes (static), weights %u bytes (linked in): upright %.4f, upside down %.4f\n",
         (unsigned)CLS_ARENA_BYTES, (unsigned)CLS_WEIGHTS_BYTES, p[0], p[1]);
  cls_close(model);
  return 0;
}
