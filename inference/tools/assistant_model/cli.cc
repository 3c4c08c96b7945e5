#include "cli.h"

#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>

namespace assistant_model {

bool Flags::Parse(int argc, char** argv, const std::vector<std::string>& value_flags,
                  const std::vector<std::string>& bool_flags) {
  auto contains = [](const std::vector<std::string>& v, const std::string& s) {
    for (const auto& x : v) {
      if (x == s) return true;
    }
    return false;
  };
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a.rfind("--", 0) != 0 || a == "--") {
      positional_.push_back(a);
      continue;
    }
    std::string name = a.substr(2), value;
    bool has_value = false;
    size_t eq = name.find('=');
    if (eq != std::string::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
      has_value = true;
    }
    if (contains(bool_flags, name)) {
      if (has_value) {
        std::fprintf(stderr, "%s: --%s takes no value\n", argv[0], name.c_str());
        return false;
      }
      values_[name] = "1";
    } else if (contains(value_flags, name)) {
      if (!has_value) {
        if (i + 1 >= argc) {
          std::fprintf(stderr, "%s: --%s needs a value\n", argv[0], name.c_str());
          return false;
        }
        value = argv[++i];
      }
      values_[name] = value;
    } else {
      std::fprintf(stderr, "%s: unknown flag --%s\n", argv[0], name.c_str());
      return false;
    }
  }
  return true;
}

std::string Flags::Get(const std::string& name, const std::string& def) const {
  auto it = values_.find(name);
  return it == values_.end() ? def : it->second;
}

int Fail(const char* cmd, const std::string& message, int code) {
  std::fprintf(stderr, "assistant-model %s: %s\n", cmd, message.c_str());
  return code;
}

int Fail(const char* cmd, const common::Status& status) { return Fail(cmd, status.ToString(), kExitFailure); }

common::StatusOr<std::string> ReadInput(const std::string& path) {
  std::stringstream ss;
  if (path == "-") {
    ss << std::cin.rdbuf();
    return ss.str();
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return common::NotFoundError("cannot open '" + path + "'");
  ss << in.rdbuf();
  return ss.str();
}

common::StatusOr<ModelSource> LoadModelSource(const std::string& model_path, const std::string& config_path,
                                              bool need_tokenizer) {
  ModelSource src;
  if (!config_path.empty()) {
    ASSIGN_OR_RETURN(src.config_json, ReadInput(config_path));
  }
  // GGUF files start with the magic; anything else is read as tokenizer.json.
  char magic[4] = {};
  {
    std::ifstream in(model_path, std::ios::binary);
    if (!in) return common::NotFoundError("cannot open '" + model_path + "'");
    in.read(magic, 4);
  }
  if (std::string(magic, 4) == "GGUF") {
    ASSIGN_OR_RETURN(src.gguf, inference::GgufFile::Open(model_path));
    if (need_tokenizer) {
      auto tok = inference::Tokenizer::FromGguf(*src.gguf);
      if (!tok.ok()) return tok.status().WithContext("'" + model_path + "'");
      src.tokenizer = std::move(*tok);
    }
    return src;
  }
  ASSIGN_OR_RETURN(std::string text, ReadInput(model_path));
  auto tok = inference::Tokenizer::FromHfJson(text, src.config_json);
  if (!tok.ok()) return tok.status().WithContext("'" + model_path + "'");
  src.tokenizer = std::move(*tok);
  return src;
}

}  // namespace assistant_model
