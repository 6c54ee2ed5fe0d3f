#include <ttscale/selection/rpc.hpp>
#include <ttscale/strategies/best_of_n.hpp>
#include <ttscale/toy/arithmetic.hpp>
#include <ttscale/toy/scripted.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <optional>
#include <random>
#include <span>
#include <string>
#include <vector>

using namespace ttscale;

namespace {
constexpr double inf = std::numeric_limits<double>::infinity();

// Candidates over one tree, each one step from the root: its text, tokens and
// log-probability as given (equal texts make equal paths).
struct fixture {
  trajectory_tree tree{"P"};
  std::vector<candidate<std::string>> c;
  void add(std::optional<std::string> answer, std::string text, std::uint32_t tokens, double logprob,
           bool finished = true) {
    const trajectory t = tree.append(0, step{std::move(text), tokens, logprob, finished, 0});
    c.push_back({t, std::numeric_limits<double>::quiet_NaN(), std::move(answer)});
  }
  // A one-token path with probability p (per token and whole path alike).
  void add_p(std::string answer, double p) { add(answer, "path " + std::to_string(c.size()), 1, std::log(p)); }
  std::span<const candidate<std::string>> span() const { return c; }
};

const std::string* total_answer(const choice<std::string>& s, std::size_t a) { return &s.totals.at(a).answer; }

constexpr select::rpc_t pc_only{.low_component_threshold = 1.0};  // no pruning
}  // namespace

TEST_CASE("rpc sums each answer's path probabilities (perplexity consistency)", "[rpc]") {
  fixture f;
  f.add("x", "a", 2, -0.4);   // per token -0.2
  f.add("y", "b", 1, -0.1);   // per token -0.1
  f.add("x", "c", 4, -2.4);   // per token -0.6
  f.add(std::nullopt, "d", 1, 0.0);    // abstains
  f.add("y", "e", 1, 0.0, false);      // unfinished: no vote
  SECTION("per token (default): p = exp(logprob / tokens)") {
    const auto s = pc_only(f.span());
    REQUIRE(s.totals.size() == 2);
    CHECK(*total_answer(s, 0) == "x");
    CHECK(s.totals[0].total == Approx(std::log(std::exp(-0.2) + std::exp(-0.6))).epsilon(1e-12));
    CHECK(s.totals[1].total == Approx(-0.1).epsilon(1e-12));
    CHECK(s.totals[0].count == 2);
    CHECK(s.totals[1].count == 1);
    CHECK(s.totals[1].first_index == 1);
    CHECK(s.answer == "x");  // 0.819 + 0.549 > 0.905
    CHECK(s.index == 0u);    // x's most probable path
  }
  SECTION("whole path: p = exp(logprob)") {
    const auto s = select::rpc_t{.probability = select::rpc_probability::whole_path,
                                 .low_component_threshold = 1.0}(f.span());
    CHECK(s.totals[0].total == Approx(std::log(std::exp(-0.4) + std::exp(-2.4))).epsilon(1e-12));
    CHECK(s.totals[1].total == Approx(-0.1).epsilon(1e-12));
    CHECK(s.answer == "y");  // 0.670 + 0.091 < 0.905
    CHECK(s.index == 1u);
  }
}

TEST_CASE("rpc sums in log space: whole-path probabilities far below the double range", "[rpc]") {
  fixture f;
  f.add("x", "a", 1000, -5000.0);
  f.add("x", "b", 1000, -5000.5);
  f.add("y", "c", 1000, -4999.8);
  const auto s = select::rpc_t{.probability = select::rpc_probability::whole_path, .low_component_threshold = 1.0}(
      f.span());
  CHECK(s.totals[0].total == Approx(-5000.0 + std::log1p(std::exp(-0.5))).epsilon(1e-14));
  CHECK(s.totals[1].total == Approx(-4999.8).epsilon(1e-14));
  CHECK(s.answer == "x");  // 1 + e^-0.5 = 1.61 > e^0.2 = 1.22 (in units of e^-5000)
  // With pruning on, the fit sees p / max p and must not break on exp(-5000).
  const auto pruned = select::rpc_t{.probability = select::rpc_probability::whole_path}(f.span());
  CHECK(std::isfinite(pruned.totals[0].total));
  CHECK(pruned.index.has_value());
}

TEST_CASE("rpc counts identical reasoning paths once", "[rpc]") {
  fixture f;
  f.add("x", "same path", 1, std::log(0.5));
  f.add("y", "other path", 1, std::log(0.6));
  f.add("x", "same path", 1, std::log(0.5));  // the same text: the same path, sampled twice
  REQUIRE(f.c[0].path.path_hash() == f.c[2].path.path_hash());
  const auto s = pc_only(f.span());
  CHECK(s.totals[0].total == Approx(std::log(0.5)).epsilon(1e-12));  // not log(1.0)
  CHECK(s.totals[0].count == 2);                                     // both copies still counted as votes
  CHECK(s.answer == "y");                                            // majority would say x
  CHECK(select::majority(f.span()).answer == "x");
  SECTION("paths that differ in any step are distinct, even with equal probabilities") {
    fixture g;
    const trajectory a = g.tree.append(0, step{"s1 ", 1, std::log(0.5), false, 0});
    const trajectory b = g.tree.append(0, step{"s1 ", 1, std::log(0.5), false, 0});
    g.c.push_back({g.tree.append(a.id(), step{"end", 1, 0.0, true, 0}), 0.0, "x"});
    g.c.push_back({g.tree.append(b.id(), step{"end", 1, 0.0, true, 0}), 0.0, "x"});  // same text as the first
    g.c.push_back({g.tree.append(b.id(), step{"END", 1, 0.0, true, 0}), 0.0, "x"});  // differs in the last step
    const auto t = select::rpc_t{.probability = select::rpc_probability::whole_path,
                                 .low_component_threshold = 1.0}(g.span());
    CHECK(t.totals[0].total == Approx(std::log(1.0)).margin(1e-12));  // 0.5 (one of the twins) + 0.5
  }
}

TEST_CASE("rpc ties go to the answer that appeared first, then to the lowest index", "[rpc]") {
  fixture g;  // equal totals: the same probabilities, summed in the same order
  g.add_p("b", 0.4);
  g.add_p("a", 0.4);
  g.add_p("b", 0.1);
  g.add_p("a", 0.1);
  const auto t = pc_only(g.span());
  REQUIRE(t.totals[0].total == t.totals[1].total);
  CHECK(t.answer == "b");
  CHECK(t.index == 0u);
  fixture h;  // within the winner, equal probabilities: the lowest index
  h.add_p("a", 0.4);
  h.add_p("a", 0.4);
  CHECK(pc_only(h.span()).index == 0u);
}

TEST_CASE("rpc abstentions: no answer or unfinished candidates neither vote nor shape the pruning", "[rpc]") {
  fixture f;
  f.add(std::nullopt, "a", 1, std::log(0.01));
  f.add("x", "b", 1, std::log(0.5), /*finished=*/false);
  CHECK_FALSE(select::rpc(f.span()).index.has_value());
  CHECK(select::rpc(f.span()).totals.empty());
  f.add_p("y", 0.2);
  const auto s = select::rpc(f.span());
  CHECK(s.answer == "y");
  CHECK(s.index == 2u);
  CHECK(s.totals.size() == 1);
  // Adding many abstainers of any probability changes nothing.
  fixture g;
  for (double p : {0.9, 0.88, 0.3, 0.31, 0.32, 0.86}) g.add_p(p > 0.5 ? "hi" : "lo", p);
  const auto before = select::rpc(g.span());
  for (int k = 0; k < 10; ++k) g.add(std::nullopt, "abstain " + std::to_string(k), 1, std::log(0.01 * (k + 1)));
  const auto after = select::rpc(g.span());
  CHECK(after.answer == before.answer);
  CHECK(after.totals[0].total == before.totals[0].total);
  CHECK(after.totals[1].total == before.totals[1].total);
}

TEST_CASE("rpc prunes the low-probability mode (reasoning pruning)", "[rpc]") {
  // Four confident paths to "right" (p ~ 0.9) and eight unconfident ones to
  // "wrong" (p ~ 0.5): summed, "wrong" outweighs "right" (4.0 vs 3.6), and it
  // also has the majority. The low mode sits below the mean probability (0.63)
  // and is the low Weibull component, so pruning removes it.
  fixture f;
  const double high[] = {0.91, 0.9, 0.89, 0.9};
  const double low[] = {0.52, 0.5, 0.48, 0.51, 0.49, 0.5, 0.53, 0.47};
  for (std::size_t k = 0; k < 8; ++k) {
    if (k < 4) f.add_p("right", high[k]);
    f.add_p("wrong", low[k]);
  }
  const auto plain = pc_only(f.span());
  const auto m = select::majority(f.span());
  CHECK(plain.answer == "wrong");
  CHECK(m.answer == "wrong");
  const auto s = select::rpc(f.span());
  CHECK(s.answer == "right");
  REQUIRE(s.totals.size() == 2);
  CHECK(*total_answer(s, 1) == "wrong");
  CHECK(s.totals[1].total == -inf);  // every "wrong" path pruned
  CHECK(s.totals[1].count == 8);     // but they were votes
  CHECK(s.totals[0].total == Approx(std::log(0.91 + 0.9 + 0.89 + 0.9)).epsilon(1e-12));  // nothing "right" pruned
  CHECK(s.index == 0u);  // p = 0.91
  // The fit itself: a clear high and low component, each path in its own.
  std::vector<double> u;
  for (const auto& cand : f.c) u.push_back(cand.path.logprob() - std::log(0.91));
  const detail::weibull_mixture fit = detail::fit_weibull_mixture(u, 500);
  CHECK(detail::weibull_log_mean(fit.high) > detail::weibull_log_mean(fit.low));
  for (std::size_t i = 0; i < f.c.size(); ++i)
    CHECK((detail::low_membership(fit, u[i]) > 0.5) == (*f.c[i].answer == "wrong"));
  SECTION("the threshold decides how sure the fit must be") {
    // With threshold 1 nothing is pruned; the default 0.5 prunes the low mode.
    CHECK(select::rpc_t{.low_component_threshold = 1.0}(f.span()).answer == "wrong");
    CHECK(select::rpc_t{.low_component_threshold = 0.5}(f.span()).answer == "right");
  }
}

TEST_CASE("rpc's safeguard: paths at or above the mean probability are never pruned", "[rpc]") {
  SECTION("no spread: every probability equal, nothing is pruned (RPC = PC = distinct-path count)") {
    fixture f;
    for (int k = 0; k < 5; ++k) f.add("a", "a" + std::to_string(k), 10, -2.0);
    for (int k = 0; k < 4; ++k) f.add("b", "b" + std::to_string(k), 10, -2.0);
    const auto s = select::rpc(f.span());
    const auto plain = pc_only(f.span());
    CHECK(s.totals[0].total == plain.totals[0].total);
    CHECK(s.totals[1].total == plain.totals[1].total);
    CHECK(s.totals[0].total == Approx(std::log(5.0) - 0.2).epsilon(1e-12));
  }
  SECTION("the most probable path always survives") {
    for (double spread : {0.1, 1.0, 10.0, 100.0}) {
      fixture f;
      f.add_p("top", 0.9);
      for (int k = 0; k < 6; ++k) f.add_p("rest", 0.9 * std::exp(-spread * (1.0 + 0.1 * k)));
      const auto s = select::rpc(f.span());
      CHECK(std::isfinite(s.totals[0].total));
      CHECK(s.totals[0].total == Approx(std::log(0.9)).epsilon(1e-12));
    }
  }
  SECTION("two paths") {
    fixture f;
    f.add_p("a", 0.2);
    f.add_p("b", 0.7);
    CHECK(select::rpc(f.span()).answer == "b");
  }
}

TEST_CASE("rpc: -inf log-probability is probability 0; NaN, +inf and missing tokens are errors", "[rpc][errors]") {
  fixture f;
  f.add("x", "a", 3, -inf);
  f.add_p("y", 0.1);
  auto s = select::rpc(f.span());
  CHECK(s.answer == "y");
  CHECK(s.totals[0].total == -inf);
  CHECK(s.totals[0].count == 1);

  fixture all;
  all.add("x", "a", 3, -inf);
  all.add("y", "b", 3, -inf);
  CHECK_THROWS_AS(select::rpc(all.span()), invalid_score);
  CHECK_THROWS_WITH(select::rpc(all.span()),
                    "select::rpc: every log-probability is -inf (2 answers), so no answer has probability");

  fixture bad;
  bad.add_p("x", 0.5);
  bad.add("y", "b", 3, std::numeric_limits<double>::quiet_NaN());
  CHECK_THROWS_AS(select::rpc(bad.span()), invalid_score);
  CHECK_THROWS_WITH(select::rpc(bad.span()), Catch::Contains("select::rpc: candidate 1") && Catch::Contains("nan"));
  fixture plus;
  plus.add("x", "a", 3, inf);
  CHECK_THROWS_WITH(select::rpc(plus.span()), Catch::Contains("candidate 0 has log-probability inf"));
  // An abstainer's bad log-probability is never read.
  fixture quiet;
  quiet.add(std::nullopt, "a", 3, std::numeric_limits<double>::quiet_NaN());
  quiet.add_p("x", 0.5);
  CHECK(select::rpc(quiet.span()).answer == "x");

  fixture no_tokens;
  no_tokens.add("x", "a", 0, -1.0);
  CHECK_THROWS_AS(select::rpc(no_tokens.span()), invalid_score);
  CHECK_THROWS_WITH(select::rpc(no_tokens.span()), Catch::Contains("candidate 0 has 0 tokens"));
  const auto whole = select::rpc_t{.probability = select::rpc_probability::whole_path}(no_tokens.span());
  CHECK(whole.answer == "x");
}

TEST_CASE("rpc rejects bad options, naming select::rpc and the value", "[rpc][errors]") {
  fixture f;
  f.add_p("x", 0.5);
  CHECK_THROWS_AS(select::rpc_t{.low_component_threshold = -0.1}(f.span()), invalid_argument);
  CHECK_THROWS_WITH(select::rpc_t{.low_component_threshold = -0.1}(f.span()),
                    "select::rpc: low_component_threshold must be in [0, 1] (got -0.1)");
  CHECK_THROWS_WITH(select::rpc_t{.low_component_threshold = 1.5}(f.span()),
                    "select::rpc: low_component_threshold must be in [0, 1] (got 1.5)");
  CHECK_THROWS_WITH(select::rpc_t{.low_component_threshold = std::nan("")}(f.span()),
                    "select::rpc: low_component_threshold must be in [0, 1] (got nan)");
  CHECK_THROWS_WITH(select::rpc_t{.max_fit_iterations = 0}(f.span()),
                    "select::rpc: max_fit_iterations must be at least 1 (got 0)");
  CHECK_THROWS_WITH(select::rpc_t{.probability = static_cast<select::rpc_probability>(7)}(f.span()),
                    "select::rpc: probability must be per_token or whole_path (got 7)");
  // Options are checked even with nothing to select.
  fixture empty;
  CHECK_THROWS_AS(select::rpc_t{.low_component_threshold = -1.0}(empty.span()), invalid_argument);
}

TEST_CASE("rpc is a selection policy usable in best_of_n", "[rpc]") {
  STATIC_REQUIRE(selection_policy<select::rpc_t, std::string>);
  STATIC_REQUIRE(selection_policy<select::rpc_t, int>);
  // Three scripts: two unconfident paths to 7, one confident path to 5. The
  // verifier's scores are not read.
  toy::scripted_generator gen({
      {toy::scripted_step("think", false, 1, -1.0), toy::scripted_step("\\boxed{7}", true, 1, -1.0)},
      {toy::scripted_step("\\boxed{5}", true, 2, -0.2)},
      {toy::scripted_step("ponder", false, 1, -1.1), toy::scripted_step("\\boxed{7}", true, 1, -0.9)},
  });
  toy::function_orm orm{[](const trajectory& t) { return boxed_answer{}(t) == "7" ? 1.0 : 0.0; }};
  std::mt19937_64 rng(1);
  const auto r = best_of_n(gen, orm, "Q",
                           best_of_n_options{.n = 3, .selection = select::rpc_t{.low_component_threshold = 1.0}}, rng);
  // per token: 7 -> e^-1 + e^-1 = 0.736, 5 -> e^-0.1 = 0.905.
  CHECK(r.answer == "5");
  CHECK(r.chosen_index == 1u);
  REQUIRE(r.totals.size() == 2);
  CHECK(r.totals[0].total == Approx(std::log(2.0) - 1.0).epsilon(1e-12));
  CHECK(r.totals[1].total == Approx(-0.1).epsilon(1e-12));
}

TEST_CASE("the Weibull mixture fit separates a known two-mode sample as well as the true mixture",
          "[rpc][statistical]") {
  // 2000 draws of a 0.6 / 0.4 mixture of Weibull(k = 10, l = 0.8) and
  // Weibull(k = 4, l = 0.5) (inverse-CDF sampling), which overlap: no rule
  // labels every draw right. The Bayes rule under the
  // true parameters labels a fraction a* of the draws right; the fitted
  // rule's accuracy a differs from a* by the fit's error plus sampling noise.
  // The fitted rule may not be worse than a* - 3 sqrt(a*(1 - a*) / n) (3
  // binomial standard deviations), and the fitted weight must be within 3
  // standard deviations sqrt(w (1 - w) / n) of 0.6.
  const std::size_t n = 2000;
  std::mt19937_64 rng(2025);
  std::uniform_real_distribution<double> uniform(0.0, 1.0);
  const detail::weibull_mixture truth{{0.6, 10.0, std::log(0.8)}, {0.4, 4.0, std::log(0.5)}, 0.0, 0};
  std::vector<double> u(n);
  std::vector<char> is_low(n);
  for (std::size_t i = 0; i < n; ++i) {
    is_low[i] = uniform(rng) < 0.4;
    const detail::weibull_component& c = is_low[i] ? truth.low : truth.high;
    const double v = 1.0 - uniform(rng);                          // (0, 1]
    u[i] = c.log_scale + std::log(-std::log(v)) / c.shape;        // log of l (-log v)^(1/k)
  }
  const detail::weibull_mixture fit = detail::fit_weibull_mixture(u, 500);
  std::size_t bayes = 0, fitted = 0;
  for (std::size_t i = 0; i < n; ++i) {
    bayes += (detail::low_membership(truth, u[i]) > 0.5) == static_cast<bool>(is_low[i]);
    fitted += (detail::low_membership(fit, u[i]) > 0.5) == static_cast<bool>(is_low[i]);
  }
  const double a_star = static_cast<double>(bayes) / n, a = static_cast<double>(fitted) / n;
  INFO("Bayes accuracy " << a_star << ", fitted " << a << ", weight " << fit.high.weight << ", shapes "
                         << fit.high.shape << " / " << fit.low.shape << ", EM iterations " << fit.iterations);
  CHECK(a >= a_star - 3.0 * std::sqrt(a_star * (1.0 - a_star) / n));
  CHECK(std::abs(fit.high.weight - 0.6) < 3.0 * std::sqrt(0.6 * 0.4 / n));
}

namespace {
// Paired sign test on the same toy problems, as in particle_filter_test: under
// "no difference" each discordant problem (one policy right, the other wrong)
// goes either way with probability 1/2, so first_only - second_only has mean 0
// and standard deviation sqrt(first_only + second_only).
struct paired_outcome {
  std::size_t first_only = 0, second_only = 0, first_right = 0, second_right = 0, problems = 0;
  [[nodiscard]] double null_sd() const { return std::sqrt(static_cast<double>(first_only + second_only)); }
  [[nodiscard]] double lead() const { return static_cast<double>(first_only) - static_cast<double>(second_only); }
};

// The toy model with its log-probabilities replaced: `per_token(prefix, step)`
// gives the new step's mean token log-probability. The steps, answers and
// tokens are the toy model's.
template <class PerToken>
struct relabelled_generator {
  static constexpr bool thread_safe = true;
  const toy::arithmetic_generator* inner;
  PerToken per_token;
  void extend(std::span<const trajectory> prefixes, std::span<random_engine> engines, std::span<step> out) const {
    inner->extend(prefixes, engines, out);
    for (std::size_t i = 0; i < out.size(); ++i) out[i].logprob = per_token(prefixes[i], out[i]) * out[i].tokens;
  }
};

// N samples per problem at levels 1-5; both policies select from the same candidates.
template <class Relabel, class First, class Second>
paired_outcome paired_on_toy(std::size_t problems, std::size_t n, Relabel relabel, First first, Second second) {
  const auto set = toy::make_problems({.count = problems, .min_level = 1, .max_level = 5, .seed = 31});
  paired_outcome o;
  for (const auto& p : set) {
    toy::arithmetic_generator base(p);
    toy::exact_verifier unused(p);  // best_of_n needs a verifier; rpc and majority never read its scores
    std::mt19937_64 rng(p.id);
    std::vector<candidate<std::string>> c;
    auto r = [&] {
      if constexpr (std::is_same_v<Relabel, std::nullptr_t>) {
        return best_of_n(base, unused, p.prompt(), best_of_n_options{.n = n, .max_steps = 24}, rng);
      } else {
        relabelled_generator<Relabel> gen{&base, relabel};
        return best_of_n(gen, unused, p.prompt(), best_of_n_options{.n = n, .max_steps = 24}, rng);
      }
    }();
    const std::span<const candidate<std::string>> cs(r.candidates);
    const std::string right = std::to_string(p.answer());
    const bool a = first(cs).answer == right, b = second(cs).answer == right;
    o.first_only += a && !b;
    o.second_only += b && !a;
    o.first_right += a;
    o.second_right += b;
  }
  o.problems = problems;
  return o;
}

// The same candidates with their per-token log-probabilities permuted among
// them (a fixed shuffle per problem): the distribution of log-probabilities
// is the model's, but which path has which is chance.
template <class Policy>
auto on_shuffled(Policy policy, std::uint64_t seed) {
  return [policy, seed](std::span<const candidate<std::string>> cs) {
    std::vector<std::size_t> perm(cs.size());
    std::iota(perm.begin(), perm.end(), std::size_t{0});
    std::mt19937_64 g(seed ^ (cs.empty() ? 0 : cs[0].path.path_hash()));
    std::shuffle(perm.begin(), perm.end(), g);
    auto tree = std::make_shared<trajectory_tree>("shuffled");
    std::vector<candidate<std::string>> out;
    for (std::size_t i = 0; i < cs.size(); ++i) {
      const trajectory& from = cs[perm[i]].path;
      const double mean = from.tokens() ? from.logprob() / static_cast<double>(from.tokens()) : 0.0;
      trajectory t = tree->root();
      for (const step_view* s : cs[i].path.steps()) {
        step_view copy = *s;
        copy.logprob = mean * copy.tokens;
        t = tree->append(t.id(), copy);
      }
      out.push_back({t, cs[i].score, cs[i].answer});
    }
    return policy(std::span<const candidate<std::string>>(out));
  };
}
}  // namespace

TEST_CASE("rpc beats majority at small N when log-probabilities carry signal", "[rpc][statistical]") {
  // The toy model's own log-probabilities (toy/arithmetic.hpp): right steps
  // have mean token log-probability -0.15, random slips -0.6 and systematic
  // trap slips -0.18 (as confident as right ones), so a path with a random
  // slip is less probable, a trapped one hardly. Measured over these
  // problems: mean per-token log-probability -0.15 for right paths, -0.25 for
  // wrong ones. At N = 4 majority vote often splits or ties (ties go to the
  // first sample); PC breaks them by probability and RP drops the slipped
  // paths. Paired sign test over 600 problems: RPC's lead over majority must
  // exceed 3 null standard deviations (one-sided p ~ 0.0013). Measured while
  // writing this test: RPC 434 / 600 right, majority 369 / 600, 78 vs 13
  // discordant (a lead of 6.8 standard deviations), so the test is far from
  // its edge yet fails for a policy no better than majority.
  const auto o = paired_on_toy(600, 4, nullptr, select::rpc, select::majority);
  WARN("RPC " << o.first_right << " / " << o.problems << ", majority " << o.second_right << " / " << o.problems
              << "; RPC-only " << o.first_only << ", majority-only " << o.second_only);
  CHECK(o.lead() > 3.0 * o.null_sd());
}

TEST_CASE("rpc is not worse than majority when log-probabilities carry no signal", "[rpc][statistical]") {
  // Non-inferiority by the same paired sign test: majority's lead over RPC
  // may not exceed 3 null standard deviations. At N = 8 over 600 problems.
  SECTION("constant log-probabilities: no spread, so nothing is pruned and PC counts distinct paths") {
    auto constant = [](const trajectory&, const step&) { return -0.2; };
    const auto o = paired_on_toy(600, 8, constant, select::rpc, select::majority);
    WARN("RPC " << o.first_right << ", majority " << o.second_right << " of " << o.problems << "; RPC-only "
                << o.first_only << ", majority-only " << o.second_only);
    CHECK(-o.lead() <= 3.0 * o.null_sd());
  }
  SECTION("shuffled log-probabilities: perplexity consistency alone is not worse") {
    const auto o = paired_on_toy(600, 8, nullptr, on_shuffled(select::rpc_t{.low_component_threshold = 1.0}, 5),
                                 on_shuffled(select::majority, 5));
    WARN("PC " << o.first_right << ", majority " << o.second_right << " of " << o.problems << "; PC-only "
               << o.first_only << ", majority-only " << o.second_only);
    CHECK(-o.lead() <= 3.0 * o.null_sd());
  }
}

TEST_CASE("rpc's pruning costs votes when log-probabilities are shuffled (a limitation of the method)",
          "[rpc][statistical]") {
  // Reasoning Pruning assumes the low-probability mode is wrong reasoning.
  // With shuffled log-probabilities the low mode is a random subset of the
  // paths, so pruning throws away votes at random: at N = 8 majority beats
  // RPC (measured while writing this test: 410 vs 369 of 600 right, 64 vs 23
  // discordant, 4.4 null standard deviations). This pins the documented
  // limitation: majority's lead must exceed 3 null standard deviations.
  const auto o = paired_on_toy(600, 8, nullptr, on_shuffled(select::majority, 5), on_shuffled(select::rpc, 5));
  WARN("majority " << o.first_right << ", RPC " << o.second_right << " of " << o.problems << "; majority-only "
                   << o.first_only << ", RPC-only " << o.second_only);
  CHECK(o.lead() > 3.0 * o.null_sd());
}

TEST_CASE("rpc is deterministic: the same seed gives the same choice, across batch sizes and threads",
          "[rpc][determinism]") {
  const auto problems = toy::make_problems({.count = 6, .min_level = 3, .max_level = 5, .seed = 4});
  for (const auto& p : problems) {
    toy::arithmetic_generator gen(p);
    toy::exact_verifier unused(p);
    auto run = [&](execution exec) {
      std::mt19937_64 rng(99);
      return best_of_n(gen, unused, p.prompt(),
                       best_of_n_options{.n = 32, .max_steps = 24, .selection = select::rpc, .exec = exec}, rng);
    };
    const auto reference = run({});
    const auto other = run({.batch_size = 5, .threads = 2});
    CHECK(other.answer == reference.answer);
    CHECK(other.chosen_index == reference.chosen_index);
    REQUIRE(other.totals.size() == reference.totals.size());
    for (std::size_t i = 0; i < other.totals.size(); ++i) CHECK(other.totals[i].total == reference.totals[i].total);
  }
}
