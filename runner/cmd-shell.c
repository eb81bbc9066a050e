/* runner: `harness shell`. */
#include "runner.h"
#include "runner-internal.h"

static const char usage[] = "Usage: harness shell [OPTIONS] ...\n"
                            "\n"
                            "Not available in this build yet.\n";

int runner_cmd_shell(int argc, char **argv)
{
        return runner_not_built("shell", usage, argc, argv);
}
