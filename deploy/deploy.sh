#!/usr/bin/env bash
# Deploys a git ref (branch, tag or commit) of AllaweePlus, one web instance at a time.
#
#   deploy/deploy.sh [--dry-run] [--force-restart] <ref>
#
# Steps, each stopping the deploy with a clear message on failure:
#  1. fetch: a mirror of the repository in $DEPLOY_ROOT/repo.git; the ref's tree is unpacked
#     into $DEPLOY_ROOT/releases/<commit> (reused if that commit was built before).
#  2. build: `uv sync --frozen --no-dev`; manage.py check --deploy --fail-level WARNING.
#  3. database: a backup (DEPLOY_BACKUP_BEFORE_MIGRATE), then migrate --noinput. Migrations
#     must work with the release still running (add first, remove a release later): a
#     rollback switches the code back, never the schema.
#  4. collectstatic --noinput into the shared static directory (old hashed files stay, so
#     pages of the previous release still find theirs during the switch).
#  5. switch $DEPLOY_ROOT/current to the release, restart each web instance in turn and wait
#     for its /healthz and /readyz; then restart the worker.
#  6. on any failure in 5: switch back to the previous release, restart what was restarted,
#     exit 1.
# Running it again with the same ref changes nothing (unless --force-restart).
#
# Environment (defaults in brackets):
#   DEPLOY_ROOT [/srv/allaweeplus]             DEPLOY_REPO_URL (needed on the first deploy)
#   DEPLOY_ENV_FILE [/etc/allaweeplus/env]     DEPLOY_WEB_PORTS ["8101 8102"]
#   DEPLOY_RESTART_CMD ["systemctl restart allaweeplus-web@{port}.service"]
#   DEPLOY_WORKER_RESTART_CMD ["systemctl restart allaweeplus-worker.service"]
#   DEPLOY_HEALTH_URL ["http://127.0.0.1:{port}"]   DEPLOY_HEALTH_TIMEOUT [90 seconds]
#   DEPLOY_KEEP_RELEASES [5]                   DEPLOY_BACKUP_BEFORE_MIGRATE [true]
#   UV_BIN [uv]
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=deploy/lib.sh
. "$HERE/lib.sh"

usage() {
  sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'
}

dry_run=false
force_restart=false
ref=
while (($#)); do
  case $1 in
    --dry-run)
      dry_run=true
      shift
      ;;
    --force-restart)
      force_restart=true
      shift
      ;;
    -h | --help)
      usage
      exit 0
      ;;
    -*) die "unknown option '$1' (see --help)" ;;
    *)
      [[ -z $ref ]] || die "only one ref may be given (got '$ref' and '$1')"
      ref=$1
      shift
      ;;
  esac
done
[[ -n $ref ]] || {
  usage >&2
  die "which ref should be deployed? e.g. deploy/deploy.sh v1.4.0"
}
[[ $ref != -* && $ref =~ ^[A-Za-z0-9._/@^~-]+$ ]] || die "'$ref' does not look like a git ref"

root=${DEPLOY_ROOT:-/srv/allaweeplus}
env_file=${DEPLOY_ENV_FILE:-/etc/allaweeplus/env}
ports=${DEPLOY_WEB_PORTS:-8101 8102}
restart_cmd=${DEPLOY_RESTART_CMD:-systemctl restart allaweeplus-web@\{port\}.service}
worker_restart_cmd=${DEPLOY_WORKER_RESTART_CMD:-systemctl restart allaweeplus-worker.service}
health_url=${DEPLOY_HEALTH_URL:-http://127.0.0.1:\{port\}}
health_timeout=${DEPLOY_HEALTH_TIMEOUT:-90}
keep_releases=${DEPLOY_KEEP_RELEASES:-5}
backup_first=${DEPLOY_BACKUP_BEFORE_MIGRATE:-true}
uv_bin=${UV_BIN:-uv}
export UV_PYTHON_INSTALL_DIR=${UV_PYTHON_INSTALL_DIR:-$root/python}
is_uint "$health_timeout" || die "DEPLOY_HEALTH_TIMEOUT must be a whole number of seconds"
if ! is_uint "$keep_releases" || ((keep_releases < 2)); then
  die "DEPLOY_KEEP_RELEASES must be at least 2 (current and previous)"
fi
for port in $ports; do
  is_uint "$port" || die "DEPLOY_WEB_PORTS must list port numbers, not '$port'"
done

need_cmd git curl flock tar
command -v "$uv_bin" >/dev/null 2>&1 || die "uv ($uv_bin) is not installed: see https://docs.astral.sh/uv/ or set UV_BIN"

# Mutating steps go through run(): printed instead of run with --dry-run.
run() {
  if [[ $dry_run == true ]]; then
    printf '[dry-run] would run: %s\n' "$*"
    return 0
  fi
  log "+ $*"
  "$@"
}

run_shell() {
  if [[ $dry_run == true ]]; then
    printf '[dry-run] would run: %s\n' "$1"
    return 0
  fi
  log "+ $1"
  bash -c "$1"
}

[[ $dry_run == true ]] && log "dry run: nothing will be changed"

if [[ -r $env_file ]]; then
  load_env_file "$env_file"
elif [[ $dry_run != true ]]; then
  die "environment file $env_file is missing or unreadable: copy deploy/.env.example there and fill it in"
fi
health_host=${ALLOWED_HOSTS:-}
health_host=${health_host%%,*}
health_host=${health_host// /}
health_host=${health_host#.}

if [[ $dry_run != true ]]; then
  mkdir -p "$root/releases" "$root/shared/private" "$root/shared/var" "$root/shared/staticfiles" ||
    die "cannot create the layout under $root (run as root or the deploy user)"
  exec 8>"$root/.deploy.lock"
  flock -n 8 || die "another deploy is running (lock $root/.deploy.lock)"
fi

# --- 1. fetch ---------------------------------------------------------------------------------
repo="$root/repo.git"
if [[ ! -d $repo ]]; then
  [[ -n ${DEPLOY_REPO_URL:-} ]] || die "no repository mirror at $repo yet: set DEPLOY_REPO_URL for the first deploy"
  run git clone --quiet --mirror "$DEPLOY_REPO_URL" "$repo" || die "cannot clone $DEPLOY_REPO_URL"
else
  if [[ -n ${DEPLOY_REPO_URL:-} ]]; then
    run git --git-dir="$repo" remote set-url origin "$DEPLOY_REPO_URL"
  fi
  run git --git-dir="$repo" fetch --quiet --prune --tags origin || die "git fetch from origin failed"
fi

if [[ -d $repo ]]; then
  commit=$(git --git-dir="$repo" rev-parse --verify --quiet "${ref}^{commit}") ||
    die "ref '$ref' was not found in the repository (pushed? spelled right?)"
else
  commit="<commit of $ref>"
fi
release="$root/releases/$commit"
current_link="$root/current"
previous=$(readlink -- "$current_link" 2>/dev/null || true)
previous=${previous:+$root/${previous#"$root"/}}
log "deploying $ref = $commit (current: ${previous:-none})"

health_ok() {
  local base=${health_url//\{port\}/$1} path code
  local -a args=(-s -o /dev/null -w '%{http_code}' --max-time 5)
  [[ -n $health_host ]] && args+=(-H "Host: $health_host")
  for path in healthz readyz; do
    code=$(curl "${args[@]}" "$base/$path" 2>/dev/null || true)
    [[ $code == 200 ]] || return 1
  done
}

wait_healthy() {
  local port=$1 deadline=$((SECONDS + health_timeout))
  while ((SECONDS < deadline)); do
    health_ok "$port" && return 0
    sleep 1
  done
  return 1
}

if [[ $previous == "$release" && $force_restart != true && $dry_run != true ]]; then
  all_healthy=true
  for port in $ports; do health_ok "$port" || all_healthy=false; done
  if [[ $all_healthy == true ]]; then
    log "$commit is already deployed and every instance is healthy: nothing to do (--force-restart to restart anyway)"
    exit 0
  fi
  log "$commit is current but not every instance is healthy: restarting them"
fi

# --- 2. build -------------------------------------------------------------------------------
if [[ -f $release/.allaweeplus-release-ok ]]; then
  log "release $commit was built before: reusing it"
else
  if [[ -e $release ]]; then
    [[ $release != "$previous" ]] || die "the current release $release is incomplete: fix it by hand"
    run rm -rf -- "$release"
  fi
  run mkdir -p "$release"
  if [[ $dry_run == true ]]; then
    printf '[dry-run] would run: git archive %s | tar -x -C %s\n' "$commit" "$release"
  else
    git --git-dir="$repo" archive "$commit" | tar -x -C "$release" || die "unpacking $commit failed"
    printf '%s %s\n' "$commit" "$ref" >"$release/REVISION"
  fi
  # Shared between releases: collected static files and runtime data (never in the tree).
  run ln -sfn ../../shared/staticfiles "$release/staticfiles"
  run ln -sfn ../../shared/var "$release/var"
  if [[ $dry_run == true ]]; then
    printf '[dry-run] would run: (cd %s && %s sync --frozen --no-dev)\n' "$release" "$uv_bin"
  else
    (cd "$release" && "$uv_bin" sync --frozen --no-dev --quiet) ||
      die "uv sync --frozen failed (is uv.lock up to date with pyproject.toml?)"
    touch "$release/.allaweeplus-release-ok"
  fi
fi

manage() {
  if [[ $dry_run == true ]]; then
    printf '[dry-run] would run: (cd %s && %s run --frozen --no-sync python manage.py %s)\n' "$release" "$uv_bin" "$*"
    return 0
  fi
  log "+ manage.py $*"
  (cd "$release" && "$uv_bin" run --frozen --no-sync python manage.py "$@")
}

manage check --deploy --fail-level WARNING ||
  die "manage.py check --deploy found problems (above): nothing was changed, the running release stays"

# --- 3. database ------------------------------------------------------------------------------
if [[ $backup_first == true ]]; then
  if [[ $dry_run == true ]]; then
    printf '[dry-run] would run: %s/deploy/backup.sh\n' "$release"
  else
    log "backup before migrating"
    "$release/deploy/backup.sh" >/dev/null || die "the backup before migrating failed: not migrating"
  fi
fi
manage migrate --noinput ||
  die "migrate failed (above): the running release stays; PostgreSQL rolled back the failed migration"

# --- 4. static files --------------------------------------------------------------------------
manage collectstatic --noinput --verbosity 0 || die "collectstatic failed (above): the running release stays"

# --- 5. switch and restart --------------------------------------------------------------------
switch_to() {
  run ln -sfn "releases/$(basename -- "$1")" "$root/.current.tmp"
  run mv -T "$root/.current.tmp" "$current_link"
}

restarted=()
rollback() {
  local reason=$1 port
  log "ERROR: $reason"
  if [[ -z $previous || $previous == "$release" ]]; then
    echo "$(date -u +%FT%TZ) $commit $ref FAILED (nothing to roll back to)" >>"$root/deploys.log"
    die "deploy of $ref failed and there is no previous release to roll back to"
  fi
  log "rolling back to $(basename -- "$previous")"
  switch_to "$previous"
  for port in "${restarted[@]}"; do
    run_shell "${restart_cmd//\{port\}/$port}" || log "ERROR: restarting instance $port on the previous release failed"
    wait_healthy "$port" || log "ERROR: instance $port is not healthy after the rollback either: investigate now"
  done
  run_shell "$worker_restart_cmd" || log "ERROR: restarting the worker on the previous release failed"
  echo "$(date -u +%FT%TZ) $commit $ref ROLLED BACK to $(basename -- "$previous")" >>"$root/deploys.log"
  die "deploy of $ref failed and was rolled back to $(basename -- "$previous")"
}

switch_to "$release"
for port in $ports; do
  restarted+=("$port")
  run_shell "${restart_cmd//\{port\}/$port}" || rollback "restarting web instance $port failed"
  if [[ $dry_run == true ]]; then
    printf '[dry-run] would wait up to %ss for %s/healthz and /readyz\n' "$health_timeout" "${health_url//\{port\}/$port}"
    continue
  fi
  wait_healthy "$port" || rollback "web instance $port was not healthy (healthz and readyz) within ${health_timeout}s"
  log "web instance $port is healthy on $commit"
done
run_shell "$worker_restart_cmd" || rollback "restarting the worker failed"

if [[ $dry_run == true ]]; then
  log "dry run finished: nothing was changed"
  exit 0
fi
echo "$(date -u +%FT%TZ) $commit $ref OK" >>"$root/deploys.log"

# --- housekeeping -------------------------------------------------------------------------------
# Keep the newest releases (always the current and the previous one).
count=0
while IFS= read -r old; do
  [[ -n $old ]] || continue
  count=$((count + 1))
  ((count > keep_releases)) || continue
  [[ $old == "$release" || $old == "$previous" ]] && continue
  rm -rf -- "$old" && log "removed old release $(basename -- "$old")"
done < <(find "$root/releases" -mindepth 1 -maxdepth 1 -type d -printf '%T@ %p\n' | sort -rn | cut -d' ' -f2-)

log "deployed $ref ($commit)"
