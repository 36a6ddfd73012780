"""onelight serve: read-only, Range-capable, 404 for anything outside the index."""

import contextlib
import os
import signal
import subprocess
import sys

import pytest
import requests
from click.testing import CliRunner

import onelight

CORI1 = 'nicklab/Subjects/Cori/2016-12-14/001'
SPIKES = f'{CORI1}/alf/spikes.times.npy'


@pytest.fixture
def server(alf_root):
    with onelight.AlfServer(alf_root, port=0) as srv:
        yield srv


def test_index_has_two_columns_for_the_original_client_and_revalidates(server, alf_root):
    resp = requests.get(server.url + '.one_root', timeout=5)
    lines = [line.split('\t') for line in resp.text.splitlines()]
    assert [path for path, _ in lines] == onelight.scan(alf_root).files
    assert all(url == onelight.join_url(server.url, path) for path, url in lines)
    again = requests.get(
        server.url + '.one_root', headers={'If-None-Match': resp.headers['ETag']}, timeout=5
    )
    assert again.status_code == 304


def test_onelight_readers_get_sizes(server, alf_root):
    agent = {'User-Agent': f'onelight/{onelight.__version__}'}
    resp = requests.get(server.url + '.one_root', headers=agent, timeout=5)
    rows = [line.split('\t') for line in resp.text.splitlines()]
    assert all(len(r) == 4 and r[1] == '' and r[3] == '' for r in rows)
    assert {r[0]: int(r[2]) for r in rows} == {
        p: (alf_root / p).stat().st_size for p in onelight.scan(alf_root).files
    }


def test_a_folder_s_own_index_is_published(alf_root):
    onelight.write_index(alf_root, base_url='http://example.org/data/', checksums=True)
    own = (alf_root / '.one_root').read_bytes()
    with onelight.AlfServer(alf_root, port=0) as srv:
        assert requests.get(srv.url + '.one_root', timeout=5).content == own


def test_ranges(server, alf_root):
    data = (alf_root / SPIKES).read_bytes()
    url = server.url + SPIKES
    assert requests.get(url, timeout=5).content == data
    part = requests.get(url, headers={'Range': 'bytes=100-199'}, timeout=5)
    assert part.status_code == 206 and part.content == data[100:200]
    assert part.headers['Content-Range'] == f'bytes 100-199/{len(data)}'
    tail = requests.get(url, headers={'Range': 'bytes=-10'}, timeout=5)
    assert tail.content == data[-10:]
    bad = requests.get(url, headers={'Range': f'bytes={len(data)}-'}, timeout=5)
    assert bad.status_code == 416 and bad.headers['Content-Range'] == f'bytes */{len(data)}'
    head = requests.head(url, timeout=5)
    assert head.headers['Content-Length'] == str(len(data)) and not head.content


@pytest.mark.parametrize(
    'path',
    [
        '../../../../etc/passwd',
        '%2e%2e/%2e%2e/etc/passwd',
        'README.txt',  # outside any session: not published
        f'{CORI1}/.DS_Store',
        f'{CORI1}/alf/nothing.npy',
        '/etc/passwd',
    ],
)
def test_anything_outside_the_index_is_404(server, path):
    resp = requests.get(server.url + path, timeout=5)
    assert resp.status_code == 404


def test_read_only(server):
    assert requests.put(server.url + SPIKES, data=b'x', timeout=5).status_code == 501
    assert requests.delete(server.url + SPIKES, timeout=5).status_code == 501


def test_cli_serve_prints_the_add_repo_line(alf_root, tmp_path):
    with subprocess.Popen(
        [sys.executable, onelight.__file__, 'serve', str(alf_root), '--port', '0'],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, 'ONELIGHT_HOME': str(tmp_path / 'h')},
    ) as proc:
        try:
            first = proc.stdout.readline()
            second, third = proc.stdout.readline(), proc.stdout.readline()
            url = first.split(' at ')[1].strip()
            assert url.startswith('http://127.0.0.1:') and not url.endswith(':0/')
            assert (
                f'on this computer with: onelight add_repo NAME --type http --base-url {url}'
                in second
            )
            port = url.rstrip('/').rsplit(':', 1)[1]
            assert (
                f'to serve colleagues: onelight serve ROOT --host 0.0.0.0 --port {port}' in third
            )
            assert onelight.One(base_url=url).search(['eye'], subject='Cori') == [CORI1]
        finally:
            proc.send_signal(signal.SIGINT)
            proc.wait(10)
    assert proc.returncode == 0


def test_cli_serve_on_a_port_in_use_names_it(alf_root):
    with onelight.AlfServer(alf_root, port=0) as taken:
        port = taken.server_address[1]
        result = CliRunner().invoke(onelight.cli, ['serve', str(alf_root), '--port', str(port)])
    assert result.exit_code == 1
    assert result.stderr.strip() == (
        f'error: port {port} is in use: choose another with --port, or --port 0 for any free one'
    )


# ------------------------------------------------------------------ a hostile neighbour
needs_symlinks = pytest.mark.skipif(os.name == 'nt', reason='symlinks need privileges')


@needs_symlinks
@pytest.mark.parametrize('swap', ['file', 'folder'])
def test_a_name_swapped_for_a_link_after_the_scan_is_not_served(alf_root, tmp_path, swap):
    """Someone who can write in the served folder replaces a scanned file (or its folder) by
    a link to a secret: the secret is never sent."""
    secret = tmp_path / 'secrets'
    secret.mkdir()
    (secret / 'spikes.times.npy').write_bytes(b'PRIVATE KEY')
    with onelight.AlfServer(alf_root, port=0) as srv:
        target = alf_root / SPIKES
        if swap == 'file':
            target.unlink()
            target.symlink_to(secret / 'spikes.times.npy')
        else:
            folder = target.parent
            folder.rename(tmp_path / 'moved')
            folder.symlink_to(secret, target_is_directory=True)
        resp = requests.get(srv.url + SPIKES, timeout=5)
    assert resp.status_code == 404 and b'PRIVATE' not in resp.content


def test_another_file_at_a_scanned_name_is_not_served(server, alf_root):
    """A file replaced by another (a new inode, not the one scanned) is not sent; the folder
    is served as it was when the server started."""
    path = alf_root / SPIKES
    data = path.read_bytes()
    with path.open('rb'):  # held open, so the new file cannot reuse its inode
        path.unlink()
        path.write_bytes(data)  # the same bytes, another file
        assert requests.get(server.url + SPIKES, timeout=5).status_code == 404


def test_a_file_rewritten_in_place_is_served_with_its_new_bytes(server, alf_root):
    """The scanned file itself, rewritten (a new version of a lab's data): its new bytes."""
    path = alf_root / SPIKES
    path.write_bytes(b'new version')
    assert requests.get(server.url + SPIKES, timeout=5).content == b'new version'


def test_files_added_after_the_start_are_not_served(server, alf_root):
    """``serve`` publishes the folder as it was when it started: a file added later is in
    neither the index nor the files (restart it to publish more)."""
    new = alf_root / CORI1 / 'alf' / 'added.later.npy'
    new.write_bytes(b'new')
    rel = new.relative_to(alf_root).as_posix()
    assert rel not in requests.get(server.url + '.one_root', timeout=5).text
    assert requests.get(server.url + rel, timeout=5).status_code == 404


def test_idle_connections_do_not_keep_a_reader_waiting(alf_root):
    """300 connections from one address that send nothing (and one that drips its request
    a byte a second): a reader from another address is answered at once, and the idle ones
    are closed once their time for a request is over."""
    import socket
    import time

    with onelight.AlfServer(alf_root, port=0) as srv:
        srv.header_seconds = 1.0
        host, port = srv.server_address[:2]
        idle = []
        for _ in range(300):
            with contextlib.suppress(OSError):
                idle.append(socket.create_connection((host, port), timeout=5))
        drip = socket.create_connection((host, port), timeout=5)
        start = time.monotonic()
        try:
            reader = socket.create_connection((host, port), 5, source_address=('127.0.0.2', 0))
        except OSError:  # pragma: no cover - a system without 127.0.0.2
            pytest.skip('127.0.0.2 is not available here')
        with reader:
            reader.sendall(b'GET /.one_root HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
            assert reader.recv(12).startswith(b'HTTP/1.1 200')
        assert time.monotonic() - start < 2
        for byte in b'GET / HTTP/1.1\r\n':  # a request that would never end in time
            with contextlib.suppress(OSError):
                drip.send(bytes([byte]))
            time.sleep(0.2)
        drip.settimeout(3)
        assert drip.recv(100) == b''  # closed by the server
        time.sleep(0.5)
        closed = 0
        for s in idle:
            s.settimeout(0.1)
            with contextlib.suppress(OSError):
                closed += s.recv(1) == b''
            s.close()
        drip.close()
    assert closed == len(idle)
