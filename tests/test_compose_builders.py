"""``officialaccount_webhook.compose`` offers what docs/sending.md shows: every element builder
(named once, in ``compose.elements``), ``ElementError``, ``from_wire`` and the send; and the
builders of a downloaded file (a sound, a file) share what Tencent asks of a download."""

from __future__ import annotations

import pytest

from officialaccount_webhook import compose
from officialaccount_webhook.compose import elements, send
from officialaccount_webhook.compose.elements import Download, ElementError, File, Sound

BUILDERS = {"Custom", "Face", "File", "Image", "ImageInfo", "Location", "Sound", "Text", "Video"}
SEND = {"SendError", "SendFailed", "SentNotStored", "send_message"}


def test_compose_offers_every_builder_and_the_send() -> None:
    assert set(compose.__all__) == BUILDERS | SEND | {"Element", "ElementError", "from_wire"}
    assert len(compose.__all__) == len(set(compose.__all__))
    for name in compose.__all__:
        home = send if name in SEND else elements
        assert getattr(compose, name) is getattr(home, name)


def test_every_type_tencent_documents_has_its_builder_offered() -> None:
    offered = {getattr(compose, name) for name in compose.__all__}
    assert set(elements.BUILDERS.values()) <= offered


@pytest.mark.parametrize("download", [Sound("u", 1, 2), File("u", 1, "a.pdf")])
def test_a_download_has_its_url_a_made_up_uuid_and_the_only_flag(download: Download) -> None:
    content = download.as_wire()["MsgContent"]
    assert content["Url"] == "u"
    assert content["UUID"] == download.uuid and len(download.uuid) == 32
    assert content["Download_Flag"] == 2


def test_a_downloads_uuid_and_flag_are_given_by_name() -> None:
    with pytest.raises(TypeError):
        Sound("u", 1, 2, "uuid")  # type: ignore[call-arg]
    assert File("u", 1, "a.pdf", uuid="f-1").uuid == "f-1"
    with pytest.raises(ElementError, match=r"TIMFileElem\.Download_Flag must be one of 2"):
        File("u", 1, "a.pdf", download_flag=1)
