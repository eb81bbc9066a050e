/* runner: `harness rootfs`: build, list, locate and remove the managed
 * Debian trees that fixtures caches. */
#include <getopt.h>
#include <string.h>
#include <time.h>

#include "fixture.h"
#include "runner.h"
#include "runner-internal.h"

static const char usage[] =
        "Usage: harness rootfs build SPEC [--include PKG,...] [--mirror URL]\n"
        "       harness rootfs update SPEC|NAME [--include PKG,...] [--mirror URL]\n"
        "       harness rootfs list [--json]\n"
        "       harness rootfs layers [SPEC|NAME] [--json]\n"
        "       harness rootfs path SPEC|NAME [--include PKG,...] [--mirror URL]\n"
        "       harness rootfs remove SPEC|NAME|LAYER|--all [--include PKG,...] [--mirror URL]\n"
        "\n"
        "Managed Debian trees, built once with mmdebstrap (debootstrap when it is\n"
        "missing) and cached under $HARNESS_CACHE, /var/cache/harness as root, or\n"
        "$XDG_CACHE_HOME/harness. SPEC is DISTRO:RELEASE[:VARIANT], like\n"
        "'debian:bookworm' or 'debian:trixie:apt'; --include and --mirror name\n"
        "the same tree as a suite's mapping form `rootfs: {include: [...],\n"
        "mirror: ...}`. NAME is a name that 'harness rootfs list' shows, LAYER\n"
        "one that 'harness rootfs layers' shows.\n"
        "\n"
        "  build SPEC    build the tree unless it is cached; print its directory\n"
        "  update SPEC   build the tree again and replace the cached one (which\n"
        "                stays until the new one is complete); the package\n"
        "                layers built on the old tree are removed\n"
        "  list          name, spec, size, age and last use of every cached tree\n"
        "  layers [SPEC] the package layers on the tree (default: all layers)\n"
        "  path SPEC     print the tree's directory; exit 1 if it is not built\n"
        "  remove SPEC   delete a cached tree and its package layers\n"
        "  remove LAYER  delete one package layer; its tree stays\n"
        "  remove --all  delete every cached tree and layer\n"
        "\n"
        "Options:\n"
        "  --include L   extra packages (comma-separated) in the tree\n"
        "  --mirror URL  the Debian mirror the tree is built from\n"
        "  --json        (list, layers) one JSON array on stdout\n"
        "  -h, --help    show this help\n";

static void progress_line(const char *line, void *userdata)
{
        (void)userdata;
        th_log(TH_LOG_NOTICE, "%s", line);
}

/* The tail of the log a failed build kept, so the reason is on screen. */
static void print_log_tail(const char *path)
{
        _cleanup_fclose_ FILE *f = fopen(path, "re");
        if (!f)
                return;
        char *lines[20] = {};
        size_t n = 0;
        _cleanup_free_ char *line = NULL;
        size_t cap = 0;
        while (getline(&line, &cap, f) > 0) {
                free(lines[n % ELEMENTSOF(lines)]);
                lines[n % ELEMENTSOF(lines)] = strdup(line);
                n++;
        }
        size_t first = n > ELEMENTSOF(lines) ? n - ELEMENTSOF(lines) : 0;
        /* Package scripts wrote it: escaped, a line at a time. */
        fprintf(stderr, "--- last lines of %s ---\n", runner_safe(path));
        for (size_t i = first; i < n; i++) {
                char *l = lines[i % ELEMENTSOF(lines)];
                if (l)
                        l[strcspn(l, "\n")] = 0;
                fprintf(stderr, "%s\n", l ? runner_safe(l) : "");
        }
        for (size_t i = 0; i < ELEMENTSOF(lines); i++)
                free(lines[i]);
}

static int fail(const ThError *err, int code)
{
        th_log(TH_LOG_ERROR, "%s", err->msg);
        return code;
}

/* SPEC [--include A,B] [--mirror URL], or (with allow_name) a NAME from
 * `harness rootfs list`. argv[0] is the subcommand. Returns 0, or an exit
 * status. */
static int parse_target_full(int argc, char **argv, bool allow_name, bool *json, bool *ret_none,
                             FixtureTreeSpec *ret_spec, char **ret_name)
{
        static const struct option options[] = {
                { "include", required_argument, NULL, 'i' },
                { "mirror", required_argument, NULL, 'm' },
                { "json", no_argument, NULL, 'j' },
                {},
        };
        _cleanup_strv_ char **include = NULL;
        const char *mirror = NULL, *cmd = argv[0];
        ThError err = {};
        int c;

        optind = 0;
        opterr = 0;
        while ((c = getopt_long(argc, argv, ":", options, NULL)) >= 0) {
                switch (c) {
                case 'i': {
                        _cleanup_free_ char *list = strdup(optarg);
                        char *save = NULL;
                        if (!list)
                                return RUNNER_EXIT_INFRA;
                        for (char *p = strtok_r(list, ",", &save); p;
                             p = strtok_r(NULL, ",", &save))
                                if (th_strv_push(&include, p) < 0)
                                        return RUNNER_EXIT_INFRA;
                        break;
                }
                case 'm':
                        mirror = optarg;
                        break;
                case 'j':
                        if (!json)
                                return runner_usage_error("rootfs", "unknown option '--json'");
                        *json = true;
                        break;
                case ':':
                        return runner_usage_error("rootfs", "option '%s' needs an argument",
                                                  argv[optind - 1]);
                default:
                        return runner_usage_error("rootfs", "unknown option '%s'",
                                                  argv[optind - 1]);
                }
        }
        if (ret_none && argc == optind && !include && !mirror) {
                *ret_none = true;
                return 0;
        }
        if (argc - optind != 1)
                return runner_usage_error("rootfs", "'rootfs %s' takes exactly one SPEC", cmd);
        const char *arg = argv[optind];
        if (allow_name && !strchr(arg, ':') && !include && !mirror) {
                *ret_name = strdup(arg);
                return *ret_name ? 0 : RUNNER_EXIT_INFRA;
        }

        FixtureTreeSpec parsed = {};
        if (fixture_tree_spec_parse(arg, &parsed, &err) < 0) {
                th_log(TH_LOG_ERROR, "%s", err.msg);
                return RUNNER_EXIT_USAGE;
        }
        /* Through the suite's mapping form, so both normalize the same way. */
        SuiteRootfs rs = { .distro = parsed.distro,
                           .release = parsed.release,
                           .variant = parsed.variant,
                           .include = include,
                           .mirror = (char *)mirror };
        int r = fixture_tree_spec_from_suite(&rs, ret_spec, &err);
        fixture_tree_spec_done(&parsed);
        if (r < 0) {
                th_log(TH_LOG_ERROR, "%s", err.msg);
                return RUNNER_EXIT_USAGE;
        }
        return 0;
}

static int parse_target(int argc, char **argv, bool allow_name, FixtureTreeSpec *ret_spec,
                        char **ret_name)
{
        return parse_target_full(argc, argv, allow_name, NULL, NULL, ret_spec, ret_name);
}

static int cmd_build(int argc, char **argv)
{
        _cleanup_(fixture_tree_spec_done) FixtureTreeSpec spec = {};
        _cleanup_free_ char *dir = NULL;
        ThError err = {};
        int r = parse_target(argc, argv, /* allow_name= */ false, &spec, NULL);
        if (r != 0)
                return r;
        if (fixture_tree_ensure(&spec, progress_line, NULL, &dir, &err) < 0) {
                _cleanup_free_ char *log = fixture_tree_failed_log(&spec);
                fail(&err, RUNNER_EXIT_INFRA);
                if (log)
                        print_log_tail(log);
                return RUNNER_EXIT_INFRA;
        }
        printf("%s\n", dir);
        return RUNNER_EXIT_OK;
}

/* The spec a built entry was made from, by its name: the manifest's
 * user-facing form, split into words and parsed as the command line would
 * be. Returns 0, or an exit status. */
static int spec_of_name(const char *name, FixtureTreeSpec *ret_spec)
{
        _cleanup_free_ char *dir = NULL;
        ThError err = {};
        if (fixture_tree_lookup_name(name, &dir, &err) < 0)
                return fail(&err, RUNNER_EXIT_FAILED);
        FixtureTreeInfo *a = NULL;
        size_t n = 0;
        if (fixture_tree_list(&a, &n, &err) < 0)
                return fail(&err, RUNNER_EXIT_INFRA);
        _cleanup_free_ char *spec = NULL;
        for (size_t i = 0; i < n; i++)
                if (strcmp(a[i].name, name) == 0 && a[i].spec)
                        spec = strdup(a[i].spec);
        fixture_tree_info_free_array(a, n);
        if (!spec) {
                th_log(TH_LOG_ERROR, "the tree '%s' has no spec in its manifest", name);
                return RUNNER_EXIT_FAILED;
        }
        _cleanup_strv_ char **words = NULL;
        char *save = NULL;
        if (th_strv_push(&words, "update") < 0)
                return RUNNER_EXIT_INFRA;
        for (char *w = strtok_r(spec, " ", &save); w; w = strtok_r(NULL, " ", &save))
                if (th_strv_push(&words, w) < 0)
                        return RUNNER_EXIT_INFRA;
        return parse_target(th_strv_length(words), words, /* allow_name= */ false, ret_spec, NULL);
}

static int cmd_update(int argc, char **argv)
{
        _cleanup_(fixture_tree_spec_done) FixtureTreeSpec spec = {};
        _cleanup_free_ char *dir = NULL, *name = NULL;
        ThError err = {};
        unsigned layers = 0;
        int r = parse_target(argc, argv, /* allow_name= */ true, &spec, &name);
        if (r == 0 && name)
                r = spec_of_name(name, &spec);
        if (r != 0)
                return r;
        if (fixture_tree_update(&spec, progress_line, NULL, &dir, &layers, &err) < 0) {
                _cleanup_free_ char *log = fixture_tree_failed_log(&spec);
                fail(&err, RUNNER_EXIT_INFRA);
                if (log)
                        print_log_tail(log);
                return RUNNER_EXIT_INFRA;
        }
        if (layers > 0)
                th_log(TH_LOG_NOTICE,
                       "removed %u package layer%s of the old tree (built again when "
                       "needed)",
                       layers, layers == 1 ? "" : "s");
        printf("%s\n", dir);
        return RUNNER_EXIT_OK;
}

static void format_age(uint64_t then_usec, char buf[static 32]);

/* What a layer's base is called: the managed tree's entry name, or the
 * directory. */
static const char *base_label(const char *base, char buf[static 256])
{
        _cleanup_free_ char *cache = fixture_cache_dir();
        size_t n = cache ? strlen(cache) : 0, l = strlen(base);
        if (cache && strncmp(base, cache, n) == 0 && strncmp(base + n, "/rootfs/", 8) == 0 &&
            l > n + 8 + 5 && strcmp(base + l - 5, "/tree") == 0 && l - n - 8 - 5 < 256) {
                snprintf(buf, 256, "%.*s", (int)(l - n - 8 - 5), base + n + 8);
                if (!strchr(buf, '/'))
                        return buf;
        }
        return base;
}

static int cmd_layers(int argc, char **argv)
{
        _cleanup_(fixture_tree_spec_done) FixtureTreeSpec spec = {};
        _cleanup_free_ char *dir = NULL, *name = NULL;
        bool json = false, all = false;
        ThError err = {};
        int r = parse_target_full(argc, argv, /* allow_name= */ true, &json, &all, &spec, &name);
        if (r != 0)
                return r;
        if (!all) {
                r = name ? fixture_tree_lookup_name(name, &dir, &err)
                         : fixture_tree_lookup(&spec, &dir, &err);
                if (r < 0)
                        return fail(&err, r == -EINVAL ? RUNNER_EXIT_USAGE : RUNNER_EXIT_FAILED);
        }
        FixtureLayerInfo *a = NULL;
        size_t n = 0;
        if (fixture_layer_list(dir, &a, &n, &err) < 0)
                return fail(&err, RUNNER_EXIT_INFRA);
        if (json) {
                printf("[");
                for (size_t i = 0; i < n; i++) {
                        char label[256];
                        printf("%s\n  {\"name\": ", i ? "," : "");
                        runner_json_string(stdout, a[i].name);
                        printf(", \"tree\": ");
                        runner_json_string(stdout, base_label(a[i].base, label));
                        printf(", \"base\": ");
                        runner_json_string(stdout, a[i].base);
                        printf(", \"packages\": ");
                        runner_json_string(stdout, a[i].packages ? a[i].packages : "");
                        printf(", \"path\": ");
                        runner_json_string(stdout, a[i].path);
                        printf(", \"size\": %llu, \"built_usec\": %llu, \"last_used_usec\": %llu}",
                               (unsigned long long)a[i].size_bytes,
                               (unsigned long long)a[i].built_usec,
                               (unsigned long long)a[i].last_used_usec);
                }
                printf("%s]\n", n ? "\n" : "");
        } else if (n == 0) {
                th_log(TH_LOG_NOTICE, "no package layers%s", all ? "" : " on this tree");
        } else {
                printf("%-20s %8s %10s  %-44s %s\n", "NAME", "SIZE", "LAST USED", "TREE",
                       "PACKAGES");
                for (size_t i = 0; i < n; i++) {
                        char size[16], used[32], label[256];
                        fixture_format_size(a[i].size_bytes, size);
                        format_age(a[i].last_used_usec, used);
                        printf("%-20s %8s %10s  %-44s %s\n", runner_safe(a[i].name), size, used,
                               runner_safe(base_label(a[i].base, label)),
                               runner_safe(a[i].packages ? a[i].packages : ""));
                }
        }
        fixture_layer_info_free_array(a, n);
        return RUNNER_EXIT_OK;
}

static int cmd_path(int argc, char **argv)
{
        _cleanup_(fixture_tree_spec_done) FixtureTreeSpec spec = {};
        _cleanup_free_ char *dir = NULL, *name = NULL;
        ThError err = {};
        int r = parse_target(argc, argv, /* allow_name= */ true, &spec, &name);
        if (r != 0)
                return r;
        r = name ? fixture_tree_lookup_name(name, &dir, &err)
                 : fixture_tree_lookup(&spec, &dir, &err);
        if (r < 0)
                return fail(&err, r == -EINVAL ? RUNNER_EXIT_USAGE : RUNNER_EXIT_FAILED);
        printf("%s\n", dir);
        return RUNNER_EXIT_OK;
}

static int cmd_remove(int argc, char **argv)
{
        ThError err = {};
        if (argc == 2 && strcmp(argv[1], "--all") == 0) {
                int n = fixture_tree_remove_all(&err);
                if (n < 0)
                        return fail(&err, RUNNER_EXIT_INFRA);
                th_log(TH_LOG_NOTICE, "removed %d tree%s", n, n == 1 ? "" : "s");
                return RUNNER_EXIT_OK;
        }
        _cleanup_(fixture_tree_spec_done) FixtureTreeSpec spec = {};
        _cleanup_free_ char *name = NULL;
        int r = parse_target(argc, argv, /* allow_name= */ true, &spec, &name);
        if (r != 0)
                return r;
        if (name && fixture_layer_name_valid(name))
                r = fixture_layer_remove_name(name, &err);
        else
                r = name ? fixture_tree_remove_name(name, &err) : fixture_tree_remove(&spec, &err);
        if (r < 0)
                return fail(&err, r == -ENOENT   ? RUNNER_EXIT_FAILED
                                  : r == -EINVAL ? RUNNER_EXIT_USAGE
                                                 : RUNNER_EXIT_INFRA);
        _cleanup_free_ char *s = name ? NULL : fixture_tree_spec_to_string(&spec);
        th_log(TH_LOG_NOTICE, "removed '%s'", name ? name : s ? s : "?");
        return RUNNER_EXIT_OK;
}

static void format_age(uint64_t then_usec, char buf[static 32])
{
        uint64_t now = th_realtime_usec();
        if (then_usec == 0) {
                snprintf(buf, 32, "never");
                return;
        }
        uint64_t s = now > then_usec ? (now - then_usec) / 1000000u : 0;
        if (s < 120)
                snprintf(buf, 32, "%llus ago", (unsigned long long)s);
        else if (s < 7200)
                snprintf(buf, 32, "%llum ago", (unsigned long long)(s / 60));
        else if (s < 172800)
                snprintf(buf, 32, "%lluh ago", (unsigned long long)(s / 3600));
        else
                snprintf(buf, 32, "%llud ago", (unsigned long long)(s / 86400));
}

static void list_json(const FixtureTreeInfo *a, size_t n)
{
        printf("[");
        for (size_t i = 0; i < n; i++) {
                printf("%s\n  {\"name\": ", i ? "," : "");
                runner_json_string(stdout, a[i].name);
                printf(", \"spec\": ");
                runner_json_string(stdout, a[i].spec);
                printf(", \"path\": ");
                runner_json_string(stdout, a[i].path);
                printf(", \"command\": ");
                runner_json_string(stdout, a[i].tool);
                printf(", \"size\": %llu, \"packages\": %u, \"layers\": %u, "
                       "\"built_usec\": %llu, \"last_used_usec\": %llu}",
                       (unsigned long long)a[i].size_bytes, a[i].n_packages, a[i].n_layers,
                       (unsigned long long)a[i].built_usec,
                       (unsigned long long)a[i].last_used_usec);
        }
        printf("%s]\n", n ? "\n" : "");
}

static int cmd_list(int argc, char **argv)
{
        bool json = false;
        for (int i = 1; i < argc; i++) {
                if (strcmp(argv[i], "--json") == 0)
                        json = true;
                else
                        return runner_usage_error("rootfs", "unexpected argument '%s'", argv[i]);
        }
        FixtureTreeInfo *a = NULL;
        size_t n = 0;
        ThError err = {};
        if (fixture_tree_list(&a, &n, &err) < 0)
                return fail(&err, RUNNER_EXIT_INFRA);
        if (json) {
                list_json(a, n);
        } else if (n == 0) {
                _cleanup_free_ char *cache = fixture_cache_dir();
                th_log(TH_LOG_NOTICE, "no managed trees in '%s'", cache ? cache : "?");
        } else {
                printf("%-44s %-24s %8s %6s %9s %10s\n", "NAME", "SPEC", "SIZE", "PKGS", "AGE",
                       "LAST USED");
                for (size_t i = 0; i < n; i++) {
                        char size[16], age[32], used[32];
                        fixture_format_size(a[i].size_bytes, size);
                        format_age(a[i].built_usec, age);
                        format_age(a[i].last_used_usec, used);
                        printf("%-44s %-24s %8s %6u %9s %10s\n", runner_safe(a[i].name),
                               runner_safe(a[i].spec ? a[i].spec : "?"), size, a[i].n_packages, age,
                               used);
                }
        }
        fixture_tree_info_free_array(a, n);
        return RUNNER_EXIT_OK;
}

int runner_cmd_rootfs(int argc, char **argv)
{
        static const RunnerCommand subs[] = {
                { "build", "build a tree", cmd_build },
                { "update", "build a tree again", cmd_update },
                { "list", "list cached trees", cmd_list },
                { "layers", "list package layers", cmd_layers },
                { "path", "print a tree's directory", cmd_path },
                { "remove", "remove cached trees", cmd_remove },
        };
        for (int i = 1; i < argc; i++)
                if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
                        fputs(usage, stdout);
                        return RUNNER_EXIT_OK;
                }
        if (argc < 2)
                return runner_usage_error("rootfs", "no rootfs command given");
        for (size_t i = 0; i < ELEMENTSOF(subs); i++)
                if (strcmp(argv[1], subs[i].name) == 0)
                        return subs[i].fn(argc - 1, argv + 1);
        return runner_usage_error("rootfs", "unknown rootfs command '%s'", argv[1]);
}
