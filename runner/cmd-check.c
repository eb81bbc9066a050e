/* runner: `harness check`. */
#include "runner.h"
#include "runner-internal.h"

static const char usage[] = "Usage: harness check [OPTIONS] ...\n"
                            "\n"
                            "Not available in this build yet.\n";

int runner_cmd_check(int argc, char **argv)
{
        return runner_not_built("check", usage, argc, argv);
}
