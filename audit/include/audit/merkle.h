// The ledger's Merkle tree, as in RFC 6962 / RFC 9162 section 2.1:
//   leaf hash = SHA-256(0x00 || record bytes)
//   node hash = SHA-256(0x01 || left || right)
// with inclusion and consistency proofs and their verification algorithms
// (RFC 9162 2.1.3.2 and 2.1.4.2).
#ifndef AUDIT_MERKLE_H_
#define AUDIT_MERKLE_H_

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace audit {

using Hash = std::array<uint8_t, 32>;

Hash LeafHash(std::string_view record_bytes);
Hash NodeHash(const Hash& left, const Hash& right);
// Root of the empty tree: SHA-256 of the empty string.
Hash EmptyRoot();
std::string HashHex(const Hash& h);
common::StatusOr<Hash> HashFromHex(std::string_view hex);

// The compact range [0, size): the roots of the perfect subtrees that the
// binary decomposition of `size` yields, largest first. Appending a leaf is
// amortised O(1); the root of the current tree is O(log size).
class Frontier {
 public:
  Frontier() = default;
  // Rebuilds from stored nodes; fails if the node count does not match size.
  static common::StatusOr<Frontier> FromNodes(uint64_t size, std::vector<Hash> nodes);

  void Append(const Hash& leaf);
  Hash Root() const;
  uint64_t size() const { return size_; }
  const std::vector<Hash>& nodes() const { return nodes_; }

 private:
  uint64_t size_ = 0;
  std::vector<Hash> nodes_;  // one per set bit of size_, most significant first
};

// A tree given by its leaf hashes, optionally with a pruned prefix [0, base)
// of which only the frontier is kept (records deleted after their audit
// retention). Proofs that need a node inside the pruned prefix that is not a
// frontier node fail with FAILED_PRECONDITION.
class TreeView {
 public:
  TreeView(Frontier pruned_prefix, std::span<const Hash> leaves_after_prefix)
      : prefix_(std::move(pruned_prefix)), leaves_(leaves_after_prefix) {}
  explicit TreeView(std::span<const Hash> leaves) : leaves_(leaves) {}

  uint64_t size() const { return prefix_.size() + leaves_.size(); }
  common::StatusOr<Hash> Root(uint64_t tree_size) const;
  // Audit path for leaf `index` in the tree of the first `tree_size` leaves.
  common::StatusOr<std::vector<Hash>> InclusionProof(uint64_t index, uint64_t tree_size) const;
  // Proof that the tree of size `old_size` is a prefix of the tree of `new_size`.
  common::StatusOr<std::vector<Hash>> ConsistencyProof(uint64_t old_size,
                                                       uint64_t new_size) const;

 private:
  common::StatusOr<Hash> Subtree(uint64_t lo, uint64_t hi) const;
  common::Status Path(uint64_t m, uint64_t lo, uint64_t hi, std::vector<Hash>& out) const;
  common::Status SubProof(uint64_t m, uint64_t lo, uint64_t hi, bool whole,
                          std::vector<Hash>& out) const;

  Frontier prefix_;
  std::span<const Hash> leaves_;
};

// Verification. Each returns OK or DATA_LOSS saying what did not match.
common::Status VerifyInclusion(uint64_t index, uint64_t tree_size, const Hash& leaf,
                               std::span<const Hash> proof, const Hash& root);
common::Status VerifyConsistency(uint64_t old_size, uint64_t new_size, const Hash& old_root,
                                 const Hash& new_root, std::span<const Hash> proof);

}  // namespace audit

#endif  // AUDIT_MERKLE_H_
