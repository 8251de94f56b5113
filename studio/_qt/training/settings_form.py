"""The Training panel's settings: the time budget or the steps, batch, context, learning rate and
its schedule, optimizer, precision, evaluation interval, seed, threads and TensorBoard (each field
with a tooltip that says what it does)."""
from __future__ import annotations

import os

from PySide6.QtWidgets import QCheckBox, QComboBox, QDoubleSpinBox, QGridLayout, QGroupBox, QLabel, QSpinBox


def spin(lo, hi, value, tip, step=1):
    s = QSpinBox()
    s.setRange(lo, hi)
    s.setValue(value)
    s.setSingleStep(step)
    s.setToolTip(tip)
    return s


def build_settings(panel) -> QGroupBox:
    """The Settings box; its fields become the panel's attributes (``panel.steps``, ``panel.lr``, …)."""
    set_box = QGroupBox("Settings")
    grid = QGridLayout(set_box)
    panel.steps = spin(1, 10_000_000, 300, "Total optimizer steps (sets the learning-rate schedule)", 50)
    panel.batch = spin(1, 4096, 8, "Sequences per step")
    panel.context = spin(8, 4096, 128, "Tokens per sequence (at most the model's classroom context)", 32)
    panel.lr = QDoubleSpinBox()
    panel.lr.setDecimals(5)
    panel.lr.setRange(1e-5, 1.0)
    panel.lr.setSingleStep(1e-4)
    panel.lr.setValue(3e-3)
    panel.lr.setToolTip("Peak learning rate (AdamW)")
    panel.schedule = QComboBox()
    panel.schedule.addItem("cosine", "cosine")
    panel.schedule.addItem("warmup-stable-decay", "wsd")
    panel.schedule.setToolTip("Learning-rate schedule after the warmup")
    panel.optimizer = QComboBox()
    panel.optimizer.addItem("AdamW", "adamw")
    panel.optimizer.addItem("Muon (+AdamW)", "muon")
    panel.optimizer.addItem("MuonClip (Muon + QK-clip, Kimi K2)", "muonclip")
    panel.optimizer.setCurrentIndex(1)  # Muon: lower bits/byte while steps are few; "Train for" 2+ min: AdamW
    panel.optimizer.setToolTip("Muon: orthogonalised momentum for hidden weight matrices, AdamW for "
                              "embeddings, head and norms; MuonClip adds QK-clip of attention logits (τ = 100)")
    panel.precision = QComboBox()
    panel.precision.addItem("auto (bf16 if faster)", "auto")
    panel.precision.addItem("fp32", "fp32")
    panel.precision.addItem("bf16 autocast", "bf16")
    panel.precision.addItem("fp8 (simulated)", "fp8")
    panel.precision.setToolTip("auto: a short measurement at the start picks bf16 where this CPU has native bf16 "
                              "and it is faster for this model, else fp32 (the choice is shown and saved).\n"
                              "bf16: matmuls in bfloat16 under autocast; weights and optimizer stay fp32.\n"
                              "fp8 (simulated): linear layers see e4m3 inputs/weights and e5m2 gradients with "
                              "per-tensor scales (quantise-dequantise; FP8 numerics, not FP8 speed)")
    panel.eval_every = spin(1, 100_000, 50, "Steps between evaluations on the held-out split", 10)
    panel.seed = spin(0, 2**31 - 1, 1337, "Seed of the initial weights and of the batches")
    panel.threads = spin(1, max(1, os.cpu_count() or 1), max(1, (os.cpu_count() or 2) - 1),
                         "CPU threads for training (one core is left to the window)")
    panel.minutes = QDoubleSpinBox()
    panel.minutes.setDecimals(1)
    panel.minutes.setRange(0.0, 24 * 60.0)
    panel.minutes.setSingleStep(1.0)
    panel.minutes.setSpecialValueText("off (steps)")
    panel.minutes.setSuffix(" min")
    panel.minutes.setToolTip("Train for this many minutes instead of a step count: the learning-rate schedule "
                            "is fitted to the time from the measured step time and ends decayed, on time.\n"
                            "Preparing (data, tokenizer, the attention kernel) is part of it: the run ends "
                            "N minutes after the click, and the step is compiled only where that pays off "
                            "in the time left.")
    panel.minutes.valueChanged.connect(lambda v: panel.steps.setEnabled(v == 0 and panel.start_btn.isEnabled()))
    panel.minutes.valueChanged.connect(panel._schedule_follows_budget)
    panel.tensorboard = QCheckBox("event files")
    panel.tensorboard.setToolTip("Also write the metrics as TensorBoard event files into the run folder's "
                                "tensorboard/ (needs tensorboardX: the 'tensorboard' extra)")
    fields = [("Train for", panel.minutes), ("Steps", panel.steps), ("Batch", panel.batch), ("Context", panel.context), ("LR", panel.lr),
              ("Schedule", panel.schedule), ("Optimizer", panel.optimizer), ("Precision", panel.precision),
              ("Eval every", panel.eval_every), ("Seed", panel.seed), ("Threads", panel.threads),
              ("TensorBoard", panel.tensorboard)]
    for i, (name, w) in enumerate(fields):
        grid.addWidget(QLabel(name), i % 4, 2 * (i // 4))
        grid.addWidget(w, i % 4, 2 * (i // 4) + 1)
    return set_box
