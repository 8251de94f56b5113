"""Inspecting a model while its run is still preparing (issue 22 L8): the views first show
untrained weights (no snapshot can be asked for before the first step), then the live refresh
keeps asking, so the run's weights replace them once it trains — not only when it ends."""
from __future__ import annotations

from studio._qt.inspect import InspectDocks
from studio.core.state import StudioModel


class FakeSession:
    """What the inspect docks read of the Training session."""
    def __init__(self, key):
        self.running, self.key, self.asked = True, key, 0

    def request_snapshot(self) -> bool:
        self.asked += 1
        return True


def test_live_refresh_asks_for_weights_while_the_views_show_untrained(qtbot):
    m = StudioModel(scale="classroom", start="recipe-llama2c-stories260k")
    session = FakeSession(m.run.key)
    docks = InspectDocks(m.run, session)
    view = docks.docks["Attention"]
    qtbot.addWidget(view)
    view.resize(600, 400)
    view.show()
    qtbot.waitExposed(view)
    assert docks.controller.activate()
    assert docks.controller.source.kind == "untrained"  # the run has no snapshot yet (preparing)
    qtbot.waitUntil(lambda: not docks.controller.busy(), timeout=60_000)
    docks.live_refresh()
    assert session.asked == 1  # before the fix: never, until the run ended
    session.key = "milestone:another"  # training another model: nothing to ask for this one
    docks.live_refresh()
    assert session.asked == 1
    docks.shutdown()
