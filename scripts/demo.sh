#!/usr/bin/env bash
# Installs what is missing, builds the examples and runs the quickstart demo on
# the embedded toy world. Usage: bash scripts/demo.sh [problems] [seed] [orm_auc]
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
cmake -S . -B build/release -DCMAKE_BUILD_TYPE=Release \
      -DTTSCALE_BUILD_TESTS=OFF -DTTSCALE_BUILD_BENCH=OFF -DTTSCALE_BUILD_EXAMPLES=ON \
      -DTTSCALE_REQUIRE_ALL=ON >/dev/null
cmake --build build/release --target quickstart -j "$(nproc)"
# Run inside the build tree: the demo also writes quickstart.csv and quickstart.svg there.
cd build/release && ./examples/quickstart "$@"
