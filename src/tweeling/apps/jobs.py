"""The job runner: carries out accepted runs in the background (asynchronous execution).

Jobs live in the database, not in this process: an accepted run waits there until a runner
claims it, and a run whose process stopped half-way is put back to accepted when a runner
starts (see ``runs.requeue_interrupted``). So jobs survive a restart of the service, and
several service processes can share the work: a claim is one conditional UPDATE.
"""

from __future__ import annotations

import logging
import threading
from concurrent.futures import ThreadPoolExecutor

from tweeling.apps import runs

log = logging.getLogger(__name__)


class JobRunner:
    def __init__(self, runtime: runs.Runtime, slots: int = 2, poll_s: float = 1.0) -> None:
        self.runtime = runtime
        self.poll_s = poll_s
        self._pool = ThreadPoolExecutor(slots, thread_name_prefix="tweeling-job")
        self._slots = threading.Semaphore(slots)
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        requeued = runs.requeue_interrupted(self.runtime.db)
        if requeued:
            log.info("put %d interrupted run(s) back in the queue", requeued)
        self._thread = threading.Thread(target=self._loop, name="tweeling-jobs", daemon=True)
        self._thread.start()

    def wake(self) -> None:
        """A new job was accepted: look now rather than at the next poll."""
        self._wake.set()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._pool.shutdown(wait=True, cancel_futures=True)

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                for run_id in runs.accepted_runs(self.runtime.db):
                    if self._stop.is_set() or not self._slots.acquire(blocking=False):
                        break
                    if not runs.claim(self.runtime.db, run_id):
                        self._slots.release()
                        continue
                    self._pool.submit(self._execute, run_id)
            except Exception:  # the loop must outlive a database hiccup
                log.exception("job runner: could not look for accepted runs")
            self._wake.wait(self.poll_s)
            self._wake.clear()

    def _execute(self, run_id: str) -> None:
        try:
            runs.execute(self.runtime, run_id)
        except Exception:
            log.exception("job %s failed inside the platform", run_id)
        finally:
            self._slots.release()
            self._wake.set()
