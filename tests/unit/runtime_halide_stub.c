/* runtime_halide_stub.c - stands in for the two Halide runtime entry points the runtime uses.
 *
 * In an artifact, Halide's runtime object defines halide_set_custom_do_par_for and
 * halide_do_par_for; the unit tests link kiln_runtime without it, so this file provides the
 * same behaviour (the installed hook serves every parallel loop) in a few lines.
 */
#include "HalideRuntime.h"

static halide_do_par_for_t installed_do_par_for;

halide_do_par_for_t halide_set_custom_do_par_for(halide_do_par_for_t do_par_for) {
  halide_do_par_for_t previous = installed_do_par_for;
  installed_do_par_for = do_par_for;
  return previous;
}

int halide_do_par_for(void *user_context, halide_task_t task, int min, int size,
                      uint8_t *closure) {
  if (installed_do_par_for != 0) {
    return installed_do_par_for(user_context, task, min, size, closure);
  }
  for (int i = 0; i < size; i++) {
    int result = task(user_context, min + i, closure);
    if (result != 0) return result;
  }
  return 0;
}
