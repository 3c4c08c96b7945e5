// Runs the fuzz target's body in CI (without libFuzzer): over valid records,
// every truncation and every single-byte change of them, and random bytes.
#include <gtest/gtest.h>

#include <random>
#include <string>

#include "audit/checkpoint.h"
#include "../test_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace audit {
namespace {

int Feed(const std::string& s) {
  return LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(s.data()), s.size());
}

TEST(RecordFuzzSmokeTest, MutationsOfValidInputsNeverCrashOrMisdecode) {
  std::vector<std::string> seeds;
  for (int i = 0; i < 5; ++i) seeds.push_back(*EncodeRecord(testing::MakeRecord(i)));
  auto signer = testing::TestSigner();
  seeds.push_back(SignCheckpoint(Checkpoint{"o", 7, Hash{}, 1}, *signer)->ToText());
  seeds.push_back(signer->public_key().ToVkey());
  std::mt19937 rng(7);
  for (const std::string& seed : seeds) {
    EXPECT_EQ(Feed(seed), 0);
    for (size_t cut = 0; cut < seed.size(); ++cut) EXPECT_EQ(Feed(seed.substr(0, cut)), 0);
    for (size_t i = 0; i < seed.size(); ++i) {
      std::string m = seed;
      m[i] = static_cast<char>(rng());
      EXPECT_EQ(Feed(m), 0);
    }
  }
  for (int i = 0; i < 2000; ++i) {
    std::string r(rng() % 300, '\0');
    for (char& c : r) c = static_cast<char>(rng());
    if (i % 2 == 0 && r.size() >= 3) r.replace(0, 3, "AR\x01");
    EXPECT_EQ(Feed(r), 0);
  }
}

}  // namespace
}  // namespace audit
