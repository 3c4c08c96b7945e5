// Drives the real window through a session against TestAppliance and saves
// PNG screenshots of the chat, the conversation list, a denial, the auditor
// and the admin workspaces (light theme, plus the chat in dark). Output goes
// to $GUI_SCREENSHOT_DIR, default <build>/tests/gui/screenshots; the committed
// copies live in docs/screenshots/ (see docs/gui.md).
#include <QAbstractItemModelTester>
#include <QApplication>
#include <QDir>
#include <QImage>
#include <QLabel>
#include <QListView>
#include <QPlainTextEdit>
#include <QSettings>
#include <QSignalSpy>
#include <QTabWidget>
#include <QToolButton>
#include <QTableView>
#include <QTemporaryDir>
#include <QtTest>

#include "gui/admin_controller.h"
#include "gui/admin_workspace.h"
#include "gui/audit_controller.h"
#include "gui/audit_workspace.h"
#include "gui/chat_controller.h"
#include "gui/chat_view.h"
#include "gui/connection_controller.h"
#include "gui/conversations_controller.h"
#include "gui/conversations_panel.h"
#include "gui/line_number_editor.h"
#include "gui/main_window.h"
#include "gui/message_widget.h"
#include "gui/theme.h"
#include "test_appliance.h"

using namespace gui;
using gui_test::TestAppliance;

namespace {
constexpr int kWait = 20000;
}

class GuiScreenshotsTest : public QObject {
  Q_OBJECT
 private:
  QTemporaryDir m_dir;
  QString m_out;
  std::unique_ptr<TestAppliance> m_appliance;
  std::unique_ptr<QSettings> m_settings;
  std::unique_ptr<MainWindow> m_window;

  void chat(const QString& text) {
    QSignalSpy finished(m_window->chat(), &ChatController::turnFinished);
    m_window->chatView()->composer()->setPlainText(text);
    m_window->chatView()->submit();
    QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 1, kWait);
  }

  void shoot(const QString& name) {
    QApplication::processEvents();
    const QImage image = m_window->grab().toImage();
    QVERIFY(!image.isNull());
    const QString path = QDir(m_out).filePath(name);
    QVERIFY(image.save(path, "PNG"));
    QVERIFY(QFileInfo(path).size() > 10000);
    // Privacy: whatever the page shows, the title shows only the site.
    QCOMPARE(m_window->windowTitle(), QStringLiteral("Assistant — berlin-1"));
  }

 private slots:
  void initTestCase() {
    m_out = qEnvironmentVariable("GUI_SCREENSHOT_DIR", QStringLiteral(GUI_SCREENSHOT_DIR));
    QVERIFY(QDir().mkpath(m_out));
    m_appliance = TestAppliance::start(m_dir.path());
    QVERIFY(m_appliance);
    applyTheme(*qApp, Theme::Light);
    QFont font(QStringLiteral("DejaVu Sans"), 10);
    QApplication::setFont(font);
    m_settings = std::make_unique<QSettings>(m_dir.filePath("settings.ini"), QSettings::IniFormat);
    m_window = std::make_unique<MainWindow>(*m_settings);
    m_window->resize(1180, 760);
    m_window->show();
    m_window->connectWith(m_appliance->settings());
    QTRY_COMPARE_WITH_TIMEOUT(m_window->connection()->state(), ConnectionController::State::Connected, kWait);
    QTRY_COMPARE_WITH_TIMEOUT(m_window->pages()->count(), 3, kWait);
    QTRY_VERIFY_WITH_TIMEOUT(m_window->chat()->models()->rowCount() > 0, kWait);
  }

  void chatWithCodeAndReasoning() {
    chat(QStringLiteral("Write me a story about a fox for my daughter"));
    m_window->chat()->newConversation();
    chat(QStringLiteral("Plan the harvest festival"));
    m_window->chat()->newConversation();
    chat(QStringLiteral("Summarise the river survey"));
    m_window->chat()->newConversation();
    chat(QStringLiteral("Show me a C++ loop that counts to three"));
    QTRY_COMPARE_WITH_TIMEOUT(m_window->conversations()->model()->rowCount(), 4, kWait);
    QApplication::processEvents();
    // Open the collapsed reasoning section, as a user would.
    QToolButton* reasoning = nullptr;
    for (auto* b : m_window->chatView()->findChildren<QToolButton*>()) {
      if (b->text() == QStringLiteral("Reasoning")) reasoning = b;
    }
    QVERIFY(reasoning);
    reasoning->click();
    shoot(QStringLiteral("chat.png"));
  }

  void chatDarkTheme() {
    applyTheme(*qApp, Theme::Dark);
    shoot(QStringLiteral("chat-dark.png"));
    applyTheme(*qApp, Theme::Light);
  }

  void conversationList() {
    QSignalSpy loaded(m_window->chat(), &ChatController::conversationLoaded);
    QListView* list = m_window->conversationsPanel()->list();
    const QModelIndex fox = m_window->conversations()->model()->index(3);
    list->setCurrentIndex(fox);
    emit list->activated(fox);
    QTRY_COMPARE_WITH_TIMEOUT(loaded.count(), 1, kWait);
    shoot(QStringLiteral("conversations.png"));
  }

  void denial() {
    m_window->chat()->newConversation();
    QSignalSpy problem(m_window->chat(), &ChatController::problemChanged);
    m_window->chatView()->composer()->setPlainText(
        QStringLiteral("Fill in the form for John, SSN 123-45-6789, born 1970"));
    m_window->chatView()->submit();
    QTRY_VERIFY_WITH_TIMEOUT(m_window->chat()->problem().denial, kWait);
    QTRY_VERIFY_WITH_TIMEOUT(!m_window->chat()->busy(), kWait);
    shoot(QStringLiteral("denial.png"));
  }

  void auditorWorkspace() {
    m_window->pages()->setCurrentWidget(m_window->auditWorkspace());
    QSignalSpy queried(m_window->audit(), &AuditController::queried);
    m_window->auditWorkspace()->runQuery();
    QTRY_COMPARE_WITH_TIMEOUT(queried.count(), 1, kWait);
    QTableView* table = m_window->auditWorkspace()->table();
    int denyRow = 0;
    for (int r = 0; r < m_window->audit()->records()->rowCount(); ++r) {
      if (m_window->audit()->records()->at(r).decision() == "deny") denyRow = r;
    }
    table->setCurrentIndex(table->model()->index(denyRow, 0));
    QSignalSpy verified(m_window->audit(), &AuditController::verified);
    m_window->audit()->verify();
    QTRY_COMPARE_WITH_TIMEOUT(verified.count(), 1, kWait);
    QTRY_VERIFY_WITH_TIMEOUT(m_window->auditWorkspace()->verdict()->text().contains("Ledger intact"), kWait);
    shoot(QStringLiteral("audit.png"));
  }

  void adminWorkspace() {
    m_window->pages()->setCurrentWidget(m_window->adminWorkspace());
    m_window->adminWorkspace()->editor()->setPlainText(QStringLiteral(
        "version: 1\nsite: berlin-1\ndefault_classification: INTERNAL\nclassifications:\n"
        "  INTERNAL:\n    retention: 30d\n    models: [stories260K, stories15M\n"
        "  CONFIDENTIAL:\n    retention: 0\n"));
    QSignalSpy validated(m_window->admin(), &AdminController::validated);
    m_window->admin()->validate(m_window->adminWorkspace()->editor()->toPlainText());
    QTRY_COMPARE_WITH_TIMEOUT(validated.count(), 1, kWait);
    QCOMPARE(validated.at(0).at(0).toBool(), false);
    QVERIFY(m_window->admin()->policyErrors()->rowCount() >= 1);
    shoot(QStringLiteral("admin.png"));

    m_window->adminWorkspace()->tabs()->setCurrentIndex(2);
    QSignalSpy workers(m_window->admin(), &AdminController::workersChanged);
    m_window->admin()->refreshWorkers();
    QTRY_COMPARE_WITH_TIMEOUT(workers.count(), 1, kWait);
    shoot(QStringLiteral("admin-workers.png"));
  }

  void cleanupTestCase() {
    m_window.reset();
    m_appliance.reset();
  }
};

QTEST_MAIN(GuiScreenshotsTest)
#include "tst_gui_screenshots.moc"
