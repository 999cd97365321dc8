"""POST the sample ``CallbackAfterSendMsg`` callbacks, one per element type, to a webhook URL.

This is how to see the whole path work without Tencent: the samples are shaped like Tencent's
(``officialaccount_webhook/samples/``), the query string is the one Tencent appends, and the
request is signed the way Tencent signs it when a token is configured. Each message is stamped
with the current time (``MsgTime``, ``EventTime``), so that it shows among today's messages in
the admin and its chart; its MsgKey stays the sample's, so sending them again stores nothing new.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

from django.core.management.base import CommandError, CommandParser
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from ...conf import get_settings
from ...webhook.auth import compute_sign
from ..arguments import add_sdk_app_id
from ..translated_help import TranslatedCommand

SAMPLES_DIR = Path(__file__).resolve().parent.parent.parent / "samples"


class Command(TranslatedCommand):
    help = gettext_noop(
        "POST Tencent-shaped official-account callbacks (one per message element type) to URL "
        "and print each response."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "url",
            help=_("The webhook URL, e.g. http://127.0.0.1:8000/webhooks/tencent-chat/"),
        )
        add_sdk_app_id(
            parser,
            _("SdkAppid to send. Default: the one app in OFFICIALACCOUNT_WEBHOOK['APPS']."),
        )
        parser.add_argument(
            "--token",
            help=_(
                "Callback token to sign with. Default: the app's first configured token, if "
                "any. Pass an empty string to send unsigned callbacks."
            ),
        )
        parser.add_argument(
            "--timeout",
            type=float,
            default=5.0,
            help=_("Seconds to wait for each answer."),
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if urlsplit(options["url"]).scheme not in {"http", "https"}:
            raise CommandError(_("URL must start with http:// or https://"))
        sdk_app_id, token = self._credentials(options["sdkappid"], options["token"])
        samples = sorted(SAMPLES_DIR.glob("*.json"))
        failures = 0
        for sample in samples:
            payload = _stamped(json.loads(sample.read_bytes()), time.time())
            body = json.dumps(payload).encode()
            command = payload["CallbackCommand"]
            url = _callback_url(options["url"], sdk_app_id, command, token)
            status, answer = _post(url, body, options["timeout"])
            ok = status == 200
            failures += not ok
            style = self.style.SUCCESS if ok else self.style.ERROR
            # The sample, the HTTP status and the webhook's answer, as they are.
            self.stdout.write(style(f"{sample.stem}: {status} {answer}"))
        if failures:
            raise CommandError(
                _("%(failed)d of %(total)d callbacks were not answered with 200.")
                % {"failed": failures, "total": len(samples)}
            )
        self.stdout.write(
            _("All %(total)d callbacks were answered with 200.") % {"total": len(samples)}
        )

    def _credentials(self, sdk_app_id: int | None, token: str | None) -> tuple[int, str]:
        apps = get_settings().apps
        if sdk_app_id is None:
            if len(apps) != 1:
                raise CommandError(
                    _("%(count)d apps are configured; say which one to use with --sdkappid.")
                    % {"count": len(apps)}
                )
            sdk_app_id = next(iter(apps))
        if token is None:
            app = apps.get(sdk_app_id)
            token = app.callback_tokens[0] if app and app.callback_tokens else ""
        return sdk_app_id, token


def _stamped(payload: dict[str, Any], now: float) -> dict[str, Any]:
    """The sample as if sent ``now``: Tencent's MsgTime is in seconds, EventTime in ms."""
    return payload | {"MsgTime": int(now), "EventTime": int(now * 1000)}


def _callback_url(base: str, sdk_app_id: int, command: str, token: str) -> str:
    params = {
        "SdkAppid": str(sdk_app_id),
        "CallbackCommand": command,
        "contenttype": "json",
        "ClientIP": "127.0.0.1",
        "OptPlatform": "RESTAPI",
    }
    if token:
        request_time = str(int(time.time()))
        params |= {"Sign": compute_sign(token, request_time), "RequestTime": request_time}
    return f"{base}{'&' if '?' in base else '?'}{urlencode(params)}"


def _post(url: str, body: bytes, timeout: float) -> tuple[int | str, str]:
    # The scheme was checked in handle(): http or https only.
    request = urllib.request.Request(  # noqa: S310
        url, data=body, method="POST", headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            return response.status, response.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode("utf-8", "replace")
    except (urllib.error.URLError, TimeoutError) as error:
        reason = getattr(error, "reason", error)
        return _("no answer"), str(reason)
