// make_tiny_model: writes a random-weight LLaMA-architecture GGUF that
// llama.cpp loads and runs, from a vocab-only GGUF (llama.cpp's
// models/ggml-vocab-*.gguf). The tests of the llama.cpp adapter need a real
// model file and no model can be downloaded here, so one is made at test time:
// the tokenizer is the vocab file's (every tokenizer.* key is copied), the
// weights are F32 draws from a fixed-seed generator, so the same arguments
// give the same file byte for byte.
//
// The tensors are those llama.cpp's LLaMA loader requires (src/models/llama.cpp
// at the fetched commit): token_embd, output_norm, output (unless --tied), and
// per layer attn_norm, attn_q/k/v/output, ffn_norm, ffn_gate/up/down. Weights
// are uniform with the variance of 1/fan_in (activations keep their scale
// through the layers); norm weights are 1; the output projection is scaled so
// that logits have standard deviation about --logit-std (3 by default), which
// makes next-token distributions vary from token to token without being flat.
//
// Usage:
//   make_tiny_model <vocab.gguf> <out.gguf> [--embd N] [--layers N] [--heads N]
//                   [--kv-heads N] [--ff N] [--ctx N] [--seed S] [--logit-std X] [--tied]
// Defaults: --embd 64 --layers 2 --heads 4 --kv-heads 2 --ff 128 --ctx 512 --seed 1.
// Compute per token is about 2 * (layers * (2*embd^2 + 2*embd*embd*kv/heads + 3*embd*ff)
// + embd*n_vocab) flops; e.g. --embd 1024 --layers 8 --heads 16 --kv-heads 4 --ff 2816
// on the 32000-token vocab is ~0.25 GFLOP and ~0.5 GB of F32 weights read per token
// (a 0.62 GB file, written in ~5 s).
#include <ggml.h>
#include <gguf.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace {

struct tiny_model_options {
  std::string vocab_path;
  std::string out_path;
  std::int64_t n_embd = 64;
  std::int64_t n_layer = 2;
  std::int64_t n_head = 4;
  std::int64_t n_head_kv = 2;
  std::int64_t n_ff = 128;
  std::int64_t n_ctx = 512;
  std::uint64_t seed = 1;
  double logit_std = 3.0;
  bool tied = false;
};

[[noreturn]] void usage_error(const std::string& message) {
  std::fprintf(stderr,
               "make_tiny_model: %s\n"
               "usage: make_tiny_model <vocab.gguf> <out.gguf> [--embd N] [--layers N] [--heads N]\n"
               "                       [--kv-heads N] [--ff N] [--ctx N] [--seed S] [--logit-std X] [--tied]\n",
               message.c_str());
  std::exit(2);
}

std::int64_t positive_integer(std::string_view flag, const char* text) {
  char* end = nullptr;
  const long long value = std::strtoll(text, &end, 10);
  if (end == text || *end != '\0' || value <= 0) {
    usage_error(std::string(flag) + " needs a positive integer, got '" + text + "'");
  }
  return value;
}

tiny_model_options parse_options(int argc, char** argv) {
  tiny_model_options options;
  std::vector<std::string> positional;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--tied") {
      options.tied = true;
      continue;
    }
    if (arg.starts_with("--")) {
      if (i + 1 >= argc) usage_error(std::string(arg) + " needs a value");
      const char* value = argv[++i];
      if (arg == "--embd") options.n_embd = positive_integer(arg, value);
      else if (arg == "--layers") options.n_layer = positive_integer(arg, value);
      else if (arg == "--heads") options.n_head = positive_integer(arg, value);
      else if (arg == "--kv-heads") options.n_head_kv = positive_integer(arg, value);
      else if (arg == "--ff") options.n_ff = positive_integer(arg, value);
      else if (arg == "--ctx") options.n_ctx = positive_integer(arg, value);
      else if (arg == "--seed") options.seed = static_cast<std::uint64_t>(positive_integer(arg, value));
      else if (arg == "--logit-std") {
        char* end = nullptr;
        options.logit_std = std::strtod(value, &end);
        if (end == value || *end != '\0' || !(options.logit_std > 0)) usage_error("--logit-std needs a positive number");
      } else {
        usage_error("unknown option " + std::string(arg));
      }
      continue;
    }
    positional.emplace_back(arg);
  }
  if (positional.size() != 2) usage_error("expected <vocab.gguf> <out.gguf>");
  options.vocab_path = positional[0];
  options.out_path = positional[1];
  if (options.n_embd % options.n_head != 0) usage_error("--embd must be a multiple of --heads");
  if (options.n_head % options.n_head_kv != 0) usage_error("--heads must be a multiple of --kv-heads");
  if ((options.n_embd / options.n_head) % 2 != 0) usage_error("the head size (--embd / --heads) must be even for RoPE");
  return options;
}

// splitmix64: a fixed, portable stream (std:: distributions differ between
// standard libraries; the file must not).
struct splitmix64 {
  std::uint64_t state;
  std::uint64_t next() {
    std::uint64_t z = (state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  // Uniform on [-1, 1).
  double symmetric_unit() { return static_cast<double>(next() >> 11) * 0x1.0p-52 - 1.0; }
};

struct gguf_deleter {
  void operator()(gguf_context* ctx) const { gguf_free(ctx); }
};
struct ggml_deleter {
  void operator()(ggml_context* ctx) const { ggml_free(ctx); }
};

int run(const tiny_model_options& options) {
  gguf_init_params read_params{};
  read_params.no_alloc = true;
  read_params.ctx = nullptr;
  const std::unique_ptr<gguf_context, gguf_deleter> vocab(gguf_init_from_file(options.vocab_path.c_str(), read_params));
  if (!vocab) throw std::runtime_error("cannot read GGUF file " + options.vocab_path);
  const std::int64_t tokens_key = gguf_find_key(vocab.get(), "tokenizer.ggml.tokens");
  if (tokens_key < 0) throw std::runtime_error(options.vocab_path + " has no tokenizer.ggml.tokens: not a vocab GGUF");
  const auto n_vocab = static_cast<std::int64_t>(gguf_get_arr_n(vocab.get(), tokens_key));

  // Every key of the vocab file, then drop all but the tokenizer's: general.*
  // and <arch>.* of the vocab's own model must not leak into this one.
  const std::unique_ptr<gguf_context, gguf_deleter> out(gguf_init_empty());
  gguf_set_kv(out.get(), vocab.get());
  std::vector<std::string> foreign_keys;
  for (std::int64_t i = 0; i < gguf_get_n_kv(out.get()); ++i) {
    const std::string key = gguf_get_key(out.get(), i);
    if (!key.starts_with("tokenizer.")) foreign_keys.push_back(key);
  }
  for (const auto& key : foreign_keys) gguf_remove_key(out.get(), key.c_str());

  const auto u32 = [](std::int64_t v) { return static_cast<std::uint32_t>(v); };
  const std::int64_t head_dim = options.n_embd / options.n_head;
  const std::int64_t n_embd_kv = head_dim * options.n_head_kv;
  gguf_set_val_str(out.get(), "general.architecture", "llama");
  gguf_set_val_str(out.get(), "general.name", "ttscale tiny random llama");
  gguf_set_val_u32(out.get(), "general.file_type", 0);  // LLAMA_FTYPE_ALL_F32
  gguf_set_val_u32(out.get(), "llama.vocab_size", u32(n_vocab));
  gguf_set_val_u32(out.get(), "llama.context_length", u32(options.n_ctx));
  gguf_set_val_u32(out.get(), "llama.embedding_length", u32(options.n_embd));
  gguf_set_val_u32(out.get(), "llama.block_count", u32(options.n_layer));
  gguf_set_val_u32(out.get(), "llama.feed_forward_length", u32(options.n_ff));
  gguf_set_val_u32(out.get(), "llama.attention.head_count", u32(options.n_head));
  gguf_set_val_u32(out.get(), "llama.attention.head_count_kv", u32(options.n_head_kv));
  gguf_set_val_u32(out.get(), "llama.rope.dimension_count", u32(head_dim));
  gguf_set_val_f32(out.get(), "llama.rope.freq_base", 10000.0f);
  gguf_set_val_f32(out.get(), "llama.attention.layer_norm_rms_epsilon", 1e-5f);

  struct tensor_spec {
    std::string name;
    std::int64_t ne0, ne1;  // ggml order: ne0 is the input (fan-in) dimension
    double scale;           // half-width of the uniform distribution; 0 means all ones
  };
  // Uniform on [-a, a] has variance a^2/3: a = sqrt(3 / fan_in) gives 1/fan_in.
  const auto fan_in = [](std::int64_t n) { return std::sqrt(3.0 / static_cast<double>(n)); };
  std::vector<tensor_spec> specs;
  // Tied: token_embd is also the output projection, so it takes the output's scale.
  const double output_scale = options.logit_std * fan_in(options.n_embd);
  specs.push_back({"token_embd.weight", options.n_embd, n_vocab, options.tied ? output_scale : std::sqrt(3.0)});
  specs.push_back({"output_norm.weight", options.n_embd, 1, 0.0});
  if (!options.tied) {
    specs.push_back({"output.weight", options.n_embd, n_vocab, output_scale});
  }
  for (std::int64_t il = 0; il < options.n_layer; ++il) {
    const std::string blk = "blk." + std::to_string(il) + ".";
    specs.push_back({blk + "attn_norm.weight", options.n_embd, 1, 0.0});
    specs.push_back({blk + "attn_q.weight", options.n_embd, options.n_embd, fan_in(options.n_embd)});
    specs.push_back({blk + "attn_k.weight", options.n_embd, n_embd_kv, fan_in(options.n_embd)});
    specs.push_back({blk + "attn_v.weight", options.n_embd, n_embd_kv, fan_in(options.n_embd)});
    specs.push_back({blk + "attn_output.weight", options.n_embd, options.n_embd, fan_in(options.n_embd)});
    specs.push_back({blk + "ffn_norm.weight", options.n_embd, 1, 0.0});
    specs.push_back({blk + "ffn_gate.weight", options.n_embd, options.n_ff, fan_in(options.n_embd)});
    specs.push_back({blk + "ffn_up.weight", options.n_embd, options.n_ff, fan_in(options.n_embd)});
    specs.push_back({blk + "ffn_down.weight", options.n_ff, options.n_embd, fan_in(options.n_ff)});
  }

  std::size_t bytes = 0;
  for (const auto& s : specs) bytes += ggml_tensor_overhead() + GGML_PAD(s.ne0 * s.ne1 * sizeof(float), GGML_MEM_ALIGN);
  ggml_init_params params{};
  params.mem_size = bytes + 1024;
  params.mem_buffer = nullptr;
  params.no_alloc = false;
  const std::unique_ptr<ggml_context, ggml_deleter> tensors(ggml_init(params));
  if (!tensors) throw std::runtime_error("cannot allocate " + std::to_string(bytes) + " bytes of weights");

  splitmix64 rng{options.seed};
  for (const auto& s : specs) {
    ggml_tensor* t = s.ne1 == 1 ? ggml_new_tensor_1d(tensors.get(), GGML_TYPE_F32, s.ne0)
                                : ggml_new_tensor_2d(tensors.get(), GGML_TYPE_F32, s.ne0, s.ne1);
    ggml_set_name(t, s.name.c_str());
    float* data = ggml_get_data_f32(t);
    const std::int64_t n = ggml_nelements(t);
    for (std::int64_t i = 0; i < n; ++i) {
      data[i] = s.scale == 0.0 ? 1.0f : static_cast<float>(s.scale * rng.symmetric_unit());
    }
    gguf_add_tensor(out.get(), t);
  }

  // Write beside the target and rename, so a reader never sees half a file.
  const std::filesystem::path target(options.out_path);
  if (target.has_parent_path()) std::filesystem::create_directories(target.parent_path());
  const std::filesystem::path partial = target.string() + ".partial";
  if (!gguf_write_to_file(out.get(), partial.c_str(), false)) {
    throw std::runtime_error("cannot write " + partial.string());
  }
  std::filesystem::rename(partial, target);

  double params_total = 0;
  for (const auto& s : specs) params_total += static_cast<double>(s.ne0 * s.ne1);
  std::printf("make_tiny_model: wrote %s: llama, n_vocab %lld (from %s), n_embd %lld, n_layer %lld, n_head %lld, "
              "n_head_kv %lld, n_ff %lld, n_ctx %lld, seed %llu, %.1f M parameters (%.1f MB F32)\n",
              options.out_path.c_str(), static_cast<long long>(n_vocab), options.vocab_path.c_str(),
              static_cast<long long>(options.n_embd), static_cast<long long>(options.n_layer),
              static_cast<long long>(options.n_head), static_cast<long long>(options.n_head_kv),
              static_cast<long long>(options.n_ff), static_cast<long long>(options.n_ctx),
              static_cast<unsigned long long>(options.seed), params_total / 1e6, params_total * 4 / 1e6);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const tiny_model_options options = parse_options(argc, argv);
  try {
    return run(options);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "make_tiny_model: %s\n", e.what());
    return 1;
  }
}
