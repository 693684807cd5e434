/* The audit log's anchor file (audit_anchor.h). */
#include "audit_anchor.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "custos/hex.h"

/* "SEQ:0xHASH" and a newline, with room to spare. */
#define ANCHOR_LINE_MAX 128

bool gw_anchor_parse(const char *text, size_t len, uint64_t *seq,
                     uint8_t hash[CUSTOS_AUDIT_HASH_LEN])
{
    char line[ANCHOR_LINE_MAX];
    if (len == 0 || len >= sizeof line)
        return false;
    memcpy(line, text, len);
    line[len] = '\0';
    char *colon = strchr(line, ':');
    if (colon == NULL || colon == line || colon - line > 20)
        return false;
    uint64_t v = 0;
    for (const char *p = line; p < colon; p++) {
        if (*p < '0' || *p > '9' || v > (UINT64_MAX - 9) / 10)
            return false;
        v = v * 10 + (uint64_t)(*p - '0');
    }
    custos_error err;
    uint8_t h[CUSTOS_AUDIT_HASH_LEN];
    if (v == 0 || custos_hex_decode(colon + 1, h, sizeof h, &err) != CUSTOS_OK)
        return false;
    *seq = v;
    memcpy(hash, h, sizeof h);
    return true;
}

custos_rc gw_anchor_read(const char *path, bool *present, uint64_t *seq,
                         uint8_t hash[CUSTOS_AUDIT_HASH_LEN], custos_error *err)
{
    *present = false;
    *seq = 0;
    memset(hash, 0, CUSTOS_AUDIT_HASH_LEN);
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        if (errno == ENOENT)
            return CUSTOS_OK;
        return custos_error_set(err, CUSTOS_ERR_IO, "audit anchor %s: cannot open it: %s", path,
                                strerror(errno));
    }
    /* Only the last line matters: read the file's tail. */
    char tail[2 * ANCHOR_LINE_MAX + 1];
    size_t got = 0;
    custos_rc rc = CUSTOS_OK;
    if (fseeko(f, 0, SEEK_END) != 0) {
        rc = custos_error_set(err, CUSTOS_ERR_IO, "audit anchor %s: cannot read it", path);
    } else {
        off_t size = ftello(f);
        off_t from = size > (off_t)(sizeof tail - 1) ? size - (off_t)(sizeof tail - 1) : 0;
        if (size < 0 || fseeko(f, from, SEEK_SET) != 0)
            rc = custos_error_set(err, CUSTOS_ERR_IO, "audit anchor %s: cannot read it", path);
        else
            got = fread(tail, 1, sizeof tail - 1, f);
        if (rc == CUSTOS_OK && ferror(f))
            rc = custos_error_set(err, CUSTOS_ERR_IO, "audit anchor %s: cannot read it", path);
    }
    fclose(f);
    if (rc != CUSTOS_OK || got == 0)
        return rc;
    tail[got] = '\0';
    /* A head is written whole with its newline: a last line without one is damage. */
    if (tail[got - 1] != '\n')
        return custos_error_set(err, CUSTOS_ERR_INVALID,
                                "audit anchor %s: the last line is not complete", path);
    tail[got - 1] = '\0';
    const char *last = strrchr(tail, '\n');
    last = last != NULL ? last + 1 : tail;
    if (!gw_anchor_parse(last, strlen(last), seq, hash))
        return custos_error_set(err, CUSTOS_ERR_INVALID,
                                "audit anchor %s: the last line is not SEQ:0xHASH", path);
    *present = true;
    return CUSTOS_OK;
}

custos_rc gw_anchor_append(const char *path, uint64_t seq,
                           const uint8_t hash[CUSTOS_AUDIT_HASH_LEN], custos_error *err)
{
    char hex[CUSTOS_HEX_LEN(CUSTOS_AUDIT_HASH_LEN)];
    if (custos_hex_encode(hash, CUSTOS_AUDIT_HASH_LEN, hex, sizeof hex) != CUSTOS_OK)
        return custos_error_set(err, CUSTOS_ERR_INTERNAL, "audit anchor: cannot encode a hash");
    char line[ANCHOR_LINE_MAX];
    int n = snprintf(line, sizeof line, "%" PRIu64 ":%s\n", seq, hex);
    if (n < 0 || (size_t)n >= sizeof line)
        return custos_error_set(err, CUSTOS_ERR_INTERNAL, "audit anchor: line too long");
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0)
        return custos_error_set(err, CUSTOS_ERR_IO, "audit anchor %s: cannot open it: %s", path,
                                strerror(errno));
    custos_rc rc = CUSTOS_OK;
    ssize_t w = write(fd, line, (size_t)n);
    if (w != n)
        rc = custos_error_set(err, CUSTOS_ERR_IO, "audit anchor %s: cannot append: %s", path,
                              w < 0 ? strerror(errno) : "short write");
    else if (fsync(fd) != 0)
        rc = custos_error_set(err, CUSTOS_ERR_IO, "audit anchor %s: cannot sync: %s", path,
                              strerror(errno));
    if (close(fd) != 0 && rc == CUSTOS_OK)
        rc = custos_error_set(err, CUSTOS_ERR_IO, "audit anchor %s: cannot close: %s", path,
                              strerror(errno));
    return rc;
}
