#include <ttscale/toy/arithmetic_notation.hpp>

#include <catch2/catch.hpp>

#include <string>
#include <vector>

using namespace ttscale;

namespace {
toy::arithmetic_problem problem(int start, std::vector<toy::operation> ops) {
  toy::arithmetic_problem p;
  p.level = static_cast<int>(ops.size()) - 2;
  p.start = start;
  p.ops = std::move(ops);
  return p;
}
using toy::op_kind;

// A trajectory of the given step texts (the last one finished if it ends with '.').
trajectory path(trajectory_tree& tree, const std::vector<std::string>& texts) {
  trajectory t = tree.root();
  for (const std::string& text : texts) {
    step s;
    s.text = text;
    s.finished = !text.empty() && text.back() == '.';
    t = tree.append(t.id(), s);
  }
  return t;
}
}  // namespace

// The expected strings were printed by tools/train_models/world.py, the
// training data's generator: C++ and Python must agree character for character.
TEST_CASE("compact notation matches the training data's", "[toy][notation]") {
  const auto a = problem(7, {{op_kind::add, 5}, {op_kind::mul, 9}, {op_kind::sub, 99}});
  CHECK(toy::compact_prompt(a) == "700+50*9-99\n");
  CHECK(toy::compact_solution(a) == std::vector<std::string>{"700+50=210\n", "210*9=801\n", "801-99=900."});
  const auto b = problem(243, {{op_kind::mul, 4}, {op_kind::sub, 78}, {op_kind::sub, 81}, {op_kind::mul, 3}});
  CHECK(toy::compact_prompt(b) == "342*4-87-18*3\n");
  CHECK(toy::compact_solution(b) ==
        std::vector<std::string>{"342*4=279\n", "279-87=498\n", "498-18=318\n", "318*3=934."});
  CHECK(b.answer() == 439);
  const auto c = problem(417, {{op_kind::add, 23}, {op_kind::mul, 3}, {op_kind::sub, 5}});  // the header's example
  CHECK(toy::compact_prompt(c) == "714+32*3-50\n");
  CHECK(toy::compact_solution(c) == std::vector<std::string>{"714+32=044\n", "044*3=023\n", "023-50=513."});
}

TEST_CASE("every problem of the world has a solution that reads back its answer", "[toy][notation]") {
  for (const auto& p : toy::make_problems({.count = 200, .seed = 3})) {
    const auto steps = toy::compact_solution(p);
    REQUIRE(steps.size() == p.ops.size());
    CHECK(toy::compact_final_value(steps.back()) == p.answer());
    for (std::size_t i = 0; i + 1 < steps.size(); ++i) CHECK_FALSE(toy::compact_final_value(steps[i]).has_value());
  }
}

TEST_CASE("the final value is read only from a well-formed last step", "[toy][notation]") {
  CHECK(toy::compact_final_value("801-99=900.") == 9);
  CHECK(toy::compact_final_value("023-50=513.") == 315);
  CHECK(toy::compact_final_value("023-50=513.\n") == 315);
  CHECK_FALSE(toy::compact_final_value("801-99=900\n").has_value());  // not the last step
  CHECK_FALSE(toy::compact_final_value("801-99=90.").has_value());    // two digits
  CHECK_FALSE(toy::compact_final_value("801-99=9a0.").has_value());
  CHECK_FALSE(toy::compact_final_value("=900").has_value());
  CHECK_FALSE(toy::compact_final_value("").has_value());
}

TEST_CASE("the checker and the prefix labels read the text", "[toy][notation]") {
  const auto p = problem(7, {{op_kind::add, 5}, {op_kind::mul, 9}, {op_kind::sub, 99}});
  trajectory_tree tree(toy::compact_prompt(p));
  const trajectory right = path(tree, {"700+50=210\n", "210*9=801\n", "801-99=900."});
  CHECK(toy::compact_is_correct(p, right));
  CHECK(toy::compact_answer{}(right) == 9);
  CHECK(toy::compact_prefix_correct(p, right));
  CHECK(toy::compact_prefix_correct(p, right.parent()));
  CHECK(toy::compact_prefix_correct(p, tree.root()));

  // A wrong step 2 whose last step still states the right value: the checker
  // reads only the answer (as answers are graded), the prefix label needs
  // every step so far right.
  const trajectory lucky = path(tree, {"700+50=210\n", "210*9=811\n", "811-99=900."});
  CHECK(toy::compact_is_correct(p, lucky));
  CHECK_FALSE(toy::compact_prefix_correct(p, lucky));
  CHECK(toy::compact_prefix_correct(p, lucky.parent().parent()));

  const trajectory wrong = path(tree, {"700+50=210\n", "210*9=801\n", "801-99=910."});
  CHECK_FALSE(toy::compact_is_correct(p, wrong));
  CHECK_FALSE(toy::compact_answer{}(wrong.parent()).has_value());  // unfinished: abstains
  const trajectory too_long = path(tree, {"700+50=210\n", "210*9=801\n", "801-99=900\n", "900+00=900."});
  CHECK_FALSE(toy::compact_prefix_correct(p, too_long));

  double scores[3];
  toy::compact_exact_verifier{p}.score_outcomes(std::vector<trajectory>{right, lucky, wrong}, scores);
  CHECK(scores[0] == 1.0);
  CHECK(scores[1] == 1.0);
  CHECK(scores[2] == 0.0);
}
