// Policy benchmark: decisions per second and p50/p99 latency of a full
// Decide() (all filters, detectors, redaction) on 200 B, 4 KB and 64 KB
// prompts, and the scaling of adversarial inputs up to 1 MiB (linear time).
//
//   build/tests/policy/policy_bench [--sizes-only] [policy.yaml]
//
// Latency is reported twice: wall clock, and the CPU time of the deciding
// thread (what the engine costs, without time spent waiting for a core on a
// busy machine).
#include <time.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "policy/decision.h"
#include "policy/policy.h"

namespace {

using Clock = std::chrono::steady_clock;

// Office prose with a sensitive value every ~400 bytes, some Unicode.
std::string MakePrompt(size_t size, unsigned seed) {
  static const char* kWords[] = {"the", "quarterly", "report", "shows", "revenue", "growth",
                                 "in", "all", "regions", "and", "the", "team", "will", "review",
                                 "numbers", "before", "Friday", "Grüße", "überprüfen", "données",
                                 "会议", "please", "send", "summary", "to", "management"};
  static const char* kSensitive[] = {"jane.doe@example.com", "+1 202-555-0143", "123-45-6789",
                                     "4111 1111 1111 1111", "DE89 3704 0044 0532 0130 00",
                                     "10.20.30.40", "2001:db8::7", "EMP-123456"};
  std::mt19937 rng(seed);
  std::string s;
  size_t next_sensitive = 150;
  while (s.size() < size) {
    if (s.size() >= next_sensitive) {
      s += kSensitive[rng() % 8];
      s += ' ';
      next_sensitive += 400;
    } else {
      s += kWords[rng() % 26];
      s += (rng() % 12 == 0) ? ". " : " ";
    }
  }
  s.resize(size);
  // Do not end inside a multi-byte character.
  while (!s.empty() && (static_cast<unsigned char>(s.back()) & 0xC0) == 0x80) s.pop_back();
  if (!s.empty() && static_cast<unsigned char>(s.back()) >= 0xC0) s.pop_back();
  return s;
}

policy::RequestContext Request(std::string_view prompt) {
  policy::RequestContext r;
  r.user_id = "alice";
  r.roles = {"analyst"};
  r.client_address = "10.1.2.3";
  r.classification = "INTERNAL";
  r.model_name = "stories260K";
  r.model_sha256 = "270cba1bd5109f42d03350f60406024560464db173c0e387d91f0426d3bd256d";
  r.prompt = prompt;
  r.prompt_tokens = 1;  // measure the engine, not the limit
  return r;
}

double Percentile(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  size_t i = std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())));
  return v[i];
}

double ThreadCpuMicros() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) * 1e6 + static_cast<double>(ts.tv_nsec) / 1e3;
}

double TimeOnce(const std::function<void()>& f) {
  auto t0 = Clock::now();
  f();
  return std::chrono::duration<double, std::micro>(Clock::now() - t0).count();
}

}  // namespace

int main(int argc, char** argv) {
  bool sizes_only = false;
  std::string path = std::string(ASSISTANT_SOURCE_DIR) + "/policy/config/default-policy.yaml";
  for (int i = 1; i < argc; ++i) {
    if (std::string(argv[i]) == "--sizes-only") {
      sizes_only = true;
    } else {
      path = argv[i];
    }
  }
  auto p = policy::Policy::FromFile(path);
  if (!p.ok()) {
    std::fprintf(stderr, "%s\n", p.status().ToString().c_str());
    return 1;
  }
  const policy::Policy& pol = **p;
  std::printf("policy %s (%s)\n\n", path.c_str(), pol.hash().substr(0, 16).c_str());
  std::printf("%-8s %8s %12s %9s %9s %9s %9s %9s %6s\n", "prompt", "runs", "decisions/s",
              "p50 us", "p99 us", "max us", "cpu p50", "cpu p99", "finds");
  struct Size {
    const char* name;
    size_t bytes;
    int runs;
  };
  for (const Size& sz : {Size{"200 B", 200, 50000}, Size{"4 KB", 4096, 10000},
                         Size{"64 KB", 65536, 600}}) {
    // Several distinct prompts so that nothing is trivially cached.
    std::vector<std::string> prompts;
    for (unsigned i = 0; i < 16; ++i) prompts.push_back(MakePrompt(sz.bytes, 7 + i));
    size_t finds = 0;
    for (int i = 0; i < std::max(50, sz.runs / 20); ++i) {  // warm-up (RE2 builds its DFA lazily)
      finds = policy::Decide(pol, Request(prompts[i % 16])).obligations.redactions.size();
    }
    std::vector<double> us, cpu;
    us.reserve(sz.runs);
    cpu.reserve(sz.runs);
    auto t0 = Clock::now();
    for (int i = 0; i < sz.runs; ++i) {
      policy::RequestContext r = Request(prompts[i % 16]);
      const double c0 = ThreadCpuMicros();
      us.push_back(TimeOnce([&] {
        policy::Decision d = policy::Decide(pol, r);
        if (!d.allow) std::abort();
      }));
      cpu.push_back(ThreadCpuMicros() - c0);
    }
    double total = std::chrono::duration<double>(Clock::now() - t0).count();
    std::printf("%-8s %8d %12.0f %9.1f %9.1f %9.1f %9.1f %9.1f %6zu\n", sz.name, sz.runs,
                sz.runs / total, Percentile(us, 0.5), Percentile(us, 0.99), Percentile(us, 1.0),
                Percentile(cpu, 0.5), Percentile(cpu, 0.99), finds);
  }
  if (sizes_only) return 0;

  std::printf("\nadversarial inputs (full Decide, thread CPU time, best of 3; linear: 1 MiB ~ 4x 256 KiB)\n");
  std::printf("%-34s %10s %10s %10s %8s %6s\n", "input", "256 KiB ms", "512 KiB ms", "1 MiB ms",
              "ns/byte", "x4?");
  struct Adversarial {
    const char* name;
    std::string unit;
  };
  for (const Adversarial& a : {Adversarial{"'a.' runs (e-mail local parts)", "a."},
                               Adversarial{"'a@' runs", "a@"},
                               Adversarial{"digits", "1"},
                               Adversarial{"'1 ' (card groups)", "1 "},
                               Adversarial{"'1.' (IPv4-ish)", "1."},
                               Adversarial{"'1:' (IPv6-ish)", "1:"},
                               Adversarial{"key headers without END", "-----BEGIN PRIVATE KEY-----"},
                               Adversarial{"'DE89 ' (IBAN-ish)", "DE89 "},
                               Adversarial{"e-mails back to back", "a@example.com "},
                               Adversarial{"'é' (2-byte letters)", "é"}}) {
    double ms[3];
    size_t sizes[3] = {256u << 10, 512u << 10, 1u << 20};
    for (int k = 0; k < 3; ++k) {
      std::string s;
      while (s.size() < sizes[k]) s += a.unit;
      policy::RequestContext r = Request(s);
      // Best of three: a busy machine only ever adds time.
      ms[k] = 1e300;
      for (int rep = 0; rep < 3; ++rep) {
        const double c0 = ThreadCpuMicros();
        (void)policy::Decide(pol, r);
        ms[k] = std::min(ms[k], (ThreadCpuMicros() - c0) / 1000.0);
      }
    }
    std::printf("%-34s %10.2f %10.2f %10.2f %8.1f %6.1f\n", a.name, ms[0], ms[1], ms[2],
                ms[2] * 1e6 / static_cast<double>(sizes[2]), ms[2] / ms[0]);
  }
  return 0;
}
