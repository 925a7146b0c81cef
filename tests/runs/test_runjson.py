"""Issue 12, item 3: run.json and the run summary are typed records with one reader.

Before, replay and shadow each built run.json as a dict and readers trusted its keys;
here the file a replay writes reads back into an equal :class:`RunJson`, the file is
exactly the record's JSON form, and a file with a missing or unknown key is refused
with an error naming the file and the key.
"""

from __future__ import annotations

import json
from pathlib import Path

import msgspec
import pytest

from polyarb.api import default_profile
from polyarb.engine.replay import replay
from polyarb.runs.runjson import FeedStats, RunJson, read_run_json, run_json_dict
from polyarb.runs.schema import RUN_JSON_KEYS
from polyarb.runs.summary import RunFileError, RunSummary, summary_from_dict

SESSION = "crossing-burst-2026-09-29"


@pytest.fixture
def run_dir(copy_session) -> tuple[RunJson, Path]:
    run = replay(copy_session(SESSION), default_profile(), run_id="typed")
    assert run.run_dir is not None
    return run, Path(run.run_dir)


def test_written_run_json_reads_back_equal(run_dir):
    run, folder = run_dir
    back = read_run_json(folder)
    assert back == msgspec.structs.replace(run, run_dir=None)
    assert isinstance(back.summary, RunSummary) and back.summary == run.summary
    # the file is the record's JSON form, byte for byte, in the layout goldens compare
    text = (folder / "run.json").read_text()
    assert text == json.dumps(run_json_dict(run), indent=2, sort_keys=True) + "\n"
    assert list(json.loads(text)) == sorted(RUN_JSON_KEYS)  # no shadow keys, no run_dir


def test_summary_round_trips_through_its_json_form(run_dir):
    run, _ = run_dir
    data = run.summary.to_dict()
    assert list(data) == list(RunSummary.__struct_fields__)
    assert summary_from_dict(data) == run.summary
    # dict-style reads keep working for code written against the JSON
    assert run["summary"]["frames"] == run.summary.frames == data["frames"]
    with pytest.raises(KeyError):
        run.summary["no_such_key"]


def test_shadow_fields_round_trip_and_are_left_out_when_unset(run_dir, tmp_path):
    run, _ = run_dir
    feed = FeedStats(
        frames=1,
        bytes=2,
        reconnects=0,
        resyncs=0,
        connections=1,
        connected_ticks=3,
        connection_ticks=3,
        duplicate_frames=0,
        max_frame_gap_ns=5,
    )
    shadow = msgspec.structs.replace(
        run,
        mode="shadow",
        wall_start_ns=1,
        wall_end_ns=2,
        clean_exit=False,
        feed=feed,
        run_dir=None,
    )
    path = tmp_path / "run.json"
    path.write_text(json.dumps(run_json_dict(shadow), sort_keys=True))
    assert read_run_json(path) == shadow
    assert "error" not in json.loads(path.read_text())
    assert "wall_start_ns" not in run_json_dict(run)


@pytest.mark.parametrize(
    ("edit", "words"),
    [
        (lambda d: d.pop("decisions_sha256"), "missing required field `decisions_sha256`"),
        (lambda d: d["summary"].pop("fills"), "missing required field `fills`"),
        (lambda d: d.update(surprise=1), "unknown field `surprise`"),
        (lambda d: d["summary"].update(frames="7"), "Expected `int`, got `str`"),
    ],
)
def test_a_run_json_of_the_wrong_shape_is_a_clear_error(run_dir, edit, words):
    _, folder = run_dir
    path = folder / "run.json"
    data = json.loads(path.read_text())
    edit(data)
    path.write_text(json.dumps(data))
    with pytest.raises(RunFileError) as err:
        read_run_json(folder)
    message = str(err.value)
    assert message.startswith(f"{path}: not a valid run.json") and words in message
    assert "\n" not in message


def test_no_run_json_and_bad_json_name_the_file(tmp_path):
    with pytest.raises(RunFileError, match=f"{tmp_path / 'run.json'}: cannot read run.json"):
        read_run_json(tmp_path)
    (tmp_path / "run.json").write_text("{")
    with pytest.raises(RunFileError, match=r"run\.json: not valid JSON"):
        read_run_json(tmp_path)
    with pytest.raises(RunFileError, match="summary of x: not a run summary"):
        summary_from_dict({"frames": 1}, "summary of x")
