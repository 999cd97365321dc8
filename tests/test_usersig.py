from __future__ import annotations

import contextlib
import io

import pytest

from officialaccount_webhook.tencent import generate_usersig
from officialaccount_webhook.tencent.usersig import (
    USERSIG_LIFETIME,
    USERSIG_RENEW_BEFORE,
    UserSigCache,
)
from tests.clock import Clock
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


def cache(clock: Clock) -> UserSigCache:
    return UserSigCache(1400000000, SECRET_KEY, "administrator", clock=clock, sleep=clock.sleep)


def test_cached_until_ten_minutes_before_it_expires() -> None:
    clock = Clock(1_717_000_000)
    usersigs = cache(clock)
    first = usersigs.current()
    assert decode_usersig(first)["TLS.expire"] == USERSIG_LIFETIME
    clock.now += USERSIG_LIFETIME - USERSIG_RENEW_BEFORE  # ten minutes left: still good
    assert usersigs.current() == first
    clock.now += 1
    renewed = usersigs.current()
    assert renewed != first
    assert decode_usersig(renewed)["TLS.time"] == clock.now
    assert clock.sleeps == []


def test_renewing_waits_for_the_next_second_so_that_the_usersig_changes() -> None:
    clock = Clock(1_717_000_000.25)
    usersigs = cache(clock)
    first = usersigs.current()
    usersigs.renew()
    assert clock.sleeps == [pytest.approx(0.75)]
    second = usersigs.current()
    assert second != first
    assert decode_usersig(second)["TLS.time"] == decode_usersig(first)["TLS.time"] + 1


def test_renewing_waits_for_nothing_when_it_need_not() -> None:
    clock = Clock(1_717_000_000)
    usersigs = cache(clock)
    usersigs.renew()  # none made yet
    usersigs.current()
    clock.now += 30
    usersigs.renew()  # made half a minute ago: the next is another signature anyway
    assert clock.sleeps == []


def test_issued_makes_none_and_repr_shows_no_secret() -> None:
    usersigs = cache(Clock(1_717_000_000))
    assert usersigs.issued() == ""
    usersig = usersigs.current()
    assert usersigs.issued() == usersig
    assert "1400000000" in repr(usersigs)
    assert usersig not in repr(usersigs)
    assert SECRET_KEY not in repr(usersigs)
