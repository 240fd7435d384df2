"""The Determined emulator's error answers, as the official `determined` SDK sees them; asserts, exits non-zero on failure.

Environment: DET_MASTER (emulator URL) and DET_PASS, the password of `determined` and of the users `sso-only`
(remote) and `retired` (inactive) the test creates.
"""
import os
import sys
from typing import Any, Callable, Type

from determined.common.api import authentication, bindings, errors
from determined.experimental import client


def expect(kind: Type[Exception], call: Callable[[], Any], message: str) -> Exception:
    try:
        call()
    except kind as exc:
        assert message in str(exc), f"{kind.__name__}: {message!r} not in {str(exc)!r}"
        return exc
    except Exception as exc:
        raise AssertionError(f"expected {kind.__name__} ({message}), got {type(exc).__name__}: {exc}") from exc
    raise AssertionError(f"expected {kind.__name__} ({message}), got no error")


def main() -> None:
    master = os.environ["DET_MASTER"]
    password = os.environ["DET_PASS"]

    # A wrong password, an unknown user and a remote-only user: 401, which the SDK raises as UnauthenticatedException.
    for user, pw in [("determined", "wrong-password"), ("nobody", password), ("sso-only", password)]:
        exc = expect(errors.UnauthenticatedException, lambda: authentication.login(master, user, pw), "Unauthenticated")
        assert not isinstance(exc, errors.ForbiddenException), exc
    # Only an inactive user with the right password is told so, with a 403.
    expect(errors.ForbiddenException, lambda: authentication.login(master, "retired", password), "user is not active")
    print("login errors ok")

    session = authentication.login(master, "determined", password)
    det = client.Determined._from_session(session)
    expect(errors.APIException, lambda: det.create_model("20240101"), "model names cannot be only numbers")
    expect(errors.APIException, lambda: det.create_model("team/model"), "model names cannot have slashes")
    det.create_model("ct-errors-model")
    dup = expect(errors.APIException, lambda: det.create_model("ct-errors-model"), "avoid names equal to other models (case-sensitive)")
    assert getattr(dup, "status_code", None) == 409, dup
    print("model names ok")

    page = expect(errors.APIException, lambda: bindings.get_GetModels(session, offset=1000), "offset out of bounds")
    assert getattr(page, "status_code", None) == 400, page
    expect(errors.APIException, lambda: bindings.get_GetModelVersions(session, modelName="ct-errors-model", offset=1), "offset out of bounds")
    expect(
        errors.NotFoundException,
        lambda: bindings.get_GetModelVersion(session, modelName="ct-errors-model", modelVersionNum=7),
        'version 7 for model "ct-errors-model" not found',
    )
    print("paging and not-found ok")
    print("OK")


if __name__ == "__main__":
    try:
        main()
    except Exception as exc:  # report any failure as a non-zero exit with the reason
        print(f"FAILED: {type(exc).__name__}: {exc}", file=sys.stderr)
        raise
