// assistant-model template: the rendered prompt, exactly, on stdout.
#include <cstdio>

#include "cli.h"
#include "common/json.h"

namespace assistant_model {

using common::Json;

int RunTemplate(int argc, char** argv) {
  Flags flags;
  if (!flags.Parse(argc, argv, {"model", "messages", "context", "tokenizer-config"}, {"add-generation-prompt"})) {
    return kExitUsage;
  }
  if (!flags.Has("model")) return Fail("template", "--model is required", kExitUsage);
  if (!flags.Has("messages")) return Fail("template", "--messages is required", kExitUsage);
  std::string messages_text = flags.Get("messages");
  if (!messages_text.empty() && messages_text[0] == '@') {
    auto m = ReadInput(messages_text.substr(1));
    if (!m.ok()) return Fail("template", m.status());
    messages_text = *m;
  }
  auto messages = Json::Parse(messages_text);
  if (!messages.ok() || !messages->is_array()) {
    return Fail("template", "--messages must be a JSON array" +
                                (messages.ok() ? std::string() : ": " + messages.status().message()),
                kExitUsage);
  }
  Json context = Json::MakeObject();
  if (flags.Has("context")) {
    auto c = Json::Parse(flags.Get("context"));
    if (!c.ok() || !c->is_object()) return Fail("template", "--context must be a JSON object", kExitUsage);
    context = *c;
  }
  auto src = LoadModelSource(flags.Get("model"), flags.Get("tokenizer-config"), true);
  if (!src.ok()) return Fail("template", src.status());

  // The template: tokenizer_config.json wins over the GGUF's own.
  std::string source;
  Json vars = Json::MakeObject();
  if (!src->config_json.empty()) {
    auto cfg = Json::Parse(src->config_json);
    if (!cfg.ok()) return Fail("template", cfg.status().WithContext("tokenizer_config.json"));
    const Json* t = cfg->Find("chat_template");
    if (t && t->is_string()) source = t->as_string();
    for (const char* k : {"bos_token", "eos_token"}) {
      const Json* v = cfg->Find(k);
      if (v && v->is_object() && v->Find("content")) v = v->Find("content");
      if (v) vars.Set(k, *v);
    }
  }
  if (source.empty() && src->gguf) {
    auto t = src->gguf->GetString("tokenizer.chat_template");
    if (t.ok()) source = *t;
  }
  if (source.empty()) return Fail("template", "the model has no chat template (use --tokenizer-config)");
  const inference::Tokenizer& tok = *src->tokenizer;
  if (!vars.Find("bos_token")) vars.Set("bos_token", tok.bos_id() >= 0 ? Json(tok.TokenText(tok.bos_id())) : Json());
  if (!vars.Find("eos_token")) vars.Set("eos_token", tok.eos_id() >= 0 ? Json(tok.TokenText(tok.eos_id())) : Json());
  vars.Set("add_generation_prompt", flags.Has("add-generation-prompt"));
  for (const auto& [k, v] : context.as_object()) vars.Set(k, v);

  auto tmpl = inference::ChatTemplate::Create(source);
  if (!tmpl.ok()) return Fail("template", tmpl.status());
  auto out = (*tmpl)->Render(*messages, vars);
  if (!out.ok()) return Fail("template", out.status());
  std::fwrite(out->data(), 1, out->size(), stdout);
  return kExitOk;
}

}  // namespace assistant_model
