#include <ttscale/strategies/nested.hpp>
#include <ttscale/strategies/a_star.hpp>
#include <ttscale/strategies/beam_search.hpp>
#include <ttscale/strategies/best_of_n.hpp>
#include <ttscale/strategies/dvts.hpp>
#include <ttscale/strategies/first_finish.hpp>
#include <ttscale/strategies/majority_vote.hpp>
#include <ttscale/toy/arithmetic.hpp>
#include <ttscale/toy/scripted.hpp>

#include <catch2/catch.hpp>

#include <random>
#include <string>
#include <vector>

using namespace ttscale;

namespace {
const toy::arithmetic_problem& problem() {
  static const auto problems = toy::make_problems({.count = 1, .min_level = 4, .max_level = 4, .seed = 21});
  return problems[0];
}
}  // namespace

TEST_CASE("majority vote over beam searches: accounting nests exactly", "[nested]") {
  const auto& p = problem();
  toy::arithmetic_generator gen(p);
  toy::noisy_prm prm(p, {.auc = 0.9, .seed = 3});
  std::vector<search_result<std::string>> inner_results;
  auto beams = as_sampler([&](search_start start, random_engine& rng) {
    auto r = beam_search(gen, prm, std::move(start), beam_search_options{.n = 8, .beam_width = 4}, rng);
    inner_results.push_back(r);
    return r;
  });
  std::mt19937_64 rng(4);
  const auto r = majority_vote(beams, p.prompt(), vote_options{.n = 3, .max_steps = 1}, rng);
  REQUIRE(inner_results.size() == 3);
  accounting sum;
  for (const auto& x : inner_results) sum += x.spent;
  CHECK(r.spent.tokens == sum.tokens);
  CHECK(r.spent.steps == sum.steps);
  CHECK(r.spent.generator_calls == sum.generator_calls);  // calls of the real model, not of the wrapper
  CHECK(r.spent.verifier_calls == sum.verifier_calls);
  CHECK(r.spent.verifier_items == sum.verifier_items);
  CHECK(r.spent.samples == 3);  // the outer candidates; inner candidates are work of a step
  CHECK(beams.spent().tokens == sum.tokens);
  // Each outer candidate is its beam search's chosen completion, as one step.
  for (std::size_t i = 0; i < 3; ++i) {
    REQUIRE(inner_results[i].has_choice());
    CHECK(r.candidates[i].path.completion() == inner_results[i].chosen().path.completion());
    CHECK(r.candidates[i].path.tokens() == inner_results[i].chosen().path.tokens());
    CHECK(r.candidates[i].path.depth() == 1);
  }
}

TEST_CASE("best-of-N over DVTS and first-finish over A* compose", "[nested]") {
  const auto& p = problem();
  toy::arithmetic_generator gen(p);
  toy::noisy_prm prm(p, {.auc = 0.9, .seed = 3});
  std::mt19937_64 rng(6);
  auto subtrees = as_sampler([&](search_start start, random_engine& r) {
    return dvts(gen, prm, std::move(start), dvts_options{.n = 8, .beam_width = 4}, r);
  });
  const auto best = best_of_n(subtrees, prm, p.prompt(), best_of_n_options{.n = 2, .max_steps = 1}, rng);
  REQUIRE(best.has_choice());
  CHECK(best.spent.tokens == subtrees.spent().tokens);
  // The outer PRM scores each merged step once: 2 more verifier items than the inner searches.
  CHECK(best.spent.verifier_items == subtrees.spent().verifier_items + 2);

  auto searches = as_sampler([&](search_start start, random_engine& r) {
    return a_star(gen, prm, std::move(start), a_star_options{.continuations = 3, .expansions = 30}, r);
  });
  const auto first = first_finish(searches, p.prompt(), first_finish_options{.n = 3}, rng);
  REQUIRE(first.has_choice());
  CHECK(first.spent.generator_calls == searches.spent().generator_calls);
  CHECK(first.stopped == stop_reason::first_finished);
}

TEST_CASE("a nested sampler's total budget caps the inner searches", "[nested][budget]") {
  const auto& p = problem();
  toy::arithmetic_generator gen(p);
  toy::noisy_prm prm(p, {.auc = 0.9, .seed = 3});
  std::vector<budget> seen;
  auto beams = as_sampler(
      [&](search_start start, random_engine& rng, const budget& remaining) {
        seen.push_back(remaining);
        return beam_search(gen, prm, std::move(start),
                           beam_search_options{.n = 4, .beam_width = 2, .budget = remaining}, rng);
      },
      nested_options{.total = {.max_tokens = 600}});
  std::mt19937_64 rng(2);
  const auto r = majority_vote(beams, p.prompt(), vote_options{.n = 6, .max_steps = 1}, rng);
  // Each inner search costs well over 100 tokens, so fewer than 6 run; the
  // rest get an empty finished step at no cost: those candidates abstain.
  REQUIRE(!seen.empty());
  CHECK(seen.size() < 6);
  CHECK(seen[0].max_tokens == 600);
  for (std::size_t i = 1; i < seen.size(); ++i) CHECK(seen[i].max_tokens < seen[i - 1].max_tokens);
  CHECK(beams.spent().tokens >= 600);
  CHECK(r.spent.tokens == beams.spent().tokens);
  std::size_t empty = 0;
  for (const auto& c : r.candidates) empty += c.finished() && c.path.tokens() == 0 && !c.answer;
  CHECK(empty >= 6 - seen.size());
  CHECK(r.abstained >= empty);
}

TEST_CASE("nested searches are deterministic across outer threads", "[nested][determinism]") {
  const auto& p = problem();
  toy::arithmetic_generator gen(p);
  toy::noisy_prm prm(p, {.auc = 0.9, .seed = 3});
  std::vector<std::string> answers;
  std::vector<std::uint64_t> tokens;
  for (execution exec : {execution{}, execution{.batch_size = 1, .threads = 2}}) {
    auto beams = as_sampler<true>([&](search_start start, random_engine& rng) {
      return beam_search(gen, prm, std::move(start), beam_search_options{.n = 4, .beam_width = 2}, rng);
    });
    std::mt19937_64 rng(12);
    const auto r = majority_vote(beams, p.prompt(), vote_options{.n = 4, .max_steps = 1, .exec = exec}, rng);
    answers.push_back(r.answer.value_or(""));
    tokens.push_back(r.spent.tokens);
  }
  CHECK(answers[0] == answers[1]);
  CHECK(tokens[0] == tokens[1]);
}
