"""Run the same ONE calls through ONE-api and onelight on the same tree and compare the results.

    python bench/one_compat.py [--one-python PATH]

Builds the demo tree in a temporary folder (without its non-ALF files, which ONE-api 3.6.1's
make_parquet_db cannot index), builds ONE-api's cache tables for it with make_parquet_db (or,
with ``--tables onelight``, with ``onelight index --one-cache --checksums``),
then evaluates every call of CASES in ONE-api's venv (``bench/.venv-one-api``, as
``bench/run.py --with-one-api`` makes it, or --one-python) and in onelight, and prints a
Markdown table: identical, or different (each difference is one the README's "Coming from ONE"
section lists). Results are normalised before comparing: eids become the session folder they
name, arrays their shape, dtype and an md5 of their bytes, paths relative to the tree.
Not part of the tests: ONE-api is never a dependency of onelight.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

import onelight  # noqa: E402

CORI1 = 'nicklab/Subjects/Cori/2016-12-14/001'
IBL = 'angelakilab/Subjects/IBL-T1/2019-02-20/001'

# (call, why the results may differ: None where they must be identical)
CASES = [
    ("one.search(subject='Cor')", None),
    ("one.search(subject='C.ri')", None),
    ("one.search(subject='cor')", None),
    ("one.search(subject='^Cori$', date_range=['2016-12-15'])", None),
    ("one.search(date_range=['2017-01-01'])", None),
    ("one.search(date_range='2016-12-14')", None),
    ("one.search(date_range=['2016-12-15', '2019-02-20'])", None),
    ("one.search(laboratory='nick', number=1)", None),
    ("one.search(lab='angelakilab')", None),
    ("one.search(number='001', subject=['Theiler', 'IBL'])", None),
    ("one.search(datasets='_ibl_trials.goCue_times.npy')", None),
    ("one.search(datasets=['spikes.times.npy', 'spikes.clusters.npy'])", None),
    ("one.search(datasets='wheel.timestamps')", 'onelight matches names as its search terms do'),
    ("one.search(dataset='eye.area.npy')", "ONE-api: 'dataset' is ambiguous (its bug)"),
    ("one.search(subject='Cori', details=True)", 'onelight adds the eid to each record'),
    ("one.search(subject='nobody', details=True)", None),
    ('one.search_terms()', 'what this repository answers, and collection'),
    ("one.list_datasets(E['IBL'])", None),
    ("one.list_datasets(E['IBL'], collection='alf')", None),
    ("one.list_datasets(E['IBL'], filename='*.stimOn_times*')", None),
    ("one.list_datasets(E['IBL'], revision='2021-06-01')", None),
    ("one.list_datasets(E['IBL'], collection='alf/probe0*', filename='*.times*')", None),
    ("one.list_datasets(E['CORI1'], filename={'object': 'wheel'})", None),
    ("one.list_datasets(E['CORI1'], filename=['*.intervals*', '*.times*'])", None),
    ("sorted(one.list_collections(E['IBL']))", None),
    ("sorted(one.list_revisions(E['IBL']))", None),
    ('one.list_subjects()', None),
    ("list(one.list_datasets(E['IBL'], details=True).columns)", 'onelight adds default_revision'),
    ("one.list_datasets(E['IBL'], details=True)['rel_path'].tolist()", 'sorted, not in id order'),
    ("one.list_datasets(E['IBL'], details=True)['file_size'].tolist()", 'sorted, not in id order'),
    ("one.get_details(E['IBL'])", None),
    ("one.get_details(E['IBL']).name", None),
    ("one.load_object(E['CORI1'], 'trials')", None),
    ("one.load_object(E['CORI1'], 'wheel')", None),
    ("one.load_object(E['CORI1'], 'spikes', attribute=['times', 'clusters'])", None),
    ("one.load_object(E['IBL'], 'trials')", None),
    ("one.load_object(E['IBL'], 'trials', revision='2021-01-01')", None),
    ("one.load_object(E['IBL'], 'spikes', 'alf/probe00')", None),
    ("one.load_object(E['IBL'], 'spikes', collection='alf/probe01', attribute='times')", None),
    (
        "one.load_object(E['IBL'], 'spikes', collection='alf/probe01', timescale='ephysClock')",
        None,
    ),
    ("one.load_object(E['IBL'], 'trials', namespace='ibl')", None),
    ("one.load_object(E['IBL'], '_ibl_trials')", 'onelight takes "_namespace_object" names'),
    ("sorted(one.load_object(E['IBL'], 'trials', download_only=True))", None),
    ("one.load_object(E['IBL'], 'spikes')", None),
    ("one.load_object(E['CORI1'], 'wh*')", None),
    ("one.load_object(E['CORI1'], 'nope')", None),
    ("one.load_dataset(E['CORI1'], 'spikes.times.npy')", None),
    ("one.load_dataset(E['CORI1'], 'spikes.times')", None),
    ("one.load_dataset(E['CORI1'], 'spikes.times.npy', 'alf')", None),
    ("one.load_dataset(E['IBL'], 'alf/#2021-06-01#/_ibl_trials.stimOn_times.npy')", None),
    ("one.load_dataset(E['IBL'], 'alf/_ibl_trials.stimOn_times.npy')", None),
    ("one.load_dataset(E['IBL'], '_ibl_trials.stimOn_times.npy')", None),
    ("one.load_dataset(E['IBL'], '_ibl_trials.stimOn_times.npy', revision='2021-01-01')", None),
    (
        "one.load_dataset(E['IBL'], {'object': 'spikes', 'attribute': 'clusters'}, 'alf/probe01')",
        None,
    ),
    ("one.load_dataset(E['IBL'], 'spikes.times.npy')", None),
    ("one.load_dataset(E['IBL'], 'nope.npy')", None),
    (
        "one.load_dataset(E['IBL'], 'trials.choice')",
        'onelight needs no namespace (ONE-api raises)',
    ),
    ("one.load_dataset(E['CORI1'], 'spikes.times.npy', download_only=True)", None),
    ("one.load_dataset(E['CORI1'], 'spikes.times.npy').flags.writeable", None),
    (
        "one.load_datasets(E['IBL'], ['_ibl_trials.choice.npy', 'spikes.times.npy'], "
        "collections=['alf', 'alf/probe00'])[0]",
        None,
    ),
    (
        "[{k: r[k] for k in ('rel_path', 'file_size', 'exists', 'revision')} for r in "
        "one.load_datasets(E['IBL'], ['_ibl_trials.choice.npy'], collections='alf')[1]]",
        None,
    ),
    ("one.load_datasets(E['IBL'], ['nope.npy'], assert_present=False)[0]", None),
    ("one.load_datasets(E['IBL'], ['nope.npy'])", None),
    ("one.load_datasets(E['IBL'], '_ibl_trials.choice.npy')", None),
    ("one.load_collection(E['IBL'], 'alf/probe00')", None),
    ("sorted(one.load_collection(E['IBL'], 'alf/probe00', download_only=True))", None),
    ("one.load_collection(E['IBL'], 'nothing')", None),
    ("one.eid2ref(E['IBL'])", None),
    ("one.eid2ref(E['IBL'], as_dict=False)", None),
    ("one.eid2ref(E['IBL'], parse=False)", None),
    ("one.eid2ref(E['IBL'], as_dict=False, parse=False)", None),
    ("one.path2ref(ROOT / IBL / 'alf')", None),
    ('one.path2ref(str(ROOT / IBL), as_dict=False)', None),
    ("one.ref2eid('2019-02-20_1_IBL-T1')", None),
    ("one.ref2eid({'subject': 'IBL-T1', 'date': '2019-02-20', 'sequence': 1})", None),
    ("one.to_eid('2019-02-20_1_IBL-T1')", None),
    ('one.to_eid(ROOT / IBL)', None),
    ('str(one.to_eid(ROOT / IBL))', None),  # the same id text: both read the same tables
    ("one.to_eid(str(E['IBL']))", None),
    ("one.to_eid(str(E['IBL']).upper())", 'onelight accepts any case (ONE-api: ValueError)'),
    ("one.path2eid(ROOT / IBL / 'alf')", None),
    ("one.path2eid('/elsewhere/lab/Subjects/IBL-T1/2019-02-20/1')", None),
    ("one.eid2path(E['IBL'])", None),
    ("one.ref2path('2019-02-20_1_IBL-T1')", None),
    ("alfio_load_object(ROOT / CORI1 / 'alf', 'trials')", None),
    ("alfio_load_object(ROOT / CORI1 / 'alf', 'wheel')", None),
    ("alfpath.session_path_parts('/x/lab/Subjects/m/2020-01-01/001/alf')", None),
    (
        "alfpath.session_path_parts('/x/lab/m/2020-01-01/alf', as_dict=True, assert_valid=False)",
        None,
    ),
    ("alfpath.filename_parts('_ibl_trials.goCue_times_bpod.npy')", None),
    ("alfpath.rel_path_parts('alf/#v2#/spikes.times.npy', as_dict=True)", None),
    ("alfpath.full_path_parts('/d/lab/Subjects/m/2020-01-01/001/alf/#v2#/a.b.npy')", None),
    ("alfpath.get_session_path('/d/lab/Subjects/m/2020-01-01/001/alf/a.b.npy')", None),
    ("alfpath.filename_parts('foo.npy')", None),
]

# Runs in both interpreters: evaluates the calls and normalises their results to JSON.
EVALUATOR = r"""
import datetime, hashlib, json, re, sys, uuid
from pathlib import Path, PurePath
import numpy as np, pandas as pd

def evaluate(one, ROOT, E, cases, env):
    SESSION = re.compile(r'[^/]+/Subjects/[^/]+/\d{4}-\d{2}-\d{2}/\d{3}')

    def rel(path):
        try:
            return Path(path).relative_to(ROOT).as_posix()
        except ValueError:
            return Path(path).as_posix()

    def norm(x):
        if isinstance(x, uuid.UUID):
            path = one.eid2path(x)
            return 'session ' + (rel(path) if path else 'unknown')
        if isinstance(x, PurePath):
            return rel(x)
        if isinstance(x, str) and SESSION.fullmatch(x) and (ROOT / x).is_dir():
            return 'session ' + x
        if isinstance(x, np.ndarray):
            data = np.ascontiguousarray(x)
            digest = hashlib.md5(data.tobytes()).hexdigest()[:12] if data.dtype != object else ''
            return {'array': list(data.shape), 'dtype': str(data.dtype), 'md5': digest}
        if isinstance(x, pd.DataFrame):
            return {'frame': [str(c) for c in x.columns], 'rows': len(x)}
        if isinstance(x, pd.Series):
            return {'series': norm(x.to_dict()), 'name': norm(x.name)}
        if isinstance(x, dict):
            return {str(k): norm(v) for k, v in sorted(x.items(), key=lambda kv: str(kv[0]))}
        if isinstance(x, (list, tuple)):
            return [norm(v) for v in x]
        if isinstance(x, (datetime.date,)):
            return x.isoformat()
        if isinstance(x, np.generic):
            return x.item()
        if x is None or isinstance(x, (str, int, float, bool)):
            return x
        return repr(type(x).__name__)

    out = []
    for call in cases:
        try:
            out.append({'value': norm(eval(call, dict(env, one=one, ROOT=ROOT, E=E)))})
        except Exception as e:
            out.append({'error': type(e).__name__, 'mro': [c.__name__ for c in type(e).__mro__]})
    return out
"""

ONE_SIDE = r"""
import logging, json, sys, warnings
from pathlib import Path
logging.disable(logging.WARNING)
warnings.simplefilter('ignore')
from one.api import One
from one.alf.cache import make_parquet_db
from one.alf import io as alfio, path as alfpath
exec(open(sys.argv[1]).read())
root = Path(sys.argv[2])
if sys.argv[5] == 'one':
    make_parquet_db(root, hash_ids=True)
one = One(cache_dir=root, mode='local')
sessions = json.loads(sys.argv[3])
E = {k: one.path2eid(root / v) for k, v in sessions.items()}
cases = json.loads(open(sys.argv[4]).read())
env = {'alfio_load_object': alfio.load_object, 'alfpath': alfpath, 'IBL': sessions['IBL'],
       'CORI1': sessions['CORI1']}
print(json.dumps(evaluate(one, root, E, cases, env)))
"""


def build_tree(root: Path) -> None:
    onelight.make_demo_data(root)
    for path in list(root.rglob('*')):
        if path.is_file() and not onelight.is_alf_filename(path.name):
            path.unlink()  # ONE-api 3.6.1 cannot index non-ALF names (see the fact sheet)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--one-python', help="ONE-api's interpreter (default: bench's venv)")
    parser.add_argument('--full', action='store_true', help='print whole values, not the start')
    parser.add_argument(
        '--tables',
        choices=('one', 'onelight'),
        default='one',
        help="whose tables ONE-api opens: make_parquet_db's or onelight index --one-cache's",
    )
    args = parser.parse_args()
    if args.one_python:
        one_python = Path(args.one_python)
    else:
        from run import one_api_python

        one_python = one_api_python()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        root = tmp / 'alf'
        build_tree(root)
        if args.tables == 'onelight':
            onelight.write_index(root, one_cache=True, checksums=True)
        (tmp / 'evaluator.py').write_text(EVALUATOR)
        (tmp / 'one_side.py').write_text(ONE_SIDE)
        (tmp / 'cases.json').write_text(json.dumps([c for c, _ in CASES]))
        sessions = {'IBL': IBL, 'CORI1': CORI1}
        done = subprocess.run(
            [
                str(one_python),
                str(tmp / 'one_side.py'),
                str(tmp / 'evaluator.py'),
                str(root),
                json.dumps(sessions),
                str(tmp / 'cases.json'),
                args.tables,
            ],
            capture_output=True,
            text=True,
        )
        if done.returncode:
            print(done.stderr, file=sys.stderr)
            return 1
        theirs = json.loads(done.stdout.strip().splitlines()[-1])
        import logging

        logging.disable(logging.WARNING)
        namespace = {}
        exec(EVALUATOR, namespace)
        one = onelight.One(cache_dir=root, mode='local')
        eids = {k: one.to_eid(v) for k, v in sessions.items()}
        env = {
            'alfio_load_object': onelight.load_object,
            'alfpath': onelight,
            'IBL': IBL,
            'CORI1': CORI1,
        }
        ours = namespace['evaluate'](one, root, eids, [c for c, _ in CASES], env)
    same = 0
    print('| call | ONE-api 3.6.1 | onelight | verdict |')
    print('| --- | --- | --- | --- |')
    for (call, why), a, b in zip(CASES, theirs, ours):
        if 'error' in a:
            # the same exception a user would catch: ONE's class is one of onelight's bases
            identical = 'error' in b and a['error'] in b['mro']
        else:
            identical = a == b
        same += identical
        verdict = 'identical' if identical else f'different: {why or "UNEXPECTED"}'
        limit = 10**6 if args.full else 60
        print(f'| `{call}` | {short(a, limit)} | {short(b, limit)} | {verdict} |')
    print(f'\n{same} of {len(CASES)} calls identical')
    unexpected = [
        c
        for (c, why), a, b in zip(CASES, theirs, ours)
        if why is None
        and not ('error' in a and 'error' in b and a['error'] in b['mro'])
        and a != b
    ]
    return 1 if unexpected else 0


def short(result: dict, limit: int = 60) -> str:
    if 'error' in result:
        return result['error']
    text = json.dumps(result['value'])
    return (text if len(text) <= limit else text[: limit - 3] + '...').replace('|', '\\|')


if __name__ == '__main__':
    sys.exit(main())
