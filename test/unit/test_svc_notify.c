/*
 * test_svc_notify.c: the coordinator's side of the notifier (svc/notify.c, domain/notify.c),
 * driven through orci_dispatch: a worker's e-mail preferences (default on, set per kind, a
 * worker only their own, a notify key reads anyone's but sets nothing), webhooks (create with
 * its start seq, checks of the URL and secret, list with and without secrets, redeliver
 * generations, the notifier's status reports, delete), and the notify scope's reach
 * (ListEvents yes, admin methods no).
 */
/* clang-format off */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
/* clang-format on */

#include "domain/notify.h"
#include "svc_fixture.h"

#define NOTIFY_KEY "notify-key"
#define NOTIFY_SECRET "notify-secret-of-test"

typedef struct nk_job {
    int64_t now_us;
} nk_job;

static int nk_fn(orci_db *db, void *arg, orc_error *err)
{
    nk_job *j = arg;
    return orci_keys_ensure(db, "notifier", ORCI_SCOPE_NOTIFY, NOTIFY_KEY, NOTIFY_SECRET, j->now_us,
                            err);
}

static int setup(void **state)
{
    sf_setup(state);
    sf *f = *state;
    nk_job j = {f->tc.now_us};
    orc_error err = {0};
    if (orci_store_write(f->srv.store, nk_fn, &j, &err) != ORC_OK)
        fail_msg("notify key: %s", err.message);
    sf_load_workflow(f); /* sf_worker certifies for its certification */
    return 0;
}

/* call_notify dispatches method signed with the notify key. */
static Orchestra__V1__Reply *call_notify(sf *f, const char *method, const ProtobufCMessage *body)
{
    char rid[32];
    snprintf(rid, sizeof rid, "nrid-%u", ++f->next_rid);
    Orchestra__V1__Request r;
    Orchestra__V1__Auth a;
    orchestra__v1__request__init(&r);
    orchestra__v1__auth__init(&a);
    size_t body_len;
    uint8_t *b = sf_pack(body, &body_len);
    uint8_t mac[ORCI_SHA256_LEN];
    r.method = (char *)method;
    r.request_id = rid;
    r.body.data = b;
    r.body.len = body_len;
    a.key_id = NOTIFY_KEY;
    a.timestamp = f->tc.now_us / SF_SECOND;
    orci_sign_request(NOTIFY_SECRET, strlen(NOTIFY_SECRET), method, rid, a.timestamp, b, body_len,
                      mac);
    a.signature.data = mac;
    a.signature.len = sizeof mac;
    r.auth = &a;
    size_t len;
    uint8_t *req = sf_pack(&r.base, &len);
    free(b);
    uint8_t *reply = NULL;
    size_t reply_len = 0;
    assert_int_equal(orci_dispatch(&f->srv, f->rdb, req, len, &reply, &reply_len), ORC_OK);
    free(req);
    Orchestra__V1__Reply *out = orchestra__v1__reply__unpack(NULL, reply_len, reply);
    free(reply);
    assert_non_null(out);
    return out;
}

/* ---- preferences ------------------------------------------------------------------------ */

/* settings unpacks a NotificationSettings reply (freeing r); fails on another status. */
static Orchestra__V1__NotificationSettings *settings(Orchestra__V1__Reply *r)
{
    if ((int)r->status != ORC_OK)
        fail_msg("%s: %s", orc_code_name((int)r->status), r->message);
    Orchestra__V1__NotificationSettings *s =
        orchestra__v1__notification_settings__unpack(NULL, r->body.len, r->body.data);
    assert_non_null(s);
    orchestra__v1__reply__free_unpacked(r, NULL);
    return s;
}

static Orchestra__V1__Reply *get_as(sf *f, sf_who who, const char *username)
{
    Orchestra__V1__GetNotificationSettingsRequest q;
    orchestra__v1__get_notification_settings_request__init(&q);
    q.username = (char *)username;
    return sf_call(f, who, "GetNotificationSettings", &q.base);
}

/* set_as sets one kind's preference as who. */
static Orchestra__V1__Reply *set_as(sf *f, sf_who who, const char *username, const char *kind,
                                    bool on)
{
    Orchestra__V1__SetNotificationSettingsRequest q;
    Orchestra__V1__NotificationPreference p;
    Orchestra__V1__NotificationPreference *ps[1] = {&p};
    orchestra__v1__set_notification_settings_request__init(&q);
    orchestra__v1__notification_preference__init(&p);
    q.username = (char *)username;
    p.kind = (char *)kind;
    p.email = on;
    q.preferences = ps;
    q.n_preferences = 1;
    return sf_call(f, who, "SetNotificationSettings", &q.base);
}

/* pref reads kind's preference out of s (fails when the kind is missing). */
static bool pref(const Orchestra__V1__NotificationSettings *s, const char *kind)
{
    for (size_t i = 0; i < s->n_preferences; i++)
        if (strcmp(s->preferences[i]->kind, kind) == 0)
            return s->preferences[i]->email;
    fail_msg("no preference %s", kind);
    return false;
}

static void test_preferences_default_to_every_email_in_upstream_order(void **state)
{
    sf *f = *state;
    char token[200];
    sf_worker(f, "alice", false, token, sizeof token);
    Orchestra__V1__NotificationSettings *s = settings(get_as(f, SF_TOKEN(token), ""));
    assert_string_equal(s->username, "alice");
    assert_string_equal(s->email, "someone@example.com");
    assert_string_equal(s->first_name, "First");
    static const char *const kinds[] = {"assigned",           "under_review", "returned",
                                        "ready_for_rereview", "complete",     "ended"};
    assert_int_equal(s->n_preferences, 6);
    for (size_t i = 0; i < 6; i++) {
        assert_string_equal(s->preferences[i]->kind, kinds[i]);
        assert_true(s->preferences[i]->email);
    }
    orchestra__v1__notification_settings__free_unpacked(s, NULL);
}

static void test_a_worker_sets_their_own_preferences_per_kind(void **state)
{
    sf *f = *state;
    char token[200];
    sf_worker(f, "alice", false, token, sizeof token);
    Orchestra__V1__NotificationSettings *s =
        settings(set_as(f, SF_TOKEN(token), "", "complete", false));
    assert_false(pref(s, "complete"));
    assert_true(pref(s, "assigned"));
    orchestra__v1__notification_settings__free_unpacked(s, NULL);
    /* read back by the notifier, and turned on again by the worker */
    s = settings(get_as(f, SF_TOKEN(token), "alice"));
    assert_false(pref(s, "complete"));
    orchestra__v1__notification_settings__free_unpacked(s, NULL);
    s = settings(set_as(f, SF_TOKEN(token), "alice", "complete", true));
    assert_true(pref(s, "complete"));
    orchestra__v1__notification_settings__free_unpacked(s, NULL);
    assert_int_equal(sf_int(f, "SELECT count(*) FROM notification_preferences", 0, 0), 1);
}

static void test_a_worker_cannot_see_or_change_another_workers_settings(void **state)
{
    sf *f = *state;
    char alice[200], bob[200];
    sf_worker(f, "alice", false, alice, sizeof alice);
    sf_worker(f, "bob", false, bob, sizeof bob);
    sf_expect(get_as(f, SF_TOKEN(alice), "bob"), ORC_PERMISSION_DENIED, "their own");
    sf_expect(set_as(f, SF_TOKEN(alice), "bob", "ended", false), ORC_PERMISSION_DENIED,
              "their own");
    sf_expect(get_as(f, SF_ANON, "bob"), ORC_UNAUTHENTICATED, NULL);
    assert_int_equal(sf_int(f, "SELECT count(*) FROM notification_preferences", 0, 0), 0);
}

static void test_admin_sets_anyone_and_notify_key_only_reads(void **state)
{
    sf *f = *state;
    char token[200];
    sf_worker(f, "carol", false, token, sizeof token);
    Orchestra__V1__NotificationSettings *s =
        settings(set_as(f, SF_ADMIN, "carol", "returned", false));
    assert_false(pref(s, "returned"));
    orchestra__v1__notification_settings__free_unpacked(s, NULL);
    sf_expect(get_as(f, SF_ADMIN, ""), ORC_INVALID_ARGUMENT, "username is required");
    sf_expect(get_as(f, SF_ADMIN, "nobody"), ORC_NOT_FOUND, "No worker named nobody");

    Orchestra__V1__GetNotificationSettingsRequest q;
    orchestra__v1__get_notification_settings_request__init(&q);
    q.username = "carol";
    s = settings(call_notify(f, "GetNotificationSettings", &q.base));
    assert_false(pref(s, "returned"));
    assert_string_equal(s->email, "someone@example.com");
    orchestra__v1__notification_settings__free_unpacked(s, NULL);

    Orchestra__V1__SetNotificationSettingsRequest w;
    orchestra__v1__set_notification_settings_request__init(&w);
    w.username = "carol";
    sf_expect(call_notify(f, "SetNotificationSettings", &w.base), ORC_PERMISSION_DENIED,
              "requires the admin or worker scope");
}

static void test_an_unknown_kind_changes_nothing(void **state)
{
    sf *f = *state;
    char token[200];
    sf_worker(f, "dave", false, token, sizeof token);
    Orchestra__V1__SetNotificationSettingsRequest q;
    Orchestra__V1__NotificationPreference a, b;
    Orchestra__V1__NotificationPreference *ps[2] = {&a, &b};
    orchestra__v1__set_notification_settings_request__init(&q);
    orchestra__v1__notification_preference__init(&a);
    orchestra__v1__notification_preference__init(&b);
    a.kind = "ended";
    b.kind = "slack";
    q.preferences = ps;
    q.n_preferences = 2;
    sf_expect(sf_call(f, SF_TOKEN(token), "SetNotificationSettings", &q.base), ORC_INVALID_ARGUMENT,
              "Unknown notification kind \"slack\"");
    assert_int_equal(sf_int(f, "SELECT count(*) FROM notification_preferences", 0, 0), 0);
}

/* ---- webhooks ------------------------------------------------------------------------------ */

static Orchestra__V1__Reply *create_as(sf *f, sf_who who, const char *url, const char *prefix,
                                       const char *secret)
{
    Orchestra__V1__CreateWebhookRequest q;
    orchestra__v1__create_webhook_request__init(&q);
    q.url = (char *)url;
    q.topic_prefix = (char *)prefix;
    q.secret = (char *)secret;
    return sf_call(f, who, "CreateWebhook", &q.base);
}

/* create makes a webhook as admin and returns its reply (caller frees). */
static Orchestra__V1__CreateWebhookReply *create(sf *f, const char *url, const char *prefix)
{
    Orchestra__V1__Reply *r = create_as(f, SF_ADMIN, url, prefix, "whsec");
    if ((int)r->status != ORC_OK)
        fail_msg("CreateWebhook: %s", r->message);
    Orchestra__V1__CreateWebhookReply *c =
        orchestra__v1__create_webhook_reply__unpack(NULL, r->body.len, r->body.data);
    assert_non_null(c);
    orchestra__v1__reply__free_unpacked(r, NULL);
    return c;
}

static Orchestra__V1__ListWebhooksReply *list(sf *f, bool notify, bool secrets)
{
    Orchestra__V1__ListWebhooksRequest q;
    orchestra__v1__list_webhooks_request__init(&q);
    q.include_secrets = secrets;
    Orchestra__V1__Reply *r = notify ? call_notify(f, "ListWebhooks", &q.base)
                                     : sf_call(f, SF_ADMIN, "ListWebhooks", &q.base);
    if ((int)r->status != ORC_OK)
        fail_msg("ListWebhooks: %s", r->message);
    Orchestra__V1__ListWebhooksReply *l =
        orchestra__v1__list_webhooks_reply__unpack(NULL, r->body.len, r->body.data);
    assert_non_null(l);
    orchestra__v1__reply__free_unpacked(r, NULL);
    return l;
}

static void test_a_webhook_starts_after_the_newest_event(void **state)
{
    sf *f = *state;
    sf_project(f, "one", 1);
    int64_t last = sf_int(f, "SELECT max(seq) FROM events", 0, 0);
    assert_true(last > 0);
    Orchestra__V1__CreateWebhookReply *c = create(f, "https://hooks.example.com/in", "project.");
    assert_true(c->id > 0);
    assert_int_equal(c->start_seq, last);
    orchestra__v1__create_webhook_reply__free_unpacked(c, NULL);

    Orchestra__V1__ListWebhooksReply *l = list(f, false, false);
    assert_int_equal(l->n_webhooks, 1);
    assert_string_equal(l->webhooks[0]->url, "https://hooks.example.com/in");
    assert_string_equal(l->webhooks[0]->topic_prefix, "project.");
    assert_string_equal(l->webhooks[0]->secret, "");
    assert_int_equal(l->webhooks[0]->start_seq, last);
    assert_int_equal(l->webhooks[0]->status_at, 0);
    orchestra__v1__list_webhooks_reply__free_unpacked(l, NULL);
    l = list(f, true, true);
    assert_string_equal(l->webhooks[0]->secret, "whsec");
    orchestra__v1__list_webhooks_reply__free_unpacked(l, NULL);
}

static void test_webhook_fields_are_checked(void **state)
{
    sf *f = *state;
    sf_expect(create_as(f, SF_ADMIN, "ftp://x/", "", "s"), ORC_INVALID_ARGUMENT, "http://");
    sf_expect(create_as(f, SF_ADMIN, "http:///path", "", "s"), ORC_INVALID_ARGUMENT, "no host");
    sf_expect(create_as(f, SF_ADMIN, "http://a b/", "", "s"), ORC_INVALID_ARGUMENT, "blank");
    sf_expect(create_as(f, SF_ADMIN, "http://h/\r\nX: y", "", "s"), ORC_INVALID_ARGUMENT,
              "control");
    sf_expect(create_as(f, SF_ADMIN, "http://h/", "", ""), ORC_INVALID_ARGUMENT, "secret");
    char big[300];
    memset(big, 'k', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    sf_expect(create_as(f, SF_ADMIN, "http://h/", "", big), ORC_INVALID_ARGUMENT, "secret");
    assert_int_equal(sf_int(f, "SELECT count(*) FROM webhooks", 0, 0), 0);
}

static void test_only_admin_manages_webhooks_and_notify_lists_them(void **state)
{
    sf *f = *state;
    char token[200];
    sf_worker(f, "erin", false, token, sizeof token);
    sf_expect(create_as(f, SF_TOKEN(token), "http://h/", "", "s"), ORC_PERMISSION_DENIED,
              "requires the admin scope");
    Orchestra__V1__CreateWebhookRequest q;
    orchestra__v1__create_webhook_request__init(&q);
    q.url = "http://h/";
    q.secret = "s";
    sf_expect(call_notify(f, "CreateWebhook", &q.base), ORC_PERMISSION_DENIED, "admin scope");
    Orchestra__V1__ListWebhooksRequest lq;
    orchestra__v1__list_webhooks_request__init(&lq);
    sf_expect(sf_call(f, SF_TOKEN(token), "ListWebhooks", &lq.base), ORC_PERMISSION_DENIED, NULL);
    /* the notify key reads the whole event history */
    Orchestra__V1__ListEventsRequest eq;
    orchestra__v1__list_events_request__init(&eq);
    sf_expect_ok(call_notify(f, "ListEvents", &eq.base));
}

static Orchestra__V1__Reply *redeliver(sf *f, int64_t id, bool has_since, int64_t since)
{
    Orchestra__V1__RedeliverWebhookRequest q;
    orchestra__v1__redeliver_webhook_request__init(&q);
    q.id = id;
    q.has_since = has_since;
    q.since = since;
    return sf_call(f, SF_ADMIN, "RedeliverWebhook", &q.base);
}

static void test_redeliver_counts_generations_and_reports_are_listed(void **state)
{
    sf *f = *state;
    Orchestra__V1__CreateWebhookReply *c = create(f, "http://127.0.0.1:9/hook", "");
    int64_t id = c->id;
    orchestra__v1__create_webhook_reply__free_unpacked(c, NULL);
    sf_expect_ok(redeliver(f, id, false, 0));
    sf_expect_ok(redeliver(f, id, true, 7));
    sf_expect(redeliver(f, id, true, -3), ORC_INVALID_ARGUMENT, "since");
    sf_expect(redeliver(f, id + 100, false, 0), ORC_NOT_FOUND, "No webhook");

    Orchestra__V1__ReportWebhookStatusRequest q;
    orchestra__v1__report_webhook_status_request__init(&q);
    q.id = id;
    q.state = "dead-lettered";
    q.last_error = "connection refused";
    q.delivered_seq = 12;
    q.delivered = 3;
    q.dead_lettered = 2;
    q.attempts = 9;
    sf_advance(f, 5);
    sf_expect_ok(call_notify(f, "ReportWebhookStatus", &q.base));

    Orchestra__V1__ListWebhooksReply *l = list(f, false, false);
    assert_int_equal(l->n_webhooks, 1);
    Orchestra__V1__Webhook *w = l->webhooks[0];
    assert_int_equal(w->redeliver_generation, 2);
    assert_int_equal(w->redeliver_since, 7);
    assert_string_equal(w->state, "dead-lettered");
    assert_string_equal(w->last_error, "connection refused");
    assert_int_equal(w->delivered_seq, 12);
    assert_int_equal(w->delivered, 3);
    assert_int_equal(w->dead_lettered, 2);
    assert_int_equal(w->attempts, 9);
    assert_int_equal(w->status_at, f->tc.now_us);
    orchestra__v1__list_webhooks_reply__free_unpacked(l, NULL);
}

static void test_a_deleted_webhook_is_gone_and_its_id_not_reused(void **state)
{
    sf *f = *state;
    Orchestra__V1__CreateWebhookReply *c = create(f, "http://h/1", "");
    int64_t first = c->id;
    orchestra__v1__create_webhook_reply__free_unpacked(c, NULL);
    Orchestra__V1__DeleteWebhookRequest d;
    orchestra__v1__delete_webhook_request__init(&d);
    d.id = first;
    sf_expect_ok(sf_call(f, SF_ADMIN, "DeleteWebhook", &d.base));
    sf_expect(sf_call(f, SF_ADMIN, "DeleteWebhook", &d.base), ORC_NOT_FOUND, "No webhook");
    Orchestra__V1__ReportWebhookStatusRequest q;
    orchestra__v1__report_webhook_status_request__init(&q);
    q.id = first;
    sf_expect(call_notify(f, "ReportWebhookStatus", &q.base), ORC_NOT_FOUND, "No webhook");
    c = create(f, "http://h/2", "");
    assert_true(c->id > first);
    orchestra__v1__create_webhook_reply__free_unpacked(c, NULL);
    Orchestra__V1__ListWebhooksReply *l = list(f, true, false);
    assert_int_equal(l->n_webhooks, 1);
    assert_string_equal(l->webhooks[0]->url, "http://h/2");
    orchestra__v1__list_webhooks_reply__free_unpacked(l, NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_preferences_default_to_every_email_in_upstream_order,
                                        setup, sf_teardown),
        cmocka_unit_test_setup_teardown(test_a_worker_sets_their_own_preferences_per_kind, setup,
                                        sf_teardown),
        cmocka_unit_test_setup_teardown(test_a_worker_cannot_see_or_change_another_workers_settings,
                                        setup, sf_teardown),
        cmocka_unit_test_setup_teardown(test_admin_sets_anyone_and_notify_key_only_reads, setup,
                                        sf_teardown),
        cmocka_unit_test_setup_teardown(test_an_unknown_kind_changes_nothing, setup, sf_teardown),
        cmocka_unit_test_setup_teardown(test_a_webhook_starts_after_the_newest_event, setup,
                                        sf_teardown),
        cmocka_unit_test_setup_teardown(test_webhook_fields_are_checked, setup, sf_teardown),
        cmocka_unit_test_setup_teardown(test_only_admin_manages_webhooks_and_notify_lists_them,
                                        setup, sf_teardown),
        cmocka_unit_test_setup_teardown(test_redeliver_counts_generations_and_reports_are_listed,
                                        setup, sf_teardown),
        cmocka_unit_test_setup_teardown(test_a_deleted_webhook_is_gone_and_its_id_not_reused, setup,
                                        sf_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
