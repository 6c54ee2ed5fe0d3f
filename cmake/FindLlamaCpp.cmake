# FindLlamaCpp: llama.cpp as fetched by scripts/fetch_llama_cpp.sh (prebuilt
# shared libraries from the npm package @node-llama-cpp/linux-x64, headers and
# vocab files from the git bundle in the npm package node-llama-cpp), for the
# llama.cpp adapter's tests, benchmarks and examples. Used only when
# TTSCALE_WITH_LLAMA_CPP is ON; ttscale::ttscale never depends on it.
#
# Input:
#   TTSCALE_LLAMA_CPP_ROOT   the fetched tree (cache variable); default
#                            $ENV{TTSCALE_CACHE}/llama.cpp-<version>, or
#                            $ENV{HOME}/.cache/ttscale/llama.cpp-<version>, as the script uses
# Defines:
#   ttscale::llama_cpp       IMPORTED INTERFACE target: include dirs of llama.h, ggml.h,
#                            gguf.h, ggml-backend.h; links libllama, libggml, libggml-base
#                            (build-tree RPATH to their folder, so binaries run without
#                            LD_LIBRARY_PATH); compile definitions
#                              TTSCALE_LLAMA_CPP_BACKEND_DIR="<folder of libggml-cpu-*.so>"
#                              (pass to ggml_backend_load_all_from_path() before loading a model)
#                              TTSCALE_LLAMA_CPP_SOURCE_DIR="<the cloned llama.cpp tree>"
#                              TTSCALE_LLAMA_CPP_GGML_VERSION="<GGML_VERSION of that tree>"
#   LlamaCpp_FOUND, LlamaCpp_VERSION (the node-llama-cpp release),
#   LlamaCpp_INCLUDE_DIRS, LlamaCpp_LIBRARIES, LlamaCpp_BACKEND_DIR, LlamaCpp_SOURCE_DIR,
#   LlamaCpp_VOCAB_DIR (models/, holding ggml-vocab-*.gguf)
# A missing or incomplete tree fails a REQUIRED find with the command that fetches it.

set(_ttscale_llama_cpp_version 3.21.1)  # keep in step with scripts/fetch_llama_cpp.sh
if(DEFINED ENV{TTSCALE_CACHE} AND NOT "$ENV{TTSCALE_CACHE}" STREQUAL "")
  set(_ttscale_llama_cpp_default "$ENV{TTSCALE_CACHE}/llama.cpp-${_ttscale_llama_cpp_version}")
else()
  set(_ttscale_llama_cpp_default "$ENV{HOME}/.cache/ttscale/llama.cpp-${_ttscale_llama_cpp_version}")
endif()
set(TTSCALE_LLAMA_CPP_ROOT "${_ttscale_llama_cpp_default}" CACHE PATH
    "llama.cpp fetched by scripts/fetch_llama_cpp.sh (lib/, src/)")

set(_ttscale_llama_cpp_lib "${TTSCALE_LLAMA_CPP_ROOT}/lib")
set(LlamaCpp_SOURCE_DIR "${TTSCALE_LLAMA_CPP_ROOT}/src")
set(LlamaCpp_VOCAB_DIR "${LlamaCpp_SOURCE_DIR}/models")
set(LlamaCpp_BACKEND_DIR "${_ttscale_llama_cpp_lib}")

find_path(LlamaCpp_INCLUDE_DIR llama.h PATHS "${LlamaCpp_SOURCE_DIR}/include" NO_DEFAULT_PATH NO_CACHE)
find_path(LlamaCpp_GGML_INCLUDE_DIR NAMES ggml.h gguf.h ggml-backend.h
          PATHS "${LlamaCpp_SOURCE_DIR}/ggml/include" NO_DEFAULT_PATH NO_CACHE)
# The file names carry the llama.cpp release (libllama.v0.4.0.so); take whichever is there.
file(GLOB _ttscale_llama_cpp_llama "${_ttscale_llama_cpp_lib}/libllama.v*.so")
file(GLOB _ttscale_llama_cpp_ggml "${_ttscale_llama_cpp_lib}/libggml.v*.so")
file(GLOB _ttscale_llama_cpp_cpu "${_ttscale_llama_cpp_lib}/libggml-cpu-*.so")
set(LlamaCpp_LLAMA_LIBRARY "${_ttscale_llama_cpp_llama}")
set(LlamaCpp_GGML_LIBRARY "${_ttscale_llama_cpp_ggml}")
if(EXISTS "${_ttscale_llama_cpp_lib}/libggml-base.so")
  set(LlamaCpp_GGML_BASE_LIBRARY "${_ttscale_llama_cpp_lib}/libggml-base.so")
else()
  set(LlamaCpp_GGML_BASE_LIBRARY "")
endif()
set(LlamaCpp_CPU_BACKENDS "${_ttscale_llama_cpp_cpu}")
# The stamp is written last by the fetch script: without it the tree is incomplete.
set(_ttscale_llama_cpp_stamp "${TTSCALE_LLAMA_CPP_ROOT}/ttscale-llama-cpp.txt")
if(EXISTS "${_ttscale_llama_cpp_stamp}")
  set(LlamaCpp_STAMP "${_ttscale_llama_cpp_stamp}")
  file(STRINGS "${_ttscale_llama_cpp_stamp}" _ttscale_llama_cpp_ggml_version REGEX "^ggml_version=")
  string(REPLACE "ggml_version=" "" LlamaCpp_GGML_VERSION "${_ttscale_llama_cpp_ggml_version}")
else()
  set(LlamaCpp_STAMP "")
endif()

include(FindPackageHandleStandardArgs)
set(LlamaCpp_VERSION "${_ttscale_llama_cpp_version}")
find_package_handle_standard_args(LlamaCpp
  REQUIRED_VARS LlamaCpp_STAMP LlamaCpp_INCLUDE_DIR LlamaCpp_GGML_INCLUDE_DIR LlamaCpp_LLAMA_LIBRARY
                LlamaCpp_GGML_LIBRARY LlamaCpp_GGML_BASE_LIBRARY LlamaCpp_CPU_BACKENDS
  VERSION_VAR LlamaCpp_VERSION
  REASON_FAILURE_MESSAGE
    "no complete llama.cpp tree in TTSCALE_LLAMA_CPP_ROOT=${TTSCALE_LLAMA_CPP_ROOT}. Run `bash scripts/fetch_llama_cpp.sh` (it fetches into $TTSCALE_CACHE, default ~/.cache/ttscale), or set -DTTSCALE_LLAMA_CPP_ROOT=<the folder it printed>, or configure with -DTTSCALE_WITH_LLAMA_CPP=OFF.")

if(LlamaCpp_FOUND AND NOT TARGET ttscale::llama_cpp)
  set(LlamaCpp_INCLUDE_DIRS "${LlamaCpp_INCLUDE_DIR}" "${LlamaCpp_GGML_INCLUDE_DIR}")
  set(LlamaCpp_LIBRARIES "${LlamaCpp_LLAMA_LIBRARY}" "${LlamaCpp_GGML_LIBRARY}" "${LlamaCpp_GGML_BASE_LIBRARY}")
  # One IMPORTED SHARED target per library: CMake then puts their folder in the
  # build-tree RPATH of every executable that links them.
  foreach(_ttscale_part llama ggml ggml_base)
    string(TOUPPER "${_ttscale_part}" _ttscale_upper)
    set(_ttscale_file "${LlamaCpp_${_ttscale_upper}_LIBRARY}")
    get_filename_component(_ttscale_soname "${_ttscale_file}" NAME)
    add_library(ttscale_llama_cpp_${_ttscale_part} SHARED IMPORTED)
    set_target_properties(ttscale_llama_cpp_${_ttscale_part} PROPERTIES
      IMPORTED_LOCATION "${_ttscale_file}" IMPORTED_SONAME "${_ttscale_soname}")
  endforeach()
  add_library(ttscale::llama_cpp INTERFACE IMPORTED)
  # IMPORTED include dirs are SYSTEM: our -Wall -Wextra -Wpedantic -Wshadow stay off llama.h.
  set_target_properties(ttscale::llama_cpp PROPERTIES
    INTERFACE_INCLUDE_DIRECTORIES "${LlamaCpp_INCLUDE_DIRS}"
    INTERFACE_LINK_LIBRARIES "ttscale_llama_cpp_llama;ttscale_llama_cpp_ggml;ttscale_llama_cpp_ggml_base"
    INTERFACE_COMPILE_DEFINITIONS
      "TTSCALE_LLAMA_CPP_BACKEND_DIR=\"${LlamaCpp_BACKEND_DIR}\";TTSCALE_LLAMA_CPP_SOURCE_DIR=\"${LlamaCpp_SOURCE_DIR}\";TTSCALE_LLAMA_CPP_GGML_VERSION=\"${LlamaCpp_GGML_VERSION}\"")
  list(LENGTH LlamaCpp_CPU_BACKENDS _ttscale_n_cpu)
  message(STATUS "ttscale: llama.cpp (node-llama-cpp ${LlamaCpp_VERSION}, ggml ${LlamaCpp_GGML_VERSION}) "
                 "in ${TTSCALE_LLAMA_CPP_ROOT}, ${_ttscale_n_cpu} CPU backend variants")
  unset(_ttscale_part)
  unset(_ttscale_upper)
  unset(_ttscale_file)
  unset(_ttscale_soname)
  unset(_ttscale_n_cpu)
endif()
