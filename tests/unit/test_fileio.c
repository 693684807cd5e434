/* Files written together (attestor/fileio.h at_files): every file in place with its
 * content and mode once committed, in the order added, and no temporary left; nothing in
 * place and no temporary left when they are dropped before the commit; names that are not
 * file names, and a directory that does not exist, refused with what was wrong. */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "fileio.h"
#include "testutil.h"

/* How many entries of dir are not "." or "..". */
static size_t entries(const char *dir)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    size_t n = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL;)
        n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
    closedir(d);
    return n;
}

/* A fresh temporary directory into dir, and a writer of files into it. */
static at_files *files_in_temp(char *dir, size_t cap)
{
    tu_mkdtemp(dir, cap);
    at_files *f = NULL;
    custos_error err;
    assert_int_equal(at_files_new(dir, &f, &err), CUSTOS_OK);
    return f;
}

static void test_files_committed(void **state)
{
    (void)state;
    char dir[512];
    custos_error err;
    at_files *f = files_in_temp(dir, sizeof dir);
    char name[32], text[64];
    for (int i = 0; i < 50; i++) {
        snprintf(name, sizeof name, "proof-%02d.json", i);
        snprintf(text, sizeof text, "{\"i\": %d}", i);
        assert_int_equal(at_files_add(f, name, text, strlen(text), i == 0 ? 0600 : 0644, &err),
                         CUSTOS_OK);
    }
    /* Written, not yet in place: 50 temporaries only. */
    char path[640];
    snprintf(path, sizeof path, "%s/proof-00.json", dir);
    struct stat st;
    assert_int_not_equal(stat(path, &st), 0);
    assert_int_equal(entries(dir), 50);
    assert_int_equal(at_files_commit(f, &err), CUSTOS_OK);
    at_files_free(f);
    assert_int_equal(entries(dir), 50);
    for (int i = 0; i < 50; i++) {
        snprintf(path, sizeof path, "%s/proof-%02d.json", dir, i);
        char *got = tu_read_file(path);
        snprintf(text, sizeof text, "{\"i\": %d}", i);
        assert_non_null(got);
        assert_string_equal(got, text);
        free(got);
        assert_int_equal(stat(path, &st), 0);
        assert_int_equal(st.st_mode & 0777, i == 0 ? 0600 : 0644);
    }
    tu_rmtree(dir);
}

static void test_files_dropped(void **state)
{
    (void)state;
    char dir[512];
    custos_error err;
    at_files *f = files_in_temp(dir, sizeof dir);
    assert_int_equal(at_files_add(f, "a.json", "{}", 2, 0644, &err), CUSTOS_OK);
    assert_int_equal(at_files_add(f, "b.json", "{}", 2, 0644, &err), CUSTOS_OK);
    /* Not file names: refused, nothing written for them. */
    const char *bad[] = {"", "sub/c.json", "../c.json"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(at_files_add(f, bad[i], "{}", 2, 0644, &err), CUSTOS_ERR_INVALID);
        assert_non_null(strstr(err.message, "is not a file name"));
    }
    assert_int_equal(entries(dir), 2);
    at_files_free(f);
    assert_int_equal(entries(dir), 0);
    at_files_free(NULL);
    tu_rmtree(dir);

    /* A directory that does not exist: the first file says so. */
    assert_int_equal(at_files_new("/nonexistent-custos-dir", &f, &err), CUSTOS_OK);
    assert_int_equal(at_files_add(f, "a.json", "{}", 2, 0644, &err), CUSTOS_ERR_IO);
    assert_non_null(strstr(err.message, "/nonexistent-custos-dir/a.json"));
    assert_int_equal(at_files_commit(f, &err), CUSTOS_ERR_IO);
    assert_non_null(strstr(err.message, "cannot open directory"));
    at_files_free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_files_committed),
        cmocka_unit_test(test_files_dropped),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
