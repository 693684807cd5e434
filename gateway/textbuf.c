#include "textbuf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

bool gw_textbuf_init(gw_textbuf *b, size_t cap, size_t max)
{
    b->len = 0;
    b->cap = cap;
    b->max = max;
    b->failed = false;
    b->data = malloc(cap);
    if (b->data == NULL)
        return false;
    b->data[0] = '\0';
    return true;
}

void gw_textbuf_add(gw_textbuf *b, const char *fmt, ...)
{
    if (b->failed)
        return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(b->data + b->len, b->cap - b->len, fmt, ap);
        va_end(ap);
        if (n < 0) {
            b->failed = true;
            return;
        }
        if ((size_t)n < b->cap - b->len) {
            b->len += (size_t)n;
            return;
        }
        size_t cap = b->cap * 2;
        while (cap - b->len <= (size_t)n)
            cap *= 2;
        char *grown = cap <= b->max ? realloc(b->data, cap) : NULL;
        if (grown == NULL) {
            b->failed = true;
            return;
        }
        b->data = grown;
        b->cap = cap;
    }
}
