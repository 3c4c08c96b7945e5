// The acceptance scenarios against the real gateway: `assistantd` from the
// build tree in its local default setup (temporary --state-dir, generated CA
// and client certificates, the shipped default policy, a spawned
// assistant-worker serving models/stories260K.gguf). A streamed chat, a stop,
// a denial with its reason, a redaction notice, delete, the auditor's verify
// and export, a policy with an error. Registered only when the tree contains
// the gateway's ChatService (see CMakeLists.txt); ASSISTANTD_BIN overrides
// the binary.
#include <QDir>
#include <QApplication>
#include <QFile>
#include <QPlainTextEdit>
#include <QSettings>
#include <QTabWidget>
#include <QProcess>
#include <QRegularExpression>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QtTest>

#include "gui/admin_controller.h"
#include "gui/audit_controller.h"
#include "gui/chat_controller.h"
#include "gui/connection_controller.h"
#include "gui/chat_view.h"
#include "gui/conversations_controller.h"
#include "gui/main_window.h"
#include "gui/theme.h"

using namespace gui;

namespace {
constexpr int kWait = 60000;  // a loaded CI machine; QTRY_* returns as soon as the condition holds
}

class GuiGatewayTest : public QObject {
  Q_OBJECT
 private:
  QTemporaryDir m_dir;
  QProcess m_daemon;
  int m_port = 0;
  std::unique_ptr<ConnectionController> m_connection;
  std::unique_ptr<ChatController> m_chat;

  ConnectionSettings settings(const QString& who) const {
    const QDir tls(m_dir.filePath(QStringLiteral("state/tls")));
    ConnectionSettings s;
    s.address = QStringLiteral("127.0.0.1:%1").arg(m_port);
    s.caPath = tls.filePath(QStringLiteral("ca.pem"));
    s.certPath = tls.filePath(who + QStringLiteral(".pem"));
    s.keyPath = tls.filePath(who + QStringLiteral(".key"));
    return s;
  }

  void chatAndWait(const QString& text) {
    QSignalSpy finished(m_chat.get(), &ChatController::turnFinished);
    QVERIFY(m_chat->send(text));
    QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 1, kWait);
  }

 private slots:
  void initTestCase() {
    m_daemon.setProgram(qEnvironmentVariable("ASSISTANTD_BIN", QStringLiteral(ASSISTANTD_PATH)));
    m_daemon.setArguments({"--state-dir", m_dir.filePath(QStringLiteral("state")), "--listen",
                           "127.0.0.1:0", "--site", "gui-e2e"});
    m_daemon.setProcessChannelMode(QProcess::MergedChannels);
    m_daemon.start();
    QVERIFY2(m_daemon.waitForStarted(kWait), qPrintable(m_daemon.errorString()));
    static const QRegularExpression listening(QStringLiteral("\"port\":\\s*(\\d+)"));
    QByteArray log;
    while (m_port == 0) {
      QVERIFY2(m_daemon.waitForReadyRead(kWait), log.constData());
      log += m_daemon.readAll();
      const auto m = listening.match(QString::fromUtf8(log));
      if (m.hasMatch()) m_port = m.captured(1).toInt();
    }
  }

  void init() {
    m_connection = std::make_unique<ConnectionController>();
    m_chat = std::make_unique<ChatController>(m_connection.get());
    QSignalSpy models(m_chat.get(), &ChatController::modelsChanged);
    m_connection->connectTo(settings(QStringLiteral("client")));
    QTRY_COMPARE_WITH_TIMEOUT(m_connection->state(), ConnectionController::State::Connected, kWait);
    QTRY_VERIFY_WITH_TIMEOUT(models.count() >= 1, kWait);
  }

  void cleanup() {
    m_chat.reset();
    m_connection.reset();
  }

  void streamedChatWithTheRealModel() {
    QCOMPARE(m_chat->classification(), QStringLiteral("INTERNAL"));
    QVERIFY(m_chat->models()->rowOf(QStringLiteral("stories260K")) >= 0);
    QSignalSpy deltas(m_chat->messages(), &QAbstractItemModel::dataChanged);
    chatAndWait(QStringLiteral("Once upon a time"));
    QCOMPARE(m_chat->messages()->rowCount(), 2);
    QVERIFY(!m_chat->messages()->at(1).text.isEmpty());
    QVERIFY(deltas.count() > 1);
    QCOMPARE(m_chat->banner().retention, QStringLiteral("kept 30 days"));
    QVERIFY(m_chat->problem().headline.isEmpty());
  }

  void stopEndsTheStream() {
    QSignalSpy finished(m_chat.get(), &ChatController::turnFinished);
    QVERIFY(m_chat->send(QStringLiteral("Tell me a long story about a dragon")));
    QTRY_VERIFY_WITH_TIMEOUT(m_chat->messages()->rowCount() == 2 &&
                                 (!m_chat->messages()->at(1).text.isEmpty() || !m_chat->busy()), kWait);
    m_chat->stop();
    QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 1, kWait);
    QVERIFY(!m_chat->busy());
    QVERIFY(m_chat->problem().headline.isEmpty());
  }

  void denialCarriesTheRuleAndRemedy() {
    m_chat->setClassification(QStringLiteral("CUI"));  // the operator lacks the analyst role
    QSignalSpy problem(m_chat.get(), &ChatController::problemChanged);
    QVERIFY(m_chat->send(QStringLiteral("Summarise the memo")));
    QTRY_VERIFY_WITH_TIMEOUT(!m_chat->busy() && problem.count() >= 1, kWait);
    const ChatProblem& p = m_chat->problem();
    QVERIFY2(p.denial, qPrintable(p.headline));
    QVERIFY(!p.reason.isEmpty());
    QVERIFY(!p.rules.isEmpty());
    qInfo("denial: reason %s, %d rule(s), remedy %d chars, audit record %llu", qPrintable(p.reason),
          static_cast<int>(p.rules.size()), static_cast<int>(p.remedy.size()), p.auditSequence);
    QCOMPARE(m_chat->messages()->rowCount(), 1);
  }

  void redactionIsAnnounced() {
    chatAndWait(QStringLiteral("My SSN is 123-45-6789, tell me a story"));
    QVERIFY2(m_chat->redactionNotice().contains(QStringLiteral("[")), qPrintable(m_chat->redactionNotice()));
    qInfo("redaction notice: %d characters", static_cast<int>(m_chat->redactionNotice().size()));
  }

  void deleteErasesTheConversation() {
    chatAndWait(QStringLiteral("A story about a lighthouse keeper"));
    const QString id = m_chat->conversationId();
    ConversationsController conversations(m_connection.get());
    QSignalSpy refreshed(&conversations, &ConversationsController::refreshed);
    conversations.refresh();
    QTRY_COMPARE_WITH_TIMEOUT(refreshed.count(), 1, kWait);
    QVERIFY(conversations.model()->rowOf(id) >= 0);
    QSignalSpy erased(&conversations, &ConversationsController::erased);
    conversations.remove(id);
    QTRY_COMPARE_WITH_TIMEOUT(erased.count(), 1, kWait);
    QVERIFY(conversations.model()->rowOf(id) < 0);
    QSignalSpy problem(m_chat.get(), &ChatController::problemChanged);
    m_chat->openConversation(id);
    QTRY_VERIFY_WITH_TIMEOUT(!m_chat->problem().reason.isEmpty(), kWait);
    QCOMPARE(m_chat->problem().headline.isEmpty(), false);
  }

  void auditorVerifiesAndExports() {
    ConnectionController auditor;
    auditor.connectTo(settings(QStringLiteral("auditor")));
    QTRY_COMPARE_WITH_TIMEOUT(auditor.state(), ConnectionController::State::Connected, kWait);
    QVERIFY(auditor.hasRole(QStringLiteral("auditor")));
    AuditController audit(&auditor);
    QSignalSpy queried(&audit, &AuditController::queried);
    audit.query({});
    QTRY_COMPARE_WITH_TIMEOUT(queried.count(), 1, kWait);
    QVERIFY(audit.records()->rowCount() > 0);
    QSignalSpy verified(&audit, &AuditController::verified);
    audit.verify();
    QTRY_COMPARE_WITH_TIMEOUT(verified.count(), 1, kWait);
    QVERIFY2(verified.at(0).at(0).toBool(), qPrintable(verified.at(0).at(1).toString()));
    qInfo("verdict: %s", qPrintable(verified.at(0).at(1).toString()));
    QTemporaryDir out;
    QSignalSpy exported(&audit, &AuditController::exported);
    audit.exportTo({}, out.filePath(QStringLiteral("bundle")));
    QTRY_COMPARE_WITH_TIMEOUT(exported.count(), 1, kWait);
    const QStringList files = exported.at(0).at(1).toStringList();
    QVERIFY(!files.isEmpty());
    qInfo("exported: %s", qPrintable(files.join(QStringLiteral(", "))));
  }

  void policyWithAnErrorShowsItsLine() {
    AdminController admin(m_connection.get());
    QSignalSpy validated(&admin, &AdminController::validated);
    admin.validate(QStringLiteral("version: 1\nsite:\n  name: x\nclassifications: [INTERNAL\n"));
    QTRY_COMPARE_WITH_TIMEOUT(validated.count(), 1, kWait);
    QCOMPARE(validated.at(0).at(0).toBool(), false);
    QVERIFY(admin.policyErrors()->rowCount() >= 1);
    QVERIFY(admin.policyErrors()->data(admin.policyErrors()->index(0, 0), Qt::DisplayRole).toInt() >= 1);
  }

  // The window with a real stories260K answer, for docs/screenshots.
  void windowWithTheRealModel() {
    applyTheme(*qApp, Theme::Light);
    QApplication::setFont(QFont(QStringLiteral("DejaVu Sans"), 10));
    QTemporaryDir dir;
    QSettings settings(dir.filePath(QStringLiteral("settings.ini")), QSettings::IniFormat);
    MainWindow window(settings);
    window.resize(1180, 760);
    window.show();
    window.connectWith(this->settings(QStringLiteral("client")));
    QTRY_COMPARE_WITH_TIMEOUT(window.connection()->state(), ConnectionController::State::Connected, kWait);
    QTRY_VERIFY_WITH_TIMEOUT(window.chat()->models()->rowCount() > 0, kWait);
    QSignalSpy finished(window.chat(), &ChatController::turnFinished);
    window.chatView()->composer()->setPlainText(QStringLiteral("Once upon a time, a little cat"));
    window.chatView()->submit();
    QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 1, kWait);
    QApplication::processEvents();
    const QString out = qEnvironmentVariable("GUI_SCREENSHOT_DIR", QStringLiteral(GUI_SCREENSHOT_DIR));
    QVERIFY(QDir().mkpath(out));
    QVERIFY(window.grab().toImage().save(QDir(out).filePath(QStringLiteral("chat-real-gateway.png")), "PNG"));
  }

  void cleanupTestCase() {
    m_daemon.terminate();
    if (!m_daemon.waitForFinished(kWait)) m_daemon.kill();
  }
};

QTEST_MAIN(GuiGatewayTest)
#include "tst_gui_gateway.moc"
