"""The embedded development stack's own tools (not part of the product, never in the image)."""
