#!/usr/bin/env bash
# Installs what is missing, builds everything (tests, benchmarks, examples, and
# every public header on its own) and runs the whole test suite.
# Usage: bash scripts/test.sh            (Release build in build/test)
#        TTSCALE_SANITIZE=1 bash scripts/test.sh   (ASan+UBSan in build/sanitize; -O0: GCC 12
#        takes minutes per test file with ASan at -O1)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh --tests
# llama.cpp for the llama.cpp adapter's tests: fetched once into ${TTSCALE_CACHE:-~/.cache/ttscale}.
bash scripts/fetch_llama_cpp.sh --quiet
# llama-server for the OpenAI HTTP adapter's tests, built from that tree once into
# the same cache (about 5 minutes on 2 cores); CMake finds it there (TTSCALE_LLAMA_SERVER).
bash scripts/fetch_llama_server.sh --quiet
if [ "${TTSCALE_SANITIZE:-0}" = 1 ]; then
  dir=build/sanitize
  flags=(-DCMAKE_BUILD_TYPE=Debug -DTTSCALE_BUILD_BENCH=OFF -DTTSCALE_BUILD_EXAMPLES=OFF
         "-DCMAKE_CXX_FLAGS=-O0 -g -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer")
  export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
  targets=(all)
else
  dir=build/test
  flags=(-DCMAKE_BUILD_TYPE=Release)
  # Also compile every public header on its own (CMake's VERIFY_INTERFACE_HEADER_SETS).
  targets=(all all_verify_interface_header_sets)
fi
# Both passes: the adapters must be sanitizer-clean too (llama-server is a
# separate process, not instrumented).
flags+=(-DTTSCALE_WITH_LLAMA_CPP=ON -DTTSCALE_WITH_OPENAI_HTTP=ON)
# TTSCALE_REQUIRE_ALL: a missing package fails here; it never skips tests quietly.
cmake -S . -B "$dir" -DTTSCALE_REQUIRE_ALL=ON "${flags[@]}" >/dev/null
cmake --build "$dir" -j "$(nproc)" --target "${targets[@]}"
ctest --test-dir "$dir" --output-on-failure -j "$(nproc)"
