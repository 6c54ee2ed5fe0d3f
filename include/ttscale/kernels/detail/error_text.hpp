// ttscale/kernels/detail/error_text.hpp: how the kernels name values in error messages.
//
// Users never include this. Numbers are printed in their shortest round-trip form, so a
// message shows the value the caller passed: a weight of -1e-300 reads "-1e-300", a
// uniform of 1 + 2^-52 reads "1.0000000000000002" (std::to_string printed "-0.000000" and
// "1.000000"). Indices and sizes are integers and keep std::to_string.
#pragma once

#include <ttscale/config.hpp>
#include <ttscale/detail/number_text.hpp>

#include <charconv>
#include <cstddef>
#include <string>
#include <system_error>

TTSCALE_BEGIN_NAMESPACE
namespace kernels::detail {

/// "fn: what[i]", the way every kernel names an element of an argument.
inline std::string index_name(const char* fn, const char* what, std::size_t i) {
  return std::string(fn) + ": " + what + "[" + std::to_string(i) + "]";
}

/// A double as ttscale::detail::number_text prints it.
inline std::string value_text(double x) { return ::ttscale::detail::number_text(x); }

/// A float as the shortest text that reads back as that float: "0.1", where the double it
/// widens to would print as "0.10000000149011612", a number the caller never wrote.
inline std::string value_text(float x) {
  char buffer[24];  // the longest shortest form of a float is 15 characters
  const std::to_chars_result r = std::to_chars(buffer, buffer + sizeof buffer, x);
  return r.ec == std::errc{} ? std::string(buffer, r.ptr) : std::string("?");
}

}  // namespace kernels::detail
TTSCALE_END_NAMESPACE
