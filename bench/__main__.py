"""`python -m bench` (what `make bench` runs): every benchmark, results to bench-results/.

    python -m bench                      # everything, defaults from the issues
    python -m bench --keep               # keep the generated databases (their URLs are printed)
    python -m bench --transfers 20000 --duration 5     # a quick look
    python -m bench --only page_portal,page_asyncpg    # some scenarios of the transfers run
    python -m bench --rounds 3           # interleave the scenarios three times, report medians
    python -m bench --skip-queue / --skip-transfers / --skip-chat / --skip-payouts / --skip-lots
    python -m bench --skip-transfers --skip-queue --skip-chat --skip-lots --payees 170000   # the payout import alone
    python -m bench.lots --lots 20000 --duration 5     # the public lots run alone, a quick look
    python -m bench --skip-transfers --skip-queue --skip-payouts --skip-lots   # the chat run alone (no PostgreSQL needed)
    python -m bench --chat-conversations 5 --chat-think 0.5-1

BENCH_DATABASE_URL=postgresql://user:pw@host:5432/postgres picks another PostgreSQL server
(default: 127.0.0.1:5432, user postgres, trust auth). The chat run (bench/chat.py) needs
bot/.venv and a trained model (make train) instead, and is skipped with a message without them.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import importlib
import importlib.util
import inspect
import json
import sys
import traceback
from typing import Any

from bench import support


def _run_queue(pg_url: str, keep: bool) -> dict[str, Any] | None:
    if importlib.util.find_spec("bench.queue") is None:
        print("· queue benchmark: bench/queue.py is not there yet, skipped", flush=True)
        return None
    module = importlib.import_module("bench.queue")
    print("· queue benchmark (bench.queue.run_queue_bench) …", flush=True)
    kwargs = {"keep": True} if keep and "keep" in inspect.signature(module.run_queue_bench).parameters else {}
    result = module.run_queue_bench(pg_url, **kwargs)
    if inspect.isawaitable(result):
        result = asyncio.run(result)
    return result  # type: ignore[no-any-return]


def _run_chat(conversations: int, think: str, replicas: int = 2, sweep: bool = True) -> dict[str, Any] | None:
    from bench import chat

    problem = chat.missing()
    if problem:
        print(f"· chat benchmark skipped: {problem}", flush=True)
        return None
    low, _, high = think.partition("-")
    print(f"· chat benchmark (bench.chat.run_chat_bench: portal + Rasa + action server, {conversations} "
          f"conversations; one versus {replicas} Rasa replicas) …", flush=True)
    return chat.run_chat_bench(conversations=conversations, think=(float(low), float(high or low)),
                               replicas=replicas, sweep=sweep)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--transfers", type=int, default=100_000, help="transfers to generate (default 100000)")
    parser.add_argument("--sample", type=int, default=10_000, help="transfers the load is spread over (default 10000)")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--duration", type=float, default=20.0, help="measured seconds per scenario (default 20)")
    parser.add_argument("--warmup", type=float, default=3.0, help="warm-up seconds per scenario (default 3)")
    parser.add_argument("--max-requests", type=int, default=500_000, help="request cap per scenario")
    parser.add_argument("--rounds", type=int, default=1,
                        help="interleaved rounds of all scenarios; the median run is reported (default 1)")
    parser.add_argument("--only", default="", help="comma-separated scenario keys or servers of the transfers run")
    parser.add_argument("--keep", action="store_true", help="keep the generated database(s)")
    parser.add_argument("--skip-transfers", action="store_true")
    parser.add_argument("--skip-queue", action="store_true")
    parser.add_argument("--skip-chat", action="store_true", help="skip the chat run (portal → Rasa → actions)")
    parser.add_argument("--skip-payouts", action="store_true", help="skip the mass payout import (bench/payouts.py)")
    parser.add_argument("--payees", type=int, default=170_000, help="payees in the payout import (default 170000)")
    parser.add_argument("--skip-lots", action="store_true", help="skip the public lots run (bench/lots.py)")
    parser.add_argument("--lots", type=int, default=100_000, help="lots to generate for the lots run (default 100000)")
    parser.add_argument("--skip-cases", action="store_true", help="skip the case progress page run (bench/cases.py)")
    parser.add_argument("--cases", type=int, default=1_000_000, help="cases to generate, 30 nodes each (default 1000000)")
    parser.add_argument("--chat-conversations", type=int, default=20, help="concurrent conversations (default 20)")
    parser.add_argument("--chat-think", default="1-2",
                        help="typing time before each turn in the paced chat scenario, seconds (default 1-2)")
    parser.add_argument("--chat-replicas", type=int, default=2,
                        help="Rasa replicas the chat run compares with one (default 2; 1: one only)")
    parser.add_argument("--chat-no-sweep", action="store_true", help="skip the chat capacity sweep")
    args = parser.parse_args(argv)

    pg_url = support.server_url()
    if not (args.skip_transfers and args.skip_queue and args.skip_payouts and args.skip_lots and args.skip_cases):
        problem = asyncio.run(support.check_server(pg_url))
        if problem:
            print(f"bench: {problem}", file=sys.stderr)
            return 2

    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    support.RESULTS_DIR.mkdir(exist_ok=True)
    results: dict[str, Any] = {}
    markdown_parts: list[str] = []
    failed = False

    if not args.skip_transfers:
        from bench.transfers import markdown, run_transfers_bench

        try:
            res = run_transfers_bench(
                pg_url, transfers=args.transfers, sample=args.sample, connections=args.connections,
                duration=args.duration, warmup=args.warmup, max_requests=args.max_requests, rounds=args.rounds, keep=args.keep,
                only=[s for s in args.only.split(",") if s] or None,
            )
        except Exception:  # noqa: BLE001 - report and carry on with the other benchmarks
            traceback.print_exc()
            failed = True
        else:
            results["transfers"] = res
            markdown_parts.append("### Tracking page and transfer API\n\n" + markdown(res))
            if any(s["non_2xx"] or s["unexpected_body"] or s["disconnects"] for s in res["scenarios"].values()):
                print("bench: some requests failed (see non-2xx / problems above)", file=sys.stderr)
                failed = True

    if not args.skip_cases:
        from bench.cases import markdown as cases_markdown
        from bench.cases import run_cases_bench

        try:
            cases = run_cases_bench(pg_url, cases=args.cases, connections=args.connections, duration=args.duration,
                                    warmup=args.warmup, keep=args.keep)
        except Exception:  # noqa: BLE001 - report and carry on with the other benchmarks
            traceback.print_exc()
            failed = True
        else:
            results["cases"] = cases
            markdown_parts.append("### Case progress page\n\n" + cases_markdown(cases))

    if not args.skip_queue:
        try:
            queue = _run_queue(pg_url, args.keep)
        except Exception:  # noqa: BLE001
            traceback.print_exc()
            failed = True
        else:
            if queue is not None:
                results["queue"] = queue
                module = sys.modules["bench.queue"]
                if hasattr(module, "markdown"):
                    markdown_parts.append("### Back-office queue\n\n" + module.markdown(queue))
                else:
                    print(json.dumps(queue, indent=2, default=str))

    if not args.skip_payouts:
        from bench.payouts import markdown as payouts_markdown
        from bench.payouts import run_payouts_bench

        try:
            payouts = run_payouts_bench(pg_url, payees=args.payees, keep=args.keep)
        except Exception:  # noqa: BLE001
            traceback.print_exc()
            failed = True
        else:
            results["payouts"] = payouts
            markdown_parts.append("### Mass payout import\n\n" + payouts_markdown(payouts))
            if not (payouts["import_accepted"] and payouts["committed_rows"] == args.payees):
                print("bench: payouts: the import did not commit every row", file=sys.stderr)
                failed = True

    if not args.skip_lots:
        from bench.lots import markdown as lots_markdown
        from bench.lots import run_lots_bench

        try:
            lots = run_lots_bench(pg_url, lots=args.lots, connections=args.connections, duration=args.duration,
                                  warmup=args.warmup, max_requests=args.max_requests, keep=args.keep)
        except Exception:  # noqa: BLE001
            traceback.print_exc()
            failed = True
        else:
            results["lots"] = lots
            markdown_parts.append("### Public lots: search and lot page\n\n" + lots_markdown(lots))
            if any(s["problems"] for s in lots["scenarios"].values()):
                print("bench: lots: some requests failed (see problems above)", file=sys.stderr)
                failed = True

    if not args.skip_chat:
        try:
            chat = _run_chat(args.chat_conversations, args.chat_think, args.chat_replicas, not args.chat_no_sweep)
        except Exception:  # noqa: BLE001
            traceback.print_exc()
            failed = True
        else:
            if chat is not None:
                from bench.chat import failures
                from bench.chat import markdown as chat_markdown

                results["chat"] = chat
                markdown_parts.append("### Chat assistant (portal → Rasa → actions)\n\n" + chat_markdown(chat))
                for line in failures(chat):
                    print(f"bench: chat: {line}", file=sys.stderr)
                    failed = True

    if results:
        path = support.RESULTS_DIR / f"bench-{stamp}.json"
        path.write_text(json.dumps(results, indent=2, default=str), encoding="utf-8")
        (support.RESULTS_DIR / "latest.json").write_text(path.read_text(encoding="utf-8"), encoding="utf-8")
        md = "\n".join(markdown_parts)
        (support.RESULTS_DIR / f"bench-{stamp}.md").write_text(md, encoding="utf-8")
        print("\n" + md)
        print(f"· results: {path.relative_to(support.ROOT)} (+ .md; latest.json is a copy)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
