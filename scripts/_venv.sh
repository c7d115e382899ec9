# shellcheck shell=bash
# Shared by scripts/run and scripts/test: create .venv if missing and install
# Cobrador into it (editable), re-installing only when pyproject.toml changed.
# Usage: . scripts/_venv.sh EXTRAS   (EXTRAS: "" or "test")
set -eu
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${COBRADOR_VENV:-$ROOT/.venv}"
extras="${1:-}"

if [ ! -x "$VENV/bin/python" ]; then
    echo "cobrador: creando el entorno virtual en $VENV" >&2
    if ! python3 -m venv "$VENV"; then
        echo "cobrador: falta python3-venv (sudo apt-get install python3-venv)" >&2
        exit 1
    fi
fi

spec="."
[ -n "$extras" ] && spec=".[$extras]"
stamp="$VENV/.install-stamp-${extras:-base}"
if [ ! -f "$stamp" ] || [ "$ROOT/pyproject.toml" -nt "$stamp" ]; then
    echo "cobrador: instalando dependencias ($spec)" >&2
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -e "$ROOT$([ -n "$extras" ] && echo "[$extras]")"
    touch "$stamp"
fi
