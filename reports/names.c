/* reports: string tables for the public enums. */
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
