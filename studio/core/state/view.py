"""How the model is shown, not what it is (napari's ``ViewerModel.theme``): views connect to
``theme_changed`` and restyle themselves; nobody pushes a palette into a view by hand."""
from __future__ import annotations

from psygnal import Signal

from studio.core import errors as E

THEME_NAMES = ("light", "dark")


class ViewSettings:
    theme_changed = Signal(str)

    def __init__(self, theme: str = "light"):
        self._theme = self._checked(theme)

    @staticmethod
    def _checked(name: str) -> str:
        if name not in THEME_NAMES:
            raise E.StudioError(f"no theme {name!r}: the themes are {', '.join(THEME_NAMES)}")
        return name

    @property
    def theme(self) -> str:
        return self._theme

    @theme.setter
    def theme(self, name: str) -> None:
        name = self._checked(name)
        if name != self._theme:
            self._theme = name
            self.theme_changed.emit(name)
