"""Custom search attributes support staff filter by in the Temporal UI.

They are stored unencrypted, so they hold only the login (what the customer tells
support on the phone), the stage, and later the bound contract number (an invitation:
its contract numbers) — never the e-mail, phone, ИНН or any secret.

This is the one list: the embedded stack, the test servers and ``register_search_attributes``
derive theirs from ``ALL``; the Procfile and deploy/temporal/create-namespace.sh cannot
import it, so tests/test_search_attributes.py checks that they say the same.
"""

from temporalio.common import SearchAttributeKey

LKK_LOGIN = SearchAttributeKey.for_keyword("LkkLogin")
LKK_STAGE = SearchAttributeKey.for_keyword("LkkStage")
LKK_CONTRACT = SearchAttributeKey.for_keyword("LkkContract")
# An invitation may grant several contracts: support searches ``LkkContracts = '7701-000101'``.
LKK_CONTRACTS = SearchAttributeKey.for_keyword_list("LkkContracts")

ALL: tuple[SearchAttributeKey, ...] = (LKK_LOGIN, LKK_STAGE, LKK_CONTRACT, LKK_CONTRACTS)


def cli_type(key: SearchAttributeKey) -> str:
    """The type as the ``temporal`` CLI spells it: ``Keyword``, ``KeywordList``, ``Datetime``..."""
    return key.indexed_value_type.name.title().replace("_", "")


def dev_server_flags() -> list[str]:
    """``temporal server start-dev`` arguments that register every attribute."""
    return [arg for key in ALL for arg in ("--search-attribute", f"{key.name}={cli_type(key)}")]
