// text_world.hpp: a generator and PRMs with real-looking text, for the
// strategy bookkeeping benchmarks (issue #14, "bookkeeping measured honestly").
//
// The empty-text benchmarks (empty_step_generator, id_prm) (a one-token step with no text, a PRM hashing
// the node id) are the floor of what the library spends per round. A real
// step is a sentence of reasoning, ~40 characters, and a reward model served
// over HTTP must be sent each prefix's whole text (the prompt and every
// step) every time it scores it. These models cost what that costs on the
// library's side and nothing more:
//  - sentence_generator: every step is one of a fixed list of arithmetic
//    sentences (38 to 42 characters, mean 40), picked by the item's random
//    stream, assigned into out[i].text as a generator does;
//  - last_step_prm: reads only the newest step's text (a PRM with the
//    prefix already cached, e.g. a KV cache): the text's storage alone;
//  - full_text_prm: builds each prefix's whole text as a std::string with
//    trajectory::text(), what an HTTP reward model's request body needs.
//  - full_text_into_buffer_prm (with trajectory::append_text): the same
//    bytes written into one request buffer reused across items and rounds.
// Scores are hashed from the node id as in the empty-text benchmarks, so the
// searches select exactly as the floor does; the text read is folded into a
// checksum the benchmark keeps, so the reads cannot be optimised away.
#pragma once

#include <ttscale/random.hpp>
#include <ttscale/trajectory.hpp>

#include <benchmark/benchmark.h>

#include "report.hpp"

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace ttscale_bench {
/// A Google Benchmark main that prints the machine and its load first
/// (report.hpp's print_machine): per-round figures mean little without them.
inline int run_benchmarks_on_this_machine(int argc, char** argv) {
  print_machine();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
}  // namespace ttscale_bench

namespace text_world {

/// The question every search starts from (~150 characters, as a short maths prompt).
inline constexpr std::string_view prompt =
    "Question: A baker sells 6 trays of 7 muffins each morning. How many muffins does she sell? "
    "Reason step by step, then give the answer in \\boxed{}.\n";

/// A 40-character-ish reasoning step, from a fixed list (no allocation to pick one).
inline constexpr std::array<std::string_view, 16> sentences{
    "Step 1: 12 + 30 is 42, so carry nothing.\n",
    "Next, multiply 7 by 6 to get 42 apples.\n",
    "Subtract 15 from 57: that leaves us 42.\n",
    "So the total cost is 3 * 14 = 42 dollars.\n",
    "Divide 84 by 2, which gives exactly 42.\n",
    "Check: 40 + 2 = 42 matches the sum above.\n",
    "Let x = 6; then 7x = 42 and x is whole.\n",
    "The remainder of 142 mod 50 is 42 here.\n",
    "Now 2^5 + 10 = 32 + 10 = 42 in total.\n",
    "Half of 84 is 42, the number of pages.\n",
    "Adding the tens, 10 + 30 = 40, then 2.\n",
    "Since 6 * 7 = 42, each row has 7 seats.\n",
    "We have 50 - 8 = 42 marbles left over.\n",
    "The perimeter is 2 * (15 + 6) = 42 cm.\n",
    "Squaring: 6.48^2 is close to 42, fine.\n",
    "Thus the mean of 40 and 44 equals 42.\n",
};

/// Steps of one sentence each, one token per character (roughly), never finishing.
struct sentence_generator {
  void extend(std::span<const ttscale::trajectory>, std::span<ttscale::random_engine> engines,
              std::span<ttscale::step> out) const {
    for (std::size_t i = 0; i < out.size(); ++i) {
      const std::string_view s = sentences[engines[i]() % sentences.size()];
      out[i].text = s;
      out[i].tokens = static_cast<std::uint32_t>(s.size() / 4);
    }
  }
};

/// The floor: an empty one-token step (no text to store).
struct empty_step_generator {
  void extend(std::span<const ttscale::trajectory>, std::span<ttscale::random_engine>,
              std::span<ttscale::step> out) const {
    for (ttscale::step& s : out) s.tokens = 1;
  }
};

/// Fibonacci hashing of the node id: a score in (0, 1), different per node.
inline double hashed_score(ttscale::node_id id) {
  return (static_cast<double>((id * 0x9e3779b97f4a7c15ULL) >> 11) + 0.5) * 0x1.0p-53;
}

/// The floor: reads no text.
struct id_prm {
  std::uint64_t* checksum = nullptr;
  void score_steps(std::span<const ttscale::trajectory> prefixes, std::span<double> out) const {
    for (std::size_t i = 0; i < prefixes.size(); ++i) out[i] = hashed_score(prefixes[i].id());
  }
};

/// Reads the newest step's text only.
struct last_step_prm {
  std::uint64_t* checksum = nullptr;
  void score_steps(std::span<const ttscale::trajectory> prefixes, std::span<double> out) const {
    for (std::size_t i = 0; i < prefixes.size(); ++i) {
      const std::string_view text = prefixes[i].last_step().text;
      *checksum += text.size() + static_cast<unsigned char>(text.empty() ? 0 : text.back());
      out[i] = hashed_score(prefixes[i].id());
    }
  }
};

/// Builds every prefix's whole text as its own std::string (trajectory::text()).
struct full_text_prm {
  std::uint64_t* checksum = nullptr;
  void score_steps(std::span<const ttscale::trajectory> prefixes, std::span<double> out) const {
    for (std::size_t i = 0; i < prefixes.size(); ++i) {
      const std::string text = prefixes[i].text();
      benchmark::DoNotOptimize(text.data());
      *checksum += text.size() + static_cast<unsigned char>(text.back());
      out[i] = hashed_score(prefixes[i].id());
    }
  }
};

/// The same bytes as full_text_prm, written with trajectory::append_text
/// into one request buffer reused across items and rounds (no allocation
/// once the buffer has grown).
struct full_text_into_buffer_prm {
  std::uint64_t* checksum = nullptr;
  std::string* buffer = nullptr;
  void score_steps(std::span<const ttscale::trajectory> prefixes, std::span<double> out) const {
    for (std::size_t i = 0; i < prefixes.size(); ++i) {
      buffer->clear();
      prefixes[i].append_text(*buffer);
      benchmark::DoNotOptimize(buffer->data());
      *checksum += buffer->size() + static_cast<unsigned char>(buffer->back());
      out[i] = hashed_score(prefixes[i].id());
    }
  }
};

/// A generator and a PRM with the checksum (and request buffer) the PRM writes to.
template <class Gen, class Prm>
struct models {
  Gen gen;
  std::uint64_t checksum = 0;
  std::string buffer;
  Prm prm{&checksum};
  models() {
    if constexpr (requires { prm.buffer; }) prm.buffer = &buffer;
  }
  models(const models&) = delete;  // prm points into it
  models& operator=(const models&) = delete;
};

}  // namespace text_world
