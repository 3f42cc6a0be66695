#!/usr/bin/env bash
# Every flag in --help is in the man page and the other way round, the
# man pages lint clean, and usage() prints the SYNOPSIS's flags.
here=$(cd "$(dirname "$0")" && pwd)
cd "$here/../.." || exit 1
. "$here/common.bash"

# Long flags as --help lists them, one per line.
help_flags() {
	"$1" --help | grep -oE -- '(^|[ [])--[a-z][a-z-]*' | tr -d ' [' |
	    sort -u
}

# Flags the man page documents in its option list (.It Fl Fl name).
man_flags() {
	grep -E '^\.It .*Fl Fl [a-z]' "$1" | grep -oE 'Fl Fl [a-z][a-z-]*' |
	    awk '{print "--" $3}' | sort -u
}

SCAND=${SCAND:-$(dirname "$(dirname "$BLOBD")")/daemon/berth-scand}
FETCHD=${FETCHD:-$(dirname "$BERTHD")/../fetchd/berth-fetchd}
for prog in berthd:"$BERTHD" berth-blobd:"$BLOBD" berth-fetchd:"$FETCHD" \
    berth-scand:"$SCAND"; do
	name=${prog%%:*}
	bin=${prog#*:}
	page=man/$name.8
	h=$(help_flags "$bin")
	m=$(man_flags "$page")
	check "$name: --help and $page list the same flags" \
	    test "$h" = "$m"
	if [ "$h" != "$m" ]; then
		diff <(printf '%s\n' "$h") <(printf '%s\n' "$m") |
		    sed 's/^/    /'
	fi
	check "$name: $page lints clean" mandoc -Tlint -Wwarning "$page"
	check "$name: -v is documented" \
	    grep -q '^\.It Fl v , Fl Fl verbose' "$page"
	check "$name: --verbose is accepted" sh -c "\"$bin\" --verbose --help >/dev/null"
	"$bin" --no-such-flag >/dev/null 2>"$T_TMP/usage"
	rc=$?
	check "$name: an unknown flag is a usage error (exit 2)" test "$rc" = 2
	check "$name: usage() prints the synopsis" \
	    grep -q "^usage: $name" "$T_TMP/usage"
done
t_summary
