from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.integration.serverproc import ServerProcess


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """One server per test module, on its own new database with the demo data."""
    proc = ServerProcess(
        tmp_path_factory.mktemp("srv"),
        env={"NUMLOOKUP_SERVER_REQUEST_TIMEOUT": "2", "NUMLOOKUP_RELOAD_INTERVAL": "0.2"},
    ).start()
    yield proc
    assert proc.stop() == 0
