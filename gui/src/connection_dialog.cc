#include "gui/connection_dialog.h"

#include <QDialogButtonBox>
#include <QFileDialog>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QRadioButton>
#include <QToolButton>
#include <QVBoxLayout>

#include "gui/connection_controller.h"

namespace gui {
namespace {

QWidget* fileRow(QLineEdit* edit, const QString& title, QWidget* parent) {
  auto* row = new QWidget(parent);
  auto* layout = new QHBoxLayout(row);
  layout->setContentsMargins(0, 0, 0, 0);
  auto* browse = new QToolButton(row);
  browse->setText(QStringLiteral("Browse…"));
  browse->setAccessibleName(QStringLiteral("Browse for ") + title);
  QObject::connect(browse, &QToolButton::clicked, edit, [edit, title] {
    const QString path = QFileDialog::getOpenFileName(edit, title, edit->text(),
                                                      QStringLiteral("PEM files (*.pem *.crt *.key);;All files (*)"));
    if (!path.isEmpty()) edit->setText(path);
  });
  layout->addWidget(edit, 1);
  layout->addWidget(browse);
  return row;
}

}  // namespace

ConnectionDialog::ConnectionDialog(const ConnectionSettings& initial, QWidget* parent)
    : QDialog(parent), m_initial(initial) {
  setWindowTitle(QStringLiteral("Connect to the appliance"));
  auto* layout = new QVBoxLayout(this);
  auto* intro = new QLabel(
      QStringLiteral("Enter the appliance's address and the credentials your administrator gave you. "
                     "Only these settings are remembered; conversations stay on the appliance."),
      this);
  intro->setWordWrap(true);
  layout->addWidget(intro);
  auto* form = new QFormLayout;
  m_address = new QLineEdit(initial.address, this);
  m_address->setPlaceholderText(QStringLiteral("assistant.example.org:8443"));
  m_address->setAccessibleName(QStringLiteral("Appliance address"));
  m_ca = new QLineEdit(initial.caPath, this);
  m_ca->setAccessibleName(QStringLiteral("CA certificate file"));
  m_certMode = new QRadioButton(QStringLiteral("Client &certificate"), this);
  m_tokenMode = new QRadioButton(QStringLiteral("Access &token"), this);
  (initial.auth == ConnectionSettings::Auth::Token ? m_tokenMode : m_certMode)->setChecked(true);
  m_cert = new QLineEdit(initial.certPath, this);
  m_cert->setAccessibleName(QStringLiteral("Client certificate file"));
  m_key = new QLineEdit(initial.keyPath, this);
  m_key->setAccessibleName(QStringLiteral("Client key file"));
  m_token = new QLineEdit(this);
  m_token->setEchoMode(QLineEdit::Password);
  m_token->setAccessibleName(QStringLiteral("Access token"));
  m_token->setPlaceholderText(QStringLiteral("kept in memory for this session only"));
  form->addRow(QStringLiteral("&Address:"), m_address);
  form->addRow(QStringLiteral("CA certificate:"), fileRow(m_ca, QStringLiteral("CA certificate"), this));
  auto* modes = new QHBoxLayout;
  modes->addWidget(m_certMode);
  modes->addWidget(m_tokenMode);
  modes->addStretch();
  form->addRow(QStringLiteral("Sign in with:"), modes);
  form->addRow(QStringLiteral("Certificate:"), fileRow(m_cert, QStringLiteral("client certificate"), this));
  form->addRow(QStringLiteral("Key:"), fileRow(m_key, QStringLiteral("client key"), this));
  form->addRow(QStringLiteral("T&oken:"), m_token);
  layout->addLayout(form);
  m_result = new QLabel(this);
  m_result->setWordWrap(true);
  m_result->setAccessibleName(QStringLiteral("Connection test result"));
  layout->addWidget(m_result);
  auto* buttons = new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel, this);
  m_test = buttons->addButton(QStringLiteral("&Test connection"), QDialogButtonBox::ActionRole);
  buttons->button(QDialogButtonBox::Ok)->setText(QStringLiteral("&Connect"));
  layout->addWidget(buttons);
  connect(buttons, &QDialogButtonBox::accepted, this, [this] {
    const QString missing = settings().incompleteReason();
    if (!missing.isEmpty()) {
      m_result->setText(missing);
      return;
    }
    accept();
  });
  connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);
  connect(m_test, &QPushButton::clicked, this, &ConnectionDialog::testConnection);
  connect(m_certMode, &QRadioButton::toggled, this, &ConnectionDialog::updateAuthMode);
  updateAuthMode();
  resize(560, sizeHint().height());
}

ConnectionDialog::~ConnectionDialog() = default;

void ConnectionDialog::updateAuthMode() {
  const bool cert = m_certMode->isChecked();
  m_cert->setEnabled(cert);
  m_key->setEnabled(cert);
  m_token->setEnabled(!cert);
}

ConnectionSettings ConnectionDialog::settings() const {
  ConnectionSettings s = m_initial;
  s.address = m_address->text().trimmed();
  s.caPath = m_ca->text().trimmed();
  s.auth = m_certMode->isChecked() ? ConnectionSettings::Auth::ClientCertificate
                                   : ConnectionSettings::Auth::Token;
  s.certPath = m_cert->text().trimmed();
  s.keyPath = m_key->text().trimmed();
  return s;
}

common::SecretBytes ConnectionDialog::token() const {
  const QByteArray t = m_token->text().toUtf8();
  return common::SecretBytes(reinterpret_cast<const uint8_t*>(t.constData()),
                             static_cast<size_t>(t.size()));
}

void ConnectionDialog::testConnection() {
  const QString missing = settings().incompleteReason();
  if (!missing.isEmpty()) {
    m_result->setText(missing);
    return;
  }
  m_probe = std::make_unique<ConnectionController>();
  m_result->setText(QStringLiteral("Testing…"));
  m_test->setEnabled(false);
  connect(m_probe.get(), &ConnectionController::stateChanged, this,
          [this](ConnectionController::State state) {
            if (state == ConnectionController::State::Connecting) return;
            QString text = m_probe->statusText();
            if (state == ConnectionController::State::Connected) {
              text = QStringLiteral("✔ %1 (appliance %2)")
                         .arg(text, QString::fromStdString(m_probe->health().version()));
            } else if (!m_probe->lastError().remedy().isEmpty()) {
              text += QStringLiteral("\n") + m_probe->lastError().remedy();
            }
            m_result->setText(text);
            m_test->setEnabled(true);
          });
  m_probe->connectTo(settings(), token());
}

}  // namespace gui
