//===- Farm.cpp - jobs, results and workers on NATS JetStream --------------===//
#include "compiler/tune/Farm.h"

#include "compiler/tune/KernelRun.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/SHA256.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/raw_ostream.h"

#include <chrono>
#include <fstream>
#include <map>
#include <nats/nats.h>
#include <unistd.h>

namespace kiln {
namespace {

constexpr const char *kJobsStream = "KILN_TUNE_JOBS";
constexpr const char *kResultsStream = "KILN_TUNE_RESULTS";
constexpr const char *kWorkersSubject = "kiln.tune.workers";
constexpr const char *kJobMagic = "KILNJOB1\n";

std::string natsError(const char *what, natsStatus status) {
  return std::string(what) + ": " + natsStatus_GetText(status) +
         (nats_GetLastError(nullptr) ? std::string(" (") + nats_GetLastError(nullptr) + ")" : "");
}

std::string hostName() {
  char name[256] = {0};
  gethostname(name, sizeof name - 1);
  return std::string(name) + ":" + std::to_string(getpid());
}

llvm::json::Object scopeJson(const Measurement &m) {
  return llvm::json::Object{
      {"kernel_key", m.scope.kernelKey},   {"target", m.scope.target},
      {"chip", m.scope.chip},              {"threads", m.scope.threads},
      {"halide_version", m.scope.halideVersion}, {"kiln_codegen", m.scope.kilnCodegen},
      {"plan_hash", m.planHash},           {"plan", m.plan},
      {"kernel_name", m.kernelName},       {"chip_family", m.chipFamily},
      {"chip_name", m.chipName},           {"heuristic", m.heuristic}};
}

bool readScope(const llvm::json::Object &o, Measurement &m) {
  auto str = [&](const char *field, std::string &out) {
    auto v = o.getString(field);
    if (v)
      out = v->str();
    return bool(v);
  };
  auto threads = o.getInteger("threads"), codegen = o.getInteger("kiln_codegen");
  auto heuristic = o.getBoolean("heuristic");
  if (!str("kernel_key", m.scope.kernelKey) || !str("target", m.scope.target) ||
      !str("chip", m.scope.chip) || !str("halide_version", m.scope.halideVersion) ||
      !str("plan_hash", m.planHash) || !str("plan", m.plan) || !str("kernel_name", m.kernelName) ||
      !str("chip_family", m.chipFamily) || !str("chip_name", m.chipName) || !threads ||
      !codegen || !heuristic)
    return false;
  m.scope.threads = int(*threads);
  m.scope.kilnCodegen = int(*codegen);
  m.heuristic = *heuristic;
  return true;
}

std::string toText(const llvm::json::Value &value) {
  std::string text;
  llvm::raw_string_ostream os(text);
  os << value;
  return text;
}

} // namespace

std::string chipToken(const std::string &chipKey) {
  return llvm::toHex(llvm::SHA256::hash(llvm::arrayRefFromStringRef(chipKey)), true).substr(0, 16);
}

std::string encodeJob(const Job &job) {
  llvm::json::Array files, outputs, inputs;
  for (const JobFile &f : job.files)
    files.push_back(llvm::json::Object{
        {"name", f.name}, {"size", int64_t(f.bytes.size())}, {"executable", f.executable}});
  for (bool f : job.float32Outputs)
    outputs.push_back(f);
  for (const std::string &i : job.inputs)
    inputs.push_back(i);
  llvm::json::Object header{{"job", job.id},
                            {"session", job.session},
                            {"measurement", scopeJson(job.identity)},
                            {"threads", job.threads},
                            {"min_time_ms", job.minTimeMs},
                            {"timeout_s", job.timeoutSeconds},
                            {"float32_outputs", std::move(outputs)},
                            {"inputs", std::move(inputs)},
                            {"files", std::move(files)}};
  std::string payload = kJobMagic + toText(llvm::json::Value(std::move(header))) + "\n";
  for (const JobFile &f : job.files)
    payload += f.bytes;
  return payload;
}

std::optional<Job> decodeJob(const std::string &payload, std::string &error) {
  llvm::StringRef rest(payload);
  if (!rest.consume_front(kJobMagic)) {
    error = "not a kiln tuning job";
    return std::nullopt;
  }
  auto [line, data] = rest.split('\n');
  auto parsed = llvm::json::parse(line);
  const llvm::json::Object *h = parsed ? parsed->getAsObject() : nullptr;
  if (!h) {
    if (!parsed)
      llvm::consumeError(parsed.takeError());
    error = "the job's header is not a JSON object";
    return std::nullopt;
  }
  Job job;
  auto id = h->getString("job"), session = h->getString("session");
  auto threads = h->getInteger("threads"), minTime = h->getInteger("min_time_ms"),
       timeout = h->getInteger("timeout_s");
  const llvm::json::Object *measurement = h->getObject("measurement");
  const llvm::json::Array *files = h->getArray("files"), *outputs = h->getArray("float32_outputs"),
                          *inputs = h->getArray("inputs");
  if (!id || !session || !threads || !minTime || !timeout || !measurement || !files ||
      !outputs || !inputs || !readScope(*measurement, job.identity)) {
    error = "the job's header lacks a field";
    return std::nullopt;
  }
  job.id = id->str();
  job.session = session->str();
  job.threads = int(*threads);
  job.minTimeMs = int(*minTime);
  job.timeoutSeconds = int(*timeout);
  for (const llvm::json::Value &v : *outputs)
    job.float32Outputs.push_back(v.getAsBoolean().value_or(false));
  for (const llvm::json::Value &v : *inputs)
    job.inputs.push_back(v.getAsString().value_or("").str());
  size_t offset = 0;
  for (const llvm::json::Value &v : *files) {
    const llvm::json::Object *f = v.getAsObject();
    auto name = f ? f->getString("name") : std::nullopt;
    auto size = f ? f->getInteger("size") : std::nullopt;
    // Names stay inside the job's directory: no absolute paths, no "..".
    if (!name || !size || *size < 0 || offset + size_t(*size) > data.size() ||
        name->starts_with("/") || name->contains("..") || name->empty()) {
      error = "the job's file list does not match its data";
      return std::nullopt;
    }
    job.files.push_back({name->str(), data.substr(offset, size_t(*size)).str(),
                         f->getBoolean("executable").value_or(false)});
    offset += size_t(*size);
  }
  return job;
}

std::string encodeResult(const Measurement &m, const std::string &jobId,
                         const std::string &session, const std::string &worker) {
  llvm::json::Object o{{"job", jobId},        {"session", session},   {"worker", worker},
                       {"measurement", scopeJson(m)}, {"status", m.status},
                       {"median_ms", m.medianMs}, {"min_ms", m.minMs}, {"runs", m.runs},
                       {"seconds", m.seconds}, {"message", m.message}};
  return toText(llvm::json::Value(std::move(o)));
}

std::optional<Measurement> decodeResult(const std::string &payload, std::string &jobId,
                                        std::string &error) {
  auto parsed = llvm::json::parse(payload);
  const llvm::json::Object *o = parsed ? parsed->getAsObject() : nullptr;
  if (!o) {
    if (!parsed)
      llvm::consumeError(parsed.takeError());
    error = "a result is not a JSON object";
    return std::nullopt;
  }
  Measurement m;
  const llvm::json::Object *scope = o->getObject("measurement");
  auto job = o->getString("job"), status = o->getString("status");
  if (!job || !status || !scope || !readScope(*scope, m)) {
    error = "a result lacks a field";
    return std::nullopt;
  }
  jobId = job->str();
  m.status = status->str();
  m.medianMs = o->getNumber("median_ms").value_or(0);
  m.minMs = o->getNumber("min_ms").value_or(0);
  m.runs = o->getInteger("runs").value_or(0);
  m.seconds = o->getNumber("seconds").value_or(0);
  m.message = o->getString("message").value_or("").str();
  return m;
}

struct Farm::State {
  natsConnection *nc = nullptr;
  jsCtx *js = nullptr;
  natsSubscription *results = nullptr, *advisories = nullptr, *workers = nullptr;
  ~State() {
    natsSubscription_Destroy(results);
    natsSubscription_Destroy(advisories);
    natsSubscription_Destroy(workers);
    jsCtx_Destroy(js);
    natsConnection_Destroy(nc);
  }
};

Farm::~Farm() = default;

std::unique_ptr<Farm> Farm::connect(const std::string &url, std::string &error) {
  std::unique_ptr<Farm> farm(new Farm());
  farm->state = std::make_unique<State>();
  State &s = *farm->state;
  natsStatus status = natsConnection_ConnectTo(&s.nc, url.c_str());
  if (status != NATS_OK) {
    error = natsError(("cannot connect to the farm at " + url).c_str(), status);
    return nullptr;
  }
  if ((status = natsConnection_JetStream(&s.js, s.nc, nullptr)) != NATS_OK) {
    error = natsError("JetStream", status);
    return nullptr;
  }
  auto ensure = [&](const char *name, const char *subject, jsRetentionPolicy retention) {
    jsStreamInfo *info = nullptr;
    if (js_GetStreamInfo(&info, s.js, name, nullptr, nullptr) == NATS_OK) {
      jsStreamInfo_Destroy(info);
      return true;
    }
    jsStreamConfig config;
    jsStreamConfig_Init(&config);
    const char *subjects[] = {subject};
    config.Name = name;
    config.Subjects = subjects;
    config.SubjectsLen = 1;
    config.Retention = retention;
    config.Storage = js_FileStorage;
    jsErrCode code = jsErrCode(0);
    natsStatus st = js_AddStream(&info, s.js, &config, nullptr, &code);
    jsStreamInfo_Destroy(info);
    if (st != NATS_OK &&
        js_GetStreamInfo(&info, s.js, name, nullptr, nullptr) != NATS_OK) {  // lost a race?
      error = natsError((std::string("cannot create the stream ") + name).c_str(), st);
      return false;
    }
    if (st != NATS_OK)
      jsStreamInfo_Destroy(info);
    return true;
  };
  if (!ensure(kJobsStream, "kiln.tune.jobs.*", js_WorkQueuePolicy) ||
      !ensure(kResultsStream, "kiln.tune.results.*", js_LimitsPolicy))
    return nullptr;
  return farm;
}

std::vector<WorkerInfo> Farm::listenForWorkers(int seconds, std::string &error) {
  State &s = *state;
  std::vector<WorkerInfo> heard;
  if (!s.workers) {
    natsStatus status = natsConnection_SubscribeSync(&s.workers, s.nc, kWorkersSubject);
    if (status != NATS_OK) {
      error = natsError("cannot listen for workers", status);
      return heard;
    }
  }
  auto start = std::chrono::steady_clock::now();
  auto until = start + std::chrono::seconds(seconds);
  std::map<std::string, bool> seen;
  while (std::chrono::steady_clock::now() < until) {
    natsMsg *msg = nullptr;
    if (natsSubscription_NextMsg(&msg, s.workers, 200) != NATS_OK)
      continue;
    std::string text(natsMsg_GetData(msg), size_t(natsMsg_GetDataLength(msg)));
    natsMsg_Destroy(msg);
    auto parsed = llvm::json::parse(text);
    const llvm::json::Object *o = parsed ? parsed->getAsObject() : nullptr;
    if (!o) {
      if (!parsed)
        llvm::consumeError(parsed.takeError());
      continue;
    }
    WorkerInfo info;
    info.worker = o->getString("worker").value_or("").str();
    info.chip.key = o->getString("chip").value_or("").str();
    info.chip.family = o->getString("chip_family").value_or("").str();
    info.chip.name = o->getString("chip_name").value_or("").str();
    if (info.chip.key.empty() || seen[info.worker])
      continue;
    seen[info.worker] = true;
    heard.push_back(info);
    // Once one is heard, the others announcing within the next few seconds count too.
    until = std::min(until, std::chrono::steady_clock::now() + std::chrono::seconds(3));
  }
  return heard;
}

bool Farm::openSession(const std::string &session, const std::string &chip, std::string &error) {
  State &s = *state;
  std::string subject = "kiln.tune.results." + session;
  std::string durable = "kiln-tune-" + session;
  natsStatus status =
      js_PullSubscribe(&s.results, s.js, subject.c_str(), durable.c_str(), nullptr, nullptr, nullptr);
  if (status != NATS_OK) {
    error = natsError("cannot read the session's results", status);
    return false;
  }
  std::string advisory = std::string("$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.") + kJobsStream +
                         ".kiln-worker-" + chipToken(chip);
  if ((status = natsConnection_SubscribeSync(&s.advisories, s.nc, advisory.c_str())) != NATS_OK) {
    error = natsError("cannot listen for dropped jobs", status);
    return false;
  }
  return true;
}

bool Farm::publishJob(const std::string &chip, const Job &job, uint64_t &sequence,
                      std::string &error) {
  State &s = *state;
  std::string payload = encodeJob(job);
  int64_t limit = natsConnection_GetMaxPayload(s.nc);
  if (int64_t(payload.size()) > limit) {
    error = "the job (" + std::to_string(payload.size()) + " bytes: the one-kernel program, its "
            "weights and data) is larger than the server's max_payload (" + std::to_string(limit) +
            " bytes); raise max_payload in the nats-server configuration";
    return false;
  }
  std::string subject = "kiln.tune.jobs." + chipToken(chip);
  natsMsg *msg = nullptr;
  natsStatus status = natsMsg_Create(&msg, subject.c_str(), nullptr, payload.data(), int(payload.size()));
  if (status == NATS_OK)  // JetStream drops a republished job within its duplicate window
    status = natsMsgHeader_Set(msg, "Nats-Msg-Id", job.id.c_str());
  jsPubAck *ack = nullptr;
  if (status == NATS_OK)
    status = js_PublishMsg(&ack, s.js, msg, nullptr, nullptr);
  natsMsg_Destroy(msg);
  if (status != NATS_OK) {
    error = natsError("cannot publish a job", status);
    return false;
  }
  sequence = ack->Sequence;
  jsPubAck_Destroy(ack);
  return true;
}

bool Farm::awaitResults(int seconds,
                        const std::function<bool(const Measurement &, const std::string &)> &onResult,
                        const std::function<void(uint64_t)> &onDropped,
                        const std::function<bool()> &done, std::string &error) {
  State &s = *state;
  auto until = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
  while (!done() && std::chrono::steady_clock::now() < until) {
    natsMsg *advisory = nullptr;
    while (natsSubscription_NextMsg(&advisory, s.advisories, 1) == NATS_OK) {
      std::string text(natsMsg_GetData(advisory), size_t(natsMsg_GetDataLength(advisory)));
      natsMsg_Destroy(advisory);
      auto parsed = llvm::json::parse(text);
      if (!parsed) {
        llvm::consumeError(parsed.takeError());
        continue;
      }
      if (const llvm::json::Object *o = parsed->getAsObject())
        if (auto seq = o->getInteger("stream_seq"))
          onDropped(uint64_t(*seq));
    }
    natsMsgList list{};
    natsStatus status = natsSubscription_Fetch(&list, s.results, 8, 500, nullptr);
    if (status == NATS_TIMEOUT)
      continue;
    if (status != NATS_OK) {
      error = natsError("reading results", status);
      return false;
    }
    for (int i = 0; i < list.Count; ++i) {
      natsMsg *msg = list.Msgs[i];
      std::string text(natsMsg_GetData(msg), size_t(natsMsg_GetDataLength(msg))), jobId, why;
      auto m = decodeResult(text, jobId, why);
      if (!m || onResult(*m, jobId))  // a malformed result is dropped, not retried forever
        natsMsg_Ack(msg, nullptr);
    }
    natsMsgList_Destroy(&list);
  }
  return true;
}

int Farm::work(int ackWaitSeconds, int maxDeliver, const std::string &workDir,
               const std::string &runWrapper, const std::function<bool()> &stop) {
  State &s = *state;
  ChipKey chip = hostChip();
  std::string worker = hostName();
  std::string token = chipToken(chip.key);
  std::string subject = "kiln.tune.jobs." + token, durable = "kiln-worker-" + token;
  jsSubOptions options;
  jsSubOptions_Init(&options);
  options.Config.AckPolicy = js_AckExplicit;
  options.Config.AckWait = int64_t(ackWaitSeconds) * 1000000000;
  options.Config.MaxDeliver = maxDeliver;
  natsSubscription *jobs = nullptr;
  natsStatus status =
      js_PullSubscribe(&jobs, s.js, subject.c_str(), durable.c_str(), nullptr, &options, nullptr);
  if (status != NATS_OK) {
    llvm::errs() << "kiln-worker: error: " << natsError("cannot subscribe to jobs", status) << "\n";
    return 1;
  }
  std::string announcement = toText(llvm::json::Value(llvm::json::Object{
      {"worker", worker}, {"chip", chip.key}, {"chip_family", chip.family}, {"chip_name", chip.name}}));
  auto announce = [&] {
    natsConnection_Publish(s.nc, kWorkersSubject, announcement.data(), int(announcement.size()));
  };
  llvm::errs() << "[worker] " << worker << " serving chip " << chip.key << " (" << chip.name
               << ") on " << subject << "\n";
  int64_t jobsDone = 0;
  while (!stop()) {
    announce();
    natsMsgList list{};
    status = natsSubscription_Fetch(&list, jobs, 1, 2000, nullptr);
    if (status == NATS_TIMEOUT)
      continue;
    if (status != NATS_OK) {
      llvm::errs() << "kiln-worker: error: " << natsError("fetching jobs", status) << "\n";
      natsSubscription_Destroy(jobs);
      return 1;
    }
    for (int i = 0; i < list.Count; ++i) {
      natsMsg *msg = list.Msgs[i];
      std::string error;
      auto job = decodeJob(std::string(natsMsg_GetData(msg), size_t(natsMsg_GetDataLength(msg))),
                           error);
      if (!job) {
        llvm::errs() << "[worker] dropping a malformed job: " << error << "\n";
        natsMsg_Term(msg, nullptr);
        continue;
      }
      llvm::errs() << "[worker] measuring " << job->id << " (" << job->identity.kernelName
                   << ")\n";
      auto start = std::chrono::steady_clock::now();
      std::string dir = workDir + "/" + job->id;
      llvm::sys::fs::remove_directories(dir);
      bool written = !llvm::sys::fs::create_directories(dir + "/reference");
      std::string executable;
      for (const JobFile &f : job->files) {
        std::string path = dir + "/" + f.name;
        llvm::sys::fs::create_directories(llvm::sys::path::parent_path(path));
        std::ofstream out(path, std::ios::binary);
        out.write(f.bytes.data(), std::streamsize(f.bytes.size()));
        written &= out.good();
        out.close();
        if (f.executable) {
          llvm::sys::fs::setPermissions(path, llvm::sys::fs::perms(0755));
          executable = path;
        }
      }
      Measurement m = job->identity;
      m.scope.chip = chip.key;  // what this machine measured it on
      m.chipFamily = chip.family;
      m.chipName = chip.name;
      if (!written || executable.empty()) {
        m.status = "run_failed";
        m.message = "the worker could not write the job's files";
      } else {
        RunRequest request;
        request.executable = executable;
        for (const std::string &input : job->inputs) {
          request.inputArgs.push_back("--input");
          auto [name, file] = llvm::StringRef(input).split('=');
          request.inputArgs.push_back(name.str() + "=" + dir + "/" + file.str());
        }
        request.outputDir = dir + "/out";
        request.threads = job->threads;
        request.minTimeMs = job->minTimeMs;
        request.timeoutSeconds = job->timeoutSeconds;
        request.wrapper = runWrapper;
        int beats = 0;
        KernelRun run = runKernelBenchmark(request, [&] {
          // In-progress acks a few times per AckWait keep the job ours while it runs.
          if (++beats % std::max(1, ackWaitSeconds / 3) == 0)
            natsMsg_InProgress(msg, nullptr);
          if (beats % 2 == 0)
            announce();
        });
        m.message = run.message;
        switch (run.outcome) {
        case KernelRun::Outcome::Ok: {
          std::string difference = compareKernelOutputs(job->float32Outputs, dir + "/reference",
                                                        dir + "/out");
          m.status = difference.empty() ? "ok" : "wrong_output";
          m.message = difference;
          m.medianMs = run.medianMs;
          m.minMs = run.minMs;
          m.runs = run.runs;
          break;
        }
        case KernelRun::Outcome::Crashed: m.status = "crashed"; break;
        case KernelRun::Outcome::TimedOut: m.status = "timeout"; break;
        case KernelRun::Outcome::Failed: m.status = "run_failed"; break;
        }
      }
      m.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      llvm::sys::fs::remove_directories(dir);
      // The result first, then the ack: a worker dying in between makes a second
      // measurement, which the database's unique key records once.
      std::string result = encodeResult(m, job->id, job->session, worker);
      std::string resultSubject = "kiln.tune.results." + job->session;
      status = js_Publish(nullptr, s.js, resultSubject.c_str(), result.data(), int(result.size()),
                          nullptr, nullptr);
      if (status != NATS_OK) {
        llvm::errs() << "[worker] cannot publish the result of " << job->id << ": "
                     << natsStatus_GetText(status) << "\n";
        natsMsg_Nak(msg, nullptr);
        continue;
      }
      natsMsg_Ack(msg, nullptr);
      ++jobsDone;
      llvm::errs() << "[worker] " << job->id << ": " << m.status
                   << (m.status == "ok" ? " " + std::to_string(m.medianMs) + " ms" : "") << "\n";
    }
    natsMsgList_Destroy(&list);
  }
  natsSubscription_Destroy(jobs);
  llvm::errs() << "[worker] stopping after " << jobsDone << " jobs\n";
  return 0;
}

} // namespace kiln
