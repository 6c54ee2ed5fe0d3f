// ttscale/trajectory.hpp: steps, the shared-prefix trajectory tree, and
// trajectory handles.
//
// A trajectory is a prompt plus a sequence of steps (a reasoning step or a
// chunk of tokens). Beam search and particle filters fork trajectories every
// round, so a trajectory is not a container: it is a handle (tree, node) into
// a persistent tree whose nodes are steps with parent links. Forking is
// copying the handle (O(1)); extending appends one node (O(1) amortised plus
// the copy of the step's text) and shares the whole prefix, which is also
// what lets a real engine reuse the KV cache of a shared prefix (a node id
// names a prefix for the lifetime of the tree). Nodes are never removed or
// moved: references stay valid while the tree lives, and generators may read
// the tree from several threads while no one appends (strategies append only
// between generator calls).
//
// Storage: a generator fills a `step` (its text a std::string); the tree
// copies the text into an arena of its own — chunks from the tree's memory
// resource, never moved — and keeps a `step_view` (the text as a
// std::string_view into the arena) in the node, so appending allocates no
// string per node and nodes need no destructor. Memory is linear in the
// total text plus 96 bytes a node.
//
// Per node the tree keeps O(1) running totals (tokens, log-probability,
// depth, text bytes). The 64-bit hash of the path's text is computed on the
// first path_hash() of the node or a descendant and cached (FNV-1a is ~4
// cycles a byte, serial: a search that never asks for it never pays it).
//
// Reading a whole prefix: text() (one allocation of text_size() bytes),
// append_text(buffer) (into a caller's reused buffer, no allocation once it
// has the capacity) and text_segments() (the prompt and each step's text as
// views, root first, no text copied) all cost O(depth) node reads plus the
// bytes written. No node caches its prefix's full text: that would make
// memory quadratic in depth.
#pragma once

#include <ttscale/config.hpp>
#include <ttscale/errors.hpp>
#include <ttscale/tree_memory.hpp>

#include <algorithm>
#include <atomic>
#include <bit>
#include <cstddef>
#include <cstring>
#include <cmath>
#include <cstdint>
#include <limits>
#include <memory>
#include <memory_resource>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

TTSCALE_BEGIN_NAMESPACE

/// One step a generator produced: what a generator fills (out[i].text = ...).
struct step {
  std::string text;           ///< the step's text as it extends the context
  std::uint32_t tokens = 0;   ///< tokens generated for this step
  double logprob = 0.0;       ///< sum of the step's token log-probabilities (0 if unknown)
  bool finished = false;      ///< the trajectory is complete after this step
  /// Opaque value a generator may attach and read back from the trajectory:
  /// a KV-cache sequence id, the toy world's running value... ttscale never
  /// interprets it.
  std::int64_t engine_state = 0;
};

/// A step as the tree stores it: the fields of `step`, the text a view into
/// the tree's text arena (valid while the tree lives). A `step` converts to
/// it implicitly (a view of the step's string), so tree.append(parent,
/// step{...}) reads as before; to_step() makes an owning copy.
struct step_view {
  std::string_view text;          ///< the step's text as it extends the context
  double logprob = 0.0;           ///< sum of the step's token log-probabilities (0 if unknown)
  std::int64_t engine_state = 0;  ///< the generator's opaque value (see step)
  std::uint32_t tokens = 0;       ///< tokens generated for this step
  bool finished = false;          ///< the trajectory is complete after this step

  step_view() = default;
  step_view(const step& s) noexcept  // NOLINT(google-explicit-constructor): a step is viewed where a step_view is asked
      : text(s.text), logprob(s.logprob), engine_state(s.engine_state), tokens(s.tokens), finished(s.finished) {}
  /// An owning copy.
  [[nodiscard]] step to_step() const {
    return step{std::string(text), tokens, logprob, finished, engine_state};
  }
};

using node_id = std::uint32_t;

namespace detail {
/// Tag of trajectory_tree::append's bulk form for a caller that has already
/// checked every parent against the tree (search_context::extend does, before
/// the generator call, with an error naming the search): the tree does not
/// check them again.
struct parents_checked_t {
  explicit parents_checked_t() = default;
};
inline constexpr parents_checked_t parents_checked{};

/// FNV-1a, 64-bit: a hash that is the same on every platform and run, so
/// anything seeded from a path hash (the toy reward models) is reproducible.
constexpr std::uint64_t fnv1a(std::string_view text, std::uint64_t h = 0xcbf29ce484222325ULL) noexcept {
  for (const char c : text) {
    h ^= static_cast<unsigned char>(c);
    h *= 0x100000001b3ULL;
  }
  return h;
}
}  // namespace detail

class trajectory;

/// Arena of steps with parent links; node 0 is the root (the prompt).
class trajectory_tree {
 public:
  /// `memory` supplies the node blocks and text chunks (it must outlive the
  /// tree). nullptr = recycled_tree_memory() (tree_memory.hpp): operator new,
  /// with the blocks of freed trees kept per thread for the next tree, so a
  /// search after a search does not fault fresh pages in. Pass
  /// std::pmr::new_delete_resource() for plain operator new/delete, or a pool
  /// of your own.
  explicit trajectory_tree(std::string prompt, std::pmr::memory_resource* memory = nullptr)
      : prompt_(std::move(prompt)), memory_(memory ? memory : recycled_tree_memory()) {
    node* root = emplace();
    ::new (static_cast<void*>(root)) node{.depth = 0, .parent = 0, .tokens = 0, .logprob = 0.0,
                                          .text_size = prompt_.size(), .s = step_view{},
                                          .score = std::numeric_limits<double>::quiet_NaN(),
                                          .path_hash = {detail::fnv1a(prompt_)}, .hashed = {true}};
  }
  trajectory_tree(const trajectory_tree&) = delete;  // handles point into it
  trajectory_tree& operator=(const trajectory_tree&) = delete;
  ~trajectory_tree() {  // nodes are trivially destructible: only the memory goes back
    // Largest first: a recycling resource that keeps a bounded amount keeps the
    // blocks holding the most pages (tree_memory.hpp).
    for (std::size_t k = blocks_.size(); k-- > 0;)
      memory_->deallocate(blocks_[k], sizeof(node) * block_capacity(k), node_block_alignment);
    for (std::size_t c = text_chunks_.size(); c-- > 0;)
      memory_->deallocate(text_chunks_[c].data, text_chunks_[c].capacity, 1);
  }

  [[nodiscard]] std::string_view prompt() const noexcept { return prompt_; }
  [[nodiscard]] std::size_t size() const noexcept { return size_; }
  [[nodiscard]] trajectory root() const noexcept;
  [[nodiscard]] trajectory at(node_id id) const;

  /// Appends `s` as a child of `parent`, its text copied into the tree's
  /// arena; returns the new node's handle. A `step` converts to step_view.
  trajectory append(node_id parent, const step_view& s);

  /// The bulk form: appends steps[i] as a child of parents[i] for every i,
  /// the handles into children[i] (a generator round's appends, as
  /// search_context::extend makes them). The tree's cursors stay in registers
  /// across the batch and parents are prefetched a few appends ahead, so an
  /// append costs about half the single form's instructions. Throws
  /// size_mismatch if the sizes differ and invalid_argument if a parent is not
  /// a node of this tree, both before appending anything.
  void append(std::span<const trajectory> parents, std::span<const step> steps, std::span<trajectory> children);
  /// As above, for a caller that has checked that every parent is a node of
  /// this tree (a parent that is not is undefined behaviour); sizes are checked.
  void append(std::span<const trajectory> parents, std::span<const step> steps, std::span<trajectory> children,
              detail::parents_checked_t);

  /// Records a process-reward score for the step at `id` (NaN = unscored).
  void set_score(node_id id, double score) { checked(id).score = score; }

  /// A hint: node `id` will be read soon (e.g. as the parent of an append);
  /// starts loading it into the cache. Ids not in the tree are ignored.
  // Always inlined: GCC 12 finds a separate prefetch-only function free of side
  // effects (pure) and deletes the calls to it, prefetch and all.
  [[gnu::always_inline]] void prefetch(node_id id) const noexcept {
    if (id >= size_) return;
#if defined(__GNUC__) || defined(__clang__)
    const location at = locate(id);
    __builtin_prefetch(&blocks_[at.block][at.offset]);
#endif
  }

 private:
  friend class trajectory;
  // What a child reads from its parent (depth and the three prefix totals)
  // comes first: 32 bytes at the start of a 96-byte node lie in one cache
  // line at either of a block's two node offsets (0 and 32 mod 64), the line
  // prefetch() fetches. After them, they straddled two lines for every other node.
  struct node {
    std::uint32_t depth = 0;
    node_id parent = 0;
    std::uint64_t tokens = 0;     // prefix total, this step included
    double logprob = 0.0;         // prefix total, this step included
    std::uint64_t text_size = 0;  // bytes of the prompt and every step's text, this step included
    step_view s;
    double score = std::numeric_limits<double>::quiet_NaN();
    // The path hash, computed on first use (hash_of). Atomic because readers
    // on several threads may fill it at once (with the same value).
    mutable std::atomic<std::uint64_t> path_hash{0};
    mutable std::atomic<bool> hashed{false};
  };
  static_assert(std::is_trivially_destructible_v<node>, "the tree never runs node destructors");
  static_assert(sizeof(node) == 96 && offsetof(node, s) == 32, "the parent's fields: one line (see node)");
  // Blocks start on a cache line, so a node starts at 0 or 32 mod 64 (malloc
  // alone gives 16 mod 64 for a large block: its header).
  static constexpr std::size_t node_block_alignment = 64;
  // Blocks double in size (64, 128, 256, ... nodes) up to 16,384 nodes (1.5 MiB),
  // then stay at that size; they never move, so references stay valid. Doubling:
  // a small search touches a few KiB, not a large fixed block. The cap: a large
  // tree's last block is never mostly untouched address space, so a bounded
  // recycling resource (tree_memory.hpp) keeps blocks in proportion to the pages
  // they hold (a 65,536-particle filter's last doubled block would be 50 MB for
  // a few nodes). Block k < 9 holds 64 << k nodes and starts at node 64 (2^k - 1);
  // block 9 + j starts at node 32,704 + 16,384 j.
  static constexpr std::size_t first_block_bits = 6;
  static constexpr std::size_t doubling_blocks = 9;
  static constexpr std::size_t last_block_bits = first_block_bits + doubling_blocks - 1;  // 16,384 nodes
  static constexpr std::size_t doubling_end = (std::size_t{1} << (first_block_bits + doubling_blocks)) -
                                              (std::size_t{1} << first_block_bits);  // 32,704 nodes
  static constexpr std::size_t block_capacity(std::size_t k) noexcept {
    return std::size_t{1} << (std::min(k, doubling_blocks - 1) + first_block_bits);
  }

  struct location {
    std::size_t block;
    std::size_t offset;
  };
  static location locate(std::size_t id) noexcept {
    if (id >= doubling_end) {
      const std::size_t past = id - doubling_end;
      return {doubling_blocks + (past >> last_block_bits), past & ((std::size_t{1} << last_block_bits) - 1)};
    }
    const std::size_t q = (id >> first_block_bits) + 1;
    const std::size_t k = static_cast<std::size_t>(std::bit_width(q)) - 1;
    const std::size_t start = (std::size_t{1} << (k + first_block_bits)) - (std::size_t{1} << first_block_bits);
    return {k, id - start};
  }

  /// The next slot's raw storage (the caller constructs the node in it). The
  /// open block's case inline; a new block out of line (every append runs this).
  node* emplace() {
    if (slots_left_ == 0) [[unlikely]]
      open_block();
    ++size_;
    --slots_left_;
    return next_slot_++;
  }
  [[gnu::noinline]] void open_block() {
    if (size_ == std::numeric_limits<node_id>::max())
      throw invalid_argument("trajectory_tree: more than 2^32-1 nodes");
    // Raw storage: a node is constructed when appended, so a block's unused
    // tail is never touched (no zeroing, no page faults for it).
    const std::size_t capacity = block_capacity(blocks_.size());
    blocks_.reserve(blocks_.size() + 1);
    blocks_.push_back(static_cast<node*>(memory_->allocate(sizeof(node) * capacity, node_block_alignment)));
    next_slot_ = blocks_.back();
    slots_left_ = std::min<std::size_t>(capacity, std::numeric_limits<node_id>::max() - size_);
  }

  /// A copy of `text` in the arena; chunks double from 1 KiB to 1 MiB and
  /// never move, a text over a quarter of the next chunk gets one of its own.
  /// The open chunk's case inline, a new chunk out of line.
  std::string_view store_text(std::string_view text) {
    std::string_view stored;
    if (text.empty() || store_in_open_chunk(text_next_, text_free_, text, stored)) [[likely]]
      return stored;
    return store_text_in_new_chunk(text);
  }
  /// The open chunk's case on cursors the caller holds (the bulk append keeps
  /// them in registers): copies `text` to `next` if it fits in `free` bytes.
  static bool store_in_open_chunk(char*& next, std::size_t& free, std::string_view text,
                                  std::string_view& stored) noexcept {
    if (text.size() > free) [[unlikely]]
      return false;
    copy_text(next, text.data(), text.size());
    stored = {next, text.size()};
    next += text.size();
    free -= text.size();
    return true;
  }
  [[gnu::noinline]] std::string_view store_text_in_new_chunk(std::string_view text) {
    const std::size_t next = std::min<std::size_t>(text_chunks_.empty() ? 1024 : 2 * text_chunks_.back().capacity,
                                                   std::size_t{1} << 20);
    const bool own_chunk = text.size() > next / 4;
    const std::size_t capacity = own_chunk ? text.size() : next;
    text_chunks_.reserve(text_chunks_.size() + 1);
    char* data = static_cast<char*>(memory_->allocate(capacity, 1));
    if (own_chunk) {  // the open chunk stays open: insert before it
      text_chunks_.insert(text_chunks_.end() - (text_chunks_.empty() ? 0 : 1), text_chunk{data, capacity});
      std::memcpy(data, text.data(), text.size());
      return {data, text.size()};
    }
    text_chunks_.push_back(text_chunk{data, capacity});
    text_next_ = data;
    text_free_ = capacity;
    return store_text(text);  // fits now
  }

  /// memcpy with the step-sized cases inline: 16-64 bytes (a sentence, a few
  /// tokens) as two overlapping fixed-size copies, which compile to two vector
  /// loads and stores each instead of a call into libc's size dispatch.
  static void copy_text(char* to, const char* from, std::size_t n) noexcept {
    if (n >= 32 && n <= 64) {
      std::memcpy(to, from, 32);
      std::memcpy(to + n - 32, from + n - 32, 32);
    } else if (n >= 16 && n < 32) {
      std::memcpy(to, from, 16);
      std::memcpy(to + n - 16, from + n - 16, 16);
    } else {
      std::memcpy(to, from, n);
    }
  }

  /// The path hash of node `id`, computed (and cached) for it and its
  /// unhashed ancestors, top-down: h(child) = fnv1a(text, h(parent) ^ K).
  std::uint64_t hash_of(node_id id) const noexcept {
    const node& n = get(id);
    if (n.hashed.load(std::memory_order_acquire)) return n.path_hash.load(std::memory_order_relaxed);
    node_id pending[64];  // unhashed ancestors, deepest first; a deeper gap recurses once per 64
    std::size_t k = 0;
    for (node_id a = id;;) {
      const node& x = get(a);
      if (x.hashed.load(std::memory_order_acquire)) break;
      if (k == 64) {
        hash_of(a);
        break;
      }
      pending[k++] = a;
      a = x.parent;
    }
    std::uint64_t h = 0;
    while (k-- > 0) {
      const node& x = get(pending[k]);
      h = detail::fnv1a(x.s.text, get(x.parent).path_hash.load(std::memory_order_relaxed) ^ 0x9e3779b97f4a7c15ULL);
      x.path_hash.store(h, std::memory_order_relaxed);
      x.hashed.store(true, std::memory_order_release);
    }
    return h;
  }
  /// Constructs in `slot` the child of `p` (node `parent`) for step `s`, its
  /// text already stored at `text` (both append forms).
  static void construct_child(node* slot, const node& p, node_id parent, const step_view& s,
                              std::string_view text) noexcept {
    step_view stored = s;
    stored.text = text;
    ::new (static_cast<void*>(slot)) node{.depth = p.depth + 1, .parent = parent, .tokens = p.tokens + s.tokens,
                                          .logprob = p.logprob + s.logprob, .text_size = p.text_size + s.text.size(),
                                          .s = stored, .score = std::numeric_limits<double>::quiet_NaN(),
                                          .path_hash = {0}, .hashed = {false}};
  }
  static constexpr std::size_t append_prefetch_distance = 8;  // bulk append: parents fetched this far ahead

  [[nodiscard]] const node& get(node_id id) const noexcept {
    const location at = locate(id);
    return blocks_[at.block][at.offset];
  }
  node& checked(node_id id) {
    if (id >= size_) [[unlikely]]
      throw_no_node(id);
    const location at = locate(id);
    return blocks_[at.block][at.offset];
  }
  // Out of line, so that the message's string building does not keep checked()
  // (on every append and set_score) from being inlined.
  [[noreturn, gnu::cold, gnu::noinline]] void throw_no_node(node_id id) const {
    throw invalid_argument("trajectory_tree: node " + std::to_string(id) + " does not exist (size " +
                           std::to_string(size_) + ")");
  }

  std::string prompt_;
  std::pmr::memory_resource* memory_;
  std::vector<node*> blocks_;  // block k: block_capacity(k), the first nodes constructed
  std::size_t size_ = 0;
  node* next_slot_ = nullptr;  // the open block's first free slot (appends are sequential)
  std::size_t slots_left_ = 0;
  struct text_chunk {
    char* data;
    std::size_t capacity;
  };
  std::vector<text_chunk> text_chunks_;  // the open chunk last
  char* text_next_ = nullptr;            // the open chunk's free tail
  std::size_t text_free_ = 0;
};

/// A cheap handle to one node of a trajectory_tree: the trajectory from the
/// prompt to that node. Copying it forks the trajectory.
class trajectory {
 public:
  trajectory() = default;

  [[nodiscard]] node_id id() const noexcept { return id_; }
  [[nodiscard]] const trajectory_tree& tree() const noexcept { return *tree_; }
  [[nodiscard]] bool valid() const noexcept { return tree_ != nullptr; }
  /// Whether this is a node of `tree` (false for an empty handle).
  [[nodiscard]] bool belongs_to(const trajectory_tree& tree) const noexcept { return tree_ == &tree; }
  [[nodiscard]] std::string_view prompt() const noexcept { return tree_->prompt(); }
  /// Number of steps after the prompt.
  [[nodiscard]] std::size_t depth() const noexcept { return node().depth; }
  [[nodiscard]] bool is_root() const noexcept { return node().depth == 0; }
  /// The newest step (an empty step for the root); its text lives in the tree.
  [[nodiscard]] const step_view& last_step() const noexcept { return node().s; }
  /// Whether the newest step finished the trajectory. O(1) without reading
  /// the tree: the handle carries it (a step never changes once appended).
  [[nodiscard]] bool finished() const noexcept { return finished_; }
  /// Tokens of all steps, summed.
  [[nodiscard]] std::uint64_t tokens() const noexcept { return node().tokens; }
  /// Log-probability of all steps, summed.
  [[nodiscard]] double logprob() const noexcept { return node().logprob; }
  /// Process-reward score recorded for the newest step, NaN if none.
  [[nodiscard]] double step_score() const noexcept { return node().score; }
  /// Hash of the prompt and every step's text (FNV-1a chained): equal paths
  /// have equal hashes on every platform. Computed on first use and cached
  /// (O(bytes of the unhashed steps) once, then O(1)); safe from several threads.
  [[nodiscard]] std::uint64_t path_hash() const noexcept { return tree_->hash_of(id_); }
  /// The trajectory without its newest step (the root's parent is the root).
  [[nodiscard]] trajectory parent() const noexcept {
    const node_id p = node().parent;
    return {tree_, p, tree_->get(p).s.finished};
  }

  /// Steps from the first to the newest.
  [[nodiscard]] std::vector<const step_view*> steps() const {
    std::vector<const step_view*> out(depth());
    trajectory t = *this;
    for (std::size_t i = out.size(); i-- > 0; t = t.parent()) out[i] = &t.last_step();
    return out;
  }
  /// Recorded step scores from the first step to the newest (NaN where unscored).
  [[nodiscard]] std::vector<double> step_scores() const {
    std::vector<double> out(depth());
    trajectory t = *this;
    for (std::size_t i = out.size(); i-- > 0; t = t.parent()) out[i] = t.step_score();
    return out;
  }
  /// Bytes of text(): the prompt and every step's text. O(1).
  [[nodiscard]] std::size_t text_size() const noexcept { return node().text_size; }
  /// The steps' texts concatenated (without the prompt). One allocation;
  /// O(depth + bytes).
  [[nodiscard]] std::string completion() const {
    std::string out(text_size() - prompt().size(), '\0');
    write_steps(out.data() + out.size());
    return out;
  }
  /// The prompt followed by every step's text. One allocation; O(depth + bytes).
  [[nodiscard]] std::string text() const {
    std::string out;
    append_text(out);
    return out;
  }
  /// Appends text() to `out` (one resize: no allocation when `out` has the
  /// capacity, e.g. a request buffer reused across items). O(depth + bytes).
  void append_text(std::string& out) const {
    const std::size_t at = out.size();
    out.resize(at + text_size());
    std::memcpy(out.data() + at, prompt().data(), prompt().size());
    write_steps(out.data() + out.size());
  }
  /// The prompt and each step's text, root first, as views (nothing copied;
  /// valid while the tree lives): what a verifier that streams or escapes a
  /// whole prefix reads. O(depth).
  [[nodiscard]] std::vector<std::string_view> text_segments() const {
    std::vector<std::string_view> out(depth() + 1);
    out[0] = prompt();
    trajectory t = *this;
    for (std::size_t i = out.size(); i-- > 1; t = t.parent()) out[i] = t.last_step().text;
    return out;
  }

  friend bool operator==(const trajectory& a, const trajectory& b) noexcept {
    return a.tree_ == b.tree_ && a.id_ == b.id_;
  }

 private:
  friend class trajectory_tree;
  trajectory(const trajectory_tree* tree, node_id id, bool finished) noexcept
      : tree_(tree), id_(id), finished_(finished) {}
  [[nodiscard]] const trajectory_tree::node& node() const noexcept { return tree_->get(id_); }
  /// Writes the steps' texts back to front, the newest ending at `end`.
  void write_steps(char* end) const noexcept {
    for (const trajectory_tree::node* n = &node(); n->depth > 0; n = &tree_->get(n->parent)) {
      end -= n->s.text.size();
      if (!n->s.text.empty()) std::memcpy(end, n->s.text.data(), n->s.text.size());
    }
  }

  const trajectory_tree* tree_ = nullptr;
  node_id id_ = 0;
  // The node's step.finished, copied into what was padding: strategies test it
  // for every candidate of every round, and a node read there is a cache miss
  // at large N. Not part of equality (it follows from the node).
  bool finished_ = false;
};
static_assert(sizeof(trajectory) == 16, "a handle stays two words");

inline trajectory trajectory_tree::root() const noexcept { return {this, 0, get(0).s.finished}; }

inline trajectory trajectory_tree::at(node_id id) const {
  if (id >= size_) [[unlikely]]
    throw_no_node(id);
  return {this, id, get(id).s.finished};
}

inline trajectory trajectory_tree::append(node_id parent, const step_view& s) {
  const node& p = checked(parent);
  const std::string_view text = store_text(s.text);
  node* slot = emplace();  // may allocate a block: `p` stays valid (blocks never move)
  construct_child(slot, p, parent, s, text);
  return {this, static_cast<node_id>(size_ - 1), s.finished};
}

inline void trajectory_tree::append(std::span<const trajectory> parents, std::span<const step> steps,
                                    std::span<trajectory> children) {
  bool foreign = false;
  for (const trajectory& p : parents) foreign |= (p.tree_ != this) | (p.id_ >= size_);
  if (foreign) [[unlikely]]
    for (std::size_t i = 0; i < parents.size(); ++i) {
      if (parents[i].tree_ != this)
        throw invalid_argument("trajectory_tree::append: parents[" + std::to_string(i) + "] is a node of " +
                               (parents[i].tree_ ? "another tree" : "no tree (an empty handle)"));
      if (parents[i].id_ >= size_) throw_no_node(parents[i].id_);
    }
  append(parents, steps, children, detail::parents_checked);
}

inline void trajectory_tree::append(std::span<const trajectory> parents, std::span<const step> steps,
                                    std::span<trajectory> children, detail::parents_checked_t) {
  if (steps.size() != parents.size() || children.size() != parents.size())
    throw size_mismatch("trajectory_tree::append: " + std::to_string(parents.size()) + " parents, " +
                        std::to_string(steps.size()) + " steps, " + std::to_string(children.size()) + " children");
  // The cursors live in locals: stores through `this` would go back to memory
  // after every node (the node writes may alias them).
  std::size_t size = size_, slots_left = slots_left_, text_free = text_free_;
  node* next_slot = next_slot_;
  char* text_next = text_next_;
  auto save = [&] {
    size_ = size, slots_left_ = slots_left, text_free_ = text_free, next_slot_ = next_slot, text_next_ = text_next;
  };
  auto load = [&] {
    size = size_, slots_left = slots_left_, text_free = text_free_, next_slot = next_slot_, text_next = text_next_;
  };
  for (std::size_t i = 0; i < parents.size(); ++i) {
    // Parents are scattered over the tree after resampling: fetch a few ahead.
    if (i + append_prefetch_distance < parents.size()) prefetch(parents[i + append_prefetch_distance].id_);
    const step_view s = steps[i];
    std::string_view text;
    if (!s.text.empty() && !store_in_open_chunk(text_next, text_free, s.text, text)) [[unlikely]] {
      save();
      text = store_text_in_new_chunk(s.text);
      load();
    }
    if (slots_left == 0) [[unlikely]] {
      save();
      open_block();
      load();
    }
    construct_child(next_slot, get(parents[i].id_), parents[i].id_, s, text);
    ++next_slot;
    --slots_left;
    children[i] = {this, static_cast<node_id>(size++), s.finished};
  }
  save();
}

/// A copy of `prefix` in a tree of its own: the same prompt, steps and step
/// scores (so a generator reading engine_state continues where it was). Used
/// where a search starts from another search's partial trajectory (nested
/// strategies). O(depth of the prefix). Returns the tree and the handle of the
/// copied leaf.
struct copied_prefix {
  std::unique_ptr<trajectory_tree> tree;
  trajectory leaf;
};
inline copied_prefix copy_prefix(const trajectory& prefix, std::pmr::memory_resource* memory = nullptr) {
  copied_prefix out{std::make_unique<trajectory_tree>(std::string(prefix.prompt()), memory), {}};
  out.leaf = out.tree->root();
  trajectory t = prefix;
  std::vector<trajectory> path(prefix.depth());
  for (std::size_t i = path.size(); i-- > 0; t = t.parent()) path[i] = t;
  for (const trajectory& p : path) {
    out.leaf = out.tree->append(out.leaf.id(), p.last_step());
    out.tree->set_score(out.leaf.id(), p.step_score());
  }
  return out;
}

TTSCALE_END_NAMESPACE
