#!/bin/sh
# The CI examples of docs/ci.md, run: the `script:` lines of the GitLab
# file (each parallel job with its CI_NODE_INDEX/CI_NODE_TOTAL, then the
# report job) and the `run:` steps of the GitHub workflow (each matrix
# entry, then the report job), as written, in one work directory standing
# in for the checkout and the artifacts, against a small suite on the test
# tree. `sudo` is dropped (the test runs as root); `uses:` steps are the
# checkout and artifact transfers the shared directory stands in for.
# Checks: every job exits 0, every shard wrote its report, the shards
# together ran every test once, and the merged report holds them all.
# Usage: ci-examples.sh HARNESS DOCS/CI.MD ROOTFS
set -u
harness=$(realpath "$1")
doc=$(realpath "$2")
rootfs=$3
[ "$(id -u)" -eq 0 ] || { echo "SKIP: needs root"; exit 77; }
[ -x "$rootfs/bin/sh" ] || { echo "SKIP: no test rootfs at $rootfs (tests/test-rootfs.sh)"; exit 77; }
command -v xmllint >/dev/null || { echo "SKIP: xmllint missing"; exit 77; }
tmp=$(mktemp -d /tmp/harness-ci-examples.XXXXXX)
trap '[ -n "${KEEP:-}" ] || rm -rf "$tmp"' EXIT
fail=0
mkdir -p "$tmp/bin" && ln -s "$harness" "$tmp/bin/harness"

# jobs.sh: one shell function per job instance, in pipeline order.
python3 - "$doc" "$tmp/jobs" <<'PY' || { echo "FAIL: cannot extract the examples"; exit 1; }
import os, re, sys, yaml
doc, out = sys.argv[1], sys.argv[2]
text = open(doc).read()
blocks = re.findall(r"```yaml\n(.*?)```", text, re.S)
os.makedirs(out, exist_ok=True)
n = 0
def job(kind, name, env, lines):
    global n
    n += 1
    with open(os.path.join(out, "%02d-%s-%s.sh" % (n, kind, name)), "w") as f:
        for k, v in env.items():
            f.write("export %s=%s\n" % (k, v))
        for l in lines:
            if l.startswith("sudo "):
                l = l[5:]
            f.write(l + "\n")
found = set()
for b in blocks:
    y = yaml.safe_load(b)
    if "jobs" in y:  # GitHub Actions
        found.add("github")
        for name, j in y["jobs"].items():
            shards = j.get("strategy", {}).get("matrix", {}).get("shard", [None])
            for s in shards:
                lines = []
                for st in j["steps"]:
                    if "run" in st:
                        l = st["run"]
                        if s is not None:
                            l = l.replace("${{ matrix.shard }}", str(s))
                        if "${{" in l:
                            sys.exit("unknown expression in: " + l)
                        lines.append(l)
                job("github", "%s%s" % (name, "" if s is None else s), {}, lines)
    else:  # GitLab CI: jobs are the mappings with a script
        found.add("gitlab")
        for stage in y.get("stages", []):
            for name, j in y.items():
                if not isinstance(j, dict) or "script" not in j or j.get("stage") != stage:
                    continue
                par = j.get("parallel")
                for i in range(1, (par or 1) + 1):
                    env = {"CI_NODE_INDEX": i, "CI_NODE_TOTAL": par} if par else {}
                    job("gitlab", "%s%s" % (name, i if par else ""), env, j["script"])
if found != {"github", "gitlab"}:
    sys.exit("expected a GitLab and a GitHub example, found %s" % sorted(found))
PY

# The small suite: six tests, one skipped, quick (direct mode).
mk_work()
{
        rm -rf "$tmp/work" && mkdir -p "$tmp/work/suites"
        {
                echo "name: ci"
                echo "rootfs: $rootfs"
                echo "defaults: {boot: false, timeout: 60s}"
                echo "tests:"
                for t in one two three four five; do
                        echo "  - {name: $t, run: 'echo $t', expect: {stdout: ['^$t\$']}}"
                done
                echo "  - {name: later, skip: not yet}"
        } >"$tmp/work/suites/ci.yaml"
}

for kind in gitlab github; do
        mk_work
        for j in "$tmp"/jobs/*-"$kind"-*.sh; do
                name=$(basename "$j" .sh)
                (cd "$tmp/work" && PATH="$tmp/bin:$PATH" sh -e -x "$j") >"$tmp/$name.log" 2>&1
                rc=$?
                if [ $rc -ne 0 ]; then
                        echo "FAIL: $name exited $rc:"; cat "$j"; tail -20 "$tmp/$name.log"; fail=1
                else
                        echo "ok: $name: $(grep -c '^+ ' "$tmp/$name.log") commands ran"
                fi
        done
        shards=$(ls "$tmp"/work/report-[0-9].xml 2>/dev/null | wc -l)
        [ "$shards" -eq 4 ] && echo "ok: $kind: four shard reports" ||
                { echo "FAIL: $kind: $shards shard reports"; fail=1; }
        # The shards together ran each test exactly once.
        ids=$(for r in "$tmp"/work/report-[0-9].xml; do
                xmllint --xpath '//testcase/@name' "$r" 2>/dev/null | tr ' ' '\n' | sed -n 's/^name="\(.*\)"$/\1/p'
        done | sort)
        want=$(printf '%s\n' five four later one three two)
        [ "$ids" = "$want" ] && echo "ok: $kind: the shards ran every test once" ||
                { echo "FAIL: $kind: the shards ran: $(echo $ids)"; fail=1; }
        n=$(xmllint --xpath 'count(//testcase)' "$tmp/work/report.xml" 2>/dev/null)
        s=$(xmllint --xpath 'count(//testcase[skipped])' "$tmp/work/report.xml" 2>/dev/null)
        [ "$n" = 6 ] && [ "$s" = 1 ] && echo "ok: $kind: the merged report has 6 tests, 1 skipped" ||
                { echo "FAIL: $kind: merged report has '$n' tests, '$s' skipped"; fail=1; }
done
[ -n "$(ls "$tmp"/work/results-1/ci 2>/dev/null)" ] && echo "ok: per-test folders written" ||
        { echo "FAIL: no per-test folders in results-1/ci"; fail=1; }
exit $fail
