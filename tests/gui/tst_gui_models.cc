// Models, Markdown/<think> segmentation, wording and the settings store,
// without a server. Every model is driven under QAbstractItemModelTester.
#include <QAbstractItemModelTester>
#include <QSettings>
#include <QTemporaryDir>
#include <QtTest>

#include "gui/audit_record_model.h"
#include "gui/chat_message_model.h"
#include "gui/connection_settings.h"
#include "gui/conversation_list_model.h"
#include "gui/format.h"
#include "gui/message_segments.h"
#include "gui/model_list_model.h"
#include "gui/row_table_model.h"
#include "gui/rpc_error.h"

using namespace gui;
using Kind = Segment::Kind;

class GuiModelsTest : public QObject {
  Q_OBJECT
 private slots:
  void chatMessageModelKeepsInvariantsWhileStreaming() {
    ChatMessageModel model;
    QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest);
    model.append(ChatMessageModel::Sender::User, QStringLiteral("hi"));
    const int row = model.append(ChatMessageModel::Sender::Assistant, QString(), true);
    QSignalSpy changed(&model, &QAbstractItemModel::dataChanged);
    model.appendText(row, QStringLiteral("Hel"));
    model.appendText(row, QStringLiteral("lo"));
    QCOMPARE(changed.count(), 2);
    QCOMPARE(model.data(model.index(row), ChatMessageModel::TextRole).toString(), QStringLiteral("Hello"));
    QVERIFY(model.data(model.index(row), ChatMessageModel::StreamingRole).toBool());
    model.finish(row, true);
    QVERIFY(!model.data(model.index(row), ChatMessageModel::StreamingRole).toBool());
    QVERIFY(model.data(model.index(row), ChatMessageModel::StoppedRole).toBool());
    model.truncate(1);
    QCOMPARE(model.rowCount(), 1);
    model.appendText(5, QStringLiteral("ignored"));  // out of range: no crash, no change
    model.clear();
    QCOMPARE(model.rowCount(), 0);
  }

  void conversationListModelRemovesById() {
    ConversationListModel model;
    QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest);
    std::vector<assistant::v1::ConversationSummary> items(3);
    items[0].set_id("a");
    items[0].set_title("Quarterly report");
    items[0].mutable_retention()->mutable_content_retention()->set_seconds(30 * 86400);
    items[1].set_id("b");
    items[1].mutable_retention()->set_not_stored(true);
    items[2].set_id("c");
    items[2].set_title("Travel");
    model.reset(items);
    QCOMPARE(model.rowCount(), 3);
    QCOMPARE(model.data(model.index(0), ConversationListModel::RetentionRole).toString(),
             QStringLiteral("kept 30 days"));
    QCOMPARE(model.data(model.index(1), Qt::DisplayRole).toString(), QStringLiteral("Untitled conversation"));
    QCOMPARE(model.data(model.index(1), ConversationListModel::RetentionRole).toString(),
             QStringLiteral("not stored"));
    QVERIFY(model.removeId(QStringLiteral("b")));
    QVERIFY(!model.removeId(QStringLiteral("b")));
    QCOMPARE(model.rowOf(QStringLiteral("c")), 1);
  }

  void modelListModelShowsProvenance() {
    ModelListModel model;
    QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest);
    assistant::v1::Model m;
    m.set_name("stories260K");
    m.set_parameters(260000);
    m.set_quantization("F32");
    m.set_sha256("9a1bd4b3c1e0f6a7d2c8");
    (*m.mutable_labels())["origin"] = "karpathy/tinyllamas";
    m.set_state(assistant::v1::Model::STATE_LOADING);
    m.set_load_progress(0.5f);
    model.reset({m});
    QCOMPARE(model.data(model.index(0), Qt::DisplayRole).toString(), QStringLiteral("stories260K (loading 50%)"));
    const QString prov = model.data(model.index(0), ModelListModel::ProvenanceRole).toString();
    QVERIFY2(prov.contains("origin=karpathy/tinyllamas") && prov.contains("F32") &&
                 prov.contains("sha256 9a1bd4b3c1e0"),
             qPrintable(prov));
    QCOMPARE(model.rowOf(QStringLiteral("stories260K")), 0);
    QCOMPARE(model.rowOf(QStringLiteral("other")), -1);
  }

  void auditAndRowTableModelsKeepInvariants() {
    AuditRecordModel audit;
    QAbstractItemModelTester t1(&audit, QAbstractItemModelTester::FailureReportingMode::QtTest);
    assistant::v1::AuditRecord r;
    r.set_sequence(7);
    r.set_event_type("chat_request");
    r.set_decision("deny");
    auto* reason = r.add_reasons();
    reason->set_rule_id("detectors.SSN.block");
    reason->set_denies(true);
    audit.reset({r, r});
    QCOMPARE(audit.rowCount(), 2);
    QCOMPARE(audit.columnCount(), int(AuditRecordModel::kColumns));
    QCOMPARE(audit.data(audit.index(0, AuditRecordModel::Sequence), Qt::DisplayRole).toString(), QStringLiteral("7"));
    QVERIFY(AuditRecordModel::details(r).contains("denies detectors.SSN.block"));

    RowTableModel rows({QStringLiteral("Line"), QStringLiteral("Problem")});
    QAbstractItemModelTester t2(&rows, QAbstractItemModelTester::FailureReportingMode::QtTest);
    rows.reset({{QStringLiteral("3"), {QStringLiteral("3"), QStringLiteral("bad")}}});
    QCOMPARE(rows.data(rows.index(0, 1), Qt::DisplayRole).toString(), QStringLiteral("bad"));
    QCOMPARE(rows.data(rows.index(0, 0), RowTableModel::KeyRole).toString(), QStringLiteral("3"));
    rows.reset({});
    QCOMPARE(rows.rowCount(), 0);
  }

  void splitsCodeBlocksAndThinkSections() {
    const auto segs = splitMessage(QStringLiteral(
        "<think>the user wants code</think>Here:\n```cpp\nint x = 1;\n```\nDone."));
    QCOMPARE(segs.size(), 4);
    QCOMPARE(segs[0].kind, Kind::Think);
    QCOMPARE(segs[0].text, QStringLiteral("the user wants code"));
    QVERIFY(segs[0].closed);
    QCOMPARE(segs[1].kind, Kind::Markdown);
    QCOMPARE(segs[2].kind, Kind::Code);
    QCOMPARE(segs[2].language, QStringLiteral("cpp"));
    QCOMPARE(segs[2].text, QStringLiteral("int x = 1;"));
    QCOMPARE(segs[3].text, QStringLiteral("Done."));
  }

  void streamingPartialsYieldOpenSegments() {
    auto segs = splitMessage(QStringLiteral("<think>still thinking"));
    QCOMPARE(segs.size(), 1);
    QCOMPARE(segs[0].kind, Kind::Think);
    QVERIFY(!segs[0].closed);
    segs = splitMessage(QStringLiteral("Code:\n```python\nprint(1)"));
    QCOMPARE(segs.size(), 2);
    QCOMPARE(segs[1].kind, Kind::Code);
    QVERIFY(!segs[1].closed);
    QCOMPARE(segs[1].text, QStringLiteral("print(1)"));
    QVERIFY(splitMessage(QString()).isEmpty());
  }

  void markdownDoesNotInterpretHtmlFromTheModel() {
    const QString html = markdownToHtml(QStringLiteral("**bold** <img src=x onerror=y>"));
    QVERIFY(html.contains(QStringLiteral("font-weight")));
    QVERIFY2(!html.contains(QStringLiteral("<img")), qPrintable(html));
  }

  void retentionWording() {
    assistant::v1::Retention r;
    r.set_not_stored(true);
    QCOMPARE(retentionText(r), QStringLiteral("not stored"));
    r.set_not_stored(false);
    r.mutable_content_retention()->set_seconds(30 * 86400);
    QCOMPARE(retentionText(r), QStringLiteral("kept 30 days"));
    r.set_legal_hold(true);
    QCOMPARE(retentionText(r), QStringLiteral("kept 30 days · legal hold"));
    r.mutable_content_retention()->set_seconds(3600);
    r.set_legal_hold(false);
    QCOMPARE(retentionText(r), QStringLiteral("kept 1 hour"));
  }

  void settingsStoreWritesOnlyConnectionSettings() {
    QTemporaryDir dir;
    const QString path = dir.filePath("settings.ini");
    ConnectionSettings s;
    s.address = QStringLiteral(" appliance.example:8443 ");
    s.caPath = QStringLiteral("/etc/ca.pem");
    s.certPath = QStringLiteral("/home/a/cert.pem");
    s.keyPath = QStringLiteral("/home/a/key.pem");
    s.theme = QStringLiteral("dark");
    s.idleLockMinutes = 10;
    {
      QSettings settings(path, QSettings::IniFormat);
      SettingsStore(settings).save(s);
    }
    QSettings settings(path, QSettings::IniFormat);
    SettingsStore store(settings);
    QVERIFY(store.hasSettings());
    ConnectionSettings loaded = store.load();
    s.address = s.address.trimmed();
    QCOMPARE(loaded, s);
    for (const QString& key : settings.allKeys()) {
      QVERIFY2(SettingsStore::allowedKeys().contains(key), qPrintable(key));
    }
    QCOMPARE(ConnectionSettings().incompleteReason().isEmpty(), false);
    QVERIFY(loaded.incompleteReason().isEmpty());
  }

  void errorDetailIsReadFromTrailingMetadata() {
    assistant::v1::ErrorDetail d;
    d.set_reason("POLICY_DENIED");
    d.set_message("model 'x' may not process CUI data");
    d.set_remedy("Choose INTERNAL.");
    auto* r = d.add_policy_reasons();
    r->set_rule_id("classification.CUI.models");
    r->set_message("not allowed");
    r->set_denies(true);
    const std::string bytes = d.SerializeAsString();
    std::multimap<grpc::string_ref, grpc::string_ref> trailers;
    trailers.emplace(grpc::string_ref("assistant-error-bin"), grpc::string_ref(bytes));
    RpcError e = RpcError::fromCall(grpc::Status(grpc::StatusCode::PERMISSION_DENIED, "denied"), trailers);
    QCOMPARE(e.kind(), RpcError::Kind::Denied);
    QCOMPARE(e.reason(), QStringLiteral("POLICY_DENIED"));
    QCOMPARE(e.remedy(), QStringLiteral("Choose INTERNAL."));
    QCOMPARE(e.deniedBy(), QStringList{QStringLiteral("classification.CUI.models: not allowed")});
    QVERIFY(e.headline().startsWith(QStringLiteral("Denied by policy")));

    RpcError offline = RpcError::fromCall(grpc::Status(grpc::StatusCode::UNAVAILABLE, "x"), {});
    QCOMPARE(offline.kind(), RpcError::Kind::Offline);
    QCOMPARE(offline.reason(), QStringLiteral("UNAVAILABLE"));
  }
};

QTEST_MAIN(GuiModelsTest)
#include "tst_gui_models.moc"
