#!/usr/bin/env bash
# Benchmarks our registry against the reference registry (CNCF distribution, Debian's
# `docker-registry`) on this machine, in one run, and reports ours/reference ratios.
# See bench/README.md. Every process this script starts is stopped by its pid on exit;
# all traffic stays on 127.0.0.1.
set -euo pipefail
export LC_ALL=C

usage() {
    cat <<'EOF'
usage: bench/run.sh [options]
  --only ours|reference   benchmark one registry only (default: both)
  --setups LIST           comma-separated set-ups to measure, in order (default: fs):
                          fs (SQLite + filesystem), s3 (PostgreSQL + S3), replicas (two of each
                          behind a load balancer, PostgreSQL + S3); see bench/setups.sh
  --client-mib N          blob size of the curl upload test (default 512)
  --update                also write the report to bench/RESULTS.md
  --quick                 small sizes and short runs, to check the script itself
  --blob-mib N            blob size for upload/GET tests (default 1024)
  --reps N                measured repetitions per upload test, after one warm-up (default 5)
  --get-reps N            measured repetitions per blob GET test (default 9)
  --wrk-seconds N         duration of each wrk test (default 15)
  --docker-reps N         docker push/pull repetitions (default 4)
  --no-docker             skip docker push/pull
  --no-nginx              skip the nginx baseline for blob GET
  --idle-wait N           before each phase, wait up to N s for other processes to leave
                          the CPU (default 30)
  --keep                  keep the temporary directory (data dirs, logs)
EOF
}

ONLY=both
SETUPS=fs
CLIENT_MIB=512
# curl uploads after the first one (which meets a freshly started server).
CLIENT_REPS=3
UPDATE=0
KEEP=0
BLOB_MIB=1024
REPS=5
# GETs are cheap and noisier than uploads (client and server share 2 cores): more repetitions.
GET_REPS=9
CHUNK_MIB=10
CONCURRENCY=4
WRK_SECONDS=15
WRK_CONNECTIONS=50
TAGS_WRK_CONNECTIONS=10
TAGS=1000
DOCKER_REPS=4
DOCKER_LAYERS=3
DOCKER_LAYER_MIB=100
RUN_DOCKER=1
RUN_NGINX=1
# Longest wait, before each phase, for other work on the machine to quiet down.
IDLE_WAIT=30
# Budget per set-up: phases that would start after it are skipped (and reported as skipped).
BUDGET_SECONDS=1500
SETUP_STARTED=0
# Our registry's token lifetime: longer than the whole run, so no token expires in the middle of a
# wrk test (the bench tool renews its own tokens; wrk and curl cannot).
TOKEN_LIFETIME=01:00:00
ARGS="$*"

while [[ $# -gt 0 ]]; do
    case "$1" in
        --only) ONLY=$2; shift 2 ;;
        --setups) SETUPS=$2; shift 2 ;;
        --client-mib) CLIENT_MIB=$2; shift 2 ;;
        --update) UPDATE=1; shift ;;
        --keep) KEEP=1; shift ;;
        --quick) BLOB_MIB=128; CLIENT_MIB=64; CLIENT_REPS=1; REPS=1; GET_REPS=2; IDLE_WAIT=0; WRK_SECONDS=3; TAGS=100; DOCKER_REPS=1; DOCKER_LAYER_MIB=10; shift ;;
        --blob-mib) BLOB_MIB=$2; shift 2 ;;
        --reps) REPS=$2; shift 2 ;;
        --get-reps) GET_REPS=$2; shift 2 ;;
        --wrk-seconds) WRK_SECONDS=$2; shift 2 ;;
        --docker-reps) DOCKER_REPS=$2; shift 2 ;;
        --no-docker) RUN_DOCKER=0; shift ;;
        --no-nginx) RUN_NGINX=0; shift ;;
        --idle-wait) IDLE_WAIT=$2; shift 2 ;;
        -h|--help) usage; exit 0 ;;
        *) echo "unknown option: $1" >&2; usage >&2; exit 2 ;;
    esac
done
case "$ONLY" in both|ours|reference) ;; *) echo "--only takes ours or reference" >&2; exit 2 ;; esac
for setup in ${SETUPS//,/ }; do
    case "$setup" in fs|s3|replicas) ;; *) echo "unknown set-up: $setup (fs, s3, replicas)" >&2; exit 2 ;; esac
done
((CLIENT_MIB <= BLOB_MIB)) || { echo "--client-mib must not exceed --blob-mib" >&2; exit 2; }

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BENCH_DIR=$ROOT/bench
OUT_DIR=$BENCH_DIR/out
STAMP=$(date -u +%Y%m%dT%H%M%SZ)
RUN_ID=$(date -u +%Y%m%d%H%M%S)
mkdir -p "$OUT_DIR"
WORK=$(mktemp -d "${BENCH_TMPDIR:-/tmp}/registry-bench.XXXXXX")
RESULTS=$WORK/results.tsv
META=$WORK/meta.tsv
: >"$RESULTS"
: >"$META"
TOOL_DLL=$BENCH_DIR/Registry.Bench/bin/Release/net10.0/Registry.Bench.dll
OURS_DIR=$ROOT/src/Registry.Api/bin/Release/net10.0
CLK_TCK=$(getconf CLK_TCK)
ACCEPT='application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json'
# Our registry requires Docker token authentication: user admin with a password made up for this
# run. It reaches the server and the bench tool through the environment, curl through a config on
# stdin and docker login through stdin, never a command line. The docker CLI keeps its login in the
# run's own config directory, never in ~/.docker.
OURS_USER=admin
OURS_PASSWORD=$(openssl rand -hex 24)
export DOCKER_CONFIG=$WORK/docker-config
mkdir -m 700 "$DOCKER_CONFIG"

STARTED_PIDS=()   # processes this script started, stopped in reverse order at exit
DOCKER_REFS=()    # image references this script created in the Docker engine
USED_PORTS=()
REF_PID='' OURS_PID='' NGINX_PID=''
REF_URL='' OURS_URL='' NGINX_URL=''
OURS_REALM='' OURS_SERVICE='' OURS_TOKEN=''
MANIFEST_READY=()

# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=bench/setups.sh
source "$(dirname "${BASH_SOURCE[0]}")/setups.sh"

cleanup() {
    local status=$? i
    set +e
    trap - EXIT INT TERM
    for ((i = ${#DOCKER_REFS[@]} - 1; i >= 0; i--)); do
        timeout 60 docker rmi "${DOCKER_REFS[i]}" >/dev/null 2>&1
    done
    for ((i = ${#STARTED_PIDS[@]} - 1; i >= 0; i--)); do
        stop_pid "${STARTED_PIDS[i]}" 30
    done
    [[ -n ${PG_DIR:-} ]] && rm -rf "$PG_DIR"
    if [[ $KEEP == 1 ]]; then
        log "kept $WORK"
    else
        rm -rf "$WORK"
    fi
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

over_budget() {
    if ((SECONDS - SETUP_STARTED > BUDGET_SECONDS)); then
        note run "skipped $1 ($SETUP): the set-up exceeded its ${BUDGET_SECONDS}s budget"
        return 0
    fi
    return 1
}

want() { [[ $ONLY == both || $ONLY == "$1" ]]; }

labels() {
    want reference && [[ -n $REF_URL ]] && echo reference
    want ours && [[ -n $OURS_URL ]] && echo ours
    return 0
}

url_of() { if [[ $1 == ours ]]; then echo "$OURS_URL"; else echo "$REF_URL"; fi; }
pid_of() { if [[ $1 == ours ]]; then echo "$OURS_PID"; else echo "$REF_PID"; fi; }
# The Authorization header a plain HTTP client (curl, wrk) sends to a registry: ours needs the
# bearer token fetched for the manifest tests; the reference runs without authentication.
auth_header() { if [[ $1 == ours && -n $OURS_TOKEN ]]; then echo "Authorization: Bearer $OURS_TOKEN"; fi; }

# ---------------------------------------------------------------- servers

# One reference process with the set-up's storage on PORT; prints its pid.
launch_reference() {
    local port=$1 name=$2 bucket=$3 secret=$4
    mkdir -p "$WORK/reference-data"
    cat >"$WORK/$name.yml" <<EOF
version: 0.1
log:
  level: warn
  accesslog:
    disabled: true
storage:
$(reference_storage_config "$bucket")
  delete:
    enabled: true
  cache:
    blobdescriptor: inmemory
http:
  addr: 127.0.0.1:$port
  secret: $secret
EOF
    # AWS_CA_BUNDLE (set on some machines for outgoing TLS) makes the s3 driver of distribution 2.8 panic at start;
    # its S3 server here is plain HTTP on loopback.
    env -u AWS_CA_BUNDLE docker-registry serve "$WORK/$name.yml" >"$WORK/$name.log" 2>&1 &
    echo "$!"
}

start_reference() {
    local port pid secret=bench-$RANDOM$RANDOM$RANDOM count=1 i ports=() pids=()
    [[ $SETUP == replicas ]] && count=2
    for ((i = 1; i <= count; i++)); do
        port=$(free_port)
        pid=$(launch_reference "$port" "reference-$SETUP-$i" "reference-$SETUP" "$secret")
        started "$pid"
        if ! wait_for_http "http://127.0.0.1:$port/v2/" "$pid" 30; then
            tail -20 "$WORK/reference-$SETUP-$i.log" >&2
            note reference "did not start; its figures are missing"
            return 0
        fi
        ports+=("$port")
        pids+=("$pid")
    done
    if ((count > 1)); then
        port=$(free_port)
        start_balancer "reference-$SETUP" "$port" "${ports[@]}" || { note reference "load balancer did not start"; return 0; }
    fi
    REF_PID=$(IFS=+; echo "${pids[*]}")
    REF_URL=http://127.0.0.1:$port
    log "reference registry ($SETUP) pid $REF_PID at $REF_URL"
}

# One of our registry processes on PORT with the set-up's settings plus the given ones; prints its pid.
# Log level Warning matches the reference's "warn". env execs dotnet, so $! is the server's pid. The admin
# account is created with the run's password at first start (the database is fresh).
launch_ours() {
    local port=$1 name=$2 database=$3
    shift 3
    local settings=()
    mapfile -t settings < <(ours_setup_environment "$database" "${database//_/-}")
    mkdir -p "$WORK/$name-data"
    REGISTRY_ADMIN_PASSWORD=$OURS_PASSWORD env REGISTRY_DATA_DIR="$WORK/$name-data" ASPNETCORE_ENVIRONMENT=Production \
        Logging__LogLevel__Default=Warning Logging__LogLevel__Microsoft.AspNetCore=Warning \
        Registry__Auth__TokenLifetime="$TOKEN_LIFETIME" "${settings[@]}" "$@" \
        dotnet "$OURS_DIR/Registry.Api.dll" --urls "http://127.0.0.1:$port" >"$WORK/$name.log" 2>&1 &
    echo "$!"
}

start_ours() {
    local port pid database=ours_$SETUP count=1 i ports=() pids=() extra=()
    if [[ $SETUP != fs ]]; then
        new_database "$database" || { note ours "could not create database $database"; return 0; }
    fi
    if [[ $SETUP == replicas ]]; then
        count=2
        # The clients reach the replicas through the balancer, so the token realm is the balancer's; replicas
        # share the key that encrypts the signing keys in the database.
        BALANCER_PORT=$(free_port)
        extra=("Registry__Auth__Realm=http://127.0.0.1:$BALANCER_PORT/auth/token" "Registry__Secrets__Key=$(openssl rand -base64 32)")
    fi
    for ((i = 1; i <= count; i++)); do
        port=$(free_port)
        # One after the other: the first start migrates the database and creates the admin account.
        pid=$(launch_ours "$port" "ours-$SETUP-$i" "$database" "${extra[@]}")
        started "$pid"
        if ! wait_for_http "http://127.0.0.1:$port/v2/" "$pid" 60; then
            tail -20 "$WORK/ours-$SETUP-$i.log" >&2
            note ours "did not start; its figures are missing"
            return 0
        fi
        ports+=("$port")
        pids+=("$pid")
    done
    if ((count > 1)); then
        port=$BALANCER_PORT
        start_balancer "ours-$SETUP" "$port" "${ports[@]}" || { note ours "load balancer did not start"; return 0; }
    fi
    # Ready means answering: without a token /v2/ is 401 with a Bearer challenge, with one 200.
    local code token
    if ! read_challenge "http://127.0.0.1:$port/v2/"; then
        note ours "GET /v2/ without a token gave no Bearer challenge"
    elif ! token=$(ours_token); then
        note ours "no token from $OURS_REALM for user $OURS_USER"
    else
        code=$(curl --noproxy '*' -s -o /dev/null -w '%{http_code}' --max-time 5 -H "Authorization: Bearer $token" "http://127.0.0.1:$port/v2/" || true)
        [[ $code == 200 ]] || note ours "GET /v2/ with a token answered $code, not 200"
    fi
    OURS_PID=$(IFS=+; echo "${pids[*]}")
    OURS_URL=http://127.0.0.1:$port
    log "our registry ($SETUP) pid $OURS_PID at $OURS_URL (token realm ${OURS_REALM:-?})"
}

start_nginx() {
    if ! command -v nginx >/dev/null; then
        log "installing nginx (apt)"
        if ! { timeout 300 apt-get install -y -q nginx >"$WORK/apt.log" 2>&1 ||
            { timeout 300 apt-get update -q >>"$WORK/apt.log" 2>&1 && timeout 300 apt-get install -y -q nginx >>"$WORK/apt.log" 2>&1; }; }; then
            note nginx "apt-get install nginx failed; no nginx baseline"
            return 0
        fi
    fi
    meta nginx_version "$(nginx -v 2>&1 | sed 's/^nginx version: //')"
    local port dir=$WORK/nginx
    port=$(free_port)
    mkdir -p "$dir/root" "$dir/tmp"
    ln "$BLOB" "$dir/root/blob.bin"
    # Stock static-file settings (sendfile on); every path inside the run's directory.
    cat >"$dir/nginx.conf" <<EOF
worker_processes auto;
daemon off;
master_process on;
$( ((EUID == 0)) && echo 'user root;')
pid $dir/nginx.pid;
error_log $dir/error.log warn;
events { worker_connections 512; }
http {
    access_log off;
    sendfile on;
    tcp_nopush on;
    default_type application/octet-stream;
    client_body_temp_path $dir/tmp/body;
    proxy_temp_path $dir/tmp/proxy;
    fastcgi_temp_path $dir/tmp/fastcgi;
    uwsgi_temp_path $dir/tmp/uwsgi;
    scgi_temp_path $dir/tmp/scgi;
    server {
        listen 127.0.0.1:$port;
        root $dir/root;
    }
}
EOF
    nginx -p "$dir" -c "$dir/nginx.conf" -e "$dir/error.log" >"$dir/stdout.log" 2>&1 &
    NGINX_PID=$!
    STARTED_PIDS+=("$NGINX_PID")
    if wait_for_http "http://127.0.0.1:$port/blob.bin" "$NGINX_PID" 20; then
        NGINX_URL=http://127.0.0.1:$port/blob.bin
        log "nginx pid $NGINX_PID at $NGINX_URL"
    else
        cat "$dir/error.log" "$dir/stdout.log" >&2 || true
        note nginx "did not start; no nginx baseline"
    fi
}

# ---------------------------------------------------------------- measurements

measure_machine() {
    log "machine: writing a ${BLOB_MIB} MiB random blob file"
    BLOB=$WORK/blob.bin
    timeout 300 dotnet "$TOOL_DLL" random-file --out "$BLOB" --mib "$BLOB_MIB"
    cat "$BLOB" >/dev/null
    local bytes start end out
    bytes=$(stat -c %s "$BLOB")
    start=$(now)
    timeout 300 openssl dgst -sha256 "$BLOB" >/dev/null
    end=$(now)
    meta sha256_mbps "$(calc "$bytes / ($end - $start) / 1e6" | cut -d. -f1)"
    log "machine: dd 1 GiB with fsync"
    sync
    out=$(timeout 600 dd if=/dev/zero of="$WORK/dd.bin" bs=1M count=1024 conv=fsync 2>&1 | awk '/copied/ { print $1, $(NF-3) }')
    rm -f "$WORK/dd.bin"
    meta dd_fsync_mbps "$(calc "${out% *} / ${out#* } / 1e6" | cut -d. -f1)"
    log "machine: sha256 $(awk -F'\t' '$1=="sha256_mbps" {print $2}' "$META") MB/s, dd fsync $(awk -F'\t' '$1=="dd_fsync_mbps" {print $2}' "$META") MB/s"
}

# Uploads a small file as a blob with curl (POST, then PUT ?digest=); prints the HTTP status of the PUT.
curl_blob() {
    local base=$1 auth=$2 repo=$3 file=$4 location digest
    digest=sha256:$(sha256sum "$file" | cut -c1-64)
    location=$(curl --noproxy '*' -s -D - -o /dev/null -X POST ${auth:+-H "$auth"} "$base/v2/$repo/blobs/uploads/" |
        tr -d '\r' | awk -F': ' 'tolower($1) == "location" { print $2 }')
    [[ -n $location ]] || { echo 000; return 0; }
    [[ $location == http* ]] || location=$base$location
    [[ $location == *\?* ]] && location+="&" || location+="?"
    curl --noproxy '*' -s -o /dev/null -w '%{http_code}' ${auth:+-H "$auth"} -H 'Content-Type: application/octet-stream' \
        -T "$file" "${location}digest=$digest"
}

# What users' own clients see on a freshly started server, before anything else warms it up: `curl -T` blob
# uploads (the first one on the fresh server, then CLIENT_REPS more), and wrk on a manifest GET by tag
# without a warm-up run. Each upload is a different blob (the big file with its own last bytes).
bench_clients() {
    over_budget "client tests" && return 0
    local label base auth token i file start end code cpu0 cpu1 bytes=$((CLIENT_MIB * 1048576)) pid
    for label in $(labels); do
        base=$(url_of "$label")
        pid=$(pid_of "$label")
        auth=''
        if [[ $label == ours ]]; then
            token=$(ours_token repository:bench/curl:push,pull) || { note ours "no push token for bench/curl"; continue; }
            auth="Authorization: Bearer $token"
        fi
        log "$label ($SETUP): curl -T uploads of ${CLIENT_MIB} MiB, the first on the fresh server"
        for ((i = 0; i <= CLIENT_REPS; i++)); do
            file=$WORK/curl-upload.bin
            { head -c $((bytes - 16)) "$BLOB"; printf '%08d%08d' "$((RANDOM % 100000000))" "$i"; } >"$file"
            sync
            cpu0=$(pid_ticks "$pid")
            start=$(now)
            code=$(curl_blob "$base" "$auth" bench/curl "$file")
            end=$(now)
            cpu1=$(pid_ticks "$pid")
            if [[ $code != 201 ]]; then
                note "$label" "curl upload answered $code"
                break
            fi
            if ((i == 0)); then
                record "$label" curl_upload_fresh_mbps "$(calc "$bytes / ($end - $start) / 1e6")"
            else
                record "$label" curl_upload_mbps "$(calc "$bytes / ($end - $start) / 1e6")"
                record "$label" curl_upload_cpu_s "$(calc "($cpu1 - $cpu0) / $CLK_TCK * 1073741824 / $bytes")"
            fi
        done
        rm -f "$WORK/curl-upload.bin"
        # A one-layer-less image: its config blob, then the manifest under tag "fresh".
        printf '{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}' >"$WORK/curl-config.json"
        code=$(curl_blob "$base" "$auth" bench/curl "$WORK/curl-config.json")
        printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%s},"layers":[]}' \
            "$(sha256sum "$WORK/curl-config.json" | cut -c1-64)" "$(stat -c %s "$WORK/curl-config.json")" >"$WORK/curl-manifest.json"
        code=$(curl --noproxy '*' -s -o /dev/null -w '%{http_code}' -X PUT ${auth:+-H "$auth"} -H 'Content-Type: application/vnd.oci.image.manifest.v1+json' \
            --data-binary "@$WORK/curl-manifest.json" "$base/v2/bench/curl/manifests/fresh")
        if [[ $code != 201 ]]; then
            note "$label" "manifest PUT for the fresh wrk test answered $code"
            continue
        fi
        log "$label ($SETUP): wrk manifest GET by tag, no warm-up (${WRK_SECONDS}s, $WRK_CONNECTIONS connections)"
        run_wrk "$label" fresh_manifest "$base/v2/bench/curl/manifests/fresh" "$WRK_CONNECTIONS" "$WRK_SECONDS" -H "Accept: $ACCEPT" ${auth:+-H "$auth"}
    done
}

# Blob uploads and GETs for every registry (and GETs from nginx), interleaved by the tool.
bench_blobs() {
    local targets='' label
    for label in $(labels); do
        targets+="${targets:+,}$(tag_of "$label")=$(url_of "$label")@$(pid_of "$label")"
    done
    [[ -n $targets ]] || return 0
    over_budget "blob tests" && return 0
    log "blobs: ${BLOB_MIB} MiB uploads (1 warm-up + $REPS each), then $GET_REPS GETs each; targets $targets${NGINX_URL:+ and nginx}"
    sync
    local nginx_url=''
    [[ $SETUP == fs ]] && nginx_url=$NGINX_URL
    BENCH_REGISTRY_PASSWORD=$OURS_PASSWORD timeout 1200 dotnet "$TOOL_DLL" blobs --targets "$targets" ${nginx_url:+--nginx "$nginx_url"} \
        --user "$OURS_USER" --password-env BENCH_REGISTRY_PASSWORD --repo bench/blob --file "$BLOB" --results "$RESULTS" --clk-tck "$CLK_TCK" \
        --reps "$REPS" --get-reps "$GET_REPS" --chunk-mib "$CHUNK_MIB" --concurrency "$CONCURRENCY" \
        --quiet-wait-s $((IDLE_WAIT * 3)) ||
        note run "blob benchmark exited with status $?"
}

# Runs wrk and records requests/s and p99 latency (ms) under the given metric prefix.
run_wrk() {
    local label=$1 prefix=$2 url=$3 connections=$4 seconds=$5 out=$WORK/wrk-$1-$2.txt
    shift 5
    timeout $((seconds + 30)) wrk -t2 -c"$connections" -d"${seconds}s" --timeout 5s --latency "$@" "$url" >"$out" 2>&1 || {
        note "$label" "wrk $prefix exited with status $?: $(tail -3 "$out" | tr '\n' ' ')"
        return 0
    }
    local requests rps p99 bad errors
    requests=$(awk '/requests in/ { print $1 }' "$out")
    rps=$(awk '/^Requests\/sec:/ { print $2 }' "$out")
    # wrk prints latencies with a unit suffix: us, ms, s or m.
    p99=$(awk '$1 == "99%" { v = $2
        if (v ~ /us$/) { sub(/us$/, "", v); v /= 1000 }
        else if (v ~ /ms$/) { sub(/ms$/, "", v) }
        else if (v ~ /s$/) { sub(/s$/, "", v); v *= 1000 }
        else if (v ~ /m$/) { sub(/m$/, "", v); v *= 60000 }
        printf "%.4f", v }' "$out")
    bad=$(awk '/Non-2xx or 3xx responses:/ { print $NF }' "$out")
    errors=$(awk '/Socket errors:/ { sub(/.*Socket errors: /, ""); print }' "$out")
    [[ -n $errors ]] && note "$label" "wrk $prefix socket errors: $errors"
    if [[ -n $bad ]] && ((bad * 100 > ${requests:-0})); then
        note "$label" "wrk $prefix: $bad of $requests responses were not 2xx/3xx; figures not recorded"
        return 0
    fi
    [[ -n $bad ]] && note "$label" "wrk $prefix: $bad of $requests responses were not 2xx/3xx"
    [[ -n $rps ]] && record "$label" "${prefix}_rps" "$rps"
    [[ -n $p99 ]] && record "$label" "${prefix}_p99_ms" "$p99"
    record "$label" "info_${prefix}_requests" "${requests:-0}"
}

# Pushes the small image and the tags to one registry, and times tags/list from one client.
# For ours, then fetches the pull token that curl and wrk send.
setup_manifests() {
    local label=$1 base code auth
    base=$(url_of "$label")
    log "$label: small image, $TAGS tags, tags/list timing"
    BENCH_REGISTRY_PASSWORD=$OURS_PASSWORD timeout 600 dotnet "$TOOL_DLL" manifests --base "$base" --repo bench/small --tags "$TAGS" \
        --label "$(tag_of "$label")" --results "$RESULTS" --list-seconds 10 --user "$OURS_USER" --password-env BENCH_REGISTRY_PASSWORD ||
        note "$label" "manifest benchmark exited with status $?"
    if [[ $label == ours ]]; then
        OURS_TOKEN=$(ours_token repository:bench/small:pull) || note ours "no pull token for bench/small from ${OURS_REALM:-?}"
    fi
    auth=$(auth_header "$label")
    code=$(curl --noproxy '*' -s -o /dev/null -w '%{http_code}' --max-time 5 -H "Accept: $ACCEPT" ${auth:+-H "$auth"} "$base/v2/bench/small/manifests/bench" || true)
    if [[ $code == 200 ]]; then
        MANIFEST_READY+=("$label")
    else
        note "$label" "GET manifests/bench answered $code; wrk tests skipped"
    fi
}

# The wrk runs for both registries go back to back (order reversed for tags/list), so they see
# the machine in the same state as far as possible.
bench_manifests() {
    local label base auth
    MANIFEST_READY=()
    over_budget "manifest tests" && return 0
    for label in $(labels); do
        busy_check "manifests-$label"
        setup_manifests "$label"
    done
    # Every request to ours carries the bearer token, which the server verifies (ES256) each time.
    for label in "${MANIFEST_READY[@]}"; do
        base=$(url_of "$label")
        auth=$(auth_header "$label")
        log "$label: wrk manifest GET by tag (${WRK_SECONDS}s, $WRK_CONNECTIONS connections, after a 3 s warm-up)"
        timeout 40 wrk -t2 -c"$WRK_CONNECTIONS" -d3s -H "Accept: $ACCEPT" ${auth:+-H "$auth"} "$base/v2/bench/small/manifests/bench" >/dev/null 2>&1 || true
        run_wrk "$label" manifest "$base/v2/bench/small/manifests/bench" "$WRK_CONNECTIONS" "$WRK_SECONDS" -H "Accept: $ACCEPT" ${auth:+-H "$auth"}
    done
    for label in $(printf '%s\n' "${MANIFEST_READY[@]}" | tac); do
        base=$(url_of "$label")
        auth=$(auth_header "$label")
        log "$label: wrk tags/list (${WRK_SECONDS}s, $TAGS_WRK_CONNECTIONS connections)"
        run_wrk "$label" tags_list "$base/v2/bench/small/tags/list" "$TAGS_WRK_CONNECTIONS" "$WRK_SECONDS" ${auth:+-H "$auth"}
    done
}

# ---------------------------------------------------------------- docker

DOCKERD_PID=''
ensure_docker() {
    if timeout 20 docker info >/dev/null 2>&1; then
        return 0
    fi
    command -v dockerd >/dev/null || { note run "no Docker engine and no dockerd; docker tests skipped"; return 1; }
    log "starting dockerd (none answered)"
    dockerd --iptables=false --bridge=none >"$WORK/dockerd.log" 2>&1 &
    DOCKERD_PID=$!
    STARTED_PIDS+=("$DOCKERD_PID")
    local i
    for ((i = 0; i < 60; i++)); do
        timeout 5 docker info >/dev/null 2>&1 && return 0
        alive "$DOCKERD_PID" || break
        sleep 1
    done
    tail -20 "$WORK/dockerd.log" >&2
    note run "dockerd did not start; docker tests skipped"
    return 1
}

# Times one docker command; prints seconds on success.
time_docker() {
    local logfile=$1 start end
    shift
    start=$(now)
    if ! timeout 900 docker "$@" >"$logfile" 2>&1; then
        return 1
    fi
    end=$(now)
    calc "$end - $start"
}

# One push/pull round: a fresh random image (so no layer is already present anywhere),
# pushed to each registry, removed locally, then pulled from each registry.
docker_round() {
    local round=$1 layers=$2 layer_mib=$3 record_it=$4 order=$5
    local local_ref=registry-bench/big:$RUN_ID-$round archive=$WORK/image-$round.tar label seconds image_id remote
    timeout 600 dotnet "$TOOL_DLL" docker-archive --out "$archive" --tag "$local_ref" --work "$WORK/layers" \
        --layers "$layers" --layer-mib "$layer_mib" || { note run "docker archive $round failed"; return 1; }
    timeout 600 docker load -q -i "$archive" >"$WORK/docker-load.log" 2>&1 || { note run "docker load failed: $(tail -2 "$WORK/docker-load.log")"; rm -f "$archive"; return 1; }
    rm -f "$archive"
    DOCKER_REFS+=("$local_ref")
    image_id=$(docker image inspect -f '{{.Id}}' "$local_ref")
    local pushed=()
    for label in $order; do
        remote=$(url_of "$label")
        remote=${remote#http://}/bench/big:$round
        docker tag "$local_ref" "$remote"
        DOCKER_REFS+=("$remote")
        if seconds=$(time_docker "$WORK/docker-push-$label-$round.log" push "$remote"); then
            [[ $record_it == 1 ]] && record "$label" docker_push_s "$seconds"
            pushed+=("$label")
        else
            note "$label" "docker push failed: $(tail -2 "$WORK/docker-push-$label-$round.log" | tr '\n' ' ')"
        fi
    done
    # Drop every local reference so that each pull downloads and unpacks all layers.
    for label in $order; do
        remote=$(url_of "$label")
        timeout 120 docker rmi "${remote#http://}/bench/big:$round" >/dev/null 2>&1 || true
    done
    timeout 120 docker rmi "$local_ref" >/dev/null 2>&1 || true
    if docker image inspect "$image_id" >/dev/null 2>&1; then
        note run "image $image_id is still present locally; docker pull round $round skipped"
        return 1
    fi
    for label in "${pushed[@]}"; do
        remote=$(url_of "$label")
        remote=${remote#http://}/bench/big:$round
        if seconds=$(time_docker "$WORK/docker-pull-$label-$round.log" pull "$remote"); then
            [[ $record_it == 1 ]] && record "$label" docker_pull_s "$seconds"
        else
            note "$label" "docker pull failed: $(tail -2 "$WORK/docker-pull-$label-$round.log" | tr '\n' ' ')"
        fi
        timeout 120 docker rmi "$remote" >/dev/null 2>&1 || true
    done
}

bench_docker() {
    [[ $RUN_DOCKER == 1 ]] || return 0
    over_budget "docker push/pull" && return 0
    ensure_docker || return 0
    busy_check docker
    meta docker_version "$(docker version -f '{{.Server.Version}}' 2>/dev/null || echo '?')"
    # As a user would: docker login once (into the run's DOCKER_CONFIG); push and pull then get
    # their tokens from the realm themselves. The reference needs no login.
    if [[ -n $OURS_URL ]] && want ours; then
        printf '%s\n' "$OURS_PASSWORD" | timeout 60 docker login "${OURS_URL#http://}" -u "$OURS_USER" --password-stdin >"$WORK/docker-login.log" 2>&1 ||
            note ours "docker login failed: $(tail -2 "$WORK/docker-login.log" | tr '\n' ' ')"
    fi
    local order round
    order=$(labels | tr '\n' ' ')
    [[ -n ${order// /} ]] || return 0
    log "docker: warm-up round (1 layer x 1 MiB)"
    docker_round warmup 1 1 0 "$order" || true
    for ((round = 1; round <= DOCKER_REPS; round++)); do
        over_budget "docker round $round" && return 0
        # Alternate which registry goes first, so neither always meets a colder engine.
        if ((round % 2 == 0)); then order=$(labels | tac | tr '\n' ' '); else order=$(labels | tr '\n' ' '); fi
        log "docker: round $round of $DOCKER_REPS ($DOCKER_LAYERS layers x $DOCKER_LAYER_MIB MiB), order: $order"
        docker_round "$round" "$DOCKER_LAYERS" "$DOCKER_LAYER_MIB" 1 "$order" || true
    done
}

# ---------------------------------------------------------------- main

log "work directory $WORK"
meta date "$(date -u '+%Y-%m-%d %H:%M UTC')"
commit=$(git -C "$ROOT" rev-parse -q --verify HEAD 2>/dev/null || echo 'no commit yet')
[[ -n $(git -C "$ROOT" status --porcelain 2>/dev/null | head -1) ]] && commit="$commit (with uncommitted changes)"
meta commit "$commit"
meta args "${ARGS:-(no options)}"
meta cpu "$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)"
meta cores "$(nproc)"
meta memory "$(awk '/^MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)"
meta kernel "$(uname -r)"
meta dotnet "$(dotnet --version)"
meta reference_version "$(docker-registry --version 2>&1 | awk '{ print $NF }')"
meta blob_mib "$BLOB_MIB"
meta client_mib "$CLIENT_MIB"
meta setups "$SETUPS"
meta chunk_mib "$CHUNK_MIB"
meta concurrency "$CONCURRENCY"
meta reps "$REPS"
meta get_reps "$GET_REPS"
meta tags "$TAGS"
meta wrk_seconds "$WRK_SECONDS"
meta wrk_connections "$WRK_CONNECTIONS"
meta tags_wrk_connections "$TAGS_WRK_CONNECTIONS"
meta docker_reps "$DOCKER_REPS"
meta docker_layers "$DOCKER_LAYERS"
meta docker_layer_mib "$DOCKER_LAYER_MIB"
meta tmpdir "$(df -P "$WORK" | awk 'NR == 2 { print $1 }') ($(findmnt -n -o FSTYPE -T "$WORK" 2>/dev/null || echo '?'))"
meta nginx_version "not measured"
meta docker_version "not measured"

build
meta loadavg_start "$(cut -d' ' -f1-3 /proc/loadavg)"
busy_check machine
measure_machine
[[ $RUN_NGINX == 1 && ,$SETUPS, == *,fs,* ]] && start_nginx

for SETUP in ${SETUPS//,/ }; do
    SETUP_STARTED=$SECONDS
    meta "setup_$SETUP" "$(describe_setup "$SETUP")"
    log "set-up $SETUP: $(describe_setup "$SETUP")"
    if [[ $SETUP != fs ]] && ! { start_postgres && start_s3rver; }; then
        note run "set-up $SETUP skipped: its servers did not start"
        continue
    fi
    want reference && start_reference
    want ours && start_ours
    bench_clients
    busy_check "blobs-$SETUP"
    bench_blobs
    bench_manifests
    bench_docker
    stop_setup
done
meta loadavg_end "$(cut -d' ' -f1-3 /proc/loadavg)"

REPORT=$OUT_DIR/results-$STAMP.md
cp "$RESULTS" "$OUT_DIR/results-$STAMP.tsv"
dotnet "$TOOL_DLL" report --results "$RESULTS" --meta "$META" --out "$REPORT"
if [[ $UPDATE == 1 ]]; then
    cp "$REPORT" "$BENCH_DIR/RESULTS.md"
    log "wrote $BENCH_DIR/RESULTS.md"
fi
log "report: $REPORT (total ${SECONDS}s)"
