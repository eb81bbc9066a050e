# libFuzzer targets (cmake -DCMAKE_C_COMPILER=clang -DHARNESS_FUZZ=ON).
#
# harness_fuzz_instrument(LIB...) gives the libraries under test coverage
# instrumentation and the sanitizers; harness_add_fuzzer(NAME SOURCE src
# LIBS lib... SEEDS dir [DICT file]) builds one target and registers the test that runs
# it for 30 s on its seed corpus (label "fuzz", not part of the default run;
# tests/fuzz.sh runs them all).
if(HARNESS_FUZZ AND NOT CMAKE_C_COMPILER_ID MATCHES "Clang")
  message(FATAL_ERROR "HARNESS_FUZZ needs clang: -DCMAKE_C_COMPILER=clang")
endif()

set(HARNESS_FUZZ_SECONDS 30)

function(harness_fuzz_instrument)
  foreach(lib ${ARGN})
    target_compile_options(${lib} PRIVATE -fsanitize=fuzzer-no-link,address,undefined
                                          -fno-sanitize-recover=all -fno-omit-frame-pointer)
  endforeach()
endfunction()

function(harness_add_fuzzer name)
  cmake_parse_arguments(F "" "SOURCE;SEEDS;DICT" "LIBS" ${ARGN})
  add_executable(${name} ${F_SOURCE})
  target_compile_options(${name} PRIVATE -fsanitize=fuzzer,address,undefined)
  target_link_options(${name} PRIVATE -fsanitize=fuzzer,address,undefined)
  target_link_libraries(${name} PRIVATE ${F_LIBS})
  # A module's fuzzers see its internal headers, as its tests do.
  target_include_directories(${name} PRIVATE ${CMAKE_CURRENT_SOURCE_DIR})
  if(BUILD_TESTING)
    add_test(NAME ${name}
             COMMAND ${PROJECT_SOURCE_DIR}/tests/fuzz-run.sh $<TARGET_FILE:${name}> ${F_SEEDS}
                     ${CMAKE_CURRENT_BINARY_DIR}/${name}.work ${HARNESS_FUZZ_SECONDS} ${F_DICT})
    set_tests_properties(${name} PROPERTIES LABELS "fuzz" TIMEOUT 120)
  endif()
endfunction()
