/* The PostgreSQL back end of the publisher state (publisher_state.h), used through
 * gw_pubstate_open_pg; the functions mirror gw_pubstate_* one for one. */
#ifndef GATEWAY_PUBLISHER_STATE_PG_H
#define GATEWAY_PUBLISHER_STATE_PG_H

#include "store/pubstate.h"

typedef struct gw_pubstate_pg gw_pubstate_pg;

custos_rc gw_pubstate_pg_open(const char *conninfo, gw_pubstate_pg **out, custos_error *err);
void gw_pubstate_pg_close(gw_pubstate_pg *s);
custos_rc gw_pubstate_pg_cursor(gw_pubstate_pg *s, uint64_t *cursor, custos_error *err);
custos_rc gw_pubstate_pg_advance(gw_pubstate_pg *s, uint64_t cursor, custos_error *err);
custos_rc gw_pubstate_pg_put(gw_pubstate_pg *s, const gw_pub_row *row, custos_error *err);
custos_rc gw_pubstate_pg_get(gw_pubstate_pg *s, uint64_t cursor, gw_pub_row *out,
                             custos_error *err);
custos_rc gw_pubstate_pg_replace_tx(gw_pubstate_pg *s, uint64_t cursor, const gw_pub_tx *tx,
                                    custos_error *err);
custos_rc gw_pubstate_pg_finish(gw_pubstate_pg *s, uint64_t cursor, gw_pub_fate fate,
                                const char *detail, custos_error *err);
custos_rc gw_pubstate_pg_last_published(gw_pubstate_pg *s,
                                        const uint8_t account[CUSTOS_HASH_LEN],
                                        gw_pub_row *out, custos_error *err);
custos_rc gw_pubstate_pg_list_sent(gw_pubstate_pg *s, gw_pub_row **rows, size_t *n,
                                   custos_error *err);
custos_rc gw_pubstate_pg_attempts(gw_pubstate_pg *s, uint64_t cursor,
                                  uint8_t hashes[][CUSTOS_HASH_LEN], size_t max, size_t *n,
                                  custos_error *err);

#endif
