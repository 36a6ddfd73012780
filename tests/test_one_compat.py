"""Speaking ONE: construction, stable eids, every session identifier, ONE's search, list_*,
load_* and exceptions, writable arrays, folder loading, ALF path helpers, Bunch.

Expected values are written out here; they are ONE-api 3.6.1's answers on the same tree where
ONE gives one (checked by hand in a throwaway venv; ONE-api is never imported by the tests)."""

import datetime
import logging
import shutil
import uuid
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from conftest import EDGE_SESSION, http_one

import onelight

CORI1 = 'nicklab/Subjects/Cori/2016-12-14/001'
CORI2 = 'nicklab/Subjects/Cori/2016-12-18/001'
THEILER = 'nicklab/Subjects/Theiler/2017-10-11/001'
IBL = 'angelakilab/Subjects/IBL-T1/2019-02-20/001'
CSH = 'churchlandlab/Subjects/CSH_ZAD_003/2021-06-01/001'
# The published namespace (README) fixes every eid for ever: this one must never change.
IBL_EID = uuid.UUID('d52acc0e-e647-3e25-bf82-dc8c7a1d58e7')
# ONE's session record of IBL (no ONE cache tables: empty protocol and projects)
IBL_RECORD = {
    'lab': 'angelakilab',
    'subject': 'IBL-T1',
    'date': datetime.date(2019, 2, 20),
    'number': 1,
    'task_protocol': '',
    'projects': '',
}


# ------------------------------------------------------------------------------- construction
def test_cache_dir_opens_that_folder_never_the_configured_one(alf_root, tmp_path):
    other = tmp_path / 'other'
    onelight.make_demo_data(other)
    shutil.rmtree(other / 'nicklab')
    config = onelight.load_config()
    config['repositories'] = [{'name': 'lab', 'type': 'local', 'root_dir': str(other)}]
    config['current_repository'] = 'lab'
    onelight.save_config(config)
    assert CORI1 not in onelight.One().search()
    for one in (
        onelight.One(cache_dir=alf_root, mode='local', wildcards=True),
        onelight.One(cache_dir=str(alf_root), tables_dir=str(alf_root)),
        onelight.ONE(cache_dir=alf_root),
        onelight.One(alf_root),  # an existing folder, positionally
        onelight.One(str(alf_root)),
    ):
        assert one.repository.type == 'local' and CORI1 in one.search()
    assert onelight.One('lab').search() == [CSH, IBL]  # otherwise a configured name


def test_a_configured_name_wins_over_a_folder_of_that_name(alf_root, tmp_path, monkeypatch):
    other = tmp_path / 'other'
    onelight.make_demo_data(other)
    shutil.rmtree(other / 'nicklab')
    config = onelight.load_config()
    config['repositories'] = [{'name': 'lab', 'type': 'local', 'root_dir': str(other)}]
    onelight.save_config(config)
    work = tmp_path / 'work'
    shutil.copytree(alf_root, work / 'lab')  # a folder in the working directory, same name
    monkeypatch.chdir(work)
    assert onelight.One('lab').search() == [CSH, IBL]
    for folder in ('./lab', Path('lab'), str(work / 'lab')):
        assert CORI1 in onelight.One(folder).search()
    result = CliRunner().invoke(onelight.cli, ['-r', 'lab', 'search'], catch_exceptions=False)
    assert result.exit_code == 0 and IBL in result.output and CORI1 not in result.output


def test_ones_harmless_keywords_are_accepted(alf_root):
    """As ONE-api's tests make their clients (``ONE(mode='local', cache_dir=..., silent=True)``,
    a base_url beside a local cache_dir): a local mode reads cache_dir only."""
    for one in (
        onelight.ONE(cache_dir=alf_root, mode='local', silent=True),
        onelight.ONE(cache_dir=alf_root, mode='local', cache_rest=None, silent=False),
        onelight.ONE(base_url='http://127.0.0.1:9/', cache_dir=alf_root, mode='local'),
    ):
        assert one.repository.type == 'local' and CORI1 in one.search()
    with pytest.warns(UserWarning, match='username and password are ignored'):
        one = onelight.ONE(
            base_url='http://127.0.0.1:9/',
            cache_dir=alf_root,
            mode='local',
            username='intbrainlab',
            password='international',
        )
    assert one.repository.type == 'local' and CORI1 in one.search()


def test_to_eid_at_module_level(alf_root, monkeypatch):
    monkeypatch.setattr(onelight, '_default_client', onelight.One(cache_dir=alf_root))
    assert onelight.to_eid(IBL) == IBL_EID
    assert onelight.to_eid([IBL, 'nicklab/Subjects/Nobody/2020-01-01/001']) == [IBL_EID, None]


def test_unknown_keywords_and_modes_are_errors(alf_root):
    with pytest.raises(TypeError, match="'quiet'"):
        onelight.One(cache_dir=alf_root, quiet=True)
    with pytest.raises(TypeError, match="'jobz'"):
        onelight.One(base_url='http://127.0.0.1:9/', jobz=3)
    with pytest.raises(onelight.ConfigError, match='mode must be one of'):
        onelight.One(cache_dir=alf_root, mode='refreshing')
    one = onelight.One(cache_dir=alf_root)
    with pytest.raises(TypeError, match='search|unexpected'):
        one.load_object(CORI1, 'trials', colour='red')


def test_one_with_base_url_username_password(alf_root, serve, tmp_path):
    server = serve(alf_root, auth=('alice', 'pw'))
    one = onelight.ONE(
        base_url=server.url, username='alice', password='pw', cache_dir=tmp_path / 'cache'
    )
    assert one.repository.type == 'http' and len(one.search()) == 6
    path = one.load_dataset(CORI1, 'eye.area', download_only=True)
    # ONE's layout under cache_dir: the downloads are a ONE cache folder tree
    assert path == tmp_path / 'cache' / CORI1 / 'alf' / 'eye.area.npy'
    assert one.eid2path(CORI1) == tmp_path / 'cache' / CORI1


def test_modes_local_and_remote(alf_root, serve, tmp_path):
    server = serve(alf_root)
    assert len(http_one(server, tmp_path).search()) == 6  # caches the index
    n = len(server.requests)
    local = http_one(server, tmp_path, mode='local')
    assert len(local.search()) == 6 and len(server.requests) == n  # offline: no request
    auto = http_one(server, tmp_path)
    assert len(auto.search()) == 6
    server.set_index([f'{CORI1}/alf/eye.area.npy'])
    assert len(auto.search()) == 6  # read once per client
    assert auto.search(query_type='remote') == [CORI1]  # read again
    remote = http_one(server, tmp_path, mode='remote')
    assert remote.search() == [CORI1]
    server.set_index([f'{CORI1}/alf/eye.area.npy', f'{IBL}/alf/_ibl_trials.choice.npy'])
    assert remote.search() == [IBL, CORI1]


# ----------------------------------------------------------------------------------- eids
def test_eids_are_uuid3_of_the_normalised_path_and_the_same_everywhere(alf_root, tmp_path, serve):
    expected = uuid.uuid3(onelight.SESSION_NAMESPACE, 'angelakilab/Subjects/IBL-T1/2019-02-20/001')
    assert expected == IBL_EID and IBL_EID.version == 3
    assert onelight.session_eid('angelakilab/Subjects/IBL-T1/2019-02-20/1') == IBL_EID
    copy = tmp_path / 'copy'
    shutil.copytree(alf_root, copy)
    server = serve(copy)
    for one in (onelight.One(cache_dir=alf_root), onelight.One(cache_dir=copy)):
        assert one.to_eid(IBL) == IBL_EID
    assert http_one(server, tmp_path).to_eid(IBL) == IBL_EID
    one = onelight.One(cache_dir=alf_root)
    eids = [one.to_eid(s) for s in one.search()]
    assert len(set(eids)) == 6 and all(isinstance(e, uuid.UUID) for e in eids)


def test_every_session_identifier_names_the_session(alf_root):
    one = onelight.One(cache_dir=alf_root)
    expected = one.list_datasets(IBL)
    for spelling in (
        IBL_EID,
        str(IBL_EID),
        str(IBL_EID).upper(),
        IBL_EID.hex,
        IBL + '/',
        IBL.replace('/', '\\'),
        'angelakilab/Subjects/IBL-T1/2019-02-20/1',
        str(alf_root / IBL),
        alf_root / IBL,
        alf_root / IBL / 'alf' / '_ibl_trials.choice.npy',
        '2019-02-20_1_IBL-T1',
        '2019-02-20_001_IBL-T1',
        {'subject': 'IBL-T1', 'date': datetime.date(2019, 2, 20), 'sequence': 1},
        {'subject': 'IBL-T1', 'date': '2019-02-20', 'sequence': '001'},
        {'lab': 'angelakilab', 'subject': 'IBL-T1', 'date': '2019-02-20', 'number': 1},
    ):
        assert one.list_datasets(spelling) == expected, spelling
        assert one.to_eid(spelling) == IBL_EID
    with pytest.raises(onelight.ALFObjectNotFound):
        one.load_object(uuid.uuid4(), 'trials')
    with pytest.raises(onelight.ALFError):
        one.to_eid('not a session')


def test_converters(alf_root):
    one = onelight.One(cache_dir=alf_root)
    assert one.eid2path(IBL_EID) == alf_root / IBL
    assert one.eid2path([IBL_EID, uuid.uuid4()]) == [alf_root / IBL, None]
    assert one.path2eid(alf_root / IBL / 'alf') == IBL_EID
    assert one.path2eid('/elsewhere/otherlab/Subjects/IBL-T1/2019-02-20/1') == IBL_EID
    assert one.path2eid('/x/lab/Subjects/nobody/2019-02-20/001') is None
    assert one.eid2ref(IBL_EID) == {
        'subject': 'IBL-T1',
        'date': datetime.date(2019, 2, 20),
        'sequence': 1,
    }
    assert one.eid2ref(IBL_EID, as_dict=False) == '2019-02-20_1_IBL-T1'
    assert one.eid2ref(IBL_EID, parse=False) == {
        'subject': 'IBL-T1',
        'date': '2019-02-20',
        'sequence': '001',
    }
    assert one.eid2ref(uuid.uuid4()) is None
    assert one.ref2eid('2019-02-20_1_IBL-T1') == IBL_EID
    assert one.ref2path({'subject': 'IBL-T1', 'date': '2019-02-20', 'sequence': 1}) == (
        alf_root / IBL
    )
    assert onelight.One.path2ref(alf_root / IBL / 'alf', as_dict=False) == '2019-02-20_001_IBL-T1'
    assert onelight.One.path2ref('no/session') is None
    with pytest.raises(onelight.NotFoundError):
        one.ref2eid('2019-02-20_2_IBL-T1')
    assert one.to_eid('2019-02-20_2_IBL-T1') is None


# --------------------------------------------------------------------------------- search
def test_search_is_ones(alf_root):
    one = onelight.One(cache_dir=alf_root)
    assert one.search(subject='Cor') == [CORI2, CORI1]  # partial
    assert one.search(subject='C.ri') == [CORI2, CORI1]  # a regex
    assert one.search(subject='cor') == []  # case-sensitive
    assert one.search(subject='^Cori$', date_range=['2016-12-15']) == [CORI2]  # from that day on
    assert one.search(laboratory='nick', number='001', date_range=['2016-12-14', None]) == [
        THEILER,
        CORI2,
        CORI1,
    ]
    assert one.search(dataset='wheel.timestamps.npy', subject='Cori') == [CORI2, CORI1]
    # a ONE dataset regex matches as in ONE, as well as onelight's terms
    assert one.search(datasets=[r'_ibl_trials\.stimOn_times\.npy']) == [CSH, EDGE_SESSION, IBL]
    assert one.search(datasets='wheel.timestamps', subject='Cori') == [CORI2, CORI1]
    literal = onelight.One(cache_dir=alf_root, wildcards=False)
    assert literal.search(subject='C.ri') == [] and literal.search(subject='Cor') == [CORI2, CORI1]


def test_search_details_and_terms(alf_root):
    one = onelight.One(cache_dir=alf_root)
    sessions, records = one.search(subject='IBL', details=True)
    assert sessions == [IBL]
    assert records == [{**IBL_RECORD, 'eid': IBL_EID}]
    assert one.search(subject='nobody', details=True) == ([], None)
    assert one.search_terms() == (
        'datasets',
        'date_range',
        'laboratory',
        'number',
        'subject',
        'collection',
    )
    for term in ('projects', 'task_protocol', 'dataset_qc_lte'):
        with pytest.raises(onelight.SearchError, match='ONE cache tables'):
            one.search(**{term: 'x'})


# -------------------------------------------------------------------------------- listing
def test_list_datasets(alf_root):
    one = onelight.One(cache_dir=alf_root)
    found = one.list_datasets(IBL, collection='alf')
    assert found == sorted(found) and found[:2] == [
        'alf/#2021-06-01#/_ibl_trials.stimOn_times.npy',
        'alf/_ibl_trials.choice.npy',
    ]
    assert one.list_datasets(IBL, filename='*.stimOn_times*') == [
        'alf/#2021-06-01#/_ibl_trials.stimOn_times.npy',
        'alf/_ibl_trials.stimOn_times.npy',
    ]
    assert one.list_datasets(IBL, filename='*.stimOn_times*', default_revisions_only=True) == [
        'alf/#2021-06-01#/_ibl_trials.stimOn_times.npy'
    ]
    assert one.list_datasets(IBL, revision='2021-*') == [
        'alf/#2021-06-01#/_ibl_trials.stimOn_times.npy'
    ]
    assert one.list_datasets(IBL, filename={'object': 'spikes', 'attribute': 'clusters'}) == [
        'alf/probe00/spikes.clusters.npy',
        'alf/probe01/spikes.clusters.npy',
    ]
    assert one.list_datasets(IBL, filename=['*.ssv', '*.jsonable']) == [
        'raw_behavior_data/_iblrig_encoderPositions.raw.ssv',
        'raw_behavior_data/_iblrig_taskData.raw.jsonable',
    ]
    assert one.list_datasets(EDGE_SESSION, collection='') == ['notes.txt']
    everywhere = one.list_datasets(filename='spikes.times.npy')
    assert everywhere == [  # unique paths in table order, as in ONE
        'alf/probe00/spikes.times.npy',
        'alf/probe01/spikes.times.npy',
        'alf/spikes.times.npy',
    ]


def test_list_details_tables(alf_root):
    one = onelight.One(cache_dir=alf_root)
    table = one.list_datasets(IBL, collection='alf/probe00', details=True)
    assert list(table.columns) == [
        'rel_path',
        'file_size',
        'hash',
        'exists',
        'qc',
        'default_revision',
    ]
    assert table.index.name == 'id' and len(table) == 3
    first = table.iloc[0]
    assert first['rel_path'] == 'alf/probe00/spikes.clusters.npy'
    assert first['file_size'] == (alf_root / IBL / first['rel_path']).stat().st_size
    assert first['qc'] == 'NOT_SET' and first['exists'] and first['hash'] is None
    assert table.index[0] == uuid.uuid3(IBL_EID, 'alf/probe00/spikes.clusters.npy')
    keyed = one.list_datasets(IBL, collection='alf/probe00', details=True, keep_eid_index=True)
    assert keyed.index.names == ['eid', 'id'] and keyed.index[0][0] == IBL_EID


def test_list_collections_revisions_subjects_details(alf_root):
    one = onelight.One(cache_dir=alf_root)
    assert one.list_collections(IBL) == ['alf', 'alf/probe00', 'alf/probe01', 'raw_behavior_data']
    assert one.list_collections(EDGE_SESSION) == ['', 'alf']
    assert one.list_revisions(IBL) == ['', '2021-06-01']
    assert one.list_revisions(IBL, filename='*.choice*') == ['']
    by_coll = one.list_collections(IBL, details=True)
    assert list(by_coll['alf/probe01']['rel_path'])[0] == 'alf/probe01/spikes.clusters.npy'
    assert one.list_subjects() == ['CSH_ZAD_003', 'Cori', 'IBL-T1', 'NYU-01', 'Theiler']
    details = one.get_details(IBL)
    assert details.name == IBL_EID
    assert details.to_dict() == IBL_RECORD
    full = one.get_details(IBL, full=True)
    assert len(full) == 20 and (full['subject'] == 'IBL-T1').all()
    with pytest.raises(onelight.ALFObjectNotFound):
        one.get_details(uuid.uuid4())


# -------------------------------------------------------------------------------- loading
def test_load_object_ones_signature_and_filters(alf_root):
    one = onelight.One(cache_dir=alf_root)
    spikes = one.load_object(IBL, 'spikes', 'alf/probe00')  # collection positionally
    assert set(spikes) == {'clusters', 'times', 'times_ephysClock'}
    only = one.load_object(IBL, 'spikes', collection='alf/probe01', attribute='times')
    assert set(only) == {'times', 'times_ephysClock'}  # 'times' takes times_ephysClock too
    assert set(one.load_object(IBL, 'spikes', 'alf/probe01', timescale='ephysClock')) == {
        'times_ephysClock'
    }
    assert set(one.load_object(IBL, '_ibl_trials', namespace='ibl', extension='npy')) >= {
        'choice',
        'stimOn_times',
    }
    wheel = one.load_object(CORI1, 'wheel', collection='al*', query_type='local', check_hash=True)
    assert set(wheel) == {'position', 'timestamps'}
    paths = one.load_object(IBL, 'trials', download_only=True)
    assert alf_root / IBL / 'alf' / '#2021-06-01#' / '_ibl_trials.stimOn_times.npy' in paths
    trials = one.load_object(IBL, 'trials', revision='2021-01-01')
    np.testing.assert_array_equal(
        trials.stimOn_times, np.load(alf_root / IBL / 'alf' / '_ibl_trials.stimOn_times.npy')
    )


def test_load_errors_are_ones(alf_root):
    one = onelight.One(cache_dir=alf_root)
    with pytest.raises(onelight.ALFMultipleCollectionsFound, match='alf/probe00, alf/probe01'):
        one.load_object(IBL, 'spikes')
    with pytest.raises(onelight.ALFMultipleObjectsFound, match='wheel, wheelMoves'):
        one.load_object(CORI1, 'wh*')
    with pytest.raises(onelight.ALFObjectNotFound, match='objects: .*trials'):
        one.load_object(CORI1, 'nope')
    with pytest.raises(onelight.ALFError):  # the base class catches them all, as in ONE
        one.load_dataset(CORI1, 'nope.npy')
    with pytest.raises(onelight.ALFMultipleObjectsFound):
        one.load_dataset(IBL, 'spikes.*', collection='alf/probe00')
    # onelight's own classes catch them too
    assert issubclass(onelight.ALFObjectNotFound, onelight.NotFoundError)
    assert issubclass(onelight.ALFMultipleCollectionsFound, onelight.AmbiguousError)


def test_load_dataset_forms(alf_root):
    one = onelight.One(cache_dir=alf_root)
    folder = alf_root / IBL / 'alf'
    revised = np.load(folder / '#2021-06-01#' / '_ibl_trials.stimOn_times.npy')
    original = np.load(folder / '_ibl_trials.stimOn_times.npy')
    assert not np.array_equal(revised, original)
    np.testing.assert_array_equal(one.load_dataset(IBL, '_ibl_trials.stimOn_times.npy'), revised)
    np.testing.assert_array_equal(one.load_dataset(IBL, 'trials.stimOn_times'), revised)
    # an exact relative path is that very file
    np.testing.assert_array_equal(
        one.load_dataset(IBL, 'alf/#2021-06-01#/_ibl_trials.stimOn_times.npy'), revised
    )
    with pytest.warns(onelight.ALFWarning, match='not the default revision'):  # as ONE warns
        np.testing.assert_array_equal(
            one.load_dataset(IBL, 'alf/_ibl_trials.stimOn_times.npy'), original
        )
    with pytest.raises(onelight.SearchError, match='is a path'):
        one.load_dataset(IBL, 'alf/_ibl_trials.stimOn_times.npy', collection='alf')
    by_parts = one.load_dataset(
        IBL, {'object': 'spikes', 'attribute': 'clusters'}, collection='alf/probe01'
    )
    np.testing.assert_array_equal(by_parts, np.load(folder / 'probe01' / 'spikes.clusters.npy'))
    # the namespace may be left out (ONE-api raises here)
    assert one.load_dataset(IBL, 'trials.choice', 'alf').shape == original.shape
    path = one.load_dataset(IBL, 'trials.choice', download_only=True)
    assert path == folder / '_ibl_trials.choice.npy'


def test_load_datasets_and_collection(alf_root):
    one = onelight.One(cache_dir=alf_root)
    data, records = one.load_datasets(
        IBL, ['spikes.times.npy', '_ibl_trials.choice.npy'], collections=['alf/probe00', 'alf']
    )
    assert data[0].shape == np.load(alf_root / IBL / 'alf/probe00/spikes.times.npy').shape
    assert [r['rel_path'] for r in records] == [
        'alf/probe00/spikes.times.npy',
        'alf/_ibl_trials.choice.npy',
    ]
    assert set(records[0]) == {
        'eid',
        'id',
        'rel_path',
        'file_size',
        'hash',
        'exists',
        'qc',
        'revision',
    }
    assert records[0]['eid'] == IBL_EID and records[1]['revision'] == ''
    with pytest.raises(TypeError):
        one.load_datasets(IBL, 'spikes.times.npy')
    with pytest.raises(onelight.ALFObjectNotFound):
        one.load_datasets(IBL, ['nope.npy'])
    data, records = one.load_datasets(IBL, ['nope.npy', 'trials.choice'], assert_present=False)
    assert data[0] is None and records[0] is None and data[1] is not None
    objects = one.load_collection(IBL, 'alf/probe00')
    assert set(objects) == {'spikes'} and set(objects['spikes']) == {
        'clusters',
        'times',
        'times_ephysClock',
    }
    assert set(one.load_collection(CORI1, 'alf', object='wheel*')) == {'wheel', 'wheelMoves'}
    paths = one.load_collection(IBL, 'alf/probe00', download_only=True)
    assert isinstance(paths, tuple) and len(paths) == 3
    with pytest.raises(onelight.ALFError):
        one.load_collection(IBL, 'nothing/here')


def test_arrays_are_writable_and_the_file_untouched(alf_root):
    one = onelight.One(cache_dir=alf_root)
    path = alf_root / IBL / 'alf' / '_ibl_trials.goCue_times.npy'
    before = path.read_bytes()
    trials = one.load_object(IBL, 'trials')
    t0 = trials.goCue_times[0]
    trials.goCue_times -= t0
    trials.goCue_times[0] = np.nan
    trials.choice.sort()
    assert np.isnan(trials.goCue_times[0])
    assert path.read_bytes() == before
    assert one.load_object(IBL, 'trials').goCue_times[0] == t0


def test_check_hash_refetches_a_bad_local_copy(alf_root, serve, tmp_path):
    server = serve(alf_root)
    onelight.write_index(alf_root, base_url=server.url, checksums=True)
    server.index_data = (alf_root / '.one_root').read_bytes()
    one = http_one(server, tmp_path)
    path = one.load_dataset(CORI1, 'eye.area', download_only=True)
    good = path.read_bytes()
    bad = bytes([good[-1] ^ 1])
    path.write_bytes(good[:-1] + bad)  # same size, wrong md5
    n = len(server.requests)
    one.load_dataset(CORI1, 'eye.area', check_hash=False)
    assert len(server.requests) == n and path.read_bytes() != good  # trusted as it is
    one.load_dataset(CORI1, 'eye.area')
    assert path.read_bytes() == good  # check_hash (the default) fetched it again


# ------------------------------------------------------------------ folders and helpers
def test_loading_a_folder_without_a_repository(alf_root, caplog):
    folder = alf_root / CORI1 / 'alf'
    trials = onelight.load_object(folder, 'trials')
    assert trials.goCue_times.shape == (214,)
    assert set(onelight.load_object(str(alf_root / IBL), 'spikes', collection='alf/probe00')) == {
        'clusters',
        'times',
        'times_ephysClock',
    }
    area = onelight.load_dataset(folder, 'eye.area')
    np.testing.assert_array_equal(area, np.load(folder / 'eye.area.npy')[:, 0])
    revised = onelight.load_dataset(
        alf_root / IBL, 'alf/#2021-06-01#/_ibl_trials.stimOn_times.npy'
    )
    assert revised.shape == (600,)
    with pytest.raises(onelight.ALFObjectNotFound):
        onelight.load_object(folder, 'nothing')
    assert not onelight.app_dirs().config_file.exists()  # no repository was needed
    with caplog.at_level(logging.WARNING):
        onelight.load_object(alf_root / EDGE_SESSION / 'alf', 'obj')


def test_alf_path_helpers_follow_ones_conventions():
    path = '/data/lab/Subjects/m1/2020-01-01/001/alf/#v2#/_ibl_trials.goCue_times_bpod.npy'
    assert onelight.session_path_parts(path) == ('lab', 'm1', '2020-01-01', '001')
    assert onelight.filename_parts('_ibl_trials.goCue_times_bpod.npy', as_dict=True) == {
        'namespace': 'ibl',
        'object': 'trials',
        'attribute': 'goCue_times',
        'timescale': 'bpod',
        'extra': None,
        'extension': 'npy',
    }
    assert onelight.rel_path_parts('alf/#v2#/spikes.times.npy')[:4] == (
        'alf',
        'v2',
        None,
        'spikes',
    )
    assert onelight.full_path_parts(path)[:6] == (
        'lab',
        'm1',
        '2020-01-01',
        '001',
        'alf',
        'v2',
    )
    assert onelight.filename_parts('foo.npy', assert_valid=False) == (None,) * 6
    with pytest.raises(onelight.ALFInvalid):
        onelight.filename_parts('foo.npy')
    assert str(onelight.get_session_path(path)) == '/data/lab/Subjects/m1/2020-01-01/001'
    assert onelight.get_session_path('/no/session/here') is None


def test_bunch_append_and_from_df():
    a = onelight.Bunch(t=np.arange(3.0), iv=np.zeros((3, 2)))
    b = onelight.Bunch(t=np.arange(2.0), iv=np.ones((2, 2)))
    both = a.append(b)
    assert both.t.tolist() == [0, 1, 2, 0, 1] and both.iv.shape == (5, 2)
    assert len(a.t) == 3  # a copy unless inplace
    a.append(b, inplace=True)
    assert len(a.t) == 5
    with pytest.raises(NotImplementedError):
        a.append(onelight.Bunch(x=1))
    df = pd.DataFrame({'iv_0': [0.0, 1.0], 'iv_1': [0.5, 1.5], 'choice': [1, -1]})
    bunch = onelight.Bunch.from_df(df)
    assert set(bunch) == {'iv', 'choice'} and bunch.iv.tolist() == [[0.0, 0.5], [1.0, 1.5]]
    assert bunch.to_df().shape == (2, 3)


def test_bunch_append_numpy_values_as_ones_test(caplog):
    """ONE-api's ``TestAlfBunch.test_append_numpy``, with the warning it logs on uneven keys
    and for what it cannot append; and ``to_df`` of scalars (nothing to tabulate)."""
    rng = np.random.default_rng(0)
    a = onelight.Bunch({'eye': rng.random((100, 2)), 'trial': rng.random(100)})
    b = onelight.Bunch({'eye': rng.random((50, 2)), 'trial': rng.random(50)})
    c = a.append(b)
    assert np.all(c['eye'] == np.r_[a.eye, b.eye])
    assert np.all(c['trial'] == np.r_[a.trial, b.trial])
    assert c.eye.shape == (150, 2) and a.eye.shape == (100, 2)
    a.append(b, inplace=True)
    assert np.all(a['eye'] == c['eye'])
    with caplog.at_level(logging.WARNING, logger='onelight'):
        uneven = a.append(onelight.Bunch({'eye': rng.random((1, 2)), 'trial': rng.random(3)}))
        scalar = onelight.Bunch(x=np.float64(1)).append(onelight.Bunch(x=np.float64(2)))
    assert uneven.eye.shape == (151, 2) and uneven.trial.shape == (153,)
    assert 'inconsistent dimensions' in caplog.text and scalar.x == 1  # kept, as ONE does
    assert "cannot append 'x'" in caplog.text
    assert onelight.Bunch(a=np.float64(1), b=np.int64(2)).to_df().empty
