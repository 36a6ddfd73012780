"""Zenodo records against the emulator in tests/zenodo_emulator.py, and packed volumes."""

import hashlib
import io
import logging
import types
import zipfile

import numpy as np
import pytest
from conftest import http_one, zenodo_one

import onelight

TOKEN = 'z' * 40


def make_release(root, sessions=12, files=100, seed=0):
    """``sessions`` x ``files`` small .npy files (1,200 by default)."""
    rng = np.random.default_rng(seed)
    for s in range(sessions):
        folder = root / f'lab/Subjects/m{s % 3}/2020-01-{1 + s // 3:02d}/001/alf'
        folder.mkdir(parents=True, exist_ok=True)
        for i in range(files):
            np.save(folder / f'obj{i}.attr.npy', rng.integers(0, 9, 200 + 4 * i))
    return root


def session_of(rel):
    return '/'.join(rel.split('/')[:5])


def volumes(emu, record):
    files = emu.records[record].files
    return {
        k: zipfile.ZipFile(io.BytesIO(f['data'])) for k, f in files.items() if k.endswith('.zip')
    }


def test_a_1200_file_release_from_upload_to_a_new_version(zenodo, tmp_path, caplog):
    emu, root = zenodo, make_release(tmp_path / 'release')
    rels = onelight.scan(root).files
    draft = emu.new_draft(TOKEN)
    owner = zenodo_one(emu, draft, tmp_path / 'owner', token=TOKEN, volume_mb=1)
    report = owner.upload(root)
    # packed: plain zips (stored members), sessions whole, at most 1 MiB each
    packed = volumes(emu, draft)
    keys = set(emu.records[draft].files)
    assert keys == set(packed) | {'.one_root'} and 1 < len(keys) <= 100
    members = {}
    for name, z in packed.items():
        assert z.testzip() is None
        assert all(i.compress_type == zipfile.ZIP_STORED for i in z.infolist())
        assert len(emu.records[draft].files[name]['data']) <= 1 << 20
        for i in z.infolist():
            members[i.filename] = name
    assert sorted(members) == rels
    by_session = {}
    for rel, name in members.items():
        by_session.setdefault(session_of(rel), set()).add(name)
    assert all(len(names) == 1 for names in by_session.values())  # never split
    index = emu.records[draft].files['.one_root']['data']
    assert report.cite == 'sha256:' + hashlib.sha256(index).hexdigest()
    lines = [line.split('\t') for line in index.decode().splitlines()]
    assert all(len(cells) == 4 and '#bytes=' in cells[1] for cells in lines)  # size, md5

    # an unchanged rerun sends no write
    writes = len(emu.writes())
    assert owner.upload(root).files == 0
    assert len(emu.writes()) == writes

    done = owner.publish()
    assert done['record_id'] == draft and done['cite'] == report.cite
    assert emu.records[draft].published
    writes = len(emu.writes())  # unchanged, published: no new version, no write at all
    assert owner.upload(root).cite == report.cite and len(emu.writes()) == writes
    assert max(emu.records) == draft

    # a fresh reader needs only the record id; one file costs about its own bytes
    reader = zenodo_one(emu, draft, tmp_path / 'reader')
    session = 'lab/Subjects/m1/2020-01-01/001'
    assert len(reader.search()) == 12
    before = len(emu.log)
    trials = reader.load_dataset(session, 'obj7.attr')
    np.testing.assert_array_equal(trials, np.load(root / session / 'alf/obj7.attr.npy'))
    ranged = [e for e in emu.log[before:] if e[2] and e[2] != 'bytes=0-0']
    (one_range,) = ranged
    first, last = map(int, one_range[2].split('=')[1].split('-'))
    assert last - first + 1 == (root / session / 'alf/obj7.attr.npy').stat().st_size
    # a whole session: one request for its span (beside the probe of its volume)
    before = len(emu.log)
    paths = reader.download(session)
    assert len(paths) == 100 and paths.report.files == 99
    assert len([e for e in emu.log[before:] if e[2] and e[2] != 'bytes=0-0']) == 1
    assert reader.verify(session) == []
    for path in paths:
        lab, rel = path.relative_to(tmp_path / 'reader' / 'dl').as_posix().split('/', 1)
        assert path.read_bytes() == (root / lab / 'Subjects' / rel).read_bytes()

    # a new version: a changed file, a new session; what did not change is carried over
    np.save(root / session / 'alf/obj7.attr.npy', np.arange(5))
    make_release(tmp_path / 'more', sessions=1, files=3, seed=1)
    extra = tmp_path / 'more/lab/Subjects/m0/2020-01-01/001'
    (root / 'lab/Subjects/m9/2021-01-01/001').mkdir(parents=True)
    for f in (extra / 'alf').iterdir():
        (root / 'lab/Subjects/m9/2021-01-01/001' / f.name).write_bytes(f.read_bytes())
    before = len(emu.log)
    emu.fail_content_after = 1  # interrupted: the server takes one volume, then no more
    with pytest.raises(onelight.RepositoryError, match='503'):
        owner.upload(root)
    new = max(emu.records)
    assert new != draft and not emu.records[new].published
    assert '.one_root' in emu.records[new].files  # (the earlier version's, carried over)
    emu.fail_content_after = None
    again = owner.upload(root)  # resumed: the volume sent is not sent again
    assert max(emu.records) == new
    sent = [e for e in emu.log[before:] if e[0] == 'PUT' and e[1].endswith('/content')]
    sent = [e for e in sent if not e[1].endswith('/.one_root/content')]
    assert [e[1] for e in sent].count(sent[0][1]) == 1  # the one taken is not sent again
    assert 1 <= len({e[1] for e in sent}) < len(packed)  # only the volumes that changed
    files = emu.records[new].files
    assert all(f['status'] == 'completed' for f in files.values())
    assert set(files) == set(volumes(emu, new)) | {'.one_root'}  # nothing stale, no duplicate
    assert again.cite != report.cite
    published = owner.publish()
    assert published['record_id'] == new and published['previous'] == draft

    # the old version's reader keeps reading it, and is told of the newer one
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger='onelight'):
        old = zenodo_one(emu, draft, tmp_path / 'old')
        old.search()
    assert f'newer version, {new}' in caplog.text
    np.testing.assert_array_equal(old.load_dataset(session, 'obj7.attr'), trials)
    latest = zenodo_one(emu, new, tmp_path / 'new', pin=published['cite'])
    np.testing.assert_array_equal(latest.load_dataset(session, 'obj7.attr'), np.arange(5))
    assert 'lab/Subjects/m9/2021-01-01/001' in latest.search()

    # a reader pinned to the first release refuses the new version's index
    with pytest.raises(onelight.IntegrityError, match='pinned'):
        zenodo_one(emu, new, tmp_path / 'pinned', pin=report.cite).search()
    assert len(zenodo_one(emu, draft, tmp_path / 'p2', pin=report.cite).search()) == 12


def test_an_interrupted_upload_resumes_without_duplicates(zenodo, tmp_path):
    emu, root = zenodo, make_release(tmp_path / 'release', sessions=3, files=30)
    draft = emu.new_draft(TOKEN)
    owner = zenodo_one(emu, draft, tmp_path / 'owner', token=TOKEN, jobs=1, retries=0)
    emu.drop_after_start = 1  # a start acted on, its answer lost: looked for, not duplicated
    emu.fail_content_after = 40  # then the server stops taking content
    with pytest.raises(onelight.TransferError):
        owner.upload(root)
    files = emu.records[draft].files
    assert 0 < sum(f['status'] == 'completed' for f in files.values()) < 90
    assert '.one_root' not in files  # no index names what is not there
    emu.fail_content_after = None
    before = len(emu.log)
    owner.upload(root)
    resent = [e for e in emu.log[before:] if e[0] == 'PUT']
    assert len(resent) < 90 - 30  # what was complete is not sent again
    files = emu.records[draft].files
    assert all(f['status'] == 'completed' for f in files.values())
    assert len(files) == 91  # loose (90 files and the index), flat keys, no duplicates
    assert 'lab~Subjects~m0~2020-01-01~001~alf~obj0.attr.npy' in files
    owner.publish()
    reader = zenodo_one(emu, draft, tmp_path / 'reader')
    paths = reader.download('lab/Subjects/m1/2020-01-01/001')
    assert len(paths) == 30 and reader.verify() == []


def test_caps_and_tokens(zenodo, tmp_path):
    emu, root = zenodo, make_release(tmp_path / 'release', sessions=2, files=60)
    draft = emu.new_draft(TOKEN)
    owner = zenodo_one(emu, draft, tmp_path / 'owner', token=TOKEN)
    with pytest.raises(onelight.RepositoryError, match='at most 100 files'):
        owner.upload(root, pack=False)
    assert emu.writes() == []  # refused before anything was sent
    emu.max_files = 3  # a record with less room than onelight knows of: Zenodo's words
    with pytest.raises(onelight.RepositoryError, match='Too many files: at most 3'):
        owner.upload(make_release(tmp_path / 'small', sessions=1, files=5))
    emu.max_files, emu.max_bytes = 100, 1000
    with pytest.raises(onelight.RepositoryError, match='Quota exceeded'):
        owner.upload(root)
    emu.max_bytes = 50_000_000_000
    with pytest.raises(onelight.AuthError, match='token'):
        zenodo_one(emu, draft, tmp_path / 'x', token='wrong').upload(root)
    with pytest.raises(onelight.ConfigError, match='needs a "token"'):
        zenodo_one(emu, draft, tmp_path / 'y').upload(root)
    with pytest.raises(onelight.NotFoundError, match='clean_publish'):
        zenodo_one(emu, draft, tmp_path / 'z').search()  # a draft is not public
    owner.upload(root)
    owner.publish()
    zenodo_one(emu, draft, tmp_path / 'r', token=TOKEN).download('lab/Subjects/m0/2020-01-01/001')


def test_rate_limits_and_servers_that_ignore_ranges(zenodo, tmp_path, caplog):
    emu, root = zenodo, make_release(tmp_path / 'release', sessions=2, files=60)
    draft = emu.new_draft(TOKEN)
    owner = zenodo_one(emu, draft, tmp_path / 'owner', token=TOKEN, volume_mb=1)
    owner.upload(root)
    owner.publish()
    emu.rate_limit = (8, 1)  # 8 requests a second, then 429 with Retry-After
    reader = zenodo_one(emu, draft, tmp_path / 'reader', jobs=4)
    for i in range(20):  # one file at a time: a request each
        reader.load_dataset('lab/Subjects/m0/2020-01-01/001', f'obj{i}.attr')
    assert len(emu.log) > 20 and emu.refused == 0  # X-RateLimit-Remaining: 0 was waited out
    emu.rate_limit = None
    emu.refuse_next = 3  # 429s with Retry-After only
    for i in range(20, 24):
        reader.load_dataset('lab/Subjects/m0/2020-01-01/001', f'obj{i}.attr')
    assert emu.refused == 3
    emu.ignore_range = True
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger='onelight'):
        other = zenodo_one(emu, draft, tmp_path / 'other')
        before = len(emu.log)
        paths = other.download('lab/Subjects/m1/2020-01-01/001')
    assert 'ignores Range requests' in caplog.text
    assert len(paths) == 60 and other.verify() == []
    gets = [e for e in emu.log[before:] if e[1].endswith('.zip')]
    assert len(gets) == 2  # the probe, then the volume once


def test_packed_volumes_on_a_web_server(alf_root, webdav, tmp_path):
    server = webdav()
    writer = onelight.One(base_url=server.url, login='uploader', password='s3cret')
    report = writer.upload(alf_root, pack=True)
    assert report.cite
    zips = list(server.root.glob('*.zip'))
    assert zips and not (server.root / 'nicklab').exists()
    reader = http_one(server, tmp_path, pin=report.cite)
    session = reader.search()[0]
    paths = reader.download(session)
    for path in paths:
        rel = path.relative_to(tmp_path / 'dl').as_posix().split('/', 1)
        assert path.read_bytes() == (alf_root / rel[0] / 'Subjects' / rel[1]).read_bytes()
    with pytest.raises(onelight.ConfigError, match='read in place'):
        onelight.One(root_dir=tmp_path).upload(alf_root, pack=True)


def test_pins_on_local_folders_and_cached_indexes(alf_root, serve, tmp_path):
    cite = onelight.write_index(alf_root).cite
    assert onelight.One(root_dir=alf_root, pin=cite).search()
    with pytest.raises(onelight.ConfigError, match='sha256'):
        onelight.One(root_dir=alf_root, pin='sha256:12')
    assert http_one(serve(alf_root), tmp_path, pin=cite).search()
    (alf_root / 'nicklab/Subjects/Cori/2016-12-14/001/alf/new.thing.npy').write_bytes(b'x')
    pinned = onelight.One(root_dir=alf_root, pin=cite)  # the cited files, not the folder's
    assert 'alf/new.thing.npy' not in pinned.list_('nicklab/Subjects/Cori/2016-12-14/001')
    assert 'alf/new.thing.npy' in onelight.One(alf_root).list_(
        'nicklab/Subjects/Cori/2016-12-14/001'
    )
    changed = onelight.write_index(alf_root).cite
    with pytest.raises(onelight.IntegrityError, match='pinned'):
        onelight.One(root_dir=alf_root, pin=cite).search()
    server = serve(alf_root)  # (serves the index it read when it started)
    with pytest.raises(onelight.IntegrityError, match='pinned'):
        http_one(server, tmp_path, pin=cite).search()
    # offline, the cached index (the changed one) is refused too
    with pytest.raises(onelight.IntegrityError, match='pinned'):
        http_one(server, tmp_path, pin=cite, offline=True).search()
    assert http_one(server, tmp_path, pin=changed, offline=True).search()


@pytest.mark.parametrize(
    ('cell', 'ok'),
    [
        ('v.zip#bytes=10-19', True),
        ('lab~a~b.npy', True),
        ('../v.zip#bytes=1-2', False),
        ('a/%2e%2e/v.zip', False),
        ('./v.zip', False),
        ('javascript:x', False),
    ],
)
def test_relative_url_cells(cell, ok, tmp_path):
    line = f'lab/Subjects/m1/2020-01-01/001/alf/a.b.npy\t{cell}\t10\t{"0" * 32}\n'
    index = onelight.Index.from_bytes(line.encode(), base_url='http://h/r/')
    assert (len(index) == 1) == ok


def test_a_byte_range_that_is_not_the_size_is_refused(tmp_path):
    line = f'lab/Subjects/m1/2020-01-01/001/alf/a.b.npy\tv.zip#bytes=10-19\t11\t{"0" * 32}\n'
    index = onelight.Index.from_bytes(line.encode(), base_url='http://127.0.0.1:9/r/')
    one = http_one(types.SimpleNamespace(url='http://127.0.0.1:9/r/'), tmp_path)
    with pytest.raises(onelight.IndexFormatError, match='size of 11'):
        one.repository.downloads(index.df)[0]


def test_the_command_line(zenodo, tmp_path):
    from click.testing import CliRunner

    def run(*args):
        result = CliRunner().invoke(onelight.cli, [str(a) for a in args])
        return result.exit_code, result.stdout, result.stderr

    emu, root = zenodo, make_release(tmp_path / 'release', sessions=2, files=3)
    draft = emu.new_draft(TOKEN)
    url = f'https://zenodo.org/records/{draft}'
    code, _, err = run(
        'add_repo',
        'paper',
        '--type',
        'zenodo',
        '--record-id',
        url,
        '--api-url',
        emu.api_url,
        '--token',
        TOKEN,
        '--backoff',
        0.01,
    )
    assert code == 0, err
    code, out, err = run('upload', root)
    assert code == 0 and 'uploaded 6 files' in err and TOKEN not in out + err
    (cite,) = [line.split(' ', 1)[1] for line in out.splitlines() if line.startswith('cite: ')]
    code, out, err = run('clean_publish')
    assert code == 0 and f'published Zenodo record {draft}' in err and f'cite: {cite}' in out
    code, out, _ = run('index', root)
    assert code == 0 and 'cite: sha256:' in out
    run(
        'add_repo',
        'reader',
        '--type',
        'zenodo',
        '--record-id',
        draft,
        '--api-url',
        emu.api_url,
        '--pin',
        'sha256:' + '0' * 64,
    )
    code, _, err = run('-r', 'reader', 'search')
    assert code == 1 and err.count('\n') == 1 and 'pinned' in err and 'Traceback' not in err


def test_a_release_larger_than_a_record_is_refused_before_packing(zenodo, tmp_path):
    emu, root = zenodo, make_release(tmp_path / 'release', sessions=2, files=60)
    with open(root / 'lab/Subjects/m0/2020-01-01/001/alf/big.raw.bin', 'wb') as f:
        f.truncate(1_000_000_001)  # (sparse: never read, refused first)
    owner = zenodo_one(emu, emu.new_draft(TOKEN), tmp_path / 'owner', token=TOKEN, record_gb=1)
    with pytest.raises(onelight.RepositoryError, match='a Zenodo record holds at most'):
        owner.upload(root)
    assert emu.writes() == []
    assert not list(onelight.app_dirs().cache.rglob('*.zip'))  # no volume was made


def test_one_cache_tables_count_against_the_files_of_a_record(zenodo, tmp_path):
    emu, root = zenodo, make_release(tmp_path / 'release', sessions=1, files=97)
    draft = emu.new_draft(TOKEN)
    zenodo_one(emu, draft, tmp_path / 'owner', token=TOKEN).upload(root, one_cache=True)
    keys = set(emu.records[draft].files)  # 97 files, the index and 3 tables: more than 100
    assert {'.one_root', 'sessions.pqt', 'datasets.pqt', 'cache_info.json'} < keys
    assert len(keys) == 5 and any(k.endswith('.zip') for k in keys)
    owner = zenodo_one(emu, draft, tmp_path / 'owner', token=TOKEN)
    owner.publish()
    reader = zenodo_one(emu, draft, tmp_path / 'reader')
    (session,) = reader.search()
    assert reader.repository.read_tables() is not None  # ONE's tables, beside the index
    assert reader.to_eid(session) == onelight.session_eid(session)
