// ttscale.hpp: everything in one include. Prefer the individual headers in
// larger projects; this one is for examples and quick starts.
#pragma once

#include <ttscale/accounting.hpp>
#include <ttscale/answer.hpp>
#include <ttscale/budget.hpp>
#include <ttscale/errors.hpp>
#include <ttscale/from_function.hpp>
#include <ttscale/generator.hpp>
#include <ttscale/options.hpp>
#include <ttscale/random.hpp>
#include <ttscale/result.hpp>
#include <ttscale/rollout.hpp>
#include <ttscale/search_context.hpp>
#include <ttscale/search_round.hpp>
#include <ttscale/selection.hpp>
#include <ttscale/selection/rpc.hpp>
#include <ttscale/strategies/a_star.hpp>
#include <ttscale/strategies/adaptive_consistency.hpp>
#include <ttscale/strategies/beam_search.hpp>
#include <ttscale/strategies/best_of_n.hpp>
#include <ttscale/strategies/dvts.hpp>
#include <ttscale/strategies/entropic_particle_filter.hpp>
#include <ttscale/strategies/first_finish.hpp>
#include <ttscale/strategies/majority_vote.hpp>
#include <ttscale/strategies/nested.hpp>
#include <ttscale/strategies/particle_filter.hpp>
#include <ttscale/strategies/particle_gibbs.hpp>
#include <ttscale/strategies/rebase.hpp>
#include <ttscale/toy/arithmetic.hpp>
#include <ttscale/toy/noisy_judge.hpp>
#include <ttscale/toy/overconfident_prm.hpp>
#include <ttscale/toy/scripted.hpp>
#include <ttscale/trace.hpp>
#include <ttscale/trajectory.hpp>
#include <ttscale/verifier.hpp>
#include <ttscale/verifiers/ensemble.hpp>
