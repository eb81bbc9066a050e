/* runner: `harness run`. */
#include "runner.h"
#include "runner-internal.h"

static const char usage[] = "Usage: harness run [OPTIONS] ...\n"
                            "\n"
                            "Not available in this build yet.\n";

int runner_cmd_run(int argc, char **argv)
{
        return runner_not_built("run", usage, argc, argv);
}
