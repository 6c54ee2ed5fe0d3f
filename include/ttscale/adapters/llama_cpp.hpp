// ttscale/adapters/llama_cpp.hpp: ttscale on llama.cpp in process — the
// engine (model, context, KV sequence pool), the generator whose forks share
// their prefix's KV cache (one llama_decode per token tick), and the
// token-probability verifier. Optional: needs llama.h and libllama (CMake:
// TTSCALE_WITH_LLAMA_CPP, target ttscale::llama_cpp); the umbrella header
// <ttscale.hpp> never includes it.
#pragma once

#include <ttscale/adapters/llama_cpp/engine.hpp>
#include <ttscale/adapters/llama_cpp/generator.hpp>
#include <ttscale/adapters/llama_cpp/verifier.hpp>
