/* The descriptors of the services the gateway serves, as protoc compiled them into the
 * binary (a FileDescriptorSet with every import: proto/CMakeLists.txt), indexed for server
 * reflection: the files by name, the services they declare, and the file that declares a
 * symbol (a message, enum, service or method, by its full name). */
#ifndef GATEWAY_RPC_DESCRIPTORS_H
#define GATEWAY_RPC_DESCRIPTORS_H

#include <stddef.h>
#include <stdint.h>

#include "custos/error.h"

typedef struct gw_descriptors gw_descriptors;

/* Most files in a closure (a file and everything it imports, at any depth). */
#define GW_DESC_CLOSURE_MAX 32

/* Reads the compiled set; CUSTOS_ERR_INTERNAL, saying where, when it cannot be read
 * (a build fault: the set is made by protoc). *out is the caller's: gw_descriptors_free. */
CUSTOS_MUST_USE
custos_rc gw_descriptors_new(gw_descriptors **out, custos_error *err);
void gw_descriptors_free(gw_descriptors *d);

/* The services, by full name ("custos.v1.AttestationGateway"), in the set's order. */
size_t gw_descriptors_service_count(const gw_descriptors *d);
const char *gw_descriptors_service(const gw_descriptors *d, size_t i);

/* The index of the file named name ("custos/v1/gateway.proto"), or of the file declaring
 * symbol ("custos.v1.Record", "custos.v1.AttestationGateway.Submit"); -1 when none. */
int gw_descriptors_find_file(const gw_descriptors *d, const char *name);
int gw_descriptors_find_symbol(const gw_descriptors *d, const char *symbol);
/* Whether symbol names a message type. */
int gw_descriptors_is_message(const gw_descriptors *d, const char *symbol);

/* File i and, after it, every file it imports at any depth, each once: indices into
 * *files, their count in *n. */
void gw_descriptors_closure(const gw_descriptors *d, int i, int files[GW_DESC_CLOSURE_MAX],
                            size_t *n);
/* The serialized FileDescriptorProto of file i (pointing into the compiled set). */
void gw_descriptors_file_bytes(const gw_descriptors *d, int i, const uint8_t **data,
                               size_t *len);

#endif
