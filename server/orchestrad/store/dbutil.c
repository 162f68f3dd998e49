/*
 * dbutil.c: see dbutil.h.
 */
#include "store/dbutil.h"

#include "store/db.h"

int orci_db_one_id(orci_db *db, orci_stmt *st, int64_t *id, bool *found, orc_error *err)
{
    int r = orci_db_row(db, st, err);
    if (r < 0)
        return orci_db_code(err);
    *found = r == 1;
    *id = r == 1 ? orci_col_int(st, 0) : 0;
    /* orci_db_row resets a finished statement itself; a row still pending is ours. */
    if (r == 1)
        orci_stmt_reset(st);
    return ORC_OK;
}

int orci_db_first_row(orci_db *db, orci_stmt *st, const char *not_found, orc_error *err)
{
    int r = orci_db_row(db, st, err);
    if (r < 0)
        return orci_db_code(err);
    if (r == 0)
        return orc_error_set(err, ORC_NOT_FOUND, "%s", not_found);
    return ORC_OK;
}

size_t orci_utf8_chars(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        if (((unsigned char)*s & 0xC0) != 0x80)
            n++;
    return n;
}
