// The accelerator model on real FineQ layers and real activations: every linear of tinystories5M
// (FineQ-quantized) runs on the simulated array with each PE model and matches the reference
// integer GEMM bit for bit; the FineQ PEs use no multiplier and a smaller array.
#include <gtest/gtest.h>

#include "mixq/accel/model_sim.hpp"
#include "mixq/core/error.hpp"
#include "mixq/io/mapped_file.hpp"
#include "mixq/quant/pipeline.hpp"
#include "test_paths.hpp"

namespace mixq::accel {

TEST(Accelerator, EveryLinearOfTinyStories5MMatchesTheReferenceGemmOnEveryPe) {
  MIXQ_REQUIRE_FILE(test::model_file(test::kRealModels[1]));
  MIXQ_REQUIRE_FILE(test::shared_path("data/tinystories/tinystories_valid_head.txt"));
  auto m = test::load_model(test::model_file(test::kRealModels[1]));
  quant::quantize_with_record(*m.model, {}, quant::parse_method_spec("fineq-rtn:row"));
  auto ids = m.tok->encode(io::read_whole_file(test::shared_path("data/tinystories/tinystories_valid_head.txt")), true);
  ids.resize(24);
  int layers_seen = 0;
  const ModelSimReport r = simulate_model(*m.model, ids, {}, [&](const LayerRun&) { ++layers_seen; });
  EXPECT_EQ(layers_seen, 7 * m.model->config().n_layers);
  for (const auto& l : r.layers) {
    EXPECT_TRUE(l.matches_reference) << l.name;
    EXPECT_GT(l.outlier_cluster_fraction, 0.0) << l.name;
    ASSERT_EQ(l.runs.size(), 3u);
    EXPECT_EQ(l.runs[1].events.mults, 0u) << l.name;  // select PE: no multiplier
    EXPECT_GE(l.runs[1].cycles, l.runs[0].cycles) << l.name;  // INT3 codes take two steps
    EXPECT_EQ(l.runs[0].macs, uint64_t(24 * l.n * l.k));
  }
  ASSERT_EQ(r.totals.size(), 3u);
  EXPECT_LT(r.totals[1].energy.array_area_um2, r.totals[0].energy.array_area_um2);
  EXPECT_GT(r.totals[1].energy.array_ops_per_joule, r.totals[0].energy.array_ops_per_joule);
  const auto j = r.to_json();
  EXPECT_EQ(j.at("layers").size(), r.layers.size());
  std::printf("%s", r.table().substr(r.table().find("whole model")).c_str());
  // Only FineQ layers run on the array.
  auto dense = test::load_model(test::model_file(test::kRealModels[1]));
  EXPECT_THROW(simulate_model(*dense.model, ids, {}), Error);
  ModelSimOptions bad;
  bad.layers = {99};
  EXPECT_THROW(simulate_model(*m.model, ids, bad), Error);
}

}  // namespace mixq::accel
