//===- TuningDb.cpp - the tuning database (SQLite) and its JSON export ----===//
#include "compiler/tune/TuningDb.h"

#include "llvm/Support/JSON.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>
#include <ctime>
#include <sqlite3.h>
#include <tuple>

namespace kiln {
namespace {

constexpr const char *kFormat = "kiln-tuning";
constexpr int kSchemaVersion = 1;

const char *kSchema = R"sql(
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS measurements (
  id INTEGER PRIMARY KEY,
  kernel_key TEXT NOT NULL,
  target TEXT NOT NULL,
  chip TEXT NOT NULL,
  threads INTEGER NOT NULL,
  halide_version TEXT NOT NULL,
  kiln_codegen INTEGER NOT NULL,
  plan_hash TEXT NOT NULL,
  plan TEXT NOT NULL,
  kernel_name TEXT NOT NULL,
  chip_family TEXT NOT NULL,
  chip_name TEXT NOT NULL,
  heuristic INTEGER NOT NULL,
  status TEXT NOT NULL,
  median_ms REAL,
  min_ms REAL,
  runs INTEGER,
  seconds REAL NOT NULL,
  message TEXT NOT NULL,
  recorded_at TEXT NOT NULL,
  UNIQUE (kernel_key, target, chip, threads, halide_version, kiln_codegen, plan_hash));
CREATE TABLE IF NOT EXISTS confirmations (
  kernel_key TEXT NOT NULL,
  target TEXT NOT NULL,
  chip TEXT NOT NULL,
  threads INTEGER NOT NULL,
  halide_version TEXT NOT NULL,
  kiln_codegen INTEGER NOT NULL,
  plan_hash TEXT NOT NULL,
  heuristic_ms REAL NOT NULL,
  plan_ms REAL NOT NULL,
  rounds INTEGER NOT NULL,
  recorded_at TEXT NOT NULL,
  UNIQUE (kernel_key, target, chip, threads, halide_version, kiln_codegen, plan_hash));
CREATE TABLE IF NOT EXISTS sessions (
  session TEXT PRIMARY KEY,
  model TEXT NOT NULL,
  created_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS session_kernels (
  session TEXT NOT NULL,
  kernel_key TEXT NOT NULL,
  kernel_name TEXT NOT NULL,
  share REAL NOT NULL,
  spent_seconds REAL NOT NULL,
  PRIMARY KEY (session, kernel_key));
)sql";

/// Rows of one measurement scope (bindScope fills ?1-?6).
const std::string kScopeMatch =
    " WHERE kernel_key = ?1 AND target = ?2 AND chip = ?3 AND threads = ?4 AND "
    "halide_version = ?5 AND kiln_codegen = ?6";

const char *kColumns =
    "kernel_key, target, chip, threads, halide_version, kiln_codegen, plan_hash, plan, "
    "kernel_name, chip_family, chip_name, heuristic, status, median_ms, min_ms, runs, "
    "seconds, message, recorded_at";

std::string nowUtc() {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return text;
}

/// A prepared statement, finalized on scope exit.
struct Statement {
  sqlite3_stmt *stmt = nullptr;
  Statement(sqlite3 *db, const std::string &sql) {
    sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr);
  }
  ~Statement() { sqlite3_finalize(stmt); }
  explicit operator bool() const { return stmt != nullptr; }
  void text(int i, const std::string &value) {
    sqlite3_bind_text(stmt, i, value.c_str(), int(value.size()), SQLITE_TRANSIENT);
  }
  std::string column(int i) {
    const unsigned char *v = sqlite3_column_text(stmt, i);
    return v ? reinterpret_cast<const char *>(v) : "";
  }
};

void bindScope(Statement &s, const MeasurementScope &scope) {
  s.text(1, scope.kernelKey);
  s.text(2, scope.target);
  s.text(3, scope.chip);
  sqlite3_bind_int(s.stmt, 4, scope.threads);
  s.text(5, scope.halideVersion);
  sqlite3_bind_int(s.stmt, 6, scope.kilnCodegen);
}

Measurement readRow(Statement &s) {
  Measurement m;
  m.scope.kernelKey = s.column(0);
  m.scope.target = s.column(1);
  m.scope.chip = s.column(2);
  m.scope.threads = sqlite3_column_int(s.stmt, 3);
  m.scope.halideVersion = s.column(4);
  m.scope.kilnCodegen = sqlite3_column_int(s.stmt, 5);
  m.planHash = s.column(6);
  m.plan = s.column(7);
  m.kernelName = s.column(8);
  m.chipFamily = s.column(9);
  m.chipName = s.column(10);
  m.heuristic = sqlite3_column_int(s.stmt, 11) != 0;
  m.status = s.column(12);
  m.medianMs = sqlite3_column_double(s.stmt, 13);
  m.minMs = sqlite3_column_double(s.stmt, 14);
  m.runs = sqlite3_column_int64(s.stmt, 15);
  m.seconds = sqlite3_column_double(s.stmt, 16);
  m.message = s.column(17);
  m.recordedAt = s.column(18);
  return m;
}

/// Inserts `m` unless its measurement is already there; false on an SQLite error.
bool insertMeasurement(sqlite3 *db, const Measurement &m, const std::string &recordedAt) {
  Statement insert(db, std::string("INSERT OR IGNORE INTO measurements (") + kColumns +
                           ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, "
                           "?14, ?15, ?16, ?17, ?18, ?19)");
  if (!insert)
    return false;
  bindScope(insert, m.scope);
  insert.text(7, m.planHash);
  insert.text(8, m.plan);
  insert.text(9, m.kernelName);
  insert.text(10, m.chipFamily);
  insert.text(11, m.chipName);
  sqlite3_bind_int(insert.stmt, 12, m.heuristic ? 1 : 0);
  insert.text(13, m.status);
  if (m.status == "ok") {
    sqlite3_bind_double(insert.stmt, 14, m.medianMs);
    sqlite3_bind_double(insert.stmt, 15, m.minMs);
    sqlite3_bind_int64(insert.stmt, 16, m.runs);
  }
  sqlite3_bind_double(insert.stmt, 17, m.seconds);
  insert.text(18, m.message);
  insert.text(19, recordedAt);
  return sqlite3_step(insert.stmt) == SQLITE_DONE;
}

std::string scopeOrder(const MeasurementScope &s) {
  return s.target + "\n" + s.chip + "\n" + std::to_string(1000 + s.threads) + "\n" +
         s.kernelKey + "\n" + s.halideVersion + "\n" + std::to_string(s.kilnCodegen);
}

} // namespace

std::vector<TunedPlan> bestPlans(const std::vector<Measurement> &measurements,
                                 const std::vector<Confirmation> &confirmations) {
  std::map<std::string, TunedPlan> byScope;
  std::map<std::string, bool> hasBest;
  std::map<std::string, const Confirmation *> confirmedBest;  // scope -> best confirmation
  std::map<std::string, bool> anyConfirmation;
  for (const Confirmation &c : confirmations) {
    std::string key = scopeOrder(c.scope);
    anyConfirmation[key] = true;
    if (c.heuristicMs <= 0 || c.planMs > 0.98 * c.heuristicMs)
      continue;
    const Confirmation *&slot = confirmedBest[key];
    if (!slot || std::tie(c.planMs, c.planHash) < std::tie(slot->planMs, slot->planHash))
      slot = &c;  // (ratios of one scope share the heuristic: compare plan times)
  }
  for (const Measurement &m : measurements) {
    if (m.status != "ok")
      continue;
    std::string key = scopeOrder(m.scope);
    TunedPlan &entry = byScope[key];
    if (m.heuristic)
      entry.heuristicMs = m.medianMs;
    if (anyConfirmation[key]) {  // the confirmed plan, or none
      auto it = confirmedBest.find(key);
      if (it == confirmedBest.end() || it->second->planHash != m.planHash)
        continue;
      entry.best = m;
      entry.confirmedRatio = it->second->planMs / it->second->heuristicMs;
      hasBest[key] = true;
      continue;
    }
    // The lowest median; ties go to the smaller plan hash, so the choice does not depend
    // on the order rows were recorded in.
    if (!hasBest[key] || std::tie(m.medianMs, m.planHash) <
                             std::tie(entry.best.medianMs, entry.best.planHash)) {
      entry.best = m;
      hasBest[key] = true;
    }
  }
  std::vector<TunedPlan> plans;
  for (auto &[key, entry] : byScope) {
    if (!hasBest[key] || entry.best.heuristic)
      continue;  // nothing better than what kiln does already
    if (entry.confirmedRatio == 0 && entry.heuristicMs > 0 &&
        entry.best.medianMs > 0.98 * entry.heuristicMs)
      continue;  // within noise of the heuristic
    plans.push_back(entry);
  }
  return plans;
}

std::unique_ptr<TuningDb> TuningDb::open(const std::string &path, bool create,
                                         std::string &error) {
  std::unique_ptr<TuningDb> result(new TuningDb());
  result->path = path;
  int flags = create ? SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE : SQLITE_OPEN_READONLY;
  if (sqlite3_open_v2(path.c_str(), &result->db, flags, nullptr) != SQLITE_OK) {
    error = path + ": cannot open the tuning database: " +
            (result->db ? sqlite3_errmsg(result->db) : "out of memory");
    return nullptr;
  }
  sqlite3_busy_timeout(result->db, 30000);
  // A file that is not SQLite, or SQLite that is not ours, is refused before anything is
  // written to it.
  bool empty = false;
  {
    Statement tables(result->db, "SELECT count(*) FROM sqlite_master");
    if (!tables || sqlite3_step(tables.stmt) != SQLITE_ROW) {
      error = path + ": not a kiln tuning database (" + sqlite3_errmsg(result->db) + ")";
      return nullptr;
    }
    empty = sqlite3_column_int(tables.stmt, 0) == 0;
  }
  if (empty && !create) {
    error = path + ": not a kiln tuning database (no tables)";
    return nullptr;
  }
  if (empty) {
    if (!result->exec(kSchema, error))
      return nullptr;
    Statement meta(result->db, "INSERT INTO meta (key, value) VALUES ('format', ?1), "
                               "('schema_version', ?2)");
    if (meta) {
      meta.text(1, kFormat);
      meta.text(2, std::to_string(kSchemaVersion));
    }
    if (!meta || sqlite3_step(meta.stmt) != SQLITE_DONE) {
      error = path + ": cannot initialize the tuning database: " + sqlite3_errmsg(result->db);
      return nullptr;
    }
  }
  std::vector<std::string> values;
  {
    Statement format(result->db, "SELECT value FROM meta WHERE key = 'format' UNION ALL "
                                 "SELECT value FROM meta WHERE key = 'schema_version'");
    while (format && sqlite3_step(format.stmt) == SQLITE_ROW)
      values.push_back(format.column(0));
  }
  if (values.size() != 2 || values[0] != kFormat) {
    error = path + ": not a kiln tuning database (no kiln-tuning format record)";
    return nullptr;
  }
  if (values[1] != std::to_string(kSchemaVersion)) {
    error = path + ": tuning database schema version " + values[1] + "; this kiln reads " +
            std::to_string(kSchemaVersion);
    return nullptr;
  }
  if (create && !result->exec("PRAGMA journal_mode=WAL", error))
    return nullptr;
  return result;
}

TuningDb::~TuningDb() { sqlite3_close(db); }

bool TuningDb::exec(const char *sql, std::string &error) {
  char *message = nullptr;
  if (sqlite3_exec(db, sql, nullptr, nullptr, &message) == SQLITE_OK)
    return true;
  error = path + ": " + (message ? message : sqlite3_errmsg(db));
  sqlite3_free(message);
  return false;
}

std::optional<Measurement> TuningDb::find(const MeasurementScope &scope,
                                          const std::string &planHash) {
  Statement s(db, std::string("SELECT ") + kColumns +
                      " FROM measurements" + kScopeMatch + " AND plan_hash = ?7");
  if (!s)
    return std::nullopt;
  bindScope(s, scope);
  s.text(7, planHash);
  if (sqlite3_step(s.stmt) != SQLITE_ROW)
    return std::nullopt;
  return readRow(s);
}

std::vector<Measurement> TuningDb::inScope(const MeasurementScope &scope) {
  std::vector<Measurement> rows;
  Statement s(db, std::string("SELECT ") + kColumns +
                      " FROM measurements" + kScopeMatch + " ORDER BY id");
  if (!s)
    return rows;
  bindScope(s, scope);
  while (sqlite3_step(s.stmt) == SQLITE_ROW)
    rows.push_back(readRow(s));
  return rows;
}

std::vector<Measurement> TuningDb::all(std::string &error) {
  std::vector<Measurement> rows;
  Statement s(db, std::string("SELECT ") + kColumns + " FROM measurements ORDER BY id");
  if (!s) {
    error = path + ": " + sqlite3_errmsg(db);
    return rows;
  }
  int rc;
  while ((rc = sqlite3_step(s.stmt)) == SQLITE_ROW)
    rows.push_back(readRow(s));
  if (rc != SQLITE_DONE)
    error = path + ": " + sqlite3_errmsg(db);
  return rows;
}

bool TuningDb::record(const Measurement &m, const std::string &session, std::string &error) {
  if (!exec("BEGIN IMMEDIATE", error))
    return false;
  bool ok = insertMeasurement(db, m, m.recordedAt.empty() ? nowUtc() : m.recordedAt);
  if (ok && !session.empty()) {
    Statement spent(db, "UPDATE session_kernels SET spent_seconds = spent_seconds + ?1 "
                        "WHERE session = ?2 AND kernel_key = ?3");
    ok = bool(spent);
    if (ok) {
      sqlite3_bind_double(spent.stmt, 1, m.seconds);
      spent.text(2, session);
      spent.text(3, m.scope.kernelKey);
      ok = sqlite3_step(spent.stmt) == SQLITE_DONE;
    }
  }
  if (!ok) {
    error = path + ": cannot record a measurement: " + sqlite3_errmsg(db);
    std::string ignored;
    exec("ROLLBACK", ignored);
    return false;
  }
  return exec("COMMIT", error);
}

std::vector<TuningDb::SessionKernel> TuningDb::sessionKernels(const std::string &session,
                                                             std::string &error) {
  std::vector<SessionKernel> kernels;
  Statement s(db, "SELECT kernel_key, kernel_name, share, spent_seconds FROM session_kernels "
                  "WHERE session = ?1 ORDER BY share DESC, kernel_key");
  if (!s) {
    error = path + ": " + sqlite3_errmsg(db);
    return kernels;
  }
  s.text(1, session);
  while (sqlite3_step(s.stmt) == SQLITE_ROW)
    kernels.push_back({s.column(0), s.column(1), sqlite3_column_double(s.stmt, 2),
                       sqlite3_column_double(s.stmt, 3)});
  return kernels;
}

bool TuningDb::createSession(const std::string &session, const std::string &model,
                             const std::vector<SessionKernel> &kernels, std::string &error) {
  if (!exec("BEGIN IMMEDIATE", error))
    return false;
  Statement add(db, "INSERT OR IGNORE INTO sessions (session, model, created_at) "
                    "VALUES (?1, ?2, ?3)");
  bool ok = bool(add);
  if (ok) {
    add.text(1, session);
    add.text(2, model);
    add.text(3, nowUtc());
    ok = sqlite3_step(add.stmt) == SQLITE_DONE;
  }
  for (const SessionKernel &k : kernels) {
    Statement row(db, "INSERT OR IGNORE INTO session_kernels (session, kernel_key, "
                      "kernel_name, share, spent_seconds) VALUES (?1, ?2, ?3, ?4, 0)");
    ok = ok && bool(row);
    if (!ok)
      break;
    row.text(1, session);
    row.text(2, k.kernelKey);
    row.text(3, k.kernelName);
    sqlite3_bind_double(row.stmt, 4, k.share);
    ok = sqlite3_step(row.stmt) == SQLITE_DONE;
  }
  if (!ok) {
    error = path + ": cannot record the tuning session: " + sqlite3_errmsg(db);
    std::string ignored;
    exec("ROLLBACK", ignored);
    return false;
  }
  return exec("COMMIT", error);
}

namespace {

Confirmation readConfirmation(Statement &s) {
  Confirmation c;
  c.scope.kernelKey = s.column(0);
  c.scope.target = s.column(1);
  c.scope.chip = s.column(2);
  c.scope.threads = sqlite3_column_int(s.stmt, 3);
  c.scope.halideVersion = s.column(4);
  c.scope.kilnCodegen = sqlite3_column_int(s.stmt, 5);
  c.planHash = s.column(6);
  c.heuristicMs = sqlite3_column_double(s.stmt, 7);
  c.planMs = sqlite3_column_double(s.stmt, 8);
  c.rounds = sqlite3_column_int(s.stmt, 9);
  c.recordedAt = s.column(10);
  return c;
}

const char *kConfirmationColumns =
    "kernel_key, target, chip, threads, halide_version, kiln_codegen, plan_hash, "
    "heuristic_ms, plan_ms, rounds, recorded_at";

bool insertConfirmation(sqlite3 *db, const Confirmation &c) {
  Statement insert(db, std::string("INSERT OR IGNORE INTO confirmations (") +
                           kConfirmationColumns +
                           ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)");
  if (!insert)
    return false;
  bindScope(insert, c.scope);
  insert.text(7, c.planHash);
  sqlite3_bind_double(insert.stmt, 8, c.heuristicMs);
  sqlite3_bind_double(insert.stmt, 9, c.planMs);
  sqlite3_bind_int(insert.stmt, 10, c.rounds);
  insert.text(11, c.recordedAt.empty() ? nowUtc() : c.recordedAt);
  return sqlite3_step(insert.stmt) == SQLITE_DONE;
}

} // namespace

std::vector<Confirmation> TuningDb::confirmations(std::string &error) {
  std::vector<Confirmation> rows;
  Statement s(db, std::string("SELECT ") + kConfirmationColumns + " FROM confirmations");
  if (!s) {
    error = path + ": " + sqlite3_errmsg(db);
    return rows;
  }
  while (sqlite3_step(s.stmt) == SQLITE_ROW)
    rows.push_back(readConfirmation(s));
  return rows;
}

std::optional<Confirmation> TuningDb::findConfirmation(const MeasurementScope &scope,
                                                       const std::string &planHash) {
  Statement s(db, std::string("SELECT ") + kConfirmationColumns +
                      " FROM confirmations" + kScopeMatch + " AND plan_hash = ?7");
  if (!s)
    return std::nullopt;
  bindScope(s, scope);
  s.text(7, planHash);
  if (sqlite3_step(s.stmt) != SQLITE_ROW)
    return std::nullopt;
  return readConfirmation(s);
}

bool TuningDb::recordConfirmation(const Confirmation &c, std::string &error) {
  if (insertConfirmation(db, c))
    return true;
  error = path + ": cannot record a confirmation: " + sqlite3_errmsg(db);
  return false;
}

bool TuningDb::merge(const std::string &otherPath, int64_t &added, std::string &error) {
  auto other = TuningDb::open(otherPath, false, error);
  if (!other)
    return false;
  std::vector<Measurement> rows = other->all(error);
  if (!error.empty())
    return false;
  int before = sqlite3_total_changes(db);
  if (!exec("BEGIN IMMEDIATE", error))
    return false;
  std::vector<Confirmation> checks = other->confirmations(error);
  if (!error.empty())
    return false;
  for (const Measurement &m : rows)
    if (!insertMeasurement(db, m, m.recordedAt)) {
      error = path + ": cannot add a measurement: " + sqlite3_errmsg(db);
      std::string ignored;
      exec("ROLLBACK", ignored);
      return false;
    }
  added = sqlite3_total_changes(db) - before;
  for (const Confirmation &c : checks)
    if (!insertConfirmation(db, c)) {
      error = path + ": cannot add a confirmation: " + sqlite3_errmsg(db);
      std::string ignored;
      exec("ROLLBACK", ignored);
      return false;
    }
  return exec("COMMIT", error);
}

std::string tunedPlansJson(const std::vector<TunedPlan> &plans) {
  std::string text;
  llvm::raw_string_ostream os(text);
  os << "{\n  \"format\": \"" << kFormat << "\",\n  \"version\": " << kSchemaVersion
     << ",\n  \"plans\": [";
  bool first = true;
  auto quote = [](const std::string &text) {
    std::string out;
    llvm::raw_string_ostream os(out);
    os << llvm::json::Value(text);
    return out;
  };
  auto number = [](double value) {  // milliseconds to 0.1 us: no binary noise in the file
    char text[32];
    snprintf(text, sizeof text, "%.4f", value);
    return std::string(text);
  };
  for (const TunedPlan &p : plans) {
    const Measurement &m = p.best;
    os << (first ? "\n    " : ",\n    ") << "{\"kernel_key\": " << quote(m.scope.kernelKey)
       << ", \"kernel\": " << quote(m.kernelName) << ", \"target\": " << quote(m.scope.target)
       << ",\n     \"chip\": " << quote(m.scope.chip)
       << ",\n     \"chip_family\": " << quote(m.chipFamily)
       << ", \"chip_name\": " << quote(m.chipName) << ", \"threads\": " << m.scope.threads
       << ",\n     \"halide_version\": " << quote(m.scope.halideVersion)
       << ", \"kiln_codegen\": " << m.scope.kilnCodegen << ", \"median_ms\": "
       << number(m.medianMs) << ", \"min_ms\": " << number(m.minMs)
       << ", \"heuristic_median_ms\": " << number(p.heuristicMs)
       << ", \"confirmed_ratio\": " << number(p.confirmedRatio) << ",\n     \"plan\": " << m.plan
       << "}";
    first = false;
  }
  os << (first ? "]\n}\n" : "\n  ]\n}\n");
  return text;
}

std::optional<std::vector<Measurement>> measurementsFromJson(const std::string &text,
                                                             std::string &error) {
  auto parsed = llvm::json::parse(text);
  if (!parsed) {
    error = "not JSON: " + llvm::toString(parsed.takeError());
    return std::nullopt;
  }
  const llvm::json::Object *root = parsed->getAsObject();
  if (!root || root->getString("format") != std::optional<llvm::StringRef>(kFormat)) {
    error = "not a kiln tuning export (\"format\" is not \"kiln-tuning\")";
    return std::nullopt;
  }
  if (root->getInteger("version") != std::optional<int64_t>(kSchemaVersion)) {
    error = "kiln tuning export version is not " + std::to_string(kSchemaVersion);
    return std::nullopt;
  }
  const llvm::json::Array *plans = root->getArray("plans");
  if (!plans) {
    error = "no \"plans\" array";
    return std::nullopt;
  }
  std::vector<Measurement> result;
  for (size_t i = 0; i < plans->size(); ++i) {
    const llvm::json::Object *entry = (*plans)[i].getAsObject();
    std::string where = "plans[" + std::to_string(i) + "]";
    if (!entry) {
      error = where + " is not an object";
      return std::nullopt;
    }
    Measurement m;
    auto str = [&](const char *field, std::string &out) {
      auto v = entry->getString(field);
      if (v)
        out = v->str();
      return bool(v);
    };
    auto threads = entry->getInteger("threads");
    auto codegen = entry->getInteger("kiln_codegen");
    auto median = entry->getNumber("median_ms");
    const llvm::json::Value *plan = entry->get("plan");
    if (!str("kernel_key", m.scope.kernelKey) || !str("target", m.scope.target) ||
        !str("chip", m.scope.chip) || !str("chip_family", m.chipFamily) ||
        !str("halide_version", m.scope.halideVersion) || !threads || !codegen || !median ||
        !plan || !plan->getAsObject()) {
      error = where + ": needs kernel_key, target, chip, chip_family, halide_version "
                      "(strings), threads, kiln_codegen, median_ms (numbers) and plan (object)";
      return std::nullopt;
    }
    str("kernel", m.kernelName);
    str("chip_name", m.chipName);
    m.scope.threads = int(*threads);
    m.scope.kilnCodegen = int(*codegen);
    m.medianMs = *median;
    m.status = "ok";
    std::string planText;
    llvm::raw_string_ostream ps(planText);
    ps << *plan;
    m.plan = planText;
    m.planHash = "json-" + std::to_string(i);
    result.push_back(std::move(m));
  }
  return result;
}

} // namespace kiln
