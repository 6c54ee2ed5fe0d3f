// ttscale/strategies/detail/step_search.hpp: the round shared by the
// step-level searches (beam search, DVTS, A*): expand a set of parents into
// children with ONE batched generator call, optionally roll look-ahead steps,
// score the new steps with ONE batched PRM call, aggregate the scores; plus
// deterministic / Gumbel top-k selection and packaging finished nodes as
// candidates. Users never include this header.
//
// Random streams: the j-th child of a parent node p in a round is drawn from
// stream (p, j) (j counts over every occurrence of p in the round, so a node
// expanded n ways — or by several DVTS subtrees — gets n distinct streams);
// look-ahead steps from node q use (q, lookahead_child). Node ids are
// deterministic (appends happen in request order), so results never depend on
// batch size or thread count.
#pragma once

#include <ttscale/answer.hpp>
#include <ttscale/budget.hpp>
#include <ttscale/config.hpp>
#include <ttscale/detail/require.hpp>
#include <ttscale/detail/stream_keys.hpp>
#include <ttscale/generator.hpp>
#include <ttscale/kernels/top_k.hpp>
#include <ttscale/random.hpp>
#include <ttscale/result.hpp>
#include <ttscale/search_context.hpp>
#include <ttscale/strategies/detail/aggregated_score.hpp>
#include <ttscale/trajectory.hpp>
#include <ttscale/verifier.hpp>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <span>
#include <string>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

TTSCALE_BEGIN_NAMESPACE
namespace detail {

/// Validates the N / M shape shared by beam search and DVTS: N >= 1, M >= 1,
/// M divides N (the search-and-learn recipe asserts n % beam_width == 0; we
/// throw rather than silently round, so a sweep never runs a different N
/// than it reports).
template <budget_policy B>
void require_beam_shape(const search_context<B>& ctx, std::size_t n, std::size_t m, std::size_t max_depth) {
  detail::require_at_least(ctx.name(), "options.n", n, 1);
  detail::require_at_least(ctx.name(), "options.beam_width", m, 1);
  if (n % m != 0)
    ctx.fail_argument("options.beam_width (" + std::to_string(m) + ") must divide options.n (" + std::to_string(n) +
                      "): the search keeps n / beam_width beams and expands each beam_width ways");
  detail::require_at_least(ctx.name(), "options.max_depth", max_depth, 1);
}

}  // namespace detail
TTSCALE_END_NAMESPACE
