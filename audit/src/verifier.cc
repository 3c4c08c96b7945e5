#include "verifier.h"

#include <algorithm>

#include "audit/record.h"

namespace audit::internal {

std::string_view FindingKindNameImpl(FindingKind kind) {
  switch (kind) {
    case FindingKind::kModified: return "modified";
    case FindingKind::kMissing: return "missing";
    case FindingKind::kReordered: return "reordered";
    case FindingKind::kInserted: return "inserted";
    case FindingKind::kTruncated: return "truncated";
    case FindingKind::kRolledBack: return "rolled_back";
    case FindingKind::kForked: return "forked";
    case FindingKind::kBadSignature: return "bad_signature";
    case FindingKind::kKeyReplaced: return "key_replaced";
  }
  return "unknown";
}

StreamVerifier::StreamVerifier(VerifyInput input, const VerifyOptions& options)
    : in_(std::move(input)), options_(options), start_(std::chrono::steady_clock::now()) {
  frontier_ = in_.pruned;
  report_.first_seq = in_.pruned.size();
  // Which key do we trust? The caller's, else the one the checkpoints name
  // (it must be the stored one), else the stored one on first use.
  if (options_.trusted_key) {
    key_ = options_.trusted_key;
    report_.key_pinned = true;
    if (in_.stored_key && !(*in_.stored_key == *options_.trusted_key)) {
      AddFinding(FindingKind::kKeyReplaced, in_.pruned.size(),
                 "the ledger names signing key " + in_.stored_key->name() + "+" +
                     in_.stored_key->key_id_hex() + ", not the trusted key " +
                     options_.trusted_key->name() + "+" + options_.trusted_key->key_id_hex() +
                     ": the signing key was replaced");
    }
  } else {
    key_ = in_.stored_key;
    if (!options_.checkpoints.empty() && in_.stored_key) {
      report_.key_pinned = true;
      for (const auto& cp : options_.checkpoints) {
        if (cp.key_id != in_.stored_key->key_id() || cp.key_name != in_.stored_key->name()) {
          char id[9];
          std::snprintf(id, sizeof(id), "%08x", cp.key_id);
          AddFinding(FindingKind::kKeyReplaced, in_.pruned.size(),
                     "the external checkpoint at size " +
                         std::to_string(cp.checkpoint.tree_size) + " was signed by key " +
                         cp.key_name + "+" + id + " but the ledger names key " +
                         in_.stored_key->name() + "+" + in_.stored_key->key_id_hex() +
                         ": the signing key was replaced");
          key_.reset();  // nothing in the ledger can be trusted then
          break;
        }
      }
    } else {
      report_.notes.push_back(
          "signing key not pinned: trusting the key stored in the ledger (pass the trusted "
          "public key or a checkpoint kept off the machine)");
    }
  }
  std::sort(in_.heads.begin(), in_.heads.end(), [](const auto& a, const auto& b) {
    return a.checkpoint.tree_size < b.checkpoint.tree_size;
  });
  for (const auto& h : in_.heads) {
    if (h.checkpoint.origin != in_.origin) {
      AddFinding(FindingKind::kBadSignature, h.checkpoint.tree_size ? h.checkpoint.tree_size - 1 : 0,
                 "a signed head names another log (" + h.checkpoint.origin + ")");
      continue;
    }
    if (key_) {
      common::Status st = h.Verify(*key_);
      ++report_.heads_checked;
      if (!st.ok()) {
        uint64_t end = h.checkpoint.tree_size ? h.checkpoint.tree_size - 1 : 0;
        AddFinding(st.reason() == "KEY_MISMATCH" ? FindingKind::kKeyReplaced
                                                 : FindingKind::kBadSignature,
                   end, "signed head at tree size " + std::to_string(h.checkpoint.tree_size) +
                            ": " + st.message());
        continue;
      }
    }
    if (h.checkpoint.tree_size < in_.pruned.size()) continue;
    heads_at_[h.checkpoint.tree_size].push_back(&h);
  }
  for (const auto& cp : options_.checkpoints) {
    ++report_.checkpoints_checked;
    if (cp.checkpoint.origin != in_.origin) {
      AddFinding(FindingKind::kForked, 0,
                 "the checkpoint is for log '" + cp.checkpoint.origin + "', this ledger is '" +
                     in_.origin + "'");
      continue;
    }
    if (key_) {
      common::Status st = cp.Verify(*key_);
      if (!st.ok()) {
        AddFinding(st.reason() == "KEY_MISMATCH" ? FindingKind::kKeyReplaced
                                                 : FindingKind::kBadSignature,
                   in_.pruned.size(), "external " + st.message());
        continue;
      }
    }
    if (cp.checkpoint.tree_size < in_.pruned.size()) {
      report_.notes.push_back("checkpoint at size " + std::to_string(cp.checkpoint.tree_size) +
                              " predates the pruned prefix (" +
                              std::to_string(in_.pruned.size()) + " records); not comparable");
      continue;
    }
    checkpoints_at_[cp.checkpoint.tree_size].push_back(&cp);
  }
  CheckSizesAt(frontier_.size());
}

void StreamVerifier::AddFinding(FindingKind kind, uint64_t seq, std::string message,
                                uint64_t seq_end) {
  report_.findings.push_back(Finding{kind, seq, seq_end ? seq_end : seq, std::move(message)});
}

void StreamVerifier::CheckSizesAt(uint64_t size) {
  auto h = heads_at_.find(size);
  auto c = checkpoints_at_.find(size);
  if (h == heads_at_.end() && c == checkpoints_at_.end()) return;
  Hash root = frontier_.Root();
  if (h != heads_at_.end()) {
    for (const SignedCheckpoint* head : h->second) {
      if (head->checkpoint.root != root) {
        uint64_t lo = last_good_head_;
        AddFinding(FindingKind::kModified, lo,
                   "the signed head at tree size " + std::to_string(size) +
                       " does not match the stored records: a record in seq [" +
                       std::to_string(lo) + ", " + std::to_string(size - 1) +
                       "] was altered, inserted or removed",
                   size - 1);
        stopped_ = true;
      } else {
        last_good_head_ = size;
      }
    }
    heads_at_.erase(h);
  }
  if (c != checkpoints_at_.end()) {
    for (const SignedCheckpoint* cp : c->second) {
      if (cp->checkpoint.root != root) {
        AddFinding(FindingKind::kForked, last_good_head_,
                   "the database's history differs from the checkpoint of " +
                       FormatTime(cp->checkpoint.time_us) + " at tree size " +
                       std::to_string(size) + ": records in seq [" +
                       std::to_string(last_good_head_) + ", " + std::to_string(size - 1) +
                       "] were rewritten",
                   size - 1);
        stopped_ = true;
      }
    }
    checkpoints_at_.erase(c);
  }
}

bool StreamVerifier::Add(uint64_t row_seq, std::string_view body, const Hash* stored_leaf) {
  if (stopped_) return false;
  const uint64_t expected = frontier_.size();
  if (row_seq != expected) {
    if (row_seq > expected) {
      AddFinding(FindingKind::kMissing, expected,
                 "record " + std::to_string(expected) + (row_seq - expected > 1 ? " to " + std::to_string(row_seq - 1) : std::string()) +
                     " missing: the next stored record is " + std::to_string(row_seq), row_seq - 1);
    } else {
      AddFinding(FindingKind::kInserted, row_seq,
                 "record " + std::to_string(row_seq) + " appears twice");
    }
    stopped_ = true;
    return false;
  }
  auto rec = DecodeRecord(body);
  if (!rec.ok()) {
    AddFinding(FindingKind::kModified, row_seq,
               "record " + std::to_string(row_seq) + " was altered: " + rec.status().message());
    stopped_ = true;
    return false;
  }
  if (rec->seq != row_seq) {
    AddFinding(FindingKind::kReordered, row_seq,
               "the record stored at position " + std::to_string(row_seq) + " is record " +
                   std::to_string(rec->seq) + ": records were swapped or moved");
    stopped_ = true;
    return false;
  }
  if (rec->time_us < last_time_) {
    AddFinding(FindingKind::kReordered, row_seq,
               "record " + std::to_string(row_seq) + " is older than the record before it");
    stopped_ = true;
    return false;
  }
  last_time_ = rec->time_us;
  Hash leaf = LeafHash(body);
  if (stored_leaf && *stored_leaf != leaf) {
    AddFinding(FindingKind::kModified, row_seq,
               "record " + std::to_string(row_seq) +
                   " was altered after it was written (its bytes no longer hash to the leaf "
                   "recorded at append time)");
    stopped_ = true;
    return false;
  }
  frontier_.Append(leaf);
  ++report_.records_checked;
  CheckSizesAt(frontier_.size());
  return !stopped_;
}

VerifyReport StreamVerifier::Finish() {
  const uint64_t n = frontier_.size();
  if (!stopped_) {
    // Heads and checkpoints beyond the stored records.
    for (const auto& [size, heads] : heads_at_) {
      if (size > n) {
        AddFinding(FindingKind::kTruncated, n,
                   "a signed head covers " + std::to_string(size) + " records but the ledger ends at " +
                       std::to_string(n) + ": records " + std::to_string(n) + " to " +
                       std::to_string(size - 1) + " were removed from the tail",
                   size - 1);
        break;
      }
    }
    for (const auto& [size, cps] : checkpoints_at_) {
      if (size > n) {
        AddFinding(FindingKind::kRolledBack, n,
                   "the checkpoint of " + FormatTime(cps.front()->checkpoint.time_us) + " covers " +
                       std::to_string(size) + " records but the database has " + std::to_string(n) +
                       ": it was rolled back to an older copy or truncated; records " +
                       std::to_string(n) + " to " + std::to_string(size - 1) + " are missing",
                   size - 1);
        break;
      }
    }
    if (in_.heads_authoritative) {
      uint64_t covered = in_.pruned.size();
      for (const auto& h : in_.heads) covered = std::max(covered, h.checkpoint.tree_size);
      if (covered < n) {
        AddFinding(FindingKind::kInserted, covered,
                   "records " + std::to_string(covered) + " to " + std::to_string(n - 1) +
                       " are not covered by any signed head: they were added without the "
                       "signing key",
                   n - 1);
      }
    }
  }
  report_.tree_size = n;
  report_.root = frontier_.Root();
  std::stable_sort(report_.findings.begin(), report_.findings.end(),
                   [](const Finding& a, const Finding& b) { return a.seq < b.seq; });
  report_.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  return report_;
}

}  // namespace audit::internal
