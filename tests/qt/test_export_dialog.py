"""File → Export → llama2.c…: the check is shown before anything is written; export writes and shows run's command."""
from types import SimpleNamespace

from PySide6.QtWidgets import QMainWindow, QMenu

from studio._qt.dialogs import export_dialog
from studio.core.state import Document, RunState, StudioModel
from studio.core.model.compiler import compile_architecture
from studio.core.formats.llama2c import read_model
from studio.core.files.presets import load_preset
from studio.core.runs.rundir import RunDir
from studio.core.tokenizers.llama2c_bin import Llama2cTokenizer

BASE = [b"<unk>", b"\n<s>\n", b"\n</s>\n"] + [f"<0x{i:02X}>".encode() for i in range(256)] + [b" ", b" the"]


def models(arch=None, key=None):
    """The app's models the dialogs read: a Document (``arch`` on screen) and the RunState following it."""
    doc, run = Document("classroom"), RunState()
    run.follow(doc)
    if arch is not None:
        doc.show_milestone(key or arch.id, arch, arch.meta.get("title", arch.id))
    return SimpleNamespace(document=doc, run=run,
                           open_architecture=lambda a, kind, title, run_dir=None: doc.show(kind, a, title, run_dir=run_dir))


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


def test_menu_entry_opens_the_dialog_with_the_on_screen_models_reasons(qtbot):
    w = QMainWindow()
    qtbot.addWidget(w)
    actions = export_dialog.Llama2cActions(models(load_preset("2019-02-gpt-2")), parent=w)
    file_menu = QMenu("File", w)
    actions.fill_file_menu(file_menu)
    sub = next(a.menu() for a in file_menu.actions() if a.menu() and a.menu().title() == "&Export")
    assert actions.export_action in sub.actions() and actions.export_action.text() == "llama2.c…"
    actions.export_action.trigger()
    dlg = actions.export_dialog
    qtbot.addWidget(dlg)
    assert dlg.isVisible() and not dlg.export_button.isEnabled()
    assert "does not fit llama2.c" in dlg.screen_label.text()
    texts = [dlg.issues_list.item(i).text() for i in range(dlg.issues_list.count())]
    assert any("feed_forward" in t and "SwiGLU" in t for t in texts)


def test_choosing_a_llama_run_drops_the_on_screen_models_reasons(qtbot, tmp_path):
    """DeepSeek-V3 on screen, then a LLaMA run chosen: no "DeepSeek-V3 does not fit (N reasons)" stays."""
    m = models(load_preset("2024-12-deepseek-v3"))
    dlg = export_dialog.ExportDialog(m.run)
    qtbot.addWidget(dlg)
    dlg.show()
    assert "DeepSeek-V3" in dlg.screen_label.text() and "does not fit" in dlg.screen_label.text()
    assert dlg.issues_list.count() >= 1
    run = make_run(tmp_path, "2023-07-llama-2", "llama", hidden=96)
    dlg.run_edit.setText(str(run.path))
    dlg.check_run()
    assert dlg.compatible and dlg.issues_list.count() == 0 and "Ready: dim 32" in dlg.status_label.text()
    assert dlg.screen_label.isHidden() and "DeepSeek" not in dlg.screen_label.text()
    dlg.run_edit.setText("")  # no run chosen again: the on-screen model's line comes back
    dlg.check_run()
    assert not dlg.screen_label.isHidden() and "DeepSeek-V3" in dlg.screen_label.text()


def test_the_dialog_offers_the_run_of_the_model_on_screen(qtbot, tmp_path):
    llama, gpt2 = make_run(tmp_path, "2023-07-llama-2", "llama", hidden=96), make_run(tmp_path, "2019-02-gpt-2", "gpt2")
    m = models(load_preset("2024-12-deepseek-v3"))
    dlg = export_dialog.ExportDialog(m.run)
    qtbot.addWidget(dlg)
    dlg.show()
    assert dlg.run_edit.text() == ""
    m.document.show("imported", llama.architecture(), "LLaMA run", run_dir=llama.path)
    assert dlg.run_edit.text() == str(llama.path) and dlg.compatible
    assert dlg.out_edit.text() == str(llama.path / "llama2c") and dlg.screen_label.isHidden()
    m.document.show("project", gpt2.architecture(), "GPT-2 project", run_dir=gpt2.path)
    assert dlg.run_edit.text() == str(gpt2.path) and not dlg.compatible
    assert "cannot run in llama2.c" in dlg.status_label.text()
    assert dlg.out_edit.text() == ""  # the LLaMA run's output folder is not this run's
    m.document.show_milestone("2023-07-llama-2", load_preset("2023-07-llama-2"), "LLaMA 2")  # no run
    assert dlg.run_edit.text() == "" and "LLaMA 2" in dlg.screen_label.text()
    dlg.run_edit.setText(str(gpt2.path))  # a folder the user chose stays when the model changes
    dlg.check_run()
    m.document.show("imported", llama.architecture(), "LLaMA run", run_dir=llama.path)
    assert dlg.run_edit.text() == str(gpt2.path)


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


def test_import_dialog_creates_a_run_and_shows_its_graph(qtbot, tmp_path, shared_data):
    model = StudioModel(scale="classroom")
    actions = export_dialog.Llama2cActions(model)
    dlg = actions.open_import()
    qtbot.addWidget(dlg)
    assert not dlg.import_button.isEnabled()
    dlg.model_edit.setText(str(shared_data / "llama2c" / "stories260K.bin"))
    dlg.tok_edit.setText(str(shared_data / "llama2c" / "tok512.bin"))
    dlg.out_edit.setText(str(tmp_path / "imported"))
    assert dlg.import_button.isEnabled()
    dlg.do_import()  # on the worker: the dialog answers meanwhile, and says so
    assert dlg.worker is not None and not dlg.import_button.isEnabled() and "Importing" in dlg.status_label.text()
    qtbot.waitUntil(lambda: dlg.worker is None, timeout=60_000)
    assert "Imported into" in dlg.status_label.text() and dlg.import_button.isEnabled()
    assert RunDir(tmp_path / "imported").has_checkpoint()
    arch = model.document.architecture
    assert arch.meta["title"] == "stories260K (llama2.c import)" and arch.dims("classroom")["dim"] == 64
    assert model.document.kind == "imported" and model.run.source == "imported" and model.timeline.index is None
    dlg.do_import()  # the folder is no longer empty: one message, nothing overwritten
    qtbot.waitUntil(lambda: dlg.worker is None, timeout=60_000)
    assert "Nothing was imported" in dlg.status_label.text() and "not empty" in dlg.status_label.text()


def test_import_dialog_reports_a_bad_file(qtbot, tmp_path, shared_data):
    (tmp_path / "bad.bin").write_bytes(b"\0" * 100)
    dlg = export_dialog.ImportDialog()
    qtbot.addWidget(dlg)
    dlg.model_edit.setText(str(tmp_path / "bad.bin"))
    dlg.tok_edit.setText(str(shared_data / "llama2c" / "tok512.bin"))
    dlg.out_edit.setText(str(tmp_path / "r"))
    dlg.do_import()
    qtbot.waitUntil(lambda: dlg.worker is None, timeout=60_000)
    assert "Nothing was imported" in dlg.status_label.text() and not (tmp_path / "r").exists()
    assert "failed" not in dlg.status_label.text()  # the reader's own line, not a wrapped exception


def test_main_window_gets_the_menu_entries(window):
    actions = window.llama2c
    assert actions.export_action.text() == "llama2.c…" and actions.import_action.text() == "llama2.c model…"
    actions.export_action.trigger()
    assert actions.export_dialog.isVisible() and actions.export_dialog.run_state is window.model.run
    actions.export_dialog.close()
