// The CLI used carelessly or with hostile intent, on real files (issue 26's cases): outputs that
// would replace devices, links or the run's own inputs; values that overflow; configs, tokenizers
// and options that disagree with the model; FIFOs, huge requests and thread counts. Each case ends
// in one clear "mixq: <where>: <what>" line and exit 1, and leaves every input as it was.
#include <gtest/gtest.h>

#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "cli_run.hpp"
#include "mixq/core/thread_pool.hpp"
#include "mixq/io/mapped_file.hpp"
#include "mixq/model/sampler.hpp"
#include "test_paths.hpp"

namespace mixq {
namespace {

namespace fs = std::filesystem;
using test::expect_clean_error;
using test::run_mixq;

const std::string kModel = test::repo_model_path("stories260K/stories260K.bin");
const std::string kTokenizer = test::repo_model_path("stories260K/tok512.bin");
const std::string kText = test::shared_path("data/tinystories/tinystories_valid_head.txt");

#if defined(__SANITIZE_ADDRESS__)
constexpr bool kAddressSanitizer = true;  // ASan reserves terabytes of address space: no ulimit -v
#else
constexpr bool kAddressSanitizer = false;
#endif

std::string q(const std::string& path) { return "'" + path + "'"; }

// stories260K with one float of the checkpoint changed: `index` counts floats after the header.
void write_edited_checkpoint(const std::string& path, const std::function<void(std::vector<float>&, int dim, int layers)>& edit) {
  std::string bytes = io::read_whole_file(kModel);
  int32_t header[7];
  std::memcpy(header, bytes.data(), sizeof header);
  std::vector<float> floats((bytes.size() - sizeof header) / 4);
  std::memcpy(floats.data(), bytes.data() + sizeof header, floats.size() * 4);
  edit(floats, header[0], header[2]);
  std::memcpy(bytes.data() + sizeof header, floats.data(), floats.size() * 4);
  std::ofstream(path, std::ios::binary) << bytes;
}

// The model as an F32 HF directory at `dir`.
void convert_to_hf(const std::string& dir) {
  const auto r = run_mixq("convert -m " + q(kModel) + " -o " + q(dir));
  ASSERT_EQ(r.exit_code, 0) << r.output;
}

std::string file_bytes(const std::string& path) { return io::read_whole_file(path); }

}  // namespace

// Outputs replace only regular files: a character device, a FIFO and a symbolic link named as -o
// (or compare's --json) stay what they were.
TEST(Hostile, OutputsNeverReplaceDevicesFifosOrLinks) {
  test::TempDir dir;
  const std::string fifo = dir / "fifo", link = dir / "link.safetensors", target = dir / "target";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0644), 0);
  std::ofstream(target) << "kept";
  fs::create_symlink(target, link);
  std::vector<std::pair<std::string, std::string>> cases = {{fifo, "a FIFO"}, {link, "a symbolic link"}};
  const std::string fakenull = dir / "fakenull";
  if (::mknod(fakenull.c_str(), S_IFCHR | 0666, makedev(1, 3)) == 0) cases.push_back({fakenull, "a character device"});
  for (const auto& [path, kind] : cases) {
    expect_clean_error(run_mixq("quantize -m " + q(kModel) + " --method rtn -q -o " + q(path)), kind + ", not a regular file");
    expect_clean_error(run_mixq("compare -m " + q(kModel) + " --text " + q(kText) + " --configs rtn:4:32 -q --json " + q(path)),
                       kind);
  }
  struct stat st {};
  ASSERT_EQ(::lstat(fifo.c_str(), &st), 0);
  EXPECT_TRUE(S_ISFIFO(st.st_mode));
  ASSERT_EQ(::lstat(link.c_str(), &st), 0);
  EXPECT_TRUE(S_ISLNK(st.st_mode));
  EXPECT_EQ(file_bytes(target), "kept");
  if (cases.size() == 3) {
    ASSERT_EQ(::lstat(fakenull.c_str(), &st), 0);
    EXPECT_TRUE(S_ISCHR(st.st_mode));
  }
}

// -o naming the input (read-only or not, by another name, through a hard link), the calibration
// text or the tokenizer is refused before any work, and the input is unchanged.
TEST(Hostile, AnOutputNeverReplacesAnInputOfTheSameRun) {
  test::TempDir dir;
  const std::string m = dir / "m.bin", tok = dir / "tok512.bin", calib = dir / "calib.txt", hard = dir / "hard.bin";
  fs::copy_file(kModel, m);
  fs::copy_file(kTokenizer, tok);
  fs::copy_file(kText, calib);
  fs::create_hard_link(m, hard);
  const std::string original = file_bytes(m);
  for (const std::string& out : {m, dir / "./m.bin", hard}) {
    expect_clean_error(run_mixq("quantize -m " + q(m) + " --method rtn -q -o " + q(out)), "is an input of this run");
    fs::permissions(m, fs::perms::owner_read | fs::perms::group_read | fs::perms::others_read);
    expect_clean_error(run_mixq("quantize -m " + q(m) + " --method rtn -q -o " + q(out)), "is an input of this run");
    fs::permissions(m, fs::perms::owner_read | fs::perms::owner_write);
  }
  expect_clean_error(run_mixq("quantize -m " + q(m) + " --method gptq --calib " + q(calib) + " -q -o " + q(calib)),
                     "is an input of this run");
  expect_clean_error(run_mixq("quantize -m " + q(m) + " --method rtn -q -o " + q(tok)), "is an input of this run");
  EXPECT_EQ(file_bytes(m), original);
  EXPECT_EQ(file_bytes(calib), file_bytes(kText));
  EXPECT_EQ(file_bytes(tok), file_bytes(kTokenizer));
  // A read-only file that is not an input is not replaced either (rename would, silently).
  const std::string ro = dir / "ro.safetensors";
  std::ofstream(ro) << "read-only";
  fs::permissions(ro, fs::perms::owner_read);
  expect_clean_error(run_mixq("quantize -m " + q(m) + " --method rtn -q -o " + q(ro)), "is read-only");
  EXPECT_EQ(file_bytes(ro), "read-only");
  expect_clean_error(run_mixq("quantize -m " + q(m) + " --method rtn -q -o ''"), "-o: empty path");
}

// --export-f16 or -o into the HF directory being read is refused (it used to overwrite the
// weights: ppl 3.71 → 527), and so is convert onto its own input and an export whose -o is one of
// the files the export writes.
TEST(Hostile, NothingWritesIntoTheInputDirectory) {
  test::TempDir dir;
  const std::string hf = dir / "hf";
  convert_to_hf(hf);
  const std::string weights = file_bytes(hf + "/model.safetensors"), config = file_bytes(hf + "/config.json");
  expect_clean_error(run_mixq("quantize -m " + q(hf) + " --method rtn --bits 2 -q -o " + q(dir / "q2.st") + " --export-f16 " + q(hf)),
                     "--export-f16 is an input of this run");
  expect_clean_error(run_mixq("quantize -m " + q(hf) + " --method rtn -q -o " + q(hf + "/model.safetensors")),
                     "is an input of this run");
  expect_clean_error(run_mixq("convert -m " + q(hf) + " -o " + q(hf)), "is an input of this run");
  expect_clean_error(run_mixq("convert -m " + q(hf) + " -o " + q((dir.path() / "." / "hf").string())), "is an input of this run");
  fs::create_directories(dir / "exp");
  expect_clean_error(run_mixq("quantize -m " + q(hf) + " --method rtn -q -o " + q(dir / "exp/model.safetensors") +
                              " --export-f16 " + q(dir / "exp")),
                     "names the same file as -o");
  EXPECT_EQ(file_bytes(hf + "/model.safetensors"), weights);
  EXPECT_EQ(file_bytes(hf + "/config.json"), config);
  EXPECT_FALSE(fs::exists(dir / "q2.st"));
}

// An export directory already holding a sharded checkpoint or another tokenizer is refused (the
// loader would read those beside or instead of the new files); a failed convert leaves no
// directory behind; a tokenizer that does not match the model is refused before anything is written.
TEST(Hostile, ExportDirectoriesAlwaysLoadAsWritten) {
  test::TempDir dir;
  const std::string sharded = dir / "sharded", stale = dir / "stale";
  fs::create_directories(sharded);
  std::ofstream(sharded + "/model.safetensors.index.json") << "{}";
  expect_clean_error(run_mixq("convert -m " + q(kModel) + " -o " + q(sharded)), "already holds model.safetensors.index.json");
  fs::create_directories(stale);
  fs::copy_file(test::shared_path("models/llama2-tokenizer-32k/tokenizer.model"), stale + "/tokenizer.model");
  fs::permissions(stale + "/tokenizer.model", fs::perms::owner_read | fs::perms::owner_write);
  expect_clean_error(run_mixq("convert -m " + q(kModel) + " -o " + q(stale)), "already holds tokenizer.model");
  const std::string fresh = dir / "fresh";
  expect_clean_error(run_mixq("convert -m " + q(kModel) + " --tokenizer " +
                              q(test::shared_path("models/llama2-tokenizer-32k/tokenizer.model")) + " -o " + q(fresh)),
                     "the model's vocabulary is 512");
  EXPECT_FALSE(fs::exists(fresh));
}

// A finite weight beyond what an fp16 scale spans (1e6) is reported, naming the tensor and the
// weight, and no file is written (it used to write one mixq then refused to load).
TEST(Hostile, AWeightBeyondFp16ScalesIsReportedNotWritten) {
  test::TempDir dir;
  const std::string big = dir / "big.bin", out = dir / "q.safetensors";
  write_edited_checkpoint(big, [](std::vector<float>& f, int dim, int layers) {
    f[size_t(512 * dim + layers * dim)] = 1e6f;  // layer 0's q_proj, row 0 column 0 (after embedding, rms_att)
  });
  fs::copy_file(kTokenizer, dir / "tok512.bin");
  for (const char* method : {"--method rtn --bits 2", "--method fineq-rtn"}) {
    const auto r = run_mixq(std::string("quantize -m ") + q(big) + " " + method + " -q -o " + q(out));
    expect_clean_error(r, "model.layers.0.self_attn.q_proj.weight");
    EXPECT_NE(r.output.find("1e+06 at row 0 column 0"), std::string::npos) << r.output;
    EXPECT_FALSE(fs::exists(out));
    EXPECT_FALSE(fs::exists(out + ".partial")) << "no finished layer: no scratch data kept";
    EXPECT_FALSE(fs::exists(out + ".partial.json"));
  }
}

// A forward pass that overflows fp32 (every attention norm weight 1e30) is an error naming the
// layer, in eval and run, not "ppl -nan" or a page of <unk>.
TEST(Hostile, NonFiniteActivationsAreAnErrorNamingTheLayer) {
  test::TempDir dir;
  const std::string ovf = dir / "ovf.bin";
  write_edited_checkpoint(ovf, [](std::vector<float>& f, int dim, int layers) {
    std::fill_n(f.begin() + 512 * dim, layers * dim, 1e30f);
  });
  fs::copy_file(kTokenizer, dir / "tok512.bin");
  expect_clean_error(run_mixq("eval -m " + q(ovf) + " --text " + q(kText) + " --max-windows 1"),
                     "decoder layer 0 produced a non-finite value");
  expect_clean_error(run_mixq("run -m " + q(ovf) + " -n 4"), "decoder layer 0 produced a non-finite value");
}

// Top-p sampling over a flat distribution whose every token falls below the cutoff used to read
// before the candidate array (size_t m - 1 with m = 0); the nucleus is then the top token alone.
TEST(Hostile, TopPWithEveryTokenBelowTheCutoffSamplesTheTopToken) {
  const auto r = run_mixq("run -m " + q(kModel) + " --temperature 1e30 --top-p 0.000001 -n 5");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  // Nearly flat: token 137's probability (0.0019550) is still under the cutoff (1 − p) / 511.
  model::Sampler s(512, {1.0f, 1e-6f, 7});
  for (int i = 0; i < 20; ++i) {
    std::vector<float> logits(512, 0.f);
    logits[137] = 1e-3f;
    EXPECT_EQ(s.sample(logits.data()), 137);
  }
}

// A config.json naming fewer layers than the weights hold used to drop the rest (ppl 49.9 for
// 3.71); unused tensors are an error. A string where a boolean belongs is one too.
TEST(Hostile, ConfigThatDisagreesWithTheWeightsIsRefused) {
  test::TempDir dir;
  const std::string hf = dir / "hf";
  convert_to_hf(hf);
  auto edit_config = [&](const std::function<void(nlohmann::json&)>& edit) {
    nlohmann::json c = nlohmann::json::parse(file_bytes(hf + "/config.json"));
    edit(c);
    std::ofstream(hf + "/config.json") << c.dump();
  };
  const nlohmann::json original = nlohmann::json::parse(file_bytes(hf + "/config.json"));
  edit_config([](nlohmann::json& c) { c["num_hidden_layers"] = 3; });
  expect_clean_error(run_mixq("eval -m " + q(hf) + " --text " + q(kText) + " --max-windows 1"),
                     "tensor 'model.layers.3.");
  edit_config([&](nlohmann::json& c) {
    c = original;
    c["tie_word_embeddings"] = "true";
  });
  expect_clean_error(run_mixq("eval -m " + q(hf) + " --text " + q(kText) + " --max-windows 1"),
                     "'tie_word_embeddings' must be true or false");
}

// Tokenizers that do not fit: a quantized model given a 32k tokenizer, a tokenizer with a NaN
// merge score.
TEST(Hostile, TokenizersThatDoNotFitAreRefused) {
  test::TempDir dir;
  const std::string qf = dir / "q.safetensors";
  ASSERT_EQ(run_mixq("quantize -m " + q(kModel) + " --method rtn -q -o " + q(qf)).exit_code, 0);
  expect_clean_error(run_mixq("eval -m " + q(qf) + " --tokenizer " +
                              q(test::shared_path("models/llama2-tokenizer-32k/tokenizer.model")) + " --text " + q(kText)),
                     "the model's vocabulary is 512");
  std::string tok = file_bytes(kTokenizer);
  const float nan = std::numeric_limits<float>::quiet_NaN();
  std::memcpy(tok.data() + 4, &nan, 4);  // token 0's score
  std::ofstream(dir / "nan.bin", std::ios::binary) << tok;
  expect_clean_error(run_mixq("eval -m " + q(kModel) + " --tokenizer " + q(dir / "nan.bin") + " --text " + q(kText)),
                     "token 0 has a non-finite merge score");
}

// A FIFO, a directory or a device where a file is read is refused before a byte is read (a FIFO
// used to block forever, a directory read as empty text). `timeout` turns a hang into a failure.
TEST(Hostile, FifosDirectoriesAndDevicesAreNotReadAsFiles) {
  test::TempDir dir;
  const std::string fifo = dir / "fifo";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0644), 0);
  auto run = [](const std::string& args) { return test::run_command("timeout 60 " + std::string(MIXQ_BINARY) + " " + args); };
  expect_clean_error(run("eval -m " + q(fifo) + " --text " + q(kText)), "not a regular file");
  expect_clean_error(run("eval -m " + q(kModel) + " --text " + q(fifo)), "not a regular file");
  const std::string zero = dir / "zero";  // a node of our own, never the machine's /dev/zero
  if (::mknod(zero.c_str(), S_IFCHR | 0444, makedev(1, 5)) == 0)
    expect_clean_error(run("eval -m " + q(kModel) + " --text " + q(zero)), "not a regular file");
  expect_clean_error(run("eval -m " + q(kModel) + " --text " + q(dir.path().string())), "is a directory");
  expect_clean_error(run("eval -m " + q(kModel) + " --tokenizer " + q(dir.path().string()) + " --text " + q(kText)),
                     "is a directory");
  expect_clean_error(run("quantize -m " + q(kModel) + " --method gptq --calib " + q(dir.path().string()) + " -q -o " + q(dir / "q.st")),
                     "is a directory");
}

// Thread counts are capped at 4 × the hardware threads, with the figure in the message (1000
// threads turned a 0.1 s eval into 38 s; 99999999 never returned). The oversubscribed pool itself:
// tests/unit/thread_pool_test.cpp.
TEST(Hostile, ThreadCountsAreCapped) {
  for (const char* n : {"1000", "99999999"})
    expect_clean_error(run_mixq("eval -m " + q(kModel) + " --text " + q(kText) + " -t " + n),
                       std::string("--threads: ") + n + " threads asked for; at most " + std::to_string(ThreadPool::max_threads()));
}

// Requests beyond the memory there is are refused up front, with the figure, under an address-
// space limit: 10^8 calibration windows, a 3 GiB (sparse) text file.
TEST(Hostile, MemoryNeedsAreCheckedBeforeLargeAllocations) {
  if (kAddressSanitizer) GTEST_SKIP() << "ASan's shadow memory does not run under ulimit -v";
  test::TempDir dir;
  const std::string huge = dir / "huge.txt";
  {
    std::ofstream f(huge);
    f << "Once upon a time";
  }
  fs::resize_file(huge, uintmax_t(3) << 30);
  auto run_limited = [](const std::string& args) {  // 2 GB of address space
    return test::run_command("bash -c \"ulimit -v 2000000; exec " + std::string(MIXQ_BINARY) + " " + args + "\"");
  };
  expect_clean_error(run_limited("quantize -m " + q(kModel) + " --method gptq --calib " + q(kText) +
                                 " --calib-samples 100000000 -q -o " + q(dir / "q.st")),
                     "needs 190.73 GiB for 100000000 calibration windows of 512 tokens");
  expect_clean_error(run_limited("eval -m " + q(kModel) + " --text " + q(huge)), "needs 3.00 GiB for reading the whole file");
}

// A quantized file cut anywhere is reported as the safetensors file it is, never re-read as a
// llama2.c checkpoint ("llama2.c header: hidden_dim must be positive").
TEST(Hostile, TruncatedQuantizedFilesAreReportedAsSafetensors) {
  test::TempDir dir;
  const std::string qf = dir / "q.safetensors", cut = dir / "cut.safetensors";
  ASSERT_EQ(run_mixq("quantize -m " + q(kModel) + " --method rtn -q -o " + q(qf)).exit_code, 0);
  const std::string bytes = file_bytes(qf);
  int cases = 0;
  for (size_t keep : {size_t(9), size_t(100), size_t(3000), bytes.size() / 3, bytes.size() - 1}) {
    std::ofstream(cut, std::ios::binary | std::ios::trunc) << bytes.substr(0, keep);
    const auto r = run_mixq("eval -m " + q(cut) + " --text " + q(kText));
    expect_clean_error(r, cut);
    EXPECT_EQ(r.output.find("llama2.c"), std::string::npos) << keep << ": " << r.output;
    ++cases;
  }
  EXPECT_EQ(cases, 5);
}

// Options that would be silently ignored, out of range or unnamed give a short error naming the
// option.
TEST(Hostile, OptionsAreCheckedAndNamed) {
  test::TempDir dir;
  const std::string out = q(dir / "q.st"), m = "quantize -m " + q(kModel) + " -q -o " + out;
  struct Case {
    std::string args, needle;
  };
  const Case cases[] = {
      {m + " --method gptq --damp -1 --calib " + q(kText), "--damp: must be > 0, got -1"},
      {m + " --method gptq --damp nan --calib " + q(kText), "--damp: must be > 0, got nan"},
      {"eval -m " + q(kModel) + " --text " + q(kText) + " --max-windows -1", "--max-windows: must be >= 0, got -1"},
      {"run -m " + q(kModel) + " -t -1", "--threads: must be >= 0, got -1"},
      {m, "--method gptq (the default) needs a calibration text"},
      {m + " --method rtn --calib " + q(kText), "--calib: --method rtn uses no calibration"},
      {m + " --method rtn --damp 0.1", "--damp: --method rtn uses no calibration"},
      {m + " --method rtn --act-order", "unknown flag --act-order"},
      {m + " --method fineq-rtn --bits 3", "fineq-rtn has no bit width to choose"},
      {m + " --method fineq-rtn --sym", "unknown flag --sym"},
      {"compare -m " + q(kModel) + " --text " + q(kText) + " --configs rtn:4:32 --max-windows 1 -q --keep /proc/mixq-no/x",
       "mixq: /proc/mixq-no/x: cannot create directories"},
  };
  for (const auto& c : cases) {
    const auto r = run_mixq(c.args);
    EXPECT_NE(r.exit_code, 0) << c.args;
    EXPECT_NE(r.output.find(c.needle), std::string::npos) << c.args << "\n" << r.output;
    EXPECT_LT(r.output.size(), 400u) << "a long message: " << r.output;
  }
  EXPECT_FALSE(fs::exists(dir / "q.st"));
}

}  // namespace mixq
