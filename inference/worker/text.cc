// ModelText from the model file's tokenizer (serving/token_text.h).
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
  return text;
}

}  // namespace worker
