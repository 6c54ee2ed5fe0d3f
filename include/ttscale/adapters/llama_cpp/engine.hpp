// ttscale/adapters/llama_cpp/engine.hpp: a llama.cpp model and context with a
// pool of KV sequences, batched decoding split to n_batch, exact counts — what
// the llama.cpp generator (generator.hpp) and token-probability verifier
// (verifier.hpp) are built on. Optional: needs llama.h and libllama (CMake:
// TTSCALE_WITH_LLAMA_CPP, target ttscale::llama_cpp).
#pragma once

#include <ttscale/config.hpp>
#include <ttscale/errors.hpp>

#include <llama.h>
#include <ggml-backend.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <exception>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

TTSCALE_BEGIN_NAMESPACE
namespace llama_cpp {

/// Every error this adapter raises.
class llama_error : public error {
 public:
  using error::error;
};

namespace detail {
inline void quiet_log(ggml_log_level level, const char* text, void*) {
  if (level == GGML_LOG_LEVEL_ERROR) std::fputs(text, stderr);
}
}  // namespace detail

/// Loads ggml's backends (the CPU variants picked for this CPU) from `dir`,
/// once per process; later calls do nothing. Call before loading a model.
/// llama.cpp's own logging is reduced to errors unless `verbose`.
inline void load_backends(const std::string& dir, bool verbose = false) {
  static std::once_flag once;
  std::call_once(once, [&] {
    if (!verbose) llama_log_set(detail::quiet_log, nullptr);
    ggml_backend_load_all_from_path(dir.c_str());
    llama_backend_init();
  });
}

/// A model file, loaded once and shared by engines (read-only).
class model {
 public:
  explicit model(const std::string& path) {
    model_.reset(llama_model_load_from_file(path.c_str(), llama_model_default_params()));
    if (!model_)
      throw llama_error("llama_cpp::model: cannot load '" + path +
                        "' (missing, unreadable or not a GGUF model; did you call llama_cpp::load_backends?)");
    vocab_ = llama_model_get_vocab(model_.get());
  }

  [[nodiscard]] llama_model* get() const noexcept { return model_.get(); }
  [[nodiscard]] const llama_vocab* vocab() const noexcept { return vocab_; }
  [[nodiscard]] std::int32_t vocab_size() const noexcept { return llama_vocab_n_tokens(vocab_); }

  /// Token ids of `text`; `add_special` adds BOS where the model wants it.
  [[nodiscard]] std::vector<llama_token> tokenize(std::string_view text, bool add_special) const {
    std::vector<llama_token> tokens(text.size() + 8);
    int32_t n = llama_tokenize(vocab_, text.data(), static_cast<int32_t>(text.size()), tokens.data(),
                               static_cast<int32_t>(tokens.size()), add_special, false);
    if (n < 0) {
      tokens.resize(static_cast<std::size_t>(-n));
      n = llama_tokenize(vocab_, text.data(), static_cast<int32_t>(text.size()), tokens.data(),
                         static_cast<int32_t>(tokens.size()), add_special, false);
    }
    if (n < 0) throw llama_error("llama_cpp::model: cannot tokenize a text of " + std::to_string(text.size()) + " bytes");
    tokens.resize(static_cast<std::size_t>(n));
    return tokens;
  }
  /// The text of one token.
  [[nodiscard]] std::string piece(llama_token token) const {
    char buffer[128];
    int32_t n = llama_token_to_piece(vocab_, token, buffer, sizeof buffer, 0, false);
    if (n >= 0) return std::string(buffer, static_cast<std::size_t>(n));
    std::string big(static_cast<std::size_t>(-n), '\0');
    n = llama_token_to_piece(vocab_, token, big.data(), static_cast<int32_t>(big.size()), 0, false);
    return big.substr(0, static_cast<std::size_t>(std::max(n, 0)));
  }
  [[nodiscard]] bool is_end_of_generation(llama_token token) const noexcept { return llama_vocab_is_eog(vocab_, token); }

 private:
  struct deleter {
    void operator()(llama_model* m) const noexcept { llama_model_free(m); }
  };
  std::unique_ptr<llama_model, deleter> model_;
  const llama_vocab* vocab_ = nullptr;
};

struct engine_options {
  std::uint32_t n_ctx = 4096;     ///< KV cells shared by every sequence (llama.cpp rounds it up to a multiple of 256)
  std::uint32_t n_seq_max = 64;   ///< sequences: live trajectories plus the items of one call
  std::uint32_t n_batch = 512;    ///< tokens per llama_decode (a tick with more items is split)
  /// Decode threads; 0 = the machine's hardware threads. (llama.cpp's own
  /// default can exceed the cores, and its threads spin at barriers.)
  std::int32_t n_threads = 0;
  /// llama.cpp's flash attention (its automatic choice when true); see engine().
  bool flash_attention = false;
};

/// What an engine did, counted exactly.
struct engine_stats {
  std::uint64_t decodes = 0;         ///< llama_decode calls
  std::uint64_t decoded_tokens = 0;  ///< tokens those calls processed (prefill included)
  std::uint64_t prefill_tokens = 0;  ///< of which prompt / unknown-prefix tokens
  std::uint64_t sequence_copies = 0; ///< llama_memory_seq_cp calls (forks)
  std::chrono::nanoseconds decode_time{0};  ///< wall time inside llama_decode
};

/// A llama context with a pool of sequence ids. Thread-safe: several
/// searches (one per thread, each with its own generator) may share one
/// engine, and their token ticks are merged into one llama_decode —
/// continuous batching, as llama-server does with its slots. A thread that
/// decodes while others are inside a generator call (a `participant`) waits
/// until every participant has submitted its tick or left, then one of them
/// runs a single decode for all and each continues with its own logits.
class engine {
 public:
  engine(const model& m, engine_options options = {}) : model_(&m), options_(options) {
    if (options.n_seq_max == 0 || options.n_batch == 0 || options.n_ctx == 0)
      throw llama_error("llama_cpp::engine: n_ctx, n_seq_max and n_batch must be at least 1 (got " +
                        std::to_string(options.n_ctx) + ", " + std::to_string(options.n_seq_max) + ", " +
                        std::to_string(options.n_batch) + ")");
    llama_context_params p = llama_context_default_params();
    p.n_ctx = options.n_ctx;
    p.n_seq_max = options.n_seq_max;
    p.n_batch = options.n_batch;
    p.n_ubatch = options.n_batch;
    p.kv_unified = true;  // one cell pool for all sequences: a fork shares its prefix's cells
    // llama.cpp aborts the process when a batch has more outputs than
    // n_outputs_max (default n_batch): allow one per sequence as well.
    p.n_outputs_max = std::max(options.n_batch, options.n_seq_max);
    // Flash attention on the CPU makes a sequence's logits depend on the other
    // sequences in the batch (4e-4 measured): off, so merged ticks and batch
    // sizes cannot change a search.
    if (!options.flash_attention) p.flash_attn_type = LLAMA_FLASH_ATTN_TYPE_DISABLED;
    const std::int32_t threads =
        options.n_threads > 0 ? options.n_threads
                              : static_cast<std::int32_t>(std::max(1u, std::thread::hardware_concurrency()));
    p.n_threads = p.n_threads_batch = threads;
    context_.reset(llama_init_from_model(m.get(), p));
    if (!context_)
      throw llama_error("llama_cpp::engine: llama_init_from_model failed (n_ctx " + std::to_string(options.n_ctx) +
                        ", n_seq_max " + std::to_string(options.n_seq_max) + ")");
    // llama.cpp pads n_ctx to a multiple of 256 and caps n_batch at n_ctx: use what it chose.
    options_.n_ctx = llama_n_ctx(context_.get());
    options_.n_batch = llama_n_batch(context_.get());
    batch_ = llama_batch_init(static_cast<int32_t>(options.n_batch), 0, 1);
    for (std::uint32_t s = options.n_seq_max; s-- > 0;) free_.push_back(static_cast<llama_seq_id>(s));
  }
  engine(const engine&) = delete;
  engine& operator=(const engine&) = delete;
  ~engine() { llama_batch_free(batch_); }

  [[nodiscard]] const model& llm() const noexcept { return *model_; }
  [[nodiscard]] const engine_options& options() const noexcept { return options_; }
  [[nodiscard]] engine_stats stats() const {
    std::lock_guard lock(mutex_);
    return stats_;
  }
  /// Sequences handed out and not yet freed.
  [[nodiscard]] std::size_t sequences_in_use() const {
    std::lock_guard lock(mutex_);
    return options_.n_seq_max - free_.size();
  }
  /// KV positions held over all sequences (a cell shared by k sequences
  /// counts k times); 0 when no sequence holds a cell.
  [[nodiscard]] std::uint64_t kv_positions_in_use() const {
    std::lock_guard lock(mutex_);
    llama_memory_t mem = llama_get_memory(context_.get());
    std::uint64_t n = 0;
    for (std::uint32_t s = 0; s < options_.n_seq_max; ++s) {
      const llama_pos hi = llama_memory_seq_pos_max(mem, static_cast<llama_seq_id>(s));
      if (hi >= 0) n += static_cast<std::uint64_t>(hi - llama_memory_seq_pos_min(mem, static_cast<llama_seq_id>(s)) + 1);
    }
    return n;
  }

  /// A free sequence id; `live` is what the caller holds, for the message.
  llama_seq_id acquire(std::size_t live) {
    std::lock_guard lock(mutex_);
    if (free_.empty())
      throw llama_error("llama_cpp::engine: " + std::to_string(live) +
                        " live trajectories need more sequences than the context's n_seq_max = " +
                        std::to_string(options_.n_seq_max) + " (raise engine_options::n_seq_max, or search narrower)");
    const llama_seq_id s = free_.back();
    free_.pop_back();
    return s;
  }
  /// Clears a sequence's cells and returns its id to the pool.
  void release(llama_seq_id s) {
    std::lock_guard lock(mutex_);
    llama_memory_seq_rm(llama_get_memory(context_.get()), s, -1, -1);
    free_.push_back(s);
  }
  /// Makes `to` hold the same KV cells as `from` (shared, not copied).
  void copy(llama_seq_id from, llama_seq_id to) {
    std::lock_guard lock(mutex_);
    llama_memory_seq_cp(llama_get_memory(context_.get()), from, to, -1, -1);
    ++stats_.sequence_copies;
  }

  /// Marks the calling thread as inside a generator call for its lifetime:
  /// decodes wait for every participant's tick (or its leaving) and merge.
  class participant {
   public:
    explicit participant(engine& e) : engine_(&e) {
      std::lock_guard lock(e.mutex_);
      ++e.participants_;
    }
    participant(const participant&) = delete;
    participant& operator=(const participant&) = delete;
    ~participant() {
      std::lock_guard lock(engine_->mutex_);
      --engine_->participants_;
      engine_->ready_.notify_all();  // the others may now be complete without us
    }

   private:
    engine* engine_;
  };

  /// One token to decode: token at position pos of sequence seq; `output`
  /// asks for its logits.
  struct entry {
    llama_token token;
    llama_pos pos;
    llama_seq_id seq;
    bool output;
  };
  /// Decodes `entries` — merged with the ticks other participants submit
  /// meanwhile, in as few llama_decode calls as n_batch allows — then calls
  /// on_logits(i, logits) on this thread for every entry with output, in order.
  template <class OnLogits>
  void decode(std::span<const entry> entries, OnLogits&& on_logits, bool prefill = false) {
    const std::size_t vocab = static_cast<std::size_t>(model_->vocab_size());
    submission mine{entries, {}, 0, prefill, false, nullptr};
    {
      std::unique_lock lock(mutex_);
      waiting_.push_back(&mine);
      ready_.notify_all();
      ready_.wait(lock, [&] { return mine.done || waiting_.size() >= std::max<std::size_t>(participants_, 1); });
      if (!mine.done) run_merged(vocab);  // everyone is in: this thread decodes for all
    }
    if (mine.failure) std::rethrow_exception(mine.failure);
    std::size_t row = 0;
    for (std::size_t i = 0; i < entries.size(); ++i)
      if (entries[i].output) on_logits(i, std::span<const float>(mine.logits.data() + (row++) * vocab, vocab));
  }

 private:
  struct submission {
    std::span<const entry> entries;
    std::vector<float> logits;  // one row per output entry
    std::size_t rows = 0;       // rows written so far
    bool prefill;
    bool done;
    std::exception_ptr failure;
  };

  // Under mutex_: decodes every waiting submission, hands out logits rows.
  void run_merged(std::size_t vocab) {
    std::vector<submission*> group;
    group.swap(waiting_);
    try {
      std::vector<std::pair<submission*, std::size_t>> slots;  // (owner, entry) per batch position
      for (submission* sub : group) {
        std::size_t outputs = 0;
        for (const entry& e : sub->entries) outputs += e.output ? 1 : 0;
        sub->logits.resize(outputs * vocab);
        for (std::size_t i = 0; i < sub->entries.size(); ++i) slots.emplace_back(sub, i);
      }
      for (std::size_t begin = 0; begin < slots.size(); begin += options_.n_batch) {
        const std::size_t end = std::min(slots.size(), begin + options_.n_batch);
        batch_.n_tokens = 0;
        std::uint64_t prefill_tokens = 0;
        for (std::size_t k = begin; k < end; ++k) {
          const entry& e = slots[k].first->entries[slots[k].second];
          const int32_t j = batch_.n_tokens++;
          batch_.token[j] = e.token;
          batch_.pos[j] = e.pos;
          batch_.n_seq_id[j] = 1;
          batch_.seq_id[j][0] = e.seq;
          batch_.logits[j] = e.output;
          prefill_tokens += slots[k].first->prefill ? 1 : 0;
        }
        const auto started = std::chrono::steady_clock::now();
        const int32_t rc = llama_decode(context_.get(), batch_);
        stats_.decode_time += std::chrono::steady_clock::now() - started;
        ++stats_.decodes;
        stats_.decoded_tokens += end - begin;
        stats_.prefill_tokens += prefill_tokens;
        if (rc != 0)
          throw llama_error("llama_cpp::engine: llama_decode returned " + std::to_string(rc) + " for " +
                            std::to_string(end - begin) + " tokens" +
                            (rc == 1 ? " (no KV slot: the live trajectories need more than n_ctx = " +
                                           std::to_string(options_.n_ctx) + " cells)"
                                     : std::string()));
        for (std::size_t k = begin; k < end; ++k) {
          submission* sub = slots[k].first;
          if (!sub->entries[slots[k].second].output) continue;
          const float* row = llama_get_logits_ith(context_.get(), static_cast<int32_t>(k - begin));
          std::copy(row, row + vocab, sub->logits.data() + (sub->rows++) * vocab);
        }
      }
    } catch (...) {
      for (submission* sub : group) sub->failure = std::current_exception();
    }
    for (submission* sub : group) sub->done = true;
    ready_.notify_all();
  }

  struct context_deleter {
    void operator()(llama_context* c) const noexcept { llama_free(c); }
  };
  const model* model_;
  engine_options options_;
  std::unique_ptr<llama_context, context_deleter> context_;
  llama_batch batch_{};
  mutable std::mutex mutex_;            // guards everything below and every llama call
  std::condition_variable ready_;
  std::vector<submission*> waiting_;
  std::size_t participants_ = 0;
  std::vector<llama_seq_id> free_;
  engine_stats stats_;
};

}  // namespace llama_cpp
TTSCALE_END_NAMESPACE
