#!/usr/bin/env bash
# Backs up AllaweePlus: the PostgreSQL database and the private member documents.
#
#   deploy/backup.sh [--env-file /etc/allaweeplus/env]
#
# - pg_dump -Fc of DATABASE_URL, written under a temporary name, verified by reading it back
#   completely with pg_restore (table of contents and every data block), then renamed into
#   place; a dump that fails verification is deleted and the script exits non-zero.
# - a tar.gz of PRIVATE_MEDIA_ROOT (if that directory exists), verified the same way.
# - a .sha256 file beside each (sha256sum -c format, checked by restore.sh).
# - free space is checked first: database size + media size + BACKUP_MIN_FREE_MB.
# - retention: after a good backup, files of this script older than BACKUP_RETENTION_DAYS are
#   deleted; nothing else in BACKUP_DIR is touched.
# - BACKUP_OFFSITE_CMD, if set, is run once per new file with the file's path as its last
#   argument (e.g. "rclone copyto --s3-no-check-bucket" or "aws s3 cp ... s3://bucket/");
#   a failed copy makes the exit status non-zero but keeps the local backup.
#
# Environment: DATABASE_URL (required), BACKUP_DIR (/var/backups/allaweeplus),
# BACKUP_RETENTION_DAYS (30), BACKUP_MIN_FREE_MB (512), PRIVATE_MEDIA_ROOT,
# BACKUP_INCLUDE_MEDIA (true), BACKUP_OFFSITE_CMD, BACKUP_PG_SNAPSHOT (used by the drill).
# On success stdout has one line per new file: dump_file=PATH, media_file=PATH.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=deploy/lib.sh
. "$HERE/lib.sh"

usage() {
  sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'
}

while (($#)); do
  case $1 in
    --env-file)
      [[ $# -ge 2 ]] || die "--env-file needs a file name"
      load_env_file "$2"
      shift 2
      ;;
    -h | --help)
      usage
      exit 0
      ;;
    *) die "unknown argument '$1' (see --help)" ;;
  esac
done

[[ -n ${DATABASE_URL:-} ]] || die "DATABASE_URL is not set: nothing to back up (pass --env-file /etc/allaweeplus/env?)"
is_postgres_url "$DATABASE_URL" || die "DATABASE_URL is not a PostgreSQL URL: backups need PostgreSQL"
backup_dir=${BACKUP_DIR:-/var/backups/allaweeplus}
retention_days=${BACKUP_RETENTION_DAYS:-30}
min_free_mb=${BACKUP_MIN_FREE_MB:-512}
media_dir=${PRIVATE_MEDIA_ROOT:-}
include_media=${BACKUP_INCLUDE_MEDIA:-true}
if ! is_uint "$retention_days" || ((retention_days < 1)); then
  die "BACKUP_RETENTION_DAYS must be a whole number of days, at least 1"
fi
is_uint "$min_free_mb" || die "BACKUP_MIN_FREE_MB must be a whole number of MiB"

need_cmd pg_dump pg_restore psql sha256sum tar gzip df du find flock

# Backups hold personal data (encrypted BVNs, names, documents): readable by the owner only.
umask 077
mkdir -p "$backup_dir" || die "cannot create BACKUP_DIR $backup_dir"
[[ -w $backup_dir ]] || die "BACKUP_DIR $backup_dir is not writable by $(id -un)"

exec 9>"$backup_dir/.backup.lock"
flock -n 9 || die "another backup is already running in $backup_dir"

pg_env_from_url "$DATABASE_URL"
database=$PGDATABASE
stamp=$(date -u +%Y%m%dT%H%M%SZ)
dump_name="allaweeplus-db-${database}-${stamp}.dump"
media_name="allaweeplus-media-${stamp}.tar.gz"
partial_prefix=".partial-"
partials=()

# shellcheck disable=SC2317  # called by the EXIT trap
cleanup() {
  local file
  for file in "${partials[@]}"; do
    rm -f -- "$file"
  done
}
trap cleanup EXIT
trap 'die "interrupted: partial files removed, nothing kept"' INT TERM

started=$(now_ms)

# --- free space ------------------------------------------------------------------------
db_bytes=$(psql -X -A -t -q -v ON_ERROR_STOP=1 -c "SELECT pg_database_size(current_database())") ||
  die "cannot connect to database '$database' (host ${PGHOST:-local socket}): check DATABASE_URL and that PostgreSQL is up"
media_bytes=0
if [[ $include_media == true && -n $media_dir && -d $media_dir ]]; then
  media_bytes=$(du -sb -- "$media_dir" | cut -f1)
fi
need_kb=$(((db_bytes + media_bytes) / 1024 + min_free_mb * 1024))
avail_kb=$(df -Pk -- "$backup_dir" | awk 'NR == 2 { print $4 }')
if ((avail_kb < need_kb)); then
  die "not enough free space in $backup_dir: $((avail_kb / 1024)) MiB available, $((need_kb / 1024)) MiB needed (database $((db_bytes / 1048576)) MiB + media $((media_bytes / 1048576)) MiB + BACKUP_MIN_FREE_MB=$min_free_mb); free space or move BACKUP_DIR. No backup was made."
fi

write_checksum() {
  local file=$1 name=$2 sum
  sum=$(sha256sum <"$file" | cut -d' ' -f1)
  printf '%s  %s\n' "$sum" "$name" >"$file.sha256"
}

# Renames a verified temporary file and its checksum into place (rename is atomic on one
# file system, so a reader sees either no backup or a complete one).
publish() {
  local tmp=$1 name=$2
  sync -- "$tmp" "$tmp.sha256" 2>/dev/null || sync
  mv -f -- "$tmp.sha256" "$backup_dir/$name.sha256"
  mv -f -- "$tmp" "$backup_dir/$name"
}

# --- database ----------------------------------------------------------------------------
tmp_dump="$backup_dir/${partial_prefix}${dump_name}"
partials+=("$tmp_dump" "$tmp_dump.sha256")
snapshot_args=()
[[ -n ${BACKUP_PG_SNAPSHOT:-} ]] && snapshot_args=(--snapshot="$BACKUP_PG_SNAPSHOT")
log "dumping database '$database' ($((db_bytes / 1048576)) MiB on disk)"
if ! pg_dump --format=custom --compress=6 --no-password "${snapshot_args[@]}" --file="$tmp_dump"; then
  die "pg_dump of '$database' failed (see above; a full disk shows as 'No space left on device'); nothing kept"
fi
if ! pg_restore --list -- "$tmp_dump" >/dev/null; then
  die "the new dump has an unreadable table of contents: deleted, nothing kept"
fi
# --list reads only the table of contents; reading every data block finds truncation too.
if ! pg_restore --file=/dev/null -- "$tmp_dump"; then
  die "the new dump is incomplete or corrupt (its data cannot be read back): deleted, nothing kept"
fi
write_checksum "$tmp_dump" "$dump_name"
publish "$tmp_dump" "$dump_name"
new_files=("$backup_dir/$dump_name" "$backup_dir/$dump_name.sha256")
log "database dump verified: $backup_dir/$dump_name ($(du -h -- "$backup_dir/$dump_name" | cut -f1))"
printf 'dump_file=%s\n' "$backup_dir/$dump_name"

# --- private documents ----------------------------------------------------------------
if [[ $include_media != true ]]; then
  log "private documents: skipped (BACKUP_INCLUDE_MEDIA=$include_media)"
elif [[ -z $media_dir ]]; then
  log "private documents: skipped (PRIVATE_MEDIA_ROOT is not set)"
elif [[ ! -d $media_dir ]]; then
  log "private documents: skipped ($media_dir does not exist yet)"
else
  tmp_media="$backup_dir/${partial_prefix}${media_name}"
  partials+=("$tmp_media" "$tmp_media.sha256")
  log "archiving private documents from $media_dir"
  media_parent=$(dirname -- "$media_dir")
  media_base=$(basename -- "$media_dir")
  if ! tar -C "$media_parent" -czf "$tmp_media" -- "$media_base"; then
    die "archiving $media_dir failed (see above); the database dump is kept, the media archive is not"
  fi
  tar -tzf "$tmp_media" >/dev/null || die "the new media archive cannot be read back: deleted"
  write_checksum "$tmp_media" "$media_name"
  publish "$tmp_media" "$media_name"
  new_files+=("$backup_dir/$media_name" "$backup_dir/$media_name.sha256")
  log "private documents archived: $backup_dir/$media_name ($(du -h -- "$backup_dir/$media_name" | cut -f1))"
  printf 'media_file=%s\n' "$backup_dir/$media_name"
fi

# --- retention ----------------------------------------------------------------------------
# Only this script's own files, and only after a good backup, so a run of failures never
# deletes the last good copies.
retention_minutes=$((retention_days * 24 * 60))
deleted=0
while IFS= read -r -d '' old; do
  rm -f -- "$old"
  log "retention: deleted $(basename -- "$old") (older than $retention_days days)"
  deleted=$((deleted + 1))
done < <(find "$backup_dir" -maxdepth 1 -type f \
  \( -name 'allaweeplus-db-*.dump' -o -name 'allaweeplus-db-*.dump.sha256' \
  -o -name 'allaweeplus-media-*.tar.gz' -o -name 'allaweeplus-media-*.tar.gz.sha256' \) \
  -mmin +"$retention_minutes" -print0)
# Temporary files of a run that was killed outright (no trap ran) a day or more ago.
find "$backup_dir" -maxdepth 1 -type f -name "${partial_prefix}allaweeplus-*" -mmin +1440 -delete
log "retention: $deleted old file(s) deleted, keeping $retention_days days"

# --- off-site copy ----------------------------------------------------------------------------
status=0
if [[ -n ${BACKUP_OFFSITE_CMD:-} ]]; then
  for file in "${new_files[@]}"; do
    if bash -c "$BACKUP_OFFSITE_CMD \"\$1\"" offsite "$file"; then
      log "off-site copy: $(basename -- "$file") done"
    else
      log "ERROR: off-site copy of $(basename -- "$file") failed (BACKUP_OFFSITE_CMD); the local backup is kept"
      status=1
    fi
  done
fi

log "backup finished in $(elapsed_s "$started") s"
exit "$status"
