"""The admin's recall actions: a confirmation page with a reason, then each message's outcome;
and the check of recalls whose outcome is unknown."""

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
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from ..messages.recall import RecallError, RecallOutcome, check_reason, recall_messages
from ..messages.recall_check import check_recalls
from ..models import MessageRecall, OfficialAccountMessage
from ..webhook.wire import MAX_RECALL_REASON_BYTES
from .lazy_text import interpolated
from .scope import refuse_out_of_scope

# Each ten messages cost a call to Tencent while the page waits; more belongs to the command.
MAX_RECALL_SELECTION = 100


class RecallForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason"),
        required=False,
        max_length=MAX_RECALL_REASON_BYTES,
        help_text=interpolated(
            _("Optional; sent to Tencent. At most %(bytes)d bytes."),
            {"bytes": MAX_RECALL_REASON_BYTES},
        ),
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
    if refuse_out_of_scope(model_admin, request, queryset):
        return None
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
    return _results(model_admin, request, outcomes, _("Recall results"))


@admin.action(description=_("Check recall again (outcome unknown)"), permissions=["recall"])
def check_recall_again(
    model_admin: Any, request: HttpRequest, queryset: QuerySet[OfficialAccountMessage]
) -> TemplateResponse | None:
    """Ask Tencent's history whether the selected messages whose recall timed out were
    recalled (``messages.recall_check``), and show each outcome."""
    if refuse_out_of_scope(model_admin, request, queryset):
        return None
    unknown = queryset.filter(recall_unknown_at__isnull=False)
    if unknown.count() > MAX_RECALL_SELECTION:
        model_admin.message_user(
            request,
            _("Check at most %(max)d messages at a time here, or use officialaccount_recall.")
            % {"max": MAX_RECALL_SELECTION},
            messages.ERROR,
        )
        return None
    try:
        outcomes = check_recalls(
            unknown,
            requested_by=f"admin:{request.user.get_username()} (check)",
            source=MessageRecall.Source.ADMIN,
        )
    except RecallError as exc:
        model_admin.message_user(request, str(exc), messages.ERROR)
        return None
    if not outcomes:
        model_admin.message_user(
            request, _("None of the selected messages has a recall of unknown outcome.")
        )
        return None
    return _results(model_admin, request, outcomes, _("Recall check results"))


def _results(
    model_admin: Any, request: HttpRequest, outcomes: list[RecallOutcome], title: str | Promise
) -> TemplateResponse:
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
    if counts["unknown"]:
        # The page answers in time (RECALL_TIME_BUDGET) even when Tencent does not: say what an
        # unknown outcome means and what to do about it.
        model_admin.message_user(
            request,
            _(
                "Tencent did not answer in time for %(unknown)d message(s): they may or may not "
                "be recalled. Tencent's recall callback will mark them recalled if they are; "
                'otherwise select them and choose "Check recall again" in a minute.'
            )
            % {"unknown": counts["unknown"]},
            messages.WARNING,
        )
    # Each outcome with its status in words (the status itself names the row's class).
    labels = dict(MessageRecall.Result.choices)
    rows = [(outcome, labels.get(outcome.status, outcome.status)) for outcome in outcomes]
    return _page(model_admin, request, "recall_result.html", title=title, rows=rows)


def _page(
    model_admin: Any, request: HttpRequest, template: str, **context: Any
) -> TemplateResponse:
    return TemplateResponse(
        request,
        f"admin/officialaccount_webhook/officialaccountmessage/{template}",
        {**model_admin.admin_site.each_context(request), "opts": model_admin.opts, **context},
    )
