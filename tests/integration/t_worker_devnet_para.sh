#!/usr/bin/env bash
# ferry-worker end to end in PARACHAIN mode: the real Phala runtime as para 2035 behind a Rococo
# relay (DEVNET_PARA=phala, blocks on demand); what it checks: worker_devnet.sh.
here=$(cd "$(dirname "$0")" && pwd)
MODE=para
. "$here/worker_devnet.sh"
