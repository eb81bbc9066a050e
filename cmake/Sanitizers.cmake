# HARNESS_SANITIZE=ON: ASan + UBSan for every target, aborting on the first
# UBSan report so a test cannot pass over undefined behaviour.
if(HARNESS_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-sanitize-recover=all
                      -fno-omit-frame-pointer)
  add_link_options(-fsanitize=address,undefined)
endif()
