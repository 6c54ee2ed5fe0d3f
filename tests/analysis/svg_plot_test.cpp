#include <ttscale/analysis/svg_plot.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstddef>
#include <limits>
#include <map>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

using namespace ttscale;

namespace {

// A small XML well-formedness checker, so the tests need neither python nor an
// XML library: one root element, balanced and properly nested tags, quoted
// attributes without duplicates, '&' only in the five predefined entities or a
// character reference, no '<' in attribute values, no control characters, and
// nothing but whitespace outside the root. Returns the elements in document
// order; throws std::runtime_error naming the offset of the first violation.
struct xml_element {
  std::string name;
  std::map<std::string, std::string> attributes;  // values with entities resolved
  std::string text;                               // direct text content, entities resolved
};

class xml_checker {
 public:
  explicit xml_checker(std::string_view s) : s_(s) {}

  std::vector<xml_element> parse() {
    std::vector<std::size_t> open;  // indices into elements_
    bool root_seen = false;
    while (at_ < s_.size()) {
      if (s_[at_] != '<') {
        const std::string text = text_until_markup();
        if (open.empty() && text.find_first_not_of(" \t\r\n") != std::string::npos) fail("text outside the root element");
        if (!open.empty()) elements_[open.back()].text += text;
        continue;
      }
      if (starts_with("<?")) {
        skip_past("?>");
      } else if (starts_with("<!--")) {
        skip_past("-->");
      } else if (starts_with("</")) {
        at_ += 2;
        const std::string name = read_name();
        skip_space();
        expect('>');
        if (open.empty() || elements_[open.back()].name != name) fail("closing tag </" + name + "> does not match");
        open.pop_back();
      } else {
        ++at_;
        if (open.empty() && root_seen) fail("a second root element");
        root_seen = true;
        xml_element e{read_name(), {}, {}};
        for (;;) {
          const bool spaced = skip_space();
          if (starts_with("/>") || starts_with(">")) break;
          if (!spaced) fail("attributes must be separated by whitespace");
          const std::string key = read_name();
          skip_space();
          expect('=');
          skip_space();
          if (at_ >= s_.size() || (s_[at_] != '"' && s_[at_] != '\'')) fail("unquoted value of attribute " + key);
          const char quote = s_[at_++];
          std::string value;
          while (at_ < s_.size() && s_[at_] != quote) {
            if (s_[at_] == '<') fail("'<' inside attribute " + key);
            value += s_[at_] == '&' ? entity() : std::string(1, checked_char());
          }
          expect(quote);
          if (!e.attributes.emplace(key, value).second) fail("duplicate attribute " + key);
        }
        elements_.push_back(std::move(e));
        if (starts_with("/>")) at_ += 2;
        else ++at_, open.push_back(elements_.size() - 1);
      }
    }
    if (!open.empty()) fail("<" + elements_[open.back()].name + "> is never closed");
    if (!root_seen) fail("no root element");
    return std::move(elements_);
  }

 private:
  [[noreturn]] void fail(const std::string& what) const {
    throw std::runtime_error("not well-formed XML at offset " + std::to_string(at_) + ": " + what);
  }
  bool starts_with(std::string_view p) const { return s_.substr(at_, p.size()) == p; }
  void skip_past(std::string_view end) {
    const std::size_t e = s_.find(end, at_);
    if (e == std::string_view::npos) fail("unterminated " + std::string(s_.substr(at_, 4)));
    at_ = e + end.size();
  }
  bool skip_space() {
    const std::size_t from = at_;
    while (at_ < s_.size() && (s_[at_] == ' ' || s_[at_] == '\t' || s_[at_] == '\n' || s_[at_] == '\r')) ++at_;
    return at_ > from;
  }
  void expect(char c) {
    if (at_ >= s_.size() || s_[at_] != c) fail(std::string("expected '") + c + "'");
    ++at_;
  }
  std::string read_name() {
    auto first = [](char c) { return std::isalpha(static_cast<unsigned char>(c)) || c == '_' || c == ':'; };
    auto rest = [&](char c) { return first(c) || std::isdigit(static_cast<unsigned char>(c)) || c == '-' || c == '.'; };
    if (at_ >= s_.size() || !first(s_[at_])) fail("expected a name");
    const std::size_t from = at_;
    while (at_ < s_.size() && rest(s_[at_])) ++at_;
    return std::string(s_.substr(from, at_ - from));
  }
  char checked_char() {
    const char c = s_[at_++];
    if (static_cast<unsigned char>(c) < 0x20 && c != '\t' && c != '\n' && c != '\r') fail("control character");
    return c;
  }
  std::string entity() {
    static const std::pair<std::string_view, std::string_view> named[] = {
        {"&lt;", "<"}, {"&gt;", ">"}, {"&amp;", "&"}, {"&quot;", "\""}, {"&apos;", "'"}};
    for (const auto& [from, to] : named)
      if (starts_with(from)) {
        at_ += from.size();
        return std::string(to);
      }
    if (starts_with("&#")) {
      const std::size_t semicolon = s_.find(';', at_);
      if (semicolon == std::string_view::npos || semicolon == at_ + 2) fail("bad character reference");
      at_ = semicolon + 1;
      return "?";
    }
    fail("'&' that starts no entity");
  }
  std::string text_until_markup() {
    std::string text;
    while (at_ < s_.size() && s_[at_] != '<') {
      if (starts_with("]]>")) fail("']]>' in text");
      text += s_[at_] == '&' ? entity() : std::string(1, checked_char());
    }
    return text;
  }

  std::string_view s_;
  std::size_t at_ = 0;
  std::vector<xml_element> elements_;
};

std::vector<xml_element> parse_xml(std::string_view s) { return xml_checker(s).parse(); }

std::vector<const xml_element*> with_class(const std::vector<xml_element>& elements, const std::string& cls) {
  std::vector<const xml_element*> out;
  for (const xml_element& e : elements) {
    auto it = e.attributes.find("class");
    if (it != e.attributes.end() && it->second == cls) out.push_back(&e);
  }
  return out;
}

// The vertices of a path's d ("M1,2 L3,4 ... [Z]").
std::vector<std::pair<double, double>> vertices(const std::string& d) {
  std::vector<std::pair<double, double>> out;
  std::size_t at = 0;
  while (at < d.size()) {
    while (at < d.size() && d[at] == ' ') ++at;
    if (at >= d.size() || d[at] == 'Z') break;
    REQUIRE((d[at] == 'M' || d[at] == 'L'));
    std::size_t used = 0;
    const double x = std::stod(d.substr(at + 1), &used);
    at += 1 + used;
    REQUIRE(d[at] == ',');
    const double y = std::stod(d.substr(at + 1), &used);
    at += 1 + used;
    out.emplace_back(x, y);
  }
  return out;
}

}  // namespace

TEST_CASE("the XML checker rejects what is not well-formed", "[analysis][plot]") {
  CHECK_NOTHROW(parse_xml("<a x=\"1\" y='2'><b/>t &amp; &lt;u&gt;&#38;</a>\n"));
  CHECK_THROWS_WITH(parse_xml("<a><b></a></b>"), Catch::Contains("does not match"));
  CHECK_THROWS_WITH(parse_xml("<a>"), Catch::Contains("never closed"));
  CHECK_THROWS_WITH(parse_xml("<a x=1/>"), Catch::Contains("unquoted"));
  CHECK_THROWS_WITH(parse_xml("<a x=\"1\" x=\"2\"/>"), Catch::Contains("duplicate"));
  CHECK_THROWS_WITH(parse_xml("<a>b & c</a>"), Catch::Contains("entity"));
  CHECK_THROWS_WITH(parse_xml("<a x=\"<\"/>"), Catch::Contains("'<' inside"));
  CHECK_THROWS_WITH(parse_xml("<a x=\"\"\"/>"), Catch::Contains("separated"));
  CHECK_THROWS_WITH(parse_xml("<a/><b/>"), Catch::Contains("second root"));
  CHECK_THROWS_WITH(parse_xml("<a>\x01</a>"), Catch::Contains("control"));
  CHECK_THROWS_WITH(parse_xml("text"), Catch::Contains("outside the root"));
}

TEST_CASE("svg_line_plot draws every series with a legend entry", "[analysis][plot]") {
  const std::vector<analysis::plot_series> s{{"best-of-N", {10, 100, 1000}, {0.2, 0.5, 0.7}},
                                             {"vote <a&b>", {10, 100}, {0.3, 0.4}}};
  const std::string svg = analysis::svg_line_plot(s, {.title = "t", .x_label = "tokens", .y_label = "accuracy"});
  CHECK_THAT(svg, Catch::StartsWith("<svg"));
  CHECK_THAT(svg, Catch::EndsWith("</svg>\n"));
  CHECK_THAT(svg, Catch::Contains("best-of-N") && Catch::Contains("vote &lt;a&amp;b&gt;"));
  const auto elements = parse_xml(svg);
  const auto lines = with_class(elements, "series");
  REQUIRE(lines.size() == 2);
  CHECK(lines[0]->attributes.at("data-series") == "best-of-N");
  CHECK(lines[1]->attributes.at("data-series") == "vote <a&b>");
  CHECK(with_class(elements, "marker").size() == 5);
  CHECK(with_class(elements, "band").empty());
  CHECK_THAT(svg, Catch::Contains(">1000<"));  // a log-axis tick at each power of ten
}

TEST_CASE("svg_line_plot output is well-formed XML whatever the names", "[analysis][plot]") {
  const std::vector<analysis::plot_series> s{
      {"quotes \" and ' and <tags> & ampersands", {1, 2}, {0.1, 0.2}},
      {"control \x01\x1f chars, tab\t", {1, 2}, {0.3, 0.4}},
      {"unicode: préfixe 漢字 ✓", {1, 2}, {0.5, 0.6}, {0.4, 0.5}, {0.6, 0.7}, analysis::series_style::fitted, "steelblue"},
      {"", {}, {}}};
  const std::string svg =
      analysis::svg_line_plot(s, {.title = "a \"title\" <with> & 'marks'", .x_label = "x & y", .y_label = "<y>"});
  std::vector<xml_element> elements;
  REQUIRE_NOTHROW(elements = parse_xml(svg));
  CHECK(elements.front().name == "svg");
  const auto lines = with_class(elements, "series");
  REQUIRE(lines.size() == 4);  // an empty series still gets its (empty) path
  CHECK(lines[0]->attributes.at("data-series") == s[0].name);
  CHECK(lines[1]->attributes.at("data-series") == "control ?? chars, tab\t");
  CHECK(lines[2]->attributes.at("data-series") == s[2].name);
  CHECK(lines[2]->attributes.at("stroke") == "steelblue");
  CHECK(lines[3]->attributes.at("d").empty());
  bool title_seen = false;
  for (const xml_element& e : elements) title_seen = title_seen || e.text == "a \"title\" <with> & 'marks'";
  CHECK(title_seen);
}

TEST_CASE("svg_line_plot draws one band per banded series, behind every line, enclosing it", "[analysis][plot]") {
  std::vector<analysis::plot_series> s;
  analysis::add_point(s, "best-of-N", 100, 0.40, 0.35, 0.46);
  analysis::add_point(s, "best-of-N", 1000, 0.55, 0.50, 0.60);
  analysis::add_point(s, "best-of-N", 10000, 0.62, 0.62, 0.70);  // the estimate on the band's edge
  analysis::add_point(s, "beam", 200, 0.45);
  analysis::add_point(s, "beam", 2000, 0.58);
  analysis::add_point(s, "particles", 300, 0.5, 0.2, 0.9);  // one point: a band with no width
  const std::string svg = analysis::svg_line_plot(s, {.y_min = 0.0, .y_max = 1.0});
  const auto elements = parse_xml(svg);
  const auto bands = with_class(elements, "band");
  const auto lines = with_class(elements, "series");
  REQUIRE(lines.size() == 3);
  REQUIRE(bands.size() == 2);
  CHECK(bands[0]->attributes.at("data-series") == "best-of-N");
  CHECK(bands[1]->attributes.at("data-series") == "particles");
  // Behind: every band precedes every line in document order.
  CHECK(std::max(bands[0], bands[1]) < std::min({lines[0], lines[1], lines[2]}));
  // Same colour as its line, translucent.
  CHECK(bands[0]->attributes.at("fill") == lines[0]->attributes.at("stroke"));
  CHECK(std::stod(bands[0]->attributes.at("fill-opacity")) < 0.5);
  CHECK_THAT(bands[0]->attributes.at("d"), Catch::EndsWith(" Z"));

  for (const auto& [band, line] : {std::pair{bands[0], lines[0]}, std::pair{bands[1], lines[2]}}) {
    const auto polygon = vertices(band->attributes.at("d"));
    const auto curve = vertices(line->attributes.at("d"));
    REQUIRE(polygon.size() == 2 * curve.size());
    for (const auto& [x, y] : curve) {
      // The band's extent at this x: its vertices there are y_high and y_low
      // (SVG y grows downwards, so y_high is the smaller pixel y).
      double top = std::numeric_limits<double>::infinity(), bottom = -top;
      for (const auto& [bx, by] : polygon)
        if (bx == x) top = std::min(top, by), bottom = std::max(bottom, by);
      CHECK(top <= y);
      CHECK(y <= bottom);
      CHECK(top < bottom);
    }
  }
  // Exactly the data's interval: at x = 100, y_high 0.46 and y_low 0.35 on a 0..1 axis 380 px tall from y = 40.
  const auto polygon = vertices(bands[0]->attributes.at("d"));
  CHECK(polygon.front().second == Approx(40 + (1 - 0.46) * 380).margin(0.05));
  CHECK(polygon.back().second == Approx(40 + (1 - 0.35) * 380).margin(0.05));
}

TEST_CASE("svg_line_plot draws a fitted series dashed and without markers", "[analysis][plot]") {
  const std::vector<analysis::plot_series> s{
      {"coverage", {1, 4, 16, 64}, {0.3, 0.5, 0.7, 0.8}},
      {"fitted law", {1, 2, 4, 8, 16, 32, 64}, {0.3, 0.4, 0.5, 0.6, 0.7, 0.75, 0.8}, {}, {}, analysis::series_style::fitted, "#1f77b4"}};
  const auto elements = parse_xml(analysis::svg_line_plot(s, {}));
  const auto lines = with_class(elements, "series");
  REQUIRE(lines.size() == 2);
  CHECK(lines[0]->attributes.count("stroke-dasharray") == 0);
  CHECK(lines[1]->attributes.count("stroke-dasharray") == 1);
  CHECK(lines[1]->attributes.at("stroke") == lines[0]->attributes.at("stroke"));  // paired by colour
  CHECK(with_class(elements, "marker").size() == 4);                              // the measured points only
  CHECK(vertices(lines[1]->attributes.at("d")).size() == 7);
}

TEST_CASE("svg_line_plot: measured series past the palette repeat colours dotted", "[analysis][plot]") {
  std::vector<analysis::plot_series> s;
  for (int k = 0; k < 13; ++k) analysis::add_point(s, std::string(1, 's') += std::to_string(k), 1 + k, 0.5);
  const auto elements = parse_xml(analysis::svg_line_plot(s, {}));
  const auto lines = with_class(elements, "series");
  REQUIRE(lines.size() == 13);
  CHECK(lines[12]->attributes.at("stroke") == lines[0]->attributes.at("stroke"));
  CHECK(lines[0]->attributes.count("stroke-dasharray") == 0);
  CHECK(lines[12]->attributes.count("stroke-dasharray") == 1);
}

namespace {
std::vector<std::pair<double, std::string>> x_ticks(const std::vector<xml_element>& elements) {
  std::vector<std::pair<double, std::string>> out;
  for (const xml_element* e : with_class(elements, "x-tick")) out.emplace_back(std::stod(e->attributes.at("x")), e->text);
  return out;
}
}  // namespace

TEST_CASE("svg_line_plot: a log x axis over 1..1e7 has one labelled tick per decade", "[analysis][plot]") {
  const std::vector<analysis::plot_series> s{{"wide", {1, 30, 1e4, 1e7}, {0.1, 0.3, 0.6, 0.9}}};
  const auto elements = parse_xml(analysis::svg_line_plot(s, {}));
  const auto ticks = x_ticks(elements);
  std::vector<std::string> labels;
  for (const auto& t : ticks) labels.push_back(t.second);
  CHECK(labels == std::vector<std::string>{"1", "10", "100", "1000", "10k", "100k", "1M", "10M"});
  // Evenly spaced from the frame's left edge (70) to its right (760 - 190).
  REQUIRE(ticks.size() == 8);
  for (std::size_t i = 0; i < ticks.size(); ++i) CHECK(ticks[i].first == Approx(70 + 500.0 * i / 7).margin(0.05));
  const auto curve = vertices(with_class(elements, "series")[0]->attributes.at("d"));
  CHECK(curve[1].first == Approx(70 + 500 * std::log10(30.0) / 7).margin(0.05));
}

TEST_CASE("svg_line_plot: log x ticks over narrow and very wide ranges", "[analysis][plot]") {
  auto labels_for = [](std::vector<double> x) {
    const std::vector<analysis::plot_series> s{{"s", x, std::vector<double>(x.size(), 0.5)}};
    std::vector<std::string> labels;
    for (const auto& t : x_ticks(parse_xml(analysis::svg_line_plot(s, {})))) labels.push_back(t.second);
    return labels;
  };
  // Two decades: 1-2-5 ticks, exact labels (10^(log10 2 + 3) is not 2000 in floating point).
  CHECK(labels_for({10, 1000}) == std::vector<std::string>{"10", "20", "50", "100", "200", "500", "1000"});
  CHECK(labels_for({1000, 50000}) == std::vector<std::string>{"1000", "2000", "5000", "10k", "20k", "50k"});
  // Fifteen decades: every second power of ten, at most ten ticks.
  CHECK(labels_for({1e-3, 1e12}) == std::vector<std::string>{"0.01", "1", "100", "10k", "1M", "100M", "10G", "1T"});
  // Inside one decade with no 1-2-5 value: the two ends.
  CHECK(labels_for({300, 450}) == std::vector<std::string>{"300", "450"});
  // One point: a decade either side of nothing is still a valid axis.
  CHECK(labels_for({100}).size() >= 2);
}

TEST_CASE("svg_line_plot rejects points it cannot draw", "[analysis][plot][errors]") {
  const std::vector<analysis::plot_series> mismatched{{"a", {1, 2}, {1}}};
  CHECK_THROWS_WITH(analysis::svg_line_plot(mismatched, {}), Catch::Contains("'a' has 2 x values and 1 y values"));
  const std::vector<analysis::plot_series> zero{{"z", {1, 0}, {1, 1}}};
  CHECK_THROWS_AS(analysis::svg_line_plot(zero, {.log_x = true}), invalid_argument);
  CHECK_THROWS_WITH(analysis::svg_line_plot(zero, {}), Catch::Contains("svg_line_plot: series 'z' point 1 (0, 1)") &&
                                                            Catch::Contains("log x axis"));
  const std::vector<analysis::plot_series> negative{{"neg", {-5}, {1}}};
  CHECK_THROWS_WITH(analysis::svg_line_plot(negative, {}), Catch::Contains("'neg' point 0 (-5, 1)"));
  CHECK_NOTHROW(analysis::svg_line_plot(zero, {.log_x = false}));
  const std::vector<analysis::plot_series> nan{{"n", {1}, {std::nan("")}}};
  CHECK_THROWS_AS(analysis::svg_line_plot(nan, {}), invalid_argument);
  const std::vector<analysis::plot_series> inf{{"i", {2, std::numeric_limits<double>::infinity()}, {1, 1}}};
  CHECK_THROWS_WITH(analysis::svg_line_plot(inf, {}), Catch::Contains("'i' point 1 (inf, 1) is not finite"));
  CHECK_NOTHROW(analysis::svg_line_plot({}, {}));
}

TEST_CASE("svg_line_plot rejects bad bands, colours and options", "[analysis][plot][errors]") {
  const std::vector<analysis::plot_series> short_band{{"b", {1, 2}, {0.5, 0.6}, {0.4}, {0.6, 0.7}}};
  CHECK_THROWS_WITH(analysis::svg_line_plot(short_band, {}), Catch::Contains("'b' has 2 points but 1 y_low and 2 y_high"));
  const std::vector<analysis::plot_series> only_low{{"b", {1}, {0.5}, {0.4}, {}}};
  CHECK_THROWS_AS(analysis::svg_line_plot(only_low, {}), invalid_argument);
  const std::vector<analysis::plot_series> inverted{{"b", {1, 2}, {0.5, 0.6}, {0.4, 0.7}, {0.6, 0.5}}};
  CHECK_THROWS_WITH(analysis::svg_line_plot(inverted, {}), Catch::Contains("'b' point 1 (2, 0.6) has interval [0.7, 0.5]"));
  const std::vector<analysis::plot_series> nan_band{{"b", {1}, {0.5}, {std::nan("")}, {0.6}}};
  CHECK_THROWS_AS(analysis::svg_line_plot(nan_band, {}), invalid_argument);
  const std::vector<analysis::plot_series> bad_colour{{"c", {1}, {1}, {}, {}, analysis::series_style::measured, "red\" onload=\"x"}};
  CHECK_THROWS_WITH(analysis::svg_line_plot(bad_colour, {}), Catch::Contains("'c' has colour"));
  CHECK_THROWS_WITH(analysis::svg_line_plot({}, {.y_min = 1.0, .y_max = 0.0}), Catch::Contains("y range [1, 0]"));
  CHECK_THROWS_AS(analysis::svg_line_plot({}, {.y_min = std::nan("")}), invalid_argument);
  CHECK_THROWS_WITH(analysis::svg_line_plot({}, {.width = 200}), Catch::Contains("200x480"));
}

TEST_CASE("add_point keeps a series' band as long as its line", "[analysis][plot][errors]") {
  std::vector<analysis::plot_series> s;
  analysis::add_point(s, "a", 1, 0.5);
  CHECK_THROWS_WITH(analysis::add_point(s, "a", 2, 0.6, 0.5, 0.7), Catch::Contains("'a' already has 1 points"));
  analysis::add_point(s, "b", 1, 0.5, 0.4, 0.6);
  CHECK_THROWS_WITH(analysis::add_point(s, "b", 2, 0.6), Catch::Contains("'b' has intervals"));
  REQUIRE(s.size() == 2);
  CHECK(s[0].x.size() == 1);
  CHECK(s[1].y_high == std::vector<double>{0.6});
}
