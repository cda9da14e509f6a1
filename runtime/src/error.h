/* error.h - the runtime's internal error reporting: one thread-local message per thread.
 *
 * Every failing path in the runtime formats a message naming the file, tensor, input or step
 * it concerns and returns a status; kiln_last_error() (runtime.h) hands the message out.
 */
#ifndef KILN_RUNTIME_ERROR_H_
#define KILN_RUNTIME_ERROR_H_

#include "kiln/runtime.h"

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define KILN_PRINTF_FORMAT(format_index, first_arg) \
  __attribute__((format(printf, format_index, first_arg)))
#else
#define KILN_PRINTF_FORMAT(format_index, first_arg)
#endif

/// Formats the calling thread's error message and returns `status`, so that failing paths
/// read `return kiln_set_error(KILN_ERROR_IO, "...", ...);`.
kiln_status_t kiln_set_error(kiln_status_t status, const char *format, ...)
    KILN_PRINTF_FORMAT(2, 3);

#ifdef __cplusplus
}
#endif

#endif /* KILN_RUNTIME_ERROR_H_ */
