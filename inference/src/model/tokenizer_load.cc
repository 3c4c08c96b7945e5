// Building a Tokenizer from GGUF metadata or from Hugging Face tokenizer.json.
#include <cstring>
#include <fstream>
#include <sstream>

#include "common/json.h"
#include "common/file.h"
#include "inference/tokenizer.h"
#include "model/tokenizer_impl.h"

namespace inference {
namespace {

using common::InvalidArgumentError;
using common::Json;
using common::Status;

Status AddMerge(TokenizerImpl& t, std::string_view left, std::string_view right, int32_t rank) {
  auto l = t.token_to_id.find(left);
  auto r = t.token_to_id.find(right);
  std::string merged;
  merged.reserve(left.size() + right.size());
  merged.append(left);
  merged.append(right);
  auto m = t.token_to_id.find(merged);
  if (l == t.token_to_id.end() || r == t.token_to_id.end() || m == t.token_to_id.end()) {
    return common::OkStatus();  // a merge that cannot apply; tokenizers ignore it as well
  }
  uint64_t key = (static_cast<uint64_t>(static_cast<uint32_t>(l->second)) << 32) | static_cast<uint32_t>(r->second);
  t.merges.emplace(key, std::make_pair(rank, m->second));  // the first (lowest) rank wins
  return common::OkStatus();
}

Status CompileRegexes(TokenizerImpl& t, const std::vector<std::string>& patterns) {
  for (const auto& p : patterns) {
    auto re = PretokRegex::Compile(p);
    if (!re.ok()) return re.status();
    t.regexes.push_back(std::move(*re));
  }
  return common::OkStatus();
}

int32_t OptionalId(const GgufFile& g, const char* key) {
  auto v = g.GetInt(key);
  if (!v.ok() || *v < 0 || *v > INT32_MAX) return -1;
  return static_cast<int32_t>(*v);
}


// "bos_token": "<s>" or {"content": "<s>", ...} or null.
std::string TokenName(const Json* j) {
  if (j == nullptr) return "";
  if (j->is_string()) return j->as_string();
  if (j->is_object()) {
    const Json* c = j->Find("content");
    if (c && c->is_string()) return c->as_string();
  }
  return "";
}

// Escapes a literal for PretokRegex.
std::string EscapeRegex(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (std::strchr("\\^$.|?*+()[]{}", c) != nullptr && c != '\0') out.push_back('\\');
    out.push_back(c);
  }
  return out;
}

Status ParsePreTokenizer(const Json& pt, TokenizerImpl& t, std::vector<std::string>& patterns) {
  const Json* type = pt.Find("type");
  if (!type || !type->is_string()) return InvalidArgumentError("tokenizer.json: pre_tokenizer without a type");
  const std::string& ty = type->as_string();
  if (ty == "Sequence") {
    const Json* list = pt.Find("pretokenizers");
    if (!list || !list->is_array()) return InvalidArgumentError("tokenizer.json: Sequence without pretokenizers");
    for (const auto& p : list->as_array()) RETURN_IF_ERROR(ParsePreTokenizer(p, t, patterns));
    return common::OkStatus();
  }
  if (ty == "Split") {
    const Json* pattern = pt.Find("pattern");
    const Json* behavior = pt.Find("behavior");
    const Json* invert = pt.Find("invert");
    if (behavior && behavior->is_string() && behavior->as_string() != "Isolated") {
      return common::UnimplementedError("tokenizer.json: Split behavior '" + behavior->as_string() + "'");
    }
    if (invert && invert->as_bool()) return common::UnimplementedError("tokenizer.json: inverted Split");
    if (pattern && pattern->Find("Regex") && pattern->Find("Regex")->is_string()) {
      patterns.push_back(pattern->Find("Regex")->as_string());
    } else if (pattern && pattern->Find("String") && pattern->Find("String")->is_string()) {
      patterns.push_back(EscapeRegex(pattern->Find("String")->as_string()));
    } else {
      return InvalidArgumentError("tokenizer.json: Split without a pattern");
    }
    return common::OkStatus();
  }
  if (ty == "ByteLevel") {
    const Json* prefix = pt.Find("add_prefix_space");
    const Json* use_regex = pt.Find("use_regex");
    if (prefix && prefix->as_bool()) t.byte_level_prefix_space = true;
    if (!use_regex || use_regex->as_bool()) {
      patterns.push_back("'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+");
    }
    return common::OkStatus();
  }
  if (ty == "Digits") {
    const Json* ind = pt.Find("individual_digits");
    patterns.push_back(ind && ind->as_bool() ? "\\p{N}" : "\\p{N}+");
    return common::OkStatus();
  }
  return common::UnimplementedError("tokenizer.json: pre-tokenizer type '" + ty + "' is not supported");
}

Status ParseNormalizer(const Json& n, TokenizerImpl& t) {
  if (n.is_null()) return common::OkStatus();
  const Json* type = n.Find("type");
  if (!type || !type->is_string()) return InvalidArgumentError("tokenizer.json: normalizer without a type");
  if (type->as_string() == "Sequence") {
    const Json* list = n.Find("normalizers");
    if (list && list->is_array()) {
      for (const auto& x : list->as_array()) RETURN_IF_ERROR(ParseNormalizer(x, t));
    }
    return common::OkStatus();
  }
  if (type->as_string() == "NFC") {
    t.nfc = true;
    return common::OkStatus();
  }
  return common::UnimplementedError("tokenizer.json: normalizer '" + type->as_string() + "' is not supported");
}

}  // namespace

StatusOr<std::unique_ptr<Tokenizer>> Tokenizer::FromGguf(const GgufFile& g) {
  auto t = std::make_unique<TokenizerImpl>();
  ASSIGN_OR_RETURN(t->model, g.GetString("tokenizer.ggml.model"));
  t->pre = g.GetStringOr("tokenizer.ggml.pre", "");
  ASSIGN_OR_RETURN(t->tokens, g.GetStringArray("tokenizer.ggml.tokens"));
  const size_t n = t->tokens.size();
  if (n == 0 || n > INT32_MAX) return InvalidArgumentError("tokenizer.ggml.tokens: bad vocabulary size " + std::to_string(n));
  if (g.Has("tokenizer.ggml.scores")) {
    ASSIGN_OR_RETURN(t->scores, g.GetFloatArray("tokenizer.ggml.scores"));
    if (t->scores.size() != n) {
      return InvalidArgumentError("tokenizer.ggml.scores has " + std::to_string(t->scores.size()) +
                                  " entries for " + std::to_string(n) + " tokens");
    }
  }
  if (g.Has("tokenizer.ggml.token_type")) {
    ASSIGN_OR_RETURN(std::vector<int64_t> types, g.GetIntArray("tokenizer.ggml.token_type"));
    if (types.size() != n) {
      return InvalidArgumentError("tokenizer.ggml.token_type has " + std::to_string(types.size()) +
                                  " entries for " + std::to_string(n) + " tokens");
    }
    t->types.reserve(n);
    for (int64_t v : types) t->types.push_back(v >= 0 && v <= 6 ? static_cast<TokenType>(v) : TokenType::kNormal);
  }
  t->bos = OptionalId(g, "tokenizer.ggml.bos_token_id");
  t->eos = OptionalId(g, "tokenizer.ggml.eos_token_id");
  t->eot = OptionalId(g, "tokenizer.ggml.eot_token_id");
  t->eom = OptionalId(g, "tokenizer.ggml.eom_token_id");
  t->unk = OptionalId(g, "tokenizer.ggml.unknown_token_id");
  t->pad = OptionalId(g, "tokenizer.ggml.padding_token_id");
  if (t->model == "llama") {
    t->kind = TokenizerKind::kSpm;
    t->add_bos = true;
    auto asp = g.GetBool("tokenizer.ggml.add_space_prefix");
    t->add_space_prefix = asp.ok() ? *asp : true;
    if (t->unk < 0) t->unk = 0;
  } else if (t->model == "gpt2") {
    t->kind = TokenizerKind::kBpe;
    std::vector<std::string> patterns = PreTokenizerPatterns(t->pre);
    if (patterns.empty()) {
      return common::UnimplementedError("tokenizer.ggml.pre '" + t->pre + "' is not a supported pre-tokenizer");
    }
    RETURN_IF_ERROR(CompileRegexes(*t, patterns));
    t->ignore_merges = t->pre == "llama-bpe" || t->pre == "llama3" || t->pre == "llama-v3";
  } else if (t->model == "bert") {
    t->kind = TokenizerKind::kWordPiece;
    t->add_bos = true;  // [CLS]
  } else {
    return common::UnimplementedError("tokenizer model '" + t->model + "' is not supported");
  }
  if (auto v = g.GetBool("tokenizer.ggml.add_bos_token"); v.ok()) t->add_bos = *v;
  if (auto v = g.GetBool("tokenizer.ggml.add_eos_token"); v.ok()) t->add_eos = *v;
  RETURN_IF_ERROR(t->Finalize());
  if (t->kind == TokenizerKind::kBpe) {
    if (!g.Has("tokenizer.ggml.merges")) return InvalidArgumentError("tokenizer.ggml.merges is missing for a gpt2 tokenizer");
    ASSIGN_OR_RETURN(std::vector<std::string> merges, g.GetStringArray("tokenizer.ggml.merges"));
    for (size_t i = 0; i < merges.size(); ++i) {
      size_t sp = merges[i].find(' ', 1);
      if (sp == std::string::npos) {
        return InvalidArgumentError("tokenizer.ggml.merges[" + std::to_string(i) + "] is not two tokens");
      }
      RETURN_IF_ERROR(AddMerge(*t, std::string_view(merges[i]).substr(0, sp),
                               std::string_view(merges[i]).substr(sp + 1), static_cast<int32_t>(i)));
    }
  }
  return std::unique_ptr<Tokenizer>(new Tokenizer(std::move(t)));
}

StatusOr<std::unique_ptr<Tokenizer>> Tokenizer::FromHfJson(std::string_view tokenizer_json,
                                                           std::string_view config_json) {
  auto parsed = Json::Parse(tokenizer_json);
  if (!parsed.ok()) return parsed.status().WithContext("tokenizer.json");
  const Json& j = *parsed;
  const Json* model = j.Find("model");
  if (!model || !model->is_object()) return InvalidArgumentError("tokenizer.json: no model");
  const Json* mtype = model->Find("type");
  if (!mtype || !mtype->is_string() || mtype->as_string() != "BPE") {
    return common::UnimplementedError("tokenizer.json: only BPE models are supported");
  }
  auto t = std::make_unique<TokenizerImpl>();
  t->kind = TokenizerKind::kBpe;
  t->model = "gpt2";
  t->pre = "tokenizer.json";
  const Json* vocab = model->Find("vocab");
  if (!vocab || !vocab->is_object()) return InvalidArgumentError("tokenizer.json: model.vocab is not an object");
  int64_t max_id = -1;
  for (const auto& [tok, id] : vocab->as_object()) {
    if (!id.is_int() || id.as_int() < 0 || id.as_int() > 10000000) {
      return InvalidArgumentError("tokenizer.json: bad id for vocabulary entry");
    }
    max_id = std::max(max_id, id.as_int());
  }
  const Json* added = j.Find("added_tokens");
  if (added && added->is_array()) {
    for (const auto& a : added->as_array()) {
      const Json* id = a.Find("id");
      if (!id || !id->is_int() || id->as_int() < 0 || id->as_int() > 10000000) {
        return InvalidArgumentError("tokenizer.json: bad id in added_tokens");
      }
      max_id = std::max(max_id, id->as_int());
    }
  }
  t->tokens.resize(static_cast<size_t>(max_id + 1));
  t->types.assign(t->tokens.size(), TokenType::kNormal);
  for (const auto& [tok, id] : vocab->as_object()) t->tokens[static_cast<size_t>(id.as_int())] = tok;
  if (added && added->is_array()) {
    for (const auto& a : added->as_array()) {
      const Json* content = a.Find("content");
      const Json* special = a.Find("special");
      if (!content || !content->is_string()) return InvalidArgumentError("tokenizer.json: added token without content");
      size_t id = static_cast<size_t>(a.Find("id")->as_int());
      t->tokens[id] = content->as_string();
      t->types[id] = special && special->as_bool() ? TokenType::kControl : TokenType::kUserDefined;
    }
  }
  if (const Json* im = model->Find("ignore_merges")) t->ignore_merges = im->as_bool();
  if (const Json* norm = j.Find("normalizer")) RETURN_IF_ERROR(ParseNormalizer(*norm, *t));
  std::vector<std::string> patterns;
  if (const Json* pt = j.Find("pre_tokenizer"); pt && !pt->is_null()) RETURN_IF_ERROR(ParsePreTokenizer(*pt, *t, patterns));
  RETURN_IF_ERROR(CompileRegexes(*t, patterns));

  // Special token names come from tokenizer_config.json when given.
  std::string bos_name, eos_name, pad_name, unk_name;
  if (!config_json.empty()) {
    auto cfg = Json::Parse(config_json);
    if (!cfg.ok()) return cfg.status().WithContext("tokenizer_config.json");
    bos_name = TokenName(cfg->Find("bos_token"));
    eos_name = TokenName(cfg->Find("eos_token"));
    pad_name = TokenName(cfg->Find("pad_token"));
    unk_name = TokenName(cfg->Find("unk_token"));
    if (const Json* v = cfg->Find("add_bos_token"); v && v->is_bool()) t->add_bos = v->as_bool();
    if (const Json* v = cfg->Find("add_eos_token"); v && v->is_bool()) t->add_eos = v->as_bool();
  }
  RETURN_IF_ERROR(t->Finalize());
  auto id_of = [&](const std::string& name) -> int32_t {
    if (name.empty()) return -1;
    auto it = t->token_to_id.find(name);
    return it == t->token_to_id.end() ? -1 : it->second;
  };
  t->bos = id_of(bos_name);
  t->eos = id_of(eos_name);
  t->pad = id_of(pad_name);
  t->unk = id_of(unk_name);
  if (t->eos < 0) {
    for (const char* name : {"<|end_of_text|>", "<|endoftext|>", "<｜end▁of▁sentence｜>"}) {
      if (id_of(name) >= 0) {
        t->eos = id_of(name);
        break;
      }
    }
  }
  RETURN_IF_ERROR(t->Finalize());  // again, for the EOG set with the ids above

  const Json* merges = model->Find("merges");
  if (!merges || !merges->is_array()) return InvalidArgumentError("tokenizer.json: model.merges is not an array");
  int32_t rank = 0;
  for (const auto& m : merges->as_array()) {
    if (m.is_string()) {
      const std::string& s = m.as_string();
      size_t sp = s.find(' ', 1);
      if (sp == std::string::npos) return InvalidArgumentError("tokenizer.json: merge is not two tokens");
      RETURN_IF_ERROR(AddMerge(*t, std::string_view(s).substr(0, sp), std::string_view(s).substr(sp + 1), rank));
    } else if (m.is_array() && m.size() == 2 && m.as_array()[0].is_string() && m.as_array()[1].is_string()) {
      RETURN_IF_ERROR(AddMerge(*t, m.as_array()[0].as_string(), m.as_array()[1].as_string(), rank));
    } else {
      return InvalidArgumentError("tokenizer.json: merge " + std::to_string(rank) + " is malformed");
    }
    ++rank;
  }
  return std::unique_ptr<Tokenizer>(new Tokenizer(std::move(t)));
}

StatusOr<std::unique_ptr<Tokenizer>> Tokenizer::FromHfFiles(const std::string& tokenizer_json_path,
                                                            const std::string& config_json_path) {
  ASSIGN_OR_RETURN(std::string tj, common::ReadFile(tokenizer_json_path));
  std::string cj;
  if (!config_json_path.empty()) {
    ASSIGN_OR_RETURN(cj, common::ReadFile(config_json_path));
  }
  return FromHfJson(tj, cj);
}

}  // namespace inference
