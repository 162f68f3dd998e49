/*
 * dbutil.h: the small pieces every module that reads the store or outside text would
 * otherwise write for itself: the code of a store error, the one-value query, and the
 * character count of UTF-8 text. Any thread; an orci_db from one thread at a time.
 */
#ifndef ORCI_DBUTIL_H
#define ORCI_DBUTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

/*
 * orci_db_code is the code of an error an orci_db_* call already reported in err, and
 * ORC_INTERNAL when err is NULL or holds no error.
 */
static inline int orci_db_code(const orc_error *err)
{
    return err != NULL && err->code != ORC_OK ? (int)err->code : ORC_INTERNAL;
}

/*
 * orci_db_one_id steps a bound one-column query once: *found tells whether a row came,
 * *id holds its first column (0 when none).
 */
int orci_db_one_id(orci_db *db, orci_stmt *st, int64_t *id, bool *found, orc_error *err);

/*
 * orci_db_first_row steps a bound query to its first row: ORC_OK with the row ready (the
 * caller reads it, then resets st), ORC_NOT_FOUND with not_found as the message when there
 * is none, or the store's code.
 */
int orci_db_first_row(orci_db *db, orci_stmt *st, const char *not_found, orc_error *err);

/* orci_utf8_chars counts the characters of valid UTF-8 text (as SQLite's length() does). */
size_t orci_utf8_chars(const char *s);

#endif
