# The scaling_sweep program from the outside (bench/scaling_sweep.cpp):
#  - each bad option exits with status 2 and a message naming it;
#  - a small sweep writes every file it promises, with the columns it promises;
#  - run again on the same folder it resumes: runs nothing new and prints the
#    same summary; other settings on that folder are refused;
#  - --config reads the same options from a file.
# Usage: cmake -DSWEEP=<scaling_sweep> -DOUT=<scratch folder> -P scaling_sweep_cli.cmake
cmake_minimum_required(VERSION 3.20)

function(expect_failure message)
  execute_process(COMMAND ${SWEEP} ${ARGN} --out ${OUT}/bad RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(rc EQUAL 0)
    message(FATAL_ERROR "scaling_sweep ${ARGN} exited 0; expected a failure saying '${message}'")
  endif()
  string(FIND "${err}" "${message}" at)
  if(at EQUAL -1)
    message(FATAL_ERROR "scaling_sweep ${ARGN} exited ${rc} but its message lacks '${message}':\n${err}")
  endif()
endfunction()

expect_failure("--budgets wants a whole number >= 1, got \"0\"" --budgets 1,0)
expect_failure("--budgets wants a whole number >= 1, got \"x\"" --budgets x)
expect_failure("unknown strategy \"beam\"" --strategies best_of_n,beam)
expect_failure("--prm-auc must be in [0.5, 1), got 1.5" --prm-auc 1.5)
expect_failure("--levels wants 1 <= A <= B <= 5, got \"4-2\"" --levels 4-2)
expect_failure("unknown option --frobnicate" --frobnicate 3)
expect_failure("--problems wants a value" --problems)
expect_failure("--cost: unknown count \"flops\"" --cost flops=1)
expect_failure("--cost-model: unknown shape \"gpt-9\"" --cost-model gpt-9)
expect_failure("cannot read the config file" --config ${OUT}/no-such-file)
expect_failure("--difficulty-samples (8) cannot exceed --pool (4)" --pool 4 --difficulty-samples 8)

file(REMOVE_RECURSE ${OUT})
set(small --problems 12 --budgets 1,2,4 --pool 8 --strategies best_of_n,majority_vote,beam_search --out ${OUT}/run)
execute_process(COMMAND ${SWEEP} ${small} RESULT_VARIABLE rc OUTPUT_VARIABLE first ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "the small sweep failed (${rc}):\n${first}\n${err}")
endif()
foreach(f runs.csv pool.csv summary.csv summary.json accuracy_vs_cost.svg coverage.svg settings.txt)
  if(NOT EXISTS ${OUT}/run/${f})
    message(FATAL_ERROR "the small sweep did not write ${f}")
  endif()
endforeach()
file(STRINGS ${OUT}/run/runs.csv runs)
list(LENGTH runs lines)
if(NOT lines EQUAL 109)  # header + 3 strategies x 3 budgets x 12 problems
  message(FATAL_ERROR "runs.csv has ${lines} lines, expected 109")
endif()
file(STRINGS ${OUT}/run/summary.csv summary)
list(GET summary 0 header)
if(NOT header STREQUAL "strategy,n,accuracy,accuracy_low,accuracy_high,tokens,verifier_items,cost,seconds_per_search")
  message(FATAL_ERROR "summary.csv header: ${header}")
endif()
file(READ ${OUT}/run/accuracy_vs_cost.svg svg)
string(REGEX MATCHALL "class=\"series\"" lines_drawn "${svg}")
list(LENGTH lines_drawn n_lines)
if(NOT n_lines EQUAL 3)
  message(FATAL_ERROR "accuracy_vs_cost.svg draws ${n_lines} series, expected 3 (one per strategy)")
endif()

# Resume: nothing left to run, the same tables (timings aside).
execute_process(COMMAND ${SWEEP} ${small} RESULT_VARIABLE rc OUTPUT_VARIABLE second ERROR_VARIABLE err2)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "the resumed sweep failed (${rc}):\n${err2}")
endif()
string(FIND "${err2}" "from an earlier run" at)
if(at EQUAL -1)
  message(FATAL_ERROR "the resumed sweep did not report resuming:\n${err2}")
endif()
file(STRINGS ${OUT}/run/runs.csv runs_again)
list(LENGTH runs_again lines_again)
if(NOT lines_again EQUAL 109)
  message(FATAL_ERROR "the resumed sweep ran again: runs.csv has ${lines_again} lines")
endif()
string(REGEX REPLACE "load average[^\n]*\n" "" first "${first}")
string(REGEX REPLACE "load average[^\n]*\n" "" second "${second}")
string(REGEX REPLACE "\\| +[0-9.]+\n" "|\n" first "${first}")    # the ms/search column
string(REGEX REPLACE "\\| +[0-9.]+\n" "|\n" second "${second}")
if(NOT first STREQUAL second)
  message(FATAL_ERROR "the resumed sweep printed another summary:\n--- first\n${first}\n--- second\n${second}")
endif()

# Other settings on the same folder are refused, not mixed.
execute_process(COMMAND ${SWEEP} ${small} --prm-auc 0.7 RESULT_VARIABLE rc ERROR_VARIABLE err3 OUTPUT_QUIET)
string(FIND "${err3}" "holds results of other settings" at)
if(rc EQUAL 0 OR at EQUAL -1)
  message(FATAL_ERROR "a sweep with other settings on the same folder was not refused (${rc}):\n${err3}")
endif()

# A config file gives the same options.
file(WRITE ${OUT}/sweep.conf "# the small sweep\nproblems = 12\nbudgets = 1,2,4\npool = 8\nstrategies = best_of_n,majority_vote,beam_search\n")
execute_process(COMMAND ${SWEEP} --config ${OUT}/sweep.conf --out ${OUT}/run RESULT_VARIABLE rc OUTPUT_VARIABLE third
                ERROR_VARIABLE err4)
string(REGEX REPLACE "load average[^\n]*\n" "" third "${third}")
string(REGEX REPLACE "\\| +[0-9.]+\n" "|\n" third "${third}")
if(NOT rc EQUAL 0 OR NOT third STREQUAL first)
  message(FATAL_ERROR "the config file did not give the same sweep (${rc}):\n${err4}\n${third}")
endif()
message(STATUS "scaling_sweep: options, files, resume and config file all as expected")
