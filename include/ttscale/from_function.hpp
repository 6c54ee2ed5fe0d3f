// ttscale/from_function.hpp: generators and verifiers from lambdas.
//
// generator_from(f), process_verifier_from(f) and outcome_verifier_from(f)
// wrap a callable as a type that satisfies ttscale::generator,
// ttscale::process_verifier or ttscale::outcome_verifier, so a quick
// experiment needs no struct:
//
//   auto gen = ttscale::generator_from([](const ttscale::trajectory& prefix, ttscale::random_engine& rng) {
//     const bool done = prefix.depth() >= 3 || rng.uniform() < 0.3;  // a coin-flip "reasoner"
//     return ttscale::step{.text = done ? " \\boxed{42}" : " hmm,", .tokens = 1, .finished = done};
//   }, ttscale::concurrent_calls);                    // f may run on several threads at once
//   auto orm = ttscale::outcome_verifier_from([](const ttscale::trajectory& t) {
//     return t.completion().size() < 20 ? 1.0 : 0.5;  // prefer short answers
//   });
//   auto r = ttscale::best_of_n(gen, orm, "What is 6 x 7?", ttscale::best_of_n_options{.n = 8}, rng);
//
// Accepted shapes (checked by the concepts generator_function and
// score_function; anything else is a static_assert naming these):
//
//   generator_from(f), f callable as one of
//     per item:  step f(const trajectory& prefix, random_engine& engine)
//                (the adapter loops over the batch; the engine is item i's stream)
//     batched:   R f(std::span<const trajectory> prefixes, std::span<random_engine> engines, std::span<step> out)
//     stoppable: R f(prefixes, engines, out, std::stop_token stop)
//                (R is void or ttscale::accounting, as for generator::extend;
//                 a stoppable f also makes the adapter a stoppable_generator)
//   process_verifier_from(f) / outcome_verifier_from(f), f callable as one of
//     per item:  double f(const trajectory& t)
//                (PRM: the score of t's newest step; ORM: the score of finished t)
//     batched:   void f(std::span<const trajectory> items, std::span<double> out)
//
// The shapes have different arities, so an overloaded or generic callable is
// never ambiguous; if one fits several, batched wins over stoppable over per item.
//
// Threads: an adapter is thread-safe (enable_concurrent_calls) only if made
// with the `concurrent_calls` tag, which promises that f may be called from
// several threads at once (a mutable lambda, or one writing shared captures
// without synchronisation, may not). Without it, exec.threads > 1 raises
// ttscale::invalid_argument, as for any generator that does not opt in.
//
// The adapters own a copy of f and nothing else: no state grows per call.
// Pass std::ref(f) to keep f by reference (it must outlive the adapter). A
// per-item adapter costs one call of f per item and checks that the spans it
// receives have equal sizes (size_mismatch otherwise).
#pragma once

#include <ttscale/accounting.hpp>
#include <ttscale/config.hpp>
#include <ttscale/errors.hpp>
#include <ttscale/generator.hpp>
#include <ttscale/random.hpp>
#include <ttscale/trajectory.hpp>
#include <ttscale/verifier.hpp>

#include <concepts>
#include <cstddef>
#include <functional>
#include <span>
#include <stop_token>
#include <string>
#include <type_traits>
#include <utility>

TTSCALE_BEGIN_NAMESPACE

/// Call policy: the wrapped callable is called from one thread at a time (the default).
struct sequential_calls_t {
  explicit sequential_calls_t() = default;
};
/// Call policy: the wrapped callable may be called from several threads at
/// once; the adapter opts into enable_concurrent_calls.
struct concurrent_calls_t {
  explicit concurrent_calls_t() = default;
};
inline constexpr sequential_calls_t sequential_calls{};
inline constexpr concurrent_calls_t concurrent_calls{};

/// sequential_calls_t or concurrent_calls_t.
template <class C>
concept call_policy = std::same_as<C, sequential_calls_t> || std::same_as<C, concurrent_calls_t>;

// --- the accepted shapes ------------------------------------------------------

/// `step f(const trajectory& prefix, random_engine& engine)`: one prefix -> its step.
template <class F>
concept per_item_generator_function =
    std::invocable<F&, const trajectory&, random_engine&> &&
    std::convertible_to<std::invoke_result_t<F&, const trajectory&, random_engine&>, step>;

/// `f(prefixes, engines, out)` returning void or accounting: generator::extend's signature.
template <class F>
concept batched_generator_function =
    std::invocable<F&, std::span<const trajectory>, std::span<random_engine>, std::span<step>> &&
    detail::extend_return<
        std::invoke_result_t<F&, std::span<const trajectory>, std::span<random_engine>, std::span<step>>>;

/// `f(prefixes, engines, out, stop)` returning void or accounting: stoppable_generator's extend.
template <class F>
concept stoppable_generator_function =
    std::invocable<F&, std::span<const trajectory>, std::span<random_engine>, std::span<step>, std::stop_token> &&
    detail::extend_return<std::invoke_result_t<F&, std::span<const trajectory>, std::span<random_engine>,
                                               std::span<step>, std::stop_token>>;

/// Any shape generator_from accepts.
template <class F>
concept generator_function =
    per_item_generator_function<F> || batched_generator_function<F> || stoppable_generator_function<F>;

/// `double f(const trajectory& t)`: one trajectory -> its score.
template <class F>
concept per_item_score_function = std::invocable<F&, const trajectory&> &&
                                  std::convertible_to<std::invoke_result_t<F&, const trajectory&>, double>;

/// `void f(std::span<const trajectory> items, std::span<double> out)`: a verifier's batched signature.
template <class F>
concept batched_score_function =
    std::invocable<F&, std::span<const trajectory>, std::span<double>> &&
    std::same_as<std::invoke_result_t<F&, std::span<const trajectory>, std::span<double>>, void>;

/// Any shape process_verifier_from / outcome_verifier_from accept.
template <class F>
concept score_function = per_item_score_function<F> || batched_score_function<F>;

namespace detail {
inline void require_same_size(const char* who, std::size_t items, std::size_t other, const char* what) {
  if (items != other)
    throw size_mismatch(std::string(who) + ": " + std::to_string(items) + " items but " + std::to_string(other) +
                        " " + what);
}

/// Scores items one by one with a per-item f, or hands the batch to a batched f.
template <class F>
void score_with(F& f, std::span<const trajectory> items, std::span<double> out, const char* who) {
  if constexpr (batched_score_function<F>) {
    std::invoke(f, items, out);
  } else if constexpr (per_item_score_function<F>) {
    require_same_size(who, items.size(), out.size(), "scores in out");
    for (std::size_t i = 0; i < items.size(); ++i) out[i] = static_cast<double>(std::invoke(f, items[i]));
  }
}
}  // namespace detail

// --- adapters -----------------------------------------------------------------

/// A generator calling F; see the header comment. Make one with generator_from.
template <class F, call_policy Calls = sequential_calls_t>
class function_generator {
  static_assert(generator_function<F>,
                "generator_from(f): f must be callable as `step f(const ttscale::trajectory& prefix, "
                "ttscale::random_engine& engine)` (one item), or as `f(std::span<const ttscale::trajectory> "
                "prefixes, std::span<ttscale::random_engine> engines, std::span<ttscale::step> out)` returning "
                "void or ttscale::accounting (a batch; optionally with a 4th argument std::stop_token)");

 public:
  explicit function_generator(F f) : f_(std::move(f)) {}

  static constexpr bool thread_safe = std::same_as<Calls, concurrent_calls_t>;

  decltype(auto) extend(std::span<const trajectory> prefixes, std::span<random_engine> engines,
                        std::span<step> out) {
    if constexpr (batched_generator_function<F>) {
      return std::invoke(f_, prefixes, engines, out);
    } else if constexpr (stoppable_generator_function<F>) {
      return std::invoke(f_, prefixes, engines, out, std::stop_token{});
    } else if constexpr (per_item_generator_function<F>) {
      detail::require_same_size("generator_from", prefixes.size(), engines.size(), "engines");
      detail::require_same_size("generator_from", prefixes.size(), out.size(), "steps in out");
      for (std::size_t i = 0; i < prefixes.size(); ++i) out[i] = std::invoke(f_, prefixes[i], engines[i]);
    }
  }

  decltype(auto) extend(std::span<const trajectory> prefixes, std::span<random_engine> engines,
                        std::span<step> out, std::stop_token stop)
    requires stoppable_generator_function<F>
  {
    return std::invoke(f_, prefixes, engines, out, std::move(stop));
  }

  [[nodiscard]] F& function() noexcept { return f_; }
  [[nodiscard]] const F& function() const noexcept { return f_; }

 private:
  F f_;
};

/// A process verifier (PRM) calling F; make one with process_verifier_from.
template <class F, call_policy Calls = sequential_calls_t>
class function_process_verifier {
  static_assert(score_function<F>,
                "process_verifier_from(f): f must be callable as `double f(const ttscale::trajectory& prefix)` "
                "(the score of the prefix's newest step) or as `void f(std::span<const ttscale::trajectory> "
                "prefixes, std::span<double> out)` (a batch)");

 public:
  explicit function_process_verifier(F f) : f_(std::move(f)) {}

  static constexpr bool thread_safe = std::same_as<Calls, concurrent_calls_t>;

  void score_steps(std::span<const trajectory> prefixes, std::span<double> out) {
    detail::score_with(f_, prefixes, out, "process_verifier_from");
  }

  [[nodiscard]] F& function() noexcept { return f_; }
  [[nodiscard]] const F& function() const noexcept { return f_; }

 private:
  F f_;
};

/// An outcome verifier (ORM) calling F; make one with outcome_verifier_from.
template <class F, call_policy Calls = sequential_calls_t>
class function_outcome_verifier {
  static_assert(score_function<F>,
                "outcome_verifier_from(f): f must be callable as `double f(const ttscale::trajectory& finished)` "
                "or as `void f(std::span<const ttscale::trajectory> finished, std::span<double> out)` (a batch)");

 public:
  explicit function_outcome_verifier(F f) : f_(std::move(f)) {}

  static constexpr bool thread_safe = std::same_as<Calls, concurrent_calls_t>;

  void score_outcomes(std::span<const trajectory> finished, std::span<double> out) {
    detail::score_with(f_, finished, out, "outcome_verifier_from");
  }

  [[nodiscard]] F& function() noexcept { return f_; }
  [[nodiscard]] const F& function() const noexcept { return f_; }

 private:
  F f_;
};

/// A generator from a callable (a copy of `f` is kept); `concurrent_calls`
/// marks it thread-safe. See the header comment for the accepted shapes.
template <class F, call_policy Calls = sequential_calls_t>
[[nodiscard]] function_generator<std::decay_t<F>, Calls> generator_from(F&& f, Calls = Calls{}) {
  return function_generator<std::decay_t<F>, Calls>(std::forward<F>(f));
}

/// A process verifier (PRM) from a callable; `concurrent_calls` marks it thread-safe.
template <class F, call_policy Calls = sequential_calls_t>
[[nodiscard]] function_process_verifier<std::decay_t<F>, Calls> process_verifier_from(F&& f, Calls = Calls{}) {
  return function_process_verifier<std::decay_t<F>, Calls>(std::forward<F>(f));
}

/// An outcome verifier (ORM) from a callable; `concurrent_calls` marks it thread-safe.
template <class F, call_policy Calls = sequential_calls_t>
[[nodiscard]] function_outcome_verifier<std::decay_t<F>, Calls> outcome_verifier_from(F&& f, Calls = Calls{}) {
  return function_outcome_verifier<std::decay_t<F>, Calls>(std::forward<F>(f));
}

TTSCALE_END_NAMESPACE
