/* runner: `harness list`: the tests of suites, one line each (or a JSON
 * array for tools), selected like `harness run` selects them: --filter REGEX
 * (on "SUITE/TEST"), --tag (any of them), --shard. */
#include <getopt.h>
#include <regex.h>
#include <string.h>

#include "runner.h"
#include "runner-internal.h"
#include "suite.h"

static const char usage[] =
        "Usage: harness list [OPTIONS] SUITE...\n"
        "\n"
        "List the tests of suite files: SUITE/TEST, then [tags] and (skip: reason).\n"
        "A file named 'control' is read as a debian/tests/control (DEP-8): SOURCE/TEST,\n"
        "its restrictions as [tags], and (skip: reason) when autopkgtest would skip\n"
        "it on this architecture whatever the testbed.\n"
        "\n"
        "Options:\n"
        "  -f, --filter REGEX   only tests whose id SUITE/TEST matches (POSIX ERE)\n"
        "  -t, --tag TAG        only tests with this tag (repeat: any of them)\n"
        "      --shard I/N      only shard I of N, as 'harness run --shard' splits\n"
        "      --json           a JSON array of {id, suite, name, file, line, tags, skip}\n"
        "  -h, --help           show this help\n";

static void print_json(FILE *f, const Suite *s, const TestSpec *t, bool first)
{
        _cleanup_free_ char *id = suite_test_id(s, t);
        fputs(first ? "\n  {\"id\": " : ",\n  {\"id\": ", f);
        runner_json_string(f, id ? id : "");
        fputs(", \"suite\": ", f);
        runner_json_string(f, s->name);
        fputs(", \"name\": ", f);
        runner_json_string(f, t->name);
        fputs(", \"file\": ", f);
        runner_json_string(f, s->path);
        fprintf(f, ", \"line\": %u, \"tags\": [", t->loc.line);
        for (char **p = t->tags; p && *p; p++) {
                if (p != t->tags)
                        fputs(", ", f);
                runner_json_string(f, *p);
        }
        fputs("], \"skip\": ", f);
        if (t->skip)
                runner_json_string(f, t->skip);
        else
                fputs("null", f);
        fputc('}', f);
}

static void print_line(FILE *f, const Suite *s, const TestSpec *t)
{
        /* Everything comes from the suite file: escaped, and one line per
         * test even for a multi-line skip reason. */
        fprintf(f, "%s/%s", runner_safe(s->name), runner_safe(t->name));
        if (t->tags && t->tags[0]) {
                fputs(" [", f);
                for (char **p = t->tags; *p; p++)
                        fprintf(f, "%s%s", p == t->tags ? "" : ",", runner_safe(*p));
                fputc(']', f);
        }
        if (t->skip) {
                _cleanup_free_ char *flat = strdup(t->skip);
                for (char *p = flat; p && *p; p++)
                        if (*p == '\n' || *p == '\t')
                                *p = ' ';
                fprintf(f, " (skip: %s)", runner_safe(flat ? flat : "?"));
        }
        fputc('\n', f);
}

/* A DEP-8 test as a TestSpec for the selection and the printers: its
 * restrictions are its tags, autopkgtest's static skip reason its skip. */
static int dep8_spec(const Dep8Test *t, TestSpec *ret)
{
        *ret = (TestSpec){ .name = t->name, .loc = { t->line, 0 } };
        if (!(ret->tags = calloc(1, sizeof(char *))))
                return -ENOMEM;
        for (unsigned b = 0; b < 32; b++) {
                const char *n = dep8_restriction_to_string(1u << b);
                if ((t->restrictions & (1u << b)) && n && th_strv_push(&ret->tags, n) < 0)
                        return -ENOMEM;
        }
        for (char **p = t->unknown_restrictions; p && *p; p++)
                if (th_strv_push(&ret->tags, *p) < 0)
                        return -ENOMEM;
        return dep8_test_skip_reason(t, runner_dep8_host_arch(), &ret->skip) < 0 ? -ENOMEM : 0;
}

static int list_dep8(const char *path, const RunSelect *sel, bool json, bool *first)
{
        RunnerDep8 d = {};
        int r = runner_dep8_load(path, &d);
        if (r < 0)
                return r;
        Suite s = { .name = (char *)runner_dep8_source(&d), .path = (char *)path };
        for (size_t i = 0; r >= 0 && i < d.tests->n_tests; i++) {
                TestSpec t;
                r = dep8_spec(&d.tests->tests[i], &t);
                if (r >= 0 && runner_test_selected(sel, s.name, &t)) {
                        if (json)
                                print_json(stdout, &s, &t, *first);
                        else
                                print_line(stdout, &s, &t);
                        *first = false;
                }
                th_strv_free(t.tags);
                free(t.skip);
        }
        runner_dep8_done(&d);
        return r;
}

static void suitesp_free(Suite ***v)
{
        for (Suite **p = *v; p && *p; p++)
                suite_free(*p);
        free(*v);
}

int runner_cmd_list(int argc, char **argv)
{
        enum { ARG_JSON = 0x100, ARG_SHARD };
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "filter", required_argument, NULL, 'f' },
                { "tag", required_argument, NULL, 't' },
                { "json", no_argument, NULL, ARG_JSON },
                { "shard", required_argument, NULL, ARG_SHARD },
                {},
        };
        const char *filter = NULL;
        _cleanup_strv_ char **tags = NULL;
        RunShard shard = {};
        bool json = false;
        regex_t re;
        int c, ret = RUNNER_EXIT_OK;

        while ((c = getopt_long(argc, argv, "+hf:t:", options, NULL)) >= 0) {
                switch (c) {
                case 'h':
                        fputs(usage, stdout);
                        return RUNNER_EXIT_OK;
                case 'f':
                        filter = optarg;
                        break;
                case 't':
                        if (th_strv_push(&tags, optarg) < 0)
                                return RUNNER_EXIT_INFRA;
                        break;
                case ARG_SHARD:
                        if (runner_shard_parse(optarg, &shard) < 0)
                                return runner_usage_error(
                                        "list",
                                        "invalid --shard '%s': expected I/N with 1 <= I <= N",
                                        optarg);
                        break;
                case ARG_JSON:
                        json = true;
                        break;
                default:
                        return runner_usage_error("list", "unknown or incomplete option '%s'",
                                                  argv[optind - 1]);
                }
        }
        if (optind >= argc)
                return runner_usage_error("list", "no suite file given");
        if (filter) {
                int e = regcomp(&re, filter, REG_EXTENDED | REG_NOSUB);
                if (e != 0) {
                        char buf[256];
                        regerror(e, &re, buf, sizeof(buf));
                        return runner_usage_error("list", "invalid --filter '%s': %s", filter, buf);
                }
        }

        /* Load everything first: nothing is listed unless every suite is valid. */
        _cleanup_(suitesp_free) Suite **suites = calloc(1, sizeof(Suite *));
        size_t n_suites = 0;
        if (!suites)
                ret = RUNNER_EXIT_INFRA;
        for (int i = optind; suites && i < argc; i++) {
                if (runner_is_dep8_control(argv[i])) {
                        /* Checked now, loaded again when listed. */
                        RunnerDep8 d = {};
                        if (runner_dep8_load(argv[i], &d) < 0)
                                ret = RUNNER_EXIT_USAGE;
                        runner_dep8_done(&d);
                        continue;
                }
                SuiteDiags diags = {};
                int r = runner_load_suite_file(argv[i], &suites, &n_suites, &diags);
                if (r < 0) {
                        runner_print_suite_diags(argv[i], r, &diags);
                        ret = RUNNER_EXIT_USAGE;
                }
                suite_diags_done(&diags);
        }
        /* The same selection as `harness run`. */
        RunSelect sel = { .filter = filter ? &re : NULL, .tags = tags, .shard = shard };
        if (ret == RUNNER_EXIT_OK) {
                bool first = true;
                if (json)
                        fputc('[', stdout);
                for (int i = optind; i < argc; i++)
                        if (runner_is_dep8_control(argv[i]) &&
                            list_dep8(argv[i], &sel, json, &first) < 0)
                                ret = RUNNER_EXIT_USAGE;
                for (Suite **s = suites; *s; s++)
                        for (size_t i = 0; i < (*s)->n_tests; i++) {
                                const TestSpec *t = &(*s)->tests[i];
                                if (!runner_test_selected(&sel, (*s)->name, t))
                                        continue;
                                if (json)
                                        print_json(stdout, *s, t, first);
                                else
                                        print_line(stdout, *s, t);
                                first = false;
                        }
                if (json)
                        fputs(first ? "]\n" : "\n]\n", stdout);
        }
        if (filter)
                regfree(&re);
        fflush(stdout);
        return ret;
}
