#!/bin/sh
# Runs a command inside a private D-Bus session with an unlocked gnome-keyring (Secret Service),
# so tests exercise the real OS keychain without touching the user's own keyrings:
#   test/support/keyring-session.sh node --import tsx child.ts
# Needs the Debian packages `dbus` (dbus-run-session) and `gnome-keyring` (gnome-keyring-daemon).
set -eu

if [ -z "${CASELLARIO_IN_KEYRING_SESSION:-}" ]; then
  # a throwaway HOME/XDG tree: the daemon creates its "login" keyring there, not in ~/.local/share
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  mkdir -p -m 700 "$tmp/home" "$tmp/data" "$tmp/config" "$tmp/run"
  status=0
  HOME="$tmp/home" XDG_DATA_HOME="$tmp/data" XDG_CONFIG_HOME="$tmp/config" XDG_RUNTIME_DIR="$tmp/run" \
    CASELLARIO_IN_KEYRING_SESSION=1 dbus-run-session -- "$0" "$@" || status=$?
  exit "$status"
fi

# Inside the session: start the Secret Service and unlock (creating it if needed) the login
# keyring with a password from stdin, so no prompt is ever shown. Its stdout is the daemon's
# environment (GNOME_KEYRING_CONTROL=…), not needed: the Secret Service is found on the bus.
printf '%s' test | gnome-keyring-daemon --unlock --components=secrets >/dev/null
exec "$@"
