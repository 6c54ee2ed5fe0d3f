// ttscale/analysis/csv.hpp: CSV tables that round-trip, and resuming a file an
// interrupted run left behind.
//
// Follows RFC 4180 (Shafranovich 2005): a field holding a comma, a double
// quote, CR or LF is quoted, with its quotes doubled; every other field is
// written as is (UTF-8 passes through untouched). Rows end in LF; the reader
// takes LF or CRLF, skips a UTF-8 byte-order mark, and is strict otherwise
// (every row as wide as the header, no stray quotes), so what it accepts reads
// back exactly as it was written. Numbers are written in their shortest
// round-trip form (std::to_chars; ttscale::detail::number_text for doubles),
// so parse_number gives back the very same double.
//
// A sweep that may be interrupted writes one row per finished configuration
// and flushes; on restart, resume_csv_file returns the rows already finished
// (dropping a last row cut off mid-write) and leaves the file ready to append:
//
//     const std::vector<std::string> header{"strategy", "n", "accuracy"};
//     const auto done = analysis::resume_csv_file("sweep.csv", header);  // skip these configurations
//     std::ofstream file("sweep.csv", std::ios::app | std::ios::binary);
//     analysis::csv_writer csv(file, header, analysis::csv_append);     // no second header
//     csv.row("beam", 16, 0.625);
//     file.flush();
//
// O(size of the table) time and memory for reading; writing is O(row).
#pragma once

#include <ttscale/config.hpp>
#include <ttscale/detail/number_text.hpp>
#include <ttscale/errors.hpp>

#include <algorithm>
#include <charconv>
#include <concepts>
#include <cstddef>
#include <filesystem>
#include <fstream>
#include <istream>
#include <iterator>
#include <ostream>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <utility>
#include <vector>

TTSCALE_BEGIN_NAMESPACE
namespace analysis {

/// A CSV file's content: its first record, then every other record.
struct csv_table {
  std::vector<std::string> header{};
  std::vector<std::vector<std::string>> rows{};
};

/// Tag: the stream already holds the header (a file being appended to), so
/// csv_writer must not write it again.
struct csv_append_t {
  explicit csv_append_t() = default;
};
inline constexpr csv_append_t csv_append{};

/// A field given as text: std::string, std::string_view, const char*.
template <class T>
concept csv_text_value = std::convertible_to<const T&, std::string_view>;

/// A character type: written as a number it would surprise ('A' as "65").
template <class T>
concept character_type = std::same_as<T, char> || std::same_as<T, wchar_t> || std::same_as<T, char8_t> ||
                         std::same_as<T, char16_t> || std::same_as<T, char32_t>;

/// A field given as a number: any arithmetic type but bool and the character
/// types (which have no single obvious text; write them as text).
template <class T>
concept csv_number_value = std::is_arithmetic_v<T> && !std::same_as<T, bool> && !character_type<T>;

template <class T>
concept csv_value = csv_text_value<T> || csv_number_value<T>;

/// The text of a value before quoting: text as is, a number in its shortest
/// round-trip form ("0.1", "1e+300", "-0", "inf", "nan", "42").
template <csv_value T>
[[nodiscard]] std::string csv_text(const T& value) {
  if constexpr (csv_text_value<T>) {
    return std::string(std::string_view(value));
  } else if constexpr (std::same_as<T, double>) {
    return ttscale::detail::number_text(value);
  } else {
    char buffer[64];  // the longest shortest form of a long double is under 50 characters
    const std::to_chars_result r = std::to_chars(buffer, buffer + sizeof buffer, value);
    return std::string(buffer, r.ptr);
  }
}

/// A field as it appears in a CSV line: quoted, with its quotes doubled, if
/// it holds a comma, a double quote, CR or LF; else unchanged.
[[nodiscard]] inline std::string csv_field(std::string_view text) {
  if (text.find_first_of(",\"\r\n") == std::string_view::npos) return std::string(text);
  std::string out = "\"";
  for (char c : text) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

/// Writes a header and rows to a stream. Not thread-safe: give it one writer
/// thread (or a mutex). It does not flush; flush after a row you cannot
/// afford to lose.
class csv_writer {
 public:
  /// Writes `header` as the first line. Throws invalid_argument for an empty
  /// header, ttscale::error if the stream fails.
  csv_writer(std::ostream& out, std::vector<std::string> header) : csv_writer(out, std::move(header), csv_append) {
    write_line(header_, "csv_writer");
  }

  /// Appends to a stream that already holds this header (see
  /// resume_csv_file): writes no header; rows are still checked against its
  /// width. Throws invalid_argument for an empty header.
  csv_writer(std::ostream& out, std::vector<std::string> header, csv_append_t) : out_(&out), header_(std::move(header)) {
    if (header_.empty()) throw invalid_argument("csv_writer: the header has no columns");
  }

  /// Writes one row: each value text or a number, as many as the header has
  /// columns. Throws invalid_argument (writing nothing) for another count,
  /// ttscale::error if the stream fails.
  template <csv_value... Values>
  void row(const Values&... values) {
    const std::vector<std::string> fields{csv_text(values)...};
    row(std::span<const std::string>(fields));
  }

  // Anything else (but a row of ready fields): a message that says what to do.
  template <class... Values>
    requires(!(csv_value<Values> && ...) &&
             !(sizeof...(Values) == 1 && (std::convertible_to<const Values&, std::span<const std::string>> && ...)))
  void row(const Values&...) {
    static_assert(sizeof...(Values) == 0 && sizeof...(Values) != 0,
                  "csv_writer::row: each field must be text (std::string, std::string_view, const char*) or a "
                  "number other than bool and char; write a bool as 0/1 or as \"true\"/\"false\" text");
  }

  /// Writes one row of already formatted fields (e.g. built in a loop).
  void row(std::span<const std::string> fields) {
    if (fields.size() != header_.size())
      throw invalid_argument("csv_writer::row: " + std::to_string(fields.size()) + " fields, but the header has " +
                             std::to_string(header_.size()));
    write_line(fields, "csv_writer::row");
    ++rows_;
  }

  [[nodiscard]] const std::vector<std::string>& header() const noexcept { return header_; }
  /// Rows written by this writer (not counting rows the stream held before).
  [[nodiscard]] std::size_t rows_written() const noexcept { return rows_; }

 private:
  void write_line(std::span<const std::string> fields, const char* who) {
    std::string line;
    // A lone empty field would be an empty line, which readers (Python's
    // csv, pandas) skip: quote it so the row survives.
    if (fields.size() == 1 && fields[0].empty()) line = "\"\"";
    for (std::size_t i = 0; i < fields.size(); ++i) {
      if (i) line += ',';
      line += csv_field(fields[i]);
    }
    line += '\n';
    *out_ << line;
    if (!*out_) throw error(std::string(who) + ": the stream failed while writing line " + std::to_string(rows_ + 1));
  }

  std::ostream* out_;
  std::vector<std::string> header_;
  std::size_t rows_ = 0;
};

namespace detail {

struct csv_records {
  std::vector<std::vector<std::string>> records;
  std::vector<std::size_t> lines;  // the line each record starts on, from 1
  std::size_t complete_end = 0;    // offset just past the last record ended by a line break
};

/// Splits `text` into records. With `drop_partial_tail`, a last record with
/// no line break after it (or inside an unclosed quote) is left out instead
/// of being taken as it is or reported: it may have been cut off mid-write.
inline csv_records parse_csv(std::string_view text, const std::string& who, bool drop_partial_tail) {
  csv_records out;
  std::size_t pos = text.starts_with("\xEF\xBB\xBF") ? 3 : 0, line = 1;
  out.complete_end = pos;
  auto fail = [&](std::size_t at_line, const std::string& what) -> invalid_argument {
    return invalid_argument(who + ": line " + std::to_string(at_line) + ": " + what);
  };
  while (pos < text.size()) {
    const std::size_t record_line = line;
    std::vector<std::string> fields;
    for (;;) {
      std::string field;
      if (pos < text.size() && text[pos] == '"') {
        const std::size_t quote_line = line;
        for (++pos;; ++pos) {
          if (pos >= text.size()) {
            if (drop_partial_tail) return out;
            throw fail(quote_line, "a quoted field is never closed");
          }
          if (text[pos] == '"') {
            if (pos + 1 < text.size() && text[pos + 1] == '"') field += text[++pos];
            else break;
          } else {
            line += text[pos] == '\n';
            field += text[pos];
          }
        }
        ++pos;  // past the closing quote
        if (pos < text.size() && text[pos] != ',' && text[pos] != '\n' && text[pos] != '\r')
          throw fail(line, std::string("'") + text[pos] + "' after a closing quote (a quote inside a field is written \"\")");
      } else {
        const std::size_t end = std::min(text.find_first_of(",\r\n\"", pos), text.size());
        if (end < text.size() && text[end] == '"')
          throw fail(line, "a quote inside an unquoted field (quote the field and double the quote)");
        field.assign(text.substr(pos, end - pos));
        pos = end;
      }
      fields.push_back(std::move(field));
      if (pos < text.size() && text[pos] == ',') {
        ++pos;
        continue;
      }
      break;
    }
    // Now at LF, CRLF, a lone CR at the very end (a CRLF cut in half), or the end.
    bool terminated = false;
    if (pos < text.size() && text[pos] == '\n') {
      ++pos, ++line, terminated = true;
    } else if (pos < text.size()) {  // '\r'
      if (pos + 1 < text.size() && text[pos + 1] != '\n')
        throw fail(line, "a carriage return outside quotes and not before a line feed");
      terminated = pos + 1 < text.size();
      pos += terminated ? 2 : 1;
      line += terminated;
    }
    if (!terminated && drop_partial_tail) return out;
    out.records.push_back(std::move(fields));
    out.lines.push_back(record_line);
    if (terminated) out.complete_end = pos;
  }
  return out;
}

inline csv_table to_table(csv_records&& parsed, const std::string& who) {
  if (parsed.records.empty()) throw invalid_argument(who + ": empty input, no header");
  csv_table table{std::move(parsed.records.front()), {}};
  for (std::size_t r = 1; r < parsed.records.size(); ++r) {
    if (parsed.records[r].size() != table.header.size())
      throw invalid_argument(who + ": line " + std::to_string(parsed.lines[r]) + ": " +
                             std::to_string(parsed.records[r].size()) + " fields, but the header has " +
                             std::to_string(table.header.size()));
    table.rows.push_back(std::move(parsed.records[r]));
  }
  return table;
}

inline std::string joined(std::span<const std::string> fields) {
  std::string s;
  for (std::size_t i = 0; i < fields.size(); ++i) {
    if (i) s += ',';
    s += csv_field(fields[i]);
  }
  return s;
}

inline std::string read_whole_file(const std::string& path, const char* who) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw error(std::string(who) + ": cannot open '" + path + "'");
  std::string text{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  if (in.bad()) throw error(std::string(who) + ": cannot read '" + path + "'");
  return text;
}

}  // namespace detail

/// Reads a whole CSV stream: the first record is the header. Throws
/// invalid_argument naming the line (counting from 1, line breaks inside
/// quoted fields included) for empty input, a quoted field never closed, a
/// character after a closing quote, a quote inside an unquoted field, a CR
/// outside quotes not before LF, or a row whose width differs from the
/// header's; ttscale::error if the stream fails.
[[nodiscard]] inline csv_table read_csv(std::istream& in) {
  const std::string text{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  if (in.bad()) throw error("read_csv: the stream failed");
  return detail::to_table(detail::parse_csv(text, "read_csv", false), "read_csv");
}

/// read_csv of the file at `path`; errors name the file. Throws
/// ttscale::error if it cannot be opened.
[[nodiscard]] inline csv_table read_csv_file(const std::string& path) {
  const std::string who = "read_csv_file: '" + path + "'";
  return detail::to_table(detail::parse_csv(detail::read_whole_file(path, "read_csv_file"), who, false), who);
}

struct resumed_csv {
  std::vector<std::vector<std::string>> rows{};  ///< the complete rows already in the file
  std::size_t dropped_bytes = 0;                 ///< a cut-off last row removed from the file (0: none)
};

/// Prepares the CSV file at `path` for appending rows under `header`, and
/// returns the rows it already holds:
/// - no file, or no complete line in it: (re)creates it holding the header;
/// - else its header must equal `header`, and every complete row must be as
///   wide; a last row with no line break after it is cut off from the file
///   (csv_writer ends every row with one, so such a row was interrupted
///   mid-write and may hold a truncated number: the run redoes it).
/// Then open the file for appending and write with csv_writer(..., csv_append).
/// Throws invalid_argument for another header or a malformed row (naming the
/// file and line), ttscale::error if the file cannot be read or written.
[[nodiscard]] inline resumed_csv resume_csv_file(const std::string& path, std::span<const std::string> header) {
  const std::string who = "resume_csv_file: '" + path + "'";
  if (header.empty()) throw invalid_argument(who + ": the header has no columns");
  std::error_code ec;
  const bool exists = std::filesystem::exists(path, ec);
  if (ec) throw error(who + ": " + ec.message());
  std::string text = exists ? detail::read_whole_file(path, "resume_csv_file") : std::string();
  detail::csv_records parsed = detail::parse_csv(text, who, true);
  if (parsed.records.empty()) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    csv_writer(out, std::vector<std::string>(header.begin(), header.end()));
    out.close();
    if (!out) throw error(who + ": cannot write the header");
    return {{}, text.size()};
  }
  const std::vector<std::string>& found = parsed.records.front();
  if (!std::equal(found.begin(), found.end(), header.begin(), header.end()))
    throw invalid_argument(who + " has header '" + detail::joined(found) + "', not '" + detail::joined(header) +
                           "' (another sweep's file? use another output folder)");
  const std::size_t complete_end = parsed.complete_end;
  resumed_csv out{detail::to_table(std::move(parsed), who).rows, text.size() - complete_end};
  if (out.dropped_bytes > 0) {
    std::filesystem::resize_file(path, complete_end, ec);
    if (ec) throw error(who + ": cannot cut off the unfinished last row: " + ec.message());
  }
  return out;
}

/// The number a CSV field holds, of type T (double by default): the inverse of
/// csv_text, exact for every finite double, ±inf and nan. The whole field
/// must be the number (no spaces, no '+'). Throws invalid_argument naming the
/// text otherwise, or if it is out of T's range.
template <csv_number_value T = double>
[[nodiscard]] T parse_number(std::string_view text) {
  T value{};
  const std::from_chars_result r = std::from_chars(text.data(), text.data() + text.size(), value);
  if (r.ec != std::errc{} || r.ptr != text.data() + text.size() || text.empty())
    throw invalid_argument("parse_number: '" + std::string(text) + "' is not " +
                           (std::is_floating_point_v<T> ? "a floating-point number"
                            : std::is_signed_v<T>       ? "an integer"
                                                        : "a non-negative integer") +
                           (r.ec == std::errc::result_out_of_range ? " in range" : ""));
  return value;
}

}  // namespace analysis
TTSCALE_END_NAMESPACE
