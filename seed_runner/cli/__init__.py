"""The ``seed`` command (typer): argument parsing and printing only; every command calls a Python twin.

Nothing in the package imports this wing.
"""
