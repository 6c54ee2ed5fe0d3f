# ttscale_need(<option> <what is skipped> <package> <label> <Debian package> [...])
#
# Called after find_package(<package> QUIET) for each package a part needs. When
# some are missing it turns <option> off for this configure, with one message
# that names what is missing, what is skipped and the apt-get line that fixes it:
#   ttscale: Catch2 2.13 not found — tests are not built (apt-get install catch2)
# With TTSCALE_REQUIRE_ALL the same message is a fatal error instead.
# A macro, not a function: the caller's scope must see the option turned off.
macro(ttscale_need option skipped)
  set(_ttscale_missing)
  set(_ttscale_debian)
  set(_ttscale_args ${ARGN})
  while(_ttscale_args)
    list(POP_FRONT _ttscale_args _ttscale_package _ttscale_label _ttscale_deb)
    if(NOT ${_ttscale_package}_FOUND)
      list(APPEND _ttscale_missing "${_ttscale_label}")
      list(APPEND _ttscale_debian "${_ttscale_deb}")
    endif()
  endwhile()
  if(_ttscale_missing)
    list(JOIN _ttscale_missing " and " _ttscale_missing)
    list(JOIN _ttscale_debian " " _ttscale_debian)
    set(_ttscale_message
        "ttscale: ${_ttscale_missing} not found — ${skipped} (apt-get install ${_ttscale_debian})")
    if(TTSCALE_REQUIRE_ALL)
      message(FATAL_ERROR "${_ttscale_message}; TTSCALE_REQUIRE_ALL is ON, so this is an error. "
                          "Install the packages (bash scripts/deps.sh --tests installs them all) or configure with -D${option}=OFF.")
    endif()
    # NOTICE goes to stderr: still seen when a script discards configure's stdout.
    message(NOTICE "${_ttscale_message}")
    set(${option} OFF)
  endif()
  foreach(_ttscale_var missing debian args package label deb message)
    unset(_ttscale_${_ttscale_var})
  endforeach()
  unset(_ttscale_var)
endmacro()
