"""Ctrl-C during a parallel download, and two processes downloading one session at once."""

import json
import os
import signal
import subprocess
import sys
import time

import onelight

CORI1 = 'nicklab/Subjects/Cori/2016-12-14/001'


def cli_env(home, server, tmp_path):
    """A config with the server as the current repository, for subprocesses."""
    env = {**os.environ, 'ONELIGHT_HOME': str(home)}
    home.mkdir(parents=True, exist_ok=True)
    config = {
        'repositories': [{'name': 'web', 'type': 'http', 'base_url': server.url, 'backoff': 0.01}],
        'current_repository': 'web',
        'download_dir': str(tmp_path / 'dl' / '{lab}' / '{subject}' / '{date}' / '{number}'),
    }
    (home / 'config.json').write_text(json.dumps(config))
    return env


def session_dir(tmp_path):
    return tmp_path / 'dl' / 'nicklab' / 'Cori' / '2016-12-14' / '001'


def test_ctrl_c_keeps_parts_and_a_rerun_completes(alf_root, serve, tmp_path):
    server = serve(alf_root)
    server.throttle = 0.05
    env = cli_env(tmp_path / 'h', server, tmp_path)
    cmd = [sys.executable, onelight.__file__, 'download', CORI1, 'spikes', '-j', '4']
    with subprocess.Popen(
        cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    ) as proc:
        folder = session_dir(tmp_path) / 'alf'
        deadline = time.time() + 20
        while time.time() < deadline:
            parts = list(folder.glob('*.part')) if folder.exists() else []
            if parts and all(p.stat().st_size > 0 for p in parts) and len(parts) == 4:
                break
            time.sleep(0.02)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=20)
    assert proc.returncode == 130, err
    assert 'Traceback' not in err
    parts = list(folder.glob('*.part'))
    assert parts, 'interrupted downloads keep their .part files'
    assert not list(folder.glob('spikes.times.npy'))  # not finished: no final file
    server.throttle = 0
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert not list(folder.glob('*.part'))
    for name in ('spikes.times.npy', 'spikes.clusters.npy', 'spikes.amps.npy'):
        assert (folder / name).read_bytes() == (alf_root / CORI1 / 'alf' / name).read_bytes()
    resumed = [r for r in server.requests if r[3] and r[3] != 'bytes=0-']
    assert resumed, 'the rerun resumed with Range requests'


def test_two_processes_download_the_same_session(alf_root, serve, tmp_path):
    server = serve(alf_root)
    server.throttle = 0.002
    env = cli_env(tmp_path / 'h', server, tmp_path)
    cmd = [sys.executable, onelight.__file__, '-q', 'download', CORI1]
    procs = [
        subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    outputs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outputs
    folder = session_dir(tmp_path)
    assert not list(folder.rglob('*.part'))
    for rel in onelight.One(root_dir=alf_root).list_(CORI1):
        assert (folder / rel).read_bytes() == (alf_root / CORI1 / rel).read_bytes()
    assert outputs[0][0] == outputs[1][0]
