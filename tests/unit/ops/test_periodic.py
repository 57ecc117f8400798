"""The one scheduler (APScheduler): jobs on time, never overlapping, never fatal, never holding up a stop.

APScheduler keeps its time on the wall clock, so these tests run it on real intervals of
tens of milliseconds (its timing is what they prove, which only real time can show) and
wait for events; a fixed wait only ever shows that nothing more happens.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Callable

from structlog.testing import capture_logs

from tests.support.waiting import wait_until
from watcher.ops.periodic import Periodic

_QUIET = 0.1  # how long nothing more may happen, where a test shows that


def _recorder(times: list[float]) -> Callable[[], None]:
    return lambda: times.append(time.monotonic())


def _kept_for_later(periodic: Periodic, name: str) -> bool:
    """The scheduler came round to `name` while it was running and kept that run for later."""
    return name in periodic._executor._again  # private: the one moment nothing public shows


def test_a_job_runs_at_start_and_then_every_interval() -> None:
    # GIVEN a job every 50 ms and one every hour
    periodic = Periodic()
    often: list[float] = []
    hourly: list[float] = []
    periodic.every(0.05, _recorder(often), "often")
    periodic.every(3600, _recorder(hourly), "hourly")
    # WHEN the scheduler starts
    started = time.monotonic()
    periodic.start()
    try:
        wait_until(lambda: len(often) >= 4 and hourly, timeout=10, interval=0.01)
    finally:
        periodic.join(1)
    # THEN both ran at start, and the frequent one on its interval: its 4th run 3 intervals on
    assert len(hourly) == 1
    assert often[3] - started >= 3 * 0.05


def test_first_after_delays_the_first_run_and_jitter_adds_to_each_interval() -> None:
    # GIVEN a job first run after 0.1 s, and one every 10 ms with up to 50 ms of jitter
    periodic = Periodic()
    delayed: list[float] = []
    jittered: list[float] = []
    periodic.every(3600, _recorder(delayed), "delayed", first_after=0.1)
    periodic.every(0.01, _recorder(jittered), "jittered", jitter=0.05)
    started = time.monotonic()
    periodic.start()
    try:
        wait_until(lambda: delayed and len(jittered) >= 6, timeout=10, interval=0.01)
    finally:
        periodic.join(1)
    # THEN the first waited its 0.1 s
    assert delayed[0] - started >= 0.1
    # AND 5 jittered intervals took more than 5 bare ones plus half of one jitter (without jitter
    # 0.05 s; with it 0.175 s on average, and less than 0.075 s once in about 4,000 runs)
    assert jittered[5] - jittered[0] > 5 * 0.01 + 0.025


def test_runs_that_come_due_during_a_slow_run_become_one_run_right_after_it() -> None:
    # GIVEN an hourly job whose first run is slow (an AWS read hung for a while)
    periodic = Periodic()
    release = threading.Event()
    runs: list[float] = []
    running = 0
    overlapped = False

    def slow_first() -> None:
        nonlocal running, overlapped
        running += 1
        overlapped |= running > 1
        runs.append(time.monotonic())
        if len(runs) == 1:
            release.wait(10)
        running -= 1

    periodic.every(3600, slow_first, "slow")
    periodic.start()
    try:
        wait_until(lambda: runs, timeout=10, interval=0.01)
        # WHEN three more runs come due while it is still running
        for _ in range(3):
            periodic.run_now("slow")
        wait_until(lambda: _kept_for_later(periodic, "slow"), timeout=10, interval=0.01)
        ended = time.monotonic()
        release.set()
        # THEN they became one run, started as the slow one ended (not an hour later)
        wait_until(lambda: len(runs) >= 2, timeout=10, interval=0.01)
        time.sleep(_QUIET)
    finally:
        periodic.join(1)
    assert len(runs) == 2
    assert runs[1] >= ended
    # AND no run ever overlapped another
    assert not overlapped


def test_a_job_slower_than_its_interval_never_overlaps_itself() -> None:
    # GIVEN a job every 5 ms whose runs take 20 ms
    periodic = Periodic()
    runs: list[float] = []
    running = 0
    most = 0
    lock = threading.Lock()

    def slow() -> None:
        nonlocal running, most
        with lock:
            running += 1
            most = max(most, running)
        time.sleep(0.02)  # the run's own work, not the test waiting
        runs.append(time.monotonic())
        with lock:
            running -= 1

    periodic.every(0.005, slow, "slow")
    # WHEN it runs four times
    periodic.start()
    try:
        wait_until(lambda: len(runs) >= 4, timeout=10, interval=0.01)
    finally:
        periodic.join(1)
    # THEN one run at a time
    assert most == 1


def test_a_failing_job_is_only_logged_and_its_neighbour_keeps_running() -> None:
    # GIVEN a job that always fails next to one that counts, every 20 ms
    periodic = Periodic()
    runs: list[float] = []

    def failing() -> None:
        raise RuntimeError("AWS is down")

    periodic.every(0.02, failing, "failing")
    periodic.every(0.02, _recorder(runs), "counting")
    # WHEN they run a while
    with capture_logs() as logs:
        periodic.start()
        try:
            wait_until(lambda: len(runs) >= 3, timeout=10, interval=0.01)
        finally:
            periodic.join(1)
    # THEN the failure was logged with the job's name, and the neighbour kept running
    failed = [log for log in logs if log["event"] == "periodic job failed"]
    assert failed
    assert {log["job"] for log in failed} == {"failing"}
    assert len(runs) >= 3


def test_a_hung_job_delays_neither_the_other_jobs_nor_join() -> None:
    # GIVEN a job stuck in a read far longer than the shutdown margin, next to a job every 20 ms
    periodic = Periodic()
    release, hung = threading.Event(), threading.Event()
    runs: list[float] = []

    def hung_read() -> None:
        hung.set()
        release.wait(30)

    periodic.every(60, hung_read, "hung")
    periodic.every(0.02, _recorder(runs), "counting")
    periodic.start()
    try:
        assert hung.wait(10)
        # WHEN the hung read goes on
        # THEN the other job keeps its pace
        wait_until(lambda: len(runs) >= 3, timeout=10, interval=0.01)
        # AND join returns after about its timeout, not after the read
        t0 = time.monotonic()
        periodic.join(0.2)
        assert time.monotonic() - t0 < 2
    finally:
        release.set()


_HUNG_AT_EXIT = """
import threading
from watcher.ops.periodic import Periodic

hung = threading.Event()
periodic = Periodic()
periodic.every(60, lambda: (hung.set(), threading.Event().wait()), "hung")
periodic.start()
assert hung.wait(20)
periodic.join(0.1)
print("joined", flush=True)
"""


def test_the_process_exits_while_a_job_is_still_running() -> None:
    # GIVEN a process whose periodic job hangs for ever (S3 accepted the request, never answers)
    # WHEN the process has joined its jobs and its main thread ends
    t0 = time.monotonic()
    process = subprocess.run(
        [sys.executable, "-c", _HUNG_AT_EXIT], capture_output=True, text=True, timeout=30, check=False
    )
    # THEN it exits at once: the run's thread is a daemon, not one the interpreter joins at exit
    assert process.returncode == 0, process.stderr[-2000:]
    assert process.stdout.strip() == "joined"
    assert time.monotonic() - t0 < 20  # the interpreter's start and imports, under load


def test_run_now_runs_a_job_before_its_interval() -> None:
    # GIVEN an hourly job that ran at start
    periodic = Periodic()
    runs: list[float] = []
    periodic.every(3600, _recorder(runs), "hourly")
    periodic.start()
    try:
        wait_until(lambda: runs, timeout=10, interval=0.01)
        # WHEN a run is asked for now
        periodic.run_now("hourly")
        # THEN it runs again, without the hour
        wait_until(lambda: len(runs) == 2, timeout=10, interval=0.01)
        periodic.run_now("no-such-job")  # no error for a job that is not (or no longer) there
    finally:
        periodic.join(1)


def test_a_cancelled_job_runs_no_more() -> None:
    # GIVEN a job every 10 ms that ran
    periodic = Periodic()
    runs: list[float] = []
    periodic.every(0.01, _recorder(runs), "often")
    periodic.start()
    try:
        wait_until(lambda: runs, timeout=10, interval=0.01)
        # WHEN it is cancelled
        periodic.cancel("often")
        cancelled = len(runs)
        time.sleep(_QUIET)
    finally:
        periodic.join(1)
    # THEN at most the run already under way ended after it
    assert len(runs) <= cancelled + 1


def test_no_job_runs_once_stop_is_set() -> None:
    # GIVEN the daemon's stop already set
    stop = threading.Event()
    stop.set()
    periodic = Periodic(stop=stop)
    runs: list[float] = []
    periodic.every(0.01, _recorder(runs), "after-stop")
    # WHEN the scheduler starts and its job comes due again and again
    periodic.start()
    time.sleep(_QUIET)
    periodic.join(1)
    # THEN the job never ran
    assert runs == []
