"""Handing a letter to the SMTP relay from an activity, the one way every activity does it.

A permanent refusal (5xx) becomes ``MailRejectedError``: the workflows' retry policies
do not retry it, and support reads the server's reason. A temporary failure is raised as
it is, so Temporal retries the activity (the same ``key``: the same logical letter).
"""

from __future__ import annotations

import logging

from prometheus_client import Counter
from temporalio import activity

from lkk.mail.sender import MailRejected, MailTemporarilyFailed, OutgoingMail, SmtpSender
from workflows.errors import MailRejectedError

log = logging.getLogger(__name__)


def hand_over(sender: SmtpSender, mail: OutgoingMail, *, key: str, what: str, outcomes: Counter | None = None) -> None:
    """Send ``mail`` (``what`` names it in the log: never the address or a link);
    ``outcomes`` counts sent / tempfail / rejected where a metric wants it."""
    try:
        sender.send(mail, key=key)
    except MailRejected as err:
        if outcomes is not None:
            outcomes.labels("rejected").inc()
        log.warning("%s rejected permanently: %s", what, err)
        raise MailRejectedError(str(err)) from None
    except MailTemporarilyFailed as err:
        if outcomes is not None:
            outcomes.labels("tempfail").inc()
        log.warning("%s not handed over (attempt %d, will retry): %s", what, activity.info().attempt, err)
        raise
    if outcomes is not None:
        outcomes.labels("sent").inc()
