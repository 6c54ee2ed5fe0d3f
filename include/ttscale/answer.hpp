// ttscale/answer.hpp: answer keys and answer extraction, for voting.
//
// Voting needs to know when two trajectories reached the same answer. An
// answer extractor maps a finished trajectory to an optional answer key
// (nullopt = no answer found; the trajectory abstains). An answer key is any
// copyable, equality-comparable, std::hash-able type: std::string for most
// uses, an integer for a numeric task.
//
// Two extractors cover the common conventions: `boxed_answer` (the content of
// the last \boxed{...}, braces balanced, as graded in MATH — Hendrycks et al.
// 2021) and `last_number` (the last integer or decimal in the completion, as
// for GSM8K).
#pragma once

#include <ttscale/config.hpp>
#include <ttscale/trajectory.hpp>

#include <concepts>
#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>

TTSCALE_BEGIN_NAMESPACE

/// A type that can key a vote: copyable, comparable for equality, hashable.
template <class A>
concept answer_key = std::copyable<A> && std::equality_comparable<A> && requires(const A& a) {
  { std::hash<A>{}(a) } -> std::convertible_to<std::size_t>;
};

namespace detail {
template <class T>
struct optional_value {};
template <class T>
struct optional_value<std::optional<T>> {
  using type = T;
};
}  // namespace detail

/// A callable from a trajectory to std::optional<answer key>.
template <class E>
concept answer_extractor =
    std::regular_invocable<const E&, const trajectory&> &&
    requires { typename detail::optional_value<std::remove_cvref_t<std::invoke_result_t<const E&, const trajectory&>>>::type; } &&
    answer_key<typename detail::optional_value<std::remove_cvref_t<std::invoke_result_t<const E&, const trajectory&>>>::type>;

/// The answer key type an extractor produces.
template <answer_extractor E>
using answer_of = typename detail::optional_value<std::remove_cvref_t<std::invoke_result_t<const E&, const trajectory&>>>::type;

/// The content of the last `\boxed{...}` in `text`, with nested braces
/// balanced; nullopt if there is none or it is unterminated.
inline std::optional<std::string> extract_boxed(std::string_view text) {
  constexpr std::string_view marker = "\\boxed{";
  const std::size_t at = text.rfind(marker);
  if (at == std::string_view::npos) return std::nullopt;
  const std::size_t begin = at + marker.size();
  int depth = 1;
  for (std::size_t i = begin; i < text.size(); ++i) {
    if (text[i] == '{') ++depth;
    if (text[i] == '}' && --depth == 0) return std::string(text.substr(begin, i - begin));
  }
  return std::nullopt;
}

/// The last number (optional sign, digits, optional decimal part) in `text`,
/// with thousands separators removed ("1,234" -> "1234"); nullopt if none.
inline std::optional<std::string> extract_last_number(std::string_view text) {
  auto is_digit = [](char c) { return c >= '0' && c <= '9'; };
  std::size_t end = text.size();
  while (end > 0 && !is_digit(text[end - 1])) --end;
  if (end == 0) return std::nullopt;
  std::size_t begin = end;
  while (begin > 0 && (is_digit(text[begin - 1]) || ((text[begin - 1] == '.' || text[begin - 1] == ',') &&
                                                       begin >= 2 && is_digit(text[begin - 2]))))
    --begin;
  if (begin > 0 && text[begin - 1] == '-') --begin;
  std::string out;
  for (char c : text.substr(begin, end - begin))
    if (c != ',') out += c;
  return out;
}

/// Extractor: the last \boxed{...} of the completion (prompt excluded).
struct boxed_answer {
  std::optional<std::string> operator()(const trajectory& t) const { return extract_boxed(t.completion()); }
};

/// Extractor: the last number of the completion (prompt excluded).
struct last_number {
  std::optional<std::string> operator()(const trajectory& t) const { return extract_last_number(t.completion()); }
};

static_assert(answer_extractor<boxed_answer>);
static_assert(answer_extractor<last_number>);

TTSCALE_END_NAMESPACE
