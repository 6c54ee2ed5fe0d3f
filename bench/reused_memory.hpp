// reused_memory.hpp: the memory steady state of a server that runs many
// searches, for the per-round overhead benchmarks.
//
// A fresh search allocates fresh node blocks, and the first touch of fresh
// pages (kernel page faults) costs more than the bookkeeping itself. A caller
// that runs many searches passes one reused resource in execution::memory;
// this is one: a monotonic buffer over a single allocation touched once up
// front, rewound before each search. Benchmarks report both: default
// allocation (a cold start) and reused memory (steady state).
#pragma once

#include <cstddef>
#include <memory_resource>
#include <vector>

class reused_memory {
 public:
  explicit reused_memory(std::size_t bytes) : buffer_(bytes, std::byte{1}) {}
  /// The resource, rewound: everything the previous search allocated is reused.
  std::pmr::memory_resource* rewound() {
    resource_.release();
    return &resource_;
  }

 private:
  std::vector<std::byte> buffer_;
  std::pmr::monotonic_buffer_resource resource_{buffer_.data(), buffer_.size(), std::pmr::new_delete_resource()};
};
