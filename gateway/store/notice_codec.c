/* The one blob a stored collateral notice is (codec.h): fixed-size members in the order of
 * the EIP-712 struct, then what the gateway learnt when it accepted the notice. */
#include "store/codec.h"

#include <string.h>

size_t gw_store_notice_encode(const gw_store_notice *n, uint8_t out[GW_STORE_NOTICE_MAX])
{
    uint8_t *p = out;
    memcpy(p, n->n.account, CUSTOS_HASH_LEN);
    p += CUSTOS_HASH_LEN;
    memcpy(p, n->n.lender, CUSTOS_ADDRESS_LEN);
    p += CUSTOS_ADDRESS_LEN;
    *p++ = n->n.state;
    for (int i = 3; i >= 0; i--)
        *p++ = (uint8_t)(n->n.ltv_bps >> (8 * i));
    custos_u256_to_be(&n->n.exposure, p);
    p += CUSTOS_U256_LEN;
    custos_u256_to_be(&n->n.collateral_value, p);
    p += CUSTOS_U256_LEN;
    gw_store_put_u64(p, n->n.deadline);
    p += 8;
    gw_store_put_u64(p, n->n.sequence);
    p += 8;
    memcpy(p, n->digest, CUSTOS_HASH_LEN);
    p += CUSTOS_HASH_LEN;
    memcpy(p, n->signer, CUSTOS_ADDRESS_LEN);
    p += CUSTOS_ADDRESS_LEN;
    memcpy(p, n->sig.bytes, CUSTOS_SIGNATURE_LEN);
    p += CUSTOS_SIGNATURE_LEN;
    gw_store_put_u64(p, n->accepted_at);
    p += 8;
    size_t feed_len = strnlen(n->feed, CUSTOS_FEED_MAX);
    *p++ = (uint8_t)feed_len;
    memcpy(p, n->feed, feed_len);
    p += feed_len;
    return (size_t)(p - out);
}

custos_rc gw_store_notice_decode(const uint8_t *blob, size_t len, gw_store_notice *out,
                                 custos_error *err)
{
    const size_t fixed = GW_STORE_NOTICE_MAX - CUSTOS_FEED_MAX;
    memset(out, 0, sizeof *out);
    if (len < fixed || len != fixed + blob[fixed - 1])
        return custos_error_set(err, CUSTOS_ERR_INTERNAL,
                                "store: a notice of %zu bytes is damaged", len);
    const uint8_t *p = blob;
    memcpy(out->n.account, p, CUSTOS_HASH_LEN);
    p += CUSTOS_HASH_LEN;
    memcpy(out->n.lender, p, CUSTOS_ADDRESS_LEN);
    p += CUSTOS_ADDRESS_LEN;
    out->n.state = *p++;
    out->n.ltv_bps = (uint32_t)gw_store_get_be(p, 4);
    p += 4;
    custos_u256_from_be(&out->n.exposure, p);
    p += CUSTOS_U256_LEN;
    custos_u256_from_be(&out->n.collateral_value, p);
    p += CUSTOS_U256_LEN;
    out->n.deadline = gw_store_get_be(p, 8);
    p += 8;
    out->n.sequence = gw_store_get_be(p, 8);
    p += 8;
    memcpy(out->digest, p, CUSTOS_HASH_LEN);
    p += CUSTOS_HASH_LEN;
    memcpy(out->signer, p, CUSTOS_ADDRESS_LEN);
    p += CUSTOS_ADDRESS_LEN;
    memcpy(out->sig.bytes, p, CUSTOS_SIGNATURE_LEN);
    p += CUSTOS_SIGNATURE_LEN;
    out->accepted_at = gw_store_get_be(p, 8);
    p += 8;
    size_t feed_len = *p++;
    memcpy(out->feed, p, feed_len);
    out->feed[feed_len] = '\0';
    return CUSTOS_OK;
}
