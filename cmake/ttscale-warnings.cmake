# Warnings for ttscale's own tests, benchmarks and examples. Consumers never see
# these: they apply to our executables only.
function(ttscale_add_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wshadow)
endfunction()
