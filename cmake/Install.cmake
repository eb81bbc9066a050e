# What `cmake --install` puts where: the harness binary (harness-init is
# embedded in it, so there is no helper program to install), the manual
# pages generated from docs/man/*.md with pandoc, the bash completion and
# the documentation.
include(GNUInstallDirs)

find_program(PANDOC_EXECUTABLE pandoc)
set(HARNESS_MAN "AUTO" CACHE STRING "Build the manual pages with pandoc (ON, OFF or AUTO: when pandoc is found)")
set_property(CACHE HARNESS_MAN PROPERTY STRINGS AUTO ON OFF)
if(HARNESS_MAN STREQUAL "AUTO")
  if(PANDOC_EXECUTABLE)
    set(harness_build_man ON)
  else()
    set(harness_build_man OFF)
    message(STATUS "pandoc not found: the manual pages are not built (apt-get install pandoc)")
  endif()
elseif(HARNESS_MAN)
  if(NOT PANDOC_EXECUTABLE)
    message(FATAL_ERROR "HARNESS_MAN=ON needs pandoc (apt-get install pandoc)")
  endif()
  set(harness_build_man ON)
else()
  set(harness_build_man OFF)
endif()

# page: NAME.SECTION; sources: docs/man/NAME.SECTION.md, then extra
# markdown files whose text the page carries (concatenated by pandoc).
function(harness_man_page page)
  set(srcs ${CMAKE_SOURCE_DIR}/docs/man/${page}.md)
  foreach(extra IN LISTS ARGN)
    list(APPEND srcs ${CMAKE_SOURCE_DIR}/${extra})
  endforeach()
  string(REGEX REPLACE "^.*\\.([0-9])$" "\\1" section "${page}")
  set(out ${CMAKE_BINARY_DIR}/man/${page})
  add_custom_command(
    OUTPUT ${out}
    COMMAND ${CMAKE_COMMAND} -E make_directory ${CMAKE_BINARY_DIR}/man
    COMMAND ${PANDOC_EXECUTABLE} --standalone --from markdown --to man
            --metadata "footer=harness ${PROJECT_VERSION}" --output ${out} ${srcs}
    DEPENDS ${srcs}
    COMMENT "Generating the manual page ${page}"
    VERBATIM)
  set_property(GLOBAL APPEND PROPERTY HARNESS_MAN_PAGES ${out})
  install(FILES ${out} DESTINATION ${CMAKE_INSTALL_MANDIR}/man${section})
endfunction()

if(harness_build_man)
  harness_man_page(harness.1)
  harness_man_page(harness-suite.5 docs/suite-format.md)
  get_property(pages GLOBAL PROPERTY HARNESS_MAN_PAGES)
  add_custom_target(man ALL DEPENDS ${pages})
endif()

install(TARGETS harness RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(FILES ${CMAKE_SOURCE_DIR}/data/harness.bash-completion
        DESTINATION ${CMAKE_INSTALL_DATADIR}/bash-completion/completions
        RENAME harness)
install(FILES ${CMAKE_SOURCE_DIR}/README.md DESTINATION ${CMAKE_INSTALL_DOCDIR})
install(DIRECTORY ${CMAKE_SOURCE_DIR}/docs/ DESTINATION ${CMAKE_INSTALL_DOCDIR}
        FILES_MATCHING PATTERN "*.md" PATTERN "man" EXCLUDE)
