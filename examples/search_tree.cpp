// search_tree: look at a search. Runs PRM beam search (and DVTS) on one hard
// toy problem with a search trace attached, and writes the tree as Graphviz
// DOT and JSON:
//
//   search_tree [level=4] [seed=3]
//   dot -Tsvg beam_search.dot > beam_search.svg      (needs Graphviz)
//
// In the picture every box is a step with its PRM score; green = kept by the
// beam, grey = pruned, blue = a finished candidate, gold = the chosen path.
#include <ttscale.hpp>

#include <fmt/format.h>

#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>

namespace {
bool write_file(const std::string& path, const std::string& text) {
  std::FILE* f = std::fopen(path.c_str(), "w");
  if (!f) return false;
  std::fputs(text.c_str(), f);
  return std::fclose(f) == 0;
}

void report(const char* name, const ttscale::search_trace& trace, const ttscale::toy::arithmetic_problem& problem,
            const ttscale::search_result<std::string>& r) {
  using ttscale::trace_status;
  const bool right = r.has_choice() && ttscale::toy::is_correct(problem, r.chosen().path);
  fmt::print("{:<12} {:>4} nodes in {:>2} rounds: {:>3} kept, {:>3} pruned, {:>2} candidates; answer {} ({}), {} tokens\n",
             name, trace.nodes().size(), trace.rounds(), trace.count(trace_status::kept),
             trace.count(trace_status::pruned), r.candidates.size(), r.answer.value_or("none"),
             right ? "right" : "wrong", r.spent.tokens);
  const std::string stem(name);
  if (write_file(stem + ".dot", trace.to_dot()) && write_file(stem + ".json", trace.to_json()))
    fmt::print("{:<12} wrote {}.dot and {}.json\n", "", stem, stem);
}
}  // namespace

int main(int argc, char** argv) {
  const int level = argc > 1 ? std::atoi(argv[1]) : 4;
  const std::uint64_t seed = argc > 2 ? std::strtoull(argv[2], nullptr, 10) : 3;
  const auto problems = ttscale::toy::make_problems({.count = 1, .min_level = level, .max_level = level, .seed = seed});
  const auto& problem = problems[0];
  ttscale::toy::arithmetic_generator model(problem);
  ttscale::toy::noisy_prm prm(problem, {.auc = 0.9, .seed = seed});
  fmt::print("problem (level {}): {}right answer: {}\n\n", level, problem.prompt(), problem.answer());

  std::mt19937_64 rng(seed);
  ttscale::search_trace trace;
  const auto beam = ttscale::beam_search(model, prm, problem.prompt(),
                                         ttscale::beam_search_options{.n = 8, .beam_width = 4, .trace = &trace}, rng);
  report("beam_search", trace, problem, beam);

  ttscale::search_trace dvts_trace;
  const auto subtrees = ttscale::dvts(model, prm, problem.prompt(),
                                      ttscale::dvts_options{.n = 8, .beam_width = 4, .trace = &dvts_trace}, rng);
  report("dvts", dvts_trace, problem, subtrees);
  fmt::print("\nrender with: dot -Tsvg beam_search.dot > beam_search.svg\n");
}
