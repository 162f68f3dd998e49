/*
 * test_rpc_idempotency.c: a repeated request id gets the stored reply and changes nothing.
 * Signed LoadWorkflow envelopes are built once with orci_client_build_request and sent
 * several times, from one connection and from others; a workflow version can be loaded only
 * once without --force, so a second execution would be visible as "Version v1 already
 * exists".
 */
/* clang-format off */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
/* clang-format on */

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bundle.h"
#include "call.h"
#include "harness.h"
#include "proto/envelope.pb-c.h"
#include "proto/orchestra.pb-c.h"
#include "support.h"

static orc_harness H;

static int group_setup(void **state)
{
    (void)state;
    if (orc_harness_start(&H, NULL) != 0) {
        orc_harness_cleanup(&H);
        return -1;
    }
    return 0;
}

/* cmocka does not count a failed group teardown: main adds this to the failures. */
static int group_teardown_failed;

static int group_teardown(void **state)
{
    (void)state;
    int status = H.pid != 0 ? orc_harness_stop(&H) : 0;
    orc_harness_cleanup(&H);
    group_teardown_failed = status != 0;
    return status == 0 ? 0 : -1;
}

/* ---- helpers --------------------------------------------------------------------------- */

typedef struct bytes {
    uint8_t *p;
    size_t n;
} bytes;

static orc_client *client_as(const char *key, const char *secret)
{
    orc_client *c = NULL;
    assert_int_equal(orc_harness_client(&H, key, secret, &c), ORC_OK);
    return c;
}

static orc_client *dev_client(void)
{
    return client_as(ORC_TEST_DEV_KEY, ORC_TEST_DEV_SECRET);
}

/* load_request builds the signed envelope of LoadWorkflow(<H.dir>/slug, v1, no force). */
static bytes load_request(orc_client *c, const char *slug, const char *request_id)
{
    char dir[600];
    assert_int_equal(orc_test_small_workflow(H.dir, slug, dir, sizeof dir), 0);
    Orchestra__V1__WorkflowBundle *b = NULL;
    orc_error e;
    assert_int_equal(orci_bundle_read(dir, &b, &e), ORC_OK);
    Orchestra__V1__LoadWorkflowRequest req = ORCHESTRA__V1__LOAD_WORKFLOW_REQUEST__INIT;
    req.bundle = b;
    req.version = "v1";
    req.force = false;
    size_t len = orchestra__v1__load_workflow_request__get_packed_size(&req);
    uint8_t *body = malloc(len + 1);
    assert_non_null(body);
    orchestra__v1__load_workflow_request__pack(&req, body);
    orci_bundle_free(b);

    bytes out = {0};
    assert_int_equal(orci_client_build_request(c, "LoadWorkflow", body, len, request_id,
                                               (int64_t)time(NULL), &out.p, &out.n),
                     ORC_OK);
    free(body);
    return out;
}

static bytes roundtrip(orc_client *c, const bytes *req)
{
    bytes reply = {0};
    orc_error e;
    int rc = orci_client_roundtrip(c, req->p, req->n, &reply.p, &reply.n, &e);
    if (rc != ORC_OK)
        fprintf(stderr, "roundtrip: %s %s\n", orc_code_name(rc), e.message);
    assert_int_equal(rc, ORC_OK);
    return reply;
}

static void assert_same_bytes(const bytes *a, const bytes *b)
{
    assert_int_equal(a->n, b->n);
    assert_memory_equal(a->p, b->p, a->n);
}

/* reply_status decodes a Reply: its status, message into msg. */
static int reply_status(const bytes *reply, const char *request_id, char *msg, size_t msg_size)
{
    Orchestra__V1__Reply *r = orchestra__v1__reply__unpack(NULL, reply->n, reply->p);
    assert_non_null(r);
    int status = (int)r->status;
    snprintf(msg, msg_size, "%s", r->message);
    assert_string_equal(r->request_id, request_id);
    orchestra__v1__reply__free_unpacked(r, NULL);
    return status;
}

/* expect_loaded checks that reply is OK and names workflow slug, version v1. */
static void expect_loaded(const bytes *reply, const char *request_id, const char *slug)
{
    char msg[ORC_ERROR_MESSAGE_MAX];
    int st = reply_status(reply, request_id, msg, sizeof msg);
    if (st != ORC_OK)
        fprintf(stderr, "load refused: %s %s\n", orc_code_name(st), msg);
    assert_int_equal(st, ORC_OK);
    Orchestra__V1__Reply *r = orchestra__v1__reply__unpack(NULL, reply->n, reply->p);
    assert_non_null(r);
    Orchestra__V1__LoadWorkflowReply *lr =
        orchestra__v1__load_workflow_reply__unpack(NULL, r->body.len, r->body.data);
    assert_non_null(lr);
    assert_string_equal(lr->workflow, slug);
    assert_string_equal(lr->version, "v1");
    orchestra__v1__load_workflow_reply__free_unpacked(lr, NULL);
    orchestra__v1__reply__free_unpacked(r, NULL);
}

static void expect_already_exists(const bytes *reply, const char *request_id)
{
    char msg[ORC_ERROR_MESSAGE_MAX];
    int st = reply_status(reply, request_id, msg, sizeof msg);
    if (st != ORC_ALREADY_EXISTS)
        fprintf(stderr, "got %s %s\n", orc_code_name(st), msg);
    assert_int_equal(st, ORC_ALREADY_EXISTS);
    assert_non_null(strstr(msg, "Version v1 already exists"));
}

/* plain_load_refused checks that an ordinary (fresh id) load of slug is now refused. */
static void plain_load_refused(orc_client *c, const char *slug)
{
    char dir[600];
    snprintf(dir, sizeof dir, "%s/%s", H.dir, slug);
    orc_error e;
    int rc = orc_workflow_load(c, dir, "v1", false, NULL, &e);
    assert_int_equal(rc, ORC_ALREADY_EXISTS);
    assert_non_null(strstr(e.message, "Version v1 already exists"));
}

static void bytes_free(bytes *b)
{
    orc_free(b->p);
    b->p = NULL;
    b->n = 0;
}

/* ---- tests ----------------------------------------------------------------------------- */

static void test_same_request_twice_gets_identical_reply_and_runs_once(void **state)
{
    (void)state;
    orc_client *c = dev_client();
    bytes req = load_request(c, "idem_once", "idem-once-1");
    bytes r1 = roundtrip(c, &req);
    bytes r2 = roundtrip(c, &req);
    expect_loaded(&r1, "idem-once-1", "idem_once");
    /* The second copy got the stored OK, not "already exists": it did not run again. */
    assert_same_bytes(&r1, &r2);
    /* ... while the first did run: a new request for the same version is refused. */
    plain_load_refused(c, "idem_once");
    bytes_free(&req);
    bytes_free(&r1);
    bytes_free(&r2);
    orc_client_destroy(c);
}

static void test_replay_from_other_connections_gets_stored_reply(void **state)
{
    (void)state;
    orc_client *c1 = dev_client();
    bytes req = load_request(c1, "idem_replay", "idem-replay-1");
    bytes r1 = roundtrip(c1, &req);
    expect_loaded(&r1, "idem-replay-1", "idem_replay");
    orc_client_destroy(c1);

    /* A new connection of the same key. */
    orc_client *c2 = dev_client();
    bytes r2 = roundtrip(c2, &req);
    assert_same_bytes(&r1, &r2);
    orc_client_destroy(c2);

    /* A connection holding no credentials at all: the captured bytes carry them. */
    orc_client *c3 = client_as(NULL, NULL);
    bytes r3 = roundtrip(c3, &req);
    assert_same_bytes(&r1, &r3);
    orc_client_destroy(c3);

    /* A bare nng REQ socket. */
    void *raw = NULL;
    size_t raw_len = 0;
    assert_int_equal(orc_test_raw_request(H.rpc_url, req.p, req.n, 10000, &raw, &raw_len), 0);
    bytes r4 = {raw, raw_len};
    assert_same_bytes(&r1, &r4);
    free(raw);

    orc_client *c = dev_client();
    plain_load_refused(c, "idem_replay");
    orc_client_destroy(c);
    bytes_free(&req);
    bytes_free(&r1);
    bytes_free(&r2);
    bytes_free(&r3);
}

static void test_new_request_id_runs_again_and_each_id_keeps_its_outcome(void **state)
{
    (void)state;
    orc_client *c = dev_client();
    bytes a = load_request(c, "idem_ids", "idem-ids-a");
    bytes b = load_request(c, "idem_ids", "idem-ids-b");
    bytes ra = roundtrip(c, &a);
    expect_loaded(&ra, "idem-ids-a", "idem_ids");
    /* The same load under another id is a new request: it runs and is refused. */
    bytes rb = roundtrip(c, &b);
    expect_already_exists(&rb, "idem-ids-b");
    /* Each id repeats its own outcome. */
    bytes ra2 = roundtrip(c, &a);
    bytes rb2 = roundtrip(c, &b);
    assert_same_bytes(&ra, &ra2);
    expect_already_exists(&rb2, "idem-ids-b");
    bytes_free(&a);
    bytes_free(&b);
    bytes_free(&ra);
    bytes_free(&rb);
    bytes_free(&ra2);
    bytes_free(&rb2);
    orc_client_destroy(c);
}

static void test_request_ids_are_scoped_to_the_key(void **state)
{
    (void)state;
    char key[256], secret[256];
    assert_int_equal(
        orc_harness_create_key(&H, "second-admin", "admin", key, sizeof key, secret, sizeof secret),
        0);
    orc_client *dev = dev_client();
    orc_client *other = client_as(key, secret);
    bytes r_dev = load_request(dev, "idem_scoped", "shared-request-id");
    bytes r_other = load_request(other, "idem_scoped", "shared-request-id");
    bytes rep_dev = roundtrip(dev, &r_dev);
    expect_loaded(&rep_dev, "shared-request-id", "idem_scoped");
    /* Another principal reusing the id does not get the dev key's stored reply. */
    bytes rep_other = roundtrip(other, &r_other);
    expect_already_exists(&rep_other, "shared-request-id");
    bytes_free(&r_dev);
    bytes_free(&r_other);
    bytes_free(&rep_dev);
    bytes_free(&rep_other);
    orc_client_destroy(dev);
    orc_client_destroy(other);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_same_request_twice_gets_identical_reply_and_runs_once),
        cmocka_unit_test(test_replay_from_other_connections_gets_stored_reply),
        cmocka_unit_test(test_new_request_id_runs_again_and_each_id_keeps_its_outcome),
        cmocka_unit_test(test_request_ids_are_scoped_to_the_key),
    };
    int failed = cmocka_run_group_tests_name("rpc_idempotency", tests, group_setup, group_teardown);
    return failed + group_teardown_failed;
}
