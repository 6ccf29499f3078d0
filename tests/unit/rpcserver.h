/* A scripted JSON-RPC server for the rpc tests: libwebsockets in server mode on 127.0.0.1, one
 * service thread of its own, WebSocket and HTTP POST on the same port. Linked into the unit-test
 * binary (test_rpc.c runs it in-process) and into build/rpcserver (tests/rpcserver/main.c) for
 * the CLI integration test.
 *
 * Scripted methods (params in brackets):
 *   echo [..]             result = the params array
 *   delay [ms, v]         result v after ms (out-of-order answers)
 *   big [n]               result = a string of n characters, sent as 64 KiB fragments, id last
 *   error []              error {code:-32000, message:"scripted failure", data:{"detail":"x"}}
 *   malformed []          a truncated JSON frame, then result "after-malformed"
 *   unknown_id []         an answer with an id nobody asked for, then result "after-unknown"
 *   stall []              stop reading and answering on this connection (no pongs either)
 *   close []              close this connection abruptly (no close frame), no answer
 *   close_after [ms]      result true, then close abruptly after ms
 *   sub [period_ms]       subscription "s<k>": `test_notify` notifications every period_ms whose
 *                         result is a server-wide counter (so a reconnect shows as a gap)
 *   big_sub [n]           subscription whose first notification is an n-character string,
 *                         followed by counter notifications every 20 ms
 *   early_sub [n, pad, period_ms, wrong_id]
 *                         like sub, but first sends n notifications (default 1) *before* the
 *                         answer carrying the id (as chopsticks does), each with result
 *                         {"n":counter,"early":true} plus "pad": pad 'a's when pad > 0; with
 *                         wrong_id != 0 they name an id that no subscription has
 *   raw [frame, ..]       each frame text sent as it is, with "$ID" replaced by the request's
 *                         id; no other answer (in a batch: no item for it)
 *   stray_notify []       a notification for subscription "nosuch", then "after-stray"
 *   unsub [id]            true when the subscription existed
 *   Substrate methods with fixed answers: chain_getBlockHash, chain_getHeader, chain_getBlock,
 *   chain_getFinalizedHead, chain_subscribeFinalizedHeads (+unsubscribe; a header every 50 ms
 *   with rising numbers), grandpa_proveFinality (null for 0; tu_rpcserver_set_proof's answer
 *   when set), state_getReadProof,
 *   state_getStorage (null for key 0x00), state_getKeysPaged, state_getMetadata,
 *   state_getRuntimeVersion, system_chain, system_properties, system_accountNextIndex,
 *   author_submitExtrinsic.
 * Anything else: error -32601. A batch (array) is answered as one array in reverse order.
 */
#ifndef FERRY_TEST_RPCSERVER_H
#define FERRY_TEST_RPCSERVER_H

struct tu_rpcserver;

/* Start listening on 127.0.0.1:port (0 = a free port chosen by the kernel).
 * Returns: the server, or NULL when it cannot listen. */
struct tu_rpcserver *tu_rpcserver_start(int port);

/* The same over TLS (wss://, https://) with the given PEM certificate and key files. */
struct tu_rpcserver *tu_rpcserver_start_tls(int port, const char *cert, const char *key);

/* Returns: the port the server listens on. */
int tu_rpcserver_port(const struct tu_rpcserver *s);

/* Close every connection abruptly (as a crashed node would). */
void tu_rpcserver_close_all(struct tu_rpcserver *s);

/* Close each connection abruptly after it has carried k notifications (0 = never), to force
 * reconnects in the middle of a subscription. */
void tu_rpcserver_set_close_after(struct tu_rpcserver *s, unsigned k);

/* Returns: WebSocket connections accepted since start. */
unsigned tu_rpcserver_accepted(const struct tu_rpcserver *s);

/* Returns: request objects received since start (a batch counts each of its items), for
 * tests that must wait until a request has reached the server. */
unsigned tu_rpcserver_requests(const struct tu_rpcserver *s);

/* Stop and free everything. NULL is ignored. */
void tu_rpcserver_stop(struct tu_rpcserver *s);

/* From now on grandpa_proveFinality (for blocks > 0) answers the string hex ("0x…"); NULL goes
 * back to the fixed answer. Call it while no such request is in flight. */
void tu_rpcserver_set_proof(struct tu_rpcserver *s, const char *hex);

/* The fixed header chain_getHeader answers with (number 42) and its JSON. */
extern const char tu_rpcserver_header_json[];

#endif
