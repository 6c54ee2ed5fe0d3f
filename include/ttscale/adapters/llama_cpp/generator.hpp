// ttscale/adapters/llama_cpp/generator.hpp: every ttscale strategy on a llama.cpp model
// in process — a batch-first generator whose forks share their prefix's KV
// cache, one llama_decode per token tick for every live trajectory.
//
// Optional adapter: it needs llama.h and libllama (CMake: TTSCALE_WITH_LLAMA_CPP
// and the target ttscale::llama_cpp); the umbrella header never includes it.
// llama.cpp's maintainers removed its built-in beam search (2024) saying that
// search belongs in user code over the KV-cache API; this is that code.
//
//   ttscale::llama_cpp::load_backends(dir);            // once: the ggml CPU backends
//   ttscale::llama_cpp::model m("model.gguf");
//   ttscale::llama_cpp::engine e(m, {.n_ctx = 4096, .n_seq_max = 64});
//   ttscale::llama_cpp::generator gen(e, {.step_delimiter = "\n\n", .sampling = {.temperature = 0.8}});
//   auto r = ttscale::beam_search(gen, prm, prompt, options, rng);
//
// How the KV cache is shared. Every live node (trajectory prefix) the engine
// knows owns a llama sequence holding the KV of its whole path, plus the
// next-token logits after it. Extending a node k ways copies its sequence k
// times (llama_memory_seq_cp: in llama.cpp's unified cache a copy tags the
// same cells with another sequence id, so the shared prefix is stored and
// decoded once) and draws each child's first token from the stored logits
// with the child's own random stream. Then every tick decodes the newest
// token of every live item of the call in ONE llama_decode (split into
// n_batch-sized decodes only if the call has more items than n_batch). A
// step ends at the delimiter (with the token that completes it), at
// max_step_tokens, or at end-of-generation (the trajectory is finished). The
// library's release hook (generator.hpp, releasing_generator) tells the
// generator when a node will never be extended again: its sequence and
// logits are freed then, so after any search the engine holds no sequence.
//
// Node identity: a node's state is keyed by its step's engine_state (a
// unique step id this generator assigns) — so a copy of a prefix in another
// tree (a nested search's start, first-finish's private copies) reuses the
// same sequence — and by the prompt text for a root. A prefix the generator
// did not produce (another generator's steps) is re-tokenised from its text
// and prefilled once. State shared by several tree nodes is reference
// counted and freed when the last one is released.
//
// Accounting: step.tokens counts sampled tokens (an end-of-generation token
// included: it was sampled), step.logprob their summed log-probability under
// the raw model distribution (temperature 1, no truncation). stats() counts
// decodes, decoded tokens and prefill tokens.
//
// Errors (ttscale::llama_cpp::llama_error, a ttscale::error): a missing or
// unreadable model file, a prompt longer than the context, a path that would
// outgrow n_ctx, more live trajectories than n_seq_max sequences, a failed
// llama_decode — each naming the numbers involved. Nothing leaks: sequences,
// the context and the model are freed by their owners (RAII).
#pragma once

#include <ttscale/adapters/llama_cpp/engine.hpp>
#include <ttscale/config.hpp>
#include <ttscale/errors.hpp>
#include <ttscale/generator.hpp>
#include <ttscale/kernels/sample_logits.hpp>
#include <ttscale/random.hpp>
#include <ttscale/trajectory.hpp>

#include <llama.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

TTSCALE_BEGIN_NAMESPACE
namespace llama_cpp {

struct generator_options {
  std::string step_delimiter = "\n\n";   ///< a step ends with the token that completes it ("" = no delimiter)
  std::uint32_t max_step_tokens = 256;   ///< a step ends (unfinished) after this many tokens
  /// Texts that end the trajectory (like llama-server's `stop`): the step
  /// ends, finished, with the token that completes one (e.g. "</answer>");
  /// end-of-generation always finishes it too.
  std::vector<std::string> finish_strings{};
  kernels::sampling_params sampling{};   ///< temperature, top-k, top-p, min-p
  bool add_bos = true;                   ///< tokenize prompts with the model's BOS (if it wants one)
  /// true: a child's sequence is a copy of its parent's (shared KV cells,
  /// nothing re-decoded). false: every item re-decodes its whole path into a
  /// fresh sequence, as an engine without prefix caching does — the baseline
  /// the sharing speed-up is measured against (results are the same).
  bool share_prefixes = true;
};

/// The ttscale generator over an engine; see the header comment. Not
/// thread-safe (one search thread per generator).
class generator {
 public:
  generator(engine& e, generator_options options = {}) : engine_(&e), options_(std::move(options)) {}
  generator(const generator&) = delete;  // it owns sequences of the engine
  generator& operator=(const generator&) = delete;
  ~generator() {
    for (auto& [key, st] : states_) engine_->release(st.seq);
  }

  void extend(std::span<const trajectory> prefixes, std::span<random_engine> engines, std::span<step> out) {
    if (prefixes.size() != engines.size() || prefixes.size() != out.size())
      throw size_mismatch("llama_cpp::generator: prefixes, engines and out differ in size");
    const std::size_t vocab = static_cast<std::size_t>(engine_->llm().vocab_size());
    const engine::participant in_call(*engine_);  // ticks merge with other searches' on this engine
    std::vector<item> items(prefixes.size());
    try {
      std::vector<const node_state*> from(prefixes.size());
      for (std::size_t i = 0; i < prefixes.size(); ++i) {
        from[i] = &state_for(prefixes[i]);
        items[i].seq = engine_->acquire(live_sequences() + i);
        items[i].path = from[i]->path_tokens;
        items[i].pos = from[i]->n_past;
      }
      if (options_.share_prefixes) {
        for (std::size_t i = 0; i < items.size(); ++i) {
          engine_->copy(from[i]->seq, items[i].seq);
          sample_next(items[i], std::span<const float>(from[i]->logits.data(), vocab), engines[i]);
        }
      } else {  // re-decode every item's path from scratch, all items in one batched prefill
        std::vector<engine::entry> entries;
        std::vector<std::size_t> owner;
        for (std::size_t i = 0; i < items.size(); ++i)
          for (std::size_t k = 0; k < items[i].path.size(); ++k) {
            entries.push_back({items[i].path[k], static_cast<llama_pos>(k), items[i].seq, k + 1 == items[i].path.size()});
            if (k + 1 == items[i].path.size()) owner.push_back(i);
          }
        std::vector<std::vector<float>> first(items.size());
        std::size_t next = 0;
        engine_->decode(entries, [&](std::size_t, std::span<const float> logits) {
          first[owner[next++]].assign(logits.begin(), logits.end());
        }, true);
        for (std::size_t i = 0; i < items.size(); ++i) sample_next(items[i], first[i], engines[i]);
      }
      // Ticks: one decode carries the newest token of every item still going.
      std::vector<engine::entry> tick;
      std::vector<std::size_t> who;
      for (;;) {
        tick.clear();
        who.clear();
        for (std::size_t i = 0; i < items.size(); ++i)
          if (items[i].pending) {
            require_room(items[i]);
            tick.push_back({items[i].token, items[i].pos, items[i].seq, true});
            who.push_back(i);
          }
        if (tick.empty()) break;
        engine_->decode(tick, [&](std::size_t j, std::span<const float> logits) {
          item& it = items[who[j]];
          it.pending = false;
          ++it.pos;
          if (it.ended) {
            it.logits.assign(logits.begin(), logits.end());  // the node's next-token distribution
          } else {
            sample_next(it, logits, engines[who[j]]);
          }
        });
      }
    } catch (...) {
      for (item& it : items)
        if (it.seq >= 0) engine_->release(it.seq);
      throw;
    }
    for (std::size_t i = 0; i < items.size(); ++i) {
      item& it = items[i];
      const std::int64_t id = ++last_step_id_;
      step& s = out[i];
      s.text = std::move(it.text);
      s.tokens = static_cast<std::uint32_t>(it.tokens.size());
      s.logprob = it.logprob;
      s.finished = it.finished;
      s.engine_state = id;
      if (it.finished) {  // never extended: keep nothing
        engine_->release(it.seq);
        continue;
      }
      node_state st;
      st.seq = it.seq;
      st.n_past = it.pos;
      st.logits = std::move(it.logits);
      st.path_tokens = std::move(it.path);
      st.path_tokens.insert(st.path_tokens.end(), it.tokens.begin(), it.tokens.end());
      st.step_tokens = std::move(it.tokens);
      st.unbound = true;
      states_.emplace(id, std::move(st));
    }
  }

  /// The release hook: frees the sequence of every node the search dropped.
  void release(std::span<const trajectory> nodes) {
    for (const trajectory& t : nodes) {
      const node_key key{&t.tree(), t.id()};
      auto held = holders_.find(key);
      std::int64_t state_key;
      if (held != holders_.end()) {
        state_key = held->second;
        holders_.erase(held);
      } else {
        state_key = t.last_step().engine_state;
        auto it = states_.find(state_key);
        if (t.is_root() || it == states_.end() || !it->second.unbound) continue;  // nothing of ours
        it->second.unbound = false;
        it->second.holders = 1;
      }
      drop_holder(state_key);
    }
  }

  /// The token ids of a step this generator produced (while its node is live).
  [[nodiscard]] std::span<const llama_token> step_tokens(const trajectory& node) const {
    auto it = states_.find(node.last_step().engine_state);
    return it == states_.end() ? std::span<const llama_token>{} : std::span<const llama_token>(it->second.step_tokens);
  }
  /// Live node states (sequences held for nodes that may still be extended).
  [[nodiscard]] std::size_t live_sequences() const noexcept { return states_.size(); }
  [[nodiscard]] const generator_options& options() const noexcept { return options_; }

 private:
  using node_key = std::pair<const trajectory_tree*, node_id>;

  struct node_state {
    llama_seq_id seq = -1;                 // the KV of the whole path
    llama_pos n_past = 0;                  // tokens in the sequence
    std::vector<float> logits;             // next-token logits after the path
    std::vector<llama_token> step_tokens;  // the step's own tokens (none for a root)
    std::vector<llama_token> path_tokens;  // every token in the sequence, prompt included
    std::size_t holders = 0;               // tree nodes bound to this state, not yet released
    bool unbound = false;                  // produced, not yet seen as a node
  };
  struct item {
    llama_seq_id seq = -1;
    llama_pos pos = 0;           // position of `token` when decoded
    llama_token token = 0;       // sampled, to decode
    bool pending = false;        // token awaits decoding
    bool ended = false;          // the step is complete once `token` is decoded
    bool finished = false;       // end of generation: the trajectory is complete
    std::string text;
    std::vector<llama_token> tokens;
    std::vector<llama_token> path;  // the prefix's tokens
    double logprob = 0.0;
    std::vector<float> logits;   // after the step (unfinished steps)
  };

  // Draws the item's next token from `logits` and decides whether its step ends.
  void sample_next(item& it, std::span<const float> logits, random_engine& rng) {
    const kernels::sampled_token t = kernels::sample_logits(logits, options_.sampling, rng, workspace_);
    it.tokens.push_back(static_cast<llama_token>(t.token));
    it.logprob += t.logprob;
    const llama_token token = static_cast<llama_token>(t.token);
    if (engine_->llm().is_end_of_generation(token)) {
      it.finished = true;
      it.ended = true;
      return;  // an end-of-generation token is never decoded
    }
    const std::size_t before = it.text.size();
    it.text += engine_->llm().piece(token);
    auto completes = [&](const std::string& d) {  // the newest piece completes d
      const std::size_t from = before >= d.size() ? before - d.size() + 1 : 0;
      return !d.empty() && it.text.find(d, from) != std::string::npos;
    };
    for (const std::string& f : options_.finish_strings) it.finished = it.finished || completes(f);
    it.ended = it.finished || completes(options_.step_delimiter) || it.tokens.size() >= options_.max_step_tokens;
    it.token = token;
    it.pending = !it.finished;  // a finished trajectory needs no next-token logits
  }

  void require_room(const item& it) const {
    const std::uint32_t n_ctx = engine_->options().n_ctx;
    if (static_cast<std::uint32_t>(it.pos) + 1 > n_ctx)
      throw llama_error("llama_cpp::generator: a trajectory reached " + std::to_string(it.pos + 1) +
                        " tokens, more than the context's n_ctx = " + std::to_string(n_ctx));
  }

  // The state of a prefix node: bound, produced by us, or prefilled now.
  node_state& state_for(const trajectory& node) {
    const node_key key{&node.tree(), node.id()};
    if (auto held = holders_.find(key); held != holders_.end()) return states_.at(held->second);
    std::int64_t state_key = 0;
    if (node.is_root()) {
      state_key = prompt_key(node.tree().prompt());
      if (!states_.contains(state_key)) states_.emplace(state_key, prefill(node.tree().prompt()));
    } else if (auto it = states_.find(node.last_step().engine_state);
               node.last_step().engine_state > 0 && it != states_.end()) {
      state_key = it->first;
      if (it->second.unbound) {  // the node this step was produced for: it holds the first reference
        it->second.unbound = false;
        it->second.holders = 0;
      }
    } else {  // not produced by this generator (or already freed): prefill its text
      state_key = -(++last_prefill_id_) - (std::int64_t{1} << 40);
      states_.emplace(state_key, prefill(node.text()));
    }
    holders_.emplace(key, state_key);
    node_state& st = states_.at(state_key);
    ++st.holders;
    return st;
  }

  std::int64_t prompt_key(std::string_view prompt) {
    auto [it, added] = prompt_ids_.try_emplace(std::string(prompt), 0);
    if (added) it->second = -(++last_prefill_id_);
    return it->second;
  }

  node_state prefill(std::string_view text) {
    const std::vector<llama_token> tokens = engine_->llm().tokenize(text, options_.add_bos);
    if (tokens.empty()) throw llama_error("llama_cpp::generator: the prompt tokenizes to no token");
    if (tokens.size() >= engine_->options().n_ctx)
      throw llama_error("llama_cpp::generator: the prompt has " + std::to_string(tokens.size()) +
                        " tokens, the context only n_ctx = " + std::to_string(engine_->options().n_ctx));
    node_state st;
    st.seq = engine_->acquire(live_sequences());
    std::vector<engine::entry> entries(tokens.size());
    for (std::size_t i = 0; i < tokens.size(); ++i)
      entries[i] = {tokens[i], static_cast<llama_pos>(i), st.seq, i + 1 == tokens.size()};
    try {
      engine_->decode(entries, [&](std::size_t, std::span<const float> logits) { st.logits.assign(logits.begin(), logits.end()); },
                      true);
    } catch (...) {
      engine_->release(st.seq);
      throw;
    }
    st.n_past = static_cast<llama_pos>(tokens.size());
    st.path_tokens = tokens;
    return st;
  }

  void drop_holder(std::int64_t state_key) {
    auto it = states_.find(state_key);
    if (it == states_.end()) return;
    if (it->second.holders > 0) --it->second.holders;
    if (it->second.holders > 0) return;
    engine_->release(it->second.seq);
    states_.erase(it);
    for (auto p = prompt_ids_.begin(); p != prompt_ids_.end(); ++p)
      if (p->second == state_key) {
        prompt_ids_.erase(p);
        break;
      }
  }

  engine* engine_;
  generator_options options_;
  kernels::sampling_workspace workspace_;
  std::unordered_map<std::int64_t, node_state> states_;
  std::map<node_key, std::int64_t> holders_;
  std::unordered_map<std::string, std::int64_t> prompt_ids_;
  std::int64_t last_step_id_ = 0;
  std::int64_t last_prefill_id_ = 0;
};

static_assert(releasing_generator<generator>);

}  // namespace llama_cpp
TTSCALE_END_NAMESPACE
