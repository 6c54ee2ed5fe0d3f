// ttscale/kernels/detail/top_k_body.hpp: the per-level body of kernels/top_k.hpp (argmax, top_k).
//
// Users never include this. kernels/top_k.hpp includes it once per instruction-set level
// through detail/foreach_level.hpp; each inclusion defines these templates for the register
// sets of that level only (TTSCALE_KERNELS_AT_LEVEL), inside the level's target region.
// Included on its own (as the header-set check does), it includes kernels/top_k.hpp.
#ifndef TTSCALE_KERNELS_LEVEL
#include <ttscale/kernels/top_k.hpp>
#else

TTSCALE_BEGIN_NAMESPACE
namespace kernels::detail {

template <class Ops, class T> TTSCALE_KERNELS_AT_LEVEL(Ops)
[[nodiscard]] inline std::size_t argmax(std::span<const T> x) {
  if (x.empty()) throw invalid_argument("argmax: values is empty");
  const T m = detail::max<Ops>(x);  // throws on NaN
  constexpr std::size_t w = Ops::width;
  const auto vm = Ops::set1(m);
  std::size_t i = 0;
  for (; x.size() >= w && i <= x.size() - w; i += w)
    if (Ops::any(Ops::eq(Ops::load(x.data() + i), vm))) break;
  for (; i < x.size(); ++i)
    if (x[i] == m) return i;
  return 0;  // unreachable: m is an element of x
}

// An unsigned integer whose order is the order of the values (-0 and +0 get
// the same key, as they compare equal); NaN never reaches it.
template <class Ops, class T> TTSCALE_KERNELS_AT_LEVEL(Ops)
inline auto top_k_order_key(T v) {
  using U = std::conditional_t<sizeof(T) == 8, std::uint64_t, std::uint32_t>;
  constexpr int top = static_cast<int>(sizeof(U) * 8) - 1;
  U bits = std::bit_cast<U>(v);
  bits = (bits << 1) == 0 ? U{0} : bits;
  return bits ^ (static_cast<U>(U{0} - (bits >> top)) | (U{1} << top));
}

// top_k for k >= n / 16 (beam search keeps N / M). The heap would take ~k log(n / k)
// pops and pushes whose comparisons mispredict about half the time; instead every step
// here is a branch-free counting loop: the k-th largest key by a binary search on its
// bits (one pass over x per bit, from the highest bit the keys differ in, ending as soon
// as exactly k keys are above the probe: ~log2(n) + a few passes on distinct values), a
// gather of the kept indices in index order (ties to the lowest index), then each kept
// element's rank among the kept by counting (k^2 / width compares) for k <= 256, a
// sort otherwise.
template <class Ops, class T, class I> TTSCALE_KERNELS_AT_LEVEL(Ops)
inline void top_k_by_threshold(std::span<const T> x, std::span<I> out) {
  using U = std::conditional_t<sizeof(T) == 8, std::uint64_t, std::uint32_t>;  // top_k_order_key's
  constexpr int bits = static_cast<int>(sizeof(U) * 8);
  const std::size_t n = x.size(), k = out.size();
  // The keys once, into a buffer every pass reads: integer loops of fixed trip count,
  // which the compiler vectorises (recomputing the key per pass and ranking with
  // two data-dependent loops over doubles ran 6.4 µs for 64 of 256 here, now ~1).
  constexpr std::size_t on_stack = 1024;
  U stack_keys[on_stack];
  std::vector<U> heap_keys;
  U* keys = stack_keys;
  if (n > on_stack) {
    heap_keys.resize(n);
    keys = heap_keys.data();
  }
  for (std::size_t i = 0; i < n; ++i) keys[i] = top_k_order_key<Ops>(x[i]);
  const auto count_at_least = [&](U t) {
    std::size_t c = 0;
    for (std::size_t i = 0; i < n; ++i) c += keys[i] >= t ? 1 : 0;
    return c;
  };
  // keep: the keys above `lo`, then the first `ties` keys equal to it.
  U lo = 0;
  std::size_t ties = k;
  if (k < n) {
    U all_and = ~U{0}, all_or = 0;
    for (std::size_t i = 0; i < n; ++i) {
      all_and &= keys[i];
      all_or |= keys[i];
    }
    lo = all_and;  // all keys equal: the first k
    if (const U differ = all_and ^ all_or; differ != 0) {
      const int high = std::bit_width(differ) - 1;
      // count(key >= prefix) >= k throughout; at the end prefix is the k-th largest key.
      U prefix = high + 1 == bits ? U{0} : all_and & ~((U{1} << (high + 1)) - 1);
      bool exact = false;
      for (int b = high; b >= 0 && !exact; --b) {
        const U probe = prefix | (U{1} << b);
        const std::size_t c = count_at_least(probe);
        if (c >= k) {
          prefix = probe;
          exact = c == k;
        }
      }
      lo = exact ? prefix - 1 : prefix;  // exact: exactly k keys >= prefix, no tie to split
      ties = k - (exact ? k : count_at_least(prefix + 1));
    }
  }
  if (ties == 0 && n <= on_stack) {
    // Exactly the keys above lo (the usual case on distinct scores): a compaction
    // with no early exit and one add as its only dependency, into a buffer with room
    // for the write past the last kept.
    I taken[on_stack + 1];
    std::size_t kept = 0;
    for (std::size_t i = 0; i < n; ++i) {
      taken[kept] = static_cast<I>(i);
      kept += keys[i] > lo ? 1 : 0;
    }
    std::copy_n(taken, k, out.begin());
  } else {
    std::size_t kept = 0;
    for (std::size_t i = 0; i < n && kept < k; ++i) {
      const U key = keys[i];
      const bool take = key > lo || (key == lo && ties > 0);
      ties -= key == lo && take ? 1 : 0;
      out[kept] = static_cast<I>(i);
      kept += take ? 1 : 0;
    }
  }
  constexpr std::size_t rank_limit = 256;
  if (k <= rank_limit) {
    // Ranks by counting: the kept are in index order, so an equal key before a ranks
    // before it and one after it does not. One loop over all b, no branch.
    U v[rank_limit];
    I index[rank_limit];
    for (std::size_t a = 0; a < k; ++a) {
      index[a] = out[a];
      v[a] = keys[static_cast<std::size_t>(out[a])];
    }
    for (std::size_t a = 0; a < k; ++a) {
      const U va = v[a];
      std::size_t rank = 0;
      for (std::size_t b = 0; b < k; ++b) rank += (v[b] > va) | ((v[b] == va) & (b < a)) ? 1 : 0;
      out[rank] = index[a];
    }
  } else {
    std::sort(out.begin(), out.end(), [&](I a, I b) {
      const U va = keys[static_cast<std::size_t>(a)], vb = keys[static_cast<std::size_t>(b)];
      return va > vb || (va == vb && a < b);
    });
  }
}

template <class Ops, class T, class I> TTSCALE_KERNELS_AT_LEVEL(Ops)
inline void top_k(std::span<const T> x, std::span<I> out) {
  const std::size_t n = x.size(), k = out.size();
  if (k > n)
    throw size_mismatch("top_k: asked for " + std::to_string(k) + " indices of " + std::to_string(n) + " values");
  if (n > 0) (void)detail::max<Ops>(x);  // NaN check (NaN has no place in an order)
  if (k == 0) return;
  check_index_type<I>("top_k", n);
  if (k * 16 >= n) return top_k_by_threshold<Ops>(x, out);
  // better(a, b): a ranks before b. With it as the heap order, the heap top is the worst kept.
  const auto better = [&](I a, I b) {
    const T va = x[static_cast<std::size_t>(a)], vb = x[static_cast<std::size_t>(b)];
    return va > vb || (va == vb && a < b);
  };
  for (std::size_t i = 0; i < k; ++i) out[i] = static_cast<I>(i);
  std::make_heap(out.begin(), out.end(), better);
  T threshold = x[static_cast<std::size_t>(out[0])];
  constexpr std::size_t w = Ops::width;
  std::size_t i = k;
  const auto consider = [&](std::size_t j) {
    // A later index needs a strictly larger value to beat an equal one.
    if (x[j] > threshold) {
      std::pop_heap(out.begin(), out.end(), better);
      out[k - 1] = static_cast<I>(j);
      std::push_heap(out.begin(), out.end(), better);
      threshold = x[static_cast<std::size_t>(out[0])];
    }
  };
  for (; n >= w && i <= n - w; i += w) {
    const auto v = Ops::load(x.data() + i);
    if (!Ops::any(Ops::lt(Ops::set1(threshold), v))) continue;
    for (std::size_t l = 0; l < w; ++l) consider(i + l);
  }
  for (; i < n; ++i) consider(i);
  std::sort_heap(out.begin(), out.end(), better);
}

}  // namespace kernels::detail
TTSCALE_END_NAMESPACE

#endif  // TTSCALE_KERNELS_LEVEL
