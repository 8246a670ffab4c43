// Chat templates (io/chat_template): parsed, then rendered over a small conversation.
#include "fuzz_input.hpp"
#include "mixq/io/chat_template.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const nlohmann::json vars = {
      {"messages",
       {{{"role", "system"}, {"content", "Be brief."}},
        {{"role", "user"}, {"content", "Hi <think>x</think> é"}},
        {{"role", "assistant"}, {"content", "Hello."}, {"tool_calls", {{{"function", {{"name", "f"}, {"arguments", {{"a", 1}}}}}}}}}}},
      {"bos_token", "<s>"},
      {"eos_token", "</s>"},
      {"add_generation_prompt", true}};
  mixq::fuzz::expect_clean([&] {
    const mixq::io::ChatTemplate t(std::string(reinterpret_cast<const char*>(data), size), "fuzz");
    (void)t.render(vars);
  });
  return 0;
}
