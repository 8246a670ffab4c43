#pragma once
// Chat templates: the Jinja template a checkpoint's tokenizer_config.json carries
// ("chat_template"), rendered as transformers' apply_chat_template renders it (Jinja2 with
// trim_blocks and lstrip_blocks; the same output as @huggingface/jinja). The engine implements the
// part of Jinja these templates use — text, {{ }}, {% if/elif/else %}, {% for %} with `loop`,
// {% set %} (namespace attributes too), whitespace control, the usual operators, filters, tests
// and string/dict methods — and refuses anything else (macros, includes, ...) by name. Templates
// are untrusted input: nesting depth, loop steps and output size are bounded.
#include <string>

#include <nlohmann/json.hpp>

namespace mixq::io {

class ChatTemplate {
 public:
  // Parses `source`; Error(where, ...) naming the offset of what it cannot parse.
  ChatTemplate(const std::string& source, const std::string& where);
  ~ChatTemplate();
  ChatTemplate(ChatTemplate&&) noexcept;
  ChatTemplate& operator=(ChatTemplate&&) noexcept;

  // Renders with these variables (messages, bos_token, eos_token, add_generation_prompt, ...).
  std::string render(const nlohmann::json& variables) const;

  struct Node;

 private:
  std::string where_;
  std::unique_ptr<Node> root_;
};

class Tokenizer;
// The prompt text for `messages` ([{"role": ..., "content": ...}, ...]) under the tokenizer's own
// chat template, with bos_token / eos_token and add_generation_prompt set as transformers'
// apply_chat_template sets them. Error when the tokenizer has no template.
std::string apply_chat_template(const Tokenizer& tokenizer, const nlohmann::json& messages, bool add_generation_prompt = true);

}  // namespace mixq::io
