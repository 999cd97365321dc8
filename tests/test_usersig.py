from __future__ import annotations

import contextlib
import io

import pytest

from officialaccount_webhook.tencent import generate_usersig
from tests.tencent import SECRET_KEY, decode_usersig


@pytest.mark.parametrize(
    ("sdk_app_id", "identifier", "now", "expire"),
    [
        (1400000000, "administrator", 1_717_000_000, 86_400),
        (1400000001, "ops_admin", 1_600_000_000, 180 * 86_400),
        (20000001, "管理员", 1_700_000_123, 60),
    ],
)
def test_equal_to_tencents_own_package_byte_for_byte(
    monkeypatch: pytest.MonkeyPatch, sdk_app_id: int, identifier: str, now: int, expire: int
) -> None:
    with contextlib.redirect_stdout(io.StringIO()):  # the reference package may print
        import TLSSigAPIv2  # type: ignore[import-untyped]  # test-only, untyped

    monkeypatch.setattr(TLSSigAPIv2.time, "time", lambda: now)
    reference = TLSSigAPIv2.TLSSigAPIv2(sdk_app_id, SECRET_KEY).gen_sig(identifier, expire)
    ours = generate_usersig(sdk_app_id, SECRET_KEY, identifier, now=now, expire=expire)
    assert ours == reference


def test_document_verifies() -> None:
    usersig = generate_usersig(
        1400000000, SECRET_KEY, "administrator", now=1_717_000_000, expire=86_400
    )
    document = decode_usersig(usersig)
    assert document["TLS.identifier"] == "administrator"
    assert document["TLS.sdkappid"] == 1400000000
    assert (document["TLS.time"], document["TLS.expire"]) == (1_717_000_000, 86_400)
    with pytest.raises(AssertionError, match="does not verify"):
        decode_usersig(usersig, secret_key="another key")
