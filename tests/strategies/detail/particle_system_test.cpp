// The particle sweep's temperature schedules: the reads_ess trait, and a
// user-written schedule (a plain callable, or a type that declares reads_ess)
// driving a sweep exactly as the library's own schedules do.
#include <ttscale/strategies/detail/particle_system.hpp>
#include <ttscale/strategies/entropic_particle_filter.hpp>
#include <ttscale/strategies/particle_filter.hpp>
#include <ttscale/toy/scripted.hpp>

#include <catch2/catch.hpp>

#include "strategies/particle_scripts.hpp"

#include <cmath>
#include <string>
#include <vector>

using namespace ttscale;

namespace {

// A user-written schedule that declares it reads the ESS; records what it got.
struct ess_recorder {
  static constexpr bool reads_ess = true;
  std::vector<double>* seen = nullptr;
  double operator()(std::size_t, double ess_fraction) const {
    seen->push_back(ess_fraction);
    return 1.0;
  }
};
struct declares_no_ess {
  static constexpr bool reads_ess = false;
  double operator()(std::size_t, double) const { return 1.0; }
};

// One particle-filter sweep of 4 scripted particles (scores 0.2, 0.4, 0.6,
// 0.8 by script) under `schedule`, packaged as particle_filter packages it.
template <class Schedule>
particle_search_result<std::string> sweep_with(const Schedule& schedule) {
  toy::scripted_generator gen(particle_test::four_scripts(4));
  toy::function_prm prm{[](const trajectory& t) { return 0.2 * static_cast<double>(particle_test::script_of(t) + 1); }};
  search_context<budget> ctx("sweep", "Q", budget{}, execution{}, 42);
  const detail::sweep_plan<log_weight_from::logit_reward_t, kernels::systematic_t, resample_when::every_round_t,
                           finished_particles::compete_t, Schedule>
      plan{.temperature = schedule, .max_steps = 4};
  return detail::filter_and_select(ctx, gen, &prm, 4, plan, boxed_answer{}, particle_score::normalized_weight,
                                   select::best);
}

}  // namespace

static_assert(temperature_schedule<linear_schedule> && !schedule_reads_ess<linear_schedule>);
static_assert(temperature_schedule<entropic_schedule> && schedule_reads_ess<entropic_schedule>);
static_assert(schedule_reads_ess<ess_recorder> && !schedule_reads_ess<declares_no_ess>);

TEST_CASE("a plain callable is a temperature schedule that reads no ESS", "[particle_system]") {
  std::vector<double> seen;
  const linear_temperature annealing{.start = 2.0, .end = 0.5};
  const auto by_hand = [&seen, annealing](std::size_t round, double ess_fraction) {
    seen.push_back(ess_fraction);
    return annealing.at(round, 4);
  };
  static_assert(temperature_schedule<decltype(by_hand)> && !schedule_reads_ess<decltype(by_hand)>);
  const auto user = sweep_with(by_hand);
  const auto library = sweep_with(linear_schedule{.temperature = annealing, .horizon = 4});
  // Rounds 0..2 resample; round 3 finishes everyone. The callable was asked once a round, with no ESS.
  REQUIRE(user.rounds.size() == 3);
  REQUIRE(seen.size() == 3);
  for (double f : seen) CHECK(std::isnan(f));
  REQUIRE(library.rounds.size() == 3);
  for (std::size_t k = 0; k < 3; ++k) {
    CHECK(user.rounds[k].temperature == annealing.at(k, 4));
    CHECK(user.rounds[k].temperature == library.rounds[k].temperature);
    CHECK(user.rounds[k].ess == library.rounds[k].ess);
    CHECK(user.rounds[k].ancestors == library.rounds[k].ancestors);
  }
  REQUIRE(user.candidates.size() == library.candidates.size());
  for (std::size_t i = 0; i < user.candidates.size(); ++i) {
    CHECK(user.candidates[i].path.path_hash() == library.candidates[i].path.path_hash());
    CHECK(user.candidates[i].score == library.candidates[i].score);
  }
}

TEST_CASE("a schedule that declares reads_ess is given ESS(lw) / n of the untempered weights", "[particle_system]") {
  std::vector<double> seen;
  const auto r = sweep_with(ess_recorder{&seen});
  REQUIRE(r.rounds.size() == 3);
  REQUIRE(seen.size() == 3);
  for (std::size_t k = 0; k < 3; ++k) {
    CHECK(seen[k] == r.rounds[k].ess_untempered / static_cast<double>(r.rounds[k].competing));
    CHECK(seen[k] > 0.0);
    CHECK(seen[k] <= 1.0);
  }
}
