# Sourced by the scripts that install npm packages into a cache folder (never the repository).
# npm_cache_install DIR "NPM FLAGS" PACKAGE...: installs the pinned PACKAGEs into DIR once (a stamp
# records what is there; a lock lets parallel tests wait for one install), installing nodejs and
# npm from Debian first when missing.
npm_cache_install() {
  local dir=$1 flags=$2
  shift 2
  local stamp="$dir/.installed"
  mkdir -p "$dir"
  exec 9>"$dir/.lock"
  flock 9
  if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$*" ]; then
    if ! command -v npm >/dev/null; then
      echo "mixq: installing nodejs and npm (Debian)" >&2
      local sudo=""
      [ "$(id -u)" -eq 0 ] || sudo="sudo"
      DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends nodejs npm >&2
    fi
    # shellcheck disable=SC2086  # flags are words
    (cd "$dir" && npm install --silent --no-audit --no-fund --no-save $flags --prefix "$dir" "$@" >&2)
    echo "$*" >"$stamp"
  fi
  exec 9>&-
}
