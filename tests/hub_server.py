"""A small HTTP server on 127.0.0.1 that answers the Hugging Face Hub's routes used by marinegan.

It speaks the real wire protocol that ``huggingface_hub`` uses, so tests exercise the real client:

- ``HEAD|GET /{repo}/resolve/{revision}/{path}`` with ``X-Repo-Commit``, ``ETag``, ``Content-Length``
  and the Hub's ``X-Error-Code`` (RepoNotFound, RevisionNotFound, EntryNotFound) on 404;
- ``GET /api/models/{repo}/revision/{revision}`` (model info with siblings);
- ``POST /api/repos/create``, ``/api/validate-yaml``, ``/api/models/{repo}/preupload/{rev}`` and
  ``/api/models/{repo}/commit/{rev}`` (regular, inline-base64 uploads),
  so ``push_to_hub`` makes a new commit that can be read back.

Every request is recorded in ``server.requests`` so a test can prove that nothing was fetched.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


@dataclass
class FakeRepo:
    commits: dict[str, dict[str, bytes]] = field(default_factory=dict)  # sha -> files
    refs: dict[str, str] = field(default_factory=dict)  # branch/tag -> sha

    def resolve(self, revision: str) -> str | None:
        if revision in self.refs:
            return self.refs[revision]
        return revision if revision in self.commits else None


class FakeHub:
    def __init__(self) -> None:
        self.repos: dict[str, FakeRepo] = {}
        self.requests: list[tuple[str, str]] = []
        self._counter = 0
        self._lock = threading.Lock()

    def commit(self, repo_id: str, files: dict[str, bytes], branch: str = "main", tag: str | None = None) -> str:
        """Add a commit holding ``files`` (on top of the branch's files) and return its sha."""
        with self._lock:
            repo = self.repos.setdefault(repo_id, FakeRepo())
            base = dict(repo.commits.get(repo.refs.get(branch, ""), {}))
            base.update(files)
            self._counter += 1
            sha = hashlib.sha1(f"{repo_id}:{self._counter}".encode()).hexdigest()
            repo.commits[sha] = base
            repo.refs[branch] = sha
            if tag:
                repo.refs[tag] = sha
            return sha

    def commit_dir(self, repo_id: str, directory: Path, **kwargs) -> str:
        files = {p.name: p.read_bytes() for p in Path(directory).iterdir() if p.is_file()}
        return self.commit(repo_id, files, **kwargs)


def _make_handler(hub: FakeHub):
    resolve_re = re.compile(r"^/(?P<repo>[^/]+/[^/]+)/resolve/(?P<rev>[^/]+)/(?P<path>.+)$")
    info_re = re.compile(r"^/api/models/(?P<repo>[^/]+/[^/]+)(?:/revision/(?P<rev>[^/]+))?$")
    pre_re = re.compile(r"^/api/models/(?P<repo>[^/]+/[^/]+)/preupload/(?P<rev>[^/]+)$")
    commit_re = re.compile(r"^/api/models/(?P<repo>[^/]+/[^/]+)/commit/(?P<rev>[^/]+)$")

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args) -> None:  # keep test output quiet
            pass

        def _send(self, status: int, body: bytes = b"", headers: dict | None = None, head: bool = False) -> None:
            self.send_response(status)
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if not head:
                self.wfile.write(body)

        def _json(self, status: int, obj, headers: dict | None = None) -> None:
            self._send(status, json.dumps(obj).encode(), {"Content-Type": "application/json", **(headers or {})})

        def _error(self, code: str, message: str, head: bool = False) -> None:
            body = json.dumps({"error": message}).encode()
            self._send(404, body, {"X-Error-Code": code, "X-Error-Message": message,
                                   "Content-Type": "application/json"}, head=head)

        def _path(self) -> str:
            from urllib.parse import unquote, urlsplit

            return unquote(urlsplit(self.path).path)

        def _resolve(self, head: bool) -> None:
            m = resolve_re.match(self._path())
            if not m:
                return self._send(404, head=head)
            repo = hub.repos.get(m["repo"])
            if repo is None:
                return self._error("RepoNotFound", f"Repository {m['repo']} not found", head)
            sha = repo.resolve(m["rev"])
            if sha is None:
                return self._error("RevisionNotFound", f"Invalid rev id: {m['rev']}", head)
            data = repo.commits[sha].get(m["path"])
            if data is None:
                return self._error("EntryNotFound", f"{m['path']} does not exist at {m['rev']}", head)
            etag = '"' + hashlib.sha256(data).hexdigest() + '"'
            self._send(200, data, {"X-Repo-Commit": sha, "ETag": etag,
                                   "Content-Type": "application/octet-stream"}, head=head)

        def do_HEAD(self) -> None:  # noqa: N802
            hub.requests.append(("HEAD", self.path))
            self._resolve(head=True)

        def do_GET(self) -> None:  # noqa: N802
            hub.requests.append(("GET", self.path))
            path = self._path()
            m = info_re.match(path)
            if m:
                repo = hub.repos.get(m["repo"])
                if repo is None:
                    return self._error("RepoNotFound", f"Repository {m['repo']} not found")
                sha = repo.resolve(m["rev"] or "main")
                if sha is None:
                    return self._error("RevisionNotFound", f"Invalid rev id: {m['rev']}")
                siblings = [{"rfilename": name} for name in sorted(repo.commits[sha])]
                return self._json(200, {"id": m["repo"], "modelId": m["repo"], "sha": sha, "siblings": siblings,
                                        "private": False, "tags": [], "downloads": 0, "likes": 0})
            self._resolve(head=False)

        def do_POST(self) -> None:  # noqa: N802
            hub.requests.append(("POST", self.path))
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            path = self._path()
            if path == "/api/repos/create":
                payload = json.loads(body)
                repo_id = f"{payload['organization']}/{payload['name']}" if payload.get("organization") \
                    else payload["name"]
                if repo_id not in hub.repos:
                    hub.commit(repo_id, {".gitattributes": b"*.safetensors filter=lfs diff=lfs merge=lfs -text\n"})
                return self._json(200, {"url": f"http://{self.headers['Host']}/{repo_id}", "name": repo_id})
            if path == "/api/validate-yaml":  # the Hub checks the model card's YAML header
                import yaml

                content = json.loads(body)["content"]
                header = content.split("---")[1] if content.startswith("---") else ""
                try:
                    ok = isinstance(yaml.safe_load(header), dict)
                except yaml.YAMLError:
                    ok = False
                if ok:
                    return self._json(200, {"warnings": []})
                return self._json(400, {"errors": [{"message": "invalid model card metadata"}]})
            m = pre_re.match(path)
            if m:
                files = json.loads(body)["files"]
                return self._json(200, {"files": [{"path": f["path"], "uploadMode": "regular", "shouldIgnore": False}
                                                  for f in files], "commitOid": None})
            m = commit_re.match(path)
            if m:
                files: dict[str, bytes] = {}
                for line in body.decode().splitlines():
                    item = json.loads(line)
                    if item["key"] == "file":
                        value = item["value"]
                        files[value["path"]] = base64.b64decode(value["content"])
                sha = hub.commit(m["repo"], files, branch=m["rev"])
                url = f"http://{self.headers['Host']}/{m['repo']}/commit/{sha}"
                return self._json(200, {"commitUrl": url, "commitOid": sha, "pullRequestUrl": None})
            self._send(404)

    return Handler


class HubServer:
    """Run a :class:`FakeHub` on an ephemeral loopback port in a background thread."""

    def __init__(self) -> None:
        self.hub = FakeHub()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), _make_handler(self.hub))
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> HubServer:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
