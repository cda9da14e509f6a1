//===- Glue.cpp - the generated C file that ties kernels to the runtime ----===//
//
// The glue defines `kiln_program` (runtime/include/kiln/program.h): one step function per
// kernel call that describes its buffers (halide_buffer_t over arena offsets and weight
// pointers) and calls the kernel, one test per branch of a kiln.if that reads its
// condition, one per entry and step back of a kiln.loop that counts its iterations, and
// the tables of inputs, outputs, weights and steps.
// For a device program every buffer also carries the device handle of its arena slice or
// weight (kiln_exec_t), and a device table lists the slices.
//
//===----------------------------------------------------------------------===//
#include "compiler/codegen/ArtifactParts.h"
#include "dialects/kiln/IR/KilnConstants.h"
#include "llvm/Support/FormatVariadic.h"

#include <map>
#include <sstream>

namespace kiln {
namespace {

/// Distinct arena ranges that device buffers view, numbered in order of first use.
class SliceTable {
public:
  int indexOf(int64_t offset, int64_t bytes) {
    auto [it, inserted] = indices.try_emplace({offset, bytes}, int(order.size()));
    if (inserted)
      order.push_back({offset, bytes});
    return it->second;
  }
  const std::vector<std::pair<int64_t, int64_t>> &slices() const { return order; }

private:
  std::map<std::pair<int64_t, int64_t>, int> indices;
  std::vector<std::pair<int64_t, int64_t>> order;
};

int64_t byteSize(mlir::RankedTensorType type) {
  return type.getNumElements() * int64_t(elementByteSize(type.getElementType()));
}

void describeIo(std::ostringstream &os, const ProgramIo &io) {
  ElementInfo info = elementInfo(io.type.getElementType());
  os << "  {" << cString(io.name) << ", " << info.kilnDtype << ", " << io.type.getRank() << ", {";
  for (int64_t i = 0; i < io.type.getRank(); ++i)
    os << (i ? ", " : "") << io.type.getShape()[i];
  if (io.type.getRank() == 0)
    os << "0";
  os << "}, " << byteSize(io.type) << "u, " << io.arenaOffset << "u";
  if (io.extent)
    os << ", 1, " << io.extent->first << ", " << io.extent->second << "u";
  os << "},\n";
}

} // namespace

std::string emitGlue(const ProgramTables &tables, const RuntimeNeeds &needs) {
  bool device = needs.api != DeviceApi::None;
  SliceTable slices;
  std::ostringstream declarations, steps, io;
  std::set<std::string> declared;

  // Where a buffer's bytes are on the host. Freestanding programs know where each weight
  // is in the file they were written with.
  auto hostPointer = [&](const BufferRef &ref) -> std::string {
    return !ref.isWeight ? "e->arena + " + std::to_string(ref.location)
           : tables.freestanding
               ? "(uint8_t *)e->weights_file + " +
                     std::to_string(tables.freestanding->weightOffsets[ref.location])
               : "(uint8_t *)e->weights[" + std::to_string(ref.location) + "]";
  };
  // One halide_buffer_t per argument; the descriptor's dims are static (a step runs on one
  // thread at a time per model).
  auto describe = [&](std::ostringstream &os, const std::string &var, const CallArgument &arg,
                      bool kernelInput) {
    ElementInfo info = elementInfo(arg.type.getElementType());
    llvm::ArrayRef<int64_t> shape = arg.type.getShape();
    os << "  static halide_dimension_t " << var << "_dim[" << std::max<size_t>(shape.size(), 1)
       << "] = {";
    int64_t stride = 1;
    for (int d = 0; d < int(shape.size()); ++d) {
      int64_t extent = shape[shape.size() - 1 - d];
      os << (d ? ", " : "") << "{0, " << extent << ", " << stride << ", 0}";
      stride *= extent;
    }
    if (shape.empty())
      os << "{0, 1, 1, 0}";
    os << "};\n";
    const BufferRef &ref = arg.buffer;
    std::string host = hostPointer(ref);
    std::string handle = "0, 0", flags = "0";
    if (device) {
      handle = ref.isWeight ? "e->device_weights[" + std::to_string(ref.location) + "]"
                            : "e->device_slices[" +
                                  std::to_string(slices.indexOf(ref.location, byteSize(arg.type))) + "]";
      handle += ", e->device_interface";
      // Arena data is current on the device (a host read copies it back); weights are
      // current on both sides.
      if (!ref.isWeight && kernelInput)
        flags = "halide_buffer_flag_device_dirty";
    }
    os << "  halide_buffer_t " << var << " = {" << handle << ", " << host << ", " << flags
       << ", {" << info.halideCode << ", " << info.halideBits << ", 1}, " << shape.size()
       << ", " << var << "_dim, 0};\n";
  };

  for (size_t s = 0; s < tables.calls.size(); ++s) {
    const KernelCall &call = tables.calls[s];
    if (call.kind == KernelCall::Kind::Jump)
      continue;
    if (call.kind == KernelCall::Kind::BranchUnless) {
      // The condition is one bool in the arena; a device program brings it to the host
      // first (the kernel that computed it left it on the device).
      const CallArgument &condition = call.inputs.at(0);
      std::string byte = "e->arena[" + std::to_string(condition.buffer.location) + "]";
      steps << "static int test_" << s << "(const kiln_exec_t *e, int32_t *out_true) {\n";
      if (!device) {
        steps << "  *out_true = " << byte << " != 0;\n  return 0;\n}\n\n";
        continue;
      }
      describe(steps, "c", condition, true);
      steps << "  int code = halide_copy_to_host(e->user_context, &c);\n"
            << "  *out_true = code == 0 && " << byte << " != 0;\n  return code;\n}\n\n";
      continue;
    }
    if (call.kind == KernelCall::Kind::HostOp) {
      // A runtime function on the host: a device program brings its inputs to the host and
      // sends its results back.
      steps << "static int step_" << s << "(const kiln_exec_t *e) {\n  int code = 0;\n";
      if (device)
        for (size_t i = 0; i < call.inputs.size(); ++i) {
          if (call.inputs[i].buffer.isWeight)
            continue;
          std::string var = "in" + std::to_string(i);
          describe(steps, var, call.inputs[i], true);
          steps << "  if ((code = halide_copy_to_host(e->user_context, &" << var << ")) != 0)"
                << " return code;\n";
        }
      auto in = [&](size_t i, const char *type) {
        return "(const " + std::string(type) + " *)(" + hostPointer(call.inputs.at(i).buffer) + ")";
      };
      auto out = [&](size_t i) { return "(int64_t *)(" + hostPointer(call.results.at(i).buffer) + ")"; };
      if (call.symbol == "kiln_host_nonzero") {
        llvm::ArrayRef<int64_t> shape = call.inputs.at(0).type.getShape();
        steps << "  static const int64_t dims[] = {";
        for (int64_t d : shape)
          steps << d << "LL, ";
        steps << "0};\n  code = kiln_host_nonzero(" << in(0, "void") << ", (kiln_dtype_t)"
              << elementInfo(call.inputs[0].type.getElementType()).kilnDtype << ", "
              << shape.size() << ", dims, " << out(0) << ", " << out(1) << ");\n";
      } else if (call.symbol == "kiln_host_max_pool_indices") {
        const std::vector<int64_t> &q = call.parameters;
        steps << "  static const int64_t window[] = {";
        for (size_t i = 6; i < q.size(); ++i)
          steps << q[i] << "LL, ";
        steps << "};\n  code = kiln_host_max_pool_indices(" << in(0, "float") << ", " << q.at(0)
              << "LL, " << q.at(1) << "LL, " << q.at(2) << "LL, " << q.at(3) << "LL, " << q.at(4)
              << "LL, window, " << q.at(5) << ", " << out(0) << ");\n";
      } else if (call.symbol == "kiln_host_tfidf") {
        const std::vector<int64_t> &q = call.parameters;
        steps << "  static const int64_t config[] = {";
        for (size_t i = 3; i < q.size(); ++i)
          steps << q[i] << "LL, ";
        steps << "};\n";
        if (!call.floatParameters.empty()) {
          steps << "  static const float weights[] = {";
          for (double w : call.floatParameters)
            steps << llvm::formatv("{0:e9}", w).str() << "f, ";
          steps << "};\n";
        }
        steps << "  code = kiln_host_tfidf(" << in(0, "void") << ", " << q.at(0) << ", " << q.at(1)
              << "LL, " << q.at(2) << "LL, config, "
              << (call.floatParameters.empty() ? "0" : "weights") << ", (float *)("
              << hostPointer(call.results.at(0).buffer) << "));\n";
      } else if (call.symbol == "kiln_host_roi_align") {
        const std::vector<int64_t> &q = call.parameters;
        steps << "  static const int64_t shape[] = {" << q.at(0) << "LL, " << q.at(1) << "LL, "
              << q.at(2) << "LL, " << q.at(3) << "LL};\n  static const int64_t config[] = {";
        for (size_t i = 4; i < q.size(); ++i)
          steps << q[i] << "LL, ";
        steps << "};\n  code = kiln_host_roi_align(" << in(0, "float") << ", " << in(1, "float")
              << ", " << in(2, "int64_t") << ", shape, config, "
              << llvm::formatv("{0:e9}", call.floatParameters.at(0)).str() << "f, (float *)("
              << hostPointer(call.results.at(0).buffer) << "));\n";
      } else if (call.symbol == "kiln_host_det") {
        steps << "  code = kiln_host_det(" << in(0, "float") << ", " << call.parameters.at(0)
              << "LL, " << call.parameters.at(1) << "LL, (float *)("
              << hostPointer(call.results.at(0).buffer) << "), (double *)("
              << hostPointer(call.results.at(1).buffer) << "));\n";
      } else if (call.symbol == "kiln_host_unique") {
        mlir::Type element = call.inputs.at(0).type.getElementType();
        steps << "  code = kiln_host_unique(" << in(0, "void") << ", (kiln_dtype_t)"
              << elementInfo(element).kilnDtype << ", " << elementByteSize(element)
              << ", " << call.parameters.at(1) << "LL, " << call.parameters.at(2) << "LL, "
              << call.parameters.at(3) << "LL, " << call.parameters.at(0) << ", (void *)("
              << hostPointer(call.results.at(0).buffer) << "), " << out(1) << ", " << out(2)
              << ", " << out(3) << ", " << out(4) << ", " << out(5) << ");\n";
      } else {
        llvm::ArrayRef<int64_t> scores = call.inputs.at(1).type.getShape();
        steps << "  code = kiln_host_non_max_suppression(" << in(0, "float") << ", "
              << in(1, "float") << ", " << scores[0] << "LL, " << scores[1] << "LL, " << scores[2]
              << "LL, " << in(2, "int64_t") << ", " << in(3, "float") << ", "
              << (call.parameters.at(0) ? in(4, "float") : std::string("0")) << ", "
              << call.parameters.at(1) << ", " << call.results.at(0).type.getShape()[0] << "LL, "
              << out(0) << ", " << out(1) << ", " << out(2) << ");\n";
      }
      if (device)
        for (size_t i = 0; i < call.results.size(); ++i) {
          std::string var = "out" + std::to_string(i);
          describe(steps, var, call.results[i], false);
          steps << "  " << var << ".flags = halide_buffer_flag_host_dirty;\n"
                << "  if (code == 0) code = halide_copy_to_device(e->user_context, &" << var
                << ", e->device_interface);\n";
        }
      steps << "  return code;\n}\n\n";
      continue;
    }
    if (call.kind == KernelCall::Kind::LoopEnter || call.kind == KernelCall::Kind::LoopNext) {
      // The iteration number, condition and trip count live in the arena; a device
      // program brings the condition and a computed trip count to the host and sends the
      // iteration number back (the body's kernels may read it).
      bool enter = call.kind == KernelCall::Kind::LoopEnter;
      const CallArgument &condition = call.inputs.at(0), &iteration = call.results.at(0);
      auto at = [](const CallArgument &arg) { return std::to_string(arg.buffer.location); };
      steps << "static int test_" << s << "(const kiln_exec_t *e, int32_t *out_true) {\n";
      if (device) {
        steps << "  int code;\n";
        for (size_t i = 0; i < call.inputs.size(); ++i) {
          std::string var = "in" + std::to_string(i);
          describe(steps, var, call.inputs[i], true);
          steps << "  if ((code = halide_copy_to_host(e->user_context, &" << var << ")) != 0)"
                << " return code;\n";
        }
      }
      steps << "  int64_t *iteration = (int64_t *)(e->arena + " << at(iteration) << ");\n"
            << "  int64_t count = "
            << (call.tripCount ? std::to_string(*call.tripCount) + "LL"
                               : "*(const int64_t *)(e->arena + " + at(call.inputs.at(1)) + ")")
            << ";\n  int32_t more = e->arena[" << at(condition) << "] != 0;\n";
      if (enter)
        steps << "  *iteration = 0;\n  *out_true = more && count > 0;\n";
      else
        steps << "  int64_t following = *iteration + 1;\n"
              << "  *out_true = more && following < count;\n"
              << "  if (*out_true && following >= " << call.iterationLimit
              << "LL) return KILN_LOOP_LIMIT_EXCEEDED;\n"
              << "  *iteration = following;\n";
      if (device) {
        describe(steps, "it", iteration, false);
        steps << "  it.flags = halide_buffer_flag_host_dirty;\n"
              << "  return halide_copy_to_device(e->user_context, &it, e->device_interface);\n";
      } else {
        steps << "  return 0;\n";
      }
      steps << "}\n\n";
      continue;
    }
    std::ostringstream body;
    std::string arguments;
    int count = 0;
    for (const CallArgument &arg : call.inputs) {
      std::string var = "b" + std::to_string(count++);
      describe(body, var, arg, true);
      arguments += (arguments.empty() ? "&" : ", &") + var;
    }
    std::vector<std::string> resultVars;
    for (const CallArgument &arg : call.results) {
      std::string var = "b" + std::to_string(count++);
      describe(body, var, arg, false);
      arguments += (arguments.empty() ? "&" : ", &") + var;
      resultVars.push_back(var);
    }
    // Kernels take Halide's user_context first: the model's runtime context, which the
    // runtime's hooks use to find its thread pool and scratch (runtime/src/context.c).
    if (declared.insert(call.symbol).second) {
      declarations << "int " << call.symbol << "(void *";
      for (int i = 0; i < count; ++i)
        declarations << ", struct halide_buffer_t *";
      declarations << ");\n";
    }
    arguments = "e->user_context, " + arguments;
    steps << "static int step_" << s << "(const kiln_exec_t *e) {\n" << body.str();
    if (!device) {
      steps << "  return " << call.symbol << "(" << arguments << ");\n}\n\n";
      continue;
    }
    // A result a host loop wrote goes to the device, where the next kernel reads it.
    steps << "  int code = " << call.symbol << "(" << arguments << ");\n";
    for (const std::string &var : resultVars)
      steps << "  if (code == 0 && (" << var << ".flags & halide_buffer_flag_host_dirty))\n"
            << "    code = halide_copy_to_device(e->user_context, &" << var
            << ", e->device_interface);\n";
    steps << "  return code;\n}\n\n";
  }

  io << "static const kiln_io_desc_t inputs[] = {\n";
  for (const ProgramIo &input : tables.inputs)
    describeIo(io, input);
  if (tables.inputs.empty())
    io << "  {0}\n";
  io << "};\nstatic const kiln_io_desc_t outputs[] = {\n";
  for (const ProgramIo &output : tables.outputs)
    describeIo(io, output);
  if (tables.outputs.empty())
    io << "  {0}\n";
  io << "};\nstatic const kiln_weight_desc_t weights[] = {\n";
  for (size_t w = 0; w < tables.weights->size(); ++w) {
    const GgufTensor &t = (*tables.weights)[w];
    io << "  {" << cString(t.name) << ", " << t.type << ", " << t.dims.size() << ", {";
    for (size_t i = 0; i < t.dims.size(); ++i)
      io << (i ? ", " : "") << t.dims[i];
    if (t.dims.empty())
      io << "0";
    io << "}, " << t.data.size() << "u, "
       << (tables.freestanding ? tables.freestanding->weightOffsets[w] : 0) << "u},\n";
  }
  if (tables.weights->empty())
    io << "  {0}\n";
  io << "};\nstatic const kiln_step_desc_t steps[] = {\n";
  for (size_t i = 0; i < tables.calls.size(); ++i) {
    const KernelCall &call = tables.calls[i];
    io << "  {" << cString(call.name) << ", ";
    switch (call.kind) {
    case KernelCall::Kind::Kernel:
    case KernelCall::Kind::HostOp:
      io << "step_" << i << ", KILN_STEP_KERNEL, 0, 0},\n";
      break;
    case KernelCall::Kind::BranchUnless:
      io << "0, KILN_STEP_BRANCH_UNLESS, " << call.target << ", test_" << i << "},\n";
      break;
    case KernelCall::Kind::Jump:
      io << "0, KILN_STEP_JUMP, " << call.target << ", 0},\n";
      break;
    case KernelCall::Kind::LoopEnter:
      io << "0, KILN_STEP_BRANCH_UNLESS, " << call.target << ", test_" << i << "},\n";
      break;
    case KernelCall::Kind::LoopNext:
      io << "0, KILN_STEP_LOOP_BACK, " << call.target << ", test_" << i << "},\n";
      break;
    }
  }
  if (tables.calls.empty())
    io << "  {0}\n";
  io << "};\n";

  std::string deviceRef = "0";
  if (device) {
    io << "static const int32_t input_slices[] = {";
    for (const ProgramIo &input : tables.inputs)
      io << slices.indexOf(input.arenaOffset, byteSize(input.type)) << ", ";
    io << "0};\nstatic const int32_t output_slices[] = {";
    for (const ProgramIo &output : tables.outputs)
      io << slices.indexOf(output.arenaOffset, byteSize(output.type)) << ", ";
    io << "0};\nstatic const kiln_device_slice_t device_slices[] = {\n";
    for (auto [offset, bytes] : slices.slices())
      io << "  {" << offset << "u, " << bytes << "u},\n";
    if (slices.slices().empty())
      io << "  {0}\n";
    io << "};\nextern const kiln_device_ops_t kiln_device_ops;\n"
       << "static const kiln_device_desc_t device = {" << cString(needs.apiName) << ", "
       << (needs.driverLibrary.empty() ? "0" : cString(needs.driverLibrary)) << ", "
       << needs.interfaceGetter << ", " << slices.slices().size()
       << ", device_slices, input_slices, output_slices, &kiln_device_ops};\n";
    deviceRef = "&device";
  }

  std::string freestandingRef = "0";
  if (const auto &layout = tables.freestanding) {
    io << "static const kiln_arena_range_t step_scratch[] = {\n";
    for (const auto &[offset, bytes] : layout->stepScratch)
      io << "  {" << offset << "u, " << bytes << "u},\n";
    if (layout->stepScratch.empty())
      io << "  {0, 0}\n";
    io << "};\nstatic const kiln_freestanding_desc_t freestanding = {"
       << layout->weightsFileSize << "u, " << layout->fingerprintOffset
       << "u, step_scratch, " << layout->stateOffset << "u};\n";
    freestandingRef = "&freestanding";
  }

  std::ostringstream glue;
  glue << "/* glue.c - generated by kiln compile from " << tables.sourceName
       << "; do not edit. */\n"
       << "#include <stdint.h>\n#include \"HalideRuntime.h\"\n";
  if (device)
    glue << "#include \"" << needs.runtimeHeader << "\"\n";
  glue << "#include \"kiln/program.h\"\n#include \"kiln/host_ops.h\"\n\n";
  if (tables.embeddedWeightsBytes)
    glue << "extern const uint8_t kiln_embedded_weights[];  /* weights.s */\n";
  glue << declarations.str() << "\n"
       << steps.str() << io.str() << "\n"
       << "const kiln_program_t kiln_program = {\n  KILN_PROGRAM_ABI_VERSION, "
       << cString(tables.modelName) << ", " << cString(tables.fingerprint) << ", "
       << tables.arenaSize << "u,\n  " << tables.inputs.size() << ", inputs, "
       << tables.outputs.size() << ", outputs, " << tables.weights->size() << ", weights, "
       << tables.calls.size() << ", steps, " << deviceRef << ",\n  "
       << (tables.embeddedWeightsBytes ? "kiln_embedded_weights, " : "0, ")
       << tables.embeddedWeightsBytes << "u, " << freestandingRef << "};\n";
  return glue.str();
}

} // namespace kiln
