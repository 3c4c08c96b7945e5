// ModelText from the model file: the tokenizer (serving/token_text.h) and
// the chat template carried in tokenizer.chat_template.
#include <memory>

#include "common/sha256.h"
#include "inference/chat_template.h"
#include "inference/gguf.h"
#include "inference/tokenizer.h"
#include "serving/token_text.h"
#include "worker/models.h"

namespace worker {

common::StatusOr<ModelText> MakeModelText(const inference::Model& model) {
  ASSIGN_OR_RETURN(auto tt, inference::MakeTokenText(model.file()));
  ModelText text;
  text.token_bytes = std::move(tt.token_bytes);
  text.is_eog = std::move(tt.is_eog);
  if (tt.encode) {
    text.encode = [encode = std::move(tt.encode)](std::string_view s)
        -> common::StatusOr<std::vector<int32_t>> { return encode(s); };
  }
  const inference::GgufFile& file = model.file();
  if (!tt.tokenizer || !file.Has("tokenizer.chat_template")) return text;

  ASSIGN_OR_RETURN(std::string source, file.GetString("tokenizer.chat_template"));
  ASSIGN_OR_RETURN(std::unique_ptr<inference::ChatTemplate> owned,
                   inference::ChatTemplate::Create(source));
  std::shared_ptr<const inference::ChatTemplate> tmpl = std::move(owned);
  std::shared_ptr<const inference::Tokenizer> tok = tt.tokenizer;
  text.chat_template_sha256 = common::HexEncode(common::Sha256::Hash(source));
  const std::string bos = tok->bos_id() >= 0 ? tok->TokenText(tok->bos_id()) : std::string();
  const std::string eos = tok->eos_id() >= 0 ? tok->TokenText(tok->eos_id()) : std::string();
  text.render_chat = [tmpl, bos, eos](const common::Json& messages, const common::Json& extra)
      -> common::StatusOr<std::string> {
    common::Json context = common::Json::MakeObject();
    context.Set("bos_token", bos);
    context.Set("eos_token", eos);
    context.Set("add_generation_prompt", true);
    if (extra.is_object()) {
      for (const auto& [k, v] : extra.as_object()) context.Set(k, v);
    }
    return tmpl->Render(messages, context);
  };
  text.encode_chat = [tok, bos](std::string_view rendered)
      -> common::StatusOr<std::vector<int32_t>> {
    std::vector<int32_t> ids;
    const bool has_bos = !bos.empty() && rendered.substr(0, bos.size()) == bos;
    if (tok->add_bos() && tok->bos_id() >= 0 && !has_bos) ids.push_back(tok->bos_id());
    const auto body = tok->Encode(rendered, /*parse_special=*/true);
    ids.insert(ids.end(), body.begin(), body.end());
    return ids;
  };
  return text;
}

}  // namespace worker
