#!/usr/bin/python3
"""deploy_check.py: the deployment files checked against the real binaries.

Every container (docker-compose.yml, the kustomize output of k8s/base and of
each overlay, render.yaml) that runs a recsys program is checked against that
program's own --help, read at test time from RECSYS_BIN_DIR:
  - the binary and its command exist; every --flag is one of its options and
    every RECSYS_* variable (env, envFrom ConfigMaps) is one of its
    variables; INT/NUMBER/BOOL values parse and lie in the option's range;
  - the effective option values (flag > variable > default, as the programs
    resolve them) agree with the file: container ports, probe ports,
    published ports, Service target ports, worker URLs the gateway dials
    (host = a service running that worker, port = its listen port), Redis
    host/port, model paths inside the volume the training job writes;
  - probe and health-check paths are admin routes that the running program
    really serves (each program is started once on the demo data: liveness
    paths must answer 200, readiness paths 200 or 503);
  - required fields: probes, resources, securityContext (non-root, read-only
    root, no privilege escalation, all capabilities dropped), rolling updates
    with maxUnavailable 0, HPA + PDB for the gateway, a NetworkPolicy that
    lets only the gateway reach the workers' nng ports and Redis, a Redis
    password from a Secret, Redis with an append-only file on a volume.
deploy/Dockerfile is checked statically (no Docker engine here): Debian 12
base, package names known to apt-cache, the runtime packages cover the
libraries the built binaries need (readelf NEEDED -> dpkg -S), COPY sources
exist and are not excluded by .dockerignore, no build tools in the final
stage, a non-root USER.

Exit status: 0 all good, 1 a finding (each printed), 77 skipped
(python3-yaml missing, or the binaries are not built).
Usage: /usr/bin/python3 tests/deploy_check.py   (env RECSYS_BIN_DIR, RECSYS_SOURCE_DIR)
"""
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

try:
    import yaml
except ImportError:
    print("SKIP: python3-yaml is not installed (apt-get install python3-yaml)")
    sys.exit(77)
try:
    import jsonschema
except ImportError:  # optional: the blueprint's shape is then checked by hand only
    jsonschema = None

REPO = os.environ.get("RECSYS_SOURCE_DIR") or os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.environ.get("RECSYS_BIN_DIR") or os.path.join(REPO, "build", "bin")
TMP = os.environ.get("RECSYS_TEST_TMP") or tempfile.gettempdir()

ADMIN_HOSTS_OPEN = ("0.0.0.0", "::", "[::]")
FINDINGS = []


def finding(where, msg):
    FINDINGS.append(f"{where}: {msg}")
    print(f"FAIL {where}: {msg}")


def ok(msg):
    print(f"ok - {msg}")


# ------------------------------------------------------------------ --help

OPT_RE = re.compile(r"^\s+--([a-z0-9][a-z0-9-]*)=([A-Z]+)\s+\((RECSYS_[A-Z0-9_]+), default: (.*?)"
                    r"(?:, range: (\S+?)\.\.(\S+?))?\)\s*$")


class Program:
    """One binary (and command) as its --help describes it."""

    def __init__(self, binary, command, text):
        self.binary, self.command = binary, command
        self.label = binary + (" " + command if command else "")
        self.options = {}
        self.by_env = {}
        for line in text.splitlines():
            m = OPT_RE.match(line)
            if not m:
                continue
            name, typ, env, default, lo, hi = m.groups()
            o = {"name": name, "type": typ, "env": env,
                 "default": "" if default == "(empty)" else default,
                 "lo": float(lo) if lo else None, "hi": float(hi) if hi else None}
            self.options[name] = o
            self.by_env[env] = o


_HELP = {}


def run_help(args):
    try:
        r = subprocess.run(args, capture_output=True, text=True, timeout=20)
    except OSError as e:
        return None, str(e)
    return (r.stdout if r.returncode == 0 else None), (r.stderr or r.stdout).strip()[:200]


def commands_of(binary):
    """The command names of a binary with a Commands: section, else None."""
    key = (binary, "*")
    if key not in _HELP:
        out, _ = run_help([os.path.join(BIN, binary), "--help"])
        cmds = None
        if out and "\nCommands:" in out:
            sect = out.split("\nCommands:", 1)[1]
            cmds = []
            for line in sect.splitlines()[1:]:
                m = re.match(r"^  ([a-z][a-z0-9-]*)\s{2,}", line)
                if m:
                    cmds.append(m.group(1))
                elif line.strip() == "":
                    break
        _HELP[key] = cmds
    return _HELP[key]


def program(binary, command):
    key = (binary, command)
    if key not in _HELP:
        args = [os.path.join(BIN, binary)] + ([command] if command else []) + ["--help"]
        out, err = run_help(args)
        _HELP[key] = Program(binary, command, out) if out is not None else err
    return _HELP[key]


def check_value(where, o, value, origin):
    if value is None or "$" in value:  # from a Secret, or substituted at run time
        return
    t = o["type"]
    try:
        if t == "INT":
            v = float(int(value, 10))
        elif t == "NUMBER":
            v = float(value)
        elif t == "BOOL":
            if value.lower() not in ("1", "0", "true", "false", "yes", "no", "on", "off"):
                raise ValueError
            return
        else:
            return
    except ValueError:
        finding(where, f"{origin}={value!r} is not a valid {t} for --{o['name']}")
        return
    if (o["lo"] is not None and v < o["lo"]) or (o["hi"] is not None and v > o["hi"]):
        finding(where, f"{origin}={value} outside --{o['name']}'s range {o['lo']:g}..{o['hi']:g}")


class Invocation:
    """A recsys program as a container runs it: flags, variables, effective values."""

    def __init__(self, where, argv, env):
        self.where, self.argv, self.env = where, argv, env
        self.prog = None
        self.flags = {}
        binary = os.path.basename(argv[0])
        if not os.access(os.path.join(BIN, binary), os.X_OK):
            finding(where, f"{binary}: no such binary in {BIN}")
            return
        rest = argv[1:]
        command = None
        cmds = commands_of(binary)
        if cmds is not None:
            if not rest or rest[0] not in cmds:
                finding(where, f"{binary}: command {rest[0] if rest else '(none)'!r} does not exist "
                               f"(commands: {', '.join(cmds)})")
                return
            command, rest = rest[0], rest[1:]
        p = program(binary, command)
        if isinstance(p, str):
            finding(where, f"{binary} {command or ''} --help fails: {p}")
            return
        self.prog = p
        i = 0
        while i < len(rest):
            a = rest[i]
            i += 1
            if not a.startswith("--"):
                finding(where, f"{p.label}: unexpected argument {a!r}")
                continue
            name, eq, value = a[2:].partition("=")
            o = p.options.get(name)
            if o is None and name.startswith("no-") and not eq:
                o = p.options.get(name[3:])
                if o is not None and o["type"] == "BOOL":
                    self.flags[o["name"]] = "false"
                    continue
                o = None
            if o is None:
                finding(where, f"{p.label}: unknown flag --{name} (not in its --help)")
                continue
            if not eq:
                if o["type"] == "BOOL":
                    value = "true"
                elif i < len(rest):
                    value = rest[i]
                    i += 1
                else:
                    finding(where, f"{p.label}: --{name} needs a value")
                    continue
            check_value(where, o, value, "--" + name)
            self.flags[name] = value
        for k, v in env.items():
            if not k.startswith("RECSYS_"):
                continue
            o = p.by_env.get(k)
            if o is None:
                finding(where, f"{p.label}: environment variable {k} is not one of its options")
                continue
            check_value(where, o, v, k)

    def value(self, name):
        """Effective value as the program resolves it; None if unknown (a Secret)."""
        if self.prog is None or name not in self.prog.options:
            return None
        if name in self.flags:
            return self.flags[name]
        o = self.prog.options[name]
        if o["env"] in self.env:
            return self.env[o["env"]]
        return o["default"]

    def has(self, name):
        return self.prog is not None and name in self.prog.options

    @property
    def label(self):
        return self.prog.label if self.prog else os.path.basename(self.argv[0])


def split_invocations(argv, env):
    """The recsys program invocations in a container command (plain argv, or
    sh -c 'a && b' with $VARS substituted from env where known)."""
    if not argv:
        return []
    if os.path.basename(argv[0]) in ("sh", "bash") and len(argv) >= 3 and argv[1] == "-c":
        lex = shlex.shlex(argv[2], posix=True, punctuation_chars=True)
        lex.whitespace_split = True
        words = list(lex)
        segs, cur = [], []
        for w in words:
            if w in ("&&", "||", ";", "|", "&"):
                segs.append(cur)
                cur = []
            else:
                cur.append(w)
        segs.append(cur)
        out = []
        for s in segs:
            while s and (s[0] == "exec" or re.match(r"^[A-Z_]+=", s[0])):
                s = s[1:]
            if s and os.path.basename(s[0]).startswith("recsys-"):
                out.append([subst(w, env) for w in s])
        return out
    if os.path.basename(argv[0]).startswith("recsys-"):
        return [list(argv)]
    return []


def subst(word, env):
    def rep(m):
        v = env.get(m.group(1) or m.group(2))
        return v if isinstance(v, str) else m.group(0)
    return re.sub(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)", rep, word)


def url_host_port(url):
    m = re.match(r"^tcp://(\[[^\]]*\]|[^:/]+):(\d+)$", url or "")
    return (m.group(1), int(m.group(2))) if m else (None, None)


def under(path, mounts):
    """The mount (mountPath, info) holding path, longest match first."""
    best = None
    for mp, info in mounts.items():
        mp2 = mp.rstrip("/") or "/"
        if path == mp2 or path.startswith(mp2 + "/"):
            if best is None or len(mp2) > len(best[0]):
                best = (mp2, info)
    return best


# ------------------------------------------------------------------ live routes

def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def http_status(url, timeout=3):
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code
    except (OSError, urllib.error.URLError):
        return 0


class LiveRoutes:
    """Starts a program once (demo data, free loopback ports) and asks it the
    paths the manifests probe."""

    def __init__(self):
        self.tmp = tempfile.mkdtemp(prefix="deploy-check.", dir=TMP)
        self.data = None
        self.cache = {}

    def demo(self):
        if self.data is None:
            self.data = os.path.join(self.tmp, "demo")
            subprocess.run([os.path.join(BIN, "recsys-gen"), "demo", "--out", self.data],
                           capture_output=True, check=True, timeout=120)
        return self.data

    def status(self, label, path, public=False):
        key = (label, path, public)
        if key in self.cache:
            return self.cache[key]
        argv = label.split()
        admin, port = free_port(), free_port()
        args = [os.path.join(BIN, argv[0])] + argv[1:] + ["--data", self.demo(), "--admin-port", str(admin)]
        if argv[0] == "recsys-gateway":
            args += ["--port", str(port), "--content-url", f"tcp://127.0.0.1:{free_port()}",
                     "--cf-url", f"tcp://127.0.0.1:{free_port()}", "--redis-port", str(free_port())]
        else:
            args += ["--listen", f"tcp://127.0.0.1:{port}"]
        log = open(os.path.join(self.tmp, argv[0] + ".log"), "ab")
        proc = subprocess.Popen(args, stdout=log, stderr=log)
        try:
            base = f"http://127.0.0.1:{port if public else admin}"
            deadline = time.time() + 60
            code = 0
            while time.time() < deadline and proc.poll() is None:
                code = http_status(base + path)
                # a worker trains at start-up: give readiness its chance
                if code not in (0, 503) or (code == 503 and argv[0] == "recsys-gateway"):
                    break
                time.sleep(0.2)
            if proc.poll() is not None:
                code = -proc.returncode
        finally:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(20)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
            log.close()
        self.cache[key] = code
        return code

    def close(self):
        shutil.rmtree(self.tmp, ignore_errors=True)


LIVE = None


def check_probe(where, inv, path, port, kind):
    """An HTTP probe on a recsys container: admin port, a real route."""
    if inv.prog is None:
        return
    admin = inv.value("admin-port")
    public = inv.value("port") if inv.has("port") else None
    if public is not None and str(port) == str(public):
        code = LIVE.status(inv.prog.label, path, public=True)
        if code != 200:
            finding(where, f"{kind} {path} on the public port {port}: the running {inv.prog.label} answers {code}")
        return
    if str(port) != str(admin):
        finding(where, f"{kind} probe on port {port}, but {inv.prog.label}'s admin-port is {admin}")
        return
    path_only = path.split("?")[0]
    code = LIVE.status(inv.prog.label, path_only)
    want = (200,) if kind in ("liveness", "startup") else (200, 503)
    if code not in want:
        finding(where, f"{kind} path {path_only}: the running {inv.prog.label} answers {code} on its admin port "
                       f"(want {'/'.join(map(str, want))})")


# ------------------------------------------------------------------ platform model

class Svc:
    """A runnable unit on one platform: its invocations and how others reach it."""

    def __init__(self, name, where, invs, ports, env):
        self.name, self.where, self.invs, self.ports, self.env = name, where, invs, ports, env

    def serve(self, binary):
        for inv in self.invs:
            if inv.prog and inv.prog.binary == binary and inv.prog.command in (None, "serve"):
                return inv
        return None


def check_gateway_links(where, gw, resolve):
    """content-url/cf-url point at a service running that worker, on its
    listen port; Redis host/port at a Redis."""
    for opt, worker in (("content-url", "recsys-content"), ("cf-url", "recsys-cf")):
        for url in (gw.value(opt) or "").split(","):
            host, port = url_host_port(url.strip())
            if host is None:
                finding(where, f"--{opt}={url!r} is not tcp://host:port")
                continue
            targets, why = resolve(host, port)
            if not targets:
                finding(where, f"--{opt}={url}: {why}")
                continue
            for svc, cport in targets:
                w = svc.serve(worker)
                if w is None:
                    finding(where, f"--{opt}={url}: {svc.name} does not run '{worker} serve'")
                    continue
                lh, lp = url_host_port(w.value("listen"))
                if lp != cport:
                    finding(where, f"--{opt}={url} reaches port {cport} of {svc.name}, but it listens on "
                                   f"{w.value('listen')}")
    rh, rp = gw.value("redis-host"), gw.value("redis-port")
    if gw.value("redis-unix"):
        return
    targets, why = resolve(rh, int(rp) if rp and rp.isdigit() else rp)
    if not targets:
        finding(where, f"redis-host {rh}:{rp}: {why}")


def check_serving_values(where, inv, in_container=True):
    """Listening addresses a container needs."""
    p = inv.prog
    if p is None:
        return
    if p.binary == "recsys-gateway":
        if in_container and inv.value("host") not in ADMIN_HOSTS_OPEN:
            finding(where, f"gateway host {inv.value('host')}: unreachable from outside the container (0.0.0.0)")
        if not inv.value("data"):
            finding(where, "gateway without --data/RECSYS_DATA (it needs the catalog)")
    elif p.command == "serve":
        h, port = url_host_port(inv.value("listen"))
        if in_container and h not in ADMIN_HOSTS_OPEN:
            finding(where, f"{p.label} listens on {inv.value('listen')}: unreachable from the gateway's container")
        if not inv.value("model") and not inv.value("data"):
            finding(where, f"{p.label} has neither a model nor a dataset")
    elif p.command in ("build", "train"):
        if not inv.value("out"):
            finding(where, f"{p.label} without --out")
        if not inv.value("data"):
            finding(where, f"{p.label} without a dataset")


def check_models_flow(where, trainers, servers):
    """Training writes into a volume; each worker maps its model from it."""
    written = {}
    for inv, mounts in trainers:
        out = inv.value("out")
        m = under(out or "", mounts)
        if m is None:
            finding(where, f"{inv.label} writes {out} outside any volume: the model is lost with the container")
            continue
        written.setdefault(m[1], []).append((inv.prog.binary, out[len(m[0]):].lstrip("/")))
        extra = inv.value("mf-out") if inv.has("mf-out") else None
        if extra:
            me = under(extra, mounts)
            if me is None:
                finding(where, f"{inv.label} writes {extra} outside any volume")
            else:
                written.setdefault(me[1], []).append((inv.prog.binary, extra[len(me[0]):].lstrip("/")))
    for inv, mounts in servers:
        model = inv.value("model")
        if not model:
            continue
        m = under(model, mounts)
        if m is None:
            finding(where, f"{inv.label} maps model {model} from outside any volume")
            continue
        rel = model[len(m[0]):].lstrip("/")
        files = [f for b, f in written.get(m[1], []) if b == inv.prog.binary]
        want = {"recsys-content": "content.model", "recsys-cf": "cf.model"}[inv.prog.binary]
        if not files:
            finding(where, f"{inv.label} maps {model}, but no training job writes {inv.prog.binary}'s model into "
                           f"that volume ({m[1]})")
        elif rel and rel not in files:
            finding(where, f"{inv.label} maps {model}; the job writes {files}")
        elif not rel and want not in files:
            finding(where, f"{inv.label} maps the directory {model} (reads {want}); the job writes {files}")
    for inv, mounts in servers:
        pm = inv.value("cf-predict-model") if inv.has("cf-predict-model") else None
        if pm and pm.startswith("/"):
            m = under(pm, mounts)
            files = [f for b, f in written.get(m[1] if m else None, [])]
            if m is None or pm[len(m[0]):].lstrip("/") not in files:
                finding(where, f"cf-predict-model {pm} is not written by the training job ({files})")


# ------------------------------------------------------------------ compose

def load_compose():
    path = os.path.join(REPO, "docker-compose.yml")
    dc = shutil.which("docker-compose")
    if dc:
        r = subprocess.run([dc, "-f", path, "config", "-q"], capture_output=True, text=True, cwd=REPO)
        if r.returncode != 0:
            finding("docker-compose.yml", f"docker-compose config -q fails: {r.stderr.strip()[:500]}")
            return None
        ok("docker-compose config -q accepts docker-compose.yml")
        r = subprocess.run([dc, "-f", path, "config"], capture_output=True, text=True, cwd=REPO)
        return yaml.safe_load(r.stdout)
    print("note: docker-compose is not installed: docker-compose.yml parsed with PyYAML only")
    with open(path) as f:
        return yaml.safe_load(f)


def as_list(cmd):
    if cmd is None:
        return []
    return shlex.split(cmd) if isinstance(cmd, str) else [str(c) for c in cmd]


def compose_env(svc):
    env = svc.get("environment") or {}
    if isinstance(env, list):
        env = dict(e.split("=", 1) if "=" in e else (e, None) for e in env)
    return {k: (None if v is None else str(v)) for k, v in env.items()}


def check_compose():
    doc = load_compose()
    if doc is None:
        return
    services = doc.get("services") or {}
    svcs = {}
    trainers, servers = [], []
    for name, s in services.items():
        where = f"docker-compose.yml services.{name}"
        env = compose_env(s)
        argv = as_list(s.get("entrypoint")) + as_list(s.get("command"))
        invs = [Invocation(where, a, env) for a in split_invocations(argv, env)]
        ports = set()
        for p in s.get("ports") or []:
            if isinstance(p, dict):
                ports.add(int(p["target"]))
            else:
                ports.add(int(str(p).split(":")[-1].split("/")[0]))
        mounts = {}
        for v in s.get("volumes") or []:
            if isinstance(v, dict):
                mounts[v["target"]] = v.get("source")
            else:
                parts = str(v).split(":")
                mounts[parts[1]] = parts[0]
        svcs[name] = Svc(name, where, invs, ports, env)
        image = str(s.get("image", ""))
        if name == "redis" or image.startswith("redis"):
            cmd = argv
            if "--appendonly" not in cmd or cmd[cmd.index("--appendonly") + 1] != "yes":
                finding(where, "Redis without --appendonly yes")
            if not under("/data", mounts):
                finding(where, "Redis /data is not a volume")
        for inv in invs:
            if inv.prog is None:
                continue
            check_serving_values(where, inv)
            long_running = inv.prog.binary == "recsys-gateway" or inv.prog.command == "serve"
            if long_running:
                if s.get("restart") in (None, "no"):
                    finding(where, "a long-running service without a restart policy")
                hc = s.get("healthcheck") or {}
                test = as_list(hc.get("test"))
                urls = [t for t in test if t.startswith("http://")]
                if not urls:
                    finding(where, "no HTTP healthcheck")
                for u in urls:
                    m = re.match(r"^http://(?:127\.0\.0\.1|localhost):(\d+)(/[^ ]*)$", u)
                    if not m:
                        finding(where, f"healthcheck URL {u} is not http://127.0.0.1:PORT/path")
                        continue
                    check_probe(where + " healthcheck", inv, m.group(2), m.group(1), "readiness")
                if inv.prog.binary == "recsys-gateway" and int(inv.value("port")) not in ports:
                    finding(where, f"gateway port {inv.value('port')} is not published (ports: {sorted(ports)})")
                if inv.prog.command == "serve":
                    servers.append((inv, mounts))
            else:
                if s.get("restart") not in ("no", None):
                    finding(where, f"one-shot {inv.label} with restart {s.get('restart')}")
                trainers.append((inv, mounts))
    # workers wait for their training job
    for name, s in services.items():
        sv = svcs[name]
        for b in ("recsys-content", "recsys-cf"):
            if sv.serve(b) and sv.serve(b).value("model"):
                dep = s.get("depends_on") or {}
                jobs = [n for n, c in (dep.items() if isinstance(dep, dict) else [])
                        if (c or {}).get("condition") == "service_completed_successfully"]
                if not any(any(i.prog and i.prog.binary == b and i.prog.command in ("build", "train")
                               for i in svcs[j].invs) for j in jobs):
                    finding(sv.where, f"{b} serve maps a model but does not wait for its training job "
                                      "(depends_on: condition: service_completed_successfully)")

    def resolve(host, port):
        if host not in svcs:
            return [], f"no compose service named {host}"
        sv = svcs[host]
        if host == "redis" or str(services[host].get("image", "")).startswith("redis"):
            return ([(sv, port)], "") if int(port) == 6379 else ([], f"Redis listens on 6379, not {port}")
        return [(sv, port)], ""

    for sv in svcs.values():
        gw = sv.serve("recsys-gateway")
        if gw:
            check_gateway_links(sv.where, gw, resolve)
    check_models_flow("docker-compose.yml", trainers, servers)
    ok(f"docker-compose.yml: {len(services)} services checked")


# ------------------------------------------------------------------ kubernetes

def kustomize_sets():
    """(label, objects) for the base and each overlay."""
    k = shutil.which("kubectl")
    dirs = [("k8s/base", os.path.join(REPO, "k8s", "base"))]
    ov = os.path.join(REPO, "k8s", "overlays")
    for o in sorted(os.listdir(ov)) if os.path.isdir(ov) else []:
        dirs.append((f"k8s/overlays/{o}", os.path.join(ov, o)))
    # every file parses, with or without kubectl
    for root, _, files in os.walk(os.path.join(REPO, "k8s")):
        for f in files:
            if f.endswith((".yaml", ".yml")):
                try:
                    with open(os.path.join(root, f)) as fh:
                        list(yaml.safe_load_all(fh))
                except yaml.YAMLError as e:
                    finding(os.path.relpath(os.path.join(root, f), REPO), f"YAML: {e}")
    out = []
    if k:
        for label, d in dirs:
            r = subprocess.run([k, "kustomize", d], capture_output=True, text=True)
            if r.returncode != 0:
                finding(label, f"kubectl kustomize fails: {r.stderr.strip()[:500]}")
                continue
            out.append((label, [o for o in yaml.safe_load_all(r.stdout) if o]))
        return out
    print("note: kubectl is not installed: the overlays are not rendered; the base is assembled by hand")
    label, d = dirs[0]
    with open(os.path.join(d, "kustomization.yaml")) as f:
        kz = yaml.safe_load(f)
    objs = []
    for r in kz.get("resources", []):
        with open(os.path.join(d, r)) as f:
            objs += [o for o in yaml.safe_load_all(f) if o]
    for g in kz.get("configMapGenerator", []):
        objs.append({"kind": "ConfigMap", "metadata": {"name": g["name"]},
                     "data": dict(lit.split("=", 1) for lit in g.get("literals", []))})
    for g in kz.get("secretGenerator", []):
        objs.append({"kind": "Secret", "metadata": {"name": g["name"]},
                     "data": {lit.split("=", 1)[0]: "" for lit in g.get("literals", [])}})
    return [(label, objs)]


# Secrets that an overlay expects to exist in the cluster already.
EXTERNAL_SECRETS = {"k8s/base": {"recsys-redis"}, "k8s/overlays/prod": {"recsys-redis"}}


def gen_name(objs, kind, name):
    """A generated ConfigMap/Secret (name-hash) or a plain one."""
    for o in objs:
        if o.get("kind") == kind:
            n = o["metadata"]["name"]
            if n == name or re.fullmatch(re.escape(name) + r"-[a-z0-9]{10}", n):
                return o
    return None


def labels_match(selector, labels):
    if not selector:
        return False
    for k, v in (selector.get("matchLabels") or {}).items():
        if labels.get(k) != v:
            return False
    for e in selector.get("matchExpressions") or []:
        val = labels.get(e["key"])
        op = e["operator"]
        if op == "In" and val not in e.get("values", []):
            return False
        if op == "NotIn" and val in e.get("values", []):
            return False
        if op == "Exists" and val is None:
            return False
        if op == "DoesNotExist" and val is not None:
            return False
    return True


def check_k8s_set(label, objs):
    by_kind = {}
    for o in objs:
        by_kind.setdefault(o.get("kind"), []).append(o)
    names = lambda kind: {o["metadata"]["name"]: o for o in by_kind.get(kind, [])}
    external = EXTERNAL_SECRETS.get(label, set())

    workloads = []  # (kind, obj, podspec, podlabels)
    for kind in ("Deployment", "StatefulSet", "Job"):
        for o in by_kind.get(kind, []):
            t = o["spec"]["template"]
            workloads.append((kind, o, t["spec"], t.get("metadata", {}).get("labels", {})))

    svcs = {}  # k8s Service name -> (Svc list...) built below
    pods = []  # (where, Svc, podlabels, containerports)
    trainers, servers = [], []
    gateway_pods = []
    redis_pods = []

    for kind, o, spec, plabels in workloads:
        wname = f"{label} {kind}/{o['metadata']['name']}"
        sc = spec.get("securityContext") or {}
        vols = {v["name"]: v for v in spec.get("volumes") or []}
        for vct in o["spec"].get("volumeClaimTemplates") or []:
            vols[vct["metadata"]["name"]] = {"name": vct["metadata"]["name"], "claimTemplate": True}
        invs_all, cports = [], {}
        runs_recsys = False
        for ctype in ("initContainers", "containers"):
            for c in spec.get(ctype) or []:
                where = f"{wname} {ctype[:-1]} {c['name']}"
                env = {}
                for ef in c.get("envFrom") or []:
                    if "configMapRef" in ef:
                        cm = gen_name(objs, "ConfigMap", ef["configMapRef"]["name"])
                        if cm is None:
                            finding(where, f"envFrom ConfigMap {ef['configMapRef']['name']} does not exist")
                        else:
                            env.update({k: str(v) for k, v in (cm.get("data") or {}).items()})
                    if "secretRef" in ef:
                        s = gen_name(objs, "Secret", ef["secretRef"]["name"])
                        if s is None and ef["secretRef"]["name"] not in external:
                            finding(where, f"envFrom Secret {ef['secretRef']['name']} does not exist")
                        env.update({k: None for k in ((s or {}).get("data") or {})})
                for e in c.get("env") or []:
                    if "value" in e:
                        env[e["name"]] = str(e["value"])
                    elif "valueFrom" in e:
                        vf = e["valueFrom"]
                        if "configMapKeyRef" in vf:
                            cm = gen_name(objs, "ConfigMap", vf["configMapKeyRef"]["name"])
                            env[e["name"]] = None if cm is None else str((cm.get("data") or {}).get(
                                vf["configMapKeyRef"]["key"]))
                            if cm is None:
                                finding(where, f"ConfigMap {vf['configMapKeyRef']['name']} does not exist")
                        elif "secretKeyRef" in vf:
                            sn = vf["secretKeyRef"]["name"]
                            s = gen_name(objs, "Secret", sn)
                            if s is None and sn not in external:
                                finding(where, f"Secret {sn} does not exist")
                            elif s is not None and vf["secretKeyRef"]["key"] not in (s.get("data") or {}):
                                finding(where, f"Secret {sn} has no key {vf['secretKeyRef']['key']}")
                            env[e["name"]] = None
                    else:
                        env[e["name"]] = None
                argv = as_list(c.get("command")) + as_list(c.get("args"))
                invs = [Invocation(where, a, env) for a in split_invocations(argv, env)]
                for p in c.get("ports") or []:
                    cports[p.get("name") or str(p["containerPort"])] = int(p["containerPort"])
                    cports[str(p["containerPort"])] = int(p["containerPort"])
                mounts = {}
                for m in c.get("volumeMounts") or []:
                    v = vols.get(m["name"])
                    if v is None:
                        finding(where, f"volumeMount {m['name']} has no volume")
                        continue
                    ident = ("pvc", v["persistentVolumeClaim"]["claimName"]) if "persistentVolumeClaim" in v else \
                        ("vct", v["name"]) if v.get("claimTemplate") else ("other", v["name"])
                    mounts[m["mountPath"]] = ident
                    if m.get("readOnly") is not True and any(i.prog and i.prog.command == "serve" for i in invs):
                        if ident[0] == "pvc":
                            finding(where, f"the worker mounts {m['mountPath']} writable")
                # required fields, every container
                res = c.get("resources") or {}
                for part in ("requests", "limits"):
                    for r in ("cpu", "memory"):
                        if r not in (res.get(part) or {}):
                            finding(where, f"resources.{part}.{r} missing")
                csc = c.get("securityContext") or {}
                if csc.get("allowPrivilegeEscalation") is not False:
                    finding(where, "securityContext.allowPrivilegeEscalation is not false")
                if csc.get("readOnlyRootFilesystem") is not True:
                    finding(where, "securityContext.readOnlyRootFilesystem is not true")
                if "ALL" not in ((csc.get("capabilities") or {}).get("drop") or []):
                    finding(where, "securityContext.capabilities.drop lacks ALL")
                if not (csc.get("runAsNonRoot") is True or (sc.get("runAsNonRoot") is True
                                                             and csc.get("runAsNonRoot") is not False)):
                    finding(where, "runAsNonRoot is not true")
                if csc.get("runAsUser") == 0 or (sc.get("runAsUser") == 0 and "runAsUser" not in csc):
                    finding(where, "runs as uid 0")
                if ctype == "containers" and kind in ("Deployment", "StatefulSet"):
                    for pk in ("livenessProbe", "readinessProbe"):
                        if pk not in c:
                            finding(where, f"{pk} missing")
                for inv in invs:
                    if inv.prog is None:
                        continue
                    runs_recsys = True
                    check_serving_values(where, inv)
                    for pk in ("livenessProbe", "readinessProbe", "startupProbe"):
                        gp = (c.get(pk) or {}).get("grpc")
                        if gp is not None:
                            # gRPC health is served by the gateway on its public port only.
                            if inv.prog.binary != "recsys-gateway":
                                finding(where, f"{pk} is a gRPC probe, but only recsys-gateway serves gRPC health")
                            elif str(cports.get(str(gp.get("port")), gp.get("port"))) != str(inv.value("port")):
                                finding(where, f"{pk} gRPC port {gp.get('port')} is not the gateway's --port "
                                               f"{inv.value('port')}")
                            continue
                        hg = (c.get(pk) or {}).get("httpGet")
                        if hg is None:
                            if pk != "startupProbe" and pk in c:
                                finding(where, f"{pk} is not an httpGet on the admin port")
                            continue
                        port = hg["port"]
                        port = cports.get(str(port), port)
                        check_probe(f"{where} {pk}", inv, hg.get("path", "/"), port, pk[:-5])
                    if inv.prog.binary == "recsys-gateway":
                        for pname, opt in (("http", "port"), ("admin", "admin-port")):
                            if str(cports.get(pname)) != str(inv.value(opt)):
                                finding(where, f"containerPort {pname}={cports.get(pname)} but --{opt} is "
                                               f"{inv.value(opt)}")
                    elif inv.prog.command == "serve":
                        lp = url_host_port(inv.value("listen"))[1]
                        if cports.get("rpc") != lp:
                            finding(where, f"containerPort rpc={cports.get('rpc')} but listen is {inv.value('listen')}")
                        if str(cports.get("admin")) != str(inv.value("admin-port")):
                            finding(where, f"containerPort admin={cports.get('admin')} but --admin-port is "
                                           f"{inv.value('admin-port')}")
                        servers.append((inv, mounts))
                    elif inv.prog.command in ("build", "train"):
                        trainers.append((inv, mounts))
                    invs_all.append(inv)
                if c.get("image", "").startswith("redis") or (argv and argv[0] == "redis-server"):
                    redis_pods.append(plabels)
                    if "--appendonly" not in argv or argv[argv.index("--appendonly") + 1] != "yes":
                        finding(where, "Redis without --appendonly yes")
                    if not any(i[0] in ("vct", "pvc") for mp, i in mounts.items() if mp == "/data"):
                        finding(where, "Redis /data is not on a persistent volume")
                    if "--requirepass" not in argv:
                        finding(where, "Redis without --requirepass (password from the Secret)")
        if runs_recsys and spec.get("enableServiceLinks") is not False:
            finding(wname, "enableServiceLinks is not false: Service links (e.g. RECSYS_CF_PORT=tcp://...) "
                           "would be read as RECSYS_* options")
        if kind == "Deployment":
            st = o["spec"].get("strategy") or {}
            mu = (st.get("rollingUpdate") or {}).get("maxUnavailable")
            if st.get("type", "RollingUpdate") != "RollingUpdate" or str(mu) not in ("0", "0%"):
                finding(wname, f"rolling update with maxUnavailable {mu!r}, want 0 (keep serving)")
        sv = Svc(o["metadata"]["name"], wname, invs_all, cports, {})
        pods.append((wname, sv, plabels, cports))
        if sv.serve("recsys-gateway"):
            gateway_pods.append((o, plabels))

    # Services -> pods and ports
    services = names("Service")

    def resolve(host, port):
        name = host.split(".")[0]
        s = services.get(name)
        if s is None:
            return [], f"no Service named {name}"
        sp = [p for p in s["spec"].get("ports", []) if str(p["port"]) == str(port)]
        if not sp:
            return [], f"Service {name} has no port {port}"
        out = []
        for where, sv, plabels, cports in pods:
            if labels_match({"matchLabels": s["spec"].get("selector") or {}}, plabels):
                tp = sp[0].get("targetPort", sp[0]["port"])
                cp = cports.get(str(tp))
                if cp is None:
                    return [], f"Service {name} targets port {tp}, which {sv.name} does not declare"
                out.append((sv, cp))
        if not out:
            return [], f"Service {name} selects no pods"
        return out, ""

    for sname, s in services.items():
        r, why = resolve(sname, s["spec"]["ports"][0]["port"])
        if not r:
            finding(f"{label} Service/{sname}", why)
    for where, sv, plabels, cports in pods:
        gw = sv.serve("recsys-gateway")
        if gw:
            check_gateway_links(where, gw, resolve)
            pw = gw.env.get("RECSYS_REDIS_PASSWORD", "missing")
            if redis_pods and pw is not None:
                finding(where, "RECSYS_REDIS_PASSWORD does not come from a Secret")
    check_models_flow(label, trainers, servers)
    if not trainers:
        finding(label, "no Job trains the models")

    # gateway: HPA and PDB; workers and Redis: only the gateway gets in
    for o, plabels in gateway_pods:
        n = o["metadata"]["name"]
        if not any(h["spec"]["scaleTargetRef"].get("kind") == "Deployment" and h["spec"]["scaleTargetRef"]["name"] == n
                   for h in by_kind.get("HorizontalPodAutoscaler", [])):
            finding(label, f"no HorizontalPodAutoscaler for Deployment/{n}")
        if not any(labels_match(p["spec"].get("selector"), plabels) for p in by_kind.get("PodDisruptionBudget", [])):
            finding(label, f"no PodDisruptionBudget selects the pods of Deployment/{n}")
    gw_labels = [pl for _, pl in gateway_pods]

    def only_gateway(where, plabels, port_names):
        pols = [p for p in by_kind.get("NetworkPolicy", []) if labels_match(p["spec"].get("podSelector"), plabels)
                and "Ingress" in (p["spec"].get("policyTypes") or ["Ingress"])]
        if not pols:
            finding(where, "no NetworkPolicy restricts who reaches it")
            return
        for pol in pols:
            for rule in pol["spec"].get("ingress") or []:
                ports = [str(p.get("port")) for p in rule.get("ports") or []]
                if ports and not set(ports) & port_names:
                    continue
                frm = rule.get("from") or []
                bad = not frm or any("podSelector" not in f or "namespaceSelector" in f or "ipBlock" in f or
                                     not any(labels_match(f["podSelector"], g) for g in gw_labels) for f in frm)
                if bad:
                    finding(where, f"NetworkPolicy/{pol['metadata']['name']} admits more than the gateway to "
                                   f"port(s) {sorted(port_names)}")

    for where, sv, plabels, cports in pods:
        for b in ("recsys-content", "recsys-cf"):
            w = sv.serve(b)
            if w:
                lp = str(url_host_port(w.value("listen"))[1])
                only_gateway(where, plabels, {lp} | {n for n, v in cports.items() if str(v) == lp})
    for pl in redis_pods:
        only_gateway(f"{label} redis", pl, {"6379", "redis"})
    ok(f"{label}: {len(objs)} objects, {len(pods)} workloads checked")


def check_k8s():
    for label, objs in kustomize_sets():
        check_k8s_set(label, objs)


# ------------------------------------------------------------------ render

RENDER_SCHEMA = {
    "type": "object",
    "required": ["services"],
    "properties": {"services": {"type": "array", "items": {
        "type": "object",
        "required": ["type", "name"],
        "properties": {
            "type": {"enum": ["web", "pserv", "worker", "cron", "keyvalue", "redis"]},
            "name": {"type": "string"},
            "runtime": {"type": "string"},
            "dockerCommand": {"type": "string"},
            "healthCheckPath": {"type": "string", "pattern": "^/"},
            "envVars": {"type": "array", "items": {
                "type": "object",
                "oneOf": [{"required": ["key", "value"]}, {"required": ["key", "fromService"]},
                          {"required": ["key", "sync"]}, {"required": ["key", "generateValue"]},
                          {"required": ["fromGroup"]}]}},
        }}}},
}


def check_render():
    path = os.path.join(REPO, "render.yaml")
    with open(path) as f:
        doc = yaml.safe_load(f)
    if jsonschema is not None:
        try:
            jsonschema.validate(doc, RENDER_SCHEMA)
        except jsonschema.ValidationError as e:
            finding("render.yaml", f"blueprint shape: {e.message} at {list(e.absolute_path)}")
    svc_by_name = {s["name"]: s for s in doc.get("services", [])}
    svcs, hostvars = {}, {}
    kinds = {s["type"] for s in doc.get("services", [])}
    if "web" not in kinds or not ({"keyvalue", "redis"} & kinds):
        finding("render.yaml", "wants a web service and a Key Value (Redis) instance")
    for s in doc.get("services", []):
        where = f"render.yaml {s['type']} {s['name']}"
        if s["type"] in ("keyvalue", "redis"):
            if "ipAllowList" not in s:
                finding(where, "Key Value without ipAllowList (required; [] = private only)")
            continue
        if s.get("runtime") == "docker" or s.get("env") == "docker":
            df = s.get("dockerfilePath", "./Dockerfile")
            if not os.path.isfile(os.path.join(REPO, df)):
                finding(where, f"dockerfilePath {df} does not exist")
        env, refs = {}, {}
        for e in s.get("envVars") or []:
            if "value" in e:
                env[e["key"]] = str(e["value"])
            elif "fromService" in e:
                fs = e["fromService"]
                env[e["key"]] = None
                refs[e["key"]] = fs
                if fs["name"] not in svc_by_name or svc_by_name[fs["name"]]["type"] != fs["type"]:
                    finding(where, f"{e['key']} refers to {fs['type']} {fs['name']}, not in the blueprint")
            else:
                env[e["key"]] = None
        argv = shlex.split(s.get("dockerCommand", ""))
        invs = [Invocation(where, a, env) for a in split_invocations(argv, env)]
        if not invs:
            finding(where, "dockerCommand runs no recsys program")
        for inv in invs:
            check_serving_values(where, inv)
            if inv.prog and inv.prog.binary == "recsys-gateway":
                if s["type"] != "web":
                    finding(where, "the gateway must be the web service")
                port = env.get("PORT", "10000")
                if str(inv.value("port")) != str(port):
                    finding(where, f"gateway port {inv.value('port')} is not Render's PORT {port}")
                if s.get("healthCheckPath"):
                    check_probe(where + " healthCheckPath", inv, s["healthCheckPath"], inv.value("port"), "health")
            if inv.prog and inv.prog.command == "serve" and s["type"] != "pserv":
                finding(where, f"{inv.label} must be a private service (pserv)")
        svcs[s["name"]] = Svc(s["name"], where, invs, set(), env)
        for k, fs in refs.items():
            hostvars[(s["name"], "$" + k)] = fs
            hostvars[(s["name"], "${" + k + "}")] = fs

    for name, sv in svcs.items():
        gw = sv.serve("recsys-gateway")
        if not gw:
            continue

        def resolve(host, port, _n=name):
            fs = hostvars.get((_n, host))
            if fs is None:
                return [], f"host {host} is not a fromService host of the blueprint"
            if fs.get("property") not in ("host", "hostport"):
                return [], f"{host} is fromService property {fs.get('property')}, not host"
            if fs["type"] in ("keyvalue", "redis"):
                return [(Svc(fs["name"], "", [], set(), {}), port)], ""
            return [(svcs[fs["name"]], port)], ""

        # Redis host/port come from the Key Value instance as variables.
        for k in ("RECSYS_REDIS_HOST", "RECSYS_REDIS_PORT"):
            fs = next((f for (n, v), f in hostvars.items() if n == name and v == "$" + k), None)
            if fs is None or fs["type"] not in ("keyvalue", "redis"):
                finding(sv.where, f"{k} does not come from the Key Value instance")
        gw.env = dict(gw.env)
        gw.env["RECSYS_REDIS_HOST"] = "$RECSYS_REDIS_HOST"
        gw.env["RECSYS_REDIS_PORT"] = "6379"
        check_gateway_links(sv.where, gw, resolve)
    ok(f"render.yaml: {len(doc.get('services', []))} services checked")


# ------------------------------------------------------------------ Dockerfile

BUILD_TOOLS = re.compile(r"^(build-essential|cmake|gcc.*|g\+\+.*|clang.*|make|pkg-config|protobuf-c-compiler|.*-dev)$")


def dockerfile_stages(text):
    text = re.sub(r"\\\n", " ", text)
    stages = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        word, _, rest = line.partition(" ")
        word = word.upper()
        if word == "FROM":
            m = re.match(r"^(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?", rest, re.I)
            stages.append({"from": m.group(1), "name": m.group(2), "run": [], "copy": [], "user": None})
        elif stages:
            if word == "RUN":
                stages[-1]["run"].append(rest)
            elif word in ("COPY", "ADD"):
                stages[-1]["copy"].append(rest)
            elif word == "USER":
                stages[-1]["user"] = rest.strip()
    return stages


def apt_packages(run):
    pkgs = []
    for m in re.finditer(r"apt-get install ([^&;|]*)", run):
        pkgs += [w for w in m.group(1).split() if not w.startswith("-")]
    return pkgs


def dockerignored(path, patterns):
    import fnmatch
    p = path.strip("/").rstrip("/")
    for pat in patterns:
        pat = pat.strip("/")
        if fnmatch.fnmatch(p, pat) or p.startswith(pat + "/") or fnmatch.fnmatch(p.split("/")[0], pat):
            return True
    return False


def check_dockerfile():
    path = os.path.join(REPO, "deploy", "Dockerfile")
    where = "deploy/Dockerfile"
    with open(path) as f:
        text = f.read()
    args = dict(re.findall(r"^ARG\s+(\w+)=(\S+)", text, re.M))
    stages = dockerfile_stages(text)
    if len(stages) < 2:
        finding(where, "not multi-stage")
        return
    for st in stages:
        base = re.sub(r"\$\{(\w+)\}", lambda m: args.get(m.group(1), m.group(0)), st["from"])
        st["base"] = base
        if base.split(":")[0] == "debian" and "bookworm" not in base:
            finding(where, f"stage from {base}: not Debian 12 (bookworm)")
    if args.get("RECSYS_MARCH") != "x86-64-v3" or "-DRECSYS_MARCH=${RECSYS_MARCH}" not in text:
        finding(where, "RECSYS_MARCH build arg (default x86-64-v3) not passed to cmake")
    ignore = []
    di = os.path.join(REPO, ".dockerignore")
    if os.path.exists(di):
        ignore = [ln.strip() for ln in open(di) if ln.strip() and not ln.startswith("#")]
    names = {st["name"]: st for st in stages if st["name"]}
    allpk = []
    for st in stages:
        for run in st["run"]:
            allpk += apt_packages(run)
        for c in st["copy"]:
            words = [w for w in c.split() if not w.startswith("--")]
            frm = re.search(r"--from=(\S+)", c)
            srcs = words[:-1]
            for s in srcs:
                if frm:
                    src_stage = names.get(frm.group(1))
                    if src_stage is None:
                        finding(where, f"COPY --from={frm.group(1)}: no such stage")
                    elif not any(s.rstrip("/") in r for r in src_stage["run"]):
                        finding(where, f"COPY --from={frm.group(1)} {s}: the stage never makes that path")
                else:
                    if not os.path.exists(os.path.join(REPO, s)):
                        finding(where, f"COPY {s}: not in the repository")
                    elif dockerignored(s, ignore):
                        finding(where, f"COPY {s}: excluded by .dockerignore")
    if shutil.which("apt-cache"):
        r = subprocess.run(["apt-cache", "show", "--no-all-versions"] + sorted(set(allpk)),
                           capture_output=True, text=True)
        known = set(re.findall(r"^Package: (\S+)", r.stdout, re.M))
        for p in sorted(set(allpk) - known):
            finding(where, f"package {p} is not in Debian's index (apt-cache show)")
    else:
        print("note: apt-cache missing: package names not checked")
    final = stages[-1]
    fpk = [p for run in final["run"] for p in apt_packages(run)]
    tools = [p for p in fpk if BUILD_TOOLS.match(p)]
    if tools:
        finding(where, f"build tools in the final stage: {tools}")
    user = (final["user"] or "root").split(":")[0]
    if user in ("root", "0"):
        finding(where, "the final stage runs as root (USER)")
    # the runtime packages cover what the binaries load
    if shutil.which("readelf") and shutil.which("dpkg"):
        needed = set()
        for b in sorted(os.listdir(BIN)):
            if b.startswith("recsys-"):
                out = subprocess.run(["readelf", "-d", os.path.join(BIN, b)], capture_output=True, text=True).stdout
                needed |= set(re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", out))
        base_pk = {"libc6", "libgcc-s1"}
        have = set(fpk) | base_pk
        r = subprocess.run(["apt-cache", "depends"] + fpk, capture_output=True, text=True).stdout
        have |= set(re.findall(r"Depends: <?([a-z0-9.+-]+)>?", r))
        paths = {}
        for lib in sorted(needed):
            if lib.startswith(("libasan", "libubsan", "libclang_rt")):
                continue  # a sanitizer build: its runtime is not an image dependency
            for d in ("/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib", "/usr/lib"):
                if os.path.exists(os.path.join(d, lib)):
                    paths[os.path.realpath(os.path.join(d, lib))] = lib
                    break
        r = subprocess.run(["dpkg", "-S"] + sorted(paths), capture_output=True, text=True)
        for line in r.stdout.splitlines():
            pk, _, f = line.partition(": ")
            pk = pk.split(":")[0]
            if f in paths and pk not in have:
                finding(where, f"the binaries need {paths[f]} (package {pk}), not installed in the final stage")
    ok(f"deploy/Dockerfile: {len(stages)} stages, {len(set(allpk))} packages, final USER {final['user']}")


# ------------------------------------------------------------------ main

def main():
    global LIVE
    for b in ("recsys-gateway", "recsys-content", "recsys-cf", "recsys-gen"):
        if not os.access(os.path.join(BIN, b), os.X_OK):
            print(f"SKIP: {BIN}/{b} is not built")
            return 77
    LIVE = LiveRoutes()
    try:
        for name, fn in (("compose", check_compose), ("k8s", check_k8s), ("render", check_render),
                         ("Dockerfile", check_dockerfile)):
            try:
                fn()
            except (KeyError, TypeError, ValueError, IndexError, AttributeError) as e:
                finding(name, f"malformed or unexpected structure: {type(e).__name__}: {e}")
    finally:
        LIVE.close()
    if FINDINGS:
        print(f"\n{len(FINDINGS)} finding(s)")
        return 1
    print("all deployment files agree with the binaries")
    return 0


if __name__ == "__main__":
    sys.exit(main())
