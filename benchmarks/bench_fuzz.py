"""Fuzzing the decoders and the spool reader: every failure must be a documented, typed error.

``uv run python -m benchmarks fuzz``. Two parts, seeded (the same run every time):

1. **Frames** (100,000): valid Polar PMD data frames (Verity ACC/GYRO compressed, H10 raw, GYRO float32),
   WitMotion packet runs and register replies, PMD control-point responses, settings, features and stop
   notices, each mutated (bit flips, extreme bytes, cuts, random tails, splices, header fields, delta
   block widths) and fed to the decoder that would receive it on the wire.
2. **Spools** (20,000): recorder-like spools (:func:`ingest.emulator.spools.write_emulated_spool`: Verity
   with a link drop and a clock step, H10, WitMotion) taken apart, one to three structured mutations
   applied (a header or event field set to a hostile value: huge, NaN, Infinity, 400-digit integers,
   deep nesting, wrong types, missing keys; host times; stream names; payloads; chunks duplicated,
   dropped, swapped, an early END, unknown chunk types) and put back together with valid CRCs, then read
   and decoded; a few go through the whole import (:func:`flows.imports.sync_one_spool`) as well.

Documented errors are the typed ones of ``ingest/errors.py`` (``SensorError`` and its subclasses: the
``FrameError``, ``SpoolError``, ``RecordingRejectedError`` ... a caller is told to expect) and
``storage/errors.py``. Anything else is counted as *undocumented* by type, with one example each; the
goal is 0. A NumPy ``RuntimeWarning`` (a NaN or inf made silently) counts as one, and so does an import
quarantined for an "unexpected decoding failure". The baseline is the same decoders on the unmutated
inputs, for the rates.
"""

from __future__ import annotations

import json
import logging
import math
import struct
import tempfile
import time
import warnings
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ingest.emulator.motion import LegRaiseMotion
from ingest.emulator.spools import EmulatedSpoolFaults, write_emulated_spool
from ingest.errors import SensorError
from ingest.polar.control import (
    PmdFeatures,
    PmdRequest,
    PmdResponse,
    join_response_packets,
    parse_control_point_indication,
)
from ingest.polar.decode import PmdStreamDecoder, decode_pmd_counts
from ingest.polar.encode import encode_pmd_frames
from ingest.polar.settings import PmdSettings
from ingest.spool.decode import decode_spool
from ingest.spool.format import TIME_FIELD, ChunkType, spool_bytes
from ingest.spool.reader import read_spool, read_spool_header, spool_parts
from ingest.witmotion.control import RegisterReply, WitCommand, encode_register_reply
from ingest.witmotion.decode import decode_witmotion
from ingest.witmotion.encode import encode_witmotion_packets
from storage.errors import StorageError

N_FRAMES = 100_000
N_SPOOLS = 20_000
N_IMPORTS = 40
SEED = 19

Rng = np.random.Generator
DOCUMENTED = (SensorError, StorageError)


@dataclass
class Tally:
    """Inputs tried, documented errors, and undocumented ones by type (with one example each)."""

    tried: int = 0
    documented: int = 0
    seconds: float = 0.0
    undocumented: Counter[str] = field(default_factory=Counter)
    examples: dict[str, str] = field(default_factory=dict)

    def run(self, what: str, fn: Callable[[], object]) -> None:
        self.tried += 1
        t0 = time.perf_counter()
        try:
            with warnings.catch_warnings():
                # A NumPy RuntimeWarning (invalid value, overflow) is a NaN or inf made silently from
                # hostile input: it fails here as an undocumented error rather than scrolling by.
                warnings.simplefilter("error", RuntimeWarning)
                fn()
        except DOCUMENTED:
            self.documented += 1
        except Exception as e:
            name = type(e).__name__
            self.undocumented[name] += 1
            self.examples.setdefault(name, f"{what}: {e!r}"[:300])
        finally:
            self.seconds += time.perf_counter() - t0

    @property
    def n_undocumented(self) -> int:
        return sum(self.undocumented.values())


# -- frames ------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Sample:
    """A valid input and the decoder that receives it."""

    kind: str
    data: bytes
    decode: Callable[[bytes], object]


def _pmd_decoder(mtype: int, rate: float, factor: float | None) -> Callable[[bytes], object]:
    def decode(data: bytes) -> object:
        return PmdStreamDecoder(mtype, sample_rate_hz=rate, factor=factor).decode(data), decode_pmd_counts(
            data
        )

    return decode


def _valid_samples(rng: Rng) -> list[Sample]:
    t = np.arange(400) / 52.0
    acc, gyr = LegRaiseMotion().sample(t)
    acc = acc + rng.normal(0, 0.01, acc.shape)
    gyr = gyr + rng.normal(0, 2.0, gyr.shape)
    ts = 820_454_400 * 10**9 + np.rint(t * 1e9).astype(np.int64)
    kinds = [
        ("verity acc 0x81", 2, acc, 1, True, None),
        ("verity acc 0x80", 2, acc, 0, True, 0.000244),
        ("verity gyro 0x80", 5, gyr, 0, True, 2000 / 32768),
        ("gyro float 0x81", 5, gyr, 1, True, 1.0),
        ("h10 acc raw", 2, acc, 1, False, None),
    ]
    out: list[Sample] = []
    for name, mtype, values, ftype, comp, factor in kinds:
        frames = encode_pmd_frames(
            mtype, values, ts, frame_type=ftype, compressed=comp, factor=factor, max_frame_bytes=229
        )
        out += [Sample(name, f, _pmd_decoder(mtype, 52.0, factor)) for f in frames]
    wit = encode_witmotion_packets(acc[:40], gyr[:40])
    out += [Sample("witmotion", wit[i : i + 200], decode_witmotion) for i in range(0, len(wit), 200)]
    out.append(
        Sample("wit reply", encode_register_reply(0x03, [6, 0, 0, 0, 0, 0, 0, 396]), RegisterReply.from_bytes)
    )
    out.append(Sample("wit command", bytes.fromhex("FF AA 03 06 00"), WitCommand.from_bytes))
    settings = bytes(
        PmdSettings(sample_rates_hz=(26, 52, 104), resolutions_bits=(16,), ranges=(2, 4, 8), channels=(3,))
    )
    response = PmdResponse.success(1, 2, settings)
    out.append(Sample("cp response", bytes(response), parse_control_point_indication))
    out.append(
        Sample("cp packets", b"".join(response.to_packets(12)), lambda d: join_response_packets(_cut(d, 12)))
    )
    out.append(
        Sample(
            "cp start",
            bytes.fromhex("F0 02 02 00 00 05 01 40 DA 7F 39"),
            lambda d: PmdResponse.from_bytes(d).settings(),
        )
    )
    out.append(
        Sample(
            "cp request",
            bytes.fromhex("02 02 00 01 34 00 01 01 10 00 02 01 08 00 04 01 03"),
            PmdRequest.from_bytes,
        )
    )
    out.append(Sample("settings", settings, PmdSettings.from_bytes))
    out.append(Sample("features", bytes.fromhex("0F 6E 02") + bytes(14), PmdFeatures.from_bytes))
    out.append(Sample("stop notice", bytes.fromhex("01 02 05"), parse_control_point_indication))
    return out


def _cut(data: bytes, size: int) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)] or [b""]


def _mutate_bytes(data: bytes, rng: Rng) -> bytes:
    b = bytearray(data)
    op = int(rng.integers(9))
    if op == 0 and b:  # bit flips
        for _ in range(int(rng.integers(1, 4))):
            i = int(rng.integers(len(b)))
            b[i] ^= 1 << int(rng.integers(8))
    elif op == 1 and b:  # extreme bytes
        for _ in range(int(rng.integers(1, 4))):
            b[int(rng.integers(len(b)))] = int(rng.choice([0x00, 0xFF, 0x7F, 0x80, 0x01]))
    elif op == 2:  # cut
        b = b[: int(rng.integers(len(b) + 1))]
    elif op == 3:  # random tail
        b += rng.bytes(int(rng.integers(1, 40)))
    elif op == 4:  # random bytes of a random length
        b = bytearray(rng.bytes(int(rng.integers(0, 260))))
    elif op == 5 and len(b) >= 9:  # PMD timestamp: tiny, huge, >= 2**63
        choices = [0, 1, 10**6, 2**63 - 1, 2**63, 2**64 - 1, int(rng.integers(2**62))]
        ts = choices[int(rng.integers(len(choices)))]
        b[1:9] = ts.to_bytes(8, "little")
    elif op == 6 and b:  # type byte / frame-type byte
        b[int(rng.choice([0, min(9, len(b) - 1)]))] = int(rng.integers(256))
    elif op == 7 and len(b) > 18:  # a delta block header: width and count
        i = int(rng.integers(16, len(b) - 1))
        b[i], b[i + 1] = int(rng.choice([0, 1, 31, 32, 33, 64, 255])), int(rng.integers(256))
    else:  # repeat a slice (a splice of the frame with itself)
        i = int(rng.integers(len(b) + 1))
        b = b[:i] + b[i // 2 :]
    return bytes(b)


def fuzz_frames(n: int, rng: Rng) -> tuple[Tally, Tally]:
    """(mutated, baseline) tallies over ``n`` mutated inputs; the baseline decodes the valid inputs."""
    samples = _valid_samples(rng)
    mutated, clean = Tally(), Tally()
    for i in range(n):
        s = samples[int(rng.integers(len(samples)))]
        data = _mutate_bytes(s.data, rng)
        mutated.run(s.kind, lambda s=s, data=data: s.decode(data))  # type: ignore[misc]
        if i < len(samples) * 20:
            c = samples[i % len(samples)]
            clean.run(c.kind, lambda c=c: c.decode(c.data))  # type: ignore[misc]
    # Batches too: the spool decoder's path, malformed frames listed rather than raised.
    pmd = [s for s in samples if s.kind.startswith(("verity", "h10", "gyro"))]
    for _ in range(max(1, n // 1000)):
        frames = [_mutate_bytes(pmd[int(rng.integers(len(pmd)))].data, rng) for _ in range(256)]
        mutated.run(
            "decode_many", lambda frames=frames: PmdStreamDecoder(2, sample_rate_hz=52).decode_many(frames)
        )  # type: ignore[misc]
    return mutated, clean


# -- spools ------------------------------------------------------------------------------------------------

_HOSTILE: list[Any] = [
    1e308, -1e308, 1e-320, 0, -1, 2**63, 2**64, True, None, "", "x" * 5000, "2026-13-01", "NaN",
    [], {}, [1, [2, [3]]], {"a": {"b": {"c": 1}}}, 52, 0.0, -0.0,
]  # fmt: skip
#: JSON text no ``json.dumps`` writes: NaN, Infinity, 1e999, 400 digits, deep nesting.
_RAW = [
    "NaN",
    "Infinity",
    "-Infinity",
    "1e999",
    "9" * 400,
    "[" * 5000 + "]" * 5000,
    '{"a":' * 3000 + "1" + "}" * 3000,
]


@dataclass
class SpoolParts:
    header: bytes
    chunks: list[tuple[int, bytes]]


def _paths(doc: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out: list[tuple[Any, ...]] = []
    if isinstance(doc, dict):
        for k, v in doc.items():
            out.append((*prefix, k))
            out += _paths(v, (*prefix, k))
    return out


def _mutate_json(text: bytes, rng: Rng) -> bytes:
    try:
        doc = json.loads(text)
    except (ValueError, RecursionError):  # mutated before into something json cannot take apart
        return _mutate_bytes(text, rng)
    paths = _paths(doc)
    if not paths or rng.random() < 0.1:
        return _mutate_bytes(text, rng)
    path = paths[int(rng.integers(len(paths)))]
    parent = doc
    for key in path[:-1]:
        parent = parent[key]
    op = rng.random()
    if op < 0.15:
        del parent[path[-1]]
        return json.dumps(doc).encode()
    if op < 0.45:
        parent[path[-1]] = "@@RAW@@"
        raw = _RAW[int(rng.integers(len(_RAW)))]
        return json.dumps(doc).replace('"@@RAW@@"', raw).encode()
    parent[path[-1]] = _HOSTILE[int(rng.integers(len(_HOSTILE)))]
    if rng.random() < 0.1:
        parent[f"unknown{int(rng.integers(9))}"] = _HOSTILE[int(rng.integers(len(_HOSTILE)))]
    return json.dumps(doc).encode()


_BAD_TIMES = [math.nan, math.inf, -math.inf, 1e308, -1e308, 1e10 + 1, 0.0, -1.0, 5e-324]


def _mutate_chunk(chunks: list[tuple[int, bytes]], rng: Rng) -> None:
    if not chunks:
        return
    i = int(rng.integers(len(chunks)))
    ctype, body = chunks[i]
    op = rng.random()
    if op < 0.2 and len(body) >= TIME_FIELD.size:  # the host time
        body = TIME_FIELD.pack(float(rng.choice(_BAD_TIMES))) + body[TIME_FIELD.size :]
    elif op < 0.45 and ctype == ChunkType.EVENT:
        body = body[: TIME_FIELD.size] + _mutate_json(body[TIME_FIELD.size :], rng)
    elif op < 0.55 and ctype == ChunkType.DATA and len(body) > TIME_FIELD.size:  # the stream name
        name = rng.choice([b"", b"acc", b"gyro", b"imu", b"cp", b"\xff\xfe", b"x" * 255])
        nlen = body[TIME_FIELD.size]
        body = body[: TIME_FIELD.size] + bytes([len(name)]) + name + body[TIME_FIELD.size + 1 + nlen :]
    elif op < 0.8 and ctype == ChunkType.DATA:  # the notification
        nlen = body[TIME_FIELD.size] if len(body) > TIME_FIELD.size else 0
        head = TIME_FIELD.size + 1 + nlen
        body = body[:head] + _mutate_bytes(body[head:], rng)
    else:  # the chunk list itself
        j = int(rng.integers(len(chunks)))
        kind = int(rng.integers(5))
        if kind == 0:
            chunks.insert(j, chunks[i])
        elif kind == 1:
            del chunks[i]
            return
        elif kind == 2:
            chunks[i], chunks[j] = chunks[j], chunks[i]
            return
        elif kind == 3:
            chunks.insert(j, (ChunkType.END, struct.pack("<dQ", 1.0, j)))
        else:
            chunks.insert(j, (int(rng.choice([0x00, 0x03, 0x7E, 0xFF])), rng.bytes(int(rng.integers(40)))))
        return
    chunks[i] = (ctype, body)


def mutate_spool(base: SpoolParts, rng: Rng) -> bytes:
    """One to three structured mutations of a spool, put back together with valid CRCs."""
    header, chunks = base.header, list(base.chunks)
    for _ in range(int(rng.integers(1, 4))):
        if rng.random() < 0.35:
            header = _mutate_json(header, rng)
        else:
            _mutate_chunk(chunks, rng)
    return spool_bytes(header, chunks)


def _read_and_decode(path: Path) -> None:
    read_spool_header(path)
    decoded = decode_spool(read_spool(path))
    rec = decoded.recording
    if rec.n_samples and not (np.isfinite(rec.time_s).all() and np.all(np.diff(rec.time_s) > 0)):
        raise AssertionError("decoded sample times are not finite and increasing")


def base_spools(directory: Path) -> list[SpoolParts]:
    faults = EmulatedSpoolFaults(drop_s=(2.0, 0.7), clock_step=(3.5, -30.0))
    paths = [
        write_emulated_spool(directory / "verity.spool", "polar-verity-sense", seconds=5, faults=faults),
        write_emulated_spool(directory / "h10.spool", "polar-h10", seconds=5),
        write_emulated_spool(directory / "wit.spool", "witmotion-wt901", seconds=5),
    ]
    return [SpoolParts(*spool_parts(p.read_bytes())) for p in paths]


def fuzz_spools(n: int, n_imports: int, rng: Rng, workdir: Path) -> tuple[Tally, Tally, Tally]:
    """(mutated, baseline, imports) tallies over ``n`` mutated spools."""
    from flows.imports import sync_one_spool

    bases = base_spools(workdir)
    mutated, clean, imports = Tally(), Tally(), Tally()
    path = workdir / "fuzzed.spool"
    for i in range(n):
        base = bases[int(rng.integers(len(bases)))]
        path.write_bytes(mutate_spool(base, rng))
        mutated.run(f"spool {i}", lambda: _read_and_decode(path))
        if i < 300:
            path.write_bytes(spool_bytes(base.header, base.chunks))
            clean.run("clean spool", lambda: _read_and_decode(path))
    db = workdir / "fuzz.duckdb"
    for i in range(n_imports):
        one = workdir / f"import-{i}.spool"
        one.write_bytes(mutate_spool(bases[i % len(bases)], rng))

        def imported(one: Path = one) -> None:
            res = sync_one_spool(db, one)
            if res.reason and res.reason.startswith("unexpected"):
                raise RuntimeError(res.reason)

        imports.run(f"import {i}", imported)
    return mutated, clean, imports


# -- report ------------------------------------------------------------------------------------------------


def _line(name: str, tally: Tally) -> str:
    rate = tally.tried / tally.seconds if tally.seconds > 0 else float("inf")
    return (
        f"{name:<27} {tally.tried:>7} tried  {tally.documented:>7} documented errors  "
        f"{tally.n_undocumented:>5} undocumented  {rate:>9,.1f} /s"
    )


def _print_undocumented(tallies: dict[str, Tally]) -> None:
    for t in tallies.values():
        for name, count in t.undocumented.most_common():
            print(f"  undocumented {name} x{count}: {t.examples[name]}")


def run(
    n_frames: int = N_FRAMES, n_spools: int = N_SPOOLS, n_imports: int = N_IMPORTS, seed: int = SEED
) -> dict[str, Tally]:
    """Both parts; the tallies by name (the fault suite runs a small version of this)."""
    rng = np.random.default_rng(seed)
    frames, frames_clean = fuzz_frames(n_frames, rng)
    with tempfile.TemporaryDirectory(prefix="hipsync-fuzz-") as d:
        spools, spools_clean, imports = fuzz_spools(n_spools, n_imports, rng, Path(d))
    return {
        "frames, mutated": frames,
        "frames, baseline (valid)": frames_clean,
        "spools, mutated": spools,
        "spools, baseline (valid)": spools_clean,
        "spools imported (mutated)": imports,
    }


def main() -> None:
    t0 = time.perf_counter()
    logging.disable(logging.WARNING)  # every damaged spool says so in a warning: 20,000 of them
    try:
        tallies = run()
    finally:
        logging.disable(logging.NOTSET)
    print(f"seed {SEED}; documented = ingest.errors.SensorError or storage.errors.StorageError")
    for name, tally in tallies.items():
        print(_line(name, tally))
    _print_undocumented(tallies)
    total = sum(t.n_undocumented for t in tallies.values())
    print(f"undocumented exceptions: {total} (goal 0); {time.perf_counter() - t0:.0f} s in all")


if __name__ == "__main__":
    main()
