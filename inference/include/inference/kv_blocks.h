// KV block manager: the paged KV cache's bookkeeping, without any tensors.
//
// The cache is a pool of `num_blocks` blocks of `block_size` token slots each
// (the model owns the memory; this class owns which block belongs to whom).
// Blocks carry reference counts so that identical prompt beginnings share
// blocks ("prefix reuse"). Only FULL blocks are ever shared, so a shared block
// is never written again and copy-on-write is not needed.
//
// A full block is identified by a chained SHA-256:
//   hash[0] = SHA-256("kv1" | len(tenant) | tenant | tokens of block 0)
//   hash[i] = SHA-256(hash[i-1] | tokens of block i)
// The tenant key enters the first hash, so two tenants never share a block
// (prefix caches leak prompts through time-to-first-token otherwise; see
// CVE-2025-46570). Blocks whose reference count drops to zero stay cached in
// an LRU free list and are evicted, oldest first, only when a fresh block is
// needed.
//
// Not thread-safe: owned and driven by the Scheduler on the engine thread.
#ifndef INFERENCE_KV_BLOCKS_H_
#define INFERENCE_KV_BLOCKS_H_

#include <cstdint>
#include <memory>
#include <span>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/sha256.h"
#include "common/status.h"

namespace inference {

using BlockHash = common::Sha256::Digest;

// Chained hashes of the full blocks of `tokens` (tokens.size() / block_size
// of them), starting after `parent` hashes already computed for the same
// sequence: pass the hashes computed so far to extend the chain.
void ExtendBlockHashes(std::string_view tenant_key, int block_size,
                       std::span<const int32_t> tokens,
                       std::vector<BlockHash>* hashes);

class KvBlockManager {
 public:
  struct Stats {
    int64_t prefix_queries = 0;     // blocks looked up
    int64_t prefix_hits = 0;        // blocks found cached
    int64_t evictions = 0;          // cached blocks reused for new content
  };

  // num_blocks >= 1, block_size >= 1.
  static common::StatusOr<std::unique_ptr<KvBlockManager>> Create(
      int num_blocks, int block_size, bool enable_prefix_caching = true);

  int num_blocks() const { return static_cast<int>(blocks_.size()); }
  int block_size() const { return block_size_; }
  bool prefix_caching() const { return prefix_caching_; }
  // Blocks with no reference (free or cached-but-unused): what Allocate can hand out.
  int NumFreeBlocks() const { return num_free_; }
  int RefCount(int32_t block) const { return blocks_[block].ref_count; }
  bool IsCached(int32_t block) const { return blocks_[block].cached; }
  const Stats& stats() const { return stats_; }

  // Longest run of cached blocks matching `hashes` from the start. The
  // blocks are NOT referenced yet: call Acquire before anything else may
  // allocate. Never returns more than max_blocks.
  std::vector<int32_t> FindCachedPrefix(std::span<const BlockHash> hashes,
                                        size_t max_blocks);

  // Takes one reference on each block (blocks returned by FindCachedPrefix).
  void Acquire(std::span<const int32_t> blocks);

  // Appends `n` fresh blocks to `out` (evicting least recently released
  // cached blocks as needed). All or nothing: false (and `out` unchanged)
  // when fewer than n are free.
  bool Allocate(int n, std::vector<int32_t>* out);

  // Drops one reference on each block. Blocks whose count reaches zero go to
  // the free list; released in reverse order so a sequence's tail blocks are
  // evicted before its head (heads are likelier to be shared).
  void Release(std::span<const int32_t> blocks);

  // Declares that `block` now holds the full, final content identified by
  // `hash`, so later sequences may share it. A no-op when caching is off or
  // another block already holds that hash.
  void Commit(int32_t block, const BlockHash& hash);

  // Drops every cached (unreferenced) block from the prefix index.
  void ResetPrefixCache();

 private:
  struct Block {
    int32_t ref_count = 0;
    bool cached = false;   // present in index_
    BlockHash hash{};
    int32_t prev = -1;     // free-list links (valid when ref_count == 0)
    int32_t next = -1;
  };
  struct HashKey {
    size_t operator()(const BlockHash& h) const {
      size_t v = 0;
      for (int i = 0; i < 8; ++i) v = (v << 8) | h[i];
      return v;
    }
  };

  KvBlockManager(int num_blocks, int block_size, bool prefix_caching);
  void FreeListPushBack(int32_t b);
  void FreeListRemove(int32_t b);
  void Uncache(int32_t b);

  const int block_size_;
  const bool prefix_caching_;
  std::vector<Block> blocks_;
  int32_t free_head_ = -1;  // least recently released
  int32_t free_tail_ = -1;
  int num_free_ = 0;
  std::unordered_map<BlockHash, int32_t, HashKey> index_;
  Stats stats_;
};

}  // namespace inference

#endif  // INFERENCE_KV_BLOCKS_H_
