/* The relay loop's private header: struct relay, shared by the parts of the loop (relay.c the
 * loop and entry points, preflight.c, relaylc.c, steps.c, register.c, egresschain.c, and
 * relaycommon.c what they all use), and the functions one part calls in another. Not a public
 * header: the module's interface is include/ferry/relay.h. */
#ifndef FERRY_RELAY_INTERNAL_H
#define FERRY_RELAY_INTERNAL_H

#include "ferry/chain_view.h"
#include "ferry/extrinsic.h"
#include "ferry/relay.h"
#include "ferry/workerclient.h"

#define LOG "relay"

/* Read proofs in flight at once while a dispatch range is fetched. */
#define PROOF_WINDOW 32
/* Read proofs of pushed finalized blocks asked ahead of need. */
#define PREFETCH_SLOTS 8

enum prefetch_kind {
    PF_BLOCK,     /* the worker's keys at a block to dispatch */
    PF_PARA_HEAD, /* Paras::Heads(para_id) at a relay block */
};

struct prefetch {
    struct ferry_source_proof_req *q; /* NULL: a free slot */
    enum prefetch_kind kind;
    uint32_t number;
};

#define CALL_REGISTER "PhalaRegistry.register_worker_v2"
#define CALL_EGRESS   "PhalaMq.sync_offchain_message"

struct relay {
    const struct ferry_relay_config *cfg;
    volatile sig_atomic_t *stop;
    ferry_relay_progress_fn progress;
    void *user;
    struct ferry_metrics *m;
    struct ferry_httpd *httpd;
    struct ferry_outbox *ob;
    struct ferry_source *rs; /* relay (or solo) chain */
    struct ferry_source *ps; /* parachain, NULL in solo mode */
    struct ferry_wclient wc;
    struct ferry_lc *lc;
    bool parachain;
    uint32_t para_id;
    uint8_t genesis[32]; /* relay (solo) genesis */
    uint8_t *relay_genesis_header;
    /* signing */
    bool have_key;
    struct ferry_keypair kp;
    struct ferry_tx_client *tx;
    struct ferry_rpc *tx_rpc; /* the rpc the tx client was opened on */
    struct ferry_u128 tip;
    /* what we know */
    struct ferry_wc_info info;
    bool info_known;   /* info is usable; false: ask GetInfo first (start, errors, init) */
    bool info_tracked; /* heights in info come from sync answers since the last GetInfo */
    uint32_t finalized;
    double finalized_at;
    double news_at; /* when the last wait for news returned (for the tip timing log) */
    /* read proofs of finalized blocks the node pushed, asked before their headers are even
     * verified (the dispatch takes one when the lc verifies that very block) */
    struct prefetch prefetch[PREFETCH_SLOTS];
    bool registered_now;
    struct ferry_relay_progress prog;
    double rate_t0;
    uint32_t rate_n0;
    struct ferry_backoff bo;
    double node_s, verify_s; /* time split (ferry_relay_seconds_total; worker: wc.seconds) */
    /* the trust root given by --checkpoint (have_cp), its file's genesis hash */
    bool have_cp;
    uint8_t cp_genesis[32];
    struct ferry_header cp_header;
    struct ferry_authority_set cp_set;
    /* lc.state in the data directory (relaystate.c) */
    bool lc_dirty;
    double lc_saved_at;
    /* parachain mode: ParachainInfo::ParachainId read from the para chain (para_id_read), and
     * whether it was checked against a para state root ferry's lc verified */
    bool para_id_read;
    bool para_id_checked;
};

/* relaycommon.c: what every part uses (the lowest layer; it calls no other part). */
void relay_time_part(double *part, double t0);
struct ferry_source *relay_tx_source(struct relay *r);
ferry_err relay_fail(struct relay *r, enum ferry_fault_class *fault, enum ferry_fault_class c,
                     ferry_err err);
ferry_err relay_tx_client(struct relay *r, struct ferry_tx_client **out, struct ferry_reason *why);
uint32_t relay_u32_le(const uint8_t *v);
ferry_err relay_read_proof(struct ferry_source *s, const struct ferry_bytes *keys, size_t n,
                           const uint8_t at[32], struct ferry_bytes_list *nodes,
                           struct ferry_trie_proof **proof, struct ferry_reason *why);
ferry_err node_fault(struct relay *r, struct ferry_source *s, ferry_err err,
                     enum ferry_fault_class *fault, struct ferry_reason *why);
ferry_err worker_fault(struct relay *r, ferry_err err, enum ferry_fault_class *fault,
                       struct ferry_reason *why);
ferry_err relay_arg_json(const struct ferry_metadata *md, const char *dotted, size_t arg,
                         const uint8_t *buf, size_t len, cJSON **out, struct ferry_reason *why);

/* preflight.c: the checks before the loop (called by relay.c). */
ferry_err preflight_nodes(struct relay *r, enum ferry_fault_class *fault, struct ferry_reason *why);
ferry_err check_worker(struct relay *r, enum ferry_fault_class *fault, struct ferry_reason *why);
ferry_err check_checkpoint(struct relay *r, enum ferry_fault_class *fault,
                           struct ferry_reason *why);

/* relaylc.c: the trust root and the saved light client (called by relay.c and steps.c). */
bool checkpoint_applies(const struct relay *r, bool init);
ferry_err trust_root(struct relay *r, uint8_t **genesis_info, size_t *gi_len, bool *from_cp,
                     struct ferry_reason *why);
ferry_err trust_genesis(struct relay *r, uint8_t **genesis_info, size_t *gi_len,
                        struct ferry_reason *why);
void relay_save_state(struct relay *r, bool force);
ferry_err relay_load_state(struct relay *r, enum ferry_fault_class *fault,
                           struct ferry_reason *why);

/* steps.c: the chain steps and the read proofs asked ahead (called by relay.c). */
ferry_err step_init(struct relay *r, enum ferry_fault_class *fault, struct ferry_reason *why);
void cancel_prefetch(struct relay *r, size_t i);
void prefetch_tip(struct relay *r);
ferry_err step_headers(struct relay *r, enum ferry_fault_class *fault, struct ferry_reason *why);
ferry_err step_para(struct relay *r, bool send, enum ferry_fault_class *fault,
                    struct ferry_reason *why);
ferry_err step_blocks(struct relay *r, uint32_t upto, enum ferry_fault_class *fault,
                      struct ferry_reason *why);

/* register.c: the registration step (called by relay.c). */
ferry_err step_register(struct relay *r, enum ferry_fault_class *fault, struct ferry_reason *why);

/* egresschain.c: the egress step (called by relay.c). */
ferry_err step_egress(struct relay *r, enum ferry_fault_class *fault, struct ferry_reason *why);

#endif
