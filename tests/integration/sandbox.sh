#!/usr/bin/env bash
# The sandbox, proved on the live processes: gdb makes berthd, berth-blobd,
# berth-scand and berth-fetchd call open(2), socket(2), connect(2) and
# kill(2) from inside and reads back what they got.  berthd reaches no
# file (not even its own data directory) and connects nowhere; berth-blobd
# reaches its data directory only, makes no socket and signals no one;
# berth-scand reads its --vuln-db only, makes no socket and signals no
# one; berth-fetchd reads the resolver's files only, connects but binds no
# TCP port and signals no one; a worker, scanner or berth-fetchd restarted
# after kill -9 is confined the same way.
# --user: berthd, its spawner and the three children run as that user with
# no capability, a data directory left by a root run is handed over, and
# only root may name another user.
#
# Needs root (gdb attaches to the daemons, --user changes users) and gdb.
# Landlock checks are skipped, and say so, where the kernel has no Landlock.
here=$(cd "$(dirname "$0")" && pwd)
cd "$here/../.." || exit 1
. "$here/common.bash"

T_SKIPPED=0
skip() {
	T_SKIPPED=$((T_SKIPPED + 1))
	printf 'skip %s\n' "$1"
}

if [ "$(id -u)" != 0 ]; then
	skip "sandbox tests: they need root (gdb attaches, --user)"
	t_summary
	exit
fi
if ! command -v gdb >/dev/null; then
	fail "gdb is installed (tests/run.sh installs it)"
	t_summary
	exit 1
fi

# The running kernel's Landlock ABI, 0 when it has none.
LL_ABI=$(python3 -c '
import ctypes, sys
libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
abi = libc.syscall(444, None, ctypes.c_size_t(0), ctypes.c_uint(1))
print(abi if abi > 0 else 0)')
printf '    Landlock ABI %s\n' "$LL_ABI"
case $(uname -m) in
x86_64|aarch64) SECCOMP=1 ;;
*) SECCOMP=0 ;;
esac

# llcheck MIN_ABI NAME COMMAND...: a check that needs Landlock ABI MIN_ABI.
llcheck() {
	local min=$1 name=$2
	shift 2
	if [ "$LL_ABI" -lt "$min" ]; then
		skip "$name (needs Landlock ABI $min, the kernel has ${LL_ABI})"
		return
	fi
	check "$name" "$@"
}

# in_proc PID COMMAND...: runs gdb commands in the process and prints the
# value of each "call" or "print", one per line.
in_proc() {
	local pid=$1 args=() c
	shift
	for c in "$@"; do
		args+=(-ex "$c")
	done
	gdb -nx -q -p "$pid" -batch "${args[@]}" 2>/dev/null |
	    sed -n 's/^\$[0-9]* = //p' | tr '\n' ' ' | sed 's/ $//'
}

# The result and errno of opening a path read-only in the process (a
# descriptor it gets is closed again).  The path is copied into memory the
# process allocates and frees: a string literal would make gdb allocate
# it there and leave it (a leak under AddressSanitizer).
open_in() {
	local n=$((${#2} + 1))
	in_proc "$1" "set \$p = (char *)malloc($n)" \
	    "set {char[$n]}\$p = \"$2\"" \
	    'set $fd = (int)open($p, 0)' \
	    'print $fd' 'print $fd < 0 ? (int)*__errno_location() : 0' \
	    'print $fd < 0 ? 0 : (int)close($fd)' 'call (void)free($p)' |
	    cut -d' ' -f1,2
}

# socket(AF_INET, SOCK_STREAM, 0) in the process: "result errno".
socket_in() {
	in_proc "$1" 'set $fd = (int)socket(2, 1, 0)' 'print $fd' \
	    'print $fd < 0 ? (int)*__errno_location() : 0' \
	    'print $fd < 0 ? 0 : (int)close($fd)' | cut -d' ' -f1,2
}

# FUNC(fd, 127.0.0.1:PORT) on a new TCP socket from inside the process,
# FUNC connect or bind: "result errno close-result".  The call goes
# through a plain prototype: glibc declares the address argument as a
# transparent union, which gdb does not pass as C does.
tcp_in() {
	local port=$3
	in_proc "$1" 'set $fd = (int)socket(2, 1, 0)' \
	    'set $sa = (char *)calloc(1, 16)' \
	    'set {short}$sa = 2' \
	    "set {unsigned short}(\$sa + 2) = $(( (port >> 8) | ((port & 255) << 8) ))" \
	    'set {int}($sa + 4) = 0x0100007f' \
	    "print ((int (*)(int, void *, unsigned))$2)(\$fd, \$sa, 16)" \
	    'print (int)*__errno_location()' \
	    'print (int)close($fd)' 'call (void)free($sa)'
}

# A TCP connect to 127.0.0.1:PORT, a bind to 127.0.0.1 (any port).
connect_in() {
	tcp_in "$1" connect "$2"
}
bind_in() {
	tcp_in "$1" bind 0 | cut -d' ' -f1,2
}

# A field of /proc/PID/status, its values separated by single spaces.
status_field() {
	awk -v f="$2:" '$1 == f { $1 = ""; sub(/^ /, ""); print }' \
	    "/proc/$1/status"
}

NOCAPS=0000000000000000

EACCES=13
EPERM=1

# confined_child PROG NAME PID READABLE FORBIDDEN [sockets]: a child's
# confinement: it opens READABLE, not /etc/hostname or FORBIDDEN, makes no
# socket (unless "sockets": berth-fetchd's work is connecting), signals no
# one, and has no privilege.
confined_child() {
	local prog=$1 name=$2 pid=$3 readable=$4 forbidden=$5 sockets=${6:-} r
	r=$(open_in "$pid" "$readable")
	check "$name: $prog opens ${readable##*/} ($r)" test "${r%% *}" -ge 0
	for f in /etc/hostname "$forbidden"; do
		[ -n "$f" ] || continue
		r=$(open_in "$pid" "$f")
		llcheck 2 "$name: $prog cannot open $f (EACCES: $r)" \
		    test "$r" = "-1 $EACCES"
	done
	if [ "$SECCOMP" = 1 ] && [ -z "$sockets" ]; then
		r=$(socket_in "$pid")
		check "$name: $prog cannot make a socket (EACCES: $r)" \
		    test "$r" = "-1 $EACCES"
		check "$name: $prog has a seccomp filter" \
		    test "$(status_field "$pid" Seccomp)" = 2
	fi
	r=$(in_proc "$pid" "print (int)kill($BERTHD_PID, 0)" \
	    'print (int)*__errno_location()')
	llcheck 6 "$name: $prog cannot signal berthd (EPERM: $r)" \
	    test "$r" = "-1 $EPERM"
	check "$name: $prog has no_new_privs" \
	    test "$(status_field "$pid" NoNewPrivs)" = 1
	check "$name: $prog has no capability" \
	    test "$(status_field "$pid" CapEff)/$(status_field "$pid" CapPrm)" = \
	    "$NOCAPS/$NOCAPS"
}

# confined_blobd NAME PID DATADIR: the worker reaches its directory only.
confined_blobd() {
	confined_child berth-blobd "$1" "$2" "$3/meta/log" ""
}

# confined_scand NAME PID DBDIR: the scanner reads its --vuln-db only.
confined_scand() {
	confined_child berth-scand "$1" "$2" "$3/advisory.json" "$D/meta/log"
}

# confined_fetchd NAME PID: the fetcher reads the resolver's files only,
# connects over TCP (its work: berthd's port stands for an upstream) but
# binds no TCP port.
confined_fetchd() {
	local name=$1 pid=$2 r
	confined_child berth-fetchd "$name" "$pid" /etc/hosts "$D/meta/log" \
	    sockets
	r=$(connect_in "$pid" "$PORT")
	check "$name: berth-fetchd connects over TCP ($r)" \
	    test "${r%% *}" = 0
	r=$(bind_in "$pid")
	llcheck 4 "$name: berth-fetchd cannot bind a TCP port (EACCES: $r)" \
	    test "$r" = "-1 $EACCES"
}

# fetchd_ready LOG [OLD_PID]: true once berthd's berth-fetchd (another
# than OLD_PID) has logged "ready" to LOG, which it does once confined:
# it starts a quarter of a second after berthd, and is not raced.
fetchd_ready() {
	local p
	p=$(fetchd_pid "$BERTHD_PID")
	[ -n "$p" ] && [ "$p" != "${2:-}" ] &&
	    grep -q "berth-fetchd\[$p\]: ready" "$1"
}

# scanner_restarted OLD_PID: health names a scanner other than OLD_PID.
scanner_restarted() {
	local p
	p=$(curl -s "$URL/_berth/health" | jq -r '.scanner_pid // empty')
	[ -n "$p" ] && [ "$p" != "$1" ]
}

# confined_berthd NAME DATADIR: berthd's confinement.
confined_berthd() {
	local name=$1 dir=$2 r
	r=$(open_in "$BERTHD_PID" "$dir/meta/log")
	llcheck 1 "$name: berthd cannot open its data directory's log (EACCES: $r)" \
	    test "$r" = "-1 $EACCES"
	r=$(open_in "$BERTHD_PID" /etc/hostname)
	llcheck 1 "$name: berthd cannot open /etc/hostname (EACCES: $r)" \
	    test "$r" = "-1 $EACCES"
	r=$(connect_in "$BERTHD_PID" "$PORT")
	llcheck 4 "$name: berthd cannot connect over TCP, even to itself (EACCES: $r)" \
	    test "${r% *}" = "-1 $EACCES"
	check "$name: berthd has no_new_privs" \
	    test "$(status_field "$BERTHD_PID" NoNewPrivs)" = 1
	check "$name: berthd has no capability" \
	    test "$(status_field "$BERTHD_PID" CapEff)/$(status_field "$BERTHD_PID" CapPrm)" = \
	    "$NOCAPS/$NOCAPS"
}

# push NAME FILE: a monolithic blob push; prints the status.
push() {
	http_status -X POST --data-binary @"$2" \
	    "$URL/v2/sbx/$1/blobs/uploads/?digest=sha256:$(sha256_of "$2")"
}

# --- as root without --user ----------------------------------------------------
D=$T_TMP/data
DB=$T_TMP/osv
mkdir -p "$DB"
printf '{"id":"X-1","modified":"2026-01-01T00:00:00Z","affected":[]}\n' \
    >"$DB/advisory.json"
printf 'AKIDONE secretone\n' >"$T_TMP/credentials"
start_berthd "$D" -v --create-on-push --log-file "$T_TMP/berthd.log" \
    --credentials "$T_TMP/credentials" --vuln-db "$DB" ||
    { fail "berthd starts"; t_summary; exit 1; }
ok "berthd starts"
check "as root without --user, berthd warns" \
    grep -q 'running as root without --user' "$T_TMP/berthd.log"
llcheck 1 "berthd logs its sandbox" \
    grep -q 'berthd\[[0-9]*\]: sandbox: Landlock ABI [0-9]*: no filesystem' \
    "$T_TMP/berthd.log"
llcheck 1 "berth-blobd logs its sandbox" \
    grep -q 'berth-blobd\[[0-9]*\]: sandbox: Landlock ABI [0-9]*: filesystem beneath one directory' \
    "$T_TMP/berthd.log"
wait_for 30 scand_pid "$BERTHD_PID" >/dev/null
llcheck 1 "berth-scand logs its sandbox" \
    wait_for 30 grep -q 'berth-scand\[[0-9]*\]: sandbox: Landlock ABI [0-9]*: no filesystem but files to read' \
    "$T_TMP/berthd.log"
llcheck 1 "berth-fetchd logs its sandbox" \
    wait_for 30 grep -q 'berth-fetchd\[[0-9]*\]: sandbox: Landlock ABI [0-9]*: no filesystem but files to read' \
    "$T_TMP/berthd.log"
head -c 65536 /dev/urandom >"$T_TMP/blob1"
check "a push works in the sandbox" test "$(push a "$T_TMP/blob1")" = 201

confined_berthd "root" "$D"
SPAWNER=$(spawner_pid "$BERTHD_PID")
check "the spawner has no_new_privs and no capability" \
    test "$(status_field "$SPAWNER" NoNewPrivs) $(status_field "$SPAWNER" CapEff)" = \
    "1 $NOCAPS"
wait_for 30 scanner_restarted 0
check "berth-fetchd starts, confined, and says it is ready" \
    wait_for 30 fetchd_ready "$T_TMP/berthd.log"
check "the bounding set is empty in all five" sh -c "
    for p in $BERTHD_PID $SPAWNER $(blobd_pid "$BERTHD_PID") $(scand_pid "$BERTHD_PID") $(fetchd_pid "$BERTHD_PID"); do
	grep -q '^CapBnd:[[:space:]]*0000000000000000$' /proc/\$p/status || exit 1
    done"
confined_blobd "root" "$(blobd_pid "$BERTHD_PID")" "$D"
confined_scand "root" "$(scand_pid "$BERTHD_PID")" "$DB"
confined_fetchd "root" "$(fetchd_pid "$BERTHD_PID")"

# A scanner started again after kill -9, by the spawner, is confined too.
old=$(scand_pid "$BERTHD_PID")
kill -9 "$old"
check "kill -9 of the scanner: berthd starts a new one" \
    wait_for 30 scanner_restarted "$old"
confined_scand "restarted" "$(scand_pid "$BERTHD_PID")" "$DB"

# So is a berth-fetchd the spawner starts again after a kill -9.
old=$(fetchd_pid "$BERTHD_PID")
kill -9 "$old"
check "kill -9 of berth-fetchd: berthd starts a new one" \
    wait_for 30 fetchd_ready "$T_TMP/berthd.log" "$old"
confined_fetchd "restarted" "$(fetchd_pid "$BERTHD_PID")"

# A worker started after the confinement, by the spawner, is confined too.
old=$(blobd_pid "$BERTHD_PID")
kill -9 "$old"
wait_for 30 worker_restarted "$old"
new=$(blobd_pid "$BERTHD_PID")
check "kill -9 of the worker: a new one ($new) serves" \
    sh -c "test -n '$new' && test '$new' != '$old'"
confined_blobd "restarted" "$new" "$D"
check "the blob pushed before is still served" \
    sh -c "curl -sf '$URL/v2/sbx/a/blobs/sha256:$(sha256_of "$T_TMP/blob1")' | cmp -s - '$T_TMP/blob1'"

# berthd cannot open files, but the log is reopened after rotation.
mv "$T_TMP/berthd.log" "$T_TMP/berthd.log.1"
kill -HUP "$BERTHD_PID"
check "SIGHUP: a new log file is created by the spawner for berthd" \
    wait_for 30 grep -q 'logs reopened' "$T_TMP/berthd.log"
curl -s -o /dev/null "$URL/_berth/health"
check "and berthd writes its access log there" \
    wait_for 30 grep -q 'GET /_berth/health' "$T_TMP/berthd.log"
check "SIGHUP: the --credentials file is read again, through the spawner" \
    wait_for 30 grep -q '1 access keys loaded from' "$T_TMP/berthd.log"
printf 'AKIDONE secretone\nAKIDTWO secrettwo\n' >"$T_TMP/credentials.new"
mv "$T_TMP/credentials.new" "$T_TMP/credentials"
kill -HUP "$BERTHD_PID"
check "and a replaced file too" \
    wait_for 30 grep -q '2 access keys loaded from' "$T_TMP/berthd.log"

kill -TERM "$BERTHD_PID"
wait "$BERTHD_PID"
check "SIGTERM: berthd exits 0" test $? = 0

# --- --no-seccomp ------------------------------------------------------------
start_berthd "$T_TMP/noseccomp" --no-seccomp ||
    fail "berthd starts with --no-seccomp"
w=$(blobd_pid "$BERTHD_PID")
check "--no-seccomp: berth-blobd runs without a seccomp filter" \
    test "$(status_field "$w" Seccomp)" = 0
r=$(socket_in "$w")
check "--no-seccomp: berth-blobd can make a socket ($r)" test "${r%% *}" -ge 0
r=$(open_in "$w" /etc/hostname)
llcheck 2 "--no-seccomp: Landlock still keeps berth-blobd in its directory ($r)" \
    test "$r" = "-1 $EACCES"
kill -TERM "$BERTHD_PID"
wait "$BERTHD_PID"

# --- under a filter that refuses Landlock, as systemd's SystemCallFilter= ----
# would without the unit's allow line: each process says so once and serves.
cat >"$T_TMP/nolandlock.py" <<'PY'
import ctypes, os, struct, sys
arch = {"x86_64": 0xC000003E, "aarch64": 0xC00000B7}[os.uname().machine]
def op(code, k, jt=0, jf=0):
    return struct.pack("HBBI", code, jt, jf, k)
LD, JEQ, RET = 0x20, 0x15, 0x06
ALLOW, EPERM = 0x7FFF0000, 0x00050000 | 1
prog = [op(LD, 4), op(JEQ, arch, 1, 0), op(RET, ALLOW), op(LD, 0)]
for nr in (444, 445, 446):          # landlock_create_ruleset and kin
    prog += [op(JEQ, nr, 0, 1), op(RET, EPERM)]
prog.append(op(RET, ALLOW))
code = ctypes.create_string_buffer(b"".join(prog))
class Fprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]
fprog = Fprog(len(prog), ctypes.cast(code, ctypes.c_void_p))
libc = ctypes.CDLL(None, use_errno=True)
if libc.prctl(38, 1, 0, 0, 0) or libc.prctl(22, 2, ctypes.byref(fprog), 0, 0):
    sys.exit("cannot install the test filter")
os.execv(sys.argv[1], sys.argv[1:])
PY
if [ "$SECCOMP" = 1 ]; then
	PORT=$(free_port)
	URL="http://127.0.0.1:$PORT"
	python3 "$T_TMP/nolandlock.py" "$BERTHD" --blobd "$BLOBD" \
	    --listen "127.0.0.1:$PORT" --data-dir "$T_TMP/nolandlock" \
	    >"$T_TMP/nolandlock.log" 2>&1 &
	BERTHD_PID=$!
	T_PIDS+=("$BERTHD_PID")
	check "Landlock refused with EPERM: berthd still serves" \
	    wait_for 20 curl -sf -o /dev/null "$URL/_berth/health"
	# berthd, berth-blobd, berth-scand and berth-fetchd (which starts
	# once berthd serves: waited for, not raced).
	check "and each process says so once" wait_for 30 sh -c "test \
	    \"\$(grep -c 'sandbox: Landlock is not available (Operation not permitted)' '$T_TMP/nolandlock.log')\" = 4"
	w=$(blobd_pid "$BERTHD_PID")
	check "and berth-blobd still gets its socket filter" \
	    test "$(socket_in "$w")" = "-1 $EACCES"
	kill -TERM "$BERTHD_PID"
	wait "$BERTHD_PID"
	check "and exits 0 on SIGTERM" test $? = 0
fi
unit=systemd/berthd.service.in
check "the unit lets Landlock's calls through its SystemCallFilter=" sh -c "
    grep -n '^SystemCallFilter=' '$unit' | tail -1 |
	grep -q 'landlock_create_ruleset landlock_add_rule landlock_restrict_self'"
check "and refuses neither seccomp filters nor prctl(2)" sh -c "
    ! grep '^SystemCallFilter=~' '$unit' | grep -qw -e seccomp -e prctl -e @process"

# --- --user ------------------------------------------------------------------
SBX_USER=berth-sbx-it
created_user=0
if ! id "$SBX_USER" >/dev/null 2>&1; then
	if useradd --system --user-group --no-create-home \
	    --home-dir /nonexistent --shell /usr/sbin/nologin "$SBX_USER" \
	    2>/dev/null; then
		created_user=1
	else
		SBX_USER=nobody
	fi
fi
cleanup_user() {
	[ "$created_user" = 1 ] && userdel "$SBX_USER" 2>/dev/null
	t_cleanup
}
trap cleanup_user EXIT
uid=$(id -u "$SBX_USER")
gid=$(id -g "$SBX_USER")
printf '    --user %s (%s:%s)\n' "$SBX_USER" "$uid" "$gid"
chmod 0711 "$T_TMP"

# The data directory the root run left, handed over to the user.
chmod 0755 "$DB"
start_berthd "$D" --create-on-push --user "$SBX_USER" --vuln-db "$DB" ||
    fail "berthd starts with --user $SBX_USER on a root-owned data directory"
check "--user: the data directory was handed over, and all beneath it" \
    test -z "$(find "$D" \( ! -user "$uid" -o ! -group "$gid" \) -print -quit)"
check "--user: the blob pushed as root is served" \
    sh -c "curl -sf '$URL/v2/sbx/a/blobs/sha256:$(sha256_of "$T_TMP/blob1")' | cmp -s - '$T_TMP/blob1'"
SPAWNER=$(spawner_pid "$BERTHD_PID")
W=$(blobd_pid "$BERTHD_PID")
wait_for 30 scanner_restarted 0
check "--user: berth-fetchd starts, confined" \
    wait_for 30 fetchd_ready "$D.log"
S=$(scand_pid "$BERTHD_PID")
F=$(fetchd_pid "$BERTHD_PID")
for p in "berthd:$BERTHD_PID" "spawner:$SPAWNER" "berth-blobd:$W" \
    "berth-scand:$S" "berth-fetchd:$F"; do
	n=${p%%:*}
	pid=${p#*:}
	check "--user: $n runs as $uid:$gid, in no other group" \
	    test "$(status_field "$pid" Uid)/$(status_field "$pid" Gid)/$(status_field "$pid" Groups)" = \
	    "$uid $uid $uid $uid/$gid $gid $gid $gid/$gid"
	check "--user: $n has no capability, none to regain" \
	    test "$(status_field "$pid" CapEff)/$(status_field "$pid" CapPrm)/$(status_field "$pid" CapBnd)/$(status_field "$pid" CapAmb)" = \
	    "$NOCAPS/$NOCAPS/$NOCAPS/$NOCAPS"
done
# Larger than blobd packs into its log (PACK_BLOB_MAX), so a file of its own.
head -c 2000000 /dev/urandom >"$T_TMP/blob2"
check "--user: a push works" test "$(push b "$T_TMP/blob2")" = 201
check "--user: the new blob belongs to the user" \
    test "$(stat -c %u "$D/blobs/sha256/$(sha256_of "$T_TMP/blob2" | cut -c1-2)/$(sha256_of "$T_TMP/blob2")")" = "$uid"
confined_berthd "--user" "$D"
confined_blobd "--user" "$W" "$D"
confined_scand "--user" "$S" "$DB"
confined_fetchd "--user" "$F"
kill -TERM "$BERTHD_PID"
wait "$BERTHD_PID"
check "--user: SIGTERM, exit 0" test $? = 0

# A data directory that does not exist yet is made for the user.
PORT=$(free_port)
"$BERTHD" --blobd "$BLOBD" --listen "127.0.0.1:$PORT" \
    --data-dir "$T_TMP/new/deeper/data" --user "$SBX_USER" \
    >>"$T_TMP/new.log" 2>&1 &
BERTHD_PID=$!
T_PIDS+=("$BERTHD_PID")
check "--user: berthd starts on a data directory it must create" \
    wait_for 20 curl -sf -o /dev/null "http://127.0.0.1:$PORT/_berth/health"
check "--user: a new data directory belongs to the user" \
    test "$(stat -c %U:%a "$T_TMP/new/deeper/data")" = "$SBX_USER:750"
check "--user: its new parents are reachable (0755, root's)" \
    test "$(stat -c %U:%a "$T_TMP/new/deeper")" = "root:755"
kill -TERM "$BERTHD_PID"
wait "$BERTHD_PID"

# Not root: --user must name the user berthd runs as.
if command -v runuser >/dev/null; then
	out=$(runuser -u "$SBX_USER" -- "$BERTHD" --blobd "$BLOBD" --user root \
	    --data-dir "$T_TMP/x" 2>&1)
	rc=$?
	check "not root: --user root is refused (exit 2)" test "$rc" = 2
	check "and says why" \
	    sh -c "printf '%s' \"\$1\" | grep -q 'only root can run berthd as another user'" _ "$out"
	mkdir -p "$T_TMP/self"
	chown "$uid:$gid" "$T_TMP/self"
	PORT=$(free_port)
	URL="http://127.0.0.1:$PORT"
	runuser -u "$SBX_USER" -- "$BERTHD" --blobd "$BLOBD" \
	    --listen "127.0.0.1:$PORT" --data-dir "$T_TMP/self/data" \
	    --user "$SBX_USER" >>"$T_TMP/self.log" 2>&1 &
	self_pid=$!
	T_PIDS+=("$self_pid")
	check "not root: --user naming oneself is accepted" \
	    wait_for 20 curl -sf -o /dev/null "$URL/_berth/health"
	kill -TERM "$self_pid" 2>/dev/null
	wait "$self_pid"
fi
# A port below 1024 as the unit's documented drop-in gives it: an
# unprivileged user with CAP_NET_BIND_SERVICE in its ambient set.  berthd
# binds, then none of the three processes keeps the capability.
if command -v setpriv >/dev/null; then
	low=
	for p in 981 982 983 984 985 986 987 988 989; do
		if ! python3 -c "import socket,sys; s=socket.socket(); s.bind(('127.0.0.1',$p))" 2>/dev/null; then continue; fi
		low=$p
		break
	done
	mkdir -p "$T_TMP/low"
	chown "$uid:$gid" "$T_TMP/low"
	setpriv --reuid "$uid" --regid "$gid" --clear-groups \
	    --inh-caps +net_bind_service --ambient-caps +net_bind_service \
	    --bounding-set -all,+net_bind_service -- "$BERTHD" --blobd "$BLOBD" \
	    --listen "127.0.0.1:$low" --data-dir "$T_TMP/low/data" \
	    >>"$T_TMP/low.log" 2>&1 &
	low_pid=$!
	T_PIDS+=("$low_pid")
	check "CAP_NET_BIND_SERVICE only: berthd serves port $low" \
	    wait_for 20 curl -sf -o /dev/null "http://127.0.0.1:$low/_berth/health"
	check "and no process keeps it once bound" sh -c "
	for p in $low_pid \$(pgrep -P $low_pid) \$(pgrep -P \$(pgrep -P $low_pid | head -1)); do
		grep -q '^CapEff:[[:space:]]*0000000000000000\$' /proc/\$p/status &&
		grep -q '^CapPrm:[[:space:]]*0000000000000000\$' /proc/\$p/status &&
		grep -q '^CapAmb:[[:space:]]*0000000000000000\$' /proc/\$p/status || exit 1
	done"
	kill -TERM "$low_pid" 2>/dev/null
	wait "$low_pid"
	check "without the capability the same port is refused" sh -c "
	! setpriv --reuid $uid --regid $gid --clear-groups -- '$BERTHD' \
	    --blobd '$BLOBD' --listen 127.0.0.1:$low --data-dir '$T_TMP/low/data' \
	    >>'$T_TMP/low.log' 2>&1"
fi

out=$("$BERTHD" --user no-such-user-here --data-dir "$T_TMP/x" 2>&1)
rc=$?
check "an unknown --user is a usage error (exit 2)" test "$rc" = 2

printf '%d skipped\n' "$T_SKIPPED"
t_summary
