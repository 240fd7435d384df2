"""Finds and downloads the files a Pachyderm commit added or changed, over pachd's REST gateway.

The experiment's config carries `data.pachyderm` {host, port, project, repo, branch, commit,
base_commit, all_files, token}, filled in by the workflow. The new and updated files are those
DiffFile reports with a `newFile` of fileType FILE, between `commit` and `base_commit` (when base_commit
is empty, pachd diffs against the commit's parent). With `all_files` (a first training: no model was
trained on an earlier commit), every file of the commit is new (WalkFile). Deleted files (only
`oldFile`) and directories are skipped, and so are the paths matching `exclude` (patterns the operator
gave to `ct retry --exclude`; the rules of the product's common/path-filter.ts, see `excluder`). Plain HTTP with `requests`: POST /api/pfs_v2.API/DiffFile (NDJSON response) and
GET /pfs/<project>/<repo>/<commit>/<path> for the bytes, streamed to disk. The token is by default a robot
token that may only read this repo and expires after the run; without one in the config (the worker's
PACHD_EXPERIMENT_TOKEN=none) the trial's environment variable PACHD_TOKEN is used, if set.
"""

import json
import os
import re
from typing import Dict, Iterator, List, Optional

import requests

COMMIT_ID = re.compile(r"^[0-9a-f]{32}$")
# pfs_v2.FileType's protojson name is "FILE" (enum value FILE = 1); also accept the number and a prefixed
# spelling, so that a gateway configured differently does not silently select nothing.
FILE_TYPES = ("FILE", "FILE_TYPE_FILE", 1)
TIMEOUT = (10, 300)  # connect, read (seconds)


def excluder(patterns: List[str]):
    """A predicate telling whether a path is excluded: `*` and `?` match within one path segment, `**`
    across segments (`**/` also none), a leading `/` is implied, and a directory's pattern excludes what is under it.
    The same rules as the workflow's diff (product/common/path-filter.ts), so both count the same files."""
    regexes = []
    for pattern in patterns or []:
        glob = pattern if pattern.startswith("/") else "/" + pattern
        if len(glob) > 1 and glob.endswith("/"):
            glob = glob[:-1]
        out, i = "", 0
        while i < len(glob):
            c = glob[i]
            if glob.startswith("**/", i):  # `**/` also matches no directory at all
                out, i = out + "(?:.*/)?", i + 3
                continue
            if glob.startswith("**", i):
                out, i = out + ".*", i + 2
                continue
            out += "[^/]*" if c == "*" else "[^/]" if c == "?" else re.escape(c)
            i += 1
        regexes.append(re.compile("^" + out + "(?:/.*)?$", re.S))

    def excluded(path: str) -> bool:
        p = path if path.startswith("/") else "/" + path
        return any(r.match(p) for r in regexes)

    return excluded


class NoNewDataError(RuntimeError):
    """The commit added or changed no file: training on it would silently produce nothing."""


class PachydermSource:
    def __init__(self, cfg: Dict):
        self.cfg = cfg
        host = str(cfg.get("host") or "").strip()
        if not host:
            raise ValueError("data.pachyderm.host is empty: the workflow must fill in the pachd address")
        # host may be a bare name (the original used PACHD_LB_SERVICE_HOST) or a URL.
        if "://" not in host:
            port = str(cfg.get("port") or "").strip()
            host = f"http://{host}:{port}" if port else f"http://{host}"
        self.base_url = host.rstrip("/")
        self.project = cfg.get("project") or "default"
        self.repo = cfg.get("repo") or ""
        # The original passed the commit id as `branch`; accept either.
        self.commit = cfg.get("commit") or cfg.get("branch") or ""
        self.base_commit = cfg.get("base_commit") or ""
        self.all_files = cfg.get("all_files") is True
        exclude = cfg.get("exclude") or []
        if not isinstance(exclude, list) or not all(isinstance(p, str) and p for p in exclude):
            raise ValueError("data.pachyderm.exclude must be a list of path patterns")
        self.exclude = exclude
        self.excluded = excluder(exclude)
        self.excluded_count = 0
        if not self.repo or not self.commit:
            raise ValueError("data.pachyderm.repo and data.pachyderm.commit (or branch) are required")
        self.session = requests.Session()
        # No `Connection: keep-alive` header (requests sends one by default): pachd's REST gateway
        # passes every header on as gRPC metadata and answers a hop-by-hop one with HTTP 500. HTTP/1.1
        # connections are kept alive without it.
        self.session.headers.pop("Connection", None)
        # With PACHD_EXPERIMENT_TOKEN=none the config has no token: the trial's environment may bring one.
        token = cfg.get("token") or os.environ.get("PACHD_TOKEN")
        if token:
            self.session.headers["authn-token"] = str(token)

    def _commit(self, ref: str) -> Dict:
        repo = {"name": self.repo, "type": "user", "project": {"name": self.project}}
        if COMMIT_ID.match(ref):
            return {"repo": repo, "id": ref}
        # A branch name stands for the branch's head commit.
        return {"repo": repo, "branch": {"repo": repo, "name": ref}}

    def diff(self) -> Iterator[Dict]:
        """Yields DiffFile responses ({newFile?, oldFile?}) in path order; every file as new with all_files."""
        root = {"commit": self._commit(self.commit), "path": "/"}
        if self.all_files:
            for info in self._stream("WalkFile", {"file": root}):
                yield {"newFile": info}
            return
        body: Dict = {"newFile": root}
        if self.base_commit:
            body["oldFile"] = {"commit": self._commit(self.base_commit), "path": "/"}
        yield from self._stream("DiffFile", body)

    def _stream(self, method: str, body: Dict) -> Iterator[Dict]:
        url = f"{self.base_url}/api/pfs_v2.API/{method}"
        with self.session.post(url, json=body, stream=True, timeout=TIMEOUT) as resp:
            if resp.status_code != 200:
                raise RuntimeError(f"{method} failed: HTTP {resp.status_code}: {resp.text[:500]}")
            for line in resp.iter_lines():
                if not line.strip():
                    continue
                msg = json.loads(line)
                if "error" in msg:
                    raise RuntimeError(f"{method} failed: {msg['error']}")
                yield msg.get("result", msg)

    def new_and_updated_files(self) -> List[str]:
        """Paths of regular files that were added or modified (not deleted, not directories)."""
        paths = []
        for change in self.diff():
            new = change.get("newFile")
            if not new or new.get("fileType") not in FILE_TYPES:
                continue
            path = new.get("file", {}).get("path", "")
            if not path or path == "/":
                continue
            if self.excluded(path):
                self.excluded_count += 1
                continue
            paths.append(path)
        return paths

    def download(self, path: str, dest_root: str) -> str:
        """Streams one file of the commit to dest_root/<path>; returns the local path."""
        rel = path.lstrip("/")
        if not rel or any(part in ("", ".", "..") for part in rel.split("/")):
            raise ValueError(f"refusing unsafe path from Pachyderm: {path!r}")
        dest = os.path.join(dest_root, rel)
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        quoted = requests.utils.quote(rel)
        url = f"{self.base_url}/pfs/{self.project}/{self.repo}/{self.commit}/{quoted}"
        with self.session.get(url, stream=True, timeout=TIMEOUT) as resp:
            if resp.status_code != 200:
                raise RuntimeError(f"GET {url} failed: HTTP {resp.status_code}: {resp.text[:300]}")
            with open(dest, "wb") as f:
                for chunk in resp.iter_content(chunk_size=1 << 16):
                    f.write(chunk)
        return dest


def download_new_files(cfg: Dict, dest_root: str, log=print) -> List[str]:
    """Downloads the commit's new and updated files; raises NoNewDataError when there are none.

    Returns the Pachyderm paths (e.g. /data/circle/000.pgm); each file is at dest_root + path.
    """
    src = PachydermSource(cfg)
    paths = src.new_and_updated_files()
    against = "nothing (every file)" if src.all_files else src.base_commit or "its parent"
    left_out = f" ({src.excluded_count} excluded by {', '.join(src.exclude)})" if src.exclude else ""
    if not paths:
        raise NoNewDataError(f"commit {src.commit} of {src.project}/{src.repo} adds or changes no file against {against}{left_out}")
    log(f"{len(paths)} new or updated files in {src.project}/{src.repo}@{src.commit} against {against}{left_out}")
    for p in paths:
        src.download(p, dest_root)
    return paths


def main(argv: Optional[List[str]] = None) -> None:
    """`python3 pachyderm_data.py '<data.pachyderm json>' DEST` downloads and prints the paths (for tests)."""
    import sys

    args = sys.argv[1:] if argv is None else argv
    paths = download_new_files(json.loads(args[0]), args[1], log=lambda m: print(m, file=sys.stderr))
    print(json.dumps(paths))


if __name__ == "__main__":
    main()
