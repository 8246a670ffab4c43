#include "mixq/quant/run_journal.hpp"

#include <limits>

#include "mixq/core/error.hpp"
#include "mixq/core/json_number.hpp"

namespace mixq::quant {

using nlohmann::json;

std::string scratch_path(const std::string& out) { return out + ".partial"; }
std::string journal_path(const std::string& out) { return out + ".partial.json"; }

std::string journal_json(const RunJournal& j) {
  json entries = json::array();
  for (const auto& e : j.entries)
    entries.push_back({{"name", e.name},
                       {"dtype", io::dtype_name(e.dtype)},
                       {"shape", e.shape},
                       {"size", e.size},
                       {"checksum", j.checksums.at(e.name)}});
  return json{{"identity", j.identity},
              {"layers_done", j.layers_done},
              {"entries", entries},
              {"formats", j.formats},
              {"linear_bytes", j.linear_bytes},
              {"linear_weights", j.linear_weights}}
      .dump(1);
}

namespace {

constexpr int64_t kMaxBytes = std::numeric_limits<int64_t>::max();

std::string string_at(const json& obj, const char* key, const std::string& where) {
  if (!obj.contains(key) || !obj[key].is_string()) fail(where, "journal entry '{}' must be a string", key);
  return obj[key].get<std::string>();
}

io::SafetensorsWriter::Entry parse_entry(const json& e, const std::string& where, RunJournal& j) {
  if (!e.is_object()) fail(where, "journal 'entries' must hold objects");
  io::SafetensorsWriter::Entry out;
  out.name = string_at(e, "name", where);
  out.dtype = io::parse_dtype(string_at(e, "dtype", where), where);
  if (!e.contains("shape") || !e["shape"].is_array() || e["shape"].size() > 8)
    fail(where, "journal tensor '{}': 'shape' must be an array of at most 8 sizes", out.name);
  for (const auto& d : e["shape"]) out.shape.push_back(json_integer(d, where, "shape", 0, kMaxBytes));
  out.size = uint64_t(json_integer(e.value("size", json()), where, "size", 0, kMaxBytes));
  if (!j.checksums.emplace(out.name, string_at(e, "checksum", where)).second)
    fail(where, "journal names tensor '{}' twice", out.name);
  return out;
}

}  // namespace

RunJournal parse_journal(const std::string& text, const std::string& where) {
  json doc;
  try {
    doc = json::parse(text);
  } catch (const json::exception& e) {
    fail(where, "journal is not valid JSON: {}", e.what());
  }
  if (!doc.is_object()) fail(where, "journal must be a JSON object");
  RunJournal j;
  j.identity = doc.value("identity", json());
  if (!j.identity.is_object()) fail(where, "journal 'identity' must be an object");
  j.layers_done = json_int(doc.value("layers_done", json()), where, "layers_done");
  if (j.layers_done < 0) fail(where, "journal 'layers_done' must not be negative");
  const json entries = doc.value("entries", json());
  if (!entries.is_array()) fail(where, "journal 'entries' must be an array");
  uint64_t total = 0;
  for (const auto& e : entries) {
    j.entries.push_back(parse_entry(e, where, j));
    if (j.entries.back().size > uint64_t(kMaxBytes) - total) fail(where, "journal tensors add up past 2^63 bytes");
    total += j.entries.back().size;
  }
  const json formats = doc.value("formats", json());
  if (!formats.is_object()) fail(where, "journal 'formats' must be an object");
  for (const auto& [key, value] : formats.items()) {
    if (!value.is_string()) fail(where, "journal format '{}' must be a string", key);
    j.formats[key] = value.get<std::string>();
  }
  j.linear_bytes = uint64_t(json_integer(doc.value("linear_bytes", json()), where, "linear_bytes", 0, kMaxBytes));
  j.linear_weights = uint64_t(json_integer(doc.value("linear_weights", json()), where, "linear_weights", 0, kMaxBytes));
  return j;
}

void check_same_run(const json& stopped, const json& now, const std::string& where) {
  for (const auto& [key, value] : now.items())
    if (!stopped.contains(key) || stopped[key] != value)
      fail(where, "the stopped run had a different {} ({} now, {} then): it cannot be continued; run without --resume "
           "to start again", key, value.dump(), stopped.contains(key) ? stopped[key].dump() : "none");
  for (const auto& [key, value] : stopped.items())
    if (!now.contains(key)) fail(where, "the stopped run recorded a {} this run does not have", key);
}

}  // namespace mixq::quant
