"""`python -m gencode ...` runs the command line."""

from gencode.cli.main import cli

cli()
