// Tests for ttscale/kernels/tally.hpp: hash-table tally vs the linear-search reference,
// tie-breaking by first appearance, workspace reuse and errors.
#include <ttscale/kernels/tally.hpp>

#include <catch2/catch.hpp>

#include <cstdint>
#include <limits>
#include <random>
#include <vector>

namespace k = ttscale::kernels;

TEMPLATE_TEST_CASE("tally equals the reference", "[tally]", float, double) {
  std::mt19937_64 g(9);
  k::tally_workspace ws;
  for (std::size_t n : {1u, 2u, 3u, 17u, 100u, 5000u}) {
    for (std::uint64_t alphabet : {1u, 3u, 50u, 100000u}) {
      std::vector<std::uint64_t> keys(n);
      std::vector<TestType> w(n);
      for (std::size_t i = 0; i < n; ++i) {
        keys[i] = (g() % alphabet) * 0x9E3779B97F4A7C15ull;  // colliding low bits on purpose
        w[i] = static_cast<TestType>(g() % 4) / 4;  // dyadic: sums are exact, any order
      }
      const auto a = k::tally(keys, w, ws);
      const auto b = k::scalar::tally(keys, w);
      REQUIRE(a.winner == b.winner);
      REQUIRE(a.winner_weight == b.winner_weight);
      REQUIRE(a.winner_count == b.winner_count);
      REQUIRE(std::vector<k::tally_entry>(a.entries.begin(), a.entries.end()) == b.entries);
      const auto c = k::tally(keys, ws);
      const auto d = k::scalar::tally(keys);
      REQUIRE(c.winner == d.winner);
      REQUIRE(c.winner_count == d.winner_count);
      REQUIRE(c.winner_weight == static_cast<double>(d.winner_count));
    }
  }
}

TEST_CASE("tally: ties go to the key seen first; weights decide", "[tally]") {
  k::tally_workspace ws;
  const std::vector<std::uint64_t> keys = {7, 9, 9, 7, 3};
  auto r = k::tally(keys, ws);
  CHECK(r.winner == 7);  // 7 and 9 both have 2 votes; 7 appears first
  CHECK(r.winner_count == 2);
  REQUIRE(r.entries.size() == 3);
  CHECK(r.entries[0].key == 7);
  CHECK(r.entries[1].first == 1);
  CHECK(r.entries[2].key == 3);
  const std::vector<double> w = {0.1, 0.2, 0.3, 0.1, 0.6};
  r = k::tally(keys, w, ws);
  CHECK(r.winner == 3);
  CHECK(r.winner_weight == 0.6);
  const std::vector<float> wf = {1, 0, 0, 1, 0.5f};
  r = k::tally(keys, wf, ws);
  CHECK(r.winner == 7);
  CHECK(r.winner_weight == 2.0);
  const std::size_t cap = ws.capacity();
  r = k::tally(std::span<const std::uint64_t>(keys).first(2), ws);
  CHECK(ws.capacity() == cap);  // reused, not shrunk
  CHECK(r.winner == 7);
}

TEST_CASE("tally errors", "[tally]") {
  k::tally_workspace ws;
  const std::vector<std::uint64_t> none;
  CHECK_THROWS_AS(k::tally(none, ws), ttscale::invalid_argument);
  CHECK_THROWS_AS(k::scalar::tally(none), ttscale::invalid_argument);
  const std::vector<std::uint64_t> keys = {1, 2};
  const std::vector<double> w1 = {1.0};
  CHECK_THROWS_AS(k::tally(keys, w1, ws), ttscale::size_mismatch);
  const std::vector<double> wn = {1.0, std::numeric_limits<double>::quiet_NaN()};
  CHECK_THROWS_AS(k::tally(keys, wn, ws), ttscale::invalid_score);
  CHECK_THROWS_WITH(k::tally(keys, wn, ws), Catch::Contains("weights[1]"));
  const std::vector<float> wi = {std::numeric_limits<float>::infinity(), 1.0f};
  CHECK_THROWS_WITH(k::scalar::tally(keys, wi), Catch::Contains("weights[0]"));
}

TEST_CASE("tally errors print the weight in its shortest round-trip form", "[tally]") {
  // Only non-finite weights are rejected, so the text is "nan", "inf" or "-inf".
  k::tally_workspace ws;
  const std::vector<std::uint64_t> keys = {1, 2};
  const std::vector<double> wi = {1.0, -std::numeric_limits<double>::infinity()};
  CHECK_THROWS_WITH(k::tally(keys, wi, ws), "tally: weights[1] is -inf (must be finite)");
  CHECK_THROWS_WITH(k::scalar::tally(keys, wi), "tally: weights[1] is -inf (must be finite)");
}
