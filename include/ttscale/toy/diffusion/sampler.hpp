// ttscale/toy/diffusion/sampler.hpp: diffusion and flow samplers of the toy
// world as ttscale generators — one step is one denoising step.
//
// Kinds (sampler_kind), over a grid t_k = 1 - k/K, k = 0..K (t = 1 noise, t = 0 data):
//  - ddpm: ancestral sampling (Ho et al. 2020) over the variance-preserving
//    schedule abar(t) = exp(-(b0 t + (b1 - b0) t^2 / 2)) (Song et al. 2021's
//    VP SDE, b0 = 0.1, b1 = 20), written as DDIM with eta = 1 (Song, Meng &
//    Ermon 2021, eq. 12 and 16): stochastic.
//  - ddim: the same with eta = 0: deterministic given the initial noise.
//  - flow_ode: flow matching on the linear interpolant x_t = (1 - t) x0 + t eps
//    (Lipman et al. 2023), Euler steps of dx/dt = v, v = a' x0_hat + s' eps_hat.
//  - flow_sde: its SDE conversion (Kim et al. 2025, "Inference-Time Scaling for
//    Flow Models via Stochastic Generation and Rollover Budget Forcing",
//    sec. 4.1): the reverse-time SDE dx = [v - g^2/2 * score] dt + g dW, which
//    keeps the ODE's marginals for any diffusion coefficient g; we take
//    g_t = sde_noise * s_t (it vanishes with the noise) and Euler–Maruyama.
//  - flow_vp_sde: the interpolant conversion (Kim et al. 2025, sec. 4.2): the
//    same linear-interpolant model sampled along the VP path (abar as above)
//    with that SDE. A linear-path model answers at (x, t); the VP point
//    (x_bar, s) maps to it by t = sigma_bar / (alpha_bar + sigma_bar) and
//    x = x_bar / (alpha_bar + sigma_bar), which is what evaluate() does.
// Every kind's last step returns the Tweedie estimate x0_hat (no noise is
// added at t = 0), as samplers usually do.
//
// Accounting: a step's tokens are the network evaluations (NFEs) it made. A
// node's state keeps the model's answer at its point, so a step evaluates
// its parent only if that was never evaluated (a fresh noise, a re-noised
// node) and evaluates its child unless the child is the final sample:
// K steps from a noise cost exactly K NFEs.
//
// State: kept in the generator, keyed by the step's engine_state (a slot
// number): x, its level k and the cached model answer. release(nodes) frees
// slots (releasing_generator). A step's text is "t=<level> x0=[...]" with the
// child's Tweedie estimate (the final sample on the last step) in shortest
// round-trip decimal, so verifiers read x0_hat from the trajectory alone
// (estimate_of, sample_of) — what a real system would decode as a preview.
//
// For the search strategies: from_noise(z) makes a step holding the initial
// noise z (zero-order search), renoise(node, back, rng) one that moves a node
// `back` levels up by the forward process (search over paths). Such steps are
// appended by the strategy; their slots are freed when the search releases
// the node (or by calling release on it if it is never extended). Not for
// nested strategies or as_completion_sampler: they copy a prefix's steps,
// engine_state included, so releasing a copy would free the original's state.
//
// Thread-safe (a mutex guards the slots); results never depend on batching:
// item i draws only from engines[i]. Cost: O(C d) per NFE (C components).
#pragma once

#include <ttscale/config.hpp>
#include <ttscale/detail/number_text.hpp>
#include <ttscale/errors.hpp>
#include <ttscale/random.hpp>
#include <ttscale/toy/arithmetic.hpp>  // toy::detail::standard_normal
#include <ttscale/toy/diffusion/mixture.hpp>
#include <ttscale/trajectory.hpp>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <unordered_map>
#include <utility>
#include <vector>

TTSCALE_BEGIN_NAMESPACE
namespace toy::diffusion {

enum class sampler_kind { ddpm, ddim, flow_ode, flow_sde, flow_vp_sde };

[[nodiscard]] constexpr const char* to_string(sampler_kind k) noexcept {
  switch (k) {
    case sampler_kind::ddpm: return "ddpm";
    case sampler_kind::ddim: return "ddim";
    case sampler_kind::flow_ode: return "flow_ode";
    case sampler_kind::flow_sde: return "flow_sde";
    case sampler_kind::flow_vp_sde: return "flow_vp_sde";
  }
  return "?";
}

/// The variance-preserving schedule: abar(t) = exp(-(beta_min t + (beta_max - beta_min) t^2 / 2)).
struct vp_schedule {
  double beta_min = 0.1;
  double beta_max = 20.0;
  [[nodiscard]] noise_level at(double t) const noexcept {
    const double log_abar = -(beta_min * t + 0.5 * (beta_max - beta_min) * t * t);
    return {std::exp(0.5 * log_abar), std::sqrt(-std::expm1(log_abar))};
  }
  /// (da/dt, ds/dt) at t (t > 0).
  [[nodiscard]] noise_level derivative(double t) const noexcept {
    const noise_level l = at(t);
    const double da = -0.5 * (beta_min + (beta_max - beta_min) * t) * l.a;
    return {da, -l.a * da / l.s};
  }
};

struct sampler_options {
  sampler_kind kind = sampler_kind::ddpm;
  std::size_t steps = 50;   ///< K: denoising steps, the NFEs of one sample (>= 1)
  double sde_noise = 1.0;   ///< flow SDEs: g_t = sde_noise * s_t (>= 0; 0 is the ODE)
  vp_schedule schedule{};
};

namespace detail {
inline void append_number(std::string& out, double v) {
  char buffer[32];
  const auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, v);
  out.append(buffer, ec == std::errc() ? end : buffer);
}
/// The vector after "x0=[" in `text`, if any.
inline std::optional<vector> parse_estimate(std::string_view text) {
  const std::size_t at = text.find("x0=[");
  if (at == std::string_view::npos) return std::nullopt;
  vector out;
  const char* p = text.data() + at + 4;
  const char* end = text.data() + text.size();
  while (p < end && *p != ']') {
    double v = 0.0;
    const auto [next, ec] = std::from_chars(p, end, v);
    if (ec != std::errc()) return std::nullopt;
    out.push_back(v);
    p = next;
    if (p < end && *p == ',') ++p;
  }
  return out;
}
}  // namespace detail

/// The Tweedie estimate x0_hat recorded by the newest step of `t`, if it has one.
[[nodiscard]] inline std::optional<vector> estimate_of(const trajectory& t) {
  return detail::parse_estimate(t.last_step().text);
}

/// The sample of a finished trajectory; throws invalid_argument otherwise.
[[nodiscard]] inline vector sample_of(const trajectory& t) {
  std::optional<vector> x = t.finished() ? estimate_of(t) : std::nullopt;
  if (!x)
    throw invalid_argument("toy::diffusion::sample_of: node " + std::to_string(t.id()) +
                           " is not a finished diffusion sample");
  return *x;
}

class diffusion_sampler {
 public:
  static constexpr bool thread_safe = true;

  /// Throws invalid_argument for steps = 0 or a negative / non-finite sde_noise.
  diffusion_sampler(const score_model& model, sampler_options options) : model_(&model), o_(options) {
    if (o_.steps == 0) throw invalid_argument("toy::diffusion::diffusion_sampler: options.steps must be at least 1 (got 0)");
    if (!(o_.sde_noise >= 0.0) || !std::isfinite(o_.sde_noise))
      throw invalid_argument("toy::diffusion::diffusion_sampler: options.sde_noise must be finite and >= 0 (got " +
                             ttscale::detail::number_text(o_.sde_noise) + ")");
  }

  [[nodiscard]] const sampler_options& options() const noexcept { return o_; }
  [[nodiscard]] std::size_t levels() const noexcept { return o_.steps; }
  [[nodiscard]] std::size_t noise_dimension() const noexcept { return model_->dimension(); }
  /// Slots held (nodes not yet released): 0 after every search that released its nodes.
  [[nodiscard]] std::size_t live_states() const {
    std::lock_guard lock(mutex_);
    return states_.size();
  }
  /// t of level k.
  [[nodiscard]] double time_at(std::size_t k) const noexcept {
    return 1.0 - static_cast<double>(k) / static_cast<double>(o_.steps);
  }
  /// The level (0 = pure noise .. K = sample) of a node this sampler made; 0 for a root.
  [[nodiscard]] std::size_t level_of(const trajectory& node) const { return state_of(node).level; }
  /// The point x a node holds (empty for a root); throws for a released node.
  [[nodiscard]] vector point_of(const trajectory& node) const { return state_of(node).x; }

  void extend(std::span<const trajectory> prefixes, std::span<random_engine> engines, std::span<step> out) {
    for (std::size_t i = 0; i < prefixes.size(); ++i) {
      node_state parent = state_of(prefixes[i]);
      if (parent.x.empty()) {  // the root: a fresh initial noise
        parent.x.resize(model_->dimension());
        for (double& v : parent.x) v = toy::detail::standard_normal(engines[i]);
      }
      if (parent.level >= o_.steps)
        throw invalid_argument("toy::diffusion::diffusion_sampler: node " + std::to_string(prefixes[i].id()) +
                               " is already a finished sample");
      std::uint32_t nfe = 0;
      if (!parent.evaluated) {
        parent.answer = evaluate(parent.x, parent.level);
        ++nfe;
      }
      node_state child{advance(parent, engines[i]), parent.level + 1, false, {}};
      const bool last = child.level == o_.steps;
      if (!last) {
        child.answer = evaluate(child.x, child.level);
        child.evaluated = true;
        ++nfe;
      }
      std::string text = "t=";
      detail::append_number(text, time_at(child.level));
      text += " x0=[";
      const vector& shown = last ? child.x : child.answer.x0;
      for (std::size_t j = 0; j < shown.size(); ++j) {
        if (j) text += ',';
        detail::append_number(text, shown[j]);
      }
      text += "]\n";
      out[i] = step{std::move(text), nfe, 0.0, last, store(std::move(child))};
    }
  }

  void release(std::span<const trajectory> nodes) {
    std::lock_guard lock(mutex_);
    for (const trajectory& t : nodes)
      if (t.last_step().engine_state != 0) states_.erase(t.last_step().engine_state);
  }

  /// A step holding the initial noise z (level 0, not yet evaluated): the
  /// caller appends it to the root and extends it. Throws for a z of the wrong dimension.
  [[nodiscard]] step from_noise(std::span<const double> z) { return state_step(z, 0); }

  /// A step holding the point x at `level` (0..K; not evaluated), e.g. an
  /// exact data sample at level K to re-noise in a test. Throws for a wrong
  /// dimension or a level above K.
  [[nodiscard]] step state_step(std::span<const double> x, std::size_t level) {
    if (x.size() != model_->dimension())
      throw invalid_argument("toy::diffusion::diffusion_sampler: a point of dimension " + std::to_string(x.size()) +
                             " for a model of dimension " + std::to_string(model_->dimension()));
    if (level > o_.steps)
      throw invalid_argument("toy::diffusion::diffusion_sampler: level " + std::to_string(level) + " above the last, " +
                             std::to_string(o_.steps));
    std::string text = level == 0 ? "noise\n" : "state t=";
    if (level > 0) {
      detail::append_number(text, time_at(level));
      text += '\n';
    }
    return step{std::move(text), 0, 0.0, false, store(node_state{vector(x.begin(), x.end()), level, false, {}})};
  }

  /// A step moving `node` `back` levels up (towards noise) by the forward
  /// process x_j = (a_j / a_k) x_k + sqrt(s_j^2 - (a_j s_k / a_k)^2) z, which
  /// keeps the marginal of level j (Ma et al. 2025, sec. 3.2, "Search over
  /// Paths": re-noising). The new state is not evaluated: its first step costs
  /// one NFE more.
  [[nodiscard]] step renoise(const trajectory& node, std::size_t back, random_engine& rng) {
    const node_state from = state_of(node);
    if (from.x.empty())
      throw invalid_argument("toy::diffusion::diffusion_sampler: renoise of the root (node " +
                             std::to_string(node.id()) + "): there is no state to re-noise");
    const std::size_t to_level = from.level - std::min(back, from.level);
    const noise_level k = level_at(from.level), j = level_at(to_level);
    const double ratio = k.a > 0.0 ? j.a / k.a : 1.0;
    const double spread = std::sqrt(std::max(0.0, j.s * j.s - ratio * ratio * k.s * k.s));
    node_state moved{vector(from.x.size()), to_level, false, {}};
    for (std::size_t i = 0; i < moved.x.size(); ++i)
      moved.x[i] = ratio * from.x[i] + spread * toy::detail::standard_normal(rng);
    std::string text = "renoise t=";
    detail::append_number(text, time_at(to_level));
    text += '\n';
    return step{std::move(text), 0, 0.0, false, store(std::move(moved))};
  }

  /// (a, s) of the sampling path at level k.
  [[nodiscard]] noise_level level_at(std::size_t k) const noexcept {
    const double t = time_at(k);
    switch (o_.kind) {
      case sampler_kind::flow_ode:
      case sampler_kind::flow_sde: return {1.0 - t, t};
      default: return o_.schedule.at(t);
    }
  }

 private:
  struct node_state {
    vector x{};
    std::size_t level = 0;
    bool evaluated = false;
    denoised answer{};
  };

  [[nodiscard]] node_state state_of(const trajectory& node) const {
    const std::int64_t slot = node.last_step().engine_state;
    if (slot == 0) {
      if (!node.is_root())
        throw invalid_argument("toy::diffusion::diffusion_sampler: node " + std::to_string(node.id()) +
                               " was not made by a diffusion_sampler");
      return {};
    }
    std::lock_guard lock(mutex_);
    const auto it = states_.find(slot);
    if (it == states_.end())
      throw invalid_argument("toy::diffusion::diffusion_sampler: node " + std::to_string(node.id()) +
                             " has no state (released, or made by another sampler)");
    return it->second;
  }

  std::int64_t store(node_state s) {
    std::lock_guard lock(mutex_);
    const std::int64_t slot = next_slot_++;
    states_.emplace(slot, std::move(s));
    return slot;
  }

  /// One NFE: the model's answer at level k's point x (see the header comment for the VP conversion).
  [[nodiscard]] denoised evaluate(const vector& x, std::size_t k) const {
    if (o_.kind != sampler_kind::flow_vp_sde) return model_->evaluate(x, level_at(k));
    const noise_level vp = level_at(k);
    const double c = vp.a + vp.s, t = vp.s / c;
    vector scaled(x.size());
    for (std::size_t i = 0; i < x.size(); ++i) scaled[i] = x[i] / c;
    return model_->evaluate(scaled, {1.0 - t, t});  // x0_hat and eps_hat are the VP point's too
  }

  /// x at level k+1 from the parent's state (its answer evaluated).
  [[nodiscard]] vector advance(const node_state& p, random_engine& rng) const {
    const std::size_t k = p.level;
    const vector& x0 = p.answer.x0;
    const vector& eps = p.answer.eps;
    if (k + 1 == o_.steps) return x0;  // the last step returns the Tweedie estimate
    vector x(p.x.size());
    const noise_level from = level_at(k), to = level_at(k + 1);
    if (o_.kind == sampler_kind::ddpm || o_.kind == sampler_kind::ddim) {
      // DDIM update (Song, Meng & Ermon 2021, eq. 12), eta = 1 is DDPM's posterior.
      const double eta = o_.kind == sampler_kind::ddpm ? 1.0 : 0.0;
      const double abar_t = from.a * from.a, abar_s = to.a * to.a;
      const double sigma = eta * std::sqrt((1.0 - abar_s) / (1.0 - abar_t) * (1.0 - abar_t / abar_s));
      const double keep = std::sqrt(std::max(0.0, 1.0 - abar_s - sigma * sigma));
      for (std::size_t i = 0; i < x.size(); ++i)
        x[i] = to.a * x0[i] + keep * eps[i] + (eta > 0.0 ? sigma * toy::detail::standard_normal(rng) : 0.0);
      return x;
    }
    // Flow: v = a' x0_hat + s' eps_hat; reverse-time Euler(-Maruyama) over dt = t - s.
    const double t = time_at(k), dt = t - time_at(k + 1);
    const noise_level d = o_.kind == sampler_kind::flow_vp_sde ? o_.schedule.derivative(t) : noise_level{-1.0, 1.0};
    const double g = o_.kind == sampler_kind::flow_ode ? 0.0 : o_.sde_noise * from.s;
    for (std::size_t i = 0; i < x.size(); ++i) {
      const double v = d.a * x0[i] + d.s * eps[i];
      const double score = -eps[i] / from.s;
      x[i] = p.x[i] - dt * (v - 0.5 * g * g * score) + (g > 0.0 ? g * std::sqrt(dt) * toy::detail::standard_normal(rng) : 0.0);
    }
    return x;
  }

  const score_model* model_;
  sampler_options o_;
  mutable std::mutex mutex_;
  std::unordered_map<std::int64_t, node_state> states_;
  std::int64_t next_slot_ = 1;
};

}  // namespace toy::diffusion
TTSCALE_END_NAMESPACE
