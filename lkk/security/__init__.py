"""Password hashing and opaque tokens."""
