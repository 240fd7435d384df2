"""Drives the pachd emulator's gRPC port with the official pachyderm_sdk (pinned in requirements-dev.txt).

Environment:
  PACHD_GRPC_HOST   emulator gRPC host (default 127.0.0.1)
  PACHD_GRPC_PORT   emulator gRPC port (required)
  PACHD_AUTH_TOKEN  the token the emulator was started with (required: the script also checks a wrong one fails)
  PACHD_REPO        repo to create (default images)

Asserts every step and exits non-zero on the first failure; prints one "OK <step>" line per step.
"""
import os
import sys

import grpc
from pachyderm_sdk import Client
from pachyderm_sdk.api import auth, pfs


def step(message):
    print(f"OK {message}", flush=True)


def check(condition, message):
    if not condition:
        raise AssertionError(message)


def main():
    host = os.environ.get("PACHD_GRPC_HOST", "127.0.0.1")
    port = int(os.environ["PACHD_GRPC_PORT"])
    token = os.environ["PACHD_AUTH_TOKEN"]
    repo_name = os.environ.get("PACHD_REPO", "images")

    client = Client(host=host, port=port, auth_token=token)
    version = client.get_version()
    check(version.major == 2, f"version {version}")
    step(f"version {version.major}.{version.minor}.{version.micro}{version.additional}")
    whoami = client.auth.who_am_i()
    check(whoami.username == "pach:root", f"who_am_i {whoami}")
    step(f"who_am_i {whoami.username}")

    repo = pfs.Repo(name=repo_name, type="user")
    client.pfs.create_repo(repo=repo, description="from pachyderm_sdk")
    info = client.pfs.inspect_repo(repo=repo)
    check(info.description == "from pachyderm_sdk", f"inspect_repo {info}")
    check(client.pfs.repo_exists(repo) and not client.pfs.repo_exists(pfs.Repo(name="nope", type="user")), "repo_exists")
    step(f"create_repo {repo_name}")

    master = pfs.Branch(repo=repo, name="master")
    with client.pfs.commit(branch=master, description="first") as c1:
        c1.put_file_from_bytes(path="/keep.txt", data=b"unchanged\n")
        c1.put_file_from_bytes(path="/change.txt", data=b"version 1\n")
        c1.put_file_from_bytes(path="/dir/gone.txt", data=b"deleted later\n")
    first = c1.wait()
    check(first.finished is not None and first.details is not None, f"first commit not finished: {first}")
    check(first.description == "first" and first.commit.id == c1.id, f"first commit {first}")
    step(f"commit 1 {first.commit.id} finished, {first.details.size_bytes} bytes")

    with client.pfs.commit(branch=master, description="second") as c2:
        c2.put_file_from_bytes(path="/change.txt", data=b"version 2\n")
        c2.put_file_from_bytes(path="/new.txt", data=b"brand new\n")
        c2.delete_file(path="/dir/gone.txt")
    second = client.pfs.inspect_commit(commit=c2, wait=pfs.CommitState.FINISHED)
    check(second.finished is not None, f"second commit not finished: {second}")
    check(second.parent_commit.id == first.commit.id, f"parent {second.parent_commit.id} != {first.commit.id}")
    step(f"commit 2 {second.commit.id} finished, parent {second.parent_commit.id}")

    added, modified, deleted = set(), set(), set()
    for d in client.pfs.diff_file(
        new_file=pfs.File(commit=c2, path="/"),
        old_file=pfs.File(commit=c1, path="/"),
    ):
        new_path = d.new_file.file.path if d.new_file else ""
        old_path = d.old_file.file.path if d.old_file else ""
        if new_path and old_path:
            modified.add(new_path)
        elif new_path:
            added.add(new_path)
        else:
            deleted.add(old_path)
    # Directories take part as pachd reports them: the root changed, /dir/ went with its only file.
    check(added == {"/new.txt"}, f"added {sorted(added)}")
    check(modified == {"/", "/change.txt"}, f"modified {sorted(modified)}")
    check(deleted == {"/dir/", "/dir/gone.txt"}, f"deleted {sorted(deleted)}")
    step(f"diff added={sorted(added)} modified={sorted(modified)} deleted={sorted(deleted)}")

    content = b"".join(chunk.value for chunk in client.pfs.get_file(file=pfs.File(commit=c2, path="/change.txt")))
    check(content == b"version 2\n", f"get_file {content!r}")
    with client.pfs.pfs_file(file=pfs.File.from_uri(f"{repo_name}@master:/keep.txt")) as f:
        kept = f.read()
    check(kept == b"unchanged\n", f"pfs_file {kept!r}")
    listed = sorted(fi.file.path for fi in client.pfs.list_file(file=pfs.File(commit=c2, path="/")))
    check(listed == ["/change.txt", "/keep.txt", "/new.txt"], f"list_file {listed}")
    step(f"read back {content!r}, list_file {listed}")

    try:
        client.pfs.inspect_file(file=pfs.File(commit=c2, path="/dir/gone.txt"))
        raise AssertionError("inspect_file of a deleted file succeeded")
    except grpc.RpcError as err:
        check(err.code() == grpc.StatusCode.NOT_FOUND, f"inspect_file of a deleted file: {err.code()} {err.details()}")
    step("deleted file is NOT_FOUND")

    # As pachd's globMatchFunction: the root directory is matched by the glob "/" only.
    for pattern in ["/*", "*", "/**"]:
        globbed = [fi.file.path for fi in client.pfs.glob_file(commit=c2, pattern=pattern)]
        check("/" not in globbed and "/keep.txt" in globbed, f"glob_file {pattern}: {globbed}")
    root = [fi.file.path for fi in client.pfs.glob_file(commit=c2, pattern="/")]
    check(root == ["/"], f"glob_file /: {root}")
    step("glob_file lists the root for / only")

    # pachd's deleteRepo: a missing repo is deleted=False, not an error, with or without force.
    for force in [False, True]:
        gone = client.pfs.delete_repo(repo=pfs.Repo(name="never-created", type="user"), force=force)
        check(gone.deleted is False, f"delete_repo of a missing repo (force={force}): {gone}")
    step("delete_repo of a missing repo: deleted=False")

    wrong = Client(host=host, port=port, auth_token=token + "-wrong")
    try:
        wrong.pfs.inspect_repo(repo=repo)
        raise AssertionError("a wrong token was accepted")
    except grpc.RpcError as err:
        check(err.code() == grpc.StatusCode.UNAUTHENTICATED, f"wrong token: {err.code()}")
        check("provided auth token is corrupted or has expired" in err.details(), f"wrong token: {err.details()}")
        step(f"wrong token {err.code().name}: {err.details()}")

    # A robot token scoped by a role binding: repoReader on this repo reads it, and nothing else.
    robot = client.auth.get_robot_token(robot="sdk-reader", ttl=600).token
    check(len(robot) == 32, f"get_robot_token: {robot!r}")
    resource = auth.Resource(type=auth.ResourceType.REPO, name=f"default/{repo_name}")
    client.auth.modify_role_binding(resource=resource, principal="robot:sdk-reader", roles=["repoReader"])
    binding = client.auth.get_role_binding(resource=resource).binding
    check(binding.entries["robot:sdk-reader"].roles == {"repoReader": True}, f"get_role_binding: {binding}")
    reader = Client(host=host, port=port, auth_token=robot)
    me = reader.auth.who_am_i()
    check(me.username == "robot:sdk-reader" and me.expiration is not None, f"robot who_am_i: {me}")
    data = reader.pfs.pfs_file(file=pfs.File(commit=c2, path="/change.txt")).read()
    check(data == b"version 2\n", f"robot read: {data!r}")
    step(f"robot {me.username} reads {repo_name}")
    try:
        with reader.pfs.commit(branch=master) as c3:
            c3.put_file_from_bytes(path="/x", data=b"x")
        raise AssertionError("a repoReader robot could write")
    except grpc.RpcError as err:
        check(err.code() == grpc.StatusCode.PERMISSION_DENIED, f"robot write: {err.code()} {err.details()}")
        check(err.details().startswith("start commit in transaction: robot:sdk-reader is not authorized to perform this operation - needs permissions [REPO_WRITE]"), err.details())
        step(f"robot write {err.code().name}")
    try:
        reader.auth.get_robot_token(robot="escalate")
        raise AssertionError("a robot without robotUser minted a token")
    except grpc.RpcError as err:
        check(err.code() == grpc.StatusCode.PERMISSION_DENIED, f"robot get_robot_token: {err.code()} {err.details()}")
        step(f"robot get_robot_token {err.code().name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
