/*
 * migrations.h: the schema migrations embedded from schema/ at build time
 * (cmake/embed_migrations.cmake). Numbers ascend; each is applied once, in order, and
 * recorded in PRAGMA user_version.
 */
#ifndef ORCI_MIGRATIONS_H
#define ORCI_MIGRATIONS_H

#include <stddef.h>

typedef struct orci_migration {
    int version;
    const char *name;
    const char *sql;
} orci_migration;

extern const orci_migration orci_migrations[];
extern const size_t orci_migrations_count;

#endif
