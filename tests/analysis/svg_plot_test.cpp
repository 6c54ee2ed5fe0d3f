#include <ttscale/analysis/svg_plot.hpp>

#include <catch2/catch.hpp>

#include <cmath>
#include <vector>

using namespace ttscale;

TEST_CASE("svg_line_plot draws every series with a legend entry", "[analysis][plot]") {
  const std::vector<analysis::plot_series> s{{"best-of-N", {10, 100, 1000}, {0.2, 0.5, 0.7}},
                                             {"vote <a&b>", {10, 100}, {0.3, 0.4}}};
  const std::string svg = analysis::svg_line_plot(s, {.title = "t", .x_label = "tokens", .y_label = "accuracy"});
  CHECK_THAT(svg, Catch::StartsWith("<svg"));
  CHECK_THAT(svg, Catch::EndsWith("</svg>\n"));
  CHECK_THAT(svg, Catch::Contains("best-of-N") && Catch::Contains("vote &lt;a&amp;b&gt;"));
  std::size_t polylines = 0, circles = 0;
  for (std::size_t at = 0; (at = svg.find("<polyline", at)) != std::string::npos; ++at) ++polylines;
  for (std::size_t at = 0; (at = svg.find("<circle", at)) != std::string::npos; ++at) ++circles;
  CHECK(polylines == 2);
  CHECK(circles == 5);
  CHECK_THAT(svg, Catch::Contains(">1000<"));  // a log-axis tick at each power of ten
}

TEST_CASE("svg_line_plot rejects points it cannot draw", "[analysis][plot][errors]") {
  const std::vector<analysis::plot_series> mismatched{{"a", {1, 2}, {1}}};
  CHECK_THROWS_WITH(analysis::svg_line_plot(mismatched, {}), Catch::Contains("'a' has 2 x values and 1 y values"));
  const std::vector<analysis::plot_series> zero{{"z", {0}, {1}}};
  CHECK_THROWS_AS(analysis::svg_line_plot(zero, {.log_x = true}), invalid_argument);
  CHECK_NOTHROW(analysis::svg_line_plot(zero, {.log_x = false}));
  const std::vector<analysis::plot_series> nan{{"n", {1}, {std::nan("")}}};
  CHECK_THROWS_AS(analysis::svg_line_plot(nan, {}), invalid_argument);
  CHECK_NOTHROW(analysis::svg_line_plot({}, {}));
}
