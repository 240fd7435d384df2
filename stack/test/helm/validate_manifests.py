"""Validates Kubernetes objects against the API schemas that kubernetes-validate ships, in strict mode (a field
the schema does not know is an error, as for `kubectl apply --validate=strict`), for its newest minor versions.

Input (stdin): {"objects": [...], "versions": N}. Output (stdout): {"versions": [...], "results": [...]}, one
result per object and version: {"kind", "name", "version", "error"} with error null when valid, or "no schema"
for kinds it has no schema for (custom resources).
"""
import json
import sys

import kubernetes_validate
from kubernetes_validate import utils


def newest_versions(count):
    versions = sorted(set(utils.all_versions()), key=lambda v: tuple(int(part) for part in v.split(".")))
    return versions[-count:]


def check(obj, version):
    try:
        kubernetes_validate.validate(obj, version, strict=True)
        return None
    except kubernetes_validate.SchemaNotFoundError:
        return "no schema"
    except kubernetes_validate.ValidationError as err:
        return "/" + "/".join(str(part) for part in err.absolute_path) + ": " + err.message


def main():
    request = json.load(sys.stdin)
    versions = newest_versions(request["versions"])
    results = [
        {"kind": obj.get("kind"), "name": obj.get("metadata", {}).get("name"), "version": version, "error": check(obj, version)}
        for obj in request["objects"]
        for version in versions
    ]
    json.dump({"versions": versions, "results": results}, sys.stdout)


if __name__ == "__main__":
    main()
