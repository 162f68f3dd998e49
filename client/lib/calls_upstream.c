/*
 * calls_upstream.c: the typed calls of client.h for a team switching from upstream:
 * ImportFixture (an upstream database) and SetWorkerPassword (for the workers it brought,
 * who come without one). Admin scope.
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "call.h"
#include "json.h"
#include "orchestra/client.h"
#include "proto/orchestra.pb-c.h"

int orc_worker_set_password(orc_client *c, const char *username, const char *password,
                            orc_error *err)
{
    if (!username || !username[0])
        return orc_error_set(err, ORC_INVALID_ARGUMENT, "a username is required");
    if (!password || !password[0])
        return orc_error_set(err, ORC_INVALID_ARGUMENT, "a password is required");
    Orchestra__V1__SetWorkerPasswordRequest in = ORCHESTRA__V1__SET_WORKER_PASSWORD_REQUEST__INIT;
    in.username = (char *)username;
    in.password = (char *)password;
    ProtobufCMessage *out = NULL;
    int rc = orci_client_call(c, "SetWorkerPassword", &in.base,
                              &orchestra__v1__set_worker_password_reply__descriptor, &out, err);
    if (out)
        protobuf_c_message_free_unpacked(out, NULL);
    return rc;
}

/* counts_json renders repeated ImportCounts as {"<model>": {"created", "existing"}}, or
 * {"<model>": N} (created only) when brief. */
static json_t *counts_json(Orchestra__V1__ImportCount *const *v, size_t n, bool brief)
{
    json_t *o = json_object();
    for (size_t i = 0; o && i < n; i++) {
        json_t *e = brief ? json_integer(v[i]->created)
                          : json_pack("{s:I, s:I}", "created", (json_int_t)v[i]->created,
                                      "existing", (json_int_t)v[i]->existing);
        if (json_object_set_new(o, v[i]->model, e) != 0) {
            json_decref(o);
            return NULL;
        }
    }
    return o;
}

static json_t *strings_json(char *const *v, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < n; i++) {
        if (json_array_append_new(a, json_string(v[i])) != 0) {
            json_decref(a);
            return NULL;
        }
    }
    return a;
}

int orc_import_fixture(orc_client *c, const char *fixture_json, size_t len, char **report,
                       orc_error *err)
{
    if (!report)
        return orc_error_set(err, ORC_INVALID_ARGUMENT, "no place for the report");
    *report = NULL;
    if (!fixture_json)
        return orc_error_set(err, ORC_INVALID_ARGUMENT, "no fixture given");
    if (len > ORC_IMPORT_MAX_BYTES)
        return orc_error_set(err, ORC_RESOURCE_EXHAUSTED,
                             "the fixture is larger than %u bytes; dump and import it in parts",
                             (unsigned)ORC_IMPORT_MAX_BYTES);
    /* A protobuf string field ends at its length, but the coordinator reads it as C text. */
    if (memchr(fixture_json, '\0', len) != NULL)
        return orc_error_set(err, ORC_INVALID_ARGUMENT, "the fixture holds a NUL byte");
    char *text = malloc(len + 1);
    if (!text)
        return orc_error_set(err, ORC_RESOURCE_EXHAUSTED, "out of memory");
    memcpy(text, fixture_json, len);
    text[len] = '\0';
    Orchestra__V1__ImportFixtureRequest in = ORCHESTRA__V1__IMPORT_FIXTURE_REQUEST__INIT;
    in.fixture_json = text;
    ProtobufCMessage *out = NULL;
    int rc = orci_client_call(c, "ImportFixture", &in.base,
                              &orchestra__v1__import_fixture_reply__descriptor, &out, err);
    free(text);
    if (rc != ORC_OK)
        return rc;
    const Orchestra__V1__ImportFixtureReply *r = (const Orchestra__V1__ImportFixtureReply *)out;
    json_t *doc = json_object();
    if (doc &&
        (json_object_set_new(doc, "counts", counts_json(r->counts, r->n_counts, false)) != 0 ||
         json_object_set_new(doc, "skipped", counts_json(r->skipped, r->n_skipped, true)) != 0 ||
         json_object_set_new(
             doc, "users_without_password",
             strings_json(r->users_without_password, r->n_users_without_password)) != 0 ||
         json_object_set_new(doc, "warnings", strings_json(r->warnings, r->n_warnings)) != 0)) {
        json_decref(doc);
        doc = NULL;
    }
    protobuf_c_message_free_unpacked(out, NULL);
    *report = doc ? orci_json_dump(doc) : NULL;
    json_decref(doc);
    if (!*report)
        return orc_error_set(err, ORC_RESOURCE_EXHAUSTED, "out of memory building the report");
    return ORC_OK;
}
