/* Opening the gateway a command names in its clopt_gateway options. */
#ifndef CLI_CONNECT_H
#define CLI_CONNECT_H

#include "clopt.h"
#include "custos/client.h"

/* EXIT_OK with *client open, or the exit status after saying why not. */
int cli_connect(const clopt_gateway *gw, custos_client **client) CLOPT_MUST_USE;

#endif
