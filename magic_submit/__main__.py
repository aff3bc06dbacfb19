"""``python -m magic_submit`` runs the ``magic`` command line."""

from magic_submit.cli import main

main()
