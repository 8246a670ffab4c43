// A quantize run killed after a finished layer continues with --resume and writes the very bytes
// of an uninterrupted run (quant/run_journal.hpp): on tinystories5M (gptq, rtn) and stories260K
// (slim and fineq-gptq, whose solvers take 5–12 s on tinystories5M), killed
// after the journal of a layer or between a layer's data and its journal. A journal that belongs
// to another run, or scratch data that no longer match it, are clear errors; the previous output
// is never touched.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "cli_run.hpp"
#include "mixq/io/mapped_file.hpp"
#include "mixq/io/safetensors.hpp"
#include "mixq/io/synth_checkpoint.hpp"
#include "test_paths.hpp"

namespace mixq {
namespace {
namespace fs = std::filesystem;
using test::expect_clean_error;
using test::run_command;
using test::run_mixq;

const std::string kTinystories5M = "-m " + test::shared_path("models/tinystories5M/model.bin");
const std::string kStories260K = "-m " + test::repo_model_path("stories260K/stories260K.bin");

// `flags`: the model (-m) and the method's flags.
std::string quantize_args(const std::string& flags, const std::string& out) { return "quantize -q " + flags + " -o " + out; }

std::string calibrated(const std::string& method_flags, const std::string& model = kTinystories5M) {
  return model + " " + method_flags + " --calib " + test::shared_path("data/tinystories/tinystories_train_head_2MiB.txt") +
         " --calib-samples 8 --calib-len 128";
}

const std::string kPrevious = "the previous output, which must survive";

struct Killed {
  test::TempDir dir;
  std::string out = dir / "q.safetensors", reference = dir / "reference.safetensors";
  std::string flags;
  // An uninterrupted run, then one killed at `phase` over a previous output.
  Killed(const std::string& method_flags, const std::string& phase) : flags(method_flags) {
    const auto full = run_mixq(quantize_args(flags, reference));
    EXPECT_EQ(full.exit_code, 0) << full.output;
    std::ofstream(out) << kPrevious;
    const auto killed = run_command("MIXQ_TEST_KILL_AT=" + phase + " " + MIXQ_BINARY + " " + quantize_args(flags, out));
    EXPECT_EQ(killed.exit_code, 128 + 9) << phase << ": " << killed.output;
    EXPECT_EQ(io::read_whole_file(out), kPrevious);
    EXPECT_TRUE(fs::exists(out + ".partial")) << phase;
    EXPECT_TRUE(fs::exists(out + ".partial.json")) << phase;
  }
  test::Run resume(const std::string& other_flags = "") const {
    return run_mixq(quantize_args(other_flags.empty() ? flags : other_flags, out) + " --resume");
  }
  void expect_resumed_to_the_same_bytes(const test::Run& r) const {
    ASSERT_EQ(r.exit_code, 0) << r.output;
    EXPECT_NE(r.output.find("resuming the stopped run"), std::string::npos) << r.output;
    EXPECT_TRUE(io::read_whole_file(out) == io::read_whole_file(reference)) << flags;
    EXPECT_FALSE(fs::exists(out + ".partial"));
    EXPECT_FALSE(fs::exists(out + ".partial.json"));
  }
};

TEST(Resume, KilledAfterALayerGivesTheBytesOfAnUninterruptedRunForEveryMethod) {
  for (const std::string& flags :
       {calibrated("--method gptq --bits 2 --group 32"), calibrated("--method slim --bits 2 --group 32", kStories260K),
        calibrated("--method fineq-gptq", kStories260K), kTinystories5M + " --method rtn --bits 3 --group 64",
        kStories260K + " --method rtn --bits 3 --group 32 --head rtn:4:32"}) {
    SCOPED_TRACE(flags);
    const Killed k(flags, "layer1");
    k.expect_resumed_to_the_same_bytes(k.resume());
  }
}

// Killed with layer 3's data in the scratch file but not yet in the journal: those bytes are cut
// off and layer 3 is quantized again.
TEST(Resume, DataBeyondTheJournalAreDiscarded) {
  const Killed k(calibrated("--method gptq --bits 3 --group 32 --act-order"), "layer3-data");
  EXPECT_NE(io::read_whole_file(k.out + ".partial.json").find("\"layers_done\": 3"), std::string::npos);
  k.expect_resumed_to_the_same_bytes(k.resume());
}

// Killed after the last layer, before the file was renamed into place: nothing is left to do.
TEST(Resume, KilledAtTheFinalRenameFinishesWithoutQuantizing) {
  const Killed k(kTinystories5M + " --method rtn --bits 2 --group 32", "linked");
  k.expect_resumed_to_the_same_bytes(k.resume());
}

TEST(Resume, AnotherRunsJournalIsAClearErrorAndStartingAgainWorks) {
  const Killed k(calibrated("--method gptq --bits 2 --group 32"), "layer0");
  // Another method, another calibration: the stopped run's layers would not fit.
  for (const std::string& other : {calibrated("--method gptq --bits 3 --group 32"),
                                  calibrated("--method gptq --bits 2 --group 32 --seed 7")}) {
    const auto r = k.resume(other);
    expect_clean_error(r, "q.safetensors.partial.json");
    EXPECT_NE(r.output.find("cannot be continued"), std::string::npos) << r.output;
    EXPECT_EQ(io::read_whole_file(k.out), kPrevious);
  }
  // Without --resume the stopped run is named and replaced.
  const auto again = run_mixq(quantize_args(k.flags, k.out));
  ASSERT_EQ(again.exit_code, 0) << again.output;
  EXPECT_NE(again.output.find("had finished 1 of 6 layers; starting again"), std::string::npos) << again.output;
  EXPECT_TRUE(io::read_whole_file(k.out) == io::read_whole_file(k.reference));
  EXPECT_FALSE(fs::exists(k.out + ".partial.json"));
  // --resume with nothing to resume starts at layer 0.
  const auto fresh = k.resume();
  ASSERT_EQ(fresh.exit_code, 0) << fresh.output;
  EXPECT_NE(fresh.output.find("nothing to resume"), std::string::npos) << fresh.output;
  EXPECT_TRUE(io::read_whole_file(k.out) == io::read_whole_file(k.reference));
}

TEST(Resume, DamagedScratchDataOrJournalAreClearErrors) {
  const Killed k(calibrated("--method gptq --bits 2 --group 32"), "layer2");
  {
    std::fstream f(k.out + ".partial", std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(600'000);
    f.put('\x5a');
  }
  auto r = k.resume();
  expect_clean_error(r, "does not match the journal's checksum");
  EXPECT_EQ(io::read_whole_file(k.out), kPrevious);
  fs::resize_file(k.out + ".partial", 1000);
  expect_clean_error(k.resume(), "cannot be continued");
  std::ofstream(k.out + ".partial.json") << "{\"identity\": {}, \"layers_done\": 1e99}";
  expect_clean_error(k.resume(), "layers_done");
  std::ofstream(k.out + ".partial.json") << "{";
  expect_clean_error(k.resume(), "journal is not valid JSON");
  EXPECT_EQ(io::read_whole_file(k.out), kPrevious);
}

// A run that fails after finished layers (a NaN in layer 2's weights of a synthetic BF16
// checkpoint) keeps them and says so; once the weight is mended, --resume finishes the file with
// the bytes of a clean run. (A run failing before any layer is done leaves no scratch data and no
// journal: tests/e2e/hostile_input_test.cpp.)
TEST(Resume, AnErrorAfterFinishedLayersKeepsThemForResume) {
  test::TempDir dir;
  io::SynthOptions so;
  so.config = io::synth_shape("tiny");
  so.config.n_layers = 3;
  const std::string model = dir / "hf", out = dir / "q.safetensors", reference = dir / "reference.safetensors";
  io::write_synth_checkpoint(model, so);
  const std::string args = "-m " + model + " --method rtn --bits 2 --group 32";
  ASSERT_EQ(run_mixq(quantize_args(args, reference)).exit_code, 0);

  // Layer 2's first query weight becomes a BF16 NaN, in its shard's bytes.
  std::string shard;
  size_t offset = 0;
  const std::string victim = "model.layers.2.self_attn.q_proj.weight";
  for (const auto& e : fs::directory_iterator(model))
    if (e.path().extension() == ".safetensors") {
      const io::SafetensorsFile f(e.path().string());
      if (const auto* t = f.find(victim)) {
        shard = e.path().string();
        offset = size_t(t->bytes.data() - f.mapping()->bytes().data());
      }
    }
  ASSERT_FALSE(shard.empty());
  auto poke = [&](const std::string& bytes) {
    std::fstream f(shard, std::ios::in | std::ios::out | std::ios::binary);
    std::string old(2, '\0');
    f.seekg(std::streamoff(offset));
    f.read(old.data(), 2);
    f.seekp(std::streamoff(offset));
    f.write(bytes.data(), 2);
    return old;
  };
  const std::string original = poke(std::string("\xc0\x7f", 2));
  const auto failed = run_mixq(quantize_args(args, out));
  EXPECT_EQ(failed.exit_code, 1) << failed.output;
  EXPECT_NE(failed.output.find(victim), std::string::npos) << failed.output;
  EXPECT_NE(failed.output.find("2 finished layers are kept"), std::string::npos) << failed.output;
  EXPECT_FALSE(fs::exists(out));
  EXPECT_TRUE(fs::exists(out + ".partial.json"));

  poke(original);
  const auto resumed = run_mixq(quantize_args(args, out) + " --resume");
  ASSERT_EQ(resumed.exit_code, 0) << resumed.output;
  EXPECT_NE(resumed.output.find("2 of 3 layers were finished"), std::string::npos) << resumed.output;
  EXPECT_TRUE(io::read_whole_file(out) == io::read_whole_file(reference));

}

}  // namespace
}  // namespace mixq
