"""Outgoing e-mail: Russian templates and an SMTP sender built on the ``emails`` package."""
