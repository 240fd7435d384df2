"""One small interface over the two ways this experiment runs, so train.py does not care which.

- Under a real Determined cluster: the Core API (`det.core.init()`); the source checkpoint of a
  continued experiment (searcher.source_checkpoint_uuid) arrives as `latest_checkpoint`.
- Under the Determined emulator's process runner (CT_EMULATOR=determined): the contract is
  environment variables and files: CT_EXPERIMENT_CONFIG (path of the full config as JSON),
  CT_HPARAMS and CT_DATA_CONFIG (JSON), CT_CHECKPOINT_DIR (write the new checkpoint there),
  CT_SOURCE_CHECKPOINT_DIR (only when continuing) and CT_METRICS_FILE (append JSON lines).
"""

import contextlib
import json
import os
from typing import Any, Dict, Iterator, Optional


class TrainContext:
    config: Dict[str, Any]
    hparams: Dict[str, Any]
    data_config: Dict[str, Any]

    def source_checkpoint(self) -> "contextlib.AbstractContextManager[Optional[str]]":
        """A directory with the checkpoint to continue from, or None for a fresh start."""
        raise NotImplementedError

    def store_checkpoint(self, steps: int) -> "contextlib.AbstractContextManager[str]":
        """A directory to write the new checkpoint's files into; it is saved when the block exits."""
        raise NotImplementedError

    def report_training(self, steps: int, metrics: Dict[str, float]) -> None:
        raise NotImplementedError

    def report_validation(self, steps: int, metrics: Dict[str, float]) -> None:
        raise NotImplementedError


class EmulatorContext(TrainContext):
    def __init__(self) -> None:
        with open(os.environ["CT_EXPERIMENT_CONFIG"]) as f:
            self.config = json.load(f)
        self.hparams = json.loads(os.environ.get("CT_HPARAMS") or "{}") or self.config.get("hyperparameters", {})
        self.data_config = json.loads(os.environ.get("CT_DATA_CONFIG") or "{}") or self.config.get("data", {})
        self._metrics_file = os.environ["CT_METRICS_FILE"]
        self._checkpoint_dir = os.environ["CT_CHECKPOINT_DIR"]

    @contextlib.contextmanager
    def source_checkpoint(self) -> Iterator[Optional[str]]:
        yield os.environ.get("CT_SOURCE_CHECKPOINT_DIR") or None

    @contextlib.contextmanager
    def store_checkpoint(self, steps: int) -> Iterator[str]:
        os.makedirs(self._checkpoint_dir, exist_ok=True)
        yield self._checkpoint_dir

    def _append(self, kind: str, steps: int, metrics: Dict[str, float]) -> None:
        with open(self._metrics_file, "a") as f:
            f.write(json.dumps({"kind": kind, "steps": steps, "metrics": metrics}) + "\n")

    def report_training(self, steps: int, metrics: Dict[str, float]) -> None:
        self._append("training", steps, metrics)

    def report_validation(self, steps: int, metrics: Dict[str, float]) -> None:
        self._append("validation", steps, metrics)


class CoreApiContext(TrainContext):
    def __init__(self, core_context: Any, info: Any) -> None:
        self._core = core_context
        self.config = info.trial._config  # the full experiment config (private, but what the harness uses)
        self.hparams = info.trial.hparams
        self.data_config = info.user_data
        self._latest_checkpoint = info.latest_checkpoint

    @contextlib.contextmanager
    def source_checkpoint(self) -> Iterator[Optional[str]]:
        if not self._latest_checkpoint:
            yield None
            return
        with self._core.checkpoint.restore_path(self._latest_checkpoint) as path:
            yield str(path)

    @contextlib.contextmanager
    def store_checkpoint(self, steps: int) -> Iterator[str]:
        with self._core.checkpoint.store_path({"steps_completed": steps}) as (path, _storage_id):
            yield str(path)

    def report_training(self, steps: int, metrics: Dict[str, float]) -> None:
        self._core.train.report_training_metrics(steps_completed=steps, metrics=metrics)

    def report_validation(self, steps: int, metrics: Dict[str, float]) -> None:
        self._core.train.report_validation_metrics(steps_completed=steps, metrics=metrics)


@contextlib.contextmanager
def init() -> Iterator[TrainContext]:
    if os.environ.get("CT_EMULATOR") == "determined":
        yield EmulatorContext()
        return
    # Imported here so that the emulator path does not need the determined package.
    import determined as det

    info = det.get_cluster_info()
    if info is None:
        raise RuntimeError("not running under Determined (no cluster info) and CT_EMULATOR is not 'determined'")
    with det.core.init() as core_context:
        yield CoreApiContext(core_context, info)
