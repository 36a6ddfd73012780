"""Attacks by a hostile publisher, a hostile network and a hostile neighbour on disk, against
real servers on 127.0.0.1 (the repository) and 127.0.0.2 (the attacker). Each test is
written as the attack first: what the attacker tries, then what onelight must not do."""

import contextlib
import gc
import io
import json
import logging
import os
import pickle
import stat
import subprocess
import sys
import warnings
import zipfile
import zlib
from pathlib import Path

import pytest
from conftest import http_one
from servers import FaultServer

import onelight

CORI1 = 'nicklab/Subjects/Cori/2016-12-14/001'
SPIKES = f'{CORI1}/alf/spikes.times.npy'
AUTH = ('alice', 's3cret')


@pytest.fixture
def attacker(tmp_path, serve):
    """A server on another origin (127.0.0.2) that records every request it gets."""
    root = tmp_path / 'attacker'
    (root / 'f').parent.mkdir(parents=True, exist_ok=True)
    (root / 'f').write_bytes(b'evil')
    try:
        server = FaultServer(root, bind='127.0.0.2').start()
    except OSError:  # pragma: no cover - a system without 127.0.0.2
        pytest.skip('127.0.0.2 is not available here')
    server.add_fault('*', *[('body', 200, {}, b'evil')] * 50)  # any path: the attacker's bytes
    yield server
    server.stop()


def index_lines(root: Path, url: str) -> list:
    onelight.write_index(root, base_url=url)
    return (root / '.one_root').read_text().splitlines()


def dest_of(tmp_path, rel):
    lab, _, subject, date, number, *rest = rel.split('/')
    return tmp_path.joinpath('dl', lab, subject, date, number, *rest)


def credentials_seen(server) -> list:
    return [r for r in server.requests if r[2]]


# ----------------------------------------------------------------------------- 1. secrets
@pytest.mark.parametrize(
    'make_url',
    [
        lambda a, r: f'http://127.0.0.2:{a}\\@127.0.0.1:{r}/f',  # urllib.parse vs urllib3
        lambda a, r: f'http://127.0.0.2:{a}/f#@127.0.0.1:{r}/',
        lambda a, r: f'http://alice:s3cret@127.0.0.2:{a}/f',
        lambda a, r: f'http://127.0.0.2:{a}/f x',
        lambda a, r: f'http://127.0.0.2:{a}/f\x0b',
        lambda a, r: f'http://127.0.0.2:{a}\u3002/f',  # a full stop that IDNA folds
    ],
    ids=['backslash', 'fragment-at', 'userinfo', 'space', 'control', 'non-ascii'],
)
def test_index_urls_that_parsers_read_differently_are_refused(
    alf_root, serve, attacker, tmp_path, caplog, make_url
):
    server = serve(alf_root, auth=AUTH)
    lines = index_lines(alf_root, server.url)
    evil = make_url(attacker.server_address[1], server.server_address[1])
    lines = [line for line in lines if not line.startswith(SPIKES)]
    lines.append(f'{SPIKES}\t{evil}')
    server.set_index(lines)
    one = http_one(server, tmp_path, login=AUTH[0], password=AUTH[1])
    with caplog.at_level(logging.WARNING, logger='onelight'):
        paths = one.download(CORI1)
    assert not credentials_seen(attacker)
    assert all(r[1] != 'f' or not r[2] for r in attacker.requests)
    if '#' not in evil:  # a fragment is never sent: that one is a plain URL
        assert dest_of(tmp_path, SPIKES) not in paths
        assert attacker.requests == []
        assert 'URL refused' in caplog.text or 'refused the URL' in caplog.text
    assert 's3cret' not in caplog.text


def test_another_origin_in_the_index_gets_no_credential(alf_root, serve, attacker, tmp_path):
    server = serve(alf_root, auth=AUTH)
    lines = [line for line in index_lines(alf_root, server.url) if not line.startswith(SPIKES)]
    lines.append(f'{SPIKES}\t{attacker.url}f')
    server.set_index(lines)
    one = http_one(server, tmp_path, login=AUTH[0], password=AUTH[1])
    one.download(CORI1)
    assert [r[:3] for r in attacker.requests] == [('GET', 'f', None)]
    assert credentials_seen(server)  # the repository's own origin got it


@pytest.mark.parametrize('form', ['plain', 'backslash', 'scheme-relative'])
def test_a_redirect_never_carries_the_credential_away(
    alf_root, serve, attacker, tmp_path, caplog, form
):
    server = serve(alf_root, auth=AUTH)
    port, own = attacker.server_address[1], server.server_address[1]
    target = {
        'plain': (f'http://127.0.0.2:{port}/', 'f'),
        'backslash': (f'http://127.0.0.2:{port}\\@127.0.0.1:{own}/', 'f'),
        'scheme-relative': (f'//127.0.0.2:{port}/', 'f'),
    }[form]
    server.add_fault(SPIKES, ('redirect', *target))
    one = http_one(server, tmp_path, login=AUTH[0], password=AUTH[1])
    with caplog.at_level(logging.WARNING, logger='onelight'):
        if form == 'backslash':
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter('always', ResourceWarning)
                with pytest.raises(onelight.UnsafeURLError, match='refused the redirect'):
                    one.load_dataset(CORI1, 'alf/spikes.times.npy', download_only=True)
                del one  # its pool: the refused answer's connection was closed, not left open
                gc.collect()
            assert not [w for w in caught if issubclass(w.category, ResourceWarning)]
            assert attacker.requests == []
            assert 'refused the redirect' in caplog.text
        else:  # followed without the credential; the attacker's bytes do not fit the index
            with pytest.raises(onelight.IntegrityError, match='nothing was saved'):
                one.load_dataset(CORI1, 'alf/spikes.times.npy', download_only=True)
            assert [r[:3] for r in attacker.requests] == [('GET', 'f', None)]
    assert not credentials_seen(attacker)


def test_uuid_names_ids_cannot_leave_the_base_url(alf_root, serve, attacker, tmp_path, caplog):
    """Dataset ids from the tables become file names: an id with a slash, dots or '@' would
    take the URL out of base_url's folder, or to another host."""
    server = serve(alf_root, auth=AUTH)
    import pandas as pd

    onelight.write_index(alf_root, base_url=server.url, one_cache=True)
    datasets = pd.read_parquet(alf_root / 'datasets.pqt')
    names = list(datasets.index.names)
    datasets = datasets.reset_index()
    evil_ids = ['../../../x', f'@127.0.0.2:{attacker.server_address[1]}', 'a/b', 'a\\b', '%2e%2e']
    datasets['id'] = datasets['id'].astype(object)
    datasets.loc[: len(evil_ids) - 1, 'id'] = evil_ids
    datasets.set_index(names).to_parquet(alf_root / 'datasets.pqt')
    server.files['datasets.pqt'] = alf_root / 'datasets.pqt'
    server.files['sessions.pqt'] = alf_root / 'sessions.pqt'
    server.index_data = None  # the URLs come from the ids
    one = http_one(server, tmp_path, login=AUTH[0], password=AUTH[1], uuid_names=True)
    with caplog.at_level(logging.WARNING, logger='onelight'):
        one.search()
        for session in one.search():  # the files are not stored under those names here
            with pytest.raises(onelight.NotFoundError):
                one.download(session)
    assert 'refused' in caplog.text
    assert attacker.requests == []
    for rel in evil_ids:
        assert not any(rel in str(r[1]) for r in server.requests)


def test_a_password_in_base_url_is_never_printed_nor_cached(alf_root, serve, tmp_path):
    from click.testing import CliRunner

    server = serve(alf_root, auth=AUTH)
    onelight.write_index(alf_root, base_url=server.url)
    server.index_data = (alf_root / '.one_root').read_bytes()
    url = server.url.replace('http://', f'http://{AUTH[0]}:{AUTH[1]}@')
    runner = CliRunner()
    result = runner.invoke(onelight.cli, ['add_repo', 'lab', '--type', 'http', '--base-url', url])
    assert result.exit_code == 0, result.output
    for args in (['-v', 'search'], ['-v', 'download', CORI1], ['repo', 'lab'], ['config']):
        result = runner.invoke(onelight.cli, args)
        assert result.exit_code == 0, result.output
        assert AUTH[1] not in result.output, args
        if args[0] == '-v':
            assert 'GET' in result.output  # the verbose log is there, masked
    assert credentials_seen(server)  # the password was used...
    cache = Path(onelight.app_dirs().cache)
    files = [p for p in cache.rglob('*') if p.is_file()]
    assert files
    for path in files:  # ...but never written into a cache file, and those are private
        assert AUTH[1].encode() not in path.read_bytes(), path
        if os.name != 'nt':
            assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    if os.name != 'nt':
        for folder in {p.parent for p in files}:
            assert stat.S_IMODE(folder.stat().st_mode) == 0o700, folder


# --------------------------------------------------------------------------- 2. integrity
BIG = 'lab/Subjects/m1/2020-01-01/001/raw/raw.data.bin'
BIG_SESSION = 'lab/Subjects/m1/2020-01-01/001'


@pytest.fixture
def big(tmp_path, monkeypatch):
    """A 3 MiB file downloaded in 256 KiB ranges (segments from 1 MiB)."""
    monkeypatch.setattr(onelight, 'SEGMENT_THRESHOLD', 1 << 20)
    monkeypatch.setattr(onelight, 'SEGMENT_SIZE', 256 << 10)
    root = tmp_path / 'src'
    (root / BIG).parent.mkdir(parents=True)
    (root / BIG).write_bytes(os.urandom(3 << 20))
    return root


def publish(server, root, checksums: bool):
    """A 4-column index (size; md5 with ``checksums``) as the repository's .one_root."""
    onelight.write_index(root, base_url=server.url, checksums=checksums)
    lines = (root / '.one_root').read_text().splitlines()
    if not checksums:  # sizes, and no md5: the case where only the bytes themselves can tell
        lines = [
            line + '\t' + str((root / line.split('\t')[0]).stat().st_size) + '\t' for line in lines
        ]
    server.set_index(lines)


@pytest.mark.parametrize('checksums', [False, True], ids=['no-md5', 'md5'])
@pytest.mark.parametrize('journal', [None, 'all-done', 'all-done-no-validator', 'garbage'])
def test_preallocated_or_journaled_but_empty_bytes_never_count(
    big, serve, tmp_path, checksums, journal
):
    """Ctrl-C after the .part was preallocated (before its first range was journaled), or a
    journal that claims every range: the rerun must not keep zeros."""
    server = serve(big)
    publish(server, big, checksums)
    dest = dest_of(tmp_path, BIG)
    dest.parent.mkdir(parents=True)
    size = (big / BIG).stat().st_size
    with open(onelight.part_path(dest), 'wb') as f:
        f.truncate(size)  # a preallocated, empty .part
    if journal:
        data = {
            'size': size,
            'validator': '"whatever"' if journal == 'all-done' else None,
            'segment': 256 << 10,
            'done': {str(s): 0 for s in range(0, size, 256 << 10)},
        }
        text = json.dumps(data) if journal != 'garbage' else '{"size": [' * 1000
        onelight.journal_path(dest).write_text(text)
    paths = http_one(server, tmp_path).download(BIG_SESSION)
    assert paths == [dest] and dest.read_bytes() == (big / BIG).read_bytes()
    assert not onelight.part_path(dest).exists() and not onelight.journal_path(dest).exists()


def test_a_206_past_the_asked_end_is_used_not_retried(big, serve, tmp_path):
    server = serve(big)
    publish(server, big, checksums=True)
    server.add_fault(BIG, *[('overrun',)] * 100)
    paths = http_one(server, tmp_path).download(BIG_SESSION)
    assert paths[0].read_bytes() == (big / BIG).read_bytes()
    assert len(server.requests_for(BIG)) <= 12  # one per range at most: none repeated


@pytest.mark.parametrize('checksums', [False, True], ids=['size', 'md5'])
def test_a_gzip_body_is_not_decoded_past_the_indexed_size(alf_root, serve, tmp_path, checksums):
    server = serve(alf_root)
    publish(server, alf_root, checksums)
    server.add_fault(SPIKES, *[('gzip_bomb', 64 << 20)] * 10)
    one = http_one(server, tmp_path, retries=0)
    with pytest.raises(onelight.IntegrityError, match='nothing was saved'):
        one.load_dataset(CORI1, 'alf/spikes.times.npy', download_only=True)
    dest = dest_of(tmp_path, SPIKES)
    assert not dest.exists() and not onelight.part_path(dest).exists()
    written = sum(p.stat().st_size for p in (tmp_path / 'dl').rglob('*') if p.is_file())
    assert written < 1 << 20


def test_a_folder_where_a_file_should_be_is_never_complete(alf_root, serve, tmp_path):
    server = serve(alf_root)
    publish(server, alf_root, checksums=False)
    one = http_one(server, tmp_path)
    dest = dest_of(tmp_path, SPIKES)
    dest.mkdir(parents=True)
    assert onelight.local_copy_problem(dest, 0, None) == 'not a regular file'
    assert ('not a regular file', dest) in one.verify([CORI1])
    with pytest.raises(onelight.OneLightError, match='not a regular file|folder|directory'):
        one.load_dataset(CORI1, 'alf/spikes.times.npy', download_only=True)


@pytest.mark.parametrize('columns', [2, 1])
def test_a_damaged_copy_is_caught_with_an_index_that_has_no_size(
    alf_root, serve, tmp_path, columns
):
    """A 1- or 2-column index says nothing of the files: what was verified at download time
    is kept, so that verify and the next download catch a copy damaged since."""
    server = serve(alf_root)
    lines = index_lines(alf_root, server.url)
    server.set_index([line.split('\t')[0] if columns == 1 else line for line in lines])
    one = http_one(server, tmp_path)
    one.download(CORI1)
    dest = dest_of(tmp_path, SPIKES)
    good = dest.read_bytes()
    dest.write_bytes(good[:100])  # truncated after the download (a full disk, a bad copy)
    assert one.verify() == [('truncated', dest)] or one.verify()[0][1] == dest
    before = len(server.requests_for(SPIKES))
    fresh = http_one(server, tmp_path)
    fresh.download(CORI1)
    assert len(server.requests_for(SPIKES)) == before + 1
    assert dest.read_bytes() == good
    assert fresh.verify() == []
    # same size, other bytes: the md5 recorded at download time tells
    dest.write_bytes(bytes(len(good)))
    assert http_one(server, tmp_path).verify() == [('wrong md5', dest)]


def test_what_was_verified_is_kept_when_a_download_fails_part_way(alf_root, serve, tmp_path):
    """Files verified before another file of the same call failed are recorded at once:
    a copy damaged later is caught although the call never returned."""
    server = serve(alf_root)
    server.set_index(index_lines(alf_root, server.url))  # no size, no md5
    other = f'{CORI1}/alf/spikes.clusters.npy'
    server.add_fault(other, *[('body', 404, {}, b'gone')] * 10)
    one = http_one(server, tmp_path, retries=0)
    with pytest.raises(onelight.NotFoundError, match='spikes.clusters'):
        one.download(CORI1)
    dest = dest_of(tmp_path, SPIKES)
    dest.write_bytes(bytes(dest.stat().st_size))  # same size, other bytes
    assert ('wrong md5', dest) in http_one(server, tmp_path).verify(CORI1)


def test_the_record_of_verified_copies_stays_bounded(alf_root, serve, tmp_path, monkeypatch):
    """The record grows by a line a file; grown to half of what is read back, it is written
    anew (superseded lines dropped, then the oldest half), and still read."""
    monkeypatch.setattr(onelight, 'MAX_RESPONSE_BYTES', 40_000)
    server = serve(alf_root)
    server.set_index(index_lines(alf_root, server.url))
    one = http_one(server, tmp_path)
    record = one.repository.verified_copies.path
    record.parent.mkdir(parents=True)
    stale = f'{tmp_path / "gone.npy"}\t1\t{"0" * 32}\n'
    record.write_text(stale * 1000 + 'not\ta line\n')  # ~70 KB of one superseded path
    one.download(CORI1)
    assert record.stat().st_size < 20_000
    dest = dest_of(tmp_path, SPIKES)
    dest.write_bytes(bytes(dest.stat().st_size))
    assert ('wrong md5', dest) in http_one(server, tmp_path).verify(CORI1)


def test_a_dry_run_says_what_the_download_then_fetches(alf_root, serve, tmp_path):
    server = serve(alf_root)
    server.set_index(index_lines(alf_root, server.url))
    one = http_one(server, tmp_path)
    everything = one.download(CORI1)
    dest_of(tmp_path, SPIKES).unlink()
    planned = one.download(CORI1, dry_run=True)
    assert planned == everything and planned[1:3] == everything[1:3]
    kept = pickle.loads(pickle.dumps(everything))  # the paths, not the plan behind them
    assert kept == everything and kept.report.files == everything.report.files
    assert (planned.report.files, planned.report.skipped) == (1, len(everything) - 1)
    assert planned.report.bytes == (alf_root / SPIKES).stat().st_size
    assert not dest_of(tmp_path, SPIKES).exists()
    fetched = one.download(CORI1).report
    assert (fetched.files, fetched.skipped) == (planned.report.files, planned.report.skipped)
    assert fetched.bytes == planned.report.bytes


# ----------------------------------------------------------------------------- 3. bounded
def test_a_gzip_bomb_index_stops_at_the_cap(alf_root, serve, tmp_path):
    server = serve(alf_root)
    server.add_fault('.one_root', ('gzip_bomb', 8 << 20))
    one_line = 'larger than|max_index_mb'
    with pytest.raises(onelight.TooLargeError, match=one_line):
        http_one(server, tmp_path, max_index_mb=1).search()


def gzip_of_zeros(size: int) -> bytes:
    """A gzip body of ``size`` zero bytes, made a MiB at a time."""
    z = zlib.compressobj(1, zlib.DEFLATED, 31)
    zero = bytes(1 << 20)
    return b''.join(z.compress(zero) for _ in range(size >> 20)) + z.flush()


def zip_of_zeros(name: str, size: int, also: dict) -> bytes:
    """A zip whose member ``name`` inflates to ``size`` zero bytes (written a MiB at a time),
    beside the members ``also``."""
    buf, zero = io.BytesIO(), bytes(1 << 20)
    with zipfile.ZipFile(buf, 'w', compression=zipfile.ZIP_DEFLATED) as z:
        for member, data in also.items():
            z.writestr(member, data)
        with z.open(name, 'w', force_zip64=True) as member:
            for _ in range(size >> 20):
                member.write(zero)
    return buf.getvalue()


def parquet_of_many_rows(rows: int) -> bytes:
    """A datasets.pqt of ``rows`` rows of one value each: tiny on disk, large decoded."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    block = 1 << 20
    batch = pa.table({c: pa.array(['7'] * block) for c in ('eid', 'id', 'rel_path')})
    buf = io.BytesIO()
    with pq.ParquetWriter(buf, batch.schema, compression='zstd') as writer:
        for _ in range(rows // block):
            writer.write_table(batch)
    return buf.getvalue()


PEAK_SCRIPT = """
import json, sys
import numpy, pandas, pyarrow.parquet, urllib3, onelight
def hwm():
    with open('/proc/self/status') as f:
        return next(int(l.split()[1]) * 1024 for l in f if l.startswith('VmHWM:'))
one = onelight.One(**json.loads(sys.argv[1]))
base = hwm()
try:
    one.search()
    print('not refused')
except onelight.TooLargeError as e:
    print('refused:', e)
print('peak', (hwm() - base) >> 20)
"""


@pytest.mark.skipif(not Path('/proc/self/status').exists(), reason='reads VmHWM')
@pytest.mark.parametrize('bomb', ['gzip-index', 'zip-member', 'parquet-rows'])
def test_a_bomb_is_refused_before_it_takes_memory(alf_root, serve, tmp_path, bomb):
    """A few MiB that inflate past the cap (max_index_mb=400): refused, and the process that
    read them grew by less than 300 MB on the way (it used to hold the inflated bytes)."""
    tables = real_tables(alf_root)
    server = serve(alf_root)
    settings = {'base_url': server.url, 'max_index_mb': 400}
    if bomb == 'gzip-index':
        body = gzip_of_zeros(600 << 20)
        server.add_fault('.one_root', ('body', 200, {'Content-Encoding': 'gzip'}, body))
    else:
        server.index_data = None  # a release of tables only
        if bomb == 'zip-member':
            body = zip_of_zeros(
                'datasets.pqt', 600 << 20, {'sessions.pqt': tables['sessions.pqt']}
            )
            settings['tables_url'] = server.url + 'cache.zip'
        else:
            body = parquet_of_many_rows(24 << 20)
            (tmp_path / 'sessions.pqt').write_bytes(tables['sessions.pqt'])
            server.files['sessions.pqt'] = tmp_path / 'sessions.pqt'
        name = 'cache.zip' if bomb == 'zip-member' else 'datasets.pqt'
        (tmp_path / name).write_bytes(body)
        server.files[name] = tmp_path / name
    assert len(body) < 4 << 20
    settings['download_dir'] = str(tmp_path / 'dl' / '{lab}' / '{subject}' / '{date}' / '{number}')
    done = subprocess.run(
        [sys.executable, '-c', PEAK_SCRIPT, json.dumps(settings)],
        env={**os.environ, 'ONELIGHT_HOME': str(tmp_path / 'home')},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert 'refused:' in done.stdout and 'max_index_mb' in done.stdout, done.stdout + done.stderr
    peak = int(done.stdout.split('peak')[1])
    assert peak < 300, f'{peak} MB more at the peak'


def zip_of(members: dict, method=zipfile.ZIP_DEFLATED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, 'w', compression=method) as z:
        for name, data in members.items():
            z.writestr(name, data)
    return buf.getvalue()


def patch_zip(data: bytes, *, flags: int = 0, method: int | None = None) -> bytes:
    """Set header fields in both the local header and the central directory."""
    out = bytearray(data)
    for signature, offset in ((b'PK\x03\x04', 6), (b'PK\x01\x02', 8)):
        at = out.find(signature)
        while at >= 0:
            if flags:
                out[at + offset : at + offset + 2] = (
                    int.from_bytes(out[at + offset : at + offset + 2], 'little') | flags
                ).to_bytes(2, 'little')
            if method is not None:
                out[at + offset + 2 : at + offset + 4] = method.to_bytes(2, 'little')
            at = out.find(signature, at + 4)
    return bytes(out)


def cache_zip_server(serve, tmp_path, alf_root, body: bytes):
    caches = tmp_path / 'caches'
    caches.mkdir(exist_ok=True)
    (caches / 'cache.zip').write_bytes(body)
    server = serve(alf_root)
    server.index_data = None  # the tables are all there is
    server.files['cache.zip'] = caches / 'cache.zip'
    return server


def real_tables(alf_root) -> dict:
    onelight.write_index(alf_root, one_cache=True)
    return {name: (alf_root / name).read_bytes() for name in onelight.ONE_TABLES}


def corrupt_deflate(tables):
    data = bytearray(zip_of(tables))
    for at in range(200, 400):
        data[at] ^= 0x55
    return bytes(data)


def bad_crc(tables):
    data = bytearray(zip_of(tables, zipfile.ZIP_STORED))
    data[100] ^= 0xFF  # inside the first member's bytes
    return bytes(data)


@pytest.mark.parametrize(
    'make, error',
    [
        (lambda t: b'<html>not found</html>', 'not a readable zip'),
        (bad_crc, 'cache.zip'),
        (corrupt_deflate, 'cache.zip'),
        (lambda t: patch_zip(zip_of(t), flags=0x1), 'cache.zip'),
        (lambda t: patch_zip(zip_of(t), method=99), 'cache.zip'),
        (lambda t: zip_of({'sessions.pqt': b'x', 'datasets.pqt': b'<html>'}), 'parquet'),
    ],
    ids=['html', 'bad-crc', 'corrupt-deflate', 'encrypted', 'unknown-method', 'not-parquet'],
)
def test_a_malformed_cache_zip_is_one_line(alf_root, serve, tmp_path, make, error):
    body = make(real_tables(alf_root))
    server = cache_zip_server(serve, tmp_path, alf_root, body)
    one = http_one(server, tmp_path, tables_url=server.url + 'cache.zip')
    with pytest.raises(onelight.DataFormatError, match=error) as caught:
        one.search()
    assert '\n' not in str(caught.value) and 'cache.zip' in str(caught.value)


def test_a_zip_bomb_in_cache_zip_stops_at_the_cap(alf_root, serve, tmp_path):
    bomb = zip_of({'sessions.pqt': b'\0' * (16 << 20), 'datasets.pqt': b'\0' * (16 << 20)})
    assert len(bomb) < 100_000
    server = cache_zip_server(serve, tmp_path, alf_root, bomb)
    one = http_one(server, tmp_path, tables_url=server.url + 'cache.zip', max_index_mb=1)
    with pytest.raises(onelight.TooLargeError, match='max_index_mb'):
        one.search()


def test_bad_rows_of_a_release_of_tables_leave_out_those_rows_only(
    alf_root, serve, tmp_path, caplog
):
    """A publisher's sessions.pqt with a date of ../../../ and a subject holding a slash, and
    a datasets.pqt whose file_size is text or has a fraction: those rows are left out with
    one warning a reason that counts them; every other session is still there."""
    import pandas as pd

    onelight.write_index(alf_root, one_cache=True)
    (alf_root / '.one_root').unlink()  # a release of tables only: the tables are its index
    sessions = pd.read_parquet(alf_root / 'sessions.pqt')
    sessions['date'] = sessions['date'].astype(str)
    bad_sessions = sessions.index[:2]
    sessions.loc[bad_sessions[0], 'date'] = '../../../'
    sessions.loc[bad_sessions[1], 'subject'] = 'a/b'
    sessions.to_parquet(alf_root / 'sessions.pqt')
    datasets = pd.read_parquet(alf_root / 'datasets.pqt')
    datasets['file_size'] = datasets['file_size'].astype(str)
    datasets.iloc[-1, datasets.columns.get_loc('file_size')] = 'abc'
    datasets.iloc[-2, datasets.columns.get_loc('file_size')] = '1.5'
    datasets.to_parquet(alf_root / 'datasets.pqt')
    server = serve(alf_root)
    server.index_data = None
    for name in ('sessions.pqt', 'datasets.pqt'):
        server.files[name] = alf_root / name
    with caplog.at_level(logging.WARNING, logger='onelight'):
        one = http_one(server, tmp_path)
        found = one.search()
    assert len(found) == len(sessions) - 2
    assert 'sessions.pqt: 2 row(s) left out (not a session' in caplog.text
    assert 'datasets.pqt: 2 row(s) left out (file_size is no size' in caplog.text
    assert 'abc' not in set(one.list_datasets(details=True)['file_size'].astype(str))


@pytest.mark.parametrize('where', ['catch-all', 'tables_url'])
def test_unreadable_tables_beside_a_good_index_cost_one_warning(
    alf_root, serve, tmp_path, caplog, where
):
    """A catch-all server answers every path, tables included, with an HTML page; or the
    configured cache.zip is one."""
    server = serve(alf_root)
    html = (200, {'Content-Type': 'text/html'}, b'<html><body>Welcome!</body></html>')
    for name in ('sessions.pqt', 'datasets.pqt', 'cache.zip'):
        server.add_fault(name, *[('body', *html)] * 5)
    settings = {'tables_url': server.url + 'cache.zip'} if where == 'tables_url' else {}
    with caplog.at_level(logging.WARNING, logger='onelight'):
        one = http_one(server, tmp_path, **settings)
        sessions = one.search()
        one.list_datasets(sessions[0])
        http_one(server, tmp_path, **settings).search()
    assert CORI1 in sessions
    # once per client; a found index remembers that tables beside it are not readable, but
    # tables the user named are tried by each new client again
    assert caplog.text.count('without ONE cache tables') == (2 if settings else 1)


def test_retry_after_is_capped_by_the_timeout(alf_root, serve, tmp_path):
    import time

    server = serve(alf_root)
    server.add_fault(SPIKES, ('status', 503, {'Retry-After': '100000'}))
    start = time.monotonic()
    _, path = (
        (one := http_one(server, tmp_path, timeout=1)),
        one.load_dataset(CORI1, 'alf/spikes.times.npy', download_only=True),
    )
    assert path.read_bytes() == (alf_root / SPIKES).read_bytes()
    assert time.monotonic() - start < 30  # not 100,000 s: the wait is the timeout (1 s)
    retry = onelight.TransferEngine(name='t', timeout=600).retry()
    assert retry.parse_retry_after('100000') == onelight.MAX_RETRY_WAIT
    assert retry.parse_retry_after('Wed, 21 Oct 2099 07:28:00 GMT') == onelight.MAX_RETRY_WAIT


def test_a_huge_index_line_is_skipped_not_a_traceback(alf_root, serve, tmp_path, caplog):
    server = serve(alf_root)
    lines = index_lines(alf_root, server.url)
    lines.insert(3, 'a' * (2 << 20) + '\thttp://x/')
    server.set_index(lines)
    with caplog.at_level(logging.WARNING, logger='onelight'):
        sessions = http_one(server, tmp_path).search()
    assert CORI1 in sessions
    assert 'line 4' in caplog.text


# ---------------------------------------------------------------------- S3 and figshare
class FakeS3:
    """A path-style S3 endpoint on 127.0.0.1 serving one bucket's ``.one_root`` (or a 404)
    and listings from ``pages`` (token -> XML), recording every request's Authorization."""

    def __init__(self, index: bytes | None = None, pages: dict | None = None):
        import http.server
        import threading
        import urllib.parse

        fake = self
        self.index, self.pages, self.requests = index, pages or {}, []

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = 'HTTP/1.1'

            def log_message(self, *args):
                pass

            def do_GET(self):
                url = urllib.parse.urlsplit(self.path)
                query = dict(urllib.parse.parse_qsl(url.query))
                fake.requests.append((url.path, query, self.headers.get('Authorization')))
                body, status = b'', 404
                if url.path.endswith('/.one_root') and fake.index is not None:
                    body, status = fake.index, 200
                elif query.get('list-type') == '2':
                    body, status = fake.pages[query.get('continuation-token')].encode(), 200
                self.send_response(status)
                self.send_header('Content-Length', str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = http.server.ThreadingHTTPServer(('127.0.0.1', 0), Handler)
        self.server.daemon_threads = True
        self.url = f'http://127.0.0.1:{self.server.server_address[1]}'
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def fake_s3():
    started = []

    def start(**kwargs):
        started.append(FakeS3(**kwargs))
        return started[-1]

    yield start
    for server in started:
        server.stop()


def listing(entries: list, token: str | None = None) -> str:
    """A ListObjectsV2 page; each entry a dict of Key/Size/ETag (None: left out)."""
    items = ''.join(
        '<Contents>'
        + ''.join(f'<{k}>{v}</{k}>' for k, v in entry.items() if v is not None)
        + '</Contents>'
        for entry in entries
    )
    more = f'<IsTruncated>true</IsTruncated><NextContinuationToken>{token}</NextContinuationToken>'
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
        f'<Name>b</Name>{items}{more if token else "<IsTruncated>false</IsTruncated>"}'
        '</ListBucketResult>'
    )


GOOD_KEY = {'Key': f'{SPIKES}', 'Size': '10', 'ETag': '"%s"' % ('0' * 32)}


def s3_reader(server, tmp_path, **settings):
    template = str(tmp_path / 'dl' / '{lab}' / '{subject}' / '{date}' / '{number}')
    return onelight.One(
        bucket='b', endpoint_url=server.url, download_dir=template, backoff=0.01, **settings
    )


def test_an_s3_index_never_takes_the_signature_elsewhere(fake_s3, attacker, tmp_path):
    evil = f'{SPIKES}\t{attacker.url}f\n'.encode()
    server = fake_s3(index=evil)
    one = s3_reader(server, tmp_path, access_key='AKIAEXAMPLE', secret_key='wJalrXUtnFEMI')
    assert one.search() == [CORI1]
    assert server.requests[0][2] and server.requests[0][2].startswith('AWS4-HMAC-SHA256')
    one.load_dataset(CORI1, 'alf/spikes.times.npy', download_only=True)
    assert [r[:3] for r in attacker.requests] == [('GET', 'f', None)]


@pytest.mark.parametrize(
    'pages, error',
    [
        ({None: listing([GOOD_KEY], 't1'), 't1': listing([GOOD_KEY], 't1')}, 'repeats'),
        (
            {
                None: listing([GOOD_KEY], 't1'),
                't1': listing([GOOD_KEY], 't2'),
                't2': listing([GOOD_KEY], 't1'),
            },
            'repeats',
        ),
        ({None: listing([{**GOOD_KEY, 'Size': 'ten'}])}, 'Size that is no number'),
        ({None: listing([{**GOOD_KEY, 'Size': '-1'}])}, 'Size that is no number'),
        ({None: listing([{**GOOD_KEY, 'Key': None}])}, 'without a Key'),
        ({None: '<ListBucketResult><Contents>'}, 'listing'),
        ({None: '<!DOCTYPE x [<!ENTITY a "aaaa">]><x>&a;</x>'}, 'listing'),
    ],
    ids=['same-token', 'token-cycle', 'text-size', 'negative-size', 'no-key', 'cut-xml', 'dtd'],
)
def test_a_hostile_s3_listing_is_one_line(fake_s3, tmp_path, pages, error):
    server = fake_s3(pages=pages)
    with pytest.raises(onelight.OneLightError, match=error) as caught:
        s3_reader(server, tmp_path, public=True).search()
    assert '\n' not in str(caught.value)
    assert len(server.requests) < 10


def test_s3_keys_with_control_characters_never_become_index_lines(fake_s3, tmp_path, caplog):
    evil = f'{CORI1}/alf/x.y.npy%0A{CORI1}/alf/../../../../../../etc/passwd'
    pages = {None: listing([GOOD_KEY, {**GOOD_KEY, 'Key': evil}])}
    server = fake_s3(pages=pages)
    with caplog.at_level(logging.WARNING, logger='onelight'):
        one = s3_reader(server, tmp_path, public=True)
        assert one.search() == [CORI1]
    assert one.list_datasets(CORI1) == ['alf/spikes.times.npy']
    assert 'control characters refused' in caplog.text


def test_a_figshare_index_never_takes_the_token_elsewhere(figshare, attacker, tmp_path, caplog):
    from conftest import figshare_one

    emu, token = figshare, 'reader-token'
    article = emu.create_article(token)
    rel = f'{CORI1}/alf/a.b.npy'
    record = emu.add_available_file(article, onelight.flat_name(rel), b'figshare')
    own = f'{emu.url("download")}/files/{record.id}'
    port = attacker.server_address[1]
    host, api_port = emu.url('api').split('//')[1].split(':')[0], emu.url('api').rsplit(':')[-1]
    lines = [
        f'{rel}\t{own}',
        f'{CORI1}/alf/c.d.npy\t{attacker.url}f',
        f'{CORI1}/alf/e.f.npy\thttp://127.0.0.2:{port}\\@{host}:{api_port.rstrip("/")}/f',
    ]
    emu.add_available_file(article, '.one_root', ('\n'.join(lines) + '\n').encode())
    one = figshare_one(emu, article, tmp_path, token=token, private=True)
    with caplog.at_level(logging.WARNING, logger='onelight'):
        paths = one.download(CORI1)
    assert sorted(p.name for p in paths) == ['a.b.npy', 'c.d.npy']
    assert [r[:3] for r in attacker.requests] == [('GET', 'f', None)]
    assert 'refused' in caplog.text and token not in caplog.text


def test_a_link_in_a_private_listing_never_gets_the_token(figshare, attacker, tmp_path):
    """An editor of the article adds a link-only file, a newer ``.one_root`` whose
    download_url is on the editor's host: reading the draft with the owner's token fetches
    it (it is the newest index) but sends the token only to figshare's API and download
    host, never to an origin a listing names."""
    from conftest import figshare_one

    emu, token = figshare, 'owner-token'
    article = emu.create_article(token)
    rel = f'{CORI1}/alf/a.b.npy'
    record = emu.add_available_file(article, onelight.flat_name(rel), b'figshare')
    index = f'{rel}\t{emu.url("download")}/files/{record.id}\n'.encode()
    emu.add_available_file(article, '.one_root', index)
    link = emu.add_available_file(article, '.one_root', b'evil')  # the newest: it is read
    link.link = f'{attacker.url}f'
    one = figshare_one(emu, article, tmp_path, token=token, private=True)
    with contextlib.suppress(onelight.OneLightError):
        one.search()  # (the attacker's bytes make no index worth reading)
    assert attacker.requests and not credentials_seen(attacker)


def test_figshare_ids_from_listings_are_checked(figshare, tmp_path):
    """A listing whose ids, names or sizes are not what figshare sends is one line."""
    from conftest import figshare_one

    emu = figshare
    article = emu.create_article('t')
    emu.add_available_file(article, '.one_root', f'{SPIKES}\thttp://x/\n'.encode())
    bad = emu.add_available_file(article, 'evil\nname.npy', b'x')
    bad.name = 'lab~Subjects~x~2020-01-01~001~a\tb.c.npy'
    emu.articles[article].public_files = list(emu.articles[article].files)
    one = figshare_one(emu, article, tmp_path)
    try:
        sessions = one.search()
    except onelight.OneLightError as e:
        assert '\n' not in str(e)
    else:
        assert sessions == [CORI1]


# -------------------------------------------------------------------- 5. the file system
needs_symlinks = pytest.mark.skipif(os.name == 'nt', reason='symlinks need privileges')


@needs_symlinks
def test_a_planted_part_symlink_is_not_followed(alf_root, serve, tmp_path):
    server = serve(alf_root)
    victim = tmp_path / 'victim.txt'
    victim.write_text('precious')
    dest = dest_of(tmp_path, SPIKES)
    dest.parent.mkdir(parents=True)
    onelight.part_path(dest).symlink_to(victim)
    _, path = (
        (one := http_one(server, tmp_path)),
        one.load_dataset(CORI1, 'alf/spikes.times.npy', download_only=True),
    )
    assert victim.read_text() == 'precious'
    assert path.read_bytes() == (alf_root / SPIKES).read_bytes() and not path.is_symlink()


@needs_symlinks
def test_a_symlink_planted_at_a_cache_file_is_never_written_through(alf_root, serve, tmp_path):
    """The record of verified copies (a 2-column index writes one) and the cached index are
    files of onelight's cache: links planted there are neither followed nor filled."""
    bashrc = tmp_path / 'bashrc'
    bashrc.write_text('# mine\n')
    server = serve(alf_root)
    lines = index_lines(alf_root, server.url)  # two columns: what is verified is recorded
    server.index_data = '\n'.join(lines).encode()
    one = http_one(server, tmp_path)
    record = one.repository.verified_copies.path
    record.parent.mkdir(parents=True)
    record.symlink_to(bashrc)
    one.download(CORI1)
    assert bashrc.read_text() == '# mine\n'
    body, meta = one.repository._index_cache(one.repository.index_url)
    for cached in (body, meta):  # planted where the next reader looks
        cached.unlink()
        cached.symlink_to(bashrc)
    assert http_one(server, tmp_path).search()  # read again from the server, not the links
    assert bashrc.read_text() == '# mine\n'


@pytest.mark.skipif(os.name == 'nt' or os.getuid() != 0, reason='chown needs root')
def test_a_cache_folder_of_someone_else_is_refused(alf_root, serve, tmp_path):
    """A cache folder another user owns (and can write): one line, nothing written there."""
    server = serve(alf_root)
    cache = onelight.app_dirs().cache
    cache.mkdir(parents=True)
    os.chown(cache, 12345, 12345)
    os.chmod(cache, 0o777)
    with pytest.raises(onelight.ConfigError, match='belongs to someone else') as caught:
        http_one(server, tmp_path).search()
    assert '\n' not in str(caught.value)
    assert list(cache.iterdir()) == []


@pytest.mark.skipif(os.name == 'nt' or os.getuid() != 0, reason='chown needs root')
def test_a_config_folder_of_someone_else_is_never_written(tmp_path):
    """The folder of the configuration (which holds tokens) owned by another user: add_repo
    stops with one line and writes nothing there."""
    from click.testing import CliRunner

    folder = onelight.app_dirs().config
    folder.mkdir(parents=True, exist_ok=True)
    os.chown(folder, 12345, 12345)
    (tmp_path / 'data').mkdir()  # (empty: a place to upload to)
    args = ['add_repo', 'lab', '--type', 'local', '--root-dir', str(tmp_path / 'data')]
    result = CliRunner().invoke(onelight.cli, args)
    assert result.exit_code != 0 and 'belongs to someone else' in result.output
    assert 'Traceback' not in result.output and len(result.output.strip().splitlines()) == 1
    assert not onelight.app_dirs().config_file.exists()


@needs_symlinks
def test_a_symlinked_folder_inside_the_download_tree_is_refused(alf_root, serve, tmp_path):
    server = serve(alf_root)
    elsewhere = tmp_path / 'elsewhere'
    elsewhere.mkdir()
    session = dest_of(tmp_path, SPIKES).parent.parent
    session.parent.mkdir(parents=True)
    session.symlink_to(elsewhere, target_is_directory=True)
    one = http_one(server, tmp_path)
    with pytest.raises(onelight.TransferError, match='symlink'):
        one.load_dataset(CORI1, 'alf/spikes.times.npy', download_only=True)
    assert list(elsewhere.iterdir()) == []


@needs_symlinks
def test_links_to_files_outside_the_tree_are_never_published(alf_root, serve, tmp_path, caplog):
    secret = tmp_path / 'id_rsa'
    secret.write_text('PRIVATE KEY')
    folder = alf_root / CORI1 / 'alf'
    (folder / 'key.stolen.npy').symlink_to(secret)
    (folder / 'spikes.alias.npy').symlink_to(folder / 'spikes.times.npy')  # inside: fine
    with caplog.at_level(logging.WARNING, logger='onelight'):
        result = onelight.scan(alf_root)
    assert f'{CORI1}/alf/spikes.alias.npy' in result.files
    assert not any('stolen' in f for f in result.files)
    assert 'outside' in caplog.text and 'key.stolen.npy' in caplog.text
    server = serve(alf_root)  # serving uses the same scan
    assert f'{CORI1}/alf/key.stolen.npy' not in server.files
    onelight.write_index(alf_root, base_url=server.url)
    assert 'stolen' not in (alf_root / '.one_root').read_text()


@pytest.mark.parametrize('name', ['../../evil', 'a/b', '..', 'x\ny', ''])
def test_a_repository_name_is_one_safe_segment(tmp_path, name):
    from click.testing import CliRunner

    args = ['add_repo', name, '--type', 'local', '--root-dir', str(tmp_path)]
    result = CliRunner().invoke(onelight.cli, args, catch_exceptions=False)
    assert result.exit_code != 0 and 'Traceback' not in result.output
    assert len(result.output.strip().splitlines()) == 1 or 'Usage' in result.output
    config = {'repositories': [{'name': name, 'type': 'local', 'root_dir': str(tmp_path)}]}
    path = tmp_path / 'config.json'
    path.write_text(json.dumps(config))
    with pytest.raises(onelight.ConfigError) as caught:
        onelight.validate_config(json.loads(path.read_text()), path)
    assert '\n' not in str(caught.value)
    assert not (tmp_path.parent.parent / 'evil').exists()


@pytest.mark.parametrize('value', [42, ['lab'], {'a': 1}, True])
def test_a_config_with_a_non_text_current_repository_is_one_line(tmp_path, value):
    path = tmp_path / 'config.json'
    path.write_text(json.dumps({'repositories': [], 'current_repository': value}))
    with pytest.raises(onelight.ConfigError, match='current_repository') as caught:
        onelight.validate_config(json.loads(path.read_text()), path)
    assert '\n' not in str(caught.value)


@pytest.mark.parametrize('part', ['session', 'dirs', 'filename'])
def test_a_tampered_parsed_copy_of_the_index_is_not_used(
    alf_root, serve, tmp_path, monkeypatch, caplog, part
):
    """Someone with access to the cache rewrites the parsed index copy so that a path leaves
    the download folder: the copy is dropped and the index parsed anew."""
    import pyarrow as pa
    import pyarrow.feather as feather

    monkeypatch.setattr(onelight, 'PARSED_CACHE_MIN_LINES', 10)
    server = serve(alf_root)
    http_one(server, tmp_path).search()
    (copy,) = (onelight.app_dirs().cache / 'index').glob('*.parsed.arrow')
    table = feather.read_table(copy)
    df = table.to_pandas()
    evil = {
        'session': '../../../../tmp/Subjects/x/2020-01-01/001',
        'dirs': '../../',
        'filename': '..',
    }[part]
    first = df[part].cat.categories[0]
    df[part] = df[part].cat.rename_categories({first: evil})
    out = pa.Table.from_pandas(df, preserve_index=False)
    feather.write_feather(
        out.replace_schema_metadata(table.schema.metadata), copy, compression='uncompressed'
    )
    with caplog.at_level(logging.WARNING, logger='onelight'):
        one = http_one(server, tmp_path)
        sessions = one.search()
        one.download(CORI1)
    assert 'damaged parsed copy' in caplog.text
    assert all('..' not in s for s in sessions) and CORI1 in sessions
    assert not any('..' in str(p) for p in onelight.row_paths(one.index.df))


@needs_symlinks
def test_a_part_swapped_for_a_symlink_mid_download_writes_nothing_through_it(big, serve, tmp_path):
    """While its ranges are in flight, a neighbour swaps the .part (and plants the journal)
    for links to a file of the user: the download writes through its own descriptor, never
    through the names, and what the names then point at is refused, not published."""
    import threading
    import time

    server = serve(big)
    publish(server, big, checksums=True)
    server.throttle = 0.01
    victim = tmp_path / 'authorized_keys'
    victim.write_text('ssh-ed25519 AAAA mine')
    dest = dest_of(tmp_path, BIG)
    part, journal = onelight.part_path(dest), onelight.journal_path(dest)

    def swap():
        deadline = time.monotonic() + 20
        while not (part.exists() and part.stat().st_size) and time.monotonic() < deadline:
            time.sleep(0.005)
        for name in (part, journal):
            link = name.with_name(name.name + '.evil')
            link.symlink_to(victim)
            os.replace(link, name)

    swapper = threading.Thread(target=swap)
    swapper.start()
    with pytest.raises(onelight.TransferError, match='swapped'):
        http_one(server, tmp_path).download(BIG_SESSION)
    swapper.join()
    assert victim.read_text() == 'ssh-ed25519 AAAA mine'
    assert not dest.is_symlink() and not dest.exists()


@needs_symlinks
def test_a_local_upload_writes_nothing_through_planted_links(alf_root, tmp_path):
    """A shared repository folder where a neighbour planted the .part a copy used to go
    through, and a folder that is a link: the upload never writes through either."""
    repo = tmp_path / 'shared'
    (repo / CORI1 / 'alf').mkdir(parents=True)
    victim = tmp_path / 'bashrc'
    victim.write_text('mine')
    (repo / f'{SPIKES}.part').symlink_to(victim)
    onelight.One(root_dir=repo).upload(alf_root)
    assert victim.read_text() == 'mine'
    assert (repo / SPIKES).read_bytes() == (alf_root / SPIKES).read_bytes()
    elsewhere = tmp_path / 'elsewhere'
    elsewhere.mkdir()
    fresh = tmp_path / 'fresh'
    fresh.mkdir()
    (fresh / 'nicklab').symlink_to(elsewhere, target_is_directory=True)
    with pytest.raises(onelight.TransferError, match='symlink'):
        onelight.One(root_dir=fresh).upload(alf_root)
    assert list(elsewhere.iterdir()) == []


def _swap_after_the_plan(monkeypatch, path, swap):
    """Run ``swap(path)`` once the upload has scanned the tree (the window a neighbour in a
    shared folder has between the scan and the reading of each file)."""
    make = onelight.UploadPlan.make.__func__

    def make_then_swap(cls, root, limit):
        plan = make(cls, root, limit)
        swap(path)
        return plan

    monkeypatch.setattr(onelight.UploadPlan, 'make', classmethod(make_then_swap))


def _link_to(secret):
    def swap(path):
        path.unlink()
        path.symlink_to(secret)

    return swap


def _rewrite(path):
    data = path.read_bytes()
    before = path.stat().st_ctime_ns
    while path.stat().st_ctime_ns == before:  # the clock of file times can be coarse
        path.write_bytes(bytes(len(data)))  # other bytes, the same size


@pytest.mark.parametrize('swap', ['link', 'rewrite'])
@pytest.mark.parametrize('kind', ['local', 'webdav', 'figshare'])
def test_a_file_swapped_after_the_scan_is_never_published(
    alf_root, tmp_path, monkeypatch, webdav, figshare, kind, swap
):
    """A co-worker replaces a scanned file with a link to a secret (or rewrites it) before
    the upload reads it: the upload fails naming the file, and the secret's bytes go nowhere."""
    from conftest import figshare_one

    secret = tmp_path / 'id_rsa'
    secret.write_bytes(b'PRIVATE KEY ' * 100)
    target = alf_root / SPIKES
    _swap_after_the_plan(monkeypatch, target, _link_to(secret) if swap == 'link' else _rewrite)
    if kind == 'local':
        dest = tmp_path / 'repo'
        dest.mkdir()
        client = onelight.One(root_dir=dest)
    elif kind == 'webdav':
        dav = webdav()
        client, dest = http_one(dav, tmp_path / 'up'), dav.root
    else:
        article = figshare.create_article('a' * 40)
        client = figshare_one(figshare, article, tmp_path / 'up', token='a' * 40, private=True)
        dest = None
    with pytest.raises(onelight.TransferError, match='no longer the file scanned'):
        client.upload(alf_root)
    if dest is not None:
        stored = [p.read_bytes() for p in dest.rglob('*') if p.is_file()]
        assert not any(b'PRIVATE' in data for data in stored)
        assert not (dest / SPIKES).exists() and not (dest / '.one_root').exists()
    else:
        sent = [
            b''.join([f.data, *f.parts.values()])
            for f in figshare.articles[article].files.values()
        ]
        assert not any(b'PRIVATE' in data for data in sent)
        assert '.one_root' not in figshare.names(article)


def test_a_file_swapped_before_the_index_gives_it_no_md5(alf_root, tmp_path, monkeypatch, webdav):
    """The swap comes after the files were sent, while the index's md5s are computed: the
    secret is not read for its md5 either, and no index is published."""
    secret = tmp_path / 'id_rsa'
    secret.write_bytes(b'PRIVATE KEY ' * 100)
    index_files = onelight.index_files

    def swap_then_index(scan, *args, **kwargs):
        (alf_root / SPIKES).unlink()
        (alf_root / SPIKES).symlink_to(secret)
        return index_files(scan, *args, **kwargs)

    monkeypatch.setattr(onelight, 'index_files', swap_then_index)
    dav = webdav()
    with pytest.raises(onelight.TransferError, match='no longer the file scanned'):
        http_one(dav, tmp_path / 'up').upload(alf_root, checksums=True)
    assert not (dav.root / '.one_root').exists()
