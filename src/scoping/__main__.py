"""``python -m scoping`` runs the ``scoping`` command."""

from scoping.cli import main

main()
