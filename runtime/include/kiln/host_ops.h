/* host_ops.h - operations run on the host by the runtime rather than as Halide kernels.
 *
 * The glue calls these as steps of their own: they are sequential by nature (a count, a
 * sort, a greedy selection, a pivoting elimination). One whose output length depends on
 * the data writes its output dense, in the run's shape, at the start of a buffer planned
 * for the bound, and the run's length into *count; the program describes such an output
 * with has_extent (program.h). Nothing here allocates: scratch comes from the arena.
 */
#ifndef KILN_HOST_OPS_H_
#define KILN_HOST_OPS_H_

#include <stdint.h>

#include "kiln/types.h"

#ifdef __cplusplus
extern "C" {
#endif

/** ONNX NonZero: the indices of the non-zero elements of `input` (rank `rank`, shape
 *  `dims`, row-major) as int64 [rank, count], in row-major order of the elements. */
int kiln_host_nonzero(const void *input, kiln_dtype_t dtype, int32_t rank, const int64_t *dims,
                      int64_t *indices, int64_t *count);

/** ONNX NonMaxSuppression on float32 boxes [batches, boxes, 4] and scores
 *  [batches, classes, boxes]: per batch and class, boxes above the score threshold by
 *  descending score (ties: lower index first), each kept unless its IoU with a kept box
 *  exceeds the IoU threshold, at most `max_per_class` of them. Writes int64 [count, 3]
 *  rows (batch, class, box), at most `bound` rows. The thresholds and the maximum may be
 *  NULL (absent inputs: 0, no score threshold, 0). `workspace` holds `boxes` int64. */
int kiln_host_non_max_suppression(const float *boxes, const float *scores, int64_t batches,
                                  int64_t classes, int64_t box_count,
                                  const int64_t *max_per_class, const float *iou_threshold,
                                  const float *score_threshold, int32_t center_point_box,
                                  int64_t bound, int64_t *selected, int64_t *count,
                                  int64_t *workspace);

/** ONNX Unique over the input seen as [outer, length, inner] (the axis in the middle; no
 *  axis: [1, numel, 1]): the distinct slices along the axis (sorted, or in order of first
 *  occurrence), written [outer, count, inner] to `unique`, with each one's first index and
 *  count, and each slice's place among them (`inverse`, `length` entries). `workspace`
 *  holds 4 x `length` int64. */
int kiln_host_unique(const void *input, kiln_dtype_t dtype, int64_t element_size, int64_t outer,
                     int64_t length, int64_t inner, int32_t sorted, void *unique,
                     int64_t *indices, int64_t *inverse, int64_t *counts, int64_t *count,
                     int64_t *workspace);

/** ONNX Det of `batch` float32 [n, n] matrices (LU with partial pivoting in double);
 *  `workspace` holds n x n doubles. */
int kiln_host_det(const float *input, int64_t batch, int64_t n, float *output, double *workspace);

/** ONNX MaxPool's Indices output for 2-D windows over `planes` float32 [height, width]
 *  planes: the flat index (over all planes; column-major within a plane when
 *  `column_major`) of each window's first maximum. `window`: kernel h, w, strides h, w,
 *  begin pads h, w, dilations h, w. */
int kiln_host_max_pool_indices(const float *input, int64_t planes, int64_t height, int64_t width,
                               int64_t out_height, int64_t out_width, const int64_t *window,
                               int32_t column_major, int64_t *indices);

/** ONNX TfIdfVectorizer on int32 (`wide` 0) or int64 rows [rows, columns]: counts of the
 *  pool's n-grams (skip-grams up to config[2] skips) at their output indexes, weighted
 *  by mode. `config`: min and max gram length, max skip count, mode (1 TF, 2 IDF, 3
 *  TFIDF), output size, pool size P, gram sizes S, then the pool (P), where each size's
 *  n-grams start in it (S), and each n-gram's output index. `weights` may be NULL. */
int kiln_host_tfidf(const void *input, int32_t wide, int64_t rows, int64_t columns,
                    const int64_t *config, const float *weights, float *output);

/** ONNX RoiAlign on float32 X [N, C, H, W] (`shape`) for `config[0]` boxes (x1, y1, x2, y2):
 *  [boxes, C, out_h, out_w] averages (or maxima) of bilinear samples on a grid per bin.
 *  `config`: box count, out_h, out_w, sampling ratio (0: adaptive), max mode, half_pixel. */
int kiln_host_roi_align(const float *input, const float *rois, const int64_t *batch_indices,
                        const int64_t *shape, const int64_t *config, float scale, float *output);

#ifdef __cplusplus
}
#endif

#endif /* KILN_HOST_OPS_H_ */
