/* host_ops.c - NonZero, NonMaxSuppression and Unique on the host (kiln/host_ops.h). No libc
 * beyond mem*, so the freestanding runtime links it too. */
#include "kiln/host_ops.h"

#include <math.h>
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

/* Heap sort of items[0..n) into the order `before` defines (in place: no allocation). */
typedef int (*before_fn)(const void *context, int64_t a, int64_t b);
static void heap_sort(int64_t *items, int64_t n, before_fn before, const void *context) {
  for (int64_t start = n / 2 - 1, end = n; end > 1;) {
    int64_t root;
    if (start >= 0) {
      root = start--;
    } else {
      int64_t top = items[0];
      items[0] = items[--end];
      items[end] = top;
      root = 0;
    }
    /* A heap with the item that sorts last on top. */
    for (int64_t child; (child = 2 * root + 1) < end; root = child) {
      if (child + 1 < end && before(context, items[child], items[child + 1])) child++;
      if (!before(context, items[root], items[child])) break;
      int64_t t = items[root];
      items[root] = items[child];
      items[child] = t;
    }
  }
}

/* NonMaxSuppression's candidates: higher score first, then lower index. */
static int ranks_before(const void *context, int64_t a, int64_t b) {
  const float *score = (const float *)context;
  return score[a] > score[b] || (score[a] == score[b] && a < b);
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
      heap_sort(workspace, candidates, ranks_before, score);
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

/* Unique: element i of the input compared with element j (-1, 0, 1), by value. */
static int compare_elements(const void *input, kiln_dtype_t dtype, int64_t i, int64_t j) {
  const unsigned char *bytes = (const unsigned char *)input;
  switch (dtype) {
    case KILN_DTYPE_F32: {
      float a, b;
      memcpy(&a, bytes + 4 * i, 4), memcpy(&b, bytes + 4 * j, 4);
      return (a > b) - (a < b);
    }
    case KILN_DTYPE_F64: {
      double a, b;
      memcpy(&a, bytes + 8 * i, 8), memcpy(&b, bytes + 8 * j, 8);
      return (a > b) - (a < b);
    }
    case KILN_DTYPE_I8: return ((const int8_t *)input)[i] > ((const int8_t *)input)[j] ? 1 : ((const int8_t *)input)[i] < ((const int8_t *)input)[j] ? -1 : 0;
    case KILN_DTYPE_U8: case KILN_DTYPE_BOOL: return (bytes[i] > bytes[j]) - (bytes[i] < bytes[j]);
    case KILN_DTYPE_I32: {
      int32_t a, b;
      memcpy(&a, bytes + 4 * i, 4), memcpy(&b, bytes + 4 * j, 4);
      return (a > b) - (a < b);
    }
    default: {
      int64_t a, b;
      memcpy(&a, bytes + 8 * i, 8), memcpy(&b, bytes + 8 * j, 8);
      return (a > b) - (a < b);
    }
  }
}

typedef struct unique_context_t {
  const void *input;
  kiln_dtype_t dtype;
  int64_t outer, length, inner;
  const int64_t *first;  /* ordering groups by first occurrence */
} unique_context_t;

/* Slices a and b along the axis, compared element by element in row-major order. */
static int compare_slices(const unique_context_t *u, int64_t a, int64_t b) {
  for (int64_t o = 0; o < u->outer; o++)
    for (int64_t i = 0; i < u->inner; i++) {
      int c = compare_elements(u->input, u->dtype, (o * u->length + a) * u->inner + i,
                               (o * u->length + b) * u->inner + i);
      if (c != 0) return c;
    }
  return 0;
}

static int slice_before(const void *context, int64_t a, int64_t b) {
  int c = compare_slices((const unique_context_t *)context, a, b);
  return c < 0 || (c == 0 && a < b);
}

static int first_before(const void *context, int64_t a, int64_t b) {
  const int64_t *first = ((const unique_context_t *)context)->first;
  return first[a] < first[b];
}

int kiln_host_unique(const void *input, kiln_dtype_t dtype, int64_t element_size, int64_t outer,
                     int64_t length, int64_t inner, int32_t sorted, void *unique,
                     int64_t *indices, int64_t *inverse, int64_t *counts, int64_t *count,
                     int64_t *workspace) {
  unique_context_t u = {input, dtype, outer, length, inner, NULL};
  int64_t *order = workspace, *first = workspace + length, *sizes = workspace + 2 * length,
          *rank = workspace + 3 * length;
  for (int64_t j = 0; j < length; j++) order[j] = j;
  heap_sort(order, length, slice_before, &u);
  /* Groups of equal slices, in sorted order: each one's first index and size. */
  int64_t groups = 0;
  for (int64_t k = 0; k < length; k++) {
    if (k == 0 || compare_slices(&u, order[k - 1], order[k]) != 0) {
      first[groups] = order[k];
      sizes[groups++] = 0;
    }
    sizes[groups - 1]++;
    inverse[order[k]] = groups - 1;
  }
  /* Unsorted: groups renumbered by first occurrence. rank[g] is group g's output place. */
  for (int64_t g = 0; g < groups; g++) order[g] = g;
  if (!sorted) {
    u.first = first;
    heap_sort(order, groups, first_before, &u);
  }
  for (int64_t place = 0; place < groups; place++) rank[order[place]] = place;
  for (int64_t j = 0; j < length; j++) inverse[j] = rank[inverse[j]];
  unsigned char *out = (unsigned char *)unique;
  const unsigned char *in = (const unsigned char *)input;
  for (int64_t place = 0; place < groups; place++) {
    int64_t g = order[place], slice = first[g];
    indices[place] = slice;
    counts[place] = sizes[g];
    for (int64_t o = 0; o < outer; o++)
      memcpy(out + ((o * groups + place) * inner) * element_size,
             in + ((o * length + slice) * inner) * element_size, (size_t)(inner * element_size));
  }
  *count = groups;
  return 0;
}

int kiln_host_det(const float *input, int64_t batch, int64_t n, float *output, double *workspace) {
  for (int64_t b = 0; b < batch; b++) {
    /* LU with partial pivoting in double; the determinant is the pivots' product. */
    for (int64_t i = 0; i < n * n; i++) workspace[i] = input[b * n * n + i];
    double det = 1.0;
    for (int64_t k = 0; k < n && det != 0.0; k++) {
      int64_t pivot = k;
      for (int64_t r = k + 1; r < n; r++)
        if ((workspace[r * n + k] < 0 ? -workspace[r * n + k] : workspace[r * n + k]) >
            (workspace[pivot * n + k] < 0 ? -workspace[pivot * n + k] : workspace[pivot * n + k]))
          pivot = r;
      if (pivot != k) {
        for (int64_t c = 0; c < n; c++) {
          double t = workspace[k * n + c];
          workspace[k * n + c] = workspace[pivot * n + c];
          workspace[pivot * n + c] = t;
        }
        det = -det;
      }
      double p = workspace[k * n + k];
      det *= p;
      for (int64_t r = k + 1; r < n && p != 0.0; r++) {
        double factor = workspace[r * n + k] / p;
        for (int64_t c = k; c < n; c++) workspace[r * n + c] -= factor * workspace[k * n + c];
      }
    }
    output[b] = (float)det;
  }
  return 0;
}

int kiln_host_max_pool_indices(const float *input, int64_t planes, int64_t height, int64_t width,
                               int64_t out_height, int64_t out_width, const int64_t *window,
                               int32_t column_major, int64_t *indices) {
  int64_t kh = window[0], kw = window[1], sh = window[2], sw = window[3], ph = window[4],
          pw = window[5], dh = window[6], dw = window[7];
  for (int64_t p = 0; p < planes; p++) {
    const float *plane = input + p * height * width;
    for (int64_t oy = 0; oy < out_height; oy++)
      for (int64_t ox = 0; ox < out_width; ox++) {
        /* The first maximum in row-major window order; padding never wins. */
        float best = -3.402823466e+38f;
        int64_t at = -1;
        for (int64_t ky = 0; ky < kh; ky++) {
          int64_t y = oy * sh - ph + ky * dh;
          if (y < 0 || y >= height) continue;
          for (int64_t kx = 0; kx < kw; kx++) {
            int64_t x = ox * sw - pw + kx * dw;
            if (x < 0 || x >= width) continue;
            if (at < 0 || plane[y * width + x] > best) {
              best = plane[y * width + x];
              at = column_major ? x * height + y : y * width + x;
            }
          }
        }
        indices[(p * out_height + oy) * out_width + ox] = p * height * width + (at < 0 ? 0 : at);
      }
  }
  return 0;
}

int kiln_host_tfidf(const void *input, int32_t wide, int64_t rows, int64_t columns,
                    const int64_t *config, const float *weights, float *output) {
  int64_t min_gram = config[0], max_gram = config[1], skips = config[2], mode = config[3];
  int64_t output_size = config[4], pool_size = config[5], sizes = config[6];
  const int64_t *pool = config + 7, *starts = pool + pool_size, *indexes = starts + sizes;
  for (int64_t i = 0; i < rows * output_size; i++) output[i] = 0.0f;
#define ITEM(r, c) (wide ? ((const int64_t *)input)[(r) * columns + (c)] \
                         : (int64_t)((const int32_t *)input)[(r) * columns + (c)])
  for (int64_t r = 0; r < rows; r++)
    for (int64_t distance = 1; distance <= skips + 1; distance++) {
      /* Unigrams are counted once, in the first pass: skips do not change them. */
      int64_t first_size = min_gram == 1 && distance > 1 ? 2 : min_gram;
      if (first_size > max_gram) break;
      for (int64_t start = 0; start + distance * (first_size - 1) < columns; start++)
        for (int64_t n = first_size; n <= max_gram && start + distance * (n - 1) < columns; n++) {
          /* Pool n-grams of size n are its n-th block (starts[n - 1] onwards); the id of the
           * j-th n-gram overall picks the output index, and a repeated n-gram counts under
           * its last id. */
          if (n > sizes) break;
          int64_t begin = starts[n - 1], end = n < sizes ? starts[n] : pool_size;
          int64_t before = 0;
          for (int64_t s = 0; s < n - 1; s++)
            before += ((s + 1 < sizes ? starts[s + 1] : pool_size) - starts[s]) / (s + 1);
          for (int64_t g = (end - begin) / n - 1; g >= 0; g--) {
            int64_t k = 0;
            while (k < n && pool[begin + g * n + k] == ITEM(r, start + k * distance)) k++;
            if (k < n) continue;
            output[r * output_size + indexes[before + g]] += 1.0f;
            break;
          }
        }
    }
#undef ITEM
  /* TF: the counts; IDF: the weight (or 1) where the count is not 0; TFIDF: weight x count. */
  for (int64_t r = 0; r < rows; r++)
    for (int64_t i = 0; i < output_size; i++) {
      float *value = &output[r * output_size + i];
      float weight = weights != NULL ? weights[i] : 1.0f;
      if (mode == 2) *value = *value > 0 ? weight : 0.0f;
      if (mode == 3) *value *= weight;
    }
  return 0;
}

/* RoiAlign: the input at (y, x) by bilinear interpolation, each corner's weighted value in
 * `corner` (0 outside the map), as onnxruntime samples it. */
static void bilinear_corners(const float *plane, int64_t height, int64_t width, float y, float x,
                             float corner[4]) {
  corner[0] = corner[1] = corner[2] = corner[3] = 0.0f;
  if (y < -1.0f || y > (float)height || x < -1.0f || x > (float)width) return;
  if (y <= 0) y = 0;
  if (x <= 0) x = 0;
  int64_t y0 = (int64_t)y, x0 = (int64_t)x, y1, x1;
  if (y0 >= height - 1) y1 = y0 = height - 1, y = (float)y0; else y1 = y0 + 1;
  if (x0 >= width - 1) x1 = x0 = width - 1, x = (float)x0; else x1 = x0 + 1;
  float ly = y - (float)y0, lx = x - (float)x0, hy = 1.0f - ly, hx = 1.0f - lx;
  corner[0] = hy * hx * plane[y0 * width + x0];
  corner[1] = hy * lx * plane[y0 * width + x1];
  corner[2] = ly * hx * plane[y1 * width + x0];
  corner[3] = ly * lx * plane[y1 * width + x1];
}

int kiln_host_roi_align(const float *input, const float *rois, const int64_t *batch_indices,
                        const int64_t *shape, const int64_t *config, float scale, float *output) {
  int64_t batches = shape[0], channels = shape[1], height = shape[2], width = shape[3];
  int64_t count = config[0], out_h = config[1], out_w = config[2], ratio = config[3];
  int32_t max_mode = config[4] != 0, half_pixel = config[5] != 0;
  float offset = half_pixel ? 0.5f : 0.0f;
  for (int64_t r = 0; r < count; r++) {
    int64_t b = batch_indices[r];
    if (b < 0 || b >= batches) b = b < 0 ? 0 : batches - 1;  /* out of range: clamped */
    float start_w = rois[4 * r] * scale - offset, start_h = rois[4 * r + 1] * scale - offset;
    float roi_w = rois[4 * r + 2] * scale - offset - start_w;
    float roi_h = rois[4 * r + 3] * scale - offset - start_h;
    if (!half_pixel) {  /* output_half_pixel: at least one pixel */
      roi_w = roi_w > 1.0f ? roi_w : 1.0f;
      roi_h = roi_h > 1.0f ? roi_h : 1.0f;
    }
    float bin_h = roi_h / (float)out_h, bin_w = roi_w / (float)out_w;
    int64_t grid_h = ratio > 0 ? ratio : (int64_t)ceilf(roi_h / (float)out_h);
    int64_t grid_w = ratio > 0 ? ratio : (int64_t)ceilf(roi_w / (float)out_w);
    if (grid_h < 1) grid_h = 1;
    if (grid_w < 1) grid_w = 1;
    float samples = (float)(grid_h * grid_w);
    for (int64_t c = 0; c < channels; c++) {
      const float *plane = input + (b * channels + c) * height * width;
      for (int64_t ph = 0; ph < out_h; ph++)
        for (int64_t pw = 0; pw < out_w; pw++) {
          float value = 0.0f;
          int first = 1;
          for (int64_t iy = 0; iy < grid_h; iy++) {
            float y = start_h + (float)ph * bin_h + ((float)iy + 0.5f) * bin_h / (float)grid_h;
            for (int64_t ix = 0; ix < grid_w; ix++) {
              float x = start_w + (float)pw * bin_w + ((float)ix + 0.5f) * bin_w / (float)grid_w;
              float corner[4];
              bilinear_corners(plane, height, width, y, x, corner);
              if (!max_mode) {
                value += corner[0] + corner[1] + corner[2] + corner[3];
                continue;
              }
              /* max: the largest weighted corner over every sample (onnxruntime's). */
              for (int k = 0; k < 4; k++)
                if (first || corner[k] > value) value = corner[k], first = 0;
            }
          }
          output[((r * channels + c) * out_h + ph) * out_w + pw] = max_mode ? value : value / samples;
        }
    }
  }
  return 0;
}
