"""Custom search attributes support staff filter by in the Temporal UI.

They are stored unencrypted, so they hold only the login (what the customer tells
support on the phone), the stage, and later the bound contract number — never the
e-mail, phone, ИНН or any secret. The embedded stack and the production compose
register exactly these names.
"""

from temporalio.common import SearchAttributeKey

LKK_LOGIN = SearchAttributeKey.for_keyword("LkkLogin")
LKK_STAGE = SearchAttributeKey.for_keyword("LkkStage")
LKK_CONTRACT = SearchAttributeKey.for_keyword("LkkContract")

ALL = (LKK_LOGIN, LKK_STAGE, LKK_CONTRACT)
