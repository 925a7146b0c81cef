"""notebooks/shadow_pnl.ipynb runs headless on real replays of the bundled sessions plus a
synthetic shadow history, and the totals it computes equal the Parquet files read directly.

Issue 11 item 16: a session replayed twice is counted once (one run per session and mode),
and the positions traded are shown whenever a run has fills."""

from __future__ import annotations

import json
import sys
from collections import defaultdict
from pathlib import Path

import nbformat
import numpy as np
import pyarrow.parquet as pq
import pytest
from nbclient import NotebookClient

from polyarb.cli import main
from polyarb.testing.history import write_history

NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "shadow_pnl.ipynb"
BUNDLED = ("resolvedkit-btc15m", "crossing-burst-2026-09-29")


def _ensure_python3_kernel(tmp: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Use the installed python3 kernelspec, or install one for this interpreter in tmp."""
    from jupyter_client.kernelspec import KernelSpecManager

    if "python3" in KernelSpecManager().find_kernel_specs():
        return
    from ipykernel.kernelspec import install

    install(prefix=str(tmp), kernel_name="python3")
    monkeypatch.setenv("JUPYTER_PATH", str(tmp / "share" / "jupyter"))


def _counted(recordings: Path) -> dict[tuple[str, str], Path]:
    """(session, mode) → the one run totals add: parity's replay, else the highest run id."""
    best: dict[tuple[str, str], Path] = {}
    for run_json in sorted(recordings.glob("*/runs/*/run.json")):
        key = (run_json.parents[2].name, json.loads(run_json.read_text())["mode"])
        d = run_json.parent
        best[key] = max(best.get(key, d), d, key=lambda r: (r.name == "shadow-replay", r.name))
    return best


def _positions(recordings: Path) -> list[dict]:
    """Per counted run and token, from fills.parquet: bought, sold, net and cash flow."""
    out = []
    for (session, mode), d in sorted(_counted(recordings).items()):
        fills = pq.read_table(d / "fills.parquet").to_pylist()
        held = {
            r["asset_id"]: r["size"] for r in pq.read_table(d / "positions.parquet").to_pylist()
        }
        for asset in sorted({f["asset_id"] for f in fills}):
            mine = [f for f in fills if f["asset_id"] == asset]
            buy = [f for f in mine if f["side"] == "BUY"]
            sell = [f for f in mine if f["side"] == "SELL"]
            flow = sum(f["price"] * f["size"] // 10**6 for f in sell)
            flow -= sum(f["price"] * f["size"] // 10**6 for f in buy) + sum(f["fee"] for f in mine)
            bought, sold = sum(f["size"] for f in buy), sum(f["size"] for f in sell)
            out.append(
                {
                    "mode": mode,
                    "session_id": session,
                    "run_id": d.name,
                    "asset_id": asset,
                    "bought": bought,
                    "sold": sold,
                    "net_size": bought - sold,
                    "cash_flow": flow,
                    "end_size": held.get(asset, 0),
                }
            )
    return sorted(out, key=lambda r: (r["mode"], r["session_id"], r["run_id"], r["asset_id"]))


def _sorted(rows: list[dict]) -> list[dict]:
    return sorted(rows, key=lambda r: (r["mode"], r["session_id"], r["run_id"], r["asset_id"]))


def _expected(recordings: Path) -> dict[str, dict[str, float]]:
    """The notebook's totals, computed straight from the files with pyarrow and numpy."""
    pnl: dict[str, int] = defaultdict(int)
    orders: dict[str, int] = defaultdict(int)
    filled: dict[str, int] = defaultdict(int)
    latency: dict[str, list[np.ndarray]] = defaultdict(list)
    runs: dict[str, int] = defaultdict(int)
    for run_json in sorted(recordings.glob("*/runs/*/run.json")):
        runs[json.loads(run_json.read_text())["mode"]] += 1
    for (_, mode), d in sorted(_counted(recordings).items()):
        p = pq.read_table(d / "pnl.parquet").to_pandas().sort_values(["ts_ns", "seq"])
        if len(p):
            pnl[mode] += int(p["realised_pnl"].iloc[-1] + p["marked_pnl"].iloc[-1])
        o = pq.read_table(d / "orders.parquet").to_pandas()
        orders[mode] += len(o)
        filled[mode] += int((o["filled_size"] > 0).sum())
        m = pq.read_table(d / "metrics.parquet").to_pandas()
        latency[mode].append(m.loc[m["name"] == "frame_latency_ns", "value"].to_numpy())
    p95 = {}
    for mode, parts in latency.items():
        values = np.concatenate(parts)
        p95[mode] = float(np.percentile(values, 95) / 1e6) if len(values) else None
    return {
        "runs_by_mode": dict(runs),
        "pnl_by_mode": dict(pnl),
        "orders_by_mode": dict(orders),
        "fill_rate_by_mode": {k: (filled[k] / v if v else None) for k, v in orders.items()},
        "latency_p95_ms_by_mode": p95,
    }


@pytest.mark.slow
def test_notebook_runs_headless_and_matches_the_data(
    copy_session,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,  # type: ignore[no-untyped-def]
) -> None:
    recordings = tmp_path / "recordings"
    for session in BUNDLED:
        copy_session(session)
        assert main(["replay", "--session", session, "--recordings", str(recordings)]) == 0
    # the bundled data has no shadow runs (nor trades): add a synthetic shadow week beside it
    truths = write_history(recordings, days=3, with_replay=True)
    # the same replay twice (as when parity's replay and a manual one sit side by side):
    # one recording, counted once
    import shutil

    first_replay = sorted(recordings.glob(f"{truths[0].session_id}/runs/replay"))[0]
    shutil.copytree(first_replay, first_replay.with_name("replay-again"))

    out = tmp_path / "totals.json"
    monkeypatch.setenv("POLYARB_RECORDINGS", str(recordings))
    monkeypatch.setenv("POLYARB_NOTEBOOK_OUT", str(out))
    _ensure_python3_kernel(tmp_path / "kernel", monkeypatch)
    nb = nbformat.read(NOTEBOOK, as_version=4)
    NotebookClient(
        nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    ).execute()

    errors = [
        o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"
    ]
    assert not errors, errors
    images = [
        o
        for c in nb.cells
        if c.cell_type == "code"
        for o in c.outputs
        if "image/png" in o.get("data", {})
    ]
    assert len(images) >= 3  # PnL curves, per market, fill rate + latency

    got = json.loads(out.read_text())
    want = _expected(recordings)
    assert got["runs_by_mode"] == want["runs_by_mode"]
    assert got["runs_by_mode"]["replay"] == len(BUNDLED) + 3 + 1  # real replays are included
    assert got["pnl_by_mode"] == {k: want["pnl_by_mode"].get(k, 0) for k in got["pnl_by_mode"]}
    assert got["pnl_by_mode"]["shadow"] == sum(t.pnl for t in truths) != 0
    # not the old sum over every run, which added the repeated replay's PnL again
    assert got["pnl_by_mode"]["replay"] == got["pnl_by_mode"]["shadow"]
    assert _sorted(got["positions"]) == _positions(recordings) != []
    # parity: the shadow curve ends where the replay of the same recordings ends
    assert got["curve_final_by_mode"]["shadow"] == got["curve_final_by_mode"]["replay"]
    assert got["curve_final_by_mode"]["shadow"] == sum(t.pnl for t in truths)
    assert got["orders_by_mode"] == want["orders_by_mode"]
    for mode, rate in want["fill_rate_by_mode"].items():
        assert got["fill_rate_by_mode"][mode] == pytest.approx(rate)
    assert got["latency_p95_ms_by_mode"]["shadow"] == pytest.approx(
        want["latency_p95_ms_by_mode"]["shadow"]
    )
    market_sum = sum(v for k, v in got["market_pnl"].items() if k.startswith("shadow/"))
    assert market_sum == sum(sum(t.market_pnl.values()) for t in truths)
    assert sys.executable  # the kernel runs this interpreter (jupyter_client maps "python")


@pytest.mark.slow
def test_notebook_on_a_real_shadow_run_and_its_parity_replay(
    bundled_recordings: Path,
    shared_data: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """No synthetic data: shadow the neg-risk session against `serve`, replay it with parity,
    and the notebook's shadow and replay PnL must agree to the micro-dollar."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "shadow"))
    from shadow_support import run_shadow

    from polyarb.recording.imports.negrisk import import_negrisk
    from polyarb.shadow.parity import run_parity

    source = import_negrisk(shared_data, tmp_path / "src")
    recordings = tmp_path / "recordings"
    run = run_shadow(source, recordings, "real-shadow", speed=20.0)
    assert run["summary"]["fills"] > 0
    assert run_parity(recordings / "real-shadow").passed
    # and a manual replay of the same recording beside parity's: counted once, not twice
    profile = Path(__file__).resolve().parents[2] / "profiles" / "live_shadow_negrisk_v1.yaml"
    args = ["--session", "real-shadow", "--recordings", str(recordings), "--profile", str(profile)]
    assert main(["replay", *args]) == 0

    out = tmp_path / "totals.json"
    monkeypatch.setenv("POLYARB_RECORDINGS", str(recordings))
    monkeypatch.setenv("POLYARB_NOTEBOOK_OUT", str(out))
    _ensure_python3_kernel(tmp_path / "kernel", monkeypatch)
    nb = nbformat.read(NOTEBOOK, as_version=4)
    NotebookClient(
        nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    ).execute()
    got = json.loads(out.read_text())
    want = _expected(recordings)
    assert got["runs_by_mode"] == {"replay": 2, "shadow": 1} == want["runs_by_mode"]
    assert (
        got["pnl_by_mode"]["shadow"] == want["pnl_by_mode"]["shadow"] == run["summary"]["total_pnl"]
    )
    assert got["pnl_by_mode"]["replay"] == got["pnl_by_mode"]["shadow"]  # not twice the shadow's
    # the positions traded are shown (the unwound basket holds nothing at the end)
    traded = _positions(recordings)
    assert _sorted(got["positions"]) == traded
    assert {p["mode"] for p in traded} == {"shadow", "replay"}
    assert sum(p["bought"] for p in traded if p["mode"] == "shadow") > 0
    assert got["pnl_by_mode"]["shadow"] != 0  # real fills, real fees, a real number
    assert got["curve_final_by_mode"]["shadow"] == got["curve_final_by_mode"]["replay"]
    assert got["orders_by_mode"]["shadow"] == got["orders_by_mode"]["replay"] > 0
    assert got["latency_p95_ms_by_mode"]["shadow"] == pytest.approx(
        want["latency_p95_ms_by_mode"]["shadow"]
    )
    assert got["latency_p95_ms_by_mode"]["shadow"] > 0
