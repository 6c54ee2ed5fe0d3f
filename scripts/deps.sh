#!/usr/bin/env bash
# Installs the Debian 12 packages ttscale's build, tests, benchmarks and examples
# need, only those that are missing. Sourced by demo.sh and test.sh.
set -euo pipefail
ttscale_packages=(cmake g++ make libeigen3-dev libfmt-dev catch2 libbenchmark-dev)
missing=()
for p in "${ttscale_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "ttscale: installing missing Debian packages: ${missing[*]}"
  sudo_cmd=()
  [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq "${missing[@]}"
fi
