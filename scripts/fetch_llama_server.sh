#!/usr/bin/env bash
# Builds llama.cpp's llama-server for the OpenAI-compatible HTTP adapter's tests
# (CMake option TTSCALE_WITH_OPENAI_HTTP): the tests start real servers on
# loopback. No prebuilt llama-server reaches these machines (the npm package of
# fetch_llama_cpp.sh ships libraries only), so it is compiled from the llama.cpp
# tree that fetch_llama_cpp.sh clones, into a cache folder outside the
# repository, once: about 5 minutes on 2 cores. A warm cache returns at once;
# the build is redone when the bundle, the CMake flags, the compiler or (the
# build targets this CPU, GGML_NATIVE) the CPU's flags differ from the stamp.
#
# Usage: bash scripts/fetch_llama_server.sh [--force] [--quiet] [--print-path]
#   --force       build again even when the stamp matches
#   --quiet       no summary when the cache is warm (a build still shows its progress)
#   --print-path  everything else goes to stderr; stdout is the binary's path alone
# Cache: ${TTSCALE_CACHE:-$HOME/.cache/ttscale}/llama-server-<version>/
#          bin/llama-server           statically linked against llama.cpp and ggml
#          ttscale-llama-server.txt   what was built and how; written last, so its presence means complete
# CMake finds the binary in the same place (cache variable TTSCALE_LLAMA_SERVER).
set -euo pipefail

version=3.21.1  # node-llama-cpp release of fetch_llama_cpp.sh; keep in step with CMakeLists.txt
force=0
quiet=0
print_path=0
for arg in "$@"; do
  case "$arg" in
    --force) force=1 ;;
    --quiet) quiet=1 ;;
    --print-path) print_path=1 ;;
    *) echo "usage: $0 [--force] [--quiet] [--print-path]" >&2; exit 2 ;;
  esac
done
# With --print-path, fd 3 is the caller's stdout and all else goes to stderr,
# so that `path=$(bash scripts/fetch_llama_server.sh --print-path)` needs no parsing.
exec 3>&1
[ "$print_path" = 0 ] || exec 1>&2

cd "$(dirname "$0")/.."
cache=${TTSCALE_CACHE:-$HOME/.cache/ttscale}
root=$cache/llama-server-$version
stamp=$root/ttscale-llama-server.txt
binary=$root/bin/llama-server

if [ "$quiet" = 1 ]; then
  bash scripts/fetch_llama_cpp.sh --quiet
else
  bash scripts/fetch_llama_cpp.sh
fi
src=$cache/llama.cpp-$version/src

missing=()
for p in cmake g++ make; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  sudo_cmd=()
  [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
  echo "fetch_llama_server.sh: installing missing Debian packages (apt-get${sudo_cmd:+ with sudo}): ${missing[*]}"
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq "${missing[@]}"
fi

# Only what llama-server needs: no tests, examples or unified app; no web UI (the
# prebuilt one is a download, building one needs npm packages); no OpenSSL (the
# tests speak plain HTTP on loopback, and -hf model downloads are not used).
# LLAMA_CURL is not passed: this tree only warns that it is deprecated and ignored.
# Static libraries, so the binary does not depend on the cache's layout. GGML_NATIVE
# (-march=native) makes the servers fast enough for the tests on 2 cores; the
# stamp records the CPU's flags, so a cache moved to another CPU is rebuilt.
cmake_flags=(-DCMAKE_BUILD_TYPE=Release -DBUILD_SHARED_LIBS=OFF -DGGML_NATIVE=ON
             -DLLAMA_BUILD_TOOLS=ON -DLLAMA_BUILD_SERVER=ON -DLLAMA_BUILD_COMMON=ON
             -DLLAMA_BUILD_UI=OFF -DLLAMA_USE_PREBUILT_UI=OFF -DLLAMA_OPENSSL=OFF
             -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_APP=OFF)
# The key of the build: the stamp's first lines, compared as they are.
key() {
  echo "node_llama_cpp_version=$version"
  echo "bundle_commit=$(git -C "$src" rev-parse HEAD)"
  echo "cmake_flags=${cmake_flags[*]}"
  echo "compiler=$(g++ --version | head -1)"
  echo "cpu_flags=$(grep -m1 '^flags' /proc/cpuinfo | cut -d: -f2 | tr ' ' '\n' | sed '/^$/d' | sort | paste -sd' ')"
}
nkey=$(key | wc -l)
warm() { [ "$force" = 0 ] && [ -f "$stamp" ] && [ -x "$binary" ] && [ "$(head -n "$nkey" "$stamp")" = "$(key)" ]; }
finish() {
  [ "$quiet" = 1 ] || { echo "llama-server in $binary"; sed -n 's/^\(bundle_commit\|built\|build_seconds\)=/  \1: /p' "$stamp"; }
  [ "$print_path" = 0 ] || echo "$binary" >&3
  exit 0
}
warm && finish

mkdir -p "$cache"
# One build at a time per cache (two test runs may start together); the second
# waits and then finds the stamp.
exec 9>"$cache/.llama-server-$version.lock"
flock 9
warm && finish

work=$(mktemp -d "$cache/.llama-server-$version.XXXXXX")
trap 'rm -rf "$work"' EXIT
echo "fetch_llama_server.sh: building llama-server (about 5 minutes on 2 cores)"
start=$(date +%s)
if ! cmake -S "$src" -B "$work/build" "${cmake_flags[@]}" >"$work/configure.log" 2>&1; then
  echo "fetch_llama_server.sh: configuring llama.cpp failed; the end of $work/configure.log:" >&2
  tail -n 40 "$work/configure.log" >&2
  exit 1
fi
# CMake's progress lines only; the compiler's output goes to the log, shown on failure.
set +e
cmake --build "$work/build" --target llama-server -j "$(nproc)" 2>&1 | tee "$work/build.log" |
  grep --line-buffered -E '^\[ *[0-9]+%\]'
status=${PIPESTATUS[0]}
set -e
if [ "$status" != 0 ] || [ ! -x "$work/build/bin/llama-server" ]; then
  echo "fetch_llama_server.sh: building llama-server failed; the end of the build log:" >&2
  tail -n 40 "$work/build.log" >&2
  exit 1
fi
"$work/build/bin/llama-server" --version >/dev/null 2>&1 || {
  echo "fetch_llama_server.sh: the built llama-server does not run (llama-server --version failed)" >&2
  exit 1
}
mkdir -p "$work/out/bin"
cp "$work/build/bin/llama-server" "$work/out/bin/"
cp "$src/LICENSE" "$work/out/LICENSE.llama.cpp"
{
  key
  echo "built=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "build_seconds=$(($(date +%s) - start))"
} >"$work/out/ttscale-llama-server.txt"
rm -rf "$root"
mv "$work/out" "$root"
finish
