// ttscale/analysis/progress.hpp: a progress bar with an estimate of time left,
// for sweeps that run for minutes or hours.
//
// On a terminal it redraws one line (carriage return, then erase to the end of
// the line) with a bar, done/total, percent, elapsed time and time left, at
// most 10 times a second however often work completes. Into a file or a CI log
// it prints a plain line each time another tenth of the work is done, so the
// log stays readable and grep-able. The time left is the rate so far applied
// to the work remaining: elapsed x remaining / done (items counted with
// skip(), finished by an earlier run, do not count towards the rate). It
// assumes items take about the same time; for a sweep whose cheap items come
// first, the first estimates are low.
//
// advance() may be called from any number of threads: one mutex orders the
// count and the output, so plain lines never come out of order. O(1) per
// call; a redraw writes one line and flushes.
#pragma once

#include <ttscale/config.hpp>
#include <ttscale/errors.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdio>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <utility>

#if defined(_WIN32)
#include <io.h>
#else
#include <unistd.h>
#endif

TTSCALE_BEGIN_NAMESPACE
namespace analysis {

/// A duration for people: "4.2s" below 10 s, "42s", "3m05s", "2h05m",
/// "3d04h"; each rounded down, so a count-down never shows a unit it has not
/// reached. "?" for a negative or non-finite value.
[[nodiscard]] inline std::string duration_text(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "?";
  char buf[48];
  if (seconds < 10) {
    std::snprintf(buf, sizeof buf, "%.1fs", std::floor(seconds * 10) / 10);
    return buf;
  }
  const auto s = static_cast<long long>(std::min(seconds, 1e15));
  if (s < 60) std::snprintf(buf, sizeof buf, "%llds", s);
  else if (s < 3600) std::snprintf(buf, sizeof buf, "%lldm%02llds", s / 60, s % 60);
  else if (s < 86400) std::snprintf(buf, sizeof buf, "%lldh%02lldm", s / 3600, s % 3600 / 60);
  else std::snprintf(buf, sizeof buf, "%lldd%02lldh", s / 86400, s % 86400 / 3600);
  return buf;
}

/// Seconds left if the `remaining` items go at the rate of the `timed` items
/// finished in `elapsed` seconds: elapsed x remaining / timed. Empty when
/// nothing has been timed yet (no rate) or `elapsed` is negative or not finite.
[[nodiscard]] inline std::optional<double> seconds_left_estimate(double elapsed, std::size_t timed,
                                                                 std::size_t remaining) {
  if (remaining == 0) return 0.0;
  if (timed == 0 || !std::isfinite(elapsed) || elapsed < 0) return std::nullopt;
  return elapsed * static_cast<double>(remaining) / static_cast<double>(timed);
}

/// Progress of `total` items of work. Typical use:
///
///     analysis::progress_bar bar(configs.size(), "sweep");
///     bar.skip(finished_earlier);           // resumed from a previous run's CSV
///     parallel_for(..., [&] { run(...); bar.advance(); });
///     bar.finish();                         // "sweep: done, 120/120 in 3m05s"
///
/// Output formats (plain mode, one line each; the TTY line has the same parts
/// after a bar):
///     sweep: 30% (36/120), 12s elapsed, about 28s left
///     sweep: done, 120/120 in 40s
///     sweep: stopped at 57/120 (47%) after 12s      (finish() before the end)
class progress_bar {
 public:
  /// Seconds on a monotonic clock; the origin does not matter. Called under
  /// the bar's lock, so it need not be thread-safe.
  using clock_function = std::function<double()>;

  /// A bar on `out` (stderr by default), redrawn in place if `out` is a
  /// terminal, plain lines otherwise; timed by std::chrono::steady_clock.
  progress_bar(std::size_t total, std::string label, std::FILE* out = stderr)
      : progress_bar(total, std::move(label), out, out != nullptr && is_terminal(out), steady_seconds) {}

  /// As above with the terminal decision and the clock given (for tests, or
  /// to force plain lines on a terminal). Throws invalid_argument for a null
  /// `out` or an empty `clock`.
  progress_bar(std::size_t total, std::string label, std::FILE* out, bool tty, clock_function clock)
      : total_(total), label_(std::move(label)), out_(out), tty_(tty), clock_(std::move(clock)) {
    if (out_ == nullptr) throw invalid_argument("progress_bar: out is a null FILE*");
    if (!clock_) throw invalid_argument("progress_bar: clock is an empty function");
    start_ = last_draw_ = clock_();
    if (tty_) draw(start_);
  }

  progress_bar(const progress_bar&) = delete;
  progress_bar& operator=(const progress_bar&) = delete;

  /// Prints the final line if finish() was not called (e.g. an exception is
  /// unwinding the sweep: the line then says where it stopped).
  ~progress_bar() {
    try {
      finish();
    } catch (...) {  // a destructor must not throw; the output is best effort
    }
  }

  /// Counts `n` more items done (any thread). Throws invalid_argument, and
  /// counts nothing, if that would exceed the total.
  void advance(std::size_t n = 1) { add(n, true, "progress_bar::advance"); }

  /// Counts `n` items done by an earlier run: they fill the bar but do not
  /// count towards the rate, so the estimate of time left stays honest after
  /// a resume. Prints no plain line of its own (a terminal bar may redraw).
  /// Throws as advance() does.
  void skip(std::size_t n) { add(n, false, "progress_bar::skip"); }

  /// Prints the final line: "done, ... in T" if every item is done, else
  /// "stopped at ... after T". Only the first call prints; later advances
  /// still count but print nothing.
  void finish() {
    const std::lock_guard lock(mutex_);
    if (finished_) return;
    finished_ = true;
    const std::size_t done = done_.load();
    const std::string took = duration_text(clock_() - start_);
    std::string line;
    if (done == total_) {
      line = "done, " + count_text(done);
      if (skipped_ > 0) line += " (" + std::to_string(skipped_) + " from an earlier run)";
      line += " in " + took;
    } else {
      line = "stopped at " + count_text(done) + " (" + std::to_string(percent(done)) + "%) after " + took;
    }
    write(tty_ ? "\r" + label_ + " " + bar(done) + " " + line + "\x1b[K\n" : label_ + ": " + line + "\n");
  }

  [[nodiscard]] std::size_t done() const noexcept { return done_.load(); }
  [[nodiscard]] std::size_t total() const noexcept { return total_; }
  [[nodiscard]] bool tty() const noexcept { return tty_; }

  /// Seconds since construction.
  [[nodiscard]] double elapsed() const {
    const std::lock_guard lock(mutex_);
    return clock_() - start_;
  }

  /// The estimate of time left now (seconds_left_estimate of this bar's
  /// counts); empty before the first advance().
  [[nodiscard]] std::optional<double> seconds_left() const {
    const std::lock_guard lock(mutex_);
    return seconds_left_estimate(clock_() - start_, done_.load() - skipped_, total_ - done_.load());
  }

 private:
  static constexpr double redraw_interval = 0.1;  // seconds: at most 10 redraws a second
  static constexpr std::size_t bar_width = 24;

  static double steady_seconds() {
    return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
  }
  static bool is_terminal(std::FILE* f) {
#if defined(_WIN32)
    return _isatty(_fileno(f)) != 0;
#else
    return isatty(fileno(f)) != 0;
#endif
  }

  void add(std::size_t n, bool timed, const char* who) {
    const std::lock_guard lock(mutex_);
    const std::size_t done = done_.load();
    if (n > total_ - done)
      throw invalid_argument(std::string(who) + ": " + std::to_string(n) + " more would make " +
                             std::to_string(done) + " + " + std::to_string(n) + " of " + std::to_string(total_) +
                             " items done");
    done_.store(done + n);
    if (!timed) skipped_ += n;
    if (finished_ || n == 0) return;
    const double now = clock_();
    if (tty_) {
      if (now - last_draw_ >= redraw_interval || done + n == total_) draw(now);
    } else {
      // A line for each newly reached tenth, the end excepted: finish() prints that.
      const std::size_t tenth = tenths(done + n);
      if (tenth > last_tenth_ && done + n < total_ && timed) write(label_ + ": " + status(done + n, now) + "\n");
      last_tenth_ = std::max(last_tenth_, tenth);
    }
  }

  void draw(double now) {
    last_draw_ = now;
    const std::size_t done = done_.load();
    write("\r" + label_ + " " + bar(done) + " " + status(done, now) + "\x1b[K");
  }

  // "30% (36/120), 12s elapsed, about 28s left"
  std::string status(std::size_t done, double now) const {
    std::string s = std::to_string(percent(done)) + "% (" + count_text(done) + "), " + duration_text(now - start_) +
                    " elapsed";
    if (done == total_) return s;  // the last draw before finish(): nothing left to estimate
    if (const auto left = seconds_left_estimate(now - start_, done - skipped_, total_ - done))
      s += ", about " + duration_text(*left) + " left";
    return s;
  }

  std::string count_text(std::size_t done) const { return std::to_string(done) + "/" + std::to_string(total_); }

  // Rounded down, so 100% means done; in doubles, so a huge total cannot overflow.
  std::size_t percent(std::size_t done) const {
    return total_ == 0 ? 100 : static_cast<std::size_t>(std::floor(100.0 * static_cast<double>(done) / static_cast<double>(total_)));
  }
  std::size_t tenths(std::size_t done) const {
    return total_ == 0 ? 10 : static_cast<std::size_t>(std::floor(10.0 * static_cast<double>(done) / static_cast<double>(total_)));
  }

  // "[#########...............]"
  std::string bar(std::size_t done) const {
    const std::size_t filled =
        total_ == 0 ? bar_width : static_cast<std::size_t>(static_cast<double>(bar_width) * static_cast<double>(done) / static_cast<double>(total_));
    std::string out(bar_width + 2, '.');  // built in place: GCC 12 warns falsely (-Wrestrict) on "[" + std::string&&
    out.front() = '[';
    out.back() = ']';
    std::fill_n(out.begin() + 1, filled, '#');
    return out;
  }

  void write(const std::string& text) {
    std::fputs(text.c_str(), out_);
    std::fflush(out_);
  }

  const std::size_t total_;
  const std::string label_;
  std::FILE* const out_;
  const bool tty_;
  clock_function clock_;
  mutable std::mutex mutex_;
  std::atomic<std::size_t> done_{0};  // written under mutex_; read without it by done()
  std::size_t skipped_ = 0;
  std::size_t last_tenth_ = 0;
  double start_ = 0, last_draw_ = 0;
  bool finished_ = false;
};

}  // namespace analysis
TTSCALE_END_NAMESPACE
