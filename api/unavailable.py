"""The one error of a step that needs Temporal while Temporal is unreachable.

Registration, resend and contract binding raise it before they keep anything (no
claimed login, no parked code); routes answer with ``STATUS`` and ``MESSAGE`` and
show the form again with its values (passwords excepted). It is a ``ServiceError``:
``api/errors.py`` has its row, so a JSON route may simply let it propagate.
"""

from __future__ import annotations

from lkk.errors import ServiceError

STATUS = 503
MESSAGE = "Сервис временно недоступен. Попробуйте ещё раз через несколько минут."


class ServiceUnavailable(ServiceError):
    """Temporal (or its worker) could not be reached; nothing was kept (``api.errors``
    answers ``STATUS`` with ``MESSAGE``)."""
