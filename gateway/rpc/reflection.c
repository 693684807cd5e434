/* grpc.reflection.v1alpha.ServerReflection and grpc.reflection.v1.ServerReflection (the
 * same messages under two package names): ServerReflectionInfo answers each request on
 * the stream in turn from the descriptors compiled into the gateway (descriptors.h), so
 * grpcurl-style tools list and call the services without the .proto files. One request
 * is read, answered, then the next is read: a client that sends ahead waits in HTTP/2
 * flow control, never in the gateway's memory. */
#include "rpc/call.h"

#include <stdio.h>
#include <string.h>

#include <grpc/slice.h>

#include "grpc/reflection/v1alpha/reflection.pb-c.h"
#include "rpc/descriptors.h"
#include "rpc/handlers.h"

typedef Grpc__Reflection__V1alpha__ServerReflectionRequest refl_request;
typedef Grpc__Reflection__V1alpha__ServerReflectionResponse refl_response;

/* Bytes of a reflection request read at most: names of files and symbols are short. */
#define REFLECTION_REQUEST_MAX 4096

static void answer_error(refl_response *r, Grpc__Reflection__V1alpha__ErrorResponse *e,
                         grpc_status_code code, const char *message)
{
    e->error_code = (int32_t)code;
    e->error_message = (char *)message;
    r->message_response_case =
        GRPC__REFLECTION__V1ALPHA__SERVER_REFLECTION_RESPONSE__MESSAGE_RESPONSE_ERROR_RESPONSE;
    r->error_response = e;
}

/* The files of a FileDescriptorResponse: file i and everything it imports. */
typedef struct refl_files {
    Grpc__Reflection__V1alpha__FileDescriptorResponse msg;
    ProtobufCBinaryData files[GW_DESC_CLOSURE_MAX];
} refl_files;

static void answer_files(const gw_descriptors *d, int i, refl_response *r, refl_files *f)
{
    int idx[GW_DESC_CLOSURE_MAX];
    size_t n;
    gw_descriptors_closure(d, i, idx, &n);
    for (size_t k = 0; k < n; k++) {
        const uint8_t *data;
        size_t len;
        gw_descriptors_file_bytes(d, idx[k], &data, &len);
        f->files[k].data = (uint8_t *)data;
        f->files[k].len = len;
    }
    f->msg.n_file_descriptor_proto = n;
    f->msg.file_descriptor_proto = f->files;
    r->message_response_case =
        GRPC__REFLECTION__V1ALPHA__SERVER_REFLECTION_RESPONSE__MESSAGE_RESPONSE_FILE_DESCRIPTOR_RESPONSE;
    r->file_descriptor_response = &f->msg;
}

/* The answer to one request, packed; NULL when out of memory. */
static grpc_byte_buffer *reflection_answer(const gw_descriptors *d, refl_request *req)
{
    refl_response r = GRPC__REFLECTION__V1ALPHA__SERVER_REFLECTION_RESPONSE__INIT;
    Grpc__Reflection__V1alpha__ErrorResponse e = GRPC__REFLECTION__V1ALPHA__ERROR_RESPONSE__INIT;
    Grpc__Reflection__V1alpha__ListServiceResponse list =
        GRPC__REFLECTION__V1ALPHA__LIST_SERVICE_RESPONSE__INIT;
    Grpc__Reflection__V1alpha__ServiceResponse services[32];
    Grpc__Reflection__V1alpha__ServiceResponse *service_ptrs[32];
    Grpc__Reflection__V1alpha__ExtensionNumberResponse ext =
        GRPC__REFLECTION__V1ALPHA__EXTENSION_NUMBER_RESPONSE__INIT;
    refl_files files;
    memset(&files, 0, sizeof files);
    grpc__reflection__v1alpha__file_descriptor_response__init(&files.msg);
    char message[320];

    r.valid_host = req->host != NULL ? req->host : (char *)"";
    r.original_request = req;
    int file;
    switch (req->message_request_case) {
    case GRPC__REFLECTION__V1ALPHA__SERVER_REFLECTION_REQUEST__MESSAGE_REQUEST_LIST_SERVICES: {
        size_t n = gw_descriptors_service_count(d);
        if (n > sizeof services / sizeof services[0])
            n = sizeof services / sizeof services[0];
        for (size_t i = 0; i < n; i++) {
            grpc__reflection__v1alpha__service_response__init(&services[i]);
            services[i].name = (char *)gw_descriptors_service(d, i);
            service_ptrs[i] = &services[i];
        }
        list.n_service = n;
        list.service = service_ptrs;
        r.message_response_case =
            GRPC__REFLECTION__V1ALPHA__SERVER_REFLECTION_RESPONSE__MESSAGE_RESPONSE_LIST_SERVICES_RESPONSE;
        r.list_services_response = &list;
        break;
    }
    case GRPC__REFLECTION__V1ALPHA__SERVER_REFLECTION_REQUEST__MESSAGE_REQUEST_FILE_BY_FILENAME:
        file = gw_descriptors_find_file(d, req->file_by_filename);
        if (file >= 0) {
            answer_files(d, file, &r, &files);
        } else {
            snprintf(message, sizeof message, "no file named '%.200s'", req->file_by_filename);
            answer_error(&r, &e, GRPC_STATUS_NOT_FOUND, message);
        }
        break;
    case GRPC__REFLECTION__V1ALPHA__SERVER_REFLECTION_REQUEST__MESSAGE_REQUEST_FILE_CONTAINING_SYMBOL:
        file = gw_descriptors_find_symbol(d, req->file_containing_symbol);
        if (file >= 0) {
            answer_files(d, file, &r, &files);
        } else {
            snprintf(message, sizeof message, "no symbol named '%.200s'",
                     req->file_containing_symbol);
            answer_error(&r, &e, GRPC_STATUS_NOT_FOUND, message);
        }
        break;
    case GRPC__REFLECTION__V1ALPHA__SERVER_REFLECTION_REQUEST__MESSAGE_REQUEST_ALL_EXTENSION_NUMBERS_OF_TYPE:
        /* The gateway's messages (proto3) declare no extensions: a known type has none. */
        if (gw_descriptors_is_message(d, req->all_extension_numbers_of_type)) {
            ext.base_type_name = req->all_extension_numbers_of_type;
            r.message_response_case =
                GRPC__REFLECTION__V1ALPHA__SERVER_REFLECTION_RESPONSE__MESSAGE_RESPONSE_ALL_EXTENSION_NUMBERS_RESPONSE;
            r.all_extension_numbers_response = &ext;
        } else {
            snprintf(message, sizeof message, "no message type named '%.200s'",
                     req->all_extension_numbers_of_type);
            answer_error(&r, &e, GRPC_STATUS_NOT_FOUND, message);
        }
        break;
    case GRPC__REFLECTION__V1ALPHA__SERVER_REFLECTION_REQUEST__MESSAGE_REQUEST_FILE_CONTAINING_EXTENSION:
        answer_error(&r, &e, GRPC_STATUS_NOT_FOUND, "the gateway's messages have no extensions");
        break;
    default:
        answer_error(&r, &e, GRPC_STATUS_INVALID_ARGUMENT,
                     "the request asks for nothing this server knows");
        break;
    }
    return gw_rpc_pack(&r.base);
}

/* Locked. Reads the next request once the last answer is out; ends the stream OK once
 * the client has closed its half and every answer is out. */
static void reflection_pump(gw_rpc_call *c)
{
    if (c->send_busy)
        return;
    if (c->state == CALL_ENDING || (c->state == CALL_ACTIVE && c->half_closed)) {
        gw_rpc_stream_end(c);
        return;
    }
    if (c->state != CALL_ACTIVE || c->recv_busy)
        return;
    grpc_op op;
    memset(&op, 0, sizeof op);
    op.op = GRPC_OP_RECV_MESSAGE;
    op.data.recv_message.recv_message = &c->recv_buf;
    if (gw_rpc_call_batch(c, &op, 1, &c->recv_op)) {
        c->recv_busy = true;
        return;
    }
    c->end_status = GRPC_STATUS_INTERNAL;
    c->end_detail = "cannot read from the stream";
    gw_rpc_stream_end(c);
}

/* recv_busy stays set until this request is answered: otherwise a write completing on
 * another thread would post the next read, and two answers could be written at once. */
static void reflection_on_recv(gw_rpc_call *c, bool ok)
{
    pthread_mutex_lock(&c->mu);
    grpc_byte_buffer *bb = c->recv_buf;
    c->recv_buf = NULL;
    if (!ok || bb == NULL || (c->state != CALL_ACTIVE && c->state != CALL_ENDING)) {
        c->recv_busy = false;
        c->half_closed = true;
        reflection_pump(c);
        pthread_mutex_unlock(&c->mu);
        if (bb != NULL)
            grpc_byte_buffer_destroy(bb);
        return;
    }
    pthread_mutex_unlock(&c->mu);

    grpc_byte_buffer *reply = NULL;
    const char *bad = NULL;
    grpc_slice slice;
    if (!gw_rpc_read(bb, &slice)) {
        bad = "the message cannot be read (unsupported compression?)";
    } else {
        size_t len = GRPC_SLICE_LENGTH(slice);
        refl_request *req =
            len > REFLECTION_REQUEST_MAX
                ? NULL
                : grpc__reflection__v1alpha__server_reflection_request__unpack(
                      NULL, len, GRPC_SLICE_START_PTR(slice));
        grpc_slice_unref(slice);
        if (req == NULL) {
            bad = "the message is not a ServerReflectionRequest";
        } else {
            reply = reflection_answer(c->srv->descriptors, req);
            grpc__reflection__v1alpha__server_reflection_request__free_unpacked(req, NULL);
        }
    }
    grpc_byte_buffer_destroy(bb);

    pthread_mutex_lock(&c->mu);
    c->recv_busy = false;
    if (reply != NULL && c->state == CALL_ACTIVE) {
        gw_rpc_stream_send(c, reply);
    } else {
        if (reply != NULL)
            grpc_byte_buffer_destroy(reply);
        if (c->state == CALL_ACTIVE) {
            c->state = CALL_ENDING;
            c->end_status = GRPC_STATUS_INVALID_ARGUMENT;
            c->end_detail = bad != NULL ? bad : "out of memory";
        }
        reflection_pump(c);
    }
    pthread_mutex_unlock(&c->mu);
}

const gw_rpc_stream_ops gw_rpc_reflection_ops = {
    .pump = reflection_pump,
    .on_recv = reflection_on_recv,
};

void gw_rpc_reflection(gw_rpc_call *c)
{
    if (!gw_rpc_stream_admit(c, false))
        return;
    c->end_status = GRPC_STATUS_OK;
    if (!gw_rpc_stream_begin(c))
        return;
    pthread_mutex_lock(&c->mu);
    reflection_pump(c);
    pthread_mutex_unlock(&c->mu);
}
