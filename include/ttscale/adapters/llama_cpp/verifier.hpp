// ttscale/adapters/llama_cpp/verifier.hpp: a reward model on llama.cpp that
// reads its score from two token probabilities — how Math-Shepherd-style
// process reward models (Wang et al. 2024) and LLM-as-judge prompts work.
//
//   score = P(good) / (P(good) + P(bad)) = 1 / (1 + exp(logit_bad - logit_good))
//
// where P is the model's next-token distribution after the trajectory's text
// followed by a tag or judging prompt: " ки" with good " +" / bad " -" for
// Math-Shepherd, "\nIs this step correct? Answer:" with " Yes" / " No" for a
// judge. The same object is a process verifier (score_steps: the tag follows
// each prefix's newest step) and an outcome verifier (score_outcomes: the
// outcome tag, which may differ, follows the finished trajectory):
//
//   ttscale::llama_cpp::model judge_model("judge.gguf");     // often not the policy's model
//   ttscale::llama_cpp::token_probability_verifier prm(judge_model, {.step_tag = " ки", .good = " +", .bad = " -"});
//   auto r = ttscale::beam_search(gen, prm, prompt, options, rng);
//   prm.forget_all();                                         // frees every KV sequence it keeps
//
// It owns its llama context (sized by engine_options: n_ctx, n_seq_max,
// n_batch, n_threads): the reward model is usually another model than the
// policy; it may be the same file, loaded once (llama_cpp::model).
//
// Tokens. The verifier is a different model from the generator, so it never
// uses the generator's tokens: it tokenizes TEXT, the whole path (render(t),
// by default the prompt and every step's text) followed by the tag, as one
// string: F = [BOS] + tokenize(render(t) + tag), and its score is that of
// decoding F from scratch. Tokenizing only the newest step and appending its
// tokens to the parent's would be cheaper but is not the same sequence
// wherever a token spans the step boundary (a step ending in " ans" and the
// next starting with "wer" are the one token " answer" in LLaMA's
// vocabulary) and because a SentencePiece tokenizer adds its leading space
// only at the start of a text. So sharing is found on the tokens themselves:
// an item reuses a held state for the longest common token prefix of F and
// the state's stored token ids, and decodes only the rest — its new step,
// the token or two before it that the longer text re-tokenized, and the tag.
// Nothing is assumed about node identity: a copy of a prefix in another tree,
// or a new search from the same prompt, shares just as well. The cost is one
// tokenization of the whole path per item and call, about 0.5 us per token
// with LLaMA's 32000-token vocabulary (18 KB of text in 5 ms here).
//
// Exactness. With F32 K/V cells (kv_cache_type) a score equals a fresh
// single-sequence decode of F to 1e-6 (the tests check 1e-5), whatever the
// sharing and the rest of the call. With llama.cpp's default F16 cells, its
// CPU kernels round activations to F16 or not depending on the batch's shape:
// up to ~1e-4 (5.5e-5 measured on the test model). Flash attention is off
// (flash_attention): on the CPU its result depends on the other sequences in
// the batch (4e-4 measured). A decode is never of a single token (one-row
// matrix products round differently): an item re-decodes one shared token if
// needed, and n_batch splits are equal.
//
// KV sharing. Each scored item keeps a llama sequence holding the KV of the
// tokens of F that are path text (the tag's cells are removed with
// llama_memory_seq_rm right after its logits are read: the sequence is then
// the path's alone and reusable by the item's children; a temporary copy for
// the tag would cost a second sequence per item for the same effect). An
// item starts from a copy of the best held state (llama_memory_seq_cp, which
// in the unified cache tags the same cells, truncated to the common prefix).
// All items of a call are decoded in ONE llama_decode (split only at n_batch
// tokens); the tokens several items share beyond their common source (the
// prompt, in a search's first call) are decoded once, each such token
// carrying every sharing item's sequence id, a cell shared as a copy's
// would be. Logits are output only at each item's last tag token.
//
// Memory. Verifiers get no release hook, so the verifier keeps the states of
// the items scored by the most recent call (the next round's items are their
// children) plus at most `lru_capacity` older ones, least recently used
// evicted first; forget_all() frees everything (sequences_in_use() is then
// 0). A call never needs more than one sequence per distinct item (a held
// state is moved into one of its users instead of copied when the sequences
// run short): a call of more distinct items than n_seq_max is an error naming
// both numbers. If the KV cells run out (llama_decode finds no slot), the
// states the call does not use are dropped and the decode retried once; a
// second failure is an error naming n_ctx.
//
// Errors (llama_cpp::llama_error): a good/bad string that is not exactly one
// token after the tag (naming it and its tokens), good and bad the same
// token, an empty tag, an item longer than the context (naming both), more
// distinct items than sequences, a failed decode, non-finite logits. No NaN
// or infinite score is ever returned. After an error the verifier holds only
// states it held before the call, and remains usable.
//
// Cost per call: one tokenization of each item's text, O(items x held states
// x path tokens) comparisons to find sharing (held states <= n_seq_max), and
// one batched decode of the tokens no held state or other item covers.
#pragma once

#include <ttscale/adapters/llama_cpp/engine.hpp>
#include <ttscale/config.hpp>
#include <ttscale/detail/number_text.hpp>
#include <ttscale/errors.hpp>
#include <ttscale/trajectory.hpp>
#include <ttscale/verifier.hpp>

#include <llama.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

TTSCALE_BEGIN_NAMESPACE
namespace llama_cpp {

struct token_probability_options {
  /// Text appended to a prefix before reading P(good) / P(bad) for score_steps.
  std::string step_tag = "\nIs this step correct? Answer:";
  /// Text appended to a finished trajectory for score_outcomes.
  std::string outcome_tag = "\nIs the answer correct? Answer:";
  /// The good and bad strings, each exactly one token where it follows the
  /// tag (tokenize(tag + good) must be tokenize(tag) plus one token).
  std::string good = " Yes";
  std::string bad = " No";
  /// The text of a trajectory before the tag; empty: t.text() (the prompt and
  /// every step). E.g. Math-Shepherd's format puts the tag after every earlier
  /// step too: [](const trajectory& t) { ...each step's text + " ки"... }.
  std::function<std::string(const trajectory&)> render{};
  /// Held states beyond those of the most recent call; nullopt: 2 * n_seq_max / 3.
  std::optional<std::size_t> lru_capacity{};
  /// Parse special-token text ("<|im_start|>") in the text and tags, e.g. a
  /// chat template in render; off by default, as llama.cpp's tokenizer does.
  bool parse_special = false;
  /// llama.cpp's flash attention (its default, "auto"): faster on long paths,
  /// but on the CPU its result depends on the other sequences in the batch
  /// (measured here: up to ~2e-3 in a logit), so a score would depend on what
  /// else the call holds. Off (the default), the rest of the batch changes a
  /// score only through the KV cache's rounding (kv_cache_type).
  bool flash_attention = false;
  /// Type of the K and V cells. F16 (llama.cpp's default) rounds the cached
  /// keys and values, and llama.cpp's CPU kernels then round activations to
  /// F16 or not depending on the batch's shape, so a score differs from a
  /// fresh decode by up to ~1e-4 (measured on the test model); GGML_TYPE_F32
  /// (twice the memory) makes it ~1e-6.
  ggml_type kv_cache_type = GGML_TYPE_F16;
};

/// Math-Shepherd's format (Wang et al. 2024; the model card's example): the
/// step tag " ки" and the candidate tokens of "+ -" (" +", " -" after the tag),
/// for the last step and the outcome alike. Render the path with " ки" after
/// every earlier step too if the model expects it.
inline token_probability_options math_shepherd_options() {
  token_probability_options o;
  o.step_tag = " ки";
  o.outcome_tag = " ки";
  o.good = " +";
  o.bad = " -";
  return o;
}

/// The tokens a tag's good and bad strings resolve to.
struct judge_tokens {
  llama_token good = 0;
  llama_token bad = 0;
};

/// What the verifier did, counted exactly.
struct token_probability_stats {
  std::uint64_t calls = 0;           ///< score_steps + score_outcomes calls with at least one item
  std::uint64_t items = 0;           ///< trajectories scored (duplicates within a call included)
  std::uint64_t distinct_items = 0;  ///< of which distinct texts (each decoded once per call)
  std::uint64_t decodes = 0;         ///< llama_decode calls (1 per call that fits n_batch; a retry adds 1)
  std::uint64_t decoded_tokens = 0;  ///< tokens those decodes processed
  std::uint64_t path_tokens = 0;     ///< tokens of the distinct items' full texts: a decode from scratch
  std::uint64_t reused_tokens = 0;   ///< tokens whose KV came from states held before the call
};

namespace detail {

/// The verifier's own llama context: a unified KV cache, a pool of sequence
/// ids, and decoding of tokens that may belong to several sequences at once
/// (a prefix shared by items of one call is decoded once). llama_cpp::engine
/// has neither multi-sequence tokens nor partial removal (llama_memory_seq_rm
/// of a position range), both of which the verifier needs; one thread at a time.
class judge_context {
 public:
  judge_context(const model& m, engine_options options, bool flash_attention, ggml_type kv_type)
      : model_(&m), options_(options) {
    if (options.n_seq_max == 0 || options.n_batch == 0 || options.n_ctx == 0)
      throw llama_error("llama_cpp::token_probability_verifier: n_ctx, n_seq_max and n_batch must be at least 1 (got " +
                        std::to_string(options.n_ctx) + ", " + std::to_string(options.n_seq_max) + ", " +
                        std::to_string(options.n_batch) + ")");
    llama_context_params p = llama_context_default_params();
    p.n_ctx = options.n_ctx;
    p.n_seq_max = options.n_seq_max;
    p.n_batch = options.n_batch;
    p.n_ubatch = options.n_batch;
    p.kv_unified = true;  // one cell pool: a copy or a shared token tags the same cell with several sequences
    p.type_k = p.type_v = kv_type;
    p.flash_attn_type = flash_attention ? LLAMA_FLASH_ATTN_TYPE_AUTO : LLAMA_FLASH_ATTN_TYPE_DISABLED;
    // llama.cpp reserves logits for max(n_batch, n_seq_max) rows and aborts the
    // process if that exceeds n_outputs_max (default n_batch): allow n_batch < n_seq_max.
    p.n_outputs_max = std::max(options.n_batch, options.n_seq_max);
    if (options.n_threads > 0) p.n_threads = p.n_threads_batch = options.n_threads;
    context_.reset(llama_init_from_model(m.get(), p));
    if (!context_)
      throw llama_error("llama_cpp::token_probability_verifier: llama_init_from_model failed (n_ctx " +
                        std::to_string(options.n_ctx) + ", n_seq_max " + std::to_string(options.n_seq_max) + ")");
    options_.n_ctx = llama_n_ctx_seq(context_.get());  // llama.cpp pads n_ctx
    batch_ = llama_batch_init(static_cast<int32_t>(options.n_batch), 0, static_cast<int32_t>(options.n_seq_max));
    for (std::uint32_t s = options.n_seq_max; s-- > 0;) free_.push_back(static_cast<llama_seq_id>(s));
  }
  judge_context(const judge_context&) = delete;
  judge_context& operator=(const judge_context&) = delete;
  ~judge_context() { llama_batch_free(batch_); }

  [[nodiscard]] const model& llm() const noexcept { return *model_; }
  /// n_ctx as llama.cpp padded it.
  [[nodiscard]] const engine_options& options() const noexcept { return options_; }
  [[nodiscard]] std::size_t sequences_in_use() const noexcept { return options_.n_seq_max - free_.size(); }
  [[nodiscard]] std::uint64_t sequence_copies() const noexcept { return copies_; }
  /// KV positions held over all sequences (a cell shared by k sequences counts k times).
  [[nodiscard]] std::uint64_t kv_positions_in_use() const {
    llama_memory_t mem = llama_get_memory(context_.get());
    std::uint64_t n = 0;
    for (std::uint32_t s = 0; s < options_.n_seq_max; ++s) {
      const llama_pos hi = llama_memory_seq_pos_max(mem, static_cast<llama_seq_id>(s));
      if (hi >= 0) n += static_cast<std::uint64_t>(hi - llama_memory_seq_pos_min(mem, static_cast<llama_seq_id>(s)) + 1);
    }
    return n;
  }

  llama_seq_id acquire() {
    if (free_.empty())  // the verifier plans its sequences: a bug if reached
      throw llama_error("llama_cpp::token_probability_verifier: no free sequence of n_seq_max = " +
                        std::to_string(options_.n_seq_max));
    const llama_seq_id s = free_.back();
    free_.pop_back();
    return s;
  }
  void release(llama_seq_id s) {
    llama_memory_seq_rm(llama_get_memory(context_.get()), s, -1, -1);
    free_.push_back(s);
  }
  /// `to` (empty) holds the same cells as `from`: shared, not copied.
  void copy(llama_seq_id from, llama_seq_id to) {
    llama_memory_seq_cp(llama_get_memory(context_.get()), from, to, -1, -1);
    ++copies_;
  }
  /// Removes positions [from, end) of a sequence (its cells stay for the others sharing them).
  void truncate(llama_seq_id seq, std::size_t from) {
    if (!llama_memory_seq_rm(llama_get_memory(context_.get()), seq, static_cast<llama_pos>(from), -1))
      throw llama_error("llama_cpp::token_probability_verifier: the model's memory cannot remove positions " +
                        std::to_string(from) + ".. of sequence " + std::to_string(seq) +
                        " (a recurrent model? this verifier needs a KV cache)");
  }

  /// One token of a decode: its sequences are seqs[first_seq, first_seq + n_seq).
  struct entry {
    llama_token token;
    llama_pos pos;
    std::uint32_t first_seq;
    std::uint32_t n_seq;
    bool output;
  };

  /// What a decode did.
  struct counts {
    std::uint64_t decodes = 0;  ///< llama_decode calls
    std::uint64_t tokens = 0;   ///< tokens they processed (a retried split counts twice)
  };

  /// Decodes `entries` in n_batch-sized llama_decode calls, calling
  /// on_logits(i, logits) for each output entry. If the first decode finds no
  /// KV slot (nothing written yet), on_full() may free cells and return true
  /// for one retry.
  template <class OnLogits, class OnFull>
  counts decode(std::span<const entry> entries, std::span<const llama_seq_id> seqs, OnLogits&& on_logits,
                OnFull&& on_full) {
    llama_context* ctx = context_.get();
    const std::size_t n_vocab = static_cast<std::size_t>(model_->vocab_size());
    counts done;
    bool retried = false;
    // Equal splits: never a one-token decode beside bigger ones (llama.cpp's
    // one-row matrix products round differently, ~1e-4 in a logit).
    const std::size_t splits = (entries.size() + options_.n_batch - 1) / options_.n_batch;
    const std::size_t split = splits == 0 ? 0 : (entries.size() + splits - 1) / splits;
    for (std::size_t begin = 0; begin < entries.size();) {
      const std::size_t end = std::min(entries.size(), begin + split);
      batch_.n_tokens = 0;
      for (std::size_t i = begin; i < end; ++i) {
        const int32_t j = batch_.n_tokens++;
        batch_.token[j] = entries[i].token;
        batch_.pos[j] = entries[i].pos;
        batch_.n_seq_id[j] = static_cast<int32_t>(entries[i].n_seq);
        for (std::uint32_t s = 0; s < entries[i].n_seq; ++s) batch_.seq_id[j][s] = seqs[entries[i].first_seq + s];
        batch_.logits[j] = entries[i].output;
      }
      const int32_t rc = llama_decode(ctx, batch_);
      ++done.decodes;
      done.tokens += end - begin;
      if (rc == 1 && begin == 0 && !retried && on_full()) {
        retried = true;  // llama.cpp restored the memory: nothing of this call was written
        continue;
      }
      if (rc != 0)
        throw llama_error("llama_cpp::token_probability_verifier: llama_decode returned " + std::to_string(rc) +
                          " for " + std::to_string(end - begin) + " tokens" +
                          (rc == 1 ? " (no KV slot: the held and new tokens need more than n_ctx = " +
                                         std::to_string(options_.n_ctx) + " cells)"
                                   : std::string()));
      for (std::size_t i = begin; i < end; ++i)
        if (entries[i].output) {
          const float* logits = llama_get_logits_ith(ctx, static_cast<int32_t>(i - begin));
          if (!logits) throw llama_error("llama_cpp::token_probability_verifier: llama.cpp returned no logits");
          on_logits(i, std::span<const float>(logits, n_vocab));
        }
      begin = end;
    }
    return done;
  }

 private:
  struct context_deleter {
    void operator()(llama_context* c) const noexcept { llama_free(c); }
  };
  const model* model_;
  engine_options options_;
  std::unique_ptr<llama_context, context_deleter> context_;
  llama_batch batch_{};
  std::vector<llama_seq_id> free_;
  std::uint64_t copies_ = 0;
};

inline std::size_t common_prefix(std::span<const llama_token> a, std::span<const llama_token> b) noexcept {
  const std::size_t n = std::min(a.size(), b.size());
  std::size_t i = 0;
  while (i < n && a[i] == b[i]) ++i;
  return i;
}

inline std::uint64_t token_hash(std::span<const llama_token> tokens) noexcept {
  std::uint64_t h = 0xcbf29ce484222325ULL;
  for (const llama_token t : tokens) {
    h ^= static_cast<std::uint32_t>(t);
    h *= 0x100000001b3ULL;
  }
  return h;
}

}  // namespace detail

/// P(good) / (P(good) + P(bad)) after a tag, as a process and an outcome
/// verifier, on its own llama context with KV sharing between the prefixes it
/// scores. Used by one thread at a time (it does not opt into concurrent calls).
class token_probability_verifier {
 public:
  /// `m` must outlive the verifier. `engine_opts` sizes its own context:
  /// n_seq_max bounds the distinct items of one call and the states kept.
  explicit token_probability_verifier(const model& m, token_probability_options options = {},
                                      engine_options engine_opts = {})
      : options_(std::move(options)), model_(&m),
        step_judge_(resolve("step_tag", options_.step_tag)),  // checked before the context is made
        outcome_judge_(resolve("outcome_tag", options_.outcome_tag)),
        context_(std::make_unique<detail::judge_context>(m, engine_opts, options_.flash_attention,
                                                         options_.kv_cache_type)),
        lru_capacity_(options_.lru_capacity ? *options_.lru_capacity : 2 * std::size_t{engine_opts.n_seq_max} / 3) {}
  token_probability_verifier(token_probability_verifier&&) noexcept = default;
  token_probability_verifier& operator=(token_probability_verifier&&) noexcept = default;
  ~token_probability_verifier() = default;  // frees the context and every sequence

  /// The score of each prefix's newest step: the step tag after the path.
  void score_steps(std::span<const trajectory> prefixes, std::span<double> out) {
    score(prefixes, out, options_.step_tag, step_judge_);
  }
  /// The score of each finished trajectory: the outcome tag after the path.
  void score_outcomes(std::span<const trajectory> finished, std::span<double> out) {
    score(finished, out, options_.outcome_tag, outcome_judge_);
  }

  /// Frees every KV sequence the verifier holds (sequences_in_use() == 0).
  void forget_all() {
    for (const kv_state& s : states_) context_->release(s.seq);
    states_.clear();
  }
  /// llama sequences held, one per kept state.
  [[nodiscard]] std::size_t sequences_in_use() const noexcept { return context_->sequences_in_use(); }
  /// KV positions held over all sequences (a cell shared by k sequences counts k times); 0 after forget_all().
  [[nodiscard]] std::uint64_t kv_positions_in_use() const { return context_->kv_positions_in_use(); }
  /// The most states kept beyond the most recent call's items.
  [[nodiscard]] std::size_t lru_capacity() const noexcept { return lru_capacity_; }
  [[nodiscard]] const token_probability_stats& stats() const noexcept { return stats_; }
  [[nodiscard]] const token_probability_options& options() const noexcept { return options_; }
  /// Its context's options (n_ctx as llama.cpp padded it).
  [[nodiscard]] const engine_options& context_options() const noexcept { return context_->options(); }
  /// The tokens the good and bad strings resolve to after each tag.
  [[nodiscard]] judge_tokens step_tokens() const noexcept { return step_judge_; }
  [[nodiscard]] judge_tokens outcome_tokens() const noexcept { return outcome_judge_; }

 private:
  // One kept KV sequence: the tokens of a scored item's path text.
  struct kv_state {
    llama_seq_id seq;
    std::vector<llama_token> tokens;
    std::uint64_t last_used;    // call counter
    std::uint64_t last_scored;  // call counter of the call that scored it
  };
  // One distinct item of a call.
  struct item {
    std::vector<llama_token> tokens;  // F = [BOS] + tokenize(text + tag)
    std::size_t keep = 0;             // F[0, keep) lies wholly in the path text: kept after the call
    std::size_t common = 0;           // tokens F shares with the source state
    std::size_t shared = 0;           // F[0, shared) comes from the source state
    std::size_t source = no_source;   // index into states_
    bool takes_source = false;        // the source's sequence becomes this item's
    llama_seq_id seq = -1;
    double score = 0.0;
  };
  static constexpr std::size_t no_source = std::numeric_limits<std::size_t>::max();

  [[nodiscard]] const model& llm() const noexcept { return *model_; }

  [[nodiscard]] std::vector<llama_token> tokenize(std::string_view text) const {
    const llama_vocab* vocab = llm().vocab();
    std::vector<llama_token> tokens;
    if (llama_vocab_get_add_bos(vocab)) tokens.push_back(llama_vocab_bos(vocab));
    const std::size_t first = tokens.size();
    tokens.resize(first + text.size() + 8);
    // add_special = false: BOS is added above and never an EOS (some vocabularies append one).
    int32_t n = llama_tokenize(vocab, text.data(), static_cast<int32_t>(text.size()), tokens.data() + first,
                               static_cast<int32_t>(tokens.size() - first), false, options_.parse_special);
    if (n < 0) {
      tokens.resize(first + static_cast<std::size_t>(-n));
      n = llama_tokenize(vocab, text.data(), static_cast<int32_t>(text.size()), tokens.data() + first,
                         static_cast<int32_t>(tokens.size() - first), false, options_.parse_special);
    }
    if (n < 0)
      throw llama_error("llama_cpp::token_probability_verifier: cannot tokenize a text of " +
                        std::to_string(text.size()) + " bytes");
    tokens.resize(first + static_cast<std::size_t>(n));
    return tokens;
  }

  // Bytes of a token's text (special tokens rendered when parse_special).
  [[nodiscard]] std::size_t piece_size(llama_token token) const {
    char buffer[256];
    const int32_t n = llama_token_to_piece(llm().vocab(), token, buffer, sizeof buffer, 0, options_.parse_special);
    return static_cast<std::size_t>(n < 0 ? -n : n);
  }

  [[nodiscard]] std::string token_list(std::span<const llama_token> tokens) const {
    std::string out = "[";
    for (std::size_t i = 0; i < tokens.size(); ++i)
      out += (i ? ", " : "") + std::to_string(tokens[i]) + " '" + llm().piece(tokens[i]) + "'";
    return out + "]";
  }

  // The one token `text` adds after `tag` (as it is read: the next token after the tag).
  [[nodiscard]] llama_token resolve_one(const char* which, const std::string& text, const char* tag_name,
                                        const std::string& tag) const {
    const std::vector<llama_token> alone = tokenize(tag);
    const std::vector<llama_token> with = tokenize(tag + text);
    const std::size_t common = detail::common_prefix(alone, with);
    if (common != alone.size() || with.size() != alone.size() + 1)
      throw llama_error("llama_cpp::token_probability_verifier: the " + std::string(which) + " string '" + text +
                        "' is not exactly one token after the " + tag_name + " '" + tag + "': it adds " +
                        token_list(std::span<const llama_token>(with).subspan(common)) +
                        (common != alone.size() ? " and merges with the tag's last " +
                                                      std::to_string(alone.size() - common) + " token(s)"
                                                : std::string()) +
                        " (choose a string that is a single token there, e.g. with or without a leading space)");
    return with.back();
  }

  [[nodiscard]] judge_tokens resolve(const char* tag_name, const std::string& tag) const {
    if (tag.empty())
      throw llama_error(std::string("llama_cpp::token_probability_verifier: the ") + tag_name +
                        " is empty (the good/bad token is read after it; use at least one character)");
    judge_tokens j{resolve_one("good", options_.good, tag_name, tag), resolve_one("bad", options_.bad, tag_name, tag)};
    if (j.good == j.bad)
      throw llama_error("llama_cpp::token_probability_verifier: good '" + options_.good + "' and bad '" +
                        options_.bad + "' are the same token " + std::to_string(j.good) + " after the " + tag_name);
    return j;
  }

  [[nodiscard]] std::string render(const trajectory& t) const {
    return options_.render ? options_.render(t) : t.text();
  }

  // Tokens of F that lie wholly in the path text: walk back over the tag's bytes.
  [[nodiscard]] std::size_t path_token_count(std::span<const llama_token> tokens, std::size_t tag_bytes) const {
    std::size_t j = tokens.size(), covered = 0;
    while (j > 0 && covered < tag_bytes) covered += piece_size(tokens[--j]);
    return j;
  }

  void score(std::span<const trajectory> items, std::span<double> out, const std::string& tag, judge_tokens judge) {
    if (items.size() != out.size())
      throw size_mismatch("llama_cpp::token_probability_verifier: " + std::to_string(items.size()) +
                          " trajectories but " + std::to_string(out.size()) + " scores");
    if (items.empty()) return;
    const std::uint32_t n_seq_max = context_->options().n_seq_max;
    const std::size_t n_ctx = context_->options().n_ctx;

    // Distinct texts: each is decoded once.
    std::vector<item> plan;
    std::vector<std::size_t> item_of(items.size());
    std::unordered_multimap<std::uint64_t, std::size_t> by_hash;
    for (std::size_t i = 0; i < items.size(); ++i) {
      std::vector<llama_token> tokens = tokenize(render(items[i]) + tag);
      if (tokens.size() > n_ctx)
        throw llama_error("llama_cpp::token_probability_verifier: item " + std::to_string(i) + " is " +
                          std::to_string(tokens.size()) + " tokens with the tag, more than the context's n_ctx = " +
                          std::to_string(n_ctx));
      const std::uint64_t h = detail::token_hash(tokens);
      std::size_t found = plan.size();
      for (auto [it, last] = by_hash.equal_range(h); it != last; ++it)
        if (plan[it->second].tokens == tokens) found = it->second;
      if (found == plan.size()) {
        by_hash.emplace(h, plan.size());
        item p;
        p.keep = path_token_count(tokens, tag.size());
        p.tokens = std::move(tokens);
        plan.push_back(std::move(p));
      }
      item_of[i] = found;
    }
    if (plan.size() > n_seq_max)
      throw llama_error("llama_cpp::token_probability_verifier: one call of " + std::to_string(plan.size()) +
                        " distinct trajectories needs " + std::to_string(plan.size()) +
                        " sequences, more than the context's n_seq_max = " + std::to_string(n_seq_max) +
                        " (raise engine_options::n_seq_max, or score in smaller batches: execution::batch_size)");
    ++call_;
    stats_.calls += 1;
    stats_.items += items.size();
    stats_.distinct_items += plan.size();

    // Sources: the held state sharing the longest token prefix (ties: the most recently used).
    for (item& p : plan) {
      // Sharing BOS alone is not worth pinning a state.
      std::size_t best = llama_vocab_get_add_bos(llm().vocab()) ? 1 : 0;
      for (std::size_t s = 0; s < states_.size(); ++s) {
        const std::size_t n = detail::common_prefix(p.tokens, states_[s].tokens);
        if (n > best || (n == best && p.source != no_source && states_[s].last_used > states_[p.source].last_used)) {
          best = n;
          p.source = s;
        }
      }
      if (p.source == no_source) continue;
      p.common = best;
      // The last token is decoded for its logits, and one more: a decode of one
      // token rounds differently from the fresh decode it must equal.
      p.shared = std::min(best, p.tokens.size() - std::min<std::size_t>(p.tokens.size(), 2));
    }
    // A state identical to what an item keeps becomes that item's (the same node scored again).
    std::vector<std::size_t> taken_by(states_.size(), no_source);
    for (std::size_t u = 0; u < plan.size(); ++u) {
      item& p = plan[u];
      if (p.source != no_source && taken_by[p.source] == no_source && p.common == p.keep &&
          states_[p.source].tokens.size() == p.keep) {
        p.takes_source = true;
        taken_by[p.source] = u;
      }
    }
    // Short of sequences: a source (oldest first) moves into its user that shares most.
    std::vector<std::size_t> sources;
    for (const item& p : plan)
      if (p.source != no_source && std::find(sources.begin(), sources.end(), p.source) == sources.end())
        sources.push_back(p.source);
    std::sort(sources.begin(), sources.end(),
              [&](std::size_t a, std::size_t b) { return states_[a].last_used < states_[b].last_used; });
    std::size_t kept_sources = 0;
    for (std::size_t s : sources) kept_sources += taken_by[s] == no_source;
    for (std::size_t s : sources) {
      if (plan.size() + kept_sources <= n_seq_max) break;
      if (taken_by[s] != no_source) continue;
      std::size_t user = no_source;
      for (std::size_t u = 0; u < plan.size(); ++u)
        if (plan[u].source == s && (user == no_source || plan[u].shared > plan[user].shared)) user = u;
      plan[user].takes_source = true;
      taken_by[s] = user;
      --kept_sources;
    }
    // Free sequences by dropping states this call does not use, least recently used first.
    std::size_t taken = 0;
    for (const item& p : plan) taken += p.takes_source;
    const std::size_t new_sequences = plan.size() - taken;
    {
      std::vector<bool> used(states_.size(), false);
      for (const item& p : plan)
        if (p.source != no_source) used[p.source] = true;
      std::vector<std::size_t> order;
      for (std::size_t s = 0; s < states_.size(); ++s)
        if (!used[s]) order.push_back(s);
      std::sort(order.begin(), order.end(),
                [&](std::size_t a, std::size_t b) { return states_[a].last_used < states_[b].last_used; });
      std::vector<bool> drop(states_.size(), false);
      std::size_t free_sequences = n_seq_max - states_.size();
      for (std::size_t k = 0; k < order.size() && free_sequences < new_sequences; ++k, ++free_sequences)
        drop[order[k]] = true;
      compact(plan, drop);
    }

    // From here the engine changes: on an error, drop what this call touched.
    std::vector<llama_seq_id> acquired;
    try {
      for (item& p : plan) {
        if (p.takes_source) continue;
        p.seq = context_->acquire();
        acquired.push_back(p.seq);
        if (p.source != no_source) {
          context_->copy(states_[p.source].seq, p.seq);
          context_->truncate(p.seq, p.shared);
        }
      }
      for (item& p : plan)  // after every copy of the same source
        if (p.takes_source) {
          p.seq = states_[p.source].seq;
          context_->truncate(p.seq, p.shared);
        }
      decode(plan, judge);
      for (item& p : plan) context_->truncate(p.seq, p.keep);  // the tag's cells: the sequence is the path's again
    } catch (...) {
      for (llama_seq_id s : acquired) context_->release(s);
      std::vector<bool> drop(states_.size(), false);
      for (const item& p : plan)
        if (p.takes_source) drop[p.source] = true;
      compact(plan, drop);
      throw;
    }

    // Keep every item's state; touch the sources; trim the older states to the LRU capacity.
    for (item& p : plan) {
      stats_.path_tokens += p.tokens.size();
      stats_.reused_tokens += p.source == no_source ? 0 : p.shared;
      if (p.source != no_source) states_[p.source].last_used = call_;
    }
    for (item& p : plan) {
      p.tokens.resize(p.keep);
      if (p.takes_source) {
        kv_state& s = states_[p.source];
        s.tokens = std::move(p.tokens);
        s.last_used = s.last_scored = call_;
      } else {
        states_.push_back(kv_state{p.seq, std::move(p.tokens), call_, call_});
      }
    }
    trim();
    for (std::size_t i = 0; i < items.size(); ++i) out[i] = plan[item_of[i]].score;
  }

  // Drops the marked states and renumbers the plan's sources.
  void compact(std::vector<item>& plan, const std::vector<bool>& drop) {
    std::vector<std::size_t> new_index(states_.size(), no_source);
    std::size_t kept = 0;
    for (std::size_t s = 0; s < states_.size(); ++s) {
      if (drop[s]) {
        context_->release(states_[s].seq);
        continue;
      }
      new_index[s] = kept;
      if (kept != s) states_[kept] = std::move(states_[s]);
      ++kept;
    }
    states_.resize(kept);
    for (item& p : plan)
      if (p.source != no_source) p.source = new_index[p.source];
  }

  // The states not scored by the latest call: keep the lru_capacity most recently used.
  void trim() {
    std::vector<std::size_t> older;
    for (std::size_t s = 0; s < states_.size(); ++s)
      if (states_[s].last_scored != call_) older.push_back(s);
    if (older.size() <= lru_capacity_) return;
    std::sort(older.begin(), older.end(),
              [&](std::size_t a, std::size_t b) { return states_[a].last_used > states_[b].last_used; });
    std::vector<bool> drop(states_.size(), false);
    for (std::size_t k = lru_capacity_; k < older.size(); ++k) drop[older[k]] = true;
    std::vector<item> none;
    compact(none, drop);
  }

  // One batched decode of every item's tokens after its shared prefix; items
  // with the same source and shared length share their common tokens (one
  // token, several sequence ids), emitted parent-first so any n_batch split
  // keeps each sequence's positions consecutive.
  void decode(std::vector<item>& plan, judge_tokens judge) {
    std::vector<detail::judge_context::entry> entries;
    std::vector<llama_seq_id> seqs;
    std::vector<std::size_t> output_item;  // entry -> item, for outputs
    std::map<std::pair<std::size_t, std::size_t>, std::vector<std::size_t>> groups;  // (source, shared) -> items
    for (std::size_t u = 0; u < plan.size(); ++u) groups[{plan[u].source, plan[u].shared}].push_back(u);
    for (auto& [key, members] : groups) {
      const std::size_t start = key.second;
      auto suffix = [&](std::size_t u) { return std::span<const llama_token>(plan[u].tokens).subspan(start); };
      std::sort(members.begin(), members.end(), [&](std::size_t a, std::size_t b) {
        const auto x = suffix(a), y = suffix(b);
        return std::lexicographical_compare(x.begin(), x.end(), y.begin(), y.end());
      });
      // next_common[i]: tokens members i and i+1 share after `start`.
      std::vector<std::size_t> next_common(members.size(), 0);
      for (std::size_t i = 0; i + 1 < members.size(); ++i)
        next_common[i] = detail::common_prefix(suffix(members[i]), suffix(members[i + 1]));
      for (std::size_t i = 0; i < members.size(); ++i) {
        const auto own = suffix(members[i]);
        // Tokens before next_common[i - 1] were emitted with an earlier member's.
        for (std::size_t p = i == 0 ? 0 : next_common[i - 1]; p < own.size(); ++p) {
          detail::judge_context::entry e{own[p], static_cast<llama_pos>(start + p),
                                        static_cast<std::uint32_t>(seqs.size()), 1, p + 1 == own.size()};
          seqs.push_back(plan[members[i]].seq);
          for (std::size_t j = i + 1; j < members.size() && next_common[j - 1] > p; ++j) {
            seqs.push_back(plan[members[j]].seq);
            ++e.n_seq;
          }
          entries.push_back(e);
          output_item.push_back(members[i]);
        }
      }
    }
    const detail::judge_context::counts done = context_->decode(
        entries, seqs,
        [&](std::size_t i, std::span<const float> logits) {
          item& p = plan[output_item[i]];
          const double good = logits[static_cast<std::size_t>(judge.good)];
          const double bad = logits[static_cast<std::size_t>(judge.bad)];
          if (!std::isfinite(good) || !std::isfinite(bad))
            throw llama_error("llama_cpp::token_probability_verifier: non-finite logits (good " +
                              ttscale::detail::number_text(good) + ", bad " + ttscale::detail::number_text(bad) +
                              ") after " + std::to_string(p.tokens.size()) + " tokens");
          // P(good) / (P(good) + P(bad)): the softmax normaliser cancels. In [0, 1], never NaN.
          p.score = 1.0 / (1.0 + std::exp(bad - good));
        },
        [&] { return drop_unused_states(plan); });
    stats_.decodes += done.decodes;
    stats_.decoded_tokens += done.tokens;
  }

  // No KV slot: drop the held states this call neither reads nor writes.
  bool drop_unused_states(std::vector<item>& plan) {
    std::vector<bool> drop(states_.size(), true);
    for (const item& p : plan)
      if (p.source != no_source) drop[p.source] = false;
    if (std::none_of(drop.begin(), drop.end(), [](bool d) { return d; })) return false;
    compact(plan, drop);
    return true;
  }

  token_probability_options options_;
  const model* model_;
  judge_tokens step_judge_, outcome_judge_;
  std::unique_ptr<detail::judge_context> context_;
  std::size_t lru_capacity_ = 0;
  std::vector<kv_state> states_;
  std::uint64_t call_ = 0;
  token_probability_stats stats_;
};

static_assert(process_verifier<token_probability_verifier> && outcome_verifier<token_probability_verifier>);

}  // namespace llama_cpp
TTSCALE_END_NAMESPACE
