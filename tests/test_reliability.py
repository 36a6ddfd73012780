"""The reliability matrix: every fault ends with a correct file, or no final file and a
one-line error; a malformed index never writes outside the download folder."""

import errno
import os

import pytest
from click.testing import CliRunner

import onelight

CORI1 = 'nicklab/Subjects/Cori/2016-12-14/001'
REL = f'{CORI1}/alf/spikes.times.npy'


def run(*args):
    return CliRunner().invoke(onelight.cli, [str(a) for a in args], catch_exceptions=False)


def configure(server, tmp_path, **settings):
    config = onelight.load_config()
    config['repositories'] = [
        {'name': 'web', 'type': 'http', 'base_url': server.url, 'backoff': 0.01, **settings}
    ]
    config['current_repository'] = 'web'
    config['download_dir'] = str(tmp_path / 'dl' / '{lab}' / '{subject}' / '{date}' / '{number}')
    onelight.save_config(config)
    return tmp_path / 'dl' / 'nicklab' / 'Cori' / '2016-12-14' / '001' / 'alf' / 'spikes.times.npy'


def with_checksums(server, alf_root):
    onelight.write_index(alf_root, base_url=server.url, checksums=True)
    server.index_data = (alf_root / '.one_root').read_bytes()


MATRIX = {
    # name: (faults, settings, needs a 4-column index, expected error or None)
    'connection cut mid-file': ([('cut', 3000)], {}, False, None),
    '503 x3 then OK': ([('status', 503, {})] * 3, {}, False, None),
    '429 with Retry-After': ([('status', 429, {'Retry-After': '1'})], {}, False, None),
    'server ignores Range': ([('cut', 3000), ('ignore_range',)], {}, False, None),
    'wrong bytes (md5)': ([('corrupt',)] * 2, {}, True, 'md5 check'),
    'Content-Length shorter than body': ([('long_body',)], {}, True, 'in the index'),
    'slower than the read timeout': (
        [('slow', 1.0)] * 3,
        {'timeout': 0.2, 'retries': 1},
        False,
        'timed out',
    ),
    'persistent 500': ([('status', 500, {})] * 8, {'retries': 2}, False, '500'),
}


@pytest.mark.parametrize('case', sorted(MATRIX))
def test_fault_matrix(case, alf_root, serve, tmp_path):
    faults, settings, checksums, error = MATRIX[case]
    server = serve(alf_root)
    if checksums:
        with_checksums(server, alf_root)
    server.add_fault(REL, *faults)
    dest = configure(server, tmp_path, **settings)
    result = run('download', CORI1, 'spikes')
    if error is None:
        assert result.exit_code == 0, result.output
        assert dest.read_bytes() == (alf_root / REL).read_bytes()
    else:
        assert result.exit_code == 1
        *retries, last = result.stderr.splitlines()  # one line an error, after one a retry
        assert last.startswith('error: ') and error in last
        assert all(line.startswith('WARNING: retrying ') for line in retries)
        assert not dest.exists()
    assert 'Traceback' not in result.output
    assert not (dest.exists() and dest.read_bytes() != (alf_root / REL).read_bytes())


def test_disk_full_leaves_no_file(alf_root, serve, tmp_path, monkeypatch):
    server = serve(alf_root)
    dest = configure(server, tmp_path)
    real, written = onelight.PartFile.pwrite, []

    def full_disk(self, data, offset):
        if sum(written) + len(data) > 10_000:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        written.append(len(data))
        return real(self, data, offset)

    monkeypatch.setattr(onelight.PartFile, 'pwrite', full_disk)
    result = run('download', CORI1, 'spikes')
    assert result.exit_code == 1 and 'No space left on device' in result.stderr
    assert result.stderr.count('\n') == 1
    assert not dest.exists() and not list(dest.parent.glob('*.part'))


MALICIOUS = [
    'lab/Subjects/s/2020-01-01/001/../../../../../escape.txt\t{url}escape',
    '/tmp/absolute/lab/Subjects/s/2020-01-01/001/a.b.npy\t{url}abs',
    'lab\\Subjects\\s\\2020-01-01\\001\\..\\..\\win.txt\t{url}win',
    'lab/Subjects/s/2020-01-01/001/a\x00b.npy\t{url}nul',
    'lab/Subjects/s/2020-01-01/001/ctl\x1b[2J.npy\t{url}ctl',
    'lab/Subjects/s/2020-01-01/001/' + 'x' * 10000 + '.npy\t{url}long',
    'lab/Subjects/s/2020-01-01/001/three.cols.npy\t{url}a\t12',
    'lab/Subjects/s/2020-01-01/001/C:/drive.npy\t{url}drive',
    'lab/Subjects/../../../2020-01-01/001/up.npy\t{url}up',
    'lab/Subjects/s/2020-01-01/001/alf/%2e%2e/%2e%2e/%2e%2e/x.y.npy\t{url}enc',
    'lab/Subjects/s/2020-01-01/001/alf/%252E%252E/x.y.npy\t{url}enc2',
    'lab/Subjects/s/2020-01-01/001/ok.file.npy\t{url}' + REL,
]


def test_malformed_index_corpus_writes_nothing_outside(alf_root, serve, tmp_path):
    server = serve(alf_root)
    lines = [line.format(url=server.url) for line in MALICIOUS]
    data = '\n'.join(lines).encode('utf-8', 'surrogateescape') + b'\nlab/Subjects/s/\xff\xfe.npy\n'
    server.index_data = data
    configure(server, tmp_path)
    before = {p for p in tmp_path.parent.rglob('*')}
    result = run('search')
    assert result.exit_code == 0 and result.stdout.split() == ['lab/Subjects/s/2020-01-01/001']
    assert 'Traceback' not in result.output
    result = run('download', 'lab/Subjects/s/2020-01-01/001')
    assert result.exit_code == 0, result.output
    (path,) = [line for line in result.stdout.splitlines()]
    assert path.endswith('ok.file.npy')
    created = {p for p in tmp_path.parent.rglob('*')} - before
    allowed = (tmp_path / 'dl', tmp_path / 'home')
    assert all(any(p == a or a in p.parents for a in allowed) for p in created), created
    strict = run('--strict', 'search')
    assert strict.exit_code == 1 and 'line 1' in strict.stderr
    assert strict.stderr.count('\n') == 1 and 'Traceback' not in strict.output


def test_corrupt_cached_index_and_bad_config(alf_root, serve, tmp_path):
    server = serve(alf_root)
    configure(server, tmp_path)
    assert run('search').exit_code == 0
    for body in (onelight.app_dirs().cache / 'index').glob('*.one_root'):
        body.write_bytes(b'lab/Subjects/x/2020-01-01/001/evil.npy\thttp://elsewhere/\n')
    result = run('search')
    assert result.exit_code == 0 and len(result.stdout.split()) == 6
    config = onelight.app_dirs().config_file
    config.write_text('{"repositories": [}')
    result = run('search')
    assert result.exit_code == 1 and str(config) in result.stderr and 'line 1' in result.stderr
    assert config.read_text() == '{"repositories": [}'
