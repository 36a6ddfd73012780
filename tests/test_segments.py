"""Segmented downloads of large files: ranges over several connections into one preallocated
.part, a journal of finished ranges, resumed range by range, verified whole."""

import pytest
from conftest import http_one
from servers import md5_of

import onelight

REL = 'lab/Subjects/m1/2020-01-01/001/raw/raw.data.bin'
SIZE = 3 << 20


@pytest.fixture
def small_segments(monkeypatch):
    """Segments from 1 MiB in 256 KiB ranges, so that tests stay small."""
    monkeypatch.setattr(onelight, 'SEGMENT_THRESHOLD', 1 << 20)
    monkeypatch.setattr(onelight, 'SEGMENT_SIZE', 256 << 10)


@pytest.fixture
def big(tmp_path):
    root = tmp_path / 'src'
    (root / REL).parent.mkdir(parents=True)
    (root / REL).write_bytes(bytes(range(256)) * (SIZE // 256))
    return root


def with_sizes(server, root):
    onelight.write_index(root, base_url=server.url, checksums=True)
    server.index_data = (root / '.one_root').read_bytes()


def dest(tmp_path):
    return tmp_path / 'dl' / 'lab' / 'm1' / '2020-01-01' / '001' / 'raw' / 'raw.data.bin'


def test_a_large_file_comes_in_ranges(big, serve, tmp_path, small_segments):
    server = serve(big)
    with_sizes(server, big)
    paths = http_one(server, tmp_path).download('lab/Subjects/m1/2020-01-01/001')
    assert paths == [dest(tmp_path)] and md5_of(paths[0]) == md5_of(big / REL)
    ranges = [r[3] for r in server.requests_for(REL)]
    assert len(ranges) == 12 and all(r and r.startswith('bytes=') for r in ranges)
    assert not list((tmp_path / 'dl').rglob('*.part*'))  # no .part, no journal left


def test_an_interrupted_download_resumes_range_by_range(big, serve, tmp_path, small_segments):
    server = serve(big)
    with_sizes(server, big)
    # after the first range, three break off, and there are no retries
    server.add_fault(REL, ('slow', 0), ('cut', 1000), ('cut', 1000), ('cut', 1000))
    one = http_one(server, tmp_path, retries=0)
    with pytest.raises(onelight.TransferError, match='kept for resuming'):
        one.download('lab/Subjects/m1/2020-01-01/001')
    journal = onelight.journal_path(dest(tmp_path))
    assert onelight.part_path(dest(tmp_path)).exists() and journal.exists()
    before = len(server.requests_for(REL))
    server.faults.clear()
    http_one(server, tmp_path).download('lab/Subjects/m1/2020-01-01/001')
    again = len(server.requests_for(REL)) - before
    assert 0 < again < 12  # only the ranges that were not finished
    assert md5_of(dest(tmp_path)) == md5_of(big / REL) and not journal.exists()


def test_a_server_ignoring_range_gets_one_stream(big, serve, tmp_path, small_segments):
    server = serve(big)
    with_sizes(server, big)
    server.add_fault(REL, ('ignore_range',))
    http_one(server, tmp_path).download('lab/Subjects/m1/2020-01-01/001')
    assert md5_of(dest(tmp_path)) == md5_of(big / REL)


def test_small_files_keep_one_request(big, serve, tmp_path):
    server = serve(big)
    with_sizes(server, big)
    http_one(server, tmp_path).download('lab/Subjects/m1/2020-01-01/001')
    assert [r[3] for r in server.requests_for(REL)] == [None]  # below 64 MiB: one stream


def test_a_corrupt_range_fails_the_md5_computed_on_the_way(big, serve, tmp_path, small_segments):
    server = serve(big)
    with_sizes(server, big)
    server.add_fault(REL, ('slow', 0), ('slow', 0), ('corrupt',))  # the third range
    with pytest.raises(onelight.IntegrityError, match='md5'):
        http_one(server, tmp_path).download('lab/Subjects/m1/2020-01-01/001')
    assert not dest(tmp_path).exists()
    assert not list((tmp_path / 'dl').rglob('*.part*'))


def test_the_prefix_hasher_follows_ranges_in_any_order(tmp_path):
    data = bytes(range(256)) * 4096  # 1 MiB
    part = tmp_path / 'x.part'
    part.write_bytes(data)
    hasher = onelight._PrefixHasher(part, len(data), segment=100_000)
    for start in reversed(range(0, len(data), 100_000)):
        hasher.finished(start)
    assert hasher.result() == onelight.md5_of_bytes(data)
    unfinished = onelight._PrefixHasher(part, len(data), segment=100_000)
    unfinished.finished(100_000)  # the first range never came: no md5, the file is read
    assert unfinished.result() is None
