// Controllers against a live assistant.v1 server (TestAppliance: real gRPC
// over mutual TLS on loopback): a streamed chat, a stop, a denial with its
// reason, a redaction notice, delete, the auditor's verify and export, a
// policy with an error, offline and expired-credential states.
#include <QAbstractItemModelTester>
#include <QDir>
#include <QFile>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QtTest>

#include "gui/admin_controller.h"
#include "gui/audit_controller.h"
#include "gui/chat_controller.h"
#include "gui/connection_controller.h"
#include "gui/conversations_controller.h"
#include "test_appliance.h"

using namespace gui;
using gui_test::TestAppliance;

namespace {
constexpr int kWait = 20000;  // ms; QTRY_* spins the event loop, it never sleeps blindly
}

class GuiControllersTest : public QObject {
  Q_OBJECT
 private:
  QTemporaryDir m_dir;
  std::unique_ptr<TestAppliance> m_appliance;
  std::unique_ptr<ConnectionController> m_connection;
  std::unique_ptr<ChatController> m_chat;

  void chatAndWait(const QString& text) {
    QSignalSpy finished(m_chat.get(), &ChatController::turnFinished);
    QVERIFY(m_chat->send(text));
    QVERIFY(m_chat->busy());
    QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 1, kWait);
  }

 private slots:
  void initTestCase() {
    QVERIFY(m_dir.isValid());
    m_appliance = TestAppliance::start(m_dir.path());
    QVERIFY(m_appliance);
  }

  void init() {
    m_connection = std::make_unique<ConnectionController>();
    m_chat = std::make_unique<ChatController>(m_connection.get());
    QSignalSpy models(m_chat.get(), &ChatController::modelsChanged);
    m_connection->connectTo(m_appliance->settings());
    QTRY_COMPARE_WITH_TIMEOUT(m_connection->state(), ConnectionController::State::Connected, kWait);
    QTRY_VERIFY_WITH_TIMEOUT(models.count() >= 1, kWait);
  }

  void cleanup() {
    m_chat.reset();
    m_connection.reset();
  }

  void connectingLoadsPolicyAndDefaultClassification() {
    QCOMPARE(m_connection->policy().user_id(), std::string("alice"));
    QVERIFY(m_connection->hasRole(QStringLiteral("auditor")));
    QCOMPARE(m_chat->classification(), QStringLiteral("INTERNAL"));
    QCOMPARE(m_chat->classifications(),
             (QStringList{QStringLiteral("PUBLIC"), QStringLiteral("INTERNAL"), QStringLiteral("CONFIDENTIAL")}));
    QCOMPARE(m_chat->models()->rowCount(), 2);
    QCOMPARE(m_chat->model(), QStringLiteral("stories260K"));
    QVERIFY(m_connection->statusText().contains(QStringLiteral("berlin-1")));
  }

  void modelPickerFollowsClassification() {
    QAbstractItemModelTester tester(m_chat->models(), QAbstractItemModelTester::FailureReportingMode::QtTest);
    QSignalSpy models(m_chat.get(), &ChatController::modelsChanged);
    m_chat->setClassification(QStringLiteral("CONFIDENTIAL"));
    QTRY_COMPARE_WITH_TIMEOUT(models.count(), 1, kWait);
    QCOMPARE(m_chat->models()->rowCount(), 1);
    QCOMPARE(m_chat->banner().retention, QStringLiteral("not stored"));
    QVERIFY(!m_chat->incognitoAllowed());
    m_chat->setClassification(QStringLiteral("INTERNAL"));
    QTRY_COMPARE_WITH_TIMEOUT(models.count(), 2, kWait);
    QCOMPARE(m_chat->models()->rowCount(), 2);
    QCOMPARE(m_chat->banner().retention, QStringLiteral("kept 30 days"));
    QVERIFY(m_chat->banner().text().contains(QStringLiteral("processed at site berlin-1")));
    QVERIFY(m_chat->banner().redactions.contains(QStringLiteral("EMAIL")));
  }

  void streamedChatFillsTheAnswerIncrementally() {
    QAbstractItemModelTester tester(m_chat->messages(), QAbstractItemModelTester::FailureReportingMode::QtTest);
    QSignalSpy deltas(m_chat->messages(), &QAbstractItemModel::dataChanged);
    QSignalSpy started(m_chat.get(), &ChatController::conversationStarted);
    chatAndWait(QStringLiteral("Tell me a story about a fox"));
    QVERIFY(!m_chat->busy());
    QCOMPARE(m_chat->messages()->rowCount(), 2);
    const auto& answer = m_chat->messages()->at(1);
    QCOMPARE(answer.sender, ChatMessageModel::Sender::Assistant);
    QVERIFY(answer.text.startsWith(TestAppliance::storyPrefix()));
    QVERIFY(!answer.streaming);
    QVERIFY(!answer.stopped);
    QVERIFY2(deltas.count() > 10, "the answer arrives in many deltas");
    QCOMPARE(started.count(), 1);
    QVERIFY(!m_chat->conversationId().isEmpty());
    QCOMPARE(m_chat->banner().retention, QStringLiteral("kept 30 days"));
    QVERIFY(m_chat->usageText().contains(QStringLiteral("tokens")));

    // A follow-up turn sends only the new message (the server keeps history).
    const QString id = m_chat->conversationId();
    chatAndWait(QStringLiteral("And then?"));
    QCOMPARE(m_chat->conversationId(), id);
    QCOMPARE(m_chat->messages()->rowCount(), 4);
  }

  void stopCancelsTheStreamOnTheServer() {
    const int before = m_appliance->cancelledStreams();
    QSignalSpy finished(m_chat.get(), &ChatController::turnFinished);
    QVERIFY(m_chat->send(QStringLiteral("Tell an endless story")));
    QTRY_VERIFY_WITH_TIMEOUT(m_chat->messages()->rowCount() == 2 &&
                                 !m_chat->messages()->at(1).text.isEmpty(), kWait);
    m_chat->stop();
    QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 1, kWait);
    QVERIFY(!m_chat->busy());
    QVERIFY(m_chat->messages()->at(1).stopped);
    QVERIFY(!m_chat->messages()->at(1).text.isEmpty());  // what arrived is kept
    QVERIFY(m_chat->problem().headline.isEmpty());       // a stop is not an error
    QTRY_COMPARE_WITH_TIMEOUT(m_appliance->cancelledStreams(), before + 1, kWait);
  }

  void denialShowsTheRuleAndWhatToDo() {
    QSignalSpy problem(m_chat.get(), &ChatController::problemChanged);
    QSignalSpy finished(m_chat.get(), &ChatController::turnFinished);
    QVERIFY(m_chat->send(QStringLiteral("My number is 123-45-6789, file my taxes")));
    QTRY_VERIFY_WITH_TIMEOUT(problem.count() >= 1, kWait);
    QTRY_VERIFY_WITH_TIMEOUT(!m_chat->busy(), kWait);
    const ChatProblem& p = m_chat->problem();
    QVERIFY(p.denial);
    QCOMPARE(p.reason, QStringLiteral("SENSITIVE_DATA_BLOCKED"));
    QCOMPARE(p.rules.size(), 1);
    QVERIFY(p.rules[0].startsWith(QStringLiteral("detectors.SSN.block: ")));
    QVERIFY(p.remedy.contains(QStringLiteral("Remove the social security number")));
    QVERIFY(p.auditSequence > 0);
    QCOMPARE(m_chat->messages()->rowCount(), 1);  // no empty answer bubble
    // The connection stays usable: a denial is not an outage.
    QCOMPARE(m_connection->state(), ConnectionController::State::Connected);
  }

  void redactionIsAnnounced() {
    QSignalSpy notice(m_chat.get(), &ChatController::redactionNoticeChanged);
    chatAndWait(QStringLiteral("Write to jane.doe@example.org about the fox"));
    QVERIFY(m_chat->redactionNotice().contains(QStringLiteral("EMAIL → [EMAIL_1]")));
    QVERIFY(m_chat->redactionNotice().contains(QStringLiteral("redacted by policy")));
  }

  void regenerateAndEditStartFromTheEarlierHistory() {
    chatAndWait(QStringLiteral("First question about owls"));
    const QString first = m_chat->conversationId();
    QSignalSpy finished(m_chat.get(), &ChatController::turnFinished);
    QVERIFY(m_chat->regenerate());
    QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 1, kWait);
    QCOMPARE(m_chat->messages()->rowCount(), 2);
    QVERIFY(m_chat->conversationId() != first);  // stored history is forked, not rewritten
    QVERIFY(m_chat->editAndResend(0, QStringLiteral("Edited question about owls")));
    QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 2, kWait);
    QCOMPARE(m_chat->messages()->rowCount(), 2);
    QCOMPARE(m_chat->messages()->at(0).text, QStringLiteral("Edited question about owls"));
    QVERIFY(!m_chat->editAndResend(1, QStringLiteral("not a user message")));
  }

  void conversationsSearchOpenAndDelete() {
    chatAndWait(QStringLiteral("Plan the harvest festival"));
    const QString id = m_chat->conversationId();
    m_chat->newConversation();
    chatAndWait(QStringLiteral("Summarise the river survey"));

    ConversationsController conversations(m_connection.get());
    QAbstractItemModelTester tester(conversations.model(), QAbstractItemModelTester::FailureReportingMode::QtTest);
    QSignalSpy refreshed(&conversations, &ConversationsController::refreshed);
    conversations.refresh(QStringLiteral("HARVEST"));
    QTRY_COMPARE_WITH_TIMEOUT(refreshed.count(), 1, kWait);
    QCOMPARE(conversations.model()->rowCount(), 1);
    QCOMPARE(conversations.model()->data(conversations.model()->index(0), ConversationListModel::IdRole).toString(), id);

    QSignalSpy loaded(m_chat.get(), &ChatController::conversationLoaded);
    m_chat->openConversation(id);
    QTRY_COMPARE_WITH_TIMEOUT(loaded.count(), 1, kWait);
    QCOMPARE(m_chat->messages()->rowCount(), 2);
    QCOMPARE(m_chat->messages()->at(0).text, QStringLiteral("Plan the harvest festival"));

    QVERIFY(ConversationsController::confirmationText(QStringLiteral("x")).contains(
        QStringLiteral("cannot be recovered")));
    QSignalSpy erased(&conversations, &ConversationsController::erased);
    conversations.remove(id);
    QTRY_COMPARE_WITH_TIMEOUT(erased.count(), 1, kWait);
    QVERIFY(erased.at(0).at(1).toULongLong() > 0);  // the shred's audit record
    QCOMPARE(conversations.model()->rowCount(), 0);

    QSignalSpy problem(m_chat.get(), &ChatController::problemChanged);
    m_chat->openConversation(id);
    QTRY_VERIFY_WITH_TIMEOUT(problem.count() >= 1 && !m_chat->problem().reason.isEmpty(), kWait);
    QCOMPARE(m_chat->problem().reason, QStringLiteral("CONVERSATION_NOT_FOUND"));
  }

  void auditorQueriesVerifiesAndExports() {
    QVERIFY(m_chat->send(QStringLiteral("SSN 987-65-4321 please")));
    QTRY_VERIFY_WITH_TIMEOUT(!m_chat->busy(), kWait);

    AuditController audit(m_connection.get());
    QAbstractItemModelTester tester(audit.records(), QAbstractItemModelTester::FailureReportingMode::QtTest);
    QSignalSpy queried(&audit, &AuditController::queried);
    assistant::v1::AuditFilter filter;
    filter.set_decision("deny");
    audit.query(filter);
    QTRY_COMPARE_WITH_TIMEOUT(queried.count(), 1, kWait);
    QVERIFY(audit.records()->rowCount() >= 1);
    for (int r = 0; r < audit.records()->rowCount(); ++r) {
      QCOMPARE(audit.records()->at(r).decision(), std::string("deny"));
    }
    QVERIFY(AuditRecordModel::details(audit.records()->at(0)).contains(QStringLiteral("detectors.SSN.block")));

    QSignalSpy progress(&audit, &AuditController::verifyProgress);
    QSignalSpy verified(&audit, &AuditController::verified);
    audit.verify();
    QVERIFY(audit.verifying());
    QTRY_COMPARE_WITH_TIMEOUT(verified.count(), 1, kWait);
    QVERIFY(progress.count() >= 1);
    QCOMPARE(verified.at(0).at(0).toBool(), true);
    QVERIFY(verified.at(0).at(1).toString().startsWith(QStringLiteral("Ledger intact")));

    QTemporaryDir out;
    const QString folder = out.filePath(QStringLiteral("bundle"));
    QSignalSpy exported(&audit, &AuditController::exported);
    audit.exportTo({}, folder);
    QTRY_COMPARE_WITH_TIMEOUT(exported.count(), 1, kWait);
    const QStringList files = exported.at(0).at(1).toStringList();
    QVERIFY(files.contains(QStringLiteral("records.jsonl")));
    QVERIFY(files.contains(QStringLiteral("manifest.json")));
    QFile records(QDir(folder).filePath(QStringLiteral("records.jsonl")));
    QVERIFY(records.open(QIODevice::ReadOnly));
    QVERIFY(records.readAll().contains("\"decision\":\"deny\""));
  }

  void policyWithAnErrorShowsItsLine() {
    AdminController admin(m_connection.get());
    QAbstractItemModelTester tester(admin.policyErrors(), QAbstractItemModelTester::FailureReportingMode::QtTest);
    QSignalSpy validated(&admin, &AdminController::validated);
    admin.validate(QStringLiteral("version: 1\nsite: berlin-1\nclassifications: [INTERNAL\n"));
    QTRY_COMPARE_WITH_TIMEOUT(validated.count(), 1, kWait);
    QCOMPARE(validated.at(0).at(0).toBool(), false);
    QCOMPARE(admin.policyErrors()->rowCount(), 1);
    const int line = admin.policyErrors()->data(admin.policyErrors()->index(0, 0), Qt::DisplayRole).toInt();
    QVERIFY2(line >= 3, "the error names the line of the unclosed list");

    // Applying the broken policy is refused and shows the same errors.
    admin.policyErrors()->reset({});
    QSignalSpy applied(&admin, &AdminController::applied);
    admin.apply(QStringLiteral("site: berlin-1\n"));
    QTRY_COMPARE_WITH_TIMEOUT(validated.count(), 2, kWait);
    QCOMPARE(applied.count(), 0);
    QCOMPARE(admin.policyErrors()->data(admin.policyErrors()->index(0, 2), Qt::DisplayRole).toString(),
             QStringLiteral("missing required key 'version'"));

    QSignalSpy loaded(&admin, &AdminController::policyLoaded);
    admin.loadCurrentPolicy();
    QTRY_COMPARE_WITH_TIMEOUT(loaded.count(), 1, kWait);
    admin.apply(QStringLiteral("version: 2\nsite: berlin-1\n"));
    QTRY_COMPARE_WITH_TIMEOUT(applied.count(), 1, kWait);
    QCOMPARE(admin.policyErrors()->rowCount(), 0);
    QVERIFY(!admin.currentPolicyHash().isEmpty());
  }

  void legalHoldBlocksDeletionAndWorkersAreListed() {
    chatAndWait(QStringLiteral("Contract draft for the mill"));
    const QString id = m_chat->conversationId();
    AdminController admin(m_connection.get());
    QAbstractItemModelTester t1(admin.legalHolds(), QAbstractItemModelTester::FailureReportingMode::QtTest);
    QAbstractItemModelTester t2(admin.workers(), QAbstractItemModelTester::FailureReportingMode::QtTest);
    QSignalSpy holds(&admin, &AdminController::holdsChanged);
    admin.placeHold(QString(), id, QStringLiteral("case 2026-17"));
    QTRY_COMPARE_WITH_TIMEOUT(holds.count(), 1, kWait);
    QCOMPARE(admin.legalHolds()->rowCount(), 1);

    ConversationsController conversations(m_connection.get());
    QSignalSpy failed(&conversations, &ConversationsController::failed);
    conversations.remove(id);
    QTRY_COMPARE_WITH_TIMEOUT(failed.count(), 1, kWait);
    QCOMPARE(failed.at(0).at(0).value<RpcError>().reason(), QStringLiteral("LEGAL_HOLD"));

    admin.releaseHold(admin.legalHolds()->at(0).key);
    QTRY_COMPARE_WITH_TIMEOUT(holds.count(), 2, kWait);
    QCOMPARE(admin.legalHolds()->rowCount(), 0);

    QSignalSpy workers(&admin, &AdminController::workersChanged);
    admin.refreshWorkers();
    QTRY_COMPARE_WITH_TIMEOUT(workers.count(), 1, kWait);
    QCOMPARE(admin.workers()->rowCount(), 1);
    QVERIFY(admin.workers()->data(admin.workers()->index(0, 1), Qt::DisplayRole).toString().startsWith("ready"));
  }

  void expiredTokenShowsCredentialsState() {
    ConnectionSettings s = m_appliance->settings();
    s.auth = ConnectionSettings::Auth::Token;
    const QByteArray token = TestAppliance::expiredToken();
    m_connection->connectTo(s, common::SecretBytes(reinterpret_cast<const uint8_t*>(token.data()),
                                                   static_cast<size_t>(token.size())));
    QTRY_COMPARE_WITH_TIMEOUT(m_connection->state(), ConnectionController::State::CredentialsRejected, kWait);
    QCOMPARE(m_connection->lastError().reason(), QStringLiteral("TOKEN_EXPIRED"));

    const QByteArray good = TestAppliance::validToken();
    m_connection->connectTo(s, common::SecretBytes(reinterpret_cast<const uint8_t*>(good.data()),
                                                   static_cast<size_t>(good.size())));
    QTRY_COMPARE_WITH_TIMEOUT(m_connection->state(), ConnectionController::State::Connected, kWait);
    QCOMPARE(m_connection->policy().user_id(), std::string("bob"));
  }

  void unreachableApplianceShowsOffline() {
    ConnectionSettings s = m_appliance->settings();
    s.address = QStringLiteral("127.0.0.1:1");  // nothing listens on port 1
    m_connection->connectTo(s);
    QTRY_COMPARE_WITH_TIMEOUT(m_connection->state(), ConnectionController::State::Offline, kWait);
    QVERIFY(m_connection->statusText().startsWith(QStringLiteral("Offline")));
  }

  void missingCertificateFileFailsBeforeConnecting() {
    ConnectionSettings s = m_appliance->settings();
    s.keyPath = m_dir.filePath(QStringLiteral("no-such.key"));
    m_connection->connectTo(s);
    QCOMPARE(m_connection->state(), ConnectionController::State::Failed);
    QVERIFY(m_connection->client() == nullptr);
  }
};

QTEST_MAIN(GuiControllersTest)
#include "tst_gui_controllers.moc"
