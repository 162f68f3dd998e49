/*
 * migrations_pg.h: the PostgreSQL migrations embedded from schema/pg/ at build time
 * (cmake/postgres.cmake): numbered as SQLite's in schema/, each applied once, in order, and
 * recorded in the table orc_schema_version.
 */
#ifndef ORCI_MIGRATIONS_PG_H
#define ORCI_MIGRATIONS_PG_H

#include <stddef.h>

#include "store/migrations.h"

extern const orci_migration orci_pg_migrations[];
extern const size_t orci_pg_migrations_count;

#endif
