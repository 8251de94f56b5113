"""The class around the models: the lesson dialog, the race view, the offline pack."""
