#include "custos/record.h"

#include <stdlib.h>
#include <string.h>

void custos_record_clear(custos_record *r)
{
    if (r == NULL)
        return;
    custos_submission_clear(&r->sub);
    memset(r, 0, sizeof *r);
}

void custos_record_list_free(custos_record *list, size_t n)
{
    if (list == NULL)
        return;
    for (size_t i = 0; i < n; i++)
        custos_record_clear(&list[i]);
    free(list);
}
