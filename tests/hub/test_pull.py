"""test_pull.py — `flint pull` and `-m ORG/NAME` against a hub on loopback.

The server below speaks the hub's protocol as huggingface_hub reads it (the
revision and tree APIs with Link paging, /resolve/ with ETag and
X-Repo-Commit, LFS files as a redirect to a second port with X-Linked-Etag
and X-Linked-Size, Range requests, 401/403 + X-Error-Code for gated and missing
repositories). huggingface_hub's own snapshot_download working against it
is what shows the server is faithful; flint is then held to what
huggingface_hub writes: the same blobs, snapshot links and refs, each
reading what the other wrote without fetching it again. Then: resuming a
cut download with Range, a wrong sha256 refused, a gated repository with
and without HF_TOKEN (and no token sent to the CDN), hostile listings, and
the cached model opened offline by `flint info/run/tokenize -m ORG/NAME`."""
import hashlib
import http.server
import json
import os
import shutil
import socketserver
import subprocess
import sys
import tempfile
import threading
import urllib.parse

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "server"))
from harness import FLINT, Checks  # noqa: E402

HOME = tempfile.mkdtemp(prefix="flint-hub-")
os.environ.update(HF_HOME=os.path.join(HOME, "hf-home"), HF_HUB_DISABLE_XET="1", HF_HUB_DISABLE_TELEMETRY="1",
                  HF_HUB_DISABLE_PROGRESS_BARS="1")
os.environ.pop("HF_TOKEN", None)
try:
    import huggingface_hub
except ImportError:
    print("SKIPPED: huggingface_hub is not installed (offline?)")
    print("test_pull: 0 passed, 0 failed")
    sys.exit(0)

GOOD_TOKEN = "hf_flint_test_token"
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def read(p):
    with open(os.path.join(ROOT, p), "rb") as f:
        return f.read()


def git_oid(data):
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def sha256(data):
    return hashlib.sha256(data).hexdigest()


class Repo:
    """files: path -> bytes; those in lfs are served through the CDN port."""

    def __init__(self, files, lfs=(), gated=False, tree=None, lie_sha=None, serve=None, redirect_loop=False):
        self.files, self.lfs, self.gated = files, set(lfs), gated
        self.commit = hashlib.sha1(json.dumps(sorted(files)).encode() + os.urandom(8)).hexdigest()
        self.raw_tree = tree              # a hostile listing body, served as is
        self.lie_sha = lie_sha or {}      # path -> the sha256 the listing claims
        self.serve = serve or {}          # path -> other bytes than the listing's
        self.redirect_loop = redirect_loop

    def oid(self, p):
        return self.lie_sha.get(p) or sha256(self.files[p])

    def entries(self):
        out, dirs = [], set()
        for p in sorted(self.files):
            parts = p.split("/")
            for i in range(1, len(parts)):
                d = "/".join(parts[:i])
                if d not in dirs:
                    dirs.add(d)
                    out.append({"type": "directory", "oid": "0" * 40, "size": 0, "path": d})
            data = self.files[p]
            e = {"type": "file", "size": len(data), "path": p}
            if p in self.lfs:
                pointer = f"version https://git-lfs.github.com/spec/v1\noid sha256:{self.oid(p)}\nsize {len(data)}\n"
                e["oid"] = git_oid(pointer.encode())
                e["lfs"] = {"oid": self.oid(p), "size": len(data), "pointerSize": len(pointer)}
            else:
                e["oid"] = git_oid(data)
            out.append(e)
        return out


class Hub:
    """The hub (api + resolve) on one port, the LFS CDN on another."""

    def __init__(self):
        self.repos, self.log, self.cut = {}, [], {}
        self.lock = threading.Lock()
        self.blobs = {}
        self.hub = self._serve("hub")
        self.cdn = self._serve("cdn")
        self.url = f"http://127.0.0.1:{self.hub.server_address[1]}"
        self.cdn_url = f"http://127.0.0.1:{self.cdn.server_address[1]}"

    def add(self, name, repo):
        self.repos[name] = repo
        for p in repo.lfs:  # by repository: a lying one must not poison another's bytes
            self.blobs[name + "/" + repo.oid(p)] = repo.serve.get(p, repo.files[p])
        return repo

    def _serve(self, role):
        hub = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.0"

            def log_message(self, *a):
                pass

            def do_HEAD(self):
                self.handle_any(head=True)

            def do_GET(self):
                self.handle_any(head=False)

            def handle_any(self, head):
                with hub.lock:
                    hub.log.append({"role": role, "method": self.command, "path": self.path,
                                    "range": self.headers.get("Range"), "auth": self.headers.get("Authorization")})
                try:
                    (hub.cdn_get if role == "cdn" else hub.hub_get)(self, head)
                except (BrokenPipeError, ConnectionResetError):
                    pass

        srv = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        srv.daemon_threads = True
        threading.Thread(target=srv.serve_forever, daemon=True).start()
        return srv

    def stop(self):
        for s in (self.hub, self.cdn):
            s.shutdown()
            s.server_close()

    # --- replies

    @staticmethod
    def reply(h, code, body=b"", headers=(), head=False, ctype="application/json"):
        h.send_response(code)
        h.send_header("Content-Type", ctype)
        h.send_header("Content-Length", str(len(body)))
        for k, v in headers:
            h.send_header(k, v)
        h.end_headers()
        if not head:
            h.wfile.write(body)

    def error(self, h, code, err, head=False):
        self.reply(h, code, json.dumps({"error": err}).encode(), [("X-Error-Code", err), ("X-Error-Message", err)],
                   head)

    def send_bytes(self, h, data, headers, head, cut_key=None):
        """200, or 206 for a Range request; cut_key in self.cut: half the body, then the connection drops."""
        start, code = 0, 200
        rng = h.headers.get("Range")
        if rng and rng.startswith("bytes=") and rng.endswith("-"):
            start = int(rng[6:-1])
            if start >= len(data):
                return self.reply(h, 416, b"", head=head)
            code = 206
            headers = [*headers, ("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")]
        body = data[start:]
        h.send_response(code)
        h.send_header("Content-Length", str(len(body)))
        h.send_header("Accept-Ranges", "bytes")
        for k, v in headers:
            h.send_header(k, v)
        h.end_headers()
        if head:
            return
        with self.lock:
            cut = self.cut.get(cut_key, 0)
            if cut:
                self.cut[cut_key] = cut - 1
        if cut:
            h.wfile.write(body[: len(body) // 2])
            h.wfile.flush()
            h.connection.shutdown(2)
            h.close_connection = True
            return
        h.wfile.write(body)

    def authorized(self, h, repo):
        return not repo.gated or h.headers.get("Authorization") == f"Bearer {GOOD_TOKEN}"

    def hub_get(self, h, head):
        u = urllib.parse.urlsplit(h.path)
        parts = [urllib.parse.unquote(x) for x in u.path.split("/")[1:]]
        if parts[:2] == ["api", "models"] and len(parts) >= 6:
            name, kind, rev = "/".join(parts[2:4]), parts[4], parts[5]
            repo = self.repos.get(name)
            if repo is None:
                return self.error(h, 401, "RepoNotFound", head)
            # a gated repository's metadata and listing are public, as on the hub; its files are not
            if rev not in ("main", repo.commit):
                return self.error(h, 404, "RevisionNotFound", head)
            if kind == "revision":
                info = {"id": name, "modelId": name, "sha": repo.commit, "private": False,
                        "siblings": [{"rfilename": p} for p in sorted(repo.files)]}
                return self.reply(h, 200, json.dumps(info).encode(), head=head)
            if kind == "tree":
                if repo.raw_tree is not None:
                    body, link = repo.raw_tree
                    hdr = [("Link", link.replace("SELF", self.url + h.path))] if link else []
                    return self.reply(h, 200, body, hdr, head)
                q = urllib.parse.parse_qs(u.query)
                entries = repo.entries()
                if q.get("recursive", ["false"])[0].lower() not in ("true", "1"):
                    entries = [e for e in entries if "/" not in e["path"]]
                start = int(q.get("cursor", ["0"])[0])
                page, hdr = entries[start:start + 3], []
                if start + 3 < len(entries):  # pages of 3, the next one named in a Link header
                    nq = dict((k, v[0]) for k, v in q.items())
                    nq["cursor"] = str(start + 3)
                    hdr = [("Link", f'<{self.url}{u.path}?{urllib.parse.urlencode(nq)}>; rel="next"')]
                return self.reply(h, 200, json.dumps(page).encode(), hdr, head)
        if len(parts) >= 5 and parts[2] == "resolve":
            name, rev, path = "/".join(parts[:2]), parts[3], "/".join(parts[4:])
            repo = self.repos.get(name)
            if repo is None:
                return self.error(h, 401, "RepoNotFound", head)
            if not self.authorized(h, repo):  # 401 anonymous, 403 with a token that was not granted access
                return self.error(h, 403 if h.headers.get("Authorization") else 401, "GatedRepo", head)
            if rev not in ("main", repo.commit):
                return self.error(h, 404, "RevisionNotFound", head)
            if repo.redirect_loop:
                return self.reply(h, 302, b"", [("Location", h.path)], head)
            if path not in repo.files:
                return self.error(h, 404, "EntryNotFound", head)
            data = repo.serve.get(path, repo.files[path])
            if path in repo.lfs:
                oid = repo.oid(path)
                return self.reply(h, 302, b"", [("Location", f"{self.cdn_url}/lfs/{name}/{oid}?sig=x"),
                                                ("X-Repo-Commit", repo.commit), ("X-Linked-Etag", f'"{oid}"'),
                                                ("X-Linked-Size", str(len(repo.files[path]))),
                                                ("ETag", f'"{git_oid(data)}"')], head)
            commit = getattr(repo, "served_commit", repo.commit)
            return self.send_bytes(h, data, [("ETag", f'"{git_oid(repo.files[path])}"'),
                                             ("X-Repo-Commit", commit)], head, cut_key=path)
        return self.error(h, 404, "NotFound", head)

    def cdn_get(self, h, head):
        key = urllib.parse.urlsplit(h.path).path[len("/lfs/"):]
        if key not in self.blobs:
            return self.reply(h, 404, b"no such blob", head=head)
        oid = key.rsplit("/", 1)[-1]
        self.send_bytes(h, self.blobs[key], [("ETag", f'"{oid}"')], head, cut_key=oid)


def flint(*args, cache, hub=None, token=None, endpoint=None, env=None):
    """cache None: HF_HUB_CACHE unset and env (variables; None values unset) says where the cache is"""
    base, env = env, dict(os.environ)
    for k, v in (base or {}).items():
        env.pop(k, None) if v is None else env.__setitem__(k, v)
    env.pop("HF_HUB_CACHE", None) if cache is None else env.__setitem__("HF_HUB_CACHE", cache)
    env.pop("HF_TOKEN", None)
    if token:
        env["HF_TOKEN"] = token
    env["HF_ENDPOINT"] = endpoint or (hub.url if hub else "http://127.0.0.1:9")
    p = subprocess.run([FLINT, *args], env=env, capture_output=True, text=True, timeout=300)
    return p.returncode, p.stdout, p.stderr


def tree(cache, name):
    """blobs (name -> bytes), snapshot links (path -> target), refs (name -> text) of a cached repo"""
    top = os.path.join(cache, "models--" + name.replace("/", "--"))
    out = {"blobs": {}, "links": {}, "refs": {}}
    for d, _, files in os.walk(top):
        for f in files:
            p = os.path.join(d, f)
            rel = os.path.relpath(p, top)
            if rel.startswith("blobs/"):
                out["blobs"][rel[6:]] = open(p, "rb").read()
            elif rel.startswith("snapshots/"):
                out["links"][rel[10:].split("/", 1)[1]] = os.readlink(p) if os.path.islink(p) else "not a link"
            elif rel.startswith("refs/"):
                out["refs"][rel[5:]] = open(p).read()
    return out


def gets(hub, since):
    """the file downloads logged since index since: (role, range)"""
    return [(e["role"], e["range"]) for e in hub.log[since:]
            if e["method"] == "GET" and (e["role"] == "cdn" or "/resolve/" in e["path"])]


def hf_snapshot(hub, name, cache, token=None, **kw):
    return huggingface_hub.snapshot_download(name, cache_dir=cache, endpoint=hub.url, token=token or False, **kw)


def setup():
    hub = Hub()
    q8, q4 = read("models/tiny-gemma3.gguf"), read("tests/fixtures/gemma3/a/model-q4_0.gguf")
    hub.add("flint-test/tiny-GGUF", Repo({
        "README.md": b"# tiny\n", "tiny-gemma3-Q8_0.gguf": q8, "tiny-gemma3-Q4_0.gguf": q4,
        "docs/deep/notes.txt": b"notes\n"}, lfs={"tiny-gemma3-Q8_0.gguf", "tiny-gemma3-Q4_0.gguf"}))
    hub.add("flint-test/tiny-st", Repo({
        "config.json": read("tests/fixtures/gemma3/a/config.json"),
        "model.safetensors": read("tests/fixtures/gemma3/a/model.safetensors"),
        ".gitattributes": b"*.safetensors filter=lfs\n", "sub/extra.txt": b"extra\n"}, lfs={"model.safetensors"}))
    hub.add("flint-test/gated", Repo({"README.md": b"gated\n", "tiny-Q8_0.gguf": q8}, lfs={"tiny-Q8_0.gguf"},
                                     gated=True))
    hub.add("flint-test/badsha", Repo({"w-Q8_0.gguf": q8}, lfs={"w-Q8_0.gguf"}, lie_sha={"w-Q8_0.gguf": sha256(q4)}))
    hub.add("flint-test/badgit", Repo({"config.json": b"{}", "model.safetensors": b"x" * 8},
                                      serve={"config.json": b"[]"}))
    return hub


def test_protocol_and_shared_cache(c, hub):
    name = "flint-test/tiny-GGUF"
    hf_cache, fl_cache = os.path.join(HOME, "c-hf"), os.path.join(HOME, "c-flint")
    path = hf_snapshot(hub, name, hf_cache)
    c.check(os.path.isfile(os.path.join(path, "tiny-gemma3-Q8_0.gguf")), "huggingface_hub downloaded from the server")
    rc, out, err = flint("pull", name, "--include", "*", cache=fl_cache, hub=hub)
    c.check(rc == 0, f"flint pull --include '*' works: {err}")
    a, b = tree(hf_cache, name), tree(fl_cache, name)
    c.check(a["blobs"].keys() == b["blobs"].keys() and len(a["blobs"]) == 4,
            f"same blob names: {sorted(a['blobs'])} vs {sorted(b['blobs'])}")
    c.check(all(a["blobs"][k] == b["blobs"].get(k) for k in a["blobs"]), "same blob bytes")
    c.check(a["links"] == b["links"] and len(a["links"]) == 4, f"same snapshot links: {a['links']} vs {b['links']}")
    c.check(a["refs"] == b["refs"] == {"main": hub.repos[name].commit}, f"same refs: {a['refs']} vs {b['refs']}")
    c.check(b["links"].get("docs/deep/notes.txt", "").startswith("../../../../blobs/"),
            "a nested file links back up to blobs/ relatively")

    # each reads what the other wrote: nothing fetched again
    n = len(hub.log)
    rc, out, err = flint("pull", name, "--include", "*", cache=hf_cache, hub=hub)
    c.check(rc == 0 and gets(hub, n) == [], f"flint pull over huggingface_hub's cache fetches nothing: {gets(hub, n)}")
    c.check("4 files (0 downloaded" in err, f"flint says nothing was downloaded: {err}")
    n = len(hub.log)
    hf_snapshot(hub, name, fl_cache)
    c.check(gets(hub, n) == [], f"huggingface_hub over flint's cache fetches nothing: {gets(hub, n)}")
    p = huggingface_hub.hf_hub_download(name, "tiny-gemma3-Q4_0.gguf", cache_dir=fl_cache, endpoint=hub.url,
                                        token=False)
    c.check(open(p, "rb").read() == hub.repos[name].files["tiny-gemma3-Q4_0.gguf"],
            "hf_hub_download returns flint's file")

    # the Link pages were followed (3 entries a page) and LFS went through the CDN without the token
    tree_gets = [e for e in hub.log if "/tree/" in e["path"] and e["role"] == "hub"]
    c.check(any("cursor=" in e["path"] for e in tree_gets), "the tree listing's Link pages were followed")


def test_selection(c, hub):
    cache = os.path.join(HOME, "c-select")
    rc, out, err = flint("pull", "flint-test/tiny-GGUF", cache=cache, hub=hub)
    c.check(rc == 1 and "tiny-gemma3-Q4_0.gguf" in err and "tiny-gemma3-Q8_0.gguf" in err and ":QUANT" in err,
            f"two GGUFs without a tag: an error naming them: {err}")
    rc, out, err = flint("pull", "flint-test/tiny-GGUF:q8_0", cache=cache, hub=hub)
    t = tree(cache, "flint-test/tiny-GGUF")
    c.check(rc == 0 and set(t["links"]) == {"tiny-gemma3-Q8_0.gguf"}, f":q8_0 pulls that GGUF alone: {t['links']} {err}")
    c.check(out.strip().endswith("/tiny-gemma3-Q8_0.gguf") and os.path.isfile(out.strip()),
            f"flint pull prints the GGUF's path: {out}")
    rc, out, err = flint("pull", "flint-test/tiny-GGUF:Q5_K_M", cache=cache, hub=hub)
    c.check(rc == 1 and "Q5_K_M" in err and "tiny-gemma3-Q4_0.gguf" in err, f"an absent quant names the others: {err}")
    rc, out, err = flint("pull", "flint-test/tiny-st", cache=cache, hub=hub)
    t = tree(cache, "flint-test/tiny-st")
    c.check(rc == 0 and set(t["links"]) == {"config.json", "model.safetensors"},
            f"a safetensors repo: what flint reads, not the rest: {t['links']} {err}")
    c.check(out.strip().endswith("/snapshots/" + hub.repos["flint-test/tiny-st"].commit),
            f"flint pull prints the snapshot folder: {out}")
    commit = hub.repos["flint-test/tiny-st"].commit
    rc, out, err = flint("pull", "flint-test/tiny-st", "--revision", commit, "--include", "sub/*", cache=cache, hub=hub)
    t = tree(cache, "flint-test/tiny-st")
    c.check(rc == 0 and "sub/extra.txt" in t["links"] and set(t["refs"]) == {"main"},
            f"--revision COMMIT --include: no ref written for a commit: {t['refs']} {err}")
    rc, out, err = flint("pull", "flint-test/tiny-st", "--revision", "v9", cache=cache, hub=hub)
    c.check(rc == 1 and "no revision 'v9'" in err, f"an unknown revision: {err}")
    rc, out, err = flint("pull", "flint-test/nope", cache=cache, hub=hub)
    c.check(rc == 1 and "not found" in err and "HF_TOKEN" in err, f"an unknown repository: {err}")
    rc, out, err = flint("pull", "not a repo", cache=cache, hub=hub)
    c.check(rc == 1 and "ORG/NAME" in err, f"a malformed repo id: {err}")


def test_resume(c, hub):
    name = "flint-test/tiny-GGUF"
    data = hub.repos[name].files["tiny-gemma3-Q8_0.gguf"]
    oid = sha256(data)
    # cut mid-file: the same run resumes with a Range request
    cache = os.path.join(HOME, "c-cut")
    hub.cut[oid] = 1
    n = len(hub.log)
    rc, out, err = flint("pull", name + ":Q8_0", cache=cache, hub=hub)
    cdn = [r for role, r in gets(hub, n) if role == "cdn"]
    c.check(rc == 0, f"a cut download completes: {err}")
    c.check(len(cdn) == 2 and cdn[0] is None and cdn[1] == f"bytes={len(data) // 2}-",
            f"the second GET asks for the rest with Range: {cdn}")
    t = tree(cache, name)
    c.check(t["blobs"].get(oid) == data and set(t["blobs"]) == {oid}, "the resumed blob is byte-identical")
    # an interrupted earlier run: its .incomplete is continued
    cache = os.path.join(HOME, "c-partial")
    blobs = os.path.join(cache, "models--flint-test--tiny-GGUF", "blobs")
    os.makedirs(blobs)
    with open(os.path.join(blobs, oid + ".incomplete"), "wb") as f:
        f.write(data[:1000])
    n = len(hub.log)
    rc, out, err = flint("pull", name + ":Q8_0", cache=cache, hub=hub)
    cdn = [r for role, r in gets(hub, n) if role == "cdn"]
    c.check(rc == 0 and cdn == ["bytes=1000-"], f"a partial blob from an earlier run resumes at its end: {cdn} {err}")
    c.check(tree(cache, name)["blobs"] == {oid: data}, "the resumed blob is byte-identical, .incomplete gone")
    # a cut that never heals: a clear error, and the partial file kept for the next run
    cache = os.path.join(HOME, "c-cut-always")
    hub.cut[oid] = 99
    rc, out, err = flint("pull", name + ":Q8_0", cache=cache, hub=hub)
    hub.cut[oid] = 0
    t = tree(cache, name)
    c.check(rc == 1 and "resume" in err, f"a download that keeps breaking: {err}")
    c.check(list(t["blobs"]) == [oid + ".incomplete"] and 0 < len(t["blobs"][oid + ".incomplete"]) < len(data),
            "its partial file stays for the next run")
    rc, out, err = flint("pull", name + ":Q8_0", cache=cache, hub=hub)
    c.check(rc == 0 and tree(cache, name)["blobs"] == {oid: data}, f"the next run finishes it: {err}")


def test_hashes(c, hub):
    cache = os.path.join(HOME, "c-badsha")
    rc, out, err = flint("pull", "flint-test/badsha:Q8_0", cache=cache, hub=hub)
    t = tree(cache, "flint-test/badsha")
    c.check(rc == 1 and "sha256" in err and "refused" in err, f"a wrong sha256 is refused: {err}")
    c.check(t["blobs"] == {} and t["links"] == {} and t["refs"] == {}, f"and nothing is left in place: {t}")
    rc, out, err = flint("pull", "flint-test/badgit", cache=cache, hub=hub)
    c.check(rc == 1 and "git blob id" in err, f"a non-LFS file whose git blob id differs is refused: {err}")


def test_gated(c, hub):
    name = "flint-test/gated"
    cache = os.path.join(HOME, "c-gated")
    rc, out, err = flint("pull", name, cache=cache, hub=hub)
    c.check(rc == 1 and "gated" in err and "HF_TOKEN" in err, f"gated without a token: {err}")
    rc, out, err = flint("pull", name, cache=cache, hub=hub, token="hf_wrong")
    c.check(rc == 1 and "gated" in err and "no access" in err, f"gated with a wrong token: {err}")
    n = len(hub.log)
    rc, out, err = flint("pull", name, cache=cache, hub=hub, token=GOOD_TOKEN)
    c.check(rc == 0 and os.path.isfile(out.strip()), f"gated with HF_TOKEN works: {err}")
    hub_auth = [e["auth"] for e in hub.log[n:] if e["role"] == "hub"]
    cdn_auth = [e["auth"] for e in hub.log[n:] if e["role"] == "cdn"]
    c.check(hub_auth and all(a == f"Bearer {GOOD_TOKEN}" for a in hub_auth), "the hub got the token")
    c.check(cdn_auth == [None], f"the CDN (another origin) did not: {cdn_auth}")
    p = hf_snapshot(hub, name, os.path.join(HOME, "c-gated-hf"), token=GOOD_TOKEN)
    c.check(os.path.isfile(os.path.join(p, "tiny-Q8_0.gguf")), "huggingface_hub with the token works too")
    # the token from HF_HOME/token, as `hf auth login` stores it
    os.makedirs(os.environ["HF_HOME"], exist_ok=True)
    with open(os.path.join(os.environ["HF_HOME"], "token"), "w") as f:
        f.write(GOOD_TOKEN + "\n")
    rc, out, err = flint("pull", name, cache=os.path.join(HOME, "c-gated-file"), hub=hub)
    os.remove(os.path.join(os.environ["HF_HOME"], "token"))
    c.check(rc == 0, f"the token file in HF_HOME is read: {err}")


def entry(path, size=4, oid="a" * 40):
    return {"type": "file", "oid": oid, "size": size, "path": path}


def test_hostile(c, hub):
    good = [entry("config.json")]
    cases = {
        "dotdot": (json.dumps([entry("../../../../escape.txt")]), "'..'"),
        "abs": (json.dumps([entry("/tmp/flint-escape.txt")]), "absolute"),
        "backslash": (json.dumps([entry("a\\..\\..\\escape.txt")]), "backslash"),
        "nul": (json.dumps([entry("a\u0000b.gguf")]), "NUL"),
        "ctrl": (json.dumps([entry("a\nb.gguf")]), "control"),
        "longname": (json.dumps([entry("a" * 300 + ".gguf")]), "255"),
        "notjson": ("<html>hello</html>", "not valid JSON"),
        "object": (json.dumps({"files": good}), "array"),
        "badoid": (json.dumps([entry("m.gguf", oid="../../../x")]), "oid"),
        "badlfs": (json.dumps([dict(entry("m.gguf"), lfs={"oid": "../" * 20 + "x" * 4, "size": 4})]), "sha256"),
        "negsize": (json.dumps([entry("m.gguf", size=-5)]), "size"),
        "lfssize": (json.dumps([dict(entry("m.gguf"), lfs={"oid": "b" * 64, "size": 5})]), "disagrees"),
        "twice": (json.dumps([entry("m.gguf"), entry("m.gguf")]), "twice"),
        "fileisdir": (json.dumps([entry("m"), entry("m/x.gguf")]), "folder"),
        "huge": (json.dumps([entry(f"f{i:08d}.gguf") for i in range(260000)]), "larger than"),
        "manyfiles": (json.dumps([entry(f"{i}.gguf") for i in range(100001)]), "more than 100000"),
    }
    cache = os.path.join(HOME, "c-hostile", "cache")
    for name, (body, why) in cases.items():
        hub.add("evil/" + name, Repo({"x": b""}, tree=(body.encode(), None)))
        rc, out, err = flint("pull", "evil/" + name + ":Q8_0", cache=cache, hub=hub)
        c.check(rc == 1 and why in err, f"hostile listing '{name}' refused naming '{why}': {err[:300]}")
    hub.add("evil/linkloop", Repo({"x": b""}, tree=(json.dumps(good).encode(), '<SELF>; rel="next"')))
    rc, out, err = flint("pull", "evil/linkloop", cache=cache, hub=hub)
    c.check(rc == 1 and "page itself" in err, f"a Link loop: {err}")
    hub.add("evil/redirloop", Repo({"w.gguf": b"abcd"}, redirect_loop=True))
    rc, out, err = flint("pull", "evil/redirloop", cache=cache, hub=hub)
    c.check(rc == 1 and "redirects" in err, f"a redirect loop: {err}")
    lie = hub.add("evil/sizelie", Repo({"w.gguf": b"abcd"}, serve={"w.gguf": b"abcd" * 1000}))
    rc, out, err = flint("pull", "evil/sizelie", cache=cache, hub=hub)
    c.check(rc == 1 and "more than the 4 bytes" in err, f"a file larger than its listing: {err}")
    hub.add("evil/short", Repo({"w.gguf": b"abcd" * 10}, serve={"w.gguf": b"abcd"}))
    rc, out, err = flint("pull", "evil/short", cache=cache, hub=hub)
    c.check(rc == 1 and "of 40 bytes" in err, f"a file shorter than its listing: {err}")
    other = hub.add("evil/othercommit", Repo({"w.gguf": b"abcd"}))
    other.served_commit = "f" * 40
    rc, out, err = flint("pull", "evil/othercommit", cache=cache, hub=hub)
    c.check(rc == 1 and "came from commit ffff" in err, f"a file from another commit: {err}")
    hub.add("evil/missing", Repo({"w.gguf": b"abcd"}))
    hub.repos["evil/missing"].files = {}
    hub.repos["evil/missing"].raw_tree = (json.dumps([entry("w.gguf", oid=git_oid(b"abcd"))]).encode(), None)
    rc, out, err = flint("pull", "evil/missing", cache=cache, hub=hub)
    c.check(rc == 1 and "no file 'w.gguf'" in err, f"a listed file the hub does not have: {err}")
    del lie
    outside = sorted(os.listdir(os.path.join(HOME, "c-hostile")))
    c.check(outside == ["cache"] and not os.path.exists("/tmp/flint-escape.txt"), f"nothing outside the cache: {outside}")
    links = [os.path.join(d, f) for d, _, fs in os.walk(cache) for f in fs if os.path.islink(os.path.join(d, f))]
    c.check(all(os.path.realpath(p).startswith(os.path.realpath(cache)) for p in links), "no link leaves the cache")


def test_names_and_places(c, hub):
    """repo ids as huggingface_hub validates them; the cache where huggingface_hub puts it"""
    from huggingface_hub.utils import HFValidationError, validate_repo_id
    ids = ["org/name", "a-b/c.d_e", "A1/B2", "a--b/c", "a/b..c", "-a/b", "a/b-", "a/.b", "a/b.git", "a b/c",
           "a/" + "b" * 96, "a/" + "b" * 97, "o" * 96 + "/n", "o" * 97 + "/n", "a/b/c", "café/x"]
    cache = os.path.join(HOME, "c-names")
    for rid in ids:
        try:
            validate_repo_id(rid)
            hf_ok = True
        except HFValidationError:
            hf_ok = False
        rc, out, err = flint("pull", "--", rid, cache=cache, hub=hub)
        flint_ok = "ORG/NAME" not in err
        c.check(flint_ok == hf_ok, f"repo id {rid!r}: huggingface_hub {'accepts' if hf_ok else 'refuses'} it, flint: {err}")
    places = [{"HF_HOME": os.path.join(HOME, "p-home")}, {"XDG_CACHE_HOME": os.path.join(HOME, "p-xdg")},
              {"HOME": os.path.join(HOME, "p-user")}, {"HUGGINGFACE_HUB_CACHE": os.path.join(HOME, "p-legacy")},
              {"HF_HOME": os.path.join(HOME, "p-both"), "HF_HUB_CACHE": os.path.join(HOME, "p-both", "mine")}]
    for extra in places:
        env = {k: None for k in ("HF_HOME", "XDG_CACHE_HOME", "HUGGINGFACE_HUB_CACHE", "HF_HUB_CACHE")}
        env.update(extra)
        penv = dict(os.environ)
        for k, v in env.items():
            penv.pop(k, None) if v is None else penv.__setitem__(k, v)
        want = subprocess.run([sys.executable, "-c", "from huggingface_hub import constants; print(constants.HF_HUB_CACHE)"],
                              env=penv, capture_output=True, text=True).stdout.strip()
        rc, out, err = flint("pull", "flint-test/tiny-GGUF:Q8_0", cache=extra.get("HF_HUB_CACHE"), hub=hub, env=env)
        c.check(rc == 0 and want and out.startswith(os.path.join(want, "models--flint-test--tiny-GGUF", "")),
                f"{extra}: flint's cache is huggingface_hub's {want}: {out} {err}")


def test_offline(c, hub, cache):
    """after hub.stop(): -m ORG/NAME from the cache alone"""
    rc, out, err = flint("info", "-m", "flint-test/tiny-st", cache=cache)
    c.check(rc == 0 and "architecture: gemma3" in out and "safetensors folder" in out, f"info -m a folder repo: {err}")
    args = ["-p", "hello world", "-n", "8", "--temp", "0", "-t", "1"]
    rc, out, err = flint("run", "-m", "flint-test/tiny-GGUF:Q8_0", *args, cache=cache)
    rc2, ref, err2 = flint("run", "-m", os.path.join(ROOT, "models/tiny-gemma3.gguf"), *args, cache=cache)
    c.check(rc == 0 and rc2 == 0 and out == ref and out.strip(), f"run -m ORG/NAME:Q8_0 generates as the file does: {err}")
    rc, out, err = flint("tokenize", "-m", "flint-test/tiny-GGUF:Q8_0", "hello world", cache=cache)
    rc2, ref, _ = flint("tokenize", "-m", os.path.join(ROOT, "models/tiny-gemma3.gguf"), "hello world", cache=cache)
    c.check(rc == 0 and out == ref, f"tokenize -m ORG/NAME:QUANT: {err}")
    for cmd in (["logits", "--tokens", "2,100,101"], ["bench", "-p", "8", "-n", "4", "-r", "1", "-t", "1"]):
        rc, out, err = flint(cmd[0], "-m", "flint-test/tiny-GGUF:Q8_0", *cmd[1:], cache=cache)
        c.check(rc == 0, f"{cmd[0]} -m ORG/NAME:QUANT: {err}")
    rc, out, err = flint("run", "-m", "flint-test/tiny-GGUF", *args, cache=cache)
    c.check(rc == 1 and "tiny-gemma3-Q4_0.gguf" in err and ":QUANT" in err, f"two cached GGUFs, no tag: {err}")
    rc, out, err = flint("info", "-m", "flint-test/absent", cache=cache)
    c.check(rc == 1 and "flint pull flint-test/absent" in err, f"not cached: says how to get it: {err}")
    rc, out, err = flint("pull", "flint-test/tiny-st", cache=cache, hub=hub)
    c.check(rc == 1 and "127.0.0.1" in err, f"pull with the hub gone: a clear error: {err}")


def main():
    c = Checks("test_pull")
    hub = setup()
    try:
        c.run(test_protocol_and_shared_cache, hub)
        c.run(test_selection, hub)
        c.run(test_resume, hub)
        c.run(test_hashes, hub)
        c.run(test_gated, hub)
        c.run(test_hostile, hub)
        c.run(test_names_and_places, hub)
        # one cache with both repos for the offline part (the GGUF repo: every file, two GGUFs)
        cache = os.path.join(HOME, "c-offline")
        for spec, extra in (("flint-test/tiny-st", []), ("flint-test/tiny-GGUF", ["--include", "*"])):
            rc, out, err = flint("pull", spec, *extra, cache=cache, hub=hub)
            c.check(rc == 0, f"pull {spec} for the offline checks: {err}")
    finally:
        hub.stop()
    c.run(test_offline, hub, cache)
    shutil.rmtree(HOME, ignore_errors=True)
    c.finish()


if __name__ == "__main__":
    main()
