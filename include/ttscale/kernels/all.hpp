// ttscale/kernels/all.hpp: every numeric kernel (exp, log, log-weights, ESS, resampling,
// top-k, tally), each with its scalar reference in `ttscale::kernels::scalar`.
#pragma once

#include <ttscale/kernels/ess.hpp>
#include <ttscale/kernels/exp.hpp>
#include <ttscale/kernels/log.hpp>
#include <ttscale/kernels/log_weights.hpp>
#include <ttscale/kernels/resample.hpp>
#include <ttscale/kernels/sample_logits.hpp>
#include <ttscale/kernels/stream_engines.hpp>
#include <ttscale/kernels/tally.hpp>
#include <ttscale/kernels/top_k.hpp>
