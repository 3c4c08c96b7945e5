#include "inference/kv_blocks.h"

#include <gtest/gtest.h>

#include <numeric>
#include <vector>

namespace inference {
namespace {

std::vector<int32_t> Iota(int n, int32_t start = 0) {
  std::vector<int32_t> v(n);
  std::iota(v.begin(), v.end(), start);
  return v;
}

TEST(KvBlockManagerTest, CreateRefusesEmptyPoolAndZeroBlockSize) {
  EXPECT_EQ(KvBlockManager::Create(0, 16).status().code(), common::StatusCode::kInvalidArgument);
  EXPECT_EQ(KvBlockManager::Create(4, 0).status().code(), common::StatusCode::kInvalidArgument);
}

TEST(KvBlockManagerTest, AllocateIsAllOrNothing) {
  auto m = *KvBlockManager::Create(4, 16);
  std::vector<int32_t> blocks;
  ASSERT_TRUE(m->Allocate(3, &blocks));
  EXPECT_EQ(blocks.size(), 3u);
  EXPECT_EQ(m->NumFreeBlocks(), 1);
  EXPECT_FALSE(m->Allocate(2, &blocks));
  EXPECT_EQ(blocks.size(), 3u);
  EXPECT_EQ(m->NumFreeBlocks(), 1);
  m->Release(blocks);
  EXPECT_EQ(m->NumFreeBlocks(), 4);
}

TEST(KvBlockManagerTest, HashChainDependsOnTenantAndOnEveryEarlierBlock) {
  const auto tokens = Iota(48);
  std::vector<BlockHash> a, b, c;
  ExtendBlockHashes("tenant-a", 16, tokens, &a);
  ExtendBlockHashes("tenant-b", 16, tokens, &b);
  ASSERT_EQ(a.size(), 3u);
  for (size_t i = 0; i < 3; ++i) EXPECT_NE(a[i], b[i]) << i;

  auto changed = tokens;
  changed[0] = 999;  // only the first block differs...
  ExtendBlockHashes("tenant-a", 16, changed, &c);
  for (size_t i = 0; i < 3; ++i) EXPECT_NE(a[i], c[i]) << i;  // ...yet every hash changes
}

TEST(KvBlockManagerTest, ExtendingHashesIncrementallyMatchesOneShot) {
  const auto tokens = Iota(64);
  std::vector<BlockHash> whole, parts;
  ExtendBlockHashes("t", 16, tokens, &whole);
  ExtendBlockHashes("t", 16, std::span<const int32_t>(tokens.data(), 20), &parts);
  ASSERT_EQ(parts.size(), 1u);  // partial block not hashed
  ExtendBlockHashes("t", 16, tokens, &parts);
  EXPECT_EQ(parts, whole);
}

TEST(KvBlockManagerTest, TenantKeyBoundaryIsUnambiguous) {
  // Length-prefixed: tenant "ab" with tokens X never equals tenant "a" with "b"+X.
  std::vector<BlockHash> a, b;
  ExtendBlockHashes("ab", 1, std::vector<int32_t>{5}, &a);
  ExtendBlockHashes("a", 1, std::vector<int32_t>{5}, &b);
  EXPECT_NE(a[0], b[0]);
}

TEST(KvBlockManagerTest, CommittedBlocksAreFoundAndSharedWithRefCounts) {
  auto m = *KvBlockManager::Create(8, 4);
  const auto tokens = Iota(10);
  std::vector<BlockHash> hashes;
  ExtendBlockHashes("t", 4, tokens, &hashes);
  ASSERT_EQ(hashes.size(), 2u);

  std::vector<int32_t> first;
  ASSERT_TRUE(m->Allocate(3, &first));
  m->Commit(first[0], hashes[0]);
  m->Commit(first[1], hashes[1]);

  auto found = m->FindCachedPrefix(hashes, 10);
  ASSERT_EQ(found, (std::vector<int32_t>{first[0], first[1]}));
  m->Acquire(found);
  EXPECT_EQ(m->RefCount(first[0]), 2);
  EXPECT_EQ(m->stats().prefix_hits, 2);

  m->Release(first);
  EXPECT_EQ(m->RefCount(first[0]), 1);
  EXPECT_EQ(m->RefCount(first[2]), 0);
  m->Release(found);
  EXPECT_EQ(m->NumFreeBlocks(), 8);
  // Unreferenced but still cached: a later sequence finds them again.
  EXPECT_EQ(m->FindCachedPrefix(hashes, 10).size(), 2u);
}

TEST(KvBlockManagerTest, OtherTenantNeverFindsTheBlocks) {
  auto m = *KvBlockManager::Create(8, 4);
  const auto tokens = Iota(8);
  std::vector<BlockHash> mine, theirs;
  ExtendBlockHashes("tenant-a", 4, tokens, &mine);
  ExtendBlockHashes("tenant-b", 4, tokens, &theirs);
  std::vector<int32_t> blocks;
  ASSERT_TRUE(m->Allocate(2, &blocks));
  m->Commit(blocks[0], mine[0]);
  m->Commit(blocks[1], mine[1]);
  EXPECT_TRUE(m->FindCachedPrefix(theirs, 10).empty());
  EXPECT_EQ(m->FindCachedPrefix(mine, 10).size(), 2u);
}

TEST(KvBlockManagerTest, FindStopsAtFirstMissAndRespectsMax) {
  auto m = *KvBlockManager::Create(8, 2);
  std::vector<BlockHash> hashes;
  ExtendBlockHashes("t", 2, Iota(6), &hashes);
  std::vector<int32_t> blocks;
  ASSERT_TRUE(m->Allocate(3, &blocks));
  m->Commit(blocks[0], hashes[0]);
  m->Commit(blocks[2], hashes[2]);  // block 1 missing: chain breaks there
  EXPECT_EQ(m->FindCachedPrefix(hashes, 10).size(), 1u);
  m->Commit(blocks[1], hashes[1]);
  EXPECT_EQ(m->FindCachedPrefix(hashes, 10).size(), 3u);
  EXPECT_EQ(m->FindCachedPrefix(hashes, 2).size(), 2u);
}

TEST(KvBlockManagerTest, EvictionTakesLeastRecentlyReleasedFirst) {
  auto m = *KvBlockManager::Create(3, 1);
  std::vector<BlockHash> h;
  ExtendBlockHashes("t", 1, Iota(3), &h);
  std::vector<int32_t> a, b;
  ASSERT_TRUE(m->Allocate(1, &a));
  ASSERT_TRUE(m->Allocate(1, &b));
  m->Commit(a[0], h[0]);
  m->Commit(b[0], h[1]);
  m->Release(a);  // released first => evicted first
  m->Release(b);
  std::vector<int32_t> fresh;
  ASSERT_TRUE(m->Allocate(2, &fresh));  // the never-used block, then a's
  EXPECT_FALSE(m->IsCached(a[0]));
  EXPECT_TRUE(m->IsCached(b[0]));
  EXPECT_EQ(m->stats().evictions, 1);
  std::vector<BlockHash> only_first(h.begin(), h.begin() + 1);
  EXPECT_TRUE(m->FindCachedPrefix(only_first, 1).empty());
}

TEST(KvBlockManagerTest, ReusedBlockInFreeListIsNotHandedOutTwice) {
  auto m = *KvBlockManager::Create(2, 1);
  std::vector<BlockHash> h;
  ExtendBlockHashes("t", 1, Iota(1), &h);
  std::vector<int32_t> a;
  ASSERT_TRUE(m->Allocate(1, &a));
  m->Commit(a[0], h[0]);
  m->Release(a);
  auto found = m->FindCachedPrefix(h, 1);
  m->Acquire(found);  // revived from the free list
  EXPECT_EQ(m->NumFreeBlocks(), 1);
  std::vector<int32_t> fresh;
  ASSERT_TRUE(m->Allocate(1, &fresh));
  EXPECT_NE(fresh[0], a[0]);
  EXPECT_FALSE(m->Allocate(1, &fresh));
}

TEST(KvBlockManagerTest, DisabledCachingNeverShares) {
  auto m = *KvBlockManager::Create(4, 2, /*enable_prefix_caching=*/false);
  std::vector<BlockHash> h;
  ExtendBlockHashes("t", 2, Iota(2), &h);
  std::vector<int32_t> a;
  ASSERT_TRUE(m->Allocate(1, &a));
  m->Commit(a[0], h[0]);
  EXPECT_TRUE(m->FindCachedPrefix(h, 1).empty());
}

TEST(KvBlockManagerTest, ResetPrefixCacheForgetsUnreferencedBlocksOnly) {
  auto m = *KvBlockManager::Create(4, 1);
  std::vector<BlockHash> h;
  ExtendBlockHashes("t", 1, Iota(2), &h);
  std::vector<int32_t> a;
  ASSERT_TRUE(m->Allocate(2, &a));
  m->Commit(a[0], h[0]);
  m->Commit(a[1], h[1]);
  m->Release(std::span<const int32_t>(a.data() + 1, 1));
  m->ResetPrefixCache();
  EXPECT_TRUE(m->IsCached(a[0]));
  EXPECT_FALSE(m->IsCached(a[1]));
}

}  // namespace
}  // namespace inference
