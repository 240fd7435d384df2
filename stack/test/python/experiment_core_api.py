"""Runs the experiment's training through ct_context.CoreApiContext, the path it takes on a real Determined
cluster, with the real Core API objects of the `determined` package in their off-cluster form
(det.core._dummy_init with a directory as checkpoint storage). Only the ClusterInfo, which a cluster would
provide, is stood in for. Checks that train.py's Core API calls (metrics, store_path, restore_path) are
right for this SDK version.

  python experiment_core_api.py STORAGE_DIR '<full experiment config json>' [SOURCE_STORAGE_ID]
Prints {"storage_id": ...} of the new checkpoint.
"""

import json
import os
import shutil
import sys
import tempfile
import types

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "experiments", "shapes"))

import determined as det  # noqa: E402

import ct_context  # noqa: E402
import train  # noqa: E402


def main() -> int:
    storage_dir, config = sys.argv[1], json.loads(sys.argv[2])
    source = sys.argv[3] if len(sys.argv) > 3 else None
    info = types.SimpleNamespace(
        trial=types.SimpleNamespace(_config=config, hparams=config["hyperparameters"]),
        user_data=config["data"],
        latest_checkpoint=source,
    )
    before = set(os.listdir(storage_dir)) if os.path.isdir(storage_dir) else set()
    data_dir = tempfile.mkdtemp(prefix="shapes-data-")
    try:
        with det.core._dummy_init(checkpoint_storage=storage_dir) as core:
            train.train(ct_context.CoreApiContext(core, info), data_dir)
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)
    # The new checkpoint is the one new directory (named by its storage id) in the storage.
    (storage_id,) = set(os.listdir(storage_dir)) - before
    print(json.dumps({"storage_id": storage_id}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
