from __future__ import annotations

from typing import Any

import pytest

from officialaccount_webhook import elements
from officialaccount_webhook.admin import rendering
from officialaccount_webhook.models import derived_columns
from tests.conftest import sample


def body(name: str) -> list[Any]:
    elements_of_sample: list[Any] = sample(name)["MsgBody"]
    return elements_of_sample


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("text", "red packet"),
        ("image", "[Image]"),
        ("file", "price-list-2024.pdf"),
        ("location", "[Location] someinfo"),
        ("custom", "notification"),
        ("sound", "[Sound]"),
        ("videofile", "[Video]"),
        ("face", "[Face]"),
        ("mixed", "hello [Face] world [Image] [Custom]"),
    ],
)
def test_preview(name: str, expected: str) -> None:
    assert elements.preview(body(name)) == expected


def test_preview_is_one_bounded_line() -> None:
    message = [
        {"MsgType": "TIMTextElem", "MsgContent": {"Text": "line one\nline two\t" + "x" * 300}}
    ]
    line = elements.preview(message)
    assert "\n" not in line
    assert line.startswith("line one line two x")
    assert len(line) == 120
    assert line.endswith("…")


@pytest.mark.parametrize(
    "message",
    [
        None,
        "not a list",
        [None, 5, "x"],
        [{"MsgType": "TIMTextElem", "MsgContent": "not an object"}],
        [{"MsgType": "TIMTextElem", "MsgContent": {"Text": 5}}],
        [{"MsgType": "TIMFutureElem", "MsgContent": {}}],
    ],
)
def test_odd_shapes_never_raise(message: Any) -> None:
    elements.preview(message)
    elements.searchable_text(message)
    elements.element_types(message)
    for element in message if isinstance(message, list) else []:
        assert rendering.view(element).kind == "json"


def test_unknown_type_is_named_in_the_preview() -> None:
    assert elements.preview([{"MsgType": "TIMFutureElem", "MsgContent": {}}]) == "[TIMFutureElem]"


def test_searchable_text_and_element_types() -> None:
    mixed = body("mixed") + body("file") + body("location") + body("custom")
    assert elements.searchable_text(mixed).split("\n") == [
        "hello",
        "world",
        "price-list-2024.pdf",
        "someinfo",
        "notification",
    ]
    assert elements.element_types(mixed) == [
        "TIMTextElem",
        "TIMFaceElem",
        "TIMImageElem",
        "TIMCustomElem",
        "TIMFileElem",
        "TIMLocationElem",
    ]
    assert derived_columns(body("mixed"))["element_types"] == (
        " TIMTextElem TIMFaceElem TIMImageElem TIMCustomElem "
    )
    assert derived_columns([]) == {"text_content": "", "element_types": ""}


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("https://example.com/a.png", "https://example.com/a.png"),
        ("HTTP://example.com/a", "HTTP://example.com/a"),
        ("javascript:alert(1)", ""),
        (" JavaScript:alert(1)", ""),
        ("data:text/html,<script>", ""),
        ("//example.com/a", ""),
        ("http://[::1", ""),
        (5, ""),
    ],
)
def test_safe_url(value: Any, expected: str) -> None:
    assert rendering.safe_url(value) == expected


def test_pretty_json() -> None:
    assert rendering.pretty_json('{"a":[1,2]}') == '{\n  "a": [\n    1,\n    2\n  ]\n}'
    assert rendering.pretty_json("not json") == "not json"
    assert rendering.pretty_json('"红包"') == '"红包"'


def test_image_view_prefers_the_thumbnail_and_links_the_original() -> None:
    view = rendering.view(body("image")[0])
    assert view.kind == "image"
    assert view.fields["thumbnail_url"].endswith("/198")
    assert view.fields["original_url"].endswith("/0")
    assert (view.fields["width"], view.fields["height"], view.fields["size"]) == (
        2448,
        3264,
        1853095,
    )


def test_image_view_falls_back_to_another_size() -> None:
    only_large = {
        "MsgType": "TIMImageElem",
        "MsgContent": {
            "ImageInfoArray": [{"Type": 2, "URL": "https://example.com/720", "Size": 9}]
        },
    }
    view = rendering.view(only_large)
    assert view.fields["thumbnail_url"] == view.fields["original_url"] == "https://example.com/720"


def test_views_of_every_sample_type() -> None:
    kinds = {
        rendering.view(element).kind
        for name in ("sound", "file", "videofile", "location", "face", "custom", "text")
        for element in body(name)
    }
    assert kinds == {"sound", "file", "videofile", "location", "face", "custom", "text"}
    video = rendering.view(body("videofile")[0]).fields
    assert (video["seconds"], video["size"], video["format"]) == (5, 1194603, "mp4")
    custom = rendering.view(body("custom")[0]).fields
    assert custom["data"] == '{\n  "businessID": "order_notice",\n  "orderId": "A10086"\n}'
    location = rendering.view(body("location")[0]).fields
    assert (location["latitude"], location["longitude"]) == (29.340656774469956, 116.77497920478824)
