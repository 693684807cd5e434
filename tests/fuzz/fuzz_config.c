/* The gateway's INI configuration file. gw_config_load reads a path, so each input is
 * written to a file in a private directory first. A file that loads is made a registry
 * snapshot too, which follows the rotated keys' replaced_by chains to their parties. */
#include <stdio.h>

#include "config/config.h"
#include "registry.h"

#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char path[600];
    if (path[0] == '\0')
        snprintf(path, sizeof path, "%s/input.ini", fz_tmpdir());
    fz_write_file(path, data, size);
    gw_config cfg;
    custos_error err;
    if (gw_config_load(path, &cfg, &err) == CUSTOS_OK) {
        gw_registry *reg = NULL;
        if (gw_registry_new(&cfg, &reg, &err) == CUSTOS_OK)
            gw_registry_free(reg);
        gw_config_clear(&cfg);
    }
    return 0;
}
