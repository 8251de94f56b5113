"""archstudio render: a non-blank image of the requested size for every preset; SVG; bad input."""
import pytest
from PySide6.QtGui import QImage

from studio.entry import main
from studio.core.files.presets import preset_ids
from tests.conftest import run_cli

PRESETS = preset_ids()


def _distinct_colours(img: QImage, step: int = 7) -> int:
    seen = set()
    for y in range(0, img.height(), step):
        for x in range(0, img.width(), step):
            seen.add(img.pixel(x, y))
    return len(seen)


@pytest.mark.parametrize("pid", PRESETS)
def test_render_every_preset(pid, tmp_path, qapp):
    out = tmp_path / f"{pid}.png"
    assert main(["render", pid, "--out", str(out), "--size", "480x270", "--theme", "dark"]) == 0
    img = QImage(str(out))
    assert (img.width(), img.height()) == (480, 270)
    assert _distinct_colours(img) > 12  # blocks, text and edges, not a blank canvas


def test_render_svg_and_scale(tmp_path, qapp):
    out = tmp_path / "llama.svg"
    assert main(["render", "2023-07-llama-2", "--out", str(out), "--scale", "classroom", "--size", "800x450"]) == 0
    text = out.read_text()
    assert text.lstrip().startswith("<?xml") and "<svg" in text and 'width="800' in text


@pytest.mark.parametrize("args, msg", [
    (["--size", "big"], "expected WIDTHxHEIGHT"),
    (["--size", "10x10"], "between 64 and 8192"),
])
def test_render_bad_input_is_one_line_exit_2(tmp_path, args, msg, capsys, qapp):
    assert main(["render", "2019-02-gpt-2", "--out", str(tmp_path / "x.png"), *args]) == 2
    err = capsys.readouterr().err
    assert msg in err and err.count("\n") == 1
    assert not (tmp_path / "x.png").exists()


def test_render_cli_subprocess(tmp_path):
    out = tmp_path / "gpt2.png"
    r = run_cli("render", "2019-02-gpt-2", "--out", str(out), "--size", "640x360", timeout=120)
    assert r.returncode == 0, r.stderr
    assert QImage(str(out)).size().width() == 640
    r = run_cli("render", "2019-02-gpt-2", "--out", str(tmp_path / "x.jpg"), timeout=120)
    assert r.returncode == 2 and "must end in .png or .svg" in r.stderr
