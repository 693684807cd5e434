/* The compiled FileDescriptorSet, read with a small protobuf reader: only the names of
 * files, packages, imports, messages (nested too), enums, services and methods matter
 * here, and the files themselves go out as the bytes protoc wrote. */
#include "rpc/descriptors.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* custos_descriptors (proto/CMakeLists.txt). */
extern const unsigned char custos_descriptor_set[];
extern const size_t custos_descriptor_set_len;

/* Field numbers of google/protobuf/descriptor.proto. */
enum {
    SET_FILE = 1,
    FILE_NAME = 1, FILE_PACKAGE = 2, FILE_DEPENDENCY = 3, FILE_MESSAGE = 4, FILE_ENUM = 5,
    FILE_SERVICE = 6,
    MESSAGE_NAME = 1, MESSAGE_NESTED = 3, MESSAGE_ENUM = 4,
    ENUM_NAME = 1,
    SERVICE_NAME = 1, SERVICE_METHOD = 2,
    METHOD_NAME = 1
};

#define DEPS_MAX 16

typedef struct desc_file {
    char *name;
    const uint8_t *data;
    size_t len;
    int deps[DEPS_MAX];
    size_t n_deps;
} desc_file;

typedef struct desc_symbol {
    char *name;
    int file;
    bool message;
} desc_symbol;

struct gw_descriptors {
    desc_file *files;
    size_t n_files;
    desc_symbol *symbols;
    size_t n_symbols, cap_symbols;
    char **services;
    size_t n_services;
};

/* One field of a message being read. */
typedef struct field {
    uint32_t number;
    const uint8_t *data; /* length-delimited fields: the bytes */
    size_t len;
} field;

typedef struct reader {
    const uint8_t *p, *end;
} reader;

static bool read_varint(reader *r, uint64_t *v)
{
    *v = 0;
    for (int shift = 0; shift < 64 && r->p < r->end; shift += 7) {
        uint8_t b = *r->p++;
        *v |= (uint64_t)(b & 0x7f) << shift;
        if ((b & 0x80) == 0)
            return true;
    }
    return false;
}

/* The next field; false at the end, *bad when what is left is not protobuf. Fields that
 * are not length-delimited are skipped over, data NULL. */
static bool next_field(reader *r, field *f, bool *bad)
{
    *bad = false;
    if (r->p >= r->end)
        return false;
    uint64_t key, v;
    if (!read_varint(r, &key)) {
        *bad = true;
        return false;
    }
    f->number = (uint32_t)(key >> 3);
    f->data = NULL;
    f->len = 0;
    switch (key & 7) {
    case 0:
        *bad = !read_varint(r, &v);
        break;
    case 1:
        *bad = r->end - r->p < 8;
        r->p += *bad ? 0 : 8;
        break;
    case 2:
        *bad = !read_varint(r, &v) || v > (uint64_t)(r->end - r->p);
        if (!*bad) {
            f->data = r->p;
            f->len = (size_t)v;
            r->p += v;
        }
        break;
    case 5:
        *bad = r->end - r->p < 4;
        r->p += *bad ? 0 : 4;
        break;
    default:
        *bad = true;
    }
    return !*bad;
}

static char *join(const char *prefix, const uint8_t *name, size_t len)
{
    size_t plen = strlen(prefix);
    char *s = malloc(plen + 1 + len + 1);
    if (s == NULL)
        return NULL;
    size_t at = 0;
    if (plen > 0) {
        memcpy(s, prefix, plen);
        s[plen] = '.';
        at = plen + 1;
    }
    memcpy(s + at, name, len);
    s[at + len] = '\0';
    return s;
}

static custos_rc add_symbol(gw_descriptors *d, char *name, int file, bool message,
                            custos_error *err)
{
    if (name == NULL)
        return custos_error_set(err, CUSTOS_ERR_NOMEM, "descriptors: out of memory");
    if (d->n_symbols == d->cap_symbols) {
        size_t cap = d->cap_symbols == 0 ? 64 : 2 * d->cap_symbols;
        desc_symbol *s = realloc(d->symbols, cap * sizeof *s);
        if (s == NULL) {
            free(name);
            return custos_error_set(err, CUSTOS_ERR_NOMEM, "descriptors: out of memory");
        }
        d->symbols = s;
        d->cap_symbols = cap;
    }
    d->symbols[d->n_symbols++] = (desc_symbol){name, file, message};
    return CUSTOS_OK;
}

/* The name field (number 1) of a message of the set. */
static bool name_of(const uint8_t *data, size_t len, const uint8_t **name, size_t *name_len)
{
    reader r = {data, data + len};
    field f;
    bool bad;
    while (next_field(&r, &f, &bad))
        if (f.number == 1 && f.data != NULL) {
            *name = f.data;
            *name_len = f.len;
            return true;
        }
    return false;
}

static custos_rc bad_set(custos_error *err, const char *what)
{
    return custos_error_set(err, CUSTOS_ERR_INTERNAL,
                            "descriptors: the compiled set is damaged (%s)", what);
}

/* A message type and, under its name, its nested types and enums. */
static custos_rc index_message(gw_descriptors *d, const char *scope, const uint8_t *data,
                               size_t len, int file, custos_error *err)
{
    const uint8_t *name;
    size_t name_len;
    if (!name_of(data, len, &name, &name_len))
        return bad_set(err, "a message without a name");
    char *full = join(scope, name, name_len);
    custos_rc rc = add_symbol(d, full, file, true, err);
    reader r = {data, data + len};
    field f;
    bool bad = false;
    while (rc == CUSTOS_OK && next_field(&r, &f, &bad)) {
        if (f.number == MESSAGE_NESTED && f.data != NULL) {
            rc = index_message(d, full, f.data, f.len, file, err);
        } else if (f.number == MESSAGE_ENUM && f.data != NULL) {
            const uint8_t *en;
            size_t en_len;
            rc = name_of(f.data, f.len, &en, &en_len)
                     ? add_symbol(d, join(full, en, en_len), file, false, err)
                     : bad_set(err, "an enum without a name");
        }
    }
    return rc == CUSTOS_OK && bad ? bad_set(err, "a message") : rc;
}

/* A service, and its methods as symbols under it. */
static custos_rc index_service(gw_descriptors *d, const char *scope, const uint8_t *data,
                               size_t len, int file, custos_error *err)
{
    const uint8_t *name;
    size_t name_len;
    if (!name_of(data, len, &name, &name_len))
        return bad_set(err, "a service without a name");
    char *full = join(scope, name, name_len);
    char **more = realloc(d->services, (d->n_services + 1) * sizeof *more);
    if (full == NULL || more == NULL) {
        free(full);
        if (more != NULL)
            d->services = more;
        return custos_error_set(err, CUSTOS_ERR_NOMEM, "descriptors: out of memory");
    }
    d->services = more;
    d->services[d->n_services++] = full;
    custos_rc rc = add_symbol(d, join(scope, name, name_len), file, false, err);
    reader r = {data, data + len};
    field f;
    bool bad = false;
    while (rc == CUSTOS_OK && next_field(&r, &f, &bad)) {
        if (f.number != SERVICE_METHOD || f.data == NULL)
            continue;
        const uint8_t *mn;
        size_t mn_len;
        rc = name_of(f.data, f.len, &mn, &mn_len)
                 ? add_symbol(d, join(full, mn, mn_len), file, false, err)
                 : bad_set(err, "a method without a name");
    }
    return rc == CUSTOS_OK && bad ? bad_set(err, "a service") : rc;
}

/* A file: its name and package, then every declaration under the package. Imports are
 * resolved after every file is read (protoc writes a file after its imports, but the
 * index does not rely on it). */
static custos_rc index_file(gw_descriptors *d, int i, custos_error *err)
{
    desc_file *df = &d->files[i];
    char package[256] = "";
    reader r = {df->data, df->data + df->len};
    field f;
    bool bad = false;
    while (next_field(&r, &f, &bad)) {
        if (f.data == NULL)
            continue;
        if (f.number == FILE_NAME && df->name == NULL) {
            df->name = join("", f.data, f.len);
            if (df->name == NULL)
                return custos_error_set(err, CUSTOS_ERR_NOMEM, "descriptors: out of memory");
        } else if (f.number == FILE_PACKAGE) {
            if (f.len >= sizeof package)
                return bad_set(err, "a package name too long");
            memcpy(package, f.data, f.len);
            package[f.len] = '\0';
        }
    }
    if (bad || df->name == NULL)
        return bad_set(err, "a file without a name");
    custos_rc rc = CUSTOS_OK;
    r = (reader){df->data, df->data + df->len};
    while (rc == CUSTOS_OK && next_field(&r, &f, &bad)) {
        if (f.data == NULL)
            continue;
        if (f.number == FILE_MESSAGE) {
            rc = index_message(d, package, f.data, f.len, i, err);
        } else if (f.number == FILE_ENUM) {
            const uint8_t *en;
            size_t en_len;
            rc = name_of(f.data, f.len, &en, &en_len)
                     ? add_symbol(d, join(package, en, en_len), i, false, err)
                     : bad_set(err, "an enum without a name");
        } else if (f.number == FILE_SERVICE) {
            rc = index_service(d, package, f.data, f.len, i, err);
        }
    }
    return rc;
}

static custos_rc link_imports(gw_descriptors *d, int i, custos_error *err)
{
    desc_file *df = &d->files[i];
    reader r = {df->data, df->data + df->len};
    field f;
    bool bad;
    while (next_field(&r, &f, &bad)) {
        if (f.number != FILE_DEPENDENCY || f.data == NULL)
            continue;
        char name[256];
        if (f.len >= sizeof name)
            return bad_set(err, "an import name too long");
        memcpy(name, f.data, f.len);
        name[f.len] = '\0';
        int dep = gw_descriptors_find_file(d, name);
        if (dep < 0 || df->n_deps == DEPS_MAX)
            return custos_error_set(err, CUSTOS_ERR_INTERNAL,
                                    "descriptors: %s imports %s, which the set lacks (or "
                                    "more than %d imports)", df->name, name, DEPS_MAX);
        df->deps[df->n_deps++] = dep;
    }
    return CUSTOS_OK;
}

custos_rc gw_descriptors_new(gw_descriptors **out, custos_error *err)
{
    *out = NULL;
    gw_descriptors *d = calloc(1, sizeof *d);
    if (d == NULL)
        return custos_error_set(err, CUSTOS_ERR_NOMEM, "descriptors: out of memory");
    reader r = {custos_descriptor_set, custos_descriptor_set + custos_descriptor_set_len};
    field f;
    bool bad = false;
    custos_rc rc = CUSTOS_OK;
    while (rc == CUSTOS_OK && next_field(&r, &f, &bad)) {
        if (f.number != SET_FILE || f.data == NULL)
            continue;
        desc_file *more = realloc(d->files, (d->n_files + 1) * sizeof *more);
        if (more == NULL) {
            rc = custos_error_set(err, CUSTOS_ERR_NOMEM, "descriptors: out of memory");
            break;
        }
        d->files = more;
        d->files[d->n_files++] = (desc_file){.data = f.data, .len = f.len};
    }
    if (rc == CUSTOS_OK && (bad || d->n_files == 0))
        rc = bad_set(err, "no files");
    for (size_t i = 0; rc == CUSTOS_OK && i < d->n_files; i++)
        rc = index_file(d, (int)i, err);
    for (size_t i = 0; rc == CUSTOS_OK && i < d->n_files; i++)
        rc = link_imports(d, (int)i, err);
    if (rc != CUSTOS_OK) {
        gw_descriptors_free(d);
        return rc;
    }
    *out = d;
    return CUSTOS_OK;
}

void gw_descriptors_free(gw_descriptors *d)
{
    if (d == NULL)
        return;
    for (size_t i = 0; i < d->n_files; i++)
        free(d->files[i].name);
    for (size_t i = 0; i < d->n_symbols; i++)
        free(d->symbols[i].name);
    for (size_t i = 0; i < d->n_services; i++)
        free(d->services[i]);
    free(d->files);
    free(d->symbols);
    free(d->services);
    free(d);
}

size_t gw_descriptors_service_count(const gw_descriptors *d)
{
    return d->n_services;
}

const char *gw_descriptors_service(const gw_descriptors *d, size_t i)
{
    return i < d->n_services ? d->services[i] : NULL;
}

int gw_descriptors_find_file(const gw_descriptors *d, const char *name)
{
    for (size_t i = 0; i < d->n_files; i++)
        if (d->files[i].name != NULL && strcmp(d->files[i].name, name) == 0)
            return (int)i;
    return -1;
}

static const desc_symbol *find_symbol(const gw_descriptors *d, const char *symbol)
{
    /* A leading dot is the fully-qualified form some clients send. */
    if (symbol[0] == '.')
        symbol++;
    for (size_t i = 0; i < d->n_symbols; i++)
        if (strcmp(d->symbols[i].name, symbol) == 0)
            return &d->symbols[i];
    return NULL;
}

int gw_descriptors_find_symbol(const gw_descriptors *d, const char *symbol)
{
    const desc_symbol *s = find_symbol(d, symbol);
    return s != NULL ? s->file : -1;
}

int gw_descriptors_is_message(const gw_descriptors *d, const char *symbol)
{
    const desc_symbol *s = find_symbol(d, symbol);
    return s != NULL && s->message;
}

void gw_descriptors_closure(const gw_descriptors *d, int i, int files[GW_DESC_CLOSURE_MAX],
                            size_t *n)
{
    *n = 0;
    if (i < 0 || (size_t)i >= d->n_files)
        return;
    files[(*n)++] = i;
    /* Breadth first over the list itself: each file's imports are appended once. */
    for (size_t k = 0; k < *n; k++) {
        const desc_file *f = &d->files[files[k]];
        for (size_t j = 0; j < f->n_deps; j++) {
            bool seen = false;
            for (size_t m = 0; m < *n && !seen; m++)
                seen = files[m] == f->deps[j];
            if (!seen && *n < GW_DESC_CLOSURE_MAX)
                files[(*n)++] = f->deps[j];
        }
    }
}

void gw_descriptors_file_bytes(const gw_descriptors *d, int i, const uint8_t **data,
                               size_t *len)
{
    *data = d->files[i].data;
    *len = d->files[i].len;
}
