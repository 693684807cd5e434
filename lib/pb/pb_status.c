#include "pb_status.h"

#include <stdbool.h>
#include <string.h>

/* Indexed by reason. */
static const grpc_status_code statuses[CUSTOS_REASON_COUNT] = {
    [CUSTOS_REASON_NONE] = GRPC_STATUS_OK,
    [CUSTOS_REASON_MALFORMED] = GRPC_STATUS_INVALID_ARGUMENT,
    [CUSTOS_REASON_TOO_LARGE] = GRPC_STATUS_RESOURCE_EXHAUSTED,
    [CUSTOS_REASON_WRONG_DOMAIN] = GRPC_STATUS_INVALID_ARGUMENT,
    [CUSTOS_REASON_UNKNOWN_FEED] = GRPC_STATUS_NOT_FOUND,
    [CUSTOS_REASON_BAD_SIGNATURE] = GRPC_STATUS_UNAUTHENTICATED,
    [CUSTOS_REASON_NON_CANONICAL_SIGNATURE] = GRPC_STATUS_INVALID_ARGUMENT,
    [CUSTOS_REASON_UNKNOWN_SIGNER] = GRPC_STATUS_PERMISSION_DENIED,
    [CUSTOS_REASON_REVOKED_SIGNER] = GRPC_STATUS_PERMISSION_DENIED,
    [CUSTOS_REASON_UNAUTHORIZED_SIGNER] = GRPC_STATUS_PERMISSION_DENIED,
    [CUSTOS_REASON_DUPLICATE_SIGNER] = GRPC_STATUS_INVALID_ARGUMENT,
    [CUSTOS_REASON_STALE] = GRPC_STATUS_FAILED_PRECONDITION,
    [CUSTOS_REASON_FUTURE] = GRPC_STATUS_FAILED_PRECONDITION,
    [CUSTOS_REASON_EXPIRED] = GRPC_STATUS_FAILED_PRECONDITION,
    [CUSTOS_REASON_TTL_TOO_LONG] = GRPC_STATUS_FAILED_PRECONDITION,
    [CUSTOS_REASON_REPLAY] = GRPC_STATUS_ALREADY_EXISTS,
    [CUSTOS_REASON_PLEDGED_ELSEWHERE] = GRPC_STATUS_FAILED_PRECONDITION,
    [CUSTOS_REASON_UNAVAILABLE] = GRPC_STATUS_UNAVAILABLE,
    [CUSTOS_REASON_INTERNAL] = GRPC_STATUS_INTERNAL,
    [CUSTOS_REASON_UNAUTHORIZED_CLIENT] = GRPC_STATUS_PERMISSION_DENIED,
    [CUSTOS_REASON_RATE_LIMITED] = GRPC_STATUS_RESOURCE_EXHAUSTED,
    [CUSTOS_REASON_TOO_MANY_STREAMS] = GRPC_STATUS_RESOURCE_EXHAUSTED,
    [CUSTOS_REASON_FREEZE_NEEDS_CUSTODIAN] = GRPC_STATUS_PERMISSION_DENIED,
    [CUSTOS_REASON_SEQUENCE_JUMP] = GRPC_STATUS_FAILED_PRECONDITION,
    [CUSTOS_REASON_UNREGISTERED_ACCOUNT] = GRPC_STATUS_PERMISSION_DENIED,
    [CUSTOS_REASON_ACCOUNT_OF_OTHER_FEED] = GRPC_STATUS_PERMISSION_DENIED,
    [CUSTOS_REASON_EXPOSURE_OUTSTANDING] = GRPC_STATUS_FAILED_PRECONDITION,
    [CUSTOS_REASON_EXPOSURE_UNREADABLE] = GRPC_STATUS_UNAVAILABLE,
    [CUSTOS_REASON_EXPOSURE_UNCHECKED] = GRPC_STATUS_FAILED_PRECONDITION,
    [CUSTOS_REASON_PENDING_LIMIT] = GRPC_STATUS_RESOURCE_EXHAUSTED,
    [CUSTOS_REASON_RESERVES_BELOW_QUORUM] = GRPC_STATUS_PERMISSION_DENIED,
    [CUSTOS_REASON_NOTICE_NOT_PLEDGED] = GRPC_STATUS_FAILED_PRECONDITION,
    [CUSTOS_REASON_BATCH_ROOT_MISMATCH] = GRPC_STATUS_INVALID_ARGUMENT,
    [CUSTOS_REASON_BATCH_MEMBER_MISMATCH] = GRPC_STATUS_INVALID_ARGUMENT,
    [CUSTOS_REASON_BATCH_DUPLICATE_ACCOUNT] = GRPC_STATUS_INVALID_ARGUMENT,
    [CUSTOS_REASON_BATCH_BELOW_QUORUM] = GRPC_STATUS_PERMISSION_DENIED,
    [CUSTOS_REASON_HELD_ON_CHAIN] = GRPC_STATUS_FAILED_PRECONDITION,
};

grpc_status_code pb_reason_status(custos_reason r)
{
    /* A number no reason has (an unassigned entry reads OK) is a bug. */
    if ((unsigned)r >= CUSTOS_REASON_COUNT ||
        (r != CUSTOS_REASON_NONE && statuses[r] == GRPC_STATUS_OK))
        return GRPC_STATUS_INTERNAL;
    return statuses[r];
}

/* ---- google.rpc.Status, by hand: three small messages do not need generated code ---- */

/* A growing protobuf encoding in a fixed buffer; ok turns false once anything does not
 * fit, and stays so. */
typedef struct pb_out {
    uint8_t *p;
    size_t n, cap;
    bool ok;
} pb_out;

static void put_byte(pb_out *o, uint8_t b)
{
    if (o->n >= o->cap) {
        o->ok = false;
        return;
    }
    o->p[o->n++] = b;
}

static void put_varint(pb_out *o, uint64_t v)
{
    while (v >= 0x80) {
        put_byte(o, (uint8_t)(v | 0x80));
        v >>= 7;
    }
    put_byte(o, (uint8_t)v);
}

/* A length-delimited field (wire type 2). */
static void put_bytes(pb_out *o, uint32_t field, const void *data, size_t len)
{
    put_varint(o, (uint64_t)field << 3 | 2);
    put_varint(o, len);
    if (!o->ok || len > o->cap - o->n) {
        o->ok = false;
        return;
    }
    memcpy(o->p + o->n, data, len);
    o->n += len;
}

static void put_string(pb_out *o, uint32_t field, const char *s)
{
    put_bytes(o, field, s, strlen(s));
}

/* One entry of a map<string, string> field: a message {key = 1, value = 2}. */
static void put_map_entry(pb_out *o, uint32_t field, const char *key, const char *value)
{
    uint8_t buf[320];
    pb_out e = {buf, 0, sizeof buf, true};
    put_string(&e, 1, key);
    put_string(&e, 2, value);
    if (!e.ok) {
        o->ok = false;
        return;
    }
    put_bytes(o, field, buf, e.n);
}

size_t pb_status_details(grpc_status_code code, const char *message, custos_reason reason,
                         const char *feed, const char *account, uint8_t *out, size_t cap)
{
    /* google.rpc.ErrorInfo: reason = 1, domain = 2, map<string, string> metadata = 3. */
    uint8_t info[512];
    pb_out i = {info, 0, sizeof info, true};
    put_string(&i, 1, custos_reason_name(reason));
    put_string(&i, 2, PB_ERROR_DOMAIN);
    if (feed != NULL && feed[0] != '\0')
        put_map_entry(&i, 3, "feed", feed);
    if (account != NULL && account[0] != '\0')
        put_map_entry(&i, 3, "account", account);
    /* google.protobuf.Any: type_url = 1, value = 2. */
    uint8_t any[640];
    pb_out a = {any, 0, sizeof any, i.ok};
    put_string(&a, 1, PB_ERROR_INFO_TYPE);
    put_bytes(&a, 2, info, i.n);
    /* google.rpc.Status: int32 code = 1, message = 2, repeated Any details = 3; the
     * message is cut to what is left after the details. */
    pb_out s = {out, 0, cap < PB_STATUS_DETAILS_MAX ? cap : PB_STATUS_DETAILS_MAX, a.ok};
    if (code != GRPC_STATUS_OK) {
        put_varint(&s, 1 << 3 | 0);
        put_varint(&s, (uint64_t)code);
    }
    size_t room = s.cap > a.n + 32 ? s.cap - a.n - 32 : 0;
    size_t len = message != NULL ? strlen(message) : 0;
    if (len > room)
        len = room;
    /* A cut must not split a UTF-8 sequence: protobuf strings are UTF-8. */
    while (len > 0 && message[len] != '\0' && ((uint8_t)message[len] & 0xC0) == 0x80)
        len--;
    if (len > 0)
        put_bytes(&s, 2, message, len);
    put_bytes(&s, 3, any, a.n);
    return s.ok ? s.n : 0;
}
