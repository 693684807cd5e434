/* The rule for files holding secrets (custos/secretmode.h), case by case: owner-only always
 * passes; group read passes only for root's file or the reader's own, with no group write or
 * execute and nothing for others; the refusal names the file, its mode and the fix. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "custos/secretmode.h"

#define ME 1000u    /* the reading process's uid */
#define OTHER 1001u /* some third user */

static void test_rule(void **state)
{
    (void)state;
    static const struct {
        mode_t mode;
        uid_t owner;
        uid_t euid;
        custos_rc rc;
        const char *why; /* in the message when refused */
    } cases[] = {
        /* Owner-only: whoever owns it (root reads a service user's 0600 file). */
        {0600, ME, ME, CUSTOS_OK, NULL},
        {0400, ME, ME, CUSTOS_OK, NULL},
        {0600, 0, ME, CUSTOS_OK, NULL},
        {0600, OTHER, 0, CUSTOS_OK, NULL},
        {0700, ME, ME, CUSTOS_OK, NULL},
        {0000, ME, ME, CUSTOS_OK, NULL},
        {S_IFREG | 0600, ME, ME, CUSTOS_OK, NULL},
        /* Group read of root's file: Kubernetes' fsGroup mount, systemd's credential ACL. */
        {0440, 0, ME, CUSTOS_OK, NULL},
        {0640, 0, ME, CUSTOS_OK, NULL},
        {S_IFREG | 0440, 0, ME, CUSTOS_OK, NULL},
        /* Group read of our own file. */
        {0440, ME, ME, CUSTOS_OK, NULL},
        {0640, ME, ME, CUSTOS_OK, NULL},
        {0040, ME, ME, CUSTOS_OK, NULL},
        {0640, 0, 0, CUSTOS_OK, NULL},
        /* Group read of a third user's file: shared with a group we know nothing about. */
        {0440, OTHER, ME, CUSTOS_ERR_INVALID, "belongs to uid 1001"},
        {0640, OTHER, ME, CUSTOS_ERR_INVALID, "neither root nor this process's uid 1000"},
        {0640, OTHER, 0, CUSTOS_ERR_INVALID, "belongs to uid 1001"},
        /* Group write or execute: refused whoever owns it. */
        {0660, 0, ME, CUSTOS_ERR_INVALID, "group or others"},
        {0620, ME, ME, CUSTOS_ERR_INVALID, "group or others"},
        {0650, 0, ME, CUSTOS_ERR_INVALID, "group or others"},
        {0610, ME, ME, CUSTOS_ERR_INVALID, "group or others"},
        {0460, 0, 0, CUSTOS_ERR_INVALID, "group or others"},
        /* Anything for others: refused whoever owns it. */
        {0604, ME, ME, CUSTOS_ERR_INVALID, "group or others"},
        {0644, 0, ME, CUSTOS_ERR_INVALID, "group or others"},
        {0444, 0, 0, CUSTOS_ERR_INVALID, "group or others"},
        {0602, ME, ME, CUSTOS_ERR_INVALID, "group or others"},
        {0601, ME, ME, CUSTOS_ERR_INVALID, "group or others"},
        {0404, 0, ME, CUSTOS_ERR_INVALID, "group or others"},
        {0666, ME, ME, CUSTOS_ERR_INVALID, "group or others"},
        {0777, 0, 0, CUSTOS_ERR_INVALID, "group or others"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        custos_error err = {0};
        custos_rc rc = custos_secret_mode_check("key file", "/k/relayer.key", cases[i].mode,
                                                cases[i].owner, cases[i].euid, &err);
        char mode[8];
        snprintf(mode, sizeof mode, "%04o", (unsigned)(cases[i].mode & 07777));
        if (rc != cases[i].rc)
            fail_msg("mode %s owner %u euid %u: got %s (%s), expected %s", mode,
                     (unsigned)cases[i].owner, (unsigned)cases[i].euid, custos_rc_name(rc),
                     err.message, custos_rc_name(cases[i].rc));
        if (rc == CUSTOS_OK)
            continue;
        if (strstr(err.message, "key file /k/relayer.key") == NULL ||
            strstr(err.message, mode) == NULL || strstr(err.message, cases[i].why) == NULL ||
            strstr(err.message, "chmod 600") == NULL)
            fail_msg("mode %s owner %u: the message lacks the file, mode, reason or fix: %s",
                     mode, (unsigned)cases[i].owner, err.message);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rule),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
