"""The `gencode` command line: one click group, one small module per subcommand."""
