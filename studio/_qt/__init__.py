"""Qt views (PySide6 + pyqtgraph). The only package allowed to import Qt."""
