#include <ttscale/analysis/csv.hpp>

#include <catch2/catch.hpp>

#include <bit>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <limits>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include <unistd.h>

using namespace ttscale;

namespace {

analysis::csv_table parse(const std::string& text) {
  std::istringstream in(text);
  return analysis::read_csv(in);
}

// A file in the temporary directory, removed when the test ends.
class temp_file {
 public:
  temp_file() {
    static int serial = 0;
    path_ = (std::filesystem::temp_directory_path() /
             ("ttscale_csv_test_" + std::to_string(::getpid()) + "_" + std::to_string(serial++) + ".csv"))
                .string();
    std::filesystem::remove(path_);
  }
  ~temp_file() {
    std::error_code ec;
    std::filesystem::remove(path_, ec);
  }
  temp_file(const temp_file&) = delete;
  temp_file& operator=(const temp_file&) = delete;

  const std::string& path() const { return path_; }
  std::string text() const {
    std::ifstream in(path_, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  }
  void write(const std::string& text) const {
    std::ofstream out(path_, std::ios::binary);
    out << text;
  }

 private:
  std::string path_;
};

const std::vector<std::string> awkward{"plain",
                                       "with,comma",
                                       "with \"quotes\" inside",
                                       "\"",
                                       "\"\"",
                                       "",
                                       "line\nbreak",
                                       "crlf\r\ninside",
                                       "lone\rcr",
                                       " spaced ",
                                       "trailing,",
                                       ",leading",
                                       "unicode: é 漢字 ✓ 🎉",
                                       "tab\there"};

}  // namespace

TEST_CASE("csv_field quotes exactly the fields RFC 4180 requires", "[analysis][csv]") {
  CHECK(analysis::csv_field("plain text") == "plain text");
  CHECK(analysis::csv_field("") == "");
  CHECK(analysis::csv_field("a,b") == "\"a,b\"");
  CHECK(analysis::csv_field("say \"hi\"") == "\"say \"\"hi\"\"\"");
  CHECK(analysis::csv_field("a\nb") == "\"a\nb\"");
  CHECK(analysis::csv_field("a\rb") == "\"a\rb\"");
  CHECK(analysis::csv_field("é ✓") == "é ✓");
}

TEST_CASE("csv_writer writes RFC 4180 text", "[analysis][csv]") {
  std::ostringstream out;
  analysis::csv_writer csv(out, {"name", "n", "accuracy"});
  csv.row("beam, wide", 16, 0.625);
  csv.row(std::string("say \"x\""), std::size_t{3}, -0.0);
  const std::vector<std::string> ready{"a", "", "b\nc"};
  csv.row(ready);
  CHECK(csv.rows_written() == 3);
  CHECK(out.str() ==
        "name,n,accuracy\n"
        "\"beam, wide\",16,0.625\n"
        "\"say \"\"x\"\"\",3,-0\n"
        "a,,\"b\nc\"\n");
}

TEST_CASE("csv round-trips awkward fields", "[analysis][csv]") {
  std::ostringstream out;
  // The header is awkward too, and every field appears in every column.
  analysis::csv_writer csv(out, awkward);
  std::vector<std::vector<std::string>> rows;
  for (std::size_t shift = 0; shift < awkward.size(); ++shift) {
    std::vector<std::string> row;
    for (std::size_t i = 0; i < awkward.size(); ++i) row.push_back(awkward[(i + shift) % awkward.size()]);
    csv.row(row);
    rows.push_back(row);
  }
  const analysis::csv_table table = parse(out.str());
  CHECK(table.header == awkward);
  CHECK(table.rows == rows);
}

TEST_CASE("csv round-trips a one-column table with empty fields", "[analysis][csv]") {
  // A lone empty field would be an empty line; the writer quotes it.
  std::ostringstream out;
  analysis::csv_writer csv(out, {""});
  csv.row("");
  csv.row("x");
  csv.row(std::string());
  CHECK(out.str() == "\"\"\n\"\"\nx\n\"\"\n");
  const analysis::csv_table table = parse(out.str());
  CHECK(table.header == std::vector<std::string>{""});
  CHECK(table.rows == std::vector<std::vector<std::string>>{{""}, {"x"}, {""}});
}

TEST_CASE("csv round-trips doubles, floats and integers exactly", "[analysis][csv]") {
  std::vector<double> doubles{0.1,
                              1.0 / 3,
                              -0.0,
                              0.0,
                              1e-300,
                              1.0000000000000002,
                              std::numeric_limits<double>::denorm_min(),
                              std::numeric_limits<double>::min(),
                              std::numeric_limits<double>::max(),
                              std::numeric_limits<double>::lowest(),
                              std::numeric_limits<double>::infinity(),
                              -std::numeric_limits<double>::infinity()};
  std::mt19937_64 rng(20240611);
  while (doubles.size() < 20000) {
    const double d = std::bit_cast<double>(rng());  // every exponent, subnormals included
    if (!std::isnan(d)) doubles.push_back(d);
  }
  std::vector<float> floats{0.1f, -0.0f, std::numeric_limits<float>::denorm_min(), std::numeric_limits<float>::max()};
  while (floats.size() < doubles.size()) {
    const float f = std::bit_cast<float>(static_cast<std::uint32_t>(rng()));
    if (!std::isnan(f)) floats.push_back(f);
  }
  std::ostringstream out;
  analysis::csv_writer csv(out, {"double", "float", "int64", "uint64"});
  for (std::size_t i = 0; i < doubles.size(); ++i)
    csv.row(doubles[i], floats[i], static_cast<std::int64_t>(rng()), rng());
  csv.row(std::nan(""), std::nanf(""), std::numeric_limits<std::int64_t>::min(),
          std::numeric_limits<std::uint64_t>::max());

  const analysis::csv_table table = parse(out.str());
  REQUIRE(table.rows.size() == doubles.size() + 1);
  std::size_t mismatches = 0;
  for (std::size_t i = 0; i < doubles.size(); ++i) {
    const auto& row = table.rows[i];
    mismatches += std::bit_cast<std::uint64_t>(analysis::parse_number(row[0])) != std::bit_cast<std::uint64_t>(doubles[i]);
    mismatches += std::bit_cast<std::uint32_t>(analysis::parse_number<float>(row[1])) != std::bit_cast<std::uint32_t>(floats[i]);
  }
  CHECK(mismatches == 0);
  CHECK(table.rows[0][0] == "0.1");  // shortest form, not 0.10000000000000001
  CHECK(table.rows[1][0] == "0.3333333333333333");
  CHECK(table.rows[2][0] == "-0");
  CHECK(table.rows[0][1] == "0.1");  // a float in its own shortest form, not 0.10000000149011612
  const auto& last = table.rows.back();
  CHECK(std::isnan(analysis::parse_number(last[0])));
  CHECK(std::isnan(analysis::parse_number<float>(last[1])));
  CHECK(analysis::parse_number<std::int64_t>(last[2]) == std::numeric_limits<std::int64_t>::min());
  CHECK(analysis::parse_number<std::uint64_t>(last[3]) == std::numeric_limits<std::uint64_t>::max());
  CHECK(analysis::parse_number(table.rows[10][0]) == std::numeric_limits<double>::infinity());
}

TEST_CASE("read_csv takes CRLF line ends, a byte-order mark and a last line without a break", "[analysis][csv]") {
  const analysis::csv_table t = parse("\xEF\xBB\xBF" "a,b\r\n1,\"x\r\ny\"\r\n2,3");
  CHECK(t.header == std::vector<std::string>{"a", "b"});
  CHECK(t.rows == std::vector<std::vector<std::string>>{{"1", "x\r\ny"}, {"2", "3"}});
  CHECK(parse("a,b\n").rows.empty());
  CHECK(parse("a,b\n,\n").rows == std::vector<std::vector<std::string>>{{"", ""}});
}

TEST_CASE("read_csv names the line of malformed input", "[analysis][csv][errors]") {
  CHECK_THROWS_WITH(parse(""), "read_csv: empty input, no header");
  CHECK_THROWS_WITH(parse("a,b\n1,2\n3\n"), "read_csv: line 3: 1 fields, but the header has 2");
  CHECK_THROWS_WITH(parse("a,b\n1,2,3\n"), "read_csv: line 2: 3 fields, but the header has 2");
  // Lines count the breaks inside quoted fields: the short row starts on line 4.
  CHECK_THROWS_WITH(parse("a,b\n\"x\ny\",2\n3\n"), "read_csv: line 4: 1 fields, but the header has 2");
  CHECK_THROWS_WITH(parse("a,b\n1,\"open\n2,3\n"), "read_csv: line 2: a quoted field is never closed");
  CHECK_THROWS_WITH(parse("a\n\"x\"y\n"), Catch::StartsWith("read_csv: line 2: 'y' after a closing quote"));
  CHECK_THROWS_WITH(parse("a\nx\"y\n"), Catch::StartsWith("read_csv: line 2: a quote inside an unquoted field"));
  CHECK_THROWS_WITH(parse("a\nb\rc\n"), Catch::StartsWith("read_csv: line 2: a carriage return outside quotes"));
  CHECK_THROWS_AS(parse("a,b\n\n"), invalid_argument);  // a blank line is a one-field row
}

TEST_CASE("csv_writer refuses rows that do not fit", "[analysis][csv][errors]") {
  std::ostringstream out;
  analysis::csv_writer csv(out, {"a", "b"});
  CHECK_THROWS_WITH(csv.row(1, 2, 3), "csv_writer::row: 3 fields, but the header has 2");
  CHECK_THROWS_AS(csv.row("only"), invalid_argument);
  CHECK(out.str() == "a,b\n");  // nothing of a refused row is written
  CHECK(csv.rows_written() == 0);
  CHECK_THROWS_WITH(analysis::csv_writer(out, {}), "csv_writer: the header has no columns");
  std::ostringstream broken;
  broken.setstate(std::ios::badbit);
  CHECK_THROWS_AS(analysis::csv_writer(broken, {"a"}), error);
  analysis::csv_writer appending(broken, {"a"}, analysis::csv_append);  // writes nothing yet
  CHECK_THROWS_WITH(appending.row(1), Catch::Contains("the stream failed"));
}

TEST_CASE("parse_number reads whole numbers of the requested type only", "[analysis][csv][errors]") {
  CHECK(analysis::parse_number("1e-300") == 1e-300);
  CHECK(analysis::parse_number<int>("-42") == -42);
  CHECK_THROWS_WITH(analysis::parse_number("abc"), "parse_number: 'abc' is not a floating-point number");
  CHECK_THROWS_AS(analysis::parse_number(""), invalid_argument);
  CHECK_THROWS_AS(analysis::parse_number("1.5x"), invalid_argument);
  CHECK_THROWS_AS(analysis::parse_number(" 1"), invalid_argument);
  CHECK_THROWS_WITH(analysis::parse_number<int>("1.5"), "parse_number: '1.5' is not an integer");
  CHECK_THROWS_WITH(analysis::parse_number<unsigned>("-1"), "parse_number: '-1' is not a non-negative integer");
  CHECK_THROWS_WITH(analysis::parse_number<int>("99999999999"), "parse_number: '99999999999' is not an integer in range");
}

TEST_CASE("csv_writer in append mode adds rows without a second header", "[analysis][csv]") {
  std::ostringstream out;
  out << "a,b\n1,2\n";
  analysis::csv_writer csv(out, {"a", "b"}, analysis::csv_append);
  csv.row(3, "x,y");
  CHECK(out.str() == "a,b\n1,2\n3,\"x,y\"\n");
}

TEST_CASE("resume_csv_file: a sweep interrupted and resumed keeps one header and every row", "[analysis][csv]") {
  const std::vector<std::string> header{"strategy", "n", "accuracy"};
  temp_file file;
  {
    const analysis::resumed_csv first = analysis::resume_csv_file(file.path(), header);  // no file yet: created
    CHECK(first.rows.empty());
    CHECK(file.text() == "strategy,n,accuracy\n");
    std::ofstream out(file.path(), std::ios::app | std::ios::binary);
    analysis::csv_writer csv(out, header, analysis::csv_append);
    csv.row("best-of-N", 4, 0.5);
    csv.row("beam, wide", 16, 0.625);
  }
  const analysis::resumed_csv second = analysis::resume_csv_file(file.path(), header);
  CHECK(second.dropped_bytes == 0);
  CHECK(second.rows == std::vector<std::vector<std::string>>{{"best-of-N", "4", "0.5"}, {"beam, wide", "16", "0.625"}});
  {
    std::ofstream out(file.path(), std::ios::app | std::ios::binary);
    analysis::csv_writer csv(out, header, analysis::csv_append);
    csv.row("vote", 64, 0.75);
  }
  const analysis::csv_table all = analysis::read_csv_file(file.path());
  CHECK(all.header == header);
  CHECK(all.rows.size() == 3);
  CHECK(all.rows[2] == std::vector<std::string>{"vote", "64", "0.75"});
  CHECK(file.text().find("strategy", 1) == std::string::npos);  // the header once
}

TEST_CASE("resume_csv_file cuts off a row interrupted mid-write", "[analysis][csv]") {
  const std::vector<std::string> header{"a", "b"};
  temp_file file;
  SECTION("inside a quoted field") {
    file.write("a,b\n1,2\n3,\"half a fie");
    const analysis::resumed_csv r = analysis::resume_csv_file(file.path(), header);
    CHECK(r.dropped_bytes == 13);
    CHECK(r.rows == std::vector<std::vector<std::string>>{{"1", "2"}});
    CHECK(file.text() == "a,b\n1,2\n");
  }
  SECTION("before the line break: the last number may be truncated") {
    file.write("a,b\n1,2\n3,0.12");
    CHECK(analysis::resume_csv_file(file.path(), header).rows.size() == 1);
    CHECK(file.text() == "a,b\n1,2\n");
  }
  SECTION("between CR and LF") {
    file.write("a,b\r\n1,2\r\n3,4\r");
    CHECK(analysis::resume_csv_file(file.path(), header).rows.size() == 1);
    CHECK(file.text() == "a,b\r\n1,2\r\n");
  }
  SECTION("inside the header: the file starts again") {
    file.write("a,");
    const analysis::resumed_csv r = analysis::resume_csv_file(file.path(), header);
    CHECK(r.rows.empty());
    CHECK(r.dropped_bytes == 2);
    CHECK(file.text() == "a,b\n");
  }
  SECTION("an empty file gets its header") {
    file.write("");
    CHECK(analysis::resume_csv_file(file.path(), header).rows.empty());
    CHECK(file.text() == "a,b\n");
  }
}

TEST_CASE("resume_csv_file refuses another header and malformed rows", "[analysis][csv][errors]") {
  temp_file file;
  file.write("a,c\n1,2\n");
  const std::vector<std::string> header{"a", "b"};
  CHECK_THROWS_WITH(analysis::resume_csv_file(file.path(), header),
                    Catch::Contains("resume_csv_file: '" + file.path() + "' has header 'a,c', not 'a,b'"));
  CHECK(file.text() == "a,c\n1,2\n");  // untouched
  file.write("a,b\n1,2\n3\n4,5\n");
  CHECK_THROWS_WITH(analysis::resume_csv_file(file.path(), header),
                    Catch::Contains("'" + file.path() + "': line 3: 1 fields, but the header has 2"));
  CHECK_THROWS_AS(analysis::resume_csv_file(file.path(), std::vector<std::string>{}), invalid_argument);
  CHECK_THROWS_AS(analysis::read_csv_file(file.path() + ".missing"), error);
}
