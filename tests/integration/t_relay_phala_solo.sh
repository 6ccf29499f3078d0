#!/usr/bin/env bash
# ferry relay end to end on the Phala dev chain in solo mode: see relay_e2e.sh.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
. "$here/devnet.sh"
RELAY_MODE=solo
. "$here/relay_e2e.sh"
