#!/usr/bin/env bash
# Whole-run benchmark: mirrorflow against the read floor and the installed peers.
#
#   benches/whole_run.sh [--quick]
#
# Builds the release-lto profile, generates the synthetic traces if missing (into $TRACE_DIR,
# default /tmp/mirrorflow-bench), warms the page cache, then runs every tool
# $RUNS times (default 5) round-robin over the same file and reports the median
# wall time, packets/s, bytes/s (file bytes / median seconds) and peak RSS.
# Each peer run is capped at $PEER_TIMEOUT seconds (default 600); a capped run
# is reported as ">600 s" and the tool is not run again on that trace. Every
# run's output is checked (a tool that exits at once with an error is not a
# measurement). Writes benches/results/<date>-<trace>.md and, on a full run,
# the latest tables into benches/README.md. See benches/README.md.
#
# Traces (capture::synth via examples/gentrace; Ethernet/IPv4 TCP+UDP, one
# random flow per packet, 1 Mpps of packet time):
#   full:    a) 1M packets, 1500-byte IP datagrams, 10k flows, no snaplen
#            b) 10M packets, 1500-byte IP datagrams cut to 128 bytes, 1M flows
#   --quick: 200k packets, 1500-byte IP datagrams, 10k flows
#
# Environment: TRACE_DIR, RUNS, PEER_TIMEOUT, TSHARK_PACKETS (prefix size for
# tshark, default 100000), SKIP="tool tool" (names from the table, e.g.
# "nfstream pmacctd"), NO_README=1 (do not touch benches/README.md), ONLY=a1m or
# ONLY=b10m (that trace only; implies NO_README).

set -euo pipefail
export LC_ALL=C

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
TRACE_DIR=${TRACE_DIR:-/tmp/mirrorflow-bench}
RUNS=${RUNS:-5}
PEER_TIMEOUT=${PEER_TIMEOUT:-600}
TSHARK_PACKETS=${TSHARK_PACKETS:-100000}
SKIP=${SKIP:-}
QUICK=0
for arg in "$@"; do
    case "$arg" in
        --quick) QUICK=1 ;;
        -h|--help) sed -n '2,26p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "unknown argument: $arg (try --help)" >&2; exit 2 ;;
    esac
done

RESULTS_DIR="$ROOT/benches/results"
WORK="$TRACE_DIR/work"
MF="$ROOT/target/release-lto/mirrorflow"
GENTRACE="$ROOT/target/release-lto/examples/gentrace"
READPASS="$ROOT/target/release-lto/examples/readpass"
DATE=$(date -u +%Y-%m-%d)
mkdir -p "$TRACE_DIR" "$WORK" "$RESULTS_DIR"

log() { printf '%s\n' "$*" >&2; }
have() { command -v "$1" >/dev/null 2>&1; }
skipped() { [[ " $SKIP " == *" $1 "* ]]; }
loadavg() { cut -d' ' -f1-3 /proc/loadavg; }
median() { sort -g | awk '{v[NR]=$1} END{if(NR==0){print "";exit} if(NR%2){print v[(NR+1)/2]}else{printf "%.6f\n",(v[NR/2]+v[NR/2+1])/2}}'; }

# ---- build -------------------------------------------------------------------
log "== building (cargo build --profile release-lto --locked --bins --examples)"
(cd "$ROOT" && cargo build --profile release-lto --locked --bins --examples >&2)

# ---- traces ------------------------------------------------------------------
# name|packets|flows|ip_len|snaplen|description
if ((QUICK)); then
    TRACES=("q200k|200000|10000|1500|65535|200k packets, 1500-byte IP (full-size frames), 10k flows")
else
    TRACES=("a1m|1000000|10000|1500|65535|1M packets, 1500-byte IP (full-size frames), 10k flows"
            "b10m|10000000|1000000|1500|128|10M packets, 1500-byte IP cut to snaplen 128, 1M flows")
fi
# ONLY=NAME: just that trace (its results file is written; README untouched).
if [[ -n "${ONLY:-}" ]]; then
    for spec in "${TRACES[@]}"; do [[ "${spec%%|*}" == "$ONLY" ]] && TRACES=("$spec"); done
    NO_README=1
fi

trace_path() { echo "$TRACE_DIR/$1.pcap"; }

for spec in "${TRACES[@]}"; do
    IFS='|' read -r name packets flows iplen snaplen _ <<<"$spec"
    path=$(trace_path "$name")
    if [[ ! -s "$path" ]]; then
        log "== generating $path"
        "$GENTRACE" "$path.tmp" "$packets" "$flows" "$iplen" "$snaplen" 1 >&2
        mv "$path.tmp" "$path"
    fi
    # Compressed copies, as archives keep captures: gzip at its default
    # level (what `tcpdump -z gzip` writes) and zstd at its default (3).
    for z in "gz gzip" "zst zstd -q"; do
        read -r ext tool <<<"$z"
        if [[ ! -s "$path.$ext" ]] && have "${tool%% *}"; then
            log "== compressing $path.$ext"
            $tool -c "$path" >"$path.$ext.tmp"
            mv "$path.$ext.tmp" "$path.$ext"
        fi
    done
done

# ---- machine -----------------------------------------------------------------
NPROC=$(nproc)
CPU=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')
RAM_GB=$(awk '/MemTotal/{printf "%.1f", $2/1048576}' /proc/meminfo)
KERNEL=$(uname -r)
COMMIT=$(cd "$ROOT" && git rev-parse --short HEAD 2>/dev/null || echo unknown)
DIRTY=$(cd "$ROOT" && git status --porcelain --untracked-files=no 2>/dev/null | wc -l)
RUSTC=$(rustc --version 2>/dev/null || echo unknown)

version_of() {
    case "$1" in
        argus) argus -h 2>&1 | grep -m1 -i 'version' | sed 's/^ *//' ;;
        nfpcapd) nfpcapd -V 2>&1 | head -1 ;;
        pmacctd) pmacctd -V 2>&1 | head -1 ;;
        softflowd) softflowd -h 2>&1 | grep -m1 -o 'softflowd version [^ .]*\.[^ ]*' | sed 's/\.$//' ;;
        tcpdump) tcpdump --version 2>&1 | head -1 ;;
        tshark) tshark --version 2>/dev/null | head -1 ;;
        nfstream) python3 -c 'import nfstream; print("nfstream", nfstream.__version__)' 2>/dev/null ;;
    esac
}

# ---- helpers written once ----------------------------------------------------
# nfstream: iterate the flows and count them (and their packets).
cat >"$WORK/nfstream_run.py" <<'EOF'
import sys
from nfstream import NFStreamer
flows = packets = 0
for f in NFStreamer(source=sys.argv[1], decode_tunnels=False, statistical_analysis=False,
                    splt_analysis=0, n_dissections=0, idle_timeout=5, active_timeout=5,
                    snapshot_length=65535, accounting_mode=0):
    flows += 1
    packets += f.bidirectional_packets
print(f"flows={flows} packets={packets}")
EOF
# softflowd: a UDP sink for its NetFlow v9 export, counting datagrams and records.
cat >"$WORK/udp_sink.py" <<'EOF'
import signal, socket, struct, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 32 << 20)
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1], flush=True)
n = recs = 0
def done(*_):
    open(sys.argv[1], "w").write(f"datagrams={n} records={recs}\n")
    sys.exit(0)
signal.signal(signal.SIGTERM, done)
while True:
    d = s.recv(65535)
    n += 1
    if len(d) >= 4:
        recs += struct.unpack("!HH", d[:4])[1]
EOF

# ---- tools -------------------------------------------------------------------
# Each tool: prepare_<id> (before every run; sets CMD), check_<id> (after the
# first run; prints a one-line summary, returns nonzero when the output shows
# no real aggregation). Variables: T (trace), P (expected packets), D (run dir).

prepare_readpass() { CMD=("$READPASS" "$T"); }
check_readpass() {
    local got; got=$(grep -o 'packets=[0-9]*' "$D/stdout" | head -1 | cut -d= -f2)
    echo "read ${got:-0} packets"; [[ "${got:-0}" == "$P" ]]
}

prepare_tcpdump() { CMD=(tcpdump -r "$T" -w /dev/null); }
check_tcpdump() { echo "exit 0, no error"; ! grep -qi 'error\|truncated' "$D/stderr"; }

prepare_mf1() { CMD=("$MF" replay -q --threads 1 --stats "$D/stats.json" -o /dev/null "$T"); }
prepare_mf2() { CMD=("$MF" replay -q --threads 2 --stats "$D/stats.json" -o /dev/null "$T"); }
check_mf() {
    local read recs
    read=$(grep -o '"packets_read": *[0-9]*' "$D/stats.json" | grep -o '[0-9]*$')
    recs=$(grep -o '"records_written": *[0-9]*' "$D/stats.json" | grep -o '[0-9]*$')
    echo "${read:-0} packets, ${recs:-0} records"
    [[ "${read:-0}" == "$P" && "${recs:-0}" -gt 0 ]]
}
check_mf1() { check_mf; }
check_mf2() { check_mf; }

# Compressed replay: mirrorflow on the gzip and zstd copies (decompressed on
# its read-ahead thread), against the decompressor alone writing to
# /dev/null, the least such a replay could take.
prepare_zcat() { CMD=(sh -c 'gzip -dc "$1" >/dev/null' zcat "$T.gz"); }
prepare_zstdcat() { CMD=(sh -c 'zstd -qdc "$1" >/dev/null' zstdcat "$T.zst"); }
check_zcat() { echo "exit 0, no error"; ! grep -q . "$D/stderr"; }
check_zstdcat() { check_zcat; }
prepare_mfgz() { CMD=("$MF" replay -q --threads 2 --stats "$D/stats.json" -o /dev/null "$T.gz"); }
prepare_mfzst() { CMD=("$MF" replay -q --threads 2 --stats "$D/stats.json" -o /dev/null "$T.zst"); }
check_mfgz() { check_mf; }
check_mfzst() { check_mf; }

# argus: bidirectional classic 5-tuple flows, status records every 5 s.
prepare_argus() { CMD=(argus -S 5 -r "$T" -w "$D/out.argus"); }
check_argus() {
    local recs pkts
    read -r recs pkts < <(ra -n -r "$D/out.argus" -s pkts - ip 2>/dev/null | awk 'NR>1{n++; s+=$1} END{print n+0, s+0}')
    echo "$recs flow records, $pkts packets"
    [[ "$recs" -gt 0 && "$pkts" == "$P" ]]
}

# nfpcapd: 5-tuple flows, active and inactive timeout 5 s, node cache sized for
# the trace's flows (the default 512k nodes is too small for 1M flows).
prepare_nfpcapd() {
    local nodes=$((FLOWS * 2 > 524288 ? FLOWS * 2 : 524288))
    mkdir -p "$D/nf"
    CMD=(nfpcapd -r "$T" -w "$D/nf" -e "5,5" -B "$nodes")
}
check_nfpcapd() {
    local info flows pkts
    info=$(for f in "$D"/nf/nfcapd.*; do nfdump -r "$f" -I; done 2>/dev/null)
    flows=$(awk '/^Flows:/{s+=$2} END{print s+0}' <<<"$info")
    pkts=$(awk '/^Packets:/{s+=$2} END{print s+0}' <<<"$info")
    echo "$flows flows, $pkts packets"
    [[ "$flows" -gt 0 && "$pkts" == "$P" ]]
}

# pmacctd: print plugin aggregating the 5-tuple, appended to a CSV. Before
# reading a savefile pmacctd sleeps 2 s so its plugin can start (inside the wall
# time). Reading a file, the core process has no backpressure from the plugin:
# buffers are overwritten before the plugin reads them ("Missing data detected"
# with debug on) and most packets never reach the output; no pipe/buffer size
# or start delay tried (100 MB-1 GB pipes, 10 KB-10 MB buffers, -Z 1-8, -W,
# the ZeroMQ pipe) made it lossless here. The check fails unless every packet
# is accounted for, so the row is marked.
prepare_pmacctd() {
    cat >"$D/pmacctd.conf" <<EOF
daemonize: false
pcap_savefile: $T
aggregate: src_host, dst_host, src_port, dst_port, proto
plugins: print
print_output: csv
print_output_file: $D/flows.csv
print_output_file_append: true
print_refresh_time: 5
print_cache_entries: $((FLOWS * 2 + 1))
plugin_pipe_size: 1024000000
plugin_buffer_size: 102400
EOF
    CMD=(pmacctd -f "$D/pmacctd.conf")
}
check_pmacctd() {
    local rows pkts
    rows=$(awk -F, '$1!="SRC_IP"' "$D/flows.csv" 2>/dev/null | wc -l)
    pkts=$(awk -F, '$1!="SRC_IP"{s+=$(NF-1)} END{print s+0}' "$D/flows.csv" 2>/dev/null || echo 0)
    echo "$rows rows, $pkts packets ($(awk -v a="$pkts" -v b="$P" 'BEGIN{printf "%.1f", 100*a/b}')% of the trace's packets reached the output)"
    [[ "$rows" -gt 0 && "$pkts" == "$P" ]]
}

# softflowd: NetFlow v9 to a local UDP sink; flow table large enough for every
# flow (-m; the default 8192 forces expiries), maxlife 5 s. Reading a file it
# never expires flows by time: all are flushed at the end. (-c must not follow
# -r: -r disables the control socket, and with one softflowd 1.1.0 blocks in
# accept().)
prepare_softflowd() {
    rm -f "$D/sink.txt"
    python3 "$WORK/udp_sink.py" "$D/sink.txt" >"$D/sink.port" &
    SINK_PID=$!
    local _; for _ in $(seq 50); do [[ -s "$D/sink.port" ]] && break; sleep 0.1; done
    CMD=(softflowd -d -p "$D/softflowd.pid" -r "$T" -n "127.0.0.1:$(cat "$D/sink.port")" -v 9 -m $((FLOWS * 2)) -t maxlife=5)
}
finish_softflowd() {
    if [[ -n "${SINK_PID:-}" ]]; then
        sleep 0.2; kill "$SINK_PID" 2>/dev/null || true; wait "$SINK_PID" 2>/dev/null || true; SINK_PID=
    fi
}
check_softflowd() {
    local pkts exp
    pkts=$(cat "$D/stdout" "$D/stderr" | grep -o 'Packets processed: [0-9]*' | grep -o '[0-9]*$')
    exp=$(cat "$D/stdout" "$D/stderr" | grep -o 'Flows exported: [0-9]*' | grep -o '[0-9]*$')
    echo "${exp:-0} flows exported, ${pkts:-0} packets; sink: $(cat "$D/sink.txt" 2>/dev/null)"
    [[ "${exp:-0}" -gt 0 && "${pkts:-0}" == "$P" ]]
}

# nfstream: idle and active timeout 5 s, no nDPI dissection, no statistics.
prepare_nfstream() { CMD=(python3 "$WORK/nfstream_run.py" "$T"); }
check_nfstream() {
    local flows pkts
    flows=$(grep -o 'flows=[0-9]*' "$D/stdout" | cut -d= -f2)
    pkts=$(grep -o 'packets=[0-9]*' "$D/stdout" | cut -d= -f2)
    echo "${flows:-0} flows, ${pkts:-0} packets"
    [[ "${flows:-0}" -gt 0 && "${pkts:-0}" == "$P" ]]
}

# tshark: TCP and UDP conversations, on a prefix of the trace only (too slow
# for the whole file); its packets/s and bytes/s are over that prefix.
prepare_tshark() { CMD=(tshark -n -r "$TSHARK_T" -q -z "conv,tcp" -z "conv,udp"); }
check_tshark() {
    local convs; convs=$(grep -cE '^[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+:[0-9]+ +<->' "$D/stdout" || true)
    echo "$convs conversations (prefix of $TSHARK_P packets)"
    [[ "$convs" -gt 0 ]]
}

TOOL_IDS=(readpass tcpdump mf1 mf2 zcat mfgz zstdcat mfzst argus nfpcapd softflowd nfstream pmacctd tshark)
declare -A LABEL=(
    [readpass]="readpass (read floor)" [tcpdump]="tcpdump -w /dev/null (libpcap floor)"
    [mf1]="mirrorflow --threads 1" [mf2]="mirrorflow --threads 2"
    [zcat]="gzip -dc >/dev/null (.gz floor)" [mfgz]="mirrorflow --threads 2 on .gz"
    [zstdcat]="zstd -dc >/dev/null (.zst floor)" [mfzst]="mirrorflow --threads 2 on .zst"
    [argus]="argus" [nfpcapd]="nfpcapd" [softflowd]="softflowd" [nfstream]="nfstream"
    [pmacctd]="pmacctd" [tshark]="tshark conv (prefix)")
declare -A NEEDS=([readpass]="" [tcpdump]=tcpdump [mf1]="" [mf2]="" [zcat]=gzip [mfgz]=gzip
    [zstdcat]=zstd [mfzst]=zstd [argus]="argus ra"
    [nfpcapd]="nfpcapd nfdump" [softflowd]="softflowd python3" [nfstream]=nfstream
    [pmacctd]=pmacctd [tshark]=tshark)
declare -A VERNAME=([tcpdump]=tcpdump [argus]=argus [nfpcapd]=nfpcapd [softflowd]=softflowd
    [nfstream]=nfstream [pmacctd]=pmacctd [tshark]=tshark)

available() {
    local dep
    for dep in ${NEEDS[$1]}; do
        if [[ "$dep" == nfstream ]]; then
            python3 -c 'import nfstream' 2>/dev/null || return 1
        else
            have "$dep" || return 1
        fi
    done
}

# One run of tool $1 (run number $2): sets RUN_SECS, RUN_RSS, RUN_RC.
run_once() {
    local id=$1 n=$2 t0 t1
    D="$WORK/$id.$n"
    rm -rf "$D"; mkdir -p "$D"
    "prepare_$id"
    # Warm the page cache before every run, outside the timing: this
    # machine's proactive reclaim (DAMON) drops the trace's pages while a
    # long peer run leaves them cold, and the next tool would read the disk.
    cat "$T" >/dev/null
    [[ -s "${TSHARK_T:-}" ]] && cat "$TSHARK_T" >/dev/null
    case "$id" in zcat|mfgz) cat "$T.gz" >/dev/null ;; zstdcat|mfzst) cat "$T.zst" >/dev/null ;; esac
    t0=$(date +%s%N)
    set +e
    /usr/bin/time -f '%e %M' -o "$D/time" timeout -k 5 "$PEER_TIMEOUT" "${CMD[@]}" >"$D/stdout" 2>"$D/stderr"
    RUN_RC=$?
    set -e
    t1=$(date +%s%N)
    if declare -F "finish_$id" >/dev/null; then "finish_$id"; fi
    RUN_SECS=$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.6f", (b-a)/1e9}')
    RUN_RSS=$(tail -1 "$D/time" | awk '{print $2}')
    [[ "$RUN_RSS" =~ ^[0-9]+$ ]] || RUN_RSS=0
}

fmt_rate() { # value unit-suffix
    awk -v v="$1" -v u="$2" 'BEGIN{
        if (v >= 1e9) printf "%.2f G%s", v/1e9, u; else if (v >= 1e6) printf "%.2f M%s", v/1e6, u;
        else if (v >= 1e3) printf "%.1f k%s", v/1e3, u; else printf "%.0f %s", v, u }'
}

# Command line as shown in the report (paths shortened).
show_cmd() {
    local s="$*"
    s=${s//"$ROOT/"/}
    s=${s//"$WORK"/\$WORK}
    s=${s//"$TRACE_DIR"/\$TRACE_DIR}
    echo "$s"
}

README_BLOCKS=()

bench_trace() {
    local spec=$1 name packets flows iplen snaplen desc
    IFS='|' read -r name packets flows iplen snaplen desc <<<"$spec"
    T=$(trace_path "$name"); P=$packets; FLOWS=$flows
    local bytes; bytes=$(stat -c %s "$T")
    log ""; log "== trace $name: $desc ($T, $bytes bytes)"

    # tshark prefix
    TSHARK_T="$TRACE_DIR/$name-prefix$TSHARK_PACKETS.pcap"; TSHARK_P=$TSHARK_PACKETS
    ((TSHARK_P > P)) && TSHARK_P=$P
    if have tshark && have tcpdump && [[ ! -s "$TSHARK_T" ]]; then
        tcpdump -r "$T" -c "$TSHARK_P" -w "$TSHARK_T" 2>/dev/null
    fi

    log "-- warming the page cache"
    cat "$T" >/dev/null
    [[ -s "${TSHARK_T:-}" ]] && cat "$TSHARK_T" >/dev/null

    local ids=() notes=() id
    for id in "${TOOL_IDS[@]}"; do
        if skipped "$id"; then notes+=("- ${LABEL[$id]}: skipped (SKIP)."); continue; fi
        if ! available "$id"; then notes+=("- ${LABEL[$id]}: not installed (needs: ${NEEDS[$id]}), skipped."); continue; fi
        ids+=("$id")
    done

    local load_before load_after top_before
    load_before=$(loadavg)
    top_before=$(top -b -n 2 -d 1 -o %CPU -w 200 2>/dev/null | awk '/^top -/{it++} it==2 && $1 ~ /^[0-9]+$/ && $9+0 >= 5 {printf "%s%s %s%%", sep, $12, $9; sep=", "}' | head -c 400 || true)
    local started; started=$(date -u '+%Y-%m-%d %H:%M:%S UTC')

    declare -A SECS=() RSS=() STATUS=() SUMMARY=() CMDSHOW=()
    local n
    for n in $(seq "$RUNS"); do
        for id in "${ids[@]}"; do
            [[ "${STATUS[$id]:-}" == timeout || "${STATUS[$id]:-}" == failed ]] && continue
            run_once "$id" "$n"
            [[ -z "${CMDSHOW[$id]:-}" ]] && CMDSHOW[$id]=$(show_cmd "${CMD[@]}")
            if ((RUN_RC == 124 || RUN_RC == 137)); then
                STATUS[$id]=timeout; SUMMARY[$id]="killed at the ${PEER_TIMEOUT} s cap"
                log "   $id run $n: timeout (>${PEER_TIMEOUT} s)"
                continue
            fi
            if ((RUN_RC != 0)); then
                STATUS[$id]=failed
                SUMMARY[$id]="exit $RUN_RC: $(tail -c 300 "$D/stderr" | tr '\n' ' ')"
                log "   $id run $n: FAILED (exit $RUN_RC)"; tail -5 "$D/stderr" >&2
                continue
            fi
            if ((n == 1)); then
                local sum
                if sum=$("check_$id"); then STATUS[$id]=ok; else STATUS[$id]=suspect; fi
                SUMMARY[$id]=$sum
                # Keep the first run's output for the memory section and for inspection.
                rm -rf "$WORK/$id.first"; cp -r "$D" "$WORK/$id.first" 2>/dev/null || true
            fi
            SECS[$id]+="$RUN_SECS "; RSS[$id]+="$RUN_RSS "
            log "   $id run $n: ${RUN_SECS} s, ${RUN_RSS} KB"
            rm -rf "$D"
        done
    done
    load_after=$(loadavg)

    # Memory per open flow: every flow in one interval, RSS over readpass's.
    local mem_lines=()
    if ! skipped mf1 || ! skipped mf2; then
        log "-- memory per open flow (--interval 3600, 3 runs each)"
        local rp_rss; rp_rss=$(printf '%s\n' ${RSS[readpass]:-} | median)
        local threads
        for threads in 1 2; do
            local rs="" recs="" k
            for k in 1 2 3; do
                D="$WORK/mem.$threads.$k"; rm -rf "$D"; mkdir -p "$D"
                /usr/bin/time -f '%e %M' -o "$D/time" "$MF" replay -q --threads "$threads" --interval 3600 \
                    --stats "$D/stats.json" -o /dev/null "$T" >/dev/null 2>"$D/stderr" || true
                rs+="$(tail -1 "$D/time" | awk '{print $2}') "
                recs=$(grep -o '"records_written": *[0-9]*' "$D/stats.json" | grep -o '[0-9]*$' || echo 0)
                rm -rf "$D"
            done
            local rss_med; rss_med=$(printf '%s\n' $rs | median)
            local per; per=$(awk -v r="$rss_med" -v b="${rp_rss:-0}" -v f="${recs:-0}" 'BEGIN{ if (f>0) printf "%.0f", (r-b)*1024/f; else print "n/a" }')
            mem_lines+=("| mirrorflow --threads $threads --interval 3600 | $(awk -v r="$rss_med" 'BEGIN{printf "%.1f", r/1024}') | $(awk -v r="${rp_rss:-0}" 'BEGIN{printf "%.1f", r/1024}') | ${recs:-0} | **$per** |")
            log "   threads $threads: RSS ${rss_med} KB, readpass ${rp_rss} KB, ${recs} flows -> $per B/flow"
        done
    fi

    # ---- report ----
    local rp_secs; rp_secs=$(printf '%s\n' ${SECS[readpass]:-} | median)
    local rows=() cmds=() checks=()
    for id in "${ids[@]}"; do
        local st=${STATUS[$id]:-} tp=$P tb=$bytes
        if [[ "$id" == tshark ]]; then tp=$TSHARK_P; tb=$(stat -c %s "$TSHARK_T"); fi
        cmds+=("- **${LABEL[$id]}**: \`${CMDSHOW[$id]:-}\`")
        if [[ "$st" == timeout ]]; then
            rows+=("| ${LABEL[$id]} | >${PEER_TIMEOUT} | – | – | – | – | – | 0 | timed out |")
            checks+=("- ${LABEL[$id]}: ${SUMMARY[$id]}"); continue
        fi
        if [[ "$st" == failed ]]; then
            rows+=("| ${LABEL[$id]} | – | – | – | – | – | – | 0 | failed |")
            checks+=("- ${LABEL[$id]}: ${SUMMARY[$id]}"); continue
        fi
        local med lo hi rssm cnt pps bps rel
        med=$(printf '%s\n' ${SECS[$id]} | median)
        lo=$(printf '%s\n' ${SECS[$id]} | sort -g | head -1)
        hi=$(printf '%s\n' ${SECS[$id]} | sort -g | tail -1)
        rssm=$(printf '%s\n' ${RSS[$id]} | median)
        cnt=$(wc -w <<<"${SECS[$id]}")
        pps=$(awk -v p="$tp" -v s="$med" 'BEGIN{printf "%.0f", p/s}')
        bps=$(awk -v b="$tb" -v s="$med" 'BEGIN{printf "%.0f", b/s}')
        rel="–"
        if [[ -n "$rp_secs" && "$id" != tshark ]]; then
            rel=$(awk -v r="$rp_secs" -v s="$med" 'BEGIN{printf "%.0f%%", 100*r/s}')
        fi
        local flag=ok; [[ "$st" == suspect ]] && flag="**check failed** (see checks)"
        rows+=("| ${LABEL[$id]} | $(printf '%.3f' "$med") | $(printf '%.3f–%.3f' "$lo" "$hi") | $(fmt_rate "$pps" pps) | $(fmt_rate "$bps" B/s) | $(awk -v r="$rssm" 'BEGIN{printf "%.1f", r/1024}') | $rel | $cnt | $flag |")
        checks+=("- ${LABEL[$id]}: ${SUMMARY[$id]}")
    done

    local loaded=""
    local lb1 la1; lb1=${load_before%% *}; la1=${load_after%% *}
    if awk -v a="$lb1" -v b="$la1" 'BEGIN{exit !(a>=0.5 || b>=0.5)}'; then
        loaded="**The machine was loaded** (1-minute load average ${lb1} before, ${la1} after, on ${NPROC} cores): other processes competed for the CPUs, so the absolute figures are low and noisier than on an idle machine; the tools ran round-robin so they shared the load alike."
    fi

    local out="$RESULTS_DIR/$DATE-$name.md"
    {
        echo "### Trace \`$name\`: $desc"
        echo
        echo "- Date: $started; mirrorflow commit \`$COMMIT\`$( ((DIRTY > 0)) && echo " (working tree had $DIRTY modified tracked files)"); $RUSTC"
        echo "- Machine: $NPROC cores, $CPU, $RAM_GB GiB RAM, Linux $KERNEL"
        echo "- Trace: \`$(show_cmd "$T")\`, $packets packets, $flows flows, $bytes bytes; in the page cache (warmed with cat before every run)"
        echo "- Load average (1/5/15 min): before \`$load_before\`, after \`$load_after\`${top_before:+; busy processes at the start: $top_before}"
        [[ -n "$loaded" ]] && echo "- $loaded"
        echo "- $RUNS runs per tool, round-robin; wall time per run; each peer capped at ${PEER_TIMEOUT} s"
        echo
        echo "| Tool | Median s | Range s | Packets/s | Bytes/s (file) | Peak RSS MiB | % of readpass | Runs | Output |"
        echo "|---|---:|---:|---:|---:|---:|---:|---:|---|"
        printf '%s\n' "${rows[@]}"
        if ((${#mem_lines[@]})); then
            echo
            echo "Memory per open flow: (peak RSS of a run with every flow in one interval − peak RSS of readpass on the same file) / flows (records written):"
            echo
            echo "| Run | Peak RSS MiB | readpass RSS MiB | Open flows | Bytes per flow |"
            echo "|---|---:|---:|---:|---:|"
            printf '%s\n' "${mem_lines[@]}"
        fi
        echo
        echo "Output checks (first run of each tool):"
        echo
        printf '%s\n' "${checks[@]}"
        ((${#notes[@]})) && printf '%s\n' "${notes[@]}"
        echo
        echo "Commands (\$TRACE_DIR=$TRACE_DIR, \$WORK=\$TRACE_DIR/work/<tool>.<run>):"
        echo
        printf '%s\n' "${cmds[@]}"
        if [[ -f "$WORK/pmacctd.first/pmacctd.conf" ]]; then
            echo; echo "pmacctd's configuration:"; echo; echo '```'
            show_cmd "$(cat "$WORK/pmacctd.first/pmacctd.conf")"; echo '```'
        fi
        if [[ " ${ids[*]} " == *" nfstream "* ]]; then
            echo; echo "\$WORK/nfstream_run.py:"; echo; echo '```python'
            cat "$WORK/nfstream_run.py"; echo '```'
        fi
        echo
        echo "Versions: $(for id in "${ids[@]}"; do [[ -n "${VERNAME[$id]:-}" ]] && printf '%s; ' "$(version_of "${VERNAME[$id]}")"; done | sed 's/; $//')"
    } >"$out"
    log ""; cat "$out"; log ""; log "written: $out"
    README_BLOCKS+=("$out")
}

for spec in "${TRACES[@]}"; do
    bench_trace "$spec"
done

# ---- README ------------------------------------------------------------------
README="$ROOT/benches/README.md"
if ((QUICK == 0)) && [[ -z "${NO_README:-}" && -f "$README" ]] && grep -q '<!-- whole-run:begin -->' "$README"; then
    tmp=$(mktemp)
    {
        sed '/<!-- whole-run:begin -->/q' "$README"
        echo
        for f in "${README_BLOCKS[@]}"; do
            sed 's/^### /#### /' "$f"
            echo
            echo "(from [\`results/$(basename "$f")\`](results/$(basename "$f")))"
            echo
        done
        sed -n '/<!-- whole-run:end -->/,$p' "$README"
    } >"$tmp"
    mv "$tmp" "$README"
    log "updated: $README"
fi
