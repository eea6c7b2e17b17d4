"""`python -m kantkg` is the `kantkg` command."""

from kantkg.cli import main

main()
