# The set-ups bench/run.sh measures, and the servers each needs; sourced, never run.
#   fs        our registry on SQLite + the filesystem (its embedded default); the reference on the filesystem
#   s3        ours on PostgreSQL + S3; the reference with its s3 driver; both against one S3 server (s3rver)
#   replicas  two of ours on one PostgreSQL + S3, and two references on the same S3 server, each pair behind
#             an nginx load balancer (round robin) that the clients talk to
# Rows are labelled ours/reference for fs and SETUP/ours, SETUP/reference otherwise (tag_of).
# Uses run.sh's globals (WORK, ROOT, STARTED_PIDS, OURS_*, REF_*) and lib.sh.

SETUP=fs
SETUP_PIDS=()      # the current set-up's servers, stopped before the next set-up starts
PG_PORT='' S3_PORT=''
S3RVER=$ROOT/.tools/s3rver/node_modules/.bin/s3rver

tag_of() { if [[ $SETUP == fs ]]; then echo "$1"; else echo "$SETUP/$1"; fi; }

describe_setup() {
    case "$1" in
        fs) echo "our registry on SQLite and the filesystem (its default); the reference on the filesystem" ;;
        s3) echo "ours on PostgreSQL 15 and S3; the reference with its s3 driver; one S3 server (s3rver) for both" ;;
        replicas) echo "two of ours on one PostgreSQL and S3, two references on the same S3 server; each pair behind an nginx round-robin load balancer" ;;
    esac
}

started() {
    STARTED_PIDS+=("$1")
    SETUP_PIDS+=("$1")
}

stop_setup() {
    local i
    for ((i = ${#SETUP_PIDS[@]} - 1; i >= 0; i--)); do
        stop_pid "${SETUP_PIDS[i]}" 30
    done
    SETUP_PIDS=()
    REF_URL='' OURS_URL='' REF_PID='' OURS_PID='' OURS_TOKEN=''
}

# PostgreSQL from Debian's packages, once per run, in its own directory (the postgres user must own it), trust
# authentication on 127.0.0.1 only. setpriv execs the server, so $! is its pid.
start_postgres() {
    [[ -n $PG_PORT ]] && return 0
    local bin dir
    bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
    if [[ -z $bin || ! -x $bin/postgres ]]; then
        log "installing postgresql (apt)"
        timeout 600 apt-get install -y -q postgresql >"$WORK/apt-postgres.log" 2>&1 || { note run "apt-get install postgresql failed"; return 1; }
        bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
    fi
    dir=$(mktemp -d "${BENCH_TMPDIR:-/tmp}/registry-bench-pg.XXXXXX")
    PG_DIR=$dir
    chown postgres: "$dir"
    setpriv --reuid=postgres --regid=postgres --init-groups "$bin/initdb" -D "$dir/data" -A trust -U postgres >"$WORK/initdb.log" 2>&1 ||
        { tail -5 "$WORK/initdb.log" >&2; note run "initdb failed"; return 1; }
    PG_PORT=$(free_port)
    setpriv --reuid=postgres --regid=postgres --init-groups "$bin/postgres" -D "$dir/data" -p "$PG_PORT" -k "$dir" \
        -c listen_addresses=127.0.0.1 -c max_connections=300 -c shared_buffers=256MB >"$WORK/postgres.log" 2>&1 &
    STARTED_PIDS+=("$!")
    local i
    for ((i = 0; i < 100; i++)); do
        setpriv --reuid=postgres --regid=postgres --init-groups psql -h 127.0.0.1 -p "$PG_PORT" -U postgres -Atc 'select 1' >/dev/null 2>&1 && {
            meta postgres_version "$("$bin/postgres" --version | awk '{ print $NF }')"
            log "postgres pid $! on 127.0.0.1:$PG_PORT"
            return 0
        }
        sleep 0.2
    done
    tail -5 "$WORK/postgres.log" >&2
    note run "postgres did not start"
    return 1
}

new_database() {
    setpriv --reuid=postgres --regid=postgres --init-groups psql -h 127.0.0.1 -p "$PG_PORT" -U postgres -qc "create database \"$1\"" >/dev/null
}

# s3rver (npm), once per run; test.sh installs it under .tools, and so does this when it is missing.
start_s3rver() {
    [[ -n $S3_PORT ]] && return 0
    if [[ ! -x $S3RVER ]]; then
        log "installing s3rver (npm) into .tools/s3rver"
        timeout 600 npm install --prefix "$ROOT/.tools/s3rver" --no-audit --no-fund s3rver@3.7.1 >"$WORK/npm.log" 2>&1 ||
            { note run "npm install s3rver failed"; return 1; }
    fi
    S3_PORT=$(free_port)
    mkdir -p "$WORK/s3"
    # s3rver plus the multipart listings the reference's driver needs (bench/s3-server.js). The reference does not
    # create its bucket; ours does (so its buckets are not configured here).
    node "$BENCH_DIR/s3-server.js" "$ROOT/.tools/s3rver/node_modules" "$WORK/s3" "$S3_PORT" reference-s3 reference-replicas \
        >"$WORK/s3rver.log" 2>&1 &
    STARTED_PIDS+=("$!")
    if wait_for_http "http://127.0.0.1:$S3_PORT/" "$!" 30; then
        meta s3_server "s3rver $(cd "$ROOT/.tools/s3rver" && node -p 'require("s3rver/package.json").version' 2>/dev/null || echo '?') (Node.js $(node --version))"
        log "s3rver pid $! on 127.0.0.1:$S3_PORT"
    else
        note run "s3rver did not start"
        return 1
    fi
}

# An nginx reverse proxy on PORT, round robin over the given upstream ports, streaming bodies both ways; waits
# until it answers.
start_balancer() {
    local name=$1 port=$2 dir=$WORK/lb-$1 upstreams='' p
    shift 2
    for p in "$@"; do upstreams+="        server 127.0.0.1:$p;"$'\n'; done
    mkdir -p "$dir/tmp"
    cat >"$dir/nginx.conf" <<EOF
worker_processes 2;
daemon off;
master_process on;
$( ((EUID == 0)) && echo 'user root;')
pid $dir/nginx.pid;
error_log $dir/error.log warn;
events { worker_connections 2048; }
http {
    access_log off;
    client_body_temp_path $dir/tmp/body;
    proxy_temp_path $dir/tmp/proxy;
    fastcgi_temp_path $dir/tmp/fastcgi;
    uwsgi_temp_path $dir/tmp/uwsgi;
    scgi_temp_path $dir/tmp/scgi;
    upstream replicas {
$upstreams        keepalive 128;
    }
    server {
        listen 127.0.0.1:$port;
        client_max_body_size 0;
        proxy_request_buffering off;
        proxy_buffering off;
        proxy_http_version 1.1;
        proxy_read_timeout 600s;
        proxy_send_timeout 600s;
        proxy_set_header Connection "";
        proxy_set_header Host \$http_host;
        location / { proxy_pass http://replicas; }
    }
}
EOF
    nginx -p "$dir" -c "$dir/nginx.conf" -e "$dir/error.log" >"$dir/stdout.log" 2>&1 &
    started "$!"
    wait_for_http "http://127.0.0.1:$port/v2/" "$!" 20 || { cat "$dir/error.log" >&2; return 1; }
}

reference_storage_config() {
    if [[ $SETUP == fs ]]; then
        cat <<EOF
  filesystem:
    rootdirectory: $WORK/reference-data
EOF
    else
        cat <<EOF
  s3:
    region: us-east-1
    regionendpoint: http://127.0.0.1:$S3_PORT
    bucket: $1
    accesskey: S3RVER
    secretkey: S3RVER
    secure: false
    v4auth: true
    chunksize: 10485760
    # Moves (commit) as one server-side copy: s3rver has no UploadPartCopy.
    multipartcopythresholdsize: 5368709120
  redirect:
    # Blob GETs through the registry, as ours serves them by default.
    disable: true
EOF
    fi
}

# Our registry's settings for the set-up (environment assignments, one per line): DATABASE BUCKET.
ours_setup_environment() {
    [[ $SETUP == fs ]] && return 0
    cat <<EOF
Registry__Database__Provider=Postgres
Registry__Database__ConnectionString=Host=127.0.0.1;Port=$PG_PORT;Username=postgres;Database=$1;Maximum Pool Size=100
Registry__Storage__Provider=S3
Registry__Storage__S3__Endpoint=http://127.0.0.1:$S3_PORT
Registry__Storage__S3__Bucket=$2
Registry__Storage__S3__AccessKey=S3RVER
Registry__Storage__S3__SecretKey=S3RVER
Registry__Storage__S3__ForcePathStyle=true
EOF
}
