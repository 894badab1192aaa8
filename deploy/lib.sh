# shellcheck shell=bash
# Helpers shared by the deploy scripts. Sourced, never run on its own.
#
# Conventions: progress goes to stderr (so cron mails it and callers can parse stdout),
# every failure ends in die() with a sentence that says what to do, exit status non-zero.

AWP_SCRIPT_NAME=${AWP_SCRIPT_NAME:-$(basename "$0")}

log() {
  printf '%s %s: %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$AWP_SCRIPT_NAME" "$*" >&2
}

die() {
  log "ERROR: $*"
  exit 1
}

need_cmd() {
  local cmd
  for cmd in "$@"; do
    command -v "$cmd" >/dev/null 2>&1 || die "required command '$cmd' is not installed or not on PATH"
  done
}

is_uint() {
  [[ $1 =~ ^[0-9]+$ ]]
}

# Loads KEY=VALUE lines (the systemd EnvironmentFile format) without executing them as shell:
# values such as `AllaweePlus <no-reply@...>` would be redirections if the file were sourced.
# Variables already in the environment win, so `DATABASE_URL=... script` overrides the file,
# unless the second argument is "override" (the file wins).
load_env_file() {
  local file=$1 mode=${2:-keep} line key value number=0
  [[ -r $file ]] || die "cannot read environment file $file (run as a user who may read it, or pass another with --env-file)"
  while IFS= read -r line || [[ -n $line ]]; do
    number=$((number + 1))
    line=${line%$'\r'}
    line=${line#"${line%%[![:space:]]*}"}
    [[ -z $line || $line == \#* ]] && continue
    line=${line#export }
    # The value is never printed: it may be a secret.
    [[ $line == *=* ]] || die "$file line $number is not KEY=VALUE"
    key=${line%%=*}
    value=${line#*=}
    [[ $key =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]] || die "$file line $number: '$key' is not a valid variable name"
    if [[ ${#value} -ge 2 && ${value:0:1} == '"' && ${value: -1} == '"' ]]; then
      value=${value:1:${#value}-2}
    elif [[ ${#value} -ge 2 && ${value:0:1} == "'" && ${value: -1} == "'" ]]; then
      value=${value:1:${#value}-2}
    fi
    if [[ $mode == override || -z ${!key+set} ]]; then
      export "$key=$value"
    fi
  done <"$file"
}

urldecode() {
  local encoded=${1//\\/\\\\}
  printf '%b' "${encoded//%/\\x}"
}

is_postgres_url() {
  [[ $1 =~ ^(postgres|postgresql|pgsql)://.+ ]]
}

# Turns a DATABASE_URL into libpq's PG* variables, so that no password ever appears in a
# command line (visible to every user through ps).
pg_env_from_url() {
  local url=$1 rest authority userinfo hostport query pair name value
  is_postgres_url "$url" || die "not a PostgreSQL URL (expected postgres://user:password@host:port/dbname)"
  rest=${url#*://}
  query=
  if [[ $rest == *\?* ]]; then
    query=${rest#*\?}
    rest=${rest%%\?*}
  fi
  authority=${rest%%/*}
  PGDATABASE=
  [[ $rest == */* ]] && PGDATABASE=$(urldecode "${rest#*/}")
  userinfo=
  hostport=$authority
  if [[ $authority == *@* ]]; then
    userinfo=${authority%@*}
    hostport=${authority##*@}
  fi
  unset PGUSER PGPASSWORD PGHOST PGPORT
  if [[ -n $userinfo ]]; then
    PGUSER=$(urldecode "${userinfo%%:*}")
    export PGUSER
    if [[ $userinfo == *:* ]]; then
      PGPASSWORD=$(urldecode "${userinfo#*:}")
      export PGPASSWORD
    fi
  fi
  if [[ $hostport == \[* ]]; then
    PGHOST=${hostport%%]*}
    PGHOST=${PGHOST#[}
    [[ $hostport == *]:* ]] && PGPORT=${hostport##*]:}
  else
    PGHOST=$(urldecode "${hostport%%:*}")
    [[ $hostport == *:* ]] && PGPORT=${hostport##*:}
  fi
  [[ -n $PGHOST ]] && export PGHOST
  [[ -n ${PGPORT:-} ]] && export PGPORT
  [[ -n $PGDATABASE ]] || die "the database URL names no database"
  export PGDATABASE
  if [[ -n $query ]]; then
    local -a pairs
    IFS='&' read -r -a pairs <<<"$query"
    for pair in "${pairs[@]}"; do
      name=${pair%%=*}
      value=$(urldecode "${pair#*=}")
      case $name in
        sslmode) export PGSSLMODE=$value ;;
        sslrootcert) export PGSSLROOTCERT=$value ;;
        sslcert) export PGSSLCERT=$value ;;
        sslkey) export PGSSLKEY=$value ;;
        connect_timeout) export PGCONNECT_TIMEOUT=$value ;;
        application_name) export PGAPPNAME=$value ;;
        *) ;;
      esac
    done
  fi
  export PGCONNECT_TIMEOUT=${PGCONNECT_TIMEOUT:-10}
}

# The same URL pointing at another database on the same server.
pg_url_with_database() {
  local url=$1 database=$2 scheme rest query=
  scheme=${url%%://*}
  rest=${url#*://}
  if [[ $rest == *\?* ]]; then
    query="?${rest#*\?}"
    rest=${rest%%\?*}
  fi
  printf '%s://%s/%s%s\n' "$scheme" "${rest%%/*}" "$database" "$query"
}

json_escape() {
  local s=$1 out='' i ch code
  for ((i = 0; i < ${#s}; i++)); do
    ch=${s:i:1}
    case $ch in
      '"') out+='\"' ;;
      \\) out+="\\\\" ;;
      $'\n') out+='\n' ;;
      $'\r') out+='\r' ;;
      $'\t') out+='\t' ;;
      *)
        printf -v code '%d' "'$ch"
        if ((code >= 0 && code < 32)); then
          printf -v ch '\\u%04x' "$code"
        fi
        out+=$ch
        ;;
    esac
  done
  printf '%s' "$out"
}

# Renders a template whose placeholders look like @@NAME@@ from NAME=VALUE arguments, and
# refuses to write a file with a placeholder left over.
render_template() {
  local template=$1 output=$2 content pair name value tmp
  shift 2
  [[ -r $template ]] || die "template $template not found"
  content=$(<"$template")
  for pair in "$@"; do
    name=${pair%%=*}
    value=${pair#*=}
    # Quoted replacement: bash 5.2 would otherwise expand "&" to the matched text.
    content=${content//@@${name}@@/"$value"}
  done
  if [[ $content =~ @@[A-Z0-9_]+@@ ]]; then
    die "template $template: placeholder ${BASH_REMATCH[0]} has no value"
  fi
  tmp="${output}.tmp.$$"
  printf '%s\n' "$content" >"$tmp"
  mv -f "$tmp" "$output"
}

# Seconds since the epoch with milliseconds, for durations that are printed.
now_ms() {
  local t
  t=$(date +%s%3N)
  printf '%s' "$t"
}

elapsed_s() {
  local start=$1 end
  end=$(now_ms)
  awk -v a="$start" -v b="$end" 'BEGIN { printf "%.2f", (b - a) / 1000 }'
}
