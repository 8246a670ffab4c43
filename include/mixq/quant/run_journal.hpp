#pragma once
// The journal of a quantize run that writes `<out>`: its finished layers' data go to the scratch
// file `<out>.partial`, and after each layer `<out>.partial.json` records what that file holds
// (written atomically, after the data is on disk). A killed run leaves both; `quantize --resume`
// checks that it is the same run (model, tokenizer, method, calibration), keeps the data the
// journal vouches for and goes on after its last layer, so that the file it writes is
// byte-identical to an uninterrupted run's. A finished run removes both.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "mixq/io/safetensors.hpp"

namespace mixq::quant {

struct RunJournal {
  nlohmann::json identity = nlohmann::json::object();  // what must be equal for a run to go on
  int layers_done = 0;
  std::vector<io::SafetensorsWriter::Entry> entries;   // the scratch file's tensors, in order
  std::map<std::string, std::string> checksums;        // tensor → FNV-1a label of its bytes
  std::map<std::string, std::string> formats;          // the mixq.format.<W> metadata so far
  uint64_t linear_bytes = 0, linear_weights = 0;       // over the decoder linears written
};

std::string scratch_path(const std::string& out);  // <out>.partial
std::string journal_path(const std::string& out);  // <out>.partial.json

std::string journal_json(const RunJournal& j);
// Parses a journal; anything malformed is an Error naming `where` and the key.
RunJournal parse_journal(const std::string& text, const std::string& where);

// Error naming the first part of the run's identity that differs (a changed model, method or
// calibration cannot continue a stopped run: its layers would not fit together).
void check_same_run(const nlohmann::json& stopped, const nlohmann::json& now, const std::string& where);

}  // namespace mixq::quant
