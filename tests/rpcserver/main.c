/* rpcserver — the scripted JSON-RPC test server (tests/unit/rpcserver.c) as a program, for the
 * CLI integration test. Prints "port <n>" on stdout once listening and runs until SIGTERM or
 * SIGINT.
 *
 * usage: rpcserver [--port N] [--close-after-notifications K]
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rpcserver.h"

int main(int argc, char **argv)
{
    int port = 0;
    unsigned close_after = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--port") == 0 && i + 1 < argc) {
            port = atoi(argv[++i]);
        } else if (strcmp(argv[i], "--close-after-notifications") == 0 && i + 1 < argc) {
            close_after = (unsigned)atoi(argv[++i]);
        } else {
            fprintf(stderr, "usage: rpcserver [--port N] [--close-after-notifications K]\n");
            return 2;
        }
    }
    /* Block the stop signals in every thread (the server thread inherits the mask) and wait for
     * them here. */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    struct tu_rpcserver *s = tu_rpcserver_start(port);
    if (!s) {
        fprintf(stderr, "rpcserver: cannot listen on 127.0.0.1:%d\n", port);
        return 1;
    }
    tu_rpcserver_set_close_after(s, close_after);
    printf("port %d\n", tu_rpcserver_port(s));
    fflush(stdout);
    int sig;
    sigwait(&set, &sig);
    tu_rpcserver_stop(s);
    return 0;
}
