// ttscale/options.hpp: giving a strategy's options your own extractor or
// aggregation without designated initialisers.
//
// A strategy's options are an aggregate whose policy members have template
// types defaulting to the library's policies (vote_options<Extract = boxed_answer>,
// best_of_n_options<..., Aggregate = aggregate::last_t, Extract = boxed_answer>),
// so assigning a lambda to a default-constructed options object does not compile:
//
//   ttscale::vote_options opts;
//   opts.extract = my_extractor;  // error: no match for 'operator=' (operand types
//                                 // are 'ttscale::boxed_answer' and '<lambda(...)>')
//
// with_extract / with_aggregate return a copy of the options whose member has
// the new type (every other member is copied):
//
//   auto opts = ttscale::with_extract(ttscale::vote_options{}, my_extractor);
//   opts.n = 32;                                   // the other members as usual
//   auto r = ttscale::majority_vote(gen, "prompt", opts, rng);
//
// (Designated initialisers deduce the type instead:
// `ttscale::vote_options{.n = 32, .extract = my_extractor}`.)
//
// They work for any options type that is a class template over types only,
// with the member's type appearing once among its template arguments and once
// among its (at most 24) members — every strategy's options in this library.
// Cost: one copy of each member.
#pragma once

#include <ttscale/answer.hpp>
#include <ttscale/config.hpp>
#include <ttscale/verifier.hpp>

#include <concepts>
#include <cstddef>
#include <tuple>
#include <type_traits>
#include <utility>

TTSCALE_BEGIN_NAMESPACE

namespace detail::retype {

/// Converts to any member type; only named in unevaluated braces, to count members.
struct any_member {
  template <class U>
  operator U() const;
};

template <class T, std::size_t... I>
constexpr bool brace_initializable(std::index_sequence<I...>) {
  return requires { T{(void(I), any_member{})...}; };
}

inline constexpr std::size_t max_members = 24;

/// The number of members of aggregate T (the most initialisers T{...} takes).
template <class T, std::size_t N = 0>
constexpr std::size_t member_count() {
  if constexpr (N > max_members || !brace_initializable<T>(std::make_index_sequence<N + 1>{})) return N;
  else return member_count<T, N + 1>();
}

/// A tuple of references to T's members, in declaration order.
template <std::size_t N, class T>
constexpr auto tie_members(T& t) {
  if constexpr (N == 1) {
    auto& [a] = t;
    return std::tie(a);
  } else if constexpr (N == 2) {
    auto& [a, b] = t;
    return std::tie(a, b);
  } else if constexpr (N == 3) {
    auto& [a, b, c] = t;
    return std::tie(a, b, c);
  } else if constexpr (N == 4) {
    auto& [a, b, c, d] = t;
    return std::tie(a, b, c, d);
  } else if constexpr (N == 5) {
    auto& [a, b, c, d, e] = t;
    return std::tie(a, b, c, d, e);
  } else if constexpr (N == 6) {
    auto& [a, b, c, d, e, f] = t;
    return std::tie(a, b, c, d, e, f);
  } else if constexpr (N == 7) {
    auto& [a, b, c, d, e, f, g] = t;
    return std::tie(a, b, c, d, e, f, g);
  } else if constexpr (N == 8) {
    auto& [a, b, c, d, e, f, g, h] = t;
    return std::tie(a, b, c, d, e, f, g, h);
  } else if constexpr (N == 9) {
    auto& [a, b, c, d, e, f, g, h, i] = t;
    return std::tie(a, b, c, d, e, f, g, h, i);
  } else if constexpr (N == 10) {
    auto& [a, b, c, d, e, f, g, h, i, j] = t;
    return std::tie(a, b, c, d, e, f, g, h, i, j);
  } else if constexpr (N == 11) {
    auto& [a, b, c, d, e, f, g, h, i, j, k] = t;
    return std::tie(a, b, c, d, e, f, g, h, i, j, k);
  } else if constexpr (N == 12) {
    auto& [a, b, c, d, e, f, g, h, i, j, k, l] = t;
    return std::tie(a, b, c, d, e, f, g, h, i, j, k, l);
  } else if constexpr (N == 13) {
    auto& [a, b, c, d, e, f, g, h, i, j, k, l, m] = t;
    return std::tie(a, b, c, d, e, f, g, h, i, j, k, l, m);
  } else if constexpr (N == 14) {
    auto& [a, b, c, d, e, f, g, h, i, j, k, l, m, n] = t;
    return std::tie(a, b, c, d, e, f, g, h, i, j, k, l, m, n);
  } else if constexpr (N == 15) {
    auto& [a, b, c, d, e, f, g, h, i, j, k, l, m, n, o] = t;
    return std::tie(a, b, c, d, e, f, g, h, i, j, k, l, m, n, o);
  } else if constexpr (N == 16) {
    auto& [a, b, c, d, e, f, g, h, i, j, k, l, m, n, o, p] = t;
    return std::tie(a, b, c, d, e, f, g, h, i, j, k, l, m, n, o, p);
  } else if constexpr (N == 17) {
    auto& [a, b, c, d, e, f, g, h, i, j, k, l, m, n, o, p, q] = t;
    return std::tie(a, b, c, d, e, f, g, h, i, j, k, l, m, n, o, p, q);
  } else if constexpr (N == 18) {
    auto& [a, b, c, d, e, f, g, h, i, j, k, l, m, n, o, p, q, r] = t;
    return std::tie(a, b, c, d, e, f, g, h, i, j, k, l, m, n, o, p, q, r);
  } else if constexpr (N == 19) {
    auto& [a, b, c, d, e, f, g, h, i, j, k, l, m, n, o, p, q, r, s] = t;
    return std::tie(a, b, c, d, e, f, g, h, i, j, k, l, m, n, o, p, q, r, s);
  } else if constexpr (N == 20) {
    auto& [a, b, c, d, e, f, g, h, i, j, k, l, m, n, o, p, q, r, s, u] = t;
    return std::tie(a, b, c, d, e, f, g, h, i, j, k, l, m, n, o, p, q, r, s, u);
  } else if constexpr (N == 21) {
    auto& [a, b, c, d, e, f, g, h, i, j, k, l, m, n, o, p, q, r, s, u, v] = t;
    return std::tie(a, b, c, d, e, f, g, h, i, j, k, l, m, n, o, p, q, r, s, u, v);
  } else if constexpr (N == 22) {
    auto& [a, b, c, d, e, f, g, h, i, j, k, l, m, n, o, p, q, r, s, u, v, w] = t;
    return std::tie(a, b, c, d, e, f, g, h, i, j, k, l, m, n, o, p, q, r, s, u, v, w);
  } else if constexpr (N == 23) {
    auto& [a, b, c, d, e, f, g, h, i, j, k, l, m, n, o, p, q, r, s, u, v, w, x] = t;
    return std::tie(a, b, c, d, e, f, g, h, i, j, k, l, m, n, o, p, q, r, s, u, v, w, x);
  } else {
    static_assert(N == 24);
    auto& [a, b, c, d, e, f, g, h, i, j, k, l, m, n, o, p, q, r, s, u, v, w, x, y] = t;
    return std::tie(a, b, c, d, e, f, g, h, i, j, k, l, m, n, o, p, q, r, s, u, v, w, x, y);
  }
}

/// O<Ts...> with the argument Old replaced by New; `matches` counts the Olds.
template <class T, class Old, class New>
struct rebind {
  static constexpr std::size_t matches = 0;
  static constexpr bool is_template_of_types = false;
  using type = T;
};
template <template <class...> class O, class... Ts, class Old, class New>
struct rebind<O<Ts...>, Old, New> {
  static constexpr std::size_t matches = (std::size_t{std::is_same_v<Ts, Old>} + ... + 0);
  static constexpr bool is_template_of_types = true;
  using type = O<std::conditional_t<std::is_same_v<Ts, Old>, New, Ts>...>;
};

template <class Old, class Members, std::size_t... I>
constexpr std::size_t count_members_of_type(std::index_sequence<I...>) {
  return (std::size_t{std::is_same_v<std::remove_cvref_t<std::tuple_element_t<I, Members>>, Old>} + ... + 0);
}

template <std::size_t I, class Old, class Members, class New>
constexpr decltype(auto) member_or_new(const Members& members, New& value) {
  if constexpr (std::is_same_v<std::remove_cvref_t<std::tuple_element_t<I, Members>>, Old>)
    return std::forward<New>(value);
  else
    return std::get<I>(members);
}

/// A copy of `options` (an O<..., Old, ...>) as O<..., decay_t<New>, ...>
/// whose member of type Old is `value`. `api` names the caller in messages.
template <class Old, class Options, class New>
auto replace_member(const Options& options, New&& value) {
  using out_type = typename rebind<Options, Old, std::decay_t<New>>::type;
  static_assert(std::is_aggregate_v<Options>,
                "ttscale::with_extract / with_aggregate: the options must be an aggregate (a strategy's options struct)");
  static_assert(rebind<Options, Old, std::decay_t<New>>::is_template_of_types,
                "ttscale::with_extract / with_aggregate: the options must be a class template over types "
                "(such as ttscale::vote_options<...>)");
  static_assert(rebind<Options, Old, std::decay_t<New>>::matches == 1,
                "ttscale::with_extract / with_aggregate: the member's current type must appear exactly once among "
                "the options' template arguments; use designated initialisers instead");
  constexpr std::size_t n = member_count<Options>();
  static_assert(n >= 1 && n <= max_members,
                "ttscale::with_extract / with_aggregate: the options must have 1 to 24 members");
  const auto members = tie_members<n>(options);
  using members_type = std::remove_const_t<decltype(members)>;
  static_assert(count_members_of_type<Old, members_type>(std::make_index_sequence<n>{}) == 1,
                "ttscale::with_extract / with_aggregate: another member has the same type as the one to replace; "
                "use designated initialisers instead");
  return [&]<std::size_t... I>(std::index_sequence<I...>) {
    return out_type{member_or_new<I, Old>(members, value)...};
  }(std::make_index_sequence<n>{});
}

}  // namespace detail::retype

/// A copy of `options` whose `.extract` is `extract`, of extract's own type
/// (a lambda, a function object): see the header comment.
template <class Options, class Extract>
[[nodiscard]] auto with_extract(const Options& options, Extract&& extract) {
  static_assert(requires { options.extract; }, "ttscale::with_extract: these options have no .extract member");
  static_assert(answer_extractor<std::decay_t<Extract>>,
                "ttscale::with_extract(options, f): f must be callable as `std::optional<K> f(const "
                "ttscale::trajectory&)` with K copyable, equality-comparable and std::hash-able (e.g. std::string)");
  if constexpr (requires { options.extract; } && answer_extractor<std::decay_t<Extract>>)  // else: the message only
    return detail::retype::replace_member<std::remove_cvref_t<decltype(options.extract)>>(
        options, std::forward<Extract>(extract));
}

/// A copy of `options` whose `.aggregate` (step-score aggregation) is
/// `aggregate`, of aggregate's own type: see the header comment.
template <class Options, class Aggregate>
[[nodiscard]] auto with_aggregate(const Options& options, Aggregate&& aggregate) {
  static_assert(requires { options.aggregate; }, "ttscale::with_aggregate: these options have no .aggregate member");
  static_assert(step_aggregator<std::decay_t<Aggregate>>,
                "ttscale::with_aggregate(options, f): f must be callable as `double f(std::span<const double> "
                "step_scores)`");
  if constexpr (requires { options.aggregate; } && step_aggregator<std::decay_t<Aggregate>>)  // else: the message only
    return detail::retype::replace_member<std::remove_cvref_t<decltype(options.aggregate)>>(
        options, std::forward<Aggregate>(aggregate));
}

TTSCALE_END_NAMESPACE
