"""What Generate shows for a barely trained model (issue 22 L7): bytes that make no character
are one mark (⁇) with its explanation in the tooltip, not raw escapes such as "aH\\xe4"."""
from __future__ import annotations

from studio._qt.text import stray_bytes_marked
from studio._qt.training.generate_panel import GeneratePanel
from studio.core.jobs.generate import TextPiece
from studio.core.state import StudioModel
from studio.core.tokenizers import readable_utf8


def test_stray_bytes_become_one_mark():
    raw = readable_utf8(b"aH\xe4 ok \xff\xfe done", final=True)  # what the core decodes, exact
    assert raw == "aH\\xe4 ok \\xff\\xfe done"
    assert stray_bytes_marked(raw) == "aH⁇ ok ⁇⁇ done"
    assert stray_bytes_marked("Tom's café") == "Tom's café"


def test_generate_shows_marks_not_escapes(qtbot):
    model = StudioModel(scale="classroom", start="recipe-llama2c-stories260k")
    panel = GeneratePanel(model.run)
    qtbot.addWidget(panel)
    panel.worker = job = object()  # the job whose pieces are shown
    for text in ("Once aH", readable_utf8(b"\xe4", final=True), " upon"):
        panel._event(job, TextPiece(text))
    assert panel.output.toPlainText() == "Once aH⁇ upon"
    assert "not text yet" in panel.output.toolTip()
    panel.worker = None

