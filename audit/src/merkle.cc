#include "audit/merkle.h"

#include <openssl/sha.h>

#include <bit>
#include <cstring>
#include <string>

#include "common/sha256.h"

namespace audit {
namespace {

// Largest power of two strictly less than n (n >= 2).
uint64_t SplitPoint(uint64_t n) { return std::bit_floor(n - 1); }

common::Status Mismatch(const std::string& what) {
  return common::DataLossError("merkle proof: " + what);
}

}  // namespace

Hash LeafHash(std::string_view record_bytes) {
  // Records are small: copy behind the prefix byte and hash in one shot.
  thread_local std::string buf;
  buf.assign(1, '\0');
  buf.append(record_bytes);
  Hash out;
  SHA256(reinterpret_cast<const uint8_t*>(buf.data()), buf.size(), out.data());
  return out;
}

Hash NodeHash(const Hash& left, const Hash& right) {
  uint8_t buf[65];
  buf[0] = 0x01;
  std::memcpy(buf + 1, left.data(), 32);
  std::memcpy(buf + 33, right.data(), 32);
  Hash out;
  SHA256(buf, sizeof(buf), out.data());
  return out;
}

Hash EmptyRoot() {
  Hash out;
  SHA256(nullptr, 0, out.data());
  return out;
}

std::string HashHex(const Hash& h) { return common::HexEncode(h.data(), h.size()); }

common::StatusOr<Hash> HashFromHex(std::string_view hex) {
  ASSIGN_OR_RETURN(std::string raw, common::HexDecode(hex));
  if (raw.size() != 32) return common::InvalidArgumentError("hash must be 32 bytes of hex");
  Hash h;
  std::memcpy(h.data(), raw.data(), 32);
  return h;
}

common::StatusOr<Frontier> Frontier::FromNodes(uint64_t size, std::vector<Hash> nodes) {
  if (static_cast<size_t>(std::popcount(size)) != nodes.size()) {
    return common::DataLossError("frontier of size " + std::to_string(size) + " needs " +
                                 std::to_string(std::popcount(size)) + " nodes, got " +
                                 std::to_string(nodes.size()));
  }
  Frontier f;
  f.size_ = size;
  f.nodes_ = std::move(nodes);
  return f;
}

void Frontier::Append(const Hash& leaf) {
  Hash h = leaf;
  // Merge with the trailing perfect subtrees of equal height: one per
  // trailing set bit of the old size.
  for (uint64_t s = size_; s & 1; s >>= 1) {
    h = NodeHash(nodes_.back(), h);
    nodes_.pop_back();
  }
  nodes_.push_back(h);
  ++size_;
}

Hash Frontier::Root() const {
  if (nodes_.empty()) return EmptyRoot();
  Hash h = nodes_.back();
  for (size_t i = nodes_.size() - 1; i-- > 0;) h = NodeHash(nodes_[i], h);
  return h;
}

common::StatusOr<Hash> TreeView::Subtree(uint64_t lo, uint64_t hi) const {
  const uint64_t base = prefix_.size();
  if (hi - lo == 1 && lo >= base) return leaves_[lo - base];
  if (hi <= base) {
    // Must be one of the frontier's perfect subtrees.
    uint64_t start = 0;
    size_t i = 0;
    for (int bit = 63; bit >= 0; --bit) {
      uint64_t w = uint64_t{1} << bit;
      if (!(base & w)) continue;
      if (start == lo && start + w == hi) return prefix_.nodes()[i];
      start += w;
      ++i;
    }
    // A perfect subtree strictly inside a frontier node is gone; anything
    // else splits into frontier nodes below.
    if (!std::has_single_bit(hi - lo)) {
      uint64_t k = SplitPoint(hi - lo);
      ASSIGN_OR_RETURN(Hash left, Subtree(lo, lo + k));
      ASSIGN_OR_RETURN(Hash right, Subtree(lo + k, hi));
      return NodeHash(left, right);
    }
    return common::FailedPreconditionError(
        "the proof needs a node over records [" + std::to_string(lo) + ", " +
        std::to_string(hi) + ") that were pruned after their audit retention");
  }
  uint64_t k = SplitPoint(hi - lo);
  ASSIGN_OR_RETURN(Hash left, Subtree(lo, lo + k));
  ASSIGN_OR_RETURN(Hash right, Subtree(lo + k, hi));
  return NodeHash(left, right);
}

common::StatusOr<Hash> TreeView::Root(uint64_t tree_size) const {
  if (tree_size > size()) return common::OutOfRangeError("tree size beyond the ledger");
  if (tree_size == 0) return EmptyRoot();
  return Subtree(0, tree_size);
}

common::Status TreeView::Path(uint64_t m, uint64_t lo, uint64_t hi,
                              std::vector<Hash>& out) const {
  if (hi - lo == 1) return common::OkStatus();
  uint64_t k = SplitPoint(hi - lo);
  if (m < k) {
    RETURN_IF_ERROR(Path(m, lo, lo + k, out));
    ASSIGN_OR_RETURN(Hash h, Subtree(lo + k, hi));
    out.push_back(h);
  } else {
    RETURN_IF_ERROR(Path(m - k, lo + k, hi, out));
    ASSIGN_OR_RETURN(Hash h, Subtree(lo, lo + k));
    out.push_back(h);
  }
  return common::OkStatus();
}

common::StatusOr<std::vector<Hash>> TreeView::InclusionProof(uint64_t index,
                                                             uint64_t tree_size) const {
  if (tree_size > size() || index >= tree_size) {
    return common::OutOfRangeError("inclusion proof for leaf " + std::to_string(index) +
                                   " in tree of size " + std::to_string(tree_size) +
                                   " (ledger has " + std::to_string(size()) + ")");
  }
  std::vector<Hash> out;
  RETURN_IF_ERROR(Path(index, 0, tree_size, out));
  return out;
}

common::Status TreeView::SubProof(uint64_t m, uint64_t lo, uint64_t hi, bool whole,
                                  std::vector<Hash>& out) const {
  uint64_t n = hi - lo;
  if (m == n) {
    if (!whole) {
      ASSIGN_OR_RETURN(Hash h, Subtree(lo, hi));
      out.push_back(h);
    }
    return common::OkStatus();
  }
  uint64_t k = SplitPoint(n);
  if (m <= k) {
    RETURN_IF_ERROR(SubProof(m, lo, lo + k, whole, out));
    ASSIGN_OR_RETURN(Hash h, Subtree(lo + k, hi));
    out.push_back(h);
  } else {
    RETURN_IF_ERROR(SubProof(m - k, lo + k, hi, false, out));
    ASSIGN_OR_RETURN(Hash h, Subtree(lo, lo + k));
    out.push_back(h);
  }
  return common::OkStatus();
}

common::StatusOr<std::vector<Hash>> TreeView::ConsistencyProof(uint64_t old_size,
                                                               uint64_t new_size) const {
  if (new_size > size() || old_size > new_size) {
    return common::OutOfRangeError("consistency proof from " + std::to_string(old_size) +
                                   " to " + std::to_string(new_size) + " (ledger has " +
                                   std::to_string(size()) + ")");
  }
  std::vector<Hash> out;
  if (old_size == 0 || old_size == new_size) return out;
  RETURN_IF_ERROR(SubProof(old_size, 0, new_size, true, out));
  return out;
}

common::Status VerifyInclusion(uint64_t index, uint64_t tree_size, const Hash& leaf,
                               std::span<const Hash> proof, const Hash& root) {
  if (index >= tree_size) return Mismatch("leaf index beyond tree size");
  uint64_t fn = index, sn = tree_size - 1;
  Hash r = leaf;
  for (const Hash& p : proof) {
    if (sn == 0) return Mismatch("inclusion proof too long");
    if ((fn & 1) || fn == sn) {
      r = NodeHash(p, r);
      while (!(fn & 1) && fn != 0) {
        fn >>= 1;
        sn >>= 1;
      }
    } else {
      r = NodeHash(r, p);
    }
    fn >>= 1;
    sn >>= 1;
  }
  if (sn != 0) return Mismatch("inclusion proof too short");
  if (r != root) return Mismatch("inclusion proof does not lead to the root");
  return common::OkStatus();
}

common::Status VerifyConsistency(uint64_t old_size, uint64_t new_size, const Hash& old_root,
                                 const Hash& new_root, std::span<const Hash> proof) {
  if (old_size > new_size) return Mismatch("old tree larger than new tree");
  if (old_size == new_size) {
    if (!proof.empty()) return Mismatch("non-empty proof between equal sizes");
    if (old_root != new_root) return Mismatch("different roots for the same tree size");
    return common::OkStatus();
  }
  if (old_size == 0) {
    if (!proof.empty()) return Mismatch("non-empty proof from the empty tree");
    return common::OkStatus();
  }
  if (proof.empty()) return Mismatch("empty consistency proof");
  std::vector<Hash> path;
  if (std::has_single_bit(old_size)) path.push_back(old_root);
  path.insert(path.end(), proof.begin(), proof.end());
  uint64_t fn = old_size - 1, sn = new_size - 1;
  while (fn & 1) {
    fn >>= 1;
    sn >>= 1;
  }
  Hash fr = path[0], sr = path[0];
  for (size_t i = 1; i < path.size(); ++i) {
    const Hash& c = path[i];
    if (sn == 0) return Mismatch("consistency proof too long");
    if ((fn & 1) || fn == sn) {
      fr = NodeHash(c, fr);
      sr = NodeHash(c, sr);
      while (!(fn & 1) && fn != 0) {
        fn >>= 1;
        sn >>= 1;
      }
    } else {
      sr = NodeHash(sr, c);
    }
    fn >>= 1;
    sn >>= 1;
  }
  if (sn != 0) return Mismatch("consistency proof too short");
  if (fr != old_root) return Mismatch("consistency proof does not reproduce the old root");
  if (sr != new_root) return Mismatch("consistency proof does not reproduce the new root");
  return common::OkStatus();
}

}  // namespace audit
