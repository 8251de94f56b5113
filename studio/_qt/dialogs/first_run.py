"""First-run experience: a good starting milestone, a short dismissible tour, Help → Offline
pack…, and a permanent status-bar line saying which data the app will train on."""
from __future__ import annotations

from PySide6.QtCore import QObject, Qt, QTimer
from PySide6.QtWidgets import QCheckBox, QDialog, QHBoxLayout, QLabel, QPushButton, QVBoxLayout

START_MILESTONE = "2023-07-llama-2"  # a readable, exportable decoder in the middle of the story

PAGES = [
    ("Scrub through history",
     "Drag the timeline at the bottom from the 2017 Transformer to 2026's trillion-parameter "
     "mixtures of experts. The graph re-assembles as you drag: new blocks are highlighted, removed "
     "ones fade, changed ones flash, and the card on the right says what changed and why.<br><br>"
     "<b>← / →</b> step, <b>Home / End</b> jump, <b>Play</b> walks the eras, <b>F5</b> presents."),
    ("Train it",
     "Every milestone has a small <i>classroom</i> version of the same graph that trains on this "
     "laptop. Choose <b>Train → Start training</b> (F6): the loss falls within a minute and the model starts "
     "writing little stories. Edit the graph first (swap a norm, add experts) and race the variants."),
    ("Look inside",
     "Click an attention block to see what each head attends to; for mixture-of-experts models the "
     "<b>Routing</b> panel shows which expert every token went to. <b>File → Export → llama2.c…</b> "
     "writes a model.bin that karpathy's C program runs.<br><br>"
     "No network in the classroom? <b>Help → Offline pack…</b> prepares TinyStories ahead of time."),
]


class TourDialog(QDialog):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.setWindowTitle("Welcome to LLM Architecture Studio")
        self.setMinimumWidth(520)
        self.page = 0
        self.title = QLabel()
        self.title.setStyleSheet("font-size: 16pt; font-weight: bold;")
        self.body = QLabel()
        self.body.setWordWrap(True)
        self.body.setTextFormat(Qt.RichText)
        self.body.setMinimumHeight(130)
        self.body.setAlignment(Qt.AlignTop | Qt.AlignLeft)
        self.counter = QLabel()
        # the tour opens by itself once; whoever wants it back at every start ticks this
        self.every_start = QCheckBox("Show this tour at every start")
        self.every_start.setChecked(False)
        self.back = QPushButton("Back")
        self.next = QPushButton("Next")
        self.next.setDefault(True)
        self.back.clicked.connect(lambda: self.show_page(self.page - 1))
        self.next.clicked.connect(self._next)
        buttons = QHBoxLayout()
        buttons.addWidget(self.every_start)
        buttons.addStretch(1)
        buttons.addWidget(self.counter)
        buttons.addWidget(self.back)
        buttons.addWidget(self.next)
        lay = QVBoxLayout(self)
        lay.addWidget(self.title)
        lay.addWidget(self.body, 1)
        lay.addLayout(buttons)
        self.show_page(0)

    def show_page(self, i: int):
        self.page = max(0, min(i, len(PAGES) - 1))
        t, b = PAGES[self.page]
        self.title.setText(t)
        self.body.setText(b)
        self.counter.setText(f"{self.page + 1} / {len(PAGES)}")
        self.back.setEnabled(self.page > 0)
        self.next.setText("Start" if self.page == len(PAGES) - 1 else "Next")

    def _next(self):
        if self.page == len(PAGES) - 1:
            self.accept()
        else:
            self.show_page(self.page + 1)


def data_status_text(choice: str | None = None) -> str:
    """Which data a new training run will use, in one line: the Training panel's choice
    (``choice``, else the one it remembered), else what is cached."""
    import os

    from PySide6.QtCore import QSettings

    from studio.core.data import download as dl
    if choice is None:
        saved = QSettings().value("training/data")  # studio._qt.training.data_choice.DATA_KEY
        choice = saved if isinstance(saved, str) else None
    if choice in ("quick", "full") and dl.cached_path(choice):
        return f"Training data: TinyStories {choice} (cached, offline-ready)"
    if choice and choice not in ("quick", "full", "starter", "choose") and os.path.isfile(choice):
        name = os.path.basename(choice)
        # the same rule as the corpus reader (studio.core.data.sources): a TinyStories file says so in its name
        return f"Training data: your file {name}" + (" (TinyStories)" if "tinystories" in name.lower() else "")
    if choice != "starter":
        for sub in ("quick", "full"):
            if dl.cached_path(sub):
                return f"Training data: TinyStories {sub} (cached, offline-ready)"
    return "Training data: starter corpus (not TinyStories) — Help → Offline pack… downloads TinyStories"


def show_tour_dialog(window) -> TourDialog:
    """The tour, window-modal but without a nested event loop (exec() would block whatever runs
    next, a timer-driven start-up or a test, until it is closed). However it is closed, it
    does not open by itself again unless "Show this tour at every start" is ticked (it came
    back at every start until a box was ticked); Help → Tour… always opens it."""
    dlg = TourDialog(window)
    dlg.setAttribute(Qt.WA_DeleteOnClose)
    dlg.every_start.setChecked(bool(window.settings.value("tour_every_start", False, type=bool)))

    def done(_result):
        again = dlg.every_start.isChecked()
        window.settings.setValue("tour_every_start", again)
        window.settings.setValue("tour_done", not again)
    dlg.finished.connect(done)
    dlg.open()
    return dlg


def show_tour_when_free(window, delay_ms: int = 300) -> None:
    """The start-up tour, once no other dialog is open: "Recover unsaved work?" (a modal
    question the start-up asks) comes first, and the tour never covers it or takes its click."""
    def attempt():
        from PySide6.QtWidgets import QApplication
        if QApplication.activeModalWidget() is not None:
            QTimer.singleShot(delay_ms, window, attempt)
            return
        show_tour_dialog(window)
    QTimer.singleShot(delay_ms, window, attempt)


def is_first_start(settings) -> bool:
    """A first start, or any start while the tour is asked for at every start."""
    return not bool(settings.value("tour_done", False, type=bool))


def first_start(model, settings) -> bool:
    """A first start (or any start while the tour is asked for at every start) shows LLaMA 2
    (cheap: done before the first paint). Returns whether it is one."""
    if not is_first_start(settings):
        return False
    if START_MILESTONE in model.timeline.ids and model.document.milestone_id != START_MILESTONE:
        model.show_milestone(START_MILESTONE)
    return True


class FirstRun(QObject):
    """Help → Tour… and Offline pack…, and the status-bar line naming the training data (built
    after the first paint: it reads the data cache). ``window`` provides ``menu()``,
    ``_action()``, ``statusBar()`` and ``graph_view``."""

    def __init__(self, model, window):
        super().__init__(window)
        from studio._qt.classroom.offline_pack import run_offline_pack
        self.model, self.win = model, window
        self._combo = self.background_warm = None  # BackgroundWarm once the Training panel exists
        h = window.menu("Help")
        h.addSeparator()
        window._action(h, "&Tour…", lambda: show_tour_dialog(window), None, "The three-step introduction")
        window._action(h, "&Offline pack…", lambda: run_offline_pack(window, self.refresh), None,
                       "Download TinyStories and prepare the default vocabularies so a class needs no network")
        self.data_status_label = QLabel()
        self.data_status_label.setToolTip("TinyStories (Eldan & Li 2023) is licensed CDLA-Sharing-1.0")
        window.statusBar().addPermanentWidget(self.data_status_label)
        self.refresh()

    def follow_data_choice(self, combo) -> None:
        """The line follows the Training panel's data choice (its combo box's item data)."""
        self._combo = combo
        combo.currentIndexChanged.connect(lambda _i: self.refresh())
        self.refresh()

    def follow_training(self, training) -> None:
        """The data line follows the Training panel (``training``: TrainingDocks); on a first start the
        shape its Start would train warms in the background once the window is idle (Train menu: off)."""
        from studio._qt.training.background_warm import BackgroundWarm
        self.follow_data_choice(training.panel.data)
        self.background_warm = BackgroundWarm(self.win, training)
        if is_first_start(self.win.settings):
            self.background_warm.when_idle()

    def refresh(self):
        choice = self._combo.currentData() if self._combo is not None else None
        self.data_status_label.setText(data_status_text(choice))

    def welcome(self, show_tour: bool) -> None:
        """On a first start: the graph fitted, then the tour (``show_tour``: the app, not a test)."""
        QTimer.singleShot(0, self.win, lambda: self.win.graph_view.fit_to("readable"))
        if show_tour:
            show_tour_when_free(self.win)
