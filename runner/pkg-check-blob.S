/* runner/pkg-check.sh, the checks of `harness pkg check`, as bytes of
 * th_runner: cmd-pkg.c writes them next to the suite it generates. */
        .section .rodata
        .globl runner_pkg_check_script
runner_pkg_check_script:
        .incbin HARNESS_PKG_CHECK_PATH
        .globl runner_pkg_check_script_end
runner_pkg_check_script_end:
        .section .note.GNU-stack,"",@progbits
