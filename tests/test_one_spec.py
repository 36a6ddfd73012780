"""ONE-api's own tests as the specification: the behaviours they pin down, in onelight's words,
on folders these tests build (ALF names and paths, ONE's folder functions, the One cases)."""

import datetime
import json
import logging
import uuid
import warnings

import numpy as np
import pandas as pd
import pytest

import onelight
from onelight import ALFPath, PureALFPath, alfio, alfpath, alfspec

S = 'lab/Subjects/m1/2020-01-01/001'
FULL = f'{S}/alf/#2021-01-01#/_ibl_trials.goCue_times_bpod.raw.npy'


@pytest.fixture
def tree(tmp_path):
    """A session with files in the session folder, in two collections and in a revision."""
    root = tmp_path / 'root'
    session = root / S
    for folder in ('alf/probe00', 'alf/probe01', '#2020-01-08#'):
        (session / folder).mkdir(parents=True)
    np.save(session / 'spikes.times.npy', np.arange(4.0))
    np.save(session / '#2020-01-08#' / 'spikes.times.npy', np.arange(3.0))
    for probe in ('probe00', 'probe01'):
        np.save(session / 'alf' / probe / 'spikes.times.npy', np.arange(5.0))
        np.save(session / 'alf' / probe / 'spikes.clusters.npy', np.arange(5))
    return root


# ------------------------------------------------------------------------ ALF paths
def test_alf_path_parts():
    p = PureALFPath(FULL)
    assert (p.lab, p.subject, p.date, p.sequence) == ('lab', 'm1', '2020-01-01', '001')
    assert (p.collection, p.revision, p.namespace) == ('alf', '2021-01-01', 'ibl')
    assert (p.object, p.attribute, p.timescale, p.extra) == (
        'trials',
        'goCue_times',
        'bpod',
        'raw',
    )
    assert p.session_path().as_posix() == S
    assert (
        p.relative_to_session().as_posix()
        == 'alf/#2021-01-01#/_ibl_trials.goCue_times_bpod.raw.npy'
    )
    assert p.session_path_short() == 'm1/2020-01-01/001'
    assert p.session_path_short(include_lab=True) == 'lab/m1/2020-01-01/001'
    assert p.is_dataset() and p.is_valid_alf() and not p.is_session_path()
    assert PureALFPath('x.y').session_parts == ('', '', '', '')
    assert isinstance(ALFPath('/a') / 'b', ALFPath) and isinstance(ALFPath('/a/b').parent, ALFPath)


def test_alf_path_changes():
    p = PureALFPath(FULL)
    assert p.with_subject('m2').subject == 'm2'
    assert p.with_date('2021-02-03').date == '2021-02-03'
    assert p.with_sequence(7).sequence == '007'
    assert p.with_lab('other').lab == 'other'
    assert p.without_lab().as_posix().startswith('m1/2020-01-01/001/')
    assert p.with_collection('raw_ephys_data/probe00').collection == 'raw_ephys_data/probe00'
    assert p.with_revision('v2').revision == 'v2'
    assert p.without_revision().as_posix() == f'{S}/alf/_ibl_trials.goCue_times_bpod.raw.npy'
    assert p.with_object('wheel').name == '_ibl_wheel.goCue_times_bpod.raw.npy'
    assert p.with_namespace(None).name == 'trials.goCue_times_bpod.raw.npy'
    assert p.with_timescale('').name == '_ibl_trials.goCue_times.raw.npy'
    assert p.with_extra('x', append=True).name == '_ibl_trials.goCue_times_bpod.raw.x.npy'
    assert p.with_extension('csv').suffix == '.csv'
    uid = str(uuid.uuid4())
    assert p.with_uuid(uid).without_uuid() == p and uid in p.with_uuid(uid).name
    assert PureALFPath('m1/2020-01-01/1/a.b.npy').with_padded_sequence().parts[2] == '001'
    with pytest.raises(ValueError):
        p.with_subject('bad name')
    with pytest.raises(onelight.ALFInvalid):
        PureALFPath('alf/#v1#/a.b.npy').with_revision('v2')  # relative to the session
    with pytest.raises(ValueError):
        PureALFPath('alf/a.b.npy').with_collection('raw')


def test_alf_path_functions():
    uid = 'a976e418-c8b8-4d24-be47-d05120b18341'
    assert alfpath.add_uuid_string('/d/a.b.npy', uid).name == f'a.b.{uid}.npy'
    assert alfpath.remove_uuid_string(f'/d/a.b.{uid}.npy').name == 'a.b.npy'
    with pytest.raises(ValueError):
        alfpath.add_uuid_string('/d/a.b.npy', 'fake')
    assert alfpath.get_alf_path('/etc/x/m1/2020-01-01/001/alf/a.b.npy').startswith('m1/')
    assert alfpath.folder_parts(f'{S}/alf/#v1#') == ('lab', 'm1', '2020-01-01', '001', 'alf', 'v1')
    assert alfpath.full_path_parts('spikes.times.npy')[7:9] == ('spikes', 'times')
    assert alfpath.full_path_parts(f'{S}/alf')[:5] == ('lab', 'm1', '2020-01-01', '001', 'alf')
    assert isinstance(alfpath.ensure_alf_path([S])[0], ALFPath)


def test_alf_spec():
    assert alfspec.to_alf('spikes', 'times', '.npy', 'ibl', ('ephys clock', 'minutes')) == (
        '_ibl_spikes.times_ephysClock_minutes.npy'
    )
    assert alfspec.to_alf('wheel', 'timestamps', 'npy', extra=('raw', 'v12')) == (
        'wheel.timestamps.raw.v12.npy'
    )
    assert alfspec.is_uuid_string(str(uuid.uuid4()))
    assert not alfspec.is_uuid_string('f6ffe25827-06-425aaa-f5-919f70025835')
    assert alfspec.is_uuid(uuid.uuid4().int) and not alfspec.is_uuid(None)
    assert alfspec.QC.validate('critical') is alfspec.QC.CRITICAL
    with pytest.raises(ValueError):
        alfspec.QC.validate('ERROR')
    pattern = alfspec.regex(alfspec.COLLECTION_SPEC, collection=r'probe\d{2}')
    assert pattern.match('probe01/')['collection'] == 'probe01'
    with pytest.raises(KeyError):
        alfspec.regex(foo='x')
    assert alfspec.readableALF('someROIDataset') == 'some ROI dataset'


def test_one_grammar_for_session_folders(tmp_path, caplog):
    """A subject with a space is not ALF: the index, the parsers and the scan agree."""
    bad = 'lab/Subjects/m 1/2020-01-01/001'
    assert onelight.session_path_parts(bad, assert_valid=False)[1] != 'm 1'
    with pytest.raises(onelight.ALFInvalid):
        onelight.parse_session(bad)
    assert not onelight.in_session_folder(bad + '/alf/a.b.npy')
    with caplog.at_level(logging.WARNING, logger='onelight'):
        index = onelight.Index.from_bytes(f'{bad}/alf/a.b.npy\n{S}/alf/a.b.npy\n'.encode())
    assert list(onelight.row_paths(index.df)) == [f'{S}/alf/a.b.npy']


# ------------------------------------------------------------------- folder functions
def test_alfio_folder_functions(tmp_path):
    folder = tmp_path / 'lab/Subjects/m1/2020-01-01/001/alf'
    folder.mkdir(parents=True)
    data = {'times': np.arange(5.0), 'clusters': np.arange(5)}
    files = alfio.save_object_npy(folder, data, 'spikes', parts='raw')
    assert sorted(f.name for f in files) == ['spikes.clusters.raw.npy', 'spikes.times.raw.npy']
    alfio.save_object_npy(folder, {'times': np.arange(5.0)}, 'spikes', timescale='bpod')
    assert sorted(alfio.load_object(folder, 'spikes')) == [
        'clusters.raw',
        'times.raw',
        'times_bpod',
    ]
    assert sorted(alfio.load_object(folder, 'spikes', timescale=None, short_keys=True)) == [
        'clusters',
        'times',
    ]
    assert sorted(alfio.load_object(files[0])) == ['clusters.raw', 'times.raw', 'times_bpod']
    assert list(alfio.load_object(files[:1])) == ['times.raw']
    with pytest.raises(ValueError, match='object name'):
        alfio.load_object(folder)
    with pytest.raises(onelight.ALFObjectNotFound):
        alfio.load_object(folder, 'wheel')
    assert alfio.exists(folder, 'spik*', ['times']) and not alfio.exists(folder, 'wheel')
    names, parts = alfio.filter_by(folder, attribute=['times', 'nothing'], timescale=None)
    assert [n.name for n in names] == ['spikes.times.raw.npy'] and parts[0][1] == 'spikes'
    with pytest.raises(TypeError):
        alfio.filter_by(folder, colour='red')
    assert [s.name for s in alfio.iter_sessions(tmp_path)] == ['001']
    assert len(list(alfio.iter_datasets(folder.parent))) == 3
    assert alfio.next_num_folder(folder.parents[1]) == '002'
    meta = alfio.save_metadata(files[0], {'columns': ['a']})
    assert json.loads(meta.read_text()) == {'columns': ['a']}
    (folder / 'empty' / 'deeper').mkdir(parents=True)
    alfio.remove_empty_folders(folder)
    assert not (folder / 'empty').exists()


# --------------------------------------------------------------------------- the One cases
def test_lists_and_loads_of_unknown_sessions_are_empty(tree):
    one = onelight.One(cache_dir=tree)
    unknown = 'lab/Subjects/nobody/2020-01-01/001'
    assert one.list_datasets(unknown) == [] and one.list_collections(unknown) == []
    assert one.load_datasets(unknown, ['spikes.times.npy'], assert_present=False) == (None, [])
    with pytest.raises(onelight.ALFObjectNotFound):
        one.load_datasets(unknown, ['spikes.times.npy'])
    assert one.load_datasets(S, []) == (None, [])
    with pytest.raises(ValueError):
        one.load_datasets(S, [{'object': 'spikes'}, 'spikes.times.npy'])
    assert one.to_eid(None) is None
    assert len(one.path2ref([tree / S, tree / S])) == 2
    assert one.list_datasets(details=True).index.names == ['eid', 'id']


def test_a_list_of_paths_is_taken_literally(tree):
    one = onelight.One(cache_dir=tree)
    wanted = ['spikes.times.npy', 'alf/probe00/spikes.clusters.npy']
    with pytest.warns(onelight.ALFWarning, match='not the default revision'):
        data, records = one.load_datasets(S, wanted)  # the unrevised file was revised since
    np.testing.assert_array_equal(data[0], np.arange(4.0))  # the file in the session folder
    assert [r['rel_path'] for r in records] == wanted
    with warnings.catch_warnings():
        warnings.simplefilter('error')  # the default revision, or a name: no warning
        assert one.load_dataset(S, '#2020-01-08#/spikes.times.npy').shape == (3,)
        assert one.load_dataset(S, 'spikes.times.npy', collection='').shape == (3,)


def test_wildcards_in_a_relative_path_warn(tree):
    one = onelight.One(cache_dir=tree)
    with pytest.warns(UserWarning, match='Wildcards should not be used with relative path'):
        assert one.load_dataset(S, 'alf/probe00/spikes.t*').shape == (5,)


@pytest.mark.parametrize('collection', ['alf/probe0?', 'alf/probe0[0-1]', 'alf/probe00/'])
def test_collection_globs_are_one_rule(tree, collection):
    one = onelight.One(cache_dir=tree)
    listed = one.list_datasets(S, collection=collection)
    assert 'alf/probe00/spikes.times.npy' in listed
    assert one.search(collection=collection) == [S]
    if collection.endswith('/'):
        assert one.load_object(S, 'spikes', collection=collection).times.shape == (5,)
    no_globs = onelight.One(cache_dir=tree, wildcards=False)
    assert no_globs.list_datasets(S, collection='alf/probe0.') == no_globs.list_datasets(
        S, collection='alf/probe0[01]'
    )


def test_load_object_keys_and_collections(tree):
    folder = tree / S / 'alf' / 'probe00'
    np.save(folder / 'spikes.amps.raw.npy', np.arange(5.0))
    one = onelight.One(cache_dir=tree)
    keys = one.load_object(S, 'spikes', collection='alf/probe00').keys()
    assert sorted(keys) == ['amps.raw', 'clusters', 'times']
    short = one.load_object(S, 'spikes', collection='alf/probe00', short_keys=True)
    assert sorted(short) == ['amps', 'clusters', 'times']
    objects = one.load_collection(S, 'alf/probe00')
    assert objects.spikes.times.shape == (5,)  # a Bunch of Bunches
    paths = one.load_object(S, 'spikes', collection='alf/probe00', download_only=True)
    assert all(isinstance(p, ALFPath) for p in paths) and isinstance(one.eid2path(S), ALFPath)


def test_a_file_deleted_after_reading_is_alf_object_not_found(tree):
    one = onelight.One(cache_dir=tree)
    one.search()
    (tree / S / 'alf' / 'probe00' / 'spikes.times.npy').unlink()
    with pytest.raises(onelight.ALFObjectNotFound):
        one.load_object(S, 'spikes', collection='alf/probe00')


def test_modes_and_repr(tree):
    with pytest.raises(ValueError, match='mode must be one of'):
        onelight.One(cache_dir=tree, mode='refresh')
    text = repr(onelight.One(cache_dir=tree, mode='local'))
    assert str(tree) in text and "mode='local'" in text


def test_bunch_as_in_one():
    b = onelight.Bunch(x=np.zeros((3, 1)), y=np.zeros((3, 2)), z=np.zeros((3, 2, 2)))
    assert list(b.to_df().columns) == ['x', 'y_0', 'y_1']
    assert b.check_dimensions == 0  # a property
    b['w'] = np.zeros(5)
    assert b.check_dimensions == 1
    with pytest.raises(ValueError):
        b.to_df()
    empty = onelight.Bunch()
    assert empty.append({'a': [1]}) == {'a': [1]} and onelight.Bunch(a=[1]).append({}) == {
        'a': [1]
    }


def test_file_contents_as_in_one(tmp_path, caplog):
    assert onelight.load_file_content(None) is None
    bad = tmp_path / 'a.b.json'
    bad.write_text('{not json')
    with caplog.at_level(logging.ERROR, logger='onelight'):
        assert onelight.load_file_content(bad) is None
    assert 'not valid JSON' in caplog.text
    np.savez(tmp_path / 'a.c.npz', x=np.arange(2), y=np.arange(3))
    arrays = onelight.load_file_content(tmp_path / 'a.c.npz')
    assert sorted(arrays.files) == ['x', 'y'] and arrays['y'].shape == (3,)
    other = tmp_path / 'a.d.xyz'
    other.write_text('x')
    assert isinstance(onelight.load_file_content(other), ALFPath)
    assert isinstance(pd.DataFrame(), pd.DataFrame)


# ------------------------------------------------------------ tables as the catalogue
def int_pairs(ids) -> np.ndarray:
    """ONE's older id columns: a UUID's 16 bytes as two little-endian int64."""
    return np.array([np.frombuffer(uuid.UUID(i).bytes, dtype='<i8') for i in ids])


def older_tables(folder, sessions: dict, datasets: list):
    """Tables in ONE's older schema: ids as (id_0, id_1), ``project``, datasets naming their
    session by ``session_path``. ``sessions``: {path: eid}; ``datasets``: (path, rel)."""
    eids = list(sessions.values())
    parts = [p.split('/') for p in sessions]
    pairs = int_pairs(eids)
    s = pd.DataFrame(
        {
            'id_0': pairs[:, 0],
            'id_1': pairs[:, 1],
            'lab': [p[0] for p in parts],
            'subject': [p[2] for p in parts],
            'date': [p[3] for p in parts],
            'number': [int(p[4]) for p in parts],
            'task_protocol': 'ephys',
            'project': 'ibl',
        }
    ).set_index(['id_0', 'id_1'])
    ids = [str(uuid.uuid4()) for _ in datasets]
    dpairs, epairs = int_pairs(ids), int_pairs([sessions[p] for p, _ in datasets])
    d = pd.DataFrame(
        {
            'id_0': dpairs[:, 0],
            'id_1': dpairs[:, 1],
            'file_size': 1.0,
            'hash': None,
            'rel_path': [r for _, r in datasets],
            'session_path': [p for p, _ in datasets],
            'exists': True,
            'eid_0': epairs[:, 0],
            'eid_1': epairs[:, 1],
        }
    ).set_index(['id_0', 'id_1'])
    s.to_parquet(folder / 'sessions.pqt')
    d.to_parquet(folder / 'datasets.pqt')


def test_older_tables_are_a_catalogue(tree):
    eid, empty = str(uuid.uuid4()), str(uuid.uuid4())
    other = 'lab/Subjects/m2/2020-01-02/001'
    listed = [(S, 'alf/probe00/spikes.times.npy'), (S, 'alf/trials.choice.npy')]
    older_tables(tree, {S: eid, other: empty}, listed)
    one = onelight.One(cache_dir=tree)
    assert one.to_eid(S) == uuid.UUID(eid)
    assert one.search() == [other, S]  # the session without datasets is there
    assert one.list_datasets(other) == []
    assert one.get_details(S)['projects'] == 'ibl'
    assert 'alf/trials.choice.npy' in one.list_datasets(S)  # listed, not on disk
    details = one.list_datasets(S, details=True).set_index('rel_path')
    # exists as the tables say (ONE-api's details show the same until a load looks on disk)
    assert details.loc['alf/trials.choice.npy', 'exists']
    assert details.loc['alf/probe00/spikes.times.npy', 'exists']
    assert one.search(datasets='trials.choice.npy') == [S]
    with pytest.raises(onelight.ALFObjectNotFound):
        one.load_dataset(S, 'trials.choice.npy')


def test_a_duplicated_session_record_is_left_out_with_a_warning(tree, caplog):
    eid = str(uuid.uuid4())
    older_tables(tree, {S: eid}, [(S, 'alf/probe00/spikes.times.npy')])
    sessions = pd.read_parquet(tree / 'sessions.pqt')
    pd.concat([sessions, sessions]).to_parquet(tree / 'sessions.pqt')
    with caplog.at_level(logging.WARNING, logger='onelight'):
        one = onelight.One(cache_dir=tree)
        assert one.search() == [S] and one.to_eid(S) == uuid.UUID(eid)
    assert 'duplicate id' in caplog.text


def test_experiment_references_as_in_one(tree):
    one = onelight.One(cache_dir=tree)
    assert one.is_exp_ref('2023-03-14_11_HB_003') and not one.is_exp_ref('2018-invalid_ref-s')
    assert one.is_exp_ref([{'subject': 'a', 'date': 'b', 'sequence': 1}, 'x']) == [True, False]
    assert one.ref2dict('2018-07-13_1_flowers') == {
        'date': datetime.date(2018, 7, 13),
        'sequence': 1,
        'subject': 'flowers',
    }
    assert one.ref2dict(['2020-01-23_002_ibl_witten_01'], parse=False)[0]['sequence'] == '002'
    assert one.dict2ref({}) is None
    assert one.dict2ref({'start_time': '2023-04-07T17:34:11', 'number': 1, 'subject': 'f'}) == (
        '2023-04-07_1_f'
    )
    assert one.path2ref('E:/d/Subjects/lab/flowers/2018-07-13/01', as_dict=False) is None
    assert one.to_eid(f'https://alyx.example.org/sessions/{one.to_eid(S)}') == one.to_eid(S)
    with pytest.raises(ValueError):
        one.to_eid('fakeid')
    record = one.path2record(tree / S / 'alf' / 'probe00' / 'spikes.times.npy')
    assert record['rel_path'] == 'alf/probe00/spikes.times.npy'
    assert one.path2record(tree / S).name == one.to_eid(S)
    assert one.path2record(tree / S / 'alf' / 'nothing.here.npy') is None
