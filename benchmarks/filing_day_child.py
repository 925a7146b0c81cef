"""Child of filing_day.py: runs with the filing-day ``polyarb`` first on PYTHONPATH.

Imports the resolvedkit sample with that code's own importer, reads its rows once, then
answers one command per stdin line: ``rows`` (how many), ``replay`` (one full replay,
CPU seconds as JSON). Uses only APIs that existed on the filing day.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

from polyarb.cli.cmd_replay import default_profile
from polyarb.cli.common import shared_data_dir
from polyarb.engine import Engine, MemorySink
from polyarb.engine.replay import split_history
from polyarb.recording import SessionReader
from polyarb.recording.imports import import_resolvedkit


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        import_resolvedkit(shared_data_dir() / "resolvedkit_btc15m", Path(tmp))
        reader = SessionReader(Path(tmp) / "resolvedkit-btc15m")
        rows = [(f.seq, f.recv_ns, f.kind, f.payload, f.conn_id) for f in reader.frames()]
        history = reader.market_history()
        for line in sys.stdin:
            command = line.strip()
            if command == "rows":
                print(len(rows), flush=True)
            elif command == "replay":
                start_metas, later = split_history(history)
                engine = Engine(start_metas, default_profile(), MemorySink(), updates=later)
                on_frame = engine.on_frame
                start = time.process_time()
                for seq, recv_ns, kind, payload, conn_id in rows:
                    on_frame(seq, recv_ns, kind, payload, conn_id)
                engine.finish()
                print(json.dumps({"cpu_s": time.process_time() - start}), flush=True)
            else:
                break


if __name__ == "__main__":
    main()
