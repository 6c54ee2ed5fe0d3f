// reused_memory.hpp: where a benchmarked search's tree lives, for the
// per-round overhead benchmarks.
//
// The first touch of fresh pages (kernel page faults) costs more than the
// bookkeeping itself. Three cases (tree_memory_mode):
//  - fresh: std::pmr::new_delete_resource(), glibc gives a freed tree back to
//    the OS, so every search faults its pages in again (a process's first
//    search; what the default was before ttscale/tree_memory.hpp);
//  - recycled: the default (nullptr, recycled_tree_memory()): a search reuses
//    the blocks the previous search on the thread freed;
//  - reused: a caller's monotonic buffer over one allocation touched once up
//    front, rewound before each search (search_start(prompt, &resource)).
#pragma once

#include <cstddef>
#include <memory_resource>
#include <vector>

enum class tree_memory_mode { fresh, recycled, reused };

class reused_memory {
 public:
  explicit reused_memory(std::size_t bytes) : buffer_(bytes, std::byte{1}) {}
  /// The resource, rewound: everything the previous search allocated is reused.
  std::pmr::memory_resource* rewound() {
    resource_.release();
    return &resource_;
  }

  /// The search_start resource for `mode` (nullptr: the library's default).
  std::pmr::memory_resource* for_mode(tree_memory_mode mode) {
    switch (mode) {
      case tree_memory_mode::fresh: return std::pmr::new_delete_resource();
      case tree_memory_mode::recycled: return nullptr;
      case tree_memory_mode::reused: return rewound();
    }
    return nullptr;
  }

 private:
  std::vector<std::byte> buffer_;
  std::pmr::monotonic_buffer_resource resource_{buffer_.data(), buffer_.size(), std::pmr::new_delete_resource()};
};
