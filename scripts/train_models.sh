#!/usr/bin/env bash
# Trains the two tiny models of models/ (the arithmetic world's policy and its
# process reward model), writes them as GGUF files and prints their metrics.
# Installs what is missing first (Debian's python3-torch, numpy, yaml and
# OpenBLAS — Debian's torch uses the reference BLAS unless OpenBLAS provides
# libblas.so.3, which makes training about 6x slower — and llama.cpp's gguf-py
# through scripts/fetch_llama_cpp.sh). No pip.
#
#   bash scripts/train_models.sh                 # ~40 min on 2 cores; writes models/
#   bash scripts/train_models.sh --out DIR       # elsewhere
#   bash scripts/train_models.sh --smoke --out DIR   # a few steps of every stage (CI): the
#                                                # pipeline and a loadable GGUF, not a model
# Further arguments go to tools/train_models/train.py (see its --help).
set -euo pipefail
cd "$(dirname "$0")/.."
out=models
smoke=0
args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --out) out=$2; shift 2 ;;
    --smoke) smoke=1; args+=(--smoke); shift ;;
    *) args+=("$1"); shift ;;
  esac
done

packages=(python3-torch python3-numpy python3-yaml)
[ "$smoke" = 1 ] || packages+=(libopenblas0-pthread)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  sudo_cmd=()
  [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
  echo "train_models: installing missing Debian packages: ${missing[*]}"
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# gguf-py comes with the llama.cpp source tree the adapter's tests use.
llama_root=$(bash scripts/fetch_llama_cpp.sh | sed -n 's/^llama\.cpp (node-llama-cpp .*) in //p')
gguf_py=$llama_root/src/gguf-py
[ -f "$gguf_py/gguf/gguf_writer.py" ] || { echo "train_models: no gguf-py in $llama_root/src" >&2; exit 1; }

mkdir -p "$out"
out=$(cd "$out" && pwd)
# Debian's python, not a pyenv or venv one: its torch is Debian's package.
PYTHONPATH="$gguf_py" /usr/bin/python3 tools/train_models/train.py --out "$out" "${args[@]}"
echo "SHA-256:"
(cd "$out" && sha256sum arithmetic-policy.gguf arithmetic-prm.gguf)
