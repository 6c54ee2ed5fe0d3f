// ttscale/tree_memory.hpp: where a search tree's nodes and text live by default.
//
// A search allocates its trajectory tree in blocks that double in size (6 KiB of
// nodes, then 12, 24, ... and text chunks of 1 KiB to 1 MiB) and frees them all
// when its result goes. Through plain operator new, glibc gives the larger ones
// back to the OS at that point (it unmaps chunks above its mmap threshold and
// trims a free heap top above M_TRIM_THRESHOLD), so the next search touches
// fresh pages again: at N = 256 a beam search faults ~200-260 pages in, 5-8 µs
// of a 20 µs round on a KVM guest (bench/README-kernels.md, "Strategy
// bookkeeping with text"). That is the allocator's cost, not the search's, and
// it recurs in exactly the case that matters: a server running search after
// search.
//
// `recycled_tree_memory()` is the default resource of trees
// (`search_start(prompt)` with no resource, `trajectory_tree(prompt)`): blocks
// come from operator new, and a freed block of at least `min_block` bytes is
// kept on the freeing thread's list for the next allocation of the same size
// and alignment (last freed, first reused: it is the one still in cache), up to
// `tree_memory_limit()` bytes per thread (default 64 MiB); beyond that, and
// for smaller blocks, it goes back to operator delete at once. A thread's kept
// blocks are freed when it exits or calls `trim_tree_memory()`.
//
// Thread safety: the resource is one object, but the lists are per thread, so
// a tree may be created on one thread and destroyed on another (its blocks
// then join the destroying thread's list; operator new's memory may be freed
// on any thread). Nothing is shared, nothing locks.
//
// To opt out, pass a resource explicitly: `search_start(prompt,
// std::pmr::new_delete_resource())` gives plain operator new/delete, and a
// caller's pool (std::pmr::unsynchronized_pool_resource, a rewound
// monotonic_buffer_resource) works as before.
#pragma once

#include <ttscale/config.hpp>

#include <cstddef>
#include <memory_resource>
#include <new>
#include <vector>

TTSCALE_BEGIN_NAMESPACE

namespace detail {

// One thread's kept blocks. Few distinct sizes occur (each tree's blocks double
// from the same start), so the lists are a short vector searched linearly.
class tree_block_lists {
 public:
  tree_block_lists() = default;
  tree_block_lists(const tree_block_lists&) = delete;
  tree_block_lists& operator=(const tree_block_lists&) = delete;
  ~tree_block_lists() {
    trim();
    alive_ = false;  // a tree freed later in this thread's exit uses operator delete
  }

  static constexpr std::size_t max_sizes = 64;  // distinct (size, alignment) pairs kept

  void* take(std::size_t bytes, std::size_t alignment) noexcept {
    for (list& l : lists_)
      if (l.bytes == bytes && l.alignment == alignment && !l.blocks.empty()) {
        void* p = l.blocks.back();
        l.blocks.pop_back();
        kept_bytes_ -= bytes;
        return p;
      }
    return nullptr;
  }

  // Keeps `p` if it fits under the limit; false = the caller frees it.
  bool keep(void* p, std::size_t bytes, std::size_t alignment) noexcept {
    if (kept_bytes_ + bytes > limit_) return false;
    list* into = nullptr;
    for (list& l : lists_)
      if (l.bytes == bytes && l.alignment == alignment) into = &l;
    try {
      if (into == nullptr) {
        if (lists_.size() == max_sizes) return false;
        into = &lists_.emplace_back(list{bytes, alignment, {}});
      }
      into->blocks.push_back(p);
    } catch (const std::bad_alloc&) {  // no room to remember it: free it instead
      return false;
    }
    kept_bytes_ += bytes;
    return true;
  }

  void trim() noexcept {
    for (list& l : lists_) {
      for (void* p : l.blocks) ::operator delete(p, l.bytes, std::align_val_t{l.alignment});
      l.blocks.clear();
    }
    kept_bytes_ = 0;
  }

  void set_limit(std::size_t bytes) noexcept {
    limit_ = bytes;
    // Drop the oldest kept blocks of each size until the rest fits.
    for (list& l : lists_) {
      std::size_t drop = 0;
      while (kept_bytes_ > limit_ && drop < l.blocks.size()) {
        ::operator delete(l.blocks[drop], l.bytes, std::align_val_t{l.alignment});
        kept_bytes_ -= l.bytes;
        ++drop;
      }
      l.blocks.erase(l.blocks.begin(), l.blocks.begin() + static_cast<std::ptrdiff_t>(drop));
    }
  }
  [[nodiscard]] std::size_t limit() const noexcept { return limit_; }
  [[nodiscard]] std::size_t kept_bytes() const noexcept { return kept_bytes_; }

  // This thread's lists, or nullptr once they were destroyed (thread exit).
  static tree_block_lists* of_this_thread() noexcept {
    thread_local tree_block_lists lists;
    return alive_ ? &lists : nullptr;
  }

 private:
  struct list {
    std::size_t bytes;
    std::size_t alignment;
    std::vector<void*> blocks;  // the last freed at the back
  };
  std::vector<list> lists_;
  std::size_t kept_bytes_ = 0;
  std::size_t limit_ = std::size_t{64} << 20;
  // Trivially destructible, so it stays readable after `lists` is destroyed.
  static inline thread_local bool alive_ = true;
};

class recycling_tree_resource final : public std::pmr::memory_resource {
 public:
  /// Smaller blocks go straight back to operator delete: malloc reuses them
  /// from its own free lists without touching the OS.
  static constexpr std::size_t min_block = 4096;

 private:
  void* do_allocate(std::size_t bytes, std::size_t alignment) override {
    if (bytes >= min_block)
      if (tree_block_lists* lists = tree_block_lists::of_this_thread())
        if (void* p = lists->take(bytes, alignment)) return p;
    return ::operator new(bytes, std::align_val_t{alignment});
  }
  void do_deallocate(void* p, std::size_t bytes, std::size_t alignment) override {
    if (bytes >= min_block)
      if (tree_block_lists* lists = tree_block_lists::of_this_thread())
        if (lists->keep(p, bytes, alignment)) return;
    ::operator delete(p, bytes, std::align_val_t{alignment});
  }
  bool do_is_equal(const std::pmr::memory_resource& other) const noexcept override {
    // One instance exists (recycled_tree_memory()); no RTTI needed for the test.
    return this == &other;
  }
};

}  // namespace detail

/// The default memory of search trees: operator new, with the freed blocks of
/// finished searches kept per thread for the next search (see the header).
/// Never destroyed: a result kept in a static object may free its tree after
/// every function-local static is gone.
[[nodiscard]] inline std::pmr::memory_resource* recycled_tree_memory() noexcept {
  alignas(detail::recycling_tree_resource) static unsigned char storage[sizeof(detail::recycling_tree_resource)];
  static detail::recycling_tree_resource* const resource = ::new (static_cast<void*>(storage)) detail::recycling_tree_resource();
  return resource;
}

/// Frees the blocks this thread keeps for later trees.
inline void trim_tree_memory() noexcept {
  if (detail::tree_block_lists* lists = detail::tree_block_lists::of_this_thread()) lists->trim();
}

/// The most bytes of freed tree blocks this thread keeps (default 64 MiB); 0
/// keeps none. Lowering it frees the excess at once.
inline void set_tree_memory_limit(std::size_t bytes) noexcept {
  if (detail::tree_block_lists* lists = detail::tree_block_lists::of_this_thread()) lists->set_limit(bytes);
}
[[nodiscard]] inline std::size_t tree_memory_limit() noexcept {
  const detail::tree_block_lists* lists = detail::tree_block_lists::of_this_thread();
  return lists ? lists->limit() : 0;
}
/// Bytes of freed tree blocks this thread keeps now.
[[nodiscard]] inline std::size_t kept_tree_memory() noexcept {
  const detail::tree_block_lists* lists = detail::tree_block_lists::of_this_thread();
  return lists ? lists->kept_bytes() : 0;
}

TTSCALE_END_NAMESPACE
