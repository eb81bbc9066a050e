/* runner: `harness merge`. */
#include "runner.h"
#include "runner-internal.h"

static const char usage[] = "Usage: harness merge [OPTIONS] ...\n"
                            "\n"
                            "Not available in this build yet.\n";

int runner_cmd_merge(int argc, char **argv)
{
        return runner_not_built("merge", usage, argc, argv);
}
