"""Temporal workflows and their contract: deterministic orchestration only (every side
effect is an activity), the messages, errors, search attributes and support wording.
The bottom layer: it imports nothing of the product but the activities it passes
through (tests/test_import_graph.py)."""
