"""The admin's pages within ``QUERY_TIMEOUT`` (``query_budget``): a page whose query runs too
long says so, with a way back, instead of holding its worker until the server kills it (a 500).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db import router
from django.http import HttpRequest, HttpResponse
from django.template.response import SimpleTemplateResponse, TemplateResponse
from django.utils.translation import gettext as _

from ..query_budget import QueryTimedOut, query_budget

# Reading only: a POST is an action, and the recall action commits batch by batch, calling
# Tencent in between, which one transaction around the request would undo.
_READING = ("GET", "HEAD")


def within_budget(
    model_admin: Any, request: HttpRequest, view: Callable[[], HttpResponse]
) -> HttpResponse:
    """``view()``'s page, rendered with each query limited to ``QUERY_TIMEOUT``; past it, a page
    that says what happened (status 200: the admin worked, the question was too broad)."""
    if request.method not in _READING:
        return view()
    try:
        with query_budget(router.db_for_read(model_admin.model)):
            response = view()
            # The list and the detail page run most of their queries as their templates render
            # (the rows, the read-only fields): render now, inside the budget.
            if isinstance(response, SimpleTemplateResponse):
                response.render()
            return response
    except QueryTimedOut as timeout:
        return timed_out(model_admin, request, timeout)


def timed_out(model_admin: Any, request: HttpRequest, timeout: QueryTimedOut) -> HttpResponse:
    opts = model_admin.model._meta
    context = {
        **model_admin.admin_site.each_context(request),
        "opts": opts,
        "title": _("The query took too long"),
        "message": _(
            "A query of this page ran longer than %(seconds)s seconds (QUERY_TIMEOUT) and was "
            "stopped. Ask a narrower question: a filter, a shorter date range in the "
            "drill-down, an exact MsgKey or official account, or longer search words."
        )
        % {"seconds": f"{timeout.seconds:g}"},
    }
    return TemplateResponse(request, "admin/officialaccount_webhook/query_timeout.html", context)
