/* runner: declarations shared by the runner's own files. */
#pragma once

#include <getopt.h>

#include "common.h"

typedef struct RunnerCommand {
        const char *name;
        const char *summary;
        int (*fn)(int argc, char **argv);
} RunnerCommand;

/* Logs "error: MSG" and a "Try 'harness CMD --help'" hint; returns 2. */
int runner_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* For subcommands whose implementation has not landed: parses --help (prints
 * usage, exit 0); anything else is a one-line error and exit 2. */
int runner_not_built(const char *cmd, const char *usage, int argc, char **argv);
