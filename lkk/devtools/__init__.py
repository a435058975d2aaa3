"""Developer tools for the embedded stack (not used in production)."""
