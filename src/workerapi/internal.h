/* ferry — worker API internals shared by api.c and server.c. */
#ifndef FERRY_WORKERAPI_INTERNAL_H
#define FERRY_WORKERAPI_INTERNAL_H

#include <stdbool.h>

#include "ferry/workerapi.h"

/* Fill *resp with an error: PrpcError{message} (protobuf) or {"error": message} (json). */
void ferry_workerapi_error(struct ferry_workerapi_response *resp, int status, bool json,
                           const char *msg);

#endif
