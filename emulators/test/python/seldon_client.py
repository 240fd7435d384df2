"""Drives the Seldon Deploy emulator with the official seldon-deploy-sdk, the way the original deploy pipeline did.

Environment:
  SELDON_URL            emulator base URL (required), e.g. http://127.0.0.1:8003
  SELDON_CLIENT_SECRET  secret of the OIDC client sd-api (default sd-api-secret)
  SELDON_NAMESPACE      namespace to use (default seldon)
  SELDON_TOKEN_TTL      token lifetime the emulator was started with, in seconds: the script waits past it once
                        to prove that the SDK re-authenticates after a 401 (default: skip that step)

Asserts every step and exits non-zero on the first failure; prints one "OK <step>" line per step.
"""
import os
import sys
import time

from seldon_deploy_sdk import ApiClient, Configuration
from seldon_deploy_sdk.api.drift_detector_api import DriftDetectorApi
from seldon_deploy_sdk.api.outlier_detector_api import OutlierDetectorApi
from seldon_deploy_sdk.api.seldon_deployments_api import SeldonDeploymentsApi
from seldon_deploy_sdk.auth import OIDCAuthenticator
from seldon_deploy_sdk.rest import ApiException


def step(message):
    print(f"OK {message}", flush=True)


def detector(name, kind):
    return {
        "name": name,
        "config": {
            "basic": {"drift_batch_size": "4", "storage_uri": f"gs://detectors/seldon/{kind}_detector"},
            "deployment": {
                "model_name": "12345",
                "event_type": f"io.seldon.serving.inference.{kind}",
                "event_source": f"io.seldon.serving.seldon-seldondeployment-{name}-{kind}",
                "reply_url": "http://seldon-request-logger.seldon-logs",
                "protocol": "seldon.http",
                "http_port": "8080",
                "user_permission": 8888,
            },
        },
    }


def deployment(name, namespace, image="example/serve:0.0.7"):
    container = f"{name}-container"
    return {
        "apiVersion": "machinelearning.seldon.io/v1",
        "kind": "SeldonDeployment",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "name": name,
            "predictors": [
                {
                    "name": "default",
                    "replicas": 1,
                    "traffic": 100,
                    "componentSpecs": [
                        {
                            "spec": {
                                "containers": [
                                    {
                                        "name": container,
                                        "image": image,
                                        "env": [{"name": "MODEL_METADATA", "value": "---\nname: dogcat\n"}],
                                    }
                                ]
                            }
                        }
                    ],
                    "graph": {
                        "name": container,
                        "type": "MODEL",
                        "parameters": [
                            {"name": "model_name", "type": "STRING", "value": "dogcat"},
                            {"name": "model_version", "type": "STRING", "value": "12345"},
                        ],
                    },
                }
            ],
        },
    }


def main():
    url = os.environ["SELDON_URL"].rstrip("/")
    namespace = os.environ.get("SELDON_NAMESPACE", "seldon")
    name = "dogcat-deploy"

    config = Configuration()
    config.host = f"{url}/seldon-deploy/api/v1alpha1"
    config.oidc_server = f"{url}/auth/realms/deploy-realm"
    config.oidc_client_id = "sd-api"
    config.oidc_client_secret = os.environ.get("SELDON_CLIENT_SECRET", "sd-api-secret")
    config.auth_method = "client_credentials"
    config.verify_ssl = False

    authenticator = OIDCAuthenticator(config)
    config.id_token = authenticator.authenticate()
    assert config.id_token.count(".") == 2, "expected a JWT id_token"
    step("authenticated with client credentials")

    api_client = ApiClient(config, authenticator=authenticator)
    deployments = SeldonDeploymentsApi(api_client)

    try:
        deployments.read_seldon_deployment(name, namespace)
        raise AssertionError("deployment should not exist yet")
    except ApiException as e:
        assert e.status == 404, f"expected 404 for a missing deployment, got {e.status}"
    step("missing deployment is 404")

    created = deployments.create_seldon_deployment(namespace, deployment(name, namespace))
    assert created.metadata.name == name, created.metadata
    assert created.metadata.uid, "uid missing"
    # The status is a subresource the controller writes later: a create answers none.
    assert created.status is None, created.status
    step("created deployment")

    try:
        deployments.create_seldon_deployment(namespace, deployment(name, namespace))
        raise AssertionError("a second create should conflict")
    except ApiException as e:
        assert e.status == 409, f"expected 409, got {e.status}"
    step("second create is a conflict")

    deadline = time.time() + 30
    while True:
        current = deployments.read_seldon_deployment(name, namespace)
        if current.status and current.status.state == "Available":
            break
        assert time.time() < deadline, f"never Available: {current.status}"
        time.sleep(0.1)
    assert current.status.address.url.endswith(f"/seldon/{namespace}/{name}/api/v1.0/predictions"), current.status.address
    assert any(c["type"] == "DeploymentsReady" and c["status"] == "True" for c in current.status.conditions), current.status.conditions
    step("deployment is Available")

    # An update carries the resourceVersion it read: 422 without one, 409 with a stale one.
    changed = deployment(name, namespace, image="example/serve:0.0.8")
    for version, status, words in [(None, 422, "must be specified for an update"), ("1", 409, "the object has been modified")]:
        changed["metadata"].pop("resourceVersion", None)
        if version:
            changed["metadata"]["resourceVersion"] = version
        try:
            deployments.update_seldon_deployment(name, namespace, changed)
            raise AssertionError(f"an update at resourceVersion {version} should be refused")
        except ApiException as e:
            assert e.status == status and words in e.body, (e.status, e.body)
    changed["metadata"]["resourceVersion"] = current.metadata.resource_version
    updated = deployments.update_seldon_deployment(name, namespace, changed)
    assert updated.metadata.generation == 2, updated.metadata
    # It answers the previous status (Available) until the controller catches up; there is no observedGeneration
    # to tell, so "poll until Available" must wait for the status to change after the update's resourceVersion.
    assert updated.status.state == "Available" and updated.status.observed_generation is None, updated.status
    deadline = time.time() + 30
    while True:
        current = deployments.read_seldon_deployment(name, namespace)
        if current.metadata.resource_version != updated.metadata.resource_version and current.status.state == "Available":
            break
        assert time.time() < deadline, f"the update never became Available: {current.status}"
        time.sleep(0.1)
    step("updated at its resourceVersion; Available again once the status caught up")

    try:
        deployments.validate_seldon_deployment(namespace, deployment(name, namespace))
        raise AssertionError("validate without a body should be refused")
    except ApiException as e:
        # The generated client drops a GET's body; the route still is ValidateSeldonDeployment, not a deployment.
        assert e.status == 400 and "required in the request body" in e.body, (e.status, e.body)
    step("validate route answers (the SDK sends no body)")

    listed = deployments.list_seldon_deployments(namespace)
    assert [d.metadata.name for d in listed.items] == [name], listed
    step("listed deployments")

    drift = DriftDetectorApi(api_client).create_drift_detector_seldon_deployment(name, namespace, detector(name, "drift"))
    assert drift.name == name and drift.detector_type == "drift", drift
    assert drift.config.basic.drift_batch_size == "4", drift.config
    listed_drift = DriftDetectorApi(api_client).list_drift_detector_seldon_deployment(name, namespace)
    assert [d.name for d in listed_drift] == [name], listed_drift
    step("created drift detector")

    outlier = OutlierDetectorApi(api_client).create_outlier_detector_seldon_deployment(name, namespace, detector(name, "outlier"))
    assert outlier.detector_type == "outlier", outlier
    step("created outlier detector")

    ttl = os.environ.get("SELDON_TOKEN_TTL")
    if ttl:
        old_token = config.id_token
        time.sleep(float(ttl) + 0.3)
        again = deployments.read_seldon_deployment(name, namespace)
        assert again.metadata.name == name
        assert config.id_token != old_token, "the SDK should have fetched a new token after the 401"
        step("re-authenticated after the token expired")

    deleted = deployments.delete_seldon_deployment(name, namespace)
    assert deleted is not None
    try:
        deployments.read_seldon_deployment(name, namespace)
        raise AssertionError("deployment should be gone")
    except ApiException as e:
        assert e.status == 404, f"expected 404 after delete, got {e.status}"
    step("deleted deployment")
    print("ALL OK")


if __name__ == "__main__":
    try:
        main()
    except Exception as exc:  # report every failure the same way, with a non-zero exit
        print(f"FAILED: {type(exc).__name__}: {exc}", file=sys.stderr)
        raise
