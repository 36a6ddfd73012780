"""list_, load_object and load_dataset against the ONE-api expectations."""

import logging

import numpy as np
import pandas as pd
import pytest
from conftest import EDGE_SESSION, UUID

import onelight

CORI1 = 'nicklab/Subjects/Cori/2016-12-14/001'
CSH = 'churchlandlab/Subjects/CSH_ZAD_003/2021-06-01/001'


def test_list_session_files(one, alf_root):
    files = one.list_(EDGE_SESSION)
    assert 'notes.txt' in files and 'alf/obj.attr.metadata.json' in files
    assert files == sorted(files)
    assert one.list_(CSH, collection='alf/probe00') == [
        'alf/probe00/spikes.clusters.npy',
        'alf/probe00/spikes.times.npy',
        'alf/probe00/spikes.times_ephysClock.npy',
    ]
    # every spelling of the session identifies it
    for spelling in (
        EDGE_SESSION + '/',
        EDGE_SESSION.replace('/1', '/001'),
        str(alf_root / EDGE_SESSION),
        'NYU-01/2020-02-02/001',
    ):
        assert one.list_(spelling) == files


def test_missing_session(one):
    with pytest.raises(onelight.NotFoundError, match='not in this repository'):
        one.list_('nicklab/Subjects/Cori/2000-01-01/001')
    with pytest.raises(onelight.ALFError):
        one.list_('not a session')


def test_steinmetz_trials_flattened_columns(one, alf_root):
    trials = one.load_object(CORI1, 'trials')
    folder = alf_root / CORI1 / 'alf'
    raw = np.load(folder / 'trials.goCue_times.npy')
    assert raw.shape == (214, 1)
    assert trials.goCue_times.shape == (214,)
    np.testing.assert_array_equal(trials['goCue_times'], raw[:, 0])
    assert trials.intervals.shape == (214, 2)
    assert trials.included.dtype == bool
    assert set(trials) == {
        'feedbackType',
        'feedback_times',
        'goCue_times',
        'included',
        'intervals',
        'repNum',
        'response_choice',
        'response_times',
        'visualStim_contrastLeft',
        'visualStim_contrastRight',
        'visualStim_times',
    }
    df = trials.to_df()
    assert list(df.columns[:2]) == ['feedbackType', 'feedback_times']
    assert {'intervals_0', 'intervals_1'} <= set(df.columns) and len(df) == 214


def test_wheel_timestamps_interpolated(one, alf_root):
    wheel = one.load_object(CORI1, 'wheel')
    ts = np.load(alf_root / CORI1 / 'alf' / 'wheel.timestamps.npy')
    assert ts.shape == (2, 2)
    assert wheel.timestamps.shape == wheel.position.shape == (5000,)
    np.testing.assert_allclose(wheel.timestamps[[0, -1]], ts[:, 1])
    assert 'timestamps' not in one.load_object(CORI1, 'wheelMoves')


def test_table_merged_with_intervals_pairs(one):
    trials = one.load_object(EDGE_SESSION, 'trials')
    assert trials.intervals.shape == (50, 2)
    np.testing.assert_array_equal(trials.intervals[:, 1] - trials.intervals[:, 0], 0.5)
    assert 'table' not in trials and 'intervals_0' not in trials
    np.testing.assert_array_equal(trials.goCue_times, np.arange(50) + 0.1)
    assert trials.stimOn_times.shape == (50,)
    assert f'firstMovement_times.{UUID}' in trials


def test_metadata_columns_split_the_array(one):
    obj = one.load_object(EDGE_SESSION, 'obj')
    assert sorted(obj) == ['a', 'b', 'c', 'times']
    np.testing.assert_array_equal(obj.b, np.arange(30.0).reshape(10, 3)[:, 1])


def test_empty_file_loads_as_none(one):
    assert one.load_object(EDGE_SESSION, 'empty') == {'thing': None}
    assert one.load_dataset(EDGE_SESSION, 'empty.thing.npy') is None


def test_inconsistent_lengths_warn(one, caplog):
    with caplog.at_level(logging.WARNING, logger='onelight'):
        mixed = one.load_object(EDGE_SESSION, 'mixed')
    assert mixed.long.shape == (5,) and 'inconsistent dimensions' in caplog.text


def test_namespaces_colliding_need_the_namespace(one):
    with pytest.raises(onelight.AmbiguousError, match='_namespace_object'):
        one.load_object(EDGE_SESSION, 'wheel')
    np.testing.assert_array_equal(one.load_object(EDGE_SESSION, '_ibl_wheel').position, 1)


def test_several_collections_need_collection(one):
    with pytest.raises(onelight.AmbiguousError, match='alf/probe00, alf/probe01'):
        one.load_object(CSH, 'spikes')
    s0 = one.load_object(CSH, 'spikes', collection='alf/probe00')
    s1 = one.load_object(CSH, 'spikes', collection='alf/probe01')
    assert set(s0) == {'times', 'clusters', 'times_ephysClock'}
    assert not np.array_equal(s0.times, s1.times)
    with pytest.raises(onelight.NotFoundError, match='alf/probe00'):
        one.load_object(CSH, 'spikes', collection='alf/probe02')


def test_revisions(one, alf_root):
    folder = alf_root / CSH / 'alf'
    latest = one.load_object(CSH, 'trials')
    np.testing.assert_array_equal(
        latest.stimOn_times, np.load(folder / '#2021-06-01#' / '_ibl_trials.stimOn_times.npy')
    )
    old = one.load_object(CSH, '_ibl_trials', revision='2021-05-31')
    np.testing.assert_array_equal(
        old.stimOn_times, np.load(folder / '_ibl_trials.stimOn_times.npy')
    )
    assert set(old) == set(latest)
    path = one.load_dataset(CSH, '_ibl_trials.stimOn_times.npy', download_only=True)
    assert path == folder / '#2021-06-01#' / '_ibl_trials.stimOn_times.npy'


def test_attribute_filter_and_download_only(one, alf_root):
    spikes = one.load_object(CORI1, 'spikes', attribute=['times', 'clu*'])
    assert sorted(spikes) == ['clusters', 'times']
    paths = one.load_object(CORI1, 'spikes', download_only=True)
    assert sorted(p.name for p in paths) == [
        'spikes.amps.npy',
        'spikes.clusters.npy',
        'spikes.depths.npy',
        'spikes.times.npy',
    ]
    assert all(p.parent == alf_root / CORI1 / 'alf' for p in paths)
    with pytest.raises(onelight.ALFObjectNotFound, match="no files matching.*'nope'"):
        one.load_object(CORI1, 'spikes', attribute='nope')


def test_missing_object_lists_the_objects(one):
    with pytest.raises(onelight.NotFoundError, match='objects: channels, clusters'):
        one.load_object(CORI1, 'nope')


@pytest.mark.parametrize(
    'dataset,kind',
    [
        ('spikes.times.npy', np.ndarray),
        ('spikes.times', np.ndarray),
        ('alf/spikes.times.npy', np.ndarray),
        ('channels.brainLocation.tsv', pd.DataFrame),
        ('probes.description', pd.Series),
    ],
)
def test_load_dataset_spellings(one, dataset, kind):
    assert isinstance(one.load_dataset(CORI1, dataset), kind)


def test_loaders_by_extension(one, alf_root):
    settings = one.load_dataset(EDGE_SESSION, 'probes.settings.yml')
    assert settings == {'sampling_rate': 30000, 'channels': [1, 2]}
    assert one.load_dataset(EDGE_SESSION, 'probes.raw.bin').name == 'probes.raw.bin'
    assert one.load_dataset(EDGE_SESSION, 'notes.txt').name == 'notes.txt'
    ibl = 'angelakilab/Subjects/IBL-T1/2019-02-20/001'
    task = one.load_dataset(ibl, '_iblrig_taskData.raw.jsonable')
    assert isinstance(task, list) and task[0]['trial_num'] == 1
    enc = one.load_dataset(ibl, '_iblrig_encoderPositions.raw.ssv')
    assert list(enc.columns) == ['re_ts', 're_pos'] and len(enc) == 100
    spikes = one.load_dataset(CORI1, 'spikes.times')
    assert spikes.flags.writeable  # as ONE's arrays are
    big = alf_root / CORI1 / 'alf' / 'lfp.raw.npy'
    np.save(big, np.arange(300_000.0))  # 2.4 MB
    lfp = onelight.One(root_dir=alf_root).load_dataset(CORI1, 'lfp.raw')
    # a large array is lazy (memory-mapped) yet writable: copy-on-write, the file untouched
    assert isinstance(lfp, np.memmap) and lfp.flags.writeable and lfp.mode == 'c'


def test_load_dataset_errors(one):
    with pytest.raises(onelight.NotFoundError):
        one.load_dataset(CORI1, 'nope.npy')
    with pytest.raises(onelight.AmbiguousError, match='several collections'):
        one.load_dataset(CSH, 'spikes.times.npy')
    with pytest.raises(onelight.AmbiguousError, match='several files'):
        one.load_dataset(CORI1, 'spikes.*')


def test_pickled_npy_is_refused(tmp_path):
    folder = tmp_path / 'lab/Subjects/m/2020-01-01/001'
    folder.mkdir(parents=True)
    np.save(folder / 'obj.attr.npy', np.array([{'a': 1}], dtype=object), allow_pickle=True)
    one = onelight.One(root_dir=tmp_path)
    with pytest.raises(onelight.DataFormatError, match='pickled'):
        one.load_dataset('lab/Subjects/m/2020-01-01/001', 'obj.attr')


def test_parquet_without_pyarrow_names_the_extra(monkeypatch, one):
    import importlib

    real = importlib.import_module

    def no_pyarrow(name, *args, **kwargs):
        if name == 'pyarrow':
            raise ImportError('no pyarrow')
        return real(name, *args, **kwargs)

    monkeypatch.setattr(importlib, 'import_module', no_pyarrow)
    with pytest.raises(
        onelight.MissingDependencyError, match=r'pip install pyarrow .*\.\[parquet\]'
    ):
        one.load_dataset(EDGE_SESSION, '_ibl_trials.table.pqt')


def test_bunch_attribute_access():
    b = onelight.Bunch(a=1)
    b.c = 3
    assert b.a == 1 and b['c'] == 3 and 'c' in dir(b)
    with pytest.raises(AttributeError):
        b.missing  # noqa: B018
