#!/usr/bin/env bash
# What a web page the user opens can make berthd do: DNS rebinding (a
# foreign Host) and cross-site requests (a foreign Origin, Sec-Fetch-Site)
# against the admin API, /v2/ and the ECR API, on a loopback listener and
# on a wildcard one (in a private network namespace when that can be made).
here=$(cd "$(dirname "$0")" && pwd)
cd "$here/../.." || exit 1
. "$here/common.bash"

# A private network namespace: the wildcard listener below is then reachable
# from nowhere else.
if [ -z "${BERTH_WEB_NETNS:-}" ] && [ "$(id -u)" = 0 ] &&
    unshare -n true 2>/dev/null; then
	export BERTH_WEB_NETNS=1
	exec unshare -n bash -c 'ip link set lo up && exec bash "$0" "$@"' \
	    "$0" "$@"
fi

D=$T_TMP/data
start_berthd "$D" --create-on-push || { fail "berthd starts"; t_summary; exit 1; }
check "an image to work on" push_image web/app v1
check "and another" push_image web/app v2
M2=sha256:$(sha256_of "$T_TMP/m-v2")

evil=http://evil.example.com
# status ARGS...: the status of a request (curl arguments).
status() { curl -s -o "$T_TMP/body" -w '%{http_code}' "$@"; }
body_has() { grep -q "$1" "$T_TMP/body"; }
ecr() {	# OP JSON [CURL ARGS...]
	local op=$1 data=$2
	shift 2
	status -X POST -H "X-Amz-Target: AmazonEC2ContainerRegistry_V20150921.$op" \
	    -H 'Content-Type: application/x-amz-json-1.1' -d "$data" "$@" "$URL/"
}

# --- the admin API: DNS rebinding ---------------------------------------------------
for h in "evil.example.com" "evil.example.com:$PORT" "localhost.evil.example.com:$PORT" \
    "127.0.0.1.nip.io:$PORT" "localhost.localhost.evil.example.com"; do
	check "admin: Host $h gets 403" \
	    test "$(status -H "Host: $h" "$URL/_berth/repositories")" = 403
	check "admin: Host $h gets a JSON error naming the Host" \
	    sh -c "grep -q '\"error\":.*Host' '$T_TMP/body'"
done
check "admin: a Host that only starts with localhost:port is refused (400)" \
    test "$(status -H "Host: localhost:$PORT.evil.example.com" "$URL/_berth/repositories")" = 400
check "admin: a rebound page cannot reset the registry (403)" \
    test "$(status -X POST -H "Host: evil.example.com:$PORT" "$URL/_berth/reset")" = 403
for h in "localhost:$PORT" "LOCALHOST:$PORT" "localhost.:$PORT" "127.0.0.1:$PORT" \
    "127.1.2.3:$PORT" "[::1]:$PORT" "dev.localhost:$PORT" \
    "111111111111.dkr.ecr.eu-west-1.localhost:$PORT" "localhost" "10.1.2.3:$PORT"; do
	check "admin: Host $h is served" \
	    test "$(status -H "Host: $h" "$URL/_berth/repositories")" = 200
done

# --- the admin API: cross-site requests ----------------------------------------------
check "admin: POST /_berth/reset with a foreign Origin gets 403" \
    test "$(status -X POST -H "Origin: $evil" "$URL/_berth/reset")" = 403
check "admin: ... with a JSON error" body_has '"error"'
check "admin: and nothing was deleted" \
    test "$(status "$URL/_berth/images?repository=web/app")" = 200
check "admin: POST /_berth/gc with a foreign Origin gets 403" \
    test "$(status -X POST -H "Origin: $evil" "$URL/_berth/gc")" = 403
check "admin: ... with Origin: null (a sandboxed page) gets 403" \
    test "$(status -X POST -H "Origin: null" "$URL/_berth/gc")" = 403
check "admin: ... from a page on another port of this host gets 403" \
    test "$(status -X POST -H "Origin: http://127.0.0.1:1" "$URL/_berth/gc")" = 403
check "admin: ... with Sec-Fetch-Site: cross-site gets 403" \
    test "$(status -X POST -H "Sec-Fetch-Site: cross-site" "$URL/_berth/compact")" = 403
check "admin: ... with Sec-Fetch-Site: same-site gets 403" \
    test "$(status -X POST -H "Sec-Fetch-Site: same-site" "$URL/_berth/compact")" = 403
check "admin: the page's own origin may POST (200)" \
    test "$(status -X POST -H "Origin: http://127.0.0.1:$PORT" -H "Sec-Fetch-Site: same-origin" "$URL/_berth/gc?dry_run=1")" = 200
check "admin: a typed URL (Sec-Fetch-Site: none) may POST (200)" \
    test "$(status -X POST -H "Sec-Fetch-Site: none" "$URL/_berth/gc?dry_run=1")" = 200
check "admin: reads with a foreign Origin are answered (the page cannot read them)" \
    test "$(status -H "Origin: $evil" -H "Sec-Fetch-Site: cross-site" "$URL/_berth/health")" = 200
check "admin: no CORS header lets the page read an answer" \
    sh -c "! curl -s -D - -o /dev/null -H 'Origin: $evil' '$URL/_berth/health' | grep -qi '^Access-Control-'"

# --- /v2/ ---------------------------------------------------------------------------
check "/v2/: DELETE with a foreign Origin gets 403" \
    test "$(status -X DELETE -H "Origin: $evil" "$URL/v2/web/app/manifests/$M2")" = 403
check "/v2/: ... as DENIED in the OCI shape" body_has '"code":"DENIED"'
check "/v2/: ... and the image is still there" \
    test "$(status "$URL/v2/web/app/manifests/$M2")" = 200
check "/v2/: a cross-site form POST cannot start an upload (403)" \
    test "$(status -X POST -H "Sec-Fetch-Site: cross-site" -H 'Content-Type: text/plain' --data-binary x "$URL/v2/web/app/blobs/uploads/")" = 403
check "/v2/: nor mount a blob (403)" \
    test "$(status -X POST -H "Origin: $evil" "$URL/v2/web/other/blobs/uploads/?mount=sha256:$(sha256_of "$T_TMP/l-v1")&from=web/app")" = 403
check "/v2/: reads with a foreign Origin are answered" \
    test "$(status -H "Origin: $evil" "$URL/v2/web/app/tags/list")" = 200
check "/v2/: a rebound page (foreign Host) is refused on a loopback listener (403)" \
    test "$(status -H "Host: evil.example.com:$PORT" "$URL/v2/web/app/tags/list")" = 403
check "/v2/: ... as DENIED" body_has '"code":"DENIED"'
check "/v2/: Host <account>.dkr.ecr.<region>.amazonaws.com is served" \
    test "$(status -H "Host: 000000000000.dkr.ecr.us-east-1.amazonaws.com:$PORT" "$URL/v2/web/app/tags/list")" = 200
check "/v2/: so is ECR's API endpoint api.ecr.<region>.amazonaws.com" \
    test "$(status -H "Host: api.ecr.us-west-2.amazonaws.com" "$URL/v2/web/app/tags/list")" = 200
check "/v2/: but not a name that only starts like it (403)" \
    test "$(status -H "Host: api.ecr.us-west-2.amazonaws.com.evil.example" "$URL/v2/web/app/tags/list")" = 403
check "/v2/: DELETE with the registry's own origin works (202)" \
    test "$(status -X DELETE -H "Origin: http://localhost:$PORT" -H "Host: localhost:$PORT" "$URL/v2/web/app/manifests/$M2")" = 202

# --- the ECR API ----------------------------------------------------------------------
check "ECR: a call with a foreign Origin is refused" \
    test "$(ecr DeleteRepository '{"repositoryName":"web/app","force":true}' -H "Origin: $evil")" = 403
check "ECR: ... with AccessDeniedException" body_has '"__type":"AccessDeniedException"'
check "ECR: ... and X-Amzn-ErrorType says so" \
    sh -c "curl -s -D - -o /dev/null -X POST -H 'Origin: $evil' -H 'X-Amz-Target: AmazonEC2ContainerRegistry_V20150921.DescribeRepositories' -d '{}' '$URL/' | grep -qi '^X-Amzn-ErrorType: AccessDeniedException'"
check "ECR: Sec-Fetch-Site: cross-site is refused" \
    test "$(ecr CreateRepository '{"repositoryName":"web/evil"}' -H "Sec-Fetch-Site: cross-site")" = 403
check "ECR: a rebound page (foreign Host) is refused on a loopback listener" \
    test "$(ecr GetAuthorizationToken '{}' -H "Host: evil.example.com:$PORT")" = 403
check "ECR: ... with AccessDeniedException" body_has '"__type":"AccessDeniedException"'
check "ECR: and the repository is still there" \
    test "$(ecr DescribeRepositories '{"repositoryNames":["web/app"]}')" = 200
check "ECR: a call from the endpoint's own origin works" \
    test "$(ecr DescribeRepositories '{}' -H "Origin: http://127.0.0.1:$PORT")" = 200
kill -TERM "$BERTHD_PID"
wait "$BERTHD_PID"

# --- --advertise-host adds a name ----------------------------------------------------
start_berthd "$T_TMP/d2" --advertise-host registry.example.test ||
    fail "berthd starts with --advertise-host"
check "the advertised host is served on /v2/" \
    test "$(status -H "Host: registry.example.test:$PORT" "$URL/v2/")" = 200
check "... and on the admin API" \
    test "$(status -H "Host: REGISTRY.example.test:$PORT" "$URL/_berth/health")" = 200
check "another name still is not (403)" \
    test "$(status -H "Host: other.example.test:$PORT" "$URL/_berth/health")" = 403
kill -TERM "$BERTHD_PID"
wait "$BERTHD_PID"

# --- a wildcard listener: names other than the advertised host reach /v2/ --------------
if [ -n "${BERTH_WEB_NETNS:-}" ]; then
	port=$(free_port)
	"$BERTHD" --blobd "$BLOBD" --listen "0.0.0.0:$port" --data-dir "$T_TMP/d3" \
	    >>"$T_TMP/d3.log" 2>&1 &
	p=$!
	T_PIDS+=("$p")
	wait_for 20 curl -sf -o /dev/null "http://127.0.0.1:$port/v2/"
	check "wildcard listener: /v2/ answers any host name" \
	    test "$(status -H "Host: devbox.example.test:$port" "http://127.0.0.1:$port/v2/")" = 200
	check "wildcard listener: the ECR API too" \
	    test "$(status -X POST -H "Host: devbox.example.test:$port" -H 'X-Amz-Target: AmazonEC2ContainerRegistry_V20150921.DescribeRepositories' -H 'Content-Type: application/x-amz-json-1.1' -d '{}' "http://127.0.0.1:$port/")" = 200
	check "wildcard listener: the admin API still refuses it (403)" \
	    test "$(status -H "Host: devbox.example.test:$port" "http://127.0.0.1:$port/_berth/health")" = 403
	check "wildcard listener: cross-site writes are still refused (403)" \
	    test "$(status -X POST -H "Origin: $evil" "http://127.0.0.1:$port/v2/x/blobs/uploads/")" = 403
	kill -TERM "$p"
	wait "$p"
else
	printf 'skip the wildcard listener: no private network namespace\n'
fi
t_summary
