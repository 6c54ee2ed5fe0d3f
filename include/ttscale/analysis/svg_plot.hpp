// ttscale/analysis/svg_plot.hpp: scaling curves as a self-contained SVG file.
//
// Accuracy-vs-compute curves are easier to read as a picture than as a table,
// so examples and sweeps write both. This draws line series on linear or
// log-10 x axes, with ticks, axis labels and a legend, as plain SVG (any
// browser shows it; no plotting dependency). A series may carry an interval
// (a confidence band, drawn as a translucent polygon behind the lines) and may
// be drawn as a fitted curve (dashed, no markers), so "coverage with its fitted
// law" is two series in one plot. O(total points).
//
// Element structure (stable, so tests and scripts can check a plot):
//   <svg>
//     frame, grid lines, tick labels, title and axis labels
//     <g class="bands">  one <path class="band" data-series="NAME"> per series
//                        with y_low/y_high, in series order: all bands sit
//                        behind every line, so a band never hides a curve
//     <g class="lines">  per series, in order: one <path class="series"
//                        data-series="NAME">, then for series_style::measured
//                        one <circle class="marker"> per point
//     <g class="legend"> a swatch and the name of each series
//   </svg>
// A band's d is the upper edge (y_high) in point order, then the lower edge
// (y_low) in reverse, closed: the polygon between the two at every x.
#pragma once

#include <ttscale/config.hpp>
#include <ttscale/detail/number_text.hpp>
#include <ttscale/errors.hpp>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <limits>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

TTSCALE_BEGIN_NAMESPACE
namespace analysis {

/// How a series is drawn.
enum class series_style {
  measured,  ///< solid line with a marker at each point: data
  fitted,    ///< dashed line without markers: a fitted law or model curve
};

struct plot_series {
  std::string name{};
  std::vector<double> x{};
  std::vector<double> y{};
  /// An interval around y at each x (e.g. a 95% confidence interval), drawn
  /// as a band: both empty (no band) or both as long as x, with
  /// y_low[i] <= y_high[i]. y itself need not lie inside (a percentile
  /// bootstrap interval may exclude its point estimate).
  std::vector<double> y_low{};
  std::vector<double> y_high{};
  series_style style = series_style::measured;
  /// An SVG colour ("#1f77b4", "steelblue"); empty takes the next palette
  /// colour. Give a fitted curve its data's colour to pair them.
  std::string colour{};
};

struct plot_options {
  std::string title{};
  std::string x_label{};
  std::string y_label{};
  bool log_x = true;             ///< log-10 x axis (compute usually spans decades)
  std::optional<double> y_min{}; ///< fixed y range (e.g. 0..1 for accuracy); else from the data and bands
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

/// Text safe both as element content and inside a double- or single-quoted
/// attribute. Control characters other than tab, LF and CR are not allowed in
/// XML 1.0 at all (not even escaped), so they become '?'.
inline std::string escape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    if (c == '<') out += "&lt;";
    else if (c == '>') out += "&gt;";
    else if (c == '&') out += "&amp;";
    else if (c == '"') out += "&quot;";
    else if (c == '\'') out += "&apos;";
    else if (static_cast<unsigned char>(c) < 0x20 && c != '\t' && c != '\n' && c != '\r') out += '?';
    else out += c;
  }
  return out;
}

/// A log-axis tick label: in full below 10^4 ("1", "500", "1000", "0.01"), with
/// an SI suffix above ("20k", "1M", "10G"), so a decade tick of a 1..1e7 axis
/// is at most four characters wide and eight of them fit under a plot.
inline std::string log_tick_label(double v) {
  char buf[32];
  static constexpr struct {
    double scale;
    const char* suffix;
  } si[] = {{1e12, "T"}, {1e9, "G"}, {1e6, "M"}, {1e3, "k"}};
  if (v >= 1e4 && v < 1e15)
    for (const auto& [scale, suffix] : si)
      if (v >= scale) {
        std::snprintf(buf, sizeof buf, "%.3g%s", v / scale, suffix);
        return buf;
      }
  std::snprintf(buf, sizeof buf, "%.4g", v);
  return buf;
}

struct tick {
  double at;  ///< axis coordinate (log10 of the value on a log axis)
  std::string label;
};

/// Ticks of a log-10 axis over [lo, hi] (log10 units): 1-2-5 in every decade
/// while that is at most 12 ticks, else the powers of ten, thinned to every
/// 2nd, 3rd... decade so that at most 10 remain. An axis within one decade
/// with fewer than two such ticks gets its two ends.
inline std::vector<tick> log_ticks(double lo, double hi) {
  constexpr double slack = 1e-9;
  std::vector<tick> ticks;
  for (double e = std::floor(lo); e <= hi + slack; e += 1)
    for (double m : {1.0, 2.0, 5.0}) {
      const double t = e + std::log10(m);
      // m * 10^e directly: 10^(log10(2) + 3) is 1999.9999999999995.
      if (t >= lo - slack && t <= hi + slack) ticks.push_back({t, log_tick_label(m * std::pow(10.0, e))});
    }
  if (ticks.size() > 12) {
    ticks.clear();
    const double first = std::ceil(lo - slack), last = std::floor(hi + slack);
    const double step = std::max(1.0, std::ceil((last - first + 1) / 10));
    for (double e = first; e <= last; e += 1)
      if (std::fmod(e, step) == 0) ticks.push_back({e, log_tick_label(std::pow(10.0, e))});
  }
  if (ticks.size() < 2) {
    char a[32], b[32];
    std::snprintf(a, sizeof a, "%.3g", std::pow(10.0, lo));
    std::snprintf(b, sizeof b, "%.3g", std::pow(10.0, hi));
    ticks = {{lo, a}, {hi, b}};
  }
  return ticks;
}

inline std::string point_text(double x, double y) {
  // Appended piece by piece: GCC 12 warns falsely (-Wrestrict) on "literal" + std::string&&.
  std::string s = "(";
  s += ttscale::detail::number_text(x);
  s += ", ";
  s += ttscale::detail::number_text(y);
  s += ')';
  return s;
}
}  // namespace detail

/// The SVG text of a line plot of `series` (element structure in the header
/// comment). Points are joined in the order given. Throws invalid_argument,
/// naming the series and point, for: x, y, y_low or y_high of different
/// lengths (y_low/y_high may both be empty); a non-finite value; a
/// non-positive x on a log axis; y_low > y_high; a colour containing quotes or
/// markup; y_min >= y_max or a non-finite bound; a width or height too small
/// for the margins.
inline std::string svg_line_plot(std::span<const plot_series> series, const plot_options& o) {
  const double left = 70, right = 190, top = 40, bottom = 60;
  if (o.width < left + right + 20 || o.height < top + bottom + 20)
    throw invalid_argument("svg_line_plot: a " + std::to_string(o.width) + "x" + std::to_string(o.height) +
                           " plot leaves no room inside its margins (needs at least " +
                           std::to_string(static_cast<int>(left + right + 20)) + "x" +
                           std::to_string(static_cast<int>(top + bottom + 20)) + ")");
  if ((o.y_min && !std::isfinite(*o.y_min)) || (o.y_max && !std::isfinite(*o.y_max)) ||
      (o.y_min && o.y_max && *o.y_min >= *o.y_max))
    throw invalid_argument("svg_line_plot: y range [" + (o.y_min ? ttscale::detail::number_text(*o.y_min) : "auto") +
                           ", " + (o.y_max ? ttscale::detail::number_text(*o.y_max) : "auto") +
                           "] is not an increasing pair of finite numbers");

  double x_lo = std::numeric_limits<double>::infinity(), x_hi = -x_lo, y_lo = x_lo, y_hi = -x_lo;
  for (const plot_series& s : series) {
    const std::string who = "svg_line_plot: series '" + s.name + "'";
    if (s.x.size() != s.y.size())
      throw invalid_argument(who + " has " + std::to_string(s.x.size()) + " x values and " +
                             std::to_string(s.y.size()) + " y values");
    const bool banded = !s.y_low.empty() || !s.y_high.empty();
    if (banded && (s.y_low.size() != s.x.size() || s.y_high.size() != s.x.size()))
      throw invalid_argument(who + " has " + std::to_string(s.x.size()) + " points but " +
                             std::to_string(s.y_low.size()) + " y_low and " + std::to_string(s.y_high.size()) +
                             " y_high values (give both as long as x, or neither)");
    if (s.colour.find_first_of("\"'<>&") != std::string::npos)
      throw invalid_argument(who + " has colour '" + s.colour + "', which is not an SVG colour");
    for (std::size_t i = 0; i < s.x.size(); ++i) {
      const std::string at = who + " point " + std::to_string(i) + " " + detail::point_text(s.x[i], s.y[i]);
      if (!std::isfinite(s.x[i]) || !std::isfinite(s.y[i]))
        throw invalid_argument(at + " is not finite, so it cannot be plotted");
      if (o.log_x && s.x[i] <= 0)
        throw invalid_argument(at + " has x <= 0, which a log x axis cannot show (use log_x = false or drop it)");
      const double x = o.log_x ? std::log10(s.x[i]) : s.x[i];
      x_lo = std::min(x_lo, x), x_hi = std::max(x_hi, x);
      y_lo = std::min(y_lo, s.y[i]), y_hi = std::max(y_hi, s.y[i]);
      if (banded) {
        if (!std::isfinite(s.y_low[i]) || !std::isfinite(s.y_high[i]) || s.y_low[i] > s.y_high[i])
          throw invalid_argument(at + " has interval [" + ttscale::detail::number_text(s.y_low[i]) + ", " +
                                 ttscale::detail::number_text(s.y_high[i]) +
                                 "]; y_low and y_high must be finite with y_low <= y_high");
        y_lo = std::min(y_lo, s.y_low[i]), y_hi = std::max(y_hi, s.y_high[i]);
      }
    }
  }
  if (x_lo > x_hi) x_lo = 0, x_hi = 1, y_lo = 0, y_hi = 1;  // no points: an empty frame
  if (o.y_min) y_lo = *o.y_min;
  if (o.y_max) y_hi = *o.y_max;
  if (x_hi - x_lo < 1e-12) x_lo -= 0.5, x_hi += 0.5;
  if (y_hi - y_lo < 1e-12) y_lo -= 0.5, y_hi += 0.5;

  const double w = o.width - left - right, h = o.height - top - bottom;
  auto px = [&](double x) { return left + ((o.log_x ? std::log10(x) : x) - x_lo) / (x_hi - x_lo) * w; };
  auto px_axis = [&](double axis_x) { return left + (axis_x - x_lo) / (x_hi - x_lo) * w; };
  auto py = [&](double y) { return top + (1 - (y - y_lo) / (y_hi - y_lo)) * h; };
  auto xy = [&](double x, double y) { return detail::number(px(x)) + "," + detail::number(py(y)); };

  static constexpr const char* palette[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b",
                                            "#e377c2", "#17becf", "#7f7f7f", "#bcbd22", "#000000", "#aec7e8"};
  // Colours and dashes per series. Past the palette, measured series repeat
  // colours with a dotted line (fitted curves keep their dashes), so no two
  // measured series look alike.
  std::vector<std::string> colours(series.size()), dashes(series.size());
  for (std::size_t k = 0, next = 0; k < series.size(); ++k) {
    const bool repeat = series[k].colour.empty() && next >= std::size(palette);
    colours[k] = series[k].colour.empty() ? palette[next++ % std::size(palette)] : series[k].colour;
    if (series[k].style == series_style::fitted) dashes[k] = " stroke-dasharray=\"7,4\"";
    else if (repeat) dashes[k] = " stroke-dasharray=\"2,3\"";
  }

  std::string svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + std::to_string(o.width) + "\" height=\"" +
                    std::to_string(o.height) + "\" font-family=\"sans-serif\" font-size=\"12\">\n";
  svg += "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  svg += "<text x=\"" + detail::number(left + w / 2) + "\" y=\"22\" text-anchor=\"middle\" font-size=\"15\">" +
         detail::escape(o.title) + "</text>\n";
  svg += "<rect x=\"" + detail::number(left) + "\" y=\"" + detail::number(top) + "\" width=\"" + detail::number(w) +
         "\" height=\"" + detail::number(h) + "\" fill=\"none\" stroke=\"black\"/>\n";
  // y ticks: 5 even steps; x ticks: detail::log_ticks or 5 even steps.
  for (int i = 0; i <= 5; ++i) {
    const double y = y_lo + (y_hi - y_lo) * i / 5;
    svg += "<line x1=\"" + detail::number(left) + "\" x2=\"" + detail::number(left + w) + "\" y1=\"" +
           detail::number(py(y)) + "\" y2=\"" + detail::number(py(y)) + "\" stroke=\"#ddd\"/>\n";
    svg += "<text x=\"" + detail::number(left - 6) + "\" y=\"" + detail::number(py(y) + 4) +
           "\" text-anchor=\"end\">" + detail::number(y) + "</text>\n";
  }
  std::vector<detail::tick> x_ticks;
  if (o.log_x) {
    x_ticks = detail::log_ticks(x_lo, x_hi);
  } else {
    for (int i = 0; i <= 5; ++i) {
      const double x = x_lo + (x_hi - x_lo) * i / 5;
      x_ticks.push_back({x, detail::number(x)});
    }
  }
  for (const detail::tick& t : x_ticks) {
    svg += "<line x1=\"" + detail::number(px_axis(t.at)) + "\" x2=\"" + detail::number(px_axis(t.at)) + "\" y1=\"" +
           detail::number(top) + "\" y2=\"" + detail::number(top + h) + "\" stroke=\"#ddd\"/>\n";
    svg += "<text class=\"x-tick\" x=\"" + detail::number(px_axis(t.at)) + "\" y=\"" + detail::number(top + h + 16) +
           "\" text-anchor=\"middle\">" + detail::escape(t.label) + "</text>\n";
  }
  svg += "<text x=\"" + detail::number(left + w / 2) + "\" y=\"" + detail::number(o.height - 14.0) +
         "\" text-anchor=\"middle\">" + detail::escape(o.x_label) + (o.log_x ? " (log scale)" : "") + "</text>\n";
  svg += "<text transform=\"translate(16," + detail::number(top + h / 2) +
         ") rotate(-90)\" text-anchor=\"middle\">" + detail::escape(o.y_label) + "</text>\n";

  svg += "<g class=\"bands\">\n";
  for (std::size_t k = 0; k < series.size(); ++k) {
    const plot_series& s = series[k];
    if (s.y_low.empty() || s.x.empty()) continue;
    std::string d;
    for (std::size_t i = 0; i < s.x.size(); ++i) d += (i == 0 ? "M" : " L") + xy(s.x[i], s.y_high[i]);
    for (std::size_t i = s.x.size(); i-- > 0;) d += " L" + xy(s.x[i], s.y_low[i]);
    // A one-point band has no area: outline it so it shows as an error bar.
    const std::string outline = s.x.size() == 1 ? "stroke=\"" + colours[k] + "\" stroke-opacity=\"0.4\"" : "stroke=\"none\"";
    svg += "<path class=\"band\" data-series=\"" + detail::escape(s.name) + "\" d=\"" + d + " Z\" fill=\"" +
           colours[k] + "\" fill-opacity=\"0.18\" " + outline + "/>\n";
  }
  svg += "</g>\n<g class=\"lines\">\n";
  for (std::size_t k = 0; k < series.size(); ++k) {
    const plot_series& s = series[k];
    std::string d;
    for (std::size_t i = 0; i < s.x.size(); ++i) d += (i == 0 ? "M" : " L") + xy(s.x[i], s.y[i]);
    svg += "<path class=\"series\" data-series=\"" + detail::escape(s.name) + "\" d=\"" + d +
           "\" fill=\"none\" stroke=\"" + colours[k] + "\" stroke-width=\"2\"" + dashes[k] + "/>\n";
    if (s.style == series_style::measured)
      for (std::size_t i = 0; i < s.x.size(); ++i)
        svg += "<circle class=\"marker\" cx=\"" + detail::number(px(s.x[i])) + "\" cy=\"" +
               detail::number(py(s.y[i])) + "\" r=\"3.5\" fill=\"" + colours[k] + "\"/>\n";
  }
  svg += "</g>\n<g class=\"legend\">\n";
  for (std::size_t k = 0; k < series.size(); ++k) {
    const plot_series& s = series[k];
    const double ly = top + 14 + 20.0 * static_cast<double>(k);
    if (!s.y_low.empty())
      svg += "<rect x=\"" + detail::number(left + w + 14) + "\" y=\"" + detail::number(ly - 6) +
             "\" width=\"24\" height=\"12\" fill=\"" + colours[k] + "\" fill-opacity=\"0.18\"/>\n";
    svg += "<line x1=\"" + detail::number(left + w + 14) + "\" x2=\"" + detail::number(left + w + 38) + "\" y1=\"" +
           detail::number(ly) + "\" y2=\"" + detail::number(ly) + "\" stroke=\"" + colours[k] +
           "\" stroke-width=\"2\"" + dashes[k] + "/>\n";
    svg += "<text x=\"" + detail::number(left + w + 44) + "\" y=\"" + detail::number(ly + 4) + "\">" +
           detail::escape(s.name) + "</text>\n";
  }
  return svg + "</g>\n</svg>\n";
}

/// Appends (x, y) to the series called `name`, creating it (in first-seen
/// order) if needed: turns table rows into curves. Throws invalid_argument if
/// the series has intervals (a point without one would leave its band short).
inline void add_point(std::vector<plot_series>& series, const std::string& name, double x, double y) {
  auto it = std::find_if(series.begin(), series.end(), [&](const plot_series& s) { return s.name == name; });
  if (it == series.end()) it = series.insert(series.end(), plot_series{name, {}, {}});
  if (!it->y_low.empty())
    throw invalid_argument("add_point: series '" + name + "' has intervals; give this point's interval too");
  it->x.push_back(x);
  it->y.push_back(y);
}

/// Appends (x, y) with its interval [y_low, y_high] to the series called
/// `name`, creating it if needed. Throws invalid_argument if the series
/// already has points without an interval (its band would not match its line).
inline void add_point(std::vector<plot_series>& series, const std::string& name, double x, double y, double y_low,
                      double y_high) {
  auto it = std::find_if(series.begin(), series.end(), [&](const plot_series& s) { return s.name == name; });
  if (it == series.end()) it = series.insert(series.end(), plot_series{name, {}, {}});
  if (it->y_low.size() != it->x.size())
    throw invalid_argument("add_point: series '" + name + "' already has " + std::to_string(it->x.size()) +
                           " points without an interval");
  it->x.push_back(x);
  it->y.push_back(y);
  it->y_low.push_back(y_low);
  it->y_high.push_back(y_high);
}

/// Writes `text` to `path`; throws ttscale::error if the file cannot be written.
inline void write_text_file(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
  if (!out) throw error("write_text_file: cannot write '" + path + "'");
}

}  // namespace analysis
TTSCALE_END_NAMESPACE
