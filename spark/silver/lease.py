"""The silver writer's lease: one writer of a lake's silver at a time, across processes and threads (the stream's
micro-batches, the catch-up, CSV ingest, the CLI), because each batch judges its events against the state the
batches before it left.

The lease is a small file beside the silver state, created only if absent (an atomic step on HDFS and on a local
filesystem). Its holder renews it every few seconds; a holder that died (kill -9) stops renewing, and the lease
expires after ``ttl_s``. A second writer waits for it, then is refused with a message naming the holder.

A renewal that fails (HDFS recovering from a lost DataNode, say) is tried again at the next tick; a holder that
could not renew for ``ttl_s`` may have lost the lease to another writer, so its batch fails with LeaseLostError
(the stream replays it: outputs are idempotent). A lease file nobody can read for ``ttl_s`` (a renewal that died
half-written) is taken over like an expired one.
"""

from __future__ import annotations

import json
import os
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial

from spark.hdfs import Lake

LEASE_FILE = "_writer.lease"


class SilverBusyError(RuntimeError):
    """Another writer held silver for longer than this one would wait."""


class LeaseLostError(RuntimeError):
    """The holder could not renew its lease for longer than it lasts: another writer may have taken it."""


@dataclass
class _Renewal:
    last_ok: float
    error: BaseException | None = None


class Lease:
    """The writer's lease of one lake's silver, kept in ``folder``."""

    def __init__(self, lake: Lake, folder: str, *, ttl_s: float = 60.0, renew_s: float = 5.0) -> None:
        self.lake, self.uri = lake, f"{folder.rstrip('/')}/{LEASE_FILE}"
        self.ttl_s, self.renew_s = ttl_s, renew_s

    @contextmanager
    def held(self, what: str, wait_s: float = 900.0, poll_s: float = 0.2) -> Iterator[None]:
        """Holds the lease while the block runs (``what``: the batch, for the message another writer sees); waits
        up to ``wait_s`` for another holder, then raises SilverBusyError."""
        token = uuid.uuid4().hex
        began = time.monotonic()
        content = partial(self._content, token, what, datetime.now(UTC).isoformat(timespec="seconds"))
        unreadable_since = named = None  # named: the last holder read, as a read during its renewal finds none
        while not self.lake.create_exclusive(self.uri, content()):
            holder = self.holder()
            named = holder or named
            if holder is not None and holder["expires_at"] < time.time():
                self.lake.delete(self.uri)  # its holder stopped renewing it: it died
                named = None
                continue
            unreadable_since = (unreadable_since or time.monotonic()) if holder is None else None
            if unreadable_since is not None and time.monotonic() - unreadable_since > self.ttl_s:
                self.lake.delete(self.uri)  # a renewal died half-written, and nobody renewed it since
                unreadable_since = None
                continue
            if time.monotonic() - began > wait_s:
                raise SilverBusyError(
                    f"silver is being written by {_describe(holder or named)}; waited {wait_s:.0f} s for it. Let it "
                    f"finish (or stop it), then run again; a holder that died frees it within {self.ttl_s:.0f} s"
                )
            time.sleep(poll_s)
        stop, renewal = threading.Event(), _Renewal(time.monotonic())
        renewer = threading.Thread(target=self._renew, args=(content, stop, renewal), name="silver-lease", daemon=True)
        renewer.start()
        try:
            yield
        finally:
            stop.set()
            renewer.join()
            if (self.holder() or {}).get("token") == token:
                self.lake.delete(self.uri)
        if time.monotonic() - renewal.last_ok > self.ttl_s:
            raise LeaseLostError(
                f"could not renew the silver lease for over {self.ttl_s:.0f} s ({renewal.error}); another writer "
                "may have taken it, so this batch is not committed (a stream replays it)"
            )

    def holder(self) -> dict | None:
        """Returns what the lease file says (None when nobody holds it, or while it is being rewritten)."""
        try:
            return json.loads(self.lake.read_text(self.uri))
        except (OSError, ValueError):
            return None

    def _renew(self, content, stop: threading.Event, renewal: _Renewal) -> None:
        while not stop.wait(self.renew_s):
            try:
                self.lake.write_text(self.uri, content())
                renewal.last_ok = time.monotonic()
            except Exception as err:  # noqa: BLE001 (HDFS may be recovering: the next tick tries again)
                renewal.error = err

    def _content(self, token: str, what: str, since: str) -> str:
        return json.dumps(
            {
                "token": token,
                "writer": f"{what} (pid {os.getpid()} on {socket.gethostname()})",
                "since": since,
                "expires_at": time.time() + self.ttl_s,
            }
        )


def _describe(holder: dict | None) -> str:
    if holder is None:
        return "another writer"
    return f"{holder['writer']}, holding it since {holder['since']}"
