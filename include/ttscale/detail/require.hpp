// ttscale/detail/require.hpp: the one place a count option's lower bound is
// checked, so every strategy, analysis function and adapter words it alike:
//   "best_of_n: options.n must be at least 1 (got 0)"
#pragma once

#include <ttscale/config.hpp>
#include <ttscale/errors.hpp>

#include <concepts>
#include <string>
#include <string_view>
#include <type_traits>

TTSCALE_BEGIN_NAMESPACE
namespace detail {

/// Throws invalid_argument "<who>: <name> must be at least <minimum> (got
/// <value>)" if value < minimum. `who` is the strategy or function the caller
/// called (a search_context's name() inside a strategy).
template <std::integral T>
void require_at_least(std::string_view who, std::string_view name, T value, std::type_identity_t<T> minimum) {
  if (value >= minimum) return;
  throw invalid_argument(std::string(who) + ": " + std::string(name) + " must be at least " + std::to_string(minimum) +
                         " (got " + std::to_string(value) + ")");
}

}  // namespace detail
TTSCALE_END_NAMESPACE
