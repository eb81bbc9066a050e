/* The harness-init program (init-main.c), built static, as bytes of
 * th_isolate: isolate copies them into a sealed memfd for the container's
 * PID 1 to execute (spawn.c, isolate_init_fd()). */
        .section .rodata
        .balign 16
        .globl isolate_init_blob
isolate_init_blob:
        .incbin HARNESS_INIT_PATH
        .globl isolate_init_blob_end
isolate_init_blob_end:
        .section .note.GNU-stack,"",@progbits
