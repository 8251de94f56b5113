"""Setting a run up, shared by ``archstudio train`` and the GUI: which tokenizer a model trains
with, the model at its classroom scale with the tokenizer's vocabulary, a fresh or resumed RUN_DIR."""
from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

from studio.core import errors as E

DEFAULT_TOKENIZER = {"kind": "bpe", "vocab_size": 512}


def default_tokenizer(arch) -> dict:
    """The preset's ``meta.classroom_tokenizer`` ({kind, vocab_size}) if it has one, else BPE 512."""
    t = (arch.meta or {}).get("classroom_tokenizer")
    if isinstance(t, dict) and t.get("kind") in ("bpe", "byte", "llama2"):
        return {"kind": t["kind"], "vocab_size": t.get("vocab_size")}
    return dict(DEFAULT_TOKENIZER)


def choose_tokenizer(arch, kind: str | None, vocab_size: int | None) -> tuple[str, int | None]:
    d = default_tokenizer(arch)
    kind = kind or d["kind"]
    if vocab_size is None and kind == d["kind"]:
        vocab_size = d.get("vocab_size")
    if kind == "bpe" and vocab_size is None:
        vocab_size = DEFAULT_TOKENIZER["vocab_size"]
    return kind, vocab_size


# Measured (bench/sweep_recipe.py, bench/RESULTS.md): a classroom model trained for a fixed time
# reaches a lower held-out bpb with 128-token windows than with 256 or 512 (more steps, and tiny
# models use little long-range context); the app's Training panel defaults to the same.
DEFAULT_CONTEXT = 128


DEFAULT_BATCH = 8
# A time budget of at least LONG_BUDGET_MIN minutes trains more tokens per step: at 1 minute batch 8 ×
# context 128 wins (batch 16 +4 %, context 256 +8 % bpb), at 3 minutes batch 16 was 8.5 % lower on
# stories260K and on the classroom LLaMA 2 (context 256: 4 % and 10 % lower), and at 10 minutes
# batch 16 × context 256 was 9.3 % lower on stories260K (batch 16 alone 6.6 %; bench/sweep_recipe.py,
# figures in bench/RESULTS.md).
LONG_BUDGET_MIN = 2.0
LONG_BUDGET_RECIPE = {"batch_size": 16, "context": 256, "optimizer": "adamw"}
SHORT_RECIPE = {"batch_size": DEFAULT_BATCH, "context": DEFAULT_CONTEXT, "optimizer": "muon"}


def budget_recipe(minutes: float | None) -> dict:
    """Batch, context and optimizer a run trains with unless told, for a time budget (None: a
    step count). Muon wins while steps are few (1 minute: 7–27 % lower bpb than AdamW on stories260K,
    20 % on the byte-level microgpt); over longer budgets AdamW's cheaper step wins (3 and 10
    minutes: 2–6 % lower)."""
    if minutes is not None and minutes >= LONG_BUDGET_MIN:
        return dict(LONG_BUDGET_RECIPE)
    return dict(SHORT_RECIPE)


def default_context(arch, minutes: float | None = None) -> int:
    """The context a run trains with unless told: the budget's, or the model's own if shorter."""
    want = budget_recipe(minutes)["context"]
    own = int((arch.scales.get("classroom") or {}).get("context") or want)
    return min(own, want)


def model_vocab(tok, requested: int | None) -> int:
    """The model's vocabulary: the tokenizer's, or a larger requested one (unused ids at the end)."""
    if requested is None or tok.kind == "bpe":
        return tok.vocab_size
    if requested < tok.vocab_size:
        raise E.StudioError(f"--vocab-size {requested} is smaller than the {tok.kind} tokenizer's {tok.vocab_size} ids")
    return requested


def classroom_arch(arch, vocab_size: int, context: int | None = None):
    """A copy of arch whose classroom scale has the given vocabulary (and context)."""
    a = arch.copy()
    if "classroom" not in a.scales:
        raise E.StudioError(f"{a.id} has no classroom scale to train")
    a.scales["classroom"] = dict(a.scales["classroom"], vocab_size=int(vocab_size))
    if context:
        if context < 2:
            raise E.StudioError("--context must be at least 2")
        a.scales["classroom"]["context"] = int(context)
    return a


def build_model(arch, seed: int, batch: int = 1):
    """The run's model; refused first (one line with the estimate and the machine's memory) when
    one training step of ``batch`` sequences would not fit in memory."""
    import torch

    from studio.core.model.compiler import compile_architecture
    from studio.core.model.fits import check_fits
    check_fits(arch, "classroom", batch)
    torch.manual_seed(seed)  # the same seed gives the same initial weights
    return compile_architecture(arch, "classroom")


IMPORTED = "llama2c-import"  # run.yaml data.source of a model imported from llama2.c


def check_resume(run, model_spec: str, corpus_sha: str | None, kind: str | None, vocab: int | None) -> dict:
    """run.yaml of a run that may be resumed with these settings, or a clear StudioError."""
    cfg = run.read_config()  # a run without a checkpoint yet resumes from step 0 (the CLI rebuilds it)
    if str(cfg.get("model")) != str(model_spec):
        raise E.StudioError(f"{run.path} trains {cfg.get('model')!r}, not {model_spec!r}; --resume continues the same model")
    data = cfg.get("data") or {}
    if data.get("source") == IMPORTED:  # weights from elsewhere: any data may continue them
        corpus_sha = None
    if corpus_sha is not None and data.get("sha256") != corpus_sha:
        raise E.StudioError(f"{run.path} was trained on {data.get('source', '?')!r}; --resume needs the same data")
    tdesc = cfg["tokenizer"] or {}
    if kind is not None and kind != tdesc.get("kind"):
        raise E.StudioError(f"{run.path} uses the {tdesc.get('kind')} tokenizer, not {kind}; --resume needs the same tokenizer")
    if vocab is not None and vocab != tdesc.get("vocab_size") and kind in (None, "bpe"):
        raise E.StudioError(f"{run.path} has a {tdesc.get('vocab_size')}-piece vocabulary, not {vocab}; "
                            "--resume needs the same tokenizer")
    return cfg


def default_run_dir(arch_id: str) -> Path:
    import os
    import time

    import platformdirs
    base = Path(os.environ.get("ARCHSTUDIO_RUNS_DIR") or Path(platformdirs.user_data_dir("archstudio", appauthor=False)) / "runs")
    return base / f"{arch_id}-{time.strftime('%Y%m%d-%H%M%S')}"


def training_record(cfg) -> dict:
    d = asdict(cfg)
    d.pop("threads", None)  # a property of the machine, not of the run
    d.pop("device", None)
    return d


def prepare_new_run(arch, model_spec: str, data_spec: str | None, kind: str | None, vocab_size: int | None,
                    tokenizer_model, cfg, run_dir, status=lambda msg: None, before_model=None):
    """Everything a fresh run needs, in order (the GUI calls this in its worker thread, ``archstudio
    train`` on its main thread): corpus -> tokenizer -> model at the classroom scale -> initialized
    RUN_DIR -> token streams. ``before_model`` runs before the first torch work (the CLI joins its
    torch import there). Returns (model, TokenData, RunDir, cfg with the model's context)."""
    import dataclasses

    from studio.core.data import load_corpus, make_tokenizer, tokenize_corpus
    from studio.core.runs.rundir import RunDir
    run = RunDir(run_dir)
    if not run.is_empty():
        raise E.StudioError(f"{run.path} is not empty; choose a new folder")
    status("reading the data")
    corpus = load_corpus(data_spec)
    kind, vocab = choose_tokenizer(arch, kind, vocab_size)
    status(f"preparing the {kind} tokenizer" + (f" ({vocab} pieces)" if kind == "bpe" else ""))
    tok = make_tokenizer(kind, corpus, vocab, tokenizer_model)
    a = classroom_arch(arch, model_vocab(tok, vocab_size if kind != "bpe" else None), cfg.context)
    if before_model is not None:
        before_model()
    model = build_model(a, cfg.seed, cfg.batch_size)
    cfg = dataclasses.replace(cfg, context=model.context)
    from studio.core.training.runfolder import StagedRun, check_first_step
    staged = StagedRun(run.path)  # the folder appears only once the first step can run
    try:
        staged.run.initialize(a, model_spec, tok, training_record(cfg), corpus.describe())
        status("tokenizing")
        data = tokenize_corpus(corpus, tok)
        check_first_step(model, data)
    except BaseException:
        staged.discard()
        raise
    return model, data, staged.commit(), cfg
