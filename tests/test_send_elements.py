"""The element builders: what Tencent would refuse is refused before any call, with the element
and the field named; an element read as JSON goes through the same checks; every built element
is one the admin shows as its type, not as raw JSON."""

from __future__ import annotations

import json
from typing import Any

import pytest

from officialaccount_webhook.admin.rendering import view
from officialaccount_webhook.compose import (
    Custom,
    ElementError,
    Face,
    File,
    Image,
    ImageInfo,
    Location,
    Sound,
    Text,
    Video,
    from_wire,
)
from officialaccount_webhook.compose.body import MAX_MESSAGE_BYTES, message_body

VIDEO_ARGS = ("https://e/v.mp4", 1, 2, "mp4", "https://e/t.jpg", 3, 4, 5, "JPG")

BUILT = [
    Text("hello"),
    Face(0),
    Location(-90, 180),
    Custom("data"),
    Image.of_url("https://e/a.png", 1, 1),
    Sound("https://e/a.m4a", 1, 1),
    File("https://e/a.pdf", 1, "a.pdf"),
    Video(*VIDEO_ARGS),
]


@pytest.mark.parametrize(
    ("build", "match"),
    [
        pytest.param(lambda: Text(""), "TIMTextElem.Text must not be empty", id="empty-text"),
        pytest.param(lambda: Text(7), "TIMTextElem.Text must be a string, not int", id="text-int"),
        pytest.param(lambda: Text("\ud800"), "lone surrogate", id="surrogate"),
        pytest.param(lambda: Face(-1), "TIMFaceElem.Index must be a whole number", id="face-neg"),
        pytest.param(lambda: Face(True), "must be a number, not bool", id="face-bool"),
        pytest.param(lambda: Face(1.5), "whole number", id="face-float"),
        pytest.param(lambda: Location(90.5, 0), "Latitude must be between -90 and 90", id="lat"),
        pytest.param(lambda: Location(0, -181), "Longitude must be between", id="lon"),
        pytest.param(lambda: Location(float("nan"), 0), "Latitude must be between", id="nan"),
        pytest.param(lambda: Location(0, "1"), "must be a number, not str", id="lon-str"),
        pytest.param(lambda: Custom(""), "TIMCustomElem.Data must not be empty", id="custom"),
        pytest.param(lambda: Custom("d", desc=1), "TIMCustomElem.Desc must be a string", id="desc"),
        pytest.param(lambda: Image(()), "at least one ImageInfo", id="no-images"),
        pytest.param(
            lambda: Image.of_url("u", 1, 1, image_format=5), "ImageFormat must be one of", id="fmt"
        ),
        pytest.param(lambda: ImageInfo(4, "u", 1, 1), "ImageInfo.Type must be one of", id="type"),
        pytest.param(lambda: Image(({"Type": 1},)), "ImageInfo items only", id="raw-info"),
        pytest.param(lambda: Sound("u", -1, 1), "TIMSoundElem.Size must be a whole", id="size"),
        pytest.param(
            lambda: Sound("u", 1, 1, download_flag=1), "Download_Flag must be one of 2", id="flag"
        ),
        pytest.param(lambda: File("u", 1, ""), "TIMFileElem.FileName must not be empty", id="name"),
        pytest.param(lambda: File("", 1, "a"), "TIMFileElem.Url must not be empty", id="url"),
        pytest.param(
            lambda: Video(*VIDEO_ARGS[:8], ""), "ThumbFormat must not be empty", id="video"
        ),
    ],
)
def test_refused_when_built(build: Any, match: str) -> None:
    with pytest.raises(ElementError, match=match):
        build()


@pytest.mark.parametrize(
    ("element", "match"),
    [
        pytest.param([], "JSON object with MsgType", id="not-object"),
        pytest.param({"MsgType": "TIMRelayElem", "MsgContent": {}}, "MsgType must be", id="type"),
        pytest.param({"MsgType": "TIMTextElem"}, "TIMTextElem must be a JSON object", id="none"),
        pytest.param(
            {"MsgType": "TIMTextElem", "MsgContent": {"Text": "a"}, "Extra": 1},
            "not Extra",
            id="extra-key",
        ),
        pytest.param(
            {"MsgType": "TIMTextElem", "MsgContent": {"text": "a"}}, "has no field text", id="case"
        ),
        pytest.param(
            {"MsgType": "TIMFileElem", "MsgContent": {"Url": "u"}},
            "needs FileSize, FileName",
            id="missing",
        ),
        pytest.param(
            {"MsgType": "TIMImageElem", "MsgContent": {"ImageFormat": 1}},
            "needs ImageInfoArray",
            id="image",
        ),
        pytest.param(
            {
                "MsgType": "TIMImageElem",
                "MsgContent": {"ImageInfoArray": [{"Type": 1, "URL": "u", "Width": 1}]},
            },
            "ImageInfo needs Height",
            id="image-info",
        ),
    ],
)
def test_refused_when_read_as_json(element: Any, match: str) -> None:
    with pytest.raises(ElementError, match=match):
        from_wire(element)


@pytest.mark.parametrize("element", BUILT, ids=lambda element: element.MSG_TYPE)
def test_json_round_trip(element: Any) -> None:
    wire = element.as_wire()
    assert from_wire(json.loads(json.dumps(wire))).as_wire() == wire


@pytest.mark.parametrize("element", BUILT, ids=lambda element: element.MSG_TYPE)
def test_the_admin_shows_each_built_element_as_its_type(element: Any) -> None:
    assert view(element.as_wire()).kind != "json"


def test_a_uuid_is_made_up_once_per_element() -> None:
    first, second = Sound("u", 1, 1), Sound("u", 1, 1)
    assert first.uuid and second.uuid and first.uuid != second.uuid
    assert first.as_wire() == first.as_wire()


def test_the_message_limits() -> None:
    overhead = len(json.dumps([Text("x").as_wire()], separators=(",", ":"))) - 1
    assert message_body(["x" * (MAX_MESSAGE_BYTES - overhead)])
    with pytest.raises(ElementError, match="12289 bytes"):
        message_body(["x" * (MAX_MESSAGE_BYTES - overhead + 1)])
    # Counted in UTF-8: three bytes a character here.
    with pytest.raises(ElementError, match="Tencent takes at most 12288"):
        message_body(["字" * 4100])
    with pytest.raises(ElementError, match="at most one TIMCustomElem"):
        message_body(
            [Custom("a"), "text", {"MsgType": "TIMCustomElem", "MsgContent": {"Data": "b"}}]
        )
    assert [element["MsgType"] for element in message_body([Custom("a"), "b", Face(1)])] == [
        "TIMCustomElem",
        "TIMTextElem",
        "TIMFaceElem",
    ]
