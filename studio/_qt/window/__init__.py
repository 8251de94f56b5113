"""The application and its main window: start-up, preflight, composition, project files."""
