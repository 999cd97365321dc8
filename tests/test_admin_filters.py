"""The typed filters explain themselves: a label, a button, exactness, and known values."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import Permission, User
from django.test import Client
from django.urls import reverse

from officialaccount_webhook.admin.filters import MAX_SUGGESTIONS
from officialaccount_webhook.models import AppGrant, OfficialAccount
from tests.settings import SIGNED_APP, UNSIGNED_APP

pytestmark = pytest.mark.django_db

MESSAGES = "admin:officialaccount_webhook_officialaccountmessage_changelist"
DELIVERIES = "admin:officialaccount_webhook_callbackdelivery_changelist"


def input_filter(page: str, parameter: str) -> str:
    found = re.search(
        rf'<form method="get" class="officialaccount-input-filter">((?:(?!</form>).)*?'
        rf'name="{parameter}"(?:(?!</form>).)*)</form>',
        page,
        re.S,
    )
    assert found is not None, f"no typed filter for {parameter}"
    return found.group(1)


def offered(form: str) -> list[str]:
    return re.findall(r'<option value="([^"]*)"', form)


@pytest.mark.parametrize(
    ("url", "parameter", "label"),
    [(MESSAGES, "official_account", "Official account"), (DELIVERIES, "command", "Command")],
)
def test_each_typed_filter_has_a_label_a_button_and_says_it_is_exact(
    admin_client: Client, url: str, parameter: str, label: str
) -> None:
    form = input_filter(admin_client.get(reverse(url)).text, parameter)
    box = f"officialaccount-filter-{parameter}"
    assert f'<label for="{box}"' in form and f">{label}</label>" in form
    assert f'id="{box}" name="{parameter}"' in form
    assert re.search(r'<button type="submit"[^>]*>Filter</button>', form)
    assert f'aria-describedby="{box}-help"' in form
    help_text = re.search(rf'<p class="help" id="{box}-help"[^>]*>(.*?)</p>', form, re.S)
    assert help_text is not None
    assert "Matches the whole value exactly, letter case included." in help_text.group(1)
    assert "For example" in help_text.group(1)


def test_commands_are_offered_from_the_apps_list(admin_client: Client) -> None:
    form = input_filter(admin_client.get(reverse(DELIVERIES)).text, "command")
    assert "C2C.CallbackAfterSendMsg" in offered(form) or any(
        command.endswith("CallbackAfterSendMsg") for command in offered(form)
    )


def test_the_mirrors_accounts_are_offered_and_any_other_can_be_typed(
    admin_client: Client,
) -> None:
    OfficialAccount.objects.create(
        sdk_app_id=SIGNED_APP, official_account="@TOA#_shop", name="Shop <news>"
    )
    OfficialAccount.objects.create(sdk_app_id=UNSIGNED_APP, official_account="@TOA#_blog")
    OfficialAccount.objects.create(sdk_app_id=UNSIGNED_APP, official_account="@TOA#_shop")
    page = admin_client.get(reverse(MESSAGES)).text
    form = input_filter(page, "official_account")
    assert offered(form) == ["@TOA#_blog", "@TOA#_shop"]  # one ID in two apps, offered once
    assert 'label="Shop &lt;news&gt;"' in form
    assert 'list="officialaccount-filter-official_account-known"' in form
    assert 'type="text"' in form  # a box to type in, the list only a help
    assert "Known values are offered as you type." in form
    # The app filter narrows what is offered.
    form = input_filter(
        admin_client.get(reverse(MESSAGES), {"sdk_app_id": str(UNSIGNED_APP)}).text,
        "official_account",
    )
    assert offered(form) == ["@TOA#_blog", "@TOA#_shop"]
    form = input_filter(
        admin_client.get(reverse(MESSAGES), {"sdk_app_id": str(SIGNED_APP)}).text,
        "official_account",
    )
    assert offered(form) == ["@TOA#_shop"]


def test_the_offer_is_bounded(admin_client: Client) -> None:
    OfficialAccount.objects.bulk_create(
        OfficialAccount(sdk_app_id=SIGNED_APP, official_account=f"@TOA#_{n:04d}")
        for n in range(MAX_SUGGESTIONS + 5)
    )
    form = input_filter(admin_client.get(reverse(MESSAGES)).text, "official_account")
    assert len(offered(form)) == MAX_SUGGESTIONS
    assert offered(form)[0] == "@TOA#_0000"
    assert f"The first {MAX_SUGGESTIONS} known values are offered as you type" in form


def test_only_the_users_apps_accounts_are_offered() -> None:
    OfficialAccount.objects.create(sdk_app_id=SIGNED_APP, official_account="@TOA#_mine")
    OfficialAccount.objects.create(sdk_app_id=UNSIGNED_APP, official_account="@TOA#_theirs")
    user = User.objects.create_user("alice", password="pw", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_officialaccountmessage"))
    AppGrant.objects.create(sdk_app_id=SIGNED_APP, user=user)
    client = Client()
    client.force_login(user)
    page = client.get(reverse(MESSAGES)).text
    assert offered(input_filter(page, "official_account")) == ["@TOA#_mine"]
    assert "@TOA#_theirs" not in page
    # Asking for the other app's accounts by the app filter gives nothing of theirs.
    page = client.get(reverse(MESSAGES), {"sdk_app_id": str(UNSIGNED_APP)}).text
    assert "@TOA#_theirs" not in page
