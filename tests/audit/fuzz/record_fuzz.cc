// libFuzzer target over the untrusted decoders of the audit component: the
// canonical record decoder (which must round-trip exactly whatever it
// accepts, and agree with the verifier's allocation-free validator), the
// checkpoint note parser and the public-key parser.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "audit/checkpoint.h"
#include "audit/keys.h"
#include "audit/record.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  auto rec = audit::DecodeRecord(in);
  auto header = audit::ValidateRecord(in);
  if (rec.ok() != header.ok()) std::abort();
  if (rec.ok()) {
    auto again = audit::EncodeRecord(*rec);
    if (!again.ok() || *again != in) std::abort();
    if (header->seq != rec->seq || header->time_us != rec->time_us) std::abort();
    (void)audit::RecordToJson(*rec).Dump();
  }
  auto cp = audit::SignedCheckpoint::Parse(in);
  if (cp.ok() && cp->ToText() != in) std::abort();
  (void)audit::PublicKey::FromVkey(in);
  return 0;
}
