/* The store's schema, one place for every back end: the versioned migration steps as data,
 * each with its DDL per SQL dialect (they differ only where the dialects do: BLOB vs bytea,
 * rowid vs identity). A back end applies, in order and in one transaction, every step above
 * the version its database records, then records the last one (SQLite: PRAGMA
 * user_version; PostgreSQL: the custos_schema table).
 *
 * Steps are append-only: a released step is never edited, a change is a new step. */
#ifndef GATEWAY_SCHEMA_H
#define GATEWAY_SCHEMA_H

#include <stddef.h>

typedef enum gw_schema_dialect { GW_SCHEMA_SQLITE, GW_SCHEMA_POSTGRESQL } gw_schema_dialect;

typedef struct gw_schema_step {
    unsigned version;        /* increasing; numbers never used are skipped */
    const char *sqlite;      /* one or more statements separated by ';'; NULL: nothing */
    const char *postgresql;  /* likewise */
} gw_schema_step;

/* The steps in order; *n gets their count. */
const gw_schema_step *gw_schema_steps(size_t *n);
/* The version a fully migrated database records (the last step's). */
unsigned gw_schema_latest(void);
/* The DDL of a step in a dialect; NULL when the step changes nothing in it. */
const char *gw_schema_ddl(const gw_schema_step *step, gw_schema_dialect dialect);

#endif
