/* reports: string tables for the public enums and the destructors of the
 * result model (every field is owned by the model). */
#include "report.h"

static const char *const status_names[_REPORT_STATUS_MAX] = {
        [REPORT_PASS] = "pass",
        [REPORT_FAIL] = "fail",
        [REPORT_ERROR] = "error",
        [REPORT_SKIP] = "skip",
};

const char *report_status_to_string(ReportStatus s)
{
        return s >= 0 && s < _REPORT_STATUS_MAX ? status_names[s] : NULL;
}

static const char *const flavor_names[_REPORT_JUNIT_FLAVOR_MAX] = {
        [REPORT_JUNIT_DEFAULT] = "default",
        [REPORT_JUNIT_JENKINS] = "jenkins",
        [REPORT_JUNIT_SUREFIRE] = "surefire",
};

const char *report_junit_flavor_to_string(ReportJunitFlavor f)
{
        return f >= 0 && f < _REPORT_JUNIT_FLAVOR_MAX ? flavor_names[f] : NULL;
}

ReportJunitFlavor report_junit_flavor_from_string(const char *s)
{
        if (th_streq(s, "gitlab"))
                return REPORT_JUNIT_DEFAULT;
        for (int f = 0; f < _REPORT_JUNIT_FLAVOR_MAX; f++)
                if (th_streq(s, flavor_names[f]))
                        return (ReportJunitFlavor)f;
        return _REPORT_JUNIT_FLAVOR_INVALID;
}

void report_case_done(ReportCase *c)
{
        if (!c)
                return;
        free(c->name);
        free(c->classname);
        free(c->file);
        free(c->type);
        free(c->message);
        free(c->details);
        free(c->stdout_path);
        free(c->stderr_path);
        th_strv_free(c->attachments);
        for (size_t i = 0; i < c->n_attempts; i++) {
                free(c->attempts[i].type);
                free(c->attempts[i].message);
                free(c->attempts[i].stdout_path);
                free(c->attempts[i].stderr_path);
        }
        free(c->attempts);
        th_strv_free(c->tags);
        *c = (ReportCase){};
}

void report_suite_done(ReportSuite *s)
{
        if (!s)
                return;
        for (size_t i = 0; s->cases && i < s->n_cases; i++)
                report_case_done(&s->cases[i]);
        free(s->cases);
        free(s->name);
        free(s->file);
        free(s->hostname);
        *s = (ReportSuite){};
}

void report_run_done(ReportRun *run)
{
        if (!run)
                return;
        for (size_t i = 0; i < run->n_suites; i++)
                report_suite_done(&run->suites[i]);
        free(run->suites);
        *run = (ReportRun){};
}
