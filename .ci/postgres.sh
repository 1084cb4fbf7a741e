#!/usr/bin/env bash
# PostgreSQL for the store suites (DESIGN §9, issue 12): the machine's own server on 127.0.0.1:5432
# when `pg_isready` answers; otherwise Debian's `postgresql`, installed and started here, with trust
# for loopback connections (CI only) and a role for the user running the tests.
# DRY_RUN=1 prints what it would do instead of doing it (to read the install branch on a machine
# that already has a server).
set -euo pipefail

act() {
  if [ "${DRY_RUN:-}" = 1 ]; then echo "+ $*"; else "$@"; fi
}

ready() {
  command -v pg_isready >/dev/null 2>&1 && pg_isready -h 127.0.0.1 -p 5432 -q
}

if ready && [ "${DRY_RUN:-}" != 1 ]; then
  echo "PostgreSQL: already running on 127.0.0.1:5432"
else
  if ! command -v pg_ctlcluster >/dev/null 2>&1 || [ "${DRY_RUN:-}" = 1 ]; then
    export DEBIAN_FRONTEND=noninteractive
    act apt-get update -qq
    act apt-get install -y -qq --no-install-recommends postgresql
  fi
  version=$(ls /etc/postgresql 2>/dev/null | sort -V | tail -1 || true)
  if [ -z "$version" ]; then
    version=$(ls /usr/lib/postgresql 2>/dev/null | sort -V | tail -1 || true)
    act pg_createcluster "${version:-15}" main
  fi
  version=${version:-15}
  hba=/etc/postgresql/$version/main/pg_hba.conf
  # trust on loopback before any other rule (first match wins), once
  if [ "${DRY_RUN:-}" = 1 ] || ! grep -q 'casellario-ci' "$hba"; then
    act sed -i '1i host all all 127.0.0.1/32 trust # casellario-ci\nhost all all ::1/128 trust # casellario-ci' "$hba"
  fi
  act pg_ctlcluster --skip-systemctl-redirect "$version" main start || act pg_ctlcluster --skip-systemctl-redirect "$version" main reload
  if [ "${DRY_RUN:-}" != 1 ]; then
    for _ in $(seq 60); do ready && break; sleep 1; done
    ready || { echo "PostgreSQL did not start" >&2; exit 1; }
  fi
fi

# the tests connect as postgres (or root): make sure the one running them exists as a superuser
me=$(id -un)
if ! psql -h 127.0.0.1 -U postgres -d postgres -tAc 'SELECT 1' >/dev/null 2>&1 || [ "${DRY_RUN:-}" = 1 ]; then
  act su postgres -c "psql -d postgres -tAc \"DO \\\$\\\$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$me') THEN CREATE ROLE \\\"$me\\\" SUPERUSER LOGIN; END IF; END \\\$\\\$\""
fi
