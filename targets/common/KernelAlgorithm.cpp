//===- KernelAlgorithm.cpp - kiln.kernel region -> Halide algorithm -------===//
//
// One function per op family turns a kiln op into a Halide Func. Index expressions are
// built in ONNX order (outermost first) and reversed only at the Func call boundary, in
// `call` and `define`, so every rule below reads like the ONNX spec.
//
//===----------------------------------------------------------------------===//
#include "targets/common/KernelAlgorithm.h"

#include "compiler/quantize/GgmlQuants.h"
#include "dialects/kiln/IR/KilnConstants.h"
#include "dialects/kiln/IR/KilnWinograd.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/TypeSwitch.h"
#include <algorithm>
#include <cmath>
#include <functional>
#include <map>
#include <stdexcept>

using namespace Halide;
using mlir::Value;

namespace kiln {
namespace {

using Index = std::vector<Expr>;

Halide::Type halideType(mlir::Type type) {
  if (type.isF32()) return Float(32);
  if (type.isF64()) return Float(64);
  if (type.isF16()) return Float(16);
  if (type.isBF16()) return BFloat(16);
  if (auto i = llvm::dyn_cast<mlir::IntegerType>(type)) {
    if (i.getWidth() == 1) return Bool();
    return i.isUnsigned() ? UInt(i.getWidth()) : Int(i.getWidth());
  }
  std::string text;
  llvm::raw_string_ostream os(text);
  type.print(os);
  throw std::runtime_error("element type " + text + " has no Halide equivalent");
}

std::vector<int64_t> shapeOf(Value value) {
  auto type = llvm::cast<mlir::RankedTensorType>(value.getType());
  return std::vector<int64_t>(type.getShape().begin(), type.getShape().end());
}

Expr call(const TensorFunc &t, const Index &index) {
  std::vector<Expr> args(index.rbegin(), index.rend());
  return t.func(args);
}

/// IEEE binary16 bits (low 16 bits of a uint32) to float, exact for every finite value:
/// exponent and mantissa move into binary32 position and a scale by 2^112 rebiases the
/// exponent (and normalizes subnormals). Cheaper than Halide 14's general float16 cast.
Expr binary16ToFloat(Expr bits) {
  Expr magnitude = reinterpret(Float(32), (bits & 0x7fff) << 13) * 5.192296858534828e+33f;
  return select((bits & 0x8000) != 0, -magnitude, magnitude);
}

bool isInterleavedFormat(llvm::StringRef format) {
  GgmlQuantFormat ggml;
  return parseInterleavedFormat(format.str(), ggml);
}

/// An interleaved format (q8_0x16 ... q5_1x16; the verifier admits no others): its GGML
/// format and where its parts sit (compiler/quantize/GgmlQuants.h).
struct Interleaved {
  GgmlQuantFormat ggml = GgmlQuantFormat::Q8_0;
  InterleavedLayout layout;

  explicit Interleaved(llvm::StringRef format) {
    parseInterleavedFormat(format.str(), ggml);
    layout = interleavedLayout(ggml);
  }
  bool q8() const { return ggml == GgmlQuantFormat::Q8_0; }
};

/// Binary16 scale `which` (0: d, 1: m) of row `lane` in block `block` of group `group`.
Expr interleavedScale(const TensorFunc &packed, Expr group, Expr block, Expr lane, int which) {
  auto at = [&](Expr offset) { return cast(UInt(32), call(packed, {group, block, offset})); };
  return binary16ToFloat(at(32 * which + 2 * lane) | (at(32 * which + 2 * lane + 1) << 8));
}

/// Bit 4 of element e's 5-bit quant, as 16 or 0: bit e of the row's qh (byte e/8). A test
/// against a per-lane constant mask and a select rather than a per-lane variable shift (x86
/// has no byte shifts by a vector of counts; q5_0 matvec measured 1.6x faster).
Expr interleavedHighBit(const TensorFunc &packed, const InterleavedLayout &layout, Expr group,
                        Expr block, Expr lane, Expr e) {
  Expr qh = call(packed, {group, block, int(layout.highBitsAt) + 4 * lane + e / 8});
  return select((qh & cast(UInt(8), 1 << (e % 8))) != 0, cast(UInt(8), 16), cast(UInt(8), 0));
}

class Builder {
public:
  llvm::DenseMap<Value, TensorFunc> tensors;
  KernelAlgorithm algorithm;
  int counter = 0;
  IntegerDotForm dotForm = IntegerDotForm::UnsignedWeights;
  bool concatBySlices = false;  // see TargetBackend::concatenatesBySlices

  /// A fresh Func of `shape` (ONNX order) and element `type`, with its index vars.
  TensorFunc make(std::vector<int64_t> shape, Halide::Type type, const std::string &hint) {
    TensorFunc t;
    t.shape = std::move(shape);
    t.type = type;
    t.func = Func(hint + "_" + std::to_string(counter++));
    for (size_t i = 0; i < t.shape.size(); ++i)
      t.vars.push_back(Var("d" + std::to_string(i)));
    return t;
  }

  /// A fresh Func for `result` with its index vars in ONNX order.
  TensorFunc make(Value result, const std::string &hint) {
    return make(shapeOf(result),
                halideType(llvm::cast<mlir::RankedTensorType>(result.getType()).getElementType()),
                hint);
  }

  /// ONNX-order index vars of `t` (vars are stored innermost first).
  Index indexOf(const TensorFunc &t) {
    Index index;
    for (size_t i = 0; i < t.shape.size(); ++i)
      index.push_back(t.vars[t.shape.size() - 1 - i]);
    return index;
  }

  void define(TensorFunc &t, Expr value) {
    std::vector<Var> args(t.vars.begin(), t.vars.end());
    t.func(args) = cast(t.type, value);
  }

  const TensorFunc &get(Value value) {
    auto it = tensors.find(value);
    if (it == tensors.end())
      throw std::runtime_error("operand has no Halide function (not defined in the kernel)");
    return it->second;
  }

  /// `operand` read at the broadcast of `index` (NumPy rules: align trailing axes).
  Expr broadcastCall(const TensorFunc &operand, const Index &index) {
    Index at;
    size_t lead = index.size() - operand.shape.size();
    for (size_t i = 0; i < operand.shape.size(); ++i)
      at.push_back(operand.shape[i] == 1 ? Expr(0) : index[lead + i]);
    return call(operand, at);
  }

  /// The arithmetic type: float16 computes in float32.
  static Halide::Type computeType(Halide::Type t) {
    return (t.is_float() && t.bits() == 16) || t.is_bfloat() ? Float(32) : t;
  }

  void addStage(const TensorFunc &t, StageClass kind, RDom r = RDom()) {
    algorithm.stages.push_back({t, kind, r});
  }

  //===--------------------------------------------------------------------===//
  // Leaves
  //===--------------------------------------------------------------------===//

  void input(Value arg, int index) {
    TensorFunc t = make(arg, "in" + std::to_string(index));
    ImageParam param(t.type, int(t.shape.size()), "in" + std::to_string(index));
    int64_t stride = 1;
    for (int d = 0; d < int(t.shape.size()); ++d) {
      int64_t extent = t.shape[t.shape.size() - 1 - d];
      param.dim(d).set_bounds(0, int(extent)).set_stride(int(stride));
      stride *= extent;
    }
    algorithm.inputs.push_back(param);
    std::vector<Var> args(t.vars.begin(), t.vars.end());
    t.func(args) = param(args);
    tensors[arg] = t;
  }

  void constant(ConstantOp op) {
    auto values = readConstant(op.getValue());
    if (!values)
      throw std::runtime_error("cannot read an inlined constant");
    TensorFunc t = make(op.getResult(), "const");
    if (values->floats.size() == 1) {
      define(t, values->isInteger ? cast(t.type, Expr(values->ints[0]))
                                  : cast(t.type, Expr(values->floats[0])));
    } else {
      // A small table: select on the linear index.
      Expr linear = 0;
      Index index = indexOf(t);
      for (size_t i = 0; i < t.shape.size(); ++i)
        linear = linear * int(t.shape[i]) + index[i];
      Expr value = cast(t.type, Expr(values->floats.back()));
      for (int i = int(values->floats.size()) - 2; i >= 0; --i)
        value = select(linear == i,
                       values->isInteger ? cast(t.type, Expr(values->ints[i]))
                                         : cast(t.type, Expr(values->floats[i])),
                       value);
      define(t, value);
    }
    tensors[op.getResult()] = t;
  }

  //===--------------------------------------------------------------------===//
  // Elementwise
  //===--------------------------------------------------------------------===//

  static Expr erfApprox(Expr x) {
    // erf via Abramowitz & Stegun 7.1.26 refined: max abs error 1.5e-7 in float.
    Expr sign = select(x < 0, -1.0f, 1.0f);
    Expr a = abs(x);
    Expr t = 1.0f / (1.0f + 0.3275911f * a);
    Expr poly = t * (0.254829592f + t * (-0.284496736f + t * (1.421413741f +
                t * (-1.453152027f + t * 1.061405429f))));
    return sign * (1.0f - poly * exp(-a * a));
  }

  static Expr tanhApprox(Expr x) {
    // Halide's tanh is a scalar libm call per element (a GPT MLP's tanh-GELU epilogue ran at
    // 14 ns an element); this is exp, which vectorizes. (1 - e)/(1 + e) with e = exp(-2|x|)
    // loses bits to cancellation near 0, where the Taylor series to x^7 is exact to float
    // precision (|x| < 0.1: next term under 2.2e-11).
    Expr a = abs(x), e = exp(-2.0f * a);
    Expr far = (1.0f - e) / (1.0f + e);
    Expr x2 = x * x;
    Expr near = x * (1.0f + x2 * (-1.0f / 3 + x2 * (2.0f / 15 + x2 * (-17.0f / 315))));
    return select(a < 0.1f, near, select(x < 0, -far, far));
  }

  void unary(mlir::Operation *op) {
    Value result = op->getResult(0);
    const TensorFunc &in = get(op->getOperand(0));
    TensorFunc t = make(result, op->getName().stripDialect().str());
    Halide::Type ct = computeType(in.type);
    Expr x = cast(ct, call(in, indexOf(t)));
    Expr y = llvm::TypeSwitch<mlir::Operation *, Expr>(op)
                 .Case([&](NegOp) { return -x; })
                 .Case([&](AbsOp) { return abs(x); })
                 .Case([&](SqrtOp) { return sqrt(x); })
                 .Case([&](ExpOp) { return exp(x); })
                 .Case([&](LogOp) { return log(x); })
                 .Case([&](TanhOp) {
                   return ct == Float(32) ? tanhApprox(x) : tanh(x);
                 })
                 .Case([&](ErfOp) { return cast(ct, erfApprox(cast(Float(32), x))); })
                 .Case([&](SigmoidOp) { return 1 / (1 + exp(-x)); })
                 .Case([&](ReluOp) { return max(x, cast(ct, 0)); })
                 .Case([&](FloorOp) { return floor(x); })
                 .Case([&](CeilOp) { return ceil(x); })
                 .Case([&](ReciprocalOp) { return 1 / x; })
                 .Case([&](SinOp) { return sin(x); })
                 .Case([&](CosOp) { return cos(x); })
                 .Case([&](TanOp) { return tan(x); })
                 .Case([&](AsinOp) { return asin(x); })
                 .Case([&](AcosOp) { return acos(x); })
                 .Case([&](AtanOp) { return atan(x); })
                 .Case([&](SinhOp) { return sinh(x); })
                 .Case([&](CoshOp) { return cosh(x); })
                 .Case([&](AsinhOp) { return asinh(x); })
                 .Case([&](AcoshOp) { return acosh(x); })
                 .Case([&](AtanhOp) { return atanh(x); })
                 .Case([&](SignOp) {
                   Expr zero = cast(ct, 0);
                   return select(x > zero, cast(ct, 1), select(x < zero, cast(ct, -1), zero));
                 })
                 .Case([&](RoundOp) {
                   // Halide's round() rounds half to even, as ONNX Round does.
                   return ct.is_float() ? round(x) : x;
                 })
                 .Case([&](NotOp) { return !x; })
                 .Case([&](LeakyReluOp o) {
                   return select(x < 0, x * cast(ct, Expr(o.getAlpha().convertToDouble())), x);
                 })
                 .Case([&](ClipOp o) {
                   double lo = o.getMin().convertToDouble(), hi = o.getMax().convertToDouble();
                   Expr v = x;
                   if (std::isfinite(lo)) v = max(v, cast(ct, Expr(lo)));
                   if (std::isfinite(hi)) v = min(v, cast(ct, Expr(hi)));
                   return v;
                 })
                 .Case([&](HardSigmoidOp o) {
                   Expr alpha = cast(ct, Expr(o.getAlpha().convertToDouble()));
                   Expr beta = cast(ct, Expr(o.getBeta().convertToDouble()));
                   return clamp(alpha * x + beta, cast(ct, 0), cast(ct, 1));
                 })
                 .Default([&](mlir::Operation *) -> Expr {
                   throw std::runtime_error("no Halide rule");
                 });
    define(t, y);
    tensors[result] = t;
  }

  /// A weight decoded from its packed rows where it is read (inlined into the consumer).
  void dequantize(DequantizeOp op) {
    const TensorFunc &packed = get(op.getPacked());
    TensorFunc t = make(op.getResult(), "dequantize");
    Index index = indexOf(t);
    int64_t axis = op.getRowAxis();
    Expr row = index[axis], k = 0;
    for (size_t i = 0; i < t.shape.size(); ++i)
      if (int64_t(i) != axis)
        k = k * int(t.shape[i]) + index[i];
    auto byteAt = [&](Expr offset) { return cast(UInt(32), call(packed, {row, offset})); };
    auto half = [&](Expr offset) {
      return binary16ToFloat(byteAt(offset) | (byteAt(offset + 1) << 8));
    };
    std::string format = op.getFormat().str();
    Expr value;
    if (isInterleavedFormat(format)) {
      // [group, block, bytes]: see compiler/quantize/GgmlQuants.h for the arrangement.
      Expr group = row / 16, lane = row % 16, block = k / 32, j = k % 32;
      auto at = [&](Expr offset) { return call(packed, {group, block, offset}); };
      Interleaved interleaved(format);
      const InterleavedLayout &layout = interleaved.layout;
      Expr q;
      if (interleaved.q8()) {
        q = at(int(layout.quantsAt) + 64 * (j / 4) + 4 * lane + j % 4);
      } else {
        Expr e = j % 16, byte = at(int(layout.quantsAt) + 64 * (e / 4) + 4 * lane + e % 4);
        q = select(j < 16, byte & 15, byte >> 4);
        if (layout.fiveBit)
          q = q | interleavedHighBit(packed, layout, group, block, lane, j);
      }
      value = interleavedScale(packed, group, block, lane, 0) *
              (cast(Float(32), q) - float(layout.quantOffset));
      if (layout.withMin)
        value = value + interleavedScale(packed, group, block, lane, 1);
      define(t, value);
      tensors[op.getResult()] = t;
      // Matmuls read these weights through integer dot products (integerMatmul); any other
      // reader decodes them inline.
      return;
    } else if (format == "int8") {
      value = cast(Float(32), reinterpret(Int(8), cast(UInt(8), byteAt(k)))) *
              call(get(op.getScales()), {row});
    } else {
      int blockBytes = format == "q8_0" ? 34 : format == "q4_0" ? 18 : format == "q4_1" ? 20
                       : format == "q5_0" ? 22 : 24;
      Expr block = k / 32, j = k % 32, base = block * blockBytes;
      Expr d = half(base);
      // Nibble j of a block: low nibbles hold elements 0..15, high nibbles 16..31.
      auto nibble = [&](Expr quants) {
        Expr byte = byteAt(quants + (j % 16));
        return select(j < 16, byte & 15, byte >> 4);
      };
      auto highBit = [&](Expr offset) {
        Expr qh = byteAt(offset) | (byteAt(offset + 1) << 8) | (byteAt(offset + 2) << 16) |
                  (byteAt(offset + 3) << 24);
        return (qh >> cast(UInt(32), j)) & 1;
      };
      if (format == "q8_0") {
        value = d * cast(Float(32), reinterpret(Int(8), cast(UInt(8), byteAt(base + 2 + j))));
      } else if (format == "q4_0") {
        value = d * (cast(Float(32), nibble(base + 2)) - 8.0f);
      } else if (format == "q4_1") {
        value = d * cast(Float(32), nibble(base + 4)) + half(base + 2);
      } else if (format == "q5_0") {
        Expr q = nibble(base + 6) | (highBit(base + 2) << 4);
        value = d * (cast(Float(32), q) - 16.0f);
      } else {
        Expr q = nibble(base + 8) | (highBit(base + 4) << 4);
        value = d * cast(Float(32), q) + half(base + 2);
      }
    }
    define(t, value);
    // Decoded per tile of the consuming contraction (see CpuSchedule.cpp), not per use.
    addStage(t, StageClass::Weights);
    // The innermost axis that runs along a packed row: the last non-row axis with extent > 1.
    int rank = int(t.shape.size());
    for (int d = 0; d < rank; ++d) {
      int onnxAxis = rank - 1 - d;
      if (onnxAxis != int(axis) && t.shape[onnxAxis] > 1) {
        algorithm.stages.back().rowDimension = d;
        break;
      }
    }
    tensors[op.getResult()] = t;
  }

  void castOp(CastOp op) {
    const TensorFunc &in = get(op.getInput());
    TensorFunc t = make(op.getResult(), "cast");
    Expr x = call(in, indexOf(t));
    if (t.type.is_bool())
      define(t, x != cast(in.type, 0));
    else if (t.type.is_int_or_uint() && in.type.is_float())
      define(t, cast(t.type, trunc(x)));
    else
      define(t, cast(t.type, x));
    tensors[op.getResult()] = t;
  }

  void binary(mlir::Operation *op) {
    Value result = op->getResult(0);
    TensorFunc t = make(result, op->getName().stripDialect().str());
    Index index = indexOf(t);
    const TensorFunc &lhsT = get(op->getOperand(0));
    const TensorFunc &rhsT = get(op->getOperand(1));
    Halide::Type ct = computeType(lhsT.type);
    Expr a = cast(ct, broadcastCall(lhsT, index));
    Expr b = cast(ct, broadcastCall(rhsT, index));
    Expr y = llvm::TypeSwitch<mlir::Operation *, Expr>(op)
                 .Case([&](AddOp) { return a + b; })
                 .Case([&](SubOp) { return a - b; })
                 .Case([&](MulOp) { return a * b; })
                 .Case([&](DivOp) {
                   // Integer division in ONNX truncates toward zero; Halide floors.
                   if (ct.is_int())
                     return select(b == 0, cast(ct, 0),
                                   select((a < 0) != (b < 0) && a % b != 0, a / b + 1, a / b));
                   return a / b;
                 })
                 .Case([&](PowOp) {
                   if (ct.is_float())
                     return pow(a, b);
                   return cast(ct, pow(cast(Float(64), a), cast(Float(64), b)));
                 })
                 .Case([&](MaxOp) { return max(a, b); })
                 .Case([&](MinOp) { return min(a, b); })
                 .Case([&](ModOp) {
                   // The divisor's sign (Python); Halide's % is Euclidean for ints.
                   if (ct.is_float())
                     return a - floor(a / b) * b;
                   Expr r = a % b;  // in [0, |b|)
                   return select(b == 0, cast(ct, 0), select(b < 0 && r != 0, r + b, r));
                 })
                 .Case([&](FmodOp) {
                   if (ct.is_float())
                     return a - trunc(a / b) * b;
                   Expr r = a % b;
                   return select(b == 0, cast(ct, 0), select(a < 0 && r != 0, r - abs(b), r));
                 })
                 .Case([&](AndOp) { return a && b; })
                 .Case([&](OrOp) { return a || b; })
                 .Case([&](XorOp) { return a != b; })
                 .Case([&](ShiftLeftOp) {
                   return select(b >= ct.bits(), cast(ct, 0), a << b);
                 })
                 .Case([&](ShiftRightOp) {
                   return select(b >= ct.bits(), cast(ct, 0), a >> b);
                 })
                 .Default([&](mlir::Operation *) -> Expr {
                   throw std::runtime_error("no Halide rule");
                 });
    define(t, y);
    tensors[result] = t;
  }

  void classify(ClassifyOp op) {
    const TensorFunc &in = get(op.getInput());
    TensorFunc t = make(op.getResult(), "classify");
    Expr x = cast(Float(64), call(in, indexOf(t)));
    std::string kind = op.getKind().str();
    Expr inf = is_inf(x);
    define(t, kind == "nan"       ? is_nan(x)
              : kind == "inf"     ? inf
              : kind == "pos_inf" ? inf && x > 0
                                  : inf && x < 0);
    tensors[op.getResult()] = t;
  }

  void compare(CompareOp op) {
    TensorFunc t = make(op.getResult(), "compare");
    Index index = indexOf(t);
    const TensorFunc &lhsT = get(op.getLhs());
    const TensorFunc &rhsT = get(op.getRhs());
    Halide::Type ct = computeType(lhsT.type);
    Expr a = cast(ct, broadcastCall(lhsT, index)), b = cast(ct, broadcastCall(rhsT, index));
    std::string p = op.getPredicate().str();
    define(t, p == "eq" ? a == b : p == "lt" ? a < b : p == "le" ? a <= b : p == "gt" ? a > b
                                                                              : a >= b);
    tensors[op.getResult()] = t;
  }

  void selectOp(SelectOp op) {
    TensorFunc t = make(op.getResult(), "select");
    Index index = indexOf(t);
    Expr c = broadcastCall(get(op.getCondition()), index);
    if (!c.type().is_bool())
      c = c != cast(c.type(), 0);
    define(t, select(c, broadcastCall(get(op.getLhs()), index),
                     broadcastCall(get(op.getRhs()), index)));
    tensors[op.getResult()] = t;
  }

  void argReduce(ArgReduceOp op) {
    const TensorFunc &in = get(op.getInput());
    TensorFunc t = make(op.getResult(), "arg");
    int64_t axis = op.getAxis();
    bool keepDims = t.shape.size() == in.shape.size();
    Index out = indexOf(t), at;
    RDom r(0, int(in.shape[axis]), "r" + std::to_string(counter));
    for (size_t i = 0, next = 0; i < in.shape.size(); ++i) {
      if (int64_t(i) == axis) {
        at.push_back(r);
        if (keepDims)
          ++next;
      } else {
        at.push_back(out[next++]);
      }
    }
    // Track (best value, index) with a Tuple update; ties keep the first (or last) index.
    Func best("argbest_" + std::to_string(counter++));
    std::vector<Var> args(t.vars.begin(), t.vars.end());
    Halide::Type ct = computeType(in.type);
    Expr v = cast(ct, call(in, at));
    bool isMax = op.getKind() == "max";
    best(args) = Tuple(isMax ? ct.min() : ct.max(), cast(Int(64), -1));
    Expr current = best(args)[0];
    Expr better = isMax ? (op.getSelectLastIndex() ? v >= current : v > current)
                        : (op.getSelectLastIndex() ? v <= current : v < current);
    better = better || best(args)[1] < 0;
    best(args) = Tuple(select(better, v, current),
                       select(better, cast(Int(64), r), best(args)[1]));
    define(t, best(args)[1]);
    TensorFunc bestT = t;
    bestT.func = best;
    addStage(bestT, StageClass::Reduction);
    tensors[op.getResult()] = t;
  }

  void cumsum(CumsumOp op) {
    const TensorFunc &in = get(op.getInput());
    TensorFunc t = make(op.getResult(), "cumsum");
    int64_t axis = op.getAxis();
    int n = int(in.shape[axis]);
    Index out = indexOf(t);
    RDom r(0, n, "r" + std::to_string(counter));
    // result[i] = sum of input[j] for j < i (exclusive) or j <= i, mirrored when reversed.
    Index at = out;
    at[axis] = r;
    Expr i = out[axis];
    Expr include = op.getReverse() ? (op.getExclusive() ? Expr(r) > i : Expr(r) >= i)
                                   : (op.getExclusive() ? Expr(r) < i : Expr(r) <= i);
    Halide::Type ct = computeType(t.type);
    define(t, sum(select(include, cast(ct, call(in, at)), cast(ct, 0))));
    addStage(t, StageClass::Reduction);
    tensors[op.getResult()] = t;
  }

  void einsum(EinsumOp op) {
    // equation "ab,bc->ac": letters in the output index the result; the others are summed.
    std::string equation = op.getEquation().str();
    size_t arrow = equation.find("->");
    std::string lhs = equation.substr(0, arrow), rhs = equation.substr(arrow + 2);
    llvm::SmallVector<llvm::StringRef> terms;
    llvm::StringRef(lhs).split(terms, ',');
    TensorFunc t = make(op.getResult(), "einsum");
    Index out = indexOf(t);
    std::map<char, Expr> letter;
    for (size_t i = 0; i < rhs.size(); ++i)
      letter[rhs[i]] = out[i];
    std::map<char, int> summedExtent;
    for (size_t k = 0; k < terms.size(); ++k) {
      const TensorFunc &in = get(op.getInputs()[k]);
      for (size_t i = 0; i < terms[k].size(); ++i)
        if (!letter.count(terms[k][i]))
          summedExtent[terms[k][i]] = int(in.shape[i]);
    }
    Region extents;
    std::vector<char> summed;
    for (auto [c, extent] : summedExtent) {
      extents.push_back(Range(0, extent));
      summed.push_back(c);
    }
    RDom r;
    if (!extents.empty()) {
      r = RDom(extents, "r" + std::to_string(counter));
      for (size_t i = 0; i < summed.size(); ++i)
        letter[summed[i]] = r[int(i)];
    }
    Halide::Type ct = computeType(t.type);
    Expr product = cast(ct, 1);
    for (size_t k = 0; k < terms.size(); ++k) {
      Index at;
      for (char c : terms[k])
        at.push_back(letter[c]);
      product = product * cast(ct, call(get(op.getInputs()[k]), at));
    }
    define(t, extents.empty() ? product : sum(product));
    addStage(t, StageClass::Reduction);
    tensors[op.getResult()] = t;
  }

  /// A non-negative index into an axis of `extent` from a possibly negative one.
  static Expr wrapIndex(Expr i, int extent) {
    i = cast(Int(32), i);
    return clamp(select(i < 0, i + extent, i), 0, extent - 1);
  }

  void gatherElements(GatherElementsOp op) {
    const TensorFunc &in = get(op.getInput());
    const TensorFunc &indices = get(op.getIndices());
    TensorFunc t = make(op.getResult(), "gather_elements");
    Index out = indexOf(t), at = out;
    int64_t axis = op.getAxis();
    at[axis] = wrapIndex(call(indices, out), int(in.shape[axis]));
    define(t, call(in, at));
    addStage(t, StageClass::Data);
    tensors[op.getResult()] = t;
  }

  void gatherNd(GatherNdOp op) {
    const TensorFunc &in = get(op.getInput());
    const TensorFunc &indices = get(op.getIndices());
    TensorFunc t = make(op.getResult(), "gather_nd");
    Index out = indexOf(t);
    size_t batch = size_t(op.getBatchDims());
    size_t indexRank = indices.shape.size();
    int depth = int(indices.shape.back());
    // out = [batch..., indices outer..., data tail...]
    Index indexAt(out.begin(), out.begin() + (indexRank - 1));
    Index at(out.begin(), out.begin() + batch);
    for (int k = 0; k < depth; ++k) {
      Index position = indexAt;
      position.push_back(k);
      at.push_back(wrapIndex(call(indices, position), int(in.shape[batch + k])));
    }
    for (size_t i = indexRank - 1; i < out.size(); ++i)
      at.push_back(out[i]);
    define(t, call(in, at));
    addStage(t, StageClass::Data);
    tensors[op.getResult()] = t;
  }

  /// Scatter as an update definition over the updates' index space.
  void scatter(Value result, Value inputValue, Value indicesValue, Value updatesValue,
               const std::string &reduction, std::function<Index(const Index &, const TensorFunc &)> target) {
    const TensorFunc &in = get(inputValue);
    const TensorFunc &indices = get(indicesValue);
    const TensorFunc &updates = get(updatesValue);
    TensorFunc t = make(result, "scatter");
    std::vector<Var> args(t.vars.begin(), t.vars.end());
    t.func(args) = call(in, indexOf(t));
    Region extents;
    for (int64_t d : updates.shape)
      extents.push_back(Range(0, int(d)));
    RDom r(extents, "r" + std::to_string(counter));
    Index u;
    for (int i = 0; i < r.dimensions(); ++i)
      u.push_back(r[i]);
    Index at = target(u, indices);
    std::vector<Expr> atArgs(at.rbegin(), at.rend());
    Expr value = call(updates, u);
    if (reduction == "add")
      value = t.func(atArgs) + value;
    else if (reduction == "mul")
      value = t.func(atArgs) * value;
    t.func(atArgs) = value;
    addStage(t, StageClass::Data, r);
    tensors[result] = t;
  }

  //===--------------------------------------------------------------------===//
  // Contractions and windows
  //===--------------------------------------------------------------------===//

  /// `in` with a constant exterior so window ops can read past the edges.
  Func padded(const TensorFunc &in, Expr value) {
    Region bounds;
    for (int d = 0; d < int(in.shape.size()); ++d)
      bounds.push_back(Range(0, int(in.shape[in.shape.size() - 1 - d])));
    return BoundaryConditions::constant_exterior(in.func, cast(in.type, value), bounds);
  }

  void conv(ConvOp op) {
    if (auto weights = op.getWeight().getDefiningOp<DequantizeOp>())
      if (isInterleavedFormat(weights.getFormat()) && integerConv(op, weights))
        return;
    const TensorFunc &in = get(op.getInput());
    const TensorFunc &w = get(op.getWeight());
    TensorFunc t = make(op.getResult(), "conv");
    size_t spatial = in.shape.size() - 2;
    int64_t groups = op.getGroups();
    int64_t channelsPerGroup = w.shape[1];
    int64_t filtersPerGroup = w.shape[0] / groups;
    bool depthwise = channelsPerGroup == 1 && groups > 1;
    Region extents;
    if (!depthwise)
      extents.push_back(Range(0, int(channelsPerGroup)));
    for (size_t i = 0; i < spatial; ++i)
      extents.push_back(Range(0, int(w.shape[2 + i])));
    RDom r(extents, "r" + std::to_string(counter));
    int rk = depthwise ? 0 : 1;
    Index out = indexOf(t);
    Expr group = out[1] / int(filtersPerGroup);
    Expr channel = depthwise ? group : group * int(channelsPerGroup) + r[0];
    Index inIndex{out[0], channel}, wIndex{out[1], depthwise ? Expr(0) : Expr(r[0])};
    bool anyPad = llvm::any_of(op.getPads(), [](int64_t p) { return p != 0; });
    bool strided = llvm::any_of(op.getStrides(), [](int64_t s) { return s > 1; });
    bool pointwise = llvm::all_of(llvm::ArrayRef<int64_t>(w.shape).drop_front(2),
                                  [](int64_t k) { return k == 1; });
    // A strided pointwise convolution (a ResNet downsampling projection) reads a subsampled
    // copy of its input (a stage of its own, a quarter of the input for stride 2), so its
    // contraction reads contiguous pixels like any pointwise convolution instead of
    // gathering every other one (ResNet-50 at 1 thread: see docs/benchmarks.md).
    bool subsample = pointwise && strided && !anyPad && !depthwise;
    for (size_t i = 0; i < spatial; ++i) {
      int64_t stride = subsample ? 1 : op.getStrides()[i];
      inIndex.push_back(out[2 + i] * int(stride) - int(op.getPads()[i]) +
                        r[rk + i] * int(op.getDilations()[i]));
      wIndex.push_back(r[rk + i]);
    }
    // The input paths below are Data stages whose placement the target's plan decides:
    // the zero-bordered input (materialized, so the inner loop has no bounds selects; per
    // output channel for a depthwise convolution; or inline) and, for a window strided
    // along x, the bordered input split into x phases (materialized, so every window column
    // is a dense vector load; or inline, which reads the bordered input at stride x).
    int64_t inWidth = in.shape.back();
    Func source = in.func;
    if (subsample) {
      TensorFunc picked = in;
      picked.func = Func("subsample_" + std::to_string(counter));
      for (size_t i = 0; i < spatial; ++i)
        picked.shape[2 + i] = t.shape[2 + i];
      Index at = indexOf(picked);
      for (size_t i = 0; i < spatial; ++i)
        at[2 + i] = at[2 + i] * int(op.getStrides()[i]);
      define(picked, call(in, at));
      addStage(picked, StageClass::Data);
      source = picked.func;
    }
    // A window convolution strided along x (a stem: 7x7 or 3x3, stride 2) reads a copy of
    // its bordered input split into x phases,
    // phases(xq, p, ...) = bordered input(xq * sx + p - padLeft, ...),
    // so that each window column is read with dense vector loads instead of a stride-2
    // shuffle per multiply-add (ResNet-50's 7x7 stem, AVX-512 1 thread: see
    // docs/benchmarks.md).
    int64_t strideX = op.getStrides()[spatial - 1], dilationX = op.getDilations()[spatial - 1];
    bool xPhases = strideX > 1 && !pointwise && !subsample;
    int borderStage = -1, phasesStage = -1;
    Func bordered;
    if (anyPad || xPhases) {
      // Bordered even without padding when split into phases: the last phase may run past
      // the input's end.
      bordered = padded(in, 0);
      TensorFunc border = in;
      border.func = bordered;
      addStage(border, StageClass::Data);
      algorithm.stages.back().role = DataRole::Border;
      algorithm.stages.back().perOutputChannel = depthwise;
      borderStage = int(algorithm.stages.size()) - 1;
      if (anyPad)
        source = bordered;
    }
    std::vector<Expr> inArgs(inIndex.rbegin(), inIndex.rend());
    if (xPhases) {
      std::vector<int64_t> phaseShape = in.shape;
      phaseShape.back() = t.shape.back() + (w.shape.back() - 1) * dilationX / strideX;
      phaseShape.insert(phaseShape.end() - 1, strideX);
      TensorFunc phases = make(phaseShape, in.type, "phases");
      std::vector<Expr> from(phases.vars.begin() + 1, phases.vars.end());
      from[0] = phases.vars[0] * int(strideX) + phases.vars[1] -
                int(op.getPads()[spatial - 1]);
      phases.func(std::vector<Var>(phases.vars.begin(), phases.vars.end())) = bordered(from);
      addStage(phases, StageClass::Data);
      algorithm.stages.back().role = DataRole::Phases;
      phasesStage = int(algorithm.stages.size()) - 1;
      // Input column out_x * sx + kx * dx is phase (kx * dx) % sx, column out_x + (kx * dx) / sx.
      Expr offset = r[rk + spatial - 1] * int(dilationX);
      inArgs[0] = out[2 + spatial - 1] + offset / int(strideX);
      inArgs.insert(inArgs.begin() + 1, offset % int(strideX));
      source = phases.func;
    }
    Halide::Type ct = computeType(t.type);
    Expr init = cast(ct, 0);
    if (Value bias = op.getBias())
      init = cast(ct, call(get(bias), {out[1]}));
    std::vector<Var> args(t.vars.begin(), t.vars.end());
    t.func(args) = init;
    t.func(args) += cast(ct, source(inArgs)) * cast(ct, call(w, wIndex));
    if (t.type != ct)
      throw std::runtime_error("float16 convolution is not supported yet");
    addStage(t, depthwise ? StageClass::Depthwise : StageClass::Conv, r);
    algorithm.stages.back().pointwise = pointwise;
    algorithm.stages.back().filtersPerGroup = groups > 1 ? filtersPerGroup : 0;
    ConvInputPaths &paths = algorithm.stages.back().inputPaths;
    paths.borderStage = borderStage;
    paths.phasesStage = phasesStage;
    paths.padded = anyPad;
    paths.strided = strided;
    paths.inputWidth = inWidth;
    if (auto view = op.getWeight().getDefiningOp<TransposeOp>())
      algorithm.stages.back().channelsContiguous =
          view->hasAttr("kiln.weight_view") && view.getPerm() == llvm::ArrayRef<int64_t>{3, 0, 1, 2};
    if (op.getWeight().getDefiningOp<FromStripsOp>())
      algorithm.stages.back().channelsContiguous = true;
    tensors[op.getResult()] = t;
  }

  /// kiln.winograd_conv (KilnWinograd.h): bordered input -> V = B^T d B per tile ->
  /// one GEMM per transformed point (a, b) against the compile-time U -> A^T M A.
  void winogradConv(WinogradConvOp op) {
    const TensorFunc &in = get(op.getInput());
    const TensorFunc &u = get(op.getWeight());  // Halide (f % strip, c, f / strip, b, a)
    TensorFunc t = make(op.getResult(), "winograd");
    WinogradTransforms w = winogradTransforms(int(op.getTile()));
    int m = w.m, alpha = w.alpha;
    int tilesX = int((t.shape[3] + m - 1) / m), tilesY = int((t.shape[2] + m - 1) / m);
    int padTop = int(op.getPads()[0]), padLeft = int(op.getPads()[1]);
    std::string id = std::to_string(counter);
    WinogradConv plan;
    plan.channelsIn = int(in.shape[1]);
    plan.channelsOut = int(t.shape[1]);
    plan.channelsPadded = int(u.shape[2] * u.shape[4]);
    int strip = int(u.shape[4]);  // output channels per strip of the transformed weight
    plan.tileCount = tilesX * tilesY;
    plan.alpha = alpha;
    // sum_k matrix[row][k] * term(k) for a rows x alpha matrix. `row` is unrolled by the
    // schedule, so each coefficient (a mux over the rows) folds to a constant.
    auto product = [alpha](const double *matrix, int rows, Expr row,
                           const std::function<Expr(int)> &term) {
      Expr sum = 0.0f;
      for (int k = 0; k < alpha; ++k) {
        std::vector<Expr> column;
        for (int r = 0; r < rows; ++r)
          column.push_back(float(matrix[r * alpha + k]));
        sum += mux(row, column) * term(k);
      }
      return sum;
    };
    Var c("c"), f("f"), x("x"), y("y"), n("n"), tt("t"), a("a"), b("b"), i("i"), j("j"),
        row("row");
    Func border = padded(in, 0);
    plan.input = Func("winograd_input_" + id);
    plan.input(c, x, y, n) = border(x - padLeft, y - padTop, c, n);
    // d[row][s] = input(c, tx * m + s, ty * m + row); P[b][row] = sum_s B^T[b][s] d[row][s].
    Expr tx = tt % tilesX, ty = tt / tilesX;
    plan.columnPass = Func("winograd_columns_" + id);
    plan.columnPass(c, b, row, tt, n) = product(w.bt, alpha, b, [&](int s) {
      return plan.input(c, tx * m + s, ty * m + row, n);
    });
    // V[a][b] = sum_row B^T[a][row] P[b][row].
    plan.transformed = Func("winograd_v_" + id);
    plan.transformed(c, tt, b, a, n) =
        product(w.bt, alpha, a, [&](int r) { return plan.columnPass(c, b, r, tt, n); });
    // M[a][b](f, t) = sum_c V[a][b](c, t) U[a][b](c, f).
    plan.channels = RDom(0, plan.channelsIn, "rc" + id);
    plan.product = Func("winograd_m_" + id);
    plan.product(f, tt, b, a, n) = 0.0f;
    plan.product(f, tt, b, a, n) +=
        plan.transformed(plan.channels, tt, b, a, n) *
        call(u, {a, b, f / strip, plan.channels, f % strip});
    plan.products = Func("winograd_ms_" + id);
    plan.products(f, tt, b, a, n) = plan.product(f, tt, b, a, n);
    // Q[j][a] = sum_b A^T[j][b] M[a][b]; Y[i][j] = sum_a A^T[i][a] Q[j][a].
    plan.rowPass = Func("winograd_rows_" + id);
    plan.rowPass(f, j, a, tt, n) =
        product(w.at, m, j, [&](int k) { return plan.products(f, tt, k, a, n); });
    plan.tiles = Func("winograd_y_" + id);
    plan.tiles(f, j, i, tt, n) =
        product(w.at, m, i, [&](int k) { return plan.rowPass(f, j, k, tt, n); });
    Index out = indexOf(t);  // n, f, y, x
    Expr value = plan.tiles(out[1], out[3] % m, out[2] % m, (out[2] / m) * tilesX + out[3] / m,
                            out[0]);
    if (Value bias = op.getBias())
      value += call(get(bias), {out[1]});
    define(t, value);
    addStage(t, StageClass::Winograd);
    algorithm.stages.back().winograd = plan;
    tensors[op.getResult()] = t;
  }

  void convTranspose(ConvTransposeOp op) {
    const TensorFunc &in = get(op.getInput());
    const TensorFunc &w = get(op.getWeight());
    TensorFunc t = make(op.getResult(), "deconv");
    // Stride equal to the kernel, no padding (the common 2x2/stride-2 upsampler): every
    // output reads exactly one input pixel per channel, so the taps need no guards.
    {
      size_t spatial = in.shape.size() - 2;
      bool tiled = op.getGroups() == 1;
      for (size_t i = 0; i < spatial; ++i)
        tiled &= op.getStrides()[i] == w.shape[2 + i] && op.getDilations()[i] == 1 &&
                 op.getPads()[i] == 0 && op.getPads()[spatial + i] == 0;
      if (tiled) {
        RDom r(0, int(in.shape[1]), "r" + std::to_string(counter));
        Index out = indexOf(t);
        Index inIndex{out[0], r}, wIndex{r, out[1]};
        for (size_t i = 0; i < spatial; ++i) {
          int stride = int(op.getStrides()[i]);
          inIndex.push_back(out[2 + i] / stride);
          wIndex.push_back(out[2 + i] % stride);
        }
        Expr init = cast(t.type, 0);
        if (Value bias = op.getBias())
          init = call(get(bias), {out[1]});
        std::vector<Var> args(t.vars.begin(), t.vars.end());
        t.func(args) = init;
        t.func(args) += call(in, inIndex) * call(w, wIndex);
        addStage(t, StageClass::Conv, r);
        tensors[op.getResult()] = t;
        return;
      }
    }
    size_t spatial = in.shape.size() - 2;
    int64_t groups = op.getGroups();
    int64_t inPerGroup = in.shape[1] / groups, outPerGroup = w.shape[1];
    Region extents{Range(0, int(inPerGroup))};
    for (size_t i = 0; i < spatial; ++i)
      extents.push_back(Range(0, int(w.shape[2 + i])));
    RDom r(extents, "r" + std::to_string(counter));
    Index out = indexOf(t);
    Expr group = out[1] / int(outPerGroup);
    Expr channel = group * int(inPerGroup) + r[0];
    Index inIndex{out[0], channel}, wIndex{channel, out[1] % int(outPerGroup)};
    Expr valid = Halide::Internal::const_true();
    for (size_t i = 0; i < spatial; ++i) {
      // out = in*stride - pad + k*dilation  =>  in = (out + pad - k*dilation) / stride
      Expr numerator = out[2 + i] + int(op.getPads()[i]) - r[1 + i] * int(op.getDilations()[i]);
      int stride = int(op.getStrides()[i]);
      valid = valid && numerator >= 0 && numerator % stride == 0 &&
              numerator / stride < int(in.shape[2 + i]);
      inIndex.push_back(clamp(numerator / stride, 0, int(in.shape[2 + i]) - 1));
      wIndex.push_back(r[1 + i]);
    }
    Expr init = cast(t.type, 0);
    if (Value bias = op.getBias())
      init = call(get(bias), {out[1]});
    std::vector<Var> args(t.vars.begin(), t.vars.end());
    t.func(args) = init;
    t.func(args) += select(valid, call(in, inIndex) * call(w, wIndex), cast(t.type, 0));
    addStage(t, StageClass::Conv, r);
    tensors[op.getResult()] = t;
  }

  /// A matmul on q8_0x16/q4_0x16 weights as integer dot products, the way ggml computes
  /// quantized matmuls: each 32-value block of an activation row is quantized to int8 with
  /// scale amax/127, the weight quants (unsigned: q8_0 + 128, q4_0 nibbles) are multiplied
  /// by it in int32, and each block's integer dot becomes float once:
  ///   y[m, n] = sum_b dw[n, b] * dx[m, b] * (sum_j u[n, b, j] * qx[m, b, j] - o * sx[m, b])
  /// with o the weight's offset (128 or 8) and sx the sum of the block's activation quants;
  /// q4_1's minimum m adds m[n, b] * dx[m, b] * sx[m, b] instead (o = 0).
  /// The 4 quants of one chunk and 16 output columns form one x86 VPDPBUSD.
  bool integerMatmul(MatmulOp op, DequantizeOp weights) {
    const TensorFunc &a = get(op.getLhs());
    TensorFunc t = make(op.getResult(), "qmatmul");
    size_t rank = t.shape.size();
    if (rank < 2 || a.shape.size() != rank)
      return false;
    // Columns are Halide dimension 0; the rows are M, then the batch axes, as in `a`.
    std::vector<Var> rowVars(t.vars.begin() + 1, t.vars.end());
    integerContraction(weights, t, 0, rowVars, a.shape.back(), [&](Expr k) {
      std::vector<Expr> args{k};
      args.insert(args.end(), rowVars.begin(), rowVars.end());
      return a.func(args);
    });
    tensors[op.getResult()] = t;
    return true;
  }

  /// A 2-D convolution (one group) on interleaved weights: the same integer contraction,
  /// with the output channels as columns and every output pixel a row whose K values are
  /// its window (weight row order: channel, then kernel row, then kernel column), read from
  /// the input through its zero border. A 1x1 stride-1 window reads the input as it is.
  bool integerConv(ConvOp op, DequantizeOp weights) {
    const TensorFunc &in = get(op.getInput());
    auto wShape = llvm::cast<mlir::RankedTensorType>(op.getWeight().getType()).getShape();
    if (op.getGroups() != 1 || in.shape.size() != 4 || wShape.size() != 4)
      return false;
    TensorFunc t = make(op.getResult(), "qconv");
    // Halide dims (x, y, channel, batch): the channel is the column, the rest are rows.
    std::vector<Var> rowVars{t.vars[0], t.vars[1], t.vars[3]};
    Expr bias;
    if (Value b = op.getBias())
      bias = call(get(b), {t.vars[2]});
    int kh = int(wShape[2]), kw = int(wShape[3]);
    auto strides = op.getStrides(), pads = op.getPads(), dilations = op.getDilations();
    bool anyPad = llvm::any_of(pads, [](int64_t p) { return p != 0; });
    Func source = anyPad ? padded(in, 0) : in.func;
    integerContraction(weights, t, 2, rowVars, in.shape[1] * kh * kw, [&](Expr k) {
      Expr c = k, ky = 0, kx = 0;
      if (kh * kw > 1) {
        c = k / (kh * kw);
        ky = k % (kh * kw) / kw;
        kx = k % kw;
      }
      Expr x = t.vars[0] * int(strides[1]) - int(pads[1]) + kx * int(dilations[1]);
      Expr y = t.vars[1] * int(strides[0]) - int(pads[0]) + ky * int(dilations[0]);
      return source(x, y, c, t.vars[3]);
    }, bias);
    tensors[op.getResult()] = t;
    return true;
  }

  /// Defines `t` as the contraction of `weights` (q8_0x16/q4_0x16/q4_1x16, rows along the
  /// reduction) with activations `activation(k)` over `reduction` values: Halide dimension
  /// `columnDim` of `t` runs over the weight's rows, `rowVars` (the other dimensions, the
  /// first one tiled by the schedule) over the activation rows. Adds `bias` if defined.
  void integerContraction(DequantizeOp weights, TensorFunc &t, int columnDim,
                          const std::vector<Var> &rowVars, int64_t reduction,
                          const std::function<Expr(Expr)> &activationAt, Expr bias = Expr()) {
    const TensorFunc &packed = get(weights.getPacked());
    int64_t k = reduction, n = t.shape[t.shape.size() - 1 - columnDim];
    int blocks = int(weights.getRowLength() / 32), groups = int(n / 16);
    Interleaved interleaved(weights.getFormat());
    const InterleavedLayout &layout = interleaved.layout;
    bool q8 = interleaved.q8();
    std::string id = std::to_string(counter);
    auto withRows = [&](std::vector<Expr> lead) {
      lead.insert(lead.end(), rowVars.begin(), rowVars.end());
      return lead;
    };
    // Activations past K (the weight rows' zero padding) read as zero.
    auto activation = [&](Expr index) {
      Expr value = activationAt(k % 32 ? min(index, int(k) - 1) : index);
      return k % 32 ? select(index < int(k), value, 0.0f) : value;
    };
    IntegerDot dot;
    dot.groups = groups;
    dot.blocks = blocks;
    Var kv("qk"), b("qb"), lane("lane"), group("group");
    RDom scan(0, 32, "rj" + id), sumScan(0, 32, "rs" + id);
    dot.activationScale = Func("act_scale_" + id);
    dot.activationScale(withRows({b})) = maximum(abs(activation(b * 32 + scan))) / 127.0f;
    Expr scale = dot.activationScale(withRows({kv / 32}));
    dot.activationQuants = Func("act_quants_" + id);
    dot.activationQuants(withRows({kv})) =
        cast(Int(8), round(activation(kv) * select(scale > 0.0f, 1.0f / scale, 0.0f)));
    dot.activationSums = Func("act_sums_" + id);
    dot.activationSums(withRows({b})) =
        sum(cast(Int(32), dot.activationQuants(withRows({b * 32 + sumScan}))));
    // Per block: VPDPBUSD over chunks of 4 quants (q4_0: low nibbles, then high nibbles).
    dot.quants = RDom(0, 4, 0, q8 ? 8 : 4, "rq" + id);
    RVar i = dot.quants.x, c = dot.quants.y;
    dot.blockDot = Func("block_dot_" + id);
    std::vector<Expr> dotArgs = withRows({lane, b, group});
    Expr byte = call(packed, {group, b, int(layout.quantsAt) + 64 * c + 4 * lane + i});
    auto highBit = [&](Expr e) { return interleavedHighBit(packed, layout, group, b, lane, e); };
    auto quant = [&](Expr e) {
      return cast(Int(32), dot.activationQuants(withRows({b * 32 + e})));
    };
    // Signed form: q8_0's u - 128 is u ^ 0x80 read as int8; a q4_0/q5_0 quant minus 8/16
    // fits int8 as well; the formats with a minimum have unsigned quants under 32.
    bool makeSigned = dotForm == IntegerDotForm::SignedWeights;
    auto weight = [&](Expr unsignedByte, int offset) {
      if (!makeSigned)
        return cast(Int(32), unsignedByte);
      if (offset == 128)
        return cast(Int(32), reinterpret(Int(8), cast(UInt(8), unsignedByte ^ 128)));
      return cast(Int(32), cast(Int(8), unsignedByte) - cast(Int(8), offset));
    };
    int weightOffset = layout.quantOffset;
    dot.blockDot(dotArgs) = 0;
    if (q8) {
      dot.blockDot(dotArgs) += weight(byte, weightOffset) * quant(4 * c + i);
    } else {
      Expr low = byte & 15, high = byte >> 4;
      if (layout.fiveBit) {
        low = low | highBit(4 * c + i);
        high = high | highBit(16 + 4 * c + i);
      }
      dot.blockDot(dotArgs) += weight(low, weightOffset) * quant(4 * c + i);
      dot.blockDot(dotArgs) += weight(high, weightOffset) * quant(16 + 4 * c + i);
    }
    dot.blockScan = RDom(0, blocks, "rb" + id);
    RVar rb = dot.blockScan.x;
    auto weightScale = [&](int which) {
      return interleavedScale(packed, group, rb, lane, which);
    };
    Expr sums = dot.activationSums(withRows({rb}));
    Expr blockSum = dot.blockDot(withRows({lane, rb, group}));
    if (!makeSigned && weightOffset != 0)
      blockSum = blockSum - weightOffset * sums;
    Expr dx = dot.activationScale(withRows({rb}));
    Expr term = cast(Float(32), blockSum) * (weightScale(0) * dx);
    if (layout.withMin)
      term = term + weightScale(1) * dx * cast(Float(32), sums);
    dot.accumulator = Func("qacc_" + id);
    dot.accumulator(withRows({lane, group})) = 0.0f;
    dot.accumulator(withRows({lane, group})) += term;
    Expr column = t.vars[columnDim];
    Expr value = dot.accumulator(withRows({column % 16, column / 16}));
    define(t, bias.defined() ? value + bias : value);
    dot.columnDim = columnDim;
    algorithm.stages.push_back({t, StageClass::QuantizedMatmul});
    algorithm.stages.back().integerDot = dot;
  }


  void matmul(MatmulOp op) {
    if (auto weights = op.getRhs().getDefiningOp<DequantizeOp>())
      if (isInterleavedFormat(weights.getFormat()) && integerMatmul(op, weights))
        return;
    const TensorFunc &a = get(op.getLhs());
    const TensorFunc &b = get(op.getRhs());
    TensorFunc t = make(op.getResult(), "matmul");
    Index out = indexOf(t);
    size_t rank = t.shape.size();
    int64_t k = a.shape.back();
    RDom r(0, int(k), "r" + std::to_string(counter));
    auto operandIndex = [&](const TensorFunc &x, Expr row, Expr column) {
      Index index;
      size_t batch = x.shape.size() - 2, lead = (rank - 2) - batch;
      for (size_t i = 0; i < batch; ++i)
        index.push_back(x.shape[i] == 1 ? Expr(0) : out[lead + i]);
      index.push_back(row);
      index.push_back(column);
      return index;
    };
    std::vector<Var> args(t.vars.begin(), t.vars.end());
    Halide::Type ct = computeType(t.type);
    t.func(args) = cast(ct, 0);
    t.func(args) += cast(ct, call(a, operandIndex(a, out[rank - 2], r))) *
                    cast(ct, call(b, operandIndex(b, r, out[rank - 1])));
    if (t.type != ct)
      throw std::runtime_error("float16 matmul is not supported yet");
    addStage(t, StageClass::Matmul, r);
    algorithm.stages.back().weightsInStrips = op.getRhs().getDefiningOp<FromStripsOp>() != nullptr;
    tensors[op.getResult()] = t;
  }

  void pool(PoolOp op) {
    const TensorFunc &in = get(op.getInput());
    TensorFunc t = make(op.getResult(), "pool");
    size_t spatial = in.shape.size() - 2;
    Region extents;
    for (size_t i = 0; i < spatial; ++i)
      extents.push_back(Range(0, int(op.getKernel()[i])));
    RDom r(extents, "r" + std::to_string(counter));
    Index out = indexOf(t), inIndex{out[0], out[1]};
    std::vector<Expr> starts;
    for (size_t i = 0; i < spatial; ++i) {
      starts.push_back(out[2 + i] * int(op.getStrides()[i]) - int(op.getPads()[i]));
      inIndex.push_back(starts.back() + r[i] * int(op.getDilations()[i]));
    }
    std::vector<Expr> inArgs(inIndex.rbegin(), inIndex.rend());
    bool isMax = op.getKind() == "max";
    // Windows that stay inside the input read it directly, with no border to make.
    bool inside = true;
    for (size_t i = 0; i < spatial; ++i) {
      int64_t last = (t.shape[2 + i] - 1) * op.getStrides()[i] +
                     (op.getKernel()[i] - 1) * op.getDilations()[i];
      inside &= op.getPads()[i] == 0 && last < in.shape[2 + i];
    }
    Func source = in.func;
    if (!inside) {
      // A bordered copy of each input plane, a stage the plan places (inside the output's
      // channel loop when the pool is inline there), so the taps read it without a select
      // each (GoogLeNet's 3x3/1 padded max pool on 14x14 x 480, 2 threads: 0.071 -> 0.030 ms).
      TensorFunc border = in;
      border.func = padded(in, isMax ? t.type.min() : cast(t.type, 0));
      addStage(border, StageClass::Data);
      algorithm.stages.back().role = DataRole::Border;
      algorithm.stages.back().perOutputChannel = true;
      source = border.func;
    }
    Expr body;
    int64_t taps = 1;
    for (size_t i = 0; i < spatial; ++i)
      taps *= op.getKernel()[i];
    if (taps <= 49) {
      // Small windows are spelled out tap by tap: one expression the output's vector loop
      // evaluates with its loads side by side, where an inline reduction is a loop over
      // the taps per vector (3x3/2 max pool on 111x111 x 64, 2 threads: 0.120 -> 0.059 ms).
      for (int64_t tap = 0; tap < taps; ++tap) {
        std::vector<Expr> args = inIndex;
        for (int64_t i = int64_t(spatial) - 1, rest = tap; i >= 0; --i) {
          int64_t k = rest % op.getKernel()[i];
          rest /= op.getKernel()[i];
          args[2 + i] = starts[i] + int(k * op.getDilations()[i]);
        }
        Expr value = source(std::vector<Expr>(args.rbegin(), args.rend()));
        body = !body.defined() ? value : isMax ? Halide::max(body, value) : body + value;
      }
    } else {
      body = isMax ? maximum(source(inArgs)) : sum(source(inArgs));
    }
    if (!isMax) {
      Expr count = 1;
      for (size_t i = 0; i < spatial; ++i) {
        int dilation = int(op.getDilations()[i]), kernel = int(op.getKernel()[i]);
        int extent = int(in.shape[2 + i]);
        int lo = op.getCountIncludePad() ? -int(op.getPads()[i]) : 0;
        int hi = op.getCountIncludePad() ? extent + int(op.getPads()[spatial + i]) : extent;
        // Taps k with lo <= start + k*dilation < hi.
        Expr first = max(0, (lo - starts[i] + dilation - 1) / dilation);
        Expr last = min(kernel - 1, (hi - 1 - starts[i]) / dilation);
        count = count * max(last - first + 1, 0);
      }
      body = body / cast(t.type, max(count, 1));
    }
    define(t, body);
    addStage(t, StageClass::Pool);
    tensors[op.getResult()] = t;
  }

  void reduce(ReduceOp op) {
    const TensorFunc &in = get(op.getInput());
    TensorFunc t = make(op.getResult(), "reduce");
    llvm::ArrayRef<int64_t> axes = op.getAxes();
    bool keepDims = t.shape.size() == in.shape.size();
    Region extents;
    for (int64_t a : axes)
      extents.push_back(Range(0, int(in.shape[a])));
    RDom r(extents, "r" + std::to_string(counter));
    Index out = indexOf(t), inIndex;
    size_t next = 0, rIndex = 0;
    for (size_t i = 0; i < in.shape.size(); ++i) {
      if (llvm::is_contained(axes, int64_t(i))) {
        inIndex.push_back(r[rIndex++]);
        if (keepDims)
          ++next;
      } else {
        inIndex.push_back(out[next++]);
      }
    }
    Halide::Type ct = t.type.is_float() ? Float(std::max(32, t.type.bits())) : t.type;
    Expr x = cast(ct, call(in, inIndex));
    int64_t count = 1;
    for (int64_t a : axes)
      count *= in.shape[a];
    std::string kind = op.getKind().str();
    Expr y;
    if (kind == "sum") y = sum(x);
    else if (kind == "mean") y = sum(x) / cast(ct, Expr(double(count)));
    else if (kind == "max") y = maximum(x);
    else if (kind == "min") y = minimum(x);
    else if (kind == "prod") y = product(x);
    else if (kind == "sum_square") y = sum(x * x);
    else if (kind == "l1") y = sum(abs(x));
    else if (kind == "l2") y = sqrt(sum(x * x));
    else if (kind == "log_sum") y = log(sum(x));
    else if (kind == "log_sum_exp") y = log(sum(exp(x)));
    else throw std::runtime_error("unknown reduction " + kind);
    define(t, y);
    addStage(t, StageClass::Reduction);
    tensors[op.getResult()] = t;
  }

  void softmax(SoftmaxOp op) {
    const TensorFunc &in = get(op.getInput());
    TensorFunc t = make(op.getResult(), "softmax");
    int64_t axis = op.getAxis();
    Index index = indexOf(t);
    RDom r(0, int(in.shape[axis]), "r" + std::to_string(counter));
    Index reduced = index;
    reduced[axis] = r;
    Halide::Type ct = computeType(in.type);
    // Max and sum are Funcs over the index space with the axis pinned to 0.
    TensorFunc maxT = make(op.getResult(), "softmax_max");
    Index maxIndex = indexOf(maxT);
    Index maxReduced = maxIndex;
    maxReduced[axis] = r;
    define(maxT, maximum(cast(ct, call(in, maxReduced))));
    Index pin = index;
    pin[axis] = 0;
    TensorFunc expT = make(op.getResult(), "softmax_exp");
    Index expIndex = indexOf(expT);
    Index expPin = expIndex;
    expPin[axis] = 0;
    define(expT, exp(cast(ct, call(in, expIndex)) - call(maxT, expPin)));
    TensorFunc sumT = make(op.getResult(), "softmax_sum");
    Index sumIndex = indexOf(sumT);
    Index sumReduced = sumIndex;
    sumReduced[axis] = r;
    define(sumT, sum(call(expT, sumReduced)));
    define(t, call(expT, index) / call(sumT, pin));
    addStage(maxT, StageClass::Reduction);
    addStage(expT, StageClass::Softmax);
    addStage(sumT, StageClass::Reduction);
    tensors[op.getResult()] = t;
  }

  /// kiln.layer_norm: two reduction stages over the trailing axes, indexed by the leading
  /// ones (the mean, then the sum of squared deviations from it: two passes, as stable as
  /// the decomposed form), and the output normalizes each value with them.
  void layerNorm(LayerNormOp op) {
    const TensorFunc &in = get(op.getInput());
    TensorFunc t = make(op.getResult(), "layer_norm");
    size_t axis = size_t(op.getAxis());
    Region extents;
    int64_t count = 1;
    for (size_t a = axis; a < in.shape.size(); ++a) {
      extents.push_back(Range(0, int(in.shape[a])));
      count *= in.shape[a];
    }
    RDom r(extents, "r" + std::to_string(counter));
    Halide::Type ct = Float(std::max(32, in.type.bits()));
    std::vector<int64_t> rows(in.shape.begin(), in.shape.begin() + axis);
    TensorFunc meanT = make(rows, ct, "layer_norm_mean"), deviationT = make(rows, ct, "layer_norm_var");
    Index row = indexOf(meanT), rowSpan = row, out = indexOf(t);
    for (int i = 0; i < r.dimensions(); ++i)
      rowSpan.push_back(r[i]);
    Index outRow(out.begin(), out.begin() + axis);
    Expr inverseCount = Halide::Internal::make_const(ct, 1.0 / double(count));
    define(meanT, sum(cast(ct, call(in, rowSpan))) * inverseCount);
    Expr deviation = cast(ct, call(in, rowSpan)) - call(meanT, row);
    define(deviationT, sum(deviation * deviation) * inverseCount);
    Expr epsilon = Halide::Internal::make_const(ct, op.getEpsilon().convertToDouble());
    define(t, (cast(ct, call(in, out)) - call(meanT, outRow)) /
                  sqrt(call(deviationT, outRow) + epsilon));
    addStage(meanT, StageClass::Reduction);
    addStage(deviationT, StageClass::Reduction);
    tensors[op.getResult()] = t;
  }

  void resize(ResizeOp op) {
    // Every output coordinate reads a few input taps per resized axis (1 nearest, 2
    // linear, 4 cubic) with fixed weights. Taps and weights depend only on the static sizes,
    // so they are computed here in double precision following ONNX's reference and embedded
    // as small tables (Halide would turn the divisions into reciprocal multiplies and round
    // some ties the other way).
    const TensorFunc &in = get(op.getInput());
    TensorFunc t = make(op.getResult(), "resize");
    Index out = indexOf(t);
    std::string mode = op.getMode().str(), coord = op.getCoordinateMode().str(),
                nearest = op.getNearestMode().str();
    double cubicA = op->hasAttr("cubic_coeff_a")
                        ? llvm::cast<mlir::FloatAttr>(op->getAttr("cubic_coeff_a")).getValueAsDouble()
                        : -0.75;
    bool excludeOutside = op->hasAttr("exclude_outside");
    size_t rank = in.shape.size();
    auto sourceOf = [&](size_t axis, int64_t x) {
      // As ONNX's reference: the resized length is input * scale, unrounded (it equals the
      // output extent when sizes were given).
      double scale = op.getScales()[axis];
      double inLen = double(in.shape[axis]), outLen = inLen * scale;
      if (coord == "half_pixel")
        return (double(x) + 0.5) / scale - 0.5;
      if (coord == "pytorch_half_pixel")
        return outLen > 1 ? (double(x) + 0.5) / scale - 0.5 : 0.0;
      if (coord == "align_corners")
        return outLen > 1 ? double(x) * (inLen - 1) / (outLen - 1) : 0.0;
      if (coord == "tf_half_pixel_for_nn")
        return (double(x) + 0.5) / scale;
      return double(x) / scale;  // asymmetric
    };
    struct Taps {
      std::vector<Buffer<int32_t>> index;
      std::vector<Buffer<float>> weight;
    };
    std::vector<size_t> axes;
    std::vector<Taps> taps;
    for (size_t i = 0; i < rank; ++i) {
      if (in.shape[i] == t.shape[i] && op.getScales()[i] == 1.0)
        continue;
      axes.push_back(i);
      int n = mode == "nearest" ? 1 : mode == "linear" ? 2 : 4;
      int outLen = int(t.shape[i]), last = int(in.shape[i]) - 1;
      Taps axisTaps;
      for (int k = 0; k < n; ++k) {
        axisTaps.index.push_back(Buffer<int32_t>(outLen));
        axisTaps.weight.push_back(Buffer<float>(outLen));
      }
      for (int x = 0; x < outLen; ++x) {
        double s = sourceOf(i, x), f = std::floor(s);
        std::vector<double> w;
        w.reserve(4);  // (GCC 12 otherwise warns of a null memmove in the assignments below)
        int base;
        if (mode == "nearest") {
          double r = nearest == "floor" ? f
                     : nearest == "ceil" ? std::ceil(s)
                     : s - f == 0.5 ? (nearest == "round_prefer_ceil" ? f + 1 : f)
                                    : std::round(s);
          base = int(r);
          w = {1.0};
        } else {
          // The reference prefers the left neighbour: ratio in (0, 1].
          double ratio = s == f ? 1.0 : s - f;
          if (mode == "linear") {
            base = int(f) - (s == f ? 1 : 0);
            w = {1 - ratio, ratio};
          } else {
            double A = cubicA, r = ratio, q = 1 - ratio;
            base = int(f) - (s == f ? 2 : 1);
            w = {((A * (r + 1) - 5 * A) * (r + 1) + 8 * A) * (r + 1) - 4 * A,
                 ((A + 2) * r - (A + 3)) * r * r + 1, ((A + 2) * q - (A + 3)) * q * q + 1,
                 ((A * (q + 1) - 5 * A) * (q + 1) + 8 * A) * (q + 1) - 4 * A};
          }
          if (excludeOutside) {
            double total = 0;
            for (int k = 0; k < n; ++k) {
              if (base + k < 0 || base + k > last)
                w[k] = 0;
              total += w[k];
            }
            for (double &v : w)
              v /= total;
          }
        }
        for (int k = 0; k < n; ++k) {
          axisTaps.index[k](x) = std::clamp(base + k, 0, last);  // edge padding
          axisTaps.weight[k](x) = float(w[k]);
        }
      }
      taps.push_back(std::move(axisTaps));
    }
    if (mode == "nearest") {
      Index at = out;
      for (size_t k = 0; k < axes.size(); ++k)
        at[axes[k]] = clamp(taps[k].index[0](out[axes[k]]), 0, int(in.shape[axes[k]]) - 1);
      define(t, call(in, at));
    } else {
      Halide::Type ct = Float(32);
      Expr value = cast(ct, 0);
      std::vector<int> choice(axes.size(), 0);
      int perAxis = mode == "linear" ? 2 : 4;
      int combinations = 1;
      for (size_t k = 0; k < axes.size(); ++k)
        combinations *= perAxis;
      for (int c = 0; c < combinations; ++c) {
        Index at = out;
        Expr weight = 1.0f;
        for (size_t k = 0, rest = c; k < axes.size(); ++k, rest /= perAxis) {
          int tap = int(rest % perAxis);
          size_t i = axes[k];
          at[i] = clamp(taps[k].index[tap](out[i]), 0, int(in.shape[i]) - 1);
          weight = weight * taps[k].weight[tap](out[i]);
        }
        value = value + weight * cast(ct, call(in, at));
      }
      define(t, value);
    }
    addStage(t, StageClass::Data);
    tensors[op.getResult()] = t;
  }

  //===--------------------------------------------------------------------===//
  // Data movement
  //===--------------------------------------------------------------------===//

  void reshape(ReshapeOp op) {
    // Inside a kernel a reshape re-indexes through the row-major linear index.
    const TensorFunc &in = get(op.getInput());
    TensorFunc t = make(op.getResult(), "reshape");
    Index out = indexOf(t);
    Expr linear = 0;
    for (size_t i = 0; i < t.shape.size(); ++i)
      linear = linear * int(t.shape[i]) + out[i];
    Index at(in.shape.size());
    for (int i = int(in.shape.size()) - 1; i >= 0; --i) {
      at[i] = linear % int(in.shape[i]);
      linear = linear / int(in.shape[i]);
    }
    define(t, call(in, at));
    tensors[op.getResult()] = t;
  }

  void transpose(TransposeOp op) {
    const TensorFunc &in = get(op.getInput());
    TensorFunc t = make(op.getResult(), "transpose");
    Index out = indexOf(t), at(in.shape.size());
    for (size_t i = 0; i < out.size(); ++i)
      at[op.getPerm()[i]] = out[i];
    define(t, call(in, at));
    // A packed weight's view is an index remapping read in place by its consumer.
    if (!op->hasAttr("kiln.weight_view"))
      addStage(t, StageClass::Data);
    tensors[op.getResult()] = t;
  }

  /// A weight stored in strips of output channels: an index remapping, read in place.
  void fromStrips(FromStripsOp op) {
    const TensorFunc &in = get(op.getInput());
    TensorFunc t = make(op.getResult(), "strips");
    Index out = indexOf(t);
    int width = int(op.getWidth());
    size_t axis = size_t(op.getAxis());
    Index at{out[axis] / width};
    for (size_t i = 0; i < out.size(); ++i)
      if (i != axis)
        at.push_back(out[i]);
    at.push_back(out[axis] % width);
    define(t, call(in, at));
    tensors[op.getResult()] = t;
  }

  void concat(ConcatOp op) {
    TensorFunc t = make(op.getResult(), "concat");
    Index out = indexOf(t);
    int64_t axis = op.getAxis(), offset = 0;
    size_t rank = t.shape.size();
    // Along an outer axis (channels) and feeding more work in the kernel (DenseNet's
    // concatenation, batch norm and ReLU): one copy per input into its slice, materialized.
    // The select chain below loads every input for every element: DenseNet's 25-input
    // concatenations took 1.4 ms where the copies take 0.06.
    bool fedOnward = llvm::none_of(op->getUsers(), [](mlir::Operation *user) {
      return llvm::isa<YieldOp>(user);
    });
    if (concatBySlices && fedOnward && op.getInputs().size() > 1 && axis + 1 < int64_t(rank)) {
      std::vector<Var> args(t.vars.begin(), t.vars.end());
      t.func(args) = Halide::undef(t.type);
      for (Value input : op.getInputs()) {
        const TensorFunc &part = get(input);
        RDom r(0, int(part.shape[axis]), "slice" + std::to_string(counter++));
        Index at = out;
        at[axis] = r.x;
        std::vector<Expr> into(args.begin(), args.end());
        into[rank - 1 - size_t(axis)] = r.x + int(offset);
        t.func(into) = cast(t.type, call(part, at));
        offset += part.shape[axis];
      }
      addStage(t, StageClass::Data);
      tensors[op.getResult()] = t;
      return;
    }
    std::vector<std::pair<int64_t, Expr>> parts;
    for (Value input : op.getInputs()) {
      const TensorFunc &part = get(input);
      Index at = out;
      at[axis] = clamp(out[axis] - int(offset), 0, int(part.shape[axis]) - 1);
      offset += part.shape[axis];
      parts.push_back({offset, call(part, at)});
    }
    Expr value = parts.back().second;
    for (int i = int(parts.size()) - 2; i >= 0; --i)
      value = select(out[axis] < int(parts[i].first), parts[i].second, value);
    define(t, value);
    tensors[op.getResult()] = t;
  }

  void slice(SliceOp op) {
    const TensorFunc &in = get(op.getInput());
    TensorFunc t = make(op.getResult(), "slice");
    Index out = indexOf(t), at;
    for (size_t i = 0; i < out.size(); ++i)
      at.push_back(int(op.getStarts()[i]) + out[i] * int(op.getSteps()[i]));
    define(t, call(in, at));
    tensors[op.getResult()] = t;
  }

  void pad(PadOp op) {
    const TensorFunc &in = get(op.getInput());
    TensorFunc t = make(op.getResult(), "pad");
    Index out = indexOf(t), at;
    size_t rank = in.shape.size();
    std::string mode = op.getMode().str();
    Expr inside = Halide::Internal::const_true();
    for (size_t i = 0; i < rank; ++i) {
      int n = int(in.shape[i]);
      Expr x = out[i] - int(op.getPads()[i]);
      inside = inside && x >= 0 && x < n;
      if (mode == "reflect" && n > 1) {
        // Mirror without repeating the edge: period 2n-2.
        Expr m = x % (2 * n - 2);  // Halide's % is non-negative
        // The clamp changes nothing but lets bounds inference see the range.
        at.push_back(clamp(select(m < n, m, 2 * n - 2 - m), 0, n - 1));
      } else if (mode == "wrap") {
        at.push_back(x % n);
      } else {
        at.push_back(clamp(x, 0, n - 1));
      }
    }
    Expr value = call(in, at);
    if (mode == "constant")
      value = select(inside, value, cast(t.type, Expr(op.getValue().convertToDouble())));
    define(t, value);
    tensors[op.getResult()] = t;
  }

  void gather(GatherOp op) {
    const TensorFunc &in = get(op.getInput());
    const TensorFunc &indices = get(op.getIndices());
    TensorFunc t = make(op.getResult(), "gather");
    Index out = indexOf(t);
    int64_t axis = op.getAxis();
    size_t indexRank = indices.shape.size();
    Index indexAt(out.begin() + axis, out.begin() + axis + indexRank);
    Expr i = cast(Int(32), call(indices, indexAt));
    int n = int(in.shape[axis]);
    i = clamp(select(i < 0, i + n, i), 0, n - 1);
    Index at(out.begin(), out.begin() + axis);
    at.push_back(i);
    at.insert(at.end(), out.begin() + axis + indexRank, out.end());
    define(t, call(in, at));
    addStage(t, StageClass::Data);
    tensors[op.getResult()] = t;
  }

  void expand(ExpandOp op) {
    const TensorFunc &in = get(op.getInput());
    TensorFunc t = make(op.getResult(), "expand");
    define(t, broadcastCall(in, indexOf(t)));
    tensors[op.getResult()] = t;
  }

  void build(mlir::Operation *op) {
    llvm::TypeSwitch<mlir::Operation *>(op)
        .Case([&](ConstantOp o) { constant(o); })
        .Case([&](CastOp o) { castOp(o); })
        .Case([&](DequantizeOp o) { dequantize(o); })
        .Case<AddOp, SubOp, MulOp, DivOp, PowOp, MaxOp, MinOp, ModOp, FmodOp, AndOp, OrOp, XorOp,
              ShiftLeftOp, ShiftRightOp>(
            [&](mlir::Operation *o) { binary(o); })
        .Case<NegOp, AbsOp, SqrtOp, ExpOp, LogOp, TanhOp, ErfOp, SigmoidOp, ReluOp, FloorOp,
              CeilOp, ReciprocalOp, LeakyReluOp, ClipOp, HardSigmoidOp, SinOp, CosOp, TanOp,
              AsinOp, AcosOp, AtanOp, SinhOp, CoshOp, AsinhOp, AcoshOp, AtanhOp, SignOp, RoundOp,
              NotOp>(
            [&](mlir::Operation *o) { unary(o); })
        .Case([&](ConvOp o) { conv(o); })
        .Case([&](ConvTransposeOp o) { convTranspose(o); })
        .Case([&](WinogradConvOp o) { winogradConv(o); })
        .Case([&](MatmulOp o) { matmul(o); })
        .Case([&](PoolOp o) { pool(o); })
        .Case([&](ReduceOp o) { reduce(o); })
        .Case([&](SoftmaxOp o) { softmax(o); })
        .Case([&](LayerNormOp o) { layerNorm(o); })
        .Case([&](ResizeOp o) { resize(o); })
        .Case([&](ReshapeOp o) { reshape(o); })
        .Case([&](TransposeOp o) { transpose(o); })
        .Case([&](FromStripsOp o) { fromStrips(o); })
        .Case([&](ConcatOp o) { concat(o); })
        .Case([&](SliceOp o) { slice(o); })
        .Case([&](PadOp o) { pad(o); })
        .Case([&](GatherOp o) { gather(o); })
        .Case([&](ExpandOp o) { expand(o); })
        .Case([&](ClassifyOp o) { classify(o); })
        .Case([&](CompareOp o) { compare(o); })
        .Case([&](SelectOp o) { selectOp(o); })
        .Case([&](ArgReduceOp o) { argReduce(o); })
        .Case([&](CumsumOp o) { cumsum(o); })
        .Case([&](EinsumOp o) { einsum(o); })
        .Case([&](GatherElementsOp o) { gatherElements(o); })
        .Case([&](GatherNdOp o) { gatherNd(o); })
        .Case([&](ScatterElementsOp o) {
          int64_t axis = o.getAxis();
          int extent = int(llvm::cast<mlir::RankedTensorType>(o.getInput().getType()).getShape()[axis]);
          scatter(o.getResult(), o.getInput(), o.getIndices(), o.getUpdates(), o.getReduction().str(),
                  [&, axis, extent](const Index &u, const TensorFunc &indices) {
                    Index at = u;
                    at[axis] = wrapIndex(call(indices, u), extent);
                    return at;
                  });
        })
        .Case([&](ScatterNdOp o) {
          auto dataShape = shapeOf(o.getInput());
          scatter(o.getResult(), o.getInput(), o.getIndices(), o.getUpdates(), o.getReduction().str(),
                  [&, dataShape](const Index &u, const TensorFunc &indices) {
                    size_t indexRank = indices.shape.size();
                    int depth = int(indices.shape.back());
                    Index prefix(u.begin(), u.begin() + (indexRank - 1)), at;
                    for (int k = 0; k < depth; ++k) {
                      Index position = prefix;
                      position.push_back(k);
                      at.push_back(wrapIndex(call(indices, position), int(dataShape[k])));
                    }
                    for (size_t i = indexRank - 1; i < u.size(); ++i)
                      at.push_back(u[i]);
                    return at;
                  });
        })
        .Default([&](mlir::Operation *o) {
          throw std::runtime_error("op " + o->getName().getStringRef().str() +
                                   " has no Halide lowering");
        });
  }
};

} // namespace

KernelAlgorithm buildKernelAlgorithm(KernelOp kernel, IntegerDotForm dotForm,
                                     bool concatBySlices) {
  Builder builder;
  builder.dotForm = dotForm;
  builder.concatBySlices = concatBySlices;
  mlir::Block &body = kernel.getBody().front();
  for (auto [index, arg] : llvm::enumerate(body.getArguments()))
    builder.input(arg, int(index));
  for (mlir::Operation &op : body.without_terminator())
    builder.build(&op);
  auto yield = llvm::cast<YieldOp>(body.getTerminator());
  for (Value value : yield.getValues()) {
    TensorFunc t = builder.get(value);
    // An output that is a kernel input or a stage gets its own Func so that the output
    // and the stage can be scheduled apart.
    TensorFunc copy = t;
    copy.func = Func("out" + std::to_string(builder.algorithm.outputs.size()));
    std::vector<Var> args(copy.vars.begin(), copy.vars.end());
    copy.func(args) = t.func(args);
    builder.algorithm.outputs.push_back(copy);
  }
  return builder.algorithm;
}

} // namespace kiln
