"""ONE cache tables both ways: what --one-cache writes (ONE-api 3.x's schema), and releases
described by ONE's tables (plain names, UUID names, cache.zip) read over http and from folders.

The ONE-style tables here are written with pandas/pyarrow from the facts of ONE-api's schema
(ONE-api is never imported)."""

import hashlib
import io
import json
import shutil
import uuid
import zipfile

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner
from conftest import EDGE_SESSION, http_one

import onelight

CORI1 = 'nicklab/Subjects/Cori/2016-12-14/001'
IBL = 'angelakilab/Subjects/IBL-T1/2019-02-20/001'
QC = pd.CategoricalDtype(['NOT_SET', 'PASS', 'WARNING', 'FAIL', 'CRITICAL'], ordered=True)


def run(*args):
    return CliRunner().invoke(onelight.cli, [str(a) for a in args], catch_exceptions=False)


def save(frame, path, meta=None):
    table = pa.Table.from_pandas(frame)
    one_meta = json.dumps(meta or {'date_created': '2024-01-01 12:00', 'origin': 'test'})
    table = table.replace_schema_metadata({**table.schema.metadata, b'one_metadata': one_meta})
    pq.write_table(table, path)


def one_style_tables(root, out=None, projects=None, qc=None, missing=()):
    """Tables as ONE-api's make_parquet_db and Alyx write them, with random ids.

    Returns {session path: eid}, {relative file path: dataset id}."""
    out = out or root
    result = onelight.scan(root)
    sessions, datasets, eids, ids = [], [], {}, {}
    for session in result.sessions:
        lab, _, subject, date, number = session.split('/')
        eid = eids[session] = str(uuid.uuid4())
        sessions.append(
            dict(
                id=eid,
                lab=lab,
                subject=subject,
                date=pd.Timestamp(date).date(),
                number=int(number),
                task_protocol=f'{lab}_task',
                projects=(projects or {}).get(session, ''),
            )
        )
    for rel, size in zip(result.files, result.sizes):
        session, rest = '/'.join(rel.split('/')[:5]), rel.split('/', 5)[5]
        if not onelight.is_alf_filename(rest.rsplit('/', 1)[-1]):
            continue
        dataset_id = ids[rel] = str(uuid.uuid4())
        datasets.append(
            dict(
                eid=eids[session],
                id=dataset_id,
                rel_path=rest,
                file_size=size,
                hash=hashlib.md5((root / rel).read_bytes()).hexdigest(),
                exists=rel not in missing,
                qc=(qc or {}).get(rel, 'NOT_SET'),
            )
        )
    s = pd.DataFrame(sessions).astype({'number': np.uint16}).set_index('id')
    d = pd.DataFrame(datasets).astype({'file_size': 'UInt64', 'qc': QC}).set_index(['eid', 'id'])
    save(s, out / 'sessions.pqt')
    save(d, out / 'datasets.pqt')
    return eids, ids


# ----------------------------------------------------------------------------------- writing
def test_index_one_cache_writes_ones_schema(alf_root):
    result = run('index', alf_root, '--one-cache')
    assert result.exit_code == 0, result.output
    assert '6 sessions' in result.stderr and 'non-ALF files left out' in result.stderr
    sessions = pq.read_table(alf_root / 'sessions.pqt')
    datasets = pq.read_table(alf_root / 'datasets.pqt')
    types = {f.name: str(f.type) for f in sessions.schema}
    assert types['lab'] == 'string' and types['subject'] == 'string'
    assert types['date'] == 'date32[day]' and types['number'] == 'uint16'
    assert types['task_protocol'] == 'string' and types['projects'] == 'string'
    types = {f.name: str(f.type) for f in datasets.schema}
    assert types['file_size'] == 'uint64' and types['exists'] == 'bool'
    assert types['default_revision'] == 'bool'
    assert types['qc'].startswith('dictionary<values=string, indices=int8, ordered=1>')
    for table in (sessions, datasets):
        meta = json.loads(table.schema.metadata[b'one_metadata'])
        assert len(meta['date_created']) == 16 and 'onelight' in meta['origin']
    s = sessions.to_pandas()
    d = datasets.to_pandas()
    assert s.index.name == 'id' and list(d.index.names) == ['eid', 'id']
    one = onelight.One(cache_dir=alf_root)
    assert s.loc[str(one.to_eid(IBL))].to_dict() == {
        'lab': 'angelakilab',
        'subject': 'IBL-T1',
        'date': pd.Timestamp('2019-02-20').date(),
        'number': 1,
        'task_protocol': '',
        'projects': '',
    }
    # stable dataset ids, sizes, and an all-null hash column without --checksums
    row = d.loc[(str(one.to_eid(CORI1)), str(uuid.uuid3(one.to_eid(CORI1), 'alf/eye.area.npy')))]
    assert row['rel_path'] == 'alf/eye.area.npy'
    assert row['file_size'] == (alf_root / CORI1 / 'alf/eye.area.npy').stat().st_size
    assert d['hash'].isna().all() and d['exists'].all() and (d['qc'] == 'NOT_SET').all()
    # non-ALF files are left out
    assert not d['rel_path'].str.endswith('notes.txt').any()
    assert not d['rel_path'].str.contains('imec').any()
    revs = d.loc[str(one.to_eid(IBL))]
    revs = revs[revs['rel_path'].str.endswith('_ibl_trials.stimOn_times.npy')]
    assert revs.set_index('rel_path')['default_revision'].to_dict() == {
        'alf/#2021-06-01#/_ibl_trials.stimOn_times.npy': True,
        'alf/_ibl_trials.stimOn_times.npy': False,
    }
    info = json.loads((alf_root / 'cache_info.json').read_text())
    assert info['tables']['datasets']['nrecs'] == len(d)
    # with --checksums the hash column is all real md5s
    assert run('index', alf_root, '--one-cache', '--checksums').exit_code == 0
    d = pd.read_parquet(alf_root / 'datasets.pqt')
    assert d['hash'].str.fullmatch('[0-9a-f]{32}').all()
    # an unchanged tree gives the same bytes (a rerun publishes nothing new)
    before = (alf_root / 'datasets.pqt').read_bytes()
    run('index', alf_root, '--one-cache', '--checksums')
    assert (alf_root / 'datasets.pqt').read_bytes() == before


def test_upload_one_cache_to_webdav_and_local(alf_root, webdav, tmp_path):
    server = webdav()
    one = onelight.One(base_url=server.url)
    one.upload(alf_root, one_cache=True)
    for name in ('sessions.pqt', 'datasets.pqt', 'cache_info.json', '.one_root'):
        assert (server.root / name).is_file(), name
    target = tmp_path / 'target'
    target.mkdir()
    onelight.One(root_dir=target).upload(alf_root, one_cache=True)
    assert (target / 'sessions.pqt').is_file() and (target / 'datasets.pqt').is_file()


def test_figshare_upload_one_cache_rerun_changes_nothing(alf_root, figshare, tmp_path):
    from conftest import figshare_one

    emu = figshare
    token = 'a' * 40
    article = emu.create_article(token)
    up = figshare_one(emu, article, tmp_path / 'up', token=token, private=True)
    up.upload(alf_root, one_cache=True)
    names = emu.names(article)
    assert {'sessions.pqt', 'datasets.pqt', 'cache_info.json', '.one_root'} <= set(names)
    before = len(emu.log)
    up.upload(alf_root, one_cache=True)
    changes = [e for e in emu.log[before:] if e[1] in ('POST', 'PUT', 'DELETE')]
    assert changes == []


def test_download_one_cache_makes_the_download_folder_a_one_cache(alf_root, serve, tmp_path):
    server = serve(alf_root)
    template = str(tmp_path / 'dl' / '{lab}' / 'Subjects' / '{subject}' / '{date}' / '{number}')
    one = onelight.One(base_url=server.url, download_dir=template, backoff=0.01)
    one.download(CORI1, 'trials', one_cache=True)
    one.download(IBL, one_cache=True)
    tables = pd.read_parquet(tmp_path / 'dl' / 'datasets.pqt')
    sessions = pd.read_parquet(tmp_path / 'dl' / 'sessions.pqt')
    assert set(sessions.index) == {str(one.to_eid(CORI1)), str(one.to_eid(IBL))}
    cori = tables.loc[str(one.to_eid(CORI1))]
    assert sorted(cori['rel_path']) == sorted(
        p for p in one.list_datasets(CORI1) if 'trials.' in p
    )
    # the folder opens as a repository of its own with the same ids
    local = onelight.One(cache_dir=tmp_path / 'dl')
    assert local.to_eid(IBL) == one.to_eid(IBL)
    # a template not in ONE's layout is refused clearly
    flat = onelight.One(
        base_url=server.url, download_dir=str(tmp_path / 'f/{subject}/{date}/{number}')
    )
    with pytest.raises(onelight.ConfigError, match='ONE.s layout'):
        flat.download(CORI1, 'eye', one_cache=True)


# ----------------------------------------------------------------------------------- reading
def test_http_release_with_tables_and_no_index(alf_root, serve, tmp_path):
    eids, ids = one_style_tables(
        alf_root,
        projects={CORI1: 'ibl_neuropixel_brainwide', IBL: 'ibl_behaviour'},
        qc={f'{CORI1}/alf/eye.area.npy': 'FAIL'},
        missing={f'{CORI1}/alf/eye.xyPos.npy'},
    )
    server = serve(alf_root)
    server.index_data = None  # no .one_root
    server.files['sessions.pqt'] = alf_root / 'sessions.pqt'
    server.files['datasets.pqt'] = alf_root / 'datasets.pqt'
    one = http_one(server, tmp_path)
    assert one.to_eid(CORI1) == uuid.UUID(eids[CORI1])  # the release's ids win
    assert one.search(projects='brainwide') == [CORI1]
    assert one.search(task_protocol='angelakilab_') == [IBL]
    assert 'projects' in one.search_terms() and 'dataset_qc_lte' in one.search_terms()
    assert CORI1 not in one.search(datasets='eye.area', dataset_qc_lte='WARNING')
    assert CORI1 in one.search(datasets='eye.area', dataset_qc_lte='FAIL')
    assert 'alf/eye.xyPos.npy' not in one.list_datasets(CORI1)  # exists == False
    assert not any('notes.txt' in p for p in one.list_datasets(EDGE_SESSION))  # not in tables
    area = one.load_dataset(CORI1, 'eye.area')
    np.testing.assert_array_equal(area, np.load(alf_root / CORI1 / 'alf/eye.area.npy')[:, 0])
    table = one.list_datasets(CORI1, details=True)
    assert set(map(str, table.index)) <= set(ids.values())
    assert one.get_details(CORI1)['projects'] == 'ibl_neuropixel_brainwide'
    # the tables are cached: offline works, and a new client revalidates them (304s)
    assert http_one(server, tmp_path, offline=True).search(projects='brain') == [CORI1]


def test_uuid_named_release_with_cache_zip(alf_root, serve, tmp_path):
    """Files stored as name.<uuid>.ext (the IBL release), tables in a cache.zip elsewhere."""
    caches = tmp_path / 'caches'
    caches.mkdir()
    eids, ids = one_style_tables(alf_root, out=caches)
    release = tmp_path / 'release'
    for rel, dataset_id in ids.items():
        folder, _, name = rel.rpartition('/')
        stem, _, ext = name.rpartition('.')
        (release / folder).mkdir(parents=True, exist_ok=True)
        shutil.copy(alf_root / rel, release / folder / f'{stem}.{dataset_id}.{ext}')
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, 'w') as z:
        for name in ('sessions.pqt', 'datasets.pqt'):
            z.write(caches / name, name)
    data_server, cache_server = serve(release), serve(tmp_path / 'caches')
    data_server.index_data = None
    (caches / 'cache.zip').write_bytes(buf.getvalue())
    cache_server.files['cache.zip'] = caches / 'cache.zip'
    one = http_one(
        data_server,
        tmp_path,
        uuid_names=True,
        tables_url=cache_server.url + 'cache.zip',
    )
    assert {one.to_eid(s) for s in one.search()} == set(map(uuid.UUID, eids.values()))
    trials = one.load_object(IBL, 'trials', collection='alf')
    assert trials.choice.shape == (600,)
    local = tmp_path / 'dl' / 'angelakilab' / 'IBL-T1' / '2019-02-20' / '001' / 'alf'
    assert (local / '_ibl_trials.choice.npy').is_file()  # saved under its plain ALF name
    requested = [r[1] for r in data_server.requests if r[0] == 'GET']
    assert f'{IBL}/alf/_ibl_trials.choice.{ids[f"{IBL}/alf/_ibl_trials.choice.npy"]}.npy' in (
        requested
    )


def test_tables_beside_an_index_give_the_ids(alf_root, serve, tmp_path):
    server = serve(alf_root)
    eids, _ = one_style_tables(alf_root)
    server.files['sessions.pqt'] = alf_root / 'sessions.pqt'
    server.files['datasets.pqt'] = alf_root / 'datasets.pqt'
    one = http_one(server, tmp_path)
    assert one.to_eid(IBL) == uuid.UUID(eids[IBL])
    assert len(one.search()) == 6  # .one_root lists the non-ALF files too
    assert one.load_dataset(EDGE_SESSION, 'notes.txt', download_only=True).is_file()


def test_local_folder_reads_ones_tables(alf_root, tmp_path):
    eids, _ = one_style_tables(alf_root, out=tmp_path)
    assert onelight.One(cache_dir=alf_root).to_eid(IBL) != uuid.UUID(eids[IBL])
    one = onelight.One(cache_dir=alf_root, tables_dir=tmp_path)
    assert one.to_eid(IBL) == uuid.UUID(eids[IBL])
    assert one.search(task_protocol='nicklab') == [
        'nicklab/Subjects/Theiler/2017-10-11/001',
        'nicklab/Subjects/Cori/2016-12-18/001',
        CORI1,
    ]


def test_malformed_tables_are_one_clear_error(alf_root, serve, tmp_path):
    server = serve(alf_root)
    server.index_data = None
    (alf_root / 'sessions.pqt').write_bytes(b'not parquet')
    (alf_root / 'datasets.pqt').write_bytes(b'nor this')
    server.files['sessions.pqt'] = alf_root / 'sessions.pqt'
    server.files['datasets.pqt'] = alf_root / 'datasets.pqt'
    with pytest.raises(onelight.DataFormatError, match='sessions.pqt is not a parquet table'):
        http_one(server, tmp_path).search()
    empty = serve(tmp_path)
    empty.index_data = None
    with pytest.raises(onelight.NotFoundError, match='no index .* and no ONE cache tables'):
        http_one(empty, tmp_path).search()


def test_a_releases_default_revision_is_honoured(alf_root, tmp_path):
    one_style_tables(alf_root, out=tmp_path)
    d = pd.read_parquet(tmp_path / 'datasets.pqt')
    revised = d['rel_path'] == 'alf/#2021-06-01#/_ibl_trials.stimOn_times.npy'
    d['default_revision'] = ~revised  # the release keeps the original as default (as Alyx may)
    save(d, tmp_path / 'datasets.pqt')
    one = onelight.One(cache_dir=alf_root, tables_dir=tmp_path)
    original = np.load(alf_root / IBL / 'alf' / '_ibl_trials.stimOn_times.npy')
    np.testing.assert_array_equal(one.load_object(IBL, 'trials').stimOn_times, original)
    newest = one.load_object(IBL, 'trials', revision='2099-01-01').stimOn_times
    assert not np.array_equal(newest, original)
    assert one.list_datasets(IBL, filename='*stimOn*', default_revisions_only=True) == [
        'alf/_ibl_trials.stimOn_times.npy'
    ]


def test_an_index_built_with_tables_is_kept_parsed(alf_root, serve, tmp_path, monkeypatch):
    monkeypatch.setattr(onelight, 'PARSED_CACHE_MIN_LINES', 10)
    eids, _ = one_style_tables(alf_root, qc={f'{CORI1}/alf/eye.area.npy': 'FAIL'})
    server = serve(alf_root)
    server.index_data = None  # a release of tables only
    server.files['sessions.pqt'] = alf_root / 'sessions.pqt'
    server.files['datasets.pqt'] = alf_root / 'datasets.pqt'
    first = http_one(server, tmp_path)
    expected = first.search(datasets='eye.area', dataset_qc_lte='WARNING')
    assert list((onelight.app_dirs().cache / 'index').glob('*.parsed.arrow'))

    def no_building(*args, **kwargs):
        raise AssertionError('built again')

    with monkeypatch.context() as m:
        m.setattr(onelight.OneTables, 'from_files', no_building)
        m.setattr(onelight.Index, 'from_bytes', no_building)
        again = http_one(server, tmp_path)
        assert again.search(datasets='eye.area', dataset_qc_lte='WARNING') == expected
        assert again.to_eid(CORI1) == uuid.UUID(eids[CORI1])  # the release's ids, kept
        assert again.get_details(IBL)['task_protocol'] == first.get_details(IBL)['task_protocol']
        assert list(again.index.df.columns) == list(first.index.df.columns)
        assert http_one(server, tmp_path, offline=True).to_eid(IBL) == uuid.UUID(eids[IBL])
    # a changed table: built anew from it
    one_style_tables(alf_root, qc={})
    assert CORI1 in http_one(server, tmp_path).search(datasets='eye.area', dataset_qc_lte='PASS')


def test_dataset_ids_formatted_together_are_uuid3():
    import uuid

    eids = [onelight.session_eid(f'lab/Subjects/m{i}/2020-01-01/001') for i in range(3)]
    names = ['alf/spikes.times.npy', 'alf/#2021-01-01#/ünïcode.times.npy', 'a' * 300, '']
    pairs = [(e, n) for e in eids for n in names]
    made = onelight.uuid3_texts([e.bytes for e, _ in pairs], [n for _, n in pairs])
    assert made == [str(uuid.uuid3(e, n)) for e, n in pairs]
    assert onelight.uuid3_texts([], []) == []


def test_tables_make_the_index_their_lines_make(alf_root, tmp_path):
    """An index built from the tables, column by column, is the index of the lines of their
    datasets with the tables' ids, QC and default revisions attached by path."""
    missing = {f'{CORI1}/alf/eye.area.npy'}
    one_style_tables(
        alf_root,
        out=tmp_path,
        qc={f'{IBL}/alf/_ibl_trials.goCue_times.npy': 'FAIL'},
        missing=missing,
    )
    tables = onelight.read_local_tables(tmp_path, 'test')
    built = tables.to_index(base_url='https://h/')
    paths = onelight.row_paths(built.df)
    assert missing.isdisjoint(paths)  # exists False: not in a remote release
    lines = onelight.Index.from_bytes(('\n'.join(paths) + '\n').encode(), base_url='https://h/')
    attached = tables.attach_to(lines)
    assert list(onelight.row_paths(attached.df)) == list(paths)
    for column in ('id', 'qc', 'default_revision', 'collection', 'revision', 'subject'):
        assert list(built.df[column].astype(object)) == list(attached.df[column].astype(object))
    by_path = dict(zip(paths, built.df['qc'].astype(str)))
    assert by_path[f'{IBL}/alf/_ibl_trials.goCue_times.npy'] == 'FAIL'
    assert built.eids[IBL] == attached.eids[IBL]


def test_a_catalogue_has_the_tables_rows_and_the_files_they_do_not_list(alf_root, tmp_path):
    one_style_tables(alf_root, out=tmp_path, missing={f'{CORI1}/alf/eye.area.npy'})
    gone = alf_root / CORI1 / 'alf' / 'eye.area.npy'
    gone.unlink()  # listed, not on disk
    extra = alf_root / CORI1 / 'alf' / 'new.thing.npy'
    extra.write_bytes(b'x')  # on disk, not listed
    one = onelight.One(cache_dir=alf_root, tables_dir=tmp_path)
    df = one.index.df
    exists = dict(zip(onelight.row_paths(df), df['exists']))
    assert not exists[f'{CORI1}/alf/eye.area.npy']
    assert exists[f'{CORI1}/alf/new.thing.npy']
    ids = dict(zip(onelight.row_paths(df), df['id'].astype(object)))
    assert pd.isna(ids[f'{CORI1}/alf/new.thing.npy'])  # the tables give it no id
    assert isinstance(ids[f'{CORI1}/alf/eye.xyPos.npy'], str)
    with pytest.raises(onelight.ALFObjectNotFound):
        one.load_object(CORI1, 'eye', attribute='area')


def test_a_dataset_the_tables_say_is_gone_matches_no_search(alf_root):
    """As ONE-api's search (on its datasets table's ``exists``): a dataset whose row says
    exists False does not make its session match, on disk or deleted since; one whose row
    says it exists still does when its file is gone (its load is ALFObjectNotFound)."""
    gone = f'{CORI1}/alf/eye.xyPos.npy'
    one_style_tables(alf_root, missing={gone})
    one = onelight.One(cache_dir=alf_root)
    assert CORI1 not in one.search(datasets='eye.xyPos')
    assert CORI1 not in one.search(datasets=['eye.xyPos', 'eye.area'])
    assert CORI1 in one.search(datasets='eye.area')
    (alf_root / gone).unlink()
    (alf_root / CORI1 / 'alf/eye.area.npy').unlink()
    one = onelight.One(cache_dir=alf_root)
    assert CORI1 not in one.search(datasets='eye.xyPos')
    assert CORI1 in one.search(datasets='eye.area')  # the tables say it exists, as in ONE
    with pytest.raises(onelight.ALFObjectNotFound):
        one.load_dataset(CORI1, 'eye.area')
