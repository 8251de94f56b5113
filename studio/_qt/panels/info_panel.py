"""Info panel: the milestone card (explanation, what changed and why, paper link, provenance).

The change it lists is the one the scene marks: ``Figures.change()``, a milestone against the
model it builds on (its lineage, ``meta.builds_on``; an edited copy against its milestone), in a
learner's words, headline first, never against whatever was on screen before (that comparison is
Compare mode's).
"""
from __future__ import annotations

from PySide6.QtCore import QTimer, Signal
from PySide6.QtWidgets import QTextBrowser, QVBoxLayout, QWidget

from studio._qt.text import badge_html, esc, fmt_value, training_settings, training_stages
from studio._qt.theme import DIFF
from studio.core.model import provenance
from studio.core.model.accounting import humanize
from studio.core.model.links import link_label

GLYPH = {"added": "+", "removed": "−", "replaced": "⇄", "changed": "~", "none": "=", "training": "▶",
         "dims": "↔", "rewired": "↝", "config": "~", "overrides": "~"}  # any other kind: "~" (never a 2nd bullet)
MARKED_LIST = "<ul style='list-style-type:none'>"  # each line's glyph is its marker: no disc beside it


def compared_with(meta: dict, change, timeline) -> str:
    """The change list's heading: what it is compared with, and why that model ("What changed
    since GPT-3 (the model it builds on)"; a component names the block it replaces; a merge of
    ideas names them)."""
    since = timeline.info(change.since).title
    ideas = [timeline.info(i).title for i in getattr(change, "builds_on", ())[1:] if i in timeline.ids]
    if meta.get("replaces"):
        return f"What changed in {since}: it replaces {meta['replaces']}"
    if ideas:
        return f"What changed since {since}, bringing together {', '.join(ideas)}"
    return f"What changed since {since} (the model it builds on)"


def user_milestone_html(m: dict) -> list[str]:
    """The mark of a milestone the user added: whose it is, its file, how to take it off, and its
    one-line innovation when it has no longer explanation."""
    from pathlib import Path
    rule = f" It builds on {m['builds_on_rule']}." if m.get("builds_on_rule") else ""
    out = [f"<p><b>◆ Added by you</b> ({esc(Path(str(m['user_milestone'])).name)} in "
           f"your milestones folder; File → Remove from timeline takes it off).{esc(rule)}</p>"]
    if m.get("short") and not (m.get("explanation") or m.get("summary")):
        out.append(f"<p>{esc(m['short'])}</p>")
    return out


class InfoPanel(QWidget):
    """Mirrors the Document (and its Figures' change); the HTML is laid out on the next
    event-loop turn, once, however fast the slider moves."""
    updated = Signal()

    def __init__(self, model, parent=None):
        super().__init__(parent)
        self.model = model
        self.browser = QTextBrowser(self)
        self.browser.setOpenExternalLinks(True)  # the paper link opens the system browser
        self.browser.setAccessibleName("Milestone information")
        self.browser.setMinimumHeight(120)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.browser)
        from studio._qt.training.experiment_view import ExperimentButton
        self.experiment = ExperimentButton(self)  # shown under a card whose milestone has an experiment
        lay.addWidget(self.experiment)
        self._pending = QTimer(self)
        self._pending.setSingleShot(True)
        self._pending.setInterval(0)
        self._pending.timeout.connect(self.refresh)
        model.document.replaced.connect(lambda: self._pending.start())
        model.document.changed.connect(lambda _v: self._pending.start())
        self.refresh()

    def change(self):
        return self.model.figures.change()

    def transition_text(self) -> list[str]:
        """The sentences of the change on screen, headline first (the presentation card shows
        the first ones)."""
        return [s for _, s in self.change().sentences]

    def compared_with(self) -> str:
        """What the change on screen is compared with, for presentation mode's card ("Compared
        with LLaMA 1, the model it builds on"); empty when there is nothing to compare with."""
        ch, tl, doc = self.change(), self.model.timeline, self.model.document
        if ch.since not in tl.ids:
            return ""
        title = tl.info(ch.since).title
        if doc.kind == "edited":
            return f"Your changes to {title}"
        return f"Compared with {title}, the model it builds on"

    def refresh(self):
        doc = self.model.document
        arch = doc.architecture
        if arch is None:
            self.browser.setHtml("")
            self.experiment.show_for(None)
            return
        m = arch.meta
        title = doc.title
        self.experiment.show_for(doc.milestone_id, m)
        h = [f"<h2 style='margin-bottom:2px'>{esc(title)}</h2>"]
        sub = " · ".join(esc(x) for x in (m.get("org"), m.get("date")) if x)
        if m.get("family_member"):
            sub += f"<br><span style='font-size:small'>{esc(m['family_member'])}</span>"
        h.append(f"<p style='margin-top:0'>{sub}</p>")
        if m.get("user_milestone") and doc.is_milestone:  # one the user added (studio.core.files.user_milestones)
            h += user_milestone_html(m)
        if m.get("link"):
            h.append(f"<p><a href='{esc(m['link'])}'>{esc(link_label(m['link']))}</a></p>")
        if m.get("disclosure") in ("undisclosed", "stand-in", "reported"):
            word = {"undisclosed": "Architecture undisclosed: figures are not shown",
                    "stand-in": "Illustrative stand-in: the graph shows structure only (the real architecture "
                                "was never disclosed); no figure is shown for it",
                    "reported": "Architecture as reported by third parties (not confirmed by the maker)"}[m["disclosure"]]
            h.append(f"<p><b>{badge_html(m['disclosure'])}</b> {esc(word)}</p>")
        if m.get("explanation") or m.get("summary"):
            h.append(f"<p>{esc(m.get('explanation') or m.get('summary'))}</p>")
        h += self._changes_html(arch)
        if m.get("why"):
            h.append(f"<p><b>Why it mattered.</b> {esc(m['why'])}</p>")
        h += self._training_html(arch.training or {})
        if m.get("experiment_note"):
            h.append(f"<p><b>At laptop scale.</b> {esc(m['experiment_note'])}</p>")
        h += self._published_html(m)
        h += self._card_html(m)
        for key in ("gap_note", "seed_note", "reported_note", "standin_note", "kv_note", "size_note",
                    "vision_note", "window_note", "note"):
            if m.get(key):
                h.append(f"<p style='font-size:small'><i>{esc(m[key])}</i></p>")
        self.browser.setHtml("\n".join(h))
        self.updated.emit()

    def _changes_html(self, arch) -> list[str]:
        out = []
        ch, tl = self.change(), self.model.timeline
        if ch.since in tl.ids:
            doc = self.model.document
            head = (f"Your changes to {esc(tl.info(ch.since).title)}" if doc.kind == "edited" else
                    esc(compared_with(arch.meta, ch, tl)))
            out.append(f"<h3>{head}</h3>")
            if doc.kind != "edited" and arch.meta.get("introduced_on"):  # a component: where its paper used it
                out.append(f"<p style='font-size:small'>Introduced on {esc(arch.meta['introduced_on'])}.</p>")
            out.append(MARKED_LIST)
            for kind, s in ch.sentences[:14]:
                colour = DIFF.get("added" if kind == "added" else "removed" if kind == "removed" else "changed")
                out.append(f"<li><b style='color:{colour}'>{GLYPH.get(kind, '~')}</b> {esc(s)}</li>")
            if len(ch.sentences) > 14:
                out.append(f"<li>… and {len(ch.sentences) - 14} more</li>")
            if not ch.sentences:
                out.append("<li>The same architecture</li>")
            out.append("</ul>")
        changes = arch.meta.get("changes")
        # the preset's own notes describe the step from the preset it extends: shown only when
        # that is the step the card lists (one change per card, always from the model it builds on)
        if changes and self.model.document.is_milestone and arch.meta.get("extends") == ch.since:
            listed = {s for _, s in ch.sentences}
            rows = []
            for c in changes if isinstance(changes, list) else [changes]:
                if isinstance(c, dict):
                    kind = str(c.get("kind", "changed"))
                    text = c.get("text") or ", ".join(f"{k}: {fmt_value(v)}" for k, v in c.items() if k != "kind")
                else:
                    kind, text = "changed", str(c)
                if f"Training: {text}" not in listed:  # a pipeline line the list above already says in these words
                    rows.append(f"<li><b>{GLYPH.get(kind, '~')}</b> {esc(text)}</li>")
            if rows:  # under the one change heading when there is one (a second heading read as a second change)
                out.append(f"<p style='margin-bottom:0'><i>In the authors' words:</i></p>{MARKED_LIST}" if out else
                           f"<h3>In the authors' words</h3>{MARKED_LIST}")
                out += rows + ["</ul>"]
        return out

    def _training_html(self, training: dict) -> list[str]:
        stages, settings = training_stages(training), training_settings(training)
        out = []
        if stages:
            out.append("<h3>Training pipeline</h3><ol>")
            out += [f"<li><b>{esc(t)}</b>{(': ' + esc(d)) if d else ''}</li>" for t, d in stages]
            out.append("</ol>")
        if settings:
            out.append("<table cellspacing='2'>")
            out += [f"<tr><td><i>{esc(k)}</i>&nbsp;</td><td>{esc(v)}</td></tr>" for k, v in settings]
            out.append("</table>")
        if training.get("notes"):
            out.append(f"<p style='font-size:small'>{esc(training['notes'])}</p>")
        return out

    def _published_html(self, m: dict) -> list[str]:
        """The source's own figures, each with its provenance badge (published, reported, n/a,
        undisclosed) and its source as the badge's tooltip."""
        figs = provenance.published_figures_of(m)
        if not figs:
            return []
        src = (m.get("published") or {}).get("source", "")
        rows = []
        for k, f in figs.items():
            v = f.value
            val = humanize(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else \
                f.provenance if v is None else fmt_value(v)
            exact = f"{v:,}" if isinstance(v, (int, float)) and not isinstance(v, bool) else str(v)
            rows.append(f"<tr><td>{esc(f.label)}&nbsp;</td><td title='{esc(exact)}'><b>{esc(val)}</b>"
                        f"&nbsp;</td><td>{badge_html(f.provenance, f.source)}</td></tr>")
        return ["<h3>Published figures</h3><table>", *rows, "</table>",
                f"<p style='font-size:small'>Source: {esc(src)}</p>" if src else ""]

    def _card_html(self, m: dict) -> list[str]:
        """Where the configuration comes from, what rests on assumptions or is illustrative, what
        the classroom scale cannot show, and what the milestone built on (linked)."""
        c = provenance.card_of(m)
        out = []
        if c["config_source"]:
            out.append(f"<p style='font-size:small'><b>Configuration:</b> {esc(c['config_source'])}</p>")
        for key, title in (("modelled", "Modelled as real blocks"), ("assumptions", "Assumptions"),
                           ("illustrative", "Illustrative or inferred"),
                           ("classroom_limits", "Not visible at classroom scale")):
            if c[key]:
                out.append(f"<p style='font-size:small'><b>{title}:</b></p><ul style='font-size:small'>")
                out += [f"<li>{esc(x)}</li>" for x in c[key]]
                out.append("</ul>")
        if c["citations"]:
            out.append("<p style='font-size:small'><b>Built on:</b></p><ul style='font-size:small'>")
            out += [f"<li><a href='{esc(x.get('link', ''))}'>{esc(x.get('title', ''))}</a></li>" for x in c["citations"]]
            out.append("</ul>")
        return out
