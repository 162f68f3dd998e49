/* test_keys.c: API keys in the api_keys table. */
/* cmocka needs these headers first, in this order. */
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

#include "rpc/keys.h"
#include "store/store.h"
#include "support.h"

typedef struct fixture {
    char dir[256];
    char path[320];
    orci_store *s;
    orci_db *r; /* reader */
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    orc_test_tmpdir("keys", f->dir, sizeof f->dir);
    snprintf(f->path, sizeof f->path, "%s/orchestra.db", f->dir);
    orci_store_opts opts = {.path = f->path};
    orc_error err = {0};
    assert_int_equal(orci_store_open(&opts, &f->s, &err), ORC_OK);
    assert_int_equal(orci_db_open_reader(f->s, &f->r, &err), ORC_OK);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    orci_db_close(f->r);
    orci_store_close(f->s);
    orc_test_rmtree(f->dir);
    free(f);
    return 0;
}

/* Write jobs wrapping the key functions. */
typedef struct key_op {
    const char *name;
    unsigned scopes;
    const char *key_id;
    const char *secret;
    int64_t now;
    orci_key out;
} key_op;

static int create_job(orci_db *db, void *arg, orc_error *err)
{
    key_op *op = arg;
    return orci_keys_create(db, op->name, op->scopes, op->key_id, op->secret, op->now, &op->out,
                            err);
}

static int ensure_job(orci_db *db, void *arg, orc_error *err)
{
    key_op *op = arg;
    return orci_keys_ensure(db, op->name, op->scopes, op->key_id, op->secret, op->now, err);
}

static int revoke_job(orci_db *db, void *arg, orc_error *err)
{
    key_op *op = arg;
    return orci_keys_revoke(db, op->key_id, op->now, err);
}

static int create(fixture *f, key_op *op, orc_error *err)
{
    return orci_store_write(f->s, create_job, op, err);
}

static int revoke(fixture *f, const char *key_id, int64_t now, orc_error *err)
{
    key_op op = {.key_id = key_id, .now = now};
    return orci_store_write(f->s, revoke_job, &op, err);
}

static void test_keys_create_makes_random_id_and_secret(void **state)
{
    fixture *f = *state;
    orc_error err = {0};
    key_op op = {.name = "ci bot", .scopes = 5, .now = 1700000000000000};
    assert_int_equal(create(f, &op, &err), ORC_OK);
    assert_true(op.out.id > 0);
    assert_int_equal(strlen(op.out.key_id), 27);
    assert_memory_equal(op.out.key_id, "ok_", 3);
    assert_int_equal(strspn(op.out.key_id + 3, "0123456789abcdef"), 24);
    assert_int_equal(strlen(op.out.secret), 43);
    assert_int_equal(strspn(op.out.secret, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                           "0123456789-_"),
                     43);

    orci_key k;
    assert_int_equal(orci_keys_lookup(f->r, op.out.key_id, &k, &err), ORC_OK);
    assert_int_equal(k.id, op.out.id);
    assert_string_equal(k.key_id, op.out.key_id);
    assert_string_equal(k.name, "ci bot");
    assert_string_equal(k.secret, op.out.secret);
    assert_int_equal(k.scopes, 5);
    assert_int_equal(k.created_at, 1700000000000000);
    assert_int_equal(k.revoked_at, 0);
}

static void test_keys_create_keeps_given_id_and_secret(void **state)
{
    fixture *f = *state;
    orc_error err = {0};
    key_op op = {.name = "dev", .scopes = 1, .key_id = "example", .secret = "s3cret", .now = 7};
    assert_int_equal(create(f, &op, &err), ORC_OK);
    orci_key k;
    assert_int_equal(orci_keys_lookup(f->r, "example", &k, &err), ORC_OK);
    assert_string_equal(k.secret, "s3cret");
}

static void test_keys_random_ids_are_distinct(void **state)
{
    fixture *f = *state;
    enum { N = 20 };
    key_op ops[N];
    orc_error err = {0};
    for (int i = 0; i < N; i++) {
        ops[i] = (key_op){.name = "k", .scopes = 1, .now = i};
        assert_int_equal(create(f, &ops[i], &err), ORC_OK);
        for (int j = 0; j < i; j++) {
            assert_string_not_equal(ops[i].out.key_id, ops[j].out.key_id);
            assert_string_not_equal(ops[i].out.secret, ops[j].out.secret);
        }
    }
}

static void test_keys_duplicate_key_id_already_exists(void **state)
{
    fixture *f = *state;
    orc_error err = {0};
    key_op op = {.name = "a", .scopes = 1, .key_id = "dup", .secret = "one"};
    assert_int_equal(create(f, &op, &err), ORC_OK);
    key_op again = {.name = "b", .scopes = 2, .key_id = "dup", .secret = "two"};
    assert_int_equal(create(f, &again, &err), ORC_ALREADY_EXISTS);
    assert_string_equal(err.message, "API key dup already exists");
    orci_key k;
    assert_int_equal(orci_keys_lookup(f->r, "dup", &k, &err), ORC_OK);
    assert_string_equal(k.secret, "one");
}

static void test_keys_revoked_key_is_not_found(void **state)
{
    fixture *f = *state;
    orc_error err = {0};
    key_op op = {.name = "a", .scopes = 1, .key_id = "gone", .secret = "x"};
    assert_int_equal(create(f, &op, &err), ORC_OK);
    assert_int_equal(revoke(f, "gone", 99, &err), ORC_OK);
    orci_key k;
    assert_int_equal(orci_keys_lookup(f->r, "gone", &k, &err), ORC_NOT_FOUND);
    assert_string_equal(err.message, "API key gone not found");
    /* revoking twice or an unknown key */
    assert_int_equal(revoke(f, "gone", 100, &err), ORC_NOT_FOUND);
    assert_int_equal(revoke(f, "never", 100, &err), ORC_NOT_FOUND);
    assert_int_equal(orci_keys_lookup(f->r, "never", &k, &err), ORC_NOT_FOUND);
}

typedef struct listing {
    int n;
    orci_key keys[8];
} listing;

static void collect(const orci_key *k, void *arg)
{
    listing *l = arg;
    if (l->n < 8)
        l->keys[l->n] = *k;
    l->n++;
}

static void test_keys_list_shows_all_oldest_first_without_secrets(void **state)
{
    fixture *f = *state;
    orc_error err = {0};
    const char *ids[3] = {"first", "second", "third"};
    for (int i = 0; i < 3; i++) {
        key_op op = {.name = ids[i], .scopes = 1u << i, .key_id = ids[i], .secret = "sec"};
        assert_int_equal(create(f, &op, &err), ORC_OK);
    }
    assert_int_equal(revoke(f, "second", 42, &err), ORC_OK);
    listing l = {0};
    assert_int_equal(orci_keys_list(f->r, collect, &l, &err), ORC_OK);
    assert_int_equal(l.n, 3);
    for (int i = 0; i < 3; i++) {
        assert_string_equal(l.keys[i].key_id, ids[i]);
        assert_int_equal(l.keys[i].scopes, 1u << i);
        assert_string_equal(l.keys[i].secret, "");
    }
    assert_int_equal(l.keys[0].revoked_at, 0);
    assert_int_equal(l.keys[1].revoked_at, 42);
}

static void test_keys_ensure_creates_updates_and_unrevokes(void **state)
{
    fixture *f = *state;
    orc_error err = {0};
    key_op op = {.name = "dev", .scopes = 1, .key_id = "example", .secret = "old", .now = 1};
    assert_int_equal(orci_store_write(f->s, ensure_job, &op, &err), ORC_OK);
    orci_key k;
    assert_int_equal(orci_keys_lookup(f->r, "example", &k, &err), ORC_OK);
    assert_string_equal(k.secret, "old");
    int64_t id = k.id;

    assert_int_equal(revoke(f, "example", 5, &err), ORC_OK);
    key_op again = {.name = "dev2", .scopes = 7, .key_id = "example", .secret = "new", .now = 9};
    assert_int_equal(orci_store_write(f->s, ensure_job, &again, &err), ORC_OK);
    assert_int_equal(orci_keys_lookup(f->r, "example", &k, &err), ORC_OK);
    assert_int_equal(k.id, id);
    assert_string_equal(k.name, "dev2");
    assert_string_equal(k.secret, "new");
    assert_int_equal(k.scopes, 7);
    assert_int_equal(k.revoked_at, 0);
    assert_int_equal(k.created_at, 1);
}

static void test_keys_refuse_bad_fields(void **state)
{
    fixture *f = *state;
    orc_error err = {0};
    char long_id[200];
    memset(long_id, 'k', sizeof long_id - 1);
    long_id[sizeof long_id - 1] = '\0';
    key_op op = {.name = "x", .scopes = 1, .key_id = long_id, .secret = "s"};
    assert_int_equal(create(f, &op, &err), ORC_INVALID_ARGUMENT);
    key_op empty = {.name = "x", .scopes = 1, .key_id = "", .secret = "s"};
    assert_int_equal(create(f, &empty, &err), ORC_INVALID_ARGUMENT);
    key_op nosecret = {.name = "x", .scopes = 1, .key_id = "k"};
    assert_int_equal(orci_store_write(f->s, ensure_job, &nosecret, &err), ORC_INVALID_ARGUMENT);
    listing l = {0};
    assert_int_equal(orci_keys_list(f->r, collect, &l, &err), ORC_OK);
    assert_int_equal(l.n, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_keys_create_makes_random_id_and_secret, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_keys_create_keeps_given_id_and_secret, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_keys_random_ids_are_distinct, setup, teardown),
        cmocka_unit_test_setup_teardown(test_keys_duplicate_key_id_already_exists, setup, teardown),
        cmocka_unit_test_setup_teardown(test_keys_revoked_key_is_not_found, setup, teardown),
        cmocka_unit_test_setup_teardown(test_keys_list_shows_all_oldest_first_without_secrets,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_keys_ensure_creates_updates_and_unrevokes, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_keys_refuse_bad_fields, setup, teardown),
    };
    return cmocka_run_group_tests_name("keys", tests, NULL, NULL);
}
