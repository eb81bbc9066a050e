/* runner: the uniform answer of a subcommand whose implementation has not
 * landed yet: its --help works, anything else is a clear error, exit 2. */
#include <string.h>

#include "runner.h"
#include "runner-internal.h"

int runner_not_built(const char *cmd, const char *usage, int argc, char **argv)
{
        for (int i = 1; i < argc; i++) {
                if (strcmp(argv[i], "--") == 0)
                        break;
                if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
                        fputs(usage, stdout);
                        return RUNNER_EXIT_OK;
                }
        }
        th_log(TH_LOG_ERROR, "'harness %s' is not available in this build yet", cmd);
        return RUNNER_EXIT_USAGE;
}
