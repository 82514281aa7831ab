#!/usr/bin/env bash
# Checks the monitoring files that ship with tailcast against the real server:
#   1. promtool check rules   packaging/prometheus/tailcast-rules.yml
#   2. promtool test rules    packaging/prometheus/tailcast-rules.test.yml (each alert fires)
#   3. promtool check rules   on every PromQL expression of packaging/grafana/tailcast.json
#      (Grafana's $variables replaced), so the dashboard's queries parse too
#   4. starts the tailcast binary on a free loopback port with a one-file config, scrapes
#      /metrics, and fails naming every metric that the rules or the dashboard use and the
#      server does not export.
#
# Installs nothing: it needs promtool (Debian package `prometheus`), python3 with PyYAML
# (Debian package `python3-yaml`) and the binary (TAILCAST_BIN, default .build/debug/tailcast).
# Usage: bash packaging/check-monitoring.sh
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
rules="$repo/packaging/prometheus/tailcast-rules.yml"
rules_test="$repo/packaging/prometheus/tailcast-rules.test.yml"
dashboard="$repo/packaging/grafana/tailcast.json"
bin="${TAILCAST_BIN:-$repo/.build/debug/tailcast}"

fail() { echo "check-monitoring: $*" >&2; exit 1; }

command -v promtool >/dev/null || fail "promtool not found; install the Debian package prometheus (make deps-test does)"
python3 -c 'import yaml' 2>/dev/null || fail "python3 cannot import yaml; install the Debian package python3-yaml (make deps-test does)"
# The binary may be in the middle of a rebuild: give it a moment.
for _ in $(seq 1 60); do [ -x "$bin" ] && break; sleep 0.5; done
[ -x "$bin" ] || fail "tailcast binary not found or not executable: $bin (set TAILCAST_BIN)"

work=$(mktemp -d)
server_pid=""
cleanup() {
    if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
        kill -TERM "$server_pid" 2>/dev/null || true
        for _ in $(seq 1 100); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT

echo "== promtool check rules $rules"
promtool check rules "$rules"

echo "== promtool test rules $rules_test"
(cd "$(dirname "$rules_test")" && promtool test rules "$(basename "$rules_test")")

# ---------------------------------------------------------------------------- the server
# A journal-free config with one file source; port 0 lets the kernel pick a free port, which
# the server logs ("listening" with address=…:PORT).
mkdir -p "$work/logs"
printf 'check-monitoring line 1\ncheck-monitoring line 2\n' > "$work/logs/app.log"
cat > "$work/tailcast.toml" <<EOF
[server]
listen = "127.0.0.1:0"

[[source]]
name = "app"
kind = "file"
path = "$work/logs/app.log"
EOF
: > "$work/server.log"
"$bin" --config "$work/tailcast.toml" </dev/null >"$work/server.log" 2>&1 &
server_pid=$!

port=""
deadline=$((SECONDS + 20))
while [ -z "$port" ]; do
    kill -0 "$server_pid" 2>/dev/null || { cat "$work/server.log" >&2; fail "tailcast exited during start-up"; }
    port=$(sed -n -e 's/.*address=[^ ]*:\([0-9][0-9]*\) .*listening.*/\1/p' \
                  -e 's/.*listening on 127\.0\.0\.1:\([0-9][0-9]*\).*/\1/p' "$work/server.log" | head -n 1)
    [ -n "$port" ] && break
    [ "$SECONDS" -lt "$deadline" ] || { cat "$work/server.log" >&2; fail "no 'listening' line within 20 s"; }
    sleep 0.05
done
echo "== tailcast (pid $server_pid) on 127.0.0.1:$port"

# ---------------------------------------------------------------------------- the names
python3 - "$rules" "$dashboard" "$port" "$work" <<'PY'
import json, re, subprocess, sys, time, urllib.request
import yaml

rules_path, dashboard_path, port, work = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]

# ---- PromQL: the metric names an expression selects (labels, functions, keywords left out)
KEYWORDS = {"and", "or", "unless", "by", "without", "on", "ignoring", "group_left",
            "group_right", "bool", "offset", "atan2", "inf", "nan"}
AGGREGATIONS = {"sum", "min", "max", "avg", "group", "stddev", "stdvar", "count", "count_values",
                "bottomk", "topk", "quantile", "limitk", "limit_ratio"}
LABEL_LIST_KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right"}
TOKEN = re.compile(r"""
    (?P<ws>\s+) | (?P<comment>\#[^\n]*)
  | (?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`)
  | (?P<number>(?:0[xX][0-9a-fA-F]+|[0-9]*\.?[0-9]+(?:[eE][+-]?[0-9]+)?)(?:[a-zA-Z]+[0-9]*)*)
  | (?P<ident>[a-zA-Z_:][a-zA-Z0-9_:]*)
  | (?P<op>=~|!~|!=|==|<=|>=|[-+*/%^<>=(){}\[\],@])
""", re.X)


def tokens(expr):
    pos, out = 0, []
    while pos < len(expr):
        m = TOKEN.match(expr, pos)
        if not m:
            raise ValueError(f"cannot tokenize PromQL at {expr[pos:pos+30]!r} in {expr!r}")
        pos = m.end()
        kind = m.lastgroup
        if kind not in ("ws", "comment"):
            out.append((kind, m.group()))
    return out


def metric_names(expr):
    toks, names, i = tokens(expr), set(), 0
    while i < len(toks):
        kind, text = toks[i]
        nxt = toks[i + 1][1] if i + 1 < len(toks) else None
        if text == "{":                      # label matchers: only __name__="x" names a metric
            j = i + 1
            while toks[j][1] != "}":
                if toks[j][1] == "__name__" and toks[j + 1][1] == "=" and toks[j + 2][0] == "string":
                    names.add(toks[j + 2][1][1:-1])
                j += 1
            i = j + 1
            continue
        if text == "[":                      # range or subquery duration
            while toks[i][1] != "]":
                i += 1
            i += 1
            continue
        if kind == "ident":
            low = text.lower()
            if low in LABEL_LIST_KEYWORDS and nxt == "(":
                while toks[i][1] != ")":
                    i += 1
                i += 1
                continue
            if low in AGGREGATIONS and nxt is not None and nxt.lower() in ("by", "without"):
                i += 1                       # sum by (x) (...): the label list is skipped next
                continue
            if nxt == "(" or low in KEYWORDS:  # a function, an aggregation or a keyword
                i += 1
                continue
            names.add(text)
        i += 1
    return names


_sample = 'sum by (le, source) (rate(a_bucket{x=~"$s",__name__="b"}[5m] offset 1h)) / on (job) group_left (y) c or vector(0) > bool 1e3'
assert metric_names(_sample) == {"a_bucket", "b", "c"}, metric_names(_sample)

# ---- the expressions
exprs = []          # (where, PromQL)
recorded = set()    # names that the rules themselves create
with open(rules_path) as f:
    doc = yaml.safe_load(f)
for group in doc["groups"]:
    for rule in group["rules"]:
        what = rule.get("alert") or rule.get("record")
        exprs.append((f"rules: {what}", rule["expr"]))
        if "record" in rule:
            recorded.add(rule["record"])

GRAFANA_RANGE = re.compile(r"\$(?:__rate_interval|__interval|__range|\{__rate_interval\}|\{__interval\}|\{__range\})")
GRAFANA_VAR = re.compile(r"\$\{[^}]*\}|\$[A-Za-z_][A-Za-z0-9_]*|\[\[[^\]]*\]\]")


def grafana_to_promql(expr):
    return GRAFANA_VAR.sub(".*", GRAFANA_RANGE.sub("5m", expr))


with open(dashboard_path) as f:
    dash = json.load(f)


def all_panels(panels):
    for p in panels:
        yield p
        yield from all_panels(p.get("panels", []))


dash_exprs = []
for p in all_panels(dash.get("panels", [])):
    for t in p.get("targets", []):
        if t.get("expr"):
            where = f"dashboard: panel {p.get('title')!r} {t.get('refId')}"
            dash_exprs.append((where, grafana_to_promql(t["expr"])))
for v in dash.get("templating", {}).get("list", []):
    if v.get("type") != "query":
        continue
    q = v.get("query")
    q = q.get("query", "") if isinstance(q, dict) else (q or "")
    m = re.fullmatch(r"\s*label_values\((.*),\s*[A-Za-z_][A-Za-z0-9_]*\s*\)\s*", q)
    if m:
        q = m.group(1)
    elif re.fullmatch(r"\s*label_values\(\s*[A-Za-z_][A-Za-z0-9_]*\s*\)\s*", q):
        continue
    elif re.fullmatch(r"\s*(label_names|metrics)\(.*\)\s*", q):
        continue
    else:
        q = re.sub(r"^\s*query_result\((.*)\)\s*$", r"\1", q)
    dash_exprs.append((f"dashboard: variable ${v.get('name')}", grafana_to_promql(q)))
if not dash_exprs:
    sys.exit("check-monitoring: the dashboard has no PromQL expressions")
exprs += dash_exprs

# ---- the dashboard's PromQL must parse: promtool checks it as recording rules
check = {"groups": [{"name": "dashboard", "rules": [
    {"record": f"dashboard_expr_{i}", "expr": e} for i, (_, e) in enumerate(dash_exprs)]}]}
check_path = f"{work}/dashboard-exprs.yml"
with open(check_path, "w") as f:
    yaml.safe_dump(check, f)
r = subprocess.run(["promtool", "check", "rules", check_path], capture_output=True, text=True)
if r.returncode != 0:
    print(r.stdout + r.stderr, file=sys.stderr)
    for i, (where, e) in enumerate(dash_exprs):
        print(f"  dashboard_expr_{i}: {where}: {e}", file=sys.stderr)
    sys.exit("check-monitoring: a dashboard expression is not valid PromQL (see above)")
print(f"== {len(dash_exprs)} dashboard expressions parse (promtool)")

# ---- what the server exports
url = f"http://127.0.0.1:{port}/metrics"
opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
deadline, text, last = time.monotonic() + 20, None, None
while text is None:
    try:
        with opener.open(url, timeout=2) as resp:
            text = resp.read().decode()
    except OSError as exc:
        last = exc
        if time.monotonic() > deadline:
            sys.exit(f"check-monitoring: GET {url} failed for 20 s: {last!r}")
        time.sleep(0.05)

families, samples = {}, set()
for line in text.splitlines():
    if line.startswith("# TYPE "):
        _, _, name, typ = line.split(None, 3)
        families[name] = typ.strip()
    elif line and not line.startswith("#"):
        samples.add(re.match(r"[a-zA-Z_:][a-zA-Z0-9_:]*", line).group())


def exported(name):
    if name in samples or name in families:
        return True
    for suffix, types in (("_bucket", {"histogram"}), ("_sum", {"histogram", "summary"}),
                          ("_count", {"histogram", "summary"})):
        if name.endswith(suffix) and families.get(name[: -len(suffix)]) in types:
            return True
    return False


# Series that Prometheus makes itself, not the target.
PROMETHEUS_OWN = re.compile(r"^(up|ALERTS|ALERTS_FOR_STATE|scrape_.*)$")

used = {}           # name -> where
for where, e in exprs:
    try:
        found = metric_names(e)
    except (ValueError, IndexError) as exc:
        sys.exit(f"check-monitoring: {where}: cannot read PromQL {e!r}: {exc}")
    for n in found:
        used.setdefault(n, []).append(where)

missing = sorted(n for n in used
                 if n not in recorded and not PROMETHEUS_OWN.match(n) and not exported(n))
unused = sorted(n for n in families if n.startswith("tailcast_")
                and not any(n + suffix in used for suffix in ("", "_bucket", "_sum", "_count")))
print(f"== {len(used)} metric names used by the rules and the dashboard; "
      f"{len(families)} families exported by tailcast")
if unused:
    print("   note: exported but on no panel or rule: " + ", ".join(unused))
if missing:
    print("check-monitoring: FAILED: used in the rules or the dashboard but not exported by "
          "the server's /metrics:", file=sys.stderr)
    for n in missing:
        kind = next((f" [a histogram {n[:-len(s)]}]" for s in ("_bucket",) if n.endswith(s)), "")
        print(f"  {n}{kind}    ({'; '.join(sorted(set(used[n])))})", file=sys.stderr)
    sys.exit(1)
print("check-monitoring: ok")
PY
