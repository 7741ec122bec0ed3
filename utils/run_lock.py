"""One live run per folder: a lock file in each folder a run writes (its results and checkpoints).

Two processes of one setting (say, a sweep over a flag the setting string does not name) would
otherwise write the same ``metrics.json`` and checkpoint, and one run's results would be lost
without a word. :class:`RunLock` creates ``.run.lock`` in each folder with ``O_CREAT | O_EXCL``
(atomic on a local file system) holding the owner's host, process id and start time; a second run
gets one line naming the owner and exits with status 2 before training. A lock whose owner is
gone (same host, no such process: a killed run) is stale and taken over; a lock from another host
cannot be checked and is reported with the command that clears it. Released on exit, also when
the run fails.
"""
from __future__ import annotations

import json
import os
import socket
import time
from pathlib import Path

from utils.errors import UserError

LOCK_NAME = ".run.lock"


def _alive(pid: int) -> bool:
    """Whether a process with ``pid`` exists on this host."""
    if pid <= 0:  # os.kill(0 or -1, ...) would address process groups, not one process
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


def _owner() -> dict:
    return {"host": socket.gethostname(), "pid": os.getpid(),
            "started": time.strftime("%Y-%m-%d %H:%M:%S")}


def _read(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None  # vanished, or half-written by an owner that died at once


class RunLock:
    """Context manager: hold ``.run.lock`` in every folder of ``folders`` (created if absent)."""

    def __init__(self, folders, what: str = "run"):
        self.paths = [Path(f) / LOCK_NAME for f in dict.fromkeys(map(str, folders))]
        self.what = what
        self.held: list[Path] = []

    def __enter__(self) -> RunLock:
        try:
            for path in self.paths:
                self._take(path)
        except BaseException:
            self.release()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.release()

    def _take(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        me = json.dumps(_owner())
        for _ in range(3):  # a stale lock is removed, then taken again
            try:
                fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                owner = _read(path)
                if owner is None or self._stale(owner):
                    owner = self._take_over(path, owner)
                    if owner is None:
                        continue
                raise UserError(
                    f"{path.parent} is in use by another {self.what} (pid {owner.get('pid')} on "
                    f"{owner.get('host')}, started {owner.get('started')}); wait for it to finish, or "
                    f"give this run another --model_id / --des (if that run is gone, delete {path})")
            with os.fdopen(fd, "w") as f:
                f.write(me)
            self.held.append(path)
            return
        raise UserError(f"could not take the lock {path}: other runs keep replacing it; retry")

    @staticmethod
    def _take_over(path: Path, stale: dict | None) -> dict | None:
        """Remove the stale lock at ``path``; None when done (or already gone). The rename is
        atomic, so of two runs taking over at once one moves the file; if what it moved is no
        longer the stale lock (the other run's fresh one), it is put back and its owner returned."""
        moved = path.with_name(f"{path.name}.{os.getpid()}.stale")
        try:
            os.replace(path, moved)
        except FileNotFoundError:
            return None
        found = _read(moved)
        if found is None or found == stale:
            moved.unlink(missing_ok=True)
            return None
        os.replace(moved, path)
        return found

    @staticmethod
    def _stale(owner: dict) -> bool:
        """A lock left by a process of this host that no longer exists."""
        return owner.get("host") == socket.gethostname() and not _alive(int(owner.get("pid", -1)))

    def release(self) -> None:
        """Remove the locks this object holds (only if they are still ours)."""
        for path in self.held:
            owner = _read(path)
            if owner is not None and owner.get("pid") == os.getpid() and owner.get("host") == socket.gethostname():
                path.unlink(missing_ok=True)
        self.held = []
