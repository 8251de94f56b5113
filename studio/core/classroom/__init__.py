"""The class around the models: lessons prepared ahead, races, the compute planner, time budgets, the offline pack."""
