"""Database operations, one module per aggregate.

Every public function takes the caller's ``Session`` and is one transaction on it
(``transaction``): it commits before it returns, or rolls back and raises. So a service
runs several of them, with the CPU work between, in one thread hop, and the commits,
locks and races are those of one function each, as if each had its own session.
The API gets its session per request (``api.deps.DbSession``); an activity opens one.
The billing stores (``lkk.billing``) differ, and say why in their package doc.
"""

from __future__ import annotations

from lkk.db import session_for, transaction

__all__ = ["session_for", "transaction"]
