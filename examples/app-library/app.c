/* app.c - an application calling a model through its shared library (libcls.so).
 *
 * The model is PaddleOCR's text-direction classifier: a 48x192 RGB crop in, the
 * probabilities of "upright" and "upside down" out. The app makes a test crop (dark text
 * strokes on white), runs the model on four threads and prints the probabilities.
 */
#include <stdio.h>

#include "cls.h"

int main(int argc, char **argv) {
  const char *weights = argc > 1 ? argv[1] : "cls.gguf";
  cls_model *model = NULL;
  if (cls_open(weights, 4, &model) != CLS_OK) {
    fprintf(stderr, "cannot open the model: %s\n", cls_last_error());
    return 1;
  }
  /* Input 0 is float32 [1, 3, 48, 192], written in place in the model's arena. */
  static const int64_t dims[] = CLS_INPUT_0_DIMS;
  float *x = cls_input(model, 0);
  for (int64_t c = 0; c < dims[1]; c++)
    for (int64_t y = 0; y < dims[2]; y++)
      for (int64_t i = 0; i < dims[3]; i++) {
        int stroke = (i % 24 < 3 && y > 10 && y < 38) || (y > 22 && y < 26 && i % 24 < 14);
        x[(c * dims[2] + y) * dims[3] + i] = stroke ? -1.0f : 1.0f;  /* normalized pixels */
      }
  if (cls_run(model, NULL, NULL) != CLS_OK) {
    fprintf(stderr, "run failed: %s\n", cls_last_error());
    cls_close(model);
    return 1;
  }
  const float *p = cls_output(model, 0);
  printf("%s: upright %.4f, upside down %.4f\n", CLS_OUTPUT_0_NAME, p[0], p[1]);
  cls_close(model);
  return 0;
}
