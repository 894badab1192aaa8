#!/usr/bin/env bash
# Restore drill: proves that today's backup can be restored and is complete.
#
#   deploy/backup_drill.sh [--env-file /etc/allaweeplus/env] [--keep-scratch]
#
# 1. Opens a REPEATABLE READ transaction on DATABASE_URL and exports its snapshot, so the
#    dump and the reference numbers describe exactly the same moment even while the
#    application keeps writing.
# 2. backup.sh dumps that snapshot (database only) into a temporary directory.
# 3. restore.sh restores it into a scratch database on the same server.
# 4. Compares the exact row count of every table in the public schema, and, if the ledger
#    table payments_posting exists, the trial balance: total debits = total credits in the
#    source, and the same totals and per-account balances in the restored copy.
# 5. Drops the scratch database (unless --keep-scratch) and exits 1 on any difference.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=deploy/lib.sh
. "$HERE/lib.sh"

usage() {
  sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'
}

keep_scratch=${DRILL_KEEP_SCRATCH:-false}
while (($#)); do
  case $1 in
    --env-file)
      [[ $# -ge 2 ]] || die "--env-file needs a file name"
      load_env_file "$2"
      shift 2
      ;;
    --keep-scratch)
      keep_scratch=true
      shift
      ;;
    -h | --help)
      usage
      exit 0
      ;;
    *) die "unknown argument '$1' (see --help)" ;;
  esac
done

[[ -n ${DATABASE_URL:-} ]] || die "DATABASE_URL is not set (pass --env-file /etc/allaweeplus/env?)"
is_postgres_url "$DATABASE_URL" || die "DATABASE_URL is not a PostgreSQL URL: the drill needs PostgreSQL"
need_cmd psql pg_dump pg_restore mktemp sort diff

source_url=$DATABASE_URL
pg_env_from_url "$source_url"
source_db=$PGDATABASE
scratch_db="${source_db:0:30}_drill_$(date -u +%Y%m%d%H%M%S)_$$"
scratch_url=$(pg_url_with_database "$source_url" "$scratch_db")
work_dir=$(mktemp -d "${DRILL_WORK_DIR:-${TMPDIR:-/tmp}}/allaweeplus-drill.XXXXXX")
scratch_created=false

# The reference session: one psql whose transaction holds the exported snapshot.
coproc SOURCE_PSQL { psql -X -A -t -q -v ON_ERROR_STOP=1 -F '|' 2>&1; }
source_in=${SOURCE_PSQL[1]}
source_out=${SOURCE_PSQL[0]}
source_pid=$SOURCE_PSQL_PID

finish() {
  local status=$?
  if [[ -n ${source_pid:-} ]] && kill -0 "$source_pid" 2>/dev/null; then
    { printf 'ROLLBACK;\n\\q\n' >&"$source_in"; } 2>/dev/null || true
    wait "$source_pid" 2>/dev/null || true
  fi
  if [[ $scratch_created == true && $keep_scratch != true ]]; then
    PGDATABASE=${RESTORE_MAINTENANCE_DB:-postgres} psql -X -q -v ON_ERROR_STOP=1 -v db="$scratch_db" \
      <<<'DROP DATABASE IF EXISTS :"db" WITH (FORCE);' >/dev/null 2>&1 ||
      log "warning: could not drop scratch database '$scratch_db': drop it by hand"
    log "dropped scratch database '$scratch_db'"
  elif [[ $scratch_created == true ]]; then
    log "kept scratch database '$scratch_db' (--keep-scratch)"
  fi
  rm -rf -- "$work_dir"
  exit "$status"
}
trap finish EXIT

# Sends SQL to the reference session and prints its output up to an end marker.
source_query() {
  local line marker="__allaweeplus_drill_end_${RANDOM}__"
  printf '%s\n\\echo %s\n' "$1" "$marker" >&"$source_in"
  while IFS= read -r -t "${DRILL_QUERY_TIMEOUT:-3600}" line <&"$source_out"; do
    [[ $line == "$marker" ]] && return 0
    if [[ $line == ERROR:* || $line == FATAL:* || $line == psql:* ]]; then
      die "reference query failed: $line"
    fi
    printf '%s\n' "$line"
  done
  die "the reference psql session ended or timed out (is DATABASE_URL reachable?)"
}

# Exact row counts of every base table in the public schema, one "table|rows" line each,
# computed by one query (query_to_xml runs a count per table inside the same snapshot).
counts_sql="SELECT table_name,
       (xpath('/row/n/text()', query_to_xml(format('SELECT count(*) AS n FROM %I.%I',
                                                   table_schema, table_name), false, true, '')))[1]::text
  FROM information_schema.tables
 WHERE table_schema = 'public' AND table_type = 'BASE TABLE'
 ORDER BY table_name;"

# The trial balance from payments_posting. The ledger's columns are matched against the
# shapes a double-entry posting table can have; an unknown shape is reported, not guessed.
ledger_sql() {
  local columns amount='' side='' debit='' credit='' account=''
  columns=$(psql -X -A -t -q -v ON_ERROR_STOP=1 -c "SELECT column_name FROM information_schema.columns
     WHERE table_schema = 'public' AND table_name = 'payments_posting'")
  has() { grep -qx "$1" <<<"$columns"; }
  for c in debit_kobo debit debit_amount; do has "$c" && debit=$c && break; done
  for c in credit_kobo credit credit_amount; do has "$c" && credit=$c && break; done
  for c in amount_kobo amount; do has "$c" && amount=$c && break; done
  for c in side direction entry_type kind; do has "$c" && side=$c && break; done
  for c in account_id account; do has "$c" && account=$c && break; done
  local debit_expr credit_expr
  if [[ -n $debit && -n $credit ]]; then
    debit_expr="coalesce(\"$debit\", 0)"
    credit_expr="coalesce(\"$credit\", 0)"
  elif [[ -n $amount && -n $side ]]; then
    debit_expr="CASE WHEN lower(\"$side\"::text) IN ('debit', 'dr', 'd') THEN \"$amount\" ELSE 0 END"
    credit_expr="CASE WHEN lower(\"$side\"::text) IN ('credit', 'cr', 'c') THEN \"$amount\" ELSE 0 END"
  elif [[ -n $amount ]]; then
    # One signed amount: debits positive, credits negative.
    debit_expr="greatest(\"$amount\", 0)"
    credit_expr="greatest(-\"$amount\", 0)"
  else
    return 1
  fi
  local per_account="''"
  if [[ -n $account ]]; then
    per_account="(SELECT coalesce(md5(string_agg(a || ':' || n, ',' ORDER BY a)), '')
        FROM (SELECT \"$account\"::text AS a, sum($debit_expr - $credit_expr)::text AS n
                FROM public.payments_posting GROUP BY 1) balances)"
  fi
  printf "SELECT 'ledger', coalesce(sum(%s), 0), coalesce(sum(%s), 0), count(*), %s FROM public.payments_posting;" \
    "$debit_expr" "$credit_expr" "$per_account"
}

# --- 1. snapshot -------------------------------------------------------------------------
source_query "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY;" >/dev/null
snapshot=$(source_query "SELECT pg_export_snapshot();")
[[ -n $snapshot ]] || die "could not export a snapshot from '$source_db'"
log "reference snapshot $snapshot of '$source_db'"
source_counts=$(source_query "$counts_sql")

ledger_present=$(psql -X -A -t -q -c "SELECT to_regclass('public.payments_posting') IS NOT NULL")
ledger_query=
if [[ $ledger_present == t ]]; then
  if ledger_query=$(ledger_sql); then
    source_ledger=$(source_query "$ledger_query")
  else
    ledger_query=
    log "ledger check skipped: payments_posting has no recognised debit/credit or amount columns"
  fi
else
  log "ledger check skipped: table payments_posting does not exist (yet)"
fi

# --- 2. backup ---------------------------------------------------------------------------
backup_started=$(now_ms)
backup_output=$(BACKUP_DIR="$work_dir/backups" BACKUP_PG_SNAPSHOT="$snapshot" BACKUP_INCLUDE_MEDIA=false \
  BACKUP_OFFSITE_CMD='' BACKUP_RETENTION_DAYS=1 "$HERE/backup.sh") || die "backup.sh failed: the drill failed"
backup_seconds=$(elapsed_s "$backup_started")
dump_file=$(sed -n 's/^dump_file=//p' <<<"$backup_output")
[[ -f $dump_file ]] || die "backup.sh reported no dump file"
source_query "COMMIT;" >/dev/null

# --- 3. restore ---------------------------------------------------------------------------
restore_started=$(now_ms)
scratch_created=true
"$HERE/restore.sh" "$dump_file" "$scratch_url" || die "restore.sh failed: the drill failed"
restore_seconds=$(elapsed_s "$restore_started")

# --- 4. compare ---------------------------------------------------------------------------
pg_env_from_url "$scratch_url"
restored_counts=$(psql -X -A -t -q -v ON_ERROR_STOP=1 -F '|' -c "$counts_sql")
failures=0
tables=0
rows=0
while IFS='|' read -r table count; do
  [[ -n $table ]] || continue
  tables=$((tables + 1))
  rows=$((rows + count))
done <<<"$source_counts"
if [[ $source_counts != "$restored_counts" ]]; then
  failures=$((failures + 1))
  log "ROW COUNTS DIFFER (source < > restored):"
  diff <(printf '%s\n' "$source_counts") <(printf '%s\n' "$restored_counts") >&2 || true
else
  log "row counts equal: $tables tables, $rows rows"
fi

if [[ -n $ledger_query ]]; then
  restored_ledger=$(psql -X -A -t -q -v ON_ERROR_STOP=1 -F '|' -c "$ledger_query")
  IFS='|' read -r _ debits credits postings _ <<<"$source_ledger"
  if [[ $debits == "$credits" ]]; then
    log "trial balance balanced in the source: $postings postings, debits = credits = $debits kobo"
  else
    failures=$((failures + 1))
    log "TRIAL BALANCE DOES NOT BALANCE in the source: debits $debits kobo, credits $credits kobo"
  fi
  if [[ $source_ledger == "$restored_ledger" ]]; then
    log "trial balance and per-account balances equal after restore"
  else
    failures=$((failures + 1))
    log "TRIAL BALANCE DIFFERS after restore: source [$source_ledger], restored [$restored_ledger]"
  fi
fi

summary="tables=$tables rows=$rows backup_seconds=$backup_seconds restore_seconds=$restore_seconds dump_bytes=$(stat -c %s -- "$dump_file")"
printf 'drill %s %s\n' "$([[ $failures == 0 ]] && echo ok || echo FAILED)" "$summary"
if ((failures > 0)); then
  die "backup drill FAILED: $failures check(s) failed for '$source_db' (see above)"
fi
log "backup drill passed: the backup of '$source_db' restores completely"
