//===- LibraryApi.cpp - the C header and API of a library build ------------===//
//
// A static or shared library build (`--emit static-lib|shared-lib`) exposes a model through
// functions and constants named PREFIX_... (PREFIX: the output's name as a C identifier):
// the header describes the model completely (sizes, inputs, outputs, status codes), the
// API source wraps kiln's runtime for it. Every other symbol of the library is made local
// when it is linked (Link.cpp), so two models' libraries link into one program.
//
//===----------------------------------------------------------------------===//
#include "compiler/codegen/ArtifactParts.h"
#include "dialects/kiln/IR/KilnConstants.h"

#include "llvm/ADT/StringExtras.h"
#include <map>
#include <sstream>

namespace kiln {
namespace {

const char *dtypeName(int kilnDtype) {
  static const char *names[] = {"FLOAT32", "FLOAT16", "FLOAT64", "INT8",   "INT16",  "INT32",
                                "INT64",   "UINT8",   "UINT16",  "UINT32", "UINT64", "BOOL"};
  return kilnDtype >= 0 && kilnDtype < 12 ? names[kilnDtype] : "UNKNOWN";
}

/// NAME as an upper-case identifier fragment ("input.1" -> "INPUT_1").
std::string macroFragment(const std::string &name) {
  std::string out;
  for (char c : name)
    out += llvm::isAlnum(c) ? char(llvm::toUpper(c)) : '_';
  if (out.empty() || llvm::isDigit(out[0]))
    out = "_" + out;
  return out;
}

/// A C comment-safe rendering of `text` (no "*/", no control bytes).
std::string commentText(const std::string &text) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    unsigned char c = text[i];
    if (c < 0x20 || c == 0x7f)
      out += '?';
    else if (c == '*' && i + 1 < text.size() && text[i + 1] == '/')
      out += "*\\";
    else
      out += char(c);
  }
  return out;
}

void describeTensors(std::ostringstream &h, const std::string &upper, const char *kind,
                     const std::vector<ProgramIo> &list) {
  std::map<std::string, int> fragmentCount;
  for (const ProgramIo &io : list)
    ++fragmentCount[macroFragment(io.name)];
  for (size_t i = 0; i < list.size(); ++i) {
    const ProgramIo &io = list[i];
    ElementInfo info = elementInfo(io.type.getElementType());
    std::string base = upper + "_" + kind + "_" + std::to_string(i);
    std::string dims;
    for (int64_t d : io.type.getShape())
      dims += (dims.empty() ? "" : ", ") + std::to_string(d);
    int64_t bytes = io.type.getNumElements() * elementByteSize(io.type.getElementType());
    h << "/* " << kind << " " << i << ": '" << commentText(io.name) << "', "
      << dtypeName(info.kilnDtype) << " [" << dims << "] */\n"
      << "#define " << base << "_NAME " << cString(io.name) << "\n"
      << "#define " << base << "_DTYPE " << upper << "_DTYPE_" << dtypeName(info.kilnDtype) << "\n"
      << "#define " << base << "_RANK " << io.type.getRank() << "\n"
      << "#define " << base << "_DIMS {" << (dims.empty() ? "1" : dims) << "}\n"
      << "#define " << base << "_BYTES " << bytes << "u\n";
    std::string fragment = macroFragment(io.name);
    if (fragmentCount[fragment] == 1)
      h << "#define " << upper << "_" << kind << "_" << fragment << " " << i << "\n";
  }
}

} // namespace

std::string libraryPrefix(const std::string &name) {
  std::string out;
  for (char c : name)
    out += llvm::isAlnum(c) ? c : '_';
  return out;
}

std::string libraryNameProblem(const std::string &name) {
  std::string prefix = libraryPrefix(name), lower = llvm::StringRef(prefix).lower();
  if (name.empty() || !llvm::isAlpha(name[0]))
    return "must start with a letter";
  if (prefix.find("__") != std::string::npos)
    return "must not make '__' in a C identifier (reserved)";
  // The library's own symbols (kiln's runtime, Halide's runtime, kernels kN_...) stay
  // local; an API prefix must not look like them.
  if (llvm::StringRef(lower).starts_with("kiln") || llvm::StringRef(lower).starts_with("halide"))
    return "must not start with 'kiln' or 'halide' (the library's own runtimes)";
  size_t digits = 1;
  while (digits < lower.size() && llvm::isDigit(lower[digits]))
    ++digits;
  if (lower[0] == 'k' && digits > 1 && digits < lower.size() && lower[digits] == '_')
    return "must not look like a kernel's name (k<number>_)";
  return "";
}

std::vector<std::string> libraryExports(const std::string &prefix, bool freestanding) {
  std::vector<std::string> names;
  for (const char *function : {"open", "open_memory", "run", "input", "output",
                               "set_parallel_for", "verify_weights", "close", "last_error",
                               "status_string"}) {
    // Bare metal: no files to open and no threads to hand loops to.
    if (freestanding && (std::string(function) == "open" || std::string(function) == "set_parallel_for"))
      continue;
    names.push_back(prefix + "_" + function);
  }
  return names;
}

std::string emitLibraryHeader(const ProgramTables &tables, const LibraryFacts &facts) {
  const std::string &p = facts.prefix, &f = facts.fileName;
  std::string upper = llvm::StringRef(p).upper();
  // The fingerprint keeps two headers apart whose names map to one identifier ("Net", "NET").
  std::string guard = upper + "_" + llvm::StringRef(tables.fingerprint).upper() + "_H_";
  bool bare = facts.freestanding;
  std::ostringstream h;
  h << "/* " << p << ".h - the C interface of model '" << commentText(tables.modelName)
    << "', compiled by kiln from " << commentText(tables.sourceName) << " for target "
    << facts.targetName << ".\n"
    << " * Generated by `kiln compile --emit " << facts.kindName << "`; do not edit.\n *\n"
    << " * Link lib" << f << (facts.kindName == "shared-lib" ? ".so" : ".a")
    << " (pkg-config: " << f << ".pc)"
    << (facts.embeddedWeights ? "; the weights are linked in (read-only data in section\n"
                                " * .rodata.kiln_weights)."
                              : " and keep the weights file " + f + ".gguf, which\n * " + p +
                                    "_open maps read-only.")
    << " Every symbol the library defines starts with " << p
    << "_;\n * libraries of other models link into the same program.\n *\n"
    << " *   " << p << "_model *m;\n";
  if (bare)
    h << " *   static uint8_t arena[" << upper << "_ARENA_BYTES] __attribute__((aligned("
      << upper << "_ARENA_ALIGNMENT)));\n"
      << " *   if (" << p << "_open_memory("
      << (facts.embeddedWeights ? "NULL, 0" : "weights, " + upper + "_WEIGHTS_BYTES")
      << ", arena, sizeof arena, 1, &m) != " << upper << "_OK)\n"
      << " *     report(" << p << "_last_error());\n";
  else
    h << " *   if (" << p << "_open("
      << (facts.embeddedWeights ? std::string("NULL") : "\"" + f + ".gguf\"") << ", 0, &m) != "
      << upper << "_OK)\n"
      << " *     fprintf(stderr, \"%s\\n\", " << p << "_last_error());\n";
  h
    << " *   " << p << "_run(m, inputs, outputs);   (arrays of " << upper
    << "_NUM_INPUTS / _NUM_OUTPUTS pointers)\n"
    << " *   " << p << "_close(m);\n */\n"
    << "#ifndef " << guard << "\n#define " << guard << "\n\n"
    << "#include <stddef.h>\n#include <stdint.h>\n\n"
    << "#ifdef __cplusplus\nextern \"C\" {\n#endif\n\n"
    << "/* The model. */\n"
    << "#define " << upper << "_FINGERPRINT " << cString(tables.fingerprint)
    << "  /* kiln.fingerprint of the weights file */\n"
    << "#define " << upper << "_ARENA_BYTES " << tables.arenaSize
    << (bare ? "u  /* tensors, the kernels' scratch and the model's state: the caller's, all of "
               "it */\n"
             : "u  /* activations, inputs and outputs: one block, allocated by _open */\n");
  if (bare)
    h << "#define " << upper << "_ARENA_SCRATCH_BYTES " << tables.freestanding->largestScratch
      << "u  /* the largest kernel's scratch (placed where no tensor is live) */\n"
      << "#define " << upper << "_FREESTANDING 1  /* no heap, no threads, no files */\n";
  h
    << "#define " << upper << "_ARENA_ALIGNMENT " << facts.arenaAlignment << "u\n"
    << "#define " << upper << "_WEIGHTS_ALIGNMENT 64u  /* of weights given in memory */\n"
    << "#define " << upper << "_WEIGHTS_BYTES " << facts.weightsFileBytes
    << "u  /* the size of the weights file */\n"
    << "#define " << upper << "_WEIGHTS_EMBEDDED " << (facts.embeddedWeights ? 1 : 0)
    << "  /* 1: linked in (kiln compile --weights embed) */\n"
    << "#define " << upper << "_NUM_INPUTS " << tables.inputs.size() << "\n"
    << "#define " << upper << "_NUM_OUTPUTS " << tables.outputs.size() << "\n\n"
    << "/* Element types of inputs and outputs. */\n";
  for (int d = 0; d < 12; ++d)
    h << "#define " << upper << "_DTYPE_" << dtypeName(d) << " " << d << "\n";
  h << "\n/* Inputs and outputs, by index: name, dtype, rank, dims (outermost first; a scalar\n"
       " * has rank 0), bytes; and the index by name where the name makes a unique macro. */\n";
  describeTensors(h, upper, "INPUT", tables.inputs);
  describeTensors(h, upper, "OUTPUT", tables.outputs);
  h << "\n/* Status codes: " << upper << "_OK, or what went wrong (" << p
    << "_last_error() says more). */\n"
    << "typedef enum " << p << "_status {\n"
    << "  " << upper << "_OK = 0,\n"
    << "  " << upper << "_ERROR_IO = 1,        /* a file could not be opened, mapped or read */\n"
    << "  " << upper << "_ERROR_FORMAT = 2,    /* the weights file is malformed */\n"
    << "  " << upper << "_ERROR_MISMATCH = 3,  /* the weights file belongs to another model */\n"
    << "  " << upper << "_ERROR_ARGUMENT = 4,  /* an invalid argument */\n"
    << "  " << upper << "_ERROR_KERNEL = 5,    /* a kernel failed */\n"
    << "  " << upper << "_ERROR_MEMORY = 6     /* an allocation or a thread failed */\n"
    << "} " << p << "_status;\n\n"
    << "/* An opened model: its mapped weights, its arena and its threads. Models share\n"
    << " * nothing; one model must not run on two threads at once. */\n"
    << "typedef struct " << p << "_model " << p << "_model;\n\n"
    ;
  if (!bare)
    h << "/* Maps the weights file (NULL: the embedded weights, when " << upper
      << "_WEIGHTS_EMBEDDED),\n * checks it belongs to this model, allocates the arena and "
      << "starts num_threads threads\n * (the caller's included; 0: one per CPU). */\n"
      << p << "_status " << p << "_open(const char *weights_path, int num_threads, " << p
      << "_model **out_model);\n\n"
      << "/* Like " << p << "_open with memory the caller owns, which must outlive the model:\n"
      << " * `weights` holds the whole weights file (" << upper << "_WEIGHTS_BYTES bytes; "
      << "NULL: the\n * embedded weights), `arena` at least " << upper << "_ARENA_BYTES bytes "
      << "(NULL: allocated),\n * aligned to " << upper << "_WEIGHTS_ALIGNMENT and " << upper
      << "_ARENA_ALIGNMENT. The weights are checked as\n * a file is and only read (flash is "
      << "fine). */\n";
  else
    h << "/* Opens the model in memory the caller owns, which must outlive it: `weights` holds\n"
      << " * the whole weights file (" << upper << "_WEIGHTS_BYTES bytes; NULL: the embedded "
      << "weights),\n * `arena` at least " << upper << "_ARENA_BYTES bytes; aligned to " << upper
      << "_WEIGHTS_ALIGNMENT and\n * " << upper << "_ARENA_ALIGNMENT. Checks the weights' size "
      << "and fingerprint and only reads them\n * (flash is fine); the model's state lives in "
      << "the arena. num_threads: 0 or 1. */\n";
  h << p << "_status " << p << "_open_memory(const void *weights, size_t weights_bytes, "
    << "void *arena,\n    size_t arena_bytes, int num_threads, " << p << "_model **out_model);\n\n"
    << "/* Copies inputs[i] (" << upper << "_INPUT_i_BYTES each) in, runs the model, copies\n"
    << " * the outputs to outputs[i]. A NULL array or entry skips that copy: write inputs\n"
    << " * in place with " << p << "_input and read outputs with " << p
    << (bare ? "_output instead.\n * It never allocates. */\n"
             : "_output instead.\n * After the first run (which sizes the kernels' scratch) it "
               "does not allocate. */\n")
    << p << "_status " << p << "_run(" << p << "_model *model, const void *const *inputs, "
    << "void *const *outputs);\n\n";
  if (!bare)
    h << "/* A parallel loop on the caller's threads: calls task(task_data, i) once for every i\n"
    << " * in [0, count), in any order, on any threads; returns when all have returned: 0, or\n"
    << " * the non-zero result of a failing task. */\n"
    << "typedef int (*" << p << "_parallel_for_fn)(void *user, int32_t count,\n"
    << "    int (*task)(void *task_data, int32_t index), void *task_data);\n\n"
    << "/* Runs the model's parallel loops with `parallel_for` (an application's thread pool,\n"
    << " * an RTOS's workers) instead of its own threads (open it with num_threads 1 then);\n"
    << " * NULL goes back to them. Not while the model runs. */\n"
    << p << "_status " << p << "_set_parallel_for(" << p << "_model *model, " << p
    << "_parallel_for_fn parallel_for,\n    void *user);\n\n";
  h << "/* Where input `index` lives in the arena (it keeps what was written across runs), and where\n"
    << " * output `index` is after a run; NULL for an index out of range. */\n"
    << "void *" << p << "_input(" << p << "_model *model, int index);\n"
    << "const void *" << p << "_output(const " << p << "_model *model, int index);\n\n"
    << "/* Reads every weight and checks it against " << upper << "_FINGERPRINT (a damaged\n"
    << " * file); a request, since it reads the whole file. */\n"
    << p << "_status " << p << "_verify_weights(const " << p << "_model *model);\n\n"
    << (bare ? "/* Closes the model (the caller's memory is free for other use). NULL is "
               "allowed. */\n"
             : "/* Unmaps the weights, frees the arena, stops the threads. NULL is allowed. */\n")
    << "void " << p << "_close(" << p << "_model *model);\n\n"
    << "/* The last failure on the calling thread, naming the file, tensor or step (\"\" if\n"
    << " * none); and a status code's name. */\n"
    << "const char *" << p << "_last_error(void);\n"
    << "const char *" << p << "_status_string(" << p << "_status status);\n\n"
    << "#ifdef __cplusplus\n}\n#endif\n\n#endif /* " << guard << " */\n";
  return h.str();
}

std::string emitLibrarySource(const ProgramTables &tables, const LibraryFacts &facts) {
  const std::string &p = facts.prefix;
  std::string upper = llvm::StringRef(p).upper();
  bool bare = facts.freestanding;
  // The runtime's model behind the handle: a wrapper with its own context (hosted), or the
  // runtime's model itself (freestanding: it lives in the caller's arena).
  std::string inner = bare ? "((kiln_model_t *)model)" : "model->model";
  std::ostringstream c;
  c << "/* " << p << "_api.c - the library interface of model '" << commentText(tables.modelName)
    << "' over kiln's " << (bare ? "freestanding " : "") << "runtime (generated by kiln "
    << "compile; do not edit). */\n"
    << (bare ? "" : "#include <stdlib.h>\n") << "#include <string.h>\n\n"
    << "#include \"kiln/runtime.h\"\n#include \"" << facts.fileName << ".h\"\n\n"
    << "extern const kiln_program_t kiln_program;\n\n"
    << "_Static_assert((int)" << upper << "_ERROR_MEMORY == (int)KILN_ERROR_MEMORY &&\n"
    << "               (int)" << upper << "_ERROR_IO == (int)KILN_ERROR_IO,\n"
    << "               \"status codes follow kiln_status_t\");\n\n";
  // Argument errors leave a message for _last_error too, like the runtime's own.
  if (bare)
    c << "void kiln_set_error_text(const char *message);\n\n"
      << "static " << p << "_status argument_error(const char *message) {\n"
      << "  kiln_set_error_text(message);\n  return " << upper << "_ERROR_ARGUMENT;\n}\n\n";
  else
    c << "kiln_status_t kiln_set_error(kiln_status_t status, const char *format, ...);\n\n"
      << "static " << p << "_status argument_error(const char *message) {\n"
      << "  return (" << p << "_status)kiln_set_error(KILN_ERROR_ARGUMENT, \"%s\", message);\n}\n\n";
  if (bare) {
    c << p << "_status " << p << "_open_memory(const void *weights, size_t weights_bytes, "
      << "void *arena,\n    size_t arena_bytes, int num_threads, " << p << "_model **out_model) {\n"
      << "  if (out_model == NULL || num_threads < 0 || num_threads > 1) {\n"
      << "    if (out_model != NULL) *out_model = NULL;\n"
      << "    return argument_error(\"" << p << "_open_memory: out_model is NULL or "
      << "num_threads is not 0 or 1\");\n  }\n"
      << "  kiln_model_t *model = NULL;\n"
      << "  kiln_status_t status = kiln_model_open_memory_in(NULL, &kiln_program, NULL, weights,\n"
      << "      weights_bytes, arena, arena_bytes, &model);\n"
      << "  *out_model = (" << p << "_model *)model;\n"
      << "  return (" << p << "_status)status;\n}\n\n";
  } else {
    c << "struct " << p << "_model {\n  kiln_context_t *context;\n  kiln_model_t *model;\n};\n\n"
      << "/* Both ways of opening: a context of the model's own, then the weights from a file\n"
      << " * or from memory (NULL for either: the embedded weights). */\n"
      << "static " << p << "_status " << p << "_open_common(const char *weights_path, const void *weights,\n"
      << "    size_t weights_bytes, void *arena, size_t arena_bytes, int num_threads,\n"
      << "    " << p << "_model **out_model, int from_memory) {\n"
      << "  if (out_model == NULL || num_threads < 0) {\n"
      << "    if (out_model != NULL) *out_model = NULL;\n"
      << "    return argument_error(\"" << p << "_open: out_model is NULL or num_threads "
      << "is negative\");\n  }\n"
      << "  *out_model = NULL;\n"
      << "  struct " << p << "_model *m = (struct " << p << "_model *)calloc(1, sizeof *m);\n"
      << "  if (m == NULL) return " << upper << "_ERROR_MEMORY;\n"
      << "  kiln_status_t status = kiln_context_create(num_threads, &m->context);\n"
      << "  if (status == KILN_OK && from_memory)\n"
      << "    status = kiln_model_open_memory_in(m->context, &kiln_program, NULL, weights,\n"
      << "                                       weights_bytes, arena, arena_bytes, &m->model);\n"
      << "  else if (status == KILN_OK)\n"
      << "    status = kiln_model_open_in(m->context, &kiln_program, weights_path, &m->model);\n"
      << "  if (status != KILN_OK) {\n    " << p << "_close(m);\n    return (" << p
      << "_status)status;\n  }\n"
      << "  *out_model = m;\n  return " << upper << "_OK;\n}\n\n"
      << p << "_status " << p << "_open(const char *weights_path, int num_threads, " << p
      << "_model **out_model) {\n"
      << "  return " << p << "_open_common(weights_path, NULL, 0, NULL, 0, num_threads, out_model, 0);\n}\n\n"
      << p << "_status " << p << "_open_memory(const void *weights, size_t weights_bytes, "
      << "void *arena,\n    size_t arena_bytes, int num_threads, " << p << "_model **out_model) {\n"
      << "  return " << p << "_open_common(NULL, weights, weights_bytes, arena, arena_bytes, num_threads, "
      << "out_model, 1);\n}\n\n"
      << p << "_status " << p << "_set_parallel_for(" << p << "_model *model, " << p
      << "_parallel_for_fn parallel_for,\n    void *user) {\n"
      << "  if (model == NULL) return argument_error(\"" << p
      << "_set_parallel_for: model is NULL\");\n"
      << "  return (" << p << "_status)kiln_context_set_parallel_for(model->context, "
      << "parallel_for, user);\n}\n\n";
  }
  c << p << "_status " << p << "_run(" << p
    << "_model *model, const void *const *inputs, void *const *outputs) {\n"
    << "  if (model == NULL) return argument_error(\"" << p << "_run: model is NULL\");\n"
    << "  for (int32_t i = 0; inputs != NULL && i < kiln_program.num_inputs; i++)\n"
    << "    if (inputs[i] != NULL && inputs[i] != kiln_model_input_data(" << inner << ", i))\n"
    << "      memcpy(kiln_model_input_data(" << inner << ", i), inputs[i],\n"
    << "             kiln_program.inputs[i].byte_size);\n"
    << "  kiln_status_t status = kiln_model_run(" << inner << ");\n"
    << "  if (status != KILN_OK) return (" << p << "_status)status;\n"
    << "  for (int32_t i = 0; outputs != NULL && i < kiln_program.num_outputs; i++)\n"
    << "    if (outputs[i] != NULL)\n"
    << "      memcpy(outputs[i], kiln_model_output_data(" << inner << ", i),\n"
    << "             kiln_program.outputs[i].byte_size);\n"
    << "  return " << upper << "_OK;\n}\n\n"
    << "void *" << p << "_input(" << p << "_model *model, int index) {\n"
    << "  return model == NULL ? NULL : kiln_model_input_data(" << inner << ", index);\n}\n\n"
    << "const void *" << p << "_output(const " << p << "_model *model, int index) {\n"
    << "  return model == NULL ? NULL : kiln_model_output_data("
    << (bare ? "(const kiln_model_t *)model" : inner) << ", index);\n}\n\n"
    << p << "_status " << p << "_verify_weights(const " << p << "_model *model) {\n"
    << "  if (model == NULL) return argument_error(\"" << p << "_verify_weights: model is NULL\");\n"
    << "  return (" << p << "_status)kiln_model_verify_weights("
    << (bare ? "(const kiln_model_t *)model" : inner) << ");\n}\n\n"
    << "void " << p << "_close(" << p << "_model *model) {\n"
    << "  if (model == NULL) return;\n"
    << "  kiln_model_close(" << inner << ");\n"
    << (bare ? "" : "  kiln_context_destroy(model->context);\n  free(model);\n") << "}\n\n"
    << "const char *" << p << "_last_error(void) { return kiln_last_error(); }\n\n"
    << "const char *" << p << "_status_string(" << p << "_status status) {\n"
    << "  switch (status) {\n";
  for (const char *name : {"OK", "ERROR_IO", "ERROR_FORMAT", "ERROR_MISMATCH", "ERROR_ARGUMENT",
                           "ERROR_KERNEL", "ERROR_MEMORY"})
    c << "  case " << upper << "_" << name << ": return \"" << upper << "_" << name << "\";\n";
  c << "  }\n  return \"unknown status\";\n}\n";
  return c.str();
}

} // namespace kiln
