// Smoke test of the fetched llama.cpp, before any adapter: the prebuilt
// libraries load on this machine and match the headers, the CPU backend loads
// from TTSCALE_LLAMA_CPP_BACKEND_DIR, the generated tiny model
// (TTSCALE_TINY_MODEL_PATH, written by the llama_tiny_model fixture) loads and
// decodes to finite, varied logits, and the KV-cache calls the adapter is built
// on behave as it assumes: a sequence copied with llama_memory_seq_cp continues
// exactly as the original and as a fresh decode of the same tokens, and
// llama_memory_seq_rm empties sequences. Everything is freed (the sanitizer
// build checks it).
#include <llama.h>

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace {

// Warnings and errors only: llama.cpp logs every load at INFO.
void log_warnings(ggml_log_level level, const char* text, void* /*user_data*/) {
  if (level == GGML_LOG_LEVEL_WARN || level == GGML_LOG_LEVEL_ERROR) std::fputs(text, stderr);
}

void load_backends_once() {
  static const bool loaded = [] {
    llama_log_set(log_warnings, nullptr);
    llama_backend_init();
    ggml_backend_load_all_from_path(TTSCALE_LLAMA_CPP_BACKEND_DIR);
    return true;
  }();
  (void)loaded;
}

struct model_deleter {
  void operator()(llama_model* m) const { llama_model_free(m); }
};
struct context_deleter {
  void operator()(llama_context* c) const { llama_free(c); }
};
using model_ptr = std::unique_ptr<llama_model, model_deleter>;
using context_ptr = std::unique_ptr<llama_context, context_deleter>;

// A llama_batch that frees itself.
struct batch {
  llama_batch raw;
  explicit batch(int capacity, int seqs_per_token = 1) : raw(llama_batch_init(capacity, 0, seqs_per_token)) {}
  ~batch() { llama_batch_free(raw); }
  batch(const batch&) = delete;
  batch& operator=(const batch&) = delete;
  void add(llama_token token, llama_pos pos, llama_seq_id seq, bool output) {
    const int i = raw.n_tokens++;
    raw.token[i] = token;
    raw.pos[i] = pos;
    raw.n_seq_id[i] = 1;
    raw.seq_id[i][0] = seq;
    raw.logits[i] = output ? 1 : 0;
  }
};

model_ptr load_tiny_model() {
  load_backends_once();
  llama_model_params params = llama_model_default_params();
  params.n_gpu_layers = 0;
  model_ptr model(llama_model_load_from_file(TTSCALE_TINY_MODEL_PATH, params));
  REQUIRE(model != nullptr);
  return model;
}

std::vector<llama_token> tokenize(const llama_vocab* vocab, const std::string& text) {
  // First call with no room: returns minus the number of tokens needed.
  const int needed = -llama_tokenize(vocab, text.data(), static_cast<int32_t>(text.size()), nullptr, 0, true, false);
  REQUIRE(needed > 0);
  std::vector<llama_token> tokens(static_cast<std::size_t>(needed));
  REQUIRE(llama_tokenize(vocab, text.data(), static_cast<int32_t>(text.size()), tokens.data(), needed, true, false) ==
          needed);
  return tokens;
}

// batch_index: the token's index in the decoded batch (not its rank among the
// outputs); -1 is the last output.
std::vector<float> logits_of(llama_context* ctx, int batch_index, int n_vocab) {
  const float* logits = llama_get_logits_ith(ctx, batch_index);
  REQUIRE(logits != nullptr);
  return {logits, logits + n_vocab};
}

float max_abs_difference(std::span<const float> a, std::span<const float> b) {
  float d = 0;
  for (std::size_t i = 0; i < a.size(); ++i) d = std::max(d, std::abs(a[i] - b[i]));
  return d;
}

}  // namespace

TEST_CASE("the llama.cpp libraries match the headers and load a CPU backend") {
  load_backends_once();
  // The headers are from the bundle, the libraries from another npm package.
  CHECK(std::string(ggml_version()) == TTSCALE_LLAMA_CPP_GGML_VERSION);
  REQUIRE(ggml_backend_dev_count() >= 1);
  const ggml_backend_dev_t cpu = ggml_backend_dev_by_type(GGML_BACKEND_DEVICE_TYPE_CPU);
  REQUIRE(cpu != nullptr);
  INFO("CPU backend: " << ggml_backend_dev_description(cpu) << "; ggml " << ggml_version() << " (" << ggml_commit()
                       << ")");
  CHECK(llama_max_parallel_sequences() >= 8);
}

TEST_CASE("a missing model file is a null model, not a crash") {
  load_backends_once();
  llama_model_params params = llama_model_default_params();
  params.n_gpu_layers = 0;
  CHECK(llama_model_load_from_file("/nonexistent/ttscale-no-such-model.gguf", params) == nullptr);
}

TEST_CASE("the tiny model decodes, and copied sequences continue exactly as the original") {
  const model_ptr model = load_tiny_model();
  CHECK(llama_model_n_embd(model.get()) == 64);
  CHECK(llama_model_n_layer(model.get()) == 2);
  CHECK(llama_model_n_head(model.get()) == 4);
  CHECK(llama_model_n_head_kv(model.get()) == 2);
  const llama_vocab* vocab = llama_model_get_vocab(model.get());
  const int n_vocab = llama_vocab_n_tokens(vocab);
  CHECK(n_vocab == 32000);

  llama_context_params cparams = llama_context_default_params();
  cparams.n_ctx = 512;
  cparams.n_batch = 512;
  cparams.n_seq_max = 8;
  // One KV stream shared by all sequences: llama_memory_seq_cp then shares cells
  // instead of copying them (with kv_unified = false every sequence has its own
  // n_ctx / n_seq_max cells and a copy duplicates the data).
  cparams.kv_unified = true;
  cparams.n_threads = 2;
  cparams.n_threads_batch = 2;
  const context_ptr ctx(llama_init_from_model(model.get(), cparams));
  REQUIRE(ctx != nullptr);
  CHECK(llama_n_seq_max(ctx.get()) == 8);
  CHECK(llama_n_ctx(ctx.get()) == 512);
  const llama_memory_t mem = llama_get_memory(ctx.get());

  const std::string prompt = "The quick brown fox jumps over the lazy dog";
  const std::vector<llama_token> tokens = tokenize(vocab, prompt);
  REQUIRE(tokens.size() >= 2);
  CHECK(tokens.front() == llama_vocab_bos(vocab));
  {
    std::string text(prompt.size() + 16, '\0');
    const int n = llama_detokenize(vocab, tokens.data(), static_cast<int32_t>(tokens.size()), text.data(),
                                   static_cast<int32_t>(text.size()), true, false);
    REQUIRE(n >= 0);
    text.resize(static_cast<std::size_t>(n));
    // The SentencePiece vocab adds a space before the first word when tokenizing
    // (add_space_prefix), and detokenizing keeps it.
    CHECK(text == " " + prompt);
  }
  const auto n_prompt = static_cast<llama_pos>(tokens.size());

  // The prompt on sequence 0, logits of its last token only.
  {
    batch b(n_prompt);
    for (llama_pos i = 0; i < n_prompt; ++i) b.add(tokens[static_cast<std::size_t>(i)], i, 0, i == n_prompt - 1);
    REQUIRE(llama_decode(ctx.get(), b.raw) == 0);
  }
  const std::vector<float> prompt_logits = logits_of(ctx.get(), -1, n_vocab);
  CHECK(std::all_of(prompt_logits.begin(), prompt_logits.end(), [](float x) { return std::isfinite(x); }));
  const auto [lowest, highest] = std::minmax_element(prompt_logits.begin(), prompt_logits.end());
  CHECK(*highest - *lowest > 1.0f);
  const auto next =
      static_cast<llama_token>(std::max_element(prompt_logits.begin(), prompt_logits.end()) - prompt_logits.begin());
  CHECK(llama_memory_seq_pos_max(mem, 0) == n_prompt - 1);

  // Fork: sequence 1 shares sequence 0's cells.
  llama_memory_seq_cp(mem, 0, 1, -1, -1);
  CHECK(llama_memory_seq_pos_min(mem, 1) == 0);
  CHECK(llama_memory_seq_pos_max(mem, 1) == n_prompt - 1);

  // One decode carries the same next token for both sequences, and sequence 2
  // decodes prompt + token from scratch: all three must give the same logits.
  {
    batch b(n_prompt + 3);
    b.add(next, n_prompt, 0, true);
    b.add(next, n_prompt, 1, true);
    for (llama_pos i = 0; i < n_prompt; ++i) b.add(tokens[static_cast<std::size_t>(i)], i, 2, false);
    b.add(next, n_prompt, 2, true);
    REQUIRE(llama_decode(ctx.get(), b.raw) == 0);
  }
  const std::vector<float> original = logits_of(ctx.get(), 0, n_vocab);
  const std::vector<float> copy = logits_of(ctx.get(), 1, n_vocab);
  const std::vector<float> fresh = logits_of(ctx.get(), n_prompt + 2, n_vocab);
  CHECK(max_abs_difference(original, copy) <= 1e-4f);
  CHECK(max_abs_difference(original, fresh) <= 1e-4f);
  // The new token changed the distribution (the model is not constant).
  CHECK(max_abs_difference(original, prompt_logits) > 1e-2f);

  // Removing a whole sequence always succeeds and leaves the others intact.
  CHECK(llama_memory_seq_rm(mem, 1, -1, -1));
  CHECK(llama_memory_seq_pos_max(mem, 1) == -1);
  CHECK(llama_memory_seq_pos_max(mem, 0) == n_prompt);
  // Rolling back the last token of a sequence (a partial removal at its end).
  CHECK(llama_memory_seq_rm(mem, 0, n_prompt, -1));
  CHECK(llama_memory_seq_pos_max(mem, 0) == n_prompt - 1);
  CHECK(llama_memory_seq_rm(mem, 0, -1, -1));
  CHECK(llama_memory_seq_rm(mem, 2, -1, -1));
  // A cell is in use while some sequence holds it: every sequence empty means no
  // cell in use (llama.h has no call that counts used cells).
  for (llama_seq_id s = 0; s < static_cast<llama_seq_id>(llama_n_seq_max(ctx.get())); ++s) {
    INFO("sequence " << s);
    CHECK(llama_memory_seq_pos_max(mem, s) == -1);
  }
}
