"""Dialogs: where file dialogs open, export/import, the first-run tour."""
