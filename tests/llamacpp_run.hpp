#pragma once
// llama.cpp as node-llama-cpp ships it prebuilt (scripts/llamacpp_prebuilt.sh), run on a GGUF by
// tests/reference/llamacpp_logits.mjs: its token ids for a text and its logits at every position,
// and how closely mixq's model computes the same.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>

#include "cli_run.hpp"
#include "mixq/io/mapped_file.hpp"
#include "mixq/model/llama.hpp"
#include "test_paths.hpp"

namespace mixq::test {

inline const std::string& prebuilt_dir() {
  static const std::string dir = script_output_dir("bash " MIXQ_SOURCE_DIR "/scripts/llamacpp_prebuilt.sh");
  return dir;
}

struct LlamaCppRun {
  int bos = -1;
  std::vector<int> ids;
  std::vector<std::vector<float>> logits;  // after BOS, then after each id
};

inline LlamaCppRun llamacpp_logits(const std::string& gguf, const std::string& text_file, int tokens, const TempDir& tmp) {
  const auto r = run_command("node " MIXQ_SOURCE_DIR "/tests/reference/llamacpp_logits.mjs '" + prebuilt_dir() + "' '" +
                             gguf + "' '" + text_file + "' " + std::to_string(tokens) + " > '" + tmp / "ref.json" + "'");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  const auto j = nlohmann::json::parse(io::read_whole_file(tmp / "ref.json"));
  return {j.at("bos").get<int>(), j.at("ids").get<std::vector<int>>(), j.at("logits").get<std::vector<std::vector<float>>>()};
}

struct Agreement {
  float max_abs_diff = 0;
  double top1 = 0;  // fraction of positions whose largest logit is the same token
};

// mixq's logits for BOS + ids beside llama.cpp's.
inline Agreement agreement(model::LlamaModel& m, const LlamaCppRun& ref) {
  std::vector<int> seq = {ref.bos};
  seq.insert(seq.end(), ref.ids.begin(), ref.ids.end());
  const size_t V = size_t(m.config().vocab_size);
  const std::vector<float> logits = logits_of(m, seq);
  Agreement a;
  size_t same = 0;
  for (size_t i = 0; i < seq.size(); ++i) {
    const float* ours = &logits[i * V];
    const auto& theirs = ref.logits.at(i);
    for (size_t v = 0; v < V; ++v) a.max_abs_diff = std::max(a.max_abs_diff, std::fabs(ours[v] - theirs[v]));
    same += std::max_element(ours, ours + V) - ours == std::max_element(theirs.begin(), theirs.end()) - theirs.begin();
  }
  a.top1 = double(same) / double(seq.size());
  return a;
}

}  // namespace mixq::test
