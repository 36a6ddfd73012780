"""Search semantics: dataset terms, the prefix traps, filters, keyword spellings."""

import datetime

import pytest
from conftest import EDGE_SESSION

import onelight

CORI1 = 'nicklab/Subjects/Cori/2016-12-14/001'
CORI2 = 'nicklab/Subjects/Cori/2016-12-18/001'
THEILER = 'nicklab/Subjects/Theiler/2017-10-11/001'
IBL = 'angelakilab/Subjects/IBL-T1/2019-02-20/001'
CSH = 'churchlandlab/Subjects/CSH_ZAD_003/2021-06-01/001'
NICK = [THEILER, CORI2, CORI1]
# ONE's order: date, subject, number, newest first
ALL = [CSH, EDGE_SESSION, IBL, THEILER, CORI2, CORI1]


def newest(sessions):
    return [s for s in ALL if s in sessions]


def test_no_terms_lists_every_session(one):
    assert one.search() == ALL


@pytest.mark.parametrize(
    'terms,expected',
    [
        (['spikes'], newest([*NICK, IBL, CSH])),
        (['wheel'], newest([*NICK, EDGE_SESSION])),  # never wheelMoves-only
        (['wheelMoves'], NICK),
        (['clusters'], NICK),  # not spikes.clusters of the IBL sessions
        (['probes'], newest([*NICK, EDGE_SESSION])),  # not clusters.probes
        (['spikesorting'], [EDGE_SESSION]),
        (['trials'], newest([*NICK, IBL, CSH, EDGE_SESSION])),
        (['_ibl_trials.*'], newest([IBL, CSH, EDGE_SESSION])),
        (['trials.goCue_times'], newest([*NICK, IBL, CSH])),
        (['trials.table'], [EDGE_SESSION]),
        (['eye.area'], [THEILER, CORI1]),
        (['eye', 'licks'], [THEILER, CORI1]),
        (['spikes.times_ephysClock'], [CSH, IBL]),
        (['spikes.times.npy'], newest([*NICK, IBL, CSH])),
        (['*.imec.lf.timestamps.npy'], NICK),
        (['Cori_2016-12-14_M2_g0_t0.imec.lf.timestamps.npy'], [CORI1]),
        (['notes.txt'], [EDGE_SESSION]),
        (['wheel*'], newest([*NICK, EDGE_SESSION])),
        (['nothing'], []),
        (['imec'], []),
    ],
)
def test_dataset_terms(one, terms, expected):
    assert one.search(terms) == expected


def test_string_term_is_one_term(one):
    assert one.search('eye') == [THEILER, CORI1]


def test_filters(one):
    assert one.search(['trials'], subject='Cori') == [CORI2, CORI1]
    assert one.search(subject=['Theiler', 'IBL-*']) == [IBL, THEILER]
    assert one.search(lab='nick*', number=1) == NICK
    assert one.search(number='1') == one.search()
    assert one.search(lab='mainenlab', number='001') == [EDGE_SESSION]
    assert one.search(date_range='2016-12-14') == [CORI1]
    assert one.search(date_range=['2016-12-15', '2019-02-20']) == [IBL, THEILER, CORI2]
    assert one.search(date_range=[None, '2016-12-18']) == [CORI2, CORI1]
    assert one.search(date_range=[datetime.date(2021, 1, 1), None]) == [CSH]
    assert one.search(['spikes'], collection='alf/probe00') == [CSH, IBL]
    assert one.search(['spikes'], collection='alf') == NICK
    assert one.search(collection='raw_behavior_data') == [CSH, IBL]


def test_one_spellings_and_prefixes(one):
    assert one.search(datasets=['eye']) == [THEILER, CORI1]
    assert one.search(dataset_t='eye', SUBJ='Cori') == [CORI1]
    assert one.search(laboratory='angelakilab') == [IBL]
    assert one.search(date='2017-10-11') == [THEILER]
    assert one.search(dataset='eye.area', dataset_types=['licks']) == [THEILER, CORI1]


@pytest.mark.parametrize('key', ['d', 'da', 'dat', 'data', 'dataset_', 'colour', 'x'])
def test_ambiguous_or_unknown_keyword_lists_terms(one, key):
    with pytest.raises(onelight.SearchError, match='search terms: datasets, date_range, lab'):
        one.search(**{key: 'x'})


def test_bad_date(one):
    with pytest.raises(onelight.SearchError, match='not a date'):
        one.search(date_range='14/12/2016')


def test_module_level_api_uses_the_current_repository(alf_root):
    with pytest.raises(onelight.ConfigError, match='no repository is configured'):
        onelight.search(['trials'])
    config = onelight.load_config()
    config['repositories'].append({'name': 'lab', 'type': 'local', 'root_dir': str(alf_root)})
    onelight.save_config(config)
    onelight.set_repository('lab')
    assert onelight.search(['eye'], subject='Cori') == [CORI1]
    assert onelight.search_terms() == onelight.One().search_terms()
    assert 'alf/eye.area.npy' in onelight.list_(CORI1)
    assert onelight.load_dataset(CORI1, 'eye.area').shape == (3000,)
