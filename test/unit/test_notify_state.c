/*
 * test_notify_state.c: the notifier's state file (server/notify/state.c): a new target starts
 * where it is told, what is recorded survives closing and reopening the file, last_seq never
 * goes back for a live event, retries and dead letters are kept, redelivery queues the dead
 * letters (or restarts after a seq, dropping the later ones), a deleted target is forgotten.
 */
/* clang-format off */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
/* clang-format on */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "state.h"
#include "support.h"

typedef struct fixture {
    char dir[256];
    orci_nstate *s;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    orc_test_tmpdir("nstate", f->dir, sizeof f->dir);
    orc_error err = {0};
    if (orci_nstate_open(f->dir, &f->s, &err) != ORC_OK)
        fail_msg("open: %s", err.message);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    orci_nstate_close(f->s);
    orc_test_rmtree(f->dir);
    free(f);
    return 0;
}

/* reopen closes the file and opens it again (what a restart does). */
static void reopen(fixture *f)
{
    orci_nstate_close(f->s);
    f->s = NULL;
    orc_error err = {0};
    if (orci_nstate_open(f->dir, &f->s, &err) != ORC_OK)
        fail_msg("reopen: %s", err.message);
}

static orci_cursor load(fixture *f, const char *target, int64_t start, bool *created)
{
    orci_cursor c;
    bool made = false;
    orc_error err = {0};
    if (orci_nstate_load(f->s, target, start, 0, &c, &made, &err) != ORC_OK)
        fail_msg("load: %s", err.message);
    if (created)
        *created = made;
    return c;
}

static void test_a_new_target_starts_where_told_and_resumes_there(void **state)
{
    fixture *f = *state;
    bool created = false;
    orci_cursor c = load(f, "webhook:1", 40, &created);
    assert_true(created);
    assert_int_equal(c.last_seq, 40);
    orc_error err = {0};
    assert_int_equal(orci_nstate_done(f->s, "webhook:1", 41, ORCI_OUTCOME_DELIVERED, false, &err),
                     ORC_OK);
    reopen(f);
    c = load(f, "webhook:1", 0, &created);
    assert_false(created);
    assert_int_equal(c.last_seq, 41);
    assert_int_equal(c.delivered, 1);
}

static void test_last_seq_never_moves_back(void **state)
{
    fixture *f = *state;
    load(f, "email", 10, NULL);
    orc_error err = {0};
    assert_int_equal(orci_nstate_done(f->s, "email", 20, ORCI_OUTCOME_SKIPPED, false, &err),
                     ORC_OK);
    assert_int_equal(orci_nstate_done(f->s, "email", 15, ORCI_OUTCOME_FAILED, false, &err), ORC_OK);
    assert_int_equal(orci_nstate_advance(f->s, "email", 12, 0, &err), ORC_OK);
    orci_cursor c = load(f, "email", 0, NULL);
    assert_int_equal(c.last_seq, 20);
    assert_int_equal(c.skipped, 1);
    assert_int_equal(c.failed, 1);
    assert_int_equal(orci_nstate_advance(f->s, "email", 30, 0, &err), ORC_OK);
    assert_int_equal(load(f, "email", 0, NULL).last_seq, 30);
}

static void test_a_retry_survives_a_restart_and_ends_with_the_delivery(void **state)
{
    fixture *f = *state;
    load(f, "webhook:2", 0, NULL);
    orc_error err = {0};
    assert_int_equal(orci_nstate_retry(f->s, "webhook:2", 1, 3, 1000, 9000, "HTTP 500", &err),
                     ORC_OK);
    reopen(f);
    orci_cursor c = load(f, "webhook:2", 0, NULL);
    assert_int_equal(c.retry_seq, 1);
    assert_int_equal(c.attempts, 3);
    assert_int_equal(c.first_failure_us, 1000);
    assert_int_equal(c.next_attempt_us, 9000);
    assert_string_equal(c.last_error, "HTTP 500");
    assert_int_equal(c.last_seq, 0); /* not done yet */
    assert_int_equal(orci_nstate_done(f->s, "webhook:2", 1, ORCI_OUTCOME_DELIVERED, false, &err),
                     ORC_OK);
    c = load(f, "webhook:2", 0, NULL);
    assert_int_equal(c.retry_seq, 0);
    assert_int_equal(c.attempts, 0);
    assert_int_equal(c.last_seq, 1);
}

static void test_dead_letters_are_kept_queued_and_cleared(void **state)
{
    fixture *f = *state;
    load(f, "webhook:3", 0, NULL);
    orc_error err = {0};
    assert_int_equal(orci_nstate_dead_letter(f->s, "webhook:3", 4, "refused", 5, false, &err),
                     ORC_OK);
    assert_int_equal(orci_nstate_dead_letter(f->s, "webhook:3", 6, "refused", 7, false, &err),
                     ORC_OK);
    orci_cursor c = load(f, "webhook:3", 0, NULL);
    assert_int_equal(c.last_seq, 6); /* the next event goes */
    assert_int_equal(c.dead, 2);
    int64_t q = -1;
    assert_int_equal(orci_nstate_next_queued(f->s, "webhook:3", &q, &err), ORC_OK);
    assert_int_equal(q, 0); /* nothing queued before a redelivery */

    assert_int_equal(orci_nstate_redeliver(f->s, "webhook:3", 1, -1, &err), ORC_OK);
    reopen(f);
    c = load(f, "webhook:3", 0, NULL);
    assert_int_equal(c.generation, 1);
    assert_int_equal(c.dead, 0);
    assert_int_equal(orci_nstate_next_queued(f->s, "webhook:3", &q, &err), ORC_OK);
    assert_int_equal(q, 4);
    /* the first goes through; the second fails again and is a dead letter again */
    assert_int_equal(orci_nstate_done(f->s, "webhook:3", 4, ORCI_OUTCOME_DELIVERED, true, &err),
                     ORC_OK);
    assert_int_equal(orci_nstate_next_queued(f->s, "webhook:3", &q, &err), ORC_OK);
    assert_int_equal(q, 6);
    assert_int_equal(orci_nstate_dead_letter(f->s, "webhook:3", 6, "still down", 9, true, &err),
                     ORC_OK);
    c = load(f, "webhook:3", 0, NULL);
    assert_int_equal(c.last_seq, 6);
    assert_int_equal(c.dead, 1);
    assert_int_equal(c.delivered, 1);
    assert_int_equal(orci_nstate_next_queued(f->s, "webhook:3", &q, &err), ORC_OK);
    assert_int_equal(q, 0);
}

static void test_redeliver_since_restarts_the_feed_and_drops_later_dead_letters(void **state)
{
    fixture *f = *state;
    load(f, "webhook:4", 0, NULL);
    orc_error err = {0};
    for (int64_t seq = 1; seq <= 3; seq++)
        assert_int_equal(orci_nstate_dead_letter(f->s, "webhook:4", seq, "x", 1, false, &err),
                         ORC_OK);
    assert_int_equal(orci_nstate_retry(f->s, "webhook:4", 4, 2, 1, 2, "y", &err), ORC_OK);
    assert_int_equal(orci_nstate_redeliver(f->s, "webhook:4", 5, 1, &err), ORC_OK);
    orci_cursor c = load(f, "webhook:4", 0, NULL);
    assert_int_equal(c.generation, 5);
    assert_int_equal(c.last_seq, 1);
    assert_int_equal(c.retry_seq, 0);
    assert_int_equal(c.dead, 1); /* seq 1 stays a dead letter; 2 and 3 come again in order */
}

static void test_a_new_target_counts_earlier_redeliveries_as_done(void **state)
{
    fixture *f = *state;
    orci_cursor c;
    bool created = false;
    orc_error err = {0};
    assert_int_equal(orci_nstate_load(f->s, "webhook:5", 7, 3, &c, &created, &err), ORC_OK);
    assert_true(created);
    assert_int_equal(c.generation, 3);
    assert_int_equal(load(f, "webhook:5", 0, NULL).generation, 3);
}

static void test_a_forgotten_target_starts_afresh(void **state)
{
    fixture *f = *state;
    load(f, "webhook:6", 0, NULL);
    orc_error err = {0};
    assert_int_equal(orci_nstate_dead_letter(f->s, "webhook:6", 2, "x", 1, false, &err), ORC_OK);
    assert_int_equal(orci_nstate_forget(f->s, "webhook:6", &err), ORC_OK);
    bool created = false;
    orci_cursor c = load(f, "webhook:6", 50, &created);
    assert_true(created);
    assert_int_equal(c.last_seq, 50);
    assert_int_equal(c.dead, 0);
}

static void test_a_missing_folder_is_an_error_not_a_crash(void **state)
{
    (void)state;
    orci_nstate *s = NULL;
    orc_error err = {0};
    assert_int_equal(orci_nstate_open("/nonexistent/folder/of/the/test", &s, &err),
                     ORC_UNAVAILABLE);
    assert_null(s);
    assert_non_null(strstr(err.message, "cannot open the state file"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_a_new_target_starts_where_told_and_resumes_there,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_last_seq_never_moves_back, setup, teardown),
        cmocka_unit_test_setup_teardown(test_a_retry_survives_a_restart_and_ends_with_the_delivery,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_dead_letters_are_kept_queued_and_cleared, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(
            test_redeliver_since_restarts_the_feed_and_drops_later_dead_letters, setup, teardown),
        cmocka_unit_test_setup_teardown(test_a_new_target_counts_earlier_redeliveries_as_done,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_a_forgotten_target_starts_afresh, setup, teardown),
        cmocka_unit_test(test_a_missing_folder_is_an_error_not_a_crash),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
