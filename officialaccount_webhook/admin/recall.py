"""The admin's recall action: a confirmation page with a reason, then each message's outcome."""

from __future__ import annotations

from collections import Counter
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.utils.translation import gettext_lazy as _

from ..messages.recall import RecallError, check_reason, recall_messages
from ..models import MessageRecall, OfficialAccountMessage
from ..webhook.wire import MAX_RECALL_REASON_BYTES

# Each ten messages cost a call to Tencent while the page waits; more belongs to the command.
MAX_RECALL_SELECTION = 100


class RecallForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason"),
        required=False,
        max_length=MAX_RECALL_REASON_BYTES,
        help_text=_("Optional; sent to Tencent. At most %(bytes)d bytes.")
        % {"bytes": MAX_RECALL_REASON_BYTES},
    )

    def clean_reason(self) -> str:
        reason: str = self.cleaned_data["reason"]
        try:
            check_reason(reason)
        except RecallError as exc:
            raise ValidationError(str(exc)) from None
        return reason


@admin.action(description=_("Recall selected messages"), permissions=["recall"])
def recall_selected(
    model_admin: Any, request: HttpRequest, queryset: QuerySet[OfficialAccountMessage]
) -> TemplateResponse | None:
    """Ask for a reason on a confirmation page, then recall and show each outcome."""
    selected = queryset.count()
    if selected > MAX_RECALL_SELECTION:
        model_admin.message_user(
            request,
            _(
                "%(selected)d messages are selected; recall at most %(max)d at a time here, "
                "or use the officialaccount_recall command."
            )
            % {"selected": selected, "max": MAX_RECALL_SELECTION},
            messages.ERROR,
        )
        return None
    confirmed = request.POST.get("confirm") == "yes"
    form = RecallForm(request.POST if confirmed else None)
    if not (confirmed and form.is_valid()):
        return _page(
            model_admin,
            request,
            "recall_confirmation.html",
            title=_("Recall selected messages"),
            messages_to_recall=queryset,
            form=form,
            action_checkbox_name=helpers.ACTION_CHECKBOX_NAME,
        )
    try:
        outcomes = recall_messages(
            queryset,
            reason=form.cleaned_data["reason"],
            requested_by=f"admin:{request.user.get_username()}",
            source=MessageRecall.Source.ADMIN,
        )
    except RecallError as exc:
        model_admin.message_user(request, str(exc), messages.ERROR)
        return None
    counts = Counter(outcome.status for outcome in outcomes)
    model_admin.message_user(
        request,
        _(
            "Recalled: %(recalled)d. Already recalled: %(already)d. Failed: %(failed)d. "
            "Unknown: %(unknown)d."
        )
        % {
            "recalled": counts["recalled"],
            "already": counts["already_recalled"],
            "failed": counts["failed"],
            "unknown": counts["unknown"],
        },
        messages.SUCCESS if all(o.ok for o in outcomes) else messages.WARNING,
    )
    return _page(
        model_admin, request, "recall_result.html", title=_("Recall results"), outcomes=outcomes
    )


def _page(
    model_admin: Any, request: HttpRequest, template: str, **context: Any
) -> TemplateResponse:
    return TemplateResponse(
        request,
        f"admin/officialaccount_webhook/officialaccountmessage/{template}",
        {**model_admin.admin_site.each_context(request), "opts": model_admin.opts, **context},
    )
