"""Page extraction in worker processes, so that a crawl uses more than one core.

A crawl's process runs Scrapy's event loop, the pipelines and the SQLite writes on one
core. Extraction -- parsing a page and reading its fields, ~0.5-1 ms of pure CPU, and
compressing the page for the archive -- takes bytes and returns a small dict, so it runs
in a worker while the loop goes on fetching and archiving. With no workers (a one-core
machine, or KANT_EXTRACT_WORKERS=0) it runs inline, with the same results.

Why not concurrent.futures.ProcessPoolExecutor: its feeder and manager threads cost the
crawl's process 360-490 µs of CPU a page (3000 replica pages through one worker, 2 cores),
half of what offloading a page saves, and they contend for the GIL with the event loop.
Here each worker is a child process on one end of a socket pair, and the event loop
itself writes requests and reads replies (length-prefixed pickles): 170-200 µs a page
measured the same way, no threads. A worker leaves when its socket closes -- the crawl's
end closes whenever the crawl ends, killed or not -- so none outlives it.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import pickle
import signal
import socket
import struct
import subprocess
import sys
from pathlib import Path

from kantkg.archive import compress_page
from kantkg.encoding import utf8_bytes
from kantkg.extract import extract_raw

logger = logging.getLogger(__name__)
_HEADER = struct.Struct("!I")  # frame length, then a pickle
STOP_SECONDS = 5.0  # a closed worker still running after this is killed


def default_workers() -> int:
    """One core stays with the crawl's own process; at most two workers are useful (a
    crawl fetches a few hundred pages a second)."""
    return max(0, min(2, (os.cpu_count() or 1) - 1))


def extract_for_archive(body: bytes, url: str, declared: str | None) -> dict | None:
    """extract_raw, plus the page as the archive will keep it (`html_zlib`): compressing
    (~0.2 ms a page) and the UTF-8 check belong with the page's other CPU work, off the
    crawl's event loop when there is a worker."""
    item = extract_raw(body, url, declared)
    if item is not None:
        item["html_zlib"] = compress_page(utf8_bytes(body, declared))
    return item


class WorkerGone(Exception):
    """The worker process exited or its socket broke: extract inline instead."""


class _Worker:
    """One worker process and the crawl's end of its socket, read by the event loop.
    Started on the first page: a crawl that extracts nothing (an unchanged site) starts
    no process."""

    def __init__(self) -> None:
        self.process: subprocess.Popen | None = None
        self.pending: dict[int, asyncio.Future] = {}
        self.alive = True
        self._next_id = 0
        self._sock: socket.socket | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._starting = asyncio.Lock()  # (binds to the loop that first uses it)
        self._reading: asyncio.Task | None = None

    async def _connect(self) -> asyncio.StreamWriter | None:
        """The connection, started by the first caller; None if the worker is gone (a
        caller that waited here for a start that failed does not start another)."""
        if self._writer is None:
            async with self._starting:
                if self._writer is None and self.alive:
                    await self._start()
        return self._writer if self.alive else None

    async def _start(self) -> None:
        ours, theirs = socket.socketpair()
        package_parent = str(Path(__file__).resolve().parent.parent)
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [package_parent,
                                                          env.get("PYTHONPATH")]))
        try:
            with theirs:
                self.process = subprocess.Popen(
                    [sys.executable, "-m", "kantkg.offload", str(theirs.fileno())],
                    pass_fds=[theirs.fileno()], env=env, stdin=subprocess.DEVNULL)
        except BaseException:
            ours.close()  # (no worker to talk to)
            raise
        self._sock = ours
        reader, self._writer = await asyncio.open_connection(sock=ours)
        self._reading = asyncio.get_running_loop().create_task(self._read(reader))

    async def call(self, *args) -> dict | None:
        if not self.alive:
            raise WorkerGone
        try:
            writer = await self._connect()
        except OSError as exc:  # no process or socket to be had (out of memory, fds)
            logger.warning("cannot start an extraction worker (%s); extracting in the "
                           "crawl's process", exc)
            self.alive = False
            raise WorkerGone from None
        if writer is None:  # (it failed or died while this call waited for the start)
            raise WorkerGone
        self._next_id += 1
        request_id = self._next_id
        future = asyncio.get_running_loop().create_future()
        self.pending[request_id] = future
        frame = pickle.dumps((request_id, args), protocol=pickle.HIGHEST_PROTOCOL)
        try:
            writer.write(_HEADER.pack(len(frame)) + frame)
            await writer.drain()  # (waits only while the worker is far behind)
        except (OSError, RuntimeError):
            self._fail()
        return await future

    async def _read(self, reader: asyncio.StreamReader) -> None:
        try:
            while True:
                (size,) = _HEADER.unpack(await reader.readexactly(_HEADER.size))
                request_id, ok, value = pickle.loads(await reader.readexactly(size))
                future = self.pending.pop(request_id, None)
                if future is None or future.done():
                    continue
                if ok:
                    future.set_result(value)
                else:
                    future.set_exception(value)
        except (asyncio.IncompleteReadError, OSError, pickle.UnpicklingError, EOFError):
            self._fail()

    def _fail(self) -> None:
        if self.alive:
            self.alive = False
            logger.warning("extraction worker (pid %s) died; extracting in the crawl's "
                           "process", self.process.pid if self.process else None)
        self._hand_back()

    def _hand_back(self) -> None:
        """Pages sent and not answered go back to their callers, to extract inline."""
        pending, self.pending = self.pending, {}
        for future in pending.values():
            if not future.done():
                future.set_exception(WorkerGone())

    def close(self) -> None:
        """End the connection (the worker reads EOF and exits), then reap it."""
        self.alive = False
        self._hand_back()
        if self._reading is not None:
            self._reading.cancel()
        if self._sock is not None:
            # shutdown() at once: the transport's own close happens on a later turn of the
            # event loop, which is not turning while this waits for the worker.
            with contextlib.suppress(OSError):
                self._sock.shutdown(socket.SHUT_RDWR)
            if self._writer is not None:  # (None if the connection itself failed)
                self._writer.transport.abort()
            else:
                self._sock.close()
        if self.process is not None:
            try:
                self.process.wait(timeout=STOP_SECONDS)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


class Extractor:
    """extract_for_archive, awaited: in a worker process when there are any, else
    inline."""

    def __init__(self, workers: int) -> None:
        self._workers = [_Worker() for _ in range(max(0, workers))]

    @property
    def workers(self) -> int:
        return sum(worker.alive for worker in self._workers)

    async def extract(self, body: bytes, url: str, declared: str | None) -> dict | None:
        live = [worker for worker in self._workers if worker.alive]
        if live:  # the least busy worker takes the page
            worker = min(live, key=lambda w: len(w.pending))
            try:
                return await worker.call(body, url, declared)
            except WorkerGone:
                pass  # (logged once by the worker) this page, and later ones, inline
        return extract_for_archive(body, url, declared)

    def close(self) -> None:
        workers, self._workers = self._workers, []
        for worker in workers:
            worker.close()


# ------------------------------------------------------------------ the worker side


def _read_exactly(sock: socket.socket, size: int) -> bytes | None:
    chunks, left = [], size
    while left:
        chunk = sock.recv(min(left, 1 << 20))
        if not chunk:
            return None
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def serve(sock: socket.socket) -> None:
    """Answer extraction requests until the crawl's end of the socket closes."""
    extract_for_archive(b"<html><body><h1>x</h1><p>warm up</p></body></html>", "https://x/",
                        None)
    while (header := _read_exactly(sock, _HEADER.size)) is not None:
        frame = _read_exactly(sock, _HEADER.unpack(header)[0])
        if frame is None:
            return
        request_id, args = pickle.loads(frame)
        try:
            reply = (request_id, True, extract_for_archive(*args))
        except Exception as exc:  # raised in the crawl's process, as inline
            reply = (request_id, False, exc)
        try:
            data = pickle.dumps(reply, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception:  # an error that does not pickle: its text at least
            data = pickle.dumps((request_id, False, RuntimeError(repr(reply[2]))))
        try:
            sock.sendall(_HEADER.pack(len(data)) + data)
        except OSError:  # the crawl is gone
            return


def main() -> None:
    parser = argparse.ArgumentParser(description="kantkg extraction worker (internal)")
    parser.add_argument("fd", type=int, help="the worker's end of the crawl's socket pair")
    args = parser.parse_args()
    # Ctrl-C reaches the whole process group: the crawl stops gracefully and goes on
    # extracting what is in flight, so the worker stays until the crawl closes it.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    with socket.socket(fileno=args.fd) as sock:
        serve(sock)


if __name__ == "__main__":
    main()
