"""The admin's actions on Tencent: create, modify and destroy an official account, add and
remove subscribers.

Each is behind its own permission (``OfficialAccount.Meta.permissions``) besides the view
permission and the user's apps (a row outside them is missing), and each goes through a
confirmation page: the form, then what will be asked of Tencent, then Tencent. Each calls
Tencent first and changes the mirror only from Tencent's answer (``account_steps``). An app
that cannot call Tencent (no SECRET_KEY, no REGION) is said before any form; Tencent's refusal
is shown in words, on the form, to try again.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import ImproperlyConfigured, PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.functional import Promise
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from ..conf import get_settings
from ..models import OfficialAccount
from ..scope import visible_app_ids
from ..tencent import TencentChatClient, TencentChatError, client_for
from . import account_forms, account_steps

APP = "officialaccount_webhook"
TEMPLATE = "admin/officialaccount_webhook/officialaccount/tencent_action.html"


@dataclass(frozen=True)
class Action:
    name: str
    """The URL's last part, and the name of its step in ``account_steps``."""
    permission: str
    """The codename of its permission, one of ``OfficialAccount.Meta.permissions``."""
    title: str | Promise
    tool: str | Promise
    """The label of its button on the list or the account's page: short, as they sit in a
    row."""
    button: str | Promise
    form: type[forms.Form]
    on_account: bool = True

    @property
    def url_name(self) -> str:
        return f"{APP}_officialaccount_{self.name}"

    def allowed(self, model_admin: Any, request: HttpRequest) -> bool:
        return bool(
            model_admin.has_view_permission(request)
            and request.user.has_perm(f"{APP}.{self.permission}")
        )


ACTIONS = (
    Action(
        "create",
        "create_officialaccount",
        _("Create an official account on Tencent"),
        _("Create on Tencent"),
        _("Yes, create it"),
        account_forms.CreateAccountForm,
        on_account=False,
    ),
    Action(
        "modify",
        "change_officialaccount_on_tencent",
        _("Modify the official account on Tencent"),
        _("Modify"),
        _("Yes, modify it"),
        account_forms.ModifyAccountForm,
    ),
    Action(
        "destroy",
        "destroy_officialaccount",
        _("Destroy the official account on Tencent"),
        _("Destroy"),
        _("Yes, destroy it"),
        account_forms.DestroyAccountForm,
    ),
    Action(
        "add_subscribers",
        "manage_officialaccountsubscribers",
        _("Add subscribers on Tencent"),
        _("Add subscribers"),
        _("Yes, add them"),
        account_forms.SubscribersForm,
    ),
    Action(
        "remove_subscribers",
        "manage_officialaccountsubscribers",
        _("Remove subscribers on Tencent"),
        _("Remove subscribers"),
        _("Yes, remove them"),
        account_forms.SubscribersForm,
    ),
)


def urls(model_admin: Any) -> list[URLPattern]:
    """The actions' URLs, for the account admin's ``get_urls``."""

    def view(action: Action) -> Any:
        def page(request: HttpRequest, object_id: str | None = None) -> HttpResponse:
            return action_view(model_admin, request, action, object_id)

        return model_admin.admin_site.admin_view(page)

    return [
        path(
            f"<path:object_id>/{action.name}/" if action.on_account else f"{action.name}/",
            view(action),
            name=action.url_name,
        )
        for action in ACTIONS
    ]


def list_tools(model_admin: Any, request: HttpRequest) -> list[dict[str, Any]]:
    """The buttons of the account list: the actions without an account the user may take."""
    return [
        {"url": reverse(f"admin:{action.url_name}"), "label": action.tool, "title": action.title}
        for action in ACTIONS
        if not action.on_account and action.allowed(model_admin, request)
    ]


def detail_tools(model_admin: Any, request: HttpRequest, object_id: str) -> list[dict[str, Any]]:
    """The buttons of an account's page: the actions on it the user may take."""
    return [
        {
            "url": reverse(f"admin:{action.url_name}", args=[object_id]),
            "label": action.tool,
            "title": action.title,
        }
        for action in ACTIONS
        if action.on_account and action.allowed(model_admin, request)
    ]


def action_view(
    model_admin: Any, request: HttpRequest, action: Action, object_id: str | None
) -> HttpResponse:
    """The form, the confirmation, then Tencent and the mirror; ``object_id`` for an action on
    an account."""
    # Permission before the lookup: a user who may not act learns nothing of the accounts.
    if not action.allowed(model_admin, request):
        raise PermissionDenied
    account = None
    if object_id is not None:
        # The admin's own queryset: an account outside the user's apps is missing.
        account = model_admin.get_object(request, unquote(object_id))
        if account is None:
            raise Http404
        if account.is_destroyed:
            model_admin.message_user(
                request,
                _("This official account was destroyed: nothing can change it."),
                messages.ERROR,
            )
            return HttpResponseRedirect(change_url(account))
    page = _Page(model_admin, request, action, account)
    clients, refusals = _clients(request, account)
    if not clients:
        return page.render("unavailable", refusals=refusals)
    form = _form(action, request, account, list(clients))
    # A form without fields (destroy) is its own confirmation page.
    if request.method != "POST" or "edit" in request.POST:
        return page.render("confirm" if not form.fields else "form", form=form, refusals=refusals)
    if not form.is_valid():
        return page.render("form", form=form, refusals=refusals)
    if request.POST.get("confirm") != "yes":
        return page.render("confirm", form=form)
    try:
        done = account_steps.perform(action.name, clients, account, form)
    except TencentChatError as error:
        return page.render("confirm" if not form.fields else "form", form=form, error=error)
    for level, text in done.notes:
        model_admin.message_user(request, text, level)
    return HttpResponseRedirect(done.url)


def change_url(account: OfficialAccount) -> str:
    return reverse(f"admin:{APP}_officialaccount_change", args=[account.pk])


def _form(
    action: Action, request: HttpRequest, account: OfficialAccount | None, apps: list[int]
) -> forms.Form:
    data = request.POST if request.method == "POST" else None
    if action.form is account_forms.CreateAccountForm:
        return account_forms.CreateAccountForm(data, apps=apps)
    if action.form is account_forms.ModifyAccountForm:
        assert account is not None  # an action on an account
        return account_forms.ModifyAccountForm(data, account=account)
    return action.form(data)


def _clients(
    request: HttpRequest, account: OfficialAccount | None
) -> tuple[dict[int, TencentChatClient], list[str]]:
    """The clients of the apps the action may use (the account's, or each app of the user's),
    and why the others cannot call Tencent."""
    if account is not None:
        apps = [account.sdk_app_id]
    else:
        visible = visible_app_ids(request.user)
        apps = [app for app in sorted(get_settings().apps) if visible is None or app in visible]
    clients, refusals = {}, []
    for app in apps:
        try:
            clients[app] = client_for(app)
        except ImproperlyConfigured as exc:
            refusals.append(str(exc))
    if not apps:
        refusals.append(
            gettext("No app of yours is configured in OFFICIALACCOUNT_WEBHOOK['APPS'].")
        )
    return clients, refusals


@dataclass
class _Page:
    model_admin: Any
    request: HttpRequest
    action: Action
    account: OfficialAccount | None

    def render(self, mode: str, **context: Any) -> TemplateResponse:
        form = context.get("form")
        error = context.pop("error", None)
        return TemplateResponse(
            self.request,
            TEMPLATE,
            {
                **self.model_admin.admin_site.each_context(self.request),
                "opts": self.model_admin.opts,
                "title": self.action.title,
                "action": self.action,
                "account": self.account,
                "mode": mode,
                "summary": account_steps.summary(self.action.name, self.account, form)
                if mode == "confirm" and form is not None
                else [],
                "tencent_error": account_steps.in_words(error) if error else "",
                "back_url": change_url(self.account)
                if self.account
                else reverse(f"admin:{APP}_officialaccount_changelist"),
                **context,
            },
        )
