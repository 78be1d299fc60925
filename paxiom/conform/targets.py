"""Implementations under test, in process or out of process, behind one interface.

Whatever goes wrong inside the implementation — an exception, a hang, a dead process, a malformed
message — surfaces as a `Failure` with a kind (`crash`, `timeout`, `protocol`), which the suite reports
as a finding. Nothing the implementation does may crash the suite itself.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import json
import os
import select
import signal
import subprocess
import sys
import threading
import time
import traceback
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from pathlib import Path
from types import FrameType
from typing import IO, Any

from paxiom.conform.adapter import Adapter
from paxiom.conform.messages import (
    Accept,
    AcceptAny,
    Accepted,
    Decision,
    Garbage,
    Input,
    Nack,
    Output,
    Prepare,
    Promise,
    from_json,
    shown,
    to_json,
)
from paxiom.conform.node import Node
from paxiom.errors import PaxiomError

DEFAULT_TIMEOUT = 5.0
"""Seconds an implementation may take to react to one input (or to start)."""
MAX_TIMEOUT = 600.0
MAX_LINE = 1 << 20
"""Bytes one line of the process protocol may take: a longer one is garbage, not something to buffer."""


class Failure(Exception):
    """The implementation crashed, hung or emitted garbage: `kind` is the finding's rule, `sent` the
    offending message (shortened) when there is one, so the schedule can show it."""

    def __init__(self, kind: str, detail: str, sent: str | None = None) -> None:
        super().__init__(detail)
        self.kind = kind
        self.detail = detail
        self.sent = sent


class Instance(ABC):
    """One running incarnation of a node."""

    @abstractmethod
    def send(self, msg: Input) -> list[Output]:
        """Deliver one input; the messages it emits in reaction. Raises Failure."""

    @abstractmethod
    def kill(self) -> None:
        """Stop abruptly (SIGKILL): nothing but what is already in the data directory survives."""


class Target(ABC):
    name: str

    @abstractmethod
    def start(self, node: Node) -> Instance:
        """Start (or restart, on the same data directory) one node. Raises Failure."""

    def roles(self) -> frozenset[str] | None:
        """The init roles it declares it can play, when known before running it."""
        return None

    def check_options(self, options: dict[str, str]) -> None:
        """Refuse `--option` settings the implementation does not know, before any run (PaxiomError). A
        process target learns its options only in `init`, so by default nothing is refused."""
        del options


def check_output(node: Node, raw: Any) -> Output:
    """Validate one emitted message against the schema and the node's identity."""
    if not isinstance(raw, dict):
        raise Garbage(f"emitted {shown(raw)}, not a message")
    msg = from_json(raw, node.nodes, node.proposers, node.wire)
    if msg.src != node.id:
        raise Garbage(f"emitted a message claiming to be from {msg.src!r}: {shown(raw)}")
    return msg


# ---------------------------------------------------------------- in process


@contextlib.contextmanager
def deadline(seconds: float) -> Iterator[None]:
    """Raise Failure('timeout') if the block runs longer (only in the main thread, where signals work)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def expire(signum: int, frame: FrameType | None) -> None:
        raise Failure("timeout", f"no answer within {seconds:g} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def describe_exception(exc: BaseException) -> str:
    """`TypeError: '>=' not supported ... (at composable_paxos.py:246 in receive_prepare)`."""
    frames = traceback.extract_tb(exc.__traceback__)
    where = f" (at {Path(frames[-1].filename).name}:{frames[-1].lineno} in {frames[-1].name})" if frames else ""
    return f"{type(exc).__name__}: {exc}{where}"


class AdapterInstance(Instance):
    def __init__(self, cls: type[Adapter], node: Node, timeout: float) -> None:
        self.node, self.timeout = node, timeout
        self.adapter = self._guard(lambda: cls(node))

    def _guard(self, call: Any) -> Any:
        """Run library code: its exceptions (even SystemExit) are crashes, and what it prints goes to stderr,
        so a chatty library cannot corrupt the one JSON document of --json on stdout."""
        try:
            with contextlib.redirect_stdout(sys.stderr), deadline(self.timeout):
                return call()
        except Failure:
            raise
        except (Exception, SystemExit) as exc:
            raise Failure("crash", describe_exception(exc)) from None

    def send(self, msg: Input) -> list[Output]:
        emitted = self._guard(lambda: list(self.adapter.handle(msg) or ()))
        out = []
        for m in emitted:
            if not isinstance(m, Prepare | Promise | Nack | Accept | AcceptAny | Accepted | Decision):
                what = f"{shown(m)} ({type(m).__name__})"
                raise Failure("protocol", f"emitted {what}, not a paxiom.conform message", what)
            try:
                doc = to_json(m)
            except Exception:  # e.g. a ballot that is not a Ballot
                raise Failure("protocol", f"emitted a malformed {m.type}: {shown(m)}", shown(m)) from None
            try:
                out.append(check_output(self.node, doc))
            except Garbage as exc:
                raise Failure("protocol", f"garbage output: {exc}", shown(doc)) from None
        return out

    def kill(self) -> None:
        self.adapter = None


class AdapterTarget(Target):
    def __init__(self, cls: type[Adapter], name: str, timeout: float = DEFAULT_TIMEOUT) -> None:
        self.cls, self.name, self.timeout = cls, name, timeout

    def start(self, node: Node) -> Instance:
        return AdapterInstance(self.cls, node, self.timeout)

    def roles(self) -> frozenset[str] | None:
        return self.cls.roles

    def check_options(self, options: dict[str, str]) -> None:
        try:
            self.cls.check_options(options)
        except (ValueError, KeyError) as exc:
            raise PaxiomError(f"--option: {exc.args[0] if exc.args else exc}") from None


def load_adapter(spec: str) -> AdapterTarget:
    """`MODULE:CLASS` or `path/to/file.py:CLASS` -> a target; bad specs are PaxiomErrors."""
    where, _, attr = spec.rpartition(":")
    if not where or not attr:
        raise PaxiomError(f"--adapter {spec!r}: expected MODULE:CLASS or FILE.py:CLASS")
    try:
        if where.endswith(".py"):
            path = Path(where).resolve()
            module_spec = importlib.util.spec_from_file_location(path.stem, path)
            if module_spec is None or module_spec.loader is None or not path.exists():
                raise PaxiomError(f"--adapter {spec!r}: no such file {where}")
            module = importlib.util.module_from_spec(module_spec)
            sys.modules[path.stem] = module
            module_spec.loader.exec_module(module)
        else:
            if "" not in sys.path and os.getcwd() not in sys.path:
                sys.path.insert(0, os.getcwd())
            module = importlib.import_module(where)
    except PaxiomError:
        raise
    except Exception as exc:
        raise PaxiomError(f"--adapter {spec!r}: cannot import {where}: {describe_exception(exc)}") from None
    cls = getattr(module, attr, None)
    if not (isinstance(cls, type) and issubclass(cls, Adapter)):
        raise PaxiomError(f"--adapter {spec!r}: {attr} is not a paxiom.conform.Adapter subclass in {where}")
    return AdapterTarget(cls, spec)


# ---------------------------------------------------------------- out of process


class ProcessInstance(Instance):
    """A node speaking the JSON-lines protocol on stdin/stdout; stderr is kept for the report."""

    def __init__(self, argv: Sequence[str], node: Node, timeout: float, log_dir: Path) -> None:
        self.node, self.timeout, self.seq = node, timeout, 0
        self.stderr_path = log_dir / f"{node.id}.{node.incarnation}.stderr"
        stderr = self.stderr_path.open("wb")
        try:
            self.proc = subprocess.Popen(
                list(argv), stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=stderr, start_new_session=True
            )
        except OSError as exc:
            raise PaxiomError(f"cannot start {' '.join(argv)}: {exc.strerror or exc}") from None
        finally:
            stderr.close()
        self.buffer = b""
        try:
            self.exchange(node.init_json(), "init")
        except Failure:
            self.kill()
            raise

    def _stderr_tail(self) -> str:
        try:
            lines = self.stderr_path.read_text(errors="replace").strip().splitlines()[-3:]
        except OSError:
            return ""
        return ("; stderr: " + " | ".join(lines)) if lines else ""

    def _readline(self, until: float) -> bytes:
        assert self.proc.stdout is not None
        fd = self.proc.stdout.fileno()
        while b"\n" not in self.buffer:
            if len(self.buffer) > MAX_LINE:
                raise Failure("protocol", f"wrote a line longer than {MAX_LINE:,} bytes", shown(self.buffer))
            left = until - time.monotonic()
            if left <= 0:
                raise Failure("timeout", f"no complete answer within {self.timeout:g} s{self._stderr_tail()}")
            ready, _, _ = select.select([fd], [], [], left)
            if not ready:
                continue
            chunk = os.read(fd, 65536)
            if not chunk:
                code = self.proc.wait()
                raise Failure("crash", f"the process exited with status {code}{self._stderr_tail()}")
            self.buffer += chunk
        line, _, self.buffer = self.buffer.partition(b"\n")
        return line

    def exchange(self, doc: dict[str, Any], what: str) -> list[Output]:
        self.seq += 1
        doc = {**doc, "seq": self.seq}
        stdin: IO[bytes] | None = self.proc.stdin
        assert stdin is not None
        try:
            stdin.write(json.dumps(doc).encode() + b"\n")
            stdin.flush()
        except OSError:
            code = self.proc.wait()
            raise Failure("crash", f"the process exited with status {code}{self._stderr_tail()}") from None
        until = time.monotonic() + self.timeout
        out: list[Output] = []
        while True:
            line = self._readline(until)
            try:
                raw = json.loads(line)
            except (ValueError, RecursionError) as exc:  # not JSON, not UTF-8, a 5,000-digit number, too deep
                reason = "nested too deeply" if isinstance(exc, RecursionError) else type(exc).__name__
                raise Failure(
                    "protocol", f"answering {what}, wrote a line that is not JSON ({reason})", shown(line)
                ) from None
            kind = raw.get("type") if isinstance(raw, dict) else None
            if kind in ("done", "error"):
                if raw.get("seq") != self.seq:
                    raise Failure("protocol", f"answering {what} (seq {self.seq}), ended with {shown(raw)}", shown(raw))
                if kind == "error" and doc["type"] != "timeout":
                    refusal = f"{shown(raw.get('code'))}: {shown(raw.get('text'))}"
                    raise Failure("protocol", f"refused {what}: {refusal}", shown(raw))
                return out
            try:
                out.append(check_output(self.node, raw))
            except (Garbage, RecursionError) as exc:
                reason = str(exc) if isinstance(exc, Garbage) else "nested too deeply"
                raise Failure("protocol", f"answering {what}, wrote garbage: {reason}", shown(raw)) from None

    def send(self, msg: Input) -> list[Output]:
        return self.exchange(to_json(msg), msg.type)

    def kill(self) -> None:
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait()
        for pipe in (self.proc.stdin, self.proc.stdout):
            with contextlib.suppress(OSError):
                if pipe is not None:
                    pipe.close()


class ProcessTarget(Target):
    def __init__(self, argv: Sequence[str], log_dir: Path, timeout: float = DEFAULT_TIMEOUT) -> None:
        if not argv:
            raise PaxiomError("give the command to run after --")
        self.argv, self.log_dir, self.timeout = list(argv), log_dir, timeout
        self.name = " ".join(argv)

    def start(self, node: Node) -> Instance:
        return ProcessInstance(self.argv, node, self.timeout, self.log_dir)
