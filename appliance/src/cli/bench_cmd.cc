// `assistant bench`: N concurrent streaming clients over mTLS; requests/s,
// time to first token, latency percentiles, errors; optionally the same load
// straight at the worker's Unix socket, so the gateway-added latency shows.
#include <grpcpp/client_context.h>
#include <grpcpp/create_channel.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <iostream>
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
  double ttft_ms = 0;
  double total_ms = 0;
  double overhead_ms = -1;  // server-reported gateway overhead
};

struct Result {
  std::vector<Sample> samples;
  uint64_t errors = 0;
  std::string first_error;
  double seconds = 0;
};

double Pct(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  size_t i = static_cast<size_t>(p * static_cast<double>(v.size() - 1) + 0.5);
  return v[std::min(i, v.size() - 1)];
}

template <typename Fn>
Result Drive(int clients, double seconds, Fn one_request) {
  Result result;
  std::mutex mu;
  std::atomic<bool> stop{false};
  const auto t0 = Clock::now();
  std::vector<std::thread> threads;
  for (int c = 0; c < clients; ++c) {
    threads.emplace_back([&, c] {
      std::vector<Sample> local;
      uint64_t errors = 0;
      std::string first_error;
      uint64_t n = 0;
      while (!stop.load()) {
        Sample s;
        std::string err;
        if (one_request(c, n++, &s, &err)) {
          local.push_back(s);
        } else {
          ++errors;
          if (first_error.empty()) first_error = err;
        }
        if (std::chrono::duration<double>(Clock::now() - t0).count() >= seconds) stop = true;
      }
      std::lock_guard lock(mu);
      result.samples.insert(result.samples.end(), local.begin(), local.end());
      result.errors += errors;
      if (result.first_error.empty()) result.first_error = first_error;
    });
  }
  for (auto& t : threads) t.join();
  result.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  return result;
}

common::Json Report(const char* name, const Result& r) {
  std::vector<double> ttft, total, overhead;
  for (const auto& s : r.samples) {
    ttft.push_back(s.ttft_ms);
    total.push_back(s.total_ms);
    if (s.overhead_ms >= 0) overhead.push_back(s.overhead_ms);
  }
  common::Json j = common::Json::MakeObject();
  j.Set("target", name);
  j.Set("requests", static_cast<int64_t>(r.samples.size()));
  j.Set("errors", static_cast<int64_t>(r.errors));
  j.Set("seconds", r.seconds);
  j.Set("requests_per_second", static_cast<double>(r.samples.size()) / std::max(r.seconds, 1e-9));
  j.Set("ttft_ms_p50", Pct(ttft, 0.5));
  j.Set("ttft_ms_p99", Pct(ttft, 0.99));
  j.Set("latency_ms_p50", Pct(total, 0.5));
  j.Set("latency_ms_p99", Pct(total, 0.99));
  if (!overhead.empty()) {
    j.Set("server_gateway_overhead_ms_p50", Pct(overhead, 0.5));
    j.Set("server_gateway_overhead_ms_p99", Pct(overhead, 0.99));
  }
  if (!r.first_error.empty()) j.Set("first_error", r.first_error);
  return j;
}

}  // namespace

int RunBench(Invocation& inv) {
  int clients = 64, max_tokens = 16;
  double seconds = 10;
  std::string worker_socket, model, prompt = "Once upon a time";
  for (size_t i = 0; i < inv.args.size(); ++i) {
    const std::string& a = inv.args[i];
    auto next = [&]() -> std::string { return i + 1 < inv.args.size() ? inv.args[++i] : ""; };
    if (a == "--help" || a == "-h") {
      std::cout << "usage: assistant [GLOBAL OPTIONS] bench [--clients N] [--seconds S]\n"
                   "         [--max-tokens N] [--model NAME] [--prompt TEXT] [--worker-socket PATH]\n\n"
                   "Drives N concurrent streaming chat clients over mTLS for S seconds and\n"
                   "reports requests/s, time to first token, latency p50/p99 and errors. With\n"
                   "--worker-socket it then drives the same load straight at the worker and\n"
                   "reports the gateway-added latency (gateway minus worker, p50/p99).\n"
                   "The caller's policy limits apply: bench with a policy whose limits allow\n"
                   "the load (tests/e2e/data/bench-policy.yaml).\n";
      return 0;
    }
    try {
      if (a == "--clients") clients = std::stoi(next());
      else if (a == "--seconds") seconds = std::stod(next());
      else if (a == "--max-tokens") max_tokens = std::stoi(next());
      else if (a == "--worker-socket") worker_socket = next();
      else if (a == "--model") model = next();
      else if (a == "--prompt") prompt = next();
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
  auto gateway = Drive(clients, seconds, [&](int c, uint64_t, Sample* s, std::string* err) {
    assistant::v1::ChatRequest req;
    req.set_model(model);
    req.set_incognito(true);
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
      if (ev.has_end()) {
        const auto& o = ev.end().timings().gateway_overhead();
        s->overhead_ms = static_cast<double>(o.seconds()) * 1e3 + o.nanos() / 1e6;
      }
    }
    grpc::Status st = reader->Finish();
    s->total_ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
    if (!st.ok()) *err = FromGrpcStatus(st, ctx).message();
    return st.ok();
  });
  common::Json out = common::Json::MakeObject();
  out.Set("clients", clients);
  out.Set("max_tokens", max_tokens);
  common::Json g = Report("gateway", gateway);
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
    auto worker = Drive(clients, seconds, [&](int, uint64_t, Sample* s, std::string* err) {
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
    out.Set("gateway_added_ms_p50", gl50 - wl50);
    out.Set("gateway_added_ms_p99", gl99 - wl99);
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
