// The client against the real `assistantd` from this build tree: the harness
// starts it in a temporary state directory (it generates its CA, server and
// client certificates there), reads the port it chose from its log, and
// connects with the generated client certificate. Today's gateway serves
// HealthService; the client must connect, report the site, and turn calls to
// services that have not landed into a clear "not offered yet" state rather
// than an outage. With the full gateway (which spawns build/inference/
// assistant-worker with models/stories260K.gguf by itself) the chat case
// streams a real answer instead. Extend this suite as the services land.
#include <QDir>
#include <QProcess>
#include <QRegularExpression>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QtTest>

#include "gui/chat_controller.h"
#include "gui/connection_controller.h"

using namespace gui;

namespace {
constexpr int kWait = 20000;
}

class GuiAssistantdTest : public QObject {
  Q_OBJECT
 private:
  QTemporaryDir m_dir;
  QProcess m_daemon;
  int m_port = 0;

  ConnectionSettings settings() const {
    const QDir tls(m_dir.filePath(QStringLiteral("state/tls")));
    ConnectionSettings s;
    s.address = QStringLiteral("127.0.0.1:%1").arg(m_port);
    s.caPath = tls.filePath(QStringLiteral("ca.pem"));
    s.certPath = tls.filePath(QStringLiteral("client.pem"));
    s.keyPath = tls.filePath(QStringLiteral("client.key"));
    return s;
  }

 private slots:
  void initTestCase() {
    QVERIFY(m_dir.isValid());
    // ASSISTANTD_BIN runs the suite against another build of the gateway.
    m_daemon.setProgram(qEnvironmentVariable("ASSISTANTD_BIN", QStringLiteral(ASSISTANTD_PATH)));
    m_daemon.setArguments({"--state-dir", m_dir.filePath(QStringLiteral("state")), "--listen",
                           "127.0.0.1:0", "--site", "gui-test-site"});
    m_daemon.setProcessChannelMode(QProcess::MergedChannels);
    m_daemon.start();
    QVERIFY2(m_daemon.waitForStarted(kWait), qPrintable(m_daemon.errorString()));
    // "listening on 127.0.0.1:PORT (TLS)" (foundation) or the JSON line
    // {"msg":"listening",...,"port":PORT,...} (gateway).
    static const QRegularExpression listening(
        QStringLiteral("listening on [^\\s\"]*:(\\d+)|\"port\":\\s*(\\d+)"));
    QByteArray log;
    while (m_port == 0) {
      QVERIFY2(m_daemon.waitForReadyRead(kWait), log.constData());
      log += m_daemon.readAll();
      const auto m = listening.match(QString::fromUtf8(log));
      if (m.hasMatch()) m_port = (m.captured(1).isEmpty() ? m.captured(2) : m.captured(1)).toInt();
    }
    QVERIFY(m_port > 0);
  }

  void connectsWithTheGeneratedClientCertificate() {
    ConnectionController connection;
    connection.connectTo(settings());
    QTRY_COMPARE_WITH_TIMEOUT(connection.state(), ConnectionController::State::Connected, kWait);
    QCOMPARE(connection.health().status(), assistant::v1::HealthCheckResponse::SERVING);
    QCOMPARE(connection.health().site(), std::string("gui-test-site"));
    QVERIFY(connection.statusText().startsWith(QStringLiteral("Connected to site")));
    qInfo("status: %s", qPrintable(connection.statusText()));
  }

  void aServiceThatHasNotLandedIsReportedAsSuch() {
    ConnectionController connection;
    ChatController chat(&connection);
    connection.connectTo(settings());
    QTRY_COMPARE_WITH_TIMEOUT(connection.state(), ConnectionController::State::Connected, kWait);
    QSignalSpy problem(&chat, &ChatController::problemChanged);
    QVERIFY(chat.send(QStringLiteral("hello")));
    QTRY_VERIFY_WITH_TIMEOUT(!chat.busy(), kWait);
    if (chat.problem().headline.isEmpty()) {
      // The gateway serves Chat now: a real answer streamed in, under the
      // policy's default classification, with the banner from ChatStart.
      QCOMPARE(chat.messages()->rowCount(), 2);
      QVERIFY(!chat.messages()->at(1).text.isEmpty());
      QVERIFY(!chat.messages()->at(1).streaming);
      QVERIFY(!chat.conversationId().isEmpty());
      QVERIFY(!chat.banner().retention.isEmpty());
      qInfo("answer: %d characters; banner: %s; usage: %s",
            static_cast<int>(chat.messages()->at(1).text.size()), qPrintable(chat.banner().text()),
            qPrintable(chat.usageText()));
      return;
    }
    QCOMPARE(chat.problem().reason, QStringLiteral("UNIMPLEMENTED"));
    QCOMPARE(chat.problem().headline, QStringLiteral("This appliance does not offer this feature yet."));
    QCOMPARE(connection.state(), ConnectionController::State::Connected);  // not an outage
  }

  void aCertificateFromAnotherCaIsRefused() {
    QTemporaryDir other;
    QProcess openssl;
    openssl.setWorkingDirectory(other.path());
    openssl.start(QStringLiteral("openssl"),
                  {"req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                   "-keyout", "k.pem", "-out", "c.pem", "-subj", "/CN=mallory", "-days", "1"});
    QVERIFY(openssl.waitForFinished(kWait) && openssl.exitCode() == 0);
    ConnectionSettings s = settings();
    s.certPath = other.filePath(QStringLiteral("c.pem"));
    s.keyPath = other.filePath(QStringLiteral("k.pem"));
    ConnectionController connection;
    connection.connectTo(s);
    QTRY_VERIFY_WITH_TIMEOUT(connection.state() != ConnectionController::State::Connecting, kWait);
    QVERIFY(connection.state() != ConnectionController::State::Connected);
  }

  void cleanupTestCase() {
    m_daemon.terminate();
    if (!m_daemon.waitForFinished(kWait)) m_daemon.kill();
  }
};

QTEST_MAIN(GuiAssistantdTest)
#include "tst_gui_assistantd.moc"
