# One warning set for every target (bubblewrap's list).
set(HARNESS_WARNING_FLAGS
    -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wformat=2
    -Wswitch-enum -Werror=implicit-function-declaration -Wno-unused-parameter
    -fno-strict-aliasing)
if(HARNESS_WERROR)
  list(APPEND HARNESS_WARNING_FLAGS -Werror)
endif()
add_compile_options(${HARNESS_WARNING_FLAGS})
