"""``archstudio plan MODEL [--run RUN_DIR] [--json]``: the compute planner (no torch, no Qt)."""
from __future__ import annotations

from studio.cli.output import print_json


def _h(n) -> str:
    from studio.core.model.accounting import humanize
    return "—" if n is None else humanize(n)


def _f(x) -> str:  # FLOPs span 1e12 .. 1e25: scientific notation reads best
    return "—" if x is None else f"{x:.3g} FLOPs".replace("e+", "e")


def cmd_plan(args) -> int:
    from studio.core.classroom.compute_plan import human_duration, plan_for
    p = plan_for(args.model, args.run)
    if args.json:
        print_json(p.as_dict())
        return 0
    print(f"{p.title} — compute plan at {p.scale} scale")
    act = "" if p.params_active == p.params_total else f" ({p.params_active:,} active per token)"
    print(f"  parameters N                      {p.params_total:,}{act}  (computed)")
    print(f"  Chinchilla optimum (20·N)         {_h(p.chinchilla_tokens)} tokens, {_f(p.chinchilla_flops)}")
    print(f"  nanochat's optimum (10.5·N)       {_h(p.nanochat_tokens)} tokens, {_f(p.nanochat_flops)}")
    if p.run is not None:
        r = p.run
        print(f"  run {r.path}")
        if p.tokens_seen is None:
            print("    tokens seen                     unknown (imported weights: their own training is not recorded)")
        else:
            flag = "under-trained" if p.under_trained else "at or past the Chinchilla optimum"
            print(f"    tokens seen                     {p.tokens_seen:,} ({p.tokens_per_param_seen:.2f} per parameter; "
                  f"{flag})  (measured)")
            print(f"    training FLOPs so far (6·N·D)   {_f(p.training_flops_seen)}")
        if r.tokens_per_s:
            print(f"    measured speed                  {r.tokens_per_s:,.0f} tokens/s")
            print(f"    ETA to the Chinchilla optimum   {human_duration(p.eta_chinchilla_s)}")
            print(f"    ETA to nanochat's optimum       {human_duration(p.eta_nanochat_s)}")
        if r.val_bpb is not None:
            print(f"    held-out bits per byte          {r.val_bpb:.3f}")
        if r.skipped_records:
            print(f"    metrics.jsonl                   {r.skipped_records:,} damaged or wrong-typed records skipped")
    pp = p.paper
    if pp is not None and pp.params:
        print(f"  paper scale: {_h(pp.params)} parameters ({pp.params_provenance})")
        if pp.training_tokens:
            print(f"    training tokens                 {_h(pp.training_tokens)} ({pp.tokens_provenance}: {pp.tokens_source})")
            print(f"    tokens per parameter            {pp.tokens_per_param:.1f} (Chinchilla: 20; "
                  f"{pp.vs_chinchilla:.2f}× its optimum of {_h(pp.chinchilla_tokens)})")
            if pp.params_active and pp.params_active != pp.params:
                print(f"    tokens per active parameter     {pp.tokens_per_active_param:.1f}")
            print(f"    training FLOPs (6·N·D)          {_f(pp.training_flops)}")
        else:
            print(f"    training tokens                 undisclosed (Chinchilla optimum {_h(pp.chinchilla_tokens)})")
    return 0
