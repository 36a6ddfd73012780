"""What an interrupted download keeps: SIGKILL, Ctrl-C, SIGTERM, SIGHUP and broken answers
in the middle of large files, one stream or ranges, and a soak of faults and kills over a
release; each time, counted in the bytes the server sent."""

import os
import random
import re
import signal
import subprocess
import sys
import time

import pytest
from conftest import cli_env, http_one, read_terminal
from servers import md5_of

import onelight

SESSION = 'lab/Subjects/m1/2020-01-01/001'
REL = f'{SESSION}/raw/raw.data.bin'
needs_signals = pytest.mark.skipif(os.name == 'nt', reason='POSIX signals')


def release(root, size):
    """One file of ``size`` random bytes (written in pieces: no copy of it in memory)."""
    path = root / REL
    path.parent.mkdir(parents=True)
    with open(path, 'wb') as f:
        for _ in range(size >> 20):
            f.write(os.urandom(1 << 20))
    return path


def two_columns(server, root):
    """The index as the original client writes it: no sizes (they are learned)."""
    onelight.write_index(root, base_url=server.url)
    server.index_data = (root / '.one_root').read_bytes()


def start(server, tmp_path, *args):
    env = cli_env(tmp_path / 'home', server, tmp_path)
    cmd = [sys.executable, onelight.__file__, 'download', *args]
    return subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def interrupt_at(server, proc, share, size, signum):
    """Send ``signum`` once the server sent ``share`` of ``size`` bytes; its exit status."""
    deadline = time.monotonic() + 60
    while server.sent < share * size and proc.poll() is None:
        if time.monotonic() > deadline:
            proc.kill()
            raise AssertionError('the download did not move')
        time.sleep(0.01)
    proc.send_signal(signum)
    _, err = proc.communicate(timeout=60)
    return proc.returncode, err.decode()


def dest(tmp_path):
    return tmp_path / 'dl' / 'lab' / 'm1' / '2020-01-01' / '001' / 'raw' / 'raw.data.bin'


def rerun_sends(server, tmp_path) -> int:
    """The bytes a rerun (unthrottled, in-process) makes the server send."""
    server.throttle, before = 0, server.sent
    http_one(server, tmp_path).download(SESSION)
    return server.sent - before


@needs_signals
def test_sigkill_at_30_percent_of_a_ranged_download_keeps_most_of_it(serve, tmp_path):
    """An 80 MiB object, no size in the index: its size is learned from the first answer and
    it comes in 16 MiB ranges over five connections, each a slow link."""
    size = 80 << 20
    source = release(tmp_path / 'src', size)
    server = serve(tmp_path / 'src')
    two_columns(server, tmp_path / 'src')
    server.throttle = 0.004  # 16 KiB each 4 ms: about 4 MB/s a connection
    proc = start(server, tmp_path, SESSION)
    code, _ = interrupt_at(server, proc, 0.30, size, signal.SIGKILL)
    assert code == -signal.SIGKILL
    assert onelight.journal_path(dest(tmp_path)).exists()
    assert rerun_sends(server, tmp_path) <= 0.75 * size
    assert md5_of(dest(tmp_path)) == md5_of(source)


@needs_signals
@pytest.mark.parametrize(
    'signum, status',
    [(signal.SIGINT, 130), (signal.SIGTERM, 128 + 15), (getattr(signal, 'SIGHUP', 1), 129)],
    ids=['ctrl-c', 'sigterm', 'sighup'],
)
def test_an_interruption_keeps_what_arrived(serve, tmp_path, signum, status):
    """Ctrl-C at 45% of 200 MB (ranges: the index gives the size): at least 40% is kept, and
    the message says so; SIGTERM and SIGHUP (the terminal closed) as Ctrl-C."""
    size = 200 << 20
    source = release(tmp_path / 'src', size)
    server = serve(tmp_path / 'src')
    server.throttle = 0.002
    proc = start(server, tmp_path, SESSION)
    code, err = interrupt_at(server, proc, 0.45, size, signum)
    assert code == status, err
    assert 'Traceback' not in err
    if signum != getattr(signal, 'SIGHUP', None):  # (no terminal left to read it)
        assert 'what is done is kept' in err
    assert rerun_sends(server, tmp_path) <= 0.60 * size
    assert md5_of(dest(tmp_path)) == md5_of(source)


@needs_signals
@pytest.mark.parametrize('signum', [signal.SIGKILL, signal.SIGTERM], ids=['sigkill', 'sigterm'])
def test_a_one_stream_download_resumes_where_it_was_stopped(serve, tmp_path, signum):
    """60 MB, below the size that goes in ranges: one stream, resumed with Range."""
    size = 60 << 20
    source = release(tmp_path / 'src', size)
    server = serve(tmp_path / 'src')
    server.throttle = 0.002
    proc = start(server, tmp_path, SESSION)
    interrupt_at(server, proc, 0.5, size, signum)
    assert rerun_sends(server, tmp_path) <= 0.55 * size
    assert md5_of(dest(tmp_path)) == md5_of(source)
    resumed = [r[3] for r in server.requests_for(REL)][-1]
    assert resumed and resumed.startswith('bytes=') and resumed != 'bytes=0-'


@needs_signals
def test_a_resumed_download_shows_its_progress_from_the_bytes_kept_to_100(serve, tmp_path):
    """Through a pseudo-terminal: the bar of a resumed download opens at what was kept (not
    at 0, nor with a burst of speed) and ends at 100% for the complete, verified file."""
    pty = pytest.importorskip('pty')
    size = 20 << 20
    release(tmp_path / 'src', size)
    server = serve(tmp_path / 'src')
    server.throttle = 0.002
    interrupt_at(server, start(server, tmp_path, SESSION), 0.5, size, signal.SIGKILL)
    controller, terminal = pty.openpty()
    cmd = [sys.executable, onelight.__file__, 'download', SESSION]
    env = cli_env(tmp_path / 'home', server, tmp_path)
    with subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=terminal) as proc:
        os.close(terminal)
        seen = read_terminal(controller)
    os.close(controller)
    assert proc.returncode == 0
    shown = [int(p) for p in re.findall(r'(\d+)% ', seen.decode(errors='replace'))]
    assert shown and shown[0] >= 40 and shown[-1] == 100, shown


def test_a_200_to_a_range_stops_the_other_ranges_at_once(serve, tmp_path, monkeypatch):
    """One Range request answered with the whole file (same version): the other ranges stop
    where they are and keep what they hold; the ranges go on again from there."""
    monkeypatch.setattr(onelight, 'SEGMENT_THRESHOLD', 1 << 20)
    monkeypatch.setattr(onelight, 'SEGMENT_SIZE', 1 << 20)
    size = 8 << 20
    source = release(tmp_path / 'src', size)
    server = serve(tmp_path / 'src')
    server.throttle = 0.005
    server.add_fault(REL, ('slow', 0), ('slow', 0), ('slow', 0.3), ('ignore_range',))
    http_one(server, tmp_path).download(SESSION)
    assert md5_of(dest(tmp_path)) == md5_of(source)
    assert server.sent < 1.5 * size  # (before: every range to its end, then all again)


def test_a_new_version_met_half_way_starts_over_without_using_a_retry(serve, tmp_path):
    """The server ignores If-Range and has another version: from byte 0 at once."""
    size = 2 << 20
    release(tmp_path / 'src', size)
    server = serve(tmp_path / 'src')
    server.add_fault(REL, ('cut', 300_000))
    one = http_one(server, tmp_path, retries=1)
    with pytest.raises(onelight.TransferError, match='kept for resuming'):
        server.add_fault(REL, ('cut', 1000))
        one.download(SESSION)  # broke twice: 301,000 bytes kept
    (tmp_path / 'src' / REL).write_bytes(os.urandom(size))  # a new version on the server
    server.add_fault(REL, ('overrun',))  # (its Range answered from where asked, no If-Range)
    paths = http_one(server, tmp_path, retries=0).download(SESSION)
    assert md5_of(paths[0]) == md5_of(tmp_path / 'src' / REL)


# ----------------------------------------------------------------------------------- soak
def soak_release(root) -> int:
    """200 files: most small, some of a few MiB; their total size."""
    rng = random.Random(7)
    total = 0
    for i in range(200):
        n = rng.choice([20_000, 60_000, 150_000]) if i % 20 else rng.randint(2, 5) << 20
        path = root / SESSION / 'alf' / f'obj{i}.attr.bin'
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(os.urandom(n))
        total += n
    return total


@needs_signals
@pytest.mark.parametrize('sizes', [True, False], ids=['sizes', 'no-sizes'])
def test_a_soak_of_faults_and_kills_costs_little_more_than_the_release(serve, tmp_path, sizes):
    total = soak_release(tmp_path / 'src')
    server = serve(tmp_path / 'src')
    if not sizes:
        two_columns(server, tmp_path / 'src')
    rng = random.Random(11)
    faults = [('cut_at', 0.5), ('status', 500, {}), ('status', 503, {}), ('ignore_range',)]
    server.chaos = lambda rel: rng.choice(faults) if rng.random() < 0.2 else None
    server.throttle = 0.003
    for _ in range(5):
        proc = start(server, tmp_path, SESSION)
        time.sleep(rng.uniform(0.5, 1.5))
        proc.kill()
        proc.communicate(timeout=30)
    done = subprocess.run(
        [sys.executable, onelight.__file__, 'download', SESSION],
        env=cli_env(tmp_path / 'home', server, tmp_path, retries=10),
        capture_output=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr.decode()
    folder = tmp_path / 'dl' / 'lab' / 'm1' / '2020-01-01' / '001' / 'alf'
    for path in (tmp_path / 'src' / SESSION / 'alf').iterdir():
        assert (folder / path.name).read_bytes() == path.read_bytes()
    assert server.sent <= 1.5 * total, f'{server.sent / total:.2f}x the release'
