"""Shared fixtures: an isolated ONELIGHT_HOME and realistic ALF trees in temporary folders."""

import json
import os
import signal
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import onelight

DATA = Path(__file__).resolve().parent / 'data'  # test data shipped with the project


def pytest_configure(config):
    """Ctrl-C and hang-ups as a terminal sends them, even when the suite was started in the
    background (a shell's ``&`` without job control ignores SIGINT, ``nohup`` SIGHUP, and
    processes inherit that): the tests of interruptions send them to this process and to the
    ones it starts."""
    if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    hangup = getattr(signal, 'SIGHUP', None)
    if hangup is not None and signal.getsignal(hangup) == signal.SIG_IGN:
        signal.signal(hangup, signal.SIG_DFL)


EDGE_SESSION = 'mainenlab/Subjects/NYU-01/2020-02-02/1'
UUID = '9198edcd-e8a4-4e8a-994f-d68a2e300380'


@pytest.fixture(autouse=True)
def home(tmp_path, monkeypatch):
    """Every test gets its own ONELIGHT_HOME and HOME (no legacy ~/.one leaks in)."""
    home = tmp_path / 'home'
    home.mkdir()
    monkeypatch.setenv('ONELIGHT_HOME', str(home / 'onelight'))
    monkeypatch.setenv('HOME', str(home))
    monkeypatch.setenv('USERPROFILE', str(home))
    monkeypatch.delenv('ONELIGHT_OFFLINE', raising=False)
    onelight.reset_default()
    reset_logger()
    yield home
    onelight.reset_default()
    reset_logger()


def reset_logger():
    """Undo what an in-process CLI run did to the onelight logger (its own handler, no
    propagation), so that caplog sees what the next test logs."""
    import logging

    log = logging.getLogger('onelight')
    log.handlers[:] = []
    log.propagate = True
    log.setLevel(logging.NOTSET)
    onelight._LazyLogger.setup = None


def add_edge_cases(root: Path) -> None:
    """Files that tripped earlier tools, in one more session (number written '1')."""
    alf = root / EDGE_SESSION / 'alf'
    alf.mkdir(parents=True)
    n = 50
    table = pd.DataFrame(
        {
            'intervals_0': np.arange(n, dtype=float),
            'intervals_1': np.arange(n, dtype=float) + 0.5,
            'goCue_times': np.arange(n) + 0.1,
            'choice': np.ones(n),
        }
    )
    table.to_parquet(alf / '_ibl_trials.table.pqt')
    np.save(alf / '_ibl_trials.stimOn_times.npy', np.arange(n) + 0.05)
    np.save(alf / f'_ibl_trials.firstMovement_times.{UUID}.npy', np.arange(n) + 0.2)
    np.save(alf / 'obj.attr.npy', np.arange(30.0).reshape(10, 3))
    (alf / 'obj.attr.metadata.json').write_text(json.dumps({'columns': ['a', 'b', 'c']}))
    np.save(alf / 'obj.times.npy', np.arange(10.0))
    (alf / 'empty.thing.npy').write_bytes(b'')
    np.save(alf / 'spikesorting.params.npy', np.zeros(3))
    np.save(alf / 'wheel.position.npy', np.zeros((7, 1)))
    np.save(alf / '_ibl_wheel.position.npy', np.ones(7))
    np.save(alf / 'mixed.short.npy', np.zeros(3))
    np.save(alf / 'mixed.long.npy', np.zeros(5))
    pd.DataFrame({'x': [1, 2], 'y': [3, 4]}).to_csv(
        alf / 'probes.description.tsv', sep='\t', index=False
    )
    (alf / 'probes.settings.yml').write_text('sampling_rate: 30000\nchannels: [1, 2]\n')
    (alf / 'probes.raw.bin').write_bytes(b'\x00' * 16)
    (root / EDGE_SESSION / 'notes.txt').write_text('not ALF\n')
    (root / EDGE_SESSION / '.DS_Store').write_bytes(b'x')
    (root / EDGE_SESSION / '.hidden.npy').write_bytes(b'x')
    (root / 'README.txt').write_text('outside any session\n')


@pytest.fixture
def alf_root(tmp_path) -> Path:
    """The demo tree plus an edge-case session."""
    root = tmp_path / 'alfroot'
    onelight.make_demo_data(root)
    add_edge_cases(root)
    return root


@pytest.fixture
def one(alf_root):
    return onelight.One(root_dir=alf_root)


@pytest.fixture
def serve():
    """Start FaultServers on 127.0.0.1 (port 0); all are stopped at the end of the test."""
    from servers import FaultServer

    started = []

    def start(root, **kwargs):
        server = FaultServer(root, **kwargs).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


def http_one(server, tmp_path, **settings):
    """An ad-hoc http client of ``server`` with fast retries, downloading under tmp_path."""
    settings.setdefault('backoff', 0.01)
    template = str(tmp_path / 'dl' / '{lab}' / '{subject}' / '{date}' / '{number}')
    return onelight.One(base_url=server.url, download_dir=template, **settings)


@pytest.fixture
def webdav(tmp_path):
    """Start wsgidav servers sharing a folder; stopped at the end of the test."""
    from servers import WebDavServer

    started = []

    def start(root=None, **kwargs):
        root = root or tmp_path / 'dav'
        root.mkdir(exist_ok=True)
        server = WebDavServer(root, **kwargs)
        server.root = root
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def figshare():
    """The figshare emulator (four servers on 127.0.0.1), stopped at the end of the test."""
    from figshare_emulator import Emulator

    emulator = Emulator()
    yield emulator
    emulator.stop()


def figshare_one(emulator, article_id, tmp_path, **settings):
    settings.setdefault('backoff', 0.01)
    settings.setdefault('downloads_url', emulator.url('download'))  # figshare's own host
    template = str(tmp_path / '{lab}' / '{subject}' / '{date}' / '{number}')
    return onelight.One(
        article_id=article_id, api_url=emulator.api_url, download_dir=template, **settings
    )


@pytest.fixture
def zenodo():
    """The Zenodo emulator (one server on 127.0.0.1), stopped at the end of the test."""
    from zenodo_emulator import Emulator

    emulator = Emulator()
    yield emulator
    emulator.stop()


def zenodo_one(emu, record, tmp_path, **settings):
    """An ad-hoc client of a Zenodo record on the emulator, downloading under tmp_path."""
    settings.setdefault('backoff', 0.01)
    template = str(tmp_path / 'dl' / '{lab}' / '{subject}' / '{date}' / '{number}')
    return onelight.One(record_id=record, api_url=emu.api_url, download_dir=template, **settings)


def cli_env(home, server, tmp_path, **settings):
    """The environment of a ``python onelight.py`` subprocess whose current repository is
    ``server`` (fast retries), downloading under tmp_path/dl."""
    import os

    env = {**os.environ, 'ONELIGHT_HOME': str(home)}
    home.mkdir(parents=True, exist_ok=True)
    repo = {'name': 'web', 'type': 'http', 'base_url': server.url, 'backoff': 0.01, **settings}
    config = {
        'repositories': [repo],
        'current_repository': 'web',
        'download_dir': str(tmp_path / 'dl' / '{lab}' / '{subject}' / '{date}' / '{number}'),
    }
    (home / 'config.json').write_text(json.dumps(config))
    return env


def read_terminal(controller: int) -> bytes:
    """What a pseudo-terminal shows until the process on it closes it."""
    seen = b''
    while True:
        try:
            chunk = os.read(controller, 4096)
        except OSError:  # the terminal closed with the process
            return seen
        if not chunk:
            return seen
        seen += chunk
