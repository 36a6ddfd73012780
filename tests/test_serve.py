"""onelight serve: read-only, Range-capable, 404 for anything outside the index."""

import os
import signal
import subprocess
import sys

import pytest
import requests

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
            second = proc.stdout.readline()
            url = first.split(' at ')[1].strip()
            assert url.startswith('http://127.0.0.1:') and not url.endswith(':0/')
            assert f'onelight add_repo NAME --type http --base-url {url}' in second
            assert onelight.One(base_url=url).search(['eye'], subject='Cori') == [CORI1]
        finally:
            proc.send_signal(signal.SIGINT)
            proc.wait(10)
    assert proc.returncode == 0
