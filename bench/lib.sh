# Helpers shared by the benchmark scripts (bench/run.sh, bench/gc.sh); sourced, never run.
# They use the sourcing script's globals: RESULTS and META (the run's rows and facts), STARTED_PIDS (processes it
# started, stopped at exit), USED_PORTS, IDLE_WAIT (seconds busy_check may wait) and, for our registry's token,
# OURS_REALM, OURS_SERVICE, OURS_USER and OURS_PASSWORD; build() uses ROOT, WORK and the script's want().
log() { printf '[%s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
meta() { printf '%s\t%s\n' "$1" "$(tr '\t\n' '  ' <<<"$2" | sed 's/ *$//')" >>"$META"; }
# Rows of ours/reference carry the set-up they were measured in (run.sh's tag_of), when the script has set-ups.
row_label() { if [[ $1 == ours || $1 == reference ]] && declare -F tag_of >/dev/null; then tag_of "$1"; else echo "$1"; fi; }
record() { printf '%s\t%s\t%s\n' "$(row_label "$1")" "$2" "$3" >>"$RESULTS"; log "  $(row_label "$1") $2 = $3"; }
note() { printf '%s\tnote\t%s\n' "$(row_label "$1")" "$2" >>"$RESULTS"; log "  NOTE $(row_label "$1"): $2"; }
now() { date +%s.%N; }
calc() { awk "BEGIN { printf \"%.4f\", $1 }"; }

# A zombie still answers kill -0, so look at the state field of /proc/PID/stat.
alive() {
    local stat
    stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
    stat=${stat##*) }
    [[ ${stat%% *} != Z ]]
}

stop_pid() {
    local pid=$1 grace=${2:-10} i
    alive "$pid" || { wait "$pid" 2>/dev/null || true; return 0; }
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < grace * 10; i++)); do
        alive "$pid" || break
        sleep 0.1
    done
    if alive "$pid"; then
        log "pid $pid ignored SIGTERM for ${grace}s; sending SIGKILL"
        kill -KILL "$pid" 2>/dev/null || true
    fi
    wait "$pid" 2>/dev/null || true
}

free_port() {
    local port i
    for ((i = 0; i < 100; i++)); do
        port=$((20000 + RANDOM % 40000))
        [[ " ${USED_PORTS[*]} " == *" $port "* ]] && continue
        if [[ -z $(ss -Hltn "sport = :$port") ]]; then
            USED_PORTS+=("$port")
            echo "$port"
            return 0
        fi
    done
    echo "no free port found" >&2
    return 1
}

# Waits until URL answers (any HTTP status below 500) while PID is alive.
wait_for_http() {
    local url=$1 pid=$2 seconds=$3 code i
    for ((i = 0; i < seconds * 5; i++)); do
        alive "$pid" || return 1
        code=$(curl --noproxy '*' -s -o /dev/null -w '%{http_code}' --max-time 2 "$url" || true)
        [[ $code =~ ^[1-4][0-9][0-9]$ ]] && return 0
        sleep 0.2
    done
    return 1
}

# CPU ticks (utime+stime) used so far by one server: "PID" or "PID+PID" (replicas).
pid_ticks() {
    local pid stat fields total=0
    for pid in ${1//+/ }; do
        stat=$(cat "/proc/$pid/stat" 2>/dev/null) || continue
        read -r -a fields <<<"${stat##*) }"
        total=$((total + fields[11] + fields[12]))
    done
    echo "$total"
}

# The given pids and all their descendants (nginx workers, PostgreSQL backends), one per line.
with_descendants() {
    ps -eo pid=,ppid= | awk -v roots="$*" '
        BEGIN { n = split(roots, r, " "); for (i = 1; i <= n; i++) keep[r[i]] = 1 }
        { parent[$1] = $2 }
        END {
            do {
                grew = 0
                for (p in parent) if (!(p in keep) && (parent[p] in keep)) { keep[p] = 1; grew = 1 }
            } while (grew)
            for (p in keep) print p
        }'
}

# CPU ticks (utime+stime) used so far by the processes this script started and their children.
own_ticks() {
    local pid stat total=0 fields
    ((${#STARTED_PIDS[@]})) || { echo 0; return; }
    for pid in $(with_descendants "${STARTED_PIDS[@]}"); do
        stat=$(cat "/proc/$pid/stat" 2>/dev/null) || continue
        read -r -a fields <<<"${stat##*) }"
        total=$((total + fields[11] + fields[12]))
    done
    echo "$total"
}

# Share of the CPU (percent) that processes other than this benchmark's used over one second
# (its own servers' use is subtracted). Fields of /proc/stat's cpu line: user nice system idle
# iowait irq softirq steal; interrupt time counts as idle, as in the bench tool.
other_cpu_percent() {
    local a b own_a own_b pct
    own_a=$(own_ticks)
    read -r -a a < <(awk '/^cpu / { print $2 + $3 + $4 + $9, $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9 }' /proc/stat)
    sleep 1
    read -r -a b < <(awk '/^cpu / { print $2 + $3 + $4 + $9, $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9 }' /proc/stat)
    own_b=$(own_ticks)
    pct=$(calc "100 * (${b[0]} - ${a[0]} - ($own_b - $own_a)) / (${b[1]} - ${a[1]} + 0.0001)")
    [[ $pct == -* ]] && pct=0
    echo "$pct"
}

# Before a phase: waits (up to --idle-wait seconds) for other work on the machine to quiet down,
# then records how busy it was, and flags the phase if others still used 20% or more.
busy_check() {
    local pct start=$SECONDS
    while :; do
        pct=$(other_cpu_percent)
        ((${pct%.*} < 20 || SECONDS - start >= IDLE_WAIT)) && break
        sleep 2
    done
    ((SECONDS - start > 1)) && log "waited $((SECONDS - start))s for other work on the machine before $1"
    record machine "info_other_cpu_percent_before_$1" "$pct"
    if ((${pct%.*} >= 20)); then
        note run "other processes used ${pct%.*}% of the CPU just before $1: the figures may be skewed"
    fi
}

# Reads the realm and service of the Bearer challenge that a 401 from URL carries.
read_challenge() {
    local header
    header=$(curl --noproxy '*' -s -o /dev/null -D - --max-time 5 "$1" | tr -d '\r' | grep -i '^www-authenticate: *bearer ' || true)
    OURS_REALM=$(sed -n 's/.*realm="\([^"]*\)".*/\1/p' <<<"$header")
    OURS_SERVICE=$(sed -n 's/.*service="\([^"]*\)".*/\1/p' <<<"$header")
    [[ -n $OURS_REALM ]]
}

# Prints a token from our registry's realm for the given scopes (none: only GET /v2/), as docker
# gets one: GET realm?service=...&scope=... with Basic credentials.
ours_token() {
    local query="service=$OURS_SERVICE" scope body
    for scope in "$@"; do query+="&scope=$scope"; done
    body=$(printf 'user = "%s:%s"\n' "$OURS_USER" "$OURS_PASSWORD" |
        curl --noproxy '*' -sf --max-time 10 -K - "$OURS_REALM?$query") || return 1
    sed -n 's/.*"token" *: *"\([^"]*\)".*/\1/p' <<<"$body" | grep .
}

# Builds our registry (unless only the reference is measured: `want` is the script's) and the bench tool, in Release.
build() {
    if want ours; then
        log "building src/Registry.Api (Release)"
        (cd "$ROOT" && timeout 600 dotnet build src/Registry.Api -c Release -nologo -v q) >"$WORK/build-ours.log" 2>&1 || {
            tail -20 "$WORK/build-ours.log" >&2
            echo "building the registry failed" >&2
            exit 1
        }
    fi
    log "building bench/Registry.Bench (Release)"
    (cd "$ROOT" && timeout 600 dotnet build bench/Registry.Bench/Registry.Bench.csproj -c Release -nologo -v q) >"$WORK/build-bench.log" 2>&1 || {
        tail -20 "$WORK/build-bench.log" >&2
        echo "building the bench tool failed" >&2
        exit 1
    }
}
