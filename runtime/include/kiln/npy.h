/* npy.h - read and write NumPy .npy files, the tensor exchange format of kiln's executables.
 *
 * The standalone executable reads its inputs from .npy files and writes its outputs as .npy,
 * so tests and users can compare against numpy / onnxruntime without any other tooling.
 * Only dense, C-order, little-endian arrays of the kiln_dtype_t element types are supported.
 * These functions allocate and do file I/O: use them around kiln_model_run, not inside it.
 */
#ifndef KILN_NPY_H_
#define KILN_NPY_H_

#include <stdint.h>

#include "kiln/program.h"
#include "kiln/runtime.h"

#ifdef __cplusplus
extern "C" {
#endif

/** An array read from a .npy file. */
typedef struct kiln_npy_array_t {
  kiln_dtype_t dtype;
  int32_t rank;                 /**< 0 for a scalar */
  int64_t dims[KILN_MAX_RANK];  /**< outermost first */
  uint64_t byte_size;           /**< product(dims) * kiln_dtype_size(dtype) */
  void *data;                   /**< malloc'd, row-major; free with kiln_npy_free */
} kiln_npy_array_t;

/** Reads a version 1.0, 2.0 or 3.0 .npy file into *out (zeroed first; left empty on error). */
kiln_status_t kiln_npy_read(const char *path, kiln_npy_array_t *out);

/** Frees out->data and clears *array. NULL is allowed. */
void kiln_npy_free(kiln_npy_array_t *array);

/** Writes a version 1.0 .npy file holding product(dims) elements of `dtype` from `data`.
 *  Writes "<path>.tmp" first and renames it, so a failure never leaves a partial `path`. */
kiln_status_t kiln_npy_write(const char *path, kiln_dtype_t dtype, int32_t rank,
                             const int64_t *dims, const void *data);

#ifdef __cplusplus
}
#endif

#endif /* KILN_NPY_H_ */
