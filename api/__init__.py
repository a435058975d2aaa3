"""The thin FastAPI layer: validate input, call the store or Temporal, render."""
