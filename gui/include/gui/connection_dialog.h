// First run and "Connection settings": address, CA, client certificate and
// key or a token; "Test connection" checks them before they are saved.
#ifndef GUI_CONNECTION_DIALOG_H_
#define GUI_CONNECTION_DIALOG_H_

#include <QDialog>
#include <memory>

#include "common/secret.h"
#include "gui/connection_settings.h"

class QLabel;
class QLineEdit;
class QRadioButton;
class QPushButton;

namespace gui {

class ConnectionController;

class ConnectionDialog : public QDialog {
  Q_OBJECT
 public:
  explicit ConnectionDialog(const ConnectionSettings& initial, QWidget* parent = nullptr);
  ~ConnectionDialog() override;

  ConnectionSettings settings() const;
  // The token typed for this session (never saved).
  common::SecretBytes token() const;
  void testConnection();

 private:
  void updateAuthMode();

  QLineEdit* m_address;
  QLineEdit* m_ca;
  QRadioButton* m_certMode;
  QRadioButton* m_tokenMode;
  QLineEdit* m_cert;
  QLineEdit* m_key;
  QLineEdit* m_token;
  QLabel* m_result;
  QPushButton* m_test;
  ConnectionSettings m_initial;
  std::unique_ptr<ConnectionController> m_probe;
};

}  // namespace gui

#endif  // GUI_CONNECTION_DIALOG_H_
