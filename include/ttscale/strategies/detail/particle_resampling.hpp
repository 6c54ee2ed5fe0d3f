// ttscale/strategies/detail/particle_resampling.hpp: the resampling step of
// the particle methods, on top of kernels::resample.
//
// Three things the kernel (a pure function of weights and uniforms returning
// ancestors in ascending order) does not do and the particle methods need:
//  - slot keeping: the kernel's ancestor multiset is assigned to slots so that
//    every ancestor with at least one offspring keeps its own slot (its first
//    copy stays where it is) and only the extra copies move into the slots of
//    particles that died. A real engine keeps one KV-cache sequence per slot,
//    so a surviving particle then never moves. The multiset of ancestors is
//    exactly the kernel's.
//  - conditional resampling (particle Gibbs, Andrieu, Doucet & Holenstein 2010,
//    sec. 4.3): one slot (the reference) is not an output; the other M = n - 1
//    slots draw their ancestors from all n particles, reference included.
//  - ancestor sampling (Lindsten, Jordan & Schon 2014, eq. 9): the reference's
//    ancestor is drawn among the particles with probability proportional to
//    w_i * p(x*_t | x_i); see particle_gibbs.hpp for the transition term.
// Complexity O(n) per resampling; buffers are reused (no allocation once warm).
#pragma once

#include <ttscale/config.hpp>
#include <ttscale/errors.hpp>
#include <ttscale/kernels/resample.hpp>
#include <ttscale/random.hpp>

#include <cstddef>
#include <cstdint>
#include <limits>
#include <span>
#include <vector>

TTSCALE_BEGIN_NAMESPACE
namespace detail {

struct particle_resampler {
  kernels::resample_workspace workspace;
  std::vector<std::uint32_t> drawn;     // the kernel's ancestors, ascending
  std::vector<std::uint32_t> ancestors; // by output position (slot-kept)
  std::vector<std::uint32_t> offspring; // copies drawn of each particle (the kernel's counts)

  /// Resamples `outputs.size()` positions from `log_weights` (n entries) with
  /// `scheme`; ancestors[p] for p in outputs gets the ancestor of position p,
  /// other positions keep themselves. Returns the number of distinct ancestors.
  template <kernels::resampling_scheme Scheme>
  std::size_t resample(Scheme scheme, std::span<const double> log_weights, std::span<const std::uint32_t> outputs,
                       random_engine& rng) {
    const std::size_t n = log_weights.size();
    drawn.resize(outputs.size());
    if (!outputs.empty()) kernels::resample(scheme, log_weights, std::span<std::uint32_t>(drawn), rng, workspace);
    return keep_slots(n, outputs);
  }

  /// Assigns `drawn` (ascending, as the kernel returns it) to `outputs`,
  /// keeping survivors in place.
  std::size_t keep_slots(std::size_t n, std::span<const std::uint32_t> outputs) {
    offspring.assign(n, 0);
    std::size_t distinct = 0;
    for (std::uint32_t a : drawn) distinct += offspring[a]++ == 0;
    ancestors.resize(n);
    for (std::size_t p = 0; p < n; ++p) ancestors[p] = static_cast<std::uint32_t>(p);
    // An output position whose own particle has offspring keeps it; the others
    // (about half: a branch would mispredict) are freed, in ascending order.
    // Positions that are not outputs (the reference) keep themselves but do
    // not consume a copy.
    std::vector<std::uint32_t>& freed = scratch_;
    freed.resize(outputs.size() + 1);
    std::size_t freed_count = 0;
    if (outputs.size() == n) {  // every position draws (no reference): no mask to build or read
      for (std::uint32_t p : outputs) {
        freed[freed_count] = p;
        freed_count += offspring[p] == 0 ? 1 : 0;
      }
      assign_copies(freed_count, [](std::uint32_t) { return true; });
      return distinct;
    }
    is_output_.assign(n, 0);
    for (std::uint32_t p : outputs) {
      is_output_[p] = 1;
      freed[freed_count] = p;
      freed_count += offspring[p] == 0 ? 1 : 0;
    }
    assign_copies(freed_count, [&](std::uint32_t p) { return is_output_[p] != 0; });
    return distinct;
  }

 private:
  /// The copies in ascending order: the first copy of an output particle is
  /// the one that stays, every other fills the next freed position (scratch_,
  /// `freed_count` of them). Branch-free: a copy that stays writes to a sink.
  template <class IsOutput>
  void assign_copies(std::size_t freed_count, IsOutput is_output) {
    std::vector<std::uint32_t>& freed = scratch_;
    freed[freed_count] = 0;  // where `next` points once every freed position is filled
    std::uint32_t sink = 0;
    std::size_t next = 0;
    for (std::size_t i = 0; i < drawn.size(); ++i) {
      const std::uint32_t a = drawn[i];
      const bool stays = (i == 0 || drawn[i - 1] != a) && is_output(a);
      std::uint32_t& to = stays ? sink : ancestors[freed[next]];
      to = a;
      next += stays ? 0 : 1;
    }
  }

  std::vector<std::uint32_t> scratch_;
  std::vector<char> is_output_;
};

/// The scratch of sample_one: the eligible indices of positive weight and
/// their log-weights, gathered so that the kernel sees one dense array.
struct sample_one_workspace {
  std::vector<std::uint32_t> index;
  std::vector<double> log_weights;
  kernels::resample_workspace kernel;
};

/// Draws one index i with probability proportional to exp(log_weights[i]) among
/// the indices where `eligible(i)`; -inf entries never win. Returns n if none
/// has positive weight. One uniform from `rng`: systematic resampling of one
/// particle (kernels::resample), i.e. the inverse CDF at that uniform, over the
/// eligible subset (gathered first: the kernel takes no mask). Against a
/// sequential std::exp inverse CDF the index differs only when u * sum lands
/// within the sums' rounding of a CDF step (none in 3000 toy-world runs).
template <class Eligible>
std::size_t sample_one(std::span<const double> log_weights, Eligible eligible, random_engine& rng,
                       sample_one_workspace& ws) {
  ws.index.clear();
  ws.log_weights.clear();
  for (std::uint32_t i = 0; i < log_weights.size(); ++i)
    if (eligible(i) && log_weights[i] > -std::numeric_limits<double>::infinity()) {
      ws.index.push_back(i);
      ws.log_weights.push_back(log_weights[i]);
    }
  if (ws.index.empty()) return log_weights.size();
  std::uint32_t drawn = 0;
  kernels::resample(kernels::systematic, ws.log_weights, std::span<std::uint32_t>(&drawn, 1), rng, ws.kernel);
  return ws.index[drawn];
}

}  // namespace detail
TTSCALE_END_NAMESPACE
