"""Shared core of the ЛКК onboarding service: settings, database models, stores and security helpers."""
