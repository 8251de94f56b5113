"""``archstudio generate RUN_DIR --chat``: turn by turn with a run that carries a chat template
(the ChatGPT experiment's folder). ``--prompt`` is one turn; without it every line of stdin is a
turn, and the conversation so far stays in the model's context."""
from __future__ import annotations

import sys

from studio.core import errors as E


def chat(args, run, tok) -> int:
    from studio.core.experiments.chat_template import reply_stream, template_of_run
    template = template_of_run(run.path)
    if template is None:
        raise E.StudioError(f"{run.path}: this run has no chat template (run.yaml has no 'chat'); "
                            "generate without --chat continues a text")
    model = run.build_model()
    turns = [args.prompt] if args.prompt else (line.strip() for line in sys.stdin)
    history: list[tuple[str, str | None]] = []
    out = sys.stdout
    for user_text in turns:
        if not user_text:
            continue
        history.append((user_text, None))
        out.write("assistant: ")
        pieces = []
        for piece in reply_stream(model, tok, template, history, args.max_new_tokens, args.temperature,
                                  args.top_k, args.top_p, args.seed):
            pieces.append(piece)
            out.write(piece)
            out.flush()
        out.write("\n")
        out.flush()
        history[-1] = (user_text, "".join(pieces))
    return 0
