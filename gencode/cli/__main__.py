"""`python -m gencode.cli ...` runs the command line (same as the `gencode` script)."""

from gencode.cli.main import cli

cli()
