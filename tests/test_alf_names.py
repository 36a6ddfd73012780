"""ALF names: every reference case of the ALF specification (tests/data/alf-name-vectors.json),
and session identifiers."""

import json

import pytest
from conftest import DATA

import onelight

VECTORS = json.loads((DATA / 'alf-name-vectors.json').read_text(encoding='utf-8'))


def cases(kind):
    found = [v for v in VECTORS if v['kind'] == kind]
    assert found, f'no {kind} vectors in {DATA}'
    return [pytest.param(v, id=v.get('name') or v.get('path')) for v in found]


@pytest.mark.parametrize('case', cases('filename'))
def test_filename_vectors(case):
    assert onelight.is_alf_filename(case['name']) is case['valid']
    if case['valid']:
        assert onelight.parse_filename(case['name']) == case['parts']
    else:
        with pytest.raises(onelight.ALFError):
            onelight.parse_filename(case['name'])


@pytest.mark.parametrize('case', cases('rel_path'))
def test_rel_path_vectors(case):
    if case['valid']:
        assert onelight.parse_rel_path(case['path']) == case['parts']
    else:
        with pytest.raises(onelight.ALFError):
            onelight.parse_rel_path(case['path'])


@pytest.mark.parametrize('case', cases('full_path'))
def test_full_path_vectors(case):
    if case['valid']:
        assert onelight.parse_full_path(case['path']) == case['parts']
    else:
        with pytest.raises(onelight.ALFError):
            onelight.parse_full_path(case['path'])


@pytest.mark.parametrize('case', cases('session_path'))
def test_session_path_vectors(case):
    assert onelight.is_session_path(case['path']) is case['is_session_path']
    parts = onelight.session_path_parts(case['path'], as_dict=True, assert_valid=False)
    assert parts == case['session_parts_search']


@pytest.mark.parametrize('case', cases('session_path_parts'))
def test_session_path_parts_vectors(case):
    parts = case['parts']
    assert onelight.session_path_parts(case['path'], as_dict=True, assert_valid=False) == parts
    if parts['subject'] is None:
        with pytest.raises(onelight.ALFInvalid):
            onelight.session_path_parts(case['path'])
    else:  # ONE's convention: a tuple by default
        assert onelight.session_path_parts(case['path']) == tuple(parts.values())


@pytest.mark.parametrize(
    'text',
    [
        'lab/Subjects/NYU-01/2020-02-02/001',
        'lab/Subjects/NYU-01/2020-02-02/001/',
        'lab\\Subjects\\NYU-01\\2020-02-02\\001\\',
        '/home/me/Downloads/ONE/repo/lab/Subjects/NYU-01/2020-02-02/001',
        'C:\\data\\lab\\Subjects\\NYU-01\\2020-02-02\\001',
    ],
)
def test_parse_session_normalises(text):
    assert onelight.parse_session(text) == {
        'lab': 'lab',
        'subject': 'NYU-01',
        'date': '2020-02-02',
        'number': '001',
    }


@pytest.mark.parametrize('text', ['lab/Subjects/x/2020-02-02', 'x/20-02-02/001', '', 'a/b/c/d'])
def test_parse_session_rejects(text):
    with pytest.raises(onelight.ALFError):
        onelight.parse_session(text)


@pytest.mark.parametrize(
    'segment,safe',
    [
        ('alf', True),
        ('..', False),
        ('.', False),
        ('a\\b', False),
        ('C:', False),
        ('a\x00b', False),
        ('tab\there', False),
        (' lead', False),
        ('#2021-01-01#', True),
        ('x' * 256, False),
        ('%2e%2e', False),
        ('%2E%2e', False),
        ('%2e', False),
        ('%252e%252e', False),
        ('%25252e%25252e', False),
        ('a%2fb', False),
        ('a%5Cb', False),
        ('a%00b', False),
        ('%20lead', False),
        ('%2e%2e%2e', False),
        ('...', False),
        ('trailing.', False),
        ('100%', True),
        ('%23v2%23', True),
        ('my%20obj.attr.npy', True),
    ],
)
def test_safe_segments(segment, safe):
    assert onelight.is_safe_segment(segment) is safe


def test_dataset_aliases_cover_namespace_and_timescale():
    aliases = onelight.dataset_aliases('_ibl_trials.goCue_times_bpod.npy')
    assert set(aliases) == {
        'trials',
        '_ibl_trials',
        'trials.goCue_times',
        '_ibl_trials.goCue_times',
        'trials.goCue_times_bpod',
        '_ibl_trials.goCue_times_bpod',
        'trials.goCue_times_bpod.npy',
        '_ibl_trials.goCue_times_bpod.npy',
    }
    assert onelight.dataset_aliases('Cori_2016-12-14_M2_g0_t0.imec.lf.timestamps.npy') == [
        'Cori_2016-12-14_M2_g0_t0.imec.lf.timestamps.npy'
    ]
