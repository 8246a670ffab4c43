// Numbers in untrusted JSON (accelerator configs, config.json, quantized-file metadata) that do not
// fit the field: a clear error, never a float-to-int cast out of range (undefined behaviour, found
// by the accel_config fuzzer: "psum_bits": 32000…0, 40 digits) or a silent wrap-around.
#include <gtest/gtest.h>

#include <functional>

#include "mixq/accel/accel_config.hpp"
#include "mixq/core/error.hpp"
#include "mixq/core/json_number.hpp"
#include "mixq/formats/fineq.hpp"
#include "mixq/formats/slim.hpp"
#include "mixq/formats/uniform.hpp"
#include "mixq/io/hf_checkpoint.hpp"

namespace mixq {
namespace {

using nlohmann::json;

void expect_error_naming(const std::function<void()>& fn, const std::string& key) {
  try {
    fn();
    FAIL() << "accepted a bad '" << key << "'";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(key), std::string::npos) << e.what();
  }
}

}  // namespace

TEST(UntrustedJson, IntegersMustBeIntegersInRange) {
  EXPECT_EQ(json_integer(json(7), "t", "k", 1, 8), 7);
  EXPECT_EQ(json_int(json(-3), "t", "k"), -3);
  for (const json& bad : {json(3.2e39), json(2.5), json("4"), json(nullptr), json(uint64_t(1) << 63),
                          json(int64_t(1) << 40), json(-1)})
    expect_error_naming([&] { (void)json_integer(bad, "t", "k", 0, int64_t(1) << 31); }, "'k'");
  EXPECT_EQ(json_float(json(2), "t", "k"), 2.f);
  expect_error_naming([&] { (void)json_float(json(1e300), "t", "k"); }, "'k'");
}

TEST(UntrustedJson, EveryConsumerRefusesANumberThatDoesNotFit) {
  json accel = accel::AccelConfig::defaults().to_json();
  accel["psum_bits"] = 3.2e39;  // the fuzz finding (fuzz/regressions/accel_config/huge-psum-bits)
  expect_error_naming([&] { (void)accel::AccelConfig::from_json(accel); }, "psum_bits");
  accel["psum_bits"] = 32;
  accel["rows"] = uint64_t(1) << 40;
  expect_error_naming([&] { (void)accel::AccelConfig::from_json(accel); }, "rows");

  expect_error_naming([] { (void)formats::UniformParams::from_json({{"bits", 1e40}, {"group", 128}, {"symmetric", false}}); },
                      "bits");
  expect_error_naming([] { (void)formats::SlimParams::from_json({{"bits", 2}, {"group", (int64_t(1) << 32) + 64}}); },
                      "group");
  expect_error_naming([] {
    (void)formats::FineqParams::from_json(
        {{"group", -1e30}, {"threshold", 4.0}, {"rule", "ratio"}, {"int3", "wide"}, {"int2", "twos"}});
  }, "group");

  const json hf = {{"hidden_size", 64}, {"intermediate_size", 172}, {"num_hidden_layers", 5},
                   {"num_attention_heads", 8}, {"num_key_value_heads", 4}, {"vocab_size", 512},
                   {"max_position_embeddings", 512}};
  EXPECT_NO_THROW((void)io::parse_hf_config(hf.dump(), "config.json"));
  json bad = hf;
  bad["rope_theta"] = 1e300;
  expect_error_naming([&] { (void)io::parse_hf_config(bad.dump(), "config.json"); }, "rope_theta");
  bad = hf;
  bad["head_dim"] = int64_t(1) << 62;  // head_dim × heads would overflow int64
  expect_error_naming([&] { (void)io::parse_hf_config(bad.dump(), "config.json"); }, "head_dim");
  bad = hf;
  bad["hidden_size"] = 1e20;
  expect_error_naming([&] { (void)io::parse_hf_config(bad.dump(), "config.json"); }, "hidden_size");
}

}  // namespace mixq
