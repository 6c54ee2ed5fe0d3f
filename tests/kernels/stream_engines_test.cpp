// Tests for ttscale/kernels/stream_engines.hpp: every instruction set gives the engines of
// the scalar twin, bit for bit, which are random_engine(seed, key) one by one.
#include <ttscale/kernels/stream_engines.hpp>

#include <catch2/catch.hpp>

#include <cstdint>
#include <random>
#include <vector>

#include "kernels/kernels_test_support.hpp"

namespace k = ttscale::kernels;
namespace kd = ttscale::kernels::detail;
using ttscale::random_engine;
using ttscale::stream_key;

TEMPLATE_LIST_TEST_CASE("stream_engines equals random_engine(seed, key) at every level", "[stream_engines]",
                        kt::isa_cases) {
  KT_RUN_AT(typename TestType::isa);
  using Ops = typename TestType::ops;
  std::mt19937_64 g(5);
  for (std::size_t n : kt::lengths()) {
    const std::uint64_t seed = g();
    std::vector<stream_key> keys(n);
    for (stream_key& key : keys) key = {g() % 4 == 0 ? g() : g() % 64, g() % 8};
    std::vector<random_engine> a(n), b(n), public_entry(n);
    kd::stream_engines<Ops>(seed, keys, a);
    k::scalar::stream_engines(seed, keys, b);
    k::stream_engines(seed, keys, public_entry);
    INFO("n = " << n);
    REQUIRE(a == b);
    REQUIRE(public_entry == b);
    for (std::size_t i = 0; i < n; ++i) REQUIRE(b[i] == random_engine(seed, keys[i]));
  }
}

TEST_CASE("stream_engines: sizes must match", "[stream_engines]") {
  std::vector<stream_key> keys(3);
  std::vector<random_engine> out(2);
  CHECK_THROWS_AS(k::stream_engines(1, keys, out), ttscale::size_mismatch);
  CHECK_THROWS_WITH(k::scalar::stream_engines(1, keys, out), Catch::Contains("3") && Catch::Contains("2"));
  std::vector<stream_key> none;
  std::vector<random_engine> no_engines;
  k::stream_engines(1, none, no_engines);  // nothing to do is fine
}
