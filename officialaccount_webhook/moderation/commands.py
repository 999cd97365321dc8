"""The "before" commands Tencent asks the webhook about, and what each may answer.

Standard library only: the settings' parser reads these names.

Tencent's pages (protocol notes, section 3): 60803 for sending, 60799 for subscribing, 60795 for
creating an account. ``ErrorCode`` 0 allows; 1 refuses; sending also knows 2 (discard: the
sender is told it was sent) and a rewritten ``MsgBody``/``CloudCustomData`` with 0; creating and
sending take a code of the app's own in [120001, 130000], which the caller receives with
``ErrorInfo``; subscribing can refuse some of the subscribers with 0 and
``RefusedSubscribers_Account`` [inferred: the protocol notes have it from a summary of page
60799, not its text; verify].
"""

from __future__ import annotations

BEFORE_SEND_MSG = "OfficialAccount.CallbackBeforeSendMsg"
BEFORE_ADD_SUBSCRIBER = "OfficialAccount.CallbackBeforeAddSubscriber"
BEFORE_CREATE_ACCOUNT = "OfficialAccount.CallbackBeforeCreateOfficialAccount"
BEFORE_COMMANDS = (BEFORE_SEND_MSG, BEFORE_ADD_SUBSCRIBER, BEFORE_CREATE_ACCOUNT)

REFUSE = 1
DISCARD = 2
CUSTOM_CODES = range(120001, 130001)

ALLOW = "allow"
REWRITE = "rewrite"
REFUSE_SOME = "refuse_some"
REFUSE_ALL = "refuse"
DISCARD_ALL = "discard"

# What each command's page documents. A custom code for subscribing is not among them: page
# 60799 lists 0 and 1 only [inferred: the other pages' custom range does not apply].
ACTIONS = {
    BEFORE_SEND_MSG: frozenset({ALLOW, REWRITE, REFUSE_ALL, DISCARD_ALL}),
    BEFORE_ADD_SUBSCRIBER: frozenset({ALLOW, REFUSE_SOME, REFUSE_ALL}),
    BEFORE_CREATE_ACCOUNT: frozenset({ALLOW, REFUSE_ALL}),
}
CUSTOM_CODE_COMMANDS = frozenset({BEFORE_SEND_MSG, BEFORE_CREATE_ACCOUNT})
