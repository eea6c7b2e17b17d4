"""`python -m kantkg` is the `kantkg` command."""

from kantkg.cli.main import main

if __name__ == "__main__":  # not when an extraction worker process imports this module
    main()
