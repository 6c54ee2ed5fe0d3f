#include <ttscale/trajectory.hpp>

#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <memory_resource>
#include <string>
#include <string_view>
#include <vector>

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
  const step_view& first = tree.append(0, make_step("first", 1, 0)).last_step();
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
    // Blocks of 64, 128, 256, 512 and 1024 nodes hold 1001 nodes; the 1000
    // one-byte texts fit the text arena's first chunk (1 KiB).
    CHECK(memory.allocations == 6);
    CHECK(t.depth() == 1000);
  }
  CHECK(memory.deallocations == 6);
  CHECK(memory.live_bytes == 0);
}

TEST_CASE("step texts live in the tree: views stay valid, long texts get a chunk of their own", "[trajectory]") {
  trajectory_tree tree("P");
  step s = make_step("short", 1, 0);
  const trajectory a = tree.append(0, s);
  s.text = "changed";  // the tree kept a copy
  CHECK(a.last_step().text == "short");
  const std::string long_text(5000, 'x');  // over a quarter of any chunk below 20 KiB
  const trajectory b = tree.append(a.id(), make_step(long_text, 1, 0));
  trajectory c = b;
  for (int i = 0; i < 3000; ++i) c = tree.append(c.id(), make_step("ab", 1, 0));  // fills several chunks
  CHECK(a.last_step().text == "short");
  CHECK(b.last_step().text == long_text);
  CHECK(c.last_step().text == "ab");
  CHECK(c.text_size() == 1 + 5 + 5000 + 2 * 3000);
  std::string expected = "Pshort" + long_text;
  for (int i = 0; i < 3000; ++i) expected += "ab";
  CHECK(c.text() == expected);
  CHECK(tree.append(0, step{}).last_step().text.empty());
  const step copy = b.last_step().to_step();
  CHECK(copy.text == long_text);
  CHECK(copy.tokens == 1);
}

TEST_CASE("text(), completion(), append_text() and text_segments() agree", "[trajectory]") {
  trajectory_tree tree("Prompt: ");
  const trajectory root = tree.root();
  CHECK(root.text() == "Prompt: ");
  CHECK(root.completion().empty());
  CHECK(root.text_segments() == std::vector<std::string_view>{"Prompt: "});
  const trajectory a = tree.append(0, make_step("one, ", 1, 0));
  const trajectory e = tree.append(a.id(), make_step("", 1, 0));  // an empty step is a segment too
  const trajectory b = tree.append(e.id(), make_step("two.", 1, 0));
  CHECK(b.text() == "Prompt: one, two.");
  CHECK(b.completion() == "one, two.");
  CHECK(b.text_size() == b.text().size());
  CHECK(b.text_segments() == std::vector<std::string_view>{"Prompt: ", "one, ", "", "two."});
  std::string buffer = "[";
  b.append_text(buffer);
  a.append_text(buffer);
  CHECK(buffer == "[Prompt: one, two.Prompt: one, ");
}

TEST_CASE("path hashes are the chained FNV-1a of the texts, whatever order they are asked in", "[trajectory]") {
  // The hash of a path: h(root) = fnv1a(prompt), h(child) = fnv1a(text, h(parent) ^ K).
  auto expected = [](const std::vector<std::string>& texts) {
    std::uint64_t h = detail::fnv1a("P");
    for (const std::string& t : texts) h = detail::fnv1a(t, h ^ 0x9e3779b97f4a7c15ULL);
    return h;
  };
  trajectory_tree tree("P");
  std::vector<trajectory> path{tree.root()};
  std::vector<std::string> texts;
  for (int i = 0; i < 200; ++i) {  // deeper than the 64 pending ancestors one hash_of call collects
    texts.push_back("step " + std::to_string(i));
    path.push_back(tree.append(path.back().id(), make_step(texts.back(), 1, 0)));
  }
  CHECK(path[150].path_hash() == expected({texts.begin(), texts.begin() + 150}));  // deepest first...
  CHECK(path[200].path_hash() == expected(texts));
  CHECK(path[10].path_hash() == expected({texts.begin(), texts.begin() + 10}));  // ... then cached ancestors
  CHECK(path[0].path_hash() == detail::fnv1a("P"));
}

TEST_CASE("step texts of every length up to 130 bytes are stored exactly", "[trajectory]") {
  // The arena copies 16-64 bytes as two overlapping fixed-size copies: every
  // length on both sides of the 16 / 32 / 64 edges must come back byte for byte.
  trajectory_tree tree("P");
  std::string expected = "P";
  node_id at = 0;
  for (std::size_t n = 0; n <= 130; ++n) {
    std::string text(n, '\0');
    for (std::size_t i = 0; i < n; ++i) text[i] = static_cast<char>('a' + (i * 7 + n) % 26);
    const trajectory t = tree.append(at, make_step(text, 1, 0.0));
    CHECK(t.last_step().text == text);
    expected += text;
    at = t.id();
  }
  CHECK(tree.at(at).text() == expected);
}

TEST_CASE("prefetch is a hint: any id, in the tree or not, changes nothing", "[trajectory]") {
  trajectory_tree tree("P");
  const trajectory a = tree.append(0, make_step(" a", 1, 0.0));
  tree.prefetch(0);
  tree.prefetch(a.id());
  tree.prefetch(a.id() + 1);  // not in the tree: ignored
  tree.prefetch(std::numeric_limits<node_id>::max());
  CHECK(tree.size() == 2);
  CHECK(tree.at(a.id()).text() == "P a");
}

TEST_CASE("node blocks double to 16,384 nodes, then stay at that size: every node is where it was put",
          "[trajectory]") {
  // 32,704 nodes fill the doubling blocks; the rest go to fixed blocks of 16,384.
  trajectory_tree tree("P");
  const std::size_t nodes = 32'704 + 3 * 16'384 + 5;
  std::vector<node_id> ids{0};
  for (std::size_t i = 1; i < nodes; ++i) {
    // A wide, shallow tree: parent i / 3, so depths and totals follow from the id.
    const trajectory t = tree.append(ids[(i - 1) / 3], make_step("", static_cast<std::uint32_t>(i % 7 + 1), -1.0));
    ids.push_back(t.id());
    REQUIRE(t.id() == i);
  }
  REQUIRE(tree.size() == nodes);
  for (std::size_t i : {std::size_t{1}, std::size_t{32'703}, std::size_t{32'704}, std::size_t{32'705},
                        std::size_t{32'704 + 16'383}, std::size_t{32'704 + 16'384}, nodes - 1}) {
    INFO("node " << i);
    const trajectory t = tree.at(static_cast<node_id>(i));
    CHECK(t.last_step().tokens == i % 7 + 1);
    CHECK(t.parent().id() == (i - 1) / 3);
    CHECK(t.tokens() == t.parent().tokens() + i % 7 + 1);
    CHECK(t.depth() == t.parent().depth() + 1);
  }
}

TEST_CASE("the bulk append gives the tree one append per step would", "[trajectory]") {
  // Batches that straddle node blocks (64, 128, ... nodes) and text chunks
  // (1 KiB doubling; a text over a quarter of the next chunk gets its own),
  // parents anywhere in the tree, texts of every size class.
  trajectory_tree one("P"), bulk("P");
  std::vector<trajectory> one_leaves{one.root()}, bulk_leaves{bulk.root()};
  std::size_t seed = 1;
  for (const std::size_t batch : {std::size_t{1}, std::size_t{63}, std::size_t{200}, std::size_t{7}, std::size_t{3000}}) {
    std::vector<step> steps(batch);
    std::vector<trajectory> one_parents(batch), bulk_parents(batch), children(batch);
    for (std::size_t i = 0; i < batch; ++i) {
      seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
      const std::size_t length = (seed >> 33) % 5 == 0 ? (seed >> 40) % 700 : (seed >> 40) % 70;
      steps[i] = make_step(std::string(length, static_cast<char>('a' + i % 26)), static_cast<std::uint32_t>(i % 5),
                           -0.25 * static_cast<double>(i % 3), i % 11 == 0);
      steps[i].engine_state = static_cast<std::int64_t>(seed >> 20);
      const std::size_t parent = (seed >> 13) % one_leaves.size();
      one_parents[i] = one_leaves[parent];
      bulk_parents[i] = bulk_leaves[parent];
    }
    bulk.append(bulk_parents, steps, children);
    for (std::size_t i = 0; i < batch; ++i) {
      const trajectory a = one.append(one_parents[i].id(), steps[i]);
      const trajectory& b = children[i];
      INFO("batch " << batch << ", item " << i);
      REQUIRE(b.id() == a.id());
      CHECK(b.parent().id() == a.parent().id());
      CHECK(b.last_step().text == steps[i].text);
      CHECK(b.last_step().tokens == steps[i].tokens);
      CHECK(b.last_step().logprob == steps[i].logprob);
      CHECK(b.last_step().finished == steps[i].finished);
      CHECK(b.last_step().engine_state == steps[i].engine_state);
      CHECK(b.depth() == a.depth());
      CHECK(b.tokens() == a.tokens());
      CHECK(b.logprob() == a.logprob());
      CHECK(b.text_size() == a.text_size());
      CHECK(std::isnan(b.step_score()));
      CHECK(b.text() == a.text());
      one_leaves.push_back(a);
      bulk_leaves.push_back(b);
    }
    REQUIRE(bulk.size() == one.size());
  }
}

TEST_CASE("the bulk append checks every parent before it appends anything", "[trajectory][errors]") {
  trajectory_tree tree("P"), other("Q");
  const trajectory a = tree.append(0, make_step(" a", 1, 0.0));
  std::vector<step> steps(2, make_step(" b", 1, 0.0));
  std::vector<trajectory> children(2);
  SECTION("another tree's node") {
    const std::vector<trajectory> parents{a, other.root()};
    CHECK_THROWS_WITH(tree.append(parents, steps, children), Catch::Contains("parents[1] is a node of another tree"));
  }
  SECTION("an empty handle") {
    const std::vector<trajectory> parents{trajectory{}, a};
    CHECK_THROWS_WITH(tree.append(parents, steps, children), Catch::Contains("parents[0] is a node of no tree"));
  }
  SECTION("sizes that differ") {
    const std::vector<trajectory> parents{a};
    CHECK_THROWS_AS(tree.append(parents, steps, children), size_mismatch);
  }
  CHECK(tree.size() == 2);
  CHECK(other.size() == 1);
}

TEST_CASE("a handle's finished() is its node's, however the handle was made", "[trajectory]") {
  // The handle carries the flag (no tree read); every way of making one must set it.
  trajectory_tree tree("P");
  CHECK_FALSE(tree.root().finished());
  const trajectory open = tree.append(0, make_step(" a", 1, 0.0));
  const trajectory done = tree.append(open.id(), make_step(" b", 1, 0.0, true));
  CHECK_FALSE(open.finished());
  CHECK(done.finished());
  // A step appended under a finished node (the tree allows it): its parent() is finished.
  const trajectory after = tree.append(done.id(), make_step(" c", 1, 0.0));
  CHECK_FALSE(after.finished());
  CHECK(after.parent().finished());
  CHECK(after.parent() == done);
  CHECK(tree.at(done.id()).finished());
  CHECK_FALSE(tree.at(open.id()).finished());
  std::vector<step> steps{make_step(" d", 1, 0.0, true), make_step(" e", 1, 0.0)};
  std::vector<trajectory> parents{open, done}, children(2);
  tree.append(parents, steps, children);
  CHECK(children[0].finished());
  CHECK_FALSE(children[1].finished());
  CHECK(children[1].parent().finished());
  const copied_prefix copy = copy_prefix(done);
  CHECK(copy.leaf.finished());
  CHECK_FALSE(copy.leaf.parent().finished());
  trajectory copied = done;  // copies keep it
  CHECK(copied.finished());
  copied = open;
  CHECK_FALSE(copied.finished());
}
