/* ferry node — declarations shared by the files of src/node/ (not a public header). */
#ifndef FERRY_NODE_INTERNAL_H
#define FERRY_NODE_INTERNAL_H

#include <stddef.h>

#include "ferry/error.h"
#include "ferry/rpc.h"

/* Format a reason into why[cap] (nothing when why is NULL or cap 0). */
void node_setwhy(char *why, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* "<what>: <message> (<data>)" for an rpc error, else "<what>: <ferry_strerror(err)>". */
void node_rpc_why(char *why, size_t cap, const char *what, ferry_err err,
                  const struct ferry_rpc_error *e);

#endif
