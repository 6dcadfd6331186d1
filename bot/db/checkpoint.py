"""WAL checkpoints off the event loop, for a SQLite file the bot writes on the loop's thread.

In WAL mode SQLite copies the write-ahead log back into the database file (a checkpoint) once
the log passes 1,000 pages, inside whichever commit crossed that line, and that checkpoint syncs
the files to disk. With transactions run on the event loop (`bot.db.database.InlineDatabase`),
that commit held up every runner for several milliseconds: the slowest updates in
`bench.triage` were the ones that checkpointed. So the bot's own connections turn automatic
checkpoints off (`PRAGMA wal_autocheckpoint=0`) and `WalCheckpointer` runs a PASSIVE checkpoint
every second on a connection of its own, in a thread: it copies what no reader still needs
without waiting for or blocking any writer, and its disk syncs release the interpreter lock.
"""

from __future__ import annotations

import logging
import sqlite3
import threading

log = logging.getLogger(__name__)

CHECKPOINT_EVERY = 1.0
NO_AUTOMATIC_CHECKPOINT = "PRAGMA wal_autocheckpoint=0"


class WalCheckpointer:
    """A daemon thread checkpointing the SQLite file at `path` every `every` seconds."""

    def __init__(self, path: str, *, every: float = CHECKPOINT_EVERY) -> None:
        self.path = path
        self.every = every
        self.checkpoints = 0
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="wal-checkpoint", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        """Stop, after one last checkpoint (a clean shutdown leaves a short log)."""
        if self._thread is not None:
            self._stopping.set()
            self._thread.join()
            self._thread = None

    def _run(self) -> None:
        connection = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        try:
            # A checkpoint meeting a writer's lock skips what it cannot copy; never wait long.
            connection.execute("PRAGMA busy_timeout=100")
            while True:
                stopping = self._stopping.wait(self.every)
                self.checkpoint(connection)
                if stopping:
                    return
        finally:
            connection.close()

    def checkpoint(self, connection: sqlite3.Connection) -> None:
        try:
            connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
            self.checkpoints += 1
        except sqlite3.Error as error:
            # The next one copies what this one could not; the log only grows meanwhile.
            log.warning("WAL checkpoint failed: %s", error)
