// assistant-model tokenize / detokenize: ids as JSON, one object per line
// with --jsonl.
#include <cstdio>
#include <sstream>

#include "cli.h"
#include "common/json.h"

namespace assistant_model {

using common::Json;

namespace {

Json IdsJson(const std::vector<int32_t>& ids) {
  Json arr = Json::MakeArray();
  for (int32_t id : ids) arr.Push(id);
  Json o = Json::MakeObject();
  o.Set("ids", arr);
  return o;
}

common::StatusOr<std::vector<int32_t>> ParseIds(const Json& j, const inference::Tokenizer& tok) {
  if (!j.is_array()) return common::InvalidArgumentError("ids must be a JSON array of integers");
  std::vector<int32_t> ids;
  for (const auto& v : j.as_array()) {
    if (!v.is_int() || v.as_int() < 0 || v.as_int() >= tok.vocab_size()) {
      return common::InvalidArgumentError("id out of range (vocabulary has " + std::to_string(tok.vocab_size()) +
                                          " tokens)");
    }
    ids.push_back(static_cast<int32_t>(v.as_int()));
  }
  return ids;
}

}  // namespace

int RunTokenize(int argc, char** argv) {
  Flags flags;
  if (!flags.Parse(argc, argv, {"model", "text", "jsonl", "tokenizer-config"}, {"special", "bos"})) return kExitUsage;
  if (!flags.Has("model")) return Fail("tokenize", "--model is required", kExitUsage);
  if (flags.Has("text") == flags.Has("jsonl")) return Fail("tokenize", "give exactly one of --text and --jsonl", kExitUsage);
  auto src = LoadModelSource(flags.Get("model"), flags.Get("tokenizer-config"), true);
  if (!src.ok()) return Fail("tokenize", src.status());
  const inference::Tokenizer& tok = *src->tokenizer;
  const bool bos = flags.Has("bos") && tok.add_bos();
  auto encode = [&](const std::string& text, bool special) {
    std::vector<int32_t> ids;
    if (bos) ids.push_back(tok.bos_id());
    std::vector<int32_t> body = tok.Encode(text, special);
    ids.insert(ids.end(), body.begin(), body.end());
    return ids;
  };
  if (flags.Has("text")) {
    std::printf("%s\n", IdsJson(encode(flags.Get("text"), flags.Has("special"))).Dump().c_str());
    return kExitOk;
  }
  auto input = ReadInput(flags.Get("jsonl"));
  if (!input.ok()) return Fail("tokenize", input.status());
  std::stringstream ss(*input);
  int line_no = 0;
  for (std::string line; std::getline(ss, line);) {
    ++line_no;
    if (line.empty()) continue;
    auto j = Json::Parse(line);
    if (!j.ok()) return Fail("tokenize", "line " + std::to_string(line_no) + ": " + j.status().message());
    const Json* text = j->Find("text");
    if (!text || !text->is_string()) return Fail("tokenize", "line " + std::to_string(line_no) + ": no \"text\" string");
    const Json* ps = j->Find("parse_special");
    bool special = ps && ps->is_bool() ? ps->as_bool() : flags.Has("special");
    std::printf("%s\n", IdsJson(encode(text->as_string(), special)).Dump().c_str());
  }
  return kExitOk;
}

int RunDetokenize(int argc, char** argv) {
  Flags flags;
  if (!flags.Parse(argc, argv, {"model", "ids", "jsonl", "tokenizer-config"}, {"skip-special"})) return kExitUsage;
  if (!flags.Has("model")) return Fail("detokenize", "--model is required", kExitUsage);
  if (flags.Has("ids") == flags.Has("jsonl")) return Fail("detokenize", "give exactly one of --ids and --jsonl", kExitUsage);
  auto src = LoadModelSource(flags.Get("model"), flags.Get("tokenizer-config"), true);
  if (!src.ok()) return Fail("detokenize", src.status());
  const inference::Tokenizer& tok = *src->tokenizer;
  auto decode_line = [&](const Json& ids_json) -> common::StatusOr<std::string> {
    ASSIGN_OR_RETURN(std::vector<int32_t> ids, ParseIds(ids_json, tok));
    Json o = Json::MakeObject();
    o.Set("text", tok.Decode(ids, flags.Has("skip-special")));
    return o.Dump();
  };
  if (flags.Has("ids")) {
    auto j = Json::Parse(flags.Get("ids"));
    if (!j.ok()) return Fail("detokenize", "--ids: " + j.status().message(), kExitUsage);
    auto out = decode_line(*j);
    if (!out.ok()) return Fail("detokenize", out.status());
    std::printf("%s\n", out->c_str());
    return kExitOk;
  }
  auto input = ReadInput(flags.Get("jsonl"));
  if (!input.ok()) return Fail("detokenize", input.status());
  std::stringstream ss(*input);
  int line_no = 0;
  for (std::string line; std::getline(ss, line);) {
    ++line_no;
    if (line.empty()) continue;
    auto j = Json::Parse(line);
    if (!j.ok()) return Fail("detokenize", "line " + std::to_string(line_no) + ": " + j.status().message());
    const Json* ids = j->is_array() ? &*j : j->Find("ids");
    if (!ids) return Fail("detokenize", "line " + std::to_string(line_no) + ": no \"ids\" array");
    auto out = decode_line(*ids);
    if (!out.ok()) return Fail("detokenize", out.status().WithContext("line " + std::to_string(line_no)));
    std::printf("%s\n", out->c_str());
  }
  return kExitOk;
}

}  // namespace assistant_model
