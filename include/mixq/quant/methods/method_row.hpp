#pragma once
// One row of the method table (after the format table, formats/registry.hpp): everything the
// pipeline, the CLI and `compare` need of a quantization method — its spec grammar, options,
// validation, record and the quantizer itself. Each method defines its row in its own file
// (rtn.cpp, gptq.cpp, fineq.cpp, slim.cpp); methods/method.cpp lists the rows.
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "mixq/core/tensor.hpp"
#include "mixq/core/thread_pool.hpp"
#include "mixq/formats/packed_tensor.hpp"

namespace mixq::quant {

struct MethodOptions;  // methods/method.hpp: the common fields + the method's own options
struct ClipTuning;     // tune/clip_tuning.hpp
class TrainableQuantizer;  // tune/trainable_quantizer.hpp
struct BlockTuning;    // below

// Scores a linear's candidates on the layer's real inputs (SliM-LLM's SBA), one chunk of
// calibration windows at a time: the driver runs the layer over the windows a second time and
// hands each site's inputs to the scorers of its linears, so that no more than a chunk of windows'
// inputs exists at once (every window's down_proj inputs at 7B, 128 × 2048 tokens: 11.5 GB), as
// the published code's forward hooks do.
class InputScorer {
 public:
  virtual ~InputScorer() = default;
  // Adds windows first … first + inputs.size() − 1 (each X [tokens][cols]), in window order.
  virtual void add(size_t first, const std::vector<std::vector<float>>& inputs, ThreadPool* pool) = 0;
};

// What calibration gives a method for one linear layer.
struct LayerCalibration {
  std::vector<double> hessian;             // H [cols][cols] (methods with needs_calibration)
  std::shared_ptr<InputScorer> scorer;     // fed every window's inputs (methods with an input_scorer)
  std::vector<std::vector<float>> inputs;  // or the inputs themselves, all at once (small models, tests)
  ThreadPool* pool = nullptr;              // for methods that parallelize (null: one thread)
};

// A configuration before its method reads it, from a spec (`gptq:3:128+act-order`) or from the
// CLI's flags: every word remembers where it came from so an error can name it ("+sym",
// "--compat official").
struct MethodArgs {
  struct Word {
    std::string text;    // "3", "act-order", "lambda=2"
    std::string origin;  // "+act-order", "--act-order", "bits '3'"
  };
  std::string where;  // the spec, or "quantize options"
  std::optional<Word> bits, group;
  std::vector<Word> flags;
};

struct MethodInfo {
  const char* name;
  const char* format;      // the packed format it writes (a row of formats/registry.hpp)
  const char* grammar;     // its spec after the name, for errors and help: ":BITS[:GROUP|row][+sym]…"
  bool takes_bits;         // the spec's first field is BITS (else GROUP comes first)
  bool needs_calibration;  // a Hessian from calibration windows
  // Methods that read the layer's inputs themselves: a scorer for this linear, made from its
  // weights and Hessian before any linear of its pass is quantized (null: this configuration needs
  // no inputs); quantize then finds it, fed with every window, in calib.scorer.
  std::unique_ptr<InputScorer> (*input_scorer)(const Tensor& w, const LayerCalibration& calib, const MethodOptions& o);
  // Fills o (o.method already set, the rest default) from args; Error naming the bad word.
  void (*parse)(const MethodArgs& args, MethodOptions& o);
  // The spec after the name (":3:128+act-order"): parse(spec) gives back the same options.
  std::string (*spec_tail)(const MethodOptions& o);
  // Error unless the options can run (format parameters, ranges, combinations).
  void (*validate)(const MethodOptions& o);
  // The method's parameters, for the quantized file's record.
  nlohmann::json (*params_json)(const MethodOptions& o);
  // A few words on the format it writes, for `compare`'s table: "uniform b3 g128 asym".
  std::string (*label)(const MethodOptions& o);
  formats::PackedTensor (*quantize)(const Tensor& w, const LayerCalibration& calib, const MethodOptions& o);
  // Methods that then train each decoder block's clipping against the fp block (SliM-LLM+, rtn+,
  // gptq+; null: no block training).
  const BlockTuning* tuning;
};

// What a tuned method adds to its row: its training options, the trainable quantizer of a linear,
// and how a trained one is stored. `quantize` gives each linear's first result, whose layout
// (format, widths, groups, starting steps) the trainable quantizer takes.
struct BlockTuning {
  const ClipTuning& (*options)(const MethodOptions& o);
  // A fresh trainable quantizer of fp weight `w` whose first result is `first`.
  std::unique_ptr<TrainableQuantizer> (*make)(const Tensor& w, const formats::PackedTensor& first, const MethodOptions& o);
  // The stored tensor of a trained quantizer (one `make` made), in the format of `first`; calib is
  // the linear's calibration when reads_calibration(o) (GPTQ on the learned grids), else empty.
  formats::PackedTensor (*bake)(const TrainableQuantizer& q, const formats::PackedTensor& first, const LayerCalibration& calib,
                                const MethodOptions& o);
  bool (*reads_calibration)(const MethodOptions& o);
};

// Helpers every row's parse uses, so numbers and groups are read and reported one way.
double spec_number(const MethodArgs& a, const MethodArgs::Word& w, const char* what);
int spec_integer(const MethodArgs& a, const MethodArgs::Word& w, const char* what);
// A positive integer or "row" (0).
int spec_group(const MethodArgs& a, const MethodArgs::Word& w);
// Error: flag `w` is not one of `known` for this method.
[[noreturn]] void unknown_flag(const MethodArgs& a, const MethodArgs::Word& w, const char* known);

}  // namespace mixq::quant
