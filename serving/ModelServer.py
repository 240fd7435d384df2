"""Seldon Core Python wrapper class: serves one model version from Determined's model registry.

Run as `seldon-core-microservice ModelServer --service-type MODEL`; seldon-core builds the class
with the graph's parameters (PREDICTIVE_UNIT_PARAMETERS):
  model_name              the registered model's name                       (required)
  model_version           the version's *name*: the input commit id          (this or the next)
  model_registry_version  the registry's version number, optional; when both are given, both must match
  det_master              the master's address, optional; DET_MASTER is used otherwise
Credentials come only from the environment (DET_USER, DET_PASSWORD, injected from a Kubernetes
secret), never from parameters, which are stored in plain text in the SeldonDeployment.

The checkpoint is downloaded through the master (GET /checkpoints/{uuid}), so the pod needs no
checkpoint-storage credentials. It then loads the predictor named in the checkpoint's model.json
("predictor": "<file in the checkpoint>:<function>"), i.e. the experiment's own model code,
saved with the weights; the function gets the checkpoint directory and returns an object with
`predict(X)` (class probabilities) and `class_names`, holding everything it needs in memory. Any failure raises in __init__: the microservice exits non-zero and the
deployment goes Failed, instead of serving a model that is not the requested one.
"""

import importlib.util
import json
import logging
import os
import tempfile
from typing import Any, Dict, List, Optional

import numpy as np

logger = logging.getLogger(__name__)


class ModelServer:
    def __init__(
        self,
        model_name: str,
        model_version: Optional[str] = None,
        model_registry_version: Optional[Any] = None,
        det_master: Optional[str] = None,
        checkpoint_uuid: Optional[str] = None,
    ):
        # Imported here so that importing this module (e.g. for its docs) needs no determined package.
        from determined.common.experimental.checkpoint import DownloadMode
        from determined.experimental import client

        if not model_name:
            raise ValueError("graph parameter model_name is required")
        if not model_version and model_registry_version in (None, ""):
            raise ValueError("graph parameter model_version (the version's name) or model_registry_version is required")
        master = det_master or os.environ.get("DET_MASTER")
        user, password = os.environ.get("DET_USER"), os.environ.get("DET_PASSWORD")
        if not master:
            raise ValueError("the Determined master's address is missing: set DET_MASTER (or the det_master parameter)")
        if not user:
            raise ValueError("DET_USER is not set: mount the Determined credentials secret (envFrom secretRef)")
        # The SDK keeps its token cache under HOME; a container's HOME may be / and read-only.
        if not os.environ.get("HOME") or os.environ["HOME"] == "/" or not os.access(os.environ["HOME"], os.W_OK):
            os.environ["HOME"] = tempfile.mkdtemp(prefix="model-server-home-")

        registry_version = int(model_registry_version) if model_registry_version not in (None, "") else None
        det = client.Determined(master=master, user=user, password=password)
        model = det.get_model(model_name)
        version = self._pick_version(model.get_versions(), model_name, model_version, registry_version)
        ckpt = version.checkpoint
        # The deployment records which checkpoint it expects: serving another one would be silent drift.
        if checkpoint_uuid and ckpt.uuid != checkpoint_uuid:
            raise ValueError(
                f"model {model_name!r} version {version.name!r} has checkpoint {ckpt.uuid}, "
                f"but the deployment expects {checkpoint_uuid}"
            )
        logger.info("serving %s version %s (#%s), checkpoint %s", model_name, version.name, version.model_version, ckpt.uuid)

        model_dir = os.environ.get("MODEL_DIR")
        if model_dir:
            # The image sets MODEL_DIR: a restarted container finds the checkpoint there and skips the download.
            self.predictor = load_predictor(ckpt.download(path=os.path.join(model_dir, ckpt.uuid), mode=DownloadMode.MASTER))
        else:
            # Predictors load everything into memory, so the download need not outlive __init__.
            with tempfile.TemporaryDirectory(prefix="model-") as tmp:
                self.predictor = load_predictor(ckpt.download(path=os.path.join(tmp, ckpt.uuid), mode=DownloadMode.MASTER))
        self._class_names: List[str] = list(self.predictor.class_names)
        self._tags = {
            "model_name": model_name,
            "model_version": version.name,
            "model_registry_version": version.model_version,
            "checkpoint_uuid": ckpt.uuid,
        }

    @staticmethod
    def _pick_version(versions: List[Any], model_name: str, name: Optional[str], number: Optional[int]) -> Any:
        found = [
            v
            for v in versions
            if (not name or v.name == name) and (number is None or v.model_version == number)
        ]
        if not found:
            known = ", ".join(f"#{v.model_version} {v.name!r}" for v in versions) or "none"
            wanted = " and ".join(x for x in (name and f"name {name!r}", number is not None and f"number {number}") if x)
            raise LookupError(f"model {model_name!r} has no version with {wanted} (versions: {known})")
        # Names should be unique (one per input commit); if not, serve the newest.
        return max(found, key=lambda v: v.model_version)

    def predict(self, X, names: Optional[List[str]] = None, meta: Optional[Dict] = None):
        """Class probabilities, one row per input, in the order of class_names()."""
        return np.asarray(self.predictor.predict(X))

    def class_names(self) -> List[str]:
        """The columns of predict's output (seldon-core puts them in data.names)."""
        return list(self._class_names)

    def tags(self) -> Dict[str, Any]:
        """Added to every response's meta.tags: which registry version answered."""
        return dict(self._tags)


def load_predictor(checkpoint_dir: str) -> Any:
    """Imports the predictor named by the checkpoint's model.json and builds it from the checkpoint."""
    info_path = os.path.join(checkpoint_dir, "model.json")
    if not os.path.exists(info_path):
        raise FileNotFoundError(f"{checkpoint_dir} has no model.json: not a checkpoint this server can load")
    with open(info_path) as f:
        info = json.load(f)
    file_name, _, func_name = str(info.get("predictor", "")).partition(":")
    code = os.path.realpath(os.path.join(checkpoint_dir, file_name))
    if not file_name or not func_name or not code.startswith(os.path.realpath(checkpoint_dir) + os.sep):
        raise ValueError(f"model.json's predictor must be '<file in the checkpoint>:<function>', got {info.get('predictor')!r}")
    spec = importlib.util.spec_from_file_location("checkpoint_model", code)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot import {code}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return getattr(module, func_name)(checkpoint_dir)
