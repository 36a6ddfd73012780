"""Configuration: location, atomic 0600 writes, errors naming file/line/column, legacy import."""

import json
import os
import re
import stat
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

import onelight

LEGACY_TEMPLATE = '~/.one/data/{repository}/{lab}/Subjects/{subject}/{date}/{number}/alf/'


def test_home_layout(home):
    dirs = onelight.app_dirs()
    assert dirs.config_file == home / 'onelight' / 'config.json'
    assert dirs.data == home / 'onelight' / 'data' and dirs.cache == home / 'onelight' / 'cache'


def test_appdirs_used_without_onelight_home(monkeypatch):
    monkeypatch.delenv('ONELIGHT_HOME')
    dirs = onelight.app_dirs()
    assert 'onelight' in str(dirs.config) and 'onelight' in str(dirs.cache)


def test_defaults_without_config_and_reading_never_writes():
    config = onelight.load_config()
    assert config['repositories'] == [] and config['current_repository'] is None
    assert not onelight.app_dirs().config_file.exists()


def test_save_is_private_and_atomic(tmp_path):
    cfg = onelight.default_config()
    cfg['repositories'] = [{'name': 'x', 'type': 'local', 'root_dir': str(tmp_path)}]
    onelight.save_config(cfg)
    path = onelight.app_dirs().config_file
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert onelight.load_config()['repositories'][0]['name'] == 'x'
    assert [p.name for p in path.parent.iterdir()] == ['config.json']  # no temp files left


def test_malformed_json_names_file_line_column_and_is_not_touched():
    path = onelight.app_dirs().config_file
    path.parent.mkdir(parents=True)
    text = '{\n  "repositories": [\n    {"name": "x",}\n  ]\n}\n'
    path.write_text(text)
    with pytest.raises(
        onelight.ConfigError,
        match=r'config.json is not valid JSON at line 3 column 18: a name is not in double '
        r'quotes, or a comma is left before a closing brace',
    ):
        onelight.load_config()
    assert path.read_text() == text


@pytest.mark.parametrize(
    'text,message',
    [
        ('', r'config.json is empty: write \{\} in it, or delete it'),
        ('\n  \n', 'is empty'),
        ('{\n  // my repositories\n  "repositories": []\n}', 'line 2 .*JSON has no comments'),
        ('# settings\n{}', 'line 1 column 1: JSON has no comments: delete that line'),
    ],
)
def test_an_empty_file_or_a_comment_says_what_it_is(text, message):
    path = onelight.app_dirs().config_file
    path.parent.mkdir(parents=True)
    path.write_text(text)
    with pytest.raises(onelight.ConfigError, match=message):
        onelight.load_config()
    result = CliRunner().invoke(
        onelight.cli, ['add_repo', 'x', '--type', 'local', '--root-dir', '.']
    )
    assert result.exit_code == 1 and message.split(' ')[-1] in result.stderr
    assert path.read_text() == text  # never rewritten


@pytest.mark.parametrize(
    'content,message',
    [
        ({'repositories': {}}, 'must be a list'),
        ({'repositories': [{'type': 'local'}]}, 'has no "name"'),
        ({'repositories': [{'name': 'a', 'type': 'gopher'}]}, "unknown type 'gopher'"),
        ({'repositories': [{'name': 'a', 'type': 'local'}] * 2}, 'two repositories'),
        ({'download_dir': '/data/{subject}'}, 'must contain {date}, {number}'),
        ({'download_dir': '/data/{oops}/{subject}/{date}/{number}'}, 'unknown field'),
        ([1, 2], 'must hold a JSON object'),
        (
            {'downlod_dir': '/data'},
            'unknown key "downlod_dir" \\(did you mean "download_dir"\\?\\)',
        ),
        ({'colour': 'red'}, 'unknown key "colour" \\(known: repositories, current_repository'),
    ],
)
def test_schema_errors(content, message):
    path = onelight.app_dirs().config_file
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(content))
    with pytest.raises(onelight.ConfigError, match=message):
        onelight.load_config()


def test_legacy_config_imported_once(home, tmp_path, caplog):
    legacy = home / '.one' / 'config.json'
    legacy.parent.mkdir()
    legacy.write_text(
        json.dumps(
            {
                'download_dir': LEGACY_TEMPLATE,
                'session_pattern': '^{lab}/Subjects/{subject}/{date}/{number}/$',
                'repositories': [{'name': 'default', 'type': 'local', 'root_dir': str(tmp_path)}],
                'current_repository': 'default',
            }
        )
    )
    config = onelight.load_config()
    assert config['current_repository'] == 'default'
    assert 'imported 1 repositories' in caplog.text
    assert onelight.app_dirs().config_file.exists()
    one = onelight.One()
    assert one.repository.root == tmp_path
    folder = onelight.session_download_dir(
        config['download_dir'],
        data_dir=home,
        repository='r',
        lab='l',
        subject='s',
        date='2020-01-01',
        number='001',
    )
    assert folder == home / '.one/data/r/l/Subjects/s/2020-01-01/001'


def test_mask_secrets():
    masked = onelight.mask_secrets(
        {'token': 'abc', 'password': 'pw', 'login': 'me', 'base_url': 'https://me:pw@host:8080/x'}
    )
    assert masked == {
        'token': '****',
        'password': '****',
        'login': 'me',
        'base_url': 'https://me:****@host:8080/x',
    }


def test_named_repository_and_errors(tmp_path):
    with pytest.raises(onelight.NotFoundError, match="no repository named 'x'"):
        onelight.One('x')
    with pytest.raises(onelight.ConfigError, match='is not a folder'):
        onelight.One(root_dir=tmp_path / 'missing')
    with pytest.raises(onelight.NotFoundError):
        onelight.set_repository('x')


def test_set_download_dir():
    onelight.set_download_dir('/data/{lab}/{subject}/{date}/{number}')
    assert onelight.load_config()['download_dir'] == '/data/{lab}/{subject}/{date}/{number}'
    with pytest.raises(onelight.ConfigError):
        onelight.set_download_dir('/data/{subject}')


def test_example_config_is_valid(tmp_path):
    example = json.loads((Path(__file__).parents[1] / 'config.example.json').read_text())
    types = {r['type'] for r in example['repositories']}
    assert types == set(onelight.REPOSITORY_TYPES)
    for repo in example['repositories']:
        backend = onelight.REPOSITORY_TYPES[repo['type']]
        assert set(backend.required) <= set(repo)
        assert set(backend.optional) <= set(repo), f'{repo["type"]}: show every key'
    onelight.validate_config(
        {**example, 'repositories': []} | {'current_repository': None}, 'example'
    )


def write_original_onelight_config(home, repositories, current):
    """~/.one/config.json exactly as the original ONE light's add_repo leaves it."""
    config = {
        'download_dir': '~/.one/data/{repository}/{lab}/Subjects/{subject}/{date}/{number}/alf/',
        'session_pattern': '^{lab}/Subjects/{subject}/{date}/{number}/$',
        'file_pattern': '^{lab}/Subjects/{subject}/{date}/{number}/alf/{filename}$',
        'repositories': repositories,
        'current_repository': current,
    }
    path = home / '.one' / 'config.json'
    path.parent.mkdir()
    with open(path, 'w') as f:
        json.dump(config, f, indent=2, sort_keys=True)


def test_legacy_http_password_is_used_and_never_shown(home, alf_root, serve, tmp_path):
    from click.testing import CliRunner

    server = serve(alf_root, auth=('alice', 'Sekr3t-pw'))
    write_original_onelight_config(
        home,
        [
            {
                'base_url': server.url,
                'login': 'alice',
                'name': 'lab',
                'pwd': 'Sekr3t-pw',
                'type': 'http',
                'api_secret': 'Other-s3cret',
            },
            {'base_url': server.url, 'login': '', 'name': 'public', 'pwd': '', 'type': 'http'},
        ],
        'lab',
    )
    config = onelight.load_config()
    repo = config['repositories'][0]
    assert repo['password'] == 'Sekr3t-pw' and 'pwd' not in repo
    assert 'pwd' not in onelight.app_dirs().config_file.read_text()
    for args in (['repo'], ['config']):
        result = CliRunner().invoke(onelight.cli, args, catch_exceptions=False)
        assert result.exit_code == 0, result.output
        assert 'Sekr3t-pw' not in result.output and 'Other-s3cret' not in result.output
        assert '****' in result.output
    assert 'Sekr3t-pw' not in repr(onelight.One().repository.describe())
    # the password authenticates (the original never sent it: HTTP 401)
    result = CliRunner().invoke(onelight.cli, ['search'], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert len(result.stdout.split()) == 6


def test_config_written_by_an_earlier_import_still_has_pwd(tmp_path):
    path = onelight.app_dirs().config_file
    path.parent.mkdir(parents=True)
    entry = {'name': 'w', 'type': 'http', 'base_url': 'http://h/', 'login': 'u', 'pwd': 'p'}
    path.write_text(json.dumps({'repositories': [entry], 'current_repository': 'w'}))
    (repo,) = onelight.load_config()['repositories']
    assert repo['password'] == 'p' and 'pwd' not in repo
    assert onelight.mask_secrets({'pwd': 'x', 'my_passphrase': 'y', 'login': 'u'}) == {
        'pwd': '****',
        'my_passphrase': '****',
        'login': 'u',
    }


def test_the_readme_fits_the_first_hour():
    """README.md is what a newcomer reads first: at most 250 lines, its commands runnable,
    and every docs page it links to there."""
    root = Path(__file__).parents[1]
    readme = (root / 'README.md').read_text()
    assert len(readme.splitlines()) <= 250
    assert 'pip install . && onelight demo' in readme
    assert "pip install -e '.[test]' && pytest" in readme
    for link in re.findall(r'\]\(((?:docs|bench)/[^)#]+)', readme):
        assert (root / link).is_file(), link


def test_settings_come_from_the_declarations():
    page = (Path(__file__).parents[1] / 'docs' / 'configuration.md').read_text()
    assert onelight.settings_table() in page  # the documented table is the declared one
    options = {
        p.name for p in onelight.cli.commands['add_repo'].params if isinstance(p, click.Option)
    }
    declared = {s.name for s, _ in onelight.all_settings()}
    assert declared <= options
    secrets = {s.name for s, _ in onelight.all_settings() if s.secret}
    assert secrets == {'password', 'ftp_password', 'token', 'access_key', 'secret_key'}
    assert all(onelight.mask_secrets({k: 'x'})[k] == '****' for k in secrets)


def test_add_repo_refuses_a_setting_of_another_type(tmp_path):
    from click.testing import CliRunner

    result = CliRunner().invoke(
        onelight.cli,
        ['add_repo', 'x', '--type', 'local', '--root-dir', str(tmp_path), '--host', 'h'],
    )
    assert result.exit_code == 1 and '--host is not a setting of local' in result.output
    assert not onelight.app_dirs().config_file.exists()
