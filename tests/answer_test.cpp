#include <ttscale/answer.hpp>

#include <catch2/catch.hpp>

using namespace ttscale;

TEST_CASE("extract_boxed takes the last box with balanced braces", "[answer]") {
  CHECK(extract_boxed("so \\boxed{42}.") == "42");
  CHECK(extract_boxed("\\boxed{1} then \\boxed{2}") == "2");
  CHECK(extract_boxed("\\boxed{\\frac{1}{2}}") == "\\frac{1}{2}");
  CHECK_FALSE(extract_boxed("no box here").has_value());
  CHECK_FALSE(extract_boxed("\\boxed{unterminated").has_value());
  CHECK(extract_boxed("\\boxed{}") == "");
}

TEST_CASE("extract_last_number finds the final number", "[answer]") {
  CHECK(extract_last_number("The answer is 1,234.") == "1234");
  CHECK(extract_last_number("x = -3.5 and y = 7") == "7");
  CHECK(extract_last_number("temperature -3.5") == "-3.5");
  CHECK_FALSE(extract_last_number("none").has_value());
}

TEST_CASE("extractors read the completion, not the prompt", "[answer]") {
  trajectory_tree tree("Prompt says \\boxed{9} and 9");
  const trajectory t = tree.append(0, step{"I think \\boxed{3} or 4", 5, 0, true, 0});
  CHECK(boxed_answer{}(t) == "3");
  CHECK(last_number{}(t) == "4");
  CHECK_FALSE(boxed_answer{}(tree.root()).has_value());
}

TEST_CASE("answer keys and extractors are concepts", "[answer]") {
  STATIC_REQUIRE(answer_key<std::string>);
  STATIC_REQUIRE(answer_key<int>);
  STATIC_REQUIRE(answer_extractor<boxed_answer>);
  auto numeric = [](const trajectory& t) -> std::optional<int> { return static_cast<int>(t.depth()); };
  STATIC_REQUIRE(answer_extractor<decltype(numeric)>);
  STATIC_REQUIRE(std::same_as<answer_of<decltype(numeric)>, int>);
  auto not_optional = [](const trajectory&) { return 1; };
  STATIC_REQUIRE_FALSE(answer_extractor<decltype(not_optional)>);
}
