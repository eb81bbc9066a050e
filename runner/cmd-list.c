/* runner: `harness list`. */
#include "runner.h"
#include "runner-internal.h"

static const char usage[] = "Usage: harness list [OPTIONS] ...\n"
                            "\n"
                            "Not available in this build yet.\n";

int runner_cmd_list(int argc, char **argv)
{
        return runner_not_built("list", usage, argc, argv);
}
