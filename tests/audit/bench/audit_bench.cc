// Audit ledger benchmark: durable appends per second with 1, 8 and 64
// concurrent writers, p50/p99 append latency, verification speed, and
// database size per 1,000 records. Prints figures; not a test.
//
//   audit_bench [--dir DIR] [--seconds S] [--verify-records N]
#include <sys/stat.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <ctime>
#include <fcntl.h>
#include <unistd.h>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "audit/ledger.h"

namespace {

using Clock = std::chrono::steady_clock;

audit::Record SampleRecord(uint64_t i) {
  audit::Record r;
  r.event = i % 2 ? audit::EventType::kChatOutcome : audit::EventType::kChatRequest;
  r.subject = "user" + std::to_string(i % 400) + "@agency.example";
  r.subject_cert = "5f0c2a9e4d1b7c8a6e3f2d1c0b9a8f7e6d5c4b3a29181716f5e4d3c2b1a09f8e";
  r.source_address = "10.20." + std::to_string(i % 200) + "." + std::to_string(i % 250);
  r.model_name = "llama-3.1-8b-instruct-q4_k_m";
  r.model_sha256 = "0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0";
  r.chat_template_sha256 = "aa1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1aa";
  r.policy_sha256 = "bb1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1bb";
  r.decision = "allow";
  r.classification = "internal";
  r.prompt_tokens = static_cast<uint32_t>(100 + i % 900);
  r.completion_tokens = static_cast<uint32_t>(i % 500);
  r.latency_us = 1000 + i % 100000;
  r.conversation_id = "c-" + std::to_string(i / 8);
  r.request_id = "r-" + std::to_string(i);
  r.content_sha256 = "cc1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1cc";
  return r;
}

uint64_t FileSize(const std::string& p) {
  struct stat st {};
  return ::stat(p.c_str(), &st) == 0 ? static_cast<uint64_t>(st.st_size) : 0;
}

struct Result {
  double per_second;
  double p50_us, p99_us, max_us;
  uint64_t appends;
};

Result RunWriters(const std::string& path, const audit::MasterKey& key,
                  std::shared_ptr<audit::Signer> signer, int writers, double seconds) {
  audit::LedgerOptions o;
  o.path = path;
  o.signer = signer;
  auto ledger = std::move(*audit::Ledger::Open(key, o));
  std::atomic<bool> stop{false};
  std::vector<std::vector<double>> lat(static_cast<size_t>(writers));
  std::vector<std::thread> threads;
  auto start = Clock::now();
  for (int w = 0; w < writers; ++w) {
    threads.emplace_back([&, w] {
      uint64_t i = static_cast<uint64_t>(w) << 32;
      while (!stop.load(std::memory_order_relaxed)) {
        auto t0 = Clock::now();
        auto seq = ledger->Append(SampleRecord(i++));
        if (!seq.ok()) {
          std::fprintf(stderr, "append failed: %s\n", seq.status().ToString().c_str());
          std::abort();
        }
        lat[static_cast<size_t>(w)].push_back(
            std::chrono::duration<double, std::micro>(Clock::now() - t0).count());
      }
    });
  }
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  stop = true;
  for (auto& t : threads) t.join();
  double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  std::vector<double> all;
  for (auto& v : lat) all.insert(all.end(), v.begin(), v.end());
  std::sort(all.begin(), all.end());
  Result r{};
  r.appends = all.size();
  r.per_second = static_cast<double>(all.size()) / elapsed;
  r.p50_us = all[all.size() / 2];
  r.p99_us = all[all.size() * 99 / 100];
  r.max_us = all.back();
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  std::string dir = "/tmp/audit-bench";
  double seconds = 5;
  uint64_t verify_records = 300000;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string a = argv[i];
    if (a == "--dir") dir = argv[i + 1];
    else if (a == "--seconds") seconds = std::atof(argv[i + 1]);
    else if (a == "--verify-records") verify_records = std::strtoull(argv[i + 1], nullptr, 10);
  }
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  auto key = *audit::MasterKey::Generate();
  auto signer = std::shared_ptr<audit::Signer>(std::move(*audit::Signer::Generate("bench")));

  {
    // The floor under any durable append: one fdatasync on this file system.
    std::string probe = dir + "/fsync-probe";
    int fd = ::open(probe.c_str(), O_RDWR | O_CREAT, 0600);
    std::string block(16384, 'x');
    for (int i = 0; i < 64; ++i) (void)!::pwrite(fd, block.data(), block.size(), i * 16384);
    ::fdatasync(fd);
    std::vector<double> t;
    for (int i = 0; i < 100; ++i) {
      auto a = Clock::now();
      (void)!::pwrite(fd, block.data(), block.size(), (i % 64) * 16384);
      ::fdatasync(fd);
      t.push_back(std::chrono::duration<double, std::micro>(Clock::now() - a).count());
    }
    ::close(fd);
    std::sort(t.begin(), t.end());
    std::printf("fdatasync (16 KiB overwrite) on %s: p50 %.0f us, p99 %.0f us -> at most %.0f"
                " durable appends/s for 64 synchronous writers\n",
                dir.c_str(), t[50], t[99], 64e6 / t[50]);
  }
  std::printf("durable appends (WAL, synchronous=FULL, group commit), %.0f s each\n", seconds);
  std::printf("%8s %12s %12s %12s %12s %10s\n", "writers", "appends/s", "p50 us", "p99 us",
              "max us", "appends");
  for (int writers : {1, 8, 64}) {
    std::string path = dir + "/w" + std::to_string(writers) + ".db";
    Result r = RunWriters(path, key, signer, writers, seconds);
    std::printf("%8d %12.0f %12.0f %12.0f %12.0f %10llu\n", writers, r.per_second, r.p50_us,
                r.p99_us, r.max_us, static_cast<unsigned long long>(r.appends));
    std::fflush(stdout);
  }

  // A ledger of verify_records records for verification and size.
  std::string path = dir + "/verify.db";
  {
    audit::LedgerOptions o;
    o.path = path;
    o.signer = signer;
    auto ledger = std::move(*audit::Ledger::Open(key, o));
    std::atomic<uint64_t> next{0};
    std::vector<std::thread> threads;
    for (int w = 0; w < 64; ++w) {
      threads.emplace_back([&] {
        for (uint64_t i = next++; i < verify_records; i = next++) {
          if (!ledger->Append(SampleRecord(i)).ok()) std::abort();
        }
      });
    }
    for (auto& t : threads) t.join();
  }
  auto reader = std::move(*audit::LedgerReader::Open(path, key));
  audit::VerifyOptions vo;
  vo.trusted_key = signer->public_key();
  auto t0 = Clock::now();
  std::clock_t c0 = std::clock();
  auto report = reader->Verify(vo);
  double secs = std::chrono::duration<double>(Clock::now() - t0).count();
  double cpu = static_cast<double>(std::clock() - c0) / CLOCKS_PER_SEC;
  if (!report.ok() || !report->ok()) {
    std::fprintf(stderr, "verification failed\n");
    return 1;
  }
  std::printf("verify: %llu records in %.3f s wall = %.0f records/s; %.3f s CPU = %.0f records"
              " per CPU-second (%llu signed heads checked)\n",
              static_cast<unsigned long long>(report->records_checked), secs,
              static_cast<double>(report->records_checked) / secs, cpu,
              static_cast<double>(report->records_checked) / cpu,
              static_cast<unsigned long long>(report->heads_checked));
  reader.reset();  // the database is closed and checkpointed: its file holds everything
  uint64_t bytes = FileSize(path);
  std::printf("size: %llu bytes for %llu records = %.0f bytes per 1,000 records"
              " (database file after close; WAL %llu bytes)\n",
              static_cast<unsigned long long>(bytes),
              static_cast<unsigned long long>(verify_records),
              static_cast<double>(bytes) * 1000.0 / static_cast<double>(verify_records),
              static_cast<unsigned long long>(FileSize(path + "-wal")));
  audit::Record sample = SampleRecord(12345);
  std::printf("sample record: %zu bytes encoded\n", audit::EncodeRecord(sample)->size());
  std::filesystem::remove_all(dir);
  return 0;
}
