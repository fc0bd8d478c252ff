#!/usr/bin/env bash
# Shared set-up for the README's commands (sourced by scripts/demo.sh and scripts/test.sh).
# Creates .venv on first use and installs the project with the extras given in SSAMBA_EXTRAS.
# torch / torchaudio are pinned to a pair that loads together on CPU-only machines (torchaudio 2.11's
# extension works with torch 2.14.1); a different pair can be chosen with SSAMBA_TORCH_SPEC.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${SSAMBA_VENV:-$ROOT/.venv}"
EXTRAS="${SSAMBA_EXTRAS:-notebooks,demo,cpu}"
TORCH_SPEC="${SSAMBA_TORCH_SPEC:-torch==2.14.1 torchaudio==2.11.0}"
PY="${PYTHON:-python3}"

if [ ! -x "$VENV/bin/python" ]; then
  echo "[setup] creating virtual environment $VENV"
  "$PY" -m venv "$VENV"
  "$VENV/bin/python" -m pip install -q --upgrade pip
fi
# shellcheck disable=SC2086
if ! "$VENV/bin/python" -c "import torch, torchaudio" >/dev/null 2>&1; then
  echo "[setup] installing $TORCH_SPEC"
  "$VENV/bin/python" -m pip install -q $TORCH_SPEC
fi
stamp="$VENV/.ssamba-installed-$(cat "$ROOT/pyproject.toml" | sha1sum | cut -c1-12)-${EXTRAS//,/_}"
if [ ! -f "$stamp" ]; then
  echo "[setup] installing ssamba-lab[$EXTRAS]"
  "$VENV/bin/python" -m pip install -q -e "$ROOT[$EXTRAS]"
  "$VENV/bin/python" -m ipykernel install --sys-prefix --name python3 >/dev/null 2>&1 || true
  touch "$stamp"
fi
export PATH="$VENV/bin:$PATH"
export VIRTUAL_ENV="$VENV"
