"""Sweep fixtures: a small recordings folder, a real Dask cluster and an S3 server on loopback."""

from __future__ import annotations

import os
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from sweep_support import DaskCluster, start_cluster, stop_cluster

from polyarb.recording.imports import import_burst
from polyarb.recording.imports.negrisk import import_negrisk


@pytest.fixture(autouse=True, scope="module")
def _dummy_aws(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Dummy credentials, no config files: nothing may look for real AWS settings."""
    none = tmp_path_factory.mktemp("aws")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("AWS_ACCESS_KEY_ID", "testing")
        mp.setenv("AWS_SECRET_ACCESS_KEY", "testing")
        mp.setenv("AWS_DEFAULT_REGION", "us-east-1")
        mp.setenv("AWS_EC2_METADATA_DISABLED", "true")
        mp.setenv("AWS_CONFIG_FILE", str(none / "config"))
        mp.setenv("AWS_SHARED_CREDENTIALS_FILE", str(none / "credentials"))
        yield


@pytest.fixture(autouse=True)
def _private_cache(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Each test pulls remote sessions into its own cache."""
    monkeypatch.setenv("POLYARB_CACHE", str(tmp_path / "cache"))


@pytest.fixture(scope="module")
def sweep_recordings(tmp_path_factory: pytest.TempPathFactory, shared_data: Path) -> Path:
    """Three tiny sessions: the real crossing burst and two copies of the neg-risk import."""
    root = tmp_path_factory.mktemp("sweep") / "recordings"
    import_burst(shared_data, root)
    import_negrisk(shared_data, root, session_id="negrisk-a")
    import_negrisk(shared_data, root, session_id="negrisk-b")
    return root


@pytest.fixture(scope="module")
def dask_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DaskCluster]:
    """A real scheduler and two workers for the module's tests."""
    cluster = start_cluster(tmp_path_factory.mktemp("dask"))
    yield cluster
    stop_cluster(cluster)


@pytest.fixture(scope="module")
def s3_server(_dummy_aws: None) -> Iterator[str]:
    """moto's S3-compatible server on 127.0.0.1 (ephemeral port); yields its endpoint URL."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    # moto keeps its buckets per process: start from an empty server
    urllib.request.urlopen(urllib.request.Request(f"{endpoint}/moto-api/reset", method="POST"))
    old = os.environ.get("AWS_ENDPOINT_URL")
    os.environ["AWS_ENDPOINT_URL"] = endpoint
    try:
        yield endpoint
    finally:
        if old is None:
            os.environ.pop("AWS_ENDPOINT_URL", None)
        else:
            os.environ["AWS_ENDPOINT_URL"] = old
        server.stop()
