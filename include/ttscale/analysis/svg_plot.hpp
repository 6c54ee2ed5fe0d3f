// ttscale/analysis/svg_plot.hpp: scaling curves as a self-contained SVG file.
//
// Accuracy-vs-compute curves are easier to read as a picture than as a table,
// so examples and sweeps write both. This draws line series with markers on
// linear or log-10 x axes, with ticks, axis labels and a legend, as plain SVG
// (any browser shows it; no plotting dependency). O(total points).
#pragma once

#include <ttscale/config.hpp>
#include <ttscale/detail/number_text.hpp>
#include <ttscale/errors.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <limits>
#include <optional>
#include <span>
#include <string>
#include <vector>

TTSCALE_BEGIN_NAMESPACE
namespace analysis {

struct plot_series {
  std::string name{};
  std::vector<double> x{};
  std::vector<double> y{};
};

struct plot_options {
  std::string title{};
  std::string x_label{};
  std::string y_label{};
  bool log_x = true;             ///< log-10 x axis (compute usually spans decades)
  std::optional<double> y_min{}; ///< fixed y range (e.g. 0..1 for accuracy); else from the data
  std::optional<double> y_max{};
  int width = 760;
  int height = 480;
};

namespace detail {
inline std::string number(double v) {
  char buf[32];
  // Whole numbers up to 1e12 print in full ("10000", not "1e+04"): tick labels.
  if (std::abs(v) >= 1e4 && std::abs(v) < 1e12 && v == std::floor(v))
    std::snprintf(buf, sizeof buf, "%.0f", v);
  else
    std::snprintf(buf, sizeof buf, "%.4g", v);
  return buf;
}
inline std::string escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '<') out += "&lt;";
    else if (c == '>') out += "&gt;";
    else if (c == '&') out += "&amp;";
    else out += c;
  }
  return out;
}
}  // namespace detail

/// The SVG text of a line plot of `series`. Throws invalid_argument for a
/// series whose x and y differ in length, a non-finite point, or a
/// non-positive x on a log axis.
inline std::string svg_line_plot(std::span<const plot_series> series, const plot_options& o) {
  double x_lo = std::numeric_limits<double>::infinity(), x_hi = -x_lo, y_lo = x_lo, y_hi = -x_lo;
  for (const plot_series& s : series) {
    if (s.x.size() != s.y.size())
      throw invalid_argument("svg_line_plot: series '" + s.name + "' has " + std::to_string(s.x.size()) +
                             " x values and " + std::to_string(s.y.size()) + " y values");
    for (std::size_t i = 0; i < s.x.size(); ++i) {
      if (!std::isfinite(s.x[i]) || !std::isfinite(s.y[i]) || (o.log_x && s.x[i] <= 0))
        throw invalid_argument("svg_line_plot: series '" + s.name + "' point " + std::to_string(i) + " (" +
                               ttscale::detail::number_text(s.x[i]) + ", " + ttscale::detail::number_text(s.y[i]) + ") cannot be plotted");
      const double x = o.log_x ? std::log10(s.x[i]) : s.x[i];
      x_lo = std::min(x_lo, x), x_hi = std::max(x_hi, x);
      y_lo = std::min(y_lo, s.y[i]), y_hi = std::max(y_hi, s.y[i]);
    }
  }
  if (x_lo > x_hi) x_lo = 0, x_hi = 1, y_lo = 0, y_hi = 1;  // no points: an empty frame
  if (o.y_min) y_lo = *o.y_min;
  if (o.y_max) y_hi = *o.y_max;
  if (x_hi - x_lo < 1e-12) x_lo -= 0.5, x_hi += 0.5;
  if (y_hi - y_lo < 1e-12) y_lo -= 0.5, y_hi += 0.5;

  const double left = 70, right = 190, top = 40, bottom = 60;
  const double w = o.width - left - right, h = o.height - top - bottom;
  auto px = [&](double x) { return left + (x - x_lo) / (x_hi - x_lo) * w; };
  auto py = [&](double y) { return top + (1 - (y - y_lo) / (y_hi - y_lo)) * h; };
  static constexpr const char* colours[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b",
                                            "#e377c2", "#17becf", "#7f7f7f", "#bcbd22", "#000000", "#aec7e8"};
  // Past the palette, series repeat colours with a dashed line.
  std::string svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + std::to_string(o.width) + "\" height=\"" +
                    std::to_string(o.height) + "\" font-family=\"sans-serif\" font-size=\"12\">\n";
  svg += "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  svg += "<text x=\"" + detail::number(left + w / 2) + "\" y=\"22\" text-anchor=\"middle\" font-size=\"15\">" +
         detail::escape(o.title) + "</text>\n";
  svg += "<rect x=\"" + detail::number(left) + "\" y=\"" + detail::number(top) + "\" width=\"" + detail::number(w) +
         "\" height=\"" + detail::number(h) + "\" fill=\"none\" stroke=\"black\"/>\n";
  // y ticks: 5 even steps; x ticks: each power of ten (log) or 5 even steps.
  for (int i = 0; i <= 5; ++i) {
    const double y = y_lo + (y_hi - y_lo) * i / 5;
    svg += "<line x1=\"" + detail::number(left) + "\" x2=\"" + detail::number(left + w) + "\" y1=\"" +
           detail::number(py(y)) + "\" y2=\"" + detail::number(py(y)) + "\" stroke=\"#ddd\"/>\n";
    svg += "<text x=\"" + detail::number(left - 6) + "\" y=\"" + detail::number(py(y) + 4) +
           "\" text-anchor=\"end\">" + detail::number(y) + "</text>\n";
  }
  std::vector<double> x_ticks;
  if (o.log_x) {
    // 1-2-5 ticks in every decade; decades alone when that is too many.
    for (double e = std::floor(x_lo); e <= x_hi + 1e-9; e += 1)
      for (double m : {1.0, 2.0, 5.0}) {
        const double t = e + std::log10(m);
        if (t >= x_lo - 1e-9 && t <= x_hi + 1e-9) x_ticks.push_back(t);
      }
    if (x_ticks.size() > 12)
      std::erase_if(x_ticks, [](double t) { return std::abs(t - std::round(t)) > 1e-9; });
    if (x_ticks.size() < 2) x_ticks = {x_lo, x_hi};
  } else {
    for (int i = 0; i <= 5; ++i) x_ticks.push_back(x_lo + (x_hi - x_lo) * i / 5);
  }
  for (double x : x_ticks) {
    svg += "<line x1=\"" + detail::number(px(x)) + "\" x2=\"" + detail::number(px(x)) + "\" y1=\"" +
           detail::number(top) + "\" y2=\"" + detail::number(top + h) + "\" stroke=\"#ddd\"/>\n";
    svg += "<text x=\"" + detail::number(px(x)) + "\" y=\"" + detail::number(top + h + 16) +
           "\" text-anchor=\"middle\">" + detail::number(o.log_x ? std::pow(10.0, x) : x) + "</text>\n";
  }
  svg += "<text x=\"" + detail::number(left + w / 2) + "\" y=\"" + detail::number(o.height - 14.0) +
         "\" text-anchor=\"middle\">" + detail::escape(o.x_label) + (o.log_x ? " (log scale)" : "") + "</text>\n";
  svg += "<text transform=\"translate(16," + detail::number(top + h / 2) +
         ") rotate(-90)\" text-anchor=\"middle\">" + detail::escape(o.y_label) + "</text>\n";
  for (std::size_t k = 0; k < series.size(); ++k) {
    const plot_series& s = series[k];
    const std::string colour = colours[k % std::size(colours)];
    std::string points;
    for (std::size_t i = 0; i < s.x.size(); ++i)
      points += detail::number(px(o.log_x ? std::log10(s.x[i]) : s.x[i])) + "," + detail::number(py(s.y[i])) + " ";
    const std::string dash = k >= std::size(colours) ? " stroke-dasharray=\"6,3\"" : "";
    svg += "<polyline fill=\"none\" stroke=\"" + colour + "\" stroke-width=\"2\"" + dash + " points=\"" + points +
           "\"/>\n";
    for (std::size_t i = 0; i < s.x.size(); ++i)
      svg += "<circle cx=\"" + detail::number(px(o.log_x ? std::log10(s.x[i]) : s.x[i])) + "\" cy=\"" +
             detail::number(py(s.y[i])) + "\" r=\"3.5\" fill=\"" + colour + "\"/>\n";
    const double ly = top + 14 + 20.0 * static_cast<double>(k);
    svg += "<line x1=\"" + detail::number(left + w + 14) + "\" x2=\"" + detail::number(left + w + 38) + "\" y1=\"" +
           detail::number(ly) + "\" y2=\"" + detail::number(ly) + "\" stroke=\"" + colour +
           "\" stroke-width=\"2\"" + dash + "/>\n";
    svg += "<text x=\"" + detail::number(left + w + 44) + "\" y=\"" + detail::number(ly + 4) + "\">" +
           detail::escape(s.name) + "</text>\n";
  }
  return svg + "</svg>\n";
}

/// Appends (x, y) to the series called `name`, creating it (in first-seen
/// order) if needed: turns table rows into curves.
inline void add_point(std::vector<plot_series>& series, const std::string& name, double x, double y) {
  auto it = std::find_if(series.begin(), series.end(), [&](const plot_series& s) { return s.name == name; });
  if (it == series.end()) it = series.insert(series.end(), plot_series{name, {}, {}});
  it->x.push_back(x);
  it->y.push_back(y);
}

/// Writes `text` to `path`; throws ttscale::error if the file cannot be written.
inline void write_text_file(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
  if (!out) throw error("write_text_file: cannot write '" + path + "'");
}

}  // namespace analysis
TTSCALE_END_NAMESPACE
