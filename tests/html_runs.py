"""Tiny completed run folders, written as the runner writes them (claims.csv + run.json), for report tests."""
from __future__ import annotations

import struct
import zlib
from pathlib import Path

import pandas as pd

from keras_repro.suite import results


def png(width: int = 4, height: int = 3, colour: tuple[int, int, int] = (200, 30, 30)) -> bytes:
    """A valid RGB PNG of one colour (no imaging library needed)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    raw = b"".join(b"\0" + bytes(colour) * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def claim_row(claim_id: str, verdict: str, note: str = "", reason: str | None = None,
              measured: str = "value=1; extra=2", rule: str = "value >= 1") -> dict:
    reason = reason if reason is not None else {"reproduced": "claim holds", "not reproduced": "claim contradicted",
                                                 "inconclusive": "smoke profile"}[verdict]
    outcome = verdict if verdict != "inconclusive" else "not evaluated"
    return {"claim_id": claim_id, "verdict": verdict, "reason": reason, "measured": measured, "rule": rule,
            "rule_outcome": outcome, "note": note}


def make_run(root: Path, name: str, rows: list[dict], *, run_id: str = "20260101-000000-default-s0",
             profile: str = "default", plots: dict[str, bytes] | None = None, title: str = "A fake") -> Path:
    """Write ``root/name/run_id`` as a completed run with ``rows`` as its claims table and ``plots`` beside it."""
    folder = Path(root) / name / run_id
    folder.mkdir(parents=True)
    written = results.write_table(folder, results.CLAIMS_TABLE, pd.DataFrame(rows), caption=title)
    for file_name, data in (plots or {}).items():
        (folder / file_name).write_bytes(data)
    ids = [r["claim_id"] for r in rows]
    stamp = f"{run_id[:4]}-{run_id[4:6]}-{run_id[6:8]}T{run_id[9:11]}:{run_id[11:13]}:{run_id[13:15]}+00:00"
    info = {"reproduction": name, "title": title, "run_id": run_id, "status": "completed", "profile": profile,
            "seed": 0, "backend": "tensorflow", "device": "CPU: x86_64, 2 cores", "git_commit": "0123456789abcdef" * 2,
            "git_dirty": False, "packages": {"keras": "3.15.1", "tensorflow": "2.21.0", "torch": None},
            "machine": {"platform": "Linux", "python": "3.11.7", "hostname": "vm"},
            "command": ["repro", "run", name], "overrides": {}, "config": {"seeds": 2}, "claims": ids,
            "started": stamp, "finished": stamp, "seconds": 1.5,
            "tables": [{"name": results.CLAIMS_TABLE, "keys": ["claim_id"], "rows": len(rows), **written}],
            "artifacts": sorted(plots or {}), "verdicts": {r["claim_id"]: r["verdict"] for r in rows}}
    results.write_json(folder / results.RUN_FILE, info)
    return folder


def sample_results(root: Path) -> dict[str, str]:
    """Two reproductions, three sections, every verdict, a hostile note and plots; returns claim ID → verdict."""
    make_run(root, "alpha", [claim_row("C1.10", "reproduced"), claim_row("C1.3", "not reproduced",
                                                                        note="<script>alert('x')</script> & more"),
                             claim_row("C1.2", "inconclusive")],
             plots={"C1.3_curve.png": png(colour=(10, 120, 200)), "shared.png": png(colour=(20, 160, 60))})
    make_run(root, "beta", [claim_row("C2.1", "reproduced"), claim_row("C3.1b", "inconclusive"),
                            claim_row("C3.1", "not reproduced")])
    return {"C1.2": "inconclusive", "C1.3": "not reproduced", "C1.10": "reproduced", "C2.1": "reproduced",
            "C3.1": "not reproduced", "C3.1b": "inconclusive"}
