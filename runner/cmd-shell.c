/* runner: `harness shell`, the nspawn-like front door: one container from a
 * directory, the caller's terminal attached, exit status of the command. */
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>

#include "isolate.h"
#include "runner.h"
#include "runner-internal.h"

static const char usage[] =
        "Usage: harness shell -D DIR [OPTIONS] [--] [CMD [ARG...]]\n"
        "\n"
        "Run a command (default: a shell) in a fresh container made from DIR.\n"
        "\n"
        "Options:\n"
        "  -D, --directory DIR        the root file system\n"
        "  -x, --ephemeral            a pristine overlay; nothing reaches DIR\n"
        "  -b, --boot                 boot systemd; CMD runs as a unit, without CMD a\n"
        "                             console until poweroff\n"
        "      --full-boot            with -b and CMD: boot every unit and generator\n"
        "                             of DIR (default: the light boot, see\n"
        "                             docs/container.md)\n"
        "  -M, --machine NAME         machine and host name (default: DIR's name)\n"
        "      --bind SRC:DST         bind a host path, writable\n"
        "      --bind-ro SRC:DST      bind a host path, read-only\n"
        "      --tmpfs DST            an empty tmpfs at DST\n"
        "      --setenv K=V           set an environment variable\n"
        "  -u, --user USER            run CMD as USER\n"
        "      --chdir DIR            working directory inside the container\n"
        "      --private-users=yes|no root in the container is an unprivileged id range\n"
        "                             (default yes)\n"
        "      --network=none|host|veth  the network (default none: only lo); see\n"
        "                             docs/network.md\n"
        "      --network-veth         the same as --network=veth (systemd-nspawn's name)\n"
        "      --network-group NAME   veth: share a bridge with containers of NAME\n"
        "  -p, --port HOST:CONTAINER  veth: forward tcp 127.0.0.1:HOST to the container\n"
        "  -h, --help                 show this help\n"
        "\n"
        "On a terminal, Ctrl-] three times kills the container.\n"
        "The exit status is the command's (booted without CMD: 0 after a poweroff,\n"
        "also by 'harness stop'); 3 when the container could not be set up or\n"
        "harness is not root.\n";

typedef struct ShellArgs {
        const char *directory;
        bool ephemeral, boot, full_boot, private_users;
        const char *machine, *user, *chdir;
        IsolateBind *binds;
        size_t n_binds;
        char **tmpfs;
        char **env;
        IsolateNetwork network;
        const char *network_group;
        IsolatePort *ports;
        size_t n_ports;
} ShellArgs;

static void shell_args_done(ShellArgs *a)
{
        for (size_t i = 0; i < a->n_binds; i++) {
                free((char *)a->binds[i].source);
                free((char *)a->binds[i].target);
        }
        free(a->binds);
        th_strv_free(a->tmpfs);
        th_strv_free(a->env);
        free(a->ports);
}

static int add_bind(ShellArgs *a, const char *arg, bool writable)
{
        const char *colon = strchr(arg, ':');
        IsolateBind b = { .writable = writable, .source_fd = -1 };
        b.source = colon ? strndup(arg, (size_t)(colon - arg)) : strdup(arg);
        b.target = strdup(colon ? colon + 1 : arg);
        IsolateBind *n = realloc(a->binds, (a->n_binds + 1) * sizeof(*n));
        if (!b.source || !b.target || !n) {
                free((char *)b.source);
                free((char *)b.target);
                if (n)
                        a->binds = n;
                return -ENOMEM;
        }
        a->binds = n;
        a->binds[a->n_binds++] = b;
        return 0;
}

static int parse_args(int argc, char **argv, ShellArgs *a)
{
        enum {
                ARG_BIND = 0x100,
                ARG_BIND_RO,
                ARG_TMPFS,
                ARG_SETENV,
                ARG_CHDIR,
                ARG_USERS,
                ARG_NETWORK,
                ARG_NETWORK_GROUP,
                ARG_NETWORK_VETH,
                ARG_FULL_BOOT,
        };
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "directory", required_argument, NULL, 'D' },
                { "ephemeral", no_argument, NULL, 'x' },
                { "boot", no_argument, NULL, 'b' },
                { "full-boot", no_argument, NULL, ARG_FULL_BOOT },
                { "machine", required_argument, NULL, 'M' },
                { "bind", required_argument, NULL, ARG_BIND },
                { "bind-ro", required_argument, NULL, ARG_BIND_RO },
                { "tmpfs", required_argument, NULL, ARG_TMPFS },
                { "setenv", required_argument, NULL, ARG_SETENV },
                { "user", required_argument, NULL, 'u' },
                { "chdir", required_argument, NULL, ARG_CHDIR },
                { "private-users", required_argument, NULL, ARG_USERS },
                { "network", required_argument, NULL, ARG_NETWORK },
                { "network-group", required_argument, NULL, ARG_NETWORK_GROUP },
                /* systemd-nspawn's spelling of --network=veth. */
                { "network-veth", no_argument, NULL, ARG_NETWORK_VETH },
                { "port", required_argument, NULL, 'p' },
                {},
        };
        int c, r = 0;
        a->private_users = true;
        /* '+': options end at the command. */
        while ((c = getopt_long(argc, argv, "+:hD:xbM:u:p:", options, NULL)) >= 0) {
                switch (c) {
                case 'h':
                        fputs(usage, stdout);
                        return 1;
                case 'D':
                        a->directory = optarg;
                        break;
                case 'x':
                        a->ephemeral = true;
                        break;
                case 'b':
                        a->boot = true;
                        break;
                case ARG_FULL_BOOT:
                        a->full_boot = true;
                        break;
                case 'M':
                        a->machine = optarg;
                        break;
                case 'u':
                        a->user = optarg;
                        break;
                case ARG_CHDIR:
                        if (optarg[0] != '/')
                                return runner_usage_error("shell",
                                                          "--chdir needs an absolute "
                                                          "path, got '%s'",
                                                          optarg);
                        a->chdir = optarg;
                        break;
                case ARG_BIND:
                case ARG_BIND_RO: {
                        const char *colon = strchr(optarg, ':');
                        const char *dst = colon ? colon + 1 : optarg;
                        if (dst[0] != '/' || optarg[0] == ':')
                                return runner_usage_error("shell",
                                                          "invalid bind '%s': want SRC:DST "
                                                          "with an absolute DST",
                                                          optarg);
                        r = add_bind(a, optarg, c == ARG_BIND);
                        break;
                }
                case ARG_TMPFS:
                        if (optarg[0] != '/')
                                return runner_usage_error("shell",
                                                          "--tmpfs needs an absolute "
                                                          "path, got '%s'",
                                                          optarg);
                        r = th_strv_push(&a->tmpfs, optarg);
                        break;
                case ARG_SETENV:
                        if (!strchr(optarg, '=') || optarg[0] == '=')
                                return runner_usage_error("shell", "--setenv wants K=V, got '%s'",
                                                          optarg);
                        r = th_strv_push(&a->env, optarg);
                        break;
                case ARG_USERS:
                        if (strcmp(optarg, "yes") == 0 || strcmp(optarg, "true") == 0)
                                a->private_users = true;
                        else if (strcmp(optarg, "no") == 0 || strcmp(optarg, "false") == 0)
                                a->private_users = false;
                        else
                                return runner_usage_error("shell",
                                                          "--private-users wants yes or no, "
                                                          "got '%s'",
                                                          optarg);
                        break;
                case ARG_NETWORK:
                        a->network = isolate_network_from_string(optarg);
                        if (a->network < 0)
                                return runner_usage_error("shell",
                                                          "--network wants none, host or veth, "
                                                          "got '%s'",
                                                          optarg);
                        break;
                case ARG_NETWORK_VETH:
                        a->network = ISOLATE_NETWORK_VETH;
                        break;
                case ARG_NETWORK_GROUP:
                        a->network_group = optarg;
                        break;
                case 'p': {
                        IsolatePort port, *n;
                        if (isolate_port_parse(optarg, &port) < 0)
                                return runner_usage_error("shell",
                                                          "--port wants HOST:CONTAINER tcp "
                                                          "ports, got '%s'",
                                                          optarg);
                        n = reallocarray(a->ports, a->n_ports + 1, sizeof(*n));
                        if (!n) {
                                r = -ENOMEM;
                                break;
                        }
                        a->ports = n;
                        a->ports[a->n_ports++] = port;
                        break;
                }
                case ':':
                        return runner_usage_error("shell", "option '%s' needs an argument",
                                                  argv[optind - 1]);
                default:
                        return runner_usage_error("shell", "unknown option '%s'", argv[optind - 1]);
                }
                if (r < 0) {
                        th_log(TH_LOG_ERROR, "out of memory");
                        return RUNNER_EXIT_INFRA;
                }
        }
        if (!a->directory)
                return runner_usage_error("shell", "no directory given (-D DIR)");
        if ((a->n_ports > 0 || a->network_group) && a->network != ISOLATE_NETWORK_VETH)
                return runner_usage_error("shell",
                                          "--port and --network-group need --network=veth");
        return 0;
}

/* Copies a finished output file to one of our fds. */
static void replay(const char *path, int to)
{
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        char buf[65536];
        ssize_t n;
        while (fd >= 0 && (n = read(fd, buf, sizeof(buf))) > 0)
                if (th_write_all(to, buf, (size_t)n) < 0)
                        return;
}

static int exit_status_of(const IsolateResult *res, bool boot)
{
        switch (res->status) {
        case ISOLATE_EXITED:
        case ISOLATE_SETUP_FAILED:
                return res->exit_status;
        case ISOLATE_SIGNALED:
                /* The kernel ends the init of a PID namespace that powers
                 * off with SIGINT (reboot(2)): systemd's clean poweroff, by
                 * `harness stop` or from inside, as nspawn reports it: 0. */
                if (boot && res->term_signal == SIGINT)
                        return 0;
                return 128 + res->term_signal;
        case ISOLATE_OOM:
                th_log(TH_LOG_ERROR, "the container ran out of memory");
                return 128 + 9;
        case ISOLATE_TIMEOUT:
                th_log(TH_LOG_ERROR, "the container timed out");
                return 128 + 9;
        case _ISOLATE_STATUS_MAX:
        case _ISOLATE_STATUS_INVALID:
                break;
        }
        return RUNNER_EXIT_INFRA;
}

int runner_cmd_shell(int argc, char **argv)
{
        _cleanup_(shell_args_done) ShellArgs a = {};
        int r = parse_args(argc, argv, &a);
        if (r != 0)
                return r == 1 ? RUNNER_EXIT_OK : r; /* 1: --help; else the usage status */
        if (geteuid() != 0) {
                th_log(TH_LOG_ERROR, "harness shell needs root (it creates namespaces, mounts "
                                     "and cgroups); run it as root, e.g. with sudo");
                return RUNNER_EXIT_INFRA;
        }

        char *default_argv[] = { "/bin/sh", NULL };
        char **cmd = optind < argc ? argv + optind : NULL;
        _cleanup_free_ char *dir_copy = strdup(a.directory);
        if (!dir_copy)
                return RUNNER_EXIT_INFRA;
        /* The host name defaults to the directory's name, as with nspawn. */
        char *trimmed = dir_copy;
        for (size_t n = strlen(trimmed); n > 1 && trimmed[n - 1] == '/'; n--)
                trimmed[n - 1] = 0;

        /* The host's network: the host's resolver too, a read-only copy
         * (runner/resolv.c), unless a bind brings one. */
        char resolv_dir[] = "/tmp/harness-resolv-XXXXXX";
        bool resolv = a.network == ISOLATE_NETWORK_HOST &&
                      !runner_binds_target(a.binds, a.n_binds, "/etc/resolv.conf");
        if (resolv) {
                ThError rerr = {};
                _cleanup_free_ char *bind = NULL;
                if (!mkdtemp(resolv_dir)) {
                        th_log(TH_LOG_ERROR, "cannot create a temporary directory: %m");
                        return RUNNER_EXIT_INFRA;
                }
                _cleanup_free_ char *copy = th_strdup_printf("%s/resolv.conf", resolv_dir);
                if (copy && runner_resolv_conf_copy(copy, &rerr) >= 0)
                        bind = th_strdup_printf("%s:/etc/resolv.conf", copy);
                else if (copy)
                        th_log(TH_LOG_WARNING, "--network=host: no resolver: %s", rerr.msg);
                if (bind && add_bind(&a, bind, /* writable= */ false) < 0) {
                        (void)th_rm_rf(resolv_dir);
                        return RUNNER_EXIT_INFRA;
                }
        }

        IsolateSpec spec = {
                .rootfs = a.directory,
                .ephemeral = a.ephemeral,
                .binds = a.binds,
                .n_binds = a.n_binds,
                .tmpfs = (const char *const *)a.tmpfs,
                .n_tmpfs = th_strv_length(a.tmpfs),
                .machine = a.machine ? a.machine : basename(trimmed),
                .env = a.env,
                .user = a.user,
                .workdir = a.chdir,
                .boot = a.boot,
                .full_boot = a.full_boot,
                .private_users = a.private_users,
                .network = a.network,
                .network_group = a.network_group,
                .ports = a.ports,
                .n_ports = a.n_ports,
                .argv = cmd ? cmd : (a.boot ? NULL : default_argv),
        };

        /* Booting with a command: the unit's output lands in files we replay. */
        char tmpdir[] = "/tmp/harness-shell-XXXXXX";
        bool replay_files = a.boot && cmd;
        if (replay_files) {
                if (!mkdtemp(tmpdir)) {
                        th_log(TH_LOG_ERROR, "cannot create a temporary directory: %m");
                        return RUNNER_EXIT_INFRA;
                }
                spec.output_dir = tmpdir;
        } else
                spec.interactive = true;

        /* Blocked, these stop the container cleanly inside isolate_run(). */
        sigset_t stop, saved;
        sigemptyset(&stop);
        sigaddset(&stop, SIGINT);
        sigaddset(&stop, SIGTERM);
        sigaddset(&stop, SIGHUP);
        sigprocmask(SIG_BLOCK, &stop, &saved);
        IsolateResult res = {};
        ThError err = {};
        r = isolate_run(&spec, &res, &err);
        sigprocmask(SIG_SETMASK, &saved, NULL);
        if (resolv)
                (void)th_rm_rf(resolv_dir);
        /* A failed boot's message names the console and journal files in
         * tmpdir: they stay for the user to read. */
        bool boot_failed = r < 0 && res.boot_failed;
        if (replay_files && !boot_failed) {
                replay(res.stdout_path, STDOUT_FILENO);
                replay(res.stderr_path, STDERR_FILENO);
                (void)th_rm_rf(tmpdir);
        }
        if (r < 0) {
                th_log(TH_LOG_ERROR, "%s", err.msg);
                return RUNNER_EXIT_INFRA;
        }
        if (res.interrupted == SIGKILL) {
                th_log(TH_LOG_NOTICE, "container killed (Ctrl-] three times)");
                return 128 + SIGKILL;
        }
        if (res.interrupted) {
                th_log(TH_LOG_ERROR, "interrupted by SIG%s; the container was stopped",
                       sigabbrev_np(res.interrupted));
                return 128 + res.interrupted;
        }
        if (res.stopped)
                th_log(TH_LOG_NOTICE, "container stopped by 'harness stop'");
        return exit_status_of(&res, a.boot && !cmd);
}
