"""The silver writer's lease: one writer of a lake's silver at a time, across processes and threads (the stream's
micro-batches, the catch-up, CSV ingest, the CLI), because each batch judges its events against the state the
batches before it left.

The lease is a small file beside the silver state, created only if absent (an atomic step on HDFS and on a local
filesystem), holding its holder's token. Its holder renews it every few seconds; a holder that died (kill -9) stops
renewing, and the lease expires after ``ttl_s``. A second writer waits for it, then is refused with a message naming
the holder.

The lease is fenced: a holder that stalled past the lease time (a GC pause, a frozen VM, an HDFS outage that
recovers) may have lost it to a waiting writer, and must never commit after that. So

- a renewal first reads the file and rewrites it only while it still holds the holder's token: a renewer that finds
  another token (or none) stops, and the holding is lost;
- ``Holding.check()``, which the writer calls right before each commit step, raises LeaseLostError unless the file
  still holds the token, no gap between two renewals (nor since the last one) exceeded the lease time, and at least
  half the lease time is left for the step;
- only a real "file not found" means the lease is free: a lease file the filesystem cannot read (HDFS down) is
  waited on, never taken over. A lease file that reads but does not parse for ``ttl_s`` (a write that died
  half-way) is taken over like an expired one.

What a lease cannot promise: a stall longer than half the lease time exactly between the last check and the commit
step it guards; and a renewal's write that stalls after its token check lands over the next holder's lease, so that
neither commits (both fail their batch and replay: never two commits). The writer narrows the first too: silver's
state is committed only when no other writer's state file appeared since the batch read the state
(``spark.silver.job``).
"""

from __future__ import annotations

import json
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import partial

from spark.hdfs import Lake

LEASE_FILE = "_writer.lease"
UNREADABLE = object()  # what a lease file that does not parse reads as


class SilverBusyError(RuntimeError):
    """Another writer held silver for longer than this one would wait."""


class LeaseLostError(RuntimeError):
    """The holder may have lost its lease to another writer, so it must not commit."""


class Holding:
    """One holder's hold of the lease: what its renewals saw, and the fence its commit steps check."""

    def __init__(self, lease: Lease, token: str) -> None:
        self.lease, self.token = lease, token
        self.last_ok = time.monotonic()
        self.longest_gap = 0.0
        self.lost: str | None = None  # why the renewer stopped: the file no longer holds this token
        self.error: BaseException | None = None  # the last renewal's failure
        # A reader sees a file that is being rewritten as empty: the check never reads while its own renewer writes.
        self.writing = threading.Lock()

    def renewed(self) -> None:
        """Records a renewal that wrote the file: the gap since the one before it counts toward the fence."""
        now = time.monotonic()
        self.longest_gap = max(self.longest_gap, now - self.last_ok)
        self.last_ok = now

    def check(self) -> None:
        """Returns when this holder may still commit; raises LeaseLostError otherwise (see the module docstring)."""
        ttl = self.lease.ttl_s
        since_renewal = time.monotonic() - self.last_ok
        gap = max(self.longest_gap, since_renewal)
        if self.lost:
            raise LeaseLostError(
                f"lost the silver lease: {self.lost}; this step is not committed (a stream replays it)"
            )
        if gap > ttl or since_renewal > ttl / 2:
            raise LeaseLostError(
                f"the silver lease went {gap:.0f} s without a renewal (it lasts {ttl:.0f} s; the last failure: "
                f"{self.error}); another writer may have taken it, so this step is not committed (a stream replays it)"
            )
        with self.writing:
            current = self.lease.read()
        if not isinstance(current, dict) or current.get("token") != self.token:
            self.lost = f"the lease file now names {_describe(current)}"
            raise LeaseLostError(
                f"lost the silver lease: {self.lost}; this step is not committed (a stream replays it)"
            )


class Lease:
    """The writer's lease of one lake's silver, kept in ``folder``."""

    def __init__(self, lake: Lake, folder: str, *, ttl_s: float = 60.0, renew_s: float = 5.0) -> None:
        self.lake, self.uri = lake, f"{folder.rstrip('/')}/{LEASE_FILE}"
        self.ttl_s, self.renew_s = ttl_s, renew_s

    @contextmanager
    def held(self, what: str, wait_s: float = 900.0, poll_s: float = 0.2) -> Iterator[Holding]:
        """Holds the lease while the block runs (``what``: the batch, for the message another writer sees) and
        yields the holding whose ``check()`` guards each commit step; waits up to ``wait_s`` for another holder,
        then raises SilverBusyError."""
        token = uuid.uuid4().hex
        began = time.monotonic()
        content = partial(self._content, token, what, datetime.now(UTC).isoformat(timespec="seconds"))
        unreadable_since = named = None  # named: the last holder read, as a read during its renewal finds none
        while not self.lake.create_exclusive(self.uri, content()):
            try:
                current = self.read()
            except OSError:
                current = None  # the filesystem cannot say: wait, never take a lease over on an error
            if isinstance(current, dict):
                named = current
                if current["expires_at"] < time.time():
                    self.lake.delete(self.uri)  # its holder stopped renewing it: it died, or stalled and lost it
                    named = None
                    continue
            unreadable_since = (unreadable_since or time.monotonic()) if current is UNREADABLE else None
            if unreadable_since is not None and time.monotonic() - unreadable_since > self.ttl_s:
                self.lake.delete(self.uri)  # a write died half-way, and nobody renewed it since
                unreadable_since = None
                continue
            if time.monotonic() - began > wait_s:
                holder = _describe(named) if named else "another writer"
                raise SilverBusyError(
                    f"silver is being written by {holder}; waited {wait_s:.0f} s for it. Let it "
                    f"finish (or stop it), then run again; a holder that died frees it within {self.ttl_s:.0f} s"
                )
            time.sleep(poll_s)
        holding, stop = Holding(self, token), threading.Event()
        renewer = threading.Thread(target=self._renew, args=(holding, content, stop), name="silver-lease", daemon=True)
        renewer.start()
        try:
            yield holding
        finally:
            stop.set()
            renewer.join()
            # A holder that may have lost the lease leaves the file to expire: what it reads as its own may be its
            # stalled renewal written over the next holder's.
            gap = max(holding.longest_gap, time.monotonic() - holding.last_ok)
            safe = not holding.lost and gap <= self.ttl_s
            if safe and (self.holder() or {}).get("token") == token:
                self.lake.delete(self.uri)

    def read(self) -> dict | object | None:
        """Returns what the lease file says: None when there is none, UNREADABLE when it does not parse; raises
        OSError when the filesystem cannot say."""
        try:
            return json.loads(self.lake.read_text(self.uri))
        except FileNotFoundError:
            return None
        except ValueError:
            return UNREADABLE

    def holder(self) -> dict | None:
        """Returns what the lease file says (None when nobody holds it, or while it is being written)."""
        current = self.read()
        return current if isinstance(current, dict) else None

    def _renew(self, holding: Holding, content: Callable[[], str], stop: threading.Event) -> None:
        while not stop.wait(self.renew_s):
            try:
                with holding.writing:
                    current = self.read()
                    if isinstance(current, dict) and current.get("token") == holding.token:
                        self.lake.write_text(self.uri, content())
                        holding.renewed()
                    elif current is not UNREADABLE:
                        holding.lost = f"the lease file now names {_describe(current)}"
                        return  # never write over another writer's lease
            except Exception as err:  # noqa: BLE001 (HDFS may be recovering: the next tick tries again)
                holding.error = err

    def _content(self, token: str, what: str, since: str) -> str:
        return json.dumps(
            {
                "token": token,
                "writer": f"{what} (pid {os.getpid()} on {socket.gethostname()})",
                "since": since,
                "expires_at": time.time() + self.ttl_s,
            }
        )


def _describe(holder: dict | object | None) -> str:
    if holder is None:
        return "nobody (it was removed)"
    if not isinstance(holder, dict):
        return "another writer"
    return f"{holder['writer']}, holding it since {holder['since']}"
