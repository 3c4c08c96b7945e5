// A process appending under load is killed with SIGKILL at random moments;
// after each kill every acknowledged record must be present and the ledger
// must verify. The child reports each acknowledgement through a pipe only
// after Append() returned, so an ack means "durable" by the ledger's promise.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <random>
#include <thread>
#include <vector>

#include "audit/ledger.h"
#include "test_util.h"

namespace audit {
namespace {

struct Ack {
  uint64_t seq;
  uint32_t round;
  uint32_t thread;
  uint64_t n;
};

[[noreturn]] void ChildMain(const std::string& path, const MasterKey& master,
                            std::shared_ptr<Signer> signer, int fd, uint32_t round) {
  LedgerOptions o;
  o.path = path;
  o.signer = std::move(signer);
  o.head_interval = 64;
  auto ledger = Ledger::Open(master, o);
  if (!ledger.ok()) _exit(3);
  std::vector<std::thread> threads;
  for (uint32_t t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (uint64_t n = 0;; ++n) {
        Record r = testing::MakeRecord(static_cast<int>(n));
        r.request_id = std::to_string(round) + "/" + std::to_string(t) + "/" + std::to_string(n);
        auto seq = (*ledger)->Append(r);
        if (!seq.ok()) _exit(4);
        Ack a{*seq, round, t, n};
        if (write(fd, &a, sizeof(a)) != static_cast<ssize_t>(sizeof(a))) _exit(5);
      }
    });
  }
  for (auto& t : threads) t.join();
  _exit(0);
}

TEST(CrashTest, AcknowledgedRecordsSurviveSigkillAtFiftyRandomMoments) {
  testing::TempDir dir;
  const std::string path = dir.File("ledger.db");
  MasterKey master = testing::TestMasterKey();
  auto signer = testing::TestSigner();
  std::mt19937 rng(20261129);
  std::vector<Ack> all_acks;
  uint64_t kills_mid_write = 0;
  for (uint32_t round = 0; round < 50; ++round) {
    int fds[2];
    ASSERT_EQ(pipe(fds), 0);
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      close(fds[0]);
      ChildMain(path, master, signer, fds[1], round);
    }
    close(fds[1]);
    // Kill after a random number of acknowledgements (0: during start-up).
    const int kill_after = round % 10 == 0 ? 0 : static_cast<int>(rng() % 400) + 1;
    int acked = 0;
    Ack a;
    while (acked < kill_after && read(fds[0], &a, sizeof(a)) == static_cast<ssize_t>(sizeof(a))) {
      all_acks.push_back(a);
      ++acked;
    }
    ASSERT_EQ(kill(pid, SIGKILL), 0);
    int status = 0;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFSIGNALED(status)) << "child exited with " << WEXITSTATUS(status);
    // Acks the child wrote before it died.
    while (read(fds[0], &a, sizeof(a)) == static_cast<ssize_t>(sizeof(a))) all_acks.push_back(a);
    close(fds[0]);
    if (acked > 0) ++kills_mid_write;

    auto reader = LedgerReader::Open(path, master);
    if (all_acks.empty() && (reader.status().reason() == "UNINITIALISED" ||
                             reader.status().code() == common::StatusCode::kNotFound)) {
      continue;  // killed before the ledger existed
    }
    ASSERT_TRUE(reader.ok()) << "round " << round << ": " << reader.status();
    VerifyOptions vo;
    vo.trusted_key = signer->public_key();
    auto report = (*reader)->Verify(vo);
    ASSERT_TRUE(report.ok()) << report.status();
    ASSERT_TRUE(report->ok()) << "round " << round << ": " << report->Summary();
    for (const Ack& ack : all_acks) {
      ASSERT_LT(ack.seq, report->tree_size) << "round " << round;
    }
    // Spot-check the content of this round's acks.
    for (auto it = all_acks.rbegin(); it != all_acks.rend() && it->round == round; ++it) {
      auto rec = (*reader)->Get(it->seq);
      ASSERT_TRUE(rec.ok()) << rec.status();
      ASSERT_EQ(rec->request_id, std::to_string(it->round) + "/" + std::to_string(it->thread) +
                                     "/" + std::to_string(it->n));
    }
  }
  EXPECT_GE(kills_mid_write, 40u);
  EXPECT_GT(all_acks.size(), 1000u);
  std::printf("crash test: 50 kills, %zu acknowledged records, all present\n", all_acks.size());
}

}  // namespace
}  // namespace audit
