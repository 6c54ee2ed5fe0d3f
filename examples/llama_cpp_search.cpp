// llama_cpp_search: best-of-N, beam search and the particle filter on any llama.cpp
// GGUF model, in process. The same model, loaded once, is also the reward model: a
// token-probability judge (P(" Yes") / (P(" Yes") + P(" No")) after "Is this step
// correct? Answer:") on its own context. For each strategy it prints the chosen text, what the search spent,
// its wall time and tokens per second, and the llama_decode calls it took.
//
//   llama_cpp_search MODEL.gguf ["PROMPT"]
//
// ggml's CPU backends come from $TTSCALE_LLAMA_CPP_BACKEND_DIR, else from the folder
// this program was built against. Decoding uses $TTSCALE_LLAMA_THREADS threads, 1 by
// default: llama.cpp's threads spin at barriers, so on a busy machine more threads
// than idle cores make decoding far slower, not faster.
#include <ttscale/adapters/llama_cpp.hpp>
#include <ttscale/adapters/llama_cpp/verifier.hpp>
#include <ttscale/strategies/beam_search.hpp>
#include <ttscale/strategies/best_of_n.hpp>
#include <ttscale/strategies/particle_filter.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <exception>
#include <random>
#include <span>
#include <string>

namespace lc = ttscale::llama_cpp;

namespace {
const char* const default_prompt =
    "Question: A baker sells muffins for $3 each and cookies for $2 each. On Monday she sold 14 muffins and "
    "twice as many cookies. How much money did she make? Think step by step, one step per line, and end "
    "with 'The answer is N.'\nAnswer:\n";

// One line of at most `width` bytes (newlines shown as "\n"), cut at a UTF-8 character boundary.
std::string shorten(const std::string& text, std::size_t width = 72) {
  std::string out;
  for (char c : text) out += c == '\n' ? std::string("\\n") : std::string(1, c);
  if (out.size() <= width) return out;
  std::size_t cut = width - 3;
  while (cut > 0 && (static_cast<unsigned char>(out[cut]) & 0xC0) == 0x80) --cut;
  return out.substr(0, cut) + "...";
}

// Ends every trajectory at its `steps`-th step, as if the model had stopped there: a
// model may never emit end-of-generation within the steps a search allows, and
// a search keeps only finished candidates.
struct finish_at_step {
  lc::generator& gen;
  std::size_t steps;
  void extend(std::span<const ttscale::trajectory> prefixes, std::span<ttscale::random_engine> engines,
              std::span<ttscale::step> out) {
    gen.extend(prefixes, engines, out);
    for (std::size_t i = 0; i < out.size(); ++i) out[i].finished |= prefixes[i].depth() + 1 >= steps;
  }
  void release(std::span<const ttscale::trajectory> nodes) { gen.release(nodes); }  // frees KV sequences
};

template <class Result>
void report(const char* name, const Result& r, std::uint64_t decodes, std::uint64_t judge_decodes) {
  const auto& s = r.spent;
  const double seconds = std::chrono::duration<double>(s.wall_time).count();
  fmt::print("{}\n", name);
  if (r.has_choice())
    fmt::print("  chosen (answer {}, score {:.3f}): \"{}\"\n", r.chosen().answer ? *r.chosen().answer : "none",
               r.chosen().score, shorten(r.chosen().path.completion()));
  else
    fmt::print("  no choice ({} candidates)\n", r.candidates.size());
  fmt::print("  tokens {}  steps {}  generator calls {}  verifier calls {} ({} items)  stopped: {}\n", s.tokens,
             s.steps, s.generator_calls, s.verifier_calls, s.verifier_items, ttscale::to_string(r.stopped));
  fmt::print("  {:.2f} s  {:.1f} tokens/s  llama_decode calls: generator {}, judge {}\n\n", seconds,
             static_cast<double>(s.tokens) / seconds, decodes, judge_decodes);
}
}  // namespace

int main(int argc, char** argv) try {
  if (argc < 2 || argc > 3) {
    fmt::print(stderr, "usage: {} MODEL.gguf [PROMPT]\n", argc > 0 ? argv[0] : "llama_cpp_search");
    return 2;
  }
  const char* backends = std::getenv("TTSCALE_LLAMA_CPP_BACKEND_DIR");
  lc::load_backends(backends ? backends : TTSCALE_LLAMA_CPP_BACKEND_DIR);
  const char* threads_env = std::getenv("TTSCALE_LLAMA_THREADS");
  const std::int32_t threads = threads_env ? std::max(1, std::atoi(threads_env)) : 1;
  const std::string prompt = argc == 3 ? argv[2] : default_prompt;

  const lc::model model(argv[1]);
  lc::engine engine(model, {.n_ctx = 4096, .n_seq_max = 32, .n_threads = threads});
  lc::generator llama_gen(engine, {.step_delimiter = "\n", .max_step_tokens = 24, .sampling = {.temperature = 0.8}});
  constexpr std::size_t steps = 4;  // per trajectory
  finish_at_step gen{llama_gen, steps};
  lc::token_probability_verifier prm(model, {}, {.n_ctx = 4096, .n_seq_max = 32, .n_threads = threads});
  fmt::print("{}: {} tokens of vocabulary; prompt of {} tokens; {} decode thread(s)\n\n", argv[1], model.vocab_size(),
             model.tokenize(prompt, true).size(), threads);

  std::mt19937_64 rng(2025);
  auto run = [&](const char* name, auto search) {
    const auto decodes = engine.stats().decodes, judge_decodes = prm.stats().decodes;
    const auto r = search();
    report(name, r, engine.stats().decodes - decodes, prm.stats().decodes - judge_decodes);
    prm.forget_all();  // the judge's KV sequences; the generator released its own through the release hook
  };
  using ttscale::last_number;
  run("best-of-8 (judge as outcome verifier)", [&] {
    return best_of_n(gen, prm, prompt, ttscale::best_of_n_options{.n = 8, .max_steps = steps, .extract = last_number{}},
                     rng);
  });
  run("beam search, N = 8, width 2 (judge after every step)", [&] {
    const ttscale::beam_search_options o{.n = 8, .beam_width = 2, .max_depth = steps, .extract = last_number{}};
    return beam_search(gen, prm, prompt, o, rng);
  });
  run("particle filter, 8 particles (judge after every step)", [&] {
    const ttscale::particle_filter_options o{.n = 8, .max_steps = steps, .extract = last_number{}};
    return particle_filter(gen, prm, prompt, o, rng);
  });
  fmt::print("KV sequences left: generator {}, judge {}\n", engine.sequences_in_use(), prm.sequences_in_use());
} catch (const std::exception& e) {
  fmt::print(stderr, "llama_cpp_search: {}\n", e.what());
  return 1;
}
