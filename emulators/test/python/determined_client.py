"""Drives the Determined emulator with the official `determined` SDK; asserts and exits non-zero on failure.

Environment: DET_MASTER (emulator URL), DET_USER, DET_PASS, CT_EXPERIMENT_ID (a completed experiment
with a checkpoint), CT_DOWNLOAD_DIR (an empty directory).
"""
import os
import pathlib
import sys

from determined.experimental import client
from determined.common.experimental.checkpoint import DownloadMode


def main() -> None:
    master = os.environ["DET_MASTER"]
    client.login(master=master, user=os.environ["DET_USER"], password=os.environ["DET_PASS"])
    print("logged in")

    model = client.create_model("ct-python-model", description="", metadata={"pipeline": "p"})
    assert model.name == "ct-python-model", model.name
    found = client.get_models(name="python-model")
    assert [m.name for m in found] == ["ct-python-model"], [m.name for m in found]
    print("models ok")

    exp = client.get_experiment(int(os.environ["CT_EXPERIMENT_ID"]))
    state = exp.get_trials()[0].state
    assert exp.state.value == "STATE_COMPLETED", exp.state
    print("experiment", exp.id, exp.state.value, "trial", state.value)

    ckpt = exp.list_checkpoints(max_results=1)[0]
    assert ckpt.training is not None and ckpt.training.experiment_id == exp.id
    version = model.register_version(ckpt.uuid)
    version.set_name("commit-1")
    version.set_notes("Job_id/commit_id = commit-1")
    latest = model.get_version()
    assert latest is not None and latest.model_version == 1 and latest.name == "commit-1", latest
    assert latest.checkpoint.uuid == ckpt.uuid
    versions = model.get_versions()
    assert [v.name for v in versions] == ["commit-1"], versions
    print("versions ok")

    target = pathlib.Path(os.environ["CT_DOWNLOAD_DIR"]) / "ckpt"
    path = latest.checkpoint.download(str(target), mode=DownloadMode.MASTER)
    names = sorted(p.name for p in pathlib.Path(path).iterdir())
    assert "state_dict.pth" in names and "metadata.json" in names, names
    print("downloaded", ",".join(names))

    client.logout()
    print("OK")


if __name__ == "__main__":
    try:
        main()
    except Exception as exc:  # report any failure as a non-zero exit with the reason
        print(f"FAILED: {type(exc).__name__}: {exc}", file=sys.stderr)
        raise
