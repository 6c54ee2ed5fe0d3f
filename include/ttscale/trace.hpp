// ttscale/trace.hpp: an optional record of a search, for people to look at.
//
// A search_trace lists every node a search generated — its parent, depth
// (step), the round that created it, its process-reward score, tokens, and
// what the search decided about it: kept (expanded / survived selection),
// pruned (dropped), finished (a complete candidate), chosen (the final
// selection's pick). It exports JSON (for scripts and notebooks) and Graphviz
// DOT (`dot -Tsvg trace.dot > trace.svg`) so a person can see the tree: kept
// nodes green, pruned grey, finished blue, the chosen path gold.
//
// A strategy records into a trace only when the caller passes one
// (`options.trace = &my_trace`); search_context then calls it once per round
// (generated nodes, scores) and strategies mark their decisions through
// search_context::mark. With no trace attached each hook is one null-pointer
// test per round, nothing per item. A trace belongs to one search (one tree):
// attaching it to a second search clears it. A nested search (see
// strategies/nested.hpp) runs in a tree of its own and is not part of the
// outer trace; the outer trace shows each nested search as one step.
//
// Complexity: O(1) amortised per recorded node; exports are O(nodes + text).
// Not thread-safe: search_context records between batched calls only.
#pragma once

#include <ttscale/config.hpp>
#include <ttscale/trajectory.hpp>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

TTSCALE_BEGIN_NAMESPACE

/// What a search decided about a node; later decisions overwrite earlier ones
/// except that `chosen` is final.
enum class trace_status : std::uint8_t {
  generated,  ///< created, no decision recorded (e.g. the search stopped first)
  kept,       ///< survived selection / was expanded
  pruned,     ///< dropped by selection (or a duplicate, or cancelled)
  finished,   ///< a complete candidate
  chosen,     ///< on the path of the final selection's pick
};

constexpr std::string_view to_string(trace_status s) noexcept {
  switch (s) {
    case trace_status::generated: return "generated";
    case trace_status::kept: return "kept";
    case trace_status::pruned: return "pruned";
    case trace_status::finished: return "finished";
    case trace_status::chosen: return "chosen";
  }
  return "unknown";
}

/// One recorded node.
struct trace_node {
  node_id id = 0;
  node_id parent = 0;           ///< the root is its own parent
  std::size_t depth = 0;        ///< steps from the search's start
  std::size_t round = 0;        ///< index of the generator round that created it (0 for the root)
  double score = std::numeric_limits<double>::quiet_NaN();  ///< PRM score of its step, NaN if unscored
  std::uint64_t tokens = 0;     ///< tokens of its step
  bool finished = false;        ///< the step ends the trajectory
  trace_status status = trace_status::generated;
};

class search_trace {
 public:
  /// Starts recording a search over `tree` whose start node is `root`
  /// (search_context calls this; clears an earlier recording).
  void begin(std::string_view strategy, std::shared_ptr<const trajectory_tree> tree, const trajectory& root) {
    strategy_ = std::string(strategy);
    tree_ = std::move(tree);
    nodes_.clear();
    slot_.clear();
    rounds_ = 0;
    base_depth_ = root.depth();
    add(root, 0);
    nodes_.back().status = trace_status::kept;
  }

  /// Records the children of one generator round.
  void generated(std::span<const trajectory> children) {
    ++rounds_;
    for (const trajectory& c : children) add(c, rounds_);
  }

  /// Records the scores of a PRM round.
  void scored(std::span<const trajectory> nodes, std::span<const double> scores) {
    for (std::size_t i = 0; i < scores.size() && i < nodes.size(); ++i)
      if (trace_node* n = slot_of(nodes[i].id())) n->score = scores[i];
  }

  /// Records a decision about nodes (unknown nodes are ignored).
  void mark(std::span<const trajectory> nodes, trace_status status) {
    for (const trajectory& t : nodes) mark(t, status);
  }
  void mark(const trajectory& t, trace_status status) {
    trace_node* n = slot_of(t.id());
    if (!n || n->status == trace_status::chosen) return;
    n->status = status;
  }
  /// Marks `leaf` and its recorded ancestors as the chosen path.
  void mark_chosen(const trajectory& leaf) {
    for (trajectory t = leaf;; t = t.parent()) {
      if (trace_node* n = slot_of(t.id())) n->status = trace_status::chosen;
      if (t.is_root()) break;
    }
  }

  [[nodiscard]] std::string_view strategy() const noexcept { return strategy_; }
  [[nodiscard]] std::span<const trace_node> nodes() const noexcept { return nodes_; }
  [[nodiscard]] std::size_t rounds() const noexcept { return rounds_; }
  /// The recorded node `id`, or nullptr.
  [[nodiscard]] const trace_node* find(node_id id) const noexcept {
    return id < slot_.size() && slot_[id] != no_slot ? &nodes_[slot_[id]] : nullptr;
  }
  /// Count of recorded nodes with `status`.
  [[nodiscard]] std::size_t count(trace_status status) const noexcept {
    std::size_t k = 0;
    for (const trace_node& n : nodes_) k += n.status == status;
    return k;
  }

  /// {"strategy": ..., "prompt": ..., "rounds": R, "nodes": [{"id", "parent",
  /// "depth", "round", "score" (null if unscored), "tokens", "finished",
  /// "status", "text"}, ...]} in creation order.
  [[nodiscard]] std::string to_json() const {
    std::string out = "{\"strategy\":" + quoted(strategy_) + ",\"prompt\":" +
                      quoted(tree_ ? std::string(tree_->prompt()) : std::string()) +
                      ",\"rounds\":" + std::to_string(rounds_) + ",\"nodes\":[";
    for (std::size_t i = 0; i < nodes_.size(); ++i) {
      const trace_node& n = nodes_[i];
      if (i) out += ',';
      out += "\n{\"id\":" + std::to_string(n.id) + ",\"parent\":" + std::to_string(n.parent) +
             ",\"depth\":" + std::to_string(n.depth) + ",\"round\":" + std::to_string(n.round) +
             ",\"score\":" + number(n.score) + ",\"tokens\":" + std::to_string(n.tokens) +
             ",\"finished\":" + (n.finished ? "true" : "false") + ",\"status\":\"" +
             std::string(to_string(n.status)) + "\",\"text\":" + quoted(text_of(n)) + "}";
    }
    return out + "\n]}\n";
  }

  /// A Graphviz digraph: one box per node labelled with its id, score and
  /// the first `label_chars` characters of its step; colours by status.
  [[nodiscard]] std::string to_dot(std::size_t label_chars = 40) const {
    std::string out = "digraph search_trace {\n  rankdir=TB;\n  node [shape=box, style=filled, fontname=\"monospace\", fontsize=10];\n";
    out += "  label=" + dot_quoted(strategy_ + ": " + std::to_string(nodes_.size()) + " nodes, " +
                                   std::to_string(rounds_) + " rounds") + ";\n";
    for (const trace_node& n : nodes_) {
      std::string text = text_of(n);
      if (text.size() > label_chars) text = text.substr(0, label_chars) + "...";
      std::string label = "#";  // appended piecewise: GCC 12 warns falsely (-Wrestrict) on "literal" + std::string&&
      label += std::to_string(n.id);
      label += "  score ";
      label += number(n.score);
      label += '\n';
      label += text;
      out += "  n" + std::to_string(n.id) + " [label=" + dot_quoted(label) + ", fillcolor=\"" + colour(n.status) +
             "\"" + (n.status == trace_status::chosen ? ", penwidth=3" : "") + "];\n";
    }
    for (const trace_node& n : nodes_)
      if (n.id != n.parent && find(n.parent))
        out += "  n" + std::to_string(n.parent) + " -> n" + std::to_string(n.id) + ";\n";
    return out + "}\n";
  }

 private:
  static constexpr std::uint32_t no_slot = std::numeric_limits<std::uint32_t>::max();

  void add(const trajectory& t, std::size_t round) {
    if (t.id() >= slot_.size()) slot_.resize(static_cast<std::size_t>(t.id()) + 1, no_slot);
    if (slot_[t.id()] != no_slot) return;
    slot_[t.id()] = static_cast<std::uint32_t>(nodes_.size());
    trace_node n;
    n.id = t.id();
    n.parent = t.is_root() ? t.id() : t.parent().id();
    n.depth = t.depth() - base_depth_;
    n.round = round;
    n.score = t.step_score();
    n.tokens = t.last_step().tokens;
    n.finished = t.finished();
    nodes_.push_back(n);
  }
  trace_node* slot_of(node_id id) noexcept {
    return id < slot_.size() && slot_[id] != no_slot ? &nodes_[slot_[id]] : nullptr;
  }
  [[nodiscard]] std::string text_of(const trace_node& n) const {
    if (!tree_ || n.id == n.parent) return std::string();
    return std::string(tree_->at(n.id).last_step().text);
  }
  static const char* colour(trace_status s) noexcept {
    switch (s) {
      case trace_status::generated: return "white";
      case trace_status::kept: return "palegreen";
      case trace_status::pruned: return "gray85";
      case trace_status::finished: return "lightblue";
      case trace_status::chosen: return "gold";
    }
    return "white";
  }
  static std::string number(double x) {
    if (!std::isfinite(x)) return "null";
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.6g", x);
    return buf;
  }
  static std::string quoted(std::string_view s) {
    std::string out = "\"";
    for (const char c : s) {
      switch (c) {
        case '"': out += "\\\""; break;
        case '\\': out += "\\\\"; break;
        case '\n': out += "\\n"; break;
        case '\r': out += "\\r"; break;
        case '\t': out += "\\t"; break;
        default:
          if (static_cast<unsigned char>(c) < 0x20) {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(static_cast<unsigned char>(c)));
            out += buf;
          } else {
            out += c;
          }
      }
    }
    return out + '"';
  }
  static std::string dot_quoted(std::string_view s) {
    std::string out = "\"";
    for (const char c : s) {
      if (c == '"' || c == '\\') out += '\\';
      if (c == '\n') {
        out += "\\l";  // left-justified line break
        continue;
      }
      out += c;
    }
    return out + "\\l\"";
  }

  std::string strategy_;
  std::shared_ptr<const trajectory_tree> tree_;
  std::vector<trace_node> nodes_;
  std::vector<std::uint32_t> slot_;  // node id -> index into nodes_
  std::size_t rounds_ = 0;
  std::size_t base_depth_ = 0;
};

TTSCALE_END_NAMESPACE
