"""Ctrl-C during a parallel download, and two processes downloading one session at once."""

import os
import signal
import subprocess
import sys
import time

from conftest import cli_env, read_terminal

import onelight

CORI1 = 'nicklab/Subjects/Cori/2016-12-14/001'


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
    assert 'interrupted; what is done is kept' in err and 'resumes' in err
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


def test_progress_on_a_terminal_and_ctrl_c_in_it(alf_root, serve, tmp_path):
    """Through a pseudo-terminal: bytes done of the total, speed and ETA; the cursor never
    hidden; after Ctrl-C the message starts on its own line."""
    pty = __import__('pytest').importorskip('pty')
    server = serve(alf_root)
    server.throttle = 0.02
    env = cli_env(tmp_path / 'h', server, tmp_path)
    cmd = [sys.executable, onelight.__file__, 'download', CORI1, '-j', '4']
    controller, terminal = pty.openpty()
    with subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=terminal) as proc:
        os.close(terminal)
        seen = b''
        deadline = time.time() + 20
        while time.time() < deadline and b'/s' not in seen:
            seen += os.read(controller, 4096)
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=20)
        seen += read_terminal(controller)
    os.close(controller)
    text = seen.decode(errors='replace')
    assert proc.returncode == 130
    assert ' of ' in text and ('kB' in text or 'MB' in text)
    assert '/s' in text and '%' in text
    assert '\x1b[?25l' not in text  # the cursor is never hidden
    last = text.replace('\r\n', '\n').split('\n')
    interrupted = [line for line in last if 'interrupted' in line]
    assert interrupted and ' of ' not in interrupted[0]  # not glued to the progress line
    assert interrupted[0].startswith('downloading')


def test_ctrl_c_in_a_process_stops_its_workers_whatever_the_main_thread_was_doing():
    """Ctrl-C is noted while the workers run and raised by the coordinating loop (one that
    landed inside ``concurrent.futures.wait`` left a future's lock taken, and the workers
    waited for ever: a narrow window, which the terminal test above hit under load); the
    program's SIGINT handler is Python's again afterwards."""
    import threading

    import pytest

    if threading.current_thread() is not threading.main_thread():
        pytest.skip('signals reach the main thread only')
    engine = onelight.TransferEngine(name='t', progress=False)

    def transfer(item, progress, stop):  # a transfer, between its chunks
        while not stop.is_set():
            time.sleep(0.0005)
        raise onelight._Stopped()

    for _ in range(30):  # the moment of the signal varies from one round to the next
        timer = threading.Timer(0.02, os.kill, (os.getpid(), signal.SIGINT))
        timer.start()
        with pytest.raises(KeyboardInterrupt, match='interrupted; what is done is kept'):
            engine.run_parallel(transfer, list(range(8)), label='downloading 8 files')
        timer.join()
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
