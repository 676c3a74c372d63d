"""``retail chaos``: faults injected into the running stack under load, and what each cost, in one table."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from retail.chaos import FAULTS, run_fault
from retail.cli.common import console, fail, load_settings

DEFAULT_ROUNDS = {"stream-kill": 6, "kafka-kill": 5}  # the rest: once


def chaos(
    fault: Annotated[
        list[str] | None, typer.Option(help=f"fault to inject (repeatable; default all): {', '.join(FAULTS)}")
    ] = None,
    rounds: Annotated[
        int | None, typer.Option(help="times each fault is injected [default: 6 stream kills, 5 Kafka kills, else 1]")
    ] = None,
    rate: Annotated[int, typer.Option(help="events per second, sent until every fault is injected and resumed")] = 1000,
    work: Annotated[Path | None, typer.Option(help="folder for ledgers and logs [default: a temporary one]")] = None,
) -> None:
    """Inject faults into the running stack while events flow through the live stream (kill -9 of the stream, the
    producer, Kafka, Cassandra, the DataNode, the NameNode; SIGSTOP of Kafka and Cassandra), then reconcile bronze,
    silver and Cassandra with the producer ledgers. Prints the table and one JSON line; exit 1 when anything was
    lost, doubled or made up. Takes minutes per fault: the stack must be up (`./run stack up`)."""
    faults = fault or list(FAULTS)
    unknown = [f for f in faults if f not in FAULTS]
    if unknown:
        raise fail(f"unknown fault(s) {', '.join(unknown)}; choose from {', '.join(FAULTS)}")
    settings = load_settings()
    folder = work or Path(tempfile.mkdtemp(prefix="retail-chaos-"))
    outcomes = []
    for name in faults:
        times = rounds or DEFAULT_ROUNDS.get(name, 1)
        console.log(f"{name}: events at {rate:,}/s, {times} fault(s) ...")
        outcome = run_fault(settings, folder, name, rounds=times, rate=rate)
        layers = "; ".join(f"{layer} {r.lost}/{r.duplicated}/{r.phantom}" for layer, r in outcome.layers.items())
        console.log(
            f"{name}: {'clean' if outcome.clean else 'NOT CLEAN'}: {outcome.produced:,} events, resume s "
            f"{outcome.resume_s}, lost/dup/phantom {layers}"
        )
        if outcome.kept:
            console.log(f"{name}: kept to look at: {outcome.kept}")
        outcomes.append(outcome)
    table = Table(
        "fault",
        "rounds",
        "events",
        "resume s (each)",
        "stream restarts",
        "layer",
        "lost",
        "dup",
        "phantom",
        title="retail chaos",
    )
    for o in outcomes:
        for i, (layer, r) in enumerate(o.layers.items()):
            head = (
                (
                    o.fault,
                    str(o.rounds),
                    f"{o.produced:,}",
                    ", ".join(f"{s:.1f}" for s in o.resume_s),
                    str(o.stream_restarts),
                )
                if i == 0
                else ("",) * 5
            )
            style = "" if r.clean else "bold red"
            table.add_row(*head, layer, str(r.lost), str(r.duplicated), str(r.phantom), style=style)
    console.print(table)
    console.print(f"ledgers and logs: {folder}")
    print(
        json.dumps(
            [
                {
                    "fault": o.fault,
                    "rounds": o.rounds,
                    "events": o.produced,
                    "resume_s": o.resume_s,
                    "stream_restarts": o.stream_restarts,
                    **{f"{layer}_{k}": v for layer, r in o.layers.items() for k, v in vars(r).items()},
                }
                for o in outcomes
            ]
        )
    )
    if not all(o.clean for o in outcomes):
        raise typer.Exit(1)
