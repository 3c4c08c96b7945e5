// Plain-language wording shared by the views, so the policy banner, the
// conversation list and the tests say the same thing.
#ifndef GUI_FORMAT_H_
#define GUI_FORMAT_H_

#include <QString>

#include "assistant/v1/common.pb.h"
#include "assistant/v1/models.pb.h"
#include "google/protobuf/duration.pb.h"
#include "google/protobuf/timestamp.pb.h"

namespace gui {

// "30 days", "12 hours", "5 minutes", "45 seconds".
QString durationText(const google::protobuf::Duration& d);
// "not stored", "kept 30 days", "kept 30 days · legal hold".
QString retentionText(const assistant::v1::Retention& r);
// Local time, "2026-11-29 15:04"; "" when unset.
QString timestampText(const google::protobuf::Timestamp& t);
// "origin=meta, licence=llama3 · Q8_0 · sha256 1a2b3c4d… · cpu".
QString provenanceText(const assistant::v1::Model& m);
// "1.2 M parameters" style counts.
QString countText(quint64 n);

}  // namespace gui

#endif  // GUI_FORMAT_H_
