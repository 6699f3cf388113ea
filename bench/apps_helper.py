#!/usr/bin/env python3
"""Helpers of bench/apps.sh (not run on their own):

  npm-mirror OUT LOCKFILE...   download the linux/x64 tarballs the lockfiles name into OUT, laid
                               out as the npm registry's paths (served over http, npm's registry)
  wheels OUT DEB...            make wheels from Debian python3-* packages (PyPI is not reachable
                               here) and a PEP 503 index of them in OUT/simple
  measure LOG NAMES -- CMD...  run CMD, its output timestamped into LOG; print
                               "<wall s> <peak KiB of the tool's processes> <peak KiB of any one process>"
                               (tool processes: those whose comm is in NAMES, comma-separated,
                               daemons included: the peak of their summed PSS)
  breakdown OUT.md LOG...      per-step medians from the logs (see write_breakdown)
"""
import collections
import email.parser
import hashlib
import json
import os
import re
import resource
import statistics
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
import urllib.request
import zipfile


def npm_mirror(out, locks):
    want = {}
    for lock in locks:
        pkgs = json.load(open(lock)).get("packages", {})
        for path, p in pkgs.items():
            url = p.get("resolved")
            if not path or not url or not url.startswith("https://registry.npmjs.org/"):
                continue
            # What npm ci on linux/x64 fetches: entries for other platforms are skipped.
            if "os" in p and "linux" not in p["os"]:
                continue
            if "cpu" in p and "x64" not in p["cpu"]:
                continue
            want[url] = p.get("integrity", "")
    for url, integrity in sorted(want.items()):
        dest = os.path.join(out, url[len("https://registry.npmjs.org/"):])
        if os.path.exists(dest):
            continue
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        data = urllib.request.urlopen(url, timeout=120).read()
        algo, _, b64 = integrity.partition("-")
        if algo:
            import base64
            if base64.b64encode(hashlib.new(algo, data).digest()).decode() != b64:
                sys.exit(f"npm-mirror: {url}: integrity mismatch")
        with open(dest + ".tmp", "wb") as f:
            f.write(data)
        os.rename(dest + ".tmp", dest)
    print(f"npm-mirror: {len(want)} tarballs in {out}", file=sys.stderr)


def _record_hash(data):
    import base64
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def deb_to_wheel(deb, out):
    """A wheel from a Debian python3-* package: its dist-packages tree plus a dist-info made from
    the package's egg-info/dist-info metadata."""
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(["dpkg-deb", "-x", deb, tmp], check=True)
        sp = os.path.join(tmp, "usr/lib/python3/dist-packages")
        entries = os.listdir(sp)
        meta_dir = next(e for e in entries if e.endswith((".egg-info", ".dist-info")))
        meta_path = os.path.join(sp, meta_dir)
        pkg_info = os.path.join(meta_path, "PKG-INFO" if meta_dir.endswith(".egg-info") else "METADATA")
        msg = email.parser.Parser().parse(open(pkg_info))
        name, version = msg["Name"], msg["Version"]
        if meta_dir.endswith(".egg-info"):
            # Requirements live in requires.txt, sections [extra] after the plain ones.
            req = os.path.join(meta_path, "requires.txt")
            if os.path.exists(req):
                section = None
                for line in open(req):
                    line = line.strip()
                    if not line:
                        continue
                    if line.startswith("["):
                        section = line.strip("[]")
                        continue
                    if section is None:
                        msg["Requires-Dist"] = line
        native = any(f.endswith(".so") for _, _, fs in os.walk(sp) for f in fs)
        tag = "cp311-cp311-linux_x86_64" if native else "py3-none-any"
        dist = re.sub(r"[-_.]+", "_", name)
        info = f"{dist}-{version}.dist-info"
        files = {}
        for e in entries:
            if e == meta_dir:
                continue
            base = os.path.join(sp, e)
            for root, dirs, fs in os.walk(base) if os.path.isdir(base) else [(sp, [], [e])]:
                dirs[:] = [d for d in dirs if d != "__pycache__"]
                for f in fs:
                    full = os.path.join(root, f)
                    if not os.path.exists(full):
                        continue  # Debian's links to its own copies of bundled files
                    files[os.path.relpath(full, sp)] = open(full, "rb").read()
        # Console scripts (gunicorn, flask) come from entry_points.txt, as pip installs them.
        ep = os.path.join(meta_path, "entry_points.txt")
        if os.path.exists(ep):
            files[f"{info}/entry_points.txt"] = open(ep, "rb").read()
        files[f"{info}/METADATA"] = msg.as_string().encode()
        files[f"{info}/WHEEL"] = (f"Wheel-Version: 1.0\nGenerator: ocibuild-bench\n"
                                  f"Root-Is-Purelib: {'false' if native else 'true'}\nTag: {tag}\n").encode()
        record = "".join(f"{p},{_record_hash(d)},{len(d)}\n" for p, d in sorted(files.items()))
        files[f"{info}/RECORD"] = (record + f"{info}/RECORD,,\n").encode()
        whl = os.path.join(out, f"{dist}-{version}-{tag}.whl")
        with zipfile.ZipFile(whl, "w", zipfile.ZIP_DEFLATED) as z:
            for p, d in files.items():
                z.writestr(p, d)
        return name, os.path.basename(whl)


def wheels(out, debs):
    os.makedirs(out, exist_ok=True)
    index = collections.defaultdict(list)
    for deb in debs:
        name, whl = deb_to_wheel(deb, out)
        index[re.sub(r"[-_.]+", "-", name).lower()].append(whl)
    os.makedirs(os.path.join(out, "simple"), exist_ok=True)
    with open(os.path.join(out, "simple/index.html"), "w") as f:
        f.write("".join(f'<a href="{n}/">{n}</a>\n' for n in sorted(index)))
    for n, ws in index.items():
        os.makedirs(os.path.join(out, "simple", n), exist_ok=True)
        with open(os.path.join(out, "simple", n, "index.html"), "w") as f:
            for w in ws:
                digest = hashlib.sha256(open(os.path.join(out, w), "rb").read()).hexdigest()
                f.write(f'<a href="../../{w}#sha256={digest}">{w}</a>\n')
    print(f"wheels: {sum(map(len, index.values()))} wheels in {out}", file=sys.stderr)


def _procs():
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            yield int(pid)


def _comm(pid):
    try:
        return open(f"/proc/{pid}/comm").read().strip()
    except OSError:
        return None


def _pss(pid):
    """Proportional set size in KiB: pages a forked child shares with its parent count once."""
    try:
        for line in open(f"/proc/{pid}/smaps_rollup"):
            if line.startswith("Pss:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def measure(log, names, cmd):
    names = set(filter(None, names.split(",")))
    # Peak of the summed PSS of the tool's processes alive at once (daemons included), polled
    # every 0.1 s: short spikes between polls are missed.
    peak = [0]
    done = threading.Event()

    def poll():
        while not done.is_set():
            total = sum(_pss(pid) for pid in _procs() if _comm(pid) in names)
            peak[0] = max(peak[0], total)
            done.wait(0.1)

    t = threading.Thread(target=poll, daemon=True)
    t.start()
    t0 = time.monotonic()
    with open(log, "a", buffering=1) as out:
        out.write(f"@@ CMD {' '.join(cmd)}\n")
        p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        for line in p.stdout:
            out.write(f"@@{time.monotonic() - t0:9.3f} {line.decode(errors='replace')}")
        rc = p.wait()
        wall = time.monotonic() - t0
        out.write(f"@@ EXIT {rc} after {wall:.3f}s\n")
    done.set()
    t.join()
    tree = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    print(f"{wall:.3f} {peak[0]} {tree}")
    return rc


STEP = re.compile(r"^#(\d+) (.*)$")


def parse_steps(lines):
    """Steps of a BuildKit-style plain log (ocibuild's and BuildKit's --progress=plain): name,
    seconds ("CACHED" counted as 0)."""
    names, times = {}, collections.OrderedDict()
    for line in lines:
        m = STEP.match(line)
        if not m:
            continue
        n, rest = m.groups()
        if n not in names:
            names[n] = rest.strip()
            continue
        d = re.match(r"DONE ([\d.]+)s", rest)
        if d:
            times[n] = float(d.group(1))
        elif rest.startswith("CACHED"):
            times[n] = 0.0
    return [(names[n], s) for n, s in times.items()]


def buildah_steps(stamped):
    """buildah prints `STEP i/n: ...` as each starts: a step lasts until the next line of note."""
    out, cur, start = [], None, None
    for t, line in stamped:
        m = re.match(r"^(?:\[[^]]*\] )?(STEP \d+/\d+: .*|COMMIT.*|Getting image source signatures|Writing manifest.*)$", line)
        if m:
            if cur is not None:
                out.append((cur, t - start))
            cur, start = line[:90], t
    if cur is not None and stamped:
        out.append((cur, stamped[-1][0] - start))
    return out


def write_breakdown(md, logs):
    """Each log holds the runs of one (app, mode, tool): `@@ CMD`, timestamped lines, `@@ EXIT`,
    and `@@ PHASE name seconds` lines written by apps.sh. Steps are keyed by their name with the
    digits of generated paths and ids removed, medians over the runs."""
    table = collections.OrderedDict()
    for log in sorted(logs):
        key = os.path.basename(log)[: -len(".log")]
        runs, cur, phases = [], None, []
        for raw in open(log, errors="replace"):
            if raw.startswith("@@ CMD"):
                cur = []
                runs.append((cur, phases := []))
                continue
            if raw.startswith("@@ PHASE"):
                _, _, name, secs = raw.split()
                phases.append((name, float(secs)))
                continue
            m = re.match(r"^@@\s*([\d.]+) (.*)$", raw.rstrip("\n"))
            if m and cur is not None:
                cur.append((float(m.group(1)), m.group(2)))
        per_step = collections.OrderedDict()
        for stamped, ph in runs:
            if key.endswith("buildah"):
                steps = buildah_steps(stamped)
            else:
                steps = parse_steps(l for _, l in stamped)
            seen = collections.Counter()
            for name, s in ph + steps:
                name = re.sub(r"sha256:[0-9a-f]{12,}", "sha256:…", name)
                name = re.sub(r"127\.0\.0\.1:\d+", "REG", name)
                seen[name] += 1
                per_step.setdefault((name, seen[name]), []).append(s)
        table[key] = per_step
    with open(md, "w") as f:
        f.write("# Per-step time of the app builds (bench/apps.sh)\n\n"
                "Written by bench/apps.sh from the builds' own `--progress=plain` output "
                "(ocibuild and BuildKit: each step's `DONE` time; buildah prints no times, so a "
                "step lasts from its `STEP` line to the next line of note) and the wall time of "
                "the build and push commands (`phase`). Medians over the runs; 0.00 is a cached "
                "step. Steps shorter than 0.05 s in every run are left out.\n")
        for key, per_step in table.items():
            f.write(f"\n## {key}\n\n| step | median s | runs |\n|---|---:|---:|\n")
            for (name, k), ts in per_step.items():
                if max(ts) < 0.05 and not name.startswith("phase"):
                    continue
                label = name.replace("|", "\\|")[:110] + (f" (#{k})" if k > 1 else "")
                f.write(f"| {label} | {statistics.median(ts):.2f} | {len(ts)} |\n")


def main():
    cmd = sys.argv[1]
    if cmd == "npm-mirror":
        npm_mirror(sys.argv[2], sys.argv[3:])
    elif cmd == "wheels":
        wheels(sys.argv[2], sys.argv[3:])
    elif cmd == "measure":
        log, names = sys.argv[2], sys.argv[3]
        assert sys.argv[4] == "--"
        sys.exit(measure(log, names, sys.argv[5:]))
    elif cmd == "breakdown":
        write_breakdown(sys.argv[2], sys.argv[3:])
    else:
        sys.exit(f"apps_helper.py: unknown command {cmd}")


if __name__ == "__main__":
    main()
