"""Company accounts: colleagues invited to a bound contract, their rights, and the audit trail.

``models`` holds the tables and the shapes that go in and out; ``errors`` the typed
refusals (``api/errors.py`` words them). The stores work in the caller's session and
leave the commit to it, as the billing cabinet-side stores do, so that a change and its
``audit_events`` row are always one transaction.
"""
