/* Secret keys on disk: one line "0x" + 64 lowercase hex digits, written owner-only (0600)
 * and read when custos_secret_mode_check allows the mode (owner-only, or group-readable
 * for root's or our own file, as Kubernetes and systemd credentials present it).
 * Nothing here ever puts key bytes or key text into an error message. */
#include "custos/keyfile.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <secp256k1.h>

#include "custos/hex.h"
#include "custos/secretmode.h"

/* A key file is 67 bytes; anything much larger is not a key file. */
#define KEYFILE_MAX_BYTES 256
/* "0x", 64 digits and a newline: the encoder's text with its NUL turned into the newline. */
#define KEYFILE_TEXT_LEN CUSTOS_HEX_LEN(CUSTOS_SECKEY_LEN)

static int keyfile_write_all(int fd, const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, buf, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        buf += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Makes the new directory entry durable, not just the file's contents. */
static custos_rc keyfile_sync_dir(const char *path, custos_error *err)
{
    char copy[PATH_MAX];
    size_t len = strnlen(path, sizeof copy);
    if (len >= sizeof copy)
        return custos_error_set(err, CUSTOS_ERR_INVALID, "key file path is too long");
    memcpy(copy, path, len + 1);
    const char *dir = dirname(copy);
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return custos_error_set(err, CUSTOS_ERR_IO, "cannot open directory %s to sync it: %s",
                                dir, strerror(errno));
    int rc = fsync(fd);
    int saved = errno;
    (void)close(fd);
    if (rc != 0)
        return custos_error_set(err, CUSTOS_ERR_IO, "cannot sync directory %s: %s", dir,
                                strerror(saved));
    return CUSTOS_OK;
}

custos_rc custos_keyfile_write(const char *path, const uint8_t seckey[CUSTOS_SECKEY_LEN],
                               custos_error *err)
{
    if (path == NULL || seckey == NULL)
        return custos_error_set(err, CUSTOS_ERR_INVALID, "key file write: NULL argument");
    if (secp256k1_ec_seckey_verify(secp256k1_context_static, seckey) != 1)
        return custos_error_set(err, CUSTOS_ERR_CRYPTO,
                                "refusing to write %s: the secret key is not valid (zero or "
                                ">= the secp256k1 order)",
                                path);

    char text[KEYFILE_TEXT_LEN];
    if (custos_hex_encode(seckey, CUSTOS_SECKEY_LEN, text, sizeof text) != CUSTOS_OK)
        return custos_error_set(err, CUSTOS_ERR_INTERNAL, "key file write: cannot encode the key");
    text[KEYFILE_TEXT_LEN - 1] = '\n';

    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) {
        int saved = errno;
        OPENSSL_cleanse(text, sizeof text);
        if (saved == EEXIST)
            return custos_error_set(err, CUSTOS_ERR_IO,
                                    "key file %s already exists; refusing to overwrite it",
                                    path);
        return custos_error_set(err, CUSTOS_ERR_IO, "cannot create key file %s: %s", path,
                                strerror(saved));
    }

    /* fchmod: the umask must not leave the file more (or less) open than 0600. */
    const char *step = "set mode 0600 on";
    int rc = fchmod(fd, 0600);
    if (rc == 0) {
        step = "write";
        rc = keyfile_write_all(fd, text, sizeof text);
    }
    if (rc == 0) {
        step = "sync";
        rc = fsync(fd);
    }
    int saved = errno;
    OPENSSL_cleanse(text, sizeof text);
    if (close(fd) != 0 && rc == 0) {
        step = "close";
        saved = errno;
        rc = -1;
    }
    if (rc != 0) {
        /* A partial key file would later be refused anyway; do not leave it behind. */
        (void)unlink(path);
        return custos_error_set(err, CUSTOS_ERR_IO, "cannot %s key file %s: %s", step, path,
                                strerror(saved));
    }
    return keyfile_sync_dir(path, err);
}

/* Parses "[0x]<64 hex>[\n]" into seckey; the caller wipes seckey on failure. */
static custos_rc keyfile_parse(const char *path, const char *text, size_t len,
                               uint8_t seckey[CUSTOS_SECKEY_LEN], custos_error *err)
{
    if (len >= 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X')) {
        text += 2;
        len -= 2;
    }
    if (len > 0 && text[len - 1] == '\n')
        len--;
    if (len != 2 * CUSTOS_SECKEY_LEN)
        return custos_error_set(err, CUSTOS_ERR_INVALID,
                                "key file %s must hold exactly one key: 0x followed by 64 hex "
                                "digits and an optional newline",
                                path);
    /* The decoder reads a string; the copy is wiped like every other key text. */
    char digits[2 * CUSTOS_SECKEY_LEN + 1];
    memcpy(digits, text, len);
    digits[len] = '\0';
    custos_error why;
    custos_rc rc = custos_hex_decode(digits, seckey, CUSTOS_SECKEY_LEN, &why);
    OPENSSL_cleanse(digits, sizeof digits);
    if (rc != CUSTOS_OK)
        return custos_error_set(err, CUSTOS_ERR_INVALID, "key file %s: the key is not hex: %s",
                                path, why.message);
    if (secp256k1_ec_seckey_verify(secp256k1_context_static, seckey) != 1)
        return custos_error_set(err, CUSTOS_ERR_CRYPTO,
                                "key file %s does not hold a valid secp256k1 secret key (zero "
                                "or >= the curve order)",
                                path);
    return CUSTOS_OK;
}

custos_rc custos_keyfile_read(const char *path, uint8_t seckey[CUSTOS_SECKEY_LEN],
                              custos_error *err)
{
    if (path == NULL || seckey == NULL)
        return custos_error_set(err, CUSTOS_ERR_INVALID, "key file read: NULL argument");
    /* O_NONBLOCK: opening a FIFO planted at the path must not hang; it is refused below. */
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) {
        if (errno == ELOOP)
            return custos_error_set(err, CUSTOS_ERR_IO,
                                    "key file %s is a symbolic link; point to the file itself",
                                    path);
        return custos_error_set(err, CUSTOS_ERR_IO, "cannot open key file %s: %s", path,
                                strerror(errno));
    }
    custos_rc rc = CUSTOS_OK;
    struct stat st;
    char text[KEYFILE_MAX_BYTES + 1];
    size_t len = 0;
    if (fstat(fd, &st) != 0) {
        rc = custos_error_set(err, CUSTOS_ERR_IO, "cannot stat key file %s: %s", path,
                              strerror(errno));
    } else if (!S_ISREG(st.st_mode)) {
        rc = custos_error_set(err, CUSTOS_ERR_INVALID, "key file %s is not a regular file",
                              path);
    } else {
        rc = custos_secret_mode_check("key file", path, st.st_mode, st.st_uid, geteuid(), err);
    }
    if (rc == CUSTOS_OK && st.st_size > KEYFILE_MAX_BYTES) {
        rc = custos_error_set(err, CUSTOS_ERR_TOO_LARGE,
                              "key file %s is %lld bytes; a key file is at most %d", path,
                              (long long)st.st_size, KEYFILE_MAX_BYTES);
    } else if (rc == CUSTOS_OK) {
        /* Read one byte past the limit in case the file grew after fstat. */
        while (len < sizeof text) {
            ssize_t n = read(fd, text + len, sizeof text - len);
            if (n < 0 && errno == EINTR)
                continue;
            if (n < 0) {
                rc = custos_error_set(err, CUSTOS_ERR_IO, "cannot read key file %s: %s", path,
                                      strerror(errno));
                break;
            }
            if (n == 0)
                break;
            len += (size_t)n;
        }
        if (rc == CUSTOS_OK && len > KEYFILE_MAX_BYTES)
            rc = custos_error_set(err, CUSTOS_ERR_TOO_LARGE,
                                  "key file %s is larger than %d bytes", path,
                                  KEYFILE_MAX_BYTES);
        if (rc == CUSTOS_OK)
            rc = keyfile_parse(path, text, len, seckey, err);
    }
    OPENSSL_cleanse(text, sizeof text);
    (void)close(fd); /* read-only: nothing to lose */
    if (rc != CUSTOS_OK)
        OPENSSL_cleanse(seckey, CUSTOS_SECKEY_LEN);
    return rc;
}
