/* host_ops.c - NonZero and NonMaxSuppression on the host (kiln/host_ops.h). No libc beyond
 * mem*, so the freestanding runtime links it too. */
#include "kiln/host_ops.h"

#include <string.h>

/* Whether element `i` of `input` is non-zero (floats by value: -0.0 is zero, NaN is not). */
static int is_nonzero(const void *input, kiln_dtype_t dtype, int64_t i) {
  const unsigned char *bytes = (const unsigned char *)input;
  switch (dtype) {
    case KILN_DTYPE_F32: { float v; memcpy(&v, bytes + 4 * i, 4); return v != 0.0f; }
    case KILN_DTYPE_F64: { double v; memcpy(&v, bytes + 8 * i, 8); return v != 0.0; }
    case KILN_DTYPE_F16: { uint16_t v; memcpy(&v, bytes + 2 * i, 2); return (v & 0x7fff) != 0; }
    case KILN_DTYPE_I8: case KILN_DTYPE_U8: case KILN_DTYPE_BOOL: return bytes[i] != 0;
    case KILN_DTYPE_I16: case KILN_DTYPE_U16: { uint16_t v; memcpy(&v, bytes + 2 * i, 2); return v != 0; }
    case KILN_DTYPE_I32: case KILN_DTYPE_U32: { uint32_t v; memcpy(&v, bytes + 4 * i, 4); return v != 0; }
    default: { uint64_t v; memcpy(&v, bytes + 8 * i, 8); return v != 0; }
  }
}

int kiln_host_nonzero(const void *input, kiln_dtype_t dtype, int32_t rank, const int64_t *dims,
                      int64_t *indices, int64_t *count) {
  int64_t elements = 1, found = 0;
  for (int32_t d = 0; d < rank; d++) elements *= dims[d];
  for (int64_t i = 0; i < elements; i++) found += is_nonzero(input, dtype, i);
  /* Rows of [rank, found]: row d holds every hit's coordinate along axis d. */
  int64_t hit = 0;
  for (int64_t i = 0; i < elements; i++) {
    if (!is_nonzero(input, dtype, i)) continue;
    int64_t rest = i;
    for (int32_t d = rank - 1; d >= 0; d--) {
      indices[d * found + hit] = dims[d] > 0 ? rest % dims[d] : 0;
      rest = dims[d] > 0 ? rest / dims[d] : 0;
    }
    hit++;
  }
  *count = found;
  return 0;
}

/* Corners (y1, x1, y2, x2) of box i, ordered; center_point_box boxes are (x, y, w, h). */
static void corners(const float *box, int32_t center, float out[4]) {
  float a, b, c, d;
  if (center) {
    a = box[1] - box[3] / 2, b = box[0] - box[2] / 2, c = box[1] + box[3] / 2, d = box[0] + box[2] / 2;
  } else {
    a = box[0], b = box[1], c = box[2], d = box[3];
  }
  out[0] = a < c ? a : c, out[2] = a < c ? c : a;
  out[1] = b < d ? b : d, out[3] = b < d ? d : b;
}

static int suppresses(const float *p, const float *q, int32_t center, float threshold) {
  float a[4], b[4];
  corners(p, center, a);
  corners(q, center, b);
  float area_a = (a[2] - a[0]) * (a[3] - a[1]), area_b = (b[2] - b[0]) * (b[3] - b[1]);
  if (area_a <= 0 || area_b <= 0) return 0;
  float top = a[0] > b[0] ? a[0] : b[0], left = a[1] > b[1] ? a[1] : b[1];
  float bottom = a[2] < b[2] ? a[2] : b[2], right = a[3] < b[3] ? a[3] : b[3];
  if (top >= bottom || left >= right) return 0;
  float overlap = (bottom - top) * (right - left);
  return overlap / (area_a + area_b - overlap) > threshold;
}

/* Whether candidate a ranks after candidate b: lower score, or equal score and higher index. */
static int after(const float *score, int64_t a, int64_t b) {
  return score[a] < score[b] || (score[a] == score[b] && a > b);
}

/* Heap sort of order[0..n) by rank (in place: no allocation). */
static void sort_by_score(int64_t *order, int64_t n, const float *score) {
  for (int64_t start = n / 2 - 1, end = n; end > 1;) {
    int64_t root;
    if (start >= 0) {
      root = start--;
    } else {
      int64_t top = order[0];
      order[0] = order[--end];
      order[end] = top;
      root = 0;
    }
    for (int64_t child; (child = 2 * root + 1) < end; root = child) {
      if (child + 1 < end && after(score, order[child], order[child + 1])) child++;
      if (!after(score, order[root], order[child])) break;
      int64_t t = order[root];
      order[root] = order[child];
      order[child] = t;
    }
  }
  /* A max-heap by "ranks after" leaves the best candidate last: reverse. */
  for (int64_t i = 0, j = n - 1; i < j; i++, j--) {
    int64_t t = order[i];
    order[i] = order[j];
    order[j] = t;
  }
}

int kiln_host_non_max_suppression(const float *boxes, const float *scores, int64_t batches,
                                  int64_t classes, int64_t box_count,
                                  const int64_t *max_per_class, const float *iou_threshold,
                                  const float *score_threshold, int32_t center_point_box,
                                  int64_t bound, int64_t *selected, int64_t *count,
                                  int64_t *workspace) {
  int64_t limit = max_per_class != NULL ? *max_per_class : 0;
  float iou = iou_threshold != NULL ? *iou_threshold : 0.0f;
  int64_t rows = 0;
  for (int64_t b = 0; b < batches; b++) {
    const float *batch_boxes = boxes + b * box_count * 4;
    for (int64_t c = 0; c < classes && limit > 0; c++) {
      const float *score = scores + (b * classes + c) * box_count;
      int64_t candidates = 0;
      for (int64_t i = 0; i < box_count; i++)
        if (score_threshold == NULL || score[i] > *score_threshold) workspace[candidates++] = i;
      sort_by_score(workspace, candidates, score);
      int64_t kept = 0, first = rows;
      for (int64_t k = 0; k < candidates && kept < limit && rows < bound; k++) {
        int64_t i = workspace[k], keep = 1;
        for (int64_t r = first; r < rows && keep; r++)
          keep = !suppresses(batch_boxes + 4 * selected[3 * r + 2], batch_boxes + 4 * i,
                             center_point_box, iou);
        if (!keep) continue;
        selected[3 * rows] = b, selected[3 * rows + 1] = c, selected[3 * rows + 2] = i;
        rows++, kept++;
      }
    }
  }
  *count = rows;
  return 0;
}
