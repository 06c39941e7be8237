"""``python -m marinegan``: the same command line as ``marinegan``."""

from marinegan.cli import main

main()
