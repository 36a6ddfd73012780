"""Consortium-scale releases for bench/run.py case 14: ONE cache tables and a 2-column
``.one_root`` of the same datasets, shaped like a consortium's (50 datasets a session).

    python bench/scale.py FOLDER SESSIONS   # writes FOLDER/tables/ and FOLDER/served/.one_root
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd

# 50 datasets a session: the collections and objects of a recording session
DATASETS = (
    [f'alf/{n}' for n in ('trials.intervals.npy', 'trials.choice.npy', 'trials.feedbackType.npy')]
    + [
        f'alf/{n}'
        for n in ('trials.goCue_times.npy', 'trials.stimOn_times.npy', 'wheel.position.npy')
    ]
    + [f'alf/{n}' for n in ('wheel.timestamps.npy', 'licks.times.npy', 'spikes.times.npy')]
    + [
        f'alf/probe0{p}/{o}.{a}.npy'
        for p in (0, 1)
        for o, a in (
            ('spikes', 'times'),
            ('spikes', 'clusters'),
            ('spikes', 'amps'),
            ('spikes', 'depths'),
            ('clusters', 'channels'),
            ('clusters', 'depths'),
            ('clusters', 'metrics'),
            ('channels', 'localCoordinates'),
            ('templates', 'waveforms'),
        )
    ]
    + [
        f'raw_ephys_data/probe0{p}/_spikeglx_ephysData_g0_t0.imec{p}.{b}.{e}'
        for p in (0, 1)
        for b in ('ap', 'lf')
        for e in ('cbin', 'meta', 'ch')
    ]
    + [f'raw_video_data/_iblrig_{c}Camera.raw.mp4' for c in ('left', 'right', 'body')]
    + [f'alf/_ibl_{c}Camera.times.npy' for c in ('left', 'right', 'body')]
    + [
        'raw_behavior_data/_iblrig_taskData.raw.jsonable',
        'raw_behavior_data/_iblrig_taskSettings.raw.json',
        'alf/#2024-01-01#/trials.intervals.npy',
        'alf/_ibl_trials.table.pqt',
        'alf/#2024-01-01#/trials.choice.npy',
    ]
)
REPLACED = ['alf/trials.intervals.npy', 'alf/trials.choice.npy']  # by #2024-01-01#
BASE_URL = 'https://data.example.org/release/'


def uuids(rng, n: int) -> np.ndarray:
    """``n`` random UUID4-shaped texts (vectorised: 5 million in a few seconds)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    hexed = pa.array(np.frombuffer(rng.bytes(16 * n).hex().encode(), dtype='S32'))
    cuts = ((0, 8), (8, 12), (12, 16), (16, 20), (20, 32))
    parts = [pc.binary_slice(hexed, a, b) for a, b in cuts]
    joined = pc.binary_join_element_wise(*parts, b'-').cast(pa.string())
    return joined.to_numpy(zero_copy_only=False)


def session_table(n_sessions: int, rng) -> pd.DataFrame:
    s = np.arange(n_sessions)
    day = np.datetime64('2019-01-01') + (s // 200).astype('timedelta64[D]')
    return pd.DataFrame(
        {
            'id': uuids(rng, n_sessions),
            'lab': pd.Series(np.array([f'lab{i:02d}' for i in range(20)], dtype=object)[s % 20]),
            'subject': pd.Series(
                np.array([f'S{i:05d}' for i in range(n_sessions // 10 + 1)], dtype=object)[s // 10]
            ),
            'date': pd.Series(day.astype('datetime64[D]').astype(object)),
            'number': (s % 10 + 1).astype(np.int64),
            'task_protocol': '_iblrig_tasks_ephysChoiceWorld6.4.2',
            'projects': 'ibl_neuropixel_brainwide_01',
        }
    )


def make_release(folder: Path, n_sessions: int, seed: int = 0) -> dict:
    """Write ``folder/tables/{sessions,datasets}.pqt`` (as ONE writes them) and
    ``folder/served/.one_root`` (2 columns: path, URL) of ``n_sessions`` x 50 datasets;
    return {'sessions', 'datasets', 'subject': one subject, 'index_bytes'}."""
    import onelight

    rng = np.random.default_rng(seed)
    sessions = session_table(n_sessions, rng).sort_values('id', ignore_index=True)
    n = n_sessions * len(DATASETS)
    per = len(DATASETS)
    datasets = pd.DataFrame(
        {
            'eid': np.repeat(sessions['id'].to_numpy(object), per),
            'id': uuids(rng, n),
            'rel_path': pd.Categorical.from_codes(np.tile(np.arange(per), n_sessions), DATASETS),
            'file_size': rng.integers(1_000, 10**9, n, dtype=np.int64),
            'hash': None,
            'exists': True,
            'qc': pd.Categorical.from_codes(
                np.zeros(n, np.int8), onelight.QC_LEVELS, ordered=True
            ),
            'default_revision': np.tile(~np.isin(DATASETS, REPLACED), n_sessions),
        }
    )
    datasets['rel_path'] = datasets['rel_path'].astype(str)  # ONE writes plain text
    # sorted by id, as ONE writes them (ONE-api sorts unsorted tables when it opens them)
    datasets = datasets.sort_values(['eid', 'id'], ignore_index=True)
    tables = onelight.OneTables(sessions, datasets, date_created='2026-01-01 00:00')
    (folder / 'tables').mkdir(parents=True, exist_ok=True)
    for name, data in tables.files().items():
        (folder / 'tables' / name).write_bytes(data)
    served = folder / 'served'
    served.mkdir(parents=True, exist_ok=True)
    session_paths = tables.session_paths()
    with open(served / '.one_root', 'w') as f:
        for start in range(0, n_sessions, 10_000):
            block = sessions['id'].iloc[start : start + 10_000]
            lines = [
                f'{p}/{r}\t{BASE_URL}{p}/{r}\n'
                for p in session_paths.loc[block].tolist()
                for r in DATASETS
            ]
            f.write(''.join(lines))
    return {
        'sessions': n_sessions,
        'datasets': n,
        'subject': str(sessions['subject'].iloc[n_sessions // 2]),
        'index_bytes': (served / '.one_root').stat().st_size,
    }


if __name__ == '__main__':
    print(make_release(Path(sys.argv[1]), int(sys.argv[2])))


# ------------------------------------------------------------------ case 14 of bench/run.py
FIRST_SEARCH = """
import time, json
t0 = time.perf_counter()
{body}
print(json.dumps({{"t": time.perf_counter() - t0, "rss": peak_rss(), "n": len(found)}}))
"""
ONELIGHT_TABLES = """
import onelight
one = onelight.One(cache_dir={tables!r})
found = one.search(subject={subject!r}, dataset='spikes.times.npy', collection='alf')"""
ONELIGHT_HTTP = """
import onelight
one = onelight.One(base_url={url!r})
found = one.search(subject={subject!r}, dataset='spikes.times.npy', collection='alf')"""
ONELIGHT_DRY_RUN = """
import onelight
one = onelight.One(base_url={url!r})
found = one.download(one.search(subject={subject!r})[0], dry_run=True)"""
ONE_API_TABLES = """
import warnings
warnings.simplefilter('ignore')
from one.api import One
one = One(cache_dir={tables!r}, mode='local')
found = one.search(subject={subject!r}, datasets='spikes.times.npy')"""


def first_search(python, body: str, env: dict, peak_rss: str) -> dict:
    """Time (from the first statement, imports included) and peak memory of a new process
    that opens a release and searches it once; raises when it found no session."""
    import json
    import subprocess

    script = peak_rss + FIRST_SEARCH.format(body=body)
    out = subprocess.run([str(python), '-c', script], capture_output=True, text=True, env=env)
    if out.returncode:
        raise RuntimeError(out.stderr[-2000:])
    result = json.loads(out.stdout.strip().splitlines()[-1])
    if not result['n']:
        raise RuntimeError(f'the search found nothing: {body}')
    return result


def measure_sizes(tmp: Path, sizes: list, bench, with_one_api: bool) -> list:
    """Per release size (sessions of 50 datasets): onelight on ONE cache tables, on a
    2-column ``.one_root`` over HTTP (first process: download, parse, cache; second: the
    parsed copy; third: a download's dry run), and ONE-api on the same tables, each in a
    new process."""
    import shutil

    points = []
    for sessions in sizes:
        folder = tmp / f'scale-{sessions}'
        release = make_release(folder, sessions)
        home = tmp / f'scale-home-{sessions}'
        env = bench.user_env(home)
        tables, subject = str(folder / 'tables'), release['subject']
        point = {**release}
        point['tables'] = first_search(
            sys.executable,
            ONELIGHT_TABLES.format(tables=tables, subject=subject),
            env,
            bench.PEAK_RSS,
        )
        proc, url, _ = bench.start_server(folder / 'served', tmp, write=False)
        try:
            body = ONELIGHT_HTTP.format(url=url, subject=subject)
            point['http'] = first_search(sys.executable, body, env, bench.PEAK_RSS)
            point['warm'] = first_search(sys.executable, body, env, bench.PEAK_RSS)
            body = ONELIGHT_DRY_RUN.format(url=url, subject=subject)
            point['dry_run'] = first_search(sys.executable, body, env, bench.PEAK_RSS)
        finally:
            proc.terminate()
            proc.wait()
        if with_one_api:
            body = ONE_API_TABLES.format(tables=tables, subject=subject)
            point['one_api'] = first_search(bench.one_api_python(), body, env, bench.PEAK_RSS)
        points.append(point)
        shutil.rmtree(folder, ignore_errors=True)
        shutil.rmtree(home, ignore_errors=True)
    return points


def slope(points: list, what: str, key: str) -> float:
    """The cost added by each million datasets (least squares over the sizes)."""
    x = [p['datasets'] / 1e6 for p in points if what in p]
    y = [p[what][key] for p in points if what in p]
    return float(np.polyfit(x, y, 1)[0]) if len(x) > 1 else float('nan')


def plot(points: list, path: Path) -> bool:
    """First-search time and peak memory against release size, onelight and ONE-api on the
    same axes (a PNG); False when matplotlib is not installed (pip install '.[bench]')."""
    try:
        import matplotlib

        matplotlib.use('Agg')
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    lines = {
        'tables': 'onelight, ONE cache tables',
        'http': 'onelight, .one_root over HTTP (first process)',
        'warm': 'onelight, .one_root (later process: parsed copy)',
        'one_api': 'ONE-api 3.x, ONE cache tables',
    }
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    for what, label in lines.items():
        have = [p for p in points if what in p]
        if not have:
            continue
        x = [p['datasets'] / 1e6 for p in have]
        style = dict(marker='o', label=label, linestyle='--' if what == 'one_api' else '-')
        axes[0].plot(x, [p[what]['t'] for p in have], **style)
        axes[1].plot(x, [p[what]['rss'] / 2**20 for p in have], **style)
    for ax, unit in zip(axes, ('first search, new process (s)', 'peak memory (MiB)')):
        ax.set_xlabel('datasets in the release (millions)')
        ax.set_ylabel(unit)
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=8)
    fig.suptitle('Opening and searching a release, by size (bench/run.py case 14)')
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True
