// Encoders and decoders. The algorithms follow SentencePiece / llama.cpp for
// SPM (score-ordered bigram merges, byte fallback) and GPT-2 / Hugging Face
// for byte-level BPE (rank-ordered merges over pre-tokens).
#include <algorithm>
#include <cstring>
#include <queue>

#include "inference/tokenizer.h"
#include "inference/unicode.h"
#include "model/tokenizer_impl.h"

namespace inference {

const std::array<std::string, 256>& ByteToUnicode() {
  static const std::array<std::string, 256> table = [] {
    std::array<std::string, 256> t;
    int n = 0;
    for (int b = 0; b < 256; ++b) {
      bool printable = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
      uint32_t cp = printable ? static_cast<uint32_t>(b) : static_cast<uint32_t>(256 + n++);
      unicode::AppendUtf8(cp, t[b]);
    }
    return t;
  }();
  return table;
}

int UnicodeToByte(uint32_t cp) {
  static const std::array<int, 512> table = [] {
    std::array<int, 512> t;
    t.fill(-1);
    int n = 0;
    for (int b = 0; b < 256; ++b) {
      bool printable = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
      t[printable ? b : 256 + n++] = b;
    }
    return t;
  }();
  return cp < 512 ? table[cp] : -1;
}

std::vector<std::string> PreTokenizerPatterns(const std::string& pre) {
  static const char* kGpt2 = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)";
  static const char* kLlama3 =
      "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| "
      "?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
  static const char* kQwen2 =
      "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| "
      "?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
  if (pre == "llama-bpe" || pre == "llama3" || pre == "llama-v3" || pre == "dbrx" || pre == "smaug-bpe" ||
      pre == "falcon3" || pre == "pixtral") {
    return {kLlama3};
  }
  if (pre == "qwen2" || pre == "deepseek-r1-qwen" || pre == "stablelm2" || pre == "megrez" || pre == "hunyuan") {
    return {kQwen2};
  }
  if (pre == "gpt-2" || pre == "gpt2" || pre == "mpt" || pre == "olmo" || pre == "jais" || pre == "phi-2" ||
      pre == "roberta-bpe" || pre == "trillion") {
    return {kGpt2};
  }
  if (pre == "starcoder" || pre == "refact" || pre == "command-r" || pre == "smollm" || pre == "codeshell" ||
      pre == "exaone" || pre == "minerva-7b") {
    return {"\\p{N}", kGpt2};
  }
  if (pre == "falcon") {
    return {"[\\p{P}\\$\\+<=>\\^~\\|`]+", kGpt2, "[0-9][0-9][0-9]"};
  }
  if (pre == "deepseek-llm") {
    return {"[\\r\\n]",
            "\\s?[A-Za-zµÀ-ÖØ-öø-ƺƼ-ƿǄ-ʓʕ-ʯͰ-ͳͶͷͻ-ͽͿΆΈ-ΊΌΎ-ΡΣ-ϵϷ-ҁҊ-ԯԱ-ՖႠ-ჅᎠ-Ᏽᏸ-ᏽᲐ-ᲺᲽ-Ჿᴀ-ᴫᵫ-ᵷᵹ-ᶚḀ-ἕἘ-Ἕἠ-ὅὈ-Ὅὐ-ὗὙὛὝὟ-\u1F7Dᾀ-ᾴᾶ-ᾼ\u1FBEῂ-ῄῆ-ῌῐ-\u1FD3ῖ-\u1FDBῠ-Ῥῲ-ῴῶ-ῼℂℇℊ-ℓℕℙ-ℝℤ\u2126ℨ\u212A-ℭℯ-ℴℹℼ-ℿⅅ-ⅉⅎↃↄⰀ-ⱻⱾ-ⳤⳫ-ⳮⳲⳳꙀ-ꙭꚀ-ꚛꜢ-ꝯꝱ-ꞇꞋ-ꞎꭰ-ꮿﬀ-ﬆﬓ-ﬗＡ-Ｚａ-ｚ𐐀-𐑏𐒰-𐓓𐓘-𐓻𐲀-𐲲𐳀-𐳲𑢠-𑣟𞤀-𞥃]+",
            "\\s?[!-/:-~！-／：-～‘-‟　-。]+", "\\s+$", "[一-龥ࠀ-一가-퟿]+", "\\p{N}+"};
  }
  if (pre == "deepseek-coder") {
    return {"[\\r\\n]", "\\s?\\p{L}+", "\\s?\\p{P}+", "[一-龥ࠀ-一가-퟿]+", "\\p{N}"};
  }
  if (pre == "deepseek-v3") {
    return {"\\p{N}{1,3}", "[一-龥぀-ゟ゠-ヿ]+",
            "[!\"#$%&'()*+,\\-./:;<=>?@\\[\\\\\\]^_`{|}~][A-Za-z]+|[^\\r\\n\\p{L}\\p{P}\\p{S}]?[\\p{L}\\p{M}]+| "
            "?[\\p{P}\\p{S}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"};
  }
  if (pre == "default" || pre.empty()) {
    return {"[\\p{P}\\$\\+<=>\\^~\\|]+", kGpt2, "\\p{N}+", "[0-9][0-9][0-9]"};
  }
  return {};
}

common::Status TokenizerImpl::Finalize() {
  const int32_t n = static_cast<int32_t>(tokens.size());
  if (n == 0) return common::InvalidArgumentError("tokenizer has an empty vocabulary");
  if (types.empty()) types.assign(tokens.size(), TokenType::kNormal);
  if (scores.empty()) scores.assign(tokens.size(), 0.0f);
  token_to_id.reserve(tokens.size());
  for (int32_t i = 0; i < n; ++i) {
    token_to_id.emplace(tokens[i], i);
    max_token_len = std::max(max_token_len, tokens[i].size());
  }
  for (int32_t* id : {&bos, &eos, &eot, &eom, &unk, &pad}) {
    if (*id >= n) *id = -1;
  }
  // Byte tokens.
  byte_tokens.fill(-1);
  for (int b = 0; b < 256; ++b) {
    if (kind == TokenizerKind::kSpm) {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "<0x%02X>", b);
      auto it = token_to_id.find(buf);
      if (it != token_to_id.end()) byte_tokens[b] = it->second;
    } else {
      auto it = token_to_id.find(ByteToUnicode()[b]);
      if (it != token_to_id.end()) byte_tokens[b] = it->second;
    }
  }
  // Special tokens: control and unknown (only when asked), user-defined (always).
  raw_decode.assign(tokens.size(), 0);
  specials.clear();
  for (int32_t i = 0; i < n; ++i) {
    TokenType t = types[i];
    if (t == TokenType::kControl || t == TokenType::kUnknown || t == TokenType::kUserDefined) {
      raw_decode[i] = 1;
      if (!tokens[i].empty()) specials.push_back({tokens[i], i, t == TokenType::kUserDefined});
    }
  }
  std::stable_sort(specials.begin(), specials.end(),
                   [](const Special& a, const Special& b) { return a.text.size() > b.text.size(); });
  special_first_byte.fill(false);
  for (const auto& s : specials) special_first_byte[static_cast<uint8_t>(s.text[0])] = true;
  // End of generation.
  eog.clear();
  auto add_eog = [&](int32_t id) {
    if (id >= 0 && std::find(eog.begin(), eog.end(), id) == eog.end()) eog.push_back(id);
  };
  add_eog(eos);
  add_eog(eot);
  add_eog(eom);
  for (const char* name : {"<|eot_id|>", "<|eom_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>",
                           "<|end_of_text|>", "<EOT>", "<｜end▁of▁sentence｜>", "<|return|>", "<|call|>"}) {
    auto it = token_to_id.find(name);
    if (it != token_to_id.end() && types[it->second] == TokenType::kControl) add_eog(it->second);
  }
  if (eot < 0) {
    for (const char* name : {"<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<EOT>"}) {
      auto it = token_to_id.find(name);
      if (it != token_to_id.end()) {
        eot = it->second;
        break;
      }
    }
  }
  return common::OkStatus();
}

std::vector<int32_t> TokenizerImpl::Encode(std::string_view text, bool parse_special) const {
  std::vector<int32_t> out;
  bool prev_special = true;  // SPM: a space goes in front of the first stretch of text
  auto emit_text = [&](std::string_view part) {
    if (part.empty()) return;
    switch (kind) {
      case TokenizerKind::kSpm:
        if (add_space_prefix && prev_special) {
          std::string t = " ";
          t.append(part);
          EncodeSpm(t, out);
        } else {
          EncodeSpm(part, out);
        }
        break;
      case TokenizerKind::kBpe:
        EncodeBpe(part, out);
        break;
      case TokenizerKind::kWordPiece:
        EncodeWordPiece(part, out);
        break;
    }
    prev_special = false;
  };
  size_t start = 0;
  size_t i = 0;
  while (i < text.size()) {
    if (special_first_byte[static_cast<uint8_t>(text[i])]) {
      const Special* hit = nullptr;
      for (const auto& s : specials) {
        if ((s.always || parse_special) && s.text.size() <= text.size() - i &&
            std::memcmp(text.data() + i, s.text.data(), s.text.size()) == 0) {
          hit = &s;
          break;
        }
      }
      if (hit != nullptr) {
        emit_text(text.substr(start, i - start));
        out.push_back(hit->id);
        prev_special = true;
        i += hit->text.size();
        start = i;
        continue;
      }
    }
    ++i;
  }
  emit_text(text.substr(start));
  return out;
}

void TokenizerImpl::EncodeSpm(std::string_view raw, std::vector<int32_t>& out) const {
  // Spaces become U+2581 ("▁").
  std::string text;
  text.reserve(raw.size() + 16);
  for (char c : raw) {
    if (c == ' ') {
      text += "\xE2\x96\x81";
    } else {
      text.push_back(c);
    }
  }
  struct Sym {
    int prev, next;
    size_t start, n;
  };
  std::vector<Sym> syms;
  for (size_t i = 0; i < text.size();) {
    size_t len = std::min<size_t>(static_cast<size_t>(unicode::Utf8SequenceLength(static_cast<uint8_t>(text[i]))),
                                  text.size() - i);
    int idx = static_cast<int>(syms.size());
    syms.push_back({idx - 1, idx + 1, i, len});
    i += len;
  }
  if (syms.empty()) return;
  syms.back().next = -1;
  struct Bigram {
    float score;
    int left, right;
    size_t size;
    bool operator<(const Bigram& o) const { return score < o.score || (score == o.score && left > o.left); }
  };
  std::priority_queue<Bigram> heap;
  auto try_add = [&](int left, int right) {
    if (left < 0 || right < 0) return;
    std::string_view piece(text.data() + syms[left].start, syms[left].n + syms[right].n);
    auto it = token_to_id.find(std::string(piece));
    if (it == token_to_id.end()) return;
    heap.push({scores[it->second], left, right, piece.size()});
  };
  for (int i = 1; i < static_cast<int>(syms.size()); ++i) try_add(i - 1, i);
  while (!heap.empty()) {
    Bigram b = heap.top();
    heap.pop();
    Sym& l = syms[b.left];
    Sym& r = syms[b.right];
    if (l.n == 0 || r.n == 0 || l.n + r.n != b.size) continue;
    l.n += r.n;
    r.n = 0;
    l.next = r.next;
    if (r.next >= 0) syms[r.next].prev = b.left;
    try_add(l.prev, b.left);
    try_add(b.left, l.next);
  }
  for (int i = 0; i >= 0; i = syms[i].next) {
    std::string piece = text.substr(syms[i].start, syms[i].n);
    auto it = token_to_id.find(piece);
    if (it != token_to_id.end()) {
      out.push_back(it->second);
      continue;
    }
    for (unsigned char c : piece) {  // byte fallback
      if (byte_tokens[c] >= 0) {
        out.push_back(byte_tokens[c]);
      } else if (unk >= 0) {
        out.push_back(unk);
      }
    }
  }
}

void TokenizerImpl::EncodeBpe(std::string_view raw, std::vector<int32_t>& out) const {
  std::string normalized;
  if (nfc) {
    normalized = unicode::Nfc(raw);
    raw = normalized;
  }
  if (byte_level_prefix_space && !raw.empty() && raw[0] != ' ') {
    normalized = " " + std::string(raw);
    raw = normalized;
  }
  // Code points with their byte offsets (invalid bytes count as one U+FFFD each).
  std::vector<uint32_t> cps;
  std::vector<size_t> offs;
  cps.reserve(raw.size());
  offs.reserve(raw.size() + 1);
  for (size_t i = 0; i < raw.size();) {
    int len;
    cps.push_back(unicode::DecodeUtf8At(raw, i, &len));
    offs.push_back(i);
    i += static_cast<size_t>(len);
  }
  offs.push_back(raw.size());
  std::vector<std::pair<size_t, size_t>> pieces{{0, cps.size()}}, next;
  for (const auto& re : regexes) {
    next.clear();
    for (const auto& p : pieces) re.Split(cps.data(), p.first, p.second, next);
    pieces.swap(next);
  }
  const auto& b2u = ByteToUnicode();
  std::string mapped;
  for (const auto& p : pieces) {
    if (p.first == p.second) continue;
    mapped.clear();
    for (size_t b = offs[p.first]; b < offs[p.second]; ++b) mapped += b2u[static_cast<uint8_t>(raw[b])];
    if (ignore_merges) {
      auto it = token_to_id.find(mapped);
      if (it != token_to_id.end()) {
        out.push_back(it->second);
        continue;
      }
    }
    BpeWord(mapped, out);
  }
}

void TokenizerImpl::BpeWord(const std::string& mapped, std::vector<int32_t>& out) const {
  {
    std::lock_guard<std::mutex> lock(cache_mu_);
    auto it = cache_.find(mapped);
    if (it != cache_.end()) {
      out.insert(out.end(), it->second.begin(), it->second.end());
      return;
    }
  }
  struct Sym {
    int32_t id;
    int prev, next;
  };
  std::vector<Sym> syms;
  syms.reserve(mapped.size());
  for (size_t i = 0; i < mapped.size();) {
    size_t len = std::min<size_t>(
        static_cast<size_t>(unicode::Utf8SequenceLength(static_cast<uint8_t>(mapped[i]))), mapped.size() - i);
    auto it = token_to_id.find(mapped.substr(i, len));
    int idx = static_cast<int>(syms.size());
    syms.push_back({it == token_to_id.end() ? (unk >= 0 ? unk : -1) : it->second, idx - 1, idx + 1});
    i += len;
  }
  if (!syms.empty()) syms.back().next = -1;
  struct Cand {
    int32_t rank;
    int left, right;
    int32_t left_id, right_id;
    bool operator>(const Cand& o) const { return rank > o.rank || (rank == o.rank && left > o.left); }
  };
  std::priority_queue<Cand, std::vector<Cand>, std::greater<Cand>> heap;
  auto try_add = [&](int left, int right) {
    if (left < 0 || right < 0 || syms[left].id < 0 || syms[right].id < 0) return;
    uint64_t key = (static_cast<uint64_t>(static_cast<uint32_t>(syms[left].id)) << 32) |
                   static_cast<uint32_t>(syms[right].id);
    auto it = merges.find(key);
    if (it == merges.end()) return;
    heap.push({it->second.first, left, right, syms[left].id, syms[right].id});
  };
  for (int i = 1; i < static_cast<int>(syms.size()); ++i) try_add(i - 1, i);
  while (!heap.empty()) {
    Cand c = heap.top();
    heap.pop();
    Sym& l = syms[c.left];
    Sym& r = syms[c.right];
    if (l.id != c.left_id || r.id != c.right_id || l.next != c.right || r.prev != c.left) continue;
    uint64_t key = (static_cast<uint64_t>(static_cast<uint32_t>(l.id)) << 32) | static_cast<uint32_t>(r.id);
    l.id = merges.find(key)->second.second;
    l.next = r.next;
    if (r.next >= 0) syms[r.next].prev = c.left;
    r.id = -2;
    r.prev = r.next = -3;
    try_add(l.prev, c.left);
    try_add(c.left, l.next);
  }
  std::vector<int32_t> ids;
  for (int i = syms.empty() ? -1 : 0; i >= 0; i = syms[i].next) {
    if (syms[i].id >= 0) ids.push_back(syms[i].id);
  }
  out.insert(out.end(), ids.begin(), ids.end());
  std::lock_guard<std::mutex> lock(cache_mu_);
  if (cache_.size() > 200000) cache_.clear();
  cache_.emplace(mapped, std::move(ids));
}

// WordPiece as llama.cpp runs BERT vocabularies converted to GGUF (word
// starts carry "▁", continuations have no "##"): NFD, lowercase, split on
// whitespace and punctuation/CJK, then greedy longest match per word.
void TokenizerImpl::EncodeWordPiece(std::string_view text, std::vector<int32_t>& out) const {
  std::vector<uint32_t> cps = unicode::ToCodepoints(unicode::Nfd(text));
  std::vector<std::string> words(1);
  for (uint32_t cp : cps) {
    if (unicode::IsWhitespace(cp)) {
      if (!words.back().empty()) words.emplace_back();
      continue;
    }
    const uint8_t cat = unicode::Category(cp);
    // Controls go; so do combining marks, which strips accents after NFD.
    if (cp == 0 || cp == 0xFFFD || (cat & (unicode::kOther | unicode::kMark))) continue;
    std::string s;
    unicode::AppendUtf8(unicode::ToLower(cp), s);
    const bool cjk = (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0x3400 && cp <= 0x4DBF) ||
                     (cp >= 0x20000 && cp <= 0x2A6DF) || (cp >= 0x2A700 && cp <= 0x2B73F) ||
                     (cp >= 0x2B740 && cp <= 0x2B81F) || (cp >= 0x2B920 && cp <= 0x2CEAF) ||
                     (cp >= 0xF900 && cp <= 0xFAFF) || (cp >= 0x2F800 && cp <= 0x2FA1F);
    if ((cat & unicode::kPunctuation) || (cp < 0x7F && (cat & unicode::kSymbol)) || cjk) {
      if (!words.back().empty()) words.emplace_back();
      words.back() = s;
      words.emplace_back();
    } else {
      words.back() += s;
    }
  }
  for (const std::string& word : words) {
    if (word.empty()) continue;
    const std::string w = "\xE2\x96\x81" + word;
    const size_t n = w.size();
    const size_t before = out.size();
    for (size_t i = 0; i < n; ++i) {
      bool match = false;
      for (size_t j = std::min(n, i + max_token_len + 1); j > i; --j) {
        auto it = token_to_id.find(w.substr(i, j - i));
        if (it != token_to_id.end()) {
          out.push_back(it->second);
          match = true;
          i = j - 1;
          break;
        }
      }
      if (!match) {
        out.resize(before);
        break;
      }
    }
    if (out.size() == before && unk >= 0) out.push_back(unk);
  }
}

std::string TokenizerImpl::Piece(int32_t id, bool skip_special) const {
  if (id < 0 || id >= static_cast<int32_t>(tokens.size())) return "";
  const std::string& text = tokens[id];
  const TokenType t = types[id];
  if (t == TokenType::kControl || t == TokenType::kUnknown) {
    return skip_special ? "" : text;
  }
  if (kind == TokenizerKind::kSpm || kind == TokenizerKind::kWordPiece) {
    if (kind == TokenizerKind::kSpm && t == TokenType::kByte && text.size() == 6) {
      return std::string(1, static_cast<char>(std::strtol(text.substr(3, 2).c_str(), nullptr, 16)));
    }
    std::string out;
    for (size_t i = 0; i < text.size(); ++i) {
      if (text.compare(i, 3, "\xE2\x96\x81") == 0) {
        out.push_back(' ');
        i += 2;
      } else {
        out.push_back(text[i]);
      }
    }
    return out;
  }
  if (raw_decode[id]) return text;
  std::string out;
  for (size_t i = 0; i < text.size();) {
    int len;
    uint32_t cp = unicode::DecodeUtf8At(text, i, &len);
    int b = UnicodeToByte(cp);
    if (b >= 0) {
      out.push_back(static_cast<char>(b));
    } else {
      out.append(text, i, static_cast<size_t>(len));
    }
    i += static_cast<size_t>(len);
  }
  return out;
}

// ---------------------------------------------------------------------------
// Public face.

Tokenizer::Tokenizer(std::unique_ptr<TokenizerImpl> impl) : impl_(std::move(impl)) {}
Tokenizer::~Tokenizer() = default;

std::vector<int32_t> Tokenizer::Encode(std::string_view text, bool parse_special) const {
  return impl_->Encode(text, parse_special);
}

std::string Tokenizer::Decode(const std::vector<int32_t>& ids, bool skip_special) const {
  std::string out;
  for (size_t i = 0; i < ids.size(); ++i) {
    std::string p = impl_->Piece(ids[i], skip_special);
    if (i == 0 && impl_->kind != TokenizerKind::kBpe && !p.empty() && p[0] == ' ' &&
        (impl_->kind == TokenizerKind::kWordPiece || impl_->add_space_prefix)) {
      p.erase(0, 1);
    }
    out += p;
  }
  return out;
}

std::string Tokenizer::TokenToPiece(int32_t id) const { return impl_->Piece(id, false); }

const std::string& Tokenizer::TokenText(int32_t id) const {
  static const std::string kEmpty;
  if (id < 0 || id >= vocab_size()) return kEmpty;
  return impl_->tokens[id];
}

std::optional<int32_t> Tokenizer::TokenId(std::string_view text) const {
  auto it = impl_->token_to_id.find(std::string(text));
  if (it == impl_->token_to_id.end()) return std::nullopt;
  return it->second;
}

TokenizerKind Tokenizer::kind() const { return impl_->kind; }
std::string Tokenizer::model_name() const { return impl_->model; }
std::string Tokenizer::pre_name() const { return impl_->pre; }
int32_t Tokenizer::vocab_size() const { return static_cast<int32_t>(impl_->tokens.size()); }
TokenType Tokenizer::token_type(int32_t id) const {
  return id >= 0 && id < vocab_size() ? impl_->types[id] : TokenType::kUndefined;
}
bool Tokenizer::add_bos() const { return impl_->add_bos && impl_->bos >= 0; }
bool Tokenizer::add_eos() const { return impl_->add_eos && impl_->eos >= 0; }
int32_t Tokenizer::bos_id() const { return impl_->bos; }
int32_t Tokenizer::eos_id() const { return impl_->eos; }
int32_t Tokenizer::eot_id() const { return impl_->eot; }
int32_t Tokenizer::unk_id() const { return impl_->unk; }
int32_t Tokenizer::pad_id() const { return impl_->pad; }
const std::vector<int32_t>& Tokenizer::eog_ids() const { return impl_->eog; }
bool Tokenizer::IsEog(int32_t id) const {
  return std::find(impl_->eog.begin(), impl_->eog.end(), id) != impl_->eog.end();
}
bool Tokenizer::IsSpecial(int32_t id) const {
  TokenType t = token_type(id);
  return t == TokenType::kControl || t == TokenType::kUnknown;
}

StreamingDetokenizer::StreamingDetokenizer(const Tokenizer& tokenizer, bool skip_special)
    : tok_(tokenizer), skip_special_(skip_special) {}

std::string StreamingDetokenizer::Push(int32_t id) {
  std::string p = tok_.Decode({id}, skip_special_);
  if (!first_ && tok_.kind() != TokenizerKind::kBpe) {
    // Decode() drops the leading space of a first piece only; restore it.
    std::string full = tok_.TokenToPiece(id);
    if (!(skip_special_ && tok_.IsSpecial(id))) p = full;
  }
  first_ = false;
  pending_ += p;
  size_t n = unicode::CompleteUtf8Prefix(pending_);
  std::string complete = pending_.substr(0, n);
  pending_.erase(0, n);
  // Replace any invalid sequence inside the complete part with U+FFFD.
  std::string out;
  out.reserve(complete.size());
  for (size_t i = 0; i < complete.size();) {
    int len;
    uint32_t cp = unicode::DecodeUtf8At(complete, i, &len);
    if (cp == 0xFFFD && len == 1) {
      out += "\xEF\xBF\xBD";
    } else {
      out.append(complete, i, static_cast<size_t>(len));
    }
    i += static_cast<size_t>(len);
  }
  return out;
}

std::string StreamingDetokenizer::Finish() {
  std::string out;
  for (size_t i = 0; i < pending_.size();) {
    int len;
    uint32_t cp = unicode::DecodeUtf8At(pending_, i, &len);
    unicode::AppendUtf8(cp, out);
    i += static_cast<size_t>(len);
  }
  pending_.clear();
  return out;
}

}  // namespace inference
