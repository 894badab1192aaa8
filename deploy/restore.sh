#!/usr/bin/env bash
# Restores a backup.sh dump into a database.
#
#   deploy/restore.sh [--force] [--jobs N] <dump-file> <target-database-url>
#
# 1. The dump's checksum (<dump-file>.sha256, written by backup.sh) must match: a corrupt
#    or altered dump is refused before anything is touched.
# 2. The target database is created if it does not exist. A target that already holds
#    tables is refused; --force drops and recreates it (all its data is lost).
# 3. pg_restore --no-owner --no-privileges --exit-on-error: objects belong to the user of the
#    target URL, and a failure stops the restore; a database this script created is then
#    dropped again, so a half-restored copy never looks like a good one.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=deploy/lib.sh
. "$HERE/lib.sh"

usage() {
  sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'
}

force=false
jobs=$(nproc 2>/dev/null || echo 2)
positional=()
while (($#)); do
  case $1 in
    --force)
      force=true
      shift
      ;;
    --jobs)
      if [[ $# -lt 2 ]] || ! is_uint "$2" || (($2 < 1)); then
        die "--jobs needs a whole number of at least 1"
      fi
      jobs=$2
      shift 2
      ;;
    -h | --help)
      usage
      exit 0
      ;;
    -*) die "unknown option '$1' (see --help)" ;;
    *)
      positional+=("$1")
      shift
      ;;
  esac
done
((${#positional[@]} == 2)) || {
  usage >&2
  die "expected a dump file and a target database URL"
}
dump=${positional[0]}
target_url=${positional[1]}

need_cmd pg_restore psql sha256sum

[[ -f $dump && -r $dump ]] || die "dump file $dump does not exist or cannot be read"
[[ -f $dump.sha256 ]] || die "checksum file $dump.sha256 is missing: refusing to restore an unverified dump"
expected=$(awk 'NR == 1 { print $1 }' "$dump.sha256")
[[ $expected =~ ^[0-9a-f]{64}$ ]] || die "$dump.sha256 does not hold a SHA-256 checksum"
actual=$(sha256sum <"$dump" | cut -d' ' -f1)
if [[ $actual != "$expected" ]]; then
  die "checksum mismatch for $dump (expected $expected, got $actual): the dump is corrupt or was altered; refusing to restore"
fi
log "checksum OK: $(basename -- "$dump")"
pg_restore --list -- "$dump" >/dev/null || die "$dump is not a readable pg_dump custom-format archive"

pg_env_from_url "$target_url"
target_db=$PGDATABASE
maintenance_db=${RESTORE_MAINTENANCE_DB:-postgres}

psql_admin() {
  PGDATABASE=$maintenance_db psql -X -A -t -q -v ON_ERROR_STOP=1 -v db="$target_db"
}

exists=$(psql_admin <<<"SELECT count(*) FROM pg_database WHERE datname = :'db';") ||
  die "cannot connect to PostgreSQL at ${PGHOST:-local socket} (database $maintenance_db) to prepare '$target_db'"
created=false

if [[ $exists == 1 ]]; then
  relations=$(psql -X -A -t -q -v ON_ERROR_STOP=1 -c "
    SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
      AND n.nspname NOT IN ('pg_catalog', 'information_schema')
      AND n.nspname NOT LIKE 'pg_toast%'") || die "cannot inspect target database '$target_db'"
  if ((relations > 0)); then
    if [[ $force != true ]]; then
      die "target database '$target_db' is not empty ($relations tables, views or sequences): refusing to restore over it. Use a new database name, or --force to drop and recreate it."
    fi
    log "--force: dropping and recreating '$target_db' ($relations relations will be lost)"
    psql_admin <<<'DROP DATABASE :"db" WITH (FORCE);' || die "could not drop '$target_db'"
    exists=0
  fi
fi
if [[ $exists != 1 ]]; then
  psql_admin <<<'CREATE DATABASE :"db" TEMPLATE template0;' || die "could not create database '$target_db'"
  created=true
  log "created database '$target_db'"
fi

started=$(now_ms)
log "restoring $(basename -- "$dump") into '$target_db' with $jobs job(s)"
if ! pg_restore --no-owner --no-privileges --exit-on-error --jobs="$jobs" --dbname="$target_db" -- "$dump"; then
  if [[ $created == true ]]; then
    psql_admin <<<'DROP DATABASE IF EXISTS :"db" WITH (FORCE);' || true
    die "pg_restore failed (see above); the partly restored database '$target_db' was dropped"
  fi
  die "pg_restore failed (see above); '$target_db' is incomplete: do not use it"
fi
psql -X -q -v ON_ERROR_STOP=1 -c "ANALYZE" >/dev/null || log "warning: ANALYZE failed; run it before relying on query plans"
log "restored into '$target_db' in $(elapsed_s "$started") s"
