# Proves the header-only install path: a user without Catch2, Google Benchmark
# or fmt configures ttscale as the top-level project with its default options,
# gets one message per skipped part, and can still install the headers and the
# package config (no build step). consumer_headers_only_find_package then builds
# a find_package consumer against that prefix. Also proves the opposite: with
# TTSCALE_REQUIRE_ALL (what scripts/test.sh passes) a missing package fails.
#
# cmake -DSOURCE_DIR=<ttscale> -DWORK_DIR=<scratch> -DGENERATOR=<gen>
#       -DCXX_COMPILER=<c++> -P headers-only-install.cmake
foreach(var SOURCE_DIR WORK_DIR GENERATOR CXX_COMPILER)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "headers-only-install.cmake: -D${var}=... is required")
  endif()
endforeach()
set(build "${WORK_DIR}/build")
set(prefix "${WORK_DIR}/prefix")
file(REMOVE_RECURSE "${WORK_DIR}")
set(no_packages -DCMAKE_DISABLE_FIND_PACKAGE_Catch2=ON
                -DCMAKE_DISABLE_FIND_PACKAGE_benchmark=ON
                -DCMAKE_DISABLE_FIND_PACKAGE_fmt=ON)

execute_process(
  COMMAND "${CMAKE_COMMAND}" -S "${SOURCE_DIR}" -B "${build}" -G "${GENERATOR}"
          "-DCMAKE_CXX_COMPILER=${CXX_COMPILER}" ${no_packages}
  RESULT_VARIABLE result OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT result EQUAL 0)
  message(FATAL_ERROR "configure without the packages failed (${result}):\n${out}\n${err}")
endif()
set(log "${out}\n${err}")
foreach(expected
    "ttscale: Catch2 2.13 not found — tests are not built \\(apt-get install catch2\\)"
    "ttscale: Google Benchmark and fmt not found — benchmarks are not built \\(apt-get install libbenchmark-dev libfmt-dev\\)"
    "ttscale: fmt not found — examples are not built \\(apt-get install libfmt-dev\\)")
  string(REGEX MATCHALL "${expected}" hits "${log}")
  list(LENGTH hits count)
  if(NOT count EQUAL 1)
    message(FATAL_ERROR "expected the message \"${expected}\" once, saw it ${count} times:\n${log}")
  endif()
endforeach()

execute_process(COMMAND "${CMAKE_COMMAND}" --install "${build}" --prefix "${prefix}"
                RESULT_VARIABLE result OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT result EQUAL 0)
  message(FATAL_ERROR "install without a build failed (${result}):\n${out}\n${err}")
endif()
file(GLOB_RECURSE source_headers RELATIVE "${SOURCE_DIR}/include" "${SOURCE_DIR}/include/*.hpp")
list(LENGTH source_headers header_count)
if(header_count LESS 2)
  message(FATAL_ERROR "found no headers under ${SOURCE_DIR}/include")
endif()
foreach(file IN LISTS source_headers)
  if(NOT EXISTS "${prefix}/include/${file}")
    message(FATAL_ERROR "not installed: include/${file}")
  endif()
endforeach()
foreach(file ttscale-config.cmake ttscale-config-version.cmake ttscale-targets.cmake)
  if(NOT EXISTS "${prefix}/share/cmake/ttscale/${file}")
    message(FATAL_ERROR "not installed: share/cmake/ttscale/${file}")
  endif()
endforeach()
message(STATUS "installed ${header_count} headers and the package config into ${prefix}")

# The scripts' configure must fail, not skip, when a package is missing.
execute_process(
  COMMAND "${CMAKE_COMMAND}" -S "${SOURCE_DIR}" -B "${WORK_DIR}/require-all" -G "${GENERATOR}"
          "-DCMAKE_CXX_COMPILER=${CXX_COMPILER}" -DTTSCALE_REQUIRE_ALL=ON ${no_packages}
  RESULT_VARIABLE result OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(result EQUAL 0 OR NOT err MATCHES "Catch2 2.13 not found" OR NOT err MATCHES "TTSCALE_REQUIRE_ALL")
  message(FATAL_ERROR "TTSCALE_REQUIRE_ALL=ON did not fail on a missing Catch2 (${result}):\n${out}\n${err}")
endif()
file(REMOVE_RECURSE "${WORK_DIR}/require-all")
