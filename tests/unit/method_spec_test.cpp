// `METHOD:BITS[:GROUP][+flags]`: the one-word configurations of `mixq compare`.
#include <gtest/gtest.h>

#include "mixq/core/error.hpp"
#include "mixq/quant/methods/method.hpp"

namespace mixq::quant {

TEST(MethodSpec, ParsesEveryPartAndPrintsItBack) {
  const auto o = parse_method_spec("gptq:3:64+sym+act-order+true-seq+mse");
  EXPECT_EQ(o.method, "gptq");
  const auto& u = o.get<UniformOptions>().format;
  EXPECT_EQ(u.bits, 3);
  EXPECT_EQ(u.group, 64);
  EXPECT_TRUE(u.symmetric && o.act_order && o.true_sequential && o.mse_clip);
  EXPECT_EQ(method_spec(o), "gptq:3:64+sym+mse+act-order+true-seq");
  EXPECT_EQ(parse_method_spec("rtn:2:row").get<UniformOptions>().format.group, 0);
  EXPECT_EQ(method_spec(parse_method_spec("rtn:8")), "rtn:8:128");
  EXPECT_EQ(method_options_json(o).at("params").at("bits"), 3);
}

TEST(MethodSpec, RejectsWhatItCannotRun) {
  for (const char* bad : {"gptq", "gptq:", "gptq:5", "gptq:3x", "gptq:3:0", "gptq:3:-8", "awq:4:128", "gptq:4:128+fast",
                          "gptq:4:128:9"})
    EXPECT_THROW(parse_method_spec(bad), Error) << bad;
}

TEST(MethodSpec, SlimConfigurationsRoundTripAndOfficialImpliesTheCodesKlDirection) {
  const auto o = parse_method_spec("slim:3:64+no-sqc+lambda=2+mask-weights+true-seq");
  EXPECT_EQ(o.method, "slim");
  const auto& s = o.get<SlimOptions>();
  EXPECT_EQ(s.format.bits, 3);
  EXPECT_EQ(s.format.group, 64);
  EXPECT_TRUE(s.sba && !s.sqc && o.true_sequential);
  EXPECT_EQ(s.lambda, 2.0);
  EXPECT_EQ(method_spec(o), "slim:3:64+no-sqc+lambda=2+mask-weights+true-seq");
  EXPECT_EQ(format_name_of(o), "slim");
  EXPECT_EQ(parse_method_spec("slim:2").get<SlimOptions>().kl_direction(), SlimKl::FpQ);
  const auto official = parse_method_spec("slim:2+official");
  EXPECT_EQ(official.get<SlimOptions>().kl_direction(), SlimKl::QFp);
  EXPECT_EQ(method_spec(official), "slim:2:128+official");
  EXPECT_EQ(method_spec(parse_method_spec("slim:2+official+kl-fp-q")), "slim:2:128+official+kl-fp-q");
  EXPECT_EQ(method_options_json(o).at("params").at("lambda"), 2.0);
  for (const char* bad : {"slim", "slim:1", "slim:8", "slim:2:0", "slim:2:row", "slim:2+lambda=0.5", "slim:2+sym",
                          "slim:2:128:4"})
    EXPECT_THROW(parse_method_spec(bad), Error) << bad;
}

TEST(MethodSpec, FineqRuleBestModeIsReadUnderItsOldNameObsAndWrittenUnderItsNew) {
  const auto o = parse_method_spec("fineq-gptq:48+obs");
  EXPECT_EQ(o.get<FineqOptions>().format.rule, formats::FineqRule::BestMode);
  EXPECT_EQ(method_spec(o), "fineq-gptq:48");  // the default rule is not spelled out
  EXPECT_EQ(method_spec(parse_method_spec("fineq-rtn+ratio+int2-twos")), "fineq-rtn:row+ratio+int2-twos");
  auto json = formats::FineqParams{}.to_json();
  EXPECT_EQ(json.at("rule"), "best-mode");
  json["rule"] = "obs";  // a file written before the rename
  EXPECT_EQ(formats::FineqParams::from_json(json).rule, formats::FineqRule::BestMode);
  json["rule"] = "best";
  EXPECT_THROW(formats::FineqParams::from_json(json), Error);
}

TEST(MethodSpec, EveryMethodRefusesFlagsItDoesNotTakeAndRoundTripsItsDefaults) {
  for (const MethodInfo* m : all_methods()) {
    SCOPED_TRACE(m->name);
    const std::string base = std::string(m->name) + (m->takes_bits ? ":3" : "");
    const auto o = parse_method_spec(base);
    EXPECT_EQ(format_name_of(o), m->format);
    EXPECT_EQ(method_spec(parse_method_spec(method_spec(o))), method_spec(o));
    EXPECT_NO_THROW(validate_method_options(o));
    EXPECT_THROW(parse_method_spec(base + "+no-such-flag"), Error);
  }
  EXPECT_THROW(parse_method_spec("fineq-gptq+sym"), Error);
  EXPECT_THROW(parse_method_spec("slim:2+act-order"), Error);
}

TEST(MethodSpec, SlimPlusTakesTuningAndAllocationFlagsAndRoundTrips) {
  const auto o = parse_method_spec("slim+:2:32+epochs=5+lr=0.005+batch=2+windows=16+fp-inputs+aug+no-sba");
  EXPECT_EQ(o.method, "slim+");
  EXPECT_EQ(format_name_of(o), "slim");
  const auto& p = o.get<SlimPlusOptions>();
  EXPECT_EQ(p.tune.epochs, 5);
  EXPECT_DOUBLE_EQ(p.tune.lr, 0.005);
  EXPECT_EQ(p.tune.batch, 2);
  EXPECT_EQ(p.tune.windows, 16);
  EXPECT_TRUE(p.tune.fp_inputs && p.tune.aug_loss);
  EXPECT_FALSE(p.slim.sba);
  EXPECT_EQ(p.slim.format.group, 32);
  EXPECT_EQ(method_spec(parse_method_spec(method_spec(o))), method_spec(o));
  const auto off = parse_method_spec("slim+:2+official");
  EXPECT_EQ(method_spec(off), "slim+:2:128+official");
  EXPECT_EQ(off.get<SlimPlusOptions>().tune.epochs, 50);
  EXPECT_TRUE(off.get<SlimPlusOptions>().tune.aug_loss && off.get<SlimPlusOptions>().slim.official);
  EXPECT_EQ(method_spec(parse_method_spec("slim+:2+official+epochs=3")), "slim+:2:128+official+epochs=3");
  EXPECT_THROW(parse_method_spec("slim+:2+epochs=0"), Error);
  EXPECT_THROW(parse_method_spec("slim+:2+no-sqc"), Error);
  EXPECT_THROW(parse_method_spec("slim+:2+lr=abc"), Error);
  EXPECT_THROW(parse_method_spec("slim+:2+lr=-1"), Error);
  EXPECT_EQ(parse_method_spec("slim:2+official").method, "slim");  // a flag after "slim" is not "slim+"
  const auto bake = parse_method_spec("slim+:3:64+bake-gptq+epochs=2");
  EXPECT_TRUE(bake.get<SlimPlusOptions>().bake_gptq);
  EXPECT_EQ(method_spec(bake), "slim+:3:64+epochs=2+bake-gptq");
  EXPECT_EQ(method_options_json(bake).at("params").at("bake"), "gptq");
  EXPECT_FALSE(method_options_json(o).at("params").contains("bake"));
  EXPECT_THROW(parse_method_spec("slim:3+bake-gptq"), Error);
}

TEST(MethodSpec, RtnPlusAndGptqPlusTakeTuningAndUniformFlagsAndRoundTrip) {
  const auto r = parse_method_spec("rtn+:2:64+epochs=3+lr=0.02+aug");
  EXPECT_EQ(format_name_of(r), "uniform");
  const auto& p = r.get<UniformPlusOptions>();
  EXPECT_EQ(p.uniform.format.bits, 2);
  EXPECT_EQ(p.uniform.format.group, 64);
  EXPECT_EQ(p.tune.epochs, 3);
  EXPECT_TRUE(p.tune.aug_loss);
  EXPECT_EQ(method_spec(r), "rtn+:2:64+epochs=3+lr=0.02+aug");
  const auto g = parse_method_spec("gptq+:3+act-order+official+windows=8");
  EXPECT_TRUE(g.act_order);
  EXPECT_EQ(g.get<UniformPlusOptions>().tune.epochs, 50);
  EXPECT_EQ(method_spec(g), "gptq+:3:128+act-order+official+windows=8");
  EXPECT_EQ(method_spec(parse_method_spec(method_spec(g))), method_spec(g));
  EXPECT_EQ(method_options_json(g).at("params").at("tune").at("windows"), 8);
  EXPECT_THROW(parse_method_spec("rtn+:2+sym"), Error);        // LWC's grid is asymmetric
  EXPECT_THROW(parse_method_spec("gptq+:2+mse"), Error);       // the training replaces the search
  EXPECT_THROW(parse_method_spec("rtn+:2+act-order"), Error);  // rtn has no column order
  EXPECT_THROW(parse_method_spec("gptq+:2+epochs=0"), Error);
  EXPECT_THROW(parse_method_spec("rtn+:5"), Error);
  EXPECT_EQ(parse_method_spec("rtn:2+sym").method, "rtn");
}

TEST(MethodSpec, FineqPlusTakesTuningAndFineqFlagsAndRoundTrips) {
  const auto o = parse_method_spec("fineq-gptq+:48+paper+epochs=3+windows=4");
  EXPECT_EQ(o.method, "fineq-gptq+");
  EXPECT_EQ(format_name_of(o), "fineq");
  const auto& p = o.get<FineqPlusOptions>();
  EXPECT_EQ(p.fineq.format.group, 48);
  EXPECT_EQ(p.fineq.format.rule, formats::FineqRule::Ratio);
  EXPECT_EQ(p.tune.epochs, 3);
  EXPECT_EQ(p.tune.windows, 4);
  EXPECT_EQ(method_spec(parse_method_spec(method_spec(o))), method_spec(o));
  EXPECT_EQ(method_spec(parse_method_spec("fineq-rtn+")), "fineq-rtn+:row");
  EXPECT_EQ(parse_method_spec("fineq-rtn:48").method, "fineq-rtn");
  EXPECT_THROW(parse_method_spec("fineq-rtn+:47"), Error);         // not a multiple of 3
  EXPECT_THROW(parse_method_spec("fineq-gptq+:row+lr=0"), Error);  // out of range
  EXPECT_THROW(parse_method_spec("fineq-rtn+epochs=2"), Error);    // fineq-rtn takes no training flags
}

}  // namespace mixq::quant
