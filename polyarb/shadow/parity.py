"""Parity: a shadow run's decisions must equal a replay of its own recording.

Decision rows are compared as canonical tuples (every column of
``polyarb.runs.schema.DECISIONS``, in order). The verdict names the first
divergence: its seq, the frame that caused it, and both decisions.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import msgspec
import pyarrow.parquet as pq

from polyarb.recording.reader import SessionReader
from polyarb.runs.schema import DECISIONS

_COLUMNS = DECISIONS.names


class Divergence(msgspec.Struct, frozen=True):
    """Where two decision streams first differ (index into the streams)."""

    index: int
    seq: int
    expected: dict[str, Any] | None
    """The replay's decision at ``index`` (None: the replay has no more)."""
    actual: dict[str, Any] | None
    """The shadow's decision at ``index`` (None: the shadow has no more)."""
    frame: dict[str, Any] | None = None
    """The frames row with that seq, for the report."""


class ParityResult(msgspec.Struct, frozen=True):
    """PASS when both streams are identical, else the first divergence and counts."""

    status: str
    shadow_decisions: int
    replay_decisions: int
    shadow_counts: dict[str, int]
    replay_counts: dict[str, int]
    differing_rows: int
    first_divergence: Divergence | None = None

    @property
    def passed(self) -> bool:
        return self.status == "PASS"


def load_decisions(run_dir: Path) -> list[dict[str, Any]]:
    """Decision rows of a run, in the order the engine made them."""
    path = run_dir / "decisions.parquet"
    if not path.is_file():
        raise FileNotFoundError(f"{run_dir} has no decisions.parquet (was the run finished?)")
    return pq.read_table(str(path), columns=list(_COLUMNS)).to_pylist()


def _key(row: dict[str, Any]) -> tuple[Any, ...]:
    return tuple(tuple(v) if isinstance(v, list) else v for v in (row[c] for c in _COLUMNS))


def _counts(rows: list[dict[str, Any]]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for row in rows:
        counts[row["type"]] = counts.get(row["type"], 0) + 1
    return dict(sorted(counts.items()))


def compare_decisions(shadow: list[dict[str, Any]], replay: list[dict[str, Any]]) -> ParityResult:
    """Compare two decision streams row by row."""
    first: Divergence | None = None
    differing = abs(len(shadow) - len(replay))
    for index, (a, b) in enumerate(zip(shadow, replay, strict=False)):
        if _key(a) != _key(b):
            differing += 1
            if first is None:
                first = Divergence(index, min(a["seq"], b["seq"]), expected=b, actual=a)
    if first is None and len(shadow) != len(replay):
        index = min(len(shadow), len(replay))
        extra = shadow[index] if len(shadow) > index else replay[index]
        first = Divergence(
            index,
            extra["seq"],
            expected=replay[index] if len(replay) > index else None,
            actual=shadow[index] if len(shadow) > index else None,
        )
    return ParityResult(
        status="PASS" if first is None else "FAIL",
        shadow_decisions=len(shadow),
        replay_decisions=len(replay),
        shadow_counts=_counts(shadow),
        replay_counts=_counts(replay),
        differing_rows=differing,
        first_divergence=first,
    )


def frame_at(session: SessionReader, seq: int) -> dict[str, Any] | None:
    """The frames row with ``seq``, reading only the part that holds it."""
    for part in session.manifest.parts:
        first, last = part.first_seq, part.last_seq
        if first is not None and last is not None and first <= seq <= last:
            table = pq.read_table(str(session.dir / part.file), filters=[("seq", "=", seq)])
            rows = table.to_pylist()
            return rows[0] if rows else None
    return None


def with_frame(result: ParityResult, session: SessionReader) -> ParityResult:
    """Attach the diverging frame's row to the result (for the report)."""
    div = result.first_divergence
    if div is None:
        return result
    frame = frame_at(session, div.seq)
    return msgspec.structs.replace(
        result, first_divergence=msgspec.structs.replace(div, frame=frame)
    )


PARITY_RUN_ID = "shadow-replay"


def run_parity(session_dir: Path, *, shadow_run: str = "shadow") -> ParityResult:
    """Replay ``session_dir`` with the shadow run's own settings and compare decisions.

    The replay goes to ``runs/shadow-replay/``; the verdict is written to
    ``runs/<shadow_run>/parity.json`` (what promote-check reads).
    """
    from polyarb.alerts import AlertRules
    from polyarb.config.profile import parse_profile
    from polyarb.engine import replay
    from polyarb.recording.files import write_json_atomic

    session = SessionReader(session_dir)
    run_dir = session.dir / "runs" / shadow_run
    for needed in ("run.json", "profile.json", "alert_rules.json", "decisions.parquet"):
        if not (run_dir / needed).is_file():
            raise FileNotFoundError(
                f"{run_dir} has no {needed}: not a finished shadow run (was it stopped cleanly?)"
            )
    import json

    profile = parse_profile(json.loads((run_dir / "profile.json").read_text()), run_dir)
    rules = AlertRules.model_validate(json.loads((run_dir / "alert_rules.json").read_text()))
    run_json = json.loads((run_dir / "run.json").read_text())
    venue = None
    if run_json.get("mode") == "live":
        # A live run's fills exist only as recorded user rows: replay them, simulate nothing.
        from polyarb.execution.user_venue import UserRowVenue

        venue = UserRowVenue({})
    replay(
        session.dir,
        profile,
        run_id=PARITY_RUN_ID,
        alert_rules=rules,
        venue=venue,
        live=venue is not None,
    )
    result = with_frame(
        compare_decisions(
            load_decisions(run_dir), load_decisions(session.dir / "runs" / PARITY_RUN_ID)
        ),
        session,
    )
    report = msgspec.to_builtins(result)
    report["session_id"] = session.id
    report["shadow_run"] = shadow_run
    report["replay_run"] = PARITY_RUN_ID
    report["profile_sha256"] = profile.sha256()
    write_json_atomic(run_dir / "parity.json", report)
    return result
