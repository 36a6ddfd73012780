"""onelight benchmarks, each beside the reference users would otherwise reach for.

    python bench/run.py [--quick] [--with-one-api] [--only 4,9] [--against REV]

Builds its data in a temporary folder (ONELIGHT_HOME set there), runs every case several
times and prints a table of medians with the reference measured in the same run, as a ratio;
the table also goes to bench/RESULTS.md with the machine and the date. Not part of the tests.

--against REV runs the same cases first on the onelight.py of a git revision (an earlier
commit), in a child process, and adds a before/after table.

--with-one-api installs ONE-api into bench/.venv-one-api (never a dependency of onelight)
and measures its search and load_object on the same data.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
# --tree DIR: measure the onelight.py of another checkout (``--against`` runs one), in this
# process and in every process a case starts (PYTHONPATH)
TREE = Path(sys.argv[sys.argv.index('--tree') + 1]) if '--tree' in sys.argv else ROOT
os.environ['PYTHONPATH'] = os.pathsep.join(filter(None, [str(TREE), os.environ.get('PYTHONPATH')]))
sys.path.insert(0, str(ROOT / 'tests'))
sys.path.insert(0, str(TREE))

import numpy as np  # noqa: E402

import onelight  # noqa: E402

ONE_API_VENV = HERE / '.venv-one-api'
ROWS = []

# The peak memory of the process running a script, in bytes: VmHWM, which starts again at
# exec, where getrusage's ru_maxrss keeps the high-water mark of the process that started it
# (the benchmark's own, holding its data).
PEAK_RSS = """
def peak_rss():
    try:
        with open('/proc/self/status') as f:
            for line in f:
                if line.startswith('VmHWM:'):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    import resource, sys
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss if sys.platform == 'darwin' else rss * 1024
"""


# ----------------------------------------------------------------------------------- helpers
def timed(fn, repeat: int) -> float:
    """The median wall time of ``repeat`` calls of ``fn``."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def row(case, ours, reference, ratio, target, met, note=''):
    ROWS.append(
        dict(
            case=case,
            ours=ours,
            reference=reference,
            ratio=ratio,
            target=target,
            met='yes' if met else 'NO',
            note=note,
        )
    )
    print(
        f'  {case}: {ours} | ref {reference} | {ratio} | target {target}: '
        f'{"met" if met else "NOT MET"} {note}',
        flush=True,
    )


def run_quiet(cmd, **kwargs):
    return subprocess.run(
        cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=True, **kwargs
    )


def timed_interleaved(fns: dict, repeat: int) -> dict:
    """The median wall time of each of ``fns``, run in turn ``repeat`` times (interleaved, so
    a machine that slows down for a while slows every contender alike)."""
    times = {name: [] for name in fns}
    for _ in range(repeat):
        for name, fn in fns.items():
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(t) for name, t in times.items()}


def user_env(home: Path) -> dict:
    """The environment of a user's fresh process: its own ONELIGHT_HOME, and byte-code
    caching on (an installed package has its .pyc; without it every start compiles the
    module again)."""
    env = {k: v for k, v in os.environ.items() if k != 'PYTHONDONTWRITEBYTECODE'}
    return {**env, 'ONELIGHT_HOME': str(home)}


def fresh_download(url: str, session: str, home: Path, dest: Path, **settings):
    """A function running what a user runs: a new Python process that downloads ``session``
    from the http repository at ``url`` into ``dest`` (emptied first), md5 checks included."""
    template = str(dest / '{lab}' / '{subject}' / '{date}' / '{number}')
    script = (
        f'import onelight; onelight.One(base_url={url!r}, progress=False, '
        f'download_dir={template!r}, **{settings!r}).download({session!r})'
    )

    def run():
        shutil.rmtree(dest, ignore_errors=True)
        subprocess.run([sys.executable, '-c', script], env=user_env(home), check=True)

    return run


def check_copies(root: Path, rels: list, dest: Path, template: bool = True) -> None:
    """Stop the benchmark unless every file of ``rels`` arrived under ``dest`` with the md5
    of its source under ``root`` (``template``: laid out by fresh_download's download_dir)."""
    for rel in rels:
        lab, _, subject, date, number, rest = rel.split('/', 5)
        got = dest / lab / subject / date / number / rest if template else dest / rel
        if onelight.md5sum(got) != onelight.md5sum(root / rel):
            raise SystemExit(f'benchmark: {got} differs from its source')


def curl_parallel(url: str, rels: list, dest: Path, tmp: Path, connections: int = 8):
    """A function running one ``curl --parallel`` process that fetches ``rels`` into
    ``dest`` (emptied first) over up to ``connections`` connections."""
    config = tmp / f'curl-{dest.name}.cfg'
    config.write_text(''.join(f'url = "{url}{r}"\noutput = "{dest / r}"\n' for r in rels))

    def run():
        shutil.rmtree(dest, ignore_errors=True)
        cmd = ['curl', '-s', '-f', '--create-dirs', '--parallel', '--parallel-max']
        run_quiet([*cmd, str(connections), '-K', str(config)])

    return run


def scratch_folder(tmp: Path) -> Path:
    """Where the small-file cases write: tmpfs when there is one. Creating a file on this
    kind of virtual disk costs from 10 to 500 us depending on the moment, which would measure
    the disk, not the tools; both contenders write to the same place."""
    shm = Path('/dev/shm')
    if shm.is_dir() and os.access(shm, os.W_OK):
        return Path(tempfile.mkdtemp(prefix='onelight-bench-', dir=shm))
    return tmp


def make_tree(root: Path, sessions: int, per_session: int) -> None:
    """``sessions`` sessions of ``per_session`` empty ALF files each."""
    names = [f'alf/obj{i // 10}.attr{i % 10}.npy' for i in range(per_session)]
    for s in range(sessions):
        folder = (
            root
            / f'lab{s % 5}'
            / 'Subjects'
            / f'subj{s % 400:03d}'
            / (f'20{10 + s % 12}-{1 + s % 12:02d}-{1 + s % 28:02d}')
            / f'{1 + s // 4000:03d}'
        )
        (folder / 'alf').mkdir(parents=True, exist_ok=True)
        for name in names:
            (folder / name).touch()


# the 50 datasets of a lab's session, in the big index and the lab tree
LAB_DATASETS = [
    f'alf/{o}.{a}.npy'
    for o in ('spikes', 'clusters', 'trials', 'wheel', 'eye')
    for a in (
        'times',
        'amps',
        'depths',
        'intervals',
        'feedbackType',
        'goCue_times',
        'position',
        'timestamps',
        'area',
        'probes',
    )
]


def make_big_index(path: Path, lines: int) -> None:
    """A 2-column .one_root of ``lines`` lines shaped like a lab's (50 datasets a session)."""
    names = LAB_DATASETS
    with open(path, 'w') as f:
        n = 0
        for s in range(lines // len(names)):
            session = (
                f'lab{s % 10}/Subjects/subj{s % 500:03d}/20{10 + s % 12:02d}-'
                f'{1 + s % 12:02d}-{1 + s % 28:02d}/{1 + s // 6000:03d}'
            )
            for name in names:
                f.write(f'{session}/{name}\thttps://data.example.org/files/{n}\n')
                n += 1


NGINX_CONF = """worker_processes 1;
daemon off;
{user}
pid {tmp}/nginx.pid;
error_log {tmp}/nginx-error.log;
events {{ worker_connections 256; }}
http {{
    access_log off;
    sendfile on;
    tcp_nodelay on;
    keepalive_requests 100000;
    client_body_temp_path {tmp}/nginx-body;
    proxy_temp_path {tmp}/nginx-proxy;
    fastcgi_temp_path {tmp}/nginx-fastcgi;
    uwsgi_temp_path {tmp}/nginx-uwsgi;
    scgi_temp_path {tmp}/nginx-scgi;
    server {{ listen 127.0.0.1:{port}; root {root}; {extra} }}
}}
"""


def start_server(root: Path, tmp: Path, limit_rate: str = '', write: bool = True):
    """nginx when it is installed (the reference server of the targets), else ``onelight
    serve``, in its own process; return (process, url, server name). ``limit_rate`` caps
    each connection (nginx only), as CDNs and object stores do."""
    import requests

    if write:
        onelight.write_index(root)
    nginx = shutil.which('nginx') or shutil.which('nginx', path='/usr/sbin')
    if nginx:
        import socket

        with socket.socket() as s:
            s.bind(('127.0.0.1', 0))
            port = s.getsockname()[1]
        conf = tmp / 'nginx.conf'
        user = 'user root;' if os.geteuid() == 0 else ''
        extra = f'limit_rate {limit_rate};' if limit_rate else ''
        conf.write_text(NGINX_CONF.format(user=user, tmp=tmp, port=port, root=root, extra=extra))
        proc = subprocess.Popen([nginx, '-c', str(conf)], stderr=subprocess.DEVNULL)
        url, name = f'http://127.0.0.1:{port}/', 'nginx'
    else:
        proc = subprocess.Popen(
            [sys.executable, str(ROOT / 'onelight.py'), '-q', 'serve', str(root), '--port', '0'],
            stdout=subprocess.PIPE,
            text=True,
        )
        url, name = proc.stdout.readline().split(' at ')[1].strip(), 'onelight serve'
    for _ in range(100):
        try:
            requests.get(url + '.one_root', timeout=1)  # any answer: the server is up
            break
        except requests.RequestException:
            time.sleep(0.05)
    return proc, url, name


def one_api_python() -> Path:
    python = ONE_API_VENV / 'bin' / 'python'
    if not python.exists():
        print('installing ONE-api into', ONE_API_VENV, flush=True)
        run_quiet([sys.executable, '-m', 'venv', str(ONE_API_VENV)])
        run_quiet([str(python), '-m', 'pip', 'install', '-q', 'ONE-api==3.6.1'])
    return python


def in_one_api(script: str) -> dict:
    """Run a Python script in the ONE-api venv; it prints one JSON line."""
    out = subprocess.run(
        [str(one_api_python()), '-c', script], capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


# ------------------------------------------------------------------------------------- cases
def bench_scan(tmp: Path, quick: bool, with_one_api: bool):
    sessions = 2000
    print(f'1. scan and index {sessions * 50} files', flush=True)
    root = tmp / 'tree'
    make_tree(root, sessions, 50)
    repeat = 3 if quick else 5
    ours = timed(lambda: onelight.scan(root), repeat)
    find = timed(lambda: run_quiet(['find', str(root), '-type', 'f']), repeat)
    row(
        'scan 100,000 files',
        f'{ours:.3f} s',
        f'find {find:.3f} s',
        f'{ours / find:.1f}x find',
        '<= 3x find',
        ours <= 3 * find,
    )
    index = timed(lambda: onelight.write_index(root), repeat)
    row(
        'onelight index of 100,000 files',
        f'{index:.3f} s',
        f'find {find:.3f} s',
        f'{index / find:.1f}x find',
        '<= 1 s',
        index <= 1.0,
    )
    return root


def bench_index(tmp: Path, quick: bool):
    print('2. read a 1,000,000-line .one_root, cold', flush=True)
    path = tmp / 'big-index' / '.one_root'  # a folder of its own: case 3 serves it
    path.parent.mkdir()
    make_big_index(path, 1_000_000)
    script = PEAK_RSS + (
        'import json, sys, time; t = time.perf_counter(); '
        f'sys.path.insert(0, {str(ROOT)!r}); import onelight; t1 = time.perf_counter(); '
        f'index = onelight.Index.from_file({str(path)!r}); t2 = time.perf_counter(); '
        'print(json.dumps({"import": t1 - t, "read": t2 - t1, "n": len(index), '
        '"rss": peak_rss() / 2**20}))'
    )
    runs = [
        json.loads(
            subprocess.run(
                [sys.executable, '-c', script], capture_output=True, text=True, check=True
            ).stdout
        )
        for _ in range(3 if quick else 5)
    ]
    read = statistics.median(r['read'] for r in runs)
    rss = statistics.median(r['rss'] for r in runs)
    imports = statistics.median(r['import'] for r in runs)
    wc = timed(lambda: run_quiet(['wc', '-l', str(path)]), 3)
    row(
        'read 1M-line index, cold (new process)',
        f'{read:.2f} s (+{imports:.2f} s imports)',
        f'wc -l {wc:.3f} s',
        f'{read / wc:.0f}x wc',
        '<= 2 s',
        read <= 2.0,
    )
    row('peak RSS of that process', f'{rss:.0f} MB', '-', '-', '<= 500 MB', rss <= 500)
    return path


def bench_search(index_path: Path, tree: Path, tmp: Path, quick: bool, with_one_api: bool):
    print('3. search, warm', flush=True)
    proc, url, _ = start_server(index_path.parent, tmp, write=False)
    try:
        one = onelight.One(base_url=url)
        one.search()  # the index read once, as a notebook's first call does
    finally:
        proc.terminate()
        proc.wait()
    n = 20 if quick else 50
    terms = timed(lambda: one.search(['spikes.times', 'trials'], subject='subj001'), n)
    dates = timed(lambda: one.search(date_range=['2015-01-01', '2015-06-30']), n)
    row(
        'search 1M-line index: 2 datasets + subject',
        f'{terms * 1000:.1f} ms',
        '-',
        '-',
        '<= 50 ms',
        terms <= 0.05,
    )
    row(
        'search 1M-line index: date_range',
        f'{dates * 1000:.1f} ms',
        '-',
        '-',
        '<= 50 ms',
        dates <= 0.05,
    )
    if not with_one_api:
        return
    bench_lab_search(tmp, quick)
    local = onelight.One(root_dir=tree)
    ours = timed(lambda: local.search(['obj0.attr0', 'obj1.attr1'], subject='subj001'), n)
    script = f"""
import json, statistics, time
from one.alf.cache import make_parquet_db
from one.api import One
root = {str(tree)!r}
t = time.perf_counter(); make_parquet_db(root, hash_ids=False); build = time.perf_counter() - t
one = One(cache_dir=root, mode='local')
times = []
for _ in range(3):
    t = time.perf_counter()
    found = one.search(datasets=['obj0.attr0.npy', 'obj1.attr1.npy'], subject='subj001')
    times.append(time.perf_counter() - t)
print(json.dumps({{"build": build, "search": statistics.median(times), "n": len(found)}}))
"""
    theirs = in_one_api(script)
    ratio = theirs['search'] / ours
    row(
        'search 100k-file tree vs ONE-api 3.x (local)',
        f'{ours * 1000:.1f} ms',
        f'ONE-api {theirs["search"] * 1000:.0f} ms (+{theirs["build"]:.1f} s cache build)',
        f'{ratio:.0f}x faster',
        '>= 100x faster',
        ratio >= 100,
    )


def make_lab_tree(root: Path, sessions: int = 500) -> int:
    """A lab's local tree: ``sessions`` sessions of 53 empty files, 50 datasets every
    session has and 3 named for their session (as raw task data and QC files are), so that
    it holds about 1,050 distinct file names. Returns the number of files."""
    common = LAB_DATASETS
    n = 0
    for s in range(sessions):
        folder = root / f'lab{s % 5}/Subjects/subj{s % 80:03d}/2020-{1 + s % 12:02d}-01/{s:03d}'
        names = [
            *common,
            f'raw_behavior_data/_iblrig_taskData.raw.s{s}.jsonable',
            f'raw_behavior_data/_iblrig_taskSettings.raw.s{s}.json',
            'alf/_ibl_log.info.txt',
        ]
        for name in names:
            (folder / name).parent.mkdir(parents=True, exist_ok=True)
            (folder / name).touch()
            n += 1
    return n


QUERY_OURS = (
    PEAK_RSS
    + """
import json, statistics, sys, time
import onelight
one = onelight.One(root_dir=sys.argv[1])
one.search(datasets='spikes.times.npy')  # warm: the tree read once
times = []
for _ in range(50):
    t = time.perf_counter(); found = one.search(datasets='spikes.times.npy')
    times.append(time.perf_counter() - t)
print(json.dumps({"search": statistics.median(times), "rss": peak_rss(), "n": len(found)}))
"""
)

QUERY_ONE_API = (
    PEAK_RSS
    + """
import json, statistics, sys, time
from one.api import One
one = One(cache_dir=sys.argv[1], mode='local')
one.search(datasets='spikes.times.npy')
times = []
for _ in range(10):
    t = time.perf_counter(); found = one.search(datasets='spikes.times.npy')
    times.append(time.perf_counter() - t)
print(json.dumps({"search": statistics.median(times), "rss": peak_rss(), "n": len(found)}))
"""
)


def bench_lab_search(tmp: Path, quick: bool):
    """Warm dataset search and the peak memory of the process that runs it, onelight and
    ONE-api (local mode, its cache tables built first) on the same 500-session tree."""
    root = tmp / 'lab-tree'
    files = make_lab_tree(root, 200 if quick else 500)
    subprocess.run(
        [
            str(one_api_python()),
            '-c',
            'from one.alf.cache import make_parquet_db; '
            f'make_parquet_db({str(root)!r}, hash_ids=False)',
        ],
        check=True,
        capture_output=True,
    )

    def query(python, script):
        out = subprocess.run(
            [str(python), '-c', script, str(root)], capture_output=True, text=True, check=True
        )
        return json.loads(out.stdout.strip().splitlines()[-1])

    ours = query(sys.executable, QUERY_OURS)
    theirs = query(one_api_python(), QUERY_ONE_API)
    if ours['n'] != theirs['n']:
        raise SystemExit(f'benchmark: {ours["n"]} sessions found, ONE-api {theirs["n"]}')
    ratio = ours['search'] / theirs['search']
    row(
        f"warm search(datasets='spikes.times.npy'), {files:,}-file tree of "
        f'{len(list(root.glob("*/Subjects/*/*/*")))} sessions vs ONE-api (local)',
        f'{ours["search"] * 1000:.2f} ms',
        f'ONE-api {theirs["search"] * 1000:.0f} ms',
        f'{ratio:.4f}x ONE-api',
        '<= 0.003x ONE-api',
        ratio <= 0.003,
    )
    ratio = ours['rss'] / theirs['rss']
    row(
        '  ... peak RSS of that query process',
        f'{ours["rss"] / 1e6:.0f} MB',
        f'ONE-api {theirs["rss"] / 1e6:.0f} MB',
        f'{ratio:.2f}x ONE-api',
        '<= 0.35x ONE-api',
        ratio <= 0.35,
    )


def bench_tables(tmp: Path, tree: Path, index_path: Path, quick: bool, with_one_api: bool):
    print('7. ONE cache tables: write for 100,000 files, read 1,000,000 datasets', flush=True)
    repeat = 3 if quick else 5
    plain = timed(lambda: onelight.write_index(tree), repeat)
    tables = timed(lambda: onelight.write_index(tree, one_cache=True), repeat)
    reference, ratio, met = f'onelight index without tables {plain:.3f} s', '-', tables <= 1.0
    target = '<= 1 s (about the time of index)'
    if with_one_api:
        script = f"""
import json, time, warnings
warnings.simplefilter('ignore')
from one.alf.cache import make_parquet_db
t = time.perf_counter(); make_parquet_db({str(tree)!r}, hash_ids=True, hash_files=False)
print(json.dumps({{"build": time.perf_counter() - t}}))
"""
        theirs = in_one_api(script)['build']
        reference += f'; ONE-api make_parquet_db {theirs:.1f} s'
        ratio = f'{theirs / tables:.1f}x faster than ONE-api'
        # files' md5s off for both; ids hashed from paths by both (ONE-api's hash_ids)
        target, met = (
            '>= 15x faster than ONE-api (file hashes off for both)',
            theirs / tables >= 15,
        )
        onelight.write_index(tree, one_cache=True)  # ONE-api's tables replaced by ours again
    row(
        'index --one-cache of 100,000 files',
        f'{tables:.3f} s',
        reference,
        ratio,
        target,
        met,
    )
    big = tmp / 'one-release'
    big.mkdir()
    index = onelight.Index.from_file(index_path)
    onelight.write_one_tables(big, index, None)
    n = len(index)
    del index
    read = timed(lambda: onelight.read_local_tables(big, 'bench'), repeat)
    built = timed(
        lambda: onelight.Index.from_bytes(
            onelight.read_local_tables(big, 'bench').index_lines(), base_url='https://x/'
        ),
        3,
    )
    row(
        f'read ONE cache tables of {n:,} datasets',
        f'{read:.2f} s',
        f'(and build the index from them: {built:.2f} s)',
        '-',
        '< 1 s',
        read < 1.0,
    )
    what = f'a release of tables only ({n:,} datasets)'
    cold_searches(big, tmp, tmp / 'release-home', quick, what, 'built anew')


def bench_download(tmp: Path, quick: bool):
    print('4. many small files over loopback HTTP', flush=True)
    root = tmp / 'served'
    small = 'lab/Subjects/small/2020-01-01/001'
    mid_session = root / 'lab/Subjects/mid/2020-01-01/001'
    n_small = 500 if quick else 2000
    rels = make_small_files(root, n_small, small)
    (mid_session / 'alf').mkdir(parents=True)
    mid_mb = 2 if quick else 20  # the original loop moves well under 1 MB/s
    (mid_session / 'alf' / 'spikes.times.npy').write_bytes(
        np.random.default_rng(2).bytes(mid_mb << 20)
    )
    proc, url, server = start_server(root, tmp)
    print(f'   server: {server}', flush=True)
    scratch = scratch_folder(tmp)
    try:
        onelight.write_index(root, base_url=url)  # two columns, as the original client reads
        t = timed_interleaved(
            {
                'ours': fresh_download(url, small, tmp / 'dl-home', scratch / 'ol'),
                'curl': curl_parallel(url, rels, scratch / 'curl', tmp),
            },
            3,
        )
        check_copies(root, rels, scratch / 'ol')
        check_copies(root, rels, scratch / 'curl', template=False)
        ratio = t['curl'] / t['ours']
        row(
            f'{n_small} files of 20 KB from {server} on loopback (fresh process, md5 checked)',
            f'{n_small / t["ours"]:.0f} files/s',
            f'one curl --parallel --parallel-max 8: {n_small / t["curl"]:.0f} files/s',
            f'{ratio:.2f}x curl',
            '>= 0.7x curl --parallel',
            ratio >= 0.7,
        )
        # what a new process costs before its first file: start-up, imports, the index read
        template = str(scratch / 'none' / '{lab}' / '{subject}' / '{date}' / '{number}')
        script = (
            f'import onelight; onelight.One(base_url={url!r}, progress=False, '
            f'download_dir={template!r}).list_datasets({small!r})'
        )
        home = tmp / 'dl-home'
        t_fixed = timed(
            lambda: subprocess.run([sys.executable, '-c', script], env=user_env(home), check=True),
            3,
        )
        per_file = (t['ours'] - t_fixed) / n_small
        row(
            '  ... of which a new process before its first file (start-up, imports, index)',
            f'{t_fixed:.2f} s of {t["ours"]:.2f} s; then {1 / per_file:.0f} files/s',
            f'curl: {t["curl"]:.2f} s in all',
            f'{t["curl"] / (t["ours"] - t_fixed):.2f}x curl without it',
            '-',
            True,
        )
        _original_loop(url, tmp, mid_mb)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
        proc.terminate()
        proc.wait()


def _original_loop(url, tmp, mid_mb):
    mid = 'lab/Subjects/mid/2020-01-01/001'
    t_mid = timed(fresh_download(url, mid, tmp / 'dl-home', tmp / 'mid'), 3)

    def original_loop():
        import requests

        resp = requests.get(f'{url}{mid}/alf/spikes.times.npy', stream=True, timeout=600)
        with open(tmp / 'orig.bin', 'wb') as f:
            for chunk in resp.iter_content():  # the original ONE light: 1 byte at a time
                f.write(chunk)

    t_orig = timed(original_loop, 1)
    mb = mid_mb * 1.048576
    row(
        f'{mid_mb} MB file vs the original ONE light loop',
        f'{mb / t_mid:.0f} MB/s',
        f'iter_content() {mb / t_orig:.2f} MB/s',
        f'{t_orig / t_mid:.0f}x',
        '-',
        True,
    )


def bench_latency(tmp: Path, quick: bool, with_one_api: bool):
    print('10. many small files from a server 20 ms and 100 ms away', flush=True)
    root = tmp / 'far'
    session = 'lab/Subjects/m1/2020-01-01/001'
    n = 500 if quick else 2000
    rels = make_small_files(root, n, session)
    for delay in (0.02, 0.1):
        _latency_case(tmp, root, session, rels, delay, quick, with_one_api and delay == 0.02)


def _latency_case(tmp, root, session, rels, delay, quick, with_one_api):
    n, ms = len(rels), f'{delay * 1000:.0f} ms'
    proc = subprocess.Popen(
        [sys.executable, str(HERE / 'delay_server.py'), str(root), '--delay', str(delay)],
        stdout=subprocess.PIPE,
        text=True,
    )
    url = proc.stdout.readline().split(' at ')[1].strip()
    onelight.write_index(root, base_url=url)  # two columns, as the original client reads
    scratch = scratch_folder(tmp)
    home = tmp / 'far-home'
    try:
        contenders = {
            'default': fresh_download(url, session, home, scratch / 'ol'),
            'curl': curl_parallel(url, rels, scratch / 'curl', tmp),
        }
        for jobs in (8, 64):
            contenders[jobs] = fresh_download(url, session, home, scratch / 'ol', jobs=jobs)
        t = timed_interleaved(contenders, 1 if quick or delay > 0.05 else 3)
        check_copies(root, rels, scratch / 'ol')
        reference = f'curl --parallel --parallel-max 8: {n / t["curl"]:.0f} files/s'
        ratio, target = f'{t["curl"] / t["default"]:.2f}x curl', '>= 2x curl --parallel'
        met = t['curl'] / t['default'] >= 2
        if with_one_api:
            theirs = in_one_api(
                'import json, os, time\n'
                'from one.webclient import http_download_file_list\n'
                f'urls = [{url!r} + r for r in {rels!r}]\n'
                f'os.makedirs({str(scratch / "one")!r}, exist_ok=True)\n'
                't = time.perf_counter()\n'
                f'http_download_file_list(urls, target_dir={str(scratch / "one")!r}, '
                'silent=True)\n'
                'print(json.dumps({"seconds": time.perf_counter() - t}))\n'
            )['seconds']
            reference += f'; ONE-api http_download_file_list {n / theirs:.0f} files/s'
            ratio += f', {theirs / t["default"]:.1f}x ONE-api'
            target += ', >= 3x ONE-api'
            met = met and theirs / t['default'] >= 3
        row(
            f'{n} files of 20 KB, {ms} before each response (default: 32 at once)',
            f'{n / t["default"]:.0f} files/s',
            reference,
            ratio,
            target if delay == 0.02 else '-',
            met or delay != 0.02,
        )
        for jobs in (8, 64):
            row(
                f'  ... the same with -j {jobs}',
                f'{n / t[jobs]:.0f} files/s',
                f'curl --parallel --parallel-max 8: {n / t["curl"]:.0f} files/s',
                f'{t["curl"] / t[jobs]:.2f}x curl',
                '(what chose the default)',
                True,
            )
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
        proc.terminate()
        proc.wait()


def bench_http_library(tmp: Path, quick: bool):
    """Why urllib3's public API and not requests.Session: the same per-file loop (GET,
    md5, write, rename) on each, in one process, against nginx on loopback."""
    print('13. the HTTP library: requests.Session against urllib3.PoolManager', flush=True)
    import hashlib
    import threading
    from concurrent.futures import ThreadPoolExecutor

    import requests
    import urllib3

    root = tmp / 'lib'
    n = 500 if quick else 2000
    rels = make_small_files(root, n)
    proc, url, server = start_server(root, tmp)
    scratch = scratch_folder(tmp)
    local = threading.local()
    pools = urllib3.PoolManager(maxsize=32)

    def save(rel, chunks):
        digest, out = hashlib.md5(), scratch / rel.replace('/', '_')
        part = out.with_name(out.name + '.part')
        with open(part, 'wb') as f:
            for chunk in chunks:
                digest.update(chunk)
                f.write(chunk)
        os.replace(part, out)

    def with_requests(rel):
        if getattr(local, 'session', None) is None:
            local.session = requests.Session()
        with local.session.get(url + rel, stream=True) as resp:
            resp.raise_for_status()
            save(rel, resp.iter_content(1 << 20))

    def with_urllib3(rel):
        resp = pools.request('GET', url + rel, preload_content=False, decode_content=False)
        if resp.status != 200:
            raise SystemExit(f'benchmark: {resp.status} for {rel}')
        save(rel, resp.stream(1 << 20))
        resp.release_conn()

    def loop(fn, jobs):
        def run():
            with ThreadPoolExecutor(jobs) as pool:
                list(pool.map(fn, rels))

        return run

    try:
        for jobs in (1, 32):
            t = timed_interleaved(
                {'requests': loop(with_requests, jobs), 'urllib3': loop(with_urllib3, jobs)},
                3,
            )
            row(
                f'{n} files of 20 KB from {server}, {jobs} at once, in one process: '
                'requests.Session, same loop on urllib3.PoolManager',
                f'{n / t["requests"]:.0f} files/s',
                f'urllib3 {n / t["urllib3"]:.0f} files/s',
                f'requests costs {1 - t["urllib3"] / t["requests"]:.0%} of the throughput',
                '> 20%: urllib3',
                True,
            )
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
        proc.terminate()
        proc.wait()


def bench_load(tmp: Path, quick: bool, with_one_api: bool):
    print('5. load_object of a Steinmetz-sized session', flush=True)
    root = tmp / 'steinmetz'
    session = 'nicklab/Subjects/Cori/2016-12-14/001'
    alf = root / session / 'alf'
    alf.mkdir(parents=True)
    n = 2_000_000 if quick else 10_000_000
    rng = np.random.default_rng(3)
    np.save(alf / 'spikes.times.npy', np.sort(rng.uniform(0, 3000, n)).reshape(-1, 1))
    np.save(alf / 'spikes.clusters.npy', rng.integers(0, 1000, n).reshape(-1, 1))
    np.save(alf / 'spikes.amps.npy', rng.gamma(2, 5e-5, n).reshape(-1, 1))
    np.save(alf / 'spikes.depths.npy', rng.uniform(0, 3820, n).astype(np.float32).reshape(-1, 1))
    for attr in ('goCue_times', 'feedback_times', 'response_times', 'feedbackType'):
        np.save(alf / f'trials.{attr}.npy', rng.uniform(0, 3000, 214).reshape(-1, 1))
    np.save(alf / 'trials.intervals.npy', rng.uniform(0, 3000, (214, 2)))
    one = onelight.One(root_dir=root)
    one.index  # noqa: B018 - built once, like a client that already searched
    repeat = 5
    t_lazy = timed(lambda: one.load_object(session, 'spikes'), repeat)
    t_read = timed(
        lambda: [np.asarray(v).sum() for v in one.load_object(session, 'spikes').values()], repeat
    )
    if not with_one_api:
        row(
            f'load_object spikes ({n:,} spikes)',
            f'{t_lazy * 1000:.1f} ms',
            f'(reading every value {t_read * 1000:.0f} ms)',
            '-',
            '-',
            True,
        )
        return
    script = f"""
import json, statistics, time
import numpy as np
from one.alf.io import load_object
folder = {str(alf)!r}
times, full = [], []
for _ in range({repeat}):
    t = time.perf_counter()
    load_object(folder, 'spikes')
    times.append(time.perf_counter() - t)
    t = time.perf_counter(); [np.asarray(v).sum() for v in load_object(folder, 'spikes').values()]
    full.append(time.perf_counter() - t)
b = load_object(folder, 'spikes')
np.savez({str(tmp / 'one_api_spikes.npz')!r}, **{{k: np.asarray(v) for k, v in b.items()}})
print(json.dumps({{"load": statistics.median(times), "read": statistics.median(full)}}))
"""
    theirs = in_one_api(script)
    reference = np.load(tmp / 'one_api_spikes.npz')
    ours_bunch = one.load_object(session, 'spikes')
    same = set(reference.files) == set(ours_bunch) and all(
        np.array_equal(reference[k], ours_bunch[k]) and reference[k].shape == ours_bunch[k].shape
        for k in reference.files
    )
    row(
        'load_object: same keys, shapes and values as ONE-api',
        'yes' if same else 'NO',
        'one.alf.io.load_object',
        '-',
        'identical',
        same,
    )
    row(
        f'load_object spikes ({n:,} spikes) vs one.alf.io.load_object',
        f'{t_lazy * 1000:.1f} ms (memory-mapped)',
        f'ONE-api {theirs["load"] * 1000:.0f} ms',
        f'{t_lazy / theirs["load"]:.3f}x',
        '<= 1.2x ONE-api',
        t_lazy <= 1.2 * theirs['load'],
    )
    row(
        '  ... and reading every value',
        f'{t_read * 1000:.0f} ms',
        f'ONE-api {theirs["read"] * 1000:.0f} ms',
        f'{t_read / theirs["read"]:.2f}x',
        '<= 1.2x ONE-api',
        t_read <= 1.2 * theirs['read'],
    )
    # a small object: the index lookup is part of what a user waits for
    t_trials = timed(lambda: one.load_object(session, 'trials'), 200)
    script = f"""
import json, statistics, time
from one.alf.io import load_object
times = []
for _ in range(200):
    t = time.perf_counter()
    load_object({str(alf)!r}, 'trials')
    times.append(time.perf_counter() - t)
print(json.dumps({{"load": statistics.median(times)}}))
"""
    trials = in_one_api(script)['load']
    row(
        'load_object trials (5 attributes) vs one.alf.io.load_object, index lookup included',
        f'{t_trials * 1000:.2f} ms',
        f'ONE-api {trials * 1000:.2f} ms',
        f'{t_trials / trials:.2f}x',
        '<= 1.2x ONE-api',
        t_trials <= 1.2 * trials,
    )


def bench_segments(tmp: Path, quick: bool):
    print('9. one large file over connections capped at 25 MB/s each, and uncapped', flush=True)
    if not shutil.which('nginx', path=os.environ['PATH'] + ':/usr/sbin'):
        print('   (needs nginx: apt-get install nginx-light)')
        return
    root = tmp / 'seg'
    session = 'lab/Subjects/m1/2020-01-01/001'
    rel = f'{session}/raw/raw.data.bin'
    (root / rel).parent.mkdir(parents=True)
    size = (256 if quick else 1024) << 20
    with open(root / rel, 'wb') as f:
        for _ in range(size >> 24):
            f.write(os.urandom(1 << 24))
    aria2 = shutil.which('aria2c')
    for cap in ('25m', ''):
        proc, url, _ = start_server(root, tmp, limit_rate=cap)
        try:
            # two columns, as the original client reads: sizes come from the server
            onelight.write_index(root, base_url=url)
            home = tmp / f'seg-home-{cap or "free"}'
            ours = fresh_download(url, session, home, home / 'dl')
            t_ours = timed(ours, 1 if cap else 3)
            check_copies(root, [rel], home / 'dl')
            source = url + rel
            t_curl = timed(
                lambda source=source: run_quiet(['curl', '-s', '-o', str(tmp / 'c.bin'), source]),
                1 if cap else 3,
            )
            reference = f'curl {size / 1e6 / t_curl:.0f} MB/s'
            ratio = f'{t_curl / t_ours:.2f}x curl'
            if aria2 and cap:
                t_aria = timed(
                    lambda source=source: run_quiet(
                        [
                            aria2,
                            '-q',
                            '-x',
                            '8',
                            '-s',
                            '8',
                            '--allow-overwrite=true',
                            '--file-allocation=none',
                            '-d',
                            str(tmp),
                            '-o',
                            'a.bin',
                            source,
                        ]
                    ),
                    1,
                )
                reference += f'; aria2c -x 8 -s 8 {size / 1e6 / t_aria:.0f} MB/s'
                ratio += f', {t_aria / t_ours:.2f}x aria2'
        finally:
            proc.terminate()
            proc.wait()
        label = 'capped at 25 MB/s a connection' if cap else 'uncapped, loopback'
        row(
            f'one {size >> 20} MiB file from nginx, {label} (fresh process, md5 checked)',
            f'{size / 1e6 / t_ours:.0f} MB/s',
            reference,
            ratio,
            '>= 4x curl and >= 0.9x aria2' if cap else '>= 0.8x curl',
            (t_curl / t_ours >= 4 and (not aria2 or t_aria / t_ours >= 0.9))
            if cap
            else t_curl / t_ours >= 0.8,
        )


def onelight_command() -> list:
    """The installed ``onelight`` command (as a user runs it), else ``python -m onelight``."""
    script = Path(sys.executable).with_name('onelight')
    return [str(script)] if script.exists() else [sys.executable, '-m', 'onelight']


def cold_searches(root, tmp, home, quick: bool, what: str, anew: str):
    """Rows for a cold ``onelight search`` (new process) of ``what``, the repository served
    from ``root``, with its parsed copy and without (deleted first: ``anew`` says what
    happens then), against ``python -c 'import pandas'``."""
    env, cmd = user_env(home), onelight_command()
    proc, url, server = start_server(root, tmp, write=False)
    try:
        run_quiet([*cmd, 'add_repo', 'r', '--type', 'http', '--base-url', url], env=env)
        search = [*cmd, 'search', '--subject', 'subj001']
        run_quiet(search, env=env)  # the index fetched and cached, its parsed copy written
        parsed = next((home / 'cache' / 'index').glob('*.parsed.arrow'))

        def without_copy():
            parsed.unlink()
            run_quiet(search, env=env)

        t = timed_interleaved(
            {
                'pandas': lambda: run_quiet([sys.executable, '-c', 'import pandas'], env=env),
                'with': lambda: run_quiet(search, env=env),
                'without': without_copy,
            },
            3 if quick else 7,
        )
    finally:
        proc.terminate()
        proc.wait()
    cold = f'cold onelight search of {what} from {server}, parsed copy'
    rows_against(
        t,
        'pandas',
        {'with': f'{cold} with', 'without': f'{cold} without ({anew})'},
        f"python -c 'import pandas' {t['pandas']:.2f} s",
        lambda seconds: f'{seconds:.2f} s',
        targeted='with',
    )


def rows_against(times, reference, cases: dict, reference_text, shown, targeted, most=1.5):
    """A row for each of ``cases`` (name: label) timed against ``times[reference]``; the
    ``targeted`` one must take at most ``most`` times as long."""
    for name, label in cases.items():
        ratio = times[name] / times[reference]
        target = f'<= {most}x' if name == targeted else '-'
        row(
            label,
            shown(times[name]),
            reference_text,
            f'{ratio:.2f}x',
            target,
            ratio <= most or name != targeted,
        )


def bench_startup(tmp: Path, quick: bool):
    print('11. start-up, and a cold search of a 1,000,000-line index', flush=True)
    home = tmp / 'startup-home'
    env = user_env(home)
    mini = tmp / 'miniclick.py'
    mini.write_text(
        'import click\n\n\n@click.group()\n@click.version_option("1.0")\ndef main():\n'
        '    pass\n\n\nmain()\n'
    )
    onelight_cmd = onelight_command()
    for warm in ([sys.executable, str(mini), '--version'], [*onelight_cmd, '--version']):
        run_quiet(warm, env=env)  # byte code written once, as an install does
    repeat = 7 if quick else 21
    contenders = {'click': lambda: run_quiet([sys.executable, str(mini), '--version'], env=env)}
    commands = {'--version': ['--version'], '--help': ['--help'], 'repo': ['repo']}
    commands['config'] = ['config']
    for name, args in commands.items():
        contenders[name] = lambda args=args: run_quiet([*onelight_cmd, *args], env=env)
    t = timed_interleaved(contenders, repeat)
    rows_against(
        t,
        'click',
        {name: f'onelight {name} (new process)' for name in commands},
        f'a minimal click program --version {t["click"] * 1000:.0f} ms',
        lambda seconds: f'{seconds * 1000:.0f} ms',
        targeted='--version',
    )

    index_root = tmp / 'big-served'
    index_root.mkdir()
    make_big_index(index_root / '.one_root', 1_000_000)
    cold_searches(index_root, tmp, home, quick, 'a 1M-line index', 'parsed anew')


def bench_memory(tmp: Path, quick: bool):
    print('12. memory of one call downloading (or planning) 10,000 and 100,000 files', flush=True)
    root = tmp / 'many'
    counts = (2_000, 20_000) if quick else (10_000, 100_000)
    scratch = scratch_folder(tmp)
    sessions = {}
    for n in counts:  # one session of n files of 1 KB
        sessions[n] = f'lab/Subjects/n{n}/2020-01-01/001'
        folder = root / sessions[n] / 'alf'
        folder.mkdir(parents=True)
        for i in range(n):
            (folder / f'obj{i}.attr.npy').write_bytes(b'x' * 1000)
    proc, url, server = start_server(root, tmp)
    peaks = {}
    try:
        for n in (*counts, 'dry run'):
            template = str(scratch / 'mem' / '{lab}' / '{subject}' / '{date}' / '{number}')
            session, dry = sessions[counts[-1] if n == 'dry run' else n], n == 'dry run'
            script = PEAK_RSS + (
                'import json, onelight\n'
                f'one = onelight.One(base_url={url!r}, progress=False,\n'
                f'                   download_dir={template!r})\n'
                'one.index\n'
                'index = peak_rss() / 2**20\n'
                f'paths = one.download({session!r}, dry_run={dry})\n'
                'print(json.dumps({"n": len(paths), "rss": peak_rss() / 2**20, "index": index}))\n'
            )
            shutil.rmtree(scratch / 'mem', ignore_errors=True)
            out = subprocess.run(
                [sys.executable, '-c', script],
                env=user_env(tmp / 'mem-home'),
                capture_output=True,
                text=True,
            )
            if out.returncode:
                raise RuntimeError(out.stderr)
            result = json.loads(out.stdout.strip().splitlines()[-1])
            if result['n'] != (counts[-1] if dry else n):
                raise RuntimeError(f'{result["n"]} of {n} files downloaded')
            peaks[n] = result['rss']
            index_peak = result['index']
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
        proc.terminate()
        proc.wait()
    small, large = counts
    per_file = (peaks[large] - peaks[small]) * 2**20 / (large - small)
    row(
        f'peak RSS of one call downloading {large:,} files',
        f'{peaks[large]:.0f} MB',
        f'the same call for {small:,} files {peaks[small]:.0f} MB',
        f'{peaks[large] / peaks[small]:.2f}x ({per_file:.0f} bytes a file more)',
        '<= 1.2x (<= 512 bytes a file)',
        peaks[large] / peaks[small] <= 1.2 and per_file <= 512,
    )
    row(
        f'  ... download --dry-run of the {large:,}-file session',
        f'{peaks["dry run"]:.0f} MB',
        f'reading the index {index_peak:.0f} MB',
        f'{peaks["dry run"] / index_peak:.2f}x',
        '<= 1.2x the memory of reading the index',
        peaks['dry run'] <= 1.2 * index_peak,
    )


def make_small_files(root: Path, n: int, session: str = 'lab/Subjects/m1/2020-01-01/001'):
    """One session of ``n`` random 20 KB files under ``root``; their relative paths."""
    folder = root / session / 'alf'
    folder.mkdir(parents=True)
    rels = []
    for i in range(n):
        (folder / f'obj{i}.attr.npy').write_bytes(os.urandom(20_000))
        rels.append(f'{session}/alf/obj{i}.attr.npy')
    return rels


def bench_s3(tmp: Path, quick: bool):
    print('8. s3 (moto server on 127.0.0.1) upload and download', flush=True)
    import logging

    from test_s3 import Moto

    n = 100 if quick else 200
    root = tmp / 's3'
    make_small_files(root, n)
    big_root = tmp / 's3big'
    big = big_root / 'lab/Subjects/m1/2020-01-01/001/alf'
    big.mkdir(parents=True)
    size = (64 if quick else 256) << 20
    with open(big / 'raw.data.bin', 'wb') as f:
        f.write(os.urandom(size))
    requests_seen = []

    class Count(logging.Handler):
        def emit(self, record):
            requests_seen.append(record.getMessage())

    handler = Count()
    logging.getLogger('werkzeug').addHandler(handler)
    logging.getLogger('werkzeug').setLevel(logging.INFO)
    moto = Moto()
    try:
        moto.admin.create_bucket(Bucket='bench')
        settings = dict(
            bucket='bench',
            endpoint_url=moto.url,
            access_key='a',
            secret_key='b',
            download_dir=str(tmp / 's3dl' / '{lab}' / '{subject}' / '{date}' / '{number}'),
            progress=False,
        )
        requests_seen.clear()
        start = time.perf_counter()
        onelight.One(prefix='small', **settings).upload(root)
        t_up, up_requests = time.perf_counter() - start, len(requests_seen)
        requests_seen.clear()
        start = time.perf_counter()
        onelight.One(prefix='small', **settings).download('lab/Subjects/m1/2020-01-01/001')
        t_down, down_requests = time.perf_counter() - start, len(requests_seen)
        start = time.perf_counter()
        onelight.One(prefix='big', **settings).upload(big_root)
        t_big_up = time.perf_counter() - start
        start = time.perf_counter()
        onelight.One(prefix='big', **settings).download('lab/Subjects/m1/2020-01-01/001')
        t_big_down = time.perf_counter() - start
    finally:
        moto.stop()
        logging.getLogger('werkzeug').removeHandler(handler)
    row(
        f's3 upload of {n} files of 20 KB (moto)',
        f'{n / t_up:.0f} files/s',
        f'{up_requests / n:.2f} requests/file',
        '-',
        '-',
        True,
    )
    row(
        f's3 download of {n} files of 20 KB (moto)',
        f'{n / t_down:.0f} files/s',
        f'{down_requests / n:.2f} requests/file',
        '-',
        '-',
        True,
    )
    row(
        f's3 one {size >> 20} MiB file (moto), up / down',
        f'{size / 1e6 / t_big_up:.0f} / {size / 1e6 / t_big_down:.0f} MB/s',
        '(moto is a Python server: this is what onelight adds, not what AWS gives)',
        '-',
        '-',
        True,
    )


def bench_figshare(tmp: Path, quick: bool):
    print('6. figshare (emulator) upload and download', flush=True)
    from figshare_emulator import Emulator

    n = 100 if quick else 200
    root = tmp / 'fs'
    make_small_files(root, n)
    emu = Emulator()
    try:
        article = emu.create_article('t' * 40)
        settings = dict(
            article_id=article,
            api_url=emu.api_url,
            token='t' * 40,
            private=True,
            download_dir=str(tmp / 'fsdl' / '{lab}' / '{subject}' / '{date}' / '{number}'),
            progress=False,
        )
        if 'downloads_url' in onelight.REPOSITORY_TYPES['figshare'].declared:
            settings['downloads_url'] = emu.url('download')  # figshare's own download host
        start = time.perf_counter()
        onelight.One(**settings).upload(root)
        t_up = time.perf_counter() - start
        up_requests = len(emu.log)
        start = time.perf_counter()
        onelight.One(**settings).download('lab/Subjects/m1/2020-01-01/001')
        t_down = time.perf_counter() - start
        down_requests = len(emu.log) - up_requests
    finally:
        emu.stop()
    row(
        f'figshare upload of {n} files (emulator)',
        f'{n / t_up:.0f} files/s',
        f'{up_requests / n:.1f} requests/file',
        '-',
        '-',
        True,
    )
    row(
        f'figshare download of {n} files (emulator)',
        f'{n / t_down:.0f} files/s',
        f'{down_requests / n:.2f} requests/file (redirect + storage)',
        '-',
        '-',
        True,
    )


def bench_volumes(tmp: Path, quick: bool):
    """A session read out of a packed ZIP volume (one span request) against the same files
    loose (a request each), both from nginx on loopback; one small file out of a large
    volume (one range request): the bytes that moved."""
    print('15. packed volumes: a session from a volume, one file from a large one', flush=True)
    n, repeat = (500, 3) if quick else (2000, 5)
    loose, packed = tmp / 'vol-loose', tmp / 'vol-packed'
    rels = make_small_files(loose, n)
    plan = onelight.UploadPlan.make(loose, None)
    packed.mkdir()
    plan.pack(2000 << 20, packed)
    (packed / onelight.INDEX_NAME).write_bytes(onelight.index_bytes(plan.scan, placed=plan.placed))
    home, session = tmp / 'vol-home', 'lab/Subjects/m1/2020-01-01/001'
    dest = scratch_folder(tmp) / 'vol-dl'
    for name in ('nginx-loose', 'nginx-packed', 'nginx-big'):
        (tmp / name).mkdir()
    servers = [
        start_server(loose, tmp / 'nginx-loose'),
        start_server(packed, tmp / 'nginx-packed', write=False),
    ]
    try:
        fns = {
            name: fresh_download(url, session, home, dest / name)
            for name, (_, url, _) in zip(('loose', 'packed'), servers)
        }
        times = timed_interleaved(fns, repeat)
        check_copies(loose, rels, dest / 'packed')
    finally:
        for proc, _, _ in servers:
            proc.terminate()
            proc.wait()
    rate = {k: n / t for k, t in times.items()}
    ratio = rate['packed'] / rate['loose']
    row(
        f'a session of {n} x 20 KB files from one volume (fresh process, md5s checked)',
        f'{rate["packed"]:.0f} files/s',
        f'{rate["loose"]:.0f} files/s loose',
        f'{ratio:.2f}x',
        '>= 1x',
        ratio >= 1,
        f'({servers[0][2]})',
    )
    # one small file out of a large volume: a big recording and small files in one session
    size = (256 if quick else 1024) << 20
    big = tmp / 'vol-big'
    folder = big / session / 'raw_ephys_data'
    folder.mkdir(parents=True)
    with open(folder / 'ephys.raw.bin', 'wb') as f:
        f.truncate(size)  # (sparse: zeros)
    small = make_small_files(big / 'x', 20, 'lab/Subjects/m2/2020-01-01/001')
    for rel in small:
        target = big / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        (big / 'x' / rel).rename(target)
    shutil.rmtree(big / 'x')
    plan = onelight.UploadPlan.make(big, None)
    served = tmp / 'vol-big-served'
    served.mkdir()
    plan.pack(4 << 30, served)
    (served / onelight.INDEX_NAME).write_bytes(onelight.index_bytes(plan.scan, placed=plan.placed))
    (volume,) = served.glob('*.zip')
    proc, url, name = start_server(served, tmp / 'nginx-big', write=False)
    try:
        one = onelight.One(
            base_url=url,
            progress=False,
            download_dir=str(dest / 'big' / '{lab}' / '{subject}' / '{date}' / '{number}'),
        )
        paths = one.download('lab/Subjects/m2/2020-01-01/001', 'obj7')
        moved = paths.report.bytes + 1  # (and the first byte of the volume: the probe)
    finally:
        proc.terminate()
        proc.wait()
    row(
        f'one 20 KB file out of a {volume.stat().st_size >> 20} MiB volume',
        f'{moved:,} bytes moved',
        f'{volume.stat().st_size:,} bytes (the volume)',
        f'{moved / 20_000:.2f}x the file',
        '<= 1.1x the file',
        moved <= 1.1 * 20_000,
        f'({name})',
    )


def bench_scale(tmp: Path, quick: bool, with_one_api: bool):
    import scale

    sizes = [2_000, 10_000] if quick else [2_000, 20_000, 100_000]
    print(
        f'14. consortium scale: releases of {", ".join(f"{s * 50:,}" for s in sizes)} datasets',
        flush=True,
    )
    points = scale.measure_sizes(tmp, sizes, sys.modules[__name__], with_one_api)
    mb = 2**20
    for p in points:
        n, theirs = f'{p["datasets"]:,}', p.get('one_api')
        ours = p['tables']
        ref = f'ONE-api {theirs["t"]:.1f} s, {theirs["rss"] / mb:.0f} MB' if theirs else '-'
        ratio = (
            f'{ours["t"] / theirs["t"]:.2f}x time, {ours["rss"] / theirs["rss"]:.2f}x memory'
            if theirs
            else '-'
        )
        met = not theirs or (ours['t'] <= 0.5 * theirs['t'] and ours['rss'] <= 0.6 * theirs['rss'])
        row(
            f'first search of {n} datasets, ONE cache tables (new process)',
            f'{ours["t"]:.2f} s, {ours["rss"] / mb:.0f} MB',
            ref,
            ratio,
            '<= 0.5x time, <= 0.6x memory of ONE-api',
            met,
        )
        http, size = p['http'], p['index_bytes']
        budget = 150 * mb + 1.5 * size
        ratio = f'{http["t"] / theirs["t"]:.2f}x ONE-api time' if theirs else '-'
        met = http['rss'] <= budget and (not theirs or http['t'] <= 1.2 * theirs['t'])
        row(
            f'  ... {n} datasets as a 2-column .one_root ({size / mb:.0f} MiB) over HTTP, '
            'first process (download, parse, keep)',
            f'{http["t"]:.2f} s, {http["rss"] / mb:.0f} MB',
            ref,
            ratio,
            f'<= 1.2x ONE-api time; peak <= 150 MB + 1.5x the file ({budget / mb:.0f} MB)',
            met,
        )
        warm = p['warm']
        ratio = (
            f'{warm["t"] / theirs["t"]:.2f}x time, {warm["rss"] / theirs["rss"]:.2f}x memory'
            if theirs
            else '-'
        )
        met = not theirs or (
            warm['t'] <= 0.15 * theirs['t'] and warm['rss'] <= 0.35 * theirs['rss']
        )
        row(
            f'  ... {n} datasets, a later process (the parsed copy, memory-mapped)',
            f'{warm["t"]:.2f} s, {warm["rss"] / mb:.0f} MB',
            ref,
            ratio,
            '<= 0.15x time, <= 0.35x memory of ONE-api',
            met,
        )
        dry = p['dry_run']
        row(
            f'  ... {n} datasets, download --dry-run of a session (a later process)',
            f'{dry["rss"] / mb:.0f} MB',
            f'reading the index and searching it {warm["rss"] / mb:.0f} MB',
            f'{dry["rss"] / warm["rss"]:.2f}x',
            '<= 1.2x the memory of reading the index',
            dry['rss'] <= 1.2 * warm['rss'],
        )
    per = {
        w: (scale.slope(points, w, 't'), scale.slope(points, w, 'rss') / mb)
        for w in ('tables', 'http', 'warm', 'one_api')
        if w in points[0]
    }
    text = '; '.join(f'{w} {t:.2f} s and {m:.0f} MB' for w, (t, m) in per.items())
    row(
        'cost of each million datasets more (least squares over the sizes)',
        text,
        '-',
        '-',
        'linear',
        True,
    )
    png = HERE / 'scale.png'
    drawn = scale.plot(points, png)
    row(
        'plot: first-search time and peak memory by release size',
        'bench/scale.png' if drawn else 'not drawn (pip install ".[bench]")',
        '-',
        '-',
        '-',
        drawn,
    )


# -------------------------------------------------------------------------------------- main
def write_results(path: Path, args, seconds: float) -> None:
    mem = os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30
    lines = [
        '# onelight benchmark results',
        '',
        f'- date: {datetime.date.today().isoformat()}',
        f'- machine: {os.cpu_count()} cores, {mem:.0f} GiB memory, {platform.platform()}, '
        f'Python {platform.python_version()}',
        f'- command: `python bench/run.py{" --quick" if args.quick else ""}'
        f'{" --with-one-api" if args.with_one_api else ""}'
        f'{f" --only {args.only}" if args.only else ""}'
        f'{f" --against {args.against}" if args.against else ""}` ({seconds:.0f} s)',
        '',
        '| case | onelight | reference (same run) | ratio | target | met |',
        '| --- | --- | --- | --- | --- | --- |',
    ]
    for r in ROWS:
        lines.append(
            f'| {r["case"]} | {r["ours"]} | {r["reference"]} | {r["ratio"]} | '
            f'{r["target"]} | {r["met"]} |'
        )
    if args.against:
        lines += ['', f'## Before and after: {args.against} and this tree, in this run', '']
        lines += ['| case | before | after |', '| --- | --- | --- |']
        before = {r['case']: r for r in BEFORE}
        for r in ROWS:
            old = before.get(r['case'])
            if old is not None:
                after = f'{r["ours"]} ({r["ratio"]})'
                lines.append(f'| {r["case"]} | {old["ours"]} ({old["ratio"]}) | {after} |')
    path.write_text('\n'.join(lines) + '\n')


BEFORE = []  # the rows of the --against revision


def run_before(rev: str, args) -> None:
    """Run the same cases on ``rev``'s onelight.py (this file's cases, a child process)."""
    with tempfile.TemporaryDirectory(prefix='onelight-before-') as tree:
        archive = subprocess.run(
            ['git', '-C', str(ROOT), 'archive', rev, 'onelight.py'],
            check=True,
            capture_output=True,
        ).stdout
        subprocess.run(['tar', '-x', '-C', tree], input=archive, check=True)
        rows = Path(tree) / 'rows.json'
        command = [sys.executable, __file__, '--tree', tree, '--rows-json', str(rows)]
        command += ['--only', args.only] if args.only else []
        command += ['--quick'] * args.quick + ['--with-one-api'] * args.with_one_api
        print(f'== before: {rev}', flush=True)
        # run in the folder of that onelight.py: ``python -c`` puts the current folder
        # first on sys.path, before PYTHONPATH, so that a case's new processes started from
        # a checkout would import the checkout's onelight.py instead
        subprocess.run(command, check=True, cwd=tree)
        BEFORE.extend(json.loads(rows.read_text()))
    print('== after: this tree', flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--quick', action='store_true', help='smaller data, fewer repeats')
    parser.add_argument('--with-one-api', action='store_true', help='compare with ONE-api')
    parser.add_argument('--only', help='comma-separated case numbers, e.g. 1,4')
    parser.add_argument('--against', metavar='REV', help='the same cases on a git revision first')
    parser.add_argument('--tree', help=argparse.SUPPRESS)  # read at import (TREE)
    parser.add_argument('--rows-json', help=argparse.SUPPRESS)  # a child's rows, for --against
    args = parser.parse_args()
    if args.against:
        run_before(args.against, args)
    only = set(args.only.split(',')) if args.only else {str(n) for n in range(1, 16)}
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix='onelight-bench-') as tmp:
        tmp = Path(tmp)
        os.environ['ONELIGHT_HOME'] = str(tmp / 'home')
        tree = bench_scan(tmp, args.quick, args.with_one_api) if only & {'1', '3', '7'} else None
        if only & {'2', '3', '7'}:
            index = bench_index(tmp, args.quick)
            if '3' in only:
                bench_search(index, tree, tmp, args.quick, args.with_one_api)
            if '7' in only:
                bench_tables(tmp, tree, index, args.quick, args.with_one_api)
        standalone = {  # the cases that need nothing from the others
            '4': lambda: bench_download(tmp, args.quick),
            '5': lambda: bench_load(tmp, args.quick, args.with_one_api),
            '6': lambda: bench_figshare(tmp, args.quick),
            '8': lambda: bench_s3(tmp, args.quick),
            '9': lambda: bench_segments(tmp, args.quick),
            '10': lambda: bench_latency(tmp, args.quick, args.with_one_api),
            '11': lambda: bench_startup(tmp, args.quick),
            '12': lambda: bench_memory(tmp, args.quick),
            '13': lambda: bench_http_library(tmp, args.quick),
            '14': lambda: bench_scale(tmp, args.quick, args.with_one_api),
            '15': lambda: bench_volumes(tmp, args.quick),
        }
        for case, run in standalone.items():
            if case not in only:
                continue
            try:
                run()
            except Exception as e:  # noqa: BLE001 - an earlier revision may lack what a case uses
                if not args.rows_json:
                    raise
                print(f'  case {case} cannot run on this revision: {e}', flush=True)
    seconds = time.perf_counter() - start
    if args.rows_json:
        Path(args.rows_json).write_text(json.dumps(ROWS))
        return
    write_results(HERE / 'RESULTS.md', args, seconds)
    print(f'\n{len(ROWS)} rows written to bench/RESULTS.md in {seconds:.0f} s')


if __name__ == '__main__':
    main()
