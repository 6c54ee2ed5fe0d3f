#!/usr/bin/env bash
# Installs the Debian 12 packages that ttscale's tests, benchmarks and examples
# need (the headers alone need none): Catch2 2.13, Google Benchmark and fmt, and
# the compiler and CMake. Only the missing ones, with apt-get, which needs root:
# run as root, or this uses sudo. Run by demo.sh and test.sh.
set -euo pipefail
ttscale_packages=(cmake g++ make libfmt-dev catch2 libbenchmark-dev)
missing=()
for p in "${ttscale_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  sudo_cmd=()
  [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
  echo "ttscale: installing missing Debian packages (apt-get${sudo_cmd:+ with sudo}): ${missing[*]}"
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq "${missing[@]}"
fi
