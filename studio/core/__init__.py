"""Qt-free application core: architecture graph, presets, accounting, compiler, training, I/O."""
