"""File formats the app reads and writes as YAML/JSON: the parse layer, schemas, presets, projects."""
