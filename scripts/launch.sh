#!/usr/bin/env bash
# Runs a command as N ranks on this machine under torchrun (loopback, a free port):
#   scripts/launch.sh N build/mfkit train ...
# Debian's torchrun 1.13 spells the flag --no_python, and its default --redirects 0 fails under
# Python 3.11 ('NoneType' object has no attribute 'get'): --redirects 1 --tee 1 works.
set -euo pipefail
n="${1:?usage: scripts/launch.sh N COMMAND [ARGS...]}"
shift
exec torchrun --standalone --nproc_per_node="$n" --redirects 1 --tee 1 --no_python "$@"
