"""Helpers of the training view tests (the ``make_docks`` and ``env`` fixtures are in conftest.py):
the models the views read, and a Training panel set up for a short eager run."""
from studio.core.state import Document, RunState


def make_models(arch, key="tiny"):
    """The two models the training views read: a Document with ``arch`` on screen, and the RunState following it."""
    doc, run = Document("classroom"), RunState()
    run.follow(doc)
    doc.show_milestone(key, arch, "Tiny")
    return doc, run


def configure(panel, steps=100_000):
    panel.tokenizer.setCurrentIndex(panel.tokenizer.findData("byte"))
    panel.steps.setValue(steps)
    panel.batch.setValue(4)
    panel.context.setValue(32)
    panel.eval_every.setValue(3)
    panel.threads.setValue(1)
