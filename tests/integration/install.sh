#!/usr/bin/env bash
# make install into a staging prefix: the binaries, man pages and the unit
# land where configure said; the installed berthd finds its worker and its
# scanner without --blobd and --scand; systemd accepts the unit and rates
# its sandboxing; readiness is signalled with sd_notify; make uninstall
# removes it all.
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
cd "$top" || exit 1
. "$here/common.bash"

stage=$T_TMP/stage
build=$T_TMP/build
mkdir -p "$build"
(cd "$build" && "$top/configure" -q --prefix="$stage/usr" \
    --sysconfdir="$stage/etc" --localstatedir="$stage/var" \
    --with-systemdsystemunitdir="$stage/usr/lib/systemd/system" \
    >/dev/null && make -s -j"$(nproc)" >/dev/null 2>&1 &&
    make -s install >/dev/null 2>&1)
check "configure, make and make install into a staging prefix" test $? = 0

for f in usr/sbin/berthd usr/libexec/berth-blobd usr/libexec/berth-fetchd \
    usr/libexec/berth-scand \
    usr/share/man/man8/berthd.8 usr/share/man/man7/berth-lifecycle.7 \
    usr/share/man/man8/berth-blobd.8 usr/share/man/man8/berth-fetchd.8 \
    usr/share/man/man8/berth-scand.8 \
    usr/lib/systemd/system/berthd.service; do
	check "installed $f" test -f "$stage/$f"
done
unit=$stage/usr/lib/systemd/system/berthd.service
check "the unit runs the installed berthd" \
    grep -q "^ExecStart=$stage/usr/sbin/berthd --data-dir \${STATE_DIRECTORY}" "$unit"

# The installed berthd finds the installed worker by itself.
BLOBD_SAVED=$BLOBD
port=$(free_port)
mkdir -p "$T_TMP/notify"
python3 - "$T_TMP/notify/sock" >"$T_TMP/notify/got" 2>&1 <<'PY' &
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
s.settimeout(60)
print(s.recv(4096).decode(), flush=True)
PY
npid=$!
T_PIDS+=("$npid")
wait_for 30 test -S "$T_TMP/notify/sock"
NOTIFY_SOCKET=$T_TMP/notify/sock "$stage/usr/sbin/berthd" \
    --listen "127.0.0.1:$port" --data-dir "$T_TMP/data" \
    >"$T_TMP/berthd.log" 2>&1 &
pid=$!
T_PIDS+=("$pid")
check "installed berthd serves without --blobd" \
    wait_for 60 curl -sf -o /dev/null "http://127.0.0.1:$port/_berth/health"
check "and starts the installed berth-scand without --scand" \
    wait_for 60 sh -c "curl -sf 'http://127.0.0.1:$port/_berth/health' |
    grep -q '\"scanner\": *\"up\"'"
wait "$npid"
check "readiness is signalled to \$NOTIFY_SOCKET (READY=1)" \
    grep -q 'READY=1' "$T_TMP/notify/got"
check "the unit is Type=notify" grep -q '^Type=notify$' "$unit"
kill -TERM "$pid"
wait "$pid"
check "installed berthd exits 0 on SIGTERM" test $? = 0

if command -v systemd-analyze >/dev/null; then
	MANPATH=$stage/usr/share/man systemd-analyze verify "$unit" \
	    >"$T_TMP/verify" 2>&1
	rc=$?
	check "systemd-analyze verify accepts the unit" test "$rc" = 0
	[ "$rc" = 0 ] || sed 's/^/    /' "$T_TMP/verify"
	score=$(systemd-analyze security --offline=true "$unit" 2>/dev/null |
	    sed -n 's/.*Overall exposure level for berthd.service: \([0-9.]*\).*/\1/p')
	printf '    systemd-analyze security: exposure %s\n' "${score:-?}"
	check "systemd-analyze security rates the unit 2.0 or better" \
	    awk -v s="${score:-99}" 'BEGIN { exit !(s <= 2.0) }'
fi

(cd "$build" && make -s uninstall >/dev/null 2>&1)
left=$(find "$stage" -type f | wc -l)
check "make uninstall removes every installed file ($left left)" test "$left" = 0
BLOBD=$BLOBD_SAVED
t_summary
