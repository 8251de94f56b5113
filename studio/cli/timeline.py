"""``archstudio timeline list | add FILE [card options] | remove ID``: your own milestones.

``add`` takes a milestone YAML (the presets' schema) or a Hugging Face config.json with its card
(--title, --date, --org, --innovation, --source), checks it and writes it into the user data
folder (temp + rename), where the app's timeline finds it at the next start. ``remove`` deletes
one of them. Then ``archstudio info ID``, ``render ID`` and ``train ID`` take its id.
"""
from __future__ import annotations

import sys

from studio.core import errors as E

CARD_OPTIONS = ("title", "date", "org", "innovation", "source", "builds_on", "id")


def add_parser(sub) -> None:
    s = sub.add_parser("timeline", help="your own milestones on the timeline: list, add FILE, remove ID")
    s.add_argument("action", choices=("list", "add", "remove"), help="list the timeline, add a milestone, remove one")
    s.add_argument("target", nargs="?", metavar="FILE|ID",
                   help="add: a milestone YAML or a config.json; remove: the id of a milestone you added")
    s.add_argument("--title", default=None, help="config.json card: the name on the timeline")
    s.add_argument("--date", default=None, help="config.json card: YYYY-MM or YYYY-MM-DD (where it goes)")
    s.add_argument("--org", default=None, help="config.json card: who made it")
    s.add_argument("--innovation", default=None, help="config.json card: what it changed, in one line")
    s.add_argument("--source", default=None, help="config.json card: a link to the paper or model card")
    s.add_argument("--builds-on", dest="builds_on", default=None, metavar="ID",
                   help="the milestone it builds on (default: the family's milestone, or the nearest earlier one)")
    s.add_argument("--id", default=None, help="its id on the timeline (default: DATE-TITLE)")
    s.add_argument("--json", action="store_true", help="list: machine-readable")


def cmd_timeline(args) -> int:
    if args.action == "list":
        if args.target:
            raise E.StudioError("archstudio timeline list takes no FILE or ID")
        return _list(args.json)
    if not args.target:
        raise E.StudioError(f"name a {'FILE' if args.action == 'add' else 'milestone ID'}: "
                            f"archstudio timeline {args.action} {'FILE' if args.action == 'add' else 'ID'}")
    if args.action == "add":
        return _add(args)
    return _remove(args.target)


def _card(args):
    """The Card when the file is a config.json (or any card option is given), else None."""
    from pathlib import Path

    from studio.core.files.milestone_card import Card
    from studio.core.formats.hf_config.build import find_config
    given = any(getattr(args, k) for k in CARD_OPTIONS)
    if find_config(Path(args.target)) is None and not given:
        return None
    return Card(*(getattr(args, k) or "" for k in CARD_OPTIONS))


def _add(args) -> int:
    from studio.core.files import user_milestones as U
    from studio.core.files.presets import preset_ids
    order, _users, bad = U.timeline_now(set_aside=True)
    _say_set_aside(bad)
    u = U.add(args.target, _card(args), set(order) | set(preset_ids()))
    m = u.arch.meta
    print(f"added {u.id} ({m.get('date')}, {m.get('title')}) to the timeline, building on {m.get('builds_on') or 'nothing'}: "
          f"{u.path}")
    return 0


def _say_set_aside(bad) -> None:
    """Files in the folder the timeline loads without: one line each on stderr (the command goes on)."""
    for b in bad:
        print(f"archstudio: set aside {b.line()}", file=sys.stderr)


def _remove(mid: str) -> int:
    from studio.core.files import user_milestones as U
    from studio.core.files.presets import preset_ids
    path = U.remove(mid, set(preset_ids()))
    print(f"removed {mid} from the timeline (deleted {path})")
    return 0


def _list(as_json: bool) -> int:
    from studio.core.files import user_milestones as U
    from studio.core.files.presets import preset_infos
    order, users, bad = U.timeline_now(set_aside=True)
    published = {i.id: i for i in preset_infos()}
    mine = {u.id: u for u in users}
    rows = []
    for mid in order:
        if mid in mine:
            m = mine[mid].arch.meta
            rows.append({"id": mid, "date": m.get("date", ""), "title": m.get("title", mid), "org": m.get("org", ""),
                         "added_by_user": True, "builds_on": m.get("builds_on"), "file": str(mine[mid].path)})
        else:
            i = published[mid]
            rows.append({"id": mid, "date": i.date, "title": i.title, "org": i.org, "added_by_user": False})
    _say_set_aside(bad)
    if as_json:
        from studio.cli.output import print_json
        print_json({"folder": str(U.folder()), "milestones": rows,
                    "set_aside": [{"file": b.name, "reason": b.reason,
                                   "moved_to": str(b.moved_to) if b.moved_to else None} for b in bad]})
        return 0
    print(f"Milestones in date order (yours marked +; your folder: {U.folder()})")
    for r in rows:
        mark = "+" if r["added_by_user"] else " "
        print(f" {mark} {r['date'] or '':10} {r['id']:32} {r['title']}")
    return 0
