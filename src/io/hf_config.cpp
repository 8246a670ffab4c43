#include "mixq/io/hf_config.hpp"

#include <nlohmann/json.hpp>

#include "mixq/core/error.hpp"
#include "mixq/core/json_number.hpp"

namespace mixq::io {
namespace {
using nlohmann::json;

// How a family's config turns its sliding window on.
enum class WindowKey {
  None,      // no sliding window (Llama)
  Always,    // "sliding_window": an integer applies to every layer, null means none (Mistral)
  Switched,  // applies only with "use_sliding_window": true, which mixq refuses (Qwen2/Qwen3)
};

// One row per architecture: the optional parts its decoder layers have and the keys that say so.
struct Family {
  Architecture arch;
  const char* name;        // config.json "architectures"[0]
  const char* model_type;  // config.json "model_type"
  bool qkv_bias;           // q/k/v projections always carry a bias
  bool qk_norm;            // per-head q/k RMSNorm before RoPE
  WindowKey window;
};

constexpr Family kFamilies[] = {
    {Architecture::Llama, "LlamaForCausalLM", "llama", false, false, WindowKey::None},
    {Architecture::Mistral, "MistralForCausalLM", "mistral", false, false, WindowKey::Always},
    {Architecture::Qwen2, "Qwen2ForCausalLM", "qwen2", true, false, WindowKey::Switched},
    {Architecture::Qwen3, "Qwen3ForCausalLM", "qwen3", false, true, WindowKey::Switched},
};

const Family& family_of(Architecture a) {
  for (const Family& f : kFamilies)
    if (f.arch == a) return f;
  fail("config", "unknown architecture id {}", int(a));
}

std::string supported_list() {
  std::string s;
  for (const Family& f : kFamilies) s += (s.empty() ? "" : ", ") + std::string(f.name);
  return s;
}

const Family& family_from(const json& j, const std::string& where) {
  std::string arch = "LlamaForCausalLM";  // llama2.c exports and early configs name none
  if (auto a = j.find("architectures"); a != j.end() && a->is_array() && !a->empty())
    arch = (*a)[0].is_string() ? (*a)[0].get<std::string>() : (*a)[0].dump();
  for (const Family& f : kFamilies)
    if (arch == f.name) return f;
  fail(where, "unsupported architecture '{}' (supported: {})", arch, supported_list());
}

const json* find_set(const json& j, const char* key) {
  auto it = j.find(key);
  return it == j.end() || it->is_null() ? nullptr : &*it;
}

int get_int(const json& j, const char* key, const std::string& where, const json& fallback = nullptr) {
  const json* v = find_set(j, key);
  if (!v) v = &fallback;
  if (v->is_null()) fail(where, "missing '{}'", key);
  return int(json_integer(*v, where, key, 1, int64_t(1) << 30));
}

float get_float(const json& j, const char* key, float fallback, const std::string& where) {
  const json* v = find_set(j, key);
  return v ? json_float(*v, where, key) : fallback;
}

bool get_bool(const json& j, const char* key, bool fallback, const std::string& where) {
  const json* v = find_set(j, key);
  if (!v) return fallback;
  if (!v->is_boolean()) fail(where, "'{}' must be true or false, got {}", key, v->dump());
  return v->get<bool>();
}

// mixq's own rope_scaling type, written only into mixq's files (quantized models, run journals)
// for RoPE divisors read from a GGUF that no Llama-3 rule explains.
constexpr const char* kFreqFactorsType = "mixq_freq_factors";

RopeScaling parse_freq_factors(const json& rs, const std::string& where) {
  const json* f = find_set(rs, "freq_factors");
  if (!f || !f->is_array()) fail(where, "rope_scaling '{}' needs a list 'freq_factors'", kFreqFactorsType);
  RopeScaling r;
  r.type = RopeScaling::Type::FreqFactors;
  for (const auto& v : *f) r.freq_factors.push_back(json_float(v, where, "freq_factors"));
  return r;
}

// "rope_scaling": null, {"rope_type": "default"}, "linear" (factor) or "llama3"; any other type
// (dynamic, yarn, longrope, ...) would change every position's rotation, so it is refused by name.
RopeScaling parse_rope_scaling(const json& j, const std::string& where) {
  RopeScaling r;
  const json* rs = find_set(j, "rope_scaling");
  if (!rs) return r;
  if (!rs->is_object()) fail(where, "'rope_scaling' must be an object or null, got {}", rs->dump());
  const json* type = find_set(*rs, "rope_type");
  if (!type) type = find_set(*rs, "type");  // the key's older name
  const std::string t = !type ? "default" : type->is_string() ? type->get<std::string>() : type->dump();
  const std::string w = where + " (rope_scaling)";
  if (t == "default") return r;
  if (t == kFreqFactorsType) return parse_freq_factors(*rs, where);
  if (t != "linear" && t != "llama3")
    fail(where, "rope_scaling type '{}' is not supported (supported: linear, llama3)", t);
  r.type = t == "linear" ? RopeScaling::Type::Linear : RopeScaling::Type::Llama3;
  r.factor = get_float(*rs, "factor", 0.f, w);
  if (r.type == RopeScaling::Type::Llama3) {
    r.low_freq_factor = get_float(*rs, "low_freq_factor", 1.f, w);
    r.high_freq_factor = get_float(*rs, "high_freq_factor", 4.f, w);
    r.original_context = get_int(*rs, "original_max_position_embeddings", w, 8192);
  }
  return r;
}

// Keys whose non-default values would change the computation in ways mixq does not implement.
void refuse_unimplemented(const json& j, const Family& f, const std::string& where) {
  for (const char* key : {"hidden_act", "hidden_activation"})
    if (const json* act = find_set(j, key); act && *act != "silu")
      fail(where, "'{}' {} is not supported (SwiGLU with silu only)", key, act->dump());
  if (get_bool(j, "attention_bias", false, where))
    fail(where, "'attention_bias': true (a bias on every attention projection, o_proj included) is not supported");
  if (get_bool(j, "mlp_bias", false, where)) fail(where, "'mlp_bias': true is not supported");
  if (f.window == WindowKey::Switched && get_bool(j, "use_sliding_window", false, where))
    fail(where, "'use_sliding_window': true ({}'s per-layer sliding window) is not supported", f.name);
  if (const json* p = find_set(j, "partial_rotary_factor"); p && json_float(*p, where, "partial_rotary_factor") != 1.f)
    fail(where, "'partial_rotary_factor' {} is not supported (RoPE over the whole head only)", p->dump());
  if (const json* lt = find_set(j, "layer_types"); lt && f.window != WindowKey::Always) {
    if (!lt->is_array()) fail(where, "'layer_types' must be a list, got {}", lt->dump());
    for (const auto& t : *lt)
      if (t != "full_attention") fail(where, "layer type {} is not supported (full_attention only)", t.dump());
  }
}

std::vector<int> parse_eos(const json& j, const std::string& where) {
  const json* e = find_set(j, "eos_token_id");
  if (!e) return {};
  std::vector<int> out;
  for (const auto& v : e->is_array() ? *e : json::array({*e}))
    out.push_back(int(json_integer(v, where, "eos_token_id", 0, LlamaConfig::kMaxVocab)));
  return out;
}

}  // namespace

const char* architecture_name(Architecture a) { return family_of(a).name; }

void set_architecture(LlamaConfig& c, Architecture a) {
  const Family& f = family_of(a);
  c.architecture = a;
  c.qkv_bias = f.qkv_bias;
  c.qk_norm = f.qk_norm;
}

LlamaConfig parse_hf_config(const std::string& text, const std::string& where) {
  json j;
  try {
    j = json::parse(text);
  } catch (const json::exception& e) {
    fail(where, "not valid JSON: {}", e.what());
  }
  if (!j.is_object()) fail(where, "not a JSON object");
  const Family& f = family_from(j, where);
  refuse_unimplemented(j, f, where);
  LlamaConfig c;
  set_architecture(c, f.arch);
  c.dim = get_int(j, "hidden_size", where);
  c.hidden_dim = get_int(j, "intermediate_size", where);
  c.n_layers = get_int(j, "num_hidden_layers", where);
  c.n_heads = get_int(j, "num_attention_heads", where);
  c.n_kv_heads = get_int(j, "num_key_value_heads", where, j.value("num_attention_heads", json()));
  c.vocab_size = get_int(j, "vocab_size", where);
  c.seq_len = get_int(j, "max_position_embeddings", where);
  c.rope_theta = get_float(j, "rope_theta", 10000.f, where);
  c.rms_norm_eps = get_float(j, "rms_norm_eps", 1e-6f, where);
  c.tied_classifier = get_bool(j, "tie_word_embeddings", false, where);
  if (find_set(j, "head_dim")) c.head_dim = get_int(j, "head_dim", where);
  if (f.window == WindowKey::Always && find_set(j, "sliding_window")) c.sliding_window = get_int(j, "sliding_window", where);
  c.rope_scaling = parse_rope_scaling(j, where);
  if (const json* b = find_set(j, "bos_token_id")) c.bos_token_id = int(json_integer(*b, where, "bos_token_id", 0, LlamaConfig::kMaxVocab));
  c.eos_token_ids = parse_eos(j, where);
  c.validate(where);
  return c;
}

std::string hf_config_json(const LlamaConfig& c, DType dtype) {
  const Family& f = family_of(c.architecture);
  json j = {{"architectures", {f.name}},
            {"model_type", f.model_type},
            {"hidden_size", c.dim},
            {"intermediate_size", c.hidden_dim},
            {"num_hidden_layers", c.n_layers},
            {"num_attention_heads", c.n_heads},
            {"num_key_value_heads", c.n_kv_heads},
            {"vocab_size", c.vocab_size},
            {"max_position_embeddings", c.seq_len},
            {"rope_theta", c.rope_theta},
            {"rms_norm_eps", c.rms_norm_eps},
            {"tie_word_embeddings", c.tied_classifier},
            {"hidden_act", "silu"},
            // llama2.c and SentencePiece vocabularies fix BOS 1 / EOS 2 when the source names none.
            {"bos_token_id", c.bos_token_id >= 0 ? c.bos_token_id : 1},
            {"eos_token_id", c.eos_token_ids.empty() ? json(2) : c.eos_token_ids.size() == 1 ? json(c.eos_token_ids[0]) : json(c.eos_token_ids)},
            {"torch_dtype", dtype == DType::F32 ? "float32" : dtype == DType::F16 ? "float16" : "bfloat16"}};
  if (c.head_dim > 0) j["head_dim"] = c.head_dim;
  if (f.window == WindowKey::Always) j["sliding_window"] = c.sliding_window > 0 ? json(c.sliding_window) : json(nullptr);
  if (f.window == WindowKey::Switched) j["use_sliding_window"] = false;
  const RopeScaling& r = c.rope_scaling;
  if (r.type == RopeScaling::Type::Linear) j["rope_scaling"] = {{"rope_type", "linear"}, {"factor", r.factor}};
  if (r.type == RopeScaling::Type::Llama3)
    j["rope_scaling"] = {{"rope_type", "llama3"}, {"factor", r.factor}, {"low_freq_factor", r.low_freq_factor},
                         {"high_freq_factor", r.high_freq_factor}, {"original_max_position_embeddings", r.original_context}};
  if (r.type == RopeScaling::Type::FreqFactors) j["rope_scaling"] = {{"rope_type", kFreqFactorsType}, {"freq_factors", r.freq_factors}};
  return j.dump(2) + "\n";
}

}  // namespace mixq::io
