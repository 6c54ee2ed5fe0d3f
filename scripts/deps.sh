#!/usr/bin/env bash
# Installs the Debian 12 packages that ttscale's tests, benchmarks and examples
# need (the core headers alone need none): Catch2 2.13, Google Benchmark, fmt,
# Eigen 3 (the scaling-law fits of analysis/scaling_fit.hpp, their tests and
# the sweep; TTSCALE_WITH_EIGEN), and the compiler and CMake. With --tests also
# libcurl and nlohmann-json (the OpenAI HTTP adapter's tests,
# TTSCALE_WITH_OPENAI_HTTP) and Debian's PyTorch, numpy and yaml: the test
# suite runs scripts/train_models.sh --smoke (the shipped models' training
# pipeline must not rot). Only the missing ones, with apt-get, which needs
# root: run as root, or this uses sudo. Run by demo.sh and test.sh.
set -euo pipefail
ttscale_packages=(cmake g++ make libfmt-dev catch2 libbenchmark-dev libeigen3-dev)
training_packages=()
if [ "${1:-}" = --tests ]; then
  ttscale_packages+=(libcurl4-openssl-dev nlohmann-json3-dev)
  training_packages=(python3-torch python3-numpy python3-yaml)
fi
missing=()
missing_training=()
for p in "${ttscale_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
for p in "${training_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing_training+=("$p")
done
if [ $((${#missing[@]} + ${#missing_training[@]})) -gt 0 ]; then
  sudo_cmd=()
  [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
  echo "ttscale: installing missing Debian packages (apt-get${sudo_cmd:+ with sudo}): ${missing[*]} ${missing_training[*]}"
  "${sudo_cmd[@]}" apt-get update -qq
  [ ${#missing[@]} -eq 0 ] || DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq "${missing[@]}"
  # PyTorch's recommends (its -dev package, a compiler set) are not needed to train.
  [ ${#missing_training[@]} -eq 0 ] ||
    DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing_training[@]}"
fi
