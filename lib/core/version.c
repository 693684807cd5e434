#include "custos/version.h"

/* CUSTOS_PROJECT_VERSION comes from lib/core/CMakeLists.txt. */
const char *custos_version(void)
{
    return CUSTOS_PROJECT_VERSION;
}
