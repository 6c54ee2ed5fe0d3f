#include <ttscale/detail/kept_round_buffers.hpp>
#include <ttscale/search_context.hpp>

#include <catch2/catch.hpp>

#include <cstddef>
#include <span>
#include <string>
#include <thread>
#include <vector>

using namespace ttscale;

namespace {
// Each test runs on a thread of its own: the kept buffers are per thread.
template <class F>
void on_fresh_thread(F f) {
  std::thread t(f);
  t.join();
}

detail::round_buffers buffers_of(std::size_t n, std::size_t text) {
  detail::round_buffers b;
  b.steps.resize(n);
  for (step& s : b.steps) s.text.assign(text, 'x');
  b.steps_used = n;
  b.engines.resize(n);
  return b;
}

// Records the capacity each slot's text has when the generator receives it.
struct capacity_probe {
  std::vector<std::size_t>* seen;
  void extend(std::span<const trajectory>, std::span<random_engine>, std::span<step> out) const {
    for (step& s : out) {
      seen->push_back(s.text.capacity());
      CHECK(s.text.empty());  // reset, whatever the slot held before
      s.text = "a step of forty characters, past the SSO";
      s.tokens = 10;
    }
  }
};
}  // namespace

TEST_CASE("a thread's round buffers start empty and come back as given, texts cleared", "[detail]") {
  on_fresh_thread([] {
    CHECK(detail::kept_round_buffers::take().steps.empty());
    detail::round_buffers b = buffers_of(64, 100);
    const char* text_at = b.steps[3].text.data();
    detail::kept_round_buffers::give_back(b);
    detail::round_buffers again = detail::kept_round_buffers::take();
    REQUIRE(again.steps.size() == 64);
    CHECK(again.engines.size() == 64);
    CHECK(again.steps[3].text.empty());
    CHECK(again.steps[3].text.data() == text_at);  // the capacity stays: the next generator reuses it
    CHECK(detail::kept_round_buffers::take().steps.empty());  // taken once
  });
}

TEST_CASE("buffers are kept cut to the slots their search used, and only under the limit", "[detail]") {
  on_fresh_thread([] {
    detail::round_buffers big = buffers_of(64, 100);
    big.steps_used = 10;  // a small search on a large search's slots
    detail::kept_round_buffers::give_back(big);
    detail::round_buffers again = detail::kept_round_buffers::take();
    CHECK(again.steps.size() == 10);
    CHECK(again.steps_used == 0);
    CHECK(again.step_slots(3).size() == 3);
    CHECK(again.steps_used == 3);
    CHECK(again.step_slots(80).size() == 80);  // grown
    CHECK(again.steps.size() == 80);
    detail::round_buffers huge = buffers_of(4, detail::kept_round_bytes);  // over the limit by its text
    detail::kept_round_buffers::give_back(huge);
    CHECK(detail::kept_round_buffers::take().steps.empty());
  });
}

TEST_CASE("a search starts with the step slots of the search before it", "[detail]") {
  on_fresh_thread([] {
    std::vector<std::size_t> first, second;
    const stream_key keys[3] = {{0, 0}, {1, 0}, {2, 0}};
    {
      search_context<> ctx("test", "P", budget{}, execution{}, 1);
      capacity_probe gen{&first};
      const std::vector<trajectory> roots(3, ctx.root());
      (void)ctx.extend(gen, roots, keys);
    }
    {
      search_context<> ctx("test", "P", budget{}, execution{}, 1);
      capacity_probe gen{&second};
      const std::vector<trajectory> roots(3, ctx.root());
      const std::vector<trajectory> children = ctx.extend(gen, roots, keys);
      CHECK(children[2].last_step().text == "a step of forty characters, past the SSO");
    }
    REQUIRE(first.size() == 3);
    REQUIRE(second.size() == 3);
    for (std::size_t i = 0; i < 3; ++i) {
      CHECK(first[i] < 40);    // fresh slots: the small-string buffer
      CHECK(second[i] >= 40);  // the first search's strings, cleared
    }
  });
}
