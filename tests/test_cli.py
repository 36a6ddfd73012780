"""The command-line interface, through click's CliRunner and as a real subprocess."""

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import EDGE_SESSION

import onelight

MODULE = Path(onelight.__file__)
CORI1 = 'nicklab/Subjects/Cori/2016-12-14/001'


def run(*args):
    return CliRunner().invoke(onelight.cli, [str(a) for a in args], catch_exceptions=False)


@pytest.fixture
def configured(alf_root):
    result = run('add_repo', 'lab', '--type', 'local', '--root-dir', alf_root)
    assert result.exit_code == 0, result.output
    return alf_root


def test_version_and_help():
    assert onelight.__version__ in run('--version').stdout
    help_text = run('--help').stdout
    for command in (
        'repo',
        'add_repo',
        'config',
        'scan',
        'index',
        'search',
        'list',
        'download',
        'upload',
        'demo',
    ):
        assert command in help_text
    bare = run()  # no arguments: the help, not an error
    assert bare.exit_code == 0 and bare.stdout == help_text


def test_add_repo_repo_and_config(configured, tmp_path):
    listing = run('repo').stdout
    assert listing.startswith('* lab  (local)  root_dir=')
    (tmp_path / 'second').mkdir()
    assert (
        run(
            'add_repo',
            'b',
            '--type',
            'local',
            '--root-dir',
            tmp_path / 'second',
            '--no-set-current',
        ).exit_code
        == 0
    )
    assert '  b    (local)' in run('repo').stdout and '* lab' in run('repo').stdout
    assert run('repo', 'b').exit_code == 0
    assert '* b' in run('repo').stdout
    shown = run('config').stdout
    assert 'config file:' in shown and '"current_repository": "b"' in shown


def test_add_repo_errors(tmp_path, configured):
    result = run('add_repo', 'lab', '--type', 'local', '--root-dir', tmp_path)
    assert result.exit_code == 1 and 'exists already' in result.stderr
    result = run('add_repo', 'x', '--type', 'local')  # no terminal: no prompt
    assert result.exit_code == 1 and 'needs --root-dir' in result.stderr
    result = run('add_repo', 'x', '--type', 'local', '--root-dir', tmp_path / 'nope')
    assert result.exit_code == 1 and 'is not a folder' in result.stderr
    result = run('add_repo', 'x', '--type', 'gopher')
    assert result.exit_code == 2


def test_search_list_download(configured):
    result = run('search', 'eye', '--subject', 'Cori')
    assert result.exit_code == 0 and result.stdout.split() == [CORI1]
    result = run('search', 'trials', '--date-range', '2016-12-15', '-', '--json')
    found = json.loads(result.stdout)  # newest first, with each session's record and eid
    assert [f['session'] for f in found][-3:] == [
        'angelakilab/Subjects/IBL-T1/2019-02-20/001',
        'nicklab/Subjects/Theiler/2017-10-11/001',
        'nicklab/Subjects/Cori/2016-12-18/001',
    ]
    assert found[1] == {
        'session': 'mainenlab/Subjects/NYU-01/2020-02-02/1',
        'lab': 'mainenlab',
        'subject': 'NYU-01',
        'date': '2020-02-02',
        'number': 1,
        'task_protocol': '',
        'projects': '',
        'eid': str(onelight.session_eid('mainenlab/Subjects/NYU-01/2020-02-02/001')),
    }
    assert run('search', '--date', '2016-12-14').stdout.split() == [CORI1]
    listing = run('list', CORI1, '--json')
    assert 'alf/spikes.times.npy' in json.loads(listing.stdout)
    paths = run('download', CORI1, 'spikes').stdout.split()
    assert len(paths) == 4 and all(Path(p).is_file() for p in paths)
    all_paths = run('download', CORI1, '--dry-run').stdout.split()
    assert len(all_paths) == len(json.loads(listing.stdout))


def test_user_errors_are_one_line(configured):
    for args in (
        ('list', 'nicklab/Subjects/Cori/1999-01-01/001'),
        ('list', 'garbage'),
        ('download', CORI1, 'nope'),
        ('search', '--date', 'yesterday'),
        ('-r', 'nope', 'search'),
        ('scan', configured / 'missing'),
    ):
        result = run(*args)
        assert result.exit_code == 1, (args, result.output)
        assert result.stderr.startswith('error: ') and result.stderr.count('\n') == 1, args
        assert 'Traceback' not in result.output


def test_no_repository_configured():
    result = run('search')
    assert result.exit_code == 1 and 'add_repo' in result.stderr


def test_verbose_shows_the_traceback(configured):
    with pytest.raises(onelight.NotFoundError):
        CliRunner().invoke(
            onelight.cli, ['-v', 'list', 'a/Subjects/b/2020-01-01/001'], catch_exceptions=False
        )


def test_scan_and_index(alf_root):
    result = run('scan', alf_root)
    assert result.exit_code == 0
    assert f'{EDGE_SESSION}/notes.txt\t(not ALF)' in result.stdout
    assert '1 outside session folders' in result.stderr
    sessions = run('scan', alf_root, '--sessions-only').stdout.split()
    assert EDGE_SESSION in sessions and len(sessions) == 6
    assert run('index', alf_root, '--base-url', 'ftp://x').exit_code == 1
    result = run('index', alf_root, '--base-url', 'https://h/data', '--checksums')
    assert result.exit_code == 0 and 'wrote' in result.stderr
    line = (alf_root / '.one_root').read_text().splitlines()[0]
    assert len(line.split('\t')) == 4 and line.split('\t')[1].startswith('https://h/data/')


def test_a_rerun_of_index_keeps_the_md5_column(alf_root):
    """Without --checksums, a rerun keeps the md5s an earlier run wrote (computed again: a
    file may have changed) and says so."""
    assert run('index', alf_root, '--checksums').exit_code == 0
    spikes = alf_root / 'nicklab/Subjects/Cori/2016-12-14/001/alf/spikes.times.npy'
    spikes.write_bytes(spikes.read_bytes()[::-1])  # the same size, other bytes
    result = run('index', alf_root)
    assert result.exit_code == 0 and 'with md5s, as the index it replaced' in result.stderr
    rows = [line.split('\t') for line in (alf_root / '.one_root').read_text().splitlines()]
    assert all(len(r) == 4 for r in rows)
    mine = next(
        r for r in rows if r[0].endswith('001/alf/spikes.times.npy') and 'Cori/2016-12-14' in r[0]
    )
    assert mine[3] == hashlib.md5(spikes.read_bytes()).hexdigest()
    onelight.write_index(alf_root, checksums=False)  # asked for: dropped
    assert not onelight.index_has_md5(alf_root / '.one_root')


def test_upload_to_local_repository(alf_root, tmp_path):
    target = tmp_path / 'published'
    target.mkdir()
    assert run('add_repo', 'pub', '--type', 'local', '--root-dir', target).exit_code == 0
    result = run('upload', alf_root, '--dry-run')
    assert 'would upload' in result.stderr and not any(target.iterdir())
    result = run('upload', alf_root, '--limit', '3')
    assert 'uploaded 3 files' in result.stderr
    result = run('upload', alf_root)
    assert 'already up to date' in result.stderr and ' 3 already' in result.stderr
    assert (target / '.one_root').is_file()
    assert sorted(onelight.scan(target).files) == sorted(onelight.scan(alf_root).files)
    again = run('upload', alf_root)
    assert 'nothing uploaded: 143 files already up to date' in again.stderr


def test_demo_runs_quickly():
    result = run('demo')
    assert result.exit_code == 0, result.output
    assert "subject='Cori') -> ['nicklab/Subjects/Cori/2016-12-18/001'" in result.stdout
    assert 'feedbackType' in result.stdout and 'rewarded' in result.stdout
    # with no repository configured, the demo data becomes one: the next command answers
    assert 'registered it as the repository "demo"' in result.stdout
    assert 'nicklab/Subjects/Cori/2016-12-18/001' in run('search', 'spikes').stdout
    cached = sorted(onelight.app_dirs().cache.rglob('demo-*'))
    again = run('demo')  # a second run keeps that repository, and says so
    assert again.exit_code == 0 and 'the repository "demo" holds this data' in again.stdout
    assert len(sorted(onelight.app_dirs().cache.rglob('demo-*'))) == len(cached)  # no pile-up


def test_demo_leaves_a_configured_repository_current(configured):
    result = run('demo')
    assert result.exit_code == 0 and 'add_repo demo' in result.stdout
    assert onelight.load_config()['current_repository'] == 'lab'


def cli_with_local_repository(root, home, name):
    """(command, environment) of ``python onelight.py`` in a home of its own where ``root``
    is the current repository, added through the command line."""
    env = {**os.environ, 'ONELIGHT_HOME': str(home / name), 'HOME': str(home)}
    cmd = [sys.executable, str(MODULE)]
    done = subprocess.run(
        [*cmd, 'add_repo', name, '--type', 'local', '--root-dir', str(root)],
        env=env,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return cmd, env


def test_real_subprocess(alf_root, home):
    cmd, env = cli_with_local_repository(alf_root, home, 'sub')
    done = subprocess.run(
        [*cmd, 'search', 'wheelMoves'], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.stdout.split() == [  # newest first, as in ONE
        'nicklab/Subjects/Theiler/2017-10-11/001',
        'nicklab/Subjects/Cori/2016-12-18/001',
        'nicklab/Subjects/Cori/2016-12-14/001',
    ]
    done = subprocess.run(
        [*cmd, 'list', 'x/Subjects/y/2020-01-01/001'],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1 and done.stderr.startswith('error: ')
    assert 'Traceback' not in done.stderr


def add_web_repo(url, password, *extra):
    return run(
        'add_repo',
        'web',
        '--type',
        'http',
        '--base-url',
        url,
        '--login',
        'alice',
        '--password',
        password,
        *extra,
    )


def test_http_repository_from_the_cli(alf_root, serve, tmp_path):
    server = serve(alf_root, auth=('alice', 's3cret'))
    result = add_web_repo(server.url, 's3cret', '--jobs', '4')
    assert result.exit_code == 0, result.output
    listing = run('repo').stdout
    assert 's3cret' not in listing and 'password=****' in listing
    assert 's3cret' not in run('config').stdout
    assert run('search', 'eye', '--subject', 'Cori').stdout.split() == [CORI1]
    result = run('download', CORI1, 'trials', '-j', '2')
    assert result.exit_code == 0 and 'downloaded 11 files' in result.stderr
    paths = result.stdout.split()
    assert len(paths) == 11 and all(Path(p).is_file() for p in paths)
    again = run('--offline', 'download', CORI1, 'trials')
    assert again.exit_code == 0 and again.stdout.split() == paths
    missing = run('--offline', 'download', CORI1, 'spikes')
    assert missing.exit_code == 1 and 'not available offline' in missing.stderr
    result = run('add_repo', 'bad', '--type', 'http', '--base-url', 'ftp://nope')
    assert result.exit_code == 1 and 'must be an http(s) URL' in result.stderr


def test_wrong_password_is_one_line_and_masked(alf_root, serve):
    server = serve(alf_root, auth=('alice', 's3cret'))
    add_web_repo(server.url, 'hunter2')
    result = run('search')
    assert result.exit_code == 1 and 'access refused' in result.stderr
    assert 'hunter2' not in result.output and result.stderr.count('\n') == 1


@pytest.mark.parametrize(
    'args',
    [
        ['--version'],
        ['--help'],
        ['repo'],
        ['config'],
        ['add_repo', 'x', '--type', 'http', '--base-url', 'https://example.org/alf/'],
    ],
)
def test_commands_that_read_no_data_start_light(args, home):
    """numpy, pandas and requests are imported only by commands that need them; logging and
    hashlib (OpenSSL) only when something logs or hashes."""
    script = (
        'import sys, onelight\n'
        'try:\n'
        f'    onelight.cli({args!r})\n'
        'except SystemExit:\n'
        '    pass\n'
        'heavy = [m for m in ("numpy", "pandas", "requests", "logging", "hashlib") '
        'if m in sys.modules]\n'
        'print("HEAVY", heavy, file=sys.stderr)\n'
    )
    env = {**os.environ, 'ONELIGHT_HOME': str(home / 'light'), 'HOME': str(home)}
    done = subprocess.run(
        [sys.executable, '-c', script], env=env, capture_output=True, text=True, timeout=60
    )
    assert 'HEAVY []' in done.stderr, done.stderr


def test_a_reader_that_stops_early_is_no_error(tmp_path, home):
    root = tmp_path / 'many'
    for i in range(3000):  # more output than a pipe holds
        folder = root / f'lab/Subjects/mouse{i:04d}/2020-01-01/001/alf'
        folder.mkdir(parents=True)
        (folder / 'trials.choice.npy').write_bytes(b'')
    cmd, env = cli_with_local_repository(root, home, 'pipe')
    search = subprocess.Popen(
        [*cmd, 'search'], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    first = search.stdout.readline()
    search.stdout.close()  # as `| head -1` does
    _, err = search.communicate(timeout=60)
    assert first.startswith(b'lab/Subjects/mouse') and err == b''


def test_a_typo_in_current_repository_locks_nobody_out(configured):
    """Commands that show or repair the configuration run; the others say what to run."""
    path = onelight.app_dirs().config_file
    config = json.loads(path.read_text())
    config['current_repository'] = 'lba'
    path.write_text(json.dumps(config))
    result = run('search')
    assert result.exit_code == 1
    assert 'the current repository "lba" is not configured' in result.stderr
    assert 'onelight repo NAME' in result.stderr and 'Traceback' not in result.output
    assert run('-r', 'lab', 'search').exit_code == 0
    assert run('config').exit_code == 0
    listing = run('repo')
    assert listing.exit_code == 0 and 'lab' in listing.stdout and '"lba"' in listing.stderr
    assert run('repo', 'lab').exit_code == 0
    assert run('search').exit_code == 0


def test_repo_lists_what_was_set_aligned_and_masked(tmp_path):
    (tmp_path / 'a').mkdir()
    assert (
        run('add_repo', 'local-one', '--type', 'local', '--root-dir', tmp_path / 'a').exit_code
        == 0
    )
    result = run(
        'add_repo',
        'web',
        '--type',
        'http',
        '--base-url',
        'http://u:secretpw@127.0.0.1:9/',
        '--jobs',
        '8',
        '--no-set-current',
    )
    assert result.exit_code == 0 and '[current]' not in result.stdout + result.stderr
    saved = json.loads(onelight.app_dirs().config_file.read_text())
    web = next(r for r in saved['repositories'] if r['name'] == 'web')
    assert set(web) == {'name', 'type', 'base_url', 'login', 'password', 'jobs'}  # set only
    assert saved['current_repository'] == 'local-one'
    lines = run('repo').stdout.splitlines()
    assert lines[0].startswith('* local-one  (local)  root_dir=')
    assert lines[1].startswith('  web        (http)   base_url=http://127.0.0.1:9/')
    assert 'jobs=8' in lines[1] and 'password=****' in lines[1] and 'secretpw' not in lines[1]
    assert 'False' not in lines[1] and 'None' not in lines[1]


def test_no_silent_no_ops(configured, tmp_path):
    """A folder that is not a repository root, searches that cannot match and empty
    results each get one line; stdout stays clean."""
    subject = configured / 'nicklab' / 'Subjects' / 'Cori'
    for command in ('upload', 'index'):
        result = run(command, subject)
        assert result.exit_code == 1 and 'holds no session folder' in result.stderr
        assert 'outside session folders' in result.stderr and result.stdout == ''
    assert not (subject / '.one_root').exists()
    for args, message in [
        (('--number', 'abc'), 'is not one'),
        (('--number', '1000'), 'is not one'),
        (('--date-range', '2020-01-02', '2020-01-01'), 'before it starts'),
    ]:
        result = run('search', *args)
        assert result.exit_code == 1 and message in result.stderr, args
    for args in (('spikez',), ('--subject', 'cori')):
        result = run('search', *args)
        assert result.exit_code == 0 and result.stdout == ''
        assert 'no sessions match' in result.stderr
    assert run('search', '--json', 'spikez').stdout.strip() == '[]'
    with pytest.raises(onelight.SearchError):
        onelight.One(cache_dir=configured).search(number='abc')


def test_a_folder_one_level_too_deep_is_refused_with_the_one_to_give(alf_root, tmp_path):
    """add_repo checks a local folder as index does; an empty folder (to upload to) is a
    repository; nothing is written to the config when refused."""
    for deep in (alf_root / 'nicklab', alf_root / 'nicklab' / 'Subjects' / 'Cori'):
        result = run('add_repo', 'lab', '--type', 'local', '--root-dir', deep)
        assert result.exit_code == 1 and 'holds no session folder' in result.stderr
        assert result.stderr.strip().endswith(
            f'give the folder that holds the lab folders ({alf_root}?)'
        )
    assert onelight.load_config()['repositories'] == []
    (tmp_path / 'empty').mkdir()
    assert (
        run('add_repo', 'new', '--type', 'local', '--root-dir', tmp_path / 'empty').exit_code == 0
    )


def test_what_matches_nothing_says_what_to_try(configured):
    result = run('search', '--subject', 'Corri')
    assert result.exit_code == 0 and result.stdout == ''
    assert result.stderr.strip() == (
        'no sessions match (the repository has 6 sessions of 5 subjects); no subject has '
        "'Corri' (did you mean 'Cori'?)"
    )
    result = run('list', 'nicklab/Subjects/Cori/2016-12-15/001')
    assert result.exit_code == 1 and result.stderr.strip().endswith(
        'is not in this repository (6 sessions); the nearest: nicklab/Subjects/Cori/2016-12-14/001'
    )


def test_summaries_read_well(configured, tmp_path):
    config = onelight.load_config()
    config['download_dir'] = str(tmp_path / 'dl' / '{lab}' / '{subject}' / '{date}' / '{number}')
    onelight.save_config(config)
    result = run('index', configured)
    assert result.exit_code == 0 and ' in 6 sessions' in result.stderr
    assert run('add_repo', 'web', '--type', 'local', '--root-dir', configured).exit_code == 0
    dry = run('download', 'nicklab/Subjects/Cori/2016-12-14/001', '--dry-run')
    assert dry.stderr.strip() == 'nothing to download; 30 files already there'  # read in place


def test_words_for_the_place_they_are_read(configured, tmp_path, caplog):
    with pytest.raises(onelight.NotFoundError, match='no folder /no/such/folder'):
        onelight.One('/no/such/folder')
    one = onelight.One(cache_dir=configured)
    with pytest.raises(onelight.SearchError, match="did you mean 'subject'") as caught:
        one.search(subjects='x')
    assert 'task_protocol' not in str(caught.value)  # not answerable without ONE's tables
    result = run(
        'list', 'churchlandlab/Subjects/CSH_ZAD_003/2021-06-01/001', '--collection', 'alf/probe00/'
    )
    assert result.exit_code == 0 and 'alf/probe00/spikes.times.npy' in result.stdout
    result = run('download', 'churchlandlab/Subjects/CSH_ZAD_003/2021-06-01/001', 'spikes')
    assert result.exit_code == 1 and '--collection' in result.stderr
    with pytest.raises(
        onelight.ConfigError, match='unknown key "rootdir" \\(did you mean "root_dir"'
    ):
        onelight.make_repository({'name': 'a', 'type': 'local', 'rootdir': str(tmp_path)})
