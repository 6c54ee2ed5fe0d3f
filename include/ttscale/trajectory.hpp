// ttscale/trajectory.hpp: steps, the shared-prefix trajectory tree, and
// trajectory handles.
//
// A trajectory is a prompt plus a sequence of steps (a reasoning step or a
// chunk of tokens). Beam search and particle filters fork trajectories every
// round, so a trajectory is not a container: it is a handle (tree, node) into
// a persistent tree whose nodes are steps with parent links. Forking is
// copying the handle (O(1)); extending appends one node (O(1) amortised) and
// shares the whole prefix, which is also what lets a real engine reuse the KV
// cache of a shared prefix (a node id names a prefix for the lifetime of the
// tree). Nodes are never removed or moved: references stay valid while the
// tree lives, and generators may read the tree from several threads while no
// one appends (strategies append only between generator calls).
//
// Per node the tree keeps O(1) running totals (tokens, log-probability, depth)
// and a 64-bit hash of the path's text, so the common queries need no walk.
#pragma once

#include <ttscale/config.hpp>
#include <ttscale/errors.hpp>

#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <memory>
#include <memory_resource>
#include <string>
#include <string_view>
#include <vector>

TTSCALE_BEGIN_NAMESPACE

/// One step a generator produced.
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

using node_id = std::uint32_t;

namespace detail {
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
  /// `memory` supplies the node blocks (it must outlive the tree). The
  /// default is operator new; a resource reused across many searches (e.g. a
  /// std::pmr::unsynchronized_pool_resource, or a monotonic_buffer_resource
  /// over a reused buffer) spares each new search the first-touch page faults
  /// of fresh memory, which otherwise dominate a small search's bookkeeping.
  explicit trajectory_tree(std::string prompt,
                           std::pmr::memory_resource* memory = std::pmr::get_default_resource())
      : prompt_(std::move(prompt)), memory_(memory ? memory : std::pmr::get_default_resource()) {
    emplace(node{step{}, 0, 0, 0, 0.0, std::numeric_limits<double>::quiet_NaN(), detail::fnv1a(prompt_)});
  }
  trajectory_tree(const trajectory_tree&) = delete;  // handles point into it
  trajectory_tree& operator=(const trajectory_tree&) = delete;
  ~trajectory_tree() {
    for (std::size_t id = 0; id < size_; ++id) {
      const location at = locate(id);
      std::destroy_at(blocks_[at.block] + at.offset);
    }
    for (std::size_t k = 0; k < blocks_.size(); ++k)
      memory_->deallocate(blocks_[k], sizeof(node) << (k + first_block_bits), alignof(node));
  }

  [[nodiscard]] std::string_view prompt() const noexcept { return prompt_; }
  [[nodiscard]] std::size_t size() const noexcept { return size_; }
  [[nodiscard]] trajectory root() const noexcept;
  [[nodiscard]] trajectory at(node_id id) const;

  /// Appends `s` as a child of `parent`; returns the new node's handle.
  trajectory append(node_id parent, step s);

  /// Records a process-reward score for the step at `id` (NaN = unscored).
  void set_score(node_id id, double score) { checked(id).score = score; }

 private:
  friend class trajectory;
  struct node {
    step s;
    node_id parent = 0;
    std::uint32_t depth = 0;
    std::uint64_t tokens = 0;    // prefix total, this step included
    double logprob = 0.0;        // prefix total, this step included
    double score = std::numeric_limits<double>::quiet_NaN();
    std::uint64_t path_hash = 0;
  };
  // Blocks double in size (64, 128, 256, ... nodes) and never move, so a small
  // search touches a few KiB, not a large fixed block, and references stay valid.
  // Block k holds 64 << k nodes and starts at node 64 * (2^k - 1).
  static constexpr std::size_t first_block_bits = 6;

  struct location {
    std::size_t block;
    std::size_t offset;
  };
  static location locate(std::size_t id) noexcept {
    const std::size_t q = (id >> first_block_bits) + 1;
    const std::size_t k = static_cast<std::size_t>(std::bit_width(q)) - 1;
    const std::size_t start = (std::size_t{1} << (k + first_block_bits)) - (std::size_t{1} << first_block_bits);
    return {k, id - start};
  }

  /// Moves `value` into the next slot (one construction, no zeroing first).
  void emplace(node&& value) {
    if (size_ == std::numeric_limits<node_id>::max())
      throw invalid_argument("trajectory_tree: more than 2^32-1 nodes");
    const location at = locate(size_);
    if (at.block == blocks_.size()) {
      // Raw storage: a node is constructed when appended, so a block's unused
      // tail is never touched (no zeroing, no page faults for it).
      blocks_.reserve(blocks_.size() + 1);
      blocks_.push_back(
          static_cast<node*>(memory_->allocate(sizeof(node) << (at.block + first_block_bits), alignof(node))));
    }
    ::new (static_cast<void*>(blocks_[at.block] + at.offset)) node(std::move(value));
    ++size_;
  }
  [[nodiscard]] const node& get(node_id id) const noexcept {
    const location at = locate(id);
    return blocks_[at.block][at.offset];
  }
  node& checked(node_id id) {
    if (id >= size_)
      throw invalid_argument("trajectory_tree: node " + std::to_string(id) + " does not exist (size " +
                             std::to_string(size_) + ")");
    const location at = locate(id);
    return blocks_[at.block][at.offset];
  }

  std::string prompt_;
  std::pmr::memory_resource* memory_;
  std::vector<node*> blocks_;  // block k: capacity 64 << k, the first nodes constructed
  std::size_t size_ = 0;
};

/// A cheap handle to one node of a trajectory_tree: the trajectory from the
/// prompt to that node. Copying it forks the trajectory.
class trajectory {
 public:
  trajectory() = default;

  [[nodiscard]] node_id id() const noexcept { return id_; }
  [[nodiscard]] const trajectory_tree& tree() const noexcept { return *tree_; }
  [[nodiscard]] bool valid() const noexcept { return tree_ != nullptr; }
  [[nodiscard]] std::string_view prompt() const noexcept { return tree_->prompt(); }
  /// Number of steps after the prompt.
  [[nodiscard]] std::size_t depth() const noexcept { return node().depth; }
  [[nodiscard]] bool is_root() const noexcept { return node().depth == 0; }
  /// The newest step (an empty step for the root).
  [[nodiscard]] const step& last_step() const noexcept { return node().s; }
  [[nodiscard]] bool finished() const noexcept { return node().s.finished; }
  /// Tokens of all steps, summed.
  [[nodiscard]] std::uint64_t tokens() const noexcept { return node().tokens; }
  /// Log-probability of all steps, summed.
  [[nodiscard]] double logprob() const noexcept { return node().logprob; }
  /// Process-reward score recorded for the newest step, NaN if none.
  [[nodiscard]] double step_score() const noexcept { return node().score; }
  /// Hash of the prompt and every step's text (FNV-1a chained): equal paths
  /// have equal hashes on every platform.
  [[nodiscard]] std::uint64_t path_hash() const noexcept { return node().path_hash; }
  /// The trajectory without its newest step (the root's parent is the root).
  [[nodiscard]] trajectory parent() const noexcept { return {tree_, node().parent}; }

  /// Steps from the first to the newest.
  [[nodiscard]] std::vector<const step*> steps() const {
    std::vector<const step*> out(depth());
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
  /// The steps' texts concatenated (without the prompt).
  [[nodiscard]] std::string completion() const {
    std::string out;
    for (const step* s : steps()) out += s->text;
    return out;
  }
  /// The prompt followed by every step's text.
  [[nodiscard]] std::string text() const { return std::string(prompt()) + completion(); }

  friend bool operator==(const trajectory& a, const trajectory& b) noexcept {
    return a.tree_ == b.tree_ && a.id_ == b.id_;
  }

 private:
  friend class trajectory_tree;
  trajectory(const trajectory_tree* tree, node_id id) noexcept : tree_(tree), id_(id) {}
  [[nodiscard]] const trajectory_tree::node& node() const noexcept { return tree_->get(id_); }

  const trajectory_tree* tree_ = nullptr;
  node_id id_ = 0;
};

inline trajectory trajectory_tree::root() const noexcept { return {this, 0}; }

inline trajectory trajectory_tree::at(node_id id) const {
  if (id >= size_)
    throw invalid_argument("trajectory_tree: node " + std::to_string(id) + " does not exist (size " +
                           std::to_string(size_) + ")");
  return {this, id};
}

inline trajectory trajectory_tree::append(node_id parent, step s) {
  const node& p = checked(parent);
  const std::uint64_t hash = detail::fnv1a(s.text, p.path_hash ^ 0x9e3779b97f4a7c15ULL);
  const std::uint64_t tokens = p.tokens + s.tokens;
  const double logprob = p.logprob + s.logprob;
  emplace(node{std::move(s), parent, p.depth + 1, tokens, logprob, std::numeric_limits<double>::quiet_NaN(), hash});
  return {this, static_cast<node_id>(size_ - 1)};
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
inline copied_prefix copy_prefix(const trajectory& prefix,
                                 std::pmr::memory_resource* memory = std::pmr::get_default_resource()) {
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
