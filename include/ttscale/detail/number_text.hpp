// ttscale/detail/number_text.hpp: how numbers appear in error messages.
//
// Messages print a double in its shortest round-trip form (std::to_chars with
// no precision: the fewest digits that read back as the same double), so a
// weight of -1e-300 reads "-1e-300" and a uniform of 1.0000000000000002 reads
// "1.0000000000000002" — never std::to_string's fixed six decimals, which
// print both as something they are not ("-0.000000", "1.000000").
#pragma once

#include <ttscale/config.hpp>

#include <charconv>
#include <string>
#include <system_error>

TTSCALE_BEGIN_NAMESPACE
namespace detail {

/// The shortest text that reads back as exactly `x` ("nan", "inf", "-inf" for
/// the special values).
inline std::string number_text(double x) {
  char buffer[32];  // the longest shortest form of a double is 24 characters
  const std::to_chars_result r = std::to_chars(buffer, buffer + sizeof buffer, x);
  return r.ec == std::errc{} ? std::string(buffer, r.ptr) : std::string("?");
}

}  // namespace detail
TTSCALE_END_NAMESPACE
