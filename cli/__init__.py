"""The shell face of lfkit: a Typer app, one small module per subcommand.

Installed as the package ``lfkit_cli`` so the bare name ``cli`` is not claimed
in site-packages. Nothing in :mod:`lfkit` imports this package.
"""
