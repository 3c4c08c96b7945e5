#include "audit/merkle.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace audit {
namespace {

// RFC 6962 reference leaves and roots (as used by Certificate Transparency
// implementations' tests).
std::vector<std::string> ReferenceLeaves() {
  return {std::string(),
          std::string("\x00", 1),
          std::string("\x10", 1),
          std::string("\x20\x21", 2),
          std::string("\x30\x31", 2),
          std::string("\x40\x41\x42\x43", 4),
          std::string("\x50\x51\x52\x53\x54\x55\x56\x57", 8),
          std::string("\x60\x61\x62\x63\x64\x65\x66\x67\x68\x69\x6a\x6b\x6c\x6d\x6e\x6f", 16)};
}

const char* kReferenceRoots[] = {
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
};

std::vector<Hash> Leaves(size_t n) {
  std::vector<Hash> out;
  for (size_t i = 0; i < n; ++i) out.push_back(LeafHash("leaf " + std::to_string(i)));
  return out;
}

TEST(MerkleTest, RootsMatchRfc6962ReferenceVectors) {
  auto data = ReferenceLeaves();
  Frontier f;
  std::vector<Hash> leaves;
  for (size_t i = 0; i < data.size(); ++i) {
    leaves.push_back(LeafHash(data[i]));
    f.Append(leaves.back());
    EXPECT_EQ(HashHex(f.Root()), kReferenceRoots[i]) << "size " << i + 1;
    EXPECT_EQ(HashHex(*TreeView(leaves).Root(i + 1)), kReferenceRoots[i]);
  }
  EXPECT_EQ(HashHex(EmptyRoot()),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST(MerkleTest, EveryInclusionProofVerifiesAndAFlippedBitFails) {
  auto leaves = Leaves(70);
  TreeView tree(leaves);
  for (uint64_t n = 1; n <= leaves.size(); ++n) {
    Hash root = *tree.Root(n);
    for (uint64_t i = 0; i < n; ++i) {
      auto proof = tree.InclusionProof(i, n);
      ASSERT_TRUE(proof.ok());
      ASSERT_TRUE(VerifyInclusion(i, n, leaves[i], *proof, root).ok()) << i << "/" << n;
      if (!proof->empty()) {
        auto bad = *proof;
        bad[0][5] ^= 1;
        EXPECT_EQ(VerifyInclusion(i, n, leaves[i], bad, root).code(),
                  common::StatusCode::kDataLoss);
      }
      if (n > 1) {
        EXPECT_FALSE(VerifyInclusion((i + 1) % n, n, leaves[i], *proof, root).ok());
      }
    }
  }
}

TEST(MerkleTest, EveryConsistencyProofVerifiesAndTamperedOnesFail) {
  auto leaves = Leaves(40);
  TreeView tree(leaves);
  for (uint64_t n = 1; n <= leaves.size(); ++n) {
    for (uint64_t m = 1; m <= n; ++m) {
      auto proof = tree.ConsistencyProof(m, n);
      ASSERT_TRUE(proof.ok());
      Hash old_root = *tree.Root(m), new_root = *tree.Root(n);
      ASSERT_TRUE(VerifyConsistency(m, n, old_root, new_root, *proof).ok()) << m << "->" << n;
      if (!proof->empty()) {
        auto bad = *proof;
        bad.back()[0] ^= 0x80;
        EXPECT_EQ(VerifyConsistency(m, n, old_root, new_root, bad).code(),
                  common::StatusCode::kDataLoss);
        auto shorter = *proof;
        shorter.pop_back();
        EXPECT_FALSE(VerifyConsistency(m, n, old_root, new_root, shorter).ok());
      }
      if (m < n) {
        Hash other = old_root;
        other[0] ^= 1;
        EXPECT_FALSE(VerifyConsistency(m, n, other, new_root, *proof).ok());
      }
    }
  }
}

TEST(MerkleTest, PrunedPrefixKeepsRootsAndLaterProofs) {
  auto leaves = Leaves(50);
  TreeView full(leaves);
  for (uint64_t cut : {1u, 8u, 13u, 32u}) {
    Frontier f;
    for (uint64_t i = 0; i < cut; ++i) f.Append(leaves[i]);
    std::span<const Hash> rest(leaves.data() + cut, leaves.size() - cut);
    TreeView pruned(f, rest);
    for (uint64_t n = cut; n <= leaves.size(); ++n) {
      EXPECT_EQ(*pruned.Root(n), *full.Root(n)) << cut << " " << n;
    }
    for (uint64_t i = cut; i < leaves.size(); ++i) {
      auto proof = pruned.InclusionProof(i, leaves.size());
      ASSERT_TRUE(proof.ok()) << proof.status();
      EXPECT_EQ(*proof, *full.InclusionProof(i, leaves.size()));
    }
    auto c = pruned.ConsistencyProof(cut, leaves.size());
    ASSERT_TRUE(c.ok());
    EXPECT_TRUE(VerifyConsistency(cut, leaves.size(), f.Root(), *full.Root(leaves.size()), *c).ok());
  }
  Frontier f13;
  for (int i = 0; i < 13; ++i) f13.Append(leaves[i]);
  TreeView pruned13(f13, std::span<const Hash>(leaves.data() + 13, leaves.size() - 13));
  EXPECT_EQ(pruned13.InclusionProof(3, 50).status().code(),
            common::StatusCode::kFailedPrecondition);
}

TEST(MerkleTest, FrontierFromNodesRejectsWrongNodeCount) {
  EXPECT_EQ(Frontier::FromNodes(5, {Hash{}}).status().code(), common::StatusCode::kDataLoss);
  EXPECT_TRUE(Frontier::FromNodes(5, {Hash{}, Hash{}}).ok());
}

}  // namespace
}  // namespace audit
