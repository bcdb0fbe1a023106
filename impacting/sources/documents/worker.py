"""Reading documents in a process of its own, so that a runaway parser can be stopped.

A hostile or broken file can make a parser loop for hours or allocate gigabytes. The nightly
run hands each document to a worker process with a memory ceiling (its address space) and
waits at most the configured time; a worker that overruns is killed, the document is rejected
with the reason, and a fresh worker reads the next one. The worker is started the first time
something needs reading (an unchanged document never starts it) and is a new interpreter
(`python -m impacting.sources.documents.worker`), so the pipeline's own memory, models
included, does not count against the ceiling. Requests and answers are pickled frames on the
worker's stdin and stdout; anything the parsers print goes to its stderr.
"""

from __future__ import annotations

import os
import pickle
import select
import struct
import subprocess
import sys
from typing import IO, Any

from impacting.errors import ActionableError
from impacting.sources.documents.extract import extract_text
from impacting.sources.documents.limits import ExtractionLimits, out_of_memory, timed_out
from impacting.sources.documents.result import ExtractedText, describe_error, not_ok

_LENGTH = struct.Struct("!Q")
_READY = "ready"
# How long a new worker may take to start (a fresh interpreter importing the parsers), apart
# from the per-document time limit, which starts once it is ready.
STARTUP_SECONDS = 120.0


def _write(stream: IO[bytes], value: Any) -> None:
    data = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(_LENGTH.pack(len(data)) + data)
    stream.flush()


def _read(stream: IO[bytes]) -> Any:
    header = stream.read(_LENGTH.size)
    if len(header) < _LENGTH.size:
        raise EOFError("the document reader stopped")
    (size,) = _LENGTH.unpack(header)
    data = stream.read(size)
    if len(data) < size:
        raise EOFError("the document reader stopped mid-answer")
    return pickle.loads(data)


class ReaderUnavailable(ActionableError):
    """The worker process cannot start at all: every document would fail the same way."""


class ExtractionWorker:
    """`extract(...)` like `extract_text`, within the time and memory `limits`."""

    def __init__(self, limits: ExtractionLimits):
        self.limits = limits
        self._process: subprocess.Popen | None = None
        self.restarts = 0   # workers killed for overrunning

    def __enter__(self) -> ExtractionWorker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def extract(self, content: bytes, file_name: str, mime_type: str | None = None,
                max_bytes: int | None = None) -> ExtractedText:
        if self.limits.timeout_seconds is None and self.limits.max_memory_bytes is None:
            return extract_text(content, file_name, mime_type, max_bytes, self.limits)
        process = self._start()
        try:
            _write(process.stdin, (bytes(content), file_name, mime_type, max_bytes, self.limits))
            ready, _, _ = select.select([process.stdout], [], [], self.limits.timeout_seconds)
            if not ready:
                self._kill()
                return not_ok("unknown", "skipped", timed_out(self.limits.timeout_seconds))
            result = _read(process.stdout)
        except (EOFError, BrokenPipeError, ConnectionResetError, OSError, pickle.UnpicklingError):
            # The worker died mid-document: the memory ceiling, or a crash in a C parser.
            self._kill()
            return not_ok("unknown", "skipped", out_of_memory("document"))
        if self._near_ceiling(process.pid):
            # A parser whose allocation failed at the ceiling often reports a parse error (lxml:
            # "unknown error"): say what really happened, and give the next document a fresh worker.
            self._kill()
            if result.status != "ok":
                label = result.format.upper() if result.format != "unknown" else "document"
                return not_ok(result.format, "skipped", out_of_memory(label))
        return result

    def _near_ceiling(self, pid: int) -> bool:
        """Whether the worker's address space has come within 10% of the memory ceiling."""
        if not self.limits.max_memory_bytes:
            return False
        try:
            with open(f"/proc/{pid}/status") as status:
                peak = next((int(line.split()[1]) * 1024 for line in status if line.startswith("VmPeak:")), 0)
        except (OSError, ValueError):
            return False  # not Linux: the MemoryError and crash paths still apply
        return peak >= 0.9 * self.limits.max_memory_bytes

    def _start(self) -> subprocess.Popen:
        if self._process is not None and self._process.poll() is None:
            return self._process
        self._process = subprocess.Popen(
            [sys.executable, "-m", "impacting.sources.documents.worker",
             str(self.limits.max_memory_bytes or 0)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
            env={**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)})
        ready, _, _ = select.select([self._process.stdout], [], [], STARTUP_SECONDS)
        if not ready or _read(self._process.stdout) != _READY:
            self._process.kill()
            raise ReaderUnavailable(
                f"the document reader process ({sys.executable} -m impacting.sources.documents.worker) "
                f"did not start within {STARTUP_SECONDS:g} s; check that the machine has memory to "
                "spare and that the installation is complete")
        return self._process

    def _kill(self) -> None:
        if self._process is not None:
            self._process.kill()
            self._process.wait(timeout=30)
            self.restarts += 1
            self._close_pipes()

    def _close_pipes(self) -> None:
        for stream in (self._process.stdin, self._process.stdout):
            try:
                stream.close()
            except OSError:
                pass
        self._process = None

    def close(self) -> None:
        """Let the worker finish and exit (it is started again if needed)."""
        if self._process is None:
            return
        try:
            self._process.stdin.close()
            self._process.wait(timeout=30)
        except (OSError, subprocess.TimeoutExpired):
            self._process.kill()
            self._process.wait(timeout=30)
        self._close_pipes()


def _serve(max_memory_bytes: int) -> None:
    """The worker's loop: read a request, answer an `ExtractedText`, until stdin closes."""
    import resource

    requests, answers = sys.stdin.buffer, sys.stdout.buffer
    sys.stdout = sys.stderr  # a parser that prints must not corrupt the answers
    if max_memory_bytes:
        resource.setrlimit(resource.RLIMIT_AS, (max_memory_bytes, max_memory_bytes))
    _write(answers, _READY)
    while True:
        try:
            content, file_name, mime_type, max_bytes, limits = _read(requests)
        except EOFError:
            return
        try:
            result = extract_text(content, file_name, mime_type, max_bytes, limits)
        except MemoryError:
            result = not_ok("unknown", "skipped", out_of_memory("document"))
        except Exception as error:  # a parser bug must not stop the worker
            result = not_ok("unknown", "failed", f"could not be read ({describe_error(error)}); "
                                                 "re-save the file and attach it again")
        del content
        _write(answers, result)


if __name__ == "__main__":
    _serve(int(sys.argv[1]) if len(sys.argv) > 1 else 0)
