""""Train N more min": continue the finished (or stopped) run of the model on screen for N more
minutes — what ``archstudio train MODEL --resume --out RUN_DIR --minutes N`` does, through the same
core path (``ContinueRequest`` -> ``prepare_resume`` -> ``train_steps(extend=True)``).

Whether there is something to continue is the core's answer (``RunState.continue_blocker``); this
row only shows it: the button is enabled exactly when that answer is None, and its tooltip says
why not otherwise."""
from __future__ import annotations

from collections.abc import Callable

from PySide6.QtWidgets import QDoubleSpinBox, QHBoxLayout, QPushButton, QWidget


class MoreMinutes(QWidget):
    def __init__(self, session, run_state, threads: Callable[[], int | None], parent=None):
        super().__init__(parent)
        self.session, self.run_state, self.threads = session, run_state, threads
        lay = QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        self.minutes = QDoubleSpinBox()
        self.minutes.setDecimals(1)
        self.minutes.setRange(0.1, 24 * 60.0)
        self.minutes.setSingleStep(1.0)
        self.minutes.setValue(2.0)
        self.minutes.setSuffix(" min")
        self.minutes.setToolTip("How many more minutes 'Train N more min' continues the finished run of this model: "
                                "the continuation ends N minutes after the click, preparing (reading the run and "
                                "its data, the attention kernel) included")
        lay.addWidget(self.minutes)
        self.button = QPushButton()
        lay.addWidget(self.button, 1)
        self.why: str | None = "not checked yet"
        self.actions: list = []  # menu actions that mirror the button (mirror())
        self._model: tuple | None = None  # (run folder, the MODEL its run.yaml names)
        # the owner connects self.button: it resets its own views first, then calls trigger()
        self.minutes.valueChanged.connect(self.refresh)
        session.state_changed.connect(self.refresh)
        run_state.changed.connect(self.refresh)
        self.refresh()

    def refresh(self, *_) -> None:
        n = self.minutes.value()
        self.button.setText(f"Train {n:g} more min")
        s = self.session
        why = (self._busy() if s.running else self.run_state.continue_blocker())
        self.why = why
        self.button.setEnabled(why is None)
        self.minutes.setEnabled(not s.running)
        if why is None:
            rd = self.run_state.run_dir
            tip = (f"Continue the run in {rd.name} from where it stopped for {n:g} more minutes, preparing "
                   f"included: it ends {n:g} minutes after the click. The learning rate warms up again from its "
                   "floor and decays back to it by the end, and the plots go on from its last step. The step is "
                   "compiled only where that pays off in those minutes (a warm cache: seconds; a cold one: "
                   "compiled beside the training, or not at all).\n"
                   f"The same as: archstudio train {self._model_of(rd)} --resume --out {rd} "
                   f"--minutes {n:g}")
        else:
            tip = f"Nothing to continue: {why}"
        self.button.setToolTip(tip)
        self.button.setStatusTip(tip)
        for act in self.actions:
            act.setText(self.button.text())
            act.setEnabled(why is None)
            act.setToolTip(tip)
            act.setStatusTip(tip)

    def _busy(self) -> str:
        """Why not now, while a run trains or prepares: with a budget, how much of it is gone."""
        s = self.session
        got = s.budget_clock() if hasattr(s, "budget_clock") else None
        doing = ", still preparing" if s.state == "preparing" else ""
        spent = f" ({got[0] / 60:.1f} of its {got[1] / 60:g} min gone{doing}: preparing is part of them)" if got else ""
        return f"a run is training now{spent}; continue one when it has finished or been stopped"

    def _model_of(self, rd) -> str:
        """The MODEL the run's run.yaml names (remembered per folder: refresh runs on every change)."""
        if self._model is None or self._model[0] != rd:
            from studio.core import errors as E
            from studio.core.runs.rundir import RunDir
            try:
                spec = str(RunDir(rd).read_config().get("model") or "MODEL")
            except E.StudioError:
                spec = "MODEL"
            self._model = (rd, spec)
        return self._model[1]

    def mirror(self, action) -> None:
        """Keep ``action`` (e.g. Train → Train N more min) showing what the button shows."""
        self.actions.append(action)
        self.refresh()

    def trigger(self) -> None:
        self.refresh()  # the folder may have changed since the last look
        if self.why is not None:
            return
        self.session.continue_run(self.run_state.run_dir, self.minutes.value(), self.threads(), self.run_state.key)
