/* The version of libcustos, the project's version (CMake PROJECT_VERSION). */
#ifndef CUSTOS_VERSION_H
#define CUSTOS_VERSION_H

#ifdef __cplusplus
extern "C" {
#endif

/* "MAJOR.MINOR.PATCH", e.g. "0.1.0": what a program prints for --version. */
const char *custos_version(void);

#ifdef __cplusplus
}
#endif
#endif
