//===- KilnWinograd.h - the transforms of kiln.winograd_conv ---------------===//
//
// F(m x m, 3 x 3) for m = 2 and 4 (Lavin & Gray 2016; interpolation points 0, +-1, +-2 and
// infinity for m = 4, 0, +-1 and infinity for m = 2). The op's meaning depends on them, so
// the pass that transforms weights (G) and codegen (B^T, A^T) read the same tables.
//
//   output tile = A^T [ (G g G^T) . (B^T d B) ] A
//
//===----------------------------------------------------------------------===//
#ifndef KILN_DIALECT_IR_KILNWINOGRAD_H
#define KILN_DIALECT_IR_KILNWINOGRAD_H

namespace kiln {

struct WinogradTransforms {
  int m;                 // output tile size
  int alpha;             // input tile size, m + 2
  const double *g;       // G: alpha x 3
  const double *bt;      // B^T: alpha x alpha
  const double *at;      // A^T: m x alpha
};

inline WinogradTransforms winogradTransforms(int m) {
  static const double g2[] = {1, 0, 0, 0.5, 0.5, 0.5, 0.5, -0.5, 0.5, 0, 0, 1};
  static const double bt2[] = {1, 0, -1, 0, 0, 1, 1, 0, 0, -1, 1, 0, 0, 1, 0, -1};
  static const double at2[] = {1, 1, 1, 0, 0, 1, -1, -1};
  static const double g4[] = {1.0 / 4,   0,         0,         -1.0 / 6, -1.0 / 6,
                              -1.0 / 6,  -1.0 / 6,  1.0 / 6,   -1.0 / 6, 1.0 / 24,
                              1.0 / 12,  1.0 / 6,   1.0 / 24,  -1.0 / 12, 1.0 / 6,
                              0,         0,         1};
  static const double bt4[] = {4, 0,  -5, 0,  1, 0,  //
                               0, -4, -4, 1,  1, 0,  //
                               0, 4,  -4, -1, 1, 0,  //
                               0, -2, -1, 2,  1, 0,  //
                               0, 2,  -1, -2, 1, 0,  //
                               0, 4,  0,  -5, 0, 1};
  static const double at4[] = {1, 1, 1,  1, 1,  0,  //
                               0, 1, -1, 2, -2, 0,  //
                               0, 1, 1,  4, 4,  0,  //
                               0, 1, -1, 8, -8, 1};
  if (m == 2)
    return {2, 4, g2, bt2, at2};
  return {4, 6, g4, bt4, at4};
}

} // namespace kiln

#endif
