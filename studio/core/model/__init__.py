"""The architecture itself: graph, parse-free Architecture, resolve once, validation, accounting, diff, provenance, layout, compile."""
