"""CPU per chat turn by process (portal, Rasa, action server), and where it goes.

    python -m bench.chat_cpu                       # paced and no-pause scenarios, 2 rounds each
    python -m bench.chat_cpu --profile DIR         # the same under cProfile: DIR/{rasa,actions,portal}.N.prof
    python -m bench.chat_cpu --database postgresql # the portal on PostgreSQL, as in production
    python -m bench.chat_cpu --root ../other-checkout --model other.tar.gz   # another checkout's stack

The stack and the conversations are bench/chat.py's (same scripts, same seeds), run without
the ``/model/parse`` probe, so the CPU counted is the turns' own: user + system CPU seconds of
each process from /proc over the scenario, divided by the turns sent. That figure holds on a
loaded machine (latency does not; the load average is printed beside each row). ``--root``
runs another checkout's bench.chat (an older commit, with its own model) the same way, for a
before/after comparison; ``--profile`` starts every process under bench/profile_wrapper.py
and profiles exactly the measured scenarios (SIGUSR1 starts, SIGUSR2 stops and writes);
read the files with ``python -m pstats``. Profiling slows everything about five times.
Ports: the portal on 18510, Rasa and the action server from 15510 (``--port-base`` moves both).
"""
from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import os
import random
import signal
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent.parent


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.chat_cpu", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--root", default=str(HERE), help="the checkout whose stack runs (default: this one)")
    ap.add_argument("--model", help="the model to serve (default: that checkout's bot/models/bot.tar.gz)")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--conversations", type=int, default=20)
    ap.add_argument("--scenarios", default="paced,burst")
    ap.add_argument("--profile", help="a directory for cProfile files")
    ap.add_argument("--portal-port", type=int, default=18510)
    ap.add_argument("--port-base", type=int, default=15510, help="Rasa, then the action server")
    ap.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite",
                    help="the portal's: a SQLite file, or a PostgreSQL database made for the run (as production)")
    args = ap.parse_args(argv)
    root = Path(args.root).resolve()
    os.chdir(root)
    sys.path.insert(0, str(root))
    if args.model:
        os.environ["BOT_MODEL"] = str(Path(args.model).resolve())
    for name in [m for m in sys.modules if m == "bench" or m.startswith("bench.")]:
        del sys.modules[name]  # that checkout's bench, not this one's
    import bench.chat as chat
    from bench import support

    ports = itertools.chain([args.portal_port], range(args.port_base, args.port_base + 90))
    support.free_port = lambda: next(ports)
    if args.model:  # (older checkouts had no BOT_MODEL)
        chat.MODEL = Path(os.environ["BOT_MODEL"])
    if args.profile:
        _wrap_for_profiling(chat, support, Path(args.profile).resolve())

    rng = random.Random(5)
    names = chat.NameBook()
    rows: list[dict[str, Any]] = []
    db_url = asyncio.run(support.create_database(support.server_url(), "bench_chat_cpu")) \
        if args.database == "postgresql" else None
    with tempfile.TemporaryDirectory(prefix="bench-chat-cpu-") as tmp, contextlib.ExitStack() as cleanup:
        if db_url is not None:
            cleanup.callback(lambda: asyncio.run(support.drop_database(db_url)))
        stack = chat.start_stack(Path(tmp), print, db_url=db_url)
        try:
            asyncio.run(chat.run_scenario(stack, chat._scripts("w", 4, names, rng), via="portal", think=(0, 0),
                                          spread=0, seed=rng.randrange(1 << 30), time_limit=180, probe_texts=None))
            for r in range(args.rounds):
                for key in args.scenarios.split(","):
                    paced = key == "paced"
                    scripts = chat._scripts(("t" if paced else "b") + str(r), args.conversations, names, rng)
                    load = open("/proc/loadavg", encoding="ascii").read().split()[:3]
                    if args.profile:
                        _signal(stack, signal.SIGUSR1)
                    res = asyncio.run(chat.run_scenario(
                        stack, scripts, via="portal", think=(1.0, 2.0) if paced else (0.0, 0.0),
                        spread=3.0 if paced else 0.0, seed=rng.randrange(1 << 30), time_limit=180, probe_texts=None))
                    if args.profile:
                        _signal(stack, signal.SIGUSR2)
                        time.sleep(1.0)
                    res.pop("_results")
                    n = max(res["turns_sent"], 1)
                    row = {"scenario": key, "round": r, "turns": res["turns_sent"],
                           "cpu_ms_per_turn": {k: round(1000 * v / n, 2) for k, v in res["cpu_s"].items()},
                           "p50_ms": res["per_turn"]["p50_ms"], "p95_ms": res["per_turn"]["p95_ms"],
                           "loadavg": load, "errors": {k: v for k, v in res["errors"].items() if v}}
                    rows.append(row)
                    print(json.dumps(row, ensure_ascii=False), flush=True)
        finally:
            stack.stop()
    print("\n| scenario | round | turns | CPU ms/turn portal | Rasa | actions | client | p50 / p95 ms | load avg "
          "| errors |")
    print("|---|---:|---:|---:|---:|---:|---:|---|---|---|")
    for row in rows:
        c = row["cpu_ms_per_turn"]
        print(f"| {row['scenario']} | {row['round']} | {row['turns']} | {c.get('portal')} | {c.get('rasa')} "
              f"| {c.get('actions')} | {c.get('client')} | {row['p50_ms']} / {row['p95_ms']} | {' '.join(row['loadavg'])} "
              f"| {row['errors'] or '–'} |")
    return 1 if any(row["errors"] for row in rows) else 0


def _signal(stack: Any, sig: int) -> None:
    for pid in stack.processes().values():
        os.kill(pid, sig)
    time.sleep(0.5)


def _wrap_for_profiling(chat: Any, support: Any, out: Path) -> None:
    """Every process of the stack under bench/profile_wrapper.py (the portal's too)."""
    out.mkdir(parents=True, exist_ok=True)
    wrapper = str(HERE / "bench" / "profile_wrapper.py")
    proc = chat.Proc

    def wrapped_proc(name: str, cmd: list[str], cwd: Path, env: dict[str, str], log_path: Path) -> Any:
        return proc(name, [str(chat.BOT / ".venv" / "bin" / "python"), wrapper, str(out / name), *cmd],
                    cwd, env, log_path)

    process = support.Process

    def wrapped_process(name: str, cmd: list[str], **kw: Any) -> Any:
        if "uvicorn" in cmd:
            cmd = [cmd[0], wrapper, str(out / "portal"), *cmd[1:]]
        return process(name, cmd, **kw)

    chat.Proc = wrapped_proc
    support.Process = wrapped_process


if __name__ == "__main__":
    sys.exit(main())
