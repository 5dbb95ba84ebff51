"""The daemon: watchdog hints -> settle queue -> ledger -> workers, with reconcile passes, signals and
sd_notify. One main-loop thread owns the settle queue; observers, workers and the reconciler run beside it
and are checked on every turn of the loop.
"""

from __future__ import annotations

import contextlib
import queue
import threading
import time
from collections.abc import Callable, Mapping

from watcher.daemon.hints import handle_hint
from watcher.daemon.ledger import Ledger
from watcher.daemon.notify import Notifier
from watcher.daemon.observer import Hint
from watcher.daemon.observers import Observers
from watcher.daemon.pidfile import remove_pid_file, write_pid_file
from watcher.daemon.pool import WorkerPool
from watcher.daemon.processes import ProcessRunner
from watcher.daemon.reconcile import admit
from watcher.daemon.reconciler import Reconciler
from watcher.daemon.settle import SettleQueue
from watcher.daemon.status import Progress, ProgressReporter
from watcher.daemon.watches import Watch, build_watches, prepare_destination, remove_temp_files
from watcher.daemon.workers import JobRunner, Processor, in_thread
from watcher.errors import ConfigError, WatcherError
from watcher.log import RemovalLogWriter, get_logger
from watcher.rules.config import Config

HINT_QUEUE_SIZE = 10_000
# Files a worker thread takes from a backlog at once: enough that the per-call and per-commit costs
# vanish, few enough that the last batches of a backlog keep both processes busy. Past BATCH_BYTES of
# sources it takes no more (videos go nearly alone).
BATCH_SIZE = 16
BATCH_BYTES = 64 << 20
_MAX_SLEEP = 30.0
_WAKE = Hint("", "file_changed", "")  # not a real hint: wakes the loop (a worker finished, a signal came)

log = get_logger()


class Daemon:
    """Run with ``run()`` (blocks); ``request_stop`` / ``request_reload`` may be called from anywhere."""

    def __init__(
        self,
        config: Config,
        *,
        reload_config: Callable[[], Config] | None = None,
        notifier: Notifier | None = None,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
        processor: Processor | None = None,
        progress: Callable[[Progress], None] | None = None,
        retry_base_seconds: float = 60.0,
        pid_file: bool = False,
        processes: ProcessRunner | None = None,
    ) -> None:
        # pid_file: write state_dir/sharesafe.pid so `sharesafe release` can wake this process with SIGUSR1
        # (only for a daemon that handles that signal: by default it would end the process).
        # processes: worker processes the caller started early (the daemon shuts them down); by default
        # the daemon starts its own.
        if processes is not None and processor is not None:
            raise ValueError("give worker processes or an in-thread processor, not both")
        self.config = config
        self._pid_file = pid_file
        self._reload_config = reload_config
        self._notifier = notifier or Notifier({})
        self._clock = clock
        self._wall_clock = wall_clock
        self._watches: Mapping[str, Watch] = build_watches(config)
        self._hints: queue.Queue[Hint] = queue.Queue(maxsize=HINT_QUEUE_SIZE)
        self._settle = SettleQueue(clock=clock)
        self._observers = Observers(self._hints, lambda name: self._reconciler.request(name))
        self._stop = threading.Event()
        self._reload = threading.Event()
        self._interrupted = False
        self.ready = threading.Event()
        self.ledger = Ledger.open(config.state_dir, retry_base_seconds=retry_base_seconds)
        self._removal_log = RemovalLogWriter(config.removal_log)
        # processor: sanitize in the daemon's own threads with this function (tests); otherwise in processes.
        if processes is None and processor is None:
            processes = ProcessRunner(config.workers)
        self._processes = processes
        runner = JobRunner(
            self.watches,
            self.ledger,
            self._removal_log,
            wall_clock=wall_clock,
            runner=self._processes if processor is None else in_thread(processor),
        )
        # With processes, two threads per process: while one waits for its batch, the other records the
        # batch before and hands over the next, so no process waits for the bookkeeping.
        threads = config.workers * 2 if self._processes is not None else config.workers
        self._pool = WorkerPool(
            runner, threads, batch_size=BATCH_SIZE, batch_bytes=BATCH_BYTES, on_low=self.wake
        )
        self._reconciler = Reconciler(self.watches, self.ledger, wall_clock, self.wake)
        self._progress = ProgressReporter(self.ledger, self.watches, self._notifier, clock, progress)
        self._next_reconcile = clock() + config.reconcile_every
        self._next_watchdog = clock()

    def watches(self) -> Mapping[str, Watch]:
        return self._watches

    def wake(self) -> None:
        # When the queue is full the loop has plenty to do already and will look again.
        with contextlib.suppress(queue.Full):
            self._hints.put_nowait(_WAKE)

    def request_stop(self, *, interrupted: bool = False) -> None:
        self._interrupted = self._interrupted or interrupted
        self._stop.set()
        self.wake()

    def request_reload(self) -> None:
        self._reload.set()
        self.wake()

    def request_reconcile(self, watch: str | None = None) -> None:
        """Schedule a full reconcile pass of one watch (or all), as the periodic timer does."""
        for name in [watch] if watch else list(self._watches):
            self._reconciler.request(name)
        self.wake()

    def idle(self) -> bool:
        """Nothing settling, queued, running or scanning (for tests and benchmarks)."""
        return (
            len(self._settle) == 0
            and self._hints.empty()
            and not self._pool.busy()
            and not self._reconciler.busy()
            and self.ledger.next_due(list(self._watches)) is None
        )

    def observer_modes(self) -> dict[str, str]:
        return self._observers.modes()

    # -- life cycle -------------------------------------------------------------------------------------

    def run(self) -> int:
        """Start everything, loop until asked to stop, stop everything. Returns the exit code."""
        try:
            self._start()
            while not self._stop.is_set():
                self._turn()
        finally:
            self._shutdown()
        return 130 if self._interrupted else 0

    def _start(self) -> None:
        for watch in self._watches.values():
            prepare_destination(watch)
            remove_temp_files(watch)
        if self._processes is not None:
            self._processes.warm_up()
        self._pool.start()
        self._observers.start(self._watches)
        # Observers start before the first pass so nothing can slip between the scan and the watch.
        self.request_reconcile()
        if self._pid_file:
            write_pid_file(self.config.state_dir)
        log.info("daemon_started", watches=list(self._watches), workers=self.config.workers)
        self._notifier.ready(self._progress.summary())
        self.ready.set()

    def _shutdown(self) -> None:
        log.info("daemon_stopping")
        self._notifier.stopping()
        if self._pid_file:
            remove_pid_file(self.config.state_dir)
        self._observers.stop()
        self._reconciler.stop()
        self._pool.stop()
        if self._processes is not None:
            self._processes.shutdown()
        self.ledger.close()
        self._removal_log.close()
        self._progress.finish()
        log.info("daemon_stopped")

    # -- one turn of the main loop ----------------------------------------------------------------------

    def _turn(self) -> None:
        self._drain_hints(self._sleep_seconds())
        if self._stop.is_set():
            return
        if self._reload.is_set():
            self._reload.clear()
            self._apply_reload()
        now_wall = self._wall_clock()
        for settled in self._settle.pop_settled(self._settle_seconds):
            watch = self._watches.get(settled.key[0])
            if watch is not None:
                admit(self.ledger, watch, settled.key[1], settled.snapshot, now_wall)
        self._check_threads()
        self._schedule_reconcile()
        self._feed_workers()
        self._heartbeat()

    def _sleep_seconds(self) -> float:
        now = self._clock()
        candidates = [now + _MAX_SLEEP, self._next_reconcile, self._progress.next_report()]
        if self._notifier.watchdog_interval is not None:
            candidates.append(self._next_watchdog)
        settle_deadline = self._settle.next_deadline()
        if settle_deadline is not None:
            candidates.append(settle_deadline)
        if self._pool.free_slots() > 0:  # when no slot is free, a finishing worker wakes the loop
            due = self.ledger.next_due(list(self._watches), self._pool.busy())
            if due is not None:
                candidates.append(now + (due - self._wall_clock()))
        return max(0.0, min(candidates) - now)

    def _drain_hints(self, timeout: float) -> None:
        try:
            hint = self._hints.get(timeout=timeout) if timeout > 0 else self._hints.get_nowait()
        except queue.Empty:
            return
        for _ in range(HINT_QUEUE_SIZE):
            watch = self._watches.get(hint.watch)
            if watch is not None:
                handle_hint(watch, hint, self._settle, self.ledger, self._reconciler)
            try:
                hint = self._hints.get_nowait()
            except queue.Empty:
                return

    def _settle_seconds(self, watch_name: str) -> float:
        watch = self._watches.get(watch_name)
        return watch.config.settle_seconds if watch else 1.0

    def _check_threads(self) -> None:
        """No thread may die silently: restart what stopped and rescan what it may have missed."""
        self._pool.restart_dead()
        self._observers.check(self._watches)
        self._reconciler.poll()

    def _schedule_reconcile(self) -> None:
        if self._clock() >= self._next_reconcile:
            self._next_reconcile = self._clock() + self.config.reconcile_every
            self.request_reconcile()

    def _feed_workers(self) -> None:
        free = self._pool.free_slots()
        if free <= 0:
            return
        for job in self.ledger.due(self._wall_clock(), free, list(self._watches), self._pool.busy()):
            self._pool.submit(job)

    def _heartbeat(self) -> None:
        now = self._clock()
        if self._notifier.watchdog_interval is not None and now >= self._next_watchdog:
            self._notifier.watchdog()
            self._next_watchdog = now + self._notifier.watchdog_interval
        self._progress.maybe_report(pending_settle=len(self._settle))

    def _apply_reload(self) -> None:
        if self._reload_config is None:
            return
        self._notifier.reloading()
        try:
            config = self._reload_config()
        except (WatcherError, OSError) as error:
            problems = error.problems if isinstance(error, ConfigError) else [str(error)]
            log.error("config_rejected", problems=problems, action="kept the running configuration")
            self._notifier.ready(self._progress.summary())
            return
        fixed = ("state_dir", "removal_log", "workers")
        if any(getattr(config, name) != getattr(self.config, name) for name in fixed):
            log.warning("config_reloaded", note="state_dir, removal_log and workers apply after a restart")
        self._observers.stop()
        self.config = config
        self._watches = build_watches(config)
        for watch in self._watches.values():
            prepare_destination(watch)
        self._observers.start(self._watches)
        self.request_reconcile()
        log.info("config_reloaded", watches=list(self._watches))
        self._notifier.ready(self._progress.summary())
