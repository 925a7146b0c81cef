"""Target resolution through Gamma and CLOB (real samples served on loopback)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from polyarb.discovery import JsonHttp, ResolveError, parse_target, resolve
from polyarb.recording import SessionReader
from polyarb.server.thread import ServerThread

REPO = Path(__file__).resolve().parents[2]
EVENT = "democratic-presidential-nominee-2028"
SLUG = "btc-updown-5m-1787414400"
CLOSED_CID = "0xd57eed0d44f5b8ca54925d8d6ff440b146b3e6e071da18136ee3ee572d34479e"
CLOB_ONLY_CID = "0xdd22472e552920b8438158ea7238bfadfa4f736aa4cee91a6b86c39ead110917"


def _clients(apis: tuple[str, str, object]) -> dict[str, JsonHttp]:
    gamma, clob, _ = apis
    return {"gamma": JsonHttp(gamma, retries=0), "clob": JsonHttp(clob, retries=0)}


def test_parse_target_kinds() -> None:
    assert parse_target("1" * 77).kind == "token"
    assert parse_target("1557558").kind == "market_id"
    assert parse_target("0x" + "A" * 64).kind == "condition"
    assert parse_target(SLUG).kind == "slug"
    assert parse_target(f"event:{EVENT}").kind == "event"
    with pytest.raises(ResolveError, match="cannot tell"):
        parse_target("what is this?")


def test_event_resolves_every_market_with_neg_risk_flags(apis: tuple[str, str, object]) -> None:
    found = resolve([f"event:{EVENT}"], **_clients(apis))
    assert len(found.markets) == 2
    assert all(m.neg_risk and m.neg_risk_augmented for m in found.markets)
    assert len(found.assets) == 4


def test_slug_token_and_market_id(apis: tuple[str, str, object], shared_data: Path) -> None:
    sample = json.loads((shared_data / "gamma/market_btc_updown_5m_2026-03-11.json").read_text())
    token = json.loads(sample["clobTokenIds"])[1]
    found = resolve([SLUG, token, "1557558"], **_clients(apis))
    slugs = [m.slug for m in found.markets]
    assert slugs == ["btc-updown-5m-1773307200", SLUG]  # tokens first, duplicates folded
    twap = found.markets[1]
    assert twap.fee_rate == 70_000 and twap.fee_taker_only


def test_closed_market_found_with_a_note_and_clob_fallback(apis: tuple[str, str, object]) -> None:
    found = resolve([CLOSED_CID, CLOB_ONLY_CID], **_clients(apis))
    assert [m.condition_id for m in found.markets] == [CLOSED_CID, CLOB_ONLY_CID]
    assert any("closed" in n for n in found.notes)
    assert any("CLOB" in n for n in found.notes)


def test_unknown_targets_are_clear_errors(apis: tuple[str, str, object]) -> None:
    with pytest.raises(ResolveError, match="no market with slug 'nope'"):
        resolve(["nope"], **_clients(apis))
    with pytest.raises(ResolveError, match="not found on Gamma or CLOB"):
        resolve(["0x" + "0" * 64], **_clients(apis))


def test_record_resolves_targets_and_writes_markets_parquet(
    apis: tuple[str, str, object], bundled_recordings: Path, tmp_path: Path
) -> None:
    gamma, clob, fake = apis
    with ServerThread(bundled_recordings / "crossing-burst-2026-09-29", speed=1.0) as server:
        result = subprocess.run(
            [
                sys.executable, "-m", "polyarb", "record", SLUG, "--event", EVENT,
                "--gamma-url", gamma, "--clob-url", clob, "--url", server.url,
                "--recordings", str(tmp_path), "--session", "disc", "--duration", "1",
                "--no-status",
            ],
            capture_output=True, text=True, cwd=REPO, timeout=60,
        )  # fmt: skip
    assert result.returncode == 0, result.stderr
    reader = SessionReader(tmp_path / "disc")
    assert sorted(m.slug for m in reader.markets()) == sorted(
        [SLUG, *(m["slug"] for m in fake.events[0]["markets"])]  # type: ignore[attr-defined]
    )
    subscribe = json.loads(next(f.payload for f in reader.frames() if f.kind == "subscribe"))
    assert len(subscribe["assets_ids"]) == 6
    assert reader.manifest["assets"] == sorted(subscribe["assets_ids"])


def test_record_reports_unknown_targets(apis: tuple[str, str, object], tmp_path: Path) -> None:
    gamma, clob, _ = apis
    result = subprocess.run(
        [sys.executable, "-m", "polyarb", "record", "no-such-market", "--gamma-url", gamma,
         "--clob-url", clob, "--recordings", str(tmp_path)],
        capture_output=True, text=True, cwd=REPO, timeout=60,
    )  # fmt: skip
    assert result.returncode == 2
    assert "no market with slug 'no-such-market'" in result.stderr
