// One chat at a time: sends turns, streams the answer into ChatMessageModel,
// stops (cancels on the server), regenerates and edits; keeps the model
// picker filtered by the chosen classification and the policy banner current.
#ifndef GUI_CHAT_CONTROLLER_H_
#define GUI_CHAT_CONTROLLER_H_

#include <QObject>
#include <memory>

#include "gui/appliance_client.h"
#include "gui/chat_message_model.h"
#include "gui/model_list_model.h"

namespace gui {

class ConnectionController;

// What the banner above the chat says applies.
struct PolicyBanner {
  QString classification;  // "INTERNAL"
  QString retention;       // "kept 30 days" / "not stored"
  QString site;            // "berlin-1"
  QString redactions;      // "EMAIL, SSN redacted before the model" or ""
  bool incognito = false;
  QString text() const;    // one line for the banner
};

// A denial or failure, as shown to the user.
struct ChatProblem {
  QString reason;     // ErrorDetail.reason, e.g. "POLICY_DENIED"
  QString headline;   // "Denied by policy: …"
  QStringList rules;  // "rule_id: message" of each rule that denied
  QString remedy;     // what the user can do
  quint64 auditSequence = 0;
  bool denial = false;
};

class ChatController : public QObject {
  Q_OBJECT
 public:
  explicit ChatController(ConnectionController* connection, QObject* parent = nullptr);
  ~ChatController() override;

  ChatMessageModel* messages() { return &m_messages; }
  ModelListModel* models() { return &m_models; }

  QStringList classifications() const;
  QString classification() const { return m_classification; }
  void setClassification(const QString& classification);
  QString model() const { return m_model; }
  void setModel(const QString& model);
  bool incognitoAllowed() const;
  bool incognito() const { return m_incognito; }
  void setIncognito(bool on);
  PolicyBanner banner() const;

  QString conversationId() const { return m_conversationId; }
  QString title() const { return m_title; }
  bool busy() const { return m_call != nullptr; }
  const ChatProblem& problem() const { return m_problem; }
  QString redactionNotice() const { return m_redactionNotice; }
  QString usageText() const { return m_usageText; }

  // Sends a user turn; false (and nothing happens) while busy or empty.
  bool send(const QString& text);
  // Cancels the stream; the server stops generating within one step.
  void stop();
  // Asks again for the last answer. For a stored conversation this starts a
  // new conversation with the history so far (the API appends, it cannot
  // rewrite stored turns); for content that is not stored it resends.
  bool regenerate();
  // Replaces user message `row` by `text`, drops what followed, resends.
  bool editAndResend(int row, const QString& text);
  void newConversation();
  void openConversation(const QString& id);

 signals:
  void busyChanged(bool busy);
  void bannerChanged();
  void modelsChanged();
  void redactionNoticeChanged(const QString& notice);
  void problemChanged();
  void conversationStarted(const QString& id);
  void conversationLoaded(const QString& id);
  void turnFinished(int finishReason);

 private:
  void onPolicyChanged();
  void refreshModels();
  bool startTurn(bool fork);
  void setBusy(std::shared_ptr<CallHandle> call);
  void setProblem(const RpcError& error);
  void clearProblem();
  const v1::ClassificationInfo* classInfo() const;

  ConnectionController* m_connection;
  ChatMessageModel m_messages;
  ModelListModel m_models;
  QString m_classification;
  QString m_model;
  bool m_incognito = false;
  QString m_conversationId;
  QString m_title;
  bool m_contentStored = true;  // from the last ChatStart's retention
  bool m_haveStart = false;
  v1::ChatStart m_start;        // obligations of the current turn (no content)
  std::shared_ptr<CallHandle> m_call;
  int m_answerRow = -1;
  ChatProblem m_problem;
  QString m_redactionNotice;
  QString m_usageText;
  int m_turn = 0;
};

}  // namespace gui

#endif  // GUI_CHAT_CONTROLLER_H_
