# harness_add_check_test(NAME SOURCES... LIBS... [PRIVILEGED])
#
# A Check unit-test executable registered with CTest. PRIVILEGED tests need
# root and namespaces; they exit 77 when the kernel or privileges are missing,
# and carry the "privileged" label so `ctest -LE privileged` runs the rest.
# A module's own tests see its internal headers (the directory that calls
# this); everything else sees only the public ones (MODULE/include/).
function(harness_add_check_test name)
  cmake_parse_arguments(T "PRIVILEGED" "" "SOURCES;LIBS" ${ARGN})
  add_executable(${name} ${T_SOURCES})
  target_link_libraries(${name} PRIVATE ${T_LIBS} PkgConfig::CHECK)
  target_include_directories(${name} PRIVATE ${CMAKE_CURRENT_SOURCE_DIR})
  add_test(NAME ${name} COMMAND ${name})
  set_tests_properties(${name} PROPERTIES ENVIRONMENT "CK_DEFAULT_TIMEOUT=60")
  if(T_PRIVILEGED)
    set_tests_properties(${name} PROPERTIES SKIP_RETURN_CODE 77 LABELS "privileged")
  else()
    set_tests_properties(${name} PROPERTIES LABELS "unit")
  endif()
endfunction()
