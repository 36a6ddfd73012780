"""onelight verify: local copies against the index, and --repair."""

from click.testing import CliRunner
from conftest import http_one

import onelight

CORI1 = 'nicklab/Subjects/Cori/2016-12-14/001'


def run(*args):
    return CliRunner().invoke(onelight.cli, [str(a) for a in args], catch_exceptions=False)


def test_verify_and_repair(alf_root, serve, tmp_path):
    server = serve(alf_root)
    onelight.write_index(alf_root, base_url=server.url, checksums=True)
    server.index_data = (alf_root / '.one_root').read_bytes()
    config = onelight.load_config()
    config['repositories'] = [{'name': 'web', 'type': 'http', 'base_url': server.url}]
    config['current_repository'] = 'web'
    config['download_dir'] = str(tmp_path / 'dl' / '{lab}' / '{subject}' / '{date}' / '{number}')
    onelight.save_config(config)
    assert run('download', CORI1).exit_code == 0
    result = run('verify')
    assert result.exit_code == 0 and 'match' in result.stderr
    folder = tmp_path / 'dl' / 'nicklab' / 'Cori' / '2016-12-14' / '001' / 'alf'
    (folder / 'spikes.times.npy').write_bytes((folder / 'spikes.times.npy').read_bytes()[:100])
    (folder / 'eye.area.npy').unlink()
    data = bytearray((folder / 'trials.goCue_times.npy').read_bytes())
    data[-1] ^= 0xFF
    (folder / 'trials.goCue_times.npy').write_bytes(bytes(data))
    result = run('verify', CORI1)
    assert result.exit_code == 1
    found = {line.split()[0]: line.split()[-1] for line in result.stdout.splitlines()}
    assert found == {
        'truncated': str(folder / 'spikes.times.npy'),
        'missing': str(folder / 'eye.area.npy'),
        'wrong': str(folder / 'trials.goCue_times.npy'),
    }
    # a bare verify checks the local copies (a deleted file is found by naming its session)
    assert sorted(line.split()[0] for line in run('verify').stdout.splitlines()) == [
        'truncated',
        'wrong',
    ]
    (folder / 'licks.times.npy.part').write_bytes(b'x')
    (folder / 'licks.times.npy').unlink()
    assert 'incomplete' in run('verify').stdout
    result = run('verify', CORI1, '--repair')
    assert result.exit_code == 0, result.output
    assert run('verify').exit_code == 0
    for name in ('spikes.times.npy', 'eye.area.npy', 'trials.goCue_times.npy'):
        assert (folder / name).read_bytes() == (alf_root / CORI1 / 'alf' / name).read_bytes()


def test_verify_library_api(alf_root, serve, tmp_path):
    server = serve(alf_root)
    one = http_one(server, tmp_path)
    one.download(CORI1, 'trials')
    assert one.verify() == []
    path = one.load_object(CORI1, 'trials', download_only=True)[0]
    path.unlink()
    assert one.verify() == []  # no local copy left to check
    problems = one.verify([CORI1])
    assert ('missing', path) in problems
    assert len(problems) == len(one.list_(CORI1)) - 10  # all but the other trials files
    assert one.verify([CORI1], repair=True) == []
    assert path.is_file()


def test_stray_partials_are_reported_and_cleaned(alf_root, serve, tmp_path):
    """An interrupted --force leaves .part files beside complete files: the next download
    removes them, verify reports them and --repair removes them."""
    server = serve(alf_root)
    one = http_one(server, tmp_path)
    paths = one.download(CORI1)
    strays = [onelight.part_path(p) for p in paths[:3]]
    for part in strays:
        part.write_bytes(b'half of a re-download')
    problems = one.verify()
    assert sorted(problems) == sorted(('stray partial', part) for part in strays)
    assert one.verify(repair=True) == [] and not any(p.exists() for p in strays)
    for part in strays:
        part.write_bytes(b'again')
    assert http_one(server, tmp_path).download(CORI1) == paths
    assert not any(p.exists() for p in strays)


def test_a_partial_another_process_is_writing_is_left_alone(tmp_path):
    fcntl = __import__('pytest').importorskip('fcntl')
    dest = tmp_path / 'a.b.npy'
    dest.write_bytes(b'done')
    part = onelight.part_path(dest)
    part.write_bytes(b'in progress')
    with open(part, 'rb') as held:
        fcntl.flock(held.fileno(), fcntl.LOCK_EX)
        assert not onelight.discard_stray_part(dest) and part.exists()
    assert onelight.discard_stray_part(dest) and not part.exists()
