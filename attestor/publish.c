#include "publish.h"

#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "custos/client.h"
#include "custos/typeddata.h"
#include "fileio.h"
#include "report.h"

static int export_file(const custos_submission *s, const char *path)
{
    char *json;
    custos_error err;
    if (custos_typeddata_export(s, &json, &err) != CUSTOS_OK) {
        at_cmd_error("cannot export the attestation: %s", err.message);
        return AT_EXIT_INPUT;
    }
    size_t len = strlen(json);
    /* A trailing newline keeps the file friendly to editors and diff. */
    char *text = realloc(json, len + 2);
    if (text == NULL) {
        free(json);
        at_cmd_error("cannot export the attestation: out of memory");
        return AT_EXIT_INPUT;
    }
    text[len] = '\n';
    text[len + 1] = '\0';
    custos_rc rc = at_file_write_atomic(path, text, len + 1, 0644, &err);
    free(text);
    if (rc != CUSTOS_OK) {
        at_cmd_error("cannot write the export: %s", err.message);
        return AT_EXIT_INPUT;
    }
    return AT_EXIT_OK;
}

static int submit(const custos_submission *s, const at_gateway *gw, at_report *out,
                  custos_submit_result *res)
{
    const char *gateway = gw->target;
    custos_client *client;
    custos_error err;
    custos_rc rc = at_gateway_connect(gw, 0, &client, &err);
    if (rc != CUSTOS_OK) {
        at_cmd_error("cannot use gateway %s: %s", gateway, err.message);
        if (rc == CUSTOS_ERR_UNAVAILABLE)
            at_report_unavailable(out, &err);
        return rc == CUSTOS_ERR_UNAVAILABLE ? AT_EXIT_UNREACHABLE : AT_EXIT_INPUT;
    }
    rc = custos_client_submit(client, s, res, &err);
    custos_client_free(client);
    /* Not now (unreachable, or the gateway cannot take it yet): the caller retries. */
    if (rc == CUSTOS_ERR_UNAVAILABLE) {
        at_cmd_error("gateway %s: %s", err.reason == CUSTOS_REASON_NONE ? "unreachable"
                                                                       : "cannot take it now",
                     err.message);
        at_report_unavailable(out, &err);
        return AT_EXIT_UNREACHABLE;
    }
    if (rc == CUSTOS_ERR_REFUSED || rc == CUSTOS_ERR_NOT_FOUND) {
        at_report_refusal(out, &err);
        at_cmd_error("gateway %s refused the attestation: %s: %s", gateway,
                     custos_reason_name(err.reason), err.message);
        return AT_EXIT_REFUSED;
    }
    if (rc != CUSTOS_OK) {
        at_cmd_error("submission failed: %s", err.message);
        return AT_EXIT_INPUT;
    }
    at_report_answer(out, res);
    return AT_EXIT_OK;
}

int at_publish(const custos_submission *s, const char *export_path, const at_gateway *gw,
               at_report *out)
{
    custos_submit_result res;
    return at_publish_answer(s, export_path, gw, out, &res);
}

int at_publish_answer(const custos_submission *s, const char *export_path,
                      const at_gateway *gw, at_report *out, custos_submit_result *res)
{
    memset(res, 0, sizeof *res);
    int export_status = AT_EXIT_OK;
    if (export_path != NULL) {
        export_status = export_file(s, export_path);
        if (export_status == AT_EXIT_OK)
            at_report_line(out, "exported", "exported", "%s", export_path);
    }
    fflush(out->out);
    if (gw->target == NULL)
        return export_status;
    /* The signature exists now: submit it even if the export failed. */
    int status = submit(s, gw, out, res);
    fflush(out->out);
    return status != AT_EXIT_OK ? status : export_status;
}
