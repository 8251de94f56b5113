"""Docked panels beside the graph: timeline, milestone card, accounting, compute planner."""
