"""File → Export → Hugging Face or GGUF…: every reason first, the export on the worker thread, the result shown."""
from types import SimpleNamespace

import pytest
from PySide6.QtWidgets import QMainWindow, QMenu

from studio._qt.dialogs import export_dialog
from studio._qt.dialogs.outside_export_dialog import OutsideExportDialog
from studio.core.data import make_tokenizer
from studio.core.data.sources import Corpus, content_hash, load_corpus
from studio.core.files.presets import load_preset
from studio.core.model.compiler import compile_architecture
from studio.core.runs.rundir import RunDir
from studio.core.state import Document, RunState
from studio.core.training.setup import classroom_arch

pytest.importorskip("transformers", reason="the 'export' extra is part of the test extra")


def make_run(tmp_path, pid: str):
    stories = load_corpus("starter").stories[:200]
    tok = make_tokenizer("bpe", Corpus("starter", "starter", stories, content_hash(stories), False), 512,
                         cache=tmp_path / "tok")
    arch = classroom_arch(load_preset(pid), 512, 32)
    run = RunDir(tmp_path / pid)
    run.initialize(arch, pid, tok)
    run.save_checkpoint({"model": compile_architecture(arch).state_dict()}, step=1)
    return run.path


def test_menu_entry_opens_the_dialog(qtbot):
    w = QMainWindow()
    qtbot.addWidget(w)
    doc, run = Document("classroom"), RunState()
    run.follow(doc)
    actions = export_dialog.Llama2cActions(SimpleNamespace(document=doc, run=run), parent=w)
    menu = QMenu("File", w)
    actions.fill_file_menu(menu)
    sub = next(a.menu() for a in menu.actions() if a.menu() and a.menu().title() == "&Export")
    entry = next(a for a in sub.actions() if a.text() == "Hugging Face or GGUF…")
    entry.trigger()
    dlg = actions.outside_dialog
    qtbot.addWidget(dlg)
    assert dlg.isVisible() and not dlg.export_button.isEnabled() and "Choose a run" in dlg.status_label.text()


def test_check_then_export_both_formats_on_the_worker(qtbot, tmp_path):
    path = make_run(tmp_path, "2023-07-llama-2")
    dlg = OutsideExportDialog(run_dir=str(path))
    qtbot.addWidget(dlg)
    dlg.show()
    assert dlg.ready and "LlamaForCausalLM" in dlg.status_label.text() and dlg.out_edit.text() == str(path / "hf")
    dlg.export_button.click()
    assert not dlg.export_button.isEnabled() and not dlg.gguf_radio.isEnabled()  # busy: no second export
    qtbot.waitUntil(lambda: dlg.worker is None, timeout=120_000)
    assert (path / "hf" / "config.json").is_file() and (path / "hf" / "model.safetensors").is_file()
    assert "LlamaForCausalLM" in dlg.result.toPlainText() and "Exported to" in dlg.status_label.text()
    dlg.gguf_radio.setChecked(True)  # the suggested output follows the format
    assert dlg.out_edit.text() == str(path / "model.gguf")
    dlg.export_button.click()
    qtbot.waitUntil(lambda: dlg.worker is None, timeout=120_000)
    assert (path / "model.gguf").stat().st_size > 100_000 and "GGUF arch llama" in dlg.result.toPlainText()


def test_inexpressible_run_lists_its_reasons_and_deepseek_has_both(qtbot, tmp_path):
    dlg = OutsideExportDialog(run_dir=str(make_run(tmp_path, "2019-02-gpt-2")))
    qtbot.addWidget(dlg)
    texts = [dlg.issues_list.item(i).text() for i in range(dlg.issues_list.count())]
    assert not dlg.ready and not dlg.export_button.isEnabled() and any("tok_embeddings" in t for t in texts)
    dlg.run_edit.setText(str(make_run(tmp_path, "2024-12-deepseek-v3")))
    dlg.check_run()
    assert dlg.ready and "DeepseekV3ForCausalLM" in dlg.status_label.text()
    dlg.gguf_radio.setChecked(True)
    assert dlg.ready and "GGUF arch deepseek2" in dlg.status_label.text()


def test_a_failed_export_is_one_line_and_nothing_written(qtbot, tmp_path):
    path = make_run(tmp_path, "2023-07-llama-2")
    (tmp_path / "taken").write_text("a file where the folder should go")
    dlg = OutsideExportDialog(run_dir=str(path))
    qtbot.addWidget(dlg)
    dlg.out_edit.setText(str(tmp_path / "taken"))
    dlg.export_button.click()
    qtbot.waitUntil(lambda: dlg.worker is None, timeout=120_000)
    assert "Nothing was exported" in dlg.status_label.text() and "is a file" in dlg.status_label.text()
    assert dlg.export_button.isEnabled()
