"""The live rep view: reps, tempo, ROM and cues while a sensor records, from the analysis itself.

Why here (flows) and not in ingest: it joins ingest (decoded sample blocks from the recorder's
``on_samples`` hook) with processing (:func:`processing.analyze`), and only flows may import both.

Data flows one way and never back into the recording:

1. the recorder's consumer task calls :meth:`LiveAnalyzer.observe` with each decoded block; it only
   appends the block to a per-sensor buffer under a lock (microseconds), so the BLE path is never slowed;
2. a worker thread wakes every ``interval_s``, builds a :class:`hipsync.records.Recording` of each
   sensor's trailing ``window_s`` seconds (gyro interpolated onto the ACC times, as the spool decoder
   does) and runs the public :func:`processing.analyze` on it;
3. :class:`RepTracker` turns the window's sets and reps into events: a :class:`LiveRep` the first time a
   rep is seen (matched to earlier ones by its end time, since every rep appears in many windows), and a
   :class:`LiveSetEnd` when no new rep followed for ``set_end_s``.

The analysis accepts a set only once it holds ``min_reps_per_set`` reps (3), so the first reps of a set
appear together with the third; each later rep appears within about ``interval_s`` plus one analysis
pass (a few ms) of the moment the analysis can place its end. ``benchmarks/bench_live.py`` measures both.

Cues compare a rep with the first three reps of its own set (the plan file holds no tempo): ``faster``
when its time under tension is under :data:`FAST_FRACTION` of theirs, ``rom`` when its ROM is under
:data:`ROM_FRACTION` of theirs, ``slower`` when its peak lifting speed dropped by more than
:data:`VELOCITY_LOSS_CUE` (velocity loss, the usual proxy for nearing failure).

Times are seconds on the sensor's clock (the host clock for WitMotion), ROM in degrees, speeds in deg/s.
"""

from __future__ import annotations

import logging
import statistics
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

import processing
from hipsync.records import Exercise, Recording, Rep, SessionAnalysis
from ingest.samples import SampleBlock

logger = logging.getLogger(__name__)

__all__ = [
    "FAST_FRACTION",
    "ROM_FRACTION",
    "VELOCITY_LOSS_CUE",
    "LiveAnalyzer",
    "LiveEvent",
    "LiveRep",
    "LiveSetEnd",
    "RepTracker",
    "SampleWindow",
    "tempo_text",
]

FloatArray = npt.NDArray[np.float64]

#: A rep whose time under tension is below this fraction of its set's first reps' is "much faster".
FAST_FRACTION = 0.6
#: A rep whose ROM is below this fraction of its set's first reps' has lost range.
ROM_FRACTION = 0.8
#: Peak lifting speed this fraction below the set's first reps' (velocity loss) gives a cue.
VELOCITY_LOSS_CUE = 0.3
#: Slack (s) by which a new rep may start before the end of the rep shown before it.
OVERLAP_S = 0.3
#: Reps of a set that make its reference (tempo, ROM, speed) for the cues.
REFERENCE_REPS = 3


@dataclass(frozen=True, slots=True, kw_only=True)
class LiveRep:
    """A rep seen for the first time.

    Attributes:
        sensor: the sensor's address.
        set_number / rep_number: 1-based, counted by the live view since recording started.
        exercise: the analysis' exercise for the set so far (``unknown`` until it can tell).
        rep: the rep, times in seconds on the sensor clock.
        pause_before_s: bottom pause since the previous rep of the set (s), None for the first.
        cues: short cue words (``faster``, ``rom``, ``slower``), empty when the rep is like the first ones.
        cue_text: the cues as a phrase for people.
        data_end_s: sensor time of the newest sample the analysis saw when the rep appeared.
    """

    sensor: str
    set_number: int
    rep_number: int
    exercise: Exercise
    rep: Rep
    pause_before_s: float | None
    cues: tuple[str, ...]
    cue_text: str
    data_end_s: float


@dataclass(frozen=True, slots=True, kw_only=True)
class LiveSetEnd:
    """A set is over (no new rep for ``set_end_s``, a new set began, or recording stopped).

    ``mean_*_s`` are the mean phase durations (s), ``rom_deg`` the mean ROM (deg); ``velocity_loss`` is
    the fraction of peak lifting speed lost from the first to the last three reps (None without speeds).
    """

    sensor: str
    set_number: int
    exercise: Exercise
    n_reps: int
    rom_deg: float
    rom_min_deg: float
    rom_max_deg: float
    mean_concentric_s: float
    mean_top_hold_s: float
    mean_eccentric_s: float
    velocity_loss: float | None
    n_cued: int


LiveEvent = LiveRep | LiveSetEnd


def tempo_text(rep: Rep, pause_s: float | None) -> str:
    """The coaches' notation eccentric-top-concentric-bottom (s, one decimal), e.g. ``1.4-0.5-1.1-0.8``."""
    p = rep.phases()
    bottom = "?" if pause_s is None else f"{pause_s:.1f}"
    return f"{p.eccentric_s:.1f}-{p.top_hold_s:.1f}-{p.concentric_s:.1f}-{bottom}"


class SampleWindow:
    """One sensor's recent samples, appended from the BLE loop and read by the worker thread.

    Blocks are kept whole (appending is a deque append under a lock); those ending more than ``keep_s``
    before the newest sample are dropped.
    """

    def __init__(self, keep_s: float) -> None:
        self.keep_s = keep_s
        self._lock = threading.Lock()
        self._blocks: dict[str, deque[SampleBlock]] = {"acc": deque(), "gyro": deque()}
        self.samples_seen = 0

    def add(self, block: SampleBlock) -> None:
        if block.n_samples == 0:
            return
        with self._lock:
            blocks = self._blocks[block.kind]
            blocks.append(block)
            newest = float(block.sensor_time_s[-1])
            while blocks and float(blocks[0].sensor_time_s[-1]) < newest - self.keep_s:
                blocks.popleft()
            if block.kind == "acc":
                self.samples_seen += block.n_samples

    def recording(self, window_s: float) -> tuple[Recording, float] | None:
        """The last ``window_s`` seconds as a recording on its own time axis, and the sensor time of its
        first sample; None with too few samples."""
        with self._lock:
            acc, gyro = list(self._blocks["acc"]), list(self._blocks["gyro"])
        if not acc:
            return None
        t = np.concatenate([b.sensor_time_s for b in acc])
        a = np.concatenate([b.values for b in acc])
        keep = t >= t[-1] - window_s
        t, a = t[keep], a[keep]
        if t.size < 10:
            return None
        g: FloatArray | None = None
        if gyro:
            gt = np.concatenate([b.sensor_time_s for b in gyro])
            gv = np.concatenate([b.values for b in gyro])
            if gt.size >= 2:
                g = np.column_stack([np.interp(t, gt, gv[:, i]) for i in range(3)])
        t0 = float(t[0])
        duration = float(t[-1] - t0)
        fs = (t.size - 1) / duration if duration > 0 else None
        return Recording(time_s=t - t0, accel_g=a, gyro_dps=g, fs_hz=fs), t0


def _shifted(rep: Rep, t0: float) -> Rep:
    return Rep(
        start_s=rep.start_s + t0,
        top_start_s=rep.top_start_s + t0,
        top_end_s=rep.top_end_s + t0,
        end_s=rep.end_s + t0,
        rom_deg=rep.rom_deg,
        partial=rep.partial,
        peak_concentric_speed_dps=rep.peak_concentric_speed_dps,
    )


def _tut(rep: Rep) -> float:
    return rep.end_s - rep.start_s


@dataclass(slots=True)
class _OpenSet:
    number: int
    exercise: Exercise
    reps: list[Rep] = field(default_factory=list)
    cued: int = 0

    def reference(self) -> list[Rep]:
        return self.reps[:REFERENCE_REPS]


def rep_cues(rep: Rep, reference: list[Rep]) -> tuple[tuple[str, ...], str]:
    """Cue words and a phrase for ``rep`` against the first reps of its set (see the module docstring)."""
    if len(reference) < 2:
        return (), ""
    words: list[str] = []
    phrases: list[str] = []
    ref_tut = statistics.median(_tut(r) for r in reference)
    if _tut(rep) < FAST_FRACTION * ref_tut:
        words.append("faster")
        phrases.append(f"much faster ({_tut(rep):.1f} s vs {ref_tut:.1f} s): slow down")
    ref_rom = statistics.median(r.rom_deg for r in reference)
    if rep.rom_deg < ROM_FRACTION * ref_rom:
        words.append("rom")
        phrases.append(f"range down {1 - rep.rom_deg / ref_rom:.0%} ({rep.rom_deg:.0f} vs {ref_rom:.0f} deg)")
    speeds = [r.peak_concentric_speed_dps for r in reference if r.peak_concentric_speed_dps]
    if speeds and rep.peak_concentric_speed_dps:
        loss = 1.0 - rep.peak_concentric_speed_dps / max(speeds)
        if loss > VELOCITY_LOSS_CUE:
            words.append("slower")
            phrases.append(f"lifting speed down {loss:.0%} (velocity loss)")
    return tuple(words), "; ".join(phrases)


def _set_end(sensor: str, s: _OpenSet) -> LiveSetEnd:
    reps = s.reps
    phases = [r.phases() for r in reps]
    speeds = [r.peak_concentric_speed_dps for r in reps if r.peak_concentric_speed_dps]
    loss = None
    if len(speeds) >= 2:
        k = min(REFERENCE_REPS, len(speeds) // 2 or 1)
        first, last = statistics.fmean(speeds[:k]), statistics.fmean(speeds[-k:])
        loss = max(0.0, 1.0 - last / first) if first > 0 else None
    roms = [r.rom_deg for r in reps]
    return LiveSetEnd(
        sensor=sensor,
        set_number=s.number,
        exercise=s.exercise,
        n_reps=len(reps),
        rom_deg=statistics.fmean(roms),
        rom_min_deg=min(roms),
        rom_max_deg=max(roms),
        mean_concentric_s=statistics.fmean(p.concentric_s for p in phases),
        mean_top_hold_s=statistics.fmean(p.top_hold_s for p in phases),
        mean_eccentric_s=statistics.fmean(p.eccentric_s for p in phases),
        velocity_loss=loss,
        n_cued=s.cued,
    )


class RepTracker:
    """Turns the analyses of overlapping windows of one sensor into rep and set-end events.

    Args:
        sensor: the sensor's address (copied into the events).
        set_gap_s: a rep starting more than this after the previous rep's end begins a new set (s).
        set_end_s: with no new rep this long after the last rep's end, the set is over (s).
        edge_s: reps starting this close to the window's first sample may be cut off; they are left to
            the earlier windows that saw them whole (s).
        tail_s: reps ending this close to the newest sample may still be moving (their lowering cut
            short); they wait for the next pass (s).
    """

    def __init__(
        self,
        sensor: str,
        *,
        set_gap_s: float = 10.0,
        set_end_s: float = 12.0,
        edge_s: float = 2.0,
        tail_s: float = 0.5,
    ):
        self.sensor = sensor
        self.set_gap_s = set_gap_s
        self.set_end_s = set_end_s
        self.edge_s = edge_s
        self.tail_s = tail_s
        self._known: deque[tuple[float, float]] = deque(maxlen=256)  # (start_s, end_s) of reps shown
        self._open: _OpenSet | None = None
        self._sets = 0
        self.reps_seen = 0

    @property
    def current_set(self) -> tuple[int, Exercise, int] | None:
        """(set number, exercise, reps so far) of the set in progress, None between sets."""
        s = self._open
        return None if s is None else (s.number, s.exercise, len(s.reps))

    def _seen(self, rep: Rep) -> bool:
        """Shown before, or not to be shown: the windows place a rep's boundaries a little differently
        each time, and a window cut mid-set can read the movement upside down (top to top), so only a rep
        that starts after the newest rep shown has ended (:data:`OVERLAP_S` of slack) is new."""
        return bool(self._known) and rep.start_s < self._known[-1][1] - OVERLAP_S

    def update(self, analysis: SessionAnalysis, t0: float, data_end_s: float) -> list[LiveEvent]:
        """Events from the analysis of a window whose first sample is at sensor time ``t0`` and whose
        newest sample is at ``data_end_s``."""
        found = sorted(
            ((_shifted(r, t0), s.exercise) for s in analysis.sets for r in s.reps),
            key=lambda item: item[0].end_s,
        )
        events: list[LiveEvent] = []
        for rep, exercise in found:
            if rep.end_s > data_end_s - self.tail_s:
                break  # this one and later ones: next pass
            if rep.start_s < t0 + self.edge_s or self._seen(rep):
                if self._open is not None and exercise != Exercise.UNKNOWN and self._in_open(rep):
                    self._open.exercise = exercise  # a longer look may name the exercise
                continue
            events += self._new_rep(rep, exercise, data_end_s)
        if (
            self._open is not None
            and self._open.reps
            and data_end_s - self._open.reps[-1].end_s > self.set_end_s
        ):
            events.append(self.close())
        return events

    def _in_open(self, rep: Rep) -> bool:
        assert self._open is not None
        return rep.end_s >= self._open.reps[0].start_s if self._open.reps else False

    def _new_rep(self, rep: Rep, exercise: Exercise, data_end_s: float) -> list[LiveEvent]:
        events: list[LiveEvent] = []
        s = self._open
        if s is not None and s.reps and rep.start_s - s.reps[-1].end_s > self.set_gap_s:
            events.append(self.close())
            s = None
        if s is None:
            self._sets += 1
            s = self._open = _OpenSet(number=self._sets, exercise=exercise)
        if exercise != Exercise.UNKNOWN:
            s.exercise = exercise
        pause = rep.start_s - s.reps[-1].end_s if s.reps else None
        cues, text = rep_cues(rep, s.reference())
        s.reps.append(rep)
        s.cued += bool(cues)
        self._known.append((rep.start_s, rep.end_s))
        self.reps_seen += 1
        events.append(
            LiveRep(
                sensor=self.sensor,
                set_number=s.number,
                rep_number=len(s.reps),
                exercise=s.exercise,
                rep=rep,
                pause_before_s=pause,
                cues=cues,
                cue_text=text,
                data_end_s=data_end_s,
            )
        )
        return events

    def close(self) -> LiveSetEnd:
        """End the set in progress (there must be one) and summarise it."""
        assert self._open is not None
        s, self._open = self._open, None
        return _set_end(self.sensor, s)

    def finish(self) -> list[LiveEvent]:
        """Recording stopped: the summary of a set still open, if any."""
        return [self.close()] if self._open is not None and self._open.reps else []


@dataclass(slots=True)
class PassStats:
    """Cost of the analysis passes so far (worker thread CPU and wall time, s)."""

    passes: int = 0
    cpu_s: float = 0.0
    wall_s: float = 0.0
    max_wall_s: float = 0.0
    failures: int = 0


class LiveAnalyzer:
    """Re-analyses each sensor's trailing window on a worker thread and reports :data:`LiveEvent`s.

    Use as a context manager around the recording; pass :meth:`observe` as the recorder's
    ``on_samples``. ``on_event`` is called on the worker thread (and once more from :meth:`stop` for
    sets still open).

    Args:
        on_event: receives each event.
        window_s: seconds of recent data each pass analyses (longer than a set's rest-to-rest span
            needs; analysis cost grows with it, ~6 ms per pass for 60 s on one core).
        interval_s: wall seconds between passes.
        tracker_options: keyword arguments for each sensor's :class:`RepTracker`.
    """

    def __init__(
        self,
        on_event: Callable[[LiveEvent], None],
        *,
        window_s: float = 60.0,
        interval_s: float = 0.5,
        tracker_options: dict[str, Any] | None = None,
    ) -> None:
        self.on_event = on_event
        self.window_s = window_s
        self.interval_s = interval_s
        self._tracker_options = tracker_options or {}
        self._windows: dict[str, SampleWindow] = {}
        self._trackers: dict[str, RepTracker] = {}
        self._analysed_upto: dict[str, int] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.stats = PassStats()

    # -- the BLE side: enqueue only ------------------------------------------------------------------
    def observe(self, sensor: str, block: SampleBlock) -> None:
        """The recorder's ``on_samples`` hook: keep the block for the next pass."""
        window = self._windows.get(sensor)
        if window is None:
            window = self._windows[sensor] = SampleWindow(self.window_s + 5.0)
            self._trackers[sensor] = RepTracker(sensor, **self._tracker_options)
        window.add(block)

    # -- the worker side ----------------------------------------------------------------------------
    def current_sets(self) -> dict[str, tuple[int, Exercise, int] | None]:
        """Per sensor: (set number, exercise, reps so far) of the set in progress."""
        return {sensor: t.current_set for sensor, t in list(self._trackers.items())}

    def analyse_now(self) -> list[LiveEvent]:
        """One pass over every sensor with new samples; the events are also given to ``on_event``."""
        events: list[LiveEvent] = []
        for sensor, window in list(self._windows.items()):
            if window.samples_seen == self._analysed_upto.get(sensor):
                continue
            self._analysed_upto[sensor] = window.samples_seen
            events += self._analyse(sensor, window)
        for e in events:
            self.on_event(e)
        return events

    def _analyse(self, sensor: str, window: SampleWindow) -> list[LiveEvent]:
        cpu, wall = time.thread_time(), time.perf_counter()
        try:
            got = window.recording(self.window_s)
            if got is None:
                return []
            recording, t0 = got
            analysis = processing.analyze(recording)
            return self._trackers[sensor].update(analysis, t0, t0 + recording.duration_s)
        except Exception:  # the live view is a nicety: a failed pass must never touch the recording
            self.stats.failures += 1
            logger.debug("live analysis pass failed for %s", sensor, exc_info=True)
            return []
        finally:
            took = time.perf_counter() - wall
            self.stats.passes += 1
            self.stats.cpu_s += time.thread_time() - cpu
            self.stats.wall_s += took
            self.stats.max_wall_s = max(self.stats.max_wall_s, took)

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            self.analyse_now()

    def start(self) -> LiveAnalyzer:
        self._thread = threading.Thread(target=self._run, name="live-analysis", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop the worker after its current pass; one last pass, then the summaries of open sets."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        self.analyse_now()
        for tracker in self._trackers.values():
            for e in tracker.finish():
                self.on_event(e)

    def __enter__(self) -> LiveAnalyzer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
