"""settlement.auto through the real live runner: `polyarb serve --clob` + ganache.

The exchange double trades the bundled neg-risk session; the runner watches the local
chain. Its markets are not conditions on that chain, so every held market that resolves
comes back from the worker as a settlement row saying it is not resolved on chain: the
wiring (engine → runner → worker thread → recorded row → engine) runs end to end, the
ledger keeps what it cannot redeem, and parity replays the session without a chain.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "live"))

from live_support import live_options, live_profile, run_live, start_serve

from polyarb.config.profile import Settlement
from polyarb.live.runner import LiveError, LiveRun
from polyarb.recording import SessionReader
from polyarb.shadow.parity import run_parity

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def negrisk(tmp_path_factory: pytest.TempPathFactory, shared_data: Path) -> Path:
    from polyarb.recording.imports.negrisk import import_negrisk

    return import_negrisk(shared_data, tmp_path_factory.mktemp("negrisk"))


@pytest.fixture
def double(negrisk: Path) -> Iterator[tuple[str, str]]:
    proc, ws, clob = start_serve(negrisk, "--speed", "20")
    yield ws, clob
    proc.terminate()
    proc.wait(30)


def _profile(chain137):  # type: ignore[no-untyped-def]
    profile = live_profile()
    chain = profile.chain.model_copy(
        update={
            "collateral": chain137.token,
            "conditional_tokens": chain137.ctf,
            "operator": chain137.ctf,
        }
    )
    # Hold what a failed leg leaves (the session's basket loses one leg): held to resolution.
    execution = profile.execution.model_copy(update={"leg_failure": "hold"})
    update = {"settlement": Settlement(auto=True), "chain": chain, "execution": execution}
    return profile.model_copy(update=update)


def test_auto_without_an_rpc_is_refused(negrisk: Path, tmp_path: Path, chain137) -> None:  # type: ignore[no-untyped-def]
    """The engine would wait for settlement rows nobody sends: refused before any order."""
    opts = live_options(negrisk, tmp_path, "ws://127.0.0.1:9", "http://127.0.0.1:9")
    opts.shadow.profile = _profile(chain137)
    with pytest.raises(LiveError, match=r"settlement\.auto"):
        LiveRun(opts)


def test_live_runner_hands_resolutions_to_the_chain_worker(
    negrisk: Path, tmp_path: Path, chain137, double
) -> None:  # type: ignore[no-untyped-def]
    """Every held market the feed resolves goes to the worker once and comes back as one
    recorded settlement row (here: not resolved on chain, so the shares stay in the
    ledger, with no free payout); parity replays the live session from its recording."""
    ws, clob = double
    opts = live_options(negrisk, tmp_path, ws, clob)
    opts.shadow.profile = _profile(chain137)
    opts.rpc_url = chain137.url
    opts.settle_wait_s, opts.settle_poll_s = 0.2, 0.1
    _run, run_json = run_live(opts)
    assert run_json["clean_exit"], run_json.get("error")
    sent = run_json["live"]["settlements_sent"]
    reader = SessionReader(tmp_path / "live")
    rows = [
        json.loads(payload)
        for batch in reader.iter_batches(columns=["kind", "payload"])
        for kind, payload in zip(*(c.to_pylist() for c in batch.columns), strict=True)
        if kind == "user" and payload.startswith('{"rest":"settlement"')
    ]
    assert sent > 0, "no held market resolved during the run"  # the held legs' markets
    assert len(rows) == sent
    assert all("not resolved on chain" in r["error"] and r["steps"] == [] for r in rows)
    assert run_json["summary"]["settlements"] == 0  # nothing settled for free
    held = set(run_json["live"]["ledger"]["positions"])
    metas = {m.condition_id: m for m in SessionReader(negrisk).markets()}
    for r in rows:
        assert set(metas[r["market"]].token_ids) & held, r["market"]
    result = run_parity(tmp_path / "live", shadow_run="live")
    assert result.passed, result.first_divergence
