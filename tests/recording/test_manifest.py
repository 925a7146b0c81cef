"""Issue 12, item 3: a session's manifest.json is a typed record with one reader and writer.

Before, the writer built it as a dict and every reader trusted its keys (``.get`` with
defaults hid a missing one). Here what the writer writes reads back equal, the file keeps
its keys, and a manifest with a missing or unknown key is a one-line error naming the file.
"""

from __future__ import annotations

import json
from pathlib import Path

import msgspec
import pytest

from polyarb.recording import SessionReader, SessionWriter
from polyarb.recording.manifest import Manifest, Part, SessionError, read_manifest, write_manifest

KEYS = {
    "id", "format", "polyarb_version", "feed_url", "created_ns", "source", "assets", "sealed",
    "recoveries", "parts", "counts", "frames", "start_ns", "end_ns", "markets",
}  # fmt: skip
PART_KEYS = {"file", "rows", "first_seq", "last_seq", "bytes", "sha256"}


def _session(tmp_path: Path) -> Path:
    with SessionWriter(tmp_path, "s", feed_url="ws://x", source={"kind": "test"}) as w:
        w.set_assets(["b", "a"])
        for i in range(3):
            w.append("frame", f'{{"i":{i}}}', 10 + i, 10 + i)
    return tmp_path / "s"


def test_the_written_manifest_reads_back_equal(tmp_path):
    session = _session(tmp_path)
    m = read_manifest(session)
    assert isinstance(m, Manifest) and isinstance(m.parts[0], Part)
    assert (m.id, m.sealed, m.assets, m.frames, m.counts) == (
        "s",
        True,
        ["a", "b"],
        3,
        {"frame": 3},
    )
    assert (m.start_ns, m.end_ns, m.parts[0].codec) == (10, 12, None)
    assert SessionReader(session).manifest == m
    data = json.loads((session / "manifest.json").read_text())
    assert set(data) == KEYS and set(data["parts"][0]) == PART_KEYS  # the keys on disk stay
    write_manifest(tmp_path, m)
    assert (tmp_path / "manifest.json").read_bytes() == (session / "manifest.json").read_bytes()
    assert read_manifest(tmp_path / "manifest.json") == m


def test_compaction_marks_the_part_and_it_reads_back(tmp_path):
    session = _session(tmp_path)
    m = read_manifest(session)
    m.parts[0] = msgspec.structs.replace(m.parts[0], codec="book-v1")
    write_manifest(session, m)
    assert read_manifest(session).parts[0].codec == "book-v1"


@pytest.mark.parametrize(
    ("edit", "words"),
    [
        (lambda d: d.pop("sealed"), "missing required field `sealed`"),
        (lambda d: d["parts"][0].pop("sha256"), "missing required field `sha256`"),
        (lambda d: d.update(extra=1), "unknown field `extra`"),
        (lambda d: d.update(frames="3"), "Expected `int`, got `str`"),
    ],
)
def test_a_manifest_of_the_wrong_shape_is_a_clear_error(tmp_path, edit, words):
    session = _session(tmp_path)
    path = session / "manifest.json"
    data = json.loads(path.read_text())
    edit(data)
    path.write_text(json.dumps(data))
    with pytest.raises(SessionError) as err:
        SessionReader(session)
    message = str(err.value)
    assert message.startswith(f"{path} is not a valid manifest") and words in message
    assert "\n" not in message
