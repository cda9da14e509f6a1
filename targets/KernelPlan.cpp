//===- KernelPlan.cpp - plans to and from JSON ----------------------------===//
//
// The plan file is {"format": "kiln-plans", "version": 1, "plans": [...]}, one object per
// kernel, sorted by key so that files diff well. Reading is strict: an unknown field, a
// wrong type or a missing key is an error naming the plan and the field, because a typo
// in a hand-edited plan would otherwise silently fall back to the heuristic.
//
//===----------------------------------------------------------------------===//
#include "targets/KernelPlan.h"

#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/raw_ostream.h"

#include <set>

namespace kiln {

bool StagePlan::operator==(const StagePlan &o) const {
  return kind == o.kind && schedule == o.schedule && vectorLanes == o.vectorLanes &&
         columns == o.columns && rows == o.rows && rowDim == o.rowDim &&
         parallel == o.parallel && threadsX == o.threadsX && threadsY == o.threadsY;
}

bool KernelPlan::operator==(const KernelPlan &o) const {
  return backend == o.backend && kernel == o.kernel && key == o.key &&
         vectorLanes == o.vectorLanes && parallel == o.parallel && stages == o.stages &&
         outputs == o.outputs && outputThreadsX == o.outputThreadsX &&
         outputThreadsY == o.outputThreadsY;
}

namespace {

llvm::json::Object stageToJson(const StagePlan &s) {
  llvm::json::Object o{{"kind", s.kind}, {"schedule", s.schedule}};
  // Only the knobs a template uses are written: zero means "not used".
  if (s.vectorLanes) o["vector_lanes"] = s.vectorLanes;
  if (s.columns) o["columns"] = s.columns;
  if (s.rows) o["rows"] = s.rows;
  if (s.rowDim >= 0) o["row_dim"] = s.rowDim;
  o["parallel"] = s.parallel;
  if (s.threadsX) o["threads_x"] = s.threadsX;
  if (s.threadsY) o["threads_y"] = s.threadsY;
  return o;
}

llvm::json::Object planToJson(const KernelPlan &p) {
  llvm::json::Array stages;
  for (const StagePlan &s : p.stages)
    stages.push_back(stageToJson(s));
  llvm::json::Object o{{"key", p.key},         {"kernel", p.kernel},
                       {"backend", p.backend}, {"vector_lanes", p.vectorLanes},
                       {"parallel", p.parallel}, {"outputs", p.outputs},
                       {"stages", std::move(stages)}};
  if (p.outputThreadsX) o["output_threads_x"] = p.outputThreadsX;
  if (p.outputThreadsY) o["output_threads_y"] = p.outputThreadsY;
  return o;
}

/// Reads the fields of one JSON object into C++ values, remembering the first error.
class FieldReader {
public:
  FieldReader(const llvm::json::Object &object, std::string where, std::string &error)
      : object(object), where(std::move(where)), error(error) {}

  void integer(const char *name, int64_t &out, bool required = false) {
    seen.insert(name);
    const llvm::json::Value *v = object.get(name);
    if (!v) {
      if (required) fail(std::string("missing field '") + name + "'");
      return;
    }
    if (auto i = v->getAsInteger()) {
      if (*i < -1 || *i > (int64_t(1) << 20))
        fail(std::string("field '") + name + "' is out of range");
      out = *i;
    } else {
      fail(std::string("field '") + name + "' must be an integer");
    }
  }
  void boolean(const char *name, bool &out) {
    seen.insert(name);
    if (const llvm::json::Value *v = object.get(name)) {
      if (auto b = v->getAsBoolean()) out = *b;
      else fail(std::string("field '") + name + "' must be true or false");
    }
  }
  void string(const char *name, std::string &out, bool required = true) {
    seen.insert(name);
    const llvm::json::Value *v = object.get(name);
    if (!v) {
      if (required) fail(std::string("missing field '") + name + "'");
      return;
    }
    if (auto s = v->getAsString()) out = s->str();
    else fail(std::string("field '") + name + "' must be a string");
  }
  const llvm::json::Array *array(const char *name) {
    seen.insert(name);
    const llvm::json::Array *a = object.getArray(name);
    if (!a) fail(std::string("field '") + name + "' must be an array");
    return a;
  }
  /// Fails on fields nobody asked for (a misspelt knob).
  void finish() {
    for (const auto &entry : object)
      if (!seen.count(entry.first.str())) {
        fail("unknown field '" + entry.first.str() + "'");
        return;
      }
  }
  void fail(const std::string &message) {
    if (error.empty()) error = where + ": " + message;
  }

private:
  const llvm::json::Object &object;
  std::string where;
  std::string &error;
  std::set<std::string> seen;
};

} // namespace

std::string planJson(const KernelPlan &plan) {
  std::string text;
  llvm::raw_string_ostream os(text);
  os << llvm::json::Value(planToJson(plan));
  return text;
}

std::string PlanFile::toJson() const {
  llvm::json::Array array;
  for (const auto &entry : plans)  // std::map: sorted by key
    array.push_back(planToJson(entry.second));
  llvm::json::Value root(llvm::json::Object{
      {"format", "kiln-plans"}, {"version", 1}, {"plans", std::move(array)}});
  std::string text;
  llvm::raw_string_ostream os(text);
  os << llvm::formatv("{0:2}", root) << "\n";
  return text;
}

std::optional<PlanFile> PlanFile::fromJson(const std::string &text, std::string &error) {
  llvm::Expected<llvm::json::Value> parsed = llvm::json::parse(text);
  if (!parsed) {
    error = "not JSON: " + llvm::toString(parsed.takeError());
    return std::nullopt;
  }
  const llvm::json::Object *root = parsed->getAsObject();
  if (!root) {
    error = "the top level must be an object";
    return std::nullopt;
  }
  FieldReader top(*root, "plan file", error);
  std::string format;
  int64_t version = 0;
  top.string("format", format);
  top.integer("version", version, true);
  const llvm::json::Array *list = top.array("plans");
  top.finish();
  if (error.empty() && format != "kiln-plans")
    error = "plan file: format is '" + format + "', expected 'kiln-plans'";
  if (error.empty() && version != 1)
    error = "plan file: version " + std::to_string(version) + " is not supported (1 is)";
  if (!error.empty())
    return std::nullopt;
  PlanFile file;
  for (size_t i = 0; i < list->size(); ++i) {
    const llvm::json::Object *object = (*list)[i].getAsObject();
    std::string where = "plan " + std::to_string(i);
    if (!object) {
      error = where + ": must be an object";
      return std::nullopt;
    }
    KernelPlan plan;
    if (auto key = object->getString("key"))
      where = "plan " + key->str();
    FieldReader r(*object, where, error);
    r.string("key", plan.key);
    r.string("kernel", plan.kernel, false);
    r.string("backend", plan.backend);
    r.integer("vector_lanes", plan.vectorLanes);
    r.boolean("parallel", plan.parallel);
    r.string("outputs", plan.outputs);
    r.integer("output_threads_x", plan.outputThreadsX);
    r.integer("output_threads_y", plan.outputThreadsY);
    const llvm::json::Array *stages = r.array("stages");
    r.finish();
    for (size_t s = 0; error.empty() && stages && s < stages->size(); ++s) {
      std::string stageWhere = where + ", stage " + std::to_string(s);
      const llvm::json::Object *so = (*stages)[s].getAsObject();
      if (!so) {
        error = stageWhere + ": must be an object";
        break;
      }
      StagePlan stage;
      FieldReader sr(*so, stageWhere, error);
      sr.string("kind", stage.kind);
      sr.string("schedule", stage.schedule);
      sr.integer("vector_lanes", stage.vectorLanes);
      sr.integer("columns", stage.columns);
      sr.integer("rows", stage.rows);
      sr.integer("row_dim", stage.rowDim);
      sr.boolean("parallel", stage.parallel);
      sr.integer("threads_x", stage.threadsX);
      sr.integer("threads_y", stage.threadsY);
      sr.finish();
      plan.stages.push_back(stage);
    }
    if (!error.empty())
      return std::nullopt;
    file.add(plan);
  }
  return file;
}

std::optional<PlanFile> PlanFile::read(const std::string &path, std::string &error) {
  auto buffer = llvm::MemoryBuffer::getFile(path, /*IsText=*/true);
  if (!buffer) {
    error = "cannot read " + path + ": " + buffer.getError().message();
    return std::nullopt;
  }
  // Plans are small; a multi-megabyte file is not one (and would only cost memory).
  if ((*buffer)->getBufferSize() > (64u << 20)) {
    error = path + ": larger than 64 MB, not a plan file";
    return std::nullopt;
  }
  auto file = fromJson((*buffer)->getBuffer().str(), error);
  if (!file)
    error = path + ": " + error;
  return file;
}

bool PlanFile::write(const std::string &path, std::string &error) const {
  std::error_code ec;
  llvm::raw_fd_ostream out(path, ec);
  if (ec) {
    error = "cannot write " + path + ": " + ec.message();
    return false;
  }
  out << toJson();
  out.close();
  if (out.has_error()) {
    error = "cannot write " + path + ": " + out.error().message();
    out.clear_error();
    return false;
  }
  return true;
}

const KernelPlan *PlanFile::find(const std::string &key) const {
  auto it = plans.find(key);
  return it == plans.end() ? nullptr : &it->second;
}

KernelPlan withKnob(const KernelPlan &plan, const PlanKnob &knob, size_t index) {
  KernelPlan result = plan;
  const std::string &value = knob.values.at(index);
  int64_t number = 0;
  llvm::StringRef(value).getAsInteger(10, number);
  if (knob.stage < 0) {
    if (knob.field == "vector_lanes")
      result.vectorLanes = number;
    else if (knob.field == "parallel")
      result.parallel = number != 0;
    return result;
  }
  StagePlan &s = result.stages.at(size_t(knob.stage));
  if (knob.field == "schedule") {
    if (value != s.schedule && value == "register_tiles") {
      s.rowDim = s.rowDim >= 0 ? s.rowDim : 2;
      s.columns = s.vectorLanes;
      s.rows = 8;
    } else if (value != s.schedule && value == "across_channels") {
      s.rowDim = -1;
      s.columns = 2 * s.vectorLanes;
      s.rows = 0;
    }
    s.schedule = value;
  } else if (knob.field == "vector_lanes") {
    // Register tiles are counted in vectors: keep their vector count.
    if (s.vectorLanes > 0 && s.columns > 0 && s.schedule != "integer_dot" &&
        s.schedule != "integer_dot_at_output")
      s.columns = s.columns / s.vectorLanes * number;
    s.vectorLanes = number;
  } else if (knob.field == "columns") {
    s.columns = number;
  } else if (knob.field == "rows") {
    s.rows = number;
  } else if (knob.field == "parallel") {
    s.parallel = number != 0;
  }
  return result;
}

} // namespace kiln
