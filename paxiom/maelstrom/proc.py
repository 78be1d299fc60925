"""One node under test: a child process speaking Maelstrom's protocol on stdin/stdout.

The harness owns the process's life: start, init, kill -9, restart (keeping or wiping its data
directory), SIGSTOP/SIGCONT, stop. What the node writes is parsed here; anything that is not a
message becomes a finding through `on_finding`, never an exception in the harness.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from paxiom.maelstrom.protocol import MAX_LINE, Garbage, Message, parse

DATA_DIR_PLACEHOLDER = "{data_dir}"
DATA_DIR_ENV = "MAELSTROM_DATA_DIR"
STDERR_KEPT = 20_000  # lines of stderr kept in memory per node for the report's tails


@dataclass(frozen=True, slots=True)
class Finding:
    """Something a node did that no correct node does: crashed, hung, or spoke garbage."""

    kind: str  # "no-init" | "crashed" | "hung" | "garbage" | "unavailable" (node "service")
    node: str
    detail: str
    time: float  # seconds since the start of the run


class NodeProcess:
    """A node's process across restarts; `deliver` writes a message to it if it is running."""

    def __init__(
        self,
        node_id: str,
        command: Sequence[str],
        data_dir: Path,
        log_path: Path,
        clock: Callable[[], float],
        on_message: Callable[[Message], None],
        on_finding: Callable[[Finding], None],
    ) -> None:
        self.node_id = node_id
        self.command = [arg.replace(DATA_DIR_PLACEHOLDER, str(data_dir)) for arg in command]
        self.data_dir = data_dir
        self.clock = clock
        self.on_message = on_message
        self.on_finding = on_finding
        self.stderr: list[tuple[float, str]] = []
        self.paused = False
        self.starts = 0
        self._log = log_path.open("a", encoding="utf-8", errors="replace")
        self._proc: asyncio.subprocess.Process | None = None
        self._expect_exit = False
        self._tasks: list[asyncio.Task[None]] = []
        self.exited = asyncio.Event()  # set when the current process has exited

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.returncode is None

    @property
    def killed(self) -> bool:
        """Signalled to die by the harness (its exit may not have been reaped yet)."""
        return self._expect_exit

    async def start(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._expect_exit = False
        self.exited.clear()
        self.starts += 1
        self.note(f"-- harness: start #{self.starts}: {' '.join(self.command)}")
        try:
            self._proc = await asyncio.create_subprocess_exec(
                *self.command,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                env={**os.environ, DATA_DIR_ENV: str(self.data_dir)},
                limit=MAX_LINE,
                start_new_session=True,  # a signal to the node never reaches the harness's own group
            )
        except OSError as exc:
            self._proc = None
            self.exited.set()
            self.on_finding(Finding("no-init", self.node_id, f"cannot start {self.command[0]}: {exc}", self.clock()))
            return
        proc = self._proc
        assert proc.stdout is not None and proc.stderr is not None
        self._tasks = [asyncio.create_task(self._read_stdout(proc, proc.stdout)),
                       asyncio.create_task(self._read_stderr(proc.stderr))]  # fmt: skip

    def deliver(self, msg: Message) -> None:
        proc = self._proc
        if proc is None or proc.returncode is not None or proc.stdin is None or proc.stdin.is_closing():
            return  # a dead node's mail is lost, as on a real network
        with contextlib.suppress(OSError):  # the node died between the check and the write
            proc.stdin.write(msg.line())

    def kill(self) -> None:
        """kill -9: no chance to flush anything that was not synced."""
        self._signal(signal.SIGKILL, expect_exit=True)
        self.paused = False

    def pause(self) -> None:
        self._signal(signal.SIGSTOP)
        self.paused = True

    def resume(self) -> None:
        self._signal(signal.SIGCONT)
        self.paused = False

    def wipe(self) -> None:
        shutil.rmtree(self.data_dir, ignore_errors=True)
        self.note("-- harness: data directory wiped")

    async def wait_exit(self, timeout: float) -> None:
        proc = self._proc
        if proc is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(proc.wait(), timeout)
        for task in self._tasks:
            with contextlib.suppress(TimeoutError, asyncio.CancelledError):
                await asyncio.wait_for(task, 1.0)

    async def stop(self, grace: float = 1.0) -> None:
        """End the process: SIGCONT if paused, close stdin, SIGTERM, then SIGKILL after `grace`."""
        proc = self._proc
        if proc is None:
            self._log.close()
            return
        self._expect_exit = True
        if proc.returncode is None:
            if self.paused:
                self.resume()
            if proc.stdin is not None:
                proc.stdin.close()
            self._signal(signal.SIGTERM, expect_exit=True)
            try:
                await asyncio.wait_for(proc.wait(), grace)
            except TimeoutError:
                self._signal(signal.SIGKILL, expect_exit=True)
        await self.wait_exit(grace)
        self._log.close()

    def _signal(self, sig: signal.Signals, *, expect_exit: bool = False) -> None:
        proc = self._proc
        if proc is None or proc.returncode is not None:
            return
        if expect_exit:
            self._expect_exit = True
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(sig)

    def note(self, text: str) -> None:
        """A line in the node's log (and its in-memory tail), stamped with the run's clock."""
        now = self.clock()
        self.stderr.append((now, text))
        del self.stderr[:-STDERR_KEPT]
        self._log.write(f"[{now:9.3f}] {text}\n")
        self._log.flush()

    async def _read_stdout(self, proc: asyncio.subprocess.Process, stdout: asyncio.StreamReader) -> None:
        while True:
            try:
                line = await stdout.readline()
            except ValueError:  # longer than MAX_LINE; asyncio has dropped it
                self._garbage(f"a line longer than {MAX_LINE} bytes")
                continue
            if not line:
                break
            if not line.strip():
                continue
            try:
                self.on_message(parse(line, self.node_id))
            except Garbage as exc:
                self._garbage(f"{exc}: {line[:200]!r}")
        code = await proc.wait()
        self.exited.set()
        if not self._expect_exit:
            self.on_finding(Finding("crashed", self.node_id, f"exited with status {code}", self.clock()))
        self.note(f"-- harness: process exited with status {code}")

    async def _read_stderr(self, stderr: asyncio.StreamReader) -> None:
        while True:
            try:
                line = await stderr.readline()
            except ValueError:
                continue
            if not line:
                return
            self.note(line.decode("utf-8", "replace").rstrip("\n"))

    def _garbage(self, detail: str) -> None:
        self.note(f"-- harness: garbage on stdout: {detail}")
        self.on_finding(Finding("garbage", self.node_id, detail, self.clock()))
