#include "inference/chat_template.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "common/json.h"

namespace inference {
namespace {

using common::Json;
using common::StatusCode;
using ::testing::HasSubstr;

std::string DataPath(const std::string& rel) { return std::string(ASSISTANT_SOURCE_DIR) + "/tests/data/" + rel; }

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string TemplateOf(const std::string& family) {
  auto cfg = Json::Parse(ReadAll(DataPath("tokenizers/" + family + "/tokenizer_config.json")));
  EXPECT_TRUE(cfg.ok());
  return cfg->Find("chat_template")->as_string();
}

std::string Render(const std::string& tmpl, const std::string& messages, const std::string& context = "{}") {
  auto t = ChatTemplate::Create(tmpl);
  EXPECT_TRUE(t.ok()) << t.status();
  if (!t.ok()) return "<create failed>";
  auto r = (*t)->Render(*Json::Parse(messages), *Json::Parse(context));
  EXPECT_TRUE(r.ok()) << r.status();
  return r.ok() ? *r : "<render failed: " + r.status().ToString() + ">";
}

class ChatTemplateVectors : public ::testing::TestWithParam<std::string> {};

TEST_P(ChatTemplateVectors, EveryRecordRendersByteForByte) {
  auto tmpl = ChatTemplate::Create(TemplateOf(GetParam()));
  ASSERT_TRUE(tmpl.ok()) << tmpl.status();
  std::stringstream ss(ReadAll(DataPath("tokenizers/" + GetParam() + "/chat_template_tests.jsonl")));
  int n = 0;
  for (std::string line; std::getline(ss, line);) {
    if (line.empty()) continue;
    auto rec = Json::Parse(line);
    ASSERT_TRUE(rec.ok());
    Json ctx = Json::MakeObject();
    for (const char* k : {"add_generation_prompt", "bos_token", "eos_token"}) {
      if (const Json* v = rec->Find(k)) ctx.Set(k, *v);
    }
    if (const Json* extra = rec->Find("extra_context")) {
      for (const auto& [k, v] : extra->as_object()) ctx.Set(k, v);
    }
    auto out = (*tmpl)->Render(*rec->Find("messages"), ctx);
    ASSERT_TRUE(out.ok()) << GetParam() << " record " << n << ": " << out.status();
    EXPECT_EQ(*out, rec->Find("rendered")->as_string()) << GetParam() << " record " << n;
    ++n;
  }
  EXPECT_GE(n, 12);
}

INSTANTIATE_TEST_SUITE_P(Families, ChatTemplateVectors, ::testing::Values("llama3", "qwen3", "deepseek_v3"));

TEST(ChatTemplate, Qwen3WithToolsListsEachToolAsJson) {
  std::string out = Render(TemplateOf("qwen3"), R"([{"role":"user","content":"Weather?"}])",
                           R"({"add_generation_prompt":true,"tools":[{"type":"function","function":{"name":"get_weather","parameters":{"type":"object"}}}]})");
  EXPECT_THAT(out, HasSubstr("<tools>\n{\"type\": \"function\", \"function\": {\"name\": \"get_weather\", \"parameters\": {\"type\": \"object\"}}}\n</tools>"));
  EXPECT_THAT(out, HasSubstr("<|im_start|>user\nWeather?<|im_end|>\n<|im_start|>assistant\n"));
}

TEST(ChatTemplate, Qwen3ToolCallsAndToolResponses) {
  std::string out = Render(TemplateOf("qwen3"),
                           R"([{"role":"user","content":"Weather in Paris?"},
                               {"role":"assistant","content":"","tool_calls":[{"function":{"name":"get_weather","arguments":{"city":"Paris"}}}]},
                               {"role":"tool","content":"18C"}])",
                           R"({"add_generation_prompt":true})");
  EXPECT_THAT(out, HasSubstr("<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}\n</tool_call><|im_end|>"));
  EXPECT_THAT(out, HasSubstr("<|im_start|>user\n<tool_response>\n18C\n</tool_response><|im_end|>\n"));
}

TEST(ChatTemplate, LoopsConditionalsFiltersAndWhitespaceControl) {
  EXPECT_EQ(Render("{% for m in messages %}{{ loop.index }}:{{ m.role | upper }}{% if not loop.last %},{% endif %}{% endfor %}",
                   R"([{"role":"a"},{"role":"b"}])"),
            "1:A,2:B");
  EXPECT_EQ(Render("  {%- if true -%}  x  {%- endif %}\n", "[]"), "x");
  EXPECT_EQ(Render("{% if true %}\n  yes\n{% endif %}\n", "[]"), "  yes\n");
  EXPECT_EQ(Render("{% set ns = namespace(n=0) %}{% for i in range(5) %}{% set ns.n = ns.n + i %}{% endfor %}{{ ns.n }}", "[]"),
            "10");
  EXPECT_EQ(Render("{% for k, v in {'a': 1, 'b': [1, 2]}.items() %}{{ k }}={{ v }};{% endfor %}", "[]"), "a=1;b=[1, 2];");
  EXPECT_EQ(Render("{{ [3, 1, 2] | sort | join('-') }} {{ 'a,b'.split(',') | length }} {{ '  x '.strip() }}", "[]"),
            "1-2-3 2 x");
  EXPECT_EQ(Render("{{ messages[::-1] | map(attribute='c') | list }}", R"([{"c":1},{"c":2}])"), "[2, 1]");
  EXPECT_EQ(Render("{{ messages | selectattr('role', 'equalto', 'user') | list | length }}",
                   R"([{"role":"user"},{"role":"x"},{"role":"user"}])"),
            "2");
  EXPECT_EQ(Render("{{ x | default('d') }} {{ none }} {{ 7 // 2 }} {{ 7 % 3 }} {{ 2 ** 10 }} {{ 1.5 }}", "[]"),
            "d None 3 1 1024 1.5");
  EXPECT_EQ(Render("{{ {'a': [1, 'x']} | tojson }}|{{ {'a': 1} | tojson(indent=2) }}", "[]"),
            "{\"a\": [1, \"x\"]}|{\n  \"a\": 1\n}");
  EXPECT_EQ(Render("{% macro greet(name, p='Hi') %}{{ p }} {{ name }}{% endmacro %}{{ greet('Bo') }}/{{ greet('Al', p='Yo') }}",
                   "[]"),
            "Hi Bo/Yo Al");
  EXPECT_EQ(Render("{{ 'abc'[1:] }}{{ 'x' if false else 'y' }}{{ 'b' in 'abc' }}{{ 3 is odd }}", "[]"), "bcyTrueTrue");
  EXPECT_EQ(Render("{% for i in range(10) %}{% if i == 3 %}{% break %}{% endif %}{{ i }}{% endfor %}", "[]"), "012");
  EXPECT_EQ(Render("{# comment #}{% raw %}{{ not parsed }}{% endraw %}", "[]"), "{{ not parsed }}");
}

TEST(ChatTemplate, ContentThatLooksLikeJinjaIsData) {
  EXPECT_EQ(Render("{{ messages[0].content }}", R"([{"content":"{{ x }} {% if %}"}])"), "{{ x }} {% if %}");
}

TEST(ChatTemplate, StrftimeNowUsesTheInjectedClock) {
  ChatTemplate::Options opts;
  opts.now_unix_seconds = [] { return int64_t{1700000000}; };  // 2023-11-14 22:13:20 UTC
  auto t = ChatTemplate::Create("{{ strftime_now('%d %b %Y') }}", opts);
  ASSERT_TRUE(t.ok());
  auto r = (*t)->Render(Json::MakeArray(), Json::MakeObject());
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(*r, "14 Nov 2023");
}

TEST(ChatTemplate, SyntaxErrorNamesTheLine) {
  auto t = ChatTemplate::Create("line one\nline two\n{% if %}\n");
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(t.status().message(), HasSubstr("line 3"));
  auto u = ChatTemplate::Create("{% for x in y %}\nno end");
  EXPECT_THAT(u.status().message(), HasSubstr("endfor"));
  auto v = ChatTemplate::Create("{% include 'x' %}");
  EXPECT_THAT(v.status().message(), HasSubstr("unsupported statement 'include'"));
}

TEST(ChatTemplate, RaiseExceptionIsAnInvalidArgumentWithItsMessage) {
  auto t = ChatTemplate::Create("\n{{ raise_exception('Conversation roles must alternate') }}");
  ASSERT_TRUE(t.ok());
  auto r = (*t)->Render(Json::MakeArray(), Json::MakeObject());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(r.status().reason(), "TEMPLATE_EXCEPTION");
  EXPECT_THAT(r.status().message(), HasSubstr("line 2: Conversation roles must alternate"));
}

TEST(ChatTemplate, RuntimeErrorNamesTheLine) {
  auto t = ChatTemplate::Create("a\nb\n{{ 1 + 'x' }}");
  ASSERT_TRUE(t.ok());
  auto r = (*t)->Render(Json::MakeArray(), Json::MakeObject());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(r.status().message(), HasSubstr("line 3: unsupported operand types for +"));
}

common::StatusOr<std::string> RenderHostile(const std::string& tmpl) {
  auto t = ChatTemplate::Create(tmpl);
  if (!t.ok()) return t.status();
  return (*t)->Render(Json::MakeArray(), Json::MakeObject());
}

TEST(ChatTemplateSandbox, NestedLoopsAreBoundedBySteps) {
  auto r = RenderHostile("{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}");
  EXPECT_EQ(r.status().code(), StatusCode::kResourceExhausted);
  EXPECT_THAT(r.status().message(), HasSubstr("evaluation steps"));
}

TEST(ChatTemplateSandbox, UnboundedRecursionIsBoundedByDepth) {
  auto r = RenderHostile("{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}");
  EXPECT_EQ(r.status().code(), StatusCode::kResourceExhausted);
  EXPECT_THAT(r.status().message(), HasSubstr("nested deeper"));
}

TEST(ChatTemplateSandbox, HugeOutputIsBounded) {
  auto doubling = RenderHostile(
      "{% set ns = namespace(s='x') %}{% for i in range(64) %}{% set ns.s = ns.s + ns.s %}{% endfor %}{{ ns.s }}");
  EXPECT_EQ(doubling.status().code(), StatusCode::kResourceExhausted);
  auto repeat = RenderHostile("{{ 'x' * 100000000000 }}");
  EXPECT_EQ(repeat.status().code(), StatusCode::kResourceExhausted);
  auto text = RenderHostile("{% for i in range(100000) %}" + std::string(1000, 'y') + "{% endfor %}");
  EXPECT_EQ(text.status().code(), StatusCode::kResourceExhausted);
  EXPECT_THAT(text.status().message(), HasSubstr("output exceeds"));
}

TEST(ChatTemplateSandbox, DeeplyNestedExpressionsAreRefusedNotCrashed) {
  std::string deep(5000, '(');
  deep = "{{ " + deep + "1" + std::string(5000, ')') + " }}";
  auto r = RenderHostile(deep);
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(r.status().message(), HasSubstr("nested too deeply"));
  std::string ifs;
  for (int i = 0; i < 100000; ++i) ifs += "{% if true %}";
  EXPECT_THAT(RenderHostile(ifs).status().message(), HasSubstr("nested too deeply"));
  EXPECT_THAT(RenderHostile("{{ " + std::string(100000, '-') + "1 }}").status().message(), HasSubstr("nested too deeply"));
}

}  // namespace
}  // namespace inference
