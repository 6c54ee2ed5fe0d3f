#include <ttscale/detail/require.hpp>

#include <catch2/catch.hpp>

#include <cstddef>
#include <cstdint>

using namespace ttscale;

TEST_CASE("require_at_least words every lower-bound error alike", "[detail][errors]") {
  CHECK_NOTHROW(detail::require_at_least("best_of_n", "options.n", std::size_t{1}, 1));
  CHECK_NOTHROW(detail::require_at_least("f", "k", std::uint64_t{7}, 2));
  CHECK_THROWS_AS(detail::require_at_least("best_of_n", "options.n", std::size_t{0}, 1), invalid_argument);
  CHECK_THROWS_WITH(detail::require_at_least("best_of_n", "options.n", std::size_t{0}, 1),
                    "best_of_n: options.n must be at least 1 (got 0)");
  CHECK_THROWS_WITH(detail::require_at_least("subset_vote_accuracy", "options.draws", std::uint64_t{1}, 2),
                    "subset_vote_accuracy: options.draws must be at least 2 (got 1)");
}
