#!/usr/bin/env bash
# ferry-worker end to end on the real Phala runtime as a solo chain (DEVNET_CHAIN=phala, blocks
# on demand); what it checks: worker_devnet.sh.
here=$(cd "$(dirname "$0")" && pwd)
MODE=solo
. "$here/worker_devnet.sh"
