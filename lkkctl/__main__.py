"""``python -m lkkctl …`` is the ``lkk`` command."""

from lkkctl.cli import main

main()
