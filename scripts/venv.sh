# Sourced by scripts/serve and scripts/test: a virtualenv in .venv with the project installed.
# pip runs only when the install is not known to be current: a stamp in .venv records what was installed
# (the requirement given, pyproject.toml and scripts/constraints.txt); delete .venv/.installed-* to force it.
ensure_venv() {
    local python=${PYTHON:-python3}
    if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
        echo "smartbcc needs Python 3.11 or newer; set PYTHON=/path/to/python3.11" >&2
        exit 1
    fi
    if [ ! -x .venv/bin/python ]; then
        "$python" -m venv .venv
    fi
    local wanted stamp
    wanted=$(printf '%s\n' "$1" | cat - pyproject.toml scripts/constraints.txt | sha256sum | cut -c1-16)
    stamp=".venv/.installed-$(printf '%s' "$1" | sha256sum | cut -c1-8)"
    if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$wanted" ]; then
        return
    fi
    .venv/bin/python -m pip install --quiet --disable-pip-version-check \
        --constraint scripts/constraints.txt -e "$1"
    echo "$wanted" > "$stamp"
}
