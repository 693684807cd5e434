/* The migration steps of the store (schema.h).
 *
 * Version 2: accounts.beneficiary, the current pledge (rule 5).
 * Version 1: the accepted log, each account's latest, and the pending signatures.
 * Uniqueness carries the replay rule in both dialects, also across several writers sharing
 * one PostgreSQL database: one digest (UNIQUE), one (account, sequence), one cursor
 * (PRIMARY KEY), so of two writers claiming any of them one commit fails.
 *
 * Sequences are 8-byte big-endian blobs in both dialects: SQLite integers and PostgreSQL
 * bigint are signed 64-bit, and bytes compare in numeric order, so "sequence <= ?" stays
 * exact for every uint64. Cursors fit a signed 64-bit integer (the store refuses more).
 *
 * Version 4: accepted.chain_hash, each record's link of the accepted chain
 * (custos/chain.h). Rows accepted before it are NULL until the gateway fills them in, in
 * cursor order, when it opens the store. And the audit log (custos/audit.h): entries are
 * only ever inserted, seq by seq; the primary key makes two writers racing for one seq
 * fail one of them.
 *
 * Version 6: reserves, each feed's signed reserves attestations with all their leaves
 * (store.h gw_store_reserves). sequence and as_of are 8-byte big-endian blobs like the
 * sequences above; (feed, sequence) is the key, so of two writers storing one feed's
 * sequence one commit fails.
 *
 * Version 7: held, the rises rule 6 holds back. A held row has consumed its
 * account's sequence (accounts.last_sequence) but has no cursor; a later record of the
 * account that is published marks it superseded, and it stays recorded, never published.
 *
 * Version 13: the publisher's chain view (PostgreSQL; SQLite keeps it in the publisher's
 * own file): each fate's feed and validUntil, and publisher_chain, each account's last
 * publication, which the publisher watches for on-chain expiry (docs/publishing.md §3).
 *
 * Version 14: what each pending row costs and whom it is charged to ([limits]
 * max_pending_*): its feed, its creator (the first signer), its bytes (the stored
 * attestation's), with covering indexes to sum them per feed and per creator, and one on
 * first_seen for the expiry sweep. Rows from before carry feed '', no creator and 0 bytes:
 * they count for nobody and expire by age. On PostgreSQL it can be applied again
 * harmlessly (IF NOT EXISTS), as a store restored under an older version number would.
 *
 * Version 16: notices, the collateral manager's accepted notices (rule 19), one blob each
 * (codec.h); (account, lender, sequence) is the key and the digest unique, so of two
 * writers storing one notice's sequence one commit fails. Written to be applied again
 * harmlessly (IF NOT EXISTS), as version 13 is.
 *
 * Version 17: notices join the accepted log (docs/attestation.md §19): each notice stored
 * from now on has a cursor, shared with accepted.cursor (the one writer holding the log
 * assigns both), and its chain_hash. Notices stored before keep NULL in both: they are not
 * in the log, and the chain stays as it was. A unique index on cursor keeps two notices
 * off one place; NULLs do not collide.
 *
 * Version 18: batches (rule 20, store.h gw_store_batch), one row per batch: its fields,
 * its signatures and signers (stored once for all its accounts), its leaves and the
 * attestations of the members the gateway refused, laid out as codec.h says; digest and
 * (feed, sequence) are unique, so of two writers storing one batch one commit fails.
 * accepted.batch_digest and held.batch_digest name the batch a record was signed in
 * (NULL: signed alone, its signatures in its own row), with an index that leaves singly
 * signed records out.
 *
 * Version 20: the publisher's batch calls (PostgreSQL; SQLite keeps them in the publisher's
 * own file, docs/publishing.md §14): a batch-signed record's batch digest, and for a member
 * of a batch call the cursor of the fate holding its transaction. Applied again harmlessly
 * (IF NOT EXISTS). */
#include "store/schema.h"

static const gw_schema_step schema_steps[] = {
    {
        .version = 1,
        .sqlite =
            "CREATE TABLE accounts ("
            "  account BLOB PRIMARY KEY,"
            "  feed TEXT NOT NULL,"
            "  last_sequence BLOB NOT NULL,"
            "  last_cursor INTEGER NOT NULL"
            ") WITHOUT ROWID;"
            "CREATE TABLE accepted ("
            "  cursor INTEGER PRIMARY KEY,"
            "  digest BLOB NOT NULL UNIQUE,"
            "  account BLOB NOT NULL,"
            "  sequence BLOB NOT NULL,"
            "  accepted_at INTEGER NOT NULL,"
            "  attestation BLOB NOT NULL," /* custos.v1.SignedAttestation, every signature */
            "  signers BLOB NOT NULL,"     /* 20 bytes per signature, in the same order */
            "  UNIQUE (account, sequence)"
            ");"
            "CREATE TABLE pending ("
            "  digest BLOB PRIMARY KEY,"
            "  account BLOB NOT NULL,"
            "  sequence BLOB NOT NULL,"
            "  attestation BLOB NOT NULL," /* the first submission of the digest */
            "  first_seen INTEGER NOT NULL"
            ") WITHOUT ROWID;"
            "CREATE INDEX pending_by_account ON pending (account, sequence);"
            /* A rowid table: rowid is the order the signatures were added in. */
            "CREATE TABLE pending_signers ("
            "  digest BLOB NOT NULL,"
            "  signer BLOB NOT NULL,"
            "  role INTEGER NOT NULL,"
            "  signature BLOB NOT NULL,"
            "  PRIMARY KEY (digest, signer)"
            ");",
        .postgresql =
            "CREATE TABLE accounts ("
            "  account bytea PRIMARY KEY,"
            "  feed text NOT NULL,"
            "  last_sequence bytea NOT NULL,"
            "  last_cursor bigint NOT NULL"
            ");"
            /* The cursor is assigned by the one writer holding the log's head, not by a
             * sequence: sequence numbers are handed out in insert order, not commit order,
             * so a reader following "cursor > last seen" could skip a row committing late. */
            "CREATE TABLE accepted ("
            "  cursor bigint PRIMARY KEY CHECK (cursor > 0),"
            "  digest bytea NOT NULL UNIQUE,"
            "  account bytea NOT NULL,"
            "  sequence bytea NOT NULL,"
            "  accepted_at bigint NOT NULL,"
            "  attestation bytea NOT NULL,"
            "  signers bytea NOT NULL,"
            "  UNIQUE (account, sequence)"
            ");"
            "CREATE TABLE pending ("
            "  digest bytea PRIMARY KEY,"
            "  account bytea NOT NULL,"
            "  sequence bytea NOT NULL,"
            "  attestation bytea NOT NULL,"
            "  first_seen bigint NOT NULL"
            ");"
            "CREATE INDEX pending_by_account ON pending (account, sequence);"
            /* added plays SQLite's rowid: the order the signatures were added in. */
            "CREATE TABLE pending_signers ("
            "  added bigint GENERATED ALWAYS AS IDENTITY,"
            "  digest bytea NOT NULL,"
            "  signer bytea NOT NULL,"
            "  role integer NOT NULL,"
            "  signature bytea NOT NULL,"
            "  PRIMARY KEY (digest, signer)"
            ");",
    },
    {
        /* Rule 5: the beneficiary an account is pledged to, the zero address when
         * none (also every account accepted before this step: none was enforced). */
        .version = 2,
        .sqlite = "ALTER TABLE accounts ADD COLUMN beneficiary BLOB NOT NULL "
                  "DEFAULT x'0000000000000000000000000000000000000000';",
        .postgresql = "ALTER TABLE accounts ADD COLUMN beneficiary bytea NOT NULL "
                      "DEFAULT '\\x0000000000000000000000000000000000000000'::bytea;",
    },
    {
        /* Version 4: the accepted chain (chain_hash per record) and the audit log. */
        .version = 4,
        .sqlite = "ALTER TABLE accepted ADD COLUMN chain_hash BLOB;"
                  "CREATE TABLE audit ("
                  "  seq INTEGER PRIMARY KEY CHECK (seq > 0),"
                  "  time INTEGER NOT NULL,"
                  "  actor TEXT NOT NULL,"
                  "  action TEXT NOT NULL,"
                  "  payload BLOB NOT NULL,"
                  "  prev_hash BLOB NOT NULL,"
                  "  hash BLOB NOT NULL"
                  ");",
        .postgresql = "ALTER TABLE accepted ADD COLUMN chain_hash bytea;"
                      "CREATE TABLE audit ("
                      "  seq bigint PRIMARY KEY CHECK (seq > 0),"
                      "  time bigint NOT NULL,"
                      "  actor text NOT NULL,"
                      "  action text NOT NULL,"
                      "  payload bytea NOT NULL,"
                      "  prev_hash bytea NOT NULL,"
                      "  hash bytea NOT NULL"
                      ");",
    },
    {
        /* Version 5: the EVM publisher's state, shared by the replicas of a PostgreSQL
         * store (pubstate_pg.c; columns as in pubstate_sqlite.c, bigint holding the
         * bit pattern of a uint64). A SQLite store has one gateway, whose publisher keeps
         * its state in a file of its own ([evm] state): nothing to add there. */
        .version = 5,
        .sqlite = "SELECT 1",
        .postgresql =
            "CREATE TABLE publisher_meta ("
            "  one boolean PRIMARY KEY DEFAULT true CHECK (one),"
            "  cursor bigint NOT NULL"
            ");"
            "INSERT INTO publisher_meta (cursor) VALUES (0);"
            "CREATE TABLE publisher_fates ("
            "  cursor bigint PRIMARY KEY,"
            "  account bytea NOT NULL,"
            "  sequence bigint NOT NULL,"
            "  kind integer NOT NULL,"
            "  beneficiary bytea NOT NULL,"
            "  value bytea NOT NULL,"
            "  as_of bigint NOT NULL,"
            "  fate integer NOT NULL CHECK (fate BETWEEN 0 AND 3),"
            "  detail text NOT NULL,"
            "  nonce bigint,"
            "  max_fee bytea,"
            "  priority_fee bytea,"
            "  gas_limit bigint,"
            "  sent_at bigint,"
            "  tx_hash bytea,"
            "  raw bytea"
            ");"
            "CREATE INDEX publisher_fates_by_account ON publisher_fates (account, cursor);"
            "CREATE INDEX publisher_fates_by_fate ON publisher_fates (fate, nonce);"
            /* added plays SQLite's rowid: attempts are listed newest first. */
            "CREATE TABLE publisher_attempts ("
            "  added bigint GENERATED ALWAYS AS IDENTITY,"
            "  tx_hash bytea PRIMARY KEY,"
            "  cursor bigint NOT NULL REFERENCES publisher_fates (cursor)"
            ");"
            "CREATE INDEX publisher_attempts_by_cursor ON publisher_attempts (cursor);",
    },
    {
        /* Version 6: reserves attestations (SubmitReserves). */
        .version = 6,
        .sqlite = "CREATE TABLE reserves ("
                  "  feed TEXT NOT NULL,"
                  "  sequence BLOB NOT NULL,"
                  "  digest BLOB NOT NULL UNIQUE,"
                  "  total BLOB NOT NULL,"    /* uint256, 32 bytes big-endian */
                  "  accounts INTEGER NOT NULL,"
                  "  accounts_root BLOB NOT NULL,"
                  "  as_of BLOB NOT NULL,"
                  "  signer BLOB NOT NULL,"
                  "  signature BLOB NOT NULL,"
                  "  accepted_at INTEGER NOT NULL,"
                  "  leaves BLOB NOT NULL,"   /* 64 bytes per account: id, value */
                  "  PRIMARY KEY (feed, sequence)"
                  ") WITHOUT ROWID;",
        .postgresql = "CREATE TABLE reserves ("
                      "  feed text NOT NULL,"
                      "  sequence bytea NOT NULL,"
                      "  digest bytea NOT NULL UNIQUE,"
                      "  total bytea NOT NULL,"
                      "  accounts bigint NOT NULL,"
                      "  accounts_root bytea NOT NULL,"
                      "  as_of bytea NOT NULL,"
                      "  signer bytea NOT NULL,"
                      "  signature bytea NOT NULL,"
                      "  accepted_at bigint NOT NULL,"
                      "  leaves bytea NOT NULL,"
                      "  PRIMARY KEY (feed, sequence)"
                      ");",
    },
    {
        /* Version 7: the rises the circuit breaker holds (rule 6). */
        .version = 7,
        .sqlite = "CREATE TABLE held ("
                  "  digest BLOB PRIMARY KEY,"
                  "  account BLOB NOT NULL,"
                  "  sequence BLOB NOT NULL,"
                  "  held_at INTEGER NOT NULL,"
                  "  attestation BLOB NOT NULL," /* as accepted.attestation */
                  "  signers BLOB NOT NULL,"
                  "  superseded INTEGER NOT NULL DEFAULT 0,"
                  "  UNIQUE (account, sequence)"
                  ") WITHOUT ROWID;",
        .postgresql = "CREATE TABLE held ("
                      "  digest bytea PRIMARY KEY,"
                      "  account bytea NOT NULL,"
                      "  sequence bytea NOT NULL,"
                      "  held_at bigint NOT NULL,"
                      "  attestation bytea NOT NULL,"
                      "  signers bytea NOT NULL,"
                      "  superseded boolean NOT NULL DEFAULT false,"
                      "  UNIQUE (account, sequence)"
                      ");",
    },
    {
        /* Version 8: the accepted log loses its index on digest. A digest names one
         * (account, sequence), which has its own unique index, so the lookup goes through
         * that; the digest index cost a random page write per accepted attestation (a third
         * of the store's write traffic). SQLite cannot drop an inline UNIQUE: the table is
         * rebuilt, same columns in the same order. */
        .version = 8,
        .sqlite = "CREATE TABLE accepted_v8 ("
                  "  cursor INTEGER PRIMARY KEY,"
                  "  digest BLOB NOT NULL,"
                  "  account BLOB NOT NULL,"
                  "  sequence BLOB NOT NULL,"
                  "  accepted_at INTEGER NOT NULL,"
                  "  attestation BLOB NOT NULL,"
                  "  signers BLOB NOT NULL,"
                  "  chain_hash BLOB,"
                  "  UNIQUE (account, sequence)"
                  ");"
                  "INSERT INTO accepted_v8 (cursor, digest, account, sequence, accepted_at, "
                  "  attestation, signers, chain_hash) "
                  "SELECT cursor, digest, account, sequence, accepted_at, attestation, signers, "
                  "  chain_hash FROM accepted ORDER BY cursor;"
                  "DROP TABLE accepted;"
                  "ALTER TABLE accepted_v8 RENAME TO accepted;",
        .postgresql = "ALTER TABLE accepted DROP CONSTRAINT IF EXISTS accepted_digest_key;",
    },
    {
        /* Version 13: the publisher's chain view (pubstate_pg.c). Fates stored before carry
         * feed '' and valid_until 0 until the publisher fills them in from the accepted
         * log. Written to be applied again harmlessly (IF NOT EXISTS, ON CONFLICT), as a
         * store restored under an older version number would. A SQLite store's publisher
         * keeps its state in a file of its own. */
        .version = 13,
        .sqlite = "SELECT 1",
        .postgresql =
            "ALTER TABLE publisher_fates ADD COLUMN IF NOT EXISTS feed text NOT NULL DEFAULT '',"
            "  ADD COLUMN IF NOT EXISTS valid_until bigint NOT NULL DEFAULT 0;"
            "CREATE TABLE IF NOT EXISTS publisher_chain ("
            "  account bytea PRIMARY KEY,"
            "  cursor bigint NOT NULL,"
            "  feed text NOT NULL,"
            "  kind integer NOT NULL,"
            "  as_of bigint NOT NULL,"
            "  valid_until bigint NOT NULL"
            ");"
            "CREATE INDEX IF NOT EXISTS publisher_chain_by_valid_until ON publisher_chain "
            "  (feed, kind, valid_until);"
            "CREATE INDEX IF NOT EXISTS publisher_chain_by_as_of ON publisher_chain "
            "  (feed, kind, as_of);"
            "CREATE INDEX IF NOT EXISTS publisher_chain_by_cursor ON publisher_chain (cursor);"
            "INSERT INTO publisher_chain (account, cursor, feed, kind, as_of, valid_until) "
            "SELECT DISTINCT ON (account) account, cursor, feed, kind, as_of, valid_until "
            "FROM publisher_fates WHERE fate IN (1, 2) ORDER BY account, cursor DESC "
            "ON CONFLICT (account) DO NOTHING;",
    },
    {
        .version = 14,
        .sqlite = "ALTER TABLE pending ADD COLUMN feed TEXT NOT NULL DEFAULT '';"
                  "ALTER TABLE pending ADD COLUMN creator BLOB NOT NULL DEFAULT x'';"
                  "ALTER TABLE pending ADD COLUMN bytes INTEGER NOT NULL DEFAULT 0;"
                  "CREATE INDEX pending_by_feed ON pending (feed, bytes);"
                  "CREATE INDEX pending_by_creator ON pending (creator, bytes);"
                  "CREATE INDEX pending_by_first_seen ON pending (first_seen);",
        .postgresql =
            "ALTER TABLE pending ADD COLUMN IF NOT EXISTS feed text NOT NULL DEFAULT '',"
            "  ADD COLUMN IF NOT EXISTS creator bytea NOT NULL DEFAULT '\\x'::bytea,"
            "  ADD COLUMN IF NOT EXISTS bytes bigint NOT NULL DEFAULT 0;"
            "CREATE INDEX IF NOT EXISTS pending_by_feed ON pending (feed, bytes);"
            "CREATE INDEX IF NOT EXISTS pending_by_creator ON pending (creator, bytes);"
            "CREATE INDEX IF NOT EXISTS pending_by_first_seen ON pending (first_seen);",
    },
    {
        /* Version 15: reserves attestations of the first form (accountsRoot, a plain Merkle
         * tree) are dropped: their signatures do not verify as the sum tree's form
         * (attestation.md §18), so no proof could be served from them; the attestor signs
         * the next one afresh. The table is made again with `signatures`: every signature
         * verified on a reserves attestation (65 bytes each, as sent), so a quorum's stays
         * with it. Dropped and made whole, so that applying it again changes nothing a
         * store keeps for good. */
        .version = 15,
        .sqlite = "DROP TABLE reserves;"
                  "CREATE TABLE reserves ("
                  "  feed TEXT NOT NULL,"
                  "  sequence BLOB NOT NULL,"
                  "  digest BLOB NOT NULL UNIQUE,"
                  "  total BLOB NOT NULL,"
                  "  accounts INTEGER NOT NULL,"
                  "  accounts_root BLOB NOT NULL," /* the sum tree's root (sumRoot) */
                  "  as_of BLOB NOT NULL,"
                  "  signer BLOB NOT NULL,"
                  "  signature BLOB NOT NULL,"
                  "  accepted_at INTEGER NOT NULL,"
                  "  leaves BLOB NOT NULL,"
                  "  signatures BLOB NOT NULL,"
                  "  PRIMARY KEY (feed, sequence)"
                  ") WITHOUT ROWID;",
        .postgresql = "DROP TABLE reserves;"
                      "CREATE TABLE reserves ("
                      "  feed text NOT NULL,"
                      "  sequence bytea NOT NULL,"
                      "  digest bytea NOT NULL UNIQUE,"
                      "  total bytea NOT NULL,"
                      "  accounts bigint NOT NULL,"
                      "  accounts_root bytea NOT NULL,"
                      "  as_of bytea NOT NULL,"
                      "  signer bytea NOT NULL,"
                      "  signature bytea NOT NULL,"
                      "  accepted_at bigint NOT NULL,"
                      "  leaves bytea NOT NULL,"
                      "  signatures bytea NOT NULL,"
                      "  PRIMARY KEY (feed, sequence)"
                      ");",
    },
    {
        .version = 16,
        .sqlite = "CREATE TABLE IF NOT EXISTS notices ("
                  "  account BLOB NOT NULL,"
                  "  lender BLOB NOT NULL,"
                  "  sequence BLOB NOT NULL,"
                  "  digest BLOB NOT NULL UNIQUE,"
                  "  accepted_at INTEGER NOT NULL,"
                  "  body BLOB NOT NULL,"
                  "  PRIMARY KEY (account, lender, sequence)"
                  ") WITHOUT ROWID;"
                  "CREATE INDEX IF NOT EXISTS notices_by_time ON notices (account, accepted_at, sequence);",
        .postgresql = "CREATE TABLE IF NOT EXISTS notices ("
                      "  account bytea NOT NULL,"
                      "  lender bytea NOT NULL,"
                      "  sequence bytea NOT NULL,"
                      "  digest bytea NOT NULL UNIQUE,"
                      "  accepted_at bigint NOT NULL,"
                      "  body bytea NOT NULL,"
                      "  PRIMARY KEY (account, lender, sequence)"
                      ");"
                      "CREATE INDEX IF NOT EXISTS notices_by_time ON notices (account, accepted_at, sequence);",
    },
    {
        .version = 17,
        .sqlite = "ALTER TABLE notices ADD COLUMN cursor INTEGER CHECK (cursor > 0);"
                  "ALTER TABLE notices ADD COLUMN chain_hash BLOB;"
                  "CREATE UNIQUE INDEX IF NOT EXISTS notices_by_cursor ON notices (cursor);",
        .postgresql = "ALTER TABLE notices ADD COLUMN IF NOT EXISTS cursor bigint "
                      "CHECK (cursor > 0),"
                      "  ADD COLUMN IF NOT EXISTS chain_hash bytea;"
                      "CREATE UNIQUE INDEX IF NOT EXISTS notices_by_cursor ON notices (cursor);",
    },
    {
        .version = 18,
        .sqlite = "CREATE TABLE batches ("
                  "  digest BLOB PRIMARY KEY,"
                  "  feed TEXT NOT NULL,"
                  "  sequence BLOB NOT NULL,"
                  "  body BLOB NOT NULL,"
                  "  signatures BLOB NOT NULL,"
                  "  signers BLOB NOT NULL,"
                  "  leaves BLOB NOT NULL,"
                  "  refused BLOB NOT NULL,"
                  "  accepted_at INTEGER NOT NULL,"
                  "  UNIQUE (feed, sequence)"
                  ") WITHOUT ROWID;"
                  "ALTER TABLE accepted ADD COLUMN batch_digest BLOB;"
                  "ALTER TABLE held ADD COLUMN batch_digest BLOB;"
                  "CREATE INDEX accepted_by_batch ON accepted (batch_digest) "
                  "  WHERE batch_digest IS NOT NULL;"
                  "CREATE INDEX held_by_batch ON held (batch_digest) "
                  "  WHERE batch_digest IS NOT NULL;",
        .postgresql = "CREATE TABLE IF NOT EXISTS batches ("
                      "  digest bytea PRIMARY KEY,"
                      "  feed text NOT NULL,"
                      "  sequence bytea NOT NULL,"
                      "  body bytea NOT NULL,"
                      "  signatures bytea NOT NULL,"
                      "  signers bytea NOT NULL,"
                      "  leaves bytea NOT NULL,"
                      "  refused bytea NOT NULL,"
                      "  accepted_at bigint NOT NULL,"
                      "  UNIQUE (feed, sequence)"
                      ");"
                      "ALTER TABLE accepted ADD COLUMN IF NOT EXISTS batch_digest bytea;"
                      "ALTER TABLE held ADD COLUMN IF NOT EXISTS batch_digest bytea;"
                      "CREATE INDEX IF NOT EXISTS accepted_by_batch ON accepted (batch_digest) "
                      "  WHERE batch_digest IS NOT NULL;"
                      "CREATE INDEX IF NOT EXISTS held_by_batch ON held (batch_digest) "
                      "  WHERE batch_digest IS NOT NULL;",
    },
    {
        .version = 20,
        .sqlite = "SELECT 1",
        .postgresql =
            "ALTER TABLE publisher_fates ADD COLUMN IF NOT EXISTS batch_digest bytea,"
            "  ADD COLUMN IF NOT EXISTS call_cursor bigint NOT NULL DEFAULT 0;",
    },
    {
        /* Version 21: whether a batch call carries part of its batch (submitBatchPart,
         * docs/publishing.md §14). A SQLite store's publisher keeps it in its own file. */
        .version = 21,
        .sqlite = "SELECT 1",
        .postgresql =
            "ALTER TABLE publisher_fates ADD COLUMN IF NOT EXISTS part integer NOT NULL "
            "DEFAULT 0;",
    },
    {
        /* Version 22: SQLite's accounts become a rowid table, each account at a place
         * taken when it is first stored (docs/storage.md §4). Keyed by account id, the
         * accounts of one book sat at random places of the B-tree and a revaluation dirtied
         * a page per account; in rowid order a book's accounts, first stored together, share
         * a few pages, and an update that leaves the account id alone does not write its
         * unique index. Existing accounts take places in the order of their latest records,
         * so a book valued together stays together. PostgreSQL's heap already keeps rows in
         * insertion order, and an update that leaves the key alone writes no index entry if
         * the row's page has room for the new version (HOT): pages written from now on keep
         * a fifth free for that. */
        .version = 22,
        .sqlite = "CREATE TABLE accounts_v22 ("
                  "  ordinal INTEGER PRIMARY KEY,"
                  "  account BLOB NOT NULL UNIQUE,"
                  "  feed TEXT NOT NULL,"
                  "  last_sequence BLOB NOT NULL,"
                  "  last_cursor INTEGER NOT NULL,"
                  "  beneficiary BLOB NOT NULL"
                  ");"
                  "INSERT INTO accounts_v22 (account, feed, last_sequence, last_cursor, "
                  "  beneficiary) "
                  "SELECT account, feed, last_sequence, last_cursor, beneficiary FROM accounts "
                  "ORDER BY last_cursor, account;"
                  "DROP TABLE accounts;"
                  "ALTER TABLE accounts_v22 RENAME TO accounts;",
        .postgresql = "ALTER TABLE accounts SET (fillfactor = 80);",
    },
    {
        /* Version 23: SQLite's accepted log links each record to its account's previous
         * one (prev_cursor) and loses its unique index on (account, sequence), the last
         * index written at a random place for every accepted record (docs/storage.md §4).
         * An account's records are found by following the links back from accounts'
         * last_cursor, by rowid; the store refuses a record whose sequence is not above its
         * account's latest (the single writer's guard, sqlite_log.c). The table is
         * rebuilt, as in version 8. PostgreSQL keeps its unique index: replicas writing one
         * store need it to refuse each other's duplicates. */
        .version = 23,
        .sqlite = "CREATE TABLE accepted_v23 ("
                  "  cursor INTEGER PRIMARY KEY,"
                  "  digest BLOB NOT NULL,"
                  "  account BLOB NOT NULL,"
                  "  sequence BLOB NOT NULL,"
                  "  accepted_at INTEGER NOT NULL,"
                  "  attestation BLOB NOT NULL,"
                  "  signers BLOB NOT NULL,"
                  "  chain_hash BLOB,"
                  "  batch_digest BLOB,"
                  "  prev_cursor INTEGER"
                  ");"
                  "INSERT INTO accepted_v23 (cursor, digest, account, sequence, accepted_at, "
                  "  attestation, signers, chain_hash, batch_digest, prev_cursor) "
                  "SELECT cursor, digest, account, sequence, accepted_at, attestation, signers, "
                  "  chain_hash, batch_digest, "
                  "  lag(cursor) OVER (PARTITION BY account ORDER BY cursor) "
                  "FROM accepted ORDER BY cursor;"
                  "DROP TABLE accepted;"
                  "ALTER TABLE accepted_v23 RENAME TO accepted;"
                  "CREATE INDEX accepted_by_batch ON accepted (batch_digest) "
                  "  WHERE batch_digest IS NOT NULL;",
        .postgresql = NULL,
    },
    {
        /* Version 24 (SQLite): the accounts a batch's own commit accepted are found from its
         * row, which keeps the first and last of their cursors, and leave accepted_by_batch,
         * whose entry per account was a tenth of a batch's cost (docs/storage.md §10). The
         * index keeps the rows marked late: an account accepted after its batch's commit (a
         * held one released) and every batched record stored before this step. PostgreSQL
         * keeps its index. */
        .version = 24,
        .sqlite = "ALTER TABLE batches ADD COLUMN first_cursor INTEGER;"
                  "ALTER TABLE batches ADD COLUMN last_cursor INTEGER;"
                  "ALTER TABLE accepted ADD COLUMN late INTEGER;"
                  "UPDATE accepted SET late = 1 WHERE batch_digest IS NOT NULL;"
                  "DROP INDEX accepted_by_batch;"
                  "CREATE INDEX accepted_by_batch ON accepted (batch_digest) WHERE late = 1;",
        .postgresql = NULL,
    },
    {
        /* Version 25 (SQLite): accounts lose their unique index on the account id, the last
         * index written at a random place for every new account (docs/storage.md §4). The
         * store holds every account's place in memory, read from the table when it opens
         * (sqlite_ids.h), and reads and writes a row by its place, comparing the id. The
         * table is rebuilt, each account at its place. PostgreSQL keeps its key: replicas
         * writing one store need it to refuse each other's duplicates. */
        .version = 25,
        .sqlite = "CREATE TABLE accounts_v25 ("
                  "  ordinal INTEGER PRIMARY KEY,"
                  "  account BLOB NOT NULL,"
                  "  feed TEXT NOT NULL,"
                  "  last_sequence BLOB NOT NULL,"
                  "  last_cursor INTEGER NOT NULL,"
                  "  beneficiary BLOB NOT NULL"
                  ");"
                  "INSERT INTO accounts_v25 (ordinal, account, feed, last_sequence, last_cursor, "
                  "  beneficiary) "
                  "SELECT ordinal, account, feed, last_sequence, last_cursor, beneficiary "
                  "FROM accounts ORDER BY ordinal;"
                  "DROP TABLE accounts;"
                  "ALTER TABLE accounts_v25 RENAME TO accounts;",
        .postgresql = NULL,
    },
};

const gw_schema_step *gw_schema_steps(size_t *n)
{
    *n = sizeof schema_steps / sizeof schema_steps[0];
    return schema_steps;
}

unsigned gw_schema_latest(void)
{
    return schema_steps[sizeof schema_steps / sizeof schema_steps[0] - 1].version;
}

const char *gw_schema_ddl(const gw_schema_step *step, gw_schema_dialect dialect)
{
    return dialect == GW_SCHEMA_POSTGRESQL ? step->postgresql : step->sqlite;
}
