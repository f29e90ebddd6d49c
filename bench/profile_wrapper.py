"""Run a Python program under cProfile switched by signals (bench/chat_cpu.py --profile).

    python bench/profile_wrapper.py OUT program.py args…   |   python bench/profile_wrapper.py OUT -m module args…

SIGUSR1 starts profiling (timer: the process's CPU time, so waiting costs nothing); SIGUSR2
stops it and writes OUT.<n>.prof. Only the main thread is profiled: the event loop of the
servers here (Rasa, the action server, uvicorn), and the CPU of other threads while it waits
on them.
"""
import cProfile
import os
import runpy
import signal
import sys
import time

out, rest = sys.argv[1], sys.argv[2:]
state: dict[str, object] = {"profile": None, "n": 0}


def start(*_: object) -> None:
    profile = cProfile.Profile(time.process_time)
    state["profile"] = profile
    profile.enable()


def stop(*_: object) -> None:
    profile = state["profile"]
    if isinstance(profile, cProfile.Profile):
        profile.disable()
        profile.dump_stats(f"{out}.{state['n']}.prof")
        state["n"] = int(str(state["n"])) + 1
        state["profile"] = None


signal.signal(signal.SIGUSR1, start)
signal.signal(signal.SIGUSR2, stop)
# sys.path[0] as the program would have it (not bench/, whose queue.py would shadow the stdlib's)
if rest[0] == "-m":
    sys.path[0] = os.getcwd()
    sys.argv = [rest[1], *rest[2:]]
    runpy.run_module(rest[1], run_name="__main__", alter_sys=True)
else:
    sys.path[0] = os.path.dirname(os.path.abspath(rest[0]))
    sys.argv = rest
    runpy.run_path(rest[0], run_name="__main__")
