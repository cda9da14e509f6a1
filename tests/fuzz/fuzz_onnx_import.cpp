//===- fuzz_onnx_import.cpp - fuzz target: ONNX import through kernel formation -===//
//
// Bytes are written as a model file and compiled as `kiln compile` does up to (not
// including) Halide code generation: libonnx's checker, shape inference and opset
// conversion (in their child process), the importer, canonicalization, layout passes,
// kernel formation and memory planning. A bad model must end in an import error or a
// failed pipeline, never a crash, a hang or an unbounded allocation.
//
// Random bytes rarely parse as a ModelProto, so a custom mutator edits parsed models
// structurally (dimensions, attributes, inputs, op types, element types, initializer
// shapes, nodes, opsets), which is how the defects named in the hardening issue were found;
// libFuzzer's byte mutations still run on a share of the inputs.
//
//===----------------------------------------------------------------------===//
#include "compiler/frontends/onnx/OnnxImporter.h"
#include "compiler/pipeline/Pipeline.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "onnx/onnx_pb.h"
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <unistd.h>
#include <vector>

extern "C" size_t LLVMFuzzerMutate(uint8_t *data, size_t size, size_t maxSize);

namespace {

std::string modelPath() {
  static std::string path = "/tmp/kiln-fuzz-onnx-" + std::to_string(getpid()) + ".onnx";
  return path;
}

int64_t interestingInt(std::mt19937_64 &rng) {
  static const int64_t values[] = {0,  1,  2,  3,  4,   7,  8,  16,         -1,      -2,
                                   -3, 64, 255, 256, 65535, 1LL << 31, 1LL << 40, INT64_MAX,
                                   INT64_MIN, (1LL << 31) - 1};
  if (rng() % 3 == 0)
    return int64_t(rng() % 9) - 2;
  return values[rng() % (sizeof values / sizeof values[0])];
}

float interestingFloat(std::mt19937_64 &rng) {
  static const float values[] = {0.0f, 1.0f, -1.0f, 0.5f, 1e-30f, 1e30f, -0.0f,
                                 __builtin_inff(), __builtin_nanf("")};
  return values[rng() % (sizeof values / sizeof values[0])];
}

template <typename T> T *pick(google::protobuf::RepeatedPtrField<T> *field, std::mt19937_64 &rng) {
  return field->empty() ? nullptr : field->Mutable(int(rng() % field->size()));
}

onnx::TensorShapeProto *someShape(onnx::GraphProto &g, std::mt19937_64 &rng) {
  onnx::ValueInfoProto *v = nullptr;
  switch (rng() % 3) {
  case 0: v = pick(g.mutable_input(), rng); break;
  case 1: v = pick(g.mutable_output(), rng); break;
  default: v = pick(g.mutable_value_info(), rng); break;
  }
  if (!v || !v->type().has_tensor_type())
    return nullptr;
  return v->mutable_type()->mutable_tensor_type()->mutable_shape();
}

/// One structural edit of `model`; false when the chosen edit did not apply.
bool mutateModel(onnx::ModelProto &model, std::mt19937_64 &rng) {
  onnx::GraphProto &g = *model.mutable_graph();
  onnx::NodeProto *node = pick(g.mutable_node(), rng);
  switch (rng() % 12) {
  case 0: {  // a dimension of an input, output or annotated value
    onnx::TensorShapeProto *shape = someShape(g, rng);
    if (!shape || shape->dim_size() == 0)
      return false;
    auto *dim = shape->mutable_dim(int(rng() % shape->dim_size()));
    if (rng() % 5 == 0)
      dim->set_dim_param("n");
    else
      dim->set_dim_value(interestingInt(rng));
    return true;
  }
  case 1: {  // rank of an input or output
    onnx::TensorShapeProto *shape = someShape(g, rng);
    if (!shape)
      return false;
    if (rng() % 2 && shape->dim_size() > 0)
      shape->mutable_dim()->RemoveLast();
    else
      shape->add_dim()->set_dim_value(int64_t(rng() % 4));
    return true;
  }
  case 2: {  // an attribute's value
    if (!node || node->attribute_size() == 0)
      return false;
    onnx::AttributeProto *a = node->mutable_attribute(int(rng() % node->attribute_size()));
    if (a->has_i()) a->set_i(interestingInt(rng));
    else if (a->has_f()) a->set_f(interestingFloat(rng));
    else if (a->ints_size()) {
      if (rng() % 3 == 0) a->add_ints(interestingInt(rng));
      else a->set_ints(int(rng() % a->ints_size()), interestingInt(rng));
    } else if (a->floats_size()) a->set_floats(int(rng() % a->floats_size()), interestingFloat(rng));
    else if (a->has_s()) a->set_s(rng() % 2 ? "" : "bogus");
    else return false;
    return true;
  }
  case 3: {  // an input replaced by another value, dropped, or emptied
    if (!node || node->input_size() == 0)
      return false;
    int i = int(rng() % node->input_size());
    switch (rng() % 3) {
    case 0: {
      std::vector<std::string> names;
      for (const auto &v : g.input()) names.push_back(v.name());
      for (const auto &t : g.initializer()) names.push_back(t.name());
      for (const auto &n : g.node()) for (const auto &o : n.output()) names.push_back(o);
      if (names.empty()) return false;
      node->set_input(i, names[rng() % names.size()]);
      break;
    }
    case 1: node->mutable_input()->RemoveLast(); break;
    default: node->set_input(i, ""); break;
    }
    return true;
  }
  case 4: {  // two inputs swapped
    if (!node || node->input_size() < 2)
      return false;
    int i = int(rng() % node->input_size()), j = int(rng() % node->input_size());
    node->mutable_input()->SwapElements(i, j);
    return true;
  }
  case 5: {  // another op type (kiln's own list, so the importer is reached)
    static const std::vector<std::string> ops = kiln::supportedOnnxOps();
    if (!node || ops.empty())
      return false;
    node->set_op_type(ops[rng() % ops.size()]);
    return true;
  }
  case 6: {  // the element type of an input or an initializer
    static const int types[] = {1, 2, 3, 5, 6, 7, 9, 10, 11, 16};
    int type = types[rng() % (sizeof types / sizeof types[0])];
    if (rng() % 2) {
      onnx::ValueInfoProto *v = pick(g.mutable_input(), rng);
      if (!v || !v->type().has_tensor_type()) return false;
      v->mutable_type()->mutable_tensor_type()->set_elem_type(type);
    } else {
      onnx::TensorProto *t = pick(g.mutable_initializer(), rng);
      if (!t) return false;
      t->set_data_type(type);
    }
    return true;
  }
  case 7: {  // an initializer's dimensions or data
    onnx::TensorProto *t = pick(g.mutable_initializer(), rng);
    if (!t)
      return false;
    if (t->dims_size() && rng() % 2)
      t->set_dims(int(rng() % t->dims_size()), interestingInt(rng));
    else if (t->has_raw_data() && !t->raw_data().empty())
      t->mutable_raw_data()->resize(rng() % t->raw_data().size());
    else
      t->add_dims(int64_t(rng() % 3));
    return true;
  }
  case 8: {  // a node removed or duplicated
    if (!node)
      return false;
    if (rng() % 2) {
      *g.add_node() = *node;
    } else {
      int i = int(rng() % g.node_size());
      g.mutable_node()->SwapElements(i, g.node_size() - 1);
      g.mutable_node()->RemoveLast();
    }
    return true;
  }
  case 9: {  // the opset
    if (model.opset_import_size() == 0)
      return false;
    static const int64_t versions[] = {1, 6, 7, 9, 11, 13, 15, 17, 18, 19, 21, 99};
    model.mutable_opset_import(0)->set_version(versions[rng() % (sizeof versions / sizeof versions[0])]);
    return true;
  }
  case 10: {  // an attribute added with an interesting value
    if (!node)
      return false;
    static const char *names[] = {"axis", "axes", "perm", "pads", "strides", "dilations",
                                  "kernel_shape", "group", "keepdims", "to", "k",
                                  "hidden_size", "direction", "mode", "epsilon", "alpha"};
    onnx::AttributeProto *a = node->add_attribute();
    a->set_name(names[rng() % (sizeof names / sizeof names[0])]);
    if (rng() % 2) {
      a->set_type(onnx::AttributeProto::INT);
      a->set_i(interestingInt(rng));
    } else {
      a->set_type(onnx::AttributeProto::INTS);
      for (int i = int(rng() % 5); i > 0; --i)
        a->add_ints(interestingInt(rng));
    }
    return true;
  }
  default: {  // an output of one node made an extra input of another
    if (!node || g.node_size() < 2)
      return false;
    const onnx::NodeProto &other = g.node(int(rng() % g.node_size()));
    if (other.output_size() == 0)
      return false;
    node->add_input(other.output(0));
    return true;
  }
  }
}

} // namespace

extern "C" size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t maxSize,
                                          unsigned int seed) {
  std::mt19937_64 rng(seed);
  onnx::ModelProto model;
  if (rng() % 8 == 0 || !model.ParseFromArray(data, int(size)) || !model.has_graph())
    return LLVMFuzzerMutate(data, size, maxSize);
  bool changed = false;
  for (int edits = 1 + int(rng() % 3), tries = 0; edits > 0 && tries < 20; ++tries)
    if (mutateModel(model, rng)) {
      changed = true;
      --edits;
    }
  std::string bytes;
  if (!changed || !model.SerializeToString(&bytes) || bytes.size() > maxSize)
    return LLVMFuzzerMutate(data, size, maxSize);
  std::copy(bytes.begin(), bytes.end(), data);
  return bytes.size();
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const std::string path = modelPath();
  FILE *f = std::fopen(path.c_str(), "wb");
  if (!f || std::fwrite(data, 1, size, f) != size || std::fclose(f) != 0)
    std::abort();
  mlir::MLIRContext context;
  context.disableMultithreading();
  mlir::ScopedDiagnosticHandler quiet(&context, [](mlir::Diagnostic &) { return mlir::success(); });
  kiln::OnnxImportOptions options;
  kiln::OnnxImportError error;
  auto module = kiln::importOnnxModel(context, path, options, error);
  if (module) {
    if (error.empty() && mlir::succeeded(module->verify()))
      (void)kiln::runKilnPipeline(*module);
  } else if (error.empty()) {
    std::abort();  // a refused model must come with a reason
  }
  unlink(path.c_str());
  return 0;
}
