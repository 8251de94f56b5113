"""Typed errors. Each message is one line that names the file/node and says how to fix it."""


class StudioError(Exception):
    """Base for every error the CLI and the GUI show to the user as one line."""


class LoadError(StudioError):
    """A file (YAML, project, checkpoint, model.bin) could not be read or is invalid."""


class GraphEditError(StudioError):
    """An edit to an ArchGraph that cannot be applied."""


class CycleError(GraphEditError):
    pass


class PortTypeError(GraphEditError):
    pass


class InputTakenError(GraphEditError):
    pass


class DuplicateEdgeError(GraphEditError):
    pass


class UnknownNodeError(GraphEditError):
    pass


class UnknownPortError(GraphEditError):
    pass


class ConfigError(GraphEditError):
    """A config value that the block cannot take (unknown key, wrong type, impossible value)."""
