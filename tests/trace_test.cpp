#include <ttscale/trace.hpp>
#include <ttscale/search_context.hpp>
#include <ttscale/toy/scripted.hpp>

#include <catch2/catch.hpp>

#include <string>
#include <vector>

using namespace ttscale;

namespace {
std::vector<toy::script> scripts() {
  return {{toy::scripted_step("say \"hi\"\n"), toy::scripted_step("\\boxed{1}", true)},
          {toy::scripted_step("b"), toy::scripted_step("\\boxed{2}", true)}};
}
std::vector<stream_key> keys(std::size_t n) {
  std::vector<stream_key> k(n);
  for (std::size_t i = 0; i < n; ++i) k[i] = {i, 0};
  return k;
}
}  // namespace

TEST_CASE("a trace records nodes, scores, decisions and the chosen path", "[trace]") {
  toy::scripted_generator gen(scripts());
  toy::function_prm prm{[](const trajectory& t) { return t.completion().find('b') != std::string::npos ? 0.9 : 0.2; }};
  search_trace trace;
  search_context ctx("traced", "P", budget{}, execution{}, 1);
  ctx.record_to(&trace);
  std::vector<trajectory> roots(2, ctx.root());
  const auto first = ctx.extend(gen, roots, keys(2));
  (void)ctx.score_steps(prm, first);
  ctx.mark(first[0], trace_status::pruned);
  ctx.mark(std::span<const trajectory>(first).subspan(1), trace_status::kept);
  const std::vector<trajectory> live{first[1]};
  const auto second = ctx.extend(gen, live, keys(1));
  (void)ctx.score_steps(prm, second);
  std::vector<candidate<std::string>> c(1);
  c[0].path = second[0];
  c[0].score = 0.9;
  c[0].answer = "2";
  const auto r = ctx.finish(std::move(c), select::best);
  REQUIRE(r.chosen_index == 0u);

  REQUIRE(trace.nodes().size() == 4);  // root + 2 + 1
  CHECK(trace.rounds() == 2);
  const trace_node& root = trace.nodes()[0];
  CHECK(root.id == root.parent);
  CHECK(root.status == trace_status::chosen);
  CHECK(trace.find(first[0].id())->status == trace_status::pruned);
  CHECK(trace.find(first[0].id())->score == 0.2);
  CHECK(trace.find(first[1].id())->status == trace_status::chosen);
  CHECK(trace.find(second[0].id())->status == trace_status::chosen);
  CHECK(trace.find(second[0].id())->round == 2);
  CHECK(trace.find(second[0].id())->depth == 2);
  CHECK(trace.find(second[0].id())->finished);
  CHECK(trace.count(trace_status::pruned) == 1);

  const std::string json = trace.to_json();
  CHECK(json.find("\"strategy\":\"traced\"") != std::string::npos);
  CHECK(json.find("\"status\":\"pruned\"") != std::string::npos);
  CHECK(json.find("say \\\"hi\\\"\\n") != std::string::npos);  // quotes and newlines escaped
  CHECK(json.find("\"score\":null") != std::string::npos);     // the root is unscored
  const std::string dot = trace.to_dot();
  CHECK(dot.rfind("digraph search_trace {", 0) == 0);
  CHECK(dot.find("n0 -> n1;") != std::string::npos);
  CHECK(dot.find("n2 -> n3;") != std::string::npos);
  CHECK(dot.find("fillcolor=\"gold\"") != std::string::npos);
  CHECK(dot.find("fillcolor=\"gray85\"") != std::string::npos);
}

TEST_CASE("without a trace nothing is recorded; attaching again starts over", "[trace]") {
  toy::scripted_generator gen(scripts());
  search_trace trace;
  {
    search_context ctx("a", "P", budget{}, execution{}, 1);
    ctx.record_to(&trace);
    std::vector<trajectory> roots(2, ctx.root());
    (void)ctx.extend(gen, roots, keys(2));
    CHECK(trace.nodes().size() == 3);
  }
  search_context ctx("b", "Q", budget{}, execution{}, 1);
  ctx.record_to(&trace);
  CHECK(trace.nodes().size() == 1);
  CHECK(trace.strategy() == "b");
  ctx.record_to(nullptr);
  std::vector<trajectory> roots(2, ctx.root());
  (void)ctx.extend(gen, roots, keys(2));
  CHECK(trace.nodes().size() == 1);
}
