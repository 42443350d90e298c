"""Progress bars: the blended ETA rule, thread-safe counting, what is drawn and when."""

from __future__ import annotations

import contextlib
import re
import threading
import time

import pytest

from gitartifacts.core import progress
from gitartifacts.core.progress import Progress, work_done
from gitartifacts.errors import UsageError

PER_FILE_S = 0.002  # a request or a file created
PER_BYTE_S = 1 / 100e6  # 100 MB/s


def _job(small_first: bool) -> list[int]:
    """20,000 files of 1 kB and 10 of 100 MB, in one order or the other."""
    small, big = [1_000] * 20_000, [100_000_000] * 10
    return small + big if small_first else big + small


def _etas(sizes: list[int], rule: str) -> list[tuple[float, float]]:
    """(ETA shown, seconds really left) at every 1,000th file, for a job whose files cost
    PER_FILE_S each plus PER_BYTE_S per byte, sent in this order."""
    total_files, total_bytes = len(sizes), sum(sizes)
    cost = [PER_FILE_S + n * PER_BYTE_S for n in sizes]
    whole = sum(cost)
    out = []
    elapsed = 0.0
    done_bytes = 0
    for i, n in enumerate(sizes, 1):
        elapsed += cost[i - 1]
        done_bytes += n
        if i % 1_000 and i != 10:
            continue
        if rule == "blend":
            frac = work_done(i, done_bytes, total_files, total_bytes)
        else:
            frac = done_bytes / total_bytes
        if 0 < frac < 1:
            out.append((elapsed * (1 - frac) / frac, whole - elapsed))
    return out


@pytest.mark.parametrize("small_first", [True, False])
def test_eta_of_a_mixed_job_stays_within_a_small_factor_of_the_truth(small_first: bool) -> None:
    etas = _etas(_job(small_first), "blend")
    assert len(etas) >= 10
    for shown, left in etas:
        assert left / 5 <= shown <= left * 5 + 5, (shown, left)


def test_eta_from_bytes_alone_is_absurd_for_small_files_first() -> None:
    # What the bar showed before: the reason for the blend.
    worst = max(shown / left for shown, left in _etas(_job(True), "bytes"))
    assert worst > 50


def test_work_done_blends_files_and_bytes_and_stays_in_bounds() -> None:
    assert work_done(0, 0, 10, 1000) == 0.0
    assert work_done(10, 1000, 10, 1000) == 1.0
    assert work_done(5, 0, 10, 1000) == 0.25
    assert work_done(0, 500, 10, 1000) == 0.25
    assert work_done(3, 0, 10, 0) == 0.3  # files of no bytes: files alone
    assert work_done(20, 5000, 10, 1000) == 1.0  # sizes known short of the truth
    assert work_done(0, 0, 0, 0) == 1.0


def test_advance_from_many_threads_counts_every_file_and_byte(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv(progress.DELAY_ENV, "0")
    with Progress(enabled=True).phase("Uploading", files=8_000, bytes=8_000 * 3) as bar:

        def work() -> None:
            for _ in range(1_000):
                bar.advance(files=1, bytes=3)

        threads = [threading.Thread(target=work) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert (bar.files, bar.bytes) == (8_000, 24_000)
    last = capsys.readouterr().err.replace("\r", "\n").strip().splitlines()[-1]
    assert last.startswith("Uploading: 100%"), last
    assert "8000/8000 files, 24.0kB/24.0kB" in last, last


def test_a_phase_quicker_than_the_delay_draws_nothing(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv(progress.DELAY_ENV, raising=False)
    with Progress(enabled=True).phase("Hashing", files=3, bytes=30) as bar:
        bar.advance(files=3, bytes=30)
    assert capsys.readouterr().err == ""


def test_a_failed_phase_clears_its_bar(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv(progress.DELAY_ENV, "0")
    phase = Progress(enabled=True).phase("Uploading", files=4, bytes=40)
    with pytest.raises(KeyboardInterrupt), phase as bar:
        bar.advance(files=1, bytes=10)
        raise KeyboardInterrupt
    err = capsys.readouterr().err
    assert "0/4 files" in err  # it was drawn...
    assert err.endswith("\r") and err.rsplit("\r", 2)[-2].strip() == ""  # ...then blanked


def test_disabled_or_quiet_draws_nothing(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv(progress.DELAY_ENV, "0")
    monkeypatch.setenv(progress.QUIET_ENV, "1")
    for p in (Progress(enabled=False), Progress(), None):
        with progress.phase(p, "Downloading", files=2, bytes=20) as bar:
            bar.advance(files=2, bytes=20)
        assert bar.files == 2
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize("value", ["soon", "-1", "nan", "1e9"])
def test_a_bad_delay_is_one_error(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv(progress.DELAY_ENV, value)
    with pytest.raises(UsageError, match=progress.DELAY_ENV):
        Progress(enabled=True)


@pytest.mark.parametrize("fails", [False, True])
def test_a_long_object_shows_its_bar_after_the_delay_with_no_object_done(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], fails: bool
) -> None:
    monkeypatch.setenv(progress.DELAY_ENV, "0.2")
    seen = ""
    phase = Progress(enabled=True).phase("Uploading", files=1, bytes=10**10)
    with contextlib.suppress(OSError), phase as bar:
        deadline = time.monotonic() + 10
        while "0/1 files, 0B/10.0GB" not in seen and time.monotonic() < deadline:
            seen += capsys.readouterr().err
            time.sleep(0.02)
        if fails:
            raise OSError("no space")
        bar.advance(files=1, bytes=10**10)
    assert "Uploading:   0%" in seen, seen
    end = capsys.readouterr().err.split("\r")
    if fails:  # cleared, so the error line stands alone
        assert end[-1] == "" and end[-2].strip() == "", end
    else:  # its last line left, as git leaves "done"
        assert end[-1].startswith("Uploading: 100%") and end[-1].endswith("\n"), end


def test_the_eta_of_a_steady_phase_stays_steady_as_the_clock_ticks(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv(progress.DELAY_ENV, "0")
    monkeypatch.setattr(progress, "_TICK_S", 0.05)  # many ticks in a short test
    shown = []
    with Progress(enabled=True).phase("Uploading", files=100, bytes=100) as bar:
        start = time.monotonic()
        for i in range(75):  # 1.5 s at a steady 50 files a second, the clock ticking
            while time.monotonic() < start + i * 0.02:
                time.sleep(0.005)
            bar.advance(files=1, bytes=1)
            shown += re.findall(r"\| (\d+)/100 files.*<(\d\d):(\d\d),", capsys.readouterr().err)
    late = [(int(m) * 60 + int(s), int(n)) for n, m, s in shown if int(n) >= 40]
    assert late, shown
    for left, done in late:  # (100 - done) files at 50 a second
        assert left <= (100 - done) / 50 * 2 + 1, (left, done)
