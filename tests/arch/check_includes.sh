#!/usr/bin/env bash
# The include rules of docs/architecture.md, checked: every #include "..." of a library, CLI or
# worker source file and of every public header must point at a module the including module may
# use. Exit 0 when the tree follows the map, 1 (listing every offending line) when it does not.
#
# Run from the repository root (make check-arch). Tests, fuzzers and benchmarks may include
# anything and are not checked. Keep the tables below and the map in docs/architecture.md equal.
set -uo pipefail
cd "$(dirname "$0")/../.."

# ---- which module a public header belongs to -------------------------------------------------
header_module() {
    case "$1" in
    error.h | log.h | hex.h | clock.h | bytes.h) echo util ;;
    scale.h) echo scale ;;
    hash.h | keys.h | ss58.h | sr25519.h | msgcrypt.h) echo crypto ;;
    header.h | digest.h | grandpa.h | authority_set.h | trie.h | para_head.h | metadata.h | \
        dyncodec.h | extrinsic.h) echo chain ;;
    jsonrpc.h | rpc.h) echo rpc ;;
    lc.h | store.h | follow.h) echo lightclient ;;
    tx.h | chain_view.h | source.h) echo node ;;
    attest.h) echo attest ;;
    worker.h) echo worker ;;
    workerapi.h) echo workerapi ;;
    relay.h | relayconf.h | workerclient.h | backoff.h | egress.h | metrics.h | outbox.h) echo relay ;;
    *) echo unknown ;;
    esac
}

# ---- which modules each module may include (its own always) ----------------------------------
declare -A may=(
    [util]=""
    [scale]="util"
    [crypto]="util scale"
    [chain]="util scale crypto"
    [rpc]="util scale crypto chain"
    [lightclient]="util scale crypto chain"
    [node]="util scale crypto chain rpc lightclient"
    [attest]="util scale crypto chain"
    [worker]="util scale crypto chain lightclient attest workerapi"
    [workerapi]="util scale crypto chain lightclient attest worker"
    [relay]="util scale crypto chain rpc lightclient node workerapi attest"
    [cli]="util scale crypto chain rpc lightclient node attest workerapi relay"
    [workerd]="util worker workerapi attest"
)

# Narrower rules for single files (they replace the module's list for that file).
declare -A file_may=(
    # The JSON-RPC transport knows no chain types; only the Substrate typed layer does.
    [include/ferry/jsonrpc.h]="util"
    [rpc/client.h]="util"
    [rpc/client.c]="util"
    [rpc/request.c]="util"
    [rpc/dispatch.c]="util"
    [rpc/early.c]="util"
    [rpc/oversize.c]="util"
    [rpc/params.c]="util"
    [rpc/ws.c]="util"
    [rpc/http.c]="util"
    # ferry follow's driver wires node source -> lc -> store: the one lightclient file that may
    # use the node module (never the RPC headers themselves).
    [src/lightclient/follow.c]="util scale crypto chain node"
)

# Known breaches, each waiting for a named change ([file:header]=1); remove the line when it
# lands. None today.
declare -A waiver=()

source_module() {
    case "$1" in
    scale/*) echo scale ;;
    rpc/*) echo rpc ;;
    src/util/*) echo util ;;
    src/crypto/*) echo crypto ;;
    src/chain/*) echo chain ;;
    src/lightclient/*) echo lightclient ;;
    src/node/*) echo node ;;
    src/attest/*) echo attest ;;
    src/workerapi/*) echo workerapi ;;
    src/workerd/*) echo workerd ;;
    src/worker/*) echo worker ;;
    src/relay/*) echo relay ;;
    src/cli/*) echo cli ;;
    include/ferry/*) header_module "${1#include/ferry/}" ;;
    *) echo unknown ;;
    esac
}

# The directory whose private headers a module may include.
private_dir() {
    case "$1" in
    scale) echo scale ;;
    rpc) echo rpc ;;
    *) echo "src/$1" ;;
    esac
}

fail=0
report() {
    echo "check-arch: $1" >&2
    fail=1
}

files=$(git ls-files 'scale/*.[ch]' 'rpc/*.[ch]' 'src/*.[ch]' 'include/ferry/*.h' 2>/dev/null ||
    find scale rpc src include/ferry -name '*.[ch]')
for f in $files; do
    [ -f "$f" ] || continue
    mod=$(source_module "$f")
    if [ "$mod" = unknown ]; then
        report "$f: belongs to no module of docs/architecture.md (add it to the map)"
        continue
    fi
    allowed="${file_may[$f]-${may[$mod]}}"
    while IFS=: read -r line inc; do
        inc=${inc#*\"}
        inc=${inc%%\"*}
        case "$inc" in
        ferry/*)
            target=$(header_module "${inc#ferry/}")
            if [ "$target" = unknown ]; then
                report "$f:$line: includes $inc, a header of no module (add it to the map)"
                continue
            fi
            [ "$target" = "$mod" ] && continue
            [[ " $allowed " == *" $target "* ]] && continue
            [ -n "${waiver[$f:$inc]-}" ] && continue
            report "$f:$line: $mod may not include $inc ($target); see docs/architecture.md"
            ;;
        */*)
            # A private header: only files of its own directory.
            dir=${inc%/*}
            if [ "$dir" != "$(private_dir "$mod")" ] && [ "$dir" != "${f%/*}" ]; then
                report "$f:$line: includes $inc, private to $dir/"
            fi
            ;;
        *) ;; # same-directory include ("commands.h" of the generated CLI table)
        esac
    done < <(grep -n '^[[:space:]]*#[[:space:]]*include[[:space:]]*"' "$f" | sed 's/:/:/')
done

# Every public header belongs to a module and is named in the map.
for h in include/ferry/*.h; do
    name=${h#include/ferry/}
    [ "$(header_module "$name")" != unknown ] || report "$h: a header of no module (add it to the map)"
    grep -q "\`$name\`" docs/architecture.md || report "$h: not listed in docs/architecture.md"
done

# Thin mains: src/workerd/ holds a main and nothing a test would want to call.
for f in $(ls src/workerd/*.c 2>/dev/null); do
    n=$(wc -l <"$f")
    [ "$n" -le 300 ] || report "$f: $n lines; the worker's main stays thin (logic goes to src/worker/)"
done

[ $fail -eq 0 ] && echo "check-arch: includes follow docs/architecture.md"
exit $fail
