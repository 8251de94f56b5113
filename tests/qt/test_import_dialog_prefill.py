"""File → Import → llama2.c model…: the tokenizer lying next to the model is filled in (issue 22
L15): tokenizer.bin, or the only tok*.bin (stories260K's tok512.bin); a typed one is kept."""
from __future__ import annotations

from studio._qt.dialogs.import_dialog import ImportDialog


def test_the_tokenizer_beside_the_model_is_filled_in(qtbot, tmp_path):
    a, b, c = (tmp_path / n for n in ("a", "b", "c"))
    for d in (a, b, c):
        d.mkdir()
    (a / "stories15M.bin").write_bytes(b"m")
    (a / "tokenizer.bin").write_bytes(b"t")
    (b / "stories260K.bin").write_bytes(b"m")
    (b / "tok512.bin").write_bytes(b"t")
    (c / "model.bin").write_bytes(b"m")
    (c / "tok512.bin").write_bytes(b"t")
    (c / "tok4096.bin").write_bytes(b"t")  # two candidates: no guess
    dlg = ImportDialog()
    qtbot.addWidget(dlg)
    qtbot.keyClicks(dlg.model_edit, str(a / "stories15M.bin"))
    assert dlg.tok_edit.text() == str(a / "tokenizer.bin")
    dlg.model_edit.setText(str(b / "stories260K.bin"))  # another model: its own tokenizer
    assert dlg.tok_edit.text() == str(b / "tok512.bin")
    dlg.model_edit.setText(str(c / "model.bin"))
    assert dlg.tok_edit.text() == ""
    dlg.tok_edit.setText(str(c / "tok4096.bin"))  # the user's own choice stays
    dlg.model_edit.setText(str(a / "stories15M.bin"))
    assert dlg.tok_edit.text() == str(c / "tok4096.bin")
