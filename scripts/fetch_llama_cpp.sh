#!/usr/bin/env bash
# Fetches llama.cpp for the llama.cpp adapter's tests (CMake option
# TTSCALE_WITH_LLAMA_CPP) into a cache folder outside the repository, once:
#   - prebuilt shared libraries from the npm package @node-llama-cpp/linux-x64
#     (libllama, libggml, libggml-base and the libggml-cpu-<cpu>.so variants that
#     ggml_backend_load_all_from_path() picks from at run time);
#   - headers, source and vocab-only GGUF files from the npm package
#     node-llama-cpp, whose llama/gitRelease.bundle is a git bundle of llama.cpp
#     at the commit those libraries were built from (cloned here).
# The npm registry is the only place these machines reach, so both come through
# `npm pack`. A warm cache returns at once; run with --force to fetch again.
#
# Usage: bash scripts/fetch_llama_cpp.sh [--force] [--quiet]
# Cache: ${TTSCALE_CACHE:-$HOME/.cache/ttscale}/llama.cpp-<version>/
#          lib/   the shared libraries (libllama.v*.so, libggml.v*.so, libggml-base.so, libggml-cpu-*.so)
#          src/   the cloned bundle (include/llama.h, ggml/include/{ggml,gguf}.h, models/, gguf-py/)
#          ttscale-llama-cpp.txt   what was fetched and checked; written last, so its presence means complete
# cmake/FindLlamaCpp.cmake looks in the same place (CMake variable TTSCALE_LLAMA_CPP_ROOT).
set -euo pipefail

version=3.21.1  # node-llama-cpp release; keep in step with cmake/FindLlamaCpp.cmake
force=0
quiet=0
for arg in "$@"; do
  case "$arg" in
    --force) force=1 ;;
    --quiet) quiet=1 ;;
    *) echo "usage: $0 [--force] [--quiet]" >&2; exit 2 ;;
  esac
done

cache=${TTSCALE_CACHE:-$HOME/.cache/ttscale}
root=$cache/llama.cpp-$version
stamp=$root/ttscale-llama-cpp.txt

print_paths() {
  [ "$quiet" = 1 ] && return 0
  echo "llama.cpp (node-llama-cpp $version) in $root"
  echo "  libraries:  $root/lib"
  echo "  headers:    $root/src/include/llama.h, $root/src/ggml/include/{ggml,gguf,ggml-backend}.h"
  echo "  vocabs:     $root/src/models/ggml-vocab-*.gguf"
  sed -n 's/^\(llama_cpp_tag\|bundle_commit\|ggml_version\|ggml_commit\)=/  \1: /p' "$stamp"
}

if [ "$force" = 0 ] && [ -f "$stamp" ]; then
  print_paths
  exit 0
fi

if [ "$(uname -s)-$(uname -m)" != Linux-x86_64 ]; then
  echo "fetch_llama_cpp.sh: only linux-x64 prebuilt libraries are fetched; this is $(uname -s)-$(uname -m)" >&2
  exit 1
fi

# npm (with node) and git; Debian 12 ships npm as a package.
missing=()
command -v npm >/dev/null || missing+=(npm)
command -v git >/dev/null || missing+=(git)
command -v nm >/dev/null || missing+=(binutils)
if [ ${#missing[@]} -gt 0 ]; then
  sudo_cmd=()
  [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
  echo "fetch_llama_cpp.sh: installing missing Debian packages (apt-get${sudo_cmd:+ with sudo}): ${missing[*]}"
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq "${missing[@]}"
fi

mkdir -p "$cache"
# One fetch at a time per cache (two test builds may start together); the
# second waits and then finds the stamp.
exec 9>"$cache/.llama.cpp-$version.lock"
flock 9
if [ "$force" = 0 ] && [ -f "$stamp" ]; then
  print_paths
  exit 0
fi

work=$(mktemp -d "$cache/.llama.cpp-$version.XXXXXX")
trap 'rm -rf "$work"' EXIT
echo "fetch_llama_cpp.sh: fetching node-llama-cpp@$version and @node-llama-cpp/linux-x64@$version with npm pack"
(cd "$work" && npm pack --silent "@node-llama-cpp/linux-x64@$version" "node-llama-cpp@$version" >/dev/null) || {
  echo "fetch_llama_cpp.sh: npm pack failed; does version $version exist? (npm view node-llama-cpp versions)" >&2
  exit 1
}
mkdir "$work/bin" "$work/pkg" "$work/out" "$work/out/lib"
tar -xzf "$work/node-llama-cpp-linux-x64-$version.tgz" -C "$work/bin"
# Only llama/ of the main package: the bundle and the release tag.
tar -xzf "$work/node-llama-cpp-$version.tgz" -C "$work/pkg" package/package.json package/llama/gitRelease.bundle \
  package/llama/llama.cpp.info.json
bins=$work/bin/package/bins/linux-x64
# The C libraries and every CPU variant; not the node addon or libllama-common (llama.cpp's unstable C++ helpers).
cp "$bins"/libllama.v*.so "$bins"/libggml.v*.so "$bins"/libggml-base.so "$bins"/libggml-cpu-*.so \
   "$bins"/_nlcBuildMetadata.json "$work/out/lib/"
git -c advice.detachedHead=false clone --quiet "$work/pkg/package/llama/gitRelease.bundle" "$work/out/src"

# The headers must be those the libraries were built from. The bundle is one
# squashed commit, so its hash cannot be compared with the libraries' ggml
# commit; instead check (1) both packages name the same llama.cpp release,
# (2) the binary package is the one node-llama-cpp itself pins, and (3) the
# libraries export exactly the C functions llama.h declares. (The smoke test
# checks at run time that ggml_version() equals the bundle's GGML_VERSION.)
json() { node -e 'const o=JSON.parse(require("fs").readFileSync(process.argv[1],"utf8"));console.log(process.argv[2].split(".").reduce((a,k)=>a?.[k],o)??"")' "$@"; }
src_tag=$(json "$work/pkg/package/llama/llama.cpp.info.json" tag)
bin_tag=$(json "$work/out/lib/_nlcBuildMetadata.json" buildOptions.llamaCpp.release)
pinned=$(json "$work/pkg/package/package.json" 'optionalDependencies.@node-llama-cpp/linux-x64')
if [ -z "$src_tag" ] || [ "$src_tag" != "$bin_tag" ] || [ "$pinned" != "$version" ]; then
  echo "fetch_llama_cpp.sh: headers and libraries do not match: bundle tag '$src_tag', libraries built from '$bin_tag'," \
       "node-llama-cpp@$version pins @node-llama-cpp/linux-x64@'$pinned'" >&2
  exit 1
fi
libllama=$(ls "$work/out/lib"/libllama.v*.so)
declared=$(sed -e 's://.*$::' "$work/out/src/include/llama.h" | grep -oE '\bllama_[a-z0-9_]+[[:space:]]*\(' | tr -d '( \t' | sort -u)
exported=$(nm -D --defined-only "$libllama" | awk '{print $3}' | grep -E '^llama_[a-z0-9_]+$' | sort -u)
if [ "$declared" != "$exported" ]; then
  echo "fetch_llama_cpp.sh: llama.h and $(basename "$libllama") disagree on the C API:" >&2
  diff <(echo "$declared") <(echo "$exported") >&2 || true
  exit 1
fi
ggml_version=$(sed -n 's/^set(GGML_VERSION_\(MAJOR\|MINOR\|PATCH\) \([0-9]*\))/\2/p' "$work/out/src/ggml/CMakeLists.txt" | paste -sd.)
ggml_commit=$(strings -n 6 "$work/out/lib/libggml-base.so" | grep -A1 -xF "$ggml_version" | sed -n 2p || true)

{
  echo "node_llama_cpp_version=$version"
  echo "llama_cpp_tag=$src_tag"
  echo "bundle_commit=$(git -C "$work/out/src" rev-parse HEAD)"
  echo "ggml_version=$ggml_version"
  echo "ggml_commit=$ggml_commit"
  echo "llama_c_functions=$(echo "$exported" | wc -l)"
  echo "fetched=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
} >"$work/out/ttscale-llama-cpp.txt"

rm -rf "$root"
mv "$work/out" "$root"
print_paths
