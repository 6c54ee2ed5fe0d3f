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

template <class Ops, class T, class I> TTSCALE_KERNELS_AT_LEVEL(Ops)
inline void top_k(std::span<const T> x, std::span<I> out) {
  const std::size_t n = x.size(), k = out.size();
  if (k > n)
    throw size_mismatch("top_k: asked for " + std::to_string(k) + " indices of " + std::to_string(n) + " values");
  if (n > 0) (void)detail::max<Ops>(x);  // NaN check (NaN has no place in an order)
  if (k == 0) return;
  check_index_type<I>("top_k", n);
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
