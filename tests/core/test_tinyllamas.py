"""karpathy/tinyllamas download and import, for real over HTTP against a loopback hub on 127.0.0.1 that
answers as huggingface.co does for LFS files (302 to a CDN with X-Linked-Etag / X-Linked-Size, Range
requests) and serves the Llama 2 tokenizer.bin as raw.githubusercontent.com does. No internet."""
import pytest
import torch

from conftest import run_cli  # at import time: once tests/qt is collected, "conftest" names its conftest
from hf_server import Hub
from studio.core.runs import tinyllamas as tl
from studio.core.data import download as dl
from studio.core.runs.rundir import RunDir

KNOWN = ("Zoo was a little girl named Lily. She loved to play outside in the park. One day, she saw a big, "
         "red ball. She wanted to play with it, but she didn't want to play with")  # llama2.c's run -t 0 -i Zoo


@pytest.fixture
def files(shared_data):
    d = shared_data / "llama2c"
    if not (d / "stories260K.bin").is_file():
        pytest.skip(f"needs {d}/stories260K.bin")
    return {"stories260K/stories260K.bin": (d / "stories260K.bin").read_bytes(),
            "stories260K/tok512.bin": (d / "tok512.bin").read_bytes(),
            "/" + tl.TOKENIZER_REPO_PATH: (d / "tokenizer.bin").read_bytes()}


@pytest.fixture
def hub(files, monkeypatch):
    with Hub(files, prefix=f"/{tl.HUB_REPO}/resolve/main/", redirect=True) as h:
        monkeypatch.setenv("HF_ENDPOINT", h.url)
        monkeypatch.setenv("ARCHSTUDIO_GITHUB_RAW", h.url)
        yield h


def test_download_follows_the_hub_redirect_with_progress_and_caches(hub, files, tmp_path):
    seen = []
    mp, tp = tl.download("stories260K", tmp_path, progress=lambda f, d, t: seen.append((f, d, t)))
    assert mp.read_bytes() == files["stories260K/stories260K.bin"] and tp.read_bytes() == files["stories260K/tok512.bin"]
    model_progress = [(d, t) for f, d, t in seen if f == "stories260K.bin"]
    assert model_progress[-1] == (len(files["stories260K/stories260K.bin"]),) * 2 and len(model_progress) > 3
    assert [d for d, _ in model_progress] == sorted(d for d, _ in model_progress)
    assert any(p.startswith("/cdn/") for p, _ in hub.requests), "the bytes came from the CDN the hub redirected to"
    assert tl.cached("stories260K", tmp_path) == (mp, tp)
    n = len(hub.requests)
    assert tl.download("stories260K", tmp_path) == (mp, tp) and len(hub.requests) == n  # cached: no request


def test_llama2_tokenizer_comes_from_github_raw(hub, files, tmp_path, monkeypatch):
    m = tl.TinyLlama("stories15M", "stories15M.bin", tl.LLAMA2_TOKENIZER, 32000, 1, (), "")
    assert tl.tokenizer_url(m) == f"{hub.url}/karpathy/llama2.c/master/tokenizer.bin"
    tp = tl.cache_dir(tmp_path) / "llama2-tokenizer.bin"
    # GitHub's ETag is not the content's sha256: trusting it would reject the good file
    dl.fetch(tl.tokenizer_url(m), tp, trust_etag_sha=False, validate=tl._tokenizer_check(32000))
    assert tp.read_bytes() == files["/" + tl.TOKENIZER_REPO_PATH]


def test_resume_after_a_cut_connection_asks_only_for_the_rest(hub, files, tmp_path):
    body = files["stories260K/stories260K.bin"]
    dl.fetch(tl.hub_url("stories260K/tok512.bin"), tl.cache_dir(tmp_path) / "stories260K" / "tok512.bin")
    hub.cut_after = 300_000  # the tokenizer is cached: the model's transfer is cut at 300 kB
    with pytest.raises(dl.DownloadError, match="resume"):
        tl.download("stories260K", tmp_path)
    part = tl.cache_dir(tmp_path) / "stories260K" / "stories260K.bin.part"
    assert part.stat().st_size == 300_000 and not part.with_name("stories260K.bin").exists()
    mp, _ = tl.download("stories260K", tmp_path)
    assert mp.read_bytes() == body
    assert hub.requests[-1] == ("/cdn/stories260K/stories260K.bin", "bytes=300000-")  # Range kept across the redirect


def test_corrupt_download_is_rejected_and_deleted(hub, files, tmp_path):
    hub.corrupt = True  # flipped first byte under the hub's true sha256
    with pytest.raises(dl.DownloadError, match="corrupt"):
        tl.download("stories260K", tmp_path)
    folder = tl.cache_dir(tmp_path) / "stories260K"
    assert not any(p.suffix == ".bin" for p in folder.iterdir())  # nothing half-written is left to be used
    hub.corrupt = False
    assert tl.download("stories260K", tmp_path)[0].read_bytes() == files["stories260K/stories260K.bin"]


def test_a_short_file_without_a_checksum_is_rejected_by_its_header(files, tmp_path, monkeypatch):
    body = files["stories260K/stories260K.bin"]
    cut = {"stories260K/stories260K.bin": body[:-4096], "stories260K/tok512.bin": files["stories260K/tok512.bin"]}
    with Hub(cut, prefix=f"/{tl.HUB_REPO}/resolve/main/") as h:  # no redirect, ETag = sha of the short body
        monkeypatch.setenv("HF_ENDPOINT", h.url)
        with pytest.raises(dl.DownloadError, match="corrupt.*truncated"):
            tl.download("stories260K", tmp_path)
    assert not (tl.cache_dir(tmp_path) / "stories260K" / "stories260K.bin").exists()


def test_imported_download_reproduces_llama2c_greedy_text(hub, tmp_path):
    torch.set_num_threads(1)
    out = tl.import_run("stories260K", tmp_path / "run", tmp_path / "cache")
    run = RunDir(out)
    cfg = run.read_config()
    assert cfg["pretrained"]["name"] == "stories260K" and cfg["data"]["source"] == "llama2c-import"
    dims = run.architecture().dims("classroom")
    assert (dims["dim"], dims["n_layers"], dims["n_heads"], dims["n_kv_heads"], dims["vocab_size"]) == (64, 5, 8, 4, 512)
    model, tok = run.build_model(), run.tokenizer()
    out_ids = model.generate(torch.tensor([tok.encode("Zoo")]), 60, temperature=0, stop_token=1)
    assert tok.decode(out_ids[0].tolist()).startswith(KNOWN)


def test_unknown_model_is_one_clear_error():
    from studio.core.errors import StudioError
    with pytest.raises(StudioError, match="stories15M"):
        tl.model("stories1B")


def test_offline_pack_fetches_pretrained_with_live_progress(hub, files, tmp_path):
    from studio.core.classroom.offline_pack import fetch_pretrained
    events = list(fetch_pretrained(["stories260K"], tmp_path))
    from studio.core.classroom.offline_pack import PackDone, PackPretrained
    assert isinstance(events[0], PackPretrained) and isinstance(events[-1], PackDone)
    assert any(e.total == len(files["stories260K/stories260K.bin"]) for e in events)
    assert tl.cached("stories260K", tmp_path)


def test_cli_data_fetch_pretrained(hub, tmp_path):
    env = {"HF_ENDPOINT": hub.url, "ARCHSTUDIO_GITHUB_RAW": hub.url}
    r = run_cli("data", "fetch", "--pretrained", "stories260K", "--cache", str(tmp_path), env=env)
    assert r.returncode == 0, r.stderr
    assert "stories260K: cached at" in r.stdout and tl.cached("stories260K", tmp_path)
    bad = run_cli("data", "fetch", "--pretrained", "stories1B", env=env)
    assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1


def test_lesson_imports_a_pretrained_model_that_serves_its_recipe(hub, tmp_path, monkeypatch):
    from studio.core.classroom.lesson import LessonConfig, describe_run, prepare, prepared_run
    monkeypatch.setenv("ARCHSTUDIO_CACHE_DIR", str(tmp_path / "cache"))
    cfg = LessonConfig(milestones=("recipe-llama2c-stories260k",), steps=3, batch_size=2, context=16, threads=1,
                       pretrained=("stories260K",), precision="fp32", compile=False)
    events = list(prepare(tmp_path / "lesson", cfg, cache=tmp_path / "tl"))
    from studio.core.classroom.lesson_events import LessonDone
    assert isinstance(events[-1], LessonDone) and "2 of 2" in events[-1].message
    run = prepared_run(tmp_path / "lesson", "recipe-llama2c-stories260k")
    assert run == tmp_path / "lesson" / "pretrained-stories260K"  # the real pretrained model beats 3 steps
    assert "pretrained stories260K" in describe_run(run)
