#!/usr/bin/env bash
# Renders deploy/nginx.conf into a complete nginx config and (with --test) checks it.
#
#   deploy/render-nginx.sh --output /etc/allaweeplus/nginx.conf [--test]
#
# Settings come from the environment; the defaults are the production layout
# (/srv/allaweeplus, certificates in /etc/allaweeplus/tls, nginx's Debian paths):
#   NGINX_SERVER_NAME       names served, space separated     (default: allaweeplus.ng www.allaweeplus.ng)
#   NGINX_HTTP_LISTEN       plain HTTP listen address         (default: 80)
#   NGINX_HTTPS_LISTEN      HTTPS listen address              (default: 443)
#   NGINX_UPSTREAMS         gunicorn instances, space separated (default: 127.0.0.1:8101 127.0.0.1:8102)
#   NGINX_TLS_CERT / NGINX_TLS_KEY   certificate chain and key (default: /etc/allaweeplus/tls/{fullchain,privkey}.pem)
#   NGINX_STATIC_ROOT       collectstatic output               (default: /srv/allaweeplus/current/staticfiles)
#   NGINX_ERROR_PAGES_DIR   maintenance page                   (default: the nginx-errors folder beside this script)
#   NGINX_ACME_ROOT         webroot for certificate renewal    (default: /var/www/acme)
#   NGINX_LOG_DIR, NGINX_TEMP_DIR, NGINX_PID_FILE, NGINX_USER, NGINX_MIME_TYPES, NGINX_WORKER_PROCESSES
#   NGINX_LOGIN_RATE / NGINX_LOGIN_BURST   per-IP login limit   (default: 30r/m, burst 20; mobile carriers NAT many users behind one IP)
#   NGINX_API_RATE / NGINX_API_BURST       per-IP /api/ limit   (default: 20r/s, burst 40)
#   NGINX_REAL_IP_FROM      trusted load balancer addresses/CIDRs, comma separated (default: none)
#   NGINX_METRICS_ALLOW     addresses allowed to read /metrics, comma separated (default: 127.0.0.1,::1)
#   NGINX_HSTS              must match Django's SECURE_HSTS_SECONDS (default: 2 years, subdomains, preload)
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=deploy/lib.sh
. "$HERE/lib.sh"

usage() {
  sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'
}

output=
run_test=false
while (($#)); do
  case $1 in
    -o | --output)
      [[ $# -ge 2 ]] || die "--output needs a file name"
      output=$2
      shift 2
      ;;
    --test)
      run_test=true
      shift
      ;;
    -h | --help)
      usage
      exit 0
      ;;
    *) die "unknown argument '$1' (see --help)" ;;
  esac
done
[[ -n $output ]] || die "--output FILE is required (see --help)"

server_name=${NGINX_SERVER_NAME:-allaweeplus.ng www.allaweeplus.ng}
http_listen=${NGINX_HTTP_LISTEN:-80}
https_listen=${NGINX_HTTPS_LISTEN:-443}
upstreams=${NGINX_UPSTREAMS:-127.0.0.1:8101 127.0.0.1:8102}
tls_cert=${NGINX_TLS_CERT:-/etc/allaweeplus/tls/fullchain.pem}
tls_key=${NGINX_TLS_KEY:-/etc/allaweeplus/tls/privkey.pem}
static_root=${NGINX_STATIC_ROOT:-/srv/allaweeplus/current/staticfiles}
static_root=${static_root%/}
error_pages=${NGINX_ERROR_PAGES_DIR:-$HERE/nginx-errors}
acme_root=${NGINX_ACME_ROOT:-/var/www/acme}
log_dir=${NGINX_LOG_DIR:-/var/log/nginx}
temp_dir=${NGINX_TEMP_DIR:-/var/lib/nginx}
pid_file=${NGINX_PID_FILE:-/run/nginx.pid}
nginx_user=${NGINX_USER:-www-data}
mime_types=${NGINX_MIME_TYPES:-/etc/nginx/mime.types}
worker_processes=${NGINX_WORKER_PROCESSES:-auto}
login_rate=${NGINX_LOGIN_RATE:-30r/m}
login_burst=${NGINX_LOGIN_BURST:-20}
api_rate=${NGINX_API_RATE:-20r/s}
api_burst=${NGINX_API_BURST:-40}
hsts=${NGINX_HSTS:-max-age=63072000; includeSubDomains; preload}

[[ $login_rate =~ ^[0-9]+r/[sm]$ ]] || die "NGINX_LOGIN_RATE must look like 10r/m or 5r/s"
[[ $api_rate =~ ^[0-9]+r/[sm]$ ]] || die "NGINX_API_RATE must look like 20r/s or 600r/m"
is_uint "$login_burst" || die "NGINX_LOGIN_BURST must be a whole number"
is_uint "$api_burst" || die "NGINX_API_BURST must be a whole number"
[[ $static_root == /* ]] || die "NGINX_STATIC_ROOT must be an absolute path"
[[ $error_pages == /* ]] || die "NGINX_ERROR_PAGES_DIR must be an absolute path"
# Private documents must never sit under a directory nginx serves.
if [[ -n ${PRIVATE_MEDIA_ROOT:-} ]]; then
  case "${PRIVATE_MEDIA_ROOT%/}/" in
    "$static_root"/* | "$error_pages"/* | "$acme_root"/*)
      die "PRIVATE_MEDIA_ROOT ($PRIVATE_MEDIA_ROOT) is inside a directory nginx serves: move it"
      ;;
  esac
fi

# The port in the redirect: none for 443, ":8443" for a listen address such as 127.0.0.1:8443.
https_port=${https_listen##*:}
https_port_suffix=
[[ $https_port != 443 ]] && https_port_suffix=":$https_port"

upstream_lines=
upstream_pattern='^([][A-Za-z0-9.:-]+:[0-9]+|unix:/.+)$'
for server in $upstreams; do
  [[ $server =~ $upstream_pattern ]] || die "NGINX_UPSTREAMS entry '$server' is not host:port"
  upstream_lines+="        server $server max_fails=3 fail_timeout=10s;"$'\n'
done
[[ -n $upstream_lines ]] || die "NGINX_UPSTREAMS names no gunicorn instance"
upstream_lines=${upstream_lines%$'\n'}

real_ip_lines="    # (no trusted load balancer configured: NGINX_REAL_IP_FROM is empty)"
if [[ -n ${NGINX_REAL_IP_FROM:-} ]]; then
  real_ip_lines=
  IFS=',' read -r -a proxies <<<"$NGINX_REAL_IP_FROM"
  for proxy in "${proxies[@]}"; do
    proxy=${proxy// /}
    [[ -n $proxy ]] && real_ip_lines+="    set_real_ip_from $proxy;"$'\n'
  done
  real_ip_lines+=$'    real_ip_header X-Forwarded-For;\n    real_ip_recursive on;'
fi

metrics_lines=
IFS=',' read -r -a metrics_allowed <<<"${NGINX_METRICS_ALLOW:-127.0.0.1,::1}"
for address in "${metrics_allowed[@]}"; do
  address=${address// /}
  [[ -n $address ]] && metrics_lines+="            allow $address;"$'\n'
done
metrics_lines=${metrics_lines%$'\n'}
[[ -n $metrics_lines ]] || metrics_lines="            # nobody may read /metrics through nginx"

mkdir -p "$(dirname "$output")"
render_template "$HERE/nginx.conf" "$output" \
  "NGINX_USER=$nginx_user" \
  "WORKER_PROCESSES=$worker_processes" \
  "PID_FILE=$pid_file" \
  "LOG_DIR=$log_dir" \
  "TEMP_DIR=$temp_dir" \
  "MIME_TYPES=$mime_types" \
  "LOGIN_RATE=$login_rate" \
  "LOGIN_BURST=$login_burst" \
  "API_RATE=$api_rate" \
  "API_BURST=$api_burst" \
  "REAL_IP_DIRECTIVES=$real_ip_lines" \
  "HSTS=$hsts" \
  "UPSTREAM_SERVERS=$upstream_lines" \
  "HTTP_LISTEN=$http_listen" \
  "HTTPS_LISTEN=$https_listen" \
  "HTTPS_PORT_SUFFIX=$https_port_suffix" \
  "SERVER_NAME=$server_name" \
  "ACME_ROOT=$acme_root" \
  "TLS_CERT=$tls_cert" \
  "TLS_KEY=$tls_key" \
  "ERROR_PAGES_DIR=$error_pages" \
  "STATIC_ROOT=$static_root" \
  "METRICS_ALLOW=$metrics_lines"
log "wrote $output"

if [[ $run_test == true ]]; then
  need_cmd nginx
  mkdir -p "$log_dir" "$temp_dir"
  nginx -t -q -c "$output" || die "nginx -t rejected $output (see the message above)"
  log "nginx -t: $output is valid"
fi
