// Evidence bundles: what an auditor takes off the machine and verifies
// elsewhere, without the master key.
//
//   DIR/manifest.json     format, origin, tree size, root, filter, and the
//                         SHA-256 and size of every other file
//   DIR/records.jsonl     one record per line: seq, leaf (hex), body (base64
//                         of the canonical bytes) and record (readable JSON)
//   DIR/checkpoint.txt    the signed head covering the export
//   DIR/heads/<size>.txt  the ledger's stored signed heads
//   DIR/public-key.txt    the signing key (vkey); pin it with --public-key
//   DIR/pruned.json       the frontier of records removed by retention
//   DIR/proofs.jsonl      filtered exports only: an inclusion proof per record
//                         and a consistency proof per head, to checkpoint.txt
#ifndef AUDIT_BUNDLE_H_
#define AUDIT_BUNDLE_H_

#include <cstdint>
#include <string>

#include "audit/ledger.h"
#include "common/status.h"

namespace audit {

struct ExportOptions {
  std::string dir;      // created; must not exist or be empty
  QueryFilter filter;   // empty: the complete ledger
};

struct ExportSummary {
  uint64_t records = 0;
  uint64_t tree_size = 0;
  bool complete = false;
  std::string manifest_sha256;
};

common::StatusOr<ExportSummary> ExportBundle(const LedgerReader& reader,
                                             const ExportOptions& options);

// Verifies a bundle offline: file hashes, signatures (against
// options.trusted_key, else the bundle's own key, which the report notes),
// every record's bytes against its leaf and readable form, and the tree:
// recomputed in full for a complete bundle, by inclusion proofs otherwise.
// Checkpoints in options are compared as for a database.
common::StatusOr<VerifyReport> VerifyBundle(const std::string& dir, const VerifyOptions& options);

}  // namespace audit

#endif  // AUDIT_BUNDLE_H_
