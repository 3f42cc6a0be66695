#!/usr/bin/env bash
# The Debian package, built and installed the README's way, in a throwaway
# root (this machine's / under an overlay, see root_start in common.bash)
# where sudo is not installed: a copy of the checkout, the README's
# package line (apt-get build-dep, dpkg-buildpackage -us -uc -b, apt
# install ../berth_*.deb) in a bare root shell, then: the .deb is named
# after configure.ac's version, lintian finds nothing at its default level
# (errors and warnings), the files are where `make install` puts them with
# Debian's paths, /etc/default/berthd is a conffile, the unit is enabled
# and passes `systemd-analyze verify`, the installed berthd serves the way
# the unit runs it, `dpkg -r` keeps the configuration and the registry and
# `dpkg -P` deletes them.  Nothing of it reaches the machine.
#
# Needs root and the network Debian's packages come from (apt-get update).
here=$(cd "$(dirname "$0")" && pwd)
cd "$here/../.." || exit 1
. "$here/common.bash"

need_root "the Debian package (a throwaway root)"

version=$(sed -n 's/^AC_INIT(\[berth\], \[\([^]]*\)\].*/\1/p' configure.ac)
arch=$(dpkg --print-architecture)
check "debian/changelog's version is configure.ac's ($version)" \
    test "$(dpkg-parsechangelog -S Version)" = "$version"
line=$(readme_command dpkg-buildpackage)
check "README.md has one line that builds and installs the package" \
    test "$(printf '%s\n' "$line" | grep -c .)" = 1

status_before=$(git status --porcelain 2>/dev/null)
root_start || { fail "a throwaway root"; t_summary; exit; }
in_root rm -f /usr/bin/sudo
root_copy_tree /root/src/berth

# --- built and installed as the README says -------------------------------------
in_root_shell "cd /root/src/berth && $line" >"$T_TMP/package.log" 2>&1
rc=$?
check "the README's package line, run as root without sudo, builds and installs" \
    test "$rc" = 0
[ "$rc" = 0 ] || tail -40 "$T_TMP/package.log" | sed 's/^/    /'
deb=/root/src/berth_${version}_$arch.deb
check "it built ${deb##*/}" in_root test -f "$deb"
check "the checkout is left as it was (the build is in the copy)" \
    test "$(git status --porcelain 2>/dev/null)" = "$status_before"
in_root lintian --fail-on error,warning \
    "/root/src/berth_${version}_$arch.changes" >"$T_TMP/lintian" 2>&1
rc=$?
check "lintian: no error and no warning" test "$rc" = 0
grep -E '^[EW]: ' "$T_TMP/lintian" | sed 's/^/    /'

q() {	# dpkg-query -W -f FORMAT berth, in the root
	in_root dpkg-query -W -f="$1" berth 2>/dev/null
}
check "installed" test "$(q '${Status}')" = "install ok installed"
for f in usr/sbin/berthd usr/libexec/berth-blobd usr/libexec/berth-fetchd \
    usr/libexec/berth-scand \
    usr/share/man/man8/berthd.8.gz usr/share/man/man8/berth-blobd.8.gz \
    usr/share/man/man8/berth-fetchd.8.gz usr/share/man/man8/berth-scand.8.gz \
    lib/systemd/system/berthd.service etc/default/berthd \
    usr/share/doc/berth/copyright usr/share/doc/berth/changelog.gz; do
	check "/$f is installed" in_root test -f "/$f"
done
check "/etc/default/berthd is a conffile" \
    sh -c "printf '%s' \"\$1\" | grep -q '^ /etc/default/berthd '" _ \
    "$(q '${Conffiles}')"
unit=/lib/systemd/system/berthd.service
check "the unit runs /usr/sbin/berthd with the flags of /etc/default/berthd" \
    in_root sh -c "grep -q '^ExecStart=/usr/sbin/berthd --data-dir \${STATE_DIRECTORY} \$BERTHD_OPTIONS\$' $unit &&
    grep -q '^EnvironmentFile=-/etc/default/berthd\$' $unit"
check "the unit is enabled (multi-user.target wants it)" test "$(in_root \
    readlink /etc/systemd/system/multi-user.target.wants/berthd.service)" = "$unit"
in_root systemd-analyze verify "$unit" >"$T_TMP/verify" 2>&1
rc=$?
check "systemd-analyze verify accepts the installed unit" test "$rc" = 0
[ "$rc" = 0 ] || sed 's/^/    /' "$T_TMP/verify"

# --- the installed berthd, as the unit starts it --------------------------------
# systemd keeps a DynamicUser's StateDirectory in /var/lib/private behind a
# symbolic link; the same layout here, so that purge meets it.
in_root sh -c 'mkdir -p -m 0700 /var/lib/private &&
    mkdir -p -m 0750 /var/lib/private/berth &&
    ln -s private/berth /var/lib/berth'
port=$(free_port)
in_root sh -c ". /etc/default/berthd && exec /usr/sbin/berthd --data-dir \
    /var/lib/berth \$BERTHD_OPTIONS --listen 127.0.0.1:$port" \
    >"$T_TMP/berthd.log" 2>&1 &
b=$!
T_PIDS+=("$b")
check "the installed berthd serves (its worker found without --blobd)" \
    wait_for 60 curl -sf -o /dev/null "http://127.0.0.1:$port/_berth/health"
check "... the registry API too" \
    test "$(http_status "http://127.0.0.1:$port/v2/")" = 200
bp=$b
[ "$(cat "/proc/$b/comm")" = berthd ] || bp=$(descendant "$b" berthd)
kill -TERM "$bp"
wait "$b"
check "... and stops on SIGTERM" test $? = 0
check "its data is in /var/lib/private/berth" \
    in_root test -d /var/lib/private/berth/meta

# --- remove keeps configuration and data; purge deletes them ---------------------
in_root dpkg -r berth >"$T_TMP/remove.log" 2>&1
check "dpkg -r berth" test $? = 0
check "... leaves the configuration files" \
    test "$(q '${Status}')" = "deinstall ok config-files"
check "... removes the programs, the manual pages and the unit" in_root sh -c \
    '! test -e /usr/sbin/berthd && ! test -e /usr/libexec/berth-blobd &&
    ! test -e /usr/share/man/man8/berthd.8.gz && ! test -e '"$unit"
check "... keeps /etc/default/berthd" in_root test -f /etc/default/berthd
check "... keeps the registry" in_root test -d /var/lib/berth/meta
in_root dpkg -P berth >"$T_TMP/purge.log" 2>&1
check "dpkg -P berth" test $? = 0
forgotten() { ! q '${Status}' >/dev/null; }
check "... forgets the package" forgotten
check "... deletes /etc/default/berthd" in_root sh -c '! test -e /etc/default/berthd'
check "... deletes the registry and its link" in_root sh -c \
    '! test -e /var/lib/private/berth && ! test -L /var/lib/berth'
check "... but not /var/lib/private, which is systemd's" \
    in_root test -d /var/lib/private
check "... and the unit is no longer enabled" in_root sh -c \
    '! test -L /etc/systemd/system/multi-user.target.wants/berthd.service'
t_summary
