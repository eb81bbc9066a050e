/* runner: `harness rootfs`. */
#include "runner.h"
#include "runner-internal.h"

static const char usage[] = "Usage: harness rootfs [OPTIONS] ...\n"
                            "\n"
                            "Not available in this build yet.\n";

int runner_cmd_rootfs(int argc, char **argv)
{
        return runner_not_built("rootfs", usage, argc, argv);
}
