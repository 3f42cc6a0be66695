#!/usr/bin/env bash
# berth's whole test run: installs what the tests need on Debian 12, builds
# berth three ways (normal, AddressSanitizer+UBSan, libFuzzer), and runs
# every suite.  This is the README's test command and what CI runs.
#
#   tests/run.sh            everything
#   tests/run.sh --no-deps  skip the apt-get/npm installs (already done)
#   FUZZ_SECONDS=N          how long each fuzz target runs (default 25; raise
#                           it for a long fuzzing run)
set -uo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
FUZZ_SECONDS=${FUZZ_SECONDS:-25}
install_deps=1
[ "${1:-}" = "--no-deps" ] && install_deps=0

# Packages: the build, the clients the tests drive, the tools they use.
build_pkgs="build-essential autoconf automake pkg-config libevent-dev
libjson-c-dev libssl-dev libhttp-parser-dev libcurl4-openssl-dev libcunit1-dev
libarchive-dev libsqlite3-dev libisal-dev clang libclang-rt-14-dev mandoc"
test_pkgs="curl jq python3 python3-boto3 python3-cryptography awscli skopeo
podman buildah umoci systemd uidmap docker-registry gdb docker.io debhelper
lintian git apache2-utils rpm zstd"

sudo_cmd=()
if [ "$(id -u)" != 0 ]; then
	sudo_cmd=(sudo)
fi

passed=0
failed=0
failures=()

step() {
	local name=$1
	shift
	printf '\n=== %s\n' "$name"
	local t0=$SECONDS
	if "$@"; then
		passed=$((passed + 1))
		printf '=== %s: ok (%ds)\n' "$name" $((SECONDS - t0))
	else
		failed=$((failed + 1))
		failures+=("$name")
		printf '=== %s: FAILED (%ds)\n' "$name" $((SECONDS - t0))
	fi
}

install() {
	export DEBIAN_FRONTEND=noninteractive
	# shellcheck disable=SC2086
	"${sudo_cmd[@]}" apt-get update -qq &&
	"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends \
	    $build_pkgs $test_pkgs >/dev/null || return 1
	# Node.js for the JavaScript SDK tests: Debian's unless one is there.
	if ! command -v npm >/dev/null; then
		"${sudo_cmd[@]}" apt-get install -y -qq nodejs npm >/dev/null ||
		    return 1
	fi
}

configure_build() {
	local dir=$1
	shift
	mkdir -p "$dir" &&
	(cd "$dir" && "$top/configure" -q --enable-werror "$@" >/dev/null) &&
	make -C "$dir" -j"$(nproc)" -s >/dev/null
}

unit() {
	make -C "$1" -s check
}

integration() {
	local script=$1
	shift
	BERTHD="$top/build/daemon/berthd" BLOBD="$top/build/blobd/berth-blobd" \
	    "$@" "$top/tests/integration/$script"
}

fuzz() {
	local target=$1 corpus="$top/build-fuzz/corpus-$1"
	mkdir -p "$corpus"
	local seeds="$top/tests/fuzz/corpus/${target#fuzz_}"
	[ -d "$seeds" ] || seeds=
	"$top/build-fuzz/tests/fuzz/$target" -max_total_time="$FUZZ_SECONDS" \
	    -rss_limit_mb=2048 -print_final_stats=0 "$corpus" $seeds \
	    >"$top/build-fuzz/$target.log" 2>&1 ||
	{ tail -40 "$top/build-fuzz/$target.log"; return 1; }
}

if [ $install_deps = 1 ]; then
	step "install dependencies" install || exit 1
fi
quiet() {
	local log
	log=$(mktemp)
	"$@" >"$log" 2>&1 || { tail -60 "$log"; rm -f "$log"; return 1; }
	rm -f "$log"
}

step "autoreconf" quiet autoreconf -fi || exit 1
step "build" configure_build build || exit 1
step "build with ASan and UBSan" configure_build build-asan --enable-asan
step "build fuzz targets" configure_build build-fuzz CC=clang --enable-fuzzing

step "unit tests" unit build
step "unit tests under ASan and UBSan" unit build-asan
step "man pages lint" mandoc -Tlint -Wwarning man/berthd.8 man/berth-blobd.8 \
    man/berth-fetchd.8 man/berth-lifecycle.7 man/berth-scand.8
for script in tests/integration/*.sh tests/integration/*.py; do
	[ -e "$script" ] || continue
	step "integration: ${script##*/}" integration "${script##*/}"
done
if [ -d build-fuzz/tests/fuzz ]; then
	for target in build-fuzz/tests/fuzz/fuzz_*; do
		[ -x "$target" ] || continue
		step "fuzz: ${target##*/} for ${FUZZ_SECONDS}s" fuzz "${target##*/}"
	done
fi
step "make distcheck" quiet make -C build distcheck

printf '\n'
for f in "${failures[@]}"; do
	printf 'FAILED: %s\n' "$f"
done
printf '%d passed, %d failed\n' "$passed" "$failed"
[ "$failed" = 0 ]
