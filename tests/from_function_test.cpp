#include <ttscale/from_function.hpp>
#include <ttscale/strategies/beam_search.hpp>
#include <ttscale/strategies/best_of_n.hpp>
#include <ttscale/strategies/majority_vote.hpp>

#include <catch2/catch.hpp>

#include <atomic>
#include <cmath>
#include <cstdint>
#include <functional>
#include <optional>
#include <random>
#include <span>
#include <stop_token>
#include <string>
#include <vector>

using namespace ttscale;

namespace {
// A random walk to 6: each step adds 1 to 3 (from the item's stream); the
// walk finishes at 6 or more and answers its total.
step walk(const trajectory& prefix, random_engine& rng) {
  const std::int64_t total = prefix.is_root() ? 0 : prefix.last_step().engine_state;
  const std::int64_t next = total + 1 + static_cast<std::int64_t>(rng() % 3);
  step s{.text = " +" + std::to_string(next - total), .tokens = 1, .engine_state = next};
  s.finished = next >= 6;
  if (s.finished) s.text += " \\boxed{" + std::to_string(next) + "}";
  return s;
}
void walk_batch(std::span<const trajectory> prefixes, std::span<random_engine> engines, std::span<step> out) {
  for (std::size_t i = 0; i < prefixes.size(); ++i) out[i] = walk(prefixes[i], engines[i]);
}
// ORM: the closer the answer to 7, the better.
double closeness(const trajectory& t) {
  const auto a = boxed_answer{}(t);
  return a ? 1.0 / (1.0 + std::abs(std::stod(*a) - 7.0)) : 0.0;
}
void closeness_batch(std::span<const trajectory> items, std::span<double> out) {
  for (std::size_t i = 0; i < items.size(); ++i) out[i] = closeness(items[i]);
}
// PRM: a fixed pseudo-random function of the whole path.
double path_score(const trajectory& t) { return static_cast<double>(t.path_hash() % 1000) / 1000.0; }

template <class Answer>
void require_same_search(const search_result<Answer>& a, const search_result<Answer>& b) {
  REQUIRE(a.candidates.size() == b.candidates.size());
  for (std::size_t i = 0; i < a.candidates.size(); ++i) {
    CHECK(a.candidates[i].path.text() == b.candidates[i].path.text());
    CHECK(a.candidates[i].score == b.candidates[i].score);
  }
  CHECK(a.chosen_index == b.chosen_index);
  CHECK(a.answer == b.answer);
  CHECK(a.spent.tokens == b.spent.tokens);
  CHECK(a.spent.steps == b.spent.steps);
  CHECK(a.spent.verifier_items == b.spent.verifier_items);
}

auto per_item_gen = [](const trajectory& p, random_engine& e) { return walk(p, e); };
auto batched_gen = [](std::span<const trajectory> p, std::span<random_engine> e, std::span<step> o) {
  walk_batch(p, e, o);
};
auto per_item_score = [](const trajectory& t) { return closeness(t); };
auto batched_score = [](std::span<const trajectory> t, std::span<double> o) { closeness_batch(t, o); };
}  // namespace

TEST_CASE("adapters satisfy the library's concepts", "[from_function]") {
  using per_item = decltype(generator_from(per_item_gen));
  using batched = decltype(generator_from(batched_gen));
  STATIC_REQUIRE(generator<per_item>);
  STATIC_REQUIRE(generator<batched>);
  STATIC_REQUIRE_FALSE(stoppable_generator<per_item>);
  STATIC_REQUIRE(process_verifier<decltype(process_verifier_from(per_item_score))>);
  STATIC_REQUIRE(process_verifier<decltype(process_verifier_from(batched_score))>);
  STATIC_REQUIRE_FALSE(outcome_verifier<decltype(process_verifier_from(per_item_score))>);
  STATIC_REQUIRE(outcome_verifier<decltype(outcome_verifier_from(per_item_score))>);
  STATIC_REQUIRE(outcome_verifier<decltype(outcome_verifier_from(batched_score))>);
  STATIC_REQUIRE_FALSE(process_verifier<decltype(outcome_verifier_from(batched_score))>);
  // Plain functions and std::ref work too.
  STATIC_REQUIRE(generator<decltype(generator_from(walk))>);
  STATIC_REQUIRE(generator<decltype(generator_from(std::ref(per_item_gen)))>);
  STATIC_REQUIRE(outcome_verifier<decltype(outcome_verifier_from(closeness_batch))>);
}

TEST_CASE("adapters hold nothing but the callable", "[from_function]") {
  struct big {
    double weights[8]{};
    double operator()(const trajectory&) const { return weights[0]; }
  };
  STATIC_REQUIRE(sizeof(decltype(generator_from(per_item_gen))) == sizeof(per_item_gen));
  STATIC_REQUIRE(sizeof(decltype(process_verifier_from(big{}))) == sizeof(big));
  STATIC_REQUIRE(sizeof(decltype(outcome_verifier_from(big{}, concurrent_calls))) == sizeof(big));
}

TEST_CASE("only the concurrent_calls tag marks an adapter thread-safe", "[from_function]") {
  STATIC_REQUIRE_FALSE(enable_concurrent_calls<decltype(generator_from(per_item_gen))>);
  STATIC_REQUIRE_FALSE(enable_concurrent_calls<decltype(generator_from(per_item_gen, sequential_calls))>);
  STATIC_REQUIRE(enable_concurrent_calls<decltype(generator_from(per_item_gen, concurrent_calls))>);
  STATIC_REQUIRE_FALSE(enable_concurrent_calls<decltype(process_verifier_from(per_item_score))>);
  STATIC_REQUIRE(enable_concurrent_calls<decltype(process_verifier_from(per_item_score, concurrent_calls))>);
  STATIC_REQUIRE_FALSE(enable_concurrent_calls<decltype(outcome_verifier_from(batched_score))>);
  STATIC_REQUIRE(enable_concurrent_calls<decltype(outcome_verifier_from(batched_score, concurrent_calls))>);
}

TEST_CASE("callables of no accepted shape are rejected by the shape concepts", "[from_function]") {
  STATIC_REQUIRE(generator_function<decltype(per_item_gen)>);
  STATIC_REQUIRE(generator_function<decltype(batched_gen)>);
  STATIC_REQUIRE(score_function<decltype(per_item_score)>);
  STATIC_REQUIRE(score_function<decltype(batched_score)>);

  auto no_engine = [](const trajectory&) { return step{}; };                         // missing the engine
  auto returns_text = [](const trajectory&, random_engine&) { return std::string("x"); };
  auto batched_returns_int = [](std::span<const trajectory>, std::span<random_engine>, std::span<step>) { return 1; };
  auto wrong_span = [](std::span<trajectory>, std::span<random_engine>, std::span<step>) {};  // non-const prefixes
  STATIC_REQUIRE_FALSE(generator_function<decltype(no_engine)>);
  STATIC_REQUIRE_FALSE(generator_function<decltype(returns_text)>);
  STATIC_REQUIRE_FALSE(generator_function<decltype(batched_returns_int)>);
  STATIC_REQUIRE_FALSE(generator_function<decltype(wrong_span)>);
  STATIC_REQUIRE_FALSE(generator_function<int>);

  auto score_text = [](const trajectory&) { return std::string("good"); };
  auto returns_scores = [](std::span<const trajectory> t) { return std::vector<double>(t.size()); };
  auto batched_returns_value = [](std::span<const trajectory>, std::span<double>) { return 0.0; };
  auto by_index = [](std::size_t) { return 0.5; };
  STATIC_REQUIRE_FALSE(score_function<decltype(score_text)>);
  STATIC_REQUIRE_FALSE(score_function<decltype(returns_scores)>);
  STATIC_REQUIRE_FALSE(score_function<decltype(batched_returns_value)>);
  STATIC_REQUIRE_FALSE(score_function<decltype(by_index)>);
}

TEST_CASE("per-item and batched shapes give the same best_of_n as a hand-written loop", "[from_function]") {
  const best_of_n_options options{.n = 8, .exec = {.batch_size = 3}};
  auto g1 = generator_from(per_item_gen);
  auto g2 = generator_from(batched_gen);
  auto o1 = outcome_verifier_from(per_item_score);
  auto o2 = outcome_verifier_from(batched_score);
  std::mt19937_64 rng1(5), rng2(5);
  const auto r1 = best_of_n(g1, o1, "Q", options, rng1);
  const auto r2 = best_of_n(g2, o2, "Q", options, rng2);
  require_same_search(r1, r2);

  REQUIRE(r1.has_choice());
  REQUIRE(r1.candidates.size() == 8);
  double best = -1.0;
  for (const auto& c : r1.candidates) {
    REQUIRE(c.finished());
    CHECK(c.score == closeness(c.path));
    CHECK(std::stoi(*c.answer) >= 6);
    CHECK(std::stoi(*c.answer) <= 8);
    best = std::max(best, c.score);
  }
  CHECK(r1.chosen().score == best);
  // Accounting: one token per step; each round of live walks split into calls of 3.
  CHECK(r1.spent.tokens == r1.spent.steps);
  CHECK(r1.spent.samples == 8);
  CHECK(r1.spent.verifier_calls == 3);  // ceil(8 / 3) ORM calls
  CHECK(r1.spent.verifier_items == 8);
}

TEST_CASE("per-item and batched PRMs drive beam_search identically, on 1 or 2 threads", "[from_function]") {
  const beam_search_options options{.n = 8, .beam_width = 2, .max_depth = 10};
  auto gen = generator_from(walk, concurrent_calls);
  auto prm1 = process_verifier_from(path_score);
  auto prm2 = process_verifier_from([](std::span<const trajectory> t, std::span<double> out) {
    for (std::size_t i = 0; i < t.size(); ++i) out[i] = path_score(t[i]);
  });
  std::mt19937_64 rng1(9), rng2(9), rng3(9);
  const auto r1 = beam_search(gen, prm1, "Q", options, rng1);
  const auto r2 = beam_search(gen, prm2, "Q", options, rng2);
  require_same_search(r1, r2);
  REQUIRE(r1.has_choice());
  CHECK(r1.chosen().finished());
  CHECK(r1.chosen().score == path_score(r1.chosen().path));  // aggregate::last

  auto prm3 = process_verifier_from(path_score, concurrent_calls);
  auto threaded = options;
  threaded.exec = {.batch_size = 2, .threads = 2};
  const auto r3 = beam_search(gen, prm3, "Q", threaded, rng3);
  require_same_search(r1, r3);
}

TEST_CASE("concurrent_calls adapters run on two threads; others raise invalid_argument", "[from_function]") {
  std::atomic<std::size_t> generated{0}, scored{0};
  auto counted_walk = [&](const trajectory& p, random_engine& e) {
    generated.fetch_add(1, std::memory_order_relaxed);
    return walk(p, e);
  };
  auto counted_score = [&](const trajectory& t) {
    scored.fetch_add(1, std::memory_order_relaxed);
    return closeness(t);
  };
  const best_of_n_options two_threads{.n = 16, .exec = {.batch_size = 2, .threads = 2}};

  auto safe_gen = generator_from(counted_walk, concurrent_calls);
  auto safe_orm = outcome_verifier_from(counted_score, concurrent_calls);
  std::mt19937_64 rng(1), rng_serial(1);
  const auto r = best_of_n(safe_gen, safe_orm, "Q", two_threads, rng);
  CHECK(generated.load() == r.spent.steps);
  CHECK(scored.load() == 16);
  auto serial_gen = generator_from(walk);
  auto serial_orm = outcome_verifier_from(closeness);
  require_same_search(r, best_of_n(serial_gen, serial_orm, "Q", best_of_n_options{.n = 16}, rng_serial));

  auto unsafe_gen = generator_from(counted_walk);
  auto unsafe_orm = outcome_verifier_from(counted_score);
  CHECK_THROWS_AS(best_of_n(unsafe_gen, safe_orm, "Q", two_threads, rng), ttscale::invalid_argument);
  CHECK_THROWS_WITH(best_of_n(unsafe_gen, safe_orm, "Q", two_threads, rng),
                    Catch::Contains("generator is not marked thread-safe"));
  CHECK_THROWS_WITH(best_of_n(safe_gen, unsafe_orm, "Q", two_threads, rng),
                    Catch::Contains("verifier is not marked thread-safe"));
  auto unsafe_prm = process_verifier_from(path_score);
  const beam_search_options beam{.n = 4, .beam_width = 2, .exec = {.threads = 2}};
  CHECK_THROWS_AS(beam_search(safe_gen, unsafe_prm, "Q", beam, rng), ttscale::invalid_argument);
}

TEST_CASE("a batched generator's accounting is charged as returned", "[from_function]") {
  // E.g. a generator that runs a hidden draft model: 10 tokens of work per step returned.
  auto drafting = generator_from([](std::span<const trajectory> p, std::span<random_engine> e, std::span<step> out) {
    walk_batch(p, e, out);
    accounting a;
    a.generator_calls = 1;
    a.steps = out.size();
    a.tokens = 10 * out.size();
    return a;
  });
  auto orm = outcome_verifier_from(closeness);
  std::mt19937_64 rng(2);
  const auto r = majority_vote(drafting, "Q", vote_options{.n = 4}, rng);
  CHECK(r.spent.tokens == 10 * r.spent.steps);
  std::mt19937_64 rng2(2);
  const auto w = weighted_majority_vote(drafting, orm, "Q", vote_options{.n = 4}, rng2);
  CHECK(w.spent.tokens == r.spent.tokens);
  CHECK(w.spent.verifier_items == 4);
}

TEST_CASE("a stoppable batched lambda receives the stop token", "[from_function]") {
  auto gen = generator_from([](std::span<const trajectory> p, std::span<random_engine>, std::span<step> out,
                               std::stop_token stop) {
    for (std::size_t i = 0; i < p.size(); ++i)
      out[i] = step{.text = stop.stop_requested() ? "stopped" : "ran", .tokens = 1, .finished = true};
  });
  STATIC_REQUIRE(stoppable_generator<decltype(gen)>);
  trajectory_tree tree("Q");
  const trajectory prefixes[1] = {tree.root()};
  random_engine engines[1]{};
  step out[1];
  std::stop_source source;
  gen.extend(prefixes, engines, out, source.get_token());
  CHECK(out[0].text == "ran");
  source.request_stop();
  gen.extend(prefixes, engines, out, source.get_token());
  CHECK(out[0].text == "stopped");
  gen.extend(prefixes, engines, out);  // the plain call passes a token that is never stopped
  CHECK(out[0].text == "ran");
}

TEST_CASE("per-item adapters reject spans of different sizes", "[from_function][errors]") {
  auto gen = generator_from(walk);
  auto prm = process_verifier_from(path_score);
  trajectory_tree tree("Q");
  const trajectory prefixes[2] = {tree.root(), tree.root()};
  random_engine engines[1]{};
  step out[2];
  double scores[1];
  CHECK_THROWS_AS(gen.extend(prefixes, engines, out), size_mismatch);
  CHECK_THROWS_WITH(prm.score_steps(prefixes, scores), Catch::Contains("process_verifier_from: 2 items but 1"));
}

TEST_CASE("the adapter keeps a copy of the callable, or a reference through std::ref", "[from_function]") {
  struct counting_orm {
    int calls = 0;
    double operator()(const trajectory& t) {
      ++calls;
      return closeness(t);
    }
  };
  counting_orm by_value, by_reference;
  auto copy = outcome_verifier_from(by_value);
  auto ref = outcome_verifier_from(std::ref(by_reference));
  auto gen = generator_from(walk);
  std::mt19937_64 rng1(4), rng2(4);
  (void)best_of_n(gen, copy, "Q", best_of_n_options{.n = 5}, rng1);
  (void)best_of_n(gen, ref, "Q", best_of_n_options{.n = 5}, rng2);
  CHECK(by_value.calls == 0);
  CHECK(copy.function().calls == 5);
  CHECK(by_reference.calls == 5);
}
