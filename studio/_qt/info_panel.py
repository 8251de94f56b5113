"""Info panel: the milestone card (explanation, what changed and why, paper link, provenance)
and the side list of what the scene just animated, in words."""
from __future__ import annotations

from PySide6.QtCore import QTimer, Signal
from PySide6.QtWidgets import QTextBrowser, QVBoxLayout, QWidget

from studio._qt.text import badge_html, esc, fmt_value, training_settings, training_stages
from studio._qt.theme import DIFF
from studio.core import provenance
from studio.core.accounting import humanize
from studio.core.diff import diff

GLYPH = {"added": "+", "removed": "−", "replaced": "⇄", "changed": "~", "none": "=", "training": "▶",
         "dims": "↔", "rewired": "↝"}


class InfoPanel(QWidget):
    """The words are computed at once (cheap) so they always match the scene's last change; the
    HTML is laid out on the next event-loop turn, once, however fast the slider moves."""
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
        self.transition: list[tuple[str, str]] = []  # (kind, sentence) of the last scene change
        self._prev = None
        self._base_cache: dict[str, list[str]] = {}
        self._pending = QTimer(self)
        self._pending.setSingleShot(True)
        self._pending.setInterval(0)
        self._pending.timeout.connect(self.refresh)
        model.architecture_changed.connect(self._on_arch)
        model.edited_changed.connect(lambda _e: self._pending.start())
        if getattr(model, "arch", None) is not None:
            self._prev = model.arch
            self.refresh()

    def _on_arch(self, arch):
        prev, self._prev = self._prev, arch
        self.transition = []
        self._prev_name = prev.meta.get("title", prev.id) if prev is not None else ""
        if prev is not None and prev is not arch:
            d = diff(prev, arch)
            for sentence in d.describe(arch, self.model.scale):
                kind = ("added" if sentence.startswith("Added") else "removed" if sentence.startswith("Removed")
                        else "replaced" if sentence.startswith("Replaced") else "rewired" if sentence.startswith("Rewired")
                        else "changed")
                self.transition.append((kind, sentence))
        self._pending.start()

    def transition_text(self) -> list[str]:
        return [s for _, s in self.transition]

    def refresh(self):
        arch = self.model.arch
        if arch is None:
            self.browser.setHtml("")
            return
        m = arch.meta
        title = self.model.title() if hasattr(self.model, "title") else m.get("title", arch.id)
        h = [f"<h2 style='margin-bottom:2px'>{esc(title)}</h2>"]
        sub = " · ".join(esc(x) for x in (m.get("org"), m.get("date")) if x)
        if m.get("family_member"):
            sub += f"<br><span style='font-size:small'>{esc(m['family_member'])}</span>"
        h.append(f"<p style='margin-top:0'>{sub}</p>")
        if m.get("link"):
            h.append(f"<p><a href='{esc(m['link'])}'>Read the paper ↗</a></p>")
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
        if self.transition:
            prev_title = self._prev_title()
            out.append(f"<h3>On screen{(' since ' + esc(prev_title)) if prev_title else ''}</h3><ul>")
            for kind, s in self.transition[:14]:
                colour = DIFF.get("added" if kind == "added" else "removed" if kind == "removed" else "changed")
                out.append(f"<li><b style='color:{colour}'>{GLYPH.get(kind, '~')}</b> {esc(s)}</li>")
            if len(self.transition) > 14:
                out.append(f"<li>… and {len(self.transition) - 14} more</li>")
            out.append("</ul>")
        changes = arch.meta.get("changes")
        base = arch.meta.get("extends")
        base_title = ""
        if base and hasattr(self.model, "ids") and base in self.model.ids:
            base_title = self.model.info(base).title
        if changes:
            out.append(f"<h3>What changed{(' since ' + esc(base_title)) if base_title else ''}</h3><ul>")
            for c in changes if isinstance(changes, list) else [changes]:
                if isinstance(c, dict):
                    kind = str(c.get("kind", "changed"))
                    text = c.get("text") or ", ".join(f"{k}: {fmt_value(v)}" for k, v in c.items() if k != "kind")
                else:
                    kind, text = "changed", str(c)
                out.append(f"<li><b>{GLYPH.get(kind, '•')}</b> {esc(text)}</li>")
            out.append("</ul>")
        return out

    def _prev_title(self) -> str:
        return getattr(self, "_prev_name", "")

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
        for key, title in (("assumptions", "Assumptions"), ("illustrative", "Illustrative or inferred"),
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
