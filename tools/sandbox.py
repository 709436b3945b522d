"""Worker processes that do all parsing and SymPy work, with limits, killed on timeout.

Model and user text is hostile: an exponent tower or a huge factorial must cost at most the
timeout. Work runs in child processes with an address-space limit; a call that overruns its
wall-clock timeout kills its worker and a fresh one takes its place. No signals, no alarms:
callers may be any thread (LangGraph `batch`, async executors).
"""

from __future__ import annotations

import json
import os
import queue
import select
import subprocess
import sys
import threading
from typing import Any

from verimath.errors import VerimathError

__all__ = ["SandboxPool", "SandboxTimeout", "SandboxFailure"]

# A worker imports SymPy before it reports ready; on a loaded 2-core machine that can take
# seconds. It is waited for apart from the per-check timeout, which covers only the check.
STARTUP_TIMEOUT_S = 60.0


class SandboxTimeout(VerimathError, TimeoutError):
    """The task ran past its time limit; its worker was killed."""


class SandboxFailure(VerimathError, RuntimeError):
    """The worker died or answered with an error."""


# The only environment variables a program worker inherits: what Python needs to start, and
# the test hook that switches programs off (confinement.UNAVAILABLE_ENV; it cannot weaken them).
_PROGRAM_ENV = frozenset(
    {"PYTHONUNBUFFERED", "PYTHONPATH", "PATH", "LANG", "LC_ALL", "TMPDIR",
     "VERIMATH_PROGRAMS_UNAVAILABLE"}
)  # fmt: skip


class _Worker:
    def __init__(self, memory_mb: int, programs: bool = False) -> None:
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        if programs:  # a program reads no secrets from the environment (API keys, tokens)
            env = {k: v for k, v in env.items() if k in _PROGRAM_ENV}
        command = [sys.executable, "-m", "verimath.tools.worker", "--memory-mb", str(memory_mb)]
        self.process = subprocess.Popen(
            command + (["--programs"] if programs else []),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=env,
        )

    def request(self, message: dict[str, Any], timeout_s: float) -> dict[str, Any]:
        assert self.process.stdin  # safe: created with pipes
        self.process.stdin.write((json.dumps(message) + "\n").encode())
        self.process.stdin.flush()
        return self.reply(timeout_s)

    def reply(self, timeout_s: float) -> dict[str, Any]:
        assert self.process.stdout  # safe: created with pipes
        ready, _, _ = select.select([self.process.stdout], [], [], timeout_s)
        if not ready:
            raise SandboxTimeout(f"check exceeded {timeout_s:g} s")
        line = self.process.stdout.readline()
        if not line:
            raise SandboxFailure("verification worker exited (likely its memory limit)")
        return json.loads(line)

    def kill(self) -> None:
        self.process.kill()
        self.process.wait()


class SandboxPool:
    """A fixed number of reusable workers; thread-safe.

    `programs=True` starts program workers (each program runs in a confined child of one; see
    `verimath.tools.confinement`), and `single_use` throws each worker away after one call, so
    nothing a call leaves behind reaches the next; its replacement starts in the background
    meanwhile, so the next call does not wait for it.
    """

    def __init__(
        self,
        size: int = 2,
        *,
        timeout_s: float = 10.0,
        memory_mb: int = 1024,
        programs: bool = False,
        single_use: bool = False,
    ) -> None:
        self.size = size
        self.timeout_s = timeout_s
        self.memory_mb = memory_mb
        self.programs = programs
        self.single_use = single_use
        self._idle: queue.Queue[_Worker | None] = queue.Queue()
        for _ in range(size):
            self._idle.put(None)  # a slot; its worker starts on first use
        self._closed = False
        self._lock = threading.Lock()
        self._all: set[_Worker] = set()

    def call(self, op: str, timeout_s: float | None = None, **args: Any) -> Any:
        """Run `op` in a worker and return its result; raises SandboxTimeout/SandboxFailure."""
        if self._closed:
            raise SandboxFailure("the verification pool is closed")
        worker = self._idle.get()
        try:
            if worker is None or worker.process.poll() is not None:
                worker = self._start()
            reply = worker.request({"op": op, "args": args}, timeout_s or self.timeout_s)
        except (SandboxTimeout, SandboxFailure, OSError, ValueError) as exc:
            if worker is not None:
                self._discard(worker)
            self._idle.put(None)
            if isinstance(exc, SandboxTimeout | SandboxFailure):
                raise
            raise SandboxFailure(f"verification worker failed ({type(exc).__name__})") from exc
        if self.single_use:
            self._discard(worker)
            threading.Thread(target=self._replenish, daemon=True).start()
        else:
            self._idle.put(worker)
        if not reply.get("ok"):
            raise SandboxFailure(str(reply.get("error", "unknown worker error")))
        return reply["result"]

    def start(self) -> None:
        """Start every worker now, side by side, instead of each on its first call (a worker
        takes about a second to import SymPy; a batch's first checks would wait for it)."""
        fillers = [threading.Thread(target=self._fill_slot) for _ in range(self.size)]
        for filler in fillers:
            filler.start()
        for filler in fillers:
            filler.join()

    def _fill_slot(self) -> None:
        worker = self._idle.get()
        if worker is not None and worker.process.poll() is None:
            self._idle.put(worker)
            return
        if worker is not None:
            self._discard(worker)
        self._replenish()

    def _replenish(self) -> None:
        """Start the worker that takes a used one's slot (a failed start leaves an empty slot,
        filled on next use)."""
        try:
            worker: _Worker | None = None if self._closed else self._start()
        except (SandboxFailure, OSError):
            worker = None
        self._idle.put(worker)
        if self._closed and worker is not None:
            self._discard(worker)

    def _start(self) -> _Worker:
        worker = _Worker(self.memory_mb, self.programs)
        with self._lock:
            self._all.add(worker)
        try:
            hello = worker.reply(STARTUP_TIMEOUT_S)
        except (SandboxTimeout, SandboxFailure, ValueError):
            hello = {}
        if not hello.get("ready"):
            self._discard(worker)
            raise SandboxFailure(f"verification worker did not start in {STARTUP_TIMEOUT_S:g} s")
        return worker

    def _discard(self, worker: _Worker) -> None:
        worker.kill()
        with self._lock:
            self._all.discard(worker)

    def close(self) -> None:
        self._closed = True
        with self._lock:
            workers, self._all = list(self._all), set()
        for worker in workers:
            worker.kill()

    def __enter__(self) -> SandboxPool:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()
