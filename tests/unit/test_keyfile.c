/* Key files: created 0600 and never overwritten; read only when closed to others (owner-only,
 * or group-readable without group write), regular, small and holding exactly one valid key;
 * no message ever shows the key. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "custos/attestation.h"
#include "custos/hex.h"
#include "custos/keyfile.h"
#include "testutil.h"

#define KEY_HEX "4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318"
#define KEY_HEX_UPPER "4C0883A69102937D6231471B5DBB6204FE5129617082792AE468D01A3F362318"

typedef struct fixture {
    char dir[512];
    uint8_t key[32];
} fixture;

static int setup(void **state)
{
    static fixture f;
    tu_mkdtemp(f.dir, sizeof f.dir);
    custos_error err;
    if (custos_hex_decode(KEY_HEX, f.key, sizeof f.key, &err) != CUSTOS_OK)
        return -1;
    *state = &f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    tu_rmtree(f->dir);
    return 0;
}

static void path_in(const fixture *f, const char *name, char *out, size_t cap)
{
    int n = snprintf(out, cap, "%s/%s", f->dir, name);
    assert_true(n > 0 && (size_t)n < cap);
}

/* No error message may reveal the key or a recognisable piece of it. */
static void assert_no_key(const custos_error *err)
{
    if (strstr(err->message, KEY_HEX) != NULL || strstr(err->message, KEY_HEX_UPPER) != NULL ||
        strstr(err->message, "4c0883a691") != NULL || strstr(err->message, "4C0883A691") != NULL)
        fail_msg("error message leaks the key: %s", err->message);
}

static void write_with_mode(const char *path, const char *text, mode_t mode)
{
    tu_write_file(path, text);
    assert_int_equal(chmod(path, mode), 0);
}

static void test_write_then_read(void **state)
{
    fixture *f = *state;
    char path[1024];
    path_in(f, "signer.key", path, sizeof path);
    custos_error err;
    /* A permissive umask must not loosen the file. */
    mode_t old = umask(0);
    custos_rc rc = custos_keyfile_write(path, f->key, &err);
    umask(old);
    assert_int_equal(rc, CUSTOS_OK);

    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0600);
    char *text = tu_read_file(path);
    assert_non_null(text);
    assert_string_equal(text, "0x" KEY_HEX "\n");
    free(text);

    uint8_t back[32];
    assert_int_equal(custos_keyfile_read(path, back, &err), CUSTOS_OK);
    assert_memory_equal(back, f->key, 32);
}

static void test_overwrite_refused(void **state)
{
    fixture *f = *state;
    char path[1024];
    path_in(f, "existing.key", path, sizeof path);
    write_with_mode(path, "precious\n", 0600);
    custos_error err;
    assert_int_equal(custos_keyfile_write(path, f->key, &err), CUSTOS_ERR_IO);
    assert_non_null(strstr(err.message, "already exists"));
    assert_no_key(&err);
    char *text = tu_read_file(path);
    assert_string_equal(text, "precious\n");
    free(text);

    /* A symbolic link at the path is not followed to create its target. */
    char link_path[1024], target[1024];
    path_in(f, "link.key", link_path, sizeof link_path);
    path_in(f, "target.key", target, sizeof target);
    assert_int_equal(symlink(target, link_path), 0);
    assert_int_equal(custos_keyfile_write(link_path, f->key, &err), CUSTOS_ERR_IO);
    assert_int_equal(access(target, F_OK), -1);
}

static void test_invalid_key_not_written(void **state)
{
    fixture *f = *state;
    char path[1024];
    path_in(f, "zero.key", path, sizeof path);
    uint8_t zero[32] = {0};
    custos_error err;
    assert_int_equal(custos_keyfile_write(path, zero, &err), CUSTOS_ERR_CRYPTO);
    assert_int_equal(access(path, F_OK), -1);
}

static void test_loose_modes_refused(void **state)
{
    fixture *f = *state;
    static const struct {
        mode_t mode;
        const char *text;
    } cases[] = {
        {0644, "0644"}, {0604, "0604"}, {0660, "0660"}, {0650, "0650"},
        {0601, "0601"}, {0620, "0620"}, {0666, "0666"}, {0700 | 0004, "0704"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char path[1024], name[32];
        snprintf(name, sizeof name, "mode-%s.key", cases[i].text);
        path_in(f, name, path, sizeof path);
        write_with_mode(path, "0x" KEY_HEX "\n", cases[i].mode);
        uint8_t out[32];
        custos_error err;
        assert_int_equal(custos_keyfile_read(path, out, &err), CUSTOS_ERR_INVALID);
        if (strstr(err.message, cases[i].text) == NULL ||
            strstr(err.message, "chmod 600") == NULL || strstr(err.message, name) == NULL)
            fail_msg("mode %s: message lacks the file, mode or remedy: %s", cases[i].text,
                     err.message);
        assert_no_key(&err);
    }
}

/* Owner-only, and group-readable without group write when the file is ours (the rule of
 * custos/secretmode.h; test_secretmode covers root's and a third user's files). */
static void test_closed_modes_read(void **state)
{
    fixture *f = *state;
    static const mode_t modes[] = {0600, 0400, 0640, 0440};
    for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++) {
        char path[1024], name[32];
        snprintf(name, sizeof name, "mode-%04o.key", (unsigned)modes[i]);
        path_in(f, name, path, sizeof path);
        write_with_mode(path, "0x" KEY_HEX "\n", modes[i]);
        uint8_t out[32];
        custos_error err = {0};
        if (custos_keyfile_read(path, out, &err) != CUSTOS_OK)
            fail_msg("mode %04o refused: %s", (unsigned)modes[i], err.message);
        assert_memory_equal(out, f->key, 32);
    }
}

static void test_contents(void **state)
{
    fixture *f = *state;
    static const struct {
        const char *name;
        const char *text;
        custos_rc rc;
    } cases[] = {
        {"canonical", "0x" KEY_HEX "\n", CUSTOS_OK},
        {"no prefix", KEY_HEX "\n", CUSTOS_OK},
        {"no newline", "0x" KEY_HEX, CUSTOS_OK},
        {"upper case", "0x" KEY_HEX_UPPER "\n", CUSTOS_OK},
        {"empty", "", CUSTOS_ERR_INVALID},
        {"prefix only", "0x\n", CUSTOS_ERR_INVALID},
        {"short", "0x" "4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f36231\n",
         CUSTOS_ERR_INVALID},
        {"long", "0x" KEY_HEX "00\n", CUSTOS_ERR_INVALID},
        {"two keys", "0x" KEY_HEX "\n0x" KEY_HEX "\n", CUSTOS_ERR_INVALID},
        {"leading space", " 0x" KEY_HEX "\n", CUSTOS_ERR_INVALID},
        {"trailing text", "0x" KEY_HEX " # signer\n", CUSTOS_ERR_INVALID},
        {"two newlines", "0x" KEY_HEX "\n\n", CUSTOS_ERR_INVALID},
        {"crlf", "0x" KEY_HEX "\r\n", CUSTOS_ERR_INVALID},
        {"not hex", "0x4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f36231g\n",
         CUSTOS_ERR_INVALID},
        {"PEM", "-----BEGIN EC PRIVATE KEY-----\nMHQCAQEEIEwIg6aRApN9YjFHG127YgT+\n",
         CUSTOS_ERR_INVALID},
        {"zero key", "0x0000000000000000000000000000000000000000000000000000000000000000\n",
         CUSTOS_ERR_CRYPTO},
        {"curve order",
         "0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141\n",
         CUSTOS_ERR_CRYPTO},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char path[1024], name[64];
        snprintf(name, sizeof name, "content-%zu.key", i);
        path_in(f, name, path, sizeof path);
        write_with_mode(path, cases[i].text, 0600);
        uint8_t out[32];
        custos_error err = {0};
        custos_rc rc = custos_keyfile_read(path, out, &err);
        if (rc != cases[i].rc)
            fail_msg("%s: got %s (%s), expected %s", cases[i].name, custos_rc_name(rc),
                     err.message, custos_rc_name(cases[i].rc));
        if (rc == CUSTOS_OK) {
            assert_memory_equal(out, f->key, 32);
        } else {
            assert_non_null(strstr(err.message, name));
            assert_no_key(&err);
        }
    }
}

static void test_not_a_key_file(void **state)
{
    fixture *f = *state;
    uint8_t out[32];
    custos_error err;
    char path[1024];

    path_in(f, "missing.key", path, sizeof path);
    assert_int_equal(custos_keyfile_read(path, out, &err), CUSTOS_ERR_IO);
    assert_non_null(strstr(err.message, "missing.key"));

    path_in(f, "big.key", path, sizeof path);
    char big[400];
    memset(big, '0', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    write_with_mode(path, big, 0600);
    assert_int_equal(custos_keyfile_read(path, out, &err), CUSTOS_ERR_TOO_LARGE);

    path_in(f, "dir.key", path, sizeof path);
    assert_int_equal(mkdir(path, 0700), 0);
    assert_int_equal(custos_keyfile_read(path, out, &err), CUSTOS_ERR_INVALID);
    assert_non_null(strstr(err.message, "regular"));

    path_in(f, "fifo.key", path, sizeof path);
    assert_int_equal(mkfifo(path, 0600), 0);
    assert_int_equal(custos_keyfile_read(path, out, &err), CUSTOS_ERR_INVALID);
    assert_non_null(strstr(err.message, "regular"));

    /* A link to a perfectly good key file is still refused: the path must be the file. */
    char target[1024];
    path_in(f, "real.key", target, sizeof target);
    write_with_mode(target, "0x" KEY_HEX "\n", 0600);
    path_in(f, "alias.key", path, sizeof path);
    assert_int_equal(symlink(target, path), 0);
    assert_int_equal(custos_keyfile_read(path, out, &err), CUSTOS_ERR_IO);
    assert_non_null(strstr(err.message, "symbolic link"));
    assert_no_key(&err);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_write_then_read),
        cmocka_unit_test(test_overwrite_refused),
        cmocka_unit_test(test_invalid_key_not_written),
        cmocka_unit_test(test_loose_modes_refused),
        cmocka_unit_test(test_closed_modes_read),
        cmocka_unit_test(test_contents),
        cmocka_unit_test(test_not_a_key_file),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
