"""The output lock: a second process waits, or fails clearly after its timeout."""

import subprocess
import sys
import threading
import time

import pytest

from recsys_core.io.lock import OutputLocked, output_lock
from tests.conftest import ROOT

TRY_LOCK = (
    "import sys; from recsys_core.io.lock import output_lock\n"
    "with output_lock(sys.argv[1], float(sys.argv[2])): print('got it')\n"
)


def _other_process(folder, timeout_s):
    return subprocess.run(
        [sys.executable, "-c", TRY_LOCK, str(folder), str(timeout_s)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_a_second_process_fails_clearly_while_the_lock_is_held(tmp_path):
    with output_lock(tmp_path, timeout_s=0):
        blocked = _other_process(tmp_path, 0.5)
    assert blocked.returncode != 0 and "another run held this output_dir" in blocked.stderr
    assert _other_process(tmp_path, 0.5).stdout.strip() == "got it"  # released


def test_a_waiting_run_gets_the_lock_when_the_holder_finishes(tmp_path):
    held = threading.Event()

    def holder():
        with output_lock(tmp_path, timeout_s=0):
            held.set()
            time.sleep(1.0)

    thread = threading.Thread(target=holder)
    thread.start()
    held.wait(5)
    started = time.monotonic()
    waited = _other_process(tmp_path, 30)
    thread.join()
    assert waited.stdout.strip() == "got it" and time.monotonic() - started > 0.3


def test_timeout_raises_output_locked(tmp_path):
    with output_lock(tmp_path, timeout_s=0), pytest.raises(OutputLocked):
        # A second acquisition, even in the same process, waits like another run would.
        with output_lock(tmp_path, timeout_s=0.2):
            pass
