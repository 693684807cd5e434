/* The one rule every reader of a secret file applies (custos/secretmode.h). Who owns the
 * file matters only for group read: the owner can read it whatever its mode, so a group
 * read granted by root or by ourselves is a grant made on purpose (Kubernetes' fsGroup,
 * systemd's credential ACL), while one granted by a third user shares our secret with a
 * group we know nothing about. */
#include "custos/secretmode.h"

#include <sys/stat.h>

custos_rc custos_secret_mode_check(const char *what, const char *path, mode_t mode,
                                   uid_t owner, uid_t euid, custos_error *err)
{
    unsigned shown = (unsigned)(mode & 07777);
    if ((mode & (S_IRWXO | S_IWGRP | S_IXGRP)) != 0)
        return custos_error_set(err, CUSTOS_ERR_INVALID,
                                "%s %s has mode %04o: group or others may access it; run "
                                "chmod 600 on it",
                                what, path, shown);
    if ((mode & S_IRGRP) != 0 && owner != 0 && owner != euid)
        return custos_error_set(err, CUSTOS_ERR_INVALID,
                                "%s %s has mode %04o and belongs to uid %u, neither root nor "
                                "this process's uid %u: its group may read it; run chmod 600 "
                                "on it",
                                what, path, shown, (unsigned)owner, (unsigned)euid);
    return CUSTOS_OK;
}
