#include <ttscale/tree_memory.hpp>
#include <ttscale/trajectory.hpp>

#include <catch2/catch.hpp>

#include <cstddef>
#include <cstdint>
#include <memory_resource>
#include <string>
#include <thread>
#include <vector>

using namespace ttscale;

namespace {
// Each test starts and ends with this thread's lists empty and the default limit.
struct fresh_lists {
  fresh_lists() {
    trim_tree_memory();
    set_tree_memory_limit(std::size_t{64} << 20);
  }
  ~fresh_lists() {
    trim_tree_memory();
    set_tree_memory_limit(std::size_t{64} << 20);
  }
};

void grow(trajectory_tree& tree, std::size_t nodes) {
  node_id at = 0;
  for (std::size_t i = 0; i < nodes; ++i)
    at = tree.append(at, step{"forty characters of a reasoning step ...", 9, -1.0, false, 0}).id();
}
}  // namespace

TEST_CASE("a freed tree's blocks are reused by the next tree on the thread", "[tree_memory]") {
  fresh_lists guard;
  std::pmr::memory_resource* memory = recycled_tree_memory();
  void* first = memory->allocate(8192, 16);
  memory->deallocate(first, 8192, 16);
  CHECK(kept_tree_memory() == 8192);
  void* again = memory->allocate(8192, 16);
  CHECK(again == first);  // the last freed block of that size, not fresh pages
  CHECK(kept_tree_memory() == 0);
  // Another size or alignment never gets it.
  memory->deallocate(again, 8192, 16);
  void* other_size = memory->allocate(16384, 16);
  void* other_alignment = memory->allocate(8192, 64);
  CHECK(other_size != first);
  CHECK(other_alignment != first);
  CHECK(reinterpret_cast<std::uintptr_t>(other_alignment) % 64 == 0);
  CHECK(kept_tree_memory() == 8192);
  memory->deallocate(other_size, 16384, 16);
  memory->deallocate(other_alignment, 8192, 64);
  CHECK(kept_tree_memory() == 8192 + 16384 + 8192);
}

TEST_CASE("the resource equals only itself, and needs no RTTI to say so", "[tree_memory]") {
  CHECK(recycled_tree_memory()->is_equal(*recycled_tree_memory()));
  CHECK_FALSE(recycled_tree_memory()->is_equal(*std::pmr::new_delete_resource()));
}

TEST_CASE("small blocks go back to operator delete at once", "[tree_memory]") {
  fresh_lists guard;
  std::pmr::memory_resource* memory = recycled_tree_memory();
  void* p = memory->allocate(1024, 8);
  memory->deallocate(p, 1024, 8);
  CHECK(kept_tree_memory() == 0);
}

TEST_CASE("the per-thread limit bounds what is kept; lowering it frees the excess", "[tree_memory]") {
  fresh_lists guard;
  std::pmr::memory_resource* memory = recycled_tree_memory();
  set_tree_memory_limit(3 * 8192);
  CHECK(tree_memory_limit() == 3 * 8192);
  std::vector<void*> blocks;
  for (int i = 0; i < 5; ++i) blocks.push_back(memory->allocate(8192, 8));
  for (void* p : blocks) memory->deallocate(p, 8192, 8);
  CHECK(kept_tree_memory() == 3 * 8192);  // the other two were freed
  set_tree_memory_limit(8192);
  CHECK(kept_tree_memory() == 8192);
  set_tree_memory_limit(0);
  CHECK(kept_tree_memory() == 0);
  void* p = memory->allocate(8192, 8);
  memory->deallocate(p, 8192, 8);
  CHECK(kept_tree_memory() == 0);  // a limit of 0 keeps nothing
}

TEST_CASE("a search after a search reuses the first one's tree memory", "[tree_memory]") {
  fresh_lists guard;
  std::vector<std::uintptr_t> first_blocks;
  {
    trajectory_tree tree("prompt");
    grow(tree, 5000);
    CHECK(tree.size() == 5001);
  }
  const std::size_t kept = kept_tree_memory();
  CHECK(kept > 5000 * 96);  // node blocks and text chunks above the small-block floor
  {
    trajectory_tree tree("prompt");
    grow(tree, 5000);
    CHECK(tree.at(5000).text_size() == 6 + 5000 * 40);
    CHECK(kept_tree_memory() < kept / 8);  // taken back, not allocated anew
  }
  CHECK(kept_tree_memory() == kept);
  trim_tree_memory();
  CHECK(kept_tree_memory() == 0);
}

TEST_CASE("a tree may be freed on another thread; each thread keeps its own blocks", "[tree_memory]") {
  fresh_lists guard;
  auto tree = std::make_unique<trajectory_tree>("prompt");
  grow(*tree, 2000);
  std::size_t kept_there = 0;
  std::thread other([&] {
    tree.reset();  // its blocks join this thread's lists...
    kept_there = kept_tree_memory();
  });  // ...which are freed when the thread exits
  other.join();
  CHECK(kept_there > 2000 * 96);
  CHECK(kept_tree_memory() == 0);
}

TEST_CASE("an explicit resource bypasses the recycling", "[tree_memory]") {
  fresh_lists guard;
  {
    trajectory_tree tree("prompt", std::pmr::new_delete_resource());
    grow(tree, 2000);
  }
  CHECK(kept_tree_memory() == 0);
}
