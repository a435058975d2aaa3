"""The ``lkk`` command-line tools (db, support, ops, billing): they ship in the image, next to the product they operate on."""
