"""The graph on screen: scene, view, items, editing and its undo commands, palette, property editor."""
