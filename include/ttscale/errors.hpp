// ttscale/errors.hpp: the one exception hierarchy every ttscale function throws.
//
// Every error derives from `ttscale::error` (itself a `std::runtime_error`), so
// `catch (const ttscale::error&)` catches everything the library raises on
// purpose. Messages name the bad value and where it came from, e.g.
//   "best_of_n: options.n must be at least 1 (got 0)"
//   "best_of_n: verifier returned NaN for candidate 3"
// Every error that leaves a strategy after its first generator or verifier
// call carries the exact accounting spent so far (`error::spent()`, nullptr
// only for errors raised before any work: bad options, kernel misuse) — a NaN
// score, a reward outside a weight source's domain or a NaN aggregate mid-search
// included, so paid work is never lost. A generator's or verifier's own
// exception is kept as the nested exception (std::throw_with_nested), so
// `std::rethrow_if_nested` reaches it.
#pragma once

#include <ttscale/accounting.hpp>
#include <ttscale/config.hpp>

#include <optional>
#include <stdexcept>
#include <string>

TTSCALE_BEGIN_NAMESPACE

/// Base of every exception ttscale throws on purpose.
class error : public std::runtime_error {
 public:
  explicit error(const std::string& what) : std::runtime_error(what) {}
  error(const std::string& what, const accounting& spent) : std::runtime_error(what), spent_(spent) {}

  /// The exact accounting of the search's work before the error: set on every
  /// error raised after a strategy's first generator or verifier call;
  /// nullptr for errors raised before any work.
  [[nodiscard]] const accounting* spent() const noexcept { return spent_ ? &*spent_ : nullptr; }

  /// Attaches a search's accounting to an error raised without it (by a
  /// kernel, a selection policy or an aggregator, which know no search);
  /// search_context does this when such an error leaves a strategy.
  void attach_spent(const accounting& spent) noexcept {
    if (!spent_) spent_ = spent;
  }

 private:
  std::optional<accounting> spent_;
};

/// A caller-supplied argument or option is out of its documented range
/// (N = 0, beam width not dividing N, an empty span where one is required...).
class invalid_argument : public error {
 public:
  using error::error;
};

/// A score or log-weight is NaN, infinite where it may not be, or all
/// log-weights are -inf so no normalisation exists.
class invalid_score : public error {
 public:
  using error::error;
};

/// Raised by the kernels when inputs cannot be processed (e.g. mismatched
/// span sizes); a specialisation of invalid_argument kept separate so kernel
/// misuse is distinguishable from strategy option errors.
class size_mismatch : public invalid_argument {
 public:
  using invalid_argument::invalid_argument;
};

/// Base of the errors that only arise once a search has started: spent() is
/// never nullptr.
class search_error : public error {
 public:
  search_error(const std::string& what, const accounting& spent) : error(what, spent) {}
};

/// A budget was already spent when a strategy was called, so it could not
/// start. (A budget that runs out mid-search is not an error: the strategy
/// returns what it has, with stop_reason telling which limit was hit.)
class budget_exhausted : public search_error {
 public:
  using search_error::search_error;
};

/// The generator threw; its exception is nested (std::rethrow_if_nested).
class generator_failure : public search_error {
 public:
  using search_error::search_error;
};

/// A verifier threw; its exception is nested (std::rethrow_if_nested).
class verifier_failure : public search_error {
 public:
  using search_error::search_error;
};

/// A result was asked for its chosen candidate but has none (every candidate
/// was unfinished or abstained, e.g. because the budget ran out first).
class no_candidate : public error {
 public:
  using error::error;
};

TTSCALE_END_NAMESPACE
