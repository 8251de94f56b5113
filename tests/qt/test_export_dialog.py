"""File → Export → llama2.c…: the check is shown before anything is written; export writes and shows run's command."""
from PySide6.QtWidgets import QMainWindow

from studio._qt import export_dialog
from studio.core.compiler import compile_architecture
from studio.core.llama2c import read_model
from studio.core.presets import load_preset
from studio.core.rundir import RunDir
from studio.core.tokenizers.llama2c_bin import Llama2cTokenizer

BASE = [b"<unk>", b"\n<s>\n", b"\n</s>\n"] + [f"<0x{i:02X}>".encode() for i in range(256)] + [b" ", b" the"]


class FakeWindow(QMainWindow):
    """What the main window's contract provides: menu(name), timeline_model, show_status."""

    def __init__(self, arch=None):
        super().__init__()
        self.menus, self.status = {}, []
        self.timeline_model = type("TM", (), {"arch": arch})()

    def menu(self, name):
        if name not in self.menus:
            self.menus[name] = self.menuBar().addMenu(name)
        return self.menus[name]

    def show_status(self, msg, timeout_ms=8000):
        self.status.append(msg)


def make_run(tmp_path, pid, name, hidden=None):
    arch = load_preset(pid)
    arch.scales["classroom"].update(vocab_size=len(BASE), dim=32, n_layers=1, n_heads=4, context=32,
                                    hidden_dim=hidden or 64)
    if "n_kv_heads" in arch.scales["classroom"]:
        arch.scales["classroom"]["n_kv_heads"] = 2
    run = RunDir(tmp_path / name)
    run.initialize(arch, pid, Llama2cTokenizer(BASE, [0.0] * len(BASE)))
    run.save_checkpoint({"model": compile_architecture(arch).state_dict()}, step=1)
    return run


def find_action(window):
    sub = next(a.menu() for a in window.menu("File").actions() if a.menu() and a.menu().title() == "&Export")
    return next(a for a in sub.actions() if a.text() == "llama2.c…")


def test_menu_entry_opens_the_dialog_with_the_on_screen_models_reasons(qtbot):
    w = FakeWindow(load_preset("2019-02-gpt-2"))
    qtbot.addWidget(w)
    export_dialog.install(w)
    find_action(w).trigger()
    dlg = w._llama2c_export_dialog
    qtbot.addWidget(dlg)
    assert dlg.isVisible() and not dlg.export_button.isEnabled()
    assert "does not fit llama2.c" in dlg.screen_label.text()
    texts = [dlg.issues_list.item(i).text() for i in range(dlg.issues_list.count())]
    assert any("feed_forward" in t and "SwiGLU" in t for t in texts)


def test_incompatible_run_lists_reasons_and_writes_nothing(qtbot, tmp_path):
    run = make_run(tmp_path, "2019-02-gpt-2", "gpt2")
    dlg = export_dialog.ExportDialog(run_dir=str(run.path))
    qtbot.addWidget(dlg)
    assert dlg.issues_list.count() >= 5 and not dlg.export_button.isEnabled()
    assert "cannot run in llama2.c" in dlg.status_label.text()
    dlg.out_edit.setText(str(tmp_path / "out"))
    dlg.do_export()  # refused even if called directly
    assert not (tmp_path / "out").exists()


def test_export_fp32_and_q8_0(qtbot, tmp_path):
    statuses = []
    run = make_run(tmp_path, "2023-07-llama-2", "llama", hidden=96)
    dlg = export_dialog.ExportDialog(run_dir=str(run.path), on_status=statuses.append)
    qtbot.addWidget(dlg)
    assert dlg.compatible and dlg.issues_list.count() == 0 and "Ready: dim 32" in dlg.status_label.text()
    assert dlg.out_edit.text() == str(run.path / "llama2c") and dlg.export_button.isEnabled()
    dlg.out_edit.setText(str(tmp_path / "fp32"))
    dlg.do_export()
    m = read_model(tmp_path / "fp32" / "model.bin")
    assert m.header.version == 0 and (tmp_path / "fp32" / "tokenizer.bin").is_file()
    assert dlg.result.toPlainText().startswith(f"./run {tmp_path / 'fp32' / 'model.bin'} -z ")
    assert statuses and "llama2.c" in statuses[-1]
    dlg.q8_radio.setChecked(True)
    assert dlg.group_note.text() == "uses 32"
    dlg.group_spin.setValue(64)  # divides neither 32 nor 96: refused before writing
    assert not dlg.export_button.isEnabled() and "must divide both" in dlg.export_button.toolTip()
    dlg.group_spin.setValue(16)
    dlg.out_edit.setText(str(tmp_path / "q8"))
    dlg.do_export()
    q = read_model(tmp_path / "q8" / "model.bin")
    assert q.header.version == 2 and q.header.group_size == 16
    assert dlg.result.toPlainText().startswith("./runq ")


def test_unreadable_folder_is_one_message(qtbot, tmp_path):
    dlg = export_dialog.ExportDialog(run_dir=str(tmp_path))
    qtbot.addWidget(dlg)
    assert "not a run folder" in dlg.status_label.text() and not dlg.export_button.isEnabled()


def test_main_window_gets_the_menu_entry(window):
    act = getattr(window, "export_llama2c_action", None) or find_action(window)
    assert act.text() == "llama2.c…"


def test_import_dialog_creates_a_run_and_shows_its_graph(window, tmp_path, shared_data):
    export_dialog.open_import_dialog(window)
    dlg = window._llama2c_import_dialog
    assert not dlg.import_button.isEnabled()
    dlg.model_edit.setText(str(shared_data / "llama2c" / "stories260K.bin"))
    dlg.tok_edit.setText(str(shared_data / "llama2c" / "tok512.bin"))
    dlg.out_edit.setText(str(tmp_path / "imported"))
    assert dlg.import_button.isEnabled()
    dlg.do_import()
    assert "Imported into" in dlg.status_label.text()
    assert RunDir(tmp_path / "imported").has_checkpoint()
    arch = window.timeline_model.arch
    assert arch.meta["title"] == "stories260K (llama2.c import)" and arch.dims("classroom")["dim"] == 64
    dlg.do_import()  # the folder is no longer empty: one message, nothing overwritten
    assert "Nothing was imported" in dlg.status_label.text() and "not empty" in dlg.status_label.text()


def test_import_dialog_reports_a_bad_file(qtbot, tmp_path, shared_data):
    (tmp_path / "bad.bin").write_bytes(b"\0" * 100)
    dlg = export_dialog.ImportDialog()
    qtbot.addWidget(dlg)
    dlg.model_edit.setText(str(tmp_path / "bad.bin"))
    dlg.tok_edit.setText(str(shared_data / "llama2c" / "tok512.bin"))
    dlg.out_edit.setText(str(tmp_path / "r"))
    dlg.do_import()
    assert "Nothing was imported" in dlg.status_label.text() and not (tmp_path / "r").exists()
