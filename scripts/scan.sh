#!/usr/bin/env bash
# Attacks a running generated app with off-the-shelf scanners and fails on any finding
# of medium severity or above:
#   - wapiti, every module that works offline (ssrf, xxe, wapp and nikto need the
#     internet), crawling the whole site and attacking every form and parameter;
#   - sqlmap against the login, sign-up and password reset forms, and against the
#     admin directory's search as a signed-in administrator.
#
# Usage: scripts/scan.sh [APP_DIR]
#   APP_DIR: a generated project (default: the sqlite-smtp project the browser tests
#   render, which `cargo test` does whatever MATRIX selects).
#   Builds it (with CARGO_TARGET_DIR if set), serves it on a free port with a throwaway
#   SQLite database and mail printed to the log, and writes reports to SCAN_OUTPUT
#   (default: target/scan).
# Needs wapiti and sqlmap (Debian: apt-get install wapiti sqlmap).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
app_dir=$(realpath "${1:-${TMPDIR:-/tmp}/actix-saas-starter-browser/project/demo-app}")
[[ -f $app_dir/Cargo.toml ]] || {
    echo "scan: no generated project in $app_dir; run cargo test --test browser, or name one" >&2
    exit 1
}
out=$(realpath -m "${SCAN_OUTPUT:-$here/target/scan}")
rm -rf "$out"
mkdir -p "$out"

name=$(sed -n 's/^name = "\(.*\)"$/\1/p' "$app_dir/Cargo.toml" | head -n1)
target_dir=${CARGO_TARGET_DIR:-$app_dir/target}
echo "scan: building $app_dir"
(cd "$app_dir" && cargo build --quiet)

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
base="http://127.0.0.1:$port"
data=$(mktemp -d)
# The scanners send thousands of form posts from one address: the per-IP limits would
# answer most of them with 429 and hide the code behind it, so they are lifted here.
settings=(APP_ENV=development APP_PORT="$port" APP_BASE_URL="$base" DATABASE_URL="$data/scan.db"
    MAIL_TRANSPORT=log RATE_LIMIT_AUTH_BURST=100000 RATE_LIMIT_AUTH_WINDOW_LIMIT=100000
    MAX_REQUESTS_PER_CLIENT=100000 RUST_LOG=info)
binary="$target_dir/debug/$name"
(cd "$app_dir" && exec env "${settings[@]}" "$binary" serve) >"$out/app.log" 2>&1 &
app=$!
trap 'kill "$app" 2>/dev/null || true; rm -rf "$data"' EXIT
for _ in $(seq 60); do
    curl -fsS "$base/healthz" >/dev/null 2>&1 && break
    sleep 0.5
done
curl -fsS "$base/healthz" >/dev/null || { cat "$out/app.log"; echo "scan: the app did not start" >&2; exit 1; }

# An administrator, signed in with curl, so that sqlmap reaches the admin search.
admin_email=scan-admin@example.com
admin_password=Quiet-Harbor-Lantern-2026
jar="$data/admin-cookies.txt"
printf '%s\n' "$admin_password" |
    (cd "$app_dir" && env "${settings[@]}" "$binary" create-admin --email "$admin_email" --name "Scan Admin") \
    >"$out/create-admin.log" 2>&1 || { cat "$out/create-admin.log"; echo "scan: create-admin failed" >&2; exit 1; }
token=$(curl -fsS -c "$jar" -b "$jar" "$base/login" |
    sed -n 's/.*name="csrf_token" value="\([^"]*\)".*/\1/p' | head -n1)
curl -fsS -o /dev/null -c "$jar" -b "$jar" --data-urlencode "csrf_token=$token" \
    --data-urlencode "email=$admin_email" --data-urlencode "password=$admin_password" "$base/login"
# admin_page_answers: true while the administrator's session still opens the directory.
admin_page_answers() {
    [[ $(curl -sS -o /dev/null -w '%{http_code}' -b "$jar" "$base/admin/users") == 200 ]]
}
admin_page_answers || { echo "scan: cannot sign in as the administrator" >&2; exit 1; }

echo "scan: wapiti on $base"
modules=blindsql,cookieflags,crlf,csp,csrf,exec,file,htaccess,http_headers,methods,permanentxss,redirect,shellshock,sql,xss,backup
wapiti --url "$base/" --scope folder --module "$modules" --flush-session \
    --max-scan-time 900 --max-attack-time 120 --format json --output "$out/wapiti.json" \
    >"$out/wapiti.log" 2>&1 || { tail -n 30 "$out/wapiti.log"; echo "scan: wapiti failed" >&2; exit 1; }

failed=0
python3 - "$out/wapiti.json" <<'PY' || failed=1
import json, sys

report = json.load(open(sys.argv[1]))
names = {"0": "info", "1": "low", "2": "medium", "3": "high", "4": "critical"}
serious = 0
for section in ("vulnerabilities", "anomalies"):
    for category, findings in sorted(report.get(section, {}).items()):
        for finding in findings:
            level = str(finding.get("level", "0"))
            where = f'{finding.get("method", "")} {finding.get("path", "")}'
            print(f'  wapiti {names.get(level, level):8} {category}: {where} {finding.get("info", "")}')
            if int(level) >= 2:
                serious += 1
crawled = len(report.get("infos", {}).get("crawled_pages", []) or [])
print(f"  wapiti: {serious} finding(s) of medium severity or above")
sys.exit(1 if serious else 0)
PY

for form in "login:email=ann%40example.com&password=secret" \
    "signup:name=Ann&email=ann%40example.com&password=secret&password_confirmation=secret" \
    "forgot-password:email=ann%40example.com"; do
    path=${form%%:*}
    fields=${form#*:}
    echo "scan: sqlmap on POST /$path"
    sqlmap --url "$base/$path" --data "csrf_token=x&$fields" --csrf-token csrf_token \
        --csrf-url "$base/$path" --skip csrf_token --batch --level 2 --risk 1 \
        --output-dir "$out/sqlmap" --flush-session >"$out/sqlmap-$path.log" 2>&1 || true
    if grep -q "identified the following injection point" "$out/sqlmap-$path.log"; then
        echo "  sqlmap: /$path is injectable (see $out/sqlmap-$path.log)"
        failed=1
    elif grep -q "do not appear to be injectable" "$out/sqlmap-$path.log"; then
        echo "  sqlmap: no injectable parameter in /$path"
    else
        tail -n 20 "$out/sqlmap-$path.log"
        echo "  sqlmap: /$path was not tested to the end"
        failed=1
    fi
done

# The session cookie stays as it is (-p): sqlmap tries only the search's own parameters.
echo "scan: sqlmap on GET /admin/users as an administrator"
# curl marks HttpOnly cookies in its jar in a way sqlmap's loader skips: pass them as a header.
cookies=$(awk -F '\t' 'NF == 7 { sub(/^#HttpOnly_/, "", $1); printf "%s%s=%s", sep, $6, $7; sep = "; " }' "$jar")
sqlmap --url "$base/admin/users?q=ann&page=1" -p q,page --cookie "$cookies" --batch \
    --level 2 --risk 1 --output-dir "$out/sqlmap" --flush-session >"$out/sqlmap-admin-users.log" 2>&1 || true
if grep -q "identified the following injection point" "$out/sqlmap-admin-users.log"; then
    echo "  sqlmap: /admin/users is injectable (see $out/sqlmap-admin-users.log)"
    failed=1
elif grep -q "do not appear to be injectable" "$out/sqlmap-admin-users.log" && admin_page_answers; then
    echo "  sqlmap: no injectable parameter in /admin/users"
else
    tail -n 20 "$out/sqlmap-admin-users.log"
    echo "  sqlmap: /admin/users was not tested to the end, or not as an administrator"
    failed=1
fi

# Proof the scanners got past the CSRF check and reached the handlers: what the app
# answered to their form posts.
echo "scan: form posts the app answered, by status:"
# The request log's lines: request{method=POST route=/login target=... status=422}.
grep -o 'request{method=POST route=[^ ]* .* status=[0-9]*}' "$out/app.log" |
    sed -E 's/request\{method=POST route=([^ ]*) .* status=([0-9]*)\}/\1 \2/' |
    sort | uniq -c | sort -rn | sed 's/^/  /'
echo "scan: admin searches the app answered, by status:"
grep -o 'request{method=GET route=/admin/users .* status=[0-9]*}' "$out/app.log" |
    sed -E 's/.* status=([0-9]*)\}/GET \/admin\/users \1/' | sort | uniq -c | sed 's/^/  /'
if grep -Eq 'request\{method=[A-Z]+ .* status=5[0-9]{2}\}' "$out/app.log"; then
    echo "  the app answered some request with a 5xx (see $out/app.log)"
    failed=1
fi

if ((failed)); then
    echo "scan: FAILED (reports in $out)"
    exit 1
fi
echo "scan: nothing of medium severity or above (reports in $out)"
