#!/usr/bin/env bash
# The README's quick start as a new user meets it: a fresh root shell on
# Debian 12 where sudo is not installed.  In a throwaway root (this
# machine's / under an overlay, see root_start in common.bash) without
# /usr/bin/sudo, in an environment as bare as a root login's, the
# quick-start line runs in a copy of the checkout: it installs the build
# dependencies with apt-get (into the throwaway root only), builds, and
# starts berthd, which must then answer and stop cleanly.  The one change
# made to the line: `--listen` on a free port, so that no other berthd on
# 4566 can answer for it.  (The package line is run the same way by
# debian_package.sh; tests/run.sh runs as root without sudo in CI.)
#
# Needs root and the network Debian's packages come from (apt-get update).
here=$(cd "$(dirname "$0")" && pwd)
cd "$here/../.." || exit 1
. "$here/common.bash"

need_root "the README in a root shell (a throwaway root)"

line=$(readme_command 'berthd --data-dir')
check "README.md has one quick-start line that runs berthd" \
    test "$(printf '%s\n' "$line" | grep -c .)" = 1
check "... and that line needs no sudo where there is none" \
    grep -q 'SUDO=$(command -v sudo);' <<<"$line"

root_start || { fail "a throwaway root"; t_summary; exit; }
in_root rm -f /usr/bin/sudo
check "the throwaway root has no sudo" \
    in_root_shell '! command -v sudo >/dev/null'
root_copy_tree /root/berth
check "a copy of the checkout in it" in_root test -f /root/berth/README.md

port=$(free_port)
in_root_shell "cd /root/berth && $line --listen 127.0.0.1:$port" \
    >"$T_TMP/quickstart.log" 2>&1 &
qs=$!
T_PIDS+=("$qs")
# It builds first: poll slowly, for as long as the line is still running.
up=0
for _ in $(seq 1800); do
	if [ "$(http_status "http://127.0.0.1:$port/_berth/health")" = 200 ]; then
		up=1
		break
	fi
	kill -0 "$qs" 2>/dev/null || break
	sleep 1
done
check "the quick-start line, run as root without sudo, serves" test "$up" = 1
[ "$up" = 1 ] || tail -30 "$T_TMP/quickstart.log" | sed 's/^/    /'
check "... with its data in ./data" in_root test -d /root/berth/data/meta
b=$(descendant "$qs" berthd)
check "berthd is the line's last command" test -n "$b"
[ -n "$b" ] && kill -TERM "$b"
wait "$qs"
check "... and stops cleanly on SIGTERM (the line exits 0)" test $? = 0
t_summary
