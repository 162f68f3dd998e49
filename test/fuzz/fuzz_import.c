/*
 * fuzz_import.c: an upstream database dump (`manage.py dumpdata orchestra auth.User`,
 * Django's fixture format) through the import's parsing and checking, orci_import_parse
 * (server/orchestrad/domain/import.h): every record's model, pk, fields, types, enums,
 * lengths and JSON data. Writing a plan is reached through fuzz_rpc_body's ImportFixture.
 * Seeds: the integration tests' hand-written upstream fixture and parts of it.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "domain/import.h"
#include "log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int started;
    if (!started) {
        orci_log_init("fuzz", ORCI_LOG_ERROR);
        started = 1;
    }
    orci_import_plan *p = NULL;
    orc_error err;
    orc_error_clear(&err);
    int rc = orci_import_parse((const char *)data, size, &p, &err);
    /* A plan exactly when it succeeds; a refusal says why. */
    if ((rc == ORC_OK) != (p != NULL) || (rc != ORC_OK && !err.message[0]))
        abort();
    orci_import_plan_free(p);
    return 0;
}
