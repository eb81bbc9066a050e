# One warning set for every target (STYLE.md, bubblewrap's list).
add_compile_options(
  -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wformat=2
  -Wswitch-enum -Werror=implicit-function-declaration -Wno-unused-parameter
  -fno-strict-aliasing)
if(HARNESS_WERROR)
  add_compile_options(-Werror)
endif()
