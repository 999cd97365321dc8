"""The admin's "Compose broadcast": write a message, preview it as its detail page will show
it, confirm, and land on the stored message (or, with a time to send at, on the list of
scheduled sends).

Needs the ``send_officialaccountmessage`` permission, and sends only from apps the user may
act on (``scope``) that can call Tencent: an app without its secret key is named before any
form, with the setting that gives it.

The send's ``Random`` is drawn when the preview is made and carried, signed, in the preview's
hidden ``signed_random`` field: confirming twice (a double click, a resubmitted page) sends the same
``Random``, and Tencent drops the second as a duplicate.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django import forms
from django.contrib import messages
from django.core import signing
from django.core.exceptions import ImproperlyConfigured, PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from ..compose.body import Outgoing, outgoing
from ..compose.elements import Custom, Element, ElementError, Image, Text
from ..compose.send import SendError, SendFailed, SentNotStored, send_message
from ..conf import get_settings
from ..models import OfficialAccount, OfficialAccountMessage
from ..scope import can_act_on
from ..tencent import client_for
from ..tencent.budget import TimeBudget
from ..tencent.sending import new_random
from ..webhook.wire import MAX_ACCOUNT_LENGTH
from .detail import first_elements
from .rendering import view

if TYPE_CHECKING:
    from django.utils.functional import _StrOrPromise

SEND_PERMISSION = "officialaccount_webhook.send_officialaccountmessage"
TEMPLATE = "admin/officialaccount_webhook/scheduledsend/compose.html"
# The secret key's variable in the example project (project/settings.py).
SECRET_KEY_VARIABLE = "TENCENT_CHAT_SECRET_KEY"  # noqa: S105  (a name, not a secret)
# The mirror's accounts offered in the list at most; more are typed.
MAX_LISTED_ACCOUNTS = 500
# The preview's signed Random: its field, and the salt that keeps its signature to this use.
RANDOM_FIELD = "signed_random"
RANDOM_SALT = "officialaccount_webhook.admin.compose.random"


def sending_apps(user: Any) -> tuple[list[int], list[int]]:
    """The configured apps ``user`` may act on: those that can call Tencent, and those that
    cannot (no secret key, no region)."""
    ready, unready = [], []
    for sdk_app_id in sorted(get_settings().apps):
        if not can_act_on(user, sdk_app_id):
            continue
        try:
            client_for(sdk_app_id)
        except ImproperlyConfigured:
            unready.append(sdk_app_id)
        else:
            ready.append(sdk_app_id)
    return ready, unready


def _text_box(label: _StrOrPromise, rows: int) -> forms.CharField:
    """Optional text in a box of ``rows`` lines (the form's ``clean`` says what is needed)."""
    return forms.CharField(label=label, required=False, widget=forms.Textarea({"rows": rows}))


class ComposeForm(forms.Form):
    sdk_app_id = forms.TypedChoiceField(label=_("App (SDKAppID)"), coerce=int)
    account = forms.ChoiceField(label=_("Official account"), required=False)
    account_id = forms.CharField(
        label=_("or its ID"),
        required=False,
        max_length=MAX_ACCOUNT_LENGTH,
        help_text=_("An account the list does not hold, e.g. @TOA#_…"),
    )
    text = _text_box(_("Text"), rows=5)
    image_url = forms.URLField(label=_("Image URL"), required=False, assume_scheme="https")
    image_width = forms.IntegerField(label=_("Image width (px)"), required=False, min_value=0)
    image_height = forms.IntegerField(label=_("Image height (px)"), required=False, min_value=0)
    custom_data = _text_box(_("Custom element data"), rows=3)
    custom_desc = forms.CharField(
        label=_("Custom element description"),
        required=False,
        help_text=_("The offline push's text for a custom element."),
    )
    online_only = forms.BooleanField(
        label=_("Online only"), required=False, help_text=_("Only subscribers online now.")
    )
    cloud_custom_data = _text_box(_("Cloud custom data"), rows=2)
    send_at = forms.DateTimeField(
        label=_("Send at"),
        required=False,
        help_text=_("Empty to send now; else a date and time, e.g. 2030-01-31 09:00."),
    )

    def __init__(
        self, *args: Any, apps: list[int], with_random: bool = False, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        if with_random:  # the preview and its confirmation: the Random the preview drew
            self.fields[RANDOM_FIELD] = forms.CharField(widget=forms.HiddenInput, required=False)
        field = self.fields["sdk_app_id"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = [(app, str(app)) for app in apps]
        accounts = OfficialAccount.objects.active().filter(sdk_app_id__in=apps)
        listed = self.fields["account"]
        assert isinstance(listed, forms.ChoiceField)
        listed.choices = [
            ("", "—"),
            *(
                (account.official_account, _label(account))
                for account in accounts[:MAX_LISTED_ACCOUNTS]
            ),
        ]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        account = data.get("account_id") or data.get("account")
        if not account:
            raise ValidationError(_("Choose an official account, or type its ID."))
        app = data.get("sdk_app_id")
        if not data.get("account_id") and app is not None:
            mirrored = OfficialAccount.objects.filter(sdk_app_id=app, official_account=account)
            if not mirrored.exists():
                raise ValidationError(_("That account is not one of app %(app)s.") % {"app": app})
        data["official_account"] = account
        try:
            data["outgoing"] = outgoing(
                self._elements(data),
                cloud_custom_data=data.get("cloud_custom_data") or "",
                online_only=bool(data.get("online_only")),
            )
        except ElementError as exc:
            raise ValidationError(str(exc)) from None
        if RANDOM_FIELD in self.fields:
            data["random"] = _unsign(data.get(RANDOM_FIELD) or "")
        return data

    def _elements(self, data: dict[str, Any]) -> list[Element]:
        elements: list[Element] = []
        if data.get("text"):
            elements.append(Text(data["text"]))
        if data.get("image_url"):
            width, height = data.get("image_width"), data.get("image_height")
            if width is None or height is None:
                raise ValidationError(_("Give the image's width and height."))
            elements.append(Image.of_url(data["image_url"], width, height))
        if data.get("custom_data"):
            elements.append(Custom(data["custom_data"], desc=data.get("custom_desc") or ""))
        return elements


def _unsign(signed: str) -> int | None:
    """The Random the preview drew, or None if the field is missing or was altered."""
    try:
        random = signing.loads(signed, salt=RANDOM_SALT)
    except signing.BadSignature:
        return None
    return random if isinstance(random, int) else None


def _label(account: OfficialAccount) -> str:
    name = f"{account.name} " if account.name else ""
    return f"{name}{account.official_account} ({account.sdk_app_id})"


def preview_html(msg_body: list[dict[str, Any]]) -> str:
    """The message as its detail page shows it once stored (``detail.content``)."""
    shown, total = first_elements(msg_body)
    return render_to_string(
        "admin/officialaccount_webhook/message_body.html",
        {"elements": [view(element) for element in shown], "shown": len(shown), "total": total},
    )


def compose_view(model_admin: Any, request: HttpRequest) -> HttpResponse:
    """The compose page, its preview, and the send once confirmed."""
    if not request.user.has_perm(SEND_PERMISSION):
        raise PermissionDenied
    ready, unready = sending_apps(request.user)
    context: dict[str, Any] = {
        **model_admin.admin_site.each_context(request),
        "opts": model_admin.opts,
        "title": _("Compose broadcast"),
        "unready_apps": unready,
        "secret_key_variable": SECRET_KEY_VARIABLE,
    }
    if not ready:
        return TemplateResponse(request, TEMPLATE, context)
    form = ComposeForm(request.POST if request.method == "POST" else None, apps=ready)
    context["form"] = form
    if request.method != "POST" or "edit" in request.POST or not form.is_valid():
        return TemplateResponse(request, TEMPLATE, context)
    if "confirm" not in request.POST:
        return _preview(request, ready, context)
    form = ComposeForm(request.POST, apps=ready, with_random=True)
    if not form.is_valid() or form.cleaned_data["random"] is None:
        # Altered, or not from a preview: show the preview again, with a Random of its own.
        model_admin.message_user(
            request, _("Check the preview, then send it from there."), messages.WARNING
        )
        return _preview(request, ready, context)
    context["form"] = form
    return _send(model_admin, request, form, context)


def _preview(request: HttpRequest, apps: list[int], context: dict[str, Any]) -> HttpResponse:
    """The preview of the message posted, carrying a new Random, signed, to its confirmation."""
    data = request.POST.copy()
    data[RANDOM_FIELD] = signing.dumps(new_random(), salt=RANDOM_SALT)
    form = ComposeForm(data, apps=apps, with_random=True)
    form.is_valid()  # valid, as the same form without its Random was
    context["form"] = form
    context["preview"] = preview_html(form.cleaned_data["outgoing"].msg_body)
    return TemplateResponse(request, TEMPLATE, context)


def _send(
    model_admin: Any, request: HttpRequest, form: ComposeForm, context: dict[str, Any]
) -> HttpResponse:
    data = form.cleaned_data
    message: Outgoing = data["outgoing"]
    try:
        sent = send_message(
            data["sdk_app_id"],
            data["official_account"],
            message.msg_body,
            cloud_custom_data=message.cloud_custom_data,
            online_only=message.online_only,
            sent_by=f"admin:{request.user.get_username()}",
            send_at=data.get("send_at"),
            random=data["random"],
            # The page answers within RECALL_TIME_BUDGET, whatever Tencent does.
            budget=TimeBudget(get_settings().recall_time_budget),
        )
    except SentNotStored as exc:
        model_admin.message_user(request, str(exc), messages.WARNING)
        url = reverse("admin:officialaccount_webhook_officialaccountmessage_changelist")
        return HttpResponseRedirect(url)
    except (SendError, SendFailed) as exc:
        # The page shows the preview again, with the same Random: sending it again after a
        # timeout cannot deliver twice.
        model_admin.message_user(request, str(exc), messages.ERROR)
        context["preview"] = preview_html(message.msg_body)
        return TemplateResponse(request, TEMPLATE, context)
    if isinstance(sent, OfficialAccountMessage):
        model_admin.message_user(
            request, _("Sent: MsgKey %(key)s.") % {"key": sent.msg_key}, messages.SUCCESS
        )
        url = reverse("admin:officialaccount_webhook_officialaccountmessage_change", args=[sent.pk])
        return HttpResponseRedirect(url)
    model_admin.message_user(
        request, _("Scheduled for %(when)s.") % {"when": sent.send_at}, messages.SUCCESS
    )
    return HttpResponseRedirect(reverse("admin:officialaccount_webhook_scheduledsend_changelist"))
