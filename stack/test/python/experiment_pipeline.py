"""Drives one training round of the example experiment with the real `determined` SDK, the way the
workflow does (and the original train.py did): get or create the model, continue from its latest
version's checkpoint when there is one (searcher.source_checkpoint_uuid), create the experiment
from experiments/shapes with data.pachyderm filled in, wait, register the best checkpoint and name
the version after the input commit. Prints one JSON line; exits 1 if the experiment did not complete.

  python experiment_pipeline.py MODEL '<data.pachyderm json>'
Needs DET_MASTER, DET_USER, DET_PASSWORD (a test helper, not part of the product).
"""

import json
import os
import sys

import yaml
from determined.common.api import errors
from determined.experimental import client

EXPERIMENT_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "experiments", "shapes")


def main() -> int:
    model_name, pachyderm = sys.argv[1], json.loads(sys.argv[2])
    # Explicit credentials: the SDK itself would read DET_PASS, not DET_PASSWORD.
    d = client.Determined(os.environ["DET_MASTER"], os.environ["DET_USER"], os.environ["DET_PASSWORD"])
    try:
        model = d.get_model(model_name)
    except errors.NotFoundException:
        model = d.create_model(model_name, description="shapes classifier (test)")
    latest = model.get_version()

    with open(os.path.join(EXPERIMENT_DIR, "const.yaml")) as f:
        config = yaml.safe_load(f)
    config["data"]["pachyderm"].update(pachyderm)
    config["labels"] = [pachyderm["repo"], pachyderm["commit"]]
    if latest is not None:
        config["searcher"]["source_checkpoint_uuid"] = latest.checkpoint.uuid

    exp = d.create_experiment(config=config, model_dir=EXPERIMENT_DIR)
    state = exp.wait(interval=0.2)
    result = {"experiment_id": exp.id, "state": state.value, "continued_from": latest.checkpoint.uuid if latest else None}
    if state.value != "STATE_COMPLETED":
        for trial in exp.get_trials():
            for line in trial.iter_logs():
                print(line, end="" if line.endswith("\n") else "\n", file=sys.stderr)
        print(json.dumps(result))
        return 1

    ckpt = exp.list_checkpoints(max_results=1)[0]
    version = model.register_version(ckpt.uuid)
    version.set_name(pachyderm["commit"])
    metrics = ckpt.training.validation_metrics if ckpt.training else {}
    result.update({"checkpoint_uuid": ckpt.uuid, "version": version.model_version, "version_name": version.name, "validation": metrics})
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
