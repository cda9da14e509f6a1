/* device.h - the device runtime's entry points (device.c), called by runtime.c.
 *
 * Only GPU artifacts link device.c; their glue points program->device->ops at
 * kiln_device_ops, so CPU artifacts and the unit tests never need a device API.
 */
#ifndef KILN_RUNTIME_DEVICE_H_
#define KILN_RUNTIME_DEVICE_H_

#include "kiln/runtime.h"

#ifdef __cplusplus
extern "C" {
#endif

struct kiln_device_ops_t {
  /** Loads the driver, maps the device arena and its slices, uploads the weights and
   *  fills exec's device fields. On failure everything it made is released. */
  kiln_status_t (*open)(const kiln_program_t *program, uint8_t *arena,
                        const uint8_t *const *weights, kiln_exec_t *exec, void **out_state);
  /** Copies the inputs (host arena) to the device. */
  kiln_status_t (*upload_inputs)(void *state);
  /** Copies the outputs from the device to the host arena. */
  kiln_status_t (*download_outputs)(void *state);
  void (*close)(void *state);
};

#ifdef __cplusplus
}
#endif

#endif /* KILN_RUNTIME_DEVICE_H_ */
