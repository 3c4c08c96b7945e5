// assistant-model info MODEL.gguf: architecture, hyperparameters, tensor
// types, tokenizer, chat template, size and SHA-256, as JSON.
#include <cstdio>
#include <map>

#include "cli.h"
#include "common/json.h"
#include "common/sha256.h"

namespace assistant_model {

using common::Json;

int RunInfo(int argc, char** argv) {
  Flags flags;
  if (!flags.Parse(argc, argv, {}, {"tensors", "metadata", "no-sha256"})) return kExitUsage;
  if (flags.positional().size() != 1) return Fail("info", "expected one MODEL.gguf argument", kExitUsage);
  const std::string path = flags.positional()[0];
  auto file = inference::GgufFile::Open(path);
  if (!file.ok()) return Fail("info", file.status());
  const inference::GgufFile& g = **file;

  Json out = Json::MakeObject();
  out.Set("file", path);
  out.Set("file_size", g.file_size());
  if (!flags.Has("no-sha256")) {
    auto sha = common::Sha256File(path);
    if (!sha.ok()) return Fail("info", sha.status());
    out.Set("sha256", *sha);
  }
  out.Set("gguf_version", g.version());
  out.Set("alignment", g.alignment());
  const std::string arch = g.architecture();
  out.Set("architecture", arch);
  out.Set("name", g.GetStringOr("general.name", ""));
  if (g.Has("general.file_type")) out.Set("file_type", g.GetUintOr("general.file_type", 0));

  // Every scalar `<arch>.*` key: the shapes and hyperparameters.
  Json hp = Json::MakeObject();
  for (const auto& k : g.keys()) {
    if (arch.empty() || k.key.rfind(arch + ".", 0) != 0 || k.type == inference::GgufValueType::kArray) continue;
    auto v = g.GetJson(k.key);
    if (v.ok()) hp.Set(k.key.substr(arch.size() + 1), *v);
  }
  out.Set("hyperparameters", hp);

  std::map<std::string, uint64_t> type_counts;
  uint64_t params = 0, bytes = 0;
  Json list = Json::MakeArray();
  for (const auto& t : g.tensors()) {
    ++type_counts[inference::GgmlTypeName(t.type)];
    params += t.n_elements;
    bytes += t.n_bytes;
    if (flags.Has("tensors")) {
      Json e = Json::MakeObject();
      e.Set("name", t.name);
      e.Set("type", inference::GgmlTypeName(t.type));
      Json dims = Json::MakeArray();
      for (uint64_t d : t.dims) dims.Push(d);
      e.Set("dims", dims);
      e.Set("offset", t.offset);
      e.Set("bytes", t.n_bytes);
      list.Push(e);
    }
  }
  Json tensors = Json::MakeObject();
  tensors.Set("count", static_cast<uint64_t>(g.tensors().size()));
  Json types = Json::MakeObject();
  for (const auto& [name, n] : type_counts) types.Set(name, n);
  tensors.Set("types", types);
  tensors.Set("parameters", params);
  tensors.Set("data_bytes", bytes);
  if (flags.Has("tensors")) tensors.Set("list", list);
  out.Set("tensors", tensors);

  Json tok = Json::MakeObject();
  tok.Set("model", g.GetStringOr("tokenizer.ggml.model", ""));
  tok.Set("pre", g.GetStringOr("tokenizer.ggml.pre", ""));
  if (const auto* k = g.FindKey("tokenizer.ggml.tokens")) tok.Set("vocab_size", k->array_size);
  if (const auto* k = g.FindKey("tokenizer.ggml.merges")) tok.Set("merges", k->array_size);
  if (g.Has("tokenizer.ggml.model")) {
    auto t = inference::Tokenizer::FromGguf(g);
    if (t.ok()) {
      tok.Set("loadable", true);
      tok.Set("bos_id", (*t)->bos_id());
      tok.Set("eos_id", (*t)->eos_id());
      tok.Set("add_bos", (*t)->add_bos());
      Json eog = Json::MakeArray();
      for (int32_t id : (*t)->eog_ids()) eog.Push(id);
      tok.Set("eog_ids", eog);
    } else {
      tok.Set("loadable", false);
      tok.Set("error", t.status().ToString());
    }
  }
  out.Set("tokenizer", tok);

  Json tmpl = Json::MakeObject();
  auto chat = g.GetString("tokenizer.chat_template");
  tmpl.Set("present", chat.ok());
  if (chat.ok()) {
    tmpl.Set("bytes", static_cast<uint64_t>(chat->size()));
    tmpl.Set("sha256", common::HexEncode(common::Sha256::Hash(*chat)));
    tmpl.Set("parses", inference::ChatTemplate::Create(*chat).ok());
  }
  out.Set("chat_template", tmpl);

  if (flags.Has("metadata")) {
    Json md = Json::MakeObject();
    for (const auto& k : g.keys()) {
      auto v = g.GetJson(k.key, 8);
      if (v.ok()) md.Set(k.key, *v);
    }
    out.Set("metadata", md);
  }
  Json::DumpOptions opts;
  opts.indent = 2;
  opts.key_sep = ": ";
  std::printf("%s\n", out.Dump(opts).c_str());
  return kExitOk;
}

}  // namespace assistant_model
