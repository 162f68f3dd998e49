/*
 * migrate.h: moving a SQLite database into PostgreSQL (`orchestrad migrate-store`, issue 19).
 *
 * The source file is opened as orchestrad opens it (its migrations applied), the target
 * database as the active coordinator does (it must not be served meanwhile: the store's lock is
 * taken; schema/pg/ applied). Every table is then copied, row by row with its ids, inside one
 * transaction of the target, and each table's row count is compared on both sides before the
 * COMMIT: all or nothing, verified by counts. The target must hold no data yet (no workflow,
 * project, user or task). Triggers and foreign keys are off for the copy
 * (session_replication_role = replica: the rows are copied as they are, the hand-out queue
 * with them), which needs a PostgreSQL superuser.
 */
#ifndef ORCI_MIGRATE_H
#define ORCI_MIGRATE_H

#include <stdint.h>

#include "orchestra/error.h"

#define ORCI_MIGRATE_MAX_TABLES 64

typedef struct orci_migrate_table {
    char name[64];
    int64_t rows;
} orci_migrate_table;

/* What was moved: each table and its rows (the same count on both sides). */
typedef struct orci_migrate_report {
    orci_migrate_table tables[ORCI_MIGRATE_MAX_TABLES];
    int n_tables;
    int64_t rows;
    int schema_version;
} orci_migrate_report;

/*
 * orci_store_migrate copies the SQLite database at from into the PostgreSQL database at to
 * (a postgres:// or postgresql:// URL). ORC_OK with *rep filled once committed; otherwise
 * nothing was written to the target (ORC_FAILED_PRECONDITION: the target holds data, another
 * coordinator serves it, or the counts differ; ORC_NOT_FOUND: no source file).
 */
int orci_store_migrate(const char *from, const char *to, orci_migrate_report *rep, orc_error *err);

#endif
