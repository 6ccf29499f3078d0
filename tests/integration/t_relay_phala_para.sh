#!/usr/bin/env bash
# ferry relay end to end on the Phala dev chain in para mode: see relay_e2e.sh.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
. "$here/devnet.sh"
RELAY_MODE=para
. "$here/relay_e2e.sh"
