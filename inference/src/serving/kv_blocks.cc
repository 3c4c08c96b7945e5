#include "inference/kv_blocks.h"

#include <cstring>
#include <string>

namespace inference {

void ExtendBlockHashes(std::string_view tenant_key, int block_size,
                       std::span<const int32_t> tokens,
                       std::vector<BlockHash>* hashes) {
  const size_t full = tokens.size() / static_cast<size_t>(block_size);
  for (size_t i = hashes->size(); i < full; ++i) {
    common::Sha256 h;
    if (i == 0) {
      // Domain tag, then the length-prefixed tenant key: "ab"+"c" != "a"+"bc".
      h.Update("kv1");
      const uint64_t len = tenant_key.size();
      h.Update(&len, sizeof(len));
      h.Update(tenant_key);
    } else {
      h.Update((*hashes)[i - 1].data(), (*hashes)[i - 1].size());
    }
    h.Update(tokens.data() + i * block_size, sizeof(int32_t) * block_size);
    hashes->push_back(h.Finish());
  }
}

common::StatusOr<std::unique_ptr<KvBlockManager>> KvBlockManager::Create(
    int num_blocks, int block_size, bool enable_prefix_caching) {
  if (num_blocks < 1) {
    return common::InvalidArgumentError("KV cache needs at least one block, got " +
                                        std::to_string(num_blocks));
  }
  if (block_size < 1) {
    return common::InvalidArgumentError("KV block size must be positive, got " +
                                        std::to_string(block_size));
  }
  return std::unique_ptr<KvBlockManager>(
      new KvBlockManager(num_blocks, block_size, enable_prefix_caching));
}

KvBlockManager::KvBlockManager(int num_blocks, int block_size, bool prefix_caching)
    : block_size_(block_size), prefix_caching_(prefix_caching), blocks_(num_blocks) {
  for (int32_t b = 0; b < num_blocks; ++b) FreeListPushBack(b);
}

void KvBlockManager::FreeListPushBack(int32_t b) {
  Block& blk = blocks_[b];
  blk.prev = free_tail_;
  blk.next = -1;
  if (free_tail_ >= 0) {
    blocks_[free_tail_].next = b;
  } else {
    free_head_ = b;
  }
  free_tail_ = b;
  ++num_free_;
}

void KvBlockManager::FreeListRemove(int32_t b) {
  Block& blk = blocks_[b];
  if (blk.prev >= 0) {
    blocks_[blk.prev].next = blk.next;
  } else {
    free_head_ = blk.next;
  }
  if (blk.next >= 0) {
    blocks_[blk.next].prev = blk.prev;
  } else {
    free_tail_ = blk.prev;
  }
  blk.prev = blk.next = -1;
  --num_free_;
}

void KvBlockManager::Uncache(int32_t b) {
  Block& blk = blocks_[b];
  if (!blk.cached) return;
  auto it = index_.find(blk.hash);
  if (it != index_.end() && it->second == b) index_.erase(it);
  blk.cached = false;
}

std::vector<int32_t> KvBlockManager::FindCachedPrefix(std::span<const BlockHash> hashes,
                                                      size_t max_blocks) {
  std::vector<int32_t> found;
  if (!prefix_caching_) return found;
  for (size_t i = 0; i < hashes.size() && i < max_blocks; ++i) {
    ++stats_.prefix_queries;
    auto it = index_.find(hashes[i]);
    if (it == index_.end()) break;
    ++stats_.prefix_hits;
    found.push_back(it->second);
  }
  return found;
}

void KvBlockManager::Acquire(std::span<const int32_t> blocks) {
  for (int32_t b : blocks) {
    if (blocks_[b].ref_count == 0) FreeListRemove(b);
    ++blocks_[b].ref_count;
  }
}

bool KvBlockManager::Allocate(int n, std::vector<int32_t>* out) {
  if (n < 0 || n > num_free_) return false;
  for (int i = 0; i < n; ++i) {
    const int32_t b = free_head_;
    FreeListRemove(b);
    if (blocks_[b].cached) {
      Uncache(b);
      ++stats_.evictions;
    }
    blocks_[b].ref_count = 1;
    out->push_back(b);
  }
  return true;
}

void KvBlockManager::Release(std::span<const int32_t> blocks) {
  for (size_t i = blocks.size(); i-- > 0;) {
    const int32_t b = blocks[i];
    if (--blocks_[b].ref_count == 0) FreeListPushBack(b);
  }
}

void KvBlockManager::Commit(int32_t block, const BlockHash& hash) {
  if (!prefix_caching_) return;
  Block& blk = blocks_[block];
  if (blk.cached) return;
  auto [it, inserted] = index_.emplace(hash, block);
  if (!inserted) return;  // identical content already cached in another block
  blk.cached = true;
  blk.hash = hash;
}

void KvBlockManager::ResetPrefixCache() {
  for (int32_t b = 0; b < num_blocks(); ++b) {
    if (blocks_[b].ref_count == 0) Uncache(b);
  }
}

}  // namespace inference
