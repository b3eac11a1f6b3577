"""``python -m backend`` is the ``quire`` command."""

from backend.cli.main import main

if __name__ == "__main__":
    main()
