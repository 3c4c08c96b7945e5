// ModelText: output text from the GGUF vocabulary (serving/token_text.h).
// Encoding text prompts needs the tokenizer (inference/tokenizer.h); until
// it is wired in, `encode` stays empty and prompts must be token ids.
#include "serving/token_text.h"
#include "worker/models.h"

namespace worker {

common::StatusOr<ModelText> MakeModelText(const inference::Model& model) {
  ASSIGN_OR_RETURN(auto tt, inference::MakeTokenText(model.file()));
  ModelText text;
  text.token_bytes = std::move(tt.token_bytes);
  text.is_eog = std::move(tt.is_eog);
  return text;
}

}  // namespace worker
