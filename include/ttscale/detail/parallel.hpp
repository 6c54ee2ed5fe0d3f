// ttscale/detail/parallel.hpp: run a batched call over chunks of items, on
// one or several threads, with per-chunk exception capture.
//
// Chunk boundaries depend only on (item count, chunk size), never on thread
// count, and each chunk writes only its own output slots, so the outputs are
// identical for any number of threads. The first failure in chunk order is
// the one reported, again independent of scheduling.
#pragma once

#include <ttscale/config.hpp>

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <exception>
#include <thread>
#include <vector>

TTSCALE_BEGIN_NAMESPACE
namespace detail {

struct chunk_plan {
  std::size_t items = 0;
  std::size_t chunk_size = 0;  // > 0
  [[nodiscard]] std::size_t chunks() const noexcept { return items == 0 ? 0 : (items + chunk_size - 1) / chunk_size; }
  [[nodiscard]] std::size_t begin(std::size_t c) const noexcept { return c * chunk_size; }
  [[nodiscard]] std::size_t end(std::size_t c) const noexcept { return std::min(items, (c + 1) * chunk_size); }
};

/// Runs run_one(context, c) for every c in [0, n) on up to `threads` threads.
/// Compile time: the thread pool does not depend on the callable, so it is
/// compiled once per translation unit, not once per generator and verifier type.
inline void run_indices(std::size_t n, unsigned threads, void* context, void (*run_one)(void*, std::size_t)) {
  const std::size_t workers = std::min<std::size_t>(threads == 0 ? 1 : threads, n);
  if (workers <= 1) {
    for (std::size_t c = 0; c < n; ++c) run_one(context, c);
    return;
  }
  std::atomic<std::size_t> next{0};
  auto work = [&] {
    for (std::size_t c = next.fetch_add(1); c < n; c = next.fetch_add(1)) run_one(context, c);
  };
  std::vector<std::jthread> pool;
  pool.reserve(workers - 1);
  for (std::size_t w = 1; w < workers; ++w) pool.emplace_back(work);
  work();
}  // the pool's jthreads join here

/// Calls fn(chunk, begin, end) for every chunk, on up to `threads` threads.
/// `failures` gets one exception_ptr per chunk (null where it succeeded; a
/// caller's buffer, so a round loop allocates nothing); every chunk runs even
/// if another fails, so the caller can account for all of them.
template <class Fn>
void run_chunks(const chunk_plan& plan, unsigned threads, Fn&& fn, std::vector<std::exception_ptr>& failures) {
  failures.assign(plan.chunks(), nullptr);
  struct state {
    const chunk_plan& plan;
    Fn& fn;
    std::vector<std::exception_ptr>& failures;
  } s{plan, fn, failures};
  run_indices(failures.size(), threads, &s, [](void* p, std::size_t c) {
    state& self = *static_cast<state*>(p);
    try {
      self.fn(c, self.plan.begin(c), self.plan.end(c));
    } catch (...) {
      self.failures[c] = std::current_exception();
    }
  });
}

}  // namespace detail
TTSCALE_END_NAMESPACE
