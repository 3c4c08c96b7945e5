// `assistant bench`: N concurrent streaming clients over mTLS; requests/s,
// time to first token, latency percentiles, errors; optionally the same load
// straight at the worker's Unix socket, so the gateway-added latency shows.
#include <grpcpp/client_context.h>
#include <grpcpp/create_channel.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>
#include <mutex>
#include <thread>
#include <vector>

#include "assistant/v1/chat.grpc.pb.h"
#include "cli_common.h"
#include "common/json.h"
#include "inference/v1/inference.grpc.pb.h"

namespace appliance::cli {
namespace {

using Clock = std::chrono::steady_clock;

struct Sample {
  double start_s = 0;  // since the run began
  double ttft_ms = 0;
  double total_ms = 0;
  // The gateway's breakdown of this request (trailing metadata
  // "assistant-timings", microseconds): added, added_ttft, worker,
  // request_append, outcome_append, pre, seal, ...
  std::map<std::string, double> server_us;
};

struct Result {
  std::vector<Sample> samples;
  uint64_t errors = 0;
  std::string first_error;
  double seconds = 0;
  // Paced runs (--rate): requests that started later than scheduled because
  // the client's previous request had not finished (the offered rate was
  // not met for them; their latency counts from the scheduled start).
  uint64_t late_starts = 0;
  // Chats that started in the warm-up (not in the figures; errors count).
  uint64_t warmup_requests = 0;
};

double Pct(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  size_t i = static_cast<size_t>(p * static_cast<double>(v.size() - 1) + 0.5);
  return v[std::min(i, v.size() - 1)];
}

// rate == 0: closed loop, each client sends its next request as soon as
// the previous one ends (the machine's saturation throughput; latency is
// then mostly queueing). rate > 0: the clients together offer `rate`
// requests/s, each on its own fixed schedule (staggered); a request whose
// slot passed while the client was busy starts at once, is counted late,
// and its client latency counts from its scheduled slot (no coordinated
// omission).
// The first `warmup` seconds run the same load but their chats are left out
// of the figures (first touches of the KV cache, thread pools, TLS sessions).
template <typename Fn>
Result Drive(int clients, double warmup, double measured, double rate, Fn one_request) {
  const double seconds = warmup + measured;
  Result result;
  std::mutex mu;
  std::atomic<bool> stop{false};
  const auto t0 = Clock::now();
  std::vector<std::thread> threads;
  for (int c = 0; c < clients; ++c) {
    threads.emplace_back([&, c] {
      std::vector<Sample> local;
      uint64_t errors = 0, late = 0, warm = 0;
      std::string first_error;
      uint64_t n = 0;
      const auto interval = std::chrono::duration_cast<Clock::duration>(
          std::chrono::duration<double>(rate > 0 ? clients / rate : 0));
      auto slot = t0 + interval * c / std::max(clients, 1);
      while (!stop.load()) {
        Clock::time_point scheduled = Clock::now();
        if (rate > 0) {
          if (slot > scheduled) {
            std::this_thread::sleep_until(slot);
          } else if (n > 0) {
            ++late;
          }
          scheduled = slot;
          slot += interval;
          if (std::chrono::duration<double>(scheduled - t0).count() >= seconds) break;
        }
        Sample s;
        std::string err;
        const auto begin = Clock::now();
        s.start_s = std::chrono::duration<double>(scheduled - t0).count();
        if (one_request(c, n++, &s, &err)) {
          // Client latency from the scheduled slot (the same as the
          // actual start in a closed loop or when on time).
          const double wait_ms = std::chrono::duration<double, std::milli>(begin - scheduled).count();
          s.total_ms += wait_ms;
          s.ttft_ms += wait_ms;
          if (s.start_s < warmup) {
            ++warm;
          } else {
            local.push_back(s);
          }
        } else {
          ++errors;
          if (first_error.empty()) first_error = err;
        }
        if (std::chrono::duration<double>(Clock::now() - t0).count() >= seconds) stop = true;
      }
      std::lock_guard lock(mu);
      result.samples.insert(result.samples.end(), local.begin(), local.end());
      result.errors += errors;
      result.late_starts += late;
      result.warmup_requests += warm;
      if (result.first_error.empty()) result.first_error = first_error;
    });
  }
  for (auto& t : threads) t.join();
  result.seconds = std::chrono::duration<double>(Clock::now() - t0).count() - warmup;
  return result;
}

// "k=v;k=v" (microseconds) as the gateway writes it.
std::map<std::string, double> ParseTimings(std::string_view text) {
  std::map<std::string, double> out;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find(';', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view kv = text.substr(pos, end - pos);
    size_t eq = kv.find('=');
    if (eq != std::string_view::npos) {
      try {
        out[std::string(kv.substr(0, eq))] = std::stod(std::string(kv.substr(eq + 1)));
      } catch (const std::exception&) {
      }
    }
    pos = end + 1;
  }
  return out;
}

std::string LoadAverage() {
  std::ifstream f("/proc/loadavg");
  std::string a, b, c;
  f >> a >> b >> c;
  return a + " " + b + " " + c;
}

common::Json Report(const char* name, const Result& r) {
  std::vector<double> ttft, total;
  std::map<std::string, std::vector<double>> server;
  std::vector<double> client_minus_worker;
  for (const auto& s : r.samples) {
    ttft.push_back(s.ttft_ms);
    total.push_back(s.total_ms);
    for (const auto& [k, v] : s.server_us) server[k].push_back(v / 1e3);
    if (auto w = s.server_us.find("worker"); w != s.server_us.end()) {
      client_minus_worker.push_back(s.total_ms - w->second / 1e3);
    }
  }
  common::Json j = common::Json::MakeObject();
  j.Set("target", name);
  j.Set("requests", static_cast<int64_t>(r.samples.size()));
  j.Set("errors", static_cast<int64_t>(r.errors));
  j.Set("seconds", r.seconds);
  j.Set("requests_per_second", static_cast<double>(r.samples.size()) / std::max(r.seconds, 1e-9));
  j.Set("late_starts", static_cast<int64_t>(r.late_starts));
  j.Set("warmup_requests", static_cast<int64_t>(r.warmup_requests));
  j.Set("ttft_ms_p50", Pct(ttft, 0.5));
  j.Set("ttft_ms_p99", Pct(ttft, 0.99));
  j.Set("latency_ms_p50", Pct(total, 0.5));
  j.Set("latency_ms_p99", Pct(total, 0.99));
  if (!server.empty()) {
    // Per request, from the gateway: its time for the request minus the
    // worker's own time (queue + prefill + decode as the worker reports it).
    common::Json g = common::Json::MakeObject();
    for (const char* k : {"added", "added_ttft", "pre", "request_append", "outcome_append", "seal",
                          "worker", "worker_call", "total"}) {
      auto it = server.find(k);
      if (it == server.end()) continue;
      common::Json p = common::Json::MakeObject();
      p.Set("p50", Pct(it->second, 0.5));
      p.Set("p90", Pct(it->second, 0.9));
      p.Set("p99", Pct(it->second, 0.99));
      p.Set("max", Pct(it->second, 1.0));
      g.Set(std::string(k) + "_ms", std::move(p));
    }
    j.Set("server", std::move(g));
    // The same per request, seen from this client: its end-to-end time
    // minus the worker's own time; adds TLS, HTTP/2 and this client's own
    // scheduling (on a shared machine, mostly the latter).
    j.Set("client_minus_worker_ms_p50", Pct(client_minus_worker, 0.5));
    j.Set("client_minus_worker_ms_p99", Pct(client_minus_worker, 0.99));
  }
  if (!r.first_error.empty()) j.Set("first_error", r.first_error);
  return j;
}

}  // namespace

int RunBench(Invocation& inv) {
  int clients = 64, max_tokens = 16;
  double seconds = 10, rate = 0, warmup = 0;
  std::string worker_socket, model, prompt = "Once upon a time", samples_path;
  bool stored = false;
  for (size_t i = 0; i < inv.args.size(); ++i) {
    const std::string& a = inv.args[i];
    auto next = [&]() -> std::string { return i + 1 < inv.args.size() ? inv.args[++i] : ""; };
    if (a == "--help" || a == "-h") {
      std::cout << "usage: assistant [GLOBAL OPTIONS] bench [--clients N] [--seconds S]\n"
                   "         [--max-tokens N] [--model NAME] [--prompt TEXT] [--stored]\n"
                   "         [--worker-socket PATH] [--rate R] [--samples FILE] [--warmup W]\n\n"
                   "Drives N concurrent streaming chat clients over mTLS for S seconds and\n"
                   "reports requests/s, time to first token, latency p50/p99 and errors.\n"
                   "Without --rate each client sends its next request as soon as the last\n"
                   "ends (the saturation throughput; latency is then mostly queueing). With\n"
                   "--rate R the N clients together offer R requests/s, each on a fixed\n"
                   "schedule; a request that could not start on time is counted in\n"
                   "late_starts and its latency counts from its scheduled time.\n"
                   "--samples FILE writes one line per request (client times and the\n"
                   "gateway's breakdown, microseconds). --warmup W runs the load W seconds\n"
                   "before the S measured ones; chats started then are left out of the\n"
                   "figures (counted in warmup_requests; their errors still count).\n"
                   "Gateway-added latency, per request (server.added_ms): the gateway's time\n"
                   "for the request (handler entry to the final message) minus the worker's\n"
                   "own time for it (queue + prefill + decode, as the worker reports it), with\n"
                   "its parts (policy etc. = pre, the two ledger appends, the vault = seal).\n"
                   "client_minus_worker: the same seen from this client (adds TLS and the\n"
                   "client's own scheduling). With --worker-socket it then drives the same load\n"
                   "straight at the worker and reports the end-to-end difference too.\n"
                   "Chats are incognito unless --stored (then content is sealed in the vault).\n"
                   "The load average is printed before and after: the machine is shared.\n"
                   "The caller's policy limits apply: bench with a policy whose limits allow\n"
                   "the load (tests/e2e/data/bench-policy.yaml).\n";
      return 0;
    }
    try {
      if (a == "--clients") clients = std::stoi(next());
      else if (a == "--seconds") seconds = std::stod(next());
      else if (a == "--rate") rate = std::stod(next());
      else if (a == "--warmup") warmup = std::stod(next());
      else if (a == "--samples") samples_path = next();
      else if (a == "--max-tokens") max_tokens = std::stoi(next());
      else if (a == "--worker-socket") worker_socket = next();
      else if (a == "--model") model = next();
      else if (a == "--prompt") prompt = next();
      else if (a == "--stored") stored = true;
      else {
        std::cerr << "assistant bench: unknown option " << a << "\n";
        return 2;
      }
    } catch (const std::exception&) {
      std::cerr << "assistant bench: " << a << " takes a number\n";
      return 2;
    }
  }
  // A few channels so one HTTP/2 connection is not the bottleneck.
  std::vector<std::unique_ptr<assistant::v1::ChatService::Stub>> stubs;
  for (int i = 0; i < 4; ++i) {
    auto ch = MakeClientChannel(inv.options.client);
    if (!ch.ok()) {
      std::cerr << "assistant bench: " << ch.status().message() << "\n";
      return 1;
    }
    stubs.push_back(assistant::v1::ChatService::NewStub(*ch));
  }
  const std::string load_before = LoadAverage();
  auto gateway = Drive(clients, warmup, seconds, rate, [&](int c, uint64_t, Sample* s, std::string* err) {
    assistant::v1::ChatRequest req;
    req.set_model(model);
    req.set_incognito(!stored);
    auto* m = req.add_messages();
    m->set_role(assistant::v1::ChatMessage::ROLE_USER);
    m->set_content(prompt);
    req.mutable_sampling()->set_max_tokens(static_cast<uint32_t>(max_tokens));
    req.mutable_sampling()->set_temperature(0);
    grpc::ClientContext ctx;
    PrepareContext(inv.options.client, &ctx);
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
    const auto t0 = Clock::now();
    auto reader = stubs[static_cast<size_t>(c) % stubs.size()]->Chat(&ctx, req);
    assistant::v1::ChatEvent ev;
    bool first = true;
    while (reader->Read(&ev)) {
      if (ev.has_delta() && first) {
        s->ttft_ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
        first = false;
      }
    }
    grpc::Status st = reader->Finish();
    s->total_ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
    const auto& trailers = ctx.GetServerTrailingMetadata();
    if (auto it = trailers.find("assistant-timings"); it != trailers.end()) {
      s->server_us = ParseTimings(std::string_view(it->second.data(), it->second.size()));
    }
    if (!st.ok()) *err = FromGrpcStatus(st, ctx).message();
    return st.ok();
  });
  const std::string load_after = LoadAverage();
  if (!samples_path.empty()) {
    // One line per request: the client's times and the gateway's breakdown
    // (durations only; never content).
    std::ofstream f(samples_path);
    for (const auto& smp : gateway.samples) {
      f << "start_s=" << smp.start_s << " ttft_ms=" << smp.ttft_ms << " total_ms=" << smp.total_ms;
      for (const auto& [k, v] : smp.server_us) f << " " << k << "_us=" << v;
      f << "\n";
    }
    if (!f) {
      std::cerr << "assistant bench: cannot write " << samples_path << "\n";
      return 1;
    }
  }
  common::Json out = common::Json::MakeObject();
  out.Set("clients", clients);
  out.Set("max_tokens", max_tokens);
  out.Set("offered_rate", rate);
  out.Set("warmup_seconds", warmup);
  out.Set("stored", stored);
  out.Set("cpus", static_cast<int64_t>(std::thread::hardware_concurrency()));
  out.Set("loadavg_before", load_before);
  out.Set("loadavg_after", load_after);
  common::Json g = Report("gateway", gateway);
  // The headline: the per-request gateway-added latency the gateway measured
  // (its time minus the worker's own; see --help and docs/gateway.md).
  if (const common::Json* server = g.Find("server")) {
    if (const common::Json* added = server->Find("added_ms")) {
      out.Set("gateway_added_ms_p50", *added->Find("p50"));
      out.Set("gateway_added_ms_p99", *added->Find("p99"));
    }
  }
  out.Set("requests_per_second", *g.Find("requests_per_second"));
  out.Set("errors", *g.Find("errors"));
  if (!worker_socket.empty()) {
    auto wch = grpc::CreateChannel("unix:" + worker_socket, grpc::InsecureChannelCredentials());
    auto wstub = inference::v1::InferenceService::NewStub(wch);
    std::string wmodel = model;
    if (wmodel.empty()) {
      grpc::ClientContext ctx;
      inference::v1::ListModelsResponse models;
      if (wstub->ListModels(&ctx, {}, &models).ok() && models.models_size() > 0) {
        wmodel = models.models(0).name();
      }
    }
    auto worker = Drive(clients, warmup, seconds, rate, [&](int, uint64_t, Sample* s, std::string* err) {
      inference::v1::GenerateRequest req;
      req.set_model(wmodel);
      // As the gateway sends it to a template-less model (stories260K): text.
      req.set_text(prompt);
      req.set_max_tokens(static_cast<uint32_t>(max_tokens));
      grpc::ClientContext ctx;
      ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
      const auto t0 = Clock::now();
      auto reader = wstub->Generate(&ctx, req);
      inference::v1::GenerateEvent ev;
      bool first = true;
      while (reader->Read(&ev)) {
        if (ev.has_token() && first) {
          s->ttft_ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
          first = false;
        }
      }
      grpc::Status st = reader->Finish();
      s->total_ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
      if (!st.ok()) *err = st.error_message();
      return st.ok();
    });
    common::Json w = Report("worker", worker);
    out.Set("worker", w);
    const auto gl50 = g.Find("latency_ms_p50")->as_double(), wl50 = w.Find("latency_ms_p50")->as_double();
    const auto gl99 = g.Find("latency_ms_p99")->as_double(), wl99 = w.Find("latency_ms_p99")->as_double();
    // Two runs one after the other, not the same requests: a rough check
    // of the per-request figure above, noisy on a shared machine.
    out.Set("e2e_minus_direct_ms_p50", gl50 - wl50);
    out.Set("e2e_minus_direct_ms_p99", gl99 - wl99);
    out.Set("loadavg_after_direct", LoadAverage());
  }
  out.Set("gateway", g);
  if (inv.options.json) {
    std::cout << out.Dump() << "\n";
  } else {
    common::Json::DumpOptions o;
    o.indent = 2;
    std::cout << out.Dump(o) << "\n";
  }
  return gateway.errors == 0 ? 0 : 1;
}

}  // namespace appliance::cli
