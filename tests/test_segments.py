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
    again = [r[3] for r in server.requests_for(REL)[before:]]
    assert 0 < len(again) <= 12 and requested(again) < SIZE  # what each range held is kept
    assert md5_of(dest(tmp_path)) == md5_of(big / REL) and not journal.exists()


def requested(ranges) -> int:
    """The bytes the Range headers of requests ask for."""
    total = 0
    for value in ranges:
        start, end = value.split('=', 1)[1].split('-')
        total += (int(end) if end else SIZE - 1) - int(start) + 1
    return total


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


def test_the_md5_follows_the_complete_prefix(tmp_path):
    """Bytes written at the end of the prefix are hashed as they arrive; the others are read
    back through the descriptor once the ranges before them are done."""
    data = bytes(range(256)) * 4096  # 1 MiB
    with onelight.Folder.enter(tmp_path) as folder, onelight.PartFile(folder, 'x') as part:
        part.pwrite(data[500_000:], 500_000)  # a later range first
        md5 = onelight._Md5()
        md5.update(0, data[:1000])  # the start, as it arrives
        md5.update(500_000, data[500_000:])  # not at the end of the prefix: not hashed
        part.pwrite(data[:500_000], 0)
        md5.follow(part, 500_000)
        assert md5.offset == 500_000
        assert md5.result(part, len(data)) == onelight.md5_of_bytes(data)


# ----------------------------------------------------------- sizes learned from the server
def two_columns(server, root):
    """The index as the original ONE light client publishes it: path and URL, no size."""
    onelight.write_index(root, base_url=server.url)
    server.index_data = (root / '.one_root').read_bytes()
    assert all(line.count('\t') == 1 for line in server.index_data.decode().splitlines())


def test_without_sizes_the_first_range_says_the_size_and_the_rest_come_in_ranges(
    big, serve, tmp_path, small_segments
):
    server = serve(big)
    two_columns(server, big)
    paths = http_one(server, tmp_path).download('lab/Subjects/m1/2020-01-01/001')
    assert md5_of(paths[0]) == md5_of(big / REL)
    ranges = [r[3] for r in server.requests_for(REL)]
    assert ranges[0] == f'bytes=0-{(256 << 10) - 1}'  # the first request: the first range
    assert len(ranges) == 12 and len(set(ranges)) == 12  # every range once, no extra request
    assert not list((tmp_path / 'dl').rglob('*.part*'))


def test_without_sizes_a_file_the_first_range_covers_costs_one_request(big, serve, tmp_path):
    server = serve(big)
    two_columns(server, big)
    paths = http_one(server, tmp_path).download('lab/Subjects/m1/2020-01-01/001')
    assert md5_of(paths[0]) == md5_of(big / REL)
    assert len(server.requests_for(REL)) == 1  # 3 MiB < SEGMENT_SIZE: one 206, the whole file


def test_without_sizes_a_server_ignoring_range_keeps_one_stream(
    big, serve, tmp_path, small_segments
):
    server = serve(big)
    two_columns(server, big)
    server.add_fault(REL, ('ignore_range',))
    paths = http_one(server, tmp_path).download('lab/Subjects/m1/2020-01-01/001')
    assert md5_of(paths[0]) == md5_of(big / REL)
    assert len(server.requests_for(REL)) == 1  # its 200 was the whole file


def test_without_sizes_an_interrupted_download_resumes_its_ranges(
    big, serve, tmp_path, small_segments
):
    server = serve(big)
    two_columns(server, big)
    server.add_fault(REL, ('slow', 0), ('cut', 1000), ('cut', 1000), ('cut', 1000))
    with pytest.raises(onelight.TransferError, match='kept for resuming'):
        http_one(server, tmp_path, retries=0).download('lab/Subjects/m1/2020-01-01/001')
    journal = onelight.journal_path(dest(tmp_path))
    assert journal.exists() and onelight.part_path(dest(tmp_path)).stat().st_size == SIZE
    before = len(server.requests_for(REL))
    server.faults.clear()
    http_one(server, tmp_path).download('lab/Subjects/m1/2020-01-01/001')
    again = [r[3] for r in server.requests_for(REL)[before:]]
    assert 0 < len(again) <= 12 and all(r.startswith('bytes=') for r in again)
    assert requested(again) < SIZE
    assert md5_of(dest(tmp_path)) == md5_of(big / REL) and not journal.exists()


def test_a_planted_state_claiming_another_size_is_not_believed(
    big, serve, tmp_path, small_segments
):
    import json

    server = serve(big)
    two_columns(server, big)
    target = dest(tmp_path)
    target.parent.mkdir(parents=True)
    onelight.part_path(target).write_bytes(b'planted')
    claim = {'size': 1 << 50, 'validator': '"x"', 'segment': 256 << 10, 'done': {'0': 1}}
    onelight.journal_path(target).write_text(json.dumps(claim))
    http_one(server, tmp_path).download('lab/Subjects/m1/2020-01-01/001')
    assert md5_of(target) == md5_of(big / REL)  # fetched anew, nothing preallocated


@pytest.mark.parametrize(
    'answer',
    [
        ('body', 206, {'Content-Range': 'bytes 0-9/*'}, b'0123456789'),  # no total
        ('body', 206, {'Content-Range': 'bytes 5-14/99'}, b'0123456789'),  # not from 0
        ('status', 416, {'Content-Range': 'bytes */0'}),  # as some servers say of any file
    ],
)
def test_an_unusable_first_answer_is_asked_again_without_range(big, serve, tmp_path, answer):
    server = serve(big)
    two_columns(server, big)
    server.add_fault(REL, answer)
    paths = http_one(server, tmp_path).download('lab/Subjects/m1/2020-01-01/001')
    assert md5_of(paths[0]) == md5_of(big / REL)
    assert [r[3] for r in server.requests_for(REL)][1:] == [None]


def test_without_sizes_an_empty_file_downloads(serve, tmp_path):
    root = tmp_path / 'src'
    (root / REL).parent.mkdir(parents=True)
    (root / REL).write_bytes(b'')
    server = serve(root)
    two_columns(server, root)
    paths = http_one(server, tmp_path).download('lab/Subjects/m1/2020-01-01/001')
    assert paths[0].read_bytes() == b''


def test_a_size_the_disk_cannot_hold_is_refused_before_anything_is_written(
    big, serve, tmp_path, small_segments
):
    server = serve(big)
    two_columns(server, big)
    claim = {'Content-Range': f'bytes 0-9/{1 << 60}'}  # an exabyte, says the server
    server.add_fault(REL, ('body', 206, claim, b'0123456789'))
    with pytest.raises(onelight.TransferError, match='more than the .* free.*nothing was written'):
        http_one(server, tmp_path, retries=0).download('lab/Subjects/m1/2020-01-01/001')
    assert not list((tmp_path / 'dl').rglob('raw.data.bin*'))
