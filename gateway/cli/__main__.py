"""`python -m gateway.cli`: the same as the `smartbcc` console script."""

from gateway.cli import main

if __name__ == "__main__":
    main()
