#!/usr/bin/env bash
# Compile time of ttscale's headers: seconds per translation unit, median of 3.
#
# One TU per strategy that includes only that strategy's header and calls it
# once on a two-line generator and PRM (nested: a majority vote over majority
# votes, so it also includes majority_vote.hpp); the umbrella header <ttscale.hpp>
# alone; and one TU that calls all eleven strategies. Each is compiled with
# `$CXX $CXXFLAGS -c` (default: g++ -std=c++20 -O2), the object discarded.
#
# Usage: bash bench/compile_time.sh [name...]      (names: the first column; default all)
#   REPEATS=5 CXX=clang++ CXXFLAGS="-std=c++20 -O0" bash bench/compile_time.sh best_of_n umbrella
# To see where the time goes in one TU: KEEP=1 keeps the sources (path printed),
# then add -ftime-report or -H to the printed command. To compare with another
# version of the headers, run for run under the same load:
#   git archive <commit> include | tar -x -C /tmp/old
#   BASELINE=/tmp/old/include bash bench/compile_time.sh
# (INCLUDE=dir measures another include directory instead of this one.) On a
# machine shared with other jobs, ICOUNT=1 counts the compiler's instructions
# with valgrind instead of timing it: slow, but independent of the load.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
include="${INCLUDE:-$root/include}"
cxx="${CXX:-g++}"
read -r -a flags <<<"${CXXFLAGS:--std=c++20 -O2}"
repeats="${REPEATS:-3}"
work="$(mktemp -d /tmp/ttscale-compile-time.XXXXXX)"
[ "${KEEP:-0}" = 1 ] || trap 'rm -rf "$work"' EXIT

strategies=(best_of_n majority_vote beam_search dvts a_star first_finish adaptive_consistency
            particle_filter entropic_particle_filter particle_gibbs nested)

# The call each TU makes; `g` is the generator, `v` the PRM, `rng` a std::mt19937_64.
call_of() {
  case "$1" in
    best_of_n) echo 'best_of_n(g, v, "q", best_of_n_options{.n = 4}, rng)' ;;
    majority_vote) echo 'majority_vote(g, "q", vote_options{.n = 4}, rng)' ;;
    beam_search) echo 'beam_search(g, v, "q", beam_search_options{.n = 4, .beam_width = 2}, rng)' ;;
    dvts) echo 'dvts(g, v, "q", dvts_options{.n = 4, .beam_width = 2}, rng)' ;;
    a_star) echo 'a_star(g, v, "q", a_star_options{.continuations = 2, .expansions = 8}, rng)' ;;
    first_finish) echo 'first_finish(g, "q", first_finish_options{.n = 4}, rng)' ;;
    adaptive_consistency) echo 'adaptive_consistency(g, "q", adaptive_consistency_options{.max_samples = 8}, rng)' ;;
    particle_filter) echo 'particle_filter(g, v, "q", particle_filter_options{.n = 4}, rng)' ;;
    entropic_particle_filter) echo 'entropic_particle_filter(g, v, "q", entropic_particle_filter_options{.n = 4}, rng)' ;;
    particle_gibbs) echo 'particle_gibbs(g, v, "q", particle_gibbs_options{.n = 4, .sweeps = 2}, rng)' ;;
    nested) echo 'majority_vote(votes, "q", vote_options{.n = 2, .max_steps = 1}, rng)' ;;
  esac
}

# Writes a TU: the includes ($2...), a minimal generator and PRM, and main()
# calling each strategy named in the global array `calls`.
write_tu() {
  local file="$1"; shift
  {
    for header in "$@"; do echo "#include <$header>"; done
    cat <<'EOF'
#include <cstddef>
#include <random>
#include <span>

namespace {
// Two steps per completion, always the same answer: only the types matter here.
struct tiny_generator {
  void extend(std::span<const ttscale::trajectory> prefixes, std::span<ttscale::random_engine>,
              std::span<ttscale::step> out) {
    for (std::size_t i = 0; i < out.size(); ++i)
      out[i] = ttscale::step{.text = "\\boxed{7}", .tokens = 1, .finished = prefixes[i].depth() >= 1};
  }
};
struct tiny_prm {
  void score_steps(std::span<const ttscale::trajectory>, std::span<double> out) {
    for (double& s : out) s = 0.5;
  }
};
}  // namespace

int main() {
  using namespace ttscale;
  tiny_generator g;
  tiny_prm v;
  std::mt19937_64 rng(1);
  int failures = 0;
  (void)v;
EOF
    for s in "${calls[@]}"; do
      if [ "$s" = nested ]; then
        echo '  auto votes = as_sampler([&](search_start start, random_engine& r) {'
        echo '    return majority_vote(g, std::move(start), vote_options{.n = 2}, r);'
        echo '  });'
      fi
      echo "  failures += $(call_of "$s").has_choice() ? 0 : 1;"
    done
    echo '  return failures;'
    echo '}'
  } >"$file"
}

names=()
for s in "${strategies[@]}"; do
  calls=("$s")
  headers=("ttscale/strategies/$s.hpp")
  [ "$s" = nested ] && headers+=(ttscale/strategies/majority_vote.hpp)
  write_tu "$work/$s.cpp" "${headers[@]}"
  names+=("$s")
done
calls=()
write_tu "$work/umbrella.cpp" ttscale.hpp
names+=(umbrella)
calls=("${strategies[@]}")
all_headers=()
for s in "${strategies[@]}"; do all_headers+=("ttscale/strategies/$s.hpp"); done
write_tu "$work/all_eleven.cpp" "${all_headers[@]}"
names+=(all_eleven)

[ $# -gt 0 ] && names=("$@")

cpu="$(grep -m1 'model name' /proc/cpuinfo 2>/dev/null | sed 's/.*: //' || true)"
echo "CPU: ${cpu:-unknown} ($(nproc) cores; one compile at a time; load average $(cut -d' ' -f1 /proc/loadavg 2>/dev/null || echo '?'))"
echo "Compiler: $("$cxx" --version | head -1)"
if [ "${ICOUNT:-0}" = 1 ]; then
  repeats=1
  unit="G instr"
  echo "Command: valgrind --tool=callgrind --trace-children=yes $cxx ${flags[*]} -I $include -c <tu>.cpp"
  echo "G instr = billions of instructions the compiler executes: slow (about 50x) but the same however loaded the machine is"
else
  unit="cpu s"
  echo "Command: $cxx ${flags[*]} -I $include -c <tu>.cpp; median of $repeats runs"
  echo "cpu = user + system seconds of the compiler (less sensitive than wall to other jobs); wall = elapsed"
fi
[ -n "${BASELINE:-}" ] && echo "Baseline: the same with -I $BASELINE, alternating run by run with the command above"
[ "${KEEP:-0}" = 1 ] && echo "Sources: $work"
echo
if [ -n "${BASELINE:-}" ]; then
  printf '%-26s %14s %9s %7s %7s\n' "translation unit" "baseline $unit" "$unit" "change" "wall s"
  printf '%-26s %14s %9s %7s %7s\n' "--------------------------" "--------------" "---------" "-------" "-------"
else
  printf '%-26s %9s %7s\n' "translation unit" "$unit" "wall s"
  printf '%-26s %9s %7s\n' "--------------------------" "---------" "-------"
fi
median() { printf '%s\n' "$@" | sort -g | sed -n "$(( ($# + 1) / 2 ))p"; }
# measure <name> <include dir>: sets $value (cpu seconds, or G instructions with
# ICOUNT=1) and $wall, or exits with the compiler's errors.
measure() {
  local name="$1" dir="$2" user sys run=()
  [ "${ICOUNT:-0}" = 1 ] && run=(valgrind --tool=callgrind --trace-children=yes --cache-sim=no --branch-sim=no
                                 "--callgrind-out-file=$work/callgrind.%p" -q)
  rm -f "$work"/callgrind.*
  TIMEFORMAT='%R %U %S'
  if ! { time "${run[@]}" "$cxx" "${flags[@]}" -I "$dir" -c "$work/$name.cpp" -o "$work/$name.o" \
           2>"$work/$name.err"; } 2>"$work/$name.time"; then
    echo "compile_time.sh: $name does not compile with -I $dir:" >&2
    head -40 "$work/$name.err" >&2
    exit 1
  fi
  read -r wall user sys <"$work/$name.time"
  if [ "${ICOUNT:-0}" = 1 ]; then
    value="$(cat "$work"/callgrind.* | awk '/^summary:/ { n += $2 } END { printf "%.2f", n / 1e9 }')"
  else
    value="$(awk -v u="$user" -v s="$sys" 'BEGIN { printf "%.3f", u + s }')"
  fi
}
for name in "${names[@]}"; do
  [ -f "$work/$name.cpp" ] || { echo "compile_time.sh: no TU named '$name'" >&2; exit 2; }
  values=() wall_times=() base_values=()
  for ((r = 0; r < repeats; ++r)); do
    if [ -n "${BASELINE:-}" ]; then
      measure "$name" "$BASELINE"
      base_values+=("$value")
    fi
    measure "$name" "$include"
    values+=("$value")
    wall_times+=("$wall")
  done
  wall_s="$(printf '%.2f' "$(median "${wall_times[@]}")")"
  [ "${ICOUNT:-0}" = 1 ] && wall_s="-"  # valgrind's, not the compiler's
  if [ -n "${BASELINE:-}" ]; then
    base="$(median "${base_values[@]}")" now="$(median "${values[@]}")"
    printf '%-26s %14.2f %9.2f %6.0f%% %7s\n' "$name" "$base" "$now" \
      "$(awk -v b="$base" -v a="$now" 'BEGIN { print (a - b) * 100 / b }')" "$wall_s"
  else
    printf '%-26s %9.2f %7s\n' "$name" "$(median "${values[@]}")" "$wall_s"
  fi
done
