#!/usr/bin/env bash
# One round of health and capacity checks for AllaweePlus, made for cron or a systemd timer.
#
#   deploy/monitor.sh [--env-file /etc/allaweeplus/env]
#
# Exit 0: every check passed. Exit 1: at least one alert (printed, and sent by e-mail and/or
# webhook). Exit 2: the monitor itself is misconfigured.
#
# Checks (each prints one OK / ALERT / SKIP line):
#   healthz, readyz     MONITOR_BASE_URL (http://127.0.0.1:8101) answers 200; readyz's queue
#                       depth <= MONITOR_MAX_QUEUE_DEPTH (500) and, when reported, the oldest
#                       task's age <= MONITOR_MAX_QUEUE_AGE_SECONDS (300)
#   access log          MONITOR_ACCESS_LOG (gunicorn access log files, comma separated) over
#                       the last MONITOR_WINDOW_MINUTES (5): 5xx share <= MONITOR_MAX_ERROR_RATE
#                       (0.05, once MONITOR_MIN_REQUESTS=10 requests were seen) and
#                       p95 latency <= MONITOR_MAX_P95_MS (500)
#   app stats           `manage.py monitor_stats --minutes WINDOW` (JSON): failed tasks, failed
#                       payments and failed payouts in the window <= MONITOR_MAX_FAILED_TASKS (5),
#                       MONITOR_MAX_FAILED_PAYMENTS (20), MONITOR_MAX_FAILED_DISBURSEMENTS (3);
#                       account mail waiting <= MONITOR_MAX_MAIL_AGE_SECONDS (900) and none
#                       given up; cache hit rate >= MONITOR_MIN_CACHE_HIT_RATE (0 = not checked); its
#                       database connection share when psql is not installed; on PostgreSQL,
#                       next month's partitions made and no rows in a DEFAULT partition
#   processes           MONITOR_SYSTEMD_UNITS active, MONITOR_PIDFILES alive (space separated)
#   db connections      DATABASE_URL: connections in use <= MONITOR_MAX_DB_CONNECTIONS_PCT (80)
#                       percent of max_connections
#   disk                MONITOR_DISK_PATHS (/, BACKUP_DIR, PRIVATE_MEDIA_ROOT) <= MONITOR_MAX_DISK_PCT (85)
#   load, memory        5-minute load per CPU <= MONITOR_MAX_LOAD_PER_CPU (2.0);
#                       memory in use <= MONITOR_MAX_MEMORY_PCT (90)
#   backup age          newest dump in BACKUP_DIR younger than MONITOR_MAX_BACKUP_AGE_HOURS (26)
#
# Alerts: MONITOR_ALERT_EMAIL (comma separated, through `sendmail` if installed) and/or
# MONITOR_WEBHOOK_URL (JSON POST; the "text" field suits Slack/Teams-style hooks).
# MONITOR_STATE_FILE, if set, remembers what was sent: the same alerts are repeated only every
# MONITOR_REPEAT_MINUTES (60), and a "recovered" message follows when all is well again.
# Other settings: MONITOR_HOST_HEADER (default: first ALLOWED_HOSTS entry),
# MONITOR_TIMEOUT_SECONDS (5), MONITOR_INSECURE_TLS (false; true for a self-signed test cert),
# MONITOR_APP_DIR (the project), MONITOR_MANAGE_CMD (uv run --frozen --no-sync python manage.py).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=deploy/lib.sh
. "$HERE/lib.sh"

usage() {
  sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'
}

config_error() {
  log "CONFIGURATION ERROR: $*"
  exit 2
}

while (($#)); do
  case $1 in
    --env-file)
      [[ $# -ge 2 ]] || config_error "--env-file needs a file name"
      load_env_file "$2"
      shift 2
      ;;
    -h | --help)
      usage
      exit 0
      ;;
    *) config_error "unknown argument '$1' (see --help)" ;;
  esac
done

command -v curl >/dev/null 2>&1 || config_error "curl is required"

base_url=${MONITOR_BASE_URL:-http://127.0.0.1:8101}
base_url=${base_url%/}
timeout=${MONITOR_TIMEOUT_SECONDS:-5}
window=${MONITOR_WINDOW_MINUTES:-5}
max_queue=${MONITOR_MAX_QUEUE_DEPTH:-500}
max_queue_age=${MONITOR_MAX_QUEUE_AGE_SECONDS:-300}
max_error_rate=${MONITOR_MAX_ERROR_RATE:-0.05}
min_requests=${MONITOR_MIN_REQUESTS:-10}
max_p95_ms=${MONITOR_MAX_P95_MS:-500}
max_failed_tasks=${MONITOR_MAX_FAILED_TASKS:-5}
max_failed_payments=${MONITOR_MAX_FAILED_PAYMENTS:-20}
max_failed_payouts=${MONITOR_MAX_FAILED_DISBURSEMENTS:-3}
max_mail_age=${MONITOR_MAX_MAIL_AGE_SECONDS:-900}
min_hit_rate=${MONITOR_MIN_CACHE_HIT_RATE:-0}
stats_db_pct=
max_db_pct=${MONITOR_MAX_DB_CONNECTIONS_PCT:-80}
max_disk_pct=${MONITOR_MAX_DISK_PCT:-85}
max_load=${MONITOR_MAX_LOAD_PER_CPU:-2.0}
max_mem_pct=${MONITOR_MAX_MEMORY_PCT:-90}
max_backup_hours=${MONITOR_MAX_BACKUP_AGE_HOURS:-26}
repeat_minutes=${MONITOR_REPEAT_MINUTES:-60}
app_dir=${MONITOR_APP_DIR:-$(dirname "$HERE")}

for name in timeout window max_queue max_queue_age min_requests max_p95_ms max_failed_tasks \
  max_failed_payments max_failed_payouts max_db_pct max_disk_pct max_mem_pct max_backup_hours repeat_minutes; do
  is_uint "${!name}" || config_error "$name must be a whole number, not '${!name}'"
done
[[ $max_error_rate =~ ^[0-9]*\.?[0-9]+$ ]] || config_error "MONITOR_MAX_ERROR_RATE must be a fraction such as 0.05"
[[ $min_hit_rate =~ ^[0-9]*\.?[0-9]+$ ]] || config_error "MONITOR_MIN_CACHE_HIT_RATE must be a fraction such as 0.8"
[[ $max_load =~ ^[0-9]*\.?[0-9]+$ ]] || config_error "MONITOR_MAX_LOAD_PER_CPU must be a number such as 2.0"

host_header=${MONITOR_HOST_HEADER:-}
if [[ -z $host_header && -n ${ALLOWED_HOSTS:-} ]]; then
  host_header=${ALLOWED_HOSTS%%,*}
  host_header=${host_header// /}
  host_header=${host_header#.}
  [[ $host_header == "*" ]] && host_header=
fi

alerts=()
alert_keys=()
report() {
  local state=$1 check=$2 detail=$3
  printf '%-5s %-15s %s\n' "$state" "$check" "$detail"
  if [[ $state == ALERT ]]; then
    alerts+=("$check: $detail")
    alert_keys+=("$check")
  fi
}

work=$(mktemp -d "${TMPDIR:-/tmp}/allaweeplus-monitor.XXXXXX")
trap 'rm -rf -- "$work"' EXIT

# GET a URL: prints the HTTP status ("000" when nothing answered), body in $work/body.
http_get() {
  local -a args=(-sS -o "$work/body" -w '%{http_code}' --max-time "$timeout")
  [[ -n $host_header ]] && args+=(-H "Host: $host_header")
  [[ ${MONITOR_INSECURE_TLS:-false} == true ]] && args+=(-k)
  curl "${args[@]}" "$1" 2>"$work/curl.err" || true
}

json_number() {
  # A number from readyz's JSON by key, with jq when installed and a plain match otherwise.
  local key=$1 file=$2
  if command -v jq >/dev/null 2>&1; then
    jq -r --arg k "$key" '[.. | objects | select(has($k)) | .[$k]] | first // empty' "$file" 2>/dev/null || true
  else
    grep -o "\"$key\"[[:space:]]*:[[:space:]]*[0-9.]*" "$file" | head -n1 | sed 's/.*:[[:space:]]*//' || true
  fi
}

# --- health endpoints -----------------------------------------------------------------------
status=$(http_get "$base_url/healthz")
if [[ $status == 200 ]]; then
  report OK healthz "$base_url/healthz answered 200"
elif [[ $status == 000 ]]; then
  report ALERT healthz "$base_url/healthz did not answer: $(head -c 200 "$work/curl.err")"
else
  report ALERT healthz "$base_url/healthz answered HTTP $status"
fi

status=$(http_get "$base_url/readyz")
if [[ $status == 200 ]]; then
  report OK readyz "$base_url/readyz answered 200"
elif [[ $status == 000 ]]; then
  report ALERT readyz "$base_url/readyz did not answer: $(head -c 200 "$work/curl.err")"
else
  failing=
  if command -v jq >/dev/null 2>&1; then
    failing=$(jq -r '[.checks // {} | to_entries[] | select(.value.ok != true) | .key] | join(", ")' "$work/body" 2>/dev/null || true)
  fi
  report ALERT readyz "$base_url/readyz answered HTTP $status${failing:+ (failing: $failing)}"
fi
if [[ $status != 000 && -s $work/body ]]; then
  pending=$(json_number pending "$work/body")
  if [[ $pending =~ ^[0-9]+$ ]]; then
    if ((pending > max_queue)); then
      report ALERT queue "$pending tasks waiting (limit $max_queue): is the worker running?"
    else
      report OK queue "$pending tasks waiting"
    fi
  else
    report SKIP queue "skipped (readyz reported no queue depth)"
  fi
  oldest=$(json_number oldest_task_age_seconds "$work/body")
  if [[ $oldest =~ ^[0-9]+(\.[0-9]+)?$ ]]; then
    if awk -v a="$oldest" -v m="$max_queue_age" 'BEGIN { exit !(a > m) }'; then
      report ALERT queue-age "oldest task has waited ${oldest}s (limit ${max_queue_age}s): is the worker running?"
    else
      report OK queue-age "oldest task has waited ${oldest}s"
    fi
  fi
fi

# --- access log: error rate and p95 latency ----------------------------------------------------
if [[ -n ${MONITOR_ACCESS_LOG:-} ]]; then
  logs=()
  missing=()
  for file in ${MONITOR_ACCESS_LOG//,/ }; do
    if [[ -r $file ]]; then logs+=("$file"); else missing+=("$file"); fi
  done
  ((${#missing[@]} == 0)) || report ALERT access-log "cannot read ${missing[*]} (MONITOR_ACCESS_LOG)"
  if ((${#logs[@]} > 0)); then
    # gunicorn.conf.py writes: ISO-UTC-time client status duration_us bytes request_id "request" "agent"
    cutoff=$(date -u -d "-$window minutes" +%Y-%m-%dT%H:%M:%S)
    awk -v cutoff="$cutoff" '$1 >= cutoff && $3 ~ /^[0-9][0-9][0-9]$/ { print $3, $4 }' "${logs[@]}" >"$work/window"
    read -r total errors p95_us < <(
      awk '{ n++; if ($1 >= 500) e++ } END { printf "%d %d ", n, e }' "$work/window"
      cut -d' ' -f2 "$work/window" | sort -n | awk '{ v[NR] = $1 } END { if (NR == 0) print 0; else { i = int(NR * 0.95); if (i < NR * 0.95) i++; print v[i] } }'
    )
    if ((total < min_requests)); then
      report OK error-rate "$errors errors in $total requests in the last $window min (too few to judge)"
    elif awk -v e="$errors" -v n="$total" -v m="$max_error_rate" 'BEGIN { exit !(e / n > m) }'; then
      report ALERT error-rate "$errors of $total requests failed (5xx) in the last $window min, above $max_error_rate"
    else
      report OK error-rate "$errors of $total requests failed (5xx) in the last $window min"
    fi
    p95_ms=$((p95_us / 1000))
    if ((total == 0)); then
      report OK latency "no requests in the last $window min"
    elif ((p95_ms > max_p95_ms)); then
      report ALERT latency "p95 ${p95_ms} ms over $total requests in the last $window min (limit ${max_p95_ms} ms)"
    else
      report OK latency "p95 ${p95_ms} ms over $total requests in the last $window min"
    fi
  fi
else
  report SKIP access-log "skipped (MONITOR_ACCESS_LOG not set)"
fi

# --- application: failed tasks and payments ----------------------------------------------------
shopt -s nullglob
stats_commands=("$app_dir"/*/management/commands/monitor_stats.py)
shopt -u nullglob
if ((${#stats_commands[@]} == 0)); then
  report SKIP app-stats "skipped (no manage.py monitor_stats in $app_dir)"
else
  read -r -a manage_cmd <<<"${MONITOR_MANAGE_CMD:-uv run --frozen --no-sync python manage.py}"
  if (cd "$app_dir" && "${manage_cmd[@]}" monitor_stats --minutes "$window") >"$work/stats" 2>"$work/stats.err"; then
    failed_tasks=$(json_number failed_tasks "$work/stats")
    failed_payments=$(json_number failed_payments "$work/stats")
    failed_payouts=$(json_number failed_disbursements "$work/stats")
    if [[ $failed_tasks =~ ^[0-9]+$ ]]; then
      if ((failed_tasks > max_failed_tasks)); then
        report ALERT failed-tasks "$failed_tasks tasks failed in the last $window min (limit $max_failed_tasks)"
      else
        report OK failed-tasks "$failed_tasks tasks failed in the last $window min"
      fi
    fi
    if [[ $failed_payments =~ ^[0-9]+$ ]]; then
      if ((failed_payments > max_failed_payments)); then
        report ALERT failed-payments "$failed_payments payments failed in the last $window min (limit $max_failed_payments)"
      else
        report OK failed-payments "$failed_payments payments failed in the last $window min"
      fi
    fi
    if [[ $failed_payouts =~ ^[0-9]+$ ]]; then
      if ((failed_payouts > max_failed_payouts)); then
        report ALERT failed-payouts "$failed_payouts payouts failed in the last $window min (limit $max_failed_payouts)"
      else
        report OK failed-payouts "$failed_payouts payouts failed in the last $window min"
      fi
    fi
    mail_age=$(json_number mail_oldest_seconds "$work/stats")
    mail_gave_up=$(json_number mail_gave_up "$work/stats")
    if [[ $mail_age =~ ^[0-9]+$ ]] && ((mail_age > max_mail_age)); then
      report ALERT mail "account mail has waited ${mail_age}s (limit ${max_mail_age}s): is the mail server reachable?"
    elif [[ $mail_gave_up =~ ^[1-9][0-9]*$ ]]; then
      report ALERT mail "$mail_gave_up account e-mails were given up after a day of retries"
    elif [[ $mail_gave_up =~ ^[0-9]+$ ]]; then
      report OK mail "account mail is going out"
    fi
    hit_rate=$(json_number cache_hit_rate "$work/stats")
    if [[ $hit_rate =~ ^[0-9]*\.?[0-9]+$ ]] && awk -v m="$min_hit_rate" 'BEGIN { exit !(m > 0) }'; then
      if awk -v r="$hit_rate" -v m="$min_hit_rate" 'BEGIN { exit !(r < m) }'; then
        report ALERT cache "hit rate $hit_rate below $min_hit_rate"
      else
        report OK cache "hit rate $hit_rate"
      fi
    fi
    # PostgreSQL partitions (null on SQLite): next month's must exist before the month
    # turns, and rows in a DEFAULT partition mean maintain_partitions fell behind.
    months_ahead=$(json_number partition_future_months_min "$work/stats")
    default_rows=$(json_number partition_default_rows "$work/stats")
    if [[ $months_ahead =~ ^[0-9]+$ ]]; then
      if ((months_ahead < 1)); then
        report ALERT partitions "no partition made for next month (run manage.py maintain_partitions)"
      elif [[ $default_rows =~ ^[0-9]+$ ]] && ((default_rows > 0)); then
        report ALERT partitions "$default_rows rows in DEFAULT partitions (run manage.py maintain_partitions)"
      else
        report OK partitions "$months_ahead months ahead, DEFAULT partitions empty"
      fi
    fi
    # Without psql on this machine the application reports the connections itself.
    stats_db_pct=$(json_number db_connections_pct "$work/stats")
  else
    report ALERT app-stats "manage.py monitor_stats failed: $(tail -n 1 "$work/stats.err")"
  fi
fi

# --- processes --------------------------------------------------------------------------------
for unit in ${MONITOR_SYSTEMD_UNITS:-}; do
  if ! command -v systemctl >/dev/null 2>&1; then
    report SKIP process "skipped ($unit: systemctl not available)"
  elif state=$(systemctl is-active "$unit" 2>/dev/null); then
    report OK process "$unit is $state"
  else
    report ALERT process "$unit is ${state:-not active}"
  fi
done
for pidfile in ${MONITOR_PIDFILES:-}; do
  pid=$(cat -- "$pidfile" 2>/dev/null || true)
  if [[ $pid =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null; then
    report OK process "$(basename -- "$pidfile" .pid) is running (pid $pid)"
  else
    report ALERT process "$(basename -- "$pidfile" .pid) is not running (pid file $pidfile)"
  fi
done

# --- database connections ---------------------------------------------------------------------
if [[ -n ${DATABASE_URL:-} ]] && is_postgres_url "$DATABASE_URL" && command -v psql >/dev/null 2>&1; then
  if line=$(
    pg_env_from_url "$DATABASE_URL"
    PGCONNECT_TIMEOUT=$timeout psql -X -A -t -q -F ' ' -c \
      "SELECT count(*), current_setting('max_connections')::int FROM pg_stat_activity"
  ) && read -r used limit <<<"$line" && [[ $used =~ ^[0-9]+$ && $limit =~ ^[0-9]+$ ]]; then
    pct=$((used * 100 / limit))
    if ((pct > max_db_pct)); then
      report ALERT db-connections "$used of $limit connections in use ($pct%, limit $max_db_pct%)"
    else
      report OK db-connections "$used of $limit connections in use ($pct%)"
    fi
  else
    report ALERT db-connections "cannot query PostgreSQL with DATABASE_URL"
  fi
elif [[ $stats_db_pct =~ ^[0-9]+(\.[0-9]+)?$ ]]; then
  if awk -v p="$stats_db_pct" -v m="$max_db_pct" 'BEGIN { exit !(p > m) }'; then
    report ALERT db-connections "$stats_db_pct% of max_connections in use (limit $max_db_pct%)"
  else
    report OK db-connections "$stats_db_pct% of max_connections in use"
  fi
else
  report SKIP db-connections "skipped (no PostgreSQL DATABASE_URL or no psql)"
fi

# --- disk, load, memory -------------------------------------------------------------------------
declare -A seen_mounts=()
for path in ${MONITOR_DISK_PATHS:-/ ${BACKUP_DIR:-} ${PRIVATE_MEDIA_ROOT:-}}; do
  [[ -e $path ]] || continue
  read -r mount used_pct < <(df -P -- "$path" | awk 'NR == 2 { sub("%", "", $5); print $6, $5 }')
  [[ -n ${seen_mounts[$mount]:-} ]] && continue
  seen_mounts[$mount]=1
  if ((used_pct > max_disk_pct)); then
    report ALERT disk "$mount is $used_pct% full (limit $max_disk_pct%)"
  else
    report OK disk "$mount is $used_pct% full"
  fi
done

cpus=$(nproc 2>/dev/null || echo 1)
if [[ -r /proc/loadavg ]]; then
  read -r _ load5 _ </proc/loadavg
  per_cpu=$(awk -v l="$load5" -v c="$cpus" 'BEGIN { printf "%.2f", l / c }')
  if awk -v p="$per_cpu" -v m="$max_load" 'BEGIN { exit !(p > m) }'; then
    report ALERT load "5-minute load $load5 on $cpus CPUs ($per_cpu per CPU, limit $max_load)"
  else
    report OK load "5-minute load $load5 on $cpus CPUs ($per_cpu per CPU)"
  fi
fi

if [[ -r /proc/meminfo ]]; then
  mem_pct=$(awk '/^MemTotal:/ { t = $2 } /^MemAvailable:/ { a = $2 } END { if (t > 0) printf "%d", (t - a) * 100 / t; else print 0 }' /proc/meminfo)
  if ((mem_pct > max_mem_pct)); then
    report ALERT memory "$mem_pct% of memory in use (limit $max_mem_pct%)"
  else
    report OK memory "$mem_pct% of memory in use"
  fi
fi

# --- backup age ---------------------------------------------------------------------------------
if [[ -n ${BACKUP_DIR:-} && $max_backup_hours -gt 0 ]]; then
  newest=$(find "$BACKUP_DIR" -maxdepth 1 -type f -name 'allaweeplus-db-*.dump' -printf '%T@ %f\n' 2>/dev/null | sort -n | tail -n 1)
  if [[ -z $newest ]]; then
    report ALERT backup "no database backup in $BACKUP_DIR"
  else
    age_hours=$(awk -v t="${newest%% *}" -v now="$(date +%s)" 'BEGIN { printf "%d", (now - t) / 3600 }')
    if ((age_hours >= max_backup_hours)); then
      report ALERT backup "newest backup ${newest#* } is ${age_hours} h old (limit ${max_backup_hours} h)"
    else
      report OK backup "newest backup ${newest#* } is ${age_hours} h old"
    fi
  fi
else
  report SKIP backup "skipped (BACKUP_DIR not set)"
fi

# --- alerting -------------------------------------------------------------------------------------
host=$(hostname -f 2>/dev/null || hostname)
now_iso=$(date -u +%Y-%m-%dT%H:%M:%SZ)

send_webhook() {
  local kind=$1 text=$2 items='' item
  for item in "${alerts[@]}"; do
    items+="${items:+,}\"$(json_escape "$item")\""
  done
  printf '{"service":"allaweeplus","host":"%s","status":"%s","time":"%s","alerts":[%s],"text":"%s"}' \
    "$(json_escape "$host")" "$kind" "$now_iso" "$items" "$(json_escape "$text")" >"$work/payload.json"
  if curl -fsS --max-time 10 -X POST -H 'Content-Type: application/json' \
    --data-binary @"$work/payload.json" "$MONITOR_WEBHOOK_URL" >/dev/null 2>"$work/webhook.err"; then
    log "alert sent to the webhook"
    return 0
  fi
  log "ERROR: webhook POST failed: $(head -c 300 "$work/webhook.err")"
  return 1
}

send_email() {
  local subject=$1 text=$2 sendmail
  sendmail=$(command -v sendmail || { [[ -x /usr/sbin/sendmail ]] && echo /usr/sbin/sendmail; } || true)
  if [[ -z $sendmail ]]; then
    log "ERROR: MONITOR_ALERT_EMAIL is set but sendmail is not installed"
    return 1
  fi
  if printf 'To: %s\nFrom: %s\nSubject: %s\nContent-Type: text/plain; charset=utf-8\n\n%s\n' \
    "$MONITOR_ALERT_EMAIL" "${MONITOR_ALERT_FROM:-allaweeplus-monitor@$host}" "$subject" "$text" |
    "$sendmail" -t; then
    log "alert e-mailed to $MONITOR_ALERT_EMAIL"
    return 0
  fi
  log "ERROR: sendmail failed"
  return 1
}

notify() {
  local kind=$1 subject=$2 text=$3 delivered=false
  if [[ -n ${MONITOR_WEBHOOK_URL:-} ]]; then send_webhook "$kind" "$text" && delivered=true; fi
  if [[ -n ${MONITOR_ALERT_EMAIL:-} ]]; then send_email "$subject" "$text" && delivered=true; fi
  if [[ -z ${MONITOR_WEBHOOK_URL:-}${MONITOR_ALERT_EMAIL:-} ]]; then
    log "warning: no alert channel configured (MONITOR_WEBHOOK_URL, MONITOR_ALERT_EMAIL)"
  fi
  [[ $delivered == true ]]
}

state_file=${MONITOR_STATE_FILE:-}
previous_signature=
previous_sent=0
if [[ -n $state_file && -r $state_file ]]; then
  read -r previous_signature previous_sent <"$state_file" || true
  is_uint "${previous_sent:-}" || previous_sent=0
fi

if ((${#alerts[@]} == 0)); then
  if [[ -n $previous_signature && $previous_signature != none ]]; then
    notify recovered "[AllaweePlus] recovered on $host" "AllaweePlus on $host: all checks pass again ($now_iso)." || true
  fi
  [[ -n $state_file ]] && printf 'none %s\n' "$(date +%s)" >"$state_file"
  exit 0
fi

signature=$(printf '%s\n' "${alert_keys[@]}" | sort -u | sha256sum | cut -c1-16)
text="AllaweePlus on $host at $now_iso: ${#alerts[@]} alert(s)"
for item in "${alerts[@]}"; do
  text+=$'\n'"- $item"
done
if [[ $signature == "$previous_signature" ]] && (($(date +%s) - previous_sent < repeat_minutes * 60)); then
  log "same alerts as the last message: not repeated before $repeat_minutes minutes have passed"
else
  if notify alert "[AllaweePlus] ALERT on $host: ${alert_keys[*]}" "$text"; then
    [[ -n $state_file ]] && printf '%s %s\n' "$signature" "$(date +%s)" >"$state_file"
  fi
fi
exit 1
