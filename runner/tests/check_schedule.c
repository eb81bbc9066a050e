/* Unit tests of the worker pool: every item runs once, retries get the next
 * attempt number, --fail-fast stops scheduling, a crashed worker becomes an
 * error, and SIGINT stops the run with the workers gone. The work functions
 * run in forked workers and never start a container. */
#include <check.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>

#include "runner.h"
#include "runner-internal.h"

#define N_ITEMS 10

static unsigned runs[N_ITEMS][4];
static unsigned finished_count;
static ReportStatus last_status[N_ITEMS];
static char last_message[N_ITEMS][RUN_MESSAGE_MAX];

static void reset(void)
{
        memset(runs, 0, sizeof(runs));
        memset(last_status, 0, sizeof(last_status));
        memset(last_message, 0, sizeof(last_message));
        finished_count = 0;
}

static void work_pass(void *ud, size_t item, unsigned attempt, RunTryRecord *ret)
{
        (void)ud;
        ret->outcome.status = REPORT_PASS;
        snprintf(ret->outcome.message, sizeof(ret->outcome.message), "item %zu try %u pid %d", item,
                 attempt, (int)getpid());
}

static RunNext finished_record(void *ud, size_t item, unsigned attempt, const RunTryRecord *rec,
                               uint64_t wall)
{
        (void)ud;
        (void)wall;
        ck_assert_uint_lt(item, N_ITEMS);
        ck_assert_uint_lt(attempt, 4);
        runs[item][attempt]++;
        finished_count++;
        last_status[item] = rec->outcome.status;
        snprintf(last_message[item], sizeof(last_message[item]), "%s", rec->outcome.message);
        return RUN_NEXT_DONE;
}

START_TEST(test_schedule_pool__every_item_once_in_a_worker)
{
        RunPoolOps ops = { .work = work_pass, .finished = finished_record };
        ThError err = { 0 };
        int sig = -1;

        reset();
        bool had_stdin = fcntl(STDIN_FILENO, F_GETFD) >= 0;
        ck_assert_int_eq(runner_pool_run(N_ITEMS, 3, &ops, NULL, &sig, &err), 0);
        /* the pool closes only its own fds (a calloc'ed 0 is not one) */
        ck_assert_int_eq(fcntl(STDIN_FILENO, F_GETFD) >= 0, had_stdin);
        ck_assert_int_eq(sig, 0);
        ck_assert_uint_eq(finished_count, N_ITEMS);
        for (size_t i = 0; i < N_ITEMS; i++) {
                ck_assert_uint_eq(runs[i][1], 1);
                ck_assert_int_eq(last_status[i], REPORT_PASS);
                /* ran in another process */
                char self[32];
                snprintf(self, sizeof(self), "pid %d", (int)getpid());
                ck_assert_ptr_null(strstr(last_message[i], self));
        }
}
END_TEST

static void work_fail_first(void *ud, size_t item, unsigned attempt, RunTryRecord *ret)
{
        (void)ud;
        ret->outcome.status = (item % 2 == 0 && attempt == 1) ? REPORT_FAIL : REPORT_PASS;
}

static RunNext finished_retry(void *ud, size_t item, unsigned attempt, const RunTryRecord *rec,
                              uint64_t wall)
{
        finished_record(ud, item, attempt, rec, wall);
        return rec->outcome.status == REPORT_FAIL && attempt < 3 ? RUN_NEXT_RETRY : RUN_NEXT_DONE;
}

START_TEST(test_schedule_pool__retry_gets_next_attempt)
{
        RunPoolOps ops = { .work = work_fail_first, .finished = finished_retry };
        ThError err = { 0 };

        reset();
        ck_assert_int_eq(runner_pool_run(N_ITEMS, 2, &ops, NULL, NULL, &err), 0);
        for (size_t i = 0; i < N_ITEMS; i++) {
                ck_assert_uint_eq(runs[i][1], 1);
                ck_assert_uint_eq(runs[i][2], i % 2 == 0 ? 1 : 0);
                ck_assert_uint_eq(runs[i][3], 0);
                ck_assert_int_eq(last_status[i], REPORT_PASS);
        }
}
END_TEST

static RunNext finished_stop(void *ud, size_t item, unsigned attempt, const RunTryRecord *rec,
                             uint64_t wall)
{
        finished_record(ud, item, attempt, rec, wall);
        return item == 2 ? RUN_NEXT_STOP : RUN_NEXT_DONE;
}

START_TEST(test_schedule_pool__stop_schedules_nothing_new)
{
        RunPoolOps ops = { .work = work_pass, .finished = finished_stop };
        ThError err = { 0 };

        reset();
        ck_assert_int_eq(runner_pool_run(N_ITEMS, 1, &ops, NULL, NULL, &err), 0);
        ck_assert_uint_eq(finished_count, 3);
        ck_assert_uint_eq(runs[3][1], 0);
}
END_TEST

static void work_crash(void *ud, size_t item, unsigned attempt, RunTryRecord *ret)
{
        (void)ud;
        (void)attempt;
        if (item == 1)
                abort();
        if (item == 2)
                _exit(5);
        ret->outcome.status = REPORT_PASS;
}

START_TEST(test_schedule_pool__dead_worker_is_an_error)
{
        RunPoolOps ops = { .work = work_crash, .finished = finished_record };
        ThError err = { 0 };

        reset();
        ck_assert_int_eq(runner_pool_run(3, 2, &ops, NULL, NULL, &err), 0);
        ck_assert_int_eq(last_status[0], REPORT_PASS);
        ck_assert_int_eq(last_status[1], REPORT_ERROR);
        ck_assert_ptr_nonnull(strstr(last_message[1], "SIGABRT"));
        ck_assert_int_eq(last_status[2], REPORT_ERROR);
        ck_assert_ptr_nonnull(strstr(last_message[2], "status 5"));
}
END_TEST

static void work_sleep(void *ud, size_t item, unsigned attempt, RunTryRecord *ret)
{
        (void)ud;
        (void)attempt;
        (void)ret;
        if (item == 0)
                return; /* finishes at once */
        sleep(60);
}

static void started_interrupt(void *ud, size_t item, unsigned attempt)
{
        (void)ud;
        (void)attempt;
        if (item == 2) /* both sleepers started: interrupt the run */
                kill(getpid(), SIGINT);
}

START_TEST(test_schedule_pool__sigint_stops_and_kills_workers)
{
        RunPoolOps ops = { .work = work_sleep,
                           .finished = finished_record,
                           .started = started_interrupt };
        ThError err = { 0 };
        int sig = 0;
        uint64_t t0 = th_now_usec();

        reset();
        ck_assert_int_eq(runner_pool_run(5, 2, &ops, NULL, &sig, &err), 1);
        ck_assert_int_eq(sig, SIGINT);
        /* Workers got SIGTERM, so this is far less than their 60 s. */
        ck_assert_uint_lt(th_now_usec() - t0, 30 * 1000000ULL);
        ck_assert_uint_eq(runs[3][1] + runs[4][1], 0);
        /* no child left behind */
        ck_assert_int_eq(waitpid(-1, NULL, WNOHANG), -1);
        ck_assert_int_eq(errno, ECHILD);
}
END_TEST

static Suite *schedule_suite(void)
{
        Suite *s = suite_create("schedule");
        TCase *tc = tcase_create("schedule");
        tcase_set_timeout(tc, 60);
        tcase_add_test(tc, test_schedule_pool__every_item_once_in_a_worker);
        tcase_add_test(tc, test_schedule_pool__retry_gets_next_attempt);
        tcase_add_test(tc, test_schedule_pool__stop_schedules_nothing_new);
        tcase_add_test(tc, test_schedule_pool__dead_worker_is_an_error);
        tcase_add_test(tc, test_schedule_pool__sigint_stops_and_kills_workers);
        suite_add_tcase(s, tc);
        return s;
}

int main(void)
{
        SRunner *sr = srunner_create(schedule_suite());
        srunner_run_all(sr, CK_NORMAL);
        int failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
