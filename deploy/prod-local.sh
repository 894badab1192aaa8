#!/usr/bin/env bash
# The production stack on this machine, on loopback only, for trying it and for the
# integration test (tests/deploy/test_prod_local.py).
#
#   deploy/prod-local.sh [start]   start (or confirm running) and print the URLs
#   deploy/prod-local.sh stop      stop everything this script started
#   deploy/prod-local.sh status    what runs, and /readyz
#
# What it runs: PostgreSQL database allaweeplus_prod_local and Redis db 13 on this machine,
# migrate + collectstatic + check --deploy, two gunicorn instances (127.0.0.1:8101 and 8102)
# with deploy/gunicorn.conf.py, the Huey worker, and nginx with deploy/nginx.conf and a
# self-signed certificate on https://127.0.0.1:8443 (http://127.0.0.1:8080 redirects).
# DEBUG=false with generated SECRET_KEY/PII keys in var/prod-local/env (never committed);
# e-mail goes through the SMTP backend to deploy/mail_sink.py (files in var/prod-local/mail).
# State, logs and pid files live in var/prod-local/. Processes run in the background with pid
# files; `stop` ends exactly those processes.
#
# Overrides: PROD_LOCAL_DATABASE_URL, PROD_LOCAL_REDIS_URL, PROD_LOCAL_HTTPS_PORT (8443),
# PROD_LOCAL_HTTP_PORT (8080), PROD_LOCAL_WEB_PORTS ("8101 8102"), PROD_LOCAL_WAIT (120 s),
# and NGINX_* for deploy/render-nginx.sh (e.g. NGINX_API_RATE for load tests).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=deploy/lib.sh
. "$HERE/lib.sh"

project=$(dirname "$HERE")
state="$project/var/prod-local"
run_dir="$state/run"
log_dir="$state/logs"
env_file="$state/env"
https_port=${PROD_LOCAL_HTTPS_PORT:-8443}
http_port=${PROD_LOCAL_HTTP_PORT:-8080}
web_ports=${PROD_LOCAL_WEB_PORTS:-8101 8102}
database_url=${PROD_LOCAL_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/allaweeplus_prod_local}
redis_url=${PROD_LOCAL_REDIS_URL:-redis://127.0.0.1:6379/13}
smtp_port=${PROD_LOCAL_SMTP_PORT:-8025}
wait_seconds=${PROD_LOCAL_WAIT:-120}
base_url="https://127.0.0.1:$https_port"

usage() {
  sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'
}

components() {
  local port
  for port in $web_ports; do printf 'web-%s\n' "$port"; done
  printf 'worker\nmail\nnginx\n'
}

# The pid in a component's pid file if that process is alive and is what we started
# (a pid recycled by an unrelated process after a reboot is never signalled).
live_pid() {
  local name=$1 pid expect
  pid=$(cat -- "$run_dir/$name.pid" 2>/dev/null || true)
  [[ $pid =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null || return 1
  case $name in
    web-*) expect=gunicorn ;;
    worker) expect=run_huey ;;
    mail) expect=mail_sink ;;
    nginx) expect=nginx ;;
  esac
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q -- "$expect" || return 1
  printf '%s' "$pid"
}

signal_for() {
  case $1 in
    nginx) echo QUIT ;; # finish requests in flight
    worker) echo INT ;; # Huey's graceful stop
    *) echo TERM ;;     # gunicorn's graceful stop (uv passes it on)
  esac
}

# Signals the named components together, waits up to 40 s, then kills what is left.
stop_components() {
  local name pid
  local -A pids=()
  for name in "$@"; do
    if pid=$(live_pid "$name"); then
      pids[$name]=$pid
      kill -s "$(signal_for "$name")" "$pid" 2>/dev/null || true
    else
      rm -f -- "$run_dir/$name.pid"
    fi
  done
  for name in "${!pids[@]}"; do
    pid=${pids[$name]}
    for _ in $(seq 1 80); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.5
    done
    if kill -0 "$pid" 2>/dev/null; then
      log "$name (pid $pid) did not stop in 40 s: killing its process group"
      kill -s KILL -- "-$pid" 2>/dev/null || kill -s KILL "$pid" 2>/dev/null || true
    fi
    rm -f -- "$run_dir/$name.pid"
    log "stopped $name (pid $pid)"
  done
}

stop_all() {
  local -a rest=()
  local name
  while IFS= read -r name; do
    [[ $name == nginx ]] || rest+=("$name")
  done < <(components)
  # nginx first (no new requests), then everything else at once.
  stop_components nginx
  stop_components "${rest[@]}"
}

port_in_use() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

ensure_services() {
  if ! pg_isready -q -h 127.0.0.1 -p 5432; then
    if command -v pg_ctlcluster >/dev/null 2>&1 && [[ -d /etc/postgresql ]]; then
      log "starting PostgreSQL"
      pg_ctlcluster --skip-systemctl-redirect "$(find /etc/postgresql -mindepth 1 -maxdepth 1 -printf '%f\n' | sort | tail -n1)" main start || true
      for _ in $(seq 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
    fi
    pg_isready -q -h 127.0.0.1 -p 5432 || die "PostgreSQL is not running on 127.0.0.1:5432 and could not be started"
  fi
  if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
    log "starting Redis"
    redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no >/dev/null
    for _ in $(seq 30); do redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 && break; sleep 0.5; done
    redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 || die "Redis is not running on 127.0.0.1:6379 and could not be started"
  fi
}

write_env_file() {
  local secret fernet hmac origins
  log "generating $env_file (new SECRET_KEY and PII keys)"
  secret=$(head -c 96 /dev/urandom | base64 -w0 | tr -dc 'A-Za-z0-9' | head -c 64)
  fernet=$(head -c 32 /dev/urandom | base64 -w0 | tr '+/' '-_')
  hmac=$(head -c 32 /dev/urandom | base64 -w0)
  origins="https://127.0.0.1:$https_port,https://localhost:$https_port"
  (
    umask 077
    cat >"$env_file.tmp" <<EOF
# Generated by deploy/prod-local.sh for the local production stack. Never commit or reuse.
DJANGO_SETTINGS_MODULE=config.settings
DEBUG=false
TESTING=false
HUEY_IMMEDIATE=false
SECRET_KEY=$secret
PII_ENCRYPTION_KEYS=$fernet
PII_HMAC_KEY=$hmac
ALLOWED_HOSTS=127.0.0.1,localhost
CSRF_TRUSTED_ORIGINS=$origins
SITE_URL=https://127.0.0.1:$https_port
DATABASE_URL=$database_url
DATABASE_POOL_MIN=1
DATABASE_POOL_MAX=4
REDIS_URL=$redis_url
HUEY_NAME=allaweeplus-prod-local
PRIVATE_MEDIA_ROOT=$state/private
MFA_REQUIRED_FOR_STAFF=true
EMAIL_BACKEND=django.core.mail.backends.smtp.EmailBackend
EMAIL_HOST=127.0.0.1
EMAIL_PORT=$smtp_port
EMAIL_USE_TLS=false
PAYMENTS_PROVIDER=simulated
ALLOW_SIMULATED_PROVIDER=true
SIMULATED_PROVIDER_SECRET=$(head -c 48 /dev/urandom | base64 -w0 | tr -dc 'A-Za-z0-9' | head -c 48)
GUNICORN_THREADS=4
METRICS_TOKEN=$(head -c 48 /dev/urandom | base64 -w0 | tr -dc 'A-Za-z0-9' | head -c 40)
PROMETHEUS_MULTIPROC_DIR=$state/metrics
EOF
  )
  mv -f "$env_file.tmp" "$env_file"
}

ensure_certificate() {
  local tls="$state/tls"
  mkdir -p "$tls"
  chmod 700 "$tls"
  if [[ -f $tls/cert.pem && -f $tls/key.pem ]] && openssl x509 -checkend 86400 -noout -in "$tls/cert.pem" >/dev/null 2>&1; then
    return 0
  fi
  log "creating a self-signed certificate for localhost and 127.0.0.1"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 30 \
    -subj "/CN=localhost" -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
    -keyout "$tls/key.pem" -out "$tls/cert.pem" >/dev/null 2>&1 || die "openssl could not create the certificate"
  chmod 600 "$tls/key.pem"
}

ensure_database() {
  (
    pg_env_from_url "$database_url"
    local db=$PGDATABASE
    exists=$(PGDATABASE=postgres psql -X -A -t -q -v db="$db" <<<"SELECT count(*) FROM pg_database WHERE datname = :'db';") ||
      die "cannot connect to PostgreSQL with $database_url"
    if [[ $exists != 1 ]]; then
      PGDATABASE=postgres psql -X -q -v ON_ERROR_STOP=1 -v db="$db" <<<'CREATE DATABASE :"db";' || die "cannot create database $db"
      log "created database $db"
    fi
  )
}

manage() {
  (cd "$project" && uv run --frozen --no-sync python manage.py "$@")
}

start_background() {
  local name=$1
  shift
  # setsid: a process group of its own, so a stuck process can be killed with its children.
  (cd "$project" && exec setsid "$@" >>"$log_dir/$name.log" 2>&1 </dev/null) &
  echo $! >"$run_dir/$name.pid"
}

ready() {
  [[ $(curl -sk -o /dev/null -w '%{http_code}' --max-time 5 "$base_url/readyz" 2>/dev/null || true) == 200 ]]
}

print_urls() {
  cat <<EOF
AllaweePlus production stack is running (DEBUG=false, self-signed certificate):
  site       $base_url/   (curl -k, or accept the certificate in the browser)
  readiness  $base_url/readyz
  redirect   http://127.0.0.1:$http_port/ -> $base_url/
  instances  $(for p in $web_ports; do printf 'http://127.0.0.1:%s ' "$p"; done)
  logs       $log_dir/
  stop       deploy/prod-local.sh stop
EOF
}

start() {
  need_cmd uv openssl nginx psql pg_isready redis-cli redis-server curl setsid
  ensure_services

  local all_running=true name
  while IFS= read -r name; do
    live_pid "$name" >/dev/null || all_running=false
  done < <(components)
  if [[ $all_running == true ]] && ready; then
    log "already running"
    print_urls
    return 0
  fi
  stop_all

  local port
  for port in $web_ports $http_port $https_port $smtp_port; do
    port_in_use "$port" && die "port $port on 127.0.0.1 is in use by another process: stop it or set PROD_LOCAL_*_PORT"
  done

  mkdir -p "$state" "$run_dir" "$log_dir" "$state/private" "$state/acme" "$state/nginx/tmp"
  # nginx's workers (an unprivileged user) must traverse this directory to their temp files;
  # the secrets inside are protected file by file (env 0600, tls/ 0700).
  chmod 711 "$state"
  [[ -f $env_file ]] || write_env_file
  # An env file from before /metrics existed gets a scrape token of its own.
  grep -q '^METRICS_TOKEN=' "$env_file" ||
    printf 'METRICS_TOKEN=%s\n' "$(head -c 48 /dev/urandom | base64 -w0 | tr -dc 'A-Za-z0-9' | head -c 40)" >>"$env_file"
  # The simulated provider needs its own webhook secret when DEBUG=false (no SECRET_KEY fallback).
  grep -q '^SIMULATED_PROVIDER_SECRET=' "$env_file" ||
    printf 'SIMULATED_PROVIDER_SECRET=%s\n' "$(head -c 48 /dev/urandom | base64 -w0 | tr -dc 'A-Za-z0-9' | head -c 48)" >>"$env_file"
  load_env_file "$env_file" override
  # Prometheus counters of this run only: every process of the stack is stopped here.
  export PROMETHEUS_MULTIPROC_DIR=${PROMETHEUS_MULTIPROC_DIR:-$state/metrics}
  rm -rf -- "$PROMETHEUS_MULTIPROC_DIR"
  mkdir -p -- "$PROMETHEUS_MULTIPROC_DIR"
  ensure_certificate
  ensure_database

  log "migrate, collectstatic, check --deploy"
  manage migrate --noinput >"$log_dir/migrate.log" 2>&1 || {
    tail -n 30 "$log_dir/migrate.log" >&2
    die "migrate failed (full output: $log_dir/migrate.log)"
  }
  manage collectstatic --noinput --verbosity 0 || die "collectstatic failed"
  manage check --deploy --fail-level WARNING || die "check --deploy found problems (above)"

  # E-mail goes to a local sink (var/prod-local/mail/*.eml): the real SMTP backend, no relay.
  start_background mail uv run --frozen --no-sync python deploy/mail_sink.py --port "$smtp_port" --dir "$state/mail"

  local upstreams=""
  for port in $web_ports; do
    GUNICORN_BIND="127.0.0.1:$port" GUNICORN_ACCESS_LOG="$log_dir/access-$port.log" \
      start_background "web-$port" uv run --frozen --no-sync gunicorn -c deploy/gunicorn.conf.py config.wsgi
    upstreams+="127.0.0.1:$port "
  done
  start_background worker uv run --frozen --no-sync python manage.py run_huey --flush-locks

  # As root the workers drop to nobody, unless nobody cannot reach the checkout's static
  # files (a private temp folder, as in CI): then, on this loopback-only trial stack, they
  # stay root. A real server uses deploy/render-nginx.sh with www-data.
  local nginx_user
  if [[ $(id -u) == 0 ]]; then
    nginx_user=nobody
    getent group nogroup >/dev/null && nginx_user="nobody nogroup"
    if command -v runuser >/dev/null && ! runuser -u nobody -- test -r "$project/staticfiles/css/portal.css"; then
      nginx_user=root
    fi
  else
    nginx_user=$(id -un)
  fi
  NGINX_SERVER_NAME="127.0.0.1 localhost" \
    NGINX_HTTP_LISTEN="127.0.0.1:$http_port" \
    NGINX_HTTPS_LISTEN="127.0.0.1:$https_port" \
    NGINX_UPSTREAMS="$upstreams" \
    NGINX_TLS_CERT="$state/tls/cert.pem" \
    NGINX_TLS_KEY="$state/tls/key.pem" \
    NGINX_STATIC_ROOT="$project/staticfiles" \
    NGINX_ACME_ROOT="$state/acme" \
    NGINX_LOG_DIR="$log_dir" \
    NGINX_TEMP_DIR="$state/nginx/tmp" \
    NGINX_PID_FILE="$run_dir/nginx.pid" \
    NGINX_USER="$nginx_user" \
    NGINX_WORKER_PROCESSES="${NGINX_WORKER_PROCESSES:-2}" \
    "$HERE/render-nginx.sh" --output "$state/nginx/nginx.conf" --test
  nginx -c "$state/nginx/nginx.conf" || die "nginx did not start (see $log_dir/error.log)"

  log "waiting up to ${wait_seconds}s for $base_url/readyz"
  local deadline=$((SECONDS + wait_seconds))
  until ready; do
    if ((SECONDS >= deadline)); then
      for name in $(components); do
        [[ -f $log_dir/$name.log ]] && { printf '\n--- %s (last lines) ---\n' "$name" >&2; tail -n 20 "$log_dir/$name.log" >&2; }
      done
      stop_all
      die "the stack did not become ready within ${wait_seconds}s (logs above and in $log_dir)"
    fi
    for name in $(components); do
      [[ $name == nginx ]] && continue
      live_pid "$name" >/dev/null || {
        tail -n 30 "$log_dir/$name.log" >&2 || true
        stop_all
        die "$name exited during start-up (log above: $log_dir/$name.log)"
      }
    done
    sleep 1
  done
  print_urls
}

status() {
  local name pid rc=0
  while IFS= read -r name; do
    if pid=$(live_pid "$name"); then
      printf '%-10s running (pid %s)\n' "$name" "$pid"
    else
      printf '%-10s stopped\n' "$name"
      rc=1
    fi
  done < <(components)
  printf 'readyz     %s\n' "$(curl -sk --max-time 5 "$base_url/readyz" 2>/dev/null || echo 'no answer')"
  return "$rc"
}

case ${1:-start} in
  start) start ;;
  stop) stop_all ;;
  restart)
    stop_all
    start
    ;;
  status) status ;;
  -h | --help) usage ;;
  *) die "unknown command '$1' (start, stop, restart, status)" ;;
esac
