/* isolate: what the privileged Check tests (real containers) share. */
#pragma once

#include <stdbool.h>

/* Root, and the kernel lets this process make a user and a mount
 * namespace: otherwise the test exits 77 (skipped). */
bool isolate_test_can_run(void);

/* The first 64 KiB of a file as a string ("" when unreadable), in a static
 * buffer the next call overwrites. */
char *isolate_test_read_file(const char *path);
