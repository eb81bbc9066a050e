/* runner: the CLI and the only main(). Argument parsing, planning (filter,
 * shard, order), scheduling (-j N worker processes), timeouts, progress and
 * the exit status. The only module that prints to the user. */
#pragma once

#include "common.h"

/* Exit statuses of `harness` (README, docs/running.md). */
enum {
        RUNNER_EXIT_OK = 0,
        RUNNER_EXIT_FAILED = 1,
        RUNNER_EXIT_USAGE = 2,
        RUNNER_EXIT_INFRA = 3,
        RUNNER_EXIT_INTERRUPTED = 130,
};

/* Each subcommand: argc/argv start at the subcommand's name. Returns the
 * process exit status. */
int runner_cmd_run(int argc, char **argv);
int runner_cmd_check(int argc, char **argv);
int runner_cmd_list(int argc, char **argv);
int runner_cmd_shell(int argc, char **argv);
int runner_cmd_rootfs(int argc, char **argv);
int runner_cmd_merge(int argc, char **argv);
int runner_cmd_ps(int argc, char **argv);
int runner_cmd_enter(int argc, char **argv);
int runner_cmd_stop(int argc, char **argv);
int runner_cmd_pkg(int argc, char **argv);
int runner_cmd_autopkgtest(int argc, char **argv);

int runner_main(int argc, char **argv);
