"""http repositories through the transfer engine, against real servers on 127.0.0.1."""

import contextlib
import os
import time

import numpy as np
import pytest
from click.testing import CliRunner
from conftest import EDGE_SESSION, http_one
from servers import md5_of

import onelight

CORI1 = 'nicklab/Subjects/Cori/2016-12-14/001'
SPIKES = f'{CORI1}/alf/spikes.times.npy'


def dest_of(tmp_path, rel):
    lab, _, subject, date, number, *rest = rel.split('/')
    return tmp_path.joinpath('dl', lab, subject, date, number, *rest)


def test_end_to_end_search_download_load(alf_root, serve, tmp_path):
    server = serve(alf_root)
    one = http_one(server, tmp_path)
    assert one.search(['eye'], subject='Cori') == [CORI1]
    paths = one.download(CORI1)
    source = onelight.One(root_dir=alf_root).list_(CORI1)
    assert len(paths) == len(source) == 30
    for path in paths:
        rel = path.relative_to(tmp_path / 'dl/nicklab/Cori/2016-12-14/001').as_posix()
        assert path.read_bytes() == (alf_root / CORI1 / rel).read_bytes()
    assert not list((tmp_path / 'dl').rglob('*.part'))
    spikes = one.load_object(CORI1, 'spikes')
    np.testing.assert_array_equal(spikes.times, np.load(alf_root / SPIKES)[:, 0])
    trials = one.load_object(EDGE_SESSION, 'trials')  # parquet table + metadata over http
    assert trials.intervals.shape == (50, 2)
    # a rerun makes no request at all...
    before = len(server.requests)
    assert one.download(CORI1) == paths
    assert one.load_object(CORI1, 'spikes').keys() == spikes.keys()
    assert len(server.requests) == before
    # ...and a fresh client costs one revalidation of the index (304)
    again = http_one(server, tmp_path)
    fetched = again.download(CORI1)
    assert server.requests[before:] == [('GET', '.one_root', None, None)]
    assert fetched.report.files == 0 and fetched == paths  # the report is returned


def test_identical_names_in_two_collections_do_not_collide(alf_root, serve, tmp_path):
    server = serve(alf_root)
    one = http_one(server, tmp_path)
    csh = 'churchlandlab/Subjects/CSH_ZAD_003/2021-06-01/001'
    paths = one.download(csh, 'spikes', collection='alf/probe00') + one.download(
        csh, 'spikes', collection='alf/probe01'
    )
    assert len(set(paths)) == 6
    for path in paths:
        rel = path.relative_to(tmp_path / 'dl/churchlandlab/CSH_ZAD_003/2021-06-01/001')
        assert path.read_bytes() == (alf_root / csh / rel).read_bytes()


def download_one(server, tmp_path, rel=SPIKES, **settings):
    one = http_one(server, tmp_path, **settings)
    session = '/'.join(rel.split('/')[:5])
    return one, one.load_dataset(session, rel.split('/', 5)[5], download_only=True)


@pytest.mark.parametrize(
    'faults',
    [
        [('cut', 1000)],
        [('cut', 10), ('cut', 5000)],
        [('status', 503, {})] * 3,
        [('status', 500, {}), ('status', 502, {}), ('status', 504, {})],
    ],
    ids=['cut', 'cut-twice', '503x3', '5xx'],
)
def test_faults_recovered(alf_root, serve, tmp_path, faults):
    server = serve(alf_root)
    server.add_fault(SPIKES, *faults)
    _, path = download_one(server, tmp_path)
    assert path.read_bytes() == (alf_root / SPIKES).read_bytes()
    assert len(server.requests_for(SPIKES)) == len(faults) + 1
    if faults[0][0] == 'cut':
        ranges = [r[3] for r in server.requests_for(SPIKES)]
        assert ranges[0] is None and ranges[1].startswith('bytes=') and ranges[1] != 'bytes=0-'
    assert not path.with_name(path.name + '.part').exists()


def test_body_longer_than_content_length_is_caught_by_the_size(alf_root, serve, tmp_path):
    """A 2-column index cannot know; a 4-column one refuses the short file and keeps none."""
    server = serve(alf_root)
    onelight.write_index(alf_root, base_url=server.url, checksums=True)
    server.index_data = (alf_root / '.one_root').read_bytes()
    server.add_fault(SPIKES, ('long_body',))
    with pytest.raises(onelight.IntegrityError, match='bytes on the server'):
        download_one(server, tmp_path)
    dest = dest_of(tmp_path, SPIKES)
    assert not dest.exists() and not dest.with_name(dest.name + '.part').exists()
    _, path = download_one(server, tmp_path)
    assert path.read_bytes() == (alf_root / SPIKES).read_bytes()


def test_429_retry_after_is_honoured(alf_root, serve, tmp_path):
    server = serve(alf_root)
    server.add_fault(SPIKES, ('status', 429, {'Retry-After': '1'}))
    start = time.perf_counter()
    _, path = download_one(server, tmp_path)
    assert time.perf_counter() - start >= 1.0
    assert path.read_bytes() == (alf_root / SPIKES).read_bytes()


def server_etag(server, rel):
    """The validator the server gives a file (asked with a plain HEAD)."""
    import urllib.request

    request = urllib.request.Request(server.url + rel, method='HEAD')
    with urllib.request.urlopen(request) as resp:
        etag = resp.headers['ETag']
    server.requests.clear()
    return etag


def plant_part(tmp_path, data, validator=None, size=None):
    """A .part holding ``data``, with the journal a broken download keeps when ``validator``:
    one range, ``data`` its prefix (with its CRC)."""
    import json
    import zlib

    part = dest_of(tmp_path, SPIKES).with_name('spikes.times.npy.part')
    part.parent.mkdir(parents=True)
    part.write_bytes(data)
    if validator:
        journal = {
            'size': size,
            'validator': validator,
            'ranges': [[0, size, len(data), zlib.crc32(data)]],
        }
        part.with_name(part.name + '.ranges').write_text(json.dumps(journal))
    return part


def test_server_ignoring_range_restarts_the_part(alf_root, serve, tmp_path):
    server = serve(alf_root)
    data = (alf_root / SPIKES).read_bytes()
    plant_part(tmp_path, b'garbage' * 100, server_etag(server, SPIKES), len(data))
    server.add_fault(SPIKES, ('ignore_range',))
    _, path = download_one(server, tmp_path)
    assert server.requests_for(SPIKES)[0][3] == 'bytes=700-'
    assert path.read_bytes() == data


def test_existing_part_is_resumed(alf_root, serve, tmp_path):
    server = serve(alf_root)
    data = (alf_root / SPIKES).read_bytes()
    plant_part(tmp_path, data[:5000], server_etag(server, SPIKES), len(data))
    _, path = download_one(server, tmp_path)
    assert server.requests_for(SPIKES)[0][3] == 'bytes=5000-'
    assert path.read_bytes() == data


def test_a_part_nobody_vouches_for_is_fetched_again(alf_root, serve, tmp_path):
    """Bytes without the state of the download that wrote them (a preallocated file, a
    planted one) are never taken for data."""
    server = serve(alf_root)
    data = (alf_root / SPIKES).read_bytes()
    part = plant_part(tmp_path, b'\0' * len(data))
    _, path = download_one(server, tmp_path)
    assert server.requests_for(SPIKES)[0][3] is None
    assert path.read_bytes() == data and not part.exists()


def test_a_resume_is_never_spliced_onto_a_new_version(alf_root, serve, tmp_path):
    """The kept bytes are of an older version: If-Range makes the server send the whole new
    file, which replaces them."""
    server = serve(alf_root)
    data = (alf_root / SPIKES).read_bytes()
    plant_part(tmp_path, b'v1' * 2500, '"an-older-version"', len(data))
    _, path = download_one(server, tmp_path)
    first = server.requests_for(SPIKES)[0]
    assert first[3] == 'bytes=5000-'
    assert path.read_bytes() == data


def checksum_index(server, alf_root, corrupt_rel=None, size_delta=0):
    onelight.write_index(alf_root, base_url=server.url, checksums=True)
    lines = (alf_root / '.one_root').read_text().splitlines()
    out = []
    for line in lines:
        path, url, size, md5 = line.split('\t')
        if path == corrupt_rel:
            size = str(int(size) + size_delta)
        out.append('\t'.join((path, url, size, md5)))
    server.set_index(out)


def test_md5_mismatch_leaves_no_file(alf_root, serve, tmp_path):
    server = serve(alf_root)
    checksum_index(server, alf_root)
    server.add_fault(SPIKES, ('corrupt',))
    with pytest.raises(onelight.IntegrityError, match='md5'):
        download_one(server, tmp_path)
    dest = dest_of(tmp_path, SPIKES)
    assert not dest.exists() and not dest.with_name(dest.name + '.part').exists()
    _, path = download_one(server, tmp_path)  # the next try is clean
    assert md5_of(path) == md5_of(alf_root / SPIKES)


def test_size_disagreeing_with_the_index(alf_root, serve, tmp_path):
    server = serve(alf_root)
    checksum_index(server, alf_root, corrupt_rel=SPIKES, size_delta=3)
    with pytest.raises(onelight.IntegrityError, match='in the index'):
        download_one(server, tmp_path)
    assert not dest_of(tmp_path, SPIKES).exists()


def test_complete_file_with_md5_is_not_fetched_but_a_wrong_one_is(alf_root, serve, tmp_path):
    server = serve(alf_root)
    checksum_index(server, alf_root)
    one, path = download_one(server, tmp_path)
    n = len(server.requests)
    path.write_bytes(b'x' * path.stat().st_size)  # same size, wrong bytes
    one.load_dataset(CORI1, 'spikes.times', download_only=True)
    assert len(server.requests) == n + 1 and md5_of(path) == md5_of(alf_root / SPIKES)


def test_slow_server_times_out_cleanly(alf_root, serve, tmp_path):
    server = serve(alf_root)
    server.add_fault(SPIKES, *[('slow', 1.0)] * 4)
    with pytest.raises(onelight.TransferError, match='timed out'):
        download_one(server, tmp_path, timeout=0.2, retries=1)
    assert not dest_of(tmp_path, SPIKES).exists()


def test_persistent_server_error(alf_root, serve, tmp_path):
    server = serve(alf_root)
    server.add_fault(SPIKES, *[('status', 500, {})] * 10)
    with pytest.raises(onelight.TransferError, match=r'500'):
        download_one(server, tmp_path, retries=2)
    dest = dest_of(tmp_path, SPIKES)
    assert not dest.exists() and not dest.with_name(dest.name + '.part').exists()


def test_basic_auth(alf_root, serve, tmp_path):
    server = serve(alf_root, auth=('alice', 's3cret'))
    _, path = download_one(server, tmp_path, login='alice', password='s3cret')
    assert path.read_bytes() == (alf_root / SPIKES).read_bytes()
    with pytest.raises(onelight.AuthError, match='access refused') as err:
        http_one(server, tmp_path, login='alice', password='wrong').search()
    assert 'wrong' not in str(err.value)
    with pytest.raises(onelight.AuthError):
        http_one(server, tmp_path).search()


def test_credentials_never_leave_the_origin(alf_root, serve, tmp_path):
    server = serve(alf_root, auth=('alice', 's3cret'))
    other = serve(alf_root)  # another port: another origin
    server.add_fault(SPIKES, ('redirect', other.url))
    other_rel = f'{CORI1}/alf/spikes.clusters.npy'
    lines = []
    for rel in onelight.scan(alf_root).files:
        base = other.url if rel == other_rel else server.url
        lines.append(f'{rel}\t{onelight.join_url(base, rel)}')
    server.set_index(lines)
    one = http_one(server, tmp_path, login='alice', password='s3cret')
    spikes = one.load_object(CORI1, 'spikes')
    assert spikes.times.shape == (20000,)
    assert other.requests_for(SPIKES) and other.requests_for(other_rel)
    assert all(auth is None for _, _, auth, _ in other.requests)
    assert all(auth for _, _, auth, _ in server.requests)


def test_missing_index_names_the_url(tmp_path, serve):
    (tmp_path / 'empty').mkdir()
    server = serve(tmp_path / 'empty')
    server.index_data = None
    server.files = {}

    one = http_one(server, tmp_path)
    server.add_fault('.one_root', ('status', 404, {}))
    with pytest.raises(onelight.NotFoundError, match=f'no index at {server.url}.one_root'):
        one.search()


def test_unreachable_server(tmp_path):
    one = onelight.One(base_url='http://127.0.0.1:9/', retries=0, backoff=0)
    with pytest.raises(onelight.TransferError, match='cannot reach'):
        one.search()


@pytest.mark.parametrize('url', ['http://127.0.0.1:{port}/', 'http://no-such-host.invalid/'])
def test_a_closed_port_or_an_unknown_host_fails_at_once(url, caplog):
    """Not transient: no retry, no wait (15 s of silence before), and one line saying so."""
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(('127.0.0.1', 0))
        url = url.format(port=s.getsockname()[1])
    if 'invalid' in url:
        try:
            socket.getaddrinfo('no-such-host.invalid', 80)
        except socket.gaierror as e:
            if e.errno not in (socket.EAI_NONAME, getattr(socket, 'EAI_NODATA', None)):
                pytest.skip(f'no name server answers here ({e})')
    one = onelight.One(base_url=url, retries=5, backoff=10)
    with pytest.raises(onelight.TransferError) as caught:
        one.search()
    text = str(caught.value)
    assert 'cannot reach the server' in text and 'attempts' not in text and '\n' not in text
    assert 'retrying' not in caplog.text


def test_each_retry_says_so_in_one_line(alf_root, serve, tmp_path, capfd):
    """Other failures are retried, each said on stderr at the default verbosity."""
    server = serve(alf_root)
    server.add_fault('.one_root', ('status', 503, {}), ('status', 503, {}))
    result = CliRunner().invoke(
        onelight.cli,
        ['add_repo', 'web', '--type', 'http', '--base-url', server.url, '--backoff', '0.01'],
    )
    assert result.exit_code == 0
    result = CliRunner().invoke(onelight.cli, ['search', '--subject', 'Cori'])
    assert result.exit_code == 0 and CORI1 in result.stdout
    lines = [x for x in result.stderr.splitlines() if 'retrying' in x]
    assert lines == ['WARNING: retrying now: the server answered 503'] * 2, result.stderr


def test_offline_uses_the_cached_index_and_local_files(alf_root, serve, tmp_path, monkeypatch):
    server = serve(alf_root)
    with pytest.raises(onelight.OfflineError, match='not cached'):
        http_one(server, tmp_path, offline=True).search()
    one = http_one(server, tmp_path)
    one.download(CORI1, 'trials')
    n = len(server.requests)
    monkeypatch.setenv('ONELIGHT_OFFLINE', '1')
    offline = http_one(server, tmp_path)
    assert offline.search(['eye']) == ['nicklab/Subjects/Theiler/2017-10-11/001', CORI1]
    assert offline.load_object(CORI1, 'trials').goCue_times.shape == (214,)
    with pytest.raises(onelight.OfflineError, match='not available offline'):
        offline.load_object(CORI1, 'spikes')
    assert len(server.requests) == n


def test_corrupt_cached_index_is_fetched_again(alf_root, serve, tmp_path):
    server = serve(alf_root)
    http_one(server, tmp_path).search()
    cache = onelight.app_dirs().cache / 'index'
    (body,) = cache.glob('*.one_root')
    body.write_bytes(b'\x00garbage')
    assert len(http_one(server, tmp_path).search()) == 6
    # no If-None-Match sent
    assert server.requests_for('.one_root')[-1] == ('GET', '.one_root', None, None)
    (meta,) = cache.glob('*.json')
    meta.write_text('{not json')
    assert len(http_one(server, tmp_path).search()) == 6


def test_bad_http_settings():
    for settings, message in (
        ({'base_url': 'ftp://x/'}, 'must be an http'),
        ({'base_url': 'http://x/', 'jobs': 0}, 'jobs must be between'),
        ({'base_url': 'http://x/', 'timeout': 'soon'}, 'timeout must be a number'),
        ({'base_url': 'http://x/', 'password': 'p'}, 'needs a login'),
    ):
        with pytest.raises(onelight.ConfigError, match=message):
            onelight.One(**settings)


def test_adhoc_clients_get_distinct_names(tmp_path):
    assert onelight.One(base_url='http://example.org:8080/x/').repository.name == (
        'example.org-8080'
    )
    assert onelight.One(base_url='https://data.lab.org/').repository.name == 'data.lab.org'
    assert onelight.One(article_id=9598406).repository.name == 'figshare-9598406'
    assert onelight.One('mine', base_url='https://data.lab.org/').repository.name == 'mine'


def test_two_servers_with_the_same_etag_keep_their_own_index(alf_root, serve, tmp_path):
    other = tmp_path / 'other'
    (other / 'lab' / 'Subjects' / 'm1' / '2021-05-05' / '001' / 'alf').mkdir(parents=True)
    (other / 'lab/Subjects/m1/2021-05-05/001/alf/x.y.npy').write_bytes(b'x')
    first, second = serve(alf_root), serve(other)
    first.fixed_etag = second.fixed_etag = '"same"'
    for _ in range(2):  # the second round revalidates both cached copies
        assert len(http_one(first, tmp_path).search()) == 6
        assert http_one(second, tmp_path).search() == ['lab/Subjects/m1/2021-05-05/001']
    # a name with dots of its own is kept whole
    names = sorted(p.name for p in (onelight.app_dirs().cache / 'index').glob('*.one_root'))
    assert len(names) == 2 and all(n.startswith('127.0.0.1-') for n in names), names
    assert [r[0] for r in second.requests_for('.one_root')] == ['GET', 'GET']


def test_parsed_copy_of_a_large_index_skips_parsing(tmp_path, serve, monkeypatch):
    lines = [
        f'lab/Subjects/m{i % 50}/2020-01-{1 + i % 28:02d}/{1 + i // 1400:03d}/o{i % 7}.a{i}.npy'
        for i in range(12_000)
    ]
    server = serve(tmp_path)
    server.set_index(lines)
    first = http_one(server, tmp_path)
    expected = first.search(['o3'], subject='m1')
    parsed = list((onelight.app_dirs().cache / 'index').glob('*.parsed.arrow'))
    assert len(parsed) == 1 and len(expected) > 0

    def no_parsing(*args, **kwargs):
        raise AssertionError('parsed again')

    with monkeypatch.context() as m:
        m.setattr(onelight.Index, 'from_bytes', no_parsing)
        again = http_one(server, tmp_path)
        assert again.search(['o3'], subject='m1') == expected

        def kinds(df):
            return {c: type(t).__name__ for c, t in df.dtypes.items()}

        assert kinds(again.index.df) == kinds(first.index.df)  # categoricals stay categorical
        offline = http_one(server, tmp_path, offline=True)
        assert len(offline.index) == 12_000
    assert server.requests_for('.one_root')[-1][0] == 'GET'
    # a corrupt copy is ignored, a changed index parsed anew
    parsed[0].write_bytes(b'not arrow')
    assert http_one(server, tmp_path).search(['o3'], subject='m1') == expected
    server.set_index(lines[:11_000])
    assert len(http_one(server, tmp_path).index) == 11_000


def many_small_files(root, n):
    folder = root / 'lab/Subjects/m1/2020-01-01/001/alf'
    folder.mkdir(parents=True)
    for i in range(n):
        (folder / f'obj{i}.attr.npy').write_bytes(b'x' * 100)
    return 'lab/Subjects/m1/2020-01-01/001'


def test_a_far_server_gets_jobs_transfers_at_once(tmp_path, serve):
    session = many_small_files(tmp_path / 'far', 300)
    server = serve(tmp_path / 'far')
    server.delay = 0.1  # a server 100 ms away: what decides the speed is how many wait on it
    paths = http_one(server, tmp_path).download(session)
    assert len(paths) == 300 and all(p.read_bytes() == b'x' * 100 for p in paths)
    assert 16 < server.most_in_flight <= 32  # the default jobs, never more


def test_jobs_caps_the_transfers_at_once(tmp_path, serve):
    session = many_small_files(tmp_path / 'far', 40)
    server = serve(tmp_path / 'far')
    server.delay = 0.02
    http_one(server, tmp_path, jobs=3).download(session)
    assert 1 < server.most_in_flight <= 3


def test_the_part_is_moved_only_once_closed_where_the_os_wants_that(
    alf_root, serve, tmp_path, monkeypatch
):
    """Windows cannot rename or delete an open file: there the .part is closed first."""
    monkeypatch.setattr(onelight, 'OPEN_FILES_MOVE', False)
    parts = set()  # descriptors of .part files now open
    real_open, real_close, real_replace, real_unlink = os.open, os.close, os.replace, os.unlink

    def tracked_open(path, flags, *args, **kwargs):
        fd = real_open(path, flags, *args, **kwargs)
        if str(path).endswith('.part'):
            parts.add(fd)
        return fd

    def tracked_close(fd):
        parts.discard(fd)
        real_close(fd)

    def replace(src, dst, **kwargs):
        assert not (str(src).endswith('.part') and parts), 'renamed while open'
        real_replace(src, dst, **kwargs)

    def unlink(path, **kwargs):
        assert not (str(path).endswith('.part') and parts), 'deleted while open'
        real_unlink(path, **kwargs)

    for name, fn in (('open', tracked_open), ('close', tracked_close), ('replace', replace)):
        monkeypatch.setattr(onelight.os, name, fn)
    monkeypatch.setattr(onelight.os, 'unlink', unlink)
    server = serve(alf_root)
    checksum_index(server, alf_root)
    server.add_fault(SPIKES, ('corrupt',))
    with pytest.raises(onelight.IntegrityError, match='md5'):  # the .part is deleted
        download_one(server, tmp_path, jobs=1)
    dest = dest_of(tmp_path, SPIKES)
    assert not dest.exists() and not dest.with_name(dest.name + '.part').exists()
    _, path = download_one(server, tmp_path, jobs=1)  # and renamed
    assert md5_of(path) == md5_of(alf_root / SPIKES) and not parts


# ------------------------------------------------------------------ answers urllib3 reads
@pytest.fixture
def canned():
    """A server on 127.0.0.1 answering each request on a connection with the next of the
    raw byte strings given (then closing); stopped at the end of the test."""
    import socket
    import threading

    servers = []

    def start(*answers):
        sock = socket.socket()
        sock.bind(('127.0.0.1', 0))
        sock.listen(4)
        sock.settimeout(10)
        requests = []

        def run():
            with contextlib.suppress(OSError):
                conn, _ = sock.accept()
                with conn:
                    conn.settimeout(10)
                    for answer in answers:
                        data = b''
                        while b'\r\n\r\n' not in data:
                            chunk = conn.recv(65536)
                            if not chunk:
                                return
                            data += chunk
                        requests.append(data)
                        conn.sendall(answer)

        thread = threading.Thread(target=run, daemon=True)
        thread.start()
        servers.append((sock, thread))
        return f'http://127.0.0.1:{sock.getsockname()[1]}/', requests

    yield start
    for sock, thread in servers:
        sock.close()
        thread.join(5)


def test_interim_answers_and_folded_headers(canned):
    url, requests = canned(
        b'HTTP/1.1 100 Continue\r\nX-Interim: 1\r\n\r\n'
        b'HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-Folded: one\r\n two\r\n'
        b'ETag: "v1"\r\n\r\nhello'
    )
    engine = onelight.TransferEngine(name='t', retries=0)
    reply = engine.request('GET', url + 'a')
    assert reply.status_code == 200 and reply.content == b'hello'
    assert reply.headers['etag'] == '"v1"' and 'x-interim' not in reply.headers
    assert reply.headers['x-folded'].split() == ['one', 'two']


def test_a_head_answer_has_no_body_and_keeps_its_connection(canned):
    url, requests = canned(
        b'HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n',  # HEAD: the length of the GET's body
        b'HTTP/1.1 204 No Content\r\nContent-Length: 3\r\n\r\n',
        b'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok',
    )
    engine = onelight.TransferEngine(name='t', retries=0)
    assert engine.request('HEAD', url + 'a').headers['content-length'] == '10'
    assert engine.request('GET', url + 'b').content == b''
    assert engine.request('GET', url + 'c').content == b'ok'
    assert len(requests) == 3  # one connection for the three


def test_a_body_without_length_ends_with_the_connection(canned):
    url, _ = canned(b'HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nto the end')
    reply = onelight.TransferEngine(name='t', retries=0).request('GET', url + 'a')
    assert reply.content == b'to the end'


@pytest.mark.parametrize(
    'answer',
    [
        b'HTTP/1.1 200 OK\r\n' + b'X-Many: 1\r\n' * 101 + b'Content-Length: 0\r\n\r\n',
        b'HTTP/1.1 200 OK\r\nX-Long: ' + b'a' * 70_000 + b'\r\nContent-Length: 0\r\n\r\n',
        b'HTTP/9.9 200 OK\r\nContent-Length: 0\r\n\r\n',
    ],
    ids=['too many headers', 'a header line too long', 'unknown protocol'],
)
def test_a_hostile_header_block_is_one_clean_error(canned, answer):
    url, _ = canned(answer)
    with pytest.raises(onelight.TransferError):
        onelight.TransferEngine(name='t', retries=0).request('GET', url + 'a')


def test_https_goes_through_the_same_connections_and_checks_the_certificate(tmp_path, monkeypatch):
    """A TLS server on 127.0.0.1 with a certificate made here: trusted through the bundle
    requests would use (REQUESTS_CA_BUNDLE), refused without it."""
    import datetime
    import functools
    import http.server
    import ipaddress
    import ssl
    import threading

    x509 = pytest.importorskip('cryptography.x509')
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, '127.0.0.1')])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address('127.0.0.1'))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = tmp_path / 'cert.pem', tmp_path / 'key.pem'
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    root = tmp_path / 'www'
    session = many_small_files(root, 30)
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    handler.func.log_message = lambda *a: None
    httpd = http.server.ThreadingHTTPServer(('127.0.0.1', 0), handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_file, key_file)
    httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        url = f'https://127.0.0.1:{httpd.server_address[1]}/'
        onelight.write_index(root, base_url=url)
        with pytest.raises(onelight.TransferError):  # an unknown certificate: refused
            onelight.One(base_url=url, retries=0, backoff=0.01).search()
        monkeypatch.setenv('REQUESTS_CA_BUNDLE', str(cert_file))
        template = str(tmp_path / 'dl' / '{lab}' / '{subject}' / '{date}' / '{number}')
        one = onelight.One(base_url=url, download_dir=template, backoff=0.01)
        paths = one.download(session)
        assert len(paths) == 30 and all(p.read_bytes() == b'x' * 100 for p in paths)
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_a_damaged_cached_index_is_fetched_again_and_no_piece_is_left(alf_root, serve, tmp_path):
    server = serve(alf_root)
    expected = http_one(server, tmp_path).search()
    folder = onelight.app_dirs().cache / 'index'
    body = next(p for p in folder.iterdir() if p.suffix == '.one_root')
    body.write_bytes(b'lab/Subjects/x/2020-01-01/001/a.b.npy\n')  # not what was fetched
    assert http_one(server, tmp_path).search() == expected
    assert body.read_bytes() == server.index_data  # fetched again, whole
    server.index_data = b''.join(
        f'lab/Subjects/m{i}/2020-01-01/001/alf/a.b.npy\n'.encode() for i in range(40_000)
    )
    with pytest.raises(onelight.TooLargeError):
        http_one(server, tmp_path, max_index_mb=1).search()
    assert not [p.name for p in folder.iterdir() if p.name.startswith('.')]  # no .fetch.*


def test_an_index_the_cache_cannot_keep_is_still_read(alf_root, serve, tmp_path, monkeypatch):
    server, replace = serve(alf_root), os.replace

    def refused(src, dst, *args, **kwargs):
        if '.fetch.' in str(src):
            raise PermissionError(13, 'Permission denied', str(dst))
        return replace(src, dst, *args, **kwargs)

    monkeypatch.setattr(os, 'replace', refused)
    assert http_one(server, tmp_path).search()
    folder = onelight.app_dirs().cache / 'index'
    assert not [p.name for p in folder.iterdir() if p.name.startswith('.fetch')]


def test_nothing_to_download_shows_nothing(alf_root, serve, tmp_path, capfd):
    """Data already local: no progress display at all (was "downloading 0 files: 0.00B"),
    even where one is asked for; a download shows "1 file", not "1 files"."""
    server = serve(alf_root)
    one = http_one(server, tmp_path, progress=True)
    one.load_dataset(CORI1, 'eye.area', download_only=True)
    shown = capfd.readouterr().err
    assert 'downloading 1 file:' in shown and '1 files' not in shown
    one.download(CORI1, 'eye')
    assert 'downloading 2 files:' in capfd.readouterr().err  # (the third is there)
    one.download(CORI1, 'eye')
    one.load_object(CORI1, 'eye', download_only=True)
    assert capfd.readouterr().err == ''
