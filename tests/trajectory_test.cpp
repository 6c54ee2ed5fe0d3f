#include <ttscale/trajectory.hpp>

#include <catch2/catch.hpp>

#include <cmath>
#include <memory_resource>

using namespace ttscale;

namespace {
step make_step(std::string text, std::uint32_t tokens, double logprob, bool finished = false) {
  return step{std::move(text), tokens, logprob, finished, 0};
}
}  // namespace

TEST_CASE("a tree starts with the prompt at its root", "[trajectory]") {
  trajectory_tree tree("What is 2+2?\n");
  const trajectory root = tree.root();
  CHECK(root.valid());
  CHECK(root.is_root());
  CHECK(root.depth() == 0);
  CHECK(root.tokens() == 0);
  CHECK(root.prompt() == "What is 2+2?\n");
  CHECK(root.text() == "What is 2+2?\n");
  CHECK(root.steps().empty());
  CHECK_FALSE(root.finished());
  CHECK(std::isnan(root.step_score()));
  CHECK(tree.size() == 1);
}

TEST_CASE("appending keeps running totals and the path", "[trajectory]") {
  trajectory_tree tree("P:");
  const trajectory a = tree.append(tree.root().id(), make_step(" a", 3, -0.5));
  const trajectory b = tree.append(a.id(), make_step(" b", 4, -0.25, true));
  CHECK(b.depth() == 2);
  CHECK(b.tokens() == 7);
  CHECK(b.logprob() == Approx(-0.75));
  CHECK(b.finished());
  CHECK(b.parent() == a);
  CHECK(a.parent() == tree.root());
  CHECK(tree.root().parent() == tree.root());
  CHECK(b.completion() == " a b");
  CHECK(b.text() == "P: a b");
  const auto steps = b.steps();
  REQUIRE(steps.size() == 2);
  CHECK(steps[0]->text == " a");
  CHECK(steps[1]->text == " b");
}

TEST_CASE("forking shares the prefix: siblings have one parent node", "[trajectory]") {
  trajectory_tree tree("P");
  const trajectory prefix = tree.append(0, make_step("x", 1, 0));
  const trajectory left = tree.append(prefix.id(), make_step("L", 1, 0));
  const trajectory right = tree.append(prefix.id(), make_step("R", 1, 0));
  CHECK(tree.size() == 4);  // root + prefix + two children: the prefix is stored once
  CHECK(left.parent() == right.parent());
  CHECK(&left.parent().last_step() == &right.parent().last_step());
  const trajectory fork = left;  // a fork is a copy of the handle
  CHECK(fork == left);
}

TEST_CASE("path hashes are equal exactly for equal texts", "[trajectory]") {
  trajectory_tree tree("P");
  const trajectory a1 = tree.append(0, make_step("x", 1, 0));
  const trajectory a2 = tree.append(0, make_step("x", 2, -1));
  const trajectory b = tree.append(0, make_step("y", 1, 0));
  CHECK(a1.path_hash() == a2.path_hash());
  CHECK(a1.path_hash() != b.path_hash());
  CHECK(tree.append(a1.id(), make_step("z", 1, 0)).path_hash() == tree.append(a2.id(), make_step("z", 1, 0)).path_hash());
  trajectory_tree other("Q");
  CHECK(other.append(0, make_step("x", 1, 0)).path_hash() != a1.path_hash());
}

TEST_CASE("references stay valid while the tree grows past a block", "[trajectory]") {
  trajectory_tree tree("P");
  const step& first = tree.append(0, make_step("first", 1, 0)).last_step();
  trajectory t = tree.root();
  for (int i = 0; i < 10000; ++i) t = tree.append(t.id(), make_step("s", 1, -0.001));
  CHECK(first.text == "first");
  CHECK(t.depth() == 10000);
  CHECK(t.tokens() == 10000);
  CHECK(t.logprob() == Approx(-10.0));
}

TEST_CASE("scores are recorded per node", "[trajectory]") {
  trajectory_tree tree("P");
  const trajectory a = tree.append(0, make_step("a", 1, 0));
  const trajectory b = tree.append(a.id(), make_step("b", 1, 0));
  tree.set_score(a.id(), 0.25);
  tree.set_score(b.id(), 0.75);
  CHECK(b.step_score() == 0.75);
  CHECK(b.step_scores() == std::vector<double>{0.25, 0.75});
}

TEST_CASE("a node that does not exist is a clear error", "[trajectory][errors]") {
  trajectory_tree tree("P");
  CHECK_THROWS_AS(tree.at(5), invalid_argument);
  CHECK_THROWS_WITH(tree.append(7, make_step("x", 1, 0)), Catch::Contains("node 7 does not exist"));
  CHECK_THROWS_AS(tree.set_score(3, 1.0), invalid_argument);
}

TEST_CASE("copy_prefix reproduces a trajectory in a tree of its own", "[trajectory]") {
  trajectory_tree tree("P");
  step s = make_step("a", 2, -1);
  s.engine_state = 42;
  const trajectory a = tree.append(0, s);
  tree.set_score(a.id(), 0.5);
  const trajectory b = tree.append(a.id(), make_step("b", 3, -2, true));
  const copied_prefix copy = copy_prefix(b);
  CHECK(&copy.leaf.tree() == copy.tree.get());
  CHECK(copy.leaf.text() == b.text());
  CHECK(copy.leaf.tokens() == b.tokens());
  CHECK(copy.leaf.path_hash() == b.path_hash());
  CHECK(copy.leaf.parent().last_step().engine_state == 42);
  CHECK(copy.leaf.parent().step_score() == 0.5);
  CHECK(copy.leaf.finished());
}

TEST_CASE("a tree takes its node blocks from the given memory resource", "[trajectory]") {
  struct counting_resource : std::pmr::memory_resource {
    std::size_t allocations = 0, deallocations = 0, live_bytes = 0;
    void* do_allocate(std::size_t bytes, std::size_t align) override {
      ++allocations;
      live_bytes += bytes;
      return std::pmr::new_delete_resource()->allocate(bytes, align);
    }
    void do_deallocate(void* p, std::size_t bytes, std::size_t align) override {
      ++deallocations;
      live_bytes -= bytes;
      std::pmr::new_delete_resource()->deallocate(p, bytes, align);
    }
    bool do_is_equal(const std::pmr::memory_resource& other) const noexcept override { return this == &other; }
  } memory;
  {
    trajectory_tree tree("P", &memory);
    trajectory t = tree.root();
    for (int i = 0; i < 1000; ++i) t = tree.append(t.id(), step{"s", 1, 0, false, 0});
    CHECK(memory.allocations == 5);  // blocks of 64, 128, 256, 512 and 1024 nodes hold 1001 nodes
    CHECK(t.depth() == 1000);
  }
  CHECK(memory.deallocations == 5);
  CHECK(memory.live_bytes == 0);
}
