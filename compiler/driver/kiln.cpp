//===- kiln.cpp - the kiln command line --------------------------------------===//
//
// `kiln compile MODEL.onnx -o OUT --target T --input-shape x=1,3,224,224` imports the
// model, runs the pass pipeline and builds OUT (an executable) and OUT.gguf (weights).
// Exit codes: 0 success, 2 the model cannot be compiled (unsupported ops, invalid model
// or options), 1 any other failure.
//
//===----------------------------------------------------------------------===//
#include "compiler/codegen/Artifact.h"
#include "compiler/frontends/onnx/OnnxImporter.h"
#include "compiler/pipeline/Pipeline.h"
#include "compiler/tune/Tune.h"
#include "compiler/tune/Tuning.h"
#include "compiler/tune/TuningDb.h"
#include "dialects/kiln/IR/KilnDialect.h"
#include "dialects/kiln/IR/KilnOps.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"
#include <cstring>
#include <iostream>

namespace {

constexpr int kExitFailure = 1;
constexpr int kExitModelError = 2;

const char *kUsage = R"(kiln - ahead-of-time model compiler

usage:
  kiln compile MODEL.onnx -o OUT [options]   build executable OUT and weights OUT.gguf
                                             (or a library: --emit)
  kiln tune MODEL.onnx --db FILE [options]   measure kernel plans on this machine into the
                                             tuning database FILE (resumable)
  kiln tune --db FILE --export OUT.json      the best plan per kernel, as JSON
  kiln tune --db FILE --merge OTHER.db       add OTHER.db's measurements to FILE
  kiln targets                               list target names
  kiln ops                                   list supported ONNX op types

compile options:
  --emit KIND              exe (default): executable OUT and weights OUT.gguf;
                           static-lib or shared-lib: for -o DIR/NAME, DIR/libNAME.a (.so),
                           the C header DIR/NAME.h, DIR/NAME.pc and weights DIR/NAME.gguf
                           (symbols: NAME_*, NAME as a C identifier)
  --weights WHERE          external (default): the GGUF file beside the output, mapped at
                           open; embed: linked into the output as read-only data (no
                           .gguf file; an executable's --weights PATH still overrides)
  --target NAME            host (default), x86-64-avx2, x86-64-avx512, x86-64-avx512-vnni,
                           aarch64, aarch64-dotprod, armhf, riscv64, cuda, cuda-sm80,
                           opencl, metal, ...
                           ('kiln targets' lists them all)
  --input-shape NAME=D,..  fix the shape of an input with dynamic dimensions (repeatable)
  --bind NAME=V[,V...]     fix an input to constant values at compile time, row-major
                           (one value fills the whole input; repeatable)
  --quantize FORMAT        store matmul, conv and embedding (Gather) weights as q8_0,
                           q4_0, q4_1, q5_0, q5_1 (GGML blocks) or int8; the first and
                           last matmul/conv stay float
  --keep-float LIST        also keep these in float: node-name substrings or matmul/conv/gather
  --quantize-all-layers    quantize the first and last layer too
  --ggml-layout            keep every quantized weight in GGML's own block layout (readable
                           by any GGUF tool) instead of kiln's interleaved twins for
                           integer dot products (slower matmuls and convs)
  --quantize-uniform       with q4_0/q4_1/q5_0/q5_1, use that format for every quantized
                           layer (by default layers writing into a residual stream and
                           layers under 8192 weights take q8_0)
  --no-winograd            compute 3x3 stride-1 convolutions directly instead of by
                           Winograd's algorithm (up to 4x fewer multiply-adds; outputs
                           differ from the direct sum by up to about 1e-5 of their size)
  --report                 print which layers were quantized and the weight sizes
  --emit-plans FILE        write every kernel's schedule plan to FILE (JSON, keyed by the
                           kernel's content hash)
  --plans FILE             schedule the kernels FILE has a plan for with that plan
  --tuning FILE            take tuned plans from FILE (a kiln tune database or its JSON
                           export): measured on this chip first, then its family, else
                           the heuristic
  --emit-source-map FILE   write which model nodes each kernel computes (JSON, kernels in
                           call order; bench/compare_layers.js reads it)
  --emit-mlir FILE         also write the planned kiln IR to FILE
  --keep-temps             keep the generated C glue and kernel objects
  --max-model-bytes N      refuse models whose file plus external data exceed N bytes
                           (default 16G; K, M, G, T suffixes are powers of 1024)
  --max-nodes N            refuse models that import more than N nodes, counting unrolled
                           loop iterations and subgraphs (default 1000000)
  --max-folded-bytes N     stop constant folding after N bytes of folded constants; the
                           rest computes at run time (default 2G)
  --max-arena-bytes N      refuse models whose activation arena exceeds N bytes
                           (default 64G)
  --max-loop-iterations N  a Loop whose trip count the model computes stops the run with
                           an error past N iterations (default 16M)
  -v, --verbose            print each kernel and tool invocation

tune options (and the compile options that shape the model: --target, --input-shape,
--bind, --quantize and its companions, --no-winograd, --max-*):
  --db FILE                the tuning database (SQLite; created if missing)
  --budget SECONDS         time to spend measuring, split over the kernels by their share
                           of the run (default 900; a rerun continues an interrupted run)
  --threads N              threads the kernels are measured at (default: every CPU)
  --search METHOD          local (default: hill climbing from the heuristic plan) or random
  --min-time MS            each candidate's timed runs add up to at least MS (default 200)
  --min-share PERCENT      tune kernels taking at least this much of the run (default 0.5)
  --timeout SECONDS        a candidate's run is killed after this (default: from the
                           heuristic plan's time, at least 10 s); it is recorded as timeout
  --run-wrapper COMMAND    run the candidates under COMMAND (split at spaces), e.g.
                           "taskset -c 2,3" to pin them to cores
  --work DIR               keep the candidates' builds in DIR (default: a temporary one)
  --farm nats://HOST:PORT  measure on the kiln-worker processes of a NATS JetStream farm
                           (docs/tuning.md); the target must also run here
  --farm-chip KEY          the workers' chip to tune for, when several are on the farm
  --farm-wait SECONDS      a job with no result after this counts as lost (default 900)
)";

int usageError(const std::string &message) {
  llvm::errs() << "kiln: error: " << message << "\n(run 'kiln --help' for usage)\n";
  return kExitModelError;
}

bool parseShape(const std::string &text, std::string &name, std::vector<int64_t> &dims) {
  size_t eq = text.find('=');
  if (eq == std::string::npos || eq == 0)
    return false;
  name = text.substr(0, eq);
  llvm::StringRef rest = llvm::StringRef(text).drop_front(eq + 1);
  dims.clear();
  if (rest.empty())
    return true;  // a scalar
  llvm::SmallVector<llvm::StringRef> parts;
  rest.split(parts, ',');
  for (llvm::StringRef part : parts) {
    int64_t value;
    if (part.getAsInteger(10, value) || value < 0)
      return false;
    dims.push_back(value);
  }
  return true;
}

/// A byte count or count: digits with an optional K, M, G or T suffix (powers of 1024).
bool parseCount(llvm::StringRef text, int64_t &value) {
  int shift = 0;
  if (!text.empty()) {
    size_t unit = llvm::StringRef("KMGT").find(char(toupper(text.back())));
    if (unit != llvm::StringRef::npos) {
      shift = 10 * int(unit + 1);
      text = text.drop_back();
    }
  }
  if (text.getAsInteger(10, value) || value <= 0 || value > (int64_t(1) << 62) >> shift)
    return false;
  value <<= shift;
  return true;
}

/// What `kiln compile` and `kiln tune` share: the model, the target and every option that
/// changes the lowered module.
struct ModelFlags {
  std::string modelPath, targetName = "host";
  kiln::OnnxImportOptions importOptions;
  kiln::PipelineOptions pipelineOptions;
  bool ggmlLayout = false;
};

enum class FlagResult { Taken, NotMine, Error };

/// Reads argv[i] (and its value, advancing i) when it is one of ModelFlags' options.
FlagResult parseModelFlag(int argc, char **argv, int &i, ModelFlags &flags) {
  std::string arg = argv[i];
  kiln::OnnxImportOptions &importOptions = flags.importOptions;
  kiln::PipelineOptions &pipelineOptions = flags.pipelineOptions;
  auto value = [&](const char *flag) -> const char * {
    if (i + 1 >= argc) {
      usageError(std::string(flag) + " needs a value");
      return nullptr;
    }
    return argv[++i];
  };
  auto fail = [](const std::string &message) {
    usageError(message);
    return FlagResult::Error;
  };
  {
    if (arg == "--target") {
      const char *v = value("--target");
      if (!v) return FlagResult::Error;
      flags.targetName = v;
    } else if (arg == "--input-shape") {
      const char *v = value("--input-shape");
      if (!v) return FlagResult::Error;
      std::string name;
      std::vector<int64_t> dims;
      if (!parseShape(v, name, dims))
        return fail("--input-shape expects NAME=D1,D2,... with non-negative integers, got '" +
                          std::string(v) + "'");
      importOptions.inputShapes[name] = dims;
    } else if (arg == "--bind") {
      const char *v = value("--bind");
      if (!v) return FlagResult::Error;
      std::string text = v;
      size_t eq = text.find('=');
      std::vector<double> numbers;
      bool ok = eq != std::string::npos && eq > 0;
      llvm::StringRef rest = ok ? llvm::StringRef(text).drop_front(eq + 1) : llvm::StringRef();
      llvm::SmallVector<llvm::StringRef> parts;
      if (!rest.empty())  // NAME= binds an empty tensor
        rest.split(parts, ',');
      for (llvm::StringRef part : parts) {
        double number;
        if (part == "true" || part == "True" || part == "false" || part == "False")
          number = part[0] == 't' || part[0] == 'T';
        else if (part.getAsDouble(number))
          ok = false;
        numbers.push_back(number);
      }
      if (!ok)
        return fail("--bind expects NAME=NUMBER[,NUMBER...], got '" + text + "'");
      importOptions.boundInputs[text.substr(0, eq)] = numbers;
    } else if (arg == "--quantize") {
      const char *v = value("--quantize");
      if (!v) return FlagResult::Error;
      static const char *formats[] = {"q8_0", "q4_0", "q4_1", "q5_0", "q5_1", "int8"};
      if (!llvm::is_contained(formats, std::string(v)))
        return fail("--quantize expects q8_0, q4_0, q4_1, q5_0, q5_1 or int8, got '" +
                          std::string(v) + "'");
      pipelineOptions.quantize = v;
    } else if (arg == "--keep-float") {
      const char *v = value("--keep-float");
      if (!v) return FlagResult::Error;
      pipelineOptions.keepFloat = v;
    } else if (arg == "--quantize-all-layers") {
      pipelineOptions.quantizeEnds = true;
    } else if (arg == "--ggml-layout") {
      flags.ggmlLayout = true;
    } else if (arg == "--quantize-uniform") {
      pipelineOptions.quantizeUniform = true;
    } else if (arg == "--no-winograd") {
      pipelineOptions.winograd = false;
    } else if (arg == "--report") {
      pipelineOptions.quantizationReport = true;
    } else if (arg == "--max-model-bytes" || arg == "--max-nodes" ||
               arg == "--max-folded-bytes" || arg == "--max-arena-bytes" ||
               arg == "--max-loop-iterations") {
      const char *v = value(arg.c_str());
      if (!v) return FlagResult::Error;
      int64_t count;
      if (!parseCount(v, count))
        return fail(arg + " expects a positive count (K, M, G, T suffixes allowed), got '" +
                    std::string(v) + "'");
      if (arg == "--max-model-bytes") importOptions.maxModelBytes = count;
      else if (arg == "--max-nodes") importOptions.maxNodes = count;
      else if (arg == "--max-folded-bytes") importOptions.maxFoldedBytes = count;
      else if (arg == "--max-loop-iterations") importOptions.maxLoopIterations = count;
      else pipelineOptions.maxArenaBytes = count;
    } else if (!arg.empty() && arg[0] != '-') {
      if (!flags.modelPath.empty())
        return fail("more than one model given ('" + flags.modelPath + "' and '" + arg + "')");
      flags.modelPath = arg;
    } else {
      return FlagResult::NotMine;
    }
  }
  return FlagResult::Taken;
}

/// The target ModelFlags names, or std::nullopt after printing why not.
std::optional<kiln::TargetInfo> findModelTarget(const ModelFlags &flags) {
  auto target = kiln::findTarget(flags.targetName);
  if (!target) {
    std::string names;
    for (const auto &n : kiln::targetNames())
      names += " " + n;
    usageError("unknown target '" + flags.targetName + "' (known:" + names + ")");
  }
  return target;
}

/// Imports the model and runs the pass pipeline for `target`; on failure prints why, sets
/// `exitCode` and returns null.
mlir::OwningOpRef<mlir::ModuleOp> lowerModel(mlir::MLIRContext &context, ModelFlags flags,
                                             const kiln::TargetInfo &target, int &exitCode) {
  kiln::PipelineOptions pipelineOptions = flags.pipelineOptions;
  const std::string &modelPath = flags.modelPath;
  kiln::LayoutOptions layout = target.backend->layoutOptions(target);
  pipelineOptions.integerDotWeights = layout.interleaveQuantized && !flags.ggmlLayout;
  pipelineOptions.winograd = pipelineOptions.winograd && layout.winograd;
  pipelineOptions.flattenPointwise = layout.flattenPointwise;
  pipelineOptions.arenaAlignment = layout.arenaAlignment;
  pipelineOptions.channelStrip = layout.channelStrip;
  context.disableMultithreading();  // the machine has few cores; Halide uses them later
  kiln::OnnxImportError importError;
  auto module = kiln::importOnnxModel(context, modelPath, flags.importOptions, importError);
  if (!module) {
    if (!importError.unsupported.empty()) {
      llvm::errs() << "kiln: error: " << modelPath << " uses " << importError.unsupported.size()
                   << " unsupported op type(s):\n";
      for (const auto &[type, nodes] : importError.unsupported) {
        llvm::errs() << "  " << type << " (" << nodes.size() << " node"
                     << (nodes.size() == 1 ? "" : "s") << "):";
        for (size_t i = 0; i < nodes.size() && i < 20; ++i)
          llvm::errs() << " " << nodes[i];
        if (nodes.size() > 20)
          llvm::errs() << " ... and " << nodes.size() - 20 << " more";
        llvm::errs() << "\n";
      }
    }
    for (const auto &message : importError.messages)
      llvm::errs() << "kiln: error: " << message << "\n";
    exitCode = kExitModelError;
    return nullptr;
  }
  // Diagnostics from passes print with their op's location (the ONNX node).
  mlir::ScopedDiagnosticHandler handler(&context, [](mlir::Diagnostic &diag) {
    llvm::errs() << "kiln: " << (diag.getSeverity() == mlir::DiagnosticSeverity::Error ? "error" : "note")
                 << ": " << diag.getLocation() << ": " << diag.str() << "\n";
    return mlir::success();
  });
  if (mlir::failed(module->verify()) || mlir::failed(kiln::runKilnPipeline(*module, pipelineOptions))) {
    llvm::errs() << "kiln: error: the pass pipeline failed on " << modelPath << "\n";
    exitCode = kExitFailure;
    return nullptr;
  }
  if (context.getOrLoadDialect<kiln::KilnDialect>()->foldingStopped)
    llvm::errs() << "kiln: warning: constant folding stopped at the --max-folded-bytes limit ("
                 << flags.importOptions.maxFoldedBytes
                 << " bytes); the remaining constant computations run in kernels\n";
  return module;
}

int compileCommand(int argc, char **argv) {
  ModelFlags flags;
  std::string outputPath, emitMlir, emitPlans, plansPath, emitSourceMap, tuningPath;
  bool verbose = false, keepTemps = false;
  kiln::OutputKind outputKind = kiln::OutputKind::Executable;
  bool embedWeights = false;
  for (int i = 0; i < argc; ++i) {
    FlagResult taken = parseModelFlag(argc, argv, i, flags);
    if (taken == FlagResult::Error)
      return kExitModelError;
    if (taken == FlagResult::Taken)
      continue;
    std::string arg = argv[i];
    auto value = [&](const char *flag) -> const char * {
      if (i + 1 >= argc) {
        usageError(std::string(flag) + " needs a value");
        return nullptr;
      }
      return argv[++i];
    };
    if (arg == "-o" || arg == "--output") {
      const char *v = value("-o");
      if (!v) return kExitModelError;
      outputPath = v;
    } else if (arg == "--emit") {
      const char *v = value("--emit");
      if (!v) return kExitModelError;
      std::string kind = v;
      if (kind == "exe")
        outputKind = kiln::OutputKind::Executable;
      else if (kind == "static-lib")
        outputKind = kiln::OutputKind::StaticLibrary;
      else if (kind == "shared-lib")
        outputKind = kiln::OutputKind::SharedLibrary;
      else
        return usageError("--emit takes exe, static-lib or shared-lib, not '" + kind + "'");
    } else if (arg == "--weights") {
      const char *v = value("--weights");
      if (!v) return kExitModelError;
      if (std::string(v) != "external" && std::string(v) != "embed")
        return usageError("--weights takes external or embed, not '" + std::string(v) + "'");
      embedWeights = std::string(v) == "embed";
    } else if (arg == "--emit-plans") {
      const char *v = value("--emit-plans");
      if (!v) return kExitModelError;
      emitPlans = v;
    } else if (arg == "--emit-source-map") {
      const char *v = value("--emit-source-map");
      if (!v) return kExitModelError;
      emitSourceMap = v;
    } else if (arg == "--plans") {
      const char *v = value("--plans");
      if (!v) return kExitModelError;
      plansPath = v;
    } else if (arg == "--emit-mlir") {
      const char *v = value("--emit-mlir");
      if (!v) return kExitModelError;
      emitMlir = v;
    } else if (arg == "--tuning") {
      const char *v = value("--tuning");
      if (!v) return kExitModelError;
      tuningPath = v;
    } else if (arg == "--keep-temps") {
      keepTemps = true;
    } else if (arg == "-v" || arg == "--verbose") {
      verbose = true;
    } else {
      return usageError("unknown option '" + arg + "'");
    }
  }
  if (flags.modelPath.empty())
    return usageError("no model given");
  if (outputPath.empty())
    return usageError("no output given (-o OUT)");
  if (!plansPath.empty() && !tuningPath.empty())
    return usageError("--plans and --tuning both choose plans; give one");
  auto target = findModelTarget(flags);
  if (!target)
    return kExitModelError;
  if (embedWeights &&
      target->backend->runtimeNeeds(*target).packaging != kiln::ArtifactPackaging::Executable)
    return usageError("--weights embed: target " + target->name +
                      " builds a kit to link on its own machine; its weights stay a file");
  if (outputKind != kiln::OutputKind::Executable) {
    if (target->backend->runtimeNeeds(*target).packaging != kiln::ArtifactPackaging::Executable)
      return usageError("--emit " + std::string(kiln::outputKindName(outputKind)) +
                        ": target " + target->name + " builds a kit to link on its own "
                        "machine; libraries are for targets kiln links here");
    // NAME names the files (libNAME.a, NAME.h) and, as an identifier, the symbols.
    std::string name = llvm::sys::path::filename(outputPath).str();
    bool plain = !name.empty() && name != "." && name != "..";
    for (char c : name)
      plain &= llvm::isAlnum(c) || c == '_' || c == '-' || c == '.';
    if (!plain)
      return usageError("-o " + outputPath + ": a library's name (the last part) may use "
                        "letters, digits, '_', '-' and '.' only");
    if (std::string problem = kiln::libraryNameProblem(name); !problem.empty())
      return usageError("-o " + outputPath + ": a library's name " + problem);
  }
  std::optional<kiln::PlanFile> plans;
  if (!plansPath.empty()) {
    std::string error;
    plans = kiln::PlanFile::read(plansPath, error);
    if (!plans)
      return usageError(error);
  }
  std::optional<kiln::TuningChoice> tuning;
  if (!tuningPath.empty()) {
    std::string error;
    tuning = kiln::readTuning(tuningPath, *target, error);
    if (!tuning)
      return usageError(error);
  }

  mlir::MLIRContext context;
  int exitCode = 0;
  auto module = lowerModel(context, flags, *target, exitCode);
  if (!module)
    return exitCode;
  if (!emitMlir.empty()) {
    std::error_code ec;
    llvm::raw_fd_ostream out(emitMlir, ec);
    if (ec)
      return usageError("cannot write " + emitMlir + ": " + ec.message());
    module->print(out);
  }
  if (!emitSourceMap.empty()) {
    std::string mapError;
    if (!kiln::writeKernelSourceMap(*module, emitSourceMap, mapError))
      return usageError(mapError);
  }

  kiln::ArtifactOptions artifact;
  // Absolute, so the temporary directory lands beside the output (LLVM puts relative
  // unique-directory models under the system temp directory).
  llvm::SmallString<256> absoluteOutput(outputPath);
  llvm::sys::fs::make_absolute(absoluteOutput);
  artifact.outputPath = absoluteOutput.str().str();
  artifact.modelName = llvm::sys::path::filename(outputPath).str();
  artifact.sourceName = llvm::sys::path::filename(flags.modelPath).str();
  artifact.target = *target;
  artifact.outputKind = outputKind;
  artifact.embedWeights = embedWeights;
  artifact.verbose = verbose;
  artifact.plans = plans ? &*plans : tuning ? &tuning->plans : nullptr;
  if (!emitPlans.empty()) {
    llvm::SmallString<256> absolutePlans(emitPlans);
    llvm::sys::fs::make_absolute(absolutePlans);
    artifact.emitPlansPath = absolutePlans.str().str();
  }
  artifact.keepTemps = keepTemps;
  std::string error;
  if (!kiln::buildArtifact(*module, artifact, error)) {
    llvm::errs() << "kiln: error: " << error << "\n";
    return kExitFailure;
  }
  if (tuning)
    llvm::errs() << "[kiln] tuning: " << kiln::describeTuningUse(*tuning, *module, *target) << "\n";
  return 0;
}

int tuneCommand(int argc, char **argv) {
  ModelFlags flags;
  kiln::TuneOptions options;
  std::string exportPath, mergePath;
  for (int i = 0; i < argc; ++i) {
    FlagResult taken = parseModelFlag(argc, argv, i, flags);
    if (taken == FlagResult::Error)
      return kExitModelError;
    if (taken == FlagResult::Taken)
      continue;
    std::string arg = argv[i];
    const char *v = nullptr;
    bool takesValue = arg == "--db" || arg == "--budget" || arg == "--threads" ||
                      arg == "--search" || arg == "--min-time" || arg == "--min-share" ||
                      arg == "--work" || arg == "--export" || arg == "--merge" ||
                      arg == "--timeout" || arg == "--run-wrapper" || arg == "--farm" ||
                      arg == "--farm-chip" || arg == "--farm-wait";
    if (takesValue) {
      if (i + 1 >= argc)
        return usageError(arg + " needs a value");
      v = argv[++i];
    }
    auto number = [&](double low, double high, double &out) {
      llvm::StringRef text(v);
      return !text.getAsDouble(out) && out >= low && out <= high;
    };
    double value = 0;
    if (arg == "--db") {
      options.dbPath = v;
    } else if (arg == "--export") {
      exportPath = v;
    } else if (arg == "--merge") {
      mergePath = v;
    } else if (arg == "--work") {
      options.workDir = v;
    } else if (arg == "--run-wrapper") {
      options.runWrapper = v;
    } else if (arg == "--farm") {
      options.farmUrl = v;
    } else if (arg == "--farm-chip") {
      options.farmChip = v;
    } else if (arg == "--farm-wait") {
      if (!number(1, 86400, value))
        return usageError("--farm-wait expects seconds, got '" + std::string(v) + "'");
      options.farmWaitSeconds = int(value);
    } else if (arg == "--timeout") {
      if (!number(1, 86400, value))
        return usageError("--timeout expects seconds, got '" + std::string(v) + "'");
      options.timeoutSeconds = int(value);
    } else if (arg == "--search") {
      options.search = v;
      if (options.search != "local" && options.search != "random")
        return usageError("--search takes local or random, not '" + options.search + "'");
    } else if (arg == "--budget") {
      if (!number(1, 1e7, value))
        return usageError("--budget expects seconds (1 or more), got '" + std::string(v) + "'");
      options.budgetSeconds = value;
    } else if (arg == "--threads") {
      if (!number(1, 1024, value) || value != double(int(value)))
        return usageError("--threads expects a count from 1 to 1024, got '" + std::string(v) + "'");
      options.threads = int(value);
    } else if (arg == "--min-time") {
      if (!number(1, 600000, value))
        return usageError("--min-time expects milliseconds, got '" + std::string(v) + "'");
      options.minTimeMs = int(value);
    } else if (arg == "--min-share") {
      if (!number(0, 100, value))
        return usageError("--min-share expects a percentage, got '" + std::string(v) + "'");
      options.minShare = value / 100;
    } else if (arg == "-v" || arg == "--verbose") {
      options.verbose = true;
    } else {
      return usageError("unknown option '" + arg + "'");
    }
  }
  if (options.dbPath.empty())
    return usageError("kiln tune needs --db FILE");
  std::string error;
  if (!exportPath.empty() || !mergePath.empty()) {
    if (!flags.modelPath.empty())
      return usageError("--export and --merge work on the database alone; no model is read");
    auto db = kiln::TuningDb::open(options.dbPath, !mergePath.empty(), error);
    if (!db)
      return usageError(error);
    if (!mergePath.empty()) {
      int64_t added = 0;
      if (!db->merge(mergePath, added, error)) {
        llvm::errs() << "kiln: error: " << error << "\n";
        return kExitFailure;
      }
      llvm::errs() << "[kiln] merged " << mergePath << ": " << added << " new measurement"
                   << (added == 1 ? "" : "s") << "\n";
    }
    if (!exportPath.empty()) {
      std::vector<kiln::Measurement> rows = db->all(error);
      if (!error.empty()) {
        llvm::errs() << "kiln: error: " << error << "\n";
        return kExitFailure;
      }
      std::vector<kiln::Confirmation> checks = db->confirmations(error);
      if (!error.empty()) {
        llvm::errs() << "kiln: error: " << error << "\n";
        return kExitFailure;
      }
      std::vector<kiln::TunedPlan> best = kiln::bestPlans(rows, checks);
      std::string temp = exportPath + ".partial";
      {
        std::error_code ec;
        llvm::raw_fd_ostream out(temp, ec);
        if (ec)
          return usageError("cannot write " + temp + ": " + ec.message());
        out << kiln::tunedPlansJson(best);
      }
      if (llvm::sys::fs::rename(temp, exportPath)) {
        llvm::sys::fs::remove(temp);
        return usageError("cannot write " + exportPath);
      }
      llvm::errs() << "[kiln] wrote " << exportPath << ": " << best.size()
                   << " tuned plan" << (best.size() == 1 ? "" : "s") << " from " << rows.size()
                   << " measurements\n";
    }
    return 0;
  }
  if (flags.modelPath.empty())
    return usageError("no model given (or --export / --merge)");
  auto target = findModelTarget(flags);
  if (!target)
    return kExitModelError;
  mlir::MLIRContext context;
  int exitCode = 0;
  auto module = lowerModel(context, flags, *target, exitCode);
  if (!module)
    return exitCode;
  options.target = *target;
  options.modelPath = flags.modelPath;
  return kiln::tuneModel(*module, options);
}

} // namespace

int main(int argc, char **argv) {
  if (argc < 2 || !std::strcmp(argv[1], "--help") || !std::strcmp(argv[1], "-h")) {
    llvm::outs() << kUsage;
    return argc < 2 ? kExitModelError : 0;
  }
  std::string command = argv[1];
  if (command == "compile")
    return compileCommand(argc - 2, argv + 2);
  if (command == "tune")
    return tuneCommand(argc - 2, argv + 2);
  if (command == "targets") {
    for (const auto &target : kiln::allTargets())
      llvm::outs() << llvm::left_justify(target.name, 20) << " "
                   << llvm::left_justify(target.backend->family(), 7) << target.description
                   << "\n";
    return 0;
  }
  if (command == "ops") {
    for (const auto &name : kiln::supportedOnnxOps())
      llvm::outs() << name << "\n";
    return 0;
  }
  return usageError("unknown command '" + command + "'");
}
