"""Temporal activities: every side effect of onboarding (database, SMTP, time, randomness)."""
