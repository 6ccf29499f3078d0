#!/usr/bin/env bash
# ferry relay end to end on the Phala dev chain in para mode: see relay_e2e.sh.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
. "$here/devnet.sh"
RELAY_MODE=para
RELAY_SCHEME=ecdsa # the solo test signs with sr25519 (the default)
. "$here/relay_e2e.sh"
