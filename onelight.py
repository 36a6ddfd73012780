"""onelight: publish and fetch ALF experiment data without a database server.

onelight is both a command-line tool (``onelight ...`` or ``python onelight.py ...``) and a
library::

    import onelight as one
    sessions = one.search(['trials'], subject='Cori')
    trials = one.load_object(sessions[0], 'trials')

The module reads from top to bottom, each section using only those above it (but for the
repository types that configuration validates):

- Errors: the exceptions a user can cause, and how messages name numbers and text.
- Configuration: where onelight keeps its files, the config file and its checks.
- ALF names: the one table of ALF part patterns, parsing, ALFPath, session ids.
- Loaders: file contents by extension, ALF objects as ONE-api assembles them.
- The index (.one_root): reading, checking and writing it (URLs, relative ones, byte ranges
  of volumes; the digest that cites it); scanning a folder.
- ONE cache tables: ONE-api's parquet tables, read and written.
- Files on disk: folders and ``.part`` files used through descriptors; the download journal;
  scanned files read only while they are still the file scanned.
- Progress: what a person watching a transfer sees (tqdm, or click's bar).
- Transfers: the one HTTP engine (urllib3), retries and rate limits, parallel and resumable
  downloads, members of ZIP volumes by byte range (neighbours in one span).
- Repositories (backends): packed volumes; local, http, ftp, s3, figshare and zenodo, one
  upload flow; a pinned index.
- Serving a folder over HTTP: ``onelight serve``.
- The One client: ONE-api's search, list and load methods.
- Module-level API: ``one.search(...)`` on the current repository; ONE's ``alfio`` namespaces.
- Demo data, and last the command-line interface.
"""

from __future__ import annotations

import collections
import collections.abc
import contextlib
import copy
import datetime as _dt
import enum
import errno
import fnmatch
import functools
import io
import itertools
import json
import os
import re
import stat
import string
import sys
import threading
import time
import urllib.parse
import uuid
import warnings
import zlib
from dataclasses import dataclass, field
from pathlib import Path, PosixPath, PurePath, PurePosixPath, PureWindowsPath, WindowsPath

import click


class _LazyModule:
    """A module imported on first use, then put in its place among the globals: commands that
    read no data (``--version``, ``--help``, ``repo``, ``config``, ``add_repo``) start without
    numpy and pandas, nor what they do not use of the standard library."""

    def __init__(self, name: str, alias: str):
        self.__dict__.update(_name=name, _alias=alias)

    def __getattr__(self, attr):
        import importlib

        module = importlib.import_module(self._name)
        globals()[self._alias] = module
        return getattr(module, attr)


np = _LazyModule('numpy', 'np')
pd = _LazyModule('pandas', 'pd')

__version__ = '0.1.0'


class _LazyLogger:
    """The ``onelight`` logger, made on first use and then put in its place: importing
    ``logging`` is a few milliseconds of a start-up that ``--version`` or ``repo`` should not
    pay. The CLI's choice of level (``-v``, ``-q``) waits here until then."""

    setup: tuple | None = None  # (verbose, quiet) from the CLI

    def __getattr__(self, attr):
        import logging

        real = logging.getLogger('onelight')
        globals()['logger'] = real
        if _LazyLogger.setup is not None:
            _configure_logger(real, *_LazyLogger.setup)
        return getattr(real, attr)


logger = _LazyLogger()


# =============================================================================================
# Errors
# =============================================================================================
# Every failure a user can cause raises a subclass of OneLightError. The CLI turns these into
# one line on stderr and exit status 1; library users can catch the specific class.


class OneLightError(Exception):
    """Base class of every error onelight raises on purpose."""


class ConfigError(OneLightError):
    """The configuration file or a repository's settings are missing or malformed."""


class ModeError(ConfigError, ValueError):
    """A ``mode`` that ``One`` does not have (a ValueError, as in ONE)."""


class ALFError(OneLightError, ValueError):
    """A name or path does not follow the ALF specification."""


class IndexFormatError(OneLightError):
    """A ``.one_root`` index is malformed (raised for bad lines only in strict mode)."""


class SearchError(OneLightError, ValueError):
    """A search keyword or value is not understood."""


class NotFoundError(OneLightError, LookupError):
    """A repository, session, object or dataset does not exist."""


class AmbiguousError(OneLightError, LookupError):
    """A request matches several things and must be narrowed (e.g. with ``collection=``)."""


class RepositoryError(OneLightError):
    """A repository cannot be read from or written to."""


class MissingDependencyError(OneLightError, ImportError):
    """An optional dependency is needed for this file type or repository."""


class DataFormatError(OneLightError, ValueError):
    """A data file cannot be loaded (corrupt, or unsafe such as a pickled object array)."""


class AuthError(RepositoryError):
    """The server refused the credentials (or their absence)."""


class TransferError(RepositoryError):
    """A download or upload failed (network, server error, disk)."""


class UnsafeURLError(TransferError):
    """A URL (an index line, a redirect) that onelight refuses to send a request to."""


class MaybeSentError(TransferError):
    """A request that is not safe to repeat (a POST) broke off after it was sent: the
    server may have acted on it."""


class TooLargeError(TransferError):
    """A body, index, table or listing is larger than onelight's cap for it."""


class IntegrityError(TransferError):
    """Downloaded bytes do not match the size or md5 the index or server announced."""


class OfflineError(RepositoryError):
    """Something needs the network while onelight is offline."""


class Interrupted(KeyboardInterrupt):
    """Transfers stopped by Ctrl-C, SIGTERM or SIGHUP once every one of them saved what it
    had (``signum``: the signal; the command line exits with 128 + it)."""

    def __init__(self, message: str = 'interrupted', signum: int = 2):
        super().__init__(message)
        self.signum = signum


# ONE-api's exception names, so that code written for ONE catches what onelight raises. Each
# is also one of onelight's own errors (a missing object is a NotFoundError, and so on).


class ALFInvalid(ALFError):
    """A name or path is not valid ALF (ONE-api's name)."""


class ALFObjectNotFound(NotFoundError, ALFError):
    """No session, object or dataset matches (ONE-api's name)."""


class ALFMultipleObjectsFound(AmbiguousError, ALFError):
    """Several objects or datasets match where one was asked for (ONE-api's name)."""


class ALFMultipleCollectionsFound(AmbiguousError, ALFError):
    """The object or dataset is in several collections: pass ``collection=`` (ONE-api's name)."""


class ALFMultipleRevisionsFound(AmbiguousError, ALFError):
    """Several revisions match where one was asked for (ONE-api's name)."""


class ALFWarning(Warning):
    """A warning about ALF data (ONE-api's name)."""


def plural(n: int, word: str) -> str:
    """``'1 session'``, ``'2 sessions'``, ``'1,204 files'``."""
    return f'{n:,} {word}{"" if n == 1 else "s"}'


def byte_size(n: float) -> str:
    """Bytes for a person: ``'950 bytes'``, ``'2.5 MB'``, ``'1.1 GB'`` (powers of 1,000)."""
    if n < 1000:
        return f'{n:.0f} bytes'
    for unit in ('kB', 'MB', 'GB'):
        n /= 1000
        if n < 1000:
            return f'{n:.1f} {unit}'
    return f'{n / 1000:.1f} TB'


def _printable(text: str, limit: int = 80) -> str:
    """A short, escaped rendering of untrusted text for messages."""
    text = repr(text)[1:-1]
    return text if len(text) <= limit else text[:limit] + '...'


# =============================================================================================
# Configuration
# =============================================================================================
# Where: $ONELIGHT_HOME/{config.json,data,cache} when ONELIGHT_HOME is set, otherwise the
# appdirs user directories for "onelight". The schema follows the original ONE light:
#   {"repositories": [{"name": ..., "type": ..., <type keys>}],
#    "current_repository": name, "download_dir": template}

APP_NAME = 'onelight'
CONFIG_NAME = 'config.json'
INDEX_NAME = '.one_root'
# Secrets are the settings a repository type declares secret; keys whose names suggest a
# secret are masked too, whoever wrote them (an imported config).
_SECRET_NAME_RE = re.compile(r'pwd|pass|secret|key|token', re.IGNORECASE)
SESSION_FIELDS = ('lab', 'subject', 'date', 'number')
DEFAULT_DOWNLOAD_DIR = str(
    Path('{data_dir}', '{repository}', '{lab}', 'Subjects', '{subject}', '{date}', '{number}')
)


def legacy_config_path() -> Path:
    """The configuration file of the original ONE light, imported once if present."""
    return Path.home() / '.one' / CONFIG_NAME


@dataclass(frozen=True)
class Dirs:
    """Where onelight keeps its configuration, downloaded data and caches."""

    config: Path
    data: Path
    cache: Path

    @property
    def config_file(self) -> Path:
        return self.config / CONFIG_NAME


def app_dirs() -> Dirs:
    """Return the configuration, data and cache folders.

    >>> os.environ['ONELIGHT_HOME'] = '/tmp/olh'; app_dirs().cache
    PosixPath('/tmp/olh/cache')
    """
    home = os.environ.get('ONELIGHT_HOME')
    if home:
        root = Path(home).expanduser()
        return Dirs(root, root / 'data', root / 'cache')
    import appdirs

    return Dirs(
        Path(appdirs.user_config_dir(APP_NAME)),
        Path(appdirs.user_data_dir(APP_NAME)),
        Path(appdirs.user_cache_dir(APP_NAME)),
    )


def atomic_write_bytes(path: Path, data, mode: int = 0o644) -> None:
    """Write ``data`` to ``path`` so that readers see the old file or the new one, never a mix.
    ``data`` is bytes, or a function that writes into the file it is given (what is too
    large to hold in memory first).

    The bytes go to a temporary file in the same folder, which then replaces ``path``. The
    file gets ``mode`` (0644 by default: a published ``.one_root`` must be readable by the
    web server; the config passes 0600).
    """
    import tempfile

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f'.{path.name}.', suffix='.tmp', dir=path.parent)
    try:
        with os.fdopen(fd, 'wb') as f:
            data(f) if callable(data) else f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def private_folder(folder: Path) -> Path:
    """``folder`` (made if needed) readable by this user only: onelight's caches hold what
    private repositories list. A folder of someone else's, or one others can still write
    (the chmod failed), is a ConfigError: a name planted there would be written through."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    if os.name != 'nt':
        with contextlib.suppress(OSError):
            if folder.stat().st_mode & 0o077:
                os.chmod(folder, 0o700)
        info = folder.stat()
        if info.st_uid != os.getuid() or info.st_mode & 0o022:
            raise ConfigError(
                f'{folder} belongs to someone else or others can write in it: onelight keeps '
                'its files only in a folder of its own (fix it, or set ONELIGHT_HOME)'
            )
    return folder


_NOFOLLOW = getattr(os, 'O_NOFOLLOW', 0) | getattr(os, 'O_CLOEXEC', 0) | getattr(os, 'O_BINARY', 0)


def read_cache_file(path: Path, limit: int = -1) -> bytes:
    """One of onelight's cache files (at most ``limit`` bytes), never read through a symlink
    (someone else may have planted one); OSError when it is not there or is a link."""
    with os.fdopen(os.open(path, os.O_RDONLY | _NOFOLLOW), 'rb') as f:
        return f.read(limit)


def write_cache_file(path: Path, data) -> None:
    """Write one of onelight's own cache files: 0600, in a 0700 folder (and its cache
    root, when it is one)."""
    path = Path(path)
    cache = app_dirs().cache
    if cache in path.parents:
        private_folder(cache)
    private_folder(path.parent)
    atomic_write_bytes(path, data, mode=0o600)


def parse_json(data):
    """``json.loads`` of text from outside, where nesting too deep for the parser is a
    JSONDecodeError (a ValueError) like any other malformed text, not a RecursionError.

    >>> parse_json('[' * 100000)
    Traceback (most recent call last):
    json.decoder.JSONDecodeError: nested too deeply: line 1 column 1 (char 0)
    """
    try:
        return json.loads(data)
    except RecursionError:
        raise json.JSONDecodeError('nested too deeply', str(data[:0]), 0) from None


# What the JSON parser's messages mean in a hand-edited file.
_JSON_MISTAKES = {
    "Expecting ',' delimiter": 'a comma is missing before this point',
    'Expecting property name enclosed in double quotes': (
        'a name is not in double quotes, or a comma is left before a closing brace'
    ),
    'Expecting value': 'a value is missing (or a comma is left before a closing bracket)',
    "Expecting ':' delimiter": 'a colon is missing after a name',
    'Unterminated string starting at': 'a string is not closed with a double quote',
    'Extra data': 'something follows the closing brace',
    'Invalid control character at': 'a line break or tab inside a string',
}


def read_json_file(path: Path, what: str) -> dict:
    """Read a JSON object from ``path``; a syntax error names the file, line and column."""
    try:
        text = Path(path).read_text(encoding='utf-8-sig')
    except UnicodeDecodeError as e:
        raise ConfigError(f'{what} {path} is not UTF-8 text ({e.reason})') from None
    except OSError as e:
        raise ConfigError(f'cannot read {what} {path}: {e.strerror}') from None
    if not text.strip():
        raise ConfigError(f'{what} {path} is empty: write {{}} in it, or delete it')
    try:
        data = parse_json(text)
    except json.JSONDecodeError as e:
        line = (text.splitlines()[e.lineno - 1 :] or [''])[0].lstrip()
        comment = line.startswith(('//', '/*', '#'))
        raise ConfigError(
            f'{what} {path} is not valid JSON at line {e.lineno} column {e.colno}: '
            + ('JSON has no comments: delete that line' if comment else '')
            + ('' if comment else _JSON_MISTAKES.get(e.msg, e.msg))
        ) from None
    if not isinstance(data, dict):
        raise ConfigError(f'{what} {path} must hold a JSON object, not {type(data).__name__}')
    return data


def default_config() -> dict:
    return {'repositories': [], 'current_repository': None, 'download_dir': DEFAULT_DOWNLOAD_DIR}


def validate_config(cfg: dict, path) -> dict:
    """Check the schema of a configuration and fill in defaults; raise ConfigError if wrong."""
    out = default_config()
    for key in sorted(set(cfg) - set(out)):
        near = nearest_word(key, out)
        raise ConfigError(
            f'config file {path}: unknown key "{key}"'
            + (f' (did you mean "{near}"?)' if near else f' (known: {", ".join(out)})')
        )
    out.update(cfg)
    repos = out['repositories']
    if not isinstance(repos, list) or not all(isinstance(r, dict) for r in repos):
        raise ConfigError(f'config file {path}: "repositories" must be a list of objects')
    repos = out['repositories'] = [_upgrade_legacy_repository(r) for r in repos]
    names = set()
    for i, repo in enumerate(repos):
        name, rtype = repo.get('name'), repo.get('type')
        if not isinstance(name, str) or not name:
            raise ConfigError(f'config file {path}: repository #{i + 1} has no "name"')
        if not is_safe_segment(name):
            raise ConfigError(
                f'config file {path}: repository name {_printable(name)} is not one safe '
                'folder name (no "/", "\\", "..", control characters)'
            )
        if name in names:
            raise ConfigError(f'config file {path}: two repositories are named "{name}"')
        names.add(name)
        if rtype not in REPOSITORY_TYPES:
            raise ConfigError(
                f'config file {path}: repository "{name}" has unknown type '
                f'{rtype!r} (known: {", ".join(sorted(REPOSITORY_TYPES))})'
            )
    current = out['current_repository']
    if current is not None and not isinstance(current, str):
        raise ConfigError(
            f'config file {path}: "current_repository" must be a repository name (text), '
            f'not {type(current).__name__}'
        )
    # a current_repository that names no repository is reported when a command needs it,
    # so that the commands that repair the file ("onelight repo NAME") still run
    if not isinstance(out['download_dir'], str):
        raise ConfigError(f'config file {path}: "download_dir" must be a string')
    check_download_template(out['download_dir'], path)
    return out


def import_legacy_config(dirs: Dirs) -> dict | None:
    """Import the repositories of the original ONE light's ``~/.one/config.json`` once."""
    legacy = legacy_config_path()
    if not legacy.is_file():
        return None
    cfg = read_json_file(legacy, 'legacy ONE light config file')
    repos = [
        r
        for r in cfg.get('repositories', [])
        if isinstance(r, dict) and r.get('type') in REPOSITORY_TYPES and r.get('name')
    ]
    new = {**default_config(), 'repositories': repos}
    if cfg.get('current_repository') in {r['name'] for r in repos}:
        new['current_repository'] = cfg['current_repository']
    elif repos:
        new['current_repository'] = repos[0]['name']
    if isinstance(cfg.get('download_dir'), str):
        with contextlib.suppress(ConfigError):
            check_download_template(cfg['download_dir'], legacy)
            new['download_dir'] = cfg['download_dir']
    new, path = validate_config(new, legacy), dirs.config_file
    save_config(new, path)
    logger.warning('imported %d repositories from %s into %s', len(repos), legacy, path)
    return new


def _upgrade_legacy_repository(repo: dict) -> dict:
    """An original ONE light repository entry in onelight's terms.

    The original's ``add_repo`` stored the http password under ``pwd`` (and then read
    ``password``, so it never authenticated): it becomes ``password``, masked and used.

    >>> _upgrade_legacy_repository({'name': 'a', 'type': 'http', 'login': 'u', 'pwd': 'p'})
    {'name': 'a', 'type': 'http', 'login': 'u', 'password': 'p'}
    """
    repo = dict(repo)
    if 'pwd' in repo:
        repo['password'] = repo.get('password') or repo.pop('pwd')
        repo.pop('pwd', None)
    return repo


def is_secret_key(key: str) -> bool:
    """True for a setting whose value must never be shown (``password``, ``token``, ...)."""
    declared = (cls.declared.get(key) for cls in REPOSITORY_TYPES.values())
    return any(d is not None and d.secret for d in declared) or bool(_SECRET_NAME_RE.search(key))


def load_config(dirs: Dirs | None = None) -> dict:
    """Read the configuration (never rewriting it); defaults when there is none yet."""
    dirs = dirs or app_dirs()
    path = dirs.config_file
    if not path.exists():
        return import_legacy_config(dirs) or default_config()
    return validate_config(read_json_file(path, 'config file'), path)


def save_config(cfg: dict, path: Path | None = None) -> None:
    """Write the configuration atomically with mode 0600 (it can hold tokens), in a folder
    of this user's own."""
    path = path or app_dirs().config_file
    private_folder(path.parent)
    atomic_write_bytes(path, (json.dumps(cfg, indent=2) + '\n').encode(), mode=0o600)


def nearest_word(word: str, choices) -> str | None:
    """The choice a mistyped ``word`` most likely meant (for "did you mean"), or None.

    >>> nearest_word('subjects', ['subject', 'date_range'])
    'subject'
    """
    import difflib

    near = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return near[0] if near else None


def _unknown_keys_hint(unknown: list, backend) -> str:
    """``'; unknown key "rootdir" (did you mean "root_dir"?)'``, or ''."""
    if not unknown:
        return ''
    said = []
    for key in unknown:
        near = nearest_word(key, backend.declared)
        said.append(f'"{key}"' + (f' (did you mean "{near}"?)' if near else ''))
    return f'; unknown key{"s" if len(said) > 1 else ""} {", ".join(said)}'


def mask_secrets(settings: dict) -> dict:
    """Return a copy of repository settings with passwords, tokens and URL credentials masked.

    >>> mask_secrets({'token': 'abc', 'base_url': 'https://u:pw@h/'})
    {'token': '****', 'base_url': 'https://u:****@h/'}
    """
    return {
        k: '****' if v and is_secret_key(k) else mask_url(v) if isinstance(v, str) else v
        for k, v in settings.items()
    }


def mask_url(url: str) -> str:
    """Hide the password in a URL's user-info part."""
    parts = urllib.parse.urlsplit(url) if '://' in url else None
    if not parts or not parts.password:
        return url
    netloc = f'{parts.username}:****@{parts.hostname}' + (f':{parts.port}' if parts.port else '')
    return urllib.parse.urlunsplit(parts._replace(netloc=netloc))


def check_download_template(template: str, origin) -> None:
    """A download-dir template must name every session field so sessions never collide."""
    allowed = {'data_dir', 'repository', *SESSION_FIELDS}
    try:
        fields = {f for _, f, _, _ in string.Formatter().parse(template) if f is not None}
    except ValueError as e:
        raise ConfigError(
            f'{origin}: download_dir template {template!r} is malformed: {e}'
        ) from None
    unknown = fields - allowed
    if unknown:
        raise ConfigError(
            f'{origin}: download_dir template uses unknown field(s) '
            f'{", ".join(sorted(unknown))}; allowed: {", ".join(sorted(allowed))}'
        )
    missing = {'subject', 'date', 'number'} - fields
    if missing:
        raise ConfigError(
            f'{origin}: download_dir template must contain '
            f'{", ".join("{" + m + "}" for m in sorted(missing))}'
        )


def session_download_dir(template: str, *, data_dir: Path, repository: str, **fields) -> Path:
    """Expand a download-dir template into the local folder of one session.

    A legacy template ending in ``/alf/`` names the session folder's ``alf`` collection; the
    session folder is its parent, so collections keep their own sub-paths.

    >>> session_download_dir('/d/{lab}/{subject}/{date}/{number}/alf/', data_dir=Path('/x'),
    ...     repository='r', lab='l', subject='s', date='2020-01-01', number='001')
    PosixPath('/d/l/s/2020-01-01/001')
    """
    values = {'data_dir': str(data_dir), 'repository': repository, **fields}
    for key in ('repository', *SESSION_FIELDS):
        if not is_safe_segment(values[key]):
            raise ConfigError(f'unsafe {key} name for a folder: {values[key]!r}')
    path = Path(os.path.expanduser(template.format(**values)))
    if path.name == 'alf':
        path = path.parent
    return path


# =============================================================================================
# ALF names
# =============================================================================================
# The ALF specification: a session folder lab/Subjects/subject/yyyy-mm-dd/number, then optional
# collections and a #revision# folder, then [_namespace_]object.attribute[_timescale][.extra]*.ext
# The part patterns are those of the ALF specification (ONE-api's one/alf/spec.py).

ALF_PARTS = ('namespace', 'object', 'attribute', 'timescale', 'extra', 'extension')
PATH_PARTS = ('collection', 'revision', *ALF_PARTS)

# The one table of part patterns (ONE-api's one/alf/spec.py), and the shapes they fill. Every
# ALF rule in this module is ``alf_regex(shape)``; a variant is an override of a part, never a
# second regular expression.
ALF_SPEC = {
    'lab': r'\w+',
    'subject': r'[\w.-]+',
    'date': r'\d{4}-\d{2}-\d{2}',
    'number': r'\d{1,3}',
    'collection': r'[\w./-]+',
    'revision': r'[\w.-]+',
    'namespace': r'(?<=_)[a-zA-Z0-9]+',
    'object': r'\w+',
    'attribute': r'(?:_[a-z]+_)?[a-zA-Z0-9]+(?:_times(?=[_.])|_intervals(?=[_.]))?',
    'timescale': r'\w+',
    'extra': r'[.\w-]+',
    'extension': r'\w+',
}
ALF_SHAPES = {
    'session': r'({lab}/Subjects/)?{subject}/{date}/{number}',
    'session_folder': r'{lab}/Subjects/{subject}/{date}/{number}',  # as a repository holds it
    'ref': r'{date}_{number}_{subject}',  # an experiment reference, 2020-01-01_001_subject
    'collection': r'({collection}/)?(#{revision}#/)?',
    'file': r'_?{namespace}?_?{object}\.{attribute}(?:_{timescale})?(?:\.{extra})*\.{extension}',
}
ALF_SHAPES['rel_path'] = ALF_SHAPES['collection'] + ALF_SHAPES['file']
ALF_SHAPES['full_path'] = ALF_SHAPES['session'] + '/' + ALF_SHAPES['rel_path']


def alf_regex(shape: str, **overrides) -> str:
    r"""The pattern of an ALF shape (a name of ALF_SHAPES, or a format string of parts), with
    named groups; ``overrides`` replace a part's pattern.

    >>> re.fullmatch(alf_regex('session'), 'lab/Subjects/m1/2020-01-01/001')['subject']
    'm1'
    >>> re.fullmatch(alf_regex('{subject}', subject=r'\d+'), 'm1') is None
    True
    """
    unknown = set(overrides) - set(ALF_SPEC)
    if unknown:
        raise KeyError(f'unknown ALF part(s): {", ".join(sorted(unknown))}')
    parts = {**ALF_SPEC, **overrides}
    return ALF_SHAPES.get(shape, shape).format(**{k: f'(?P<{k}>{v})' for k, v in parts.items()})


def _tail(pattern: str) -> str:
    """A pattern found as whole segments anywhere in a path."""
    return r'(?:^|/)' + pattern + r'(?=/|$)'


FILE_RE = re.compile(alf_regex('file') + '$')
REL_PATH_RE = re.compile(alf_regex('rel_path') + '$')
FULL_PATH_RE = re.compile(alf_regex('full_path') + '$')
SESSION_RE = re.compile(alf_regex('session'))
SESSION_END_RE = re.compile(alf_regex('session') + '/?$')
# session identifiers given to the API: the tail of a path, with or without its lab
SESSION_TAIL_RE = re.compile(_tail(alf_regex('session')))
SESSION_WITH_LAB_RE = re.compile(_tail(alf_regex('session_folder')))
SESSION_FOLDER_RE = re.compile(alf_regex('session_folder'))  # a repository's session folders
FOLDER_RE = re.compile(alf_regex('session') + '/' + alf_regex('collection') + '$')


def in_session_folder(rel: str) -> bool:
    """Whether a path relative to a repository root names something inside a session folder.

    >>> in_session_folder('lab/Subjects/m1/2020-01-01/001/alf/x.y.npy'), in_session_folder('a/b')
    (True, False)
    """
    m = SESSION_FOLDER_RE.match(rel)
    return m is not None and rel[m.end() : m.end() + 1] == '/' and len(rel) > m.end() + 1


_UNSAFE_CHARS_RE = re.compile(r'[\x00-\x1f\x7f\\:*?"<>|\udc80-\udcff]')


def _match_parts(regex: re.Pattern, text: str, what: str, fields) -> dict:
    m = regex.match(text)
    if not m:
        raise ALFInvalid(f'not a valid ALF {what}: {text!r}')
    return {k: m.group(k) for k in fields}


def parse_filename(name: str) -> dict:
    """Split an ALF file name into its parts; raise ALFError if it is not one.

    >>> parse_filename('_ibl_trials.goCue_times_bpod.csv')['timescale']
    'bpod'
    """
    return _match_parts(FILE_RE, name, 'file name', ALF_PARTS)


def is_alf_filename(name) -> bool:
    """True when ``name`` is a valid ALF file name (``spikes.times.npy`` is, ``foo.npy`` not);
    ONE's ``spec.is_valid``."""
    return FILE_RE.match(str(name)) is not None


def parse_rel_path(path: str) -> dict:
    """Split ``[collection/][#revision#/]filename`` (relative to a session) into parts.

    >>> parse_rel_path('alf/probe00/#2020-08-31#/spikes.times.npy')['collection']
    'alf/probe00'
    """
    return _match_parts(REL_PATH_RE, path.replace('\\', '/'), 'relative path', PATH_PARTS)


def parse_full_path(path: str) -> dict:
    """Split a full ALF path (anything before the session folder is ignored) into parts.

    >>> parse_full_path('/data/lab/Subjects/m1/2020-01-01/001/alf/obj.attr.npy')['subject']
    'm1'
    """
    path = str(path).replace('\\', '/')
    fields = (*SESSION_FIELDS, *PATH_PARTS)
    for m in re.finditer(r'(?:^|/)(?=[^/])', path):
        found = FULL_PATH_RE.match(path, m.end())
        if found:
            return {k: found.group(k) for k in fields}
    raise ALFInvalid(f'not a valid full ALF path: {path!r}')


def is_session_path(path) -> bool:
    """True when ``path`` ends with a session folder (``.../subject/2020-01-01/001``)."""
    return SESSION_END_RE.search(str(path).replace('\\', '/')) is not None


def _one_parts(parts, fields, path, what: str, as_dict: bool, assert_valid: bool):
    """ONE-api's return convention: a tuple (or a dict) of parts, all None when invalid."""
    if parts is None:
        if assert_valid:
            raise ALFInvalid(f'not a valid ALF {what}: {str(path)!r}')
        parts = dict.fromkeys(fields)
    return {k: parts[k] for k in fields} if as_dict else tuple(parts[k] for k in fields)


def session_path_parts(path, as_dict: bool = False, assert_valid: bool = True):
    """The session parts (lab, subject, date, number) found anywhere in ``path``, as ONE-api's
    ``one.alf.path.session_path_parts`` gives them: a tuple, or a dict with ``as_dict``.

    >>> session_path_parts('/mnt/Data/Subjects/m1/2019-12-04/001/alf')
    ('Data', 'm1', '2019-12-04', '001')
    """
    m = SESSION_RE.search(str(path).replace('\\', '/'))
    parts = {k: m.group(k) for k in SESSION_FIELDS} if m else None
    return _one_parts(parts, SESSION_FIELDS, path, 'session path', as_dict, assert_valid)


def filename_parts(filename, as_dict: bool = False, assert_valid: bool = True):
    """namespace, object, attribute, timescale, extra, extension (ONE-api's convention).

    >>> filename_parts('_ibl_trials.goCue_times_bpod.csv')
    ('ibl', 'trials', 'goCue_times', 'bpod', None, 'csv')
    """
    m = FILE_RE.match(str(filename))
    parts = {k: m.group(k) for k in ALF_PARTS} if m else None
    return _one_parts(parts, ALF_PARTS, filename, 'file name', as_dict, assert_valid)


def rel_path_parts(rel_path, as_dict: bool = False, assert_valid: bool = True):
    """collection, revision and the six file name parts (ONE-api's convention)."""
    m = REL_PATH_RE.match(str(rel_path).replace('\\', '/'))
    parts = {k: m.group(k) for k in PATH_PARTS} if m else None
    return _one_parts(parts, PATH_PARTS, rel_path, 'relative path', as_dict, assert_valid)


def full_path_parts(path, as_dict: bool = False, assert_valid: bool = True):
    """lab, subject, date, number, collection, revision and the six file name parts; of a
    folder (a name with fewer than two dots) or a bare file name, the parts it has, as in ONE.

    >>> full_path_parts('spikes.clusters.npy')[6:]
    (None, 'spikes', 'clusters', None, None, 'npy')
    >>> full_path_parts('lab/Subjects/m1/2020-01-01/001/alf')[:5]
    ('lab', 'm1', '2020-01-01', '001', 'alf')
    """
    text = str(path).replace('\\', '/').rstrip('/')
    name = text.rsplit('/', 1)[-1]
    fields = (*SESSION_FIELDS, *PATH_PARTS)
    if name.count('.') < 2:  # a folder
        found = alf_folder_parts(text, as_dict=True, assert_valid=False)
        parts = {**dict.fromkeys(fields), **found} if any(found.values()) else None
        if parts and name not in (*parts.values(), f'#{parts["revision"]}#'):
            parts = None  # the last folder is not one of the parts found
    elif '/' not in text:  # a file name
        m = FILE_RE.match(name)
        parts = {**dict.fromkeys(fields), **m.groupdict()} if m else None
    else:
        try:
            parts = parse_full_path(text)
        except ALFInvalid:
            parts = None
    return _one_parts(parts, fields, path, 'full path', as_dict, assert_valid)


def alf_folder_parts(folder_path, as_dict: bool = False, assert_valid: bool = True):
    """ONE's ``one.alf.path.folder_parts``: lab, subject, date, number, collection and
    revision of a folder path."""
    text = PurePath(folder_path).as_posix() if not isinstance(folder_path, str) else folder_path
    m, fields = (
        FOLDER_RE.search(text.rstrip('/') + '/'),
        (*SESSION_FIELDS, 'collection', 'revision'),
    )
    parts = {k: m.group(k) for k in fields} if m else None
    return _one_parts(parts, fields, folder_path, 'folder path', as_dict, assert_valid)


def get_session_path(path) -> Path | None:
    """The part of ``path`` up to and including its session folder, or None.

    >>> get_session_path('/data/lab/Subjects/m1/2020-01-01/001/alf/spikes.times.npy')
    PosixPath('/data/lab/Subjects/m1/2020-01-01/001')
    """
    text = str(path).replace('\\', '/')
    m = SESSION_RE.search(text)
    return Path(text[: m.end()]) if m else None


def parse_session(session) -> dict:
    """Parse a session path given by a user into lab, subject, date and number.

    Accepts ``lab/Subjects/subject/date/number``, with a trailing slash, with backslashes, as
    the tail of a longer local path, or the path of a file inside the session;
    ``subject/date/number`` leaves ``lab`` as None.

    >>> parse_session('C:\\\\data\\\\lab\\\\Subjects\\\\m1\\\\2020-01-01\\\\1\\\\')['number']
    '1'
    >>> parse_session('/d/lab/Subjects/m1/2020-01-01/001/alf/x.y.npy')['subject']
    'm1'
    """
    text = os.fspath(session) if isinstance(session, os.PathLike) else str(session)
    text = text.replace('\\', '/').rstrip('/')
    # a lab/Subjects/ folder wins over a lab-less match earlier in a long local path
    m = SESSION_WITH_LAB_RE.search(text) or SESSION_TAIL_RE.search(text)
    if not m:
        raise ALFInvalid(
            f'not a session path: {session!r} (expected lab/Subjects/subject/yyyy-mm-dd/number)'
        )
    return {k: m.group(k) for k in SESSION_FIELDS}


# ONE's ALF path objects. ``ALFPath`` is a ``pathlib.Path`` that knows its ALF parts (ONE 3.x
# returns it from ``eid2path`` and from loads with ``download_only``); ``PureALFPath`` does
# the same without touching the disk. The parts come from the grammar above.
def is_uuid_string(text) -> bool:
    """Whether ``text`` is a UUID (version 3, 4 or 5) written in its canonical form.

    >>> is_uuid_string('a976e418-c8b8-4d24-be47-d05120b18341'), is_uuid_string('spikes')
    (True, False)
    """
    return isinstance(text, str) and is_uuid(text, (3, 4, 5)) and str(uuid.UUID(text)) == text


def is_uuid(value, versions=(4, 3)) -> bool:
    """Whether ``value`` (text, int, bytes or UUID) is a UUID of one of ``versions``."""
    if isinstance(value, bool) or not isinstance(value, (uuid.UUID, str, bytes, int)):
        return False
    kind = 'int' if isinstance(value, int) else 'bytes' if isinstance(value, bytes) else 'hex'
    try:
        parsed = value if isinstance(value, uuid.UUID) else uuid.UUID(**{kind: value})
    except (ValueError, TypeError, AttributeError):
        return False
    return parsed.version in versions


def _as_uuid(text) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(text))
    except ValueError:
        return None


def add_uuid_string(file_path, uuid_):
    """``obj.attr.ext`` -> ``obj.attr.<uuid>.ext`` (an id already there is replaced).

    >>> add_uuid_string('/d/trials.intervals.npy', 'a976e418-c8b8-4d24-be47-d05120b18341').name
    'trials.intervals.a976e418-c8b8-4d24-be47-d05120b18341.npy'
    """
    if isinstance(uuid_, str) and not is_uuid_string(uuid_):
        raise ValueError(f'not a UUID: {uuid_!r}')
    file_path = Path(file_path) if isinstance(file_path, str) else file_path
    parts = file_path.stem.split('.')
    if is_uuid(parts[-1]):
        parts = parts[:-1]
    return file_path.parent.joinpath(f'{".".join(parts)}.{uuid_}{file_path.suffix}')


def remove_uuid_string(file_path):
    """``obj.attr.<uuid>.ext`` -> ``obj.attr.ext`` (no id: the same path)."""
    file_path = Path(file_path) if isinstance(file_path, str) else file_path
    parts = file_path.stem.split('.')
    if is_uuid_string(parts[-1]):
        file_path = file_path.with_name('.'.join(parts[:-1]) + file_path.suffix)
    return file_path


def padded_sequence(file_path):
    """The same path with its session number zero-padded (``.../2023-01-01/1/x`` ->
    ``.../2023-01-01/001/x``); ValueError without a session folder."""
    file_path = ensure_alf_path(file_path)
    session = file_path.session_path()
    if session is None:
        raise ValueError('path must include a valid ALF session path, e.g. subject/YYYY-MM-DD/N')
    depth = len(file_path.parts) - len(session.parts)
    return file_path.parents[depth].joinpath(session.name.zfill(3), file_path.relative_to(session))


def without_revision(file_path):
    """A dataset path without its ``#revision#`` folder (ALFInvalid when its folders are not
    session/collection/revision).

    >>> without_revision('/s/2023-01-01/001/alf/#v1#/obj.attr.ext').as_posix()
    '/s/2023-01-01/001/alf/obj.attr.ext'
    """
    path = Path(file_path) if isinstance(file_path, str) else file_path
    *_, collection, _ = alf_folder_parts(path.parent)
    session = ensure_alf_path(path).session_path()
    return type(path)(session).joinpath(*filter(None, (collection, path.name)))


def get_alf_path(path) -> str | None:
    """The ALF part of a path: from its session folder on, else the relative path, else the
    file name; None if there is none.

    >>> get_alf_path('etc/etc/subj/2021-01-21/001/collection/file.attr.ext')
    'subj/2021-01-21/001/collection/file.attr.ext'
    """
    text = (path if isinstance(path, str) else PurePath(path).as_posix()).strip('/')
    m = SESSION_RE.search(text)
    if m:
        return text[m.start() :]
    name = text.rsplit('/', 1)[-1]
    if FILE_RE.match(name):
        return text if REL_PATH_RE.match(text) else name
    return None


def _path_class(path) -> type:
    """The ALFPath class standing for a pathlib class."""
    if isinstance(path, Path):
        return ALFPath
    if isinstance(path, PureWindowsPath) and not isinstance(path, PurePosixPath):
        return PureWindowsALFPath
    return PurePosixALFPath if isinstance(path, PurePath) else ALFPath


def ensure_alf_path(path):
    """``path`` as an ALFPath (a pure one for a pure pathlib path); a list gives a list."""
    if isinstance(path, PureALFPath):
        return path
    if isinstance(path, (str, PurePath)):
        return _path_class(path)(path)
    if isinstance(path, (list, tuple)) or hasattr(path, '__next__'):
        return [ensure_alf_path(p) for p in path]
    raise TypeError(f'expected os.PathLike type, got {type(path)} instead')


def _checked_part(part: str, value) -> str:
    if not (isinstance(value, str) and re.fullmatch(ALF_SPEC[part], value)):
        raise ValueError(f'invalid ALF {part}: {value!r}')
    return value


class PureALFPath(PurePath):
    """A pure path that knows its ALF parts, as ONE's ``PureALFPath``.

    >>> p = PureALFPath('lab/Subjects/m1/2020-01-01/001/alf/#v2#/_ibl_trials.goCue_times.npy')
    >>> p.subject, p.collection, p.revision, p.namespace, p.object, p.attribute
    ('m1', 'alf', 'v2', 'ibl', 'trials', 'goCue_times')
    >>> p.with_revision('v3').without_lab().as_posix()
    'm1/2020-01-01/001/alf/#v3#/_ibl_trials.goCue_times.npy'
    """

    def __new__(cls, *args):
        if cls is PureALFPath:
            cls = PureWindowsALFPath if os.name == 'nt' else PurePosixALFPath
        return super().__new__(cls, *args)

    # ------------------------------------------------------------------------- what it is
    def is_dataset(self) -> bool:
        """Whether the name is an ALF file name."""
        return is_alf_filename(self.name)

    def is_valid_alf(path) -> bool:
        """Whether the path matches any part of the ALF spec (a method or a static call)."""
        try:
            return any(full_path_parts(path))
        except ALFInvalid:
            return False

    def is_session_path(path) -> bool:
        """Whether the path ends with a session folder (a method or a static call)."""
        return is_session_path(path)

    # ---------------------------------------------------------------------------- its parts
    def session_path(self):
        """The path up to and including its session folder, or None."""
        m = SESSION_RE.search(self.as_posix())
        if m is None:
            return None
        depth = len(PurePosixPath(self.as_posix()[m.end() :].strip('/')).parts)
        return self.parents[depth - 1] if depth else self

    def session_path_short(self, include_lab: bool = False) -> str | None:
        """``subject/date/number`` (``lab/subject/date/number`` with ``include_lab``)."""
        parts = self.session_parts[0 if include_lab else 1 :]
        return '/'.join(p for p in parts if p) if any(parts) else None

    def without_lab(self):
        """The path without its ``lab/Subjects/`` folders (the same path without them)."""
        text = self.as_posix()
        m = re.search(alf_regex('{lab}/Subjects/'), text)
        return type(self)(text[: m.start()] + text[m.end() :]) if m else self

    def relative_to_lab(self):
        """The path from the subject folder on; ValueError without ``lab/Subjects/``."""
        m = re.search(alf_regex('{lab}/Subjects/'), self.as_posix())
        if m is None:
            raise ValueError(f'{self} does not contain <lab>/Subjects pattern')
        return type(self)(self.as_posix()[m.end() :])

    def relative_to_session(self):
        """The path from the session folder; ValueError without one."""
        session = self.session_path()
        if session is None:
            raise ValueError(f'{self} does not contain session path pattern')
        return self.relative_to(session)

    def parse_alf_path(self, as_dict: bool = True):
        return full_path_parts(self, as_dict=as_dict, assert_valid=False)

    def parse_alf_name(self, as_dict: bool = True):
        return filename_parts(self.name, as_dict=as_dict, assert_valid=False)

    @property
    def dataset_name_parts(self) -> tuple:
        return tuple(p or '' for p in self.parse_alf_name(as_dict=False))

    @property
    def session_parts(self) -> tuple:
        return tuple(p or '' for p in session_path_parts(self, assert_valid=False))

    @property
    def alf_parts(self) -> tuple:
        return tuple(p or '' for p in self.parse_alf_path(as_dict=False))

    lab = property(lambda self: self.session_parts[0], doc='the lab, or ""')
    subject = property(lambda self: self.session_parts[1], doc='the subject, or ""')
    date = property(lambda self: self.session_parts[2], doc='the date, or ""')
    sequence = property(lambda self: self.session_parts[3], doc='the number, or ""')
    collection = property(lambda self: self.alf_parts[4], doc='the collection, or ""')
    revision = property(lambda self: self.alf_parts[5], doc='the revision, or ""')
    namespace = property(lambda self: self.dataset_name_parts[0], doc='the namespace, or ""')
    object = property(lambda self: self.dataset_name_parts[1], doc='the object, or ""')
    attribute = property(lambda self: self.dataset_name_parts[2], doc='the attribute, or ""')
    timescale = property(lambda self: self.dataset_name_parts[3], doc='the timescale, or ""')
    extra = property(lambda self: self.dataset_name_parts[4], doc='the extra parts, or ""')

    # -------------------------------------------------------------- changing session parts
    def _session_sub(self, replace: str):
        """Replace ``subject/date/number`` by ``replace`` (a template of its groups)."""
        text = self.as_posix()
        m = re.search(_tail(alf_regex('{subject}/{date}/{number}')), text)
        if m is None:
            raise ALFInvalid(str(self))
        new = replace.format(**m.groupdict())
        return type(self)(text[: m.start('subject')] + new + text[m.end('number') :])

    def with_lab(self, lab, strict: bool = False):
        """The path with lab ``lab`` (``lab/Subjects/`` added unless ``strict``)."""
        _checked_part('lab', lab)
        if not self.subject or (strict and not self.lab):
            raise ALFInvalid(str(self))
        text = self.without_lab().as_posix()
        m = re.search(_tail(alf_regex('{subject}/{date}/{number}')), text)
        at = m.start('subject')
        return type(self)(text[:at] + f'{lab}/Subjects/' + text[at:])

    def with_subject(self, subject):
        _checked_part('subject', subject)
        return self._session_sub(subject + '/{date}/{number}')

    def with_date(self, date):
        if date and not isinstance(date, str):
            date = date.strftime('%Y-%m-%d')
        _checked_part('date', date)
        return self._session_sub('{subject}/' + date + '/{number}')

    def with_sequence(self, number):
        if isinstance(number, str) and number.isdigit():
            number = int(number)
        if not isinstance(number, int) or not 0 <= number <= 999:
            raise ValueError(f'invalid ALF number: {number!r}')
        return self._session_sub('{subject}/{date}/' + f'{number:03d}')

    def with_padded_sequence(path):
        return padded_sequence(path)

    # ----------------------------------------------------------------- changing the name
    def _name_parts(self) -> dict:
        if not self.is_dataset():
            raise ALFInvalid(str(self))
        return self.parse_alf_name(as_dict=True)

    def _with_name_parts(self, **changes):
        parts = {**self._name_parts(), **changes}
        return self.with_name(to_alf(**parts))

    def with_object(self, obj):
        return self._with_name_parts(object=obj)

    def with_namespace(self, ns):
        return self._with_name_parts(namespace=ns or None)

    def with_attribute(self, attr):
        return self._with_name_parts(attribute=attr)

    def with_timescale(self, timescale):
        return self._with_name_parts(timescale=timescale or None)

    def with_extra(self, extra, append: bool = False):
        """The name with extra parts ``extra`` (a string or a list), or added to the ones it
        has with ``append``; None or '' removes them."""
        extra = [extra] if isinstance(extra, str) else list(extra or [])
        old = self._name_parts()['extra']
        parts = ([old] if append and old else []) + [e for e in extra if e]
        return self._with_name_parts(extra='.'.join(parts) or None)

    def with_extension(self, ext):
        self._name_parts()
        return self.with_suffix(f'.{ext}')

    def with_uuid(self, uuid_):
        self._name_parts()
        return add_uuid_string(self, uuid_)

    def without_uuid(self):
        return remove_uuid_string(self) if self.is_dataset() else self

    # --------------------------------------------------------- changing the folder parts
    def with_collection(self, collection):
        """The path with collection ``collection`` (between session and revision); a
        ValueError for a bad name or a path without session parts."""
        collection = PurePath(collection or '').as_posix().strip('/')
        if not (collection and re.fullmatch(ALF_SPEC['collection'], collection)):
            raise ValueError(f'invalid ALF collection: {collection!r}')
        if not self.session_path():
            raise ValueError('cannot add a collection to a path without subject/date/number')
        if self.is_session_path():
            return self.joinpath(collection)
        text = self.as_posix()
        if not self.is_dataset():
            if not re.fullmatch(
                alf_regex('collection'), self.relative_to_session().as_posix() + '/'
            ):
                raise ALFInvalid(str(self))
            text += '/'
        shape = '{subject}/{date}/{number}/' + ALF_SHAPES['collection']
        m = re.search(alf_regex(shape), text)
        revision = f'#{m["revision"]}#/' if m['revision'] else ''
        new = f'{m["subject"]}/{m["date"]}/{m["number"]}/{collection}/{revision}'
        return type(self)(text[: m.start()] + new + text[m.end() :])

    def with_revision(self, revision):
        """The path with ``#revision#`` (added, or replacing the one it has); ALFInvalid for
        a path relative to its session (too ambiguous to tell)."""
        if not (isinstance(revision, str) and re.fullmatch(ALF_SPEC['revision'], revision)):
            raise ALFInvalid(f'invalid ALF revision: {revision!r}')
        if PureALFPath.is_dataset(self):
            return self.without_revision().parent / f'#{revision}#' / self.name
        return self.without_revision() / f'#{revision}#'

    def without_revision(self):
        """The path without its ``#revision#`` folder (the same path without one)."""
        if PureALFPath.is_dataset(self):
            return without_revision(self)
        if not self.is_valid_alf():
            raise ALFInvalid(f'{self} is not a valid ALF path or is relative to its session')
        if re.fullmatch(f'#{ALF_SPEC["revision"]}#', self.name):
            return self.parent
        return self


class ALFPath(Path, PureALFPath):
    """A ``pathlib.Path`` that knows its ALF parts (ONE's ``ALFPath``): what ``eid2path``
    and ``download_only`` loads return."""

    def __new__(cls, *args, **kwargs):
        if cls is ALFPath:
            cls = WindowsALFPath if os.name == 'nt' else PosixALFPath
        return super().__new__(cls, *args, **kwargs)

    def is_dataset(self) -> bool:
        """An ALF file name that is not a folder on disk."""
        return not self.is_dir() and is_alf_filename(self.name)

    def is_session_path(self) -> bool:
        """A session folder path that is not a file on disk."""
        return not self.is_file() and is_session_path(self)

    def is_valid_alf(path) -> bool:
        """As ``PureALFPath.is_valid_alf``, and a file name that is a folder on disk (or a
        folder name that is a file) is not valid."""
        try:
            parsed = full_path_parts(path, as_dict=True)
        except ALFInvalid:
            return False
        if isinstance(path, str):
            path = Path(path)
        is_dataset = parsed['object'] is not None
        if hasattr(path, 'is_file') and path.is_file():
            return is_dataset
        if hasattr(path, 'is_dir') and path.is_dir():
            return not is_dataset
        return True

    def iter_datasets(self, recursive: bool = False):
        """The ALF datasets in this folder (and below with ``recursive``), sorted."""
        found = self.rglob('*.*.*') if recursive else self.glob('*.*.*')
        for path in sorted(found):
            if path.is_file() and is_alf_filename(path.name):
                yield path


class PurePosixALFPath(PurePosixPath, PureALFPath):
    """PureALFPath with POSIX separators."""


class PureWindowsALFPath(PureWindowsPath, PureALFPath):
    """PureALFPath with Windows separators."""


class PosixALFPath(PosixPath, ALFPath):
    """ALFPath on POSIX systems."""


class WindowsALFPath(WindowsPath, ALFPath):
    """ALFPath on Windows."""


def to_alf(object, attribute, extension, namespace=None, timescale=None, extra=None) -> str:
    """An ALF file name from its parts, as ONE's ``spec.to_alf``: object, attribute and
    timescale in camel case (``'ephys clock'`` -> ``ephysClock``), a tuple of timescales
    joined by ``_``, ``extra`` a string or a list.

    >>> to_alf('spikes', 'times', 'npy', namespace='ibl', timescale=('ephys clock', 'minutes'))
    '_ibl_spikes.times_ephysClock_minutes.npy'
    """
    if not extension:
        raise TypeError('An extension must be provided')
    extension = extension[1:] if extension.startswith('.') else extension
    timescales = [timescale] if isinstance(timescale, str) else list(timescale or [])
    if any(p is not None and '.' in p for p in (object, attribute, namespace, extension)) or any(
        '.' in t for t in timescales if t
    ):
        raise ValueError('ALF parts must not contain a period (`.`)')
    if '_' in (namespace or ''):
        raise ValueError('Namespace must not contain extra underscores')
    if object.startswith('_'):
        raise ValueError('Objects must not contain underscores; use namespace arg instead')
    timescale = '_'.join(_camel(t) for t in timescales if t)
    m = re.search('_(times|timestamps|intervals)$', attribute)
    cut = m.start() if m else len(attribute)
    attribute = _camel(attribute[:cut]) + attribute[cut:]
    extra = extra.split('.') if isinstance(extra, str) else list(extra or [])
    head = (f'_{namespace}_' if namespace else '') + _camel(object)
    parts = (head, attribute + (f'_{timescale}' if timescale else ''), *extra, extension)
    return '.'.join(parts)


def _camel(text: str) -> str:
    """Camel case of words split by spaces or underscores, all-capital words kept
    (``'mpci ROIs'`` -> ``'mpciROIs'``)."""
    if not text:
        return text
    first, *rest = re.split(r'[_\s]', text)
    if not rest:
        return first[0].lower() + first[1:]

    def capital(word: str) -> bool:
        return re.fullmatch(r'[A-Z]+s?', word) is not None

    return (first if capital(first) else first.lower()) + ''.join(
        w if capital(w) else w.capitalize() for w in rest
    )


def readable_alf(name: str, capitalize: bool = False) -> str:
    """A camel-case ALF part as words, acronyms kept (``'someROIDataset'`` -> ``'some ROI
    dataset'``), as ONE's ``spec.readableALF``."""
    starts = [m.start() for m in re.finditer(r'[A-Z](?=[a-rt-z0-9])|(?<=[a-z0-9])[A-Z]', name)]
    bounds = [0, *starts, len(name)]
    words = [name[i:j] for i, j in zip(bounds, bounds[1:]) if i < j or not name]
    text = ' '.join(w if re.fullmatch(r'[A-Z]+s?', w) else w.lower() for w in words)
    return text[:1].upper() + text[1:] if capitalize else text


class QC(enum.IntEnum):
    """Dataset QC outcomes, as Alyx and ONE number them (``QC.validate('fail')``)."""

    CRITICAL = 50
    FAIL = 40
    WARNING = 30
    NOT_SET = 0
    PASS = 10

    @staticmethod
    def validate(value) -> QC:
        """The QC of a QC, an int or a name (any case); ValueError otherwise."""
        if isinstance(value, QC):
            return value
        if isinstance(value, str):
            if value.isnumeric():
                return QC(int(value))
            try:
                return QC[value.upper()]
            except KeyError:
                raise ValueError(f'{value} is not a valid QC') from None
        return QC(value)


QC_LEVELS = tuple(q.name for q in sorted(QC))  # in ONE's order: NOT_SET, PASS, ... CRITICAL


def qc_levels(values) -> pd.Categorical:
    """QC values as ONE's ordered levels, worked out once per distinct value: none is
    NOT_SET, a name ONE does not know is missing (code -1)."""
    values, dtype = pd.Categorical(values), pd.CategoricalDtype(QC_LEVELS, ordered=True)
    if values.dtype == dtype:
        return values
    names = values.categories.astype(str)
    codes = np.array([QC_LEVELS.index(q) if q in QC_LEVELS else -1 for q in names] + [0])
    return pd.Categorical.from_codes(codes[values.codes], dtype=dtype)


# Session ids (eids). Every session has one UUID, the same for everyone, on every machine and
# in every copy of a repository: uuid3 of its normalised path under this fixed namespace
# (uuid3, not uuid5: ONE-api's eid2path accepts only versions 3 and 4).
SESSION_NAMESPACE = uuid.UUID('11d5742a-a161-4da2-874e-24f909dec590')
_REF_RE = re.compile(alf_regex('ref'))
_UUID_RE = re.compile(r'[0-9a-fA-F]{8}-?(?:[0-9a-fA-F]{4}-?){3}[0-9a-fA-F]{12}')


def normalised_session(lab: str, subject: str, date: str, number) -> str:
    """``lab/Subjects/subject/date/NNN`` (the number padded to three digits)."""
    return f'{lab}/Subjects/{subject}/{date}/{int(number):03d}'


def session_eid(session: str) -> uuid.UUID:
    """The stable id of a session path (``lab/Subjects/subject/date/number``).

    >>> str(session_eid('lab/Subjects/m1/2020-01-01/1')) == str(
    ...     session_eid('lab/Subjects/m1/2020-01-01/001'))
    True
    """
    return _eid(**parse_session(session))


def _eid(lab: str, subject: str, date: str, number) -> uuid.UUID:
    return uuid.uuid3(SESSION_NAMESPACE, normalised_session(lab, subject, date, number))


def uuid3_texts(namespaces, names) -> list:
    """``[str(uuid.uuid3(UUID(bytes=ns), name)) for ns, name in zip(namespaces, names)]``,
    formatted together (for tables of many datasets: one md5 each, the rest on arrays).

    >>> eid = session_eid('lab/Subjects/m1/2020-01-01/001')
    >>> names = ['alf/spikes.times.npy', 'alf/trials.intervals.npy']
    >>> uuid3_texts([eid.bytes] * 2, names) == [str(uuid.uuid3(eid, n)) for n in names]
    True
    """
    import hashlib

    md5 = hashlib.md5
    digests = b''.join(
        [
            md5(ns + name.encode('utf-8'), usedforsecurity=False).digest()
            for ns, name in zip(namespaces, names)
        ]
    )
    raw = np.frombuffer(digests, np.uint8).reshape(-1, 16).copy()
    raw[:, 6] = (raw[:, 6] & 0x0F) | 0x30  # version 3
    raw[:, 8] = (raw[:, 8] & 0x3F) | 0x80  # the RFC 4122 variant
    hexed = np.frombuffer(raw.tobytes().hex().encode('ascii'), np.uint8).reshape(-1, 32)
    text = np.full((len(raw), 36), ord('-'), np.uint8)
    text[:, [i for i in range(36) if i not in (8, 13, 18, 23)]] = hexed
    return text.view('S36').ravel().astype('U36').tolist()


def parse_session_id(session):
    """What a user's session identifier names: an eid (``uuid.UUID``) or session parts.

    Accepted: a UUID (``uuid.UUID`` or text, any case), an experiment reference
    (``'2021-03-10_1_SWC_043'`` or ``{'subject', 'date', 'sequence'}``), a dict of session
    parts, or a path (see ``parse_session``).

    >>> parse_session_id('2021-03-10_1_SWC_043')
    {'lab': None, 'subject': 'SWC_043', 'date': '2021-03-10', 'number': '1'}
    """
    if isinstance(session, uuid.UUID):
        return session
    if isinstance(session, dict):
        number = session.get('number', session.get('sequence'))
        if not session.get('subject') or session.get('date') is None or number is None:
            raise ALFInvalid(
                f'not a session reference: {session!r} (expected subject, date and sequence)'
            )
        date = session['date']
        date = date.isoformat() if isinstance(date, _dt.date) else str(date)[:10]
        return {
            'lab': session.get('lab'),
            'subject': str(session['subject']),
            'date': date,
            'number': str(int(number)),
        }
    text = os.fspath(session) if isinstance(session, os.PathLike) else str(session)
    if _UUID_RE.fullmatch(text.strip()):
        return uuid.UUID(text.strip())
    url = re.fullmatch(r'https?://\S+/sessions/(' + _UUID_RE.pattern + r')/?', text.strip())
    if url:  # a session's page on an Alyx database names its eid
        return uuid.UUID(url.group(1))
    m = _REF_RE.fullmatch(text.strip())
    if m:
        return {'lab': None, **{k: m.group(k) for k in ('subject', 'date', 'number')}}
    return parse_session(session)


def is_safe_segment(segment: str) -> bool:
    """True when one path segment can be written under a folder on every OS without escaping it.

    A segment that percent-decodes (repeatedly, any case) to an unsafe one is unsafe too:
    other clients join index paths to URLs unencoded, and web servers decode ``%2e%2e``.

    >>> [is_safe_segment(s) for s in ('..', 'C:', 'a/b', 'alf')]
    [False, False, False, True]
    >>> is_safe_segment('%2E%2e'), is_safe_segment('a%252fb'), is_safe_segment('%23v2%23')
    (False, False, True)
    """
    if not _is_plain_safe_segment(segment):
        return False
    if '%' not in segment:
        return True
    decoded = percent_decoded(segment)
    return '/' not in decoded and _is_plain_safe_segment(decoded)


def _is_plain_safe_segment(segment: str) -> bool:
    return (
        bool(segment)
        and segment not in ('.', '..')
        and '/' not in segment
        and len(segment.encode('utf-8', 'replace')) <= 255
        and not _UNSAFE_CHARS_RE.search(segment)
        and segment == segment.strip()
        and not segment.endswith('.')  # Windows drops trailing dots: '...' would be '.'
    )


def percent_decoded(text: str) -> str:
    """``text`` percent-decoded until nothing changes (invalid UTF-8 as surrogates).

    >>> percent_decoded('%252e%2E')
    '..'
    """
    while '%' in text:
        decoded = urllib.parse.unquote(text, errors='surrogateescape')
        if decoded == text:
            break
        text = decoded
    return text


def is_safe_relpath(path: str) -> bool:
    """True for a ``/``-separated relative path whose every segment is safe."""
    return (
        bool(path)
        and not path.startswith('/')
        and len(path) <= 4096
        and all(is_safe_segment(s) for s in path.split('/'))
    )


def safe_join(root: Path, rel: str) -> Path:
    """``root / rel`` for an index path, refusing anything that could leave ``root``."""
    if not is_safe_relpath(rel):
        raise RepositoryError(f'unsafe path refused: {_printable(rel)}')
    return Path(root, rel)  # every segment is safe: pathlib splits at '/' on every OS


def folder_parts(dirs: str) -> dict:
    """Collection and revision of the folders between a session folder and a file.

    >>> folder_parts('alf/probe00/#2021-01-01#/')
    {'collection': 'alf/probe00', 'revision': '2021-01-01', 'is_alf': True}
    """
    dirs = dirs.strip('/')
    collection, revision = dirs, None
    last = dirs.rsplit('/', 1)[-1]
    if len(last) > 2 and last.startswith('#') and last.endswith('#'):
        revision = last[1:-1]
        collection = dirs[: -len(last)].rstrip('/')
    is_alf = (
        (not collection or re.fullmatch(ALF_SPEC['collection'], collection))
        and (revision is None or re.fullmatch(ALF_SPEC['revision'], revision))
        and '#' not in collection
    )
    return {'collection': collection or None, 'revision': revision, 'is_alf': bool(is_alf)}


def dataset_parts(filename: str, dirs: str = '') -> dict:
    """Collection, revision and ALF parts of a file inside a session (parts None if not ALF).

    ``dirs`` is the folder path between the session folder and the file, e.g. ``alf/#v2#``.
    """
    out = folder_parts(dirs)
    m = FILE_RE.match(filename)
    out['is_alf'] = bool(m and out['is_alf'])
    out.update({k: (m.group(k) if m else None) for k in ALF_PARTS})
    return out


def wildcard_regex(patterns) -> re.Pattern:
    """Compile one or several globs (``*``, ``?``, ``[...]``, as ONE's filters and
    ``fnmatch``) into one full-match regex.

    >>> bool(wildcard_regex(['trials.*', 'wheel']).fullmatch('trials.goCue_times'))
    True
    >>> [bool(wildcard_regex('probe0[0-9]').fullmatch(c)) for c in ('probe01', 'probe0a')]
    [True, False]
    """
    if isinstance(patterns, str):
        patterns = [patterns]
    alts = [fnmatch.translate(str(p)) for p in patterns]
    return re.compile('(?:' + '|'.join(alts) + ')', re.DOTALL)


# =============================================================================================
# Loaders
# =============================================================================================
# File contents by extension, and ALF objects assembled from files exactly as ONE-api's
# ``one.alf.io.load_object`` does: keys ``attribute[_timescale][.extra]``, (n, 1) arrays
# flattened, ``metadata.json`` columns honoured, ``table`` files merged into columns, (2, 2)
# timestamps interpolated, a warning on inconsistent lengths.


class Bunch(dict):
    """A dict whose keys are also attributes (``trials.goCue_times``), with ``to_df()``."""

    def __getattr__(self, name):
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None

    def __setattr__(self, name, value):
        self[name] = value

    def __dir__(self):
        return sorted(set(super().__dir__()) | {k for k in self if k.isidentifier()})

    @property
    def check_dimensions(self) -> int:
        """0 when the attributes have consistent lengths (ALF broadcasting rules), else 1 (a
        property, as ONE's ``AlfBunch.check_dimensions``)."""
        return check_dimensions(self)

    def to_df(self) -> pd.DataFrame:
        """A DataFrame of the attributes; 2-D arrays become ``key_0``, ``key_1``... columns
        (at most 10), an (n, 1) array one column ``key``.

        >>> list(Bunch(x=np.zeros((3, 1)), y=np.zeros((3, 2))).to_df().columns)
        ['x', 'y_0', 'y_1']
        """
        if check_dimensions(self) != 0:
            raise DataFormatError('attributes have inconsistent lengths; cannot make a table')
        columns = {}
        for key, value in self.items():
            if not isinstance(value, np.ndarray) or value.ndim == 0:
                continue
            if value.ndim == 1:
                columns[key] = value
            elif value.ndim == 2 and value.shape[1] == 1:
                columns[key] = value[:, 0]
            elif value.ndim == 2:
                for i in range(min(value.shape[1], 10)):
                    columns[f'{key}_{i}'] = value[:, i]
            else:
                logger.warning('%s has %d dimensions: left out of the table', key, value.ndim)
        return pd.DataFrame(columns)

    def append(self, other: dict, inplace: bool = False) -> Bunch:
        """Concatenate another Bunch with the same keys along the first axis (trials of two
        sessions, say); a new Bunch unless ``inplace``. An empty side gives the other (handy
        in a loop), as in ONE.

        >>> Bunch(a=np.arange(2)).append(Bunch(a=np.arange(3))).a
        array([0, 1, 0, 1, 2])
        >>> Bunch().append({'a': [1]})
        {'a': [1]}
        """
        if not other:
            return self if inplace else Bunch(copy.deepcopy(dict(self)))
        if not self:
            if inplace:
                self.update(copy.deepcopy(dict(other)))
                return self
            return Bunch(copy.deepcopy(dict(other)))
        if set(self) != set(other):
            raise NotImplementedError('append needs two Bunches with the same keys')
        out = self if inplace else Bunch(copy.deepcopy(dict(self)))
        for key, value in other.items():
            mine = out[key]
            if isinstance(mine, pd.DataFrame):
                out[key] = pd.concat([mine, value], ignore_index=True)
            elif isinstance(mine, np.ndarray) or isinstance(value, np.ndarray):
                out[key] = np.concatenate([np.asarray(mine), np.asarray(value)], axis=0)
            elif isinstance(mine, list):
                out[key] = mine + list(value)
            else:  # kept as it is, as in ONE
                logger.warning('cannot append %r: a %s; use pandas for that', key, type(mine))
        if out.check_dimensions:
            sizes = ', '.join(f'{k} {np.shape(v)}' for k, v in out.items())
            logger.warning('inconsistent dimensions after append: %s', sizes)
        return out

    @staticmethod
    def from_df(df: pd.DataFrame) -> Bunch:
        """A Bunch of a DataFrame's columns; ``x_0``/``x_1`` columns become one (n, 2) array.

        >>> sorted(Bunch.from_df(pd.DataFrame({'t_0': [0.], 't_1': [1.], 'c': [3]})))
        ['c', 't']
        """
        return Bunch(_paired({c: df[c].to_numpy() for c in df.columns}))


def check_dimensions(bunch: dict) -> int:
    """Consistency of first dimensions per ALF: each is 1 or the largest; (2, 2) timestamps ok."""
    shapes = [
        v.shape[0]
        for k, v in bunch.items()
        if isinstance(v, (np.ndarray, pd.DataFrame)) and v.ndim and not k.startswith('timestamps')
    ]
    for key, value in bunch.items():
        if key.startswith('timestamps') and isinstance(value, np.ndarray):
            if value.ndim == 1 or (value.ndim == 2 and value.shape[1] == 1):
                shapes.append(value.shape[0])
            elif value.ndim > 1 and value.shape != (2, 2):
                return 1
    return int(bool(shapes) and not set(shapes) <= {max(shapes), 1})


def timestamps_to_vector(ts: np.ndarray, n_samples: int) -> np.ndarray:
    """Interpolate (2, 2) ``[sample, time]`` sync pairs to one time per sample.

    >>> timestamps_to_vector(np.array([[0, 0.], [10, 1.]]), 3)
    array([0. , 0.1, 0.2])
    """
    if ts.ndim == 1:
        return ts
    if ts.ndim == 2 and ts.shape[1] == 1:
        return ts.reshape(-1)
    if ts.ndim > 2 or ts.shape[1] != 2:
        raise DataFormatError(f'timestamps of shape {ts.shape}: expected (2, 2) or (n,)')
    return np.interp(np.arange(n_samples), ts[:, 0], ts[:, 1])


def _flat(arr: np.ndarray) -> np.ndarray:
    return arr.reshape(-1) if arr.ndim == 2 and arr.shape[1] == 1 else arr


MMAP_MIN_BYTES = 1 << 20  # smaller .npy files are read at once: mapping costs more


def _load_npy(path: Path):
    """A ``.npy`` array, writable as ONE-api's are: read into memory when small, otherwise
    memory-mapped copy-on-write (lazy like a read-only map; edits never reach the file)."""
    try:
        mmap = 'c' if os.path.getsize(path) >= MMAP_MIN_BYTES else None
        return _flat(np.load(path, mmap_mode=mmap, allow_pickle=False))
    except ValueError as e:
        if 'pickle' in str(e) or 'object' in str(e).lower():
            raise DataFormatError(
                f'{path.name} holds pickled Python objects; onelight does not '
                'unpickle data (numpy.load(path, allow_pickle=True) if you '
                'trust its source)'
            ) from None
        raise DataFormatError(f'{path.name} is not a valid .npy file: {e}') from None
    except (OSError, EOFError) as e:
        raise DataFormatError(f'{path.name} is not a valid .npy file: {e}') from None


def _load_npz(path: Path):
    try:
        with np.load(path, allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in npz.files}
    except (ValueError, OSError, EOFError) as e:
        raise DataFormatError(f'{path.name} is not a valid .npz file: {e}') from None
    return arrays['arr_0'] if set(arrays) == {'arr_0'} else NpzArrays(arrays)


class NpzArrays(dict):
    """The arrays of a multi-array ``.npz``, read at once (numpy's ``NpzFile`` keeps the file
    open); ``files`` and ``[name]`` work as on an ``NpzFile``."""

    @property
    def files(self) -> list:
        return list(self)


def _table_loader(sep: str):
    def load(path: Path):
        try:
            return pd.read_csv(path, sep=sep).squeeze('columns')
        except (pd.errors.ParserError, UnicodeDecodeError) as e:
            raise DataFormatError(f'{path.name} is not a valid table: {e}') from None

    return load


def _load_json(path: Path):
    """A JSON file's content; malformed JSON is logged as an error and gives None, as in
    ONE (a metadata file is not worth a failed load)."""
    try:
        with open(path, encoding='utf-8') as f:
            return parse_json(f.read())
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        logger.error('%s is not valid JSON: %s', path.name, e)
        return None


def _load_jsonable(path: Path):
    out = []
    with open(path, encoding='utf-8') as f:
        for n, line in enumerate(f, 1):
            if line.strip():
                try:
                    out.append(parse_json(line))
                except json.JSONDecodeError as e:
                    raise DataFormatError(f'{path.name} line {n} is not JSON: {e.msg}') from None
    return out


def _install_hint(package: str, extra: str) -> str:
    """How to install what an extra brings, whether onelight came from a folder or an index.

    >>> print(_install_hint('boto3', 's3'))
    pip install boto3 (or, in onelight's folder, pip install ".[s3]")
    """
    return f'pip install {package} (or, in onelight\'s folder, pip install ".[{extra}]")'


def _require(module: str, extra: str, what: str):
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        package = module.split('.')[0]
        raise MissingDependencyError(
            f'{what} needs {package}: {_install_hint(package, extra)}'
        ) from None


def _load_parquet(path: Path):
    _require('pyarrow', 'parquet', f'reading {path.name}')
    return pd.read_parquet(path)


def _load_yaml(path: Path):
    yaml = _require('yaml', 'yaml', f'reading {path.name}')
    with open(path, encoding='utf-8') as f:
        try:
            return yaml.safe_load(f)
        except yaml.YAMLError as e:
            raise DataFormatError(f'{path.name} is not valid YAML: {e}') from None


LOADERS = {
    '.npy': _load_npy,
    '.npz': _load_npz,
    '.csv': _table_loader(','),
    '.tsv': _table_loader('\t'),
    '.htsv': _table_loader('\t'),
    '.ssv': _table_loader(' '),
    '.json': _load_json,
    '.jsonable': _load_jsonable,
    '.pqt': _load_parquet,
    '.parquet': _load_parquet,
    '.yml': _load_yaml,
    '.yaml': _load_yaml,
}


def load_file_content(path):
    """Load one file by its extension; an empty file gives None, an unknown type its path.

    ``.npy`` files are memory-mapped copy-on-write (writable; edits stay in memory) and
    ``(n, 1)`` arrays flattened to ``(n,)``. No path (None, ``''``) gives None, as in ONE.
    """
    if not path:
        return None
    path = Path(path)
    if path.stat().st_size == 0:
        return None
    loader = LOADERS.get(path.suffix.lower())
    return loader(path) if loader else ALFPath(path)


def metadata_pattern(filename: str) -> str:
    """The glob of the metadata file that belongs to a data file (as ONE-api finds it).

    >>> metadata_pattern('obj.attr.npy')
    'obj.attr*.metadata*.json'
    """
    return '.'.join(filename.split('.')[:2]) + '*.metadata*.json'


def is_metadata_file(filename: str) -> bool:
    return fnmatch.fnmatchcase(filename, metadata_pattern(filename))


def _merge_table(out: Bunch) -> None:
    """Merge a ``table`` attribute's columns into the bunch (``x_0``/``x_1`` pairs -> (n, 2))."""
    table_key = next(filter(re.compile(r'^table([_.]|$)').match, out), None)
    if not table_key:
        return
    table = out.pop(table_key)
    suffix = table_key[5:]
    table = table.rename(
        columns=lambda f: f[:-2] + suffix + f[-2:] if re.match(r'.+?_[01]$', f) else f + suffix
    )
    out.update(_paired(dict(zip(table.columns, table.to_numpy().T))))


def _paired(columns: dict) -> dict:
    """``columns`` with each ``x_0``/``x_1`` pair made one (n, 2) array ``x``, as ONE does."""
    split = sorted(k for k in columns if re.match(r'.+_[01]$', k))
    for k0, k1 in zip(split[::2], split[1::2]):
        if k0[:-2] == k1[:-2]:
            columns[k0[:-2]] = np.c_[columns.pop(k0), columns.pop(k1)]
    return columns


def assemble_object(files: list, metadata: dict, name: str = '', short_keys=False) -> Bunch:
    """Load the files of one ALF object into a Bunch.

    ``files`` holds ``(path, parts)`` pairs (parts as ``parse_filename`` gives them);
    ``metadata`` maps a data file's path to its ``*.metadata.json`` path. Keys are
    ``attribute[_timescale][.extra]``; with ``short_keys`` the extra parts are left out.
    """
    keys = []
    for _, p in files:
        attr = f'{p["attribute"]}_{p["timescale"]}' if p['timescale'] else p['attribute']
        keys.append(attr if short_keys else '.'.join(filter(None, (attr, p['extra']))))
    dupes = sorted({k for k in keys if keys.count(k) > 1})
    if dupes:
        raise ALFMultipleObjectsFound(
            f'object {name} has several files for {", ".join(dupes)} '
            '(different namespaces?); pass the object as "_namespace_object"'
        )
    out = Bunch()
    for (path, _), key in zip(files, keys):
        out[key] = load_file_content(path)
        meta_path = metadata.get(path)
        if meta_path:
            meta = load_file_content(meta_path) or {}
            if 'columns' in meta:
                out.update({col: out[key][:, i] for i, col in enumerate(meta.pop('columns'))})
                out.pop(key)
            if meta:
                out[key + 'metadata'] = meta
    _merge_table(out)
    status = check_dimensions(out)
    timeseries = [k for k in out if 'timestamps' in k]
    if timeseries and len(out) > len(timeseries) and status == 0:
        n_samples = next(
            v for k, v in out.items() if not any(x in k for x in ('timestamps', 'meta'))
        ).shape[0]
        for key in timeseries:
            out[key] = timestamps_to_vector(out[key], n_samples)
    if status != 0:
        sizes = ', '.join(
            f'{k} {v.shape}' for k, v in out.items() if isinstance(v, (np.ndarray, pd.DataFrame))
        )
        logger.warning('inconsistent dimensions for object %s: %s', name, sizes)
    return out


# ONE's folder functions (one.alf.io): ALF files straight from a folder, no repository.
def filter_by(alf_path, wildcards: bool = True, **kwargs) -> tuple:
    """The ALF files directly in a folder whose parts match ``kwargs`` (globs, or regexes
    without ``wildcards``; a list matches any; ``None`` matches only a missing part; ``extra``
    parts must all be there), and their parts: ``(names, [parts tuples])``, as ONE's.

    >>> filter_by(folder, object='wh*', timescale=None)  # doctest: +SKIP
    """
    unknown = set(kwargs) - set(ALF_PARTS)
    if unknown:
        raise TypeError(f'filter_by() got an unexpected keyword argument {sorted(unknown)[0]!r}')
    if isinstance(kwargs.get('extra'), str):
        kwargs['extra'] = kwargs['extra'].split('.')
    folder = ALFPath(alf_path)
    names, parts = [], []
    for path in folder.iter_datasets():
        found = filename_parts(path.name, as_dict=True)
        if all(_part_matches(found[k], v, k == 'extra', wildcards) for k, v in kwargs.items()):
            names.append(ALFPath(path.relative_to(folder)))
            parts.append(tuple(found.values()))
    return names, parts


def _part_matches(part, pattern, is_extra: bool, wildcards: bool) -> bool:
    if pattern is None or part is None:
        return pattern is part
    if is_extra:
        return all(e in part.split('.') for e in pattern if e)
    if not isinstance(pattern, str):
        if wildcards:
            return any(_part_matches(part, p, False, True) for p in pattern)
        return re.match('|'.join(pattern), part) is not None
    return fnmatch.fnmatchcase(part, pattern) if wildcards else re.match(pattern, part) is not None


def _object_files(alfpath, obj=None, **kwargs) -> tuple:
    """``([paths], [parts])`` of an object in a folder, or of the object of a file's name."""
    alfpath = ALFPath(alfpath)
    if alfpath.is_file():
        obj, alfpath = alfpath.object, alfpath.parent
    if not alfpath.exists():
        names = []
    elif obj is None:
        names, parts = filter_by(alfpath, **kwargs)
    else:
        names, parts = filter_by(alfpath, object=obj, **kwargs)
    if not names:
        what = f'object "{obj}"' if obj else 'ALF files'
        raise ALFObjectNotFound(f'no {what} found in {alfpath}')
    return [alfpath / n for n in names], parts


def alf_load_object(alfpath, object=None, short_keys: bool = False, **kwargs) -> Bunch:
    """ONE's ``one.alf.io.load_object``: an object from a folder (``object`` needed), from
    the object of one of its files, or from a list of its files (revisions mixed).

    >>> spikes = alfio.load_object('/data/.../alf', 'spikes')  # doctest: +SKIP
    """
    if isinstance(alfpath, (str, os.PathLike)):
        if Path(alfpath).is_dir() and object is None:
            raise ValueError('If a directory is provided, the object name should be provided too')
        paths, _ = _object_files(alfpath, object, **kwargs)
    else:
        paths = [ALFPath(p) for p in alfpath]
        objects = {p.object for p in paths}
        if len(objects) != 1:
            raise ALFMultipleObjectsFound(f'files of several objects: {sorted(objects)}')
        object = objects.pop()
    data = [p for p in paths if not is_metadata_file(p.name)]
    metadata = {}
    for p in data:
        meta = next(iter(sorted(p.parent.glob(metadata_pattern(p.name)))), None)
        if meta is not None:
            metadata[p] = meta
    files = [(p, filename_parts(p.name, as_dict=True)) for p in data]
    return assemble_object(files, metadata, name=str(object), short_keys=short_keys)


def alf_exists(alfpath, object, attributes=None, **kwargs) -> bool:
    """Whether an object (and every one of ``attributes``) is in a folder."""
    try:
        _, parts = _object_files(alfpath, object, **kwargs)
    except (FileNotFoundError, ALFObjectNotFound):
        return False
    if not attributes:
        return True
    attributes = [attributes] if isinstance(attributes, str) else attributes
    return set(attributes) <= {p[2] for p in parts}


def iter_sessions(root_dir, pattern: str = '*'):
    """The session folders under ``root_dir`` (itself included), sorted, as ALFPaths;
    ``pattern`` (``'*/Subjects/*/????-??-??/*'``) makes the walk shorter."""
    if is_session_path(root_dir):
        yield ALFPath(root_dir)
    for path in sorted(Path(root_dir).rglob(pattern)):
        if path.is_dir() and is_session_path(path):
            yield ALFPath(path)


def iter_datasets(session_path):
    """The ALF datasets of a session, relative to it, sorted."""
    for path in ALFPath(session_path).iter_datasets(recursive=True):
        yield path.relative_to(session_path)


def save_object_npy(alfpath, dico, object, parts=None, namespace=None, timescale=None) -> list:
    """Save a dict of arrays as one ALF object's ``.npy`` files; their paths."""
    if check_dimensions(dico) != 0:
        shapes = [(k, np.shape(v)) for k, v in dico.items()]
        raise ValueError(f'Dimensions are not consistent to save in ALF format: {shapes}')
    folder, out = ALFPath(alfpath), []
    for key, value in dico.items():
        name = to_alf(object, key, 'npy', namespace=namespace, timescale=timescale, extra=parts)
        np.save(folder / name, value)
        out.append(folder / name)
    return out


def save_metadata(file_alf, dico) -> Path:
    """Write ``dico`` as the ``.metadata.json`` of an ALF file; its path."""
    file_alf = ALFPath(file_alf)
    if not file_alf.is_dataset():
        raise ALFInvalid(f'not an ALF file name: {file_alf.name}')
    meta = file_alf.parent / (file_alf.stem + '.metadata.json')
    meta.write_text(json.dumps(dico, indent=1))
    return meta


def next_num_folder(session_date_folder) -> str:
    """The next free session number in a date folder (``'001'`` when there is none)."""
    folder = Path(session_date_folder)
    numbers = [
        int(p.name)
        for p in (folder.iterdir() if folder.exists() else [])
        if p.is_dir() and p.name.isdigit()
    ]
    number = max(numbers or [0]) + 1
    if number > 999:
        raise ALFError('ALF spec does not support session numbers > 999')
    return f'{number:03d}'


def remove_empty_folders(folder) -> None:
    """Remove the empty folders below ``folder``, deepest first."""
    for path in sorted((p for p in Path(folder).rglob('*') if p.is_dir()), reverse=True):
        with contextlib.suppress(OSError):
            path.rmdir()


def read_ts(filename) -> tuple:
    """``(times, values)`` of an ALF attribute: its object's ``times*`` file, as a vector."""
    filename = ALFPath(filename)
    _, obj, _, _, _, ext = filename.dataset_name_parts
    names, _ = filter_by(filename.parent, object=obj, attribute='times*', extension=ext)
    if len(names) != 1:
        raise FileNotFoundError(f'{obj}.times.{ext} not found! No time-scale for {filename}')
    values = np.load(filename)
    times = np.load(filename.parent / names[0])
    return timestamps_to_vector(times, values.shape[0]), _flat(values)


def find_variants(file_list, namespace=True, timescale=True, extra=True, extension=True):
    """``{file: [its variants on disk]}``: the files with the same session, collection,
    object and attribute (and namespace, timescale, extra parts, extension, each unless
    False), in any revision folder, as ONE's ``find_variants``."""
    compared = [*SESSION_FIELDS, 'collection', 'object', 'attribute']
    compared += [
        k
        for k, on in zip(
            ('namespace', 'timescale', 'extra', 'extension'),
            (namespace, timescale, extra, extension),
        )
        if on
    ]
    out = {}
    for file in map(ALFPath, file_list):
        parts = file.parse_alf_path()
        if parts['object'] is None:
            raise ValueError(f'not an ALF dataset: {file}')
        folder = file.without_revision().parent
        pattern = f'*{parts["object"]}.{parts["attribute"]}*'
        found = [*folder.glob(pattern), *folder.glob('#*#/' + pattern)]
        out[file] = [
            ALFPath(f)
            for f in found
            if f != file and all(ALFPath(f).parse_alf_path()[k] == parts[k] for k in compared)
        ]
    return out


def dataframe(adict) -> pd.DataFrame:
    """A DataFrame of a dict of arrays (ONE's ``one.alf.io.dataframe``)."""
    return Bunch(adict).to_df()


# =============================================================================================
# The index (.one_root)
# =============================================================================================
# A TSV without header, one line per file: "path<TAB>url" (2 columns), "path" (1 column, the
# URL is the repository's base URL + the percent-encoded path) or "path<TAB>url<TAB>size<TAB>md5".
# It is held as a pandas DataFrame, one row per file, whose ALF parts are categorical columns
# computed once per distinct session, folder and file name (never per row in Python).

SKIPPED_NAMES = frozenset({INDEX_NAME, '.DS_Store', 'Thumbs.db', 'desktop.ini'})
PARTIAL_SUFFIX = '.part'
JOURNAL_SUFFIX = PARTIAL_SUFFIX + '.ranges'  # the finished ranges of a segmented download
_MAX_LINE = 8192
SPOOL_BYTES = 16 << 20  # what inflates from a body or a zip: in memory up to this, then a file
_MAX_WARNINGS = 10


def is_partial_name(name: str) -> bool:
    """A download in progress: its ``.part`` or the journal of its ranges (never indexed)."""
    return name.endswith((PARTIAL_SUFFIX, JOURNAL_SUFFIX))


def quote_path(path: str) -> str:
    """Percent-encode an index path for a URL, keeping ``/`` (``#`` of revisions is encoded).

    >>> quote_path('lab/Subjects/m 1/2020-01-01/001/alf/#v2#/a.b.npy')
    'lab/Subjects/m%201/2020-01-01/001/alf/%23v2%23/a.b.npy'
    """
    return urllib.parse.quote(path, safe='/')


def join_url(base_url: str, path: str) -> str:
    """The URL of an index path under a repository's base URL."""
    return base_url.rstrip('/') + '/' + quote_path(path)


# The URLs onelight sends requests to, credentials or not: http(s), an ASCII host name or
# IP address, an optional port, then a path with no whitespace, control character or
# backslash. What this refuses (user-info, backslashes, spaces, non-ASCII hosts) is where
# URL parsers disagree on the host a request goes to, so that a credential meant for one
# host would be sent to another (an index line ``http://evil\@trusted/f`` is "trusted" to
# urllib.parse and goes to "evil" with urllib3). One pattern (RE2 and Python alike), used
# on index lines, redirects and every request.
SAFE_URL_PATTERN = (
    r'^https?://(?:[A-Za-z0-9][A-Za-z0-9.-]{0,252}|\[[0-9A-Fa-f:.]{2,45}\])'
    r'(?::[0-9]{1,5})?(?:[/?#][^\x00-\x20\x7f\\]*)?$'
)
_SAFE_URL = re.compile(SAFE_URL_PATTERN)
# A URL cell may instead name a file of the repository itself, relative to its index (a flat
# key, a volume), percent-encoded as ``quote_path`` writes it, never a dot segment; and any
# URL may end in ``#bytes=FIRST-LAST``: the file is that byte range of it (a member stored
# in a ZIP volume, see "Packed volumes").
RELATIVE_URL_PATTERN = r'^[A-Za-z0-9_.~%-][A-Za-z0-9_.~%/-]*(?:#bytes=[0-9]{1,18}-[0-9]{1,18})?$'
INDEX_URL_PATTERN = f'{SAFE_URL_PATTERN}|{RELATIVE_URL_PATTERN}'
DOT_SEGMENT_PATTERN = r'(?:^|/)(?:\.|%2[eE]){1,2}(?:/|#|\?|$)'
_CONTROL = re.compile(r'[\x00-\x1f\x7f]')  # never in a name: tab and newline included
# what an index (or a listing, a journal, a cache) may give as a size and as an md5
SIZE_PATTERN, MD5_PATTERN = r'[0-9]{1,18}', r'[0-9a-fA-F]{32}'
_SIZE_RE, _MD5_RE = f'^{SIZE_PATTERN}$', f'^{MD5_PATTERN}$'  # (as pyarrow's regexes search)


def _number(text) -> int | None:
    """A size or count given as text (an index cell, a header, a listing), or None."""
    return int(text) if isinstance(text, str) and re.fullmatch(SIZE_PATTERN, text) else None


def _md5(text) -> str | None:
    """An md5 given as text, lower case, or None."""
    return text.lower() if isinstance(text, str) and re.fullmatch(MD5_PATTERN, text) else None


def unsafe_url_reason(url) -> str | None:
    """Why onelight refuses to send a request to ``url`` (None: it does not).

    >>> unsafe_url_reason('http://127.0.0.2:81\\\\@127.0.0.1/f')
    'it holds a backslash'
    >>> unsafe_url_reason('http://user:pw@host/f'), unsafe_url_reason('https://h.org:8/a?b')
    ('it holds user-info (user@host)', None)
    """
    if not isinstance(url, str) or not url:
        return 'it is empty'
    if _SAFE_URL.match(url):
        return None
    if not url.lower().startswith(('http://', 'https://')):
        return 'it is not an http(s) URL'
    if '\\' in url:
        return 'it holds a backslash'
    if any(c.isspace() for c in url):
        return 'it holds whitespace'
    if _CONTROL.search(url):
        return 'it holds a control character'
    if '@' in url.split('/', 3)[2]:
        return 'it holds user-info (user@host)'
    return 'its host is not a plain ASCII name or address'


def check_url(url: str, what: str) -> str:
    """``url`` when onelight may send a request to it; UnsafeURLError naming it otherwise."""
    reason = unsafe_url_reason(url)
    if reason:
        raise UnsafeURLError(f'{what}: refused the URL {_printable(str(url))}: {reason}')
    return url


@dataclass
class _IndexColumns:
    """The columns of an index file, one entry per non-blank line, before validation.

    A path is split into its session (the first five segments) and the rest (folders and
    file name), both categorical: checks then run once per distinct value, not per line.
    """

    lineno: np.ndarray
    ncols: np.ndarray
    too_long: np.ndarray
    not_utf8: np.ndarray
    path: pd.Series | None  # None: made from session and rest where needed (ONE tables)
    url: pd.Series  # missing where a line has no URL
    url_ok: np.ndarray  # no URL, or an http(s) one
    size: pd.Series  # Int64
    size_ok: np.ndarray
    md5: pd.Series  # lower case
    md5_ok: np.ndarray
    session: pd.Categorical  # code -1: fewer than six segments
    rest: pd.Categorical
    url_base: object = None  # where a URL is this + the path, kept as this (categorical)
    extra: dict = field(default_factory=dict)  # more per-file columns (from ONE cache tables)


def _index_columns(source) -> _IndexColumns:
    """Split an index (bytes, or a file path) into columns: with pyarrow when it is installed
    (fast, compact, read in chunks), otherwise with pandas string methods."""
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        if isinstance(source, bytes):
            data = source
        else:
            data = source.read() if hasattr(source, 'read') else Path(source).read_bytes()
        return _columns_with_pandas(data.removeprefix(b'\xef\xbb\xbf'))
    return _columns_with_arrow(_line_chunks(source))


def _line_chunks(source, size: int = 8 << 20):
    """Pieces of about ``size`` bytes that end at line ends (the BOM removed), from bytes or
    from a file, so that a large index never has to be in memory twice."""
    if isinstance(source, bytes):
        opened = io.BytesIO(source)
    else:  # a file open for reading (left open), or a path
        opened = contextlib.nullcontext(source) if hasattr(source, 'read') else open(source, 'rb')
    with opened as f:
        carry = f.read(3).removeprefix(b'\xef\xbb\xbf')
        while block := f.read(size):
            block = carry + block
            cut = block.rfind(b'\n') + 1
            if cut:
                yield block[:cut]
            carry = block[cut:]
        if carry:
            yield carry


def _without_bad_utf8(data: bytes) -> tuple:
    """Replace the lines that are not UTF-8 by NULs; return (data, their line numbers)."""
    try:
        data.decode('utf-8')
        return data, set()
    except UnicodeDecodeError:
        pass
    lines, bad = data.split(b'\n'), set()
    for i, line in enumerate(lines):
        try:
            line.decode('utf-8')
        except UnicodeDecodeError:
            lines[i] = b'\x00'
            bad.add(i + 1)
    return b'\n'.join(lines), bad


def _arrow_lines(data: bytes):
    """The lines of ``data`` as a pyarrow string array (blank lines kept, as '')."""
    import pyarrow as pa
    import pyarrow.csv as pv

    # One line, one row: a CR ends a line only in CRLF; a lone CR, and \x1f (the separator
    # the reader is told, so that a line is one field), become NULs, which mark a bad line.
    if b'\r' in data:
        data = data.replace(b'\r\n', b'\n').replace(b'\r', b'\x00')
    if b'\x1f' in data:
        data = data.replace(b'\x1f', b'\x00')
    if not data.strip():
        return pa.array([], pa.string())
    table = pv.read_csv(
        io.BytesIO(data),
        # one block for the whole piece: a line longer than a block (1 MiB by default) would
        # stop the reader; here it is one more line, too long, skipped with a warning
        read_options=pv.ReadOptions(
            column_names=['line'], use_threads=False, block_size=len(data) + 1
        ),
        parse_options=pv.ParseOptions(
            delimiter='\x1f', quote_char=False, escape_char=False, ignore_empty_lines=False
        ),
        convert_options=pv.ConvertOptions(
            column_types={'line': pa.string()}, strings_can_be_null=False
        ),
    )
    return table.column('line').combine_chunks()


def _lines_with_control_characters(data: bytes, n_lines: int) -> np.ndarray:
    """Which lines hold a control character other than tab and line ends (vectorised)."""
    out = np.zeros(n_lines, dtype=bool)
    raw = np.frombuffer(data, dtype=np.uint8)
    usual = data.count(b'\t') + data.count(b'\n') + data.count(b'\r')
    if np.count_nonzero(raw < 32) == usual and b'\x7f' not in data:
        return out  # (one pass of numpy, no mask the size of the data)
    control = ((raw < 32) & (raw != 9) & (raw != 10) & (raw != 13)) | (raw == 127)
    if control.any():
        newlines = np.flatnonzero(raw == 10)
        out[np.minimum(np.searchsorted(newlines, np.flatnonzero(control)), n_lines - 1)] = True
    return out


def _arrow_elements(lists, count: int) -> list:
    """The first ``count`` elements of each list of a pyarrow ListArray (null if absent)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    lengths = _np(pc.list_value_length(lists))
    flat, starts = lists.flatten(), lists.offsets.to_numpy()[:-1]
    out = []
    for i in range(count):
        present = lengths > i
        if not present.any():
            out.append(pa.nulls(len(lists), pa.string()))
            continue
        taken = pc.take(flat, pa.array(np.where(present, starts + i, 0)))
        if not present.all():
            taken = pc.if_else(pa.array(present), taken, pa.scalar(None, pa.string()))
        out.append(taken)
    return out


def _columns_with_arrow(chunks) -> _IndexColumns:
    """Read the index chunk by chunk, so that memory stays near the final size."""
    import pyarrow as pa

    parts, first_line = [], 1
    for chunk in chunks:
        parts.append(_arrow_chunk(chunk, first_line))
        pa.default_memory_pool().release_unused()  # what a piece took in passing, returned
        first_line += chunk.count(b'\n')
    if not parts:
        parts.append(_arrow_chunk(b'', 1))
    return _concat_columns(parts)


_SESSION_AND_REST = r'^(?P<session>[^/]*/[^/]*/[^/]*/[^/]*/[^/]*)/(?P<rest>.*)$'


def _arrow_chunk(data: bytes, first_line: int) -> _IndexColumns:
    import pyarrow as pa
    import pyarrow.compute as pc

    data, bad_utf8 = _without_bad_utf8(data)
    lines = _arrow_lines(data)
    control = _lines_with_control_characters(data, len(lines))
    del data
    lineno = np.arange(first_line, first_line + len(lines), dtype=np.int64)
    blank = _np(pc.or_kleene(pc.equal(pc.binary_length(lines), 0), pc.utf8_is_space(lines)))
    if blank.any():
        lines, lineno, control = lines.filter(pa.array(~blank)), lineno[~blank], control[~blank]
    too_long = _np(pc.greater(pc.binary_length(lines), _MAX_LINE))
    columns = pc.split_pattern(lines, '\t', max_splits=4)
    ncols = _np(pc.list_value_length(columns)).astype(np.int8)
    del lines
    path, url, size, md5 = _arrow_elements(columns, 4)
    del columns
    url, size, md5 = (_blank_as_null(c) for c in (url, size, md5))  # empty cell: not known
    url_ok = pc.and_kleene(pc.match_substring_regex(url, INDEX_URL_PATTERN), pa.array(~control))
    url_ok = pc.and_kleene(url_ok, pc.invert(pc.match_substring_regex(url, DOT_SEGMENT_PATTERN)))
    url_ok = _np(pc.or_kleene(pc.is_null(url), url_ok))
    url, url_base = _elided_urls(url, path)
    parts = pc.extract_regex(path, _SESSION_AND_REST)  # null unless six segments
    session, rest = parts.field('session'), parts.field('rest')
    # a path is kept as its session and rest; its text only where it has no session
    if session.null_count:
        path = pc.if_else(pc.is_null(session), path, pa.scalar(None, pa.string()))
        path = pa.array(path.to_pylist(), pa.string())  # (not the texts of the others)
    else:
        path = pa.nulls(len(session), pa.string())
    null = pa.scalar(None, pa.string())
    four = ncols == 4
    if not four.all() and four.any():
        size, md5 = pc.if_else(pa.array(four), size, null), pc.if_else(pa.array(four), md5, null)
    size_ok = _np(pc.or_kleene(pc.is_null(size), pc.match_substring_regex(size, _SIZE_RE)))
    if not size_ok.all():
        size = pc.if_else(pa.array(size_ok), size, null)
    sizes = pc.cast(size, pa.int64())
    return _IndexColumns(
        lineno=lineno,
        ncols=ncols,
        too_long=too_long,
        not_utf8=np.isin(lineno, [first_line + n - 1 for n in bad_utf8]),
        path=path,
        url=url,
        url_ok=url_ok,
        size=sizes,
        size_ok=size_ok,
        md5=pc.utf8_lower(md5) if md5.null_count < len(md5) else md5,
        md5_ok=_np(pc.or_kleene(pc.is_null(md5), pc.match_substring_regex(md5, _MD5_RE))),
        session=session.dictionary_encode(),
        rest=rest.dictionary_encode(),
        url_base=url_base,
    )


def _elided_urls(url, path) -> tuple:
    """(the URLs to keep as text, the base of the others): a URL that is a base ending in
    ``/`` followed by its line's path (which quoting leaves as it is), as ``onelight index
    --base-url`` writes them, is kept as that base, a category: a byte a line, not its text.
    The base is the first line's; ``url_base + path`` is then that line's URL exactly."""
    import pyarrow as pa
    import pyarrow.compute as pc

    none = pa.nulls(len(url), pa.string())
    first_url, first_path = (url[0].as_py(), path[0].as_py()) if len(url) else (None, None)
    base = None
    if isinstance(first_url, str) and isinstance(first_path, str):
        head = first_url[: len(first_url) - len(first_path)]
        if first_url.endswith('/' + first_path) and head.endswith('/'):
            base = head
    if base is None:
        return url, none.dictionary_encode()
    plain = pc.match_substring_regex(path, _PLAIN_PATH)
    same = pc.and_kleene(plain, pc.equal(url, pc.binary_join_element_wise(base, path, '')))
    same = pc.fill_null(same, False)
    kept = pc.if_else(same, pa.scalar(None, pa.string()), url)
    kept = kept.take(pa.array(np.arange(len(kept))))  # (if_else keeps room for every text)
    return kept, pc.if_else(same, pa.scalar(base), none).dictionary_encode()


_PLAIN_PATH = r'^[A-Za-z0-9_.~/-]+$'  # what quote_path leaves as it is


def _blank_as_null(values):
    """A pyarrow string array with its empty strings as nulls."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if values.null_count < len(values) and _np(pc.equal(values, '')).any():
        return pc.if_else(pc.equal(values, ''), pa.scalar(None, pa.string()), values)
    return values


def _concat_columns(parts: list) -> _IndexColumns:
    """Join the columns of consecutive chunks (pyarrow arrays become pandas Series)."""
    import dataclasses

    import pyarrow as pa

    joined = {}
    for name in (f.name for f in dataclasses.fields(_IndexColumns) if f.name != 'extra'):
        values = [getattr(p, name) for p in parts]
        if any(v is None for v in values):  # paths of tables: made from session and rest
            joined[name] = None
        elif name in ('session', 'rest', 'url_base'):
            joined[name] = _unified_categorical(values)
        elif name == 'size':
            sizes = np.concatenate([v.to_numpy(zero_copy_only=False) for v in values])
            joined[name] = pd.Series(pd.array(sizes, dtype='Int64'))
        elif isinstance(values[0], np.ndarray):
            joined[name] = np.concatenate(values)
        else:
            chunks = pa.chunked_array([v.cast(pa.string()) for v in values], type=pa.string())
            joined[name] = pd.Series(pd.arrays.ArrowStringArray(chunks))
    return _IndexColumns(**joined, extra=parts[0].extra if len(parts) == 1 else {})


def _np(array) -> np.ndarray:
    """A pyarrow boolean or number array as numpy (null booleans are False)."""
    import pyarrow.compute as pc

    if str(array.type) == 'bool':
        array = pc.fill_null(array, False)
    return array.to_numpy(zero_copy_only=False)


def _unified_categorical(parts: list) -> pd.Categorical:
    """One pandas Categorical of consecutive pieces (pyarrow dictionary arrays of strings,
    or Categoricals), their dictionaries unified by pyarrow (code -1 for nulls)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if len(parts) == 1 and isinstance(parts[0], pd.Categorical):
        return parts[0]
    kind = pa.dictionary(pa.int32(), pa.string())
    arrays = [
        pa.DictionaryArray.from_arrays(
            pa.array(p.codes.astype(np.int32), mask=p.codes < 0),
            pa.array(p.categories.to_numpy(object), pa.string()),
        )
        if isinstance(p, pd.Categorical)
        else p.cast(kind)
        for p in parts
    ]
    chunks = pa.chunked_array(arrays, type=kind).unify_dictionaries().chunks
    codes = [pc.fill_null(c.indices, -1).to_numpy(zero_copy_only=False) for c in chunks]
    words = chunks[0].dictionary.to_pylist() if chunks else []
    return _object_categories(np.concatenate(codes).astype(np.int32), words)


def _object_categories(codes, categories) -> pd.Categorical:
    """A categorical of texts as the index parser makes them (categories of dtype object)."""
    return pd.Categorical.from_codes(codes, categories=pd.Index(categories, dtype=object))


def _joined(first: pd.Categorical, second: pd.Categorical):
    """``first/second`` row for row, as a pyarrow string array (null where either is)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    def strings(cat):
        dictionary = pa.array(cat.categories.astype(object).to_numpy(object), pa.string())
        return pc.take(dictionary, pa.array(cat.codes, mask=cat.codes < 0))

    return pc.binary_join_element_wise(strings(first), strings(second), '/')


def _columns_with_pandas(data: bytes) -> _IndexColumns:
    data, bad_utf8 = _without_bad_utf8(data)
    text = data.decode('utf-8')
    lines = pd.Series(text.split('\n'), dtype=object).str.removesuffix('\r')
    lineno = np.arange(1, len(lines) + 1)
    keep = (lines.str.strip() != '').to_numpy(bool)
    lines, lineno = lines[keep].reset_index(drop=True), lineno[keep]
    cols = lines.str.split('\t', n=4, expand=True).reindex(columns=range(5))
    ncols = cols.notna().sum(axis=1).to_numpy()
    four = ncols == 4
    path = cols[0].fillna('').astype(object)
    segments = path.str.split('/', n=5, expand=True).reindex(columns=range(6)).astype(object)
    complete = segments.notna().all(axis=1)
    head = segments[[0, 1, 2, 3, 4]].astype(object).fillna('').astype(str)
    session = (head[0] + '/' + head[1] + '/' + head[2] + '/' + head[3] + '/' + head[4]).astype(
        object
    )
    url = cols[1].astype(object).where(cols[1].notna() & (cols[1] != ''), None)
    size = cols[2].astype(object).where(four & (cols[2] != ''), None)
    md5 = cols[3].astype(object).where(four & (cols[3] != ''), None)
    size_ok = (size.isna() | size.fillna('').str.match(_SIZE_RE)).to_numpy(bool)
    return _IndexColumns(
        lineno=lineno,
        ncols=ncols,
        too_long=lines.str.len().to_numpy() > _MAX_LINE,
        not_utf8=np.isin(lineno, sorted(bad_utf8)),
        path=path,
        url=url,
        url_ok=(url.isna() | _index_urls_ok(url.fillna(''))).to_numpy(bool),
        size=pd.Series(pd.array(pd.to_numeric(size.where(size_ok, None)), dtype='Int64')),
        size_ok=size_ok,
        md5=md5.str.lower(),
        md5_ok=(md5.isna() | md5.fillna('').str.match(_MD5_RE)).to_numpy(bool),
        session=pd.Categorical(session.where(complete, None)),
        rest=pd.Categorical(segments[5].where(complete, None)),
    )


def _index_urls_ok(urls: pd.Series) -> pd.Series:
    """Whether each URL cell is one an index may give (``INDEX_URL_PATTERN``)."""
    return urls.str.match(INDEX_URL_PATTERN) & ~urls.str.contains(DOT_SEGMENT_PATTERN)


def _split_rest(rest: pd.Categorical) -> tuple:
    """(folders, file name) categoricals from the part of paths after the session folder."""
    split = [r.rpartition('/') for r in rest.categories]
    dirs = pd.Categorical([d + s for d, s, _ in split])
    names = pd.Categorical([n for _, _, n in split])
    pad = np.int32(-1)
    dir_codes = np.append(dirs.codes, pad)[rest.codes]
    name_codes = np.append(names.codes, pad)[rest.codes]
    return (
        pd.Categorical.from_codes(dir_codes, dirs.categories),
        pd.Categorical.from_codes(name_codes, names.categories),
    )


def _safe_relpaths(values) -> np.ndarray:
    """``is_safe_relpath`` of many paths, each distinct segment checked once."""
    values = list(values)
    split = [v.split('/') for v in values]
    bad = {seg for seg in set(itertools.chain.from_iterable(split)) if not is_safe_segment(seg)}
    return np.array(
        [
            bool(v) and not v.startswith('/') and len(v) <= 4096 and bad.isdisjoint(parts)
            for v, parts in zip(values, split)
        ],
        dtype=bool,
    )


def _per_category(cat: pd.Categorical, flags) -> np.ndarray:
    """Broadcast one boolean per category to the rows (rows without a category: False)."""
    return np.append(np.asarray(flags, dtype=bool), False)[cat.codes]


def _broadcast_parts(cat: pd.Categorical, parse, columns) -> dict:
    """Apply ``parse`` once per category; return one column per part for the rows.

    Parts named ``is_*`` are booleans; the others become categoricals.
    """
    parsed = [parse(c) for c in cat.categories.to_list()]
    out = {}
    for col in columns:
        values = [p[col] for p in parsed]
        if col.startswith('is_'):
            out[col] = np.append(np.array(values, dtype=bool), False)[cat.codes]
            continue
        part = pd.Categorical(values)
        codes = np.append(part.codes, -1)[cat.codes]
        out[col] = pd.Categorical.from_codes(codes, categories=part.categories)
    return out


def _unless_none(values: pd.Series):
    """A column of texts, or, when it holds none (an index without URLs or md5s), a
    categorical of no category: a byte a row."""
    return _no_values(len(values)) if len(values) and values.isna().all() else values


def _no_values(n: int) -> pd.Categorical:
    """A column of ``n`` missing values, a byte each."""
    return pd.Categorical.from_codes(np.full(n, -1, np.int8), pd.Index([], dtype=object))


def _session_field_values(sessions) -> list:
    """lab, subject, date and number (object arrays) of session folders, split by pandas."""
    if not len(sessions):
        return [np.array([], dtype=object)] * len(SESSION_FIELDS)
    split = pd.Series(np.asarray(sessions, dtype=object)).str.split('/', expand=True)
    return [split[i].to_numpy(object) for i in (0, 2, 3, 4)]


def _session_parts(session: pd.Categorical) -> dict:
    """lab, subject, date and number of each row, from its session folder's categories."""
    out = {}
    for name, values in zip(SESSION_FIELDS, _session_field_values(session.categories)):
        part = pd.Categorical(values)
        codes = np.append(part.codes, -1)[session.codes]
        out[name] = pd.Categorical.from_codes(codes, categories=part.categories)
    return out


TERM_CACHE = 64  # dataset terms whose matches an index keeps (``Index.term_mask``)


class Index:
    """The parsed ``.one_root`` of a repository: one row per file, ALF parts as columns.

    The rows (``df``, and the frames of rows that ``One`` and the loaders select from it)
    have these columns, always: ``url`` (None for 1-column lines, and where the line's URL
    is ``url_base`` + its path: ``given_url``), ``url_base``, ``size``, ``md5``,
    ``session``, ``lab``, ``subject``, ``date``,
    ``number``, ``dirs`` (the folders between session and file, ``alf/#v2#/``),
    ``collection``, ``revision``, ``filename``, the ALF parts (``namespace`` ...
    ``extension``), ``is_alf``, and what ONE cache tables may say of a file: ``exists``
    (False: listed, not on disk), ``qc`` (ONE's ordered levels), ``id`` (the dataset's
    UUID text) and ``default_revision`` (None where the tables do not say). A frame of one
    session's rows adds ``rel``, the path in the session (``rel_paths``), and ``path``, in
    the repository (``row_paths``): the index keeps a path as its parts' codes, a few bytes
    a file whatever its length.
    """

    FILE_DEFAULTS = {'exists': True, 'qc': None, 'id': None, 'default_revision': None}

    def __init__(self, df: pd.DataFrame, base_url: str | None = None):
        self.df = df
        self.base_url = base_url
        self.from_tables = False  # ids, metadata and QC from ONE cache tables
        for column, default in self.FILE_DEFAULTS.items():
            if column not in df.columns:
                self.set_file_column(column, default)
        self._session_cache = {}
        # per session, from ONE cache tables when a repository publishes them: their ids
        # (session path -> uuid.UUID, or its text until first needed) and metadata (projects,
        # task_protocol)
        self.session_ids: dict = {}
        self.session_meta: pd.DataFrame | None = None
        self._term_flags: dict = {}  # (term, wildcards) -> (file names, match of each)

    def __len__(self):
        return len(self.df)

    def set_session_info(self, ids: dict, meta: pd.DataFrame | None) -> None:
        """Give the sessions the ids (session path -> UUID or its text) and metadata
        (``projects``, ``task_protocol``) that ONE cache tables hold for them."""
        self.session_ids, self.session_meta = ids, meta
        self._forget('eids', '_by_eid')

    def _forget(self, *names) -> None:
        """Drop cached properties made from what changed."""
        for name in names:
            self.__dict__.pop(name, None)

    def add_sessions(self, sessions: list) -> None:
        """Sessions that have no file (a catalogue lists them): a search finds them, and
        they have nothing to list."""
        if sessions:
            self.df['session'] = self.df['session'].cat.add_categories(sessions)
            self._forget('sessions', 'eids', '_by_eid')
            self._session_cache = {}

    def set_file_column(self, column: str, values) -> None:
        """Set a per-file column, row for row, or one value for all (then a category: a byte
        a row); ``qc`` as ONE's ordered categories, ``exists`` as booleans."""
        n, scalar = len(self.df), np.ndim(values) == 0
        if column == 'exists':
            values = np.broadcast_to(np.asarray(values, dtype=bool), n).copy()
        elif column == 'qc' or scalar:
            values = [values] if scalar else values
            values = qc_levels(values) if column == 'qc' else pd.Categorical(values)
            if scalar:  # one value for all: its code repeated, not n objects encoded
                values = pd.Categorical.from_codes(np.repeat(values.codes, n), dtype=values.dtype)
        self.df[column] = values
        self._session_cache = {}

    def __repr__(self):
        return f'<Index of {len(self.df)} files in {len(self.sessions)} sessions>'

    def looks_sound(self) -> bool:
        """Whether an index read back from a cache (someone else may have written it) names
        only what a fresh parse would allow: session folders, folders and file names that
        are safe, checked once per distinct value. Each path is checked again where it
        becomes a local path (``safe_join``), and each URL where it is sent (``check_url``)."""
        df = self.df
        needed = ('url', 'size', 'md5', 'session', *SESSION_FIELDS, 'dirs', 'filename')
        if any(c not in df.columns for c in needed):
            return False
        try:
            sessions = [str(s) for s in df['session'].cat.categories]
            dirs = [str(d).rstrip('/') for d in df['dirs'].cat.categories]
            names = [str(f) for f in df['filename'].cat.categories]
        except AttributeError:  # not the categoricals this module writes
            return False
        return (
            all(SESSION_FOLDER_RE.fullmatch(s) for s in sessions)
            and bool(_safe_relpaths(sessions).all())
            and bool(_safe_relpaths(d for d in dirs if d).all())
            and all(is_safe_segment(f) for f in names)
            and not df['session'].isna().any()
        )

    # ----------------------------------------------------------------------- reading and writing
    @classmethod
    def from_file(cls, path, **kwargs) -> Index:
        """Parse a ``.one_root`` file (read in chunks); see ``from_bytes``."""
        return cls.from_bytes(Path(path), **kwargs)

    @classmethod
    def from_bytes(
        cls,
        data,
        *,
        base_url: str | None = None,
        strict: bool = False,
        origin: str = INDEX_NAME,
    ) -> Index:
        """Parse the bytes of a ``.one_root`` (or a file of them, read in pieces). Bad lines
        are skipped with a warning naming them.

        With ``strict=True`` the first bad line raises IndexFormatError instead.
        """
        return cls.from_columns(
            _index_columns(data), base_url=base_url, strict=strict, origin=origin
        )

    @classmethod
    def from_columns(
        cls, cols: _IndexColumns, *, base_url=None, strict=False, origin=INDEX_NAME
    ) -> Index:
        """The index of the lines of an index file or of the rows of ONE cache tables, as
        columns: each rule of what a line may name is checked here, once per distinct value."""
        dirs, filename = _split_rest(cols.rest)
        reasons = []
        code = np.zeros(len(cols.lineno), dtype=np.int16)

        def flag(mask, reason):
            reasons.append(reason)
            code[np.asarray(mask, dtype=bool) & (code == 0)] = len(reasons)

        sessions = list(cols.session.categories)
        flag(cols.not_utf8, 'not UTF-8')
        flag(cols.too_long, f'line longer than {_MAX_LINE} characters')
        flag(~np.isin(cols.ncols, (1, 2, 4)), 'expected 1, 2 or 4 tab-separated columns')
        in_session = [bool(SESSION_FOLDER_RE.fullmatch(s)) for s in sessions]
        flag(
            ~_per_category(cols.session, in_session),
            'path is not inside a session folder lab/Subjects/subject/yyyy-mm-dd/number/',
        )
        flag(~_per_category(cols.session, _safe_relpaths(sessions)), 'unsafe session folder')
        dirs_ok = [
            not d or ok
            for d, ok in zip(
                dirs.categories, _safe_relpaths(d.rstrip('/') for d in dirs.categories)
            )
        ]
        flag(
            ~_per_category(dirs, dirs_ok),
            'unsafe folder name (.., backslash, control or reserved character)',
        )
        names_ok = [
            is_safe_segment(f) and f not in SKIPPED_NAMES and not is_partial_name(f)
            for f in filename.categories
        ]
        flag(~_per_category(filename, names_ok), 'unsafe or reserved file name')
        flag(
            ~cols.url_ok,
            'URL refused: not a plain http(s) URL (user-info, backslash, whitespace or a '
            'host that is not an ASCII name)',
        )
        flag(~cols.size_ok, 'size is not a number')
        flag(~cols.md5_ok, 'md5 is not 32 hex digits')
        flag(
            _duplicates(cols.session, cols.rest, code == 0), 'duplicate path (the first line wins)'
        )
        bad = code != 0
        if bad.any():
            why = np.array([''] + reasons, dtype=object)[code[bad]]
            paths = _line_paths(cols, np.flatnonzero(bad)[:_MAX_WARNINGS])
            _report_bad_lines(cols.lineno[bad], why, paths, origin, strict)
        return cls._build(cols, dirs, filename, ~bad, base_url=base_url)

    @classmethod
    def from_paths(cls, paths, *, base_url: str | None = None) -> Index:
        """Build an index from relative paths already known to be safe (e.g. from a scan)."""
        data = '\n'.join(paths).encode('utf-8', 'surrogateescape')
        return cls.from_bytes(data, base_url=base_url, strict=True, origin='scanned folder')

    @classmethod
    def _build(cls, cols, dirs, filename, good: np.ndarray, base_url: str | None) -> Index:
        def keep(values):
            return values if good.all() else values[good].remove_unused_categories()

        def keep_series(values):
            return values if good.all() else values[good].reset_index(drop=True)

        session, dirs, filename = keep(cols.session), keep(dirs), keep(filename)
        df = pd.DataFrame(
            {
                'url': _unless_none(keep_series(cols.url)),
                'url_base': _no_values(len(session))
                if cols.url_base is None
                else keep(cols.url_base),
                'size': keep_series(cols.size),
                'md5': _unless_none(keep_series(cols.md5)),
                'session': session,
            }
        )
        df = df.assign(**_session_parts(session))
        dir_parts = _broadcast_parts(dirs, folder_parts, ['collection', 'revision', 'is_alf'])
        name_parts = _broadcast_parts(filename, dataset_parts, [*ALF_PARTS, 'is_alf'])
        df['dirs'] = dirs
        df['collection'] = dir_parts['collection']
        df['revision'] = dir_parts['revision']
        df['filename'] = filename
        for part in ALF_PARTS:
            df[part] = name_parts[part]
        df['is_alf'] = dir_parts['is_alf'] & name_parts['is_alf']
        for column, values in cols.extra.items():
            df[column] = values if good.all() else values[good]
        return cls(df.reset_index(drop=True), base_url=base_url)

    # --------------------------------------------------------------------------- lookups
    def urls(self, rows: pd.DataFrame | None = None) -> pd.Series:
        """Download URLs of the rows (the base URL + path where a line named none)."""
        rows = self.df if rows is None else rows
        url = rows['url'].astype(object)
        missing = url.isna().to_numpy()
        if missing.any():
            made = [row_url(r, self.base_url) for r in rows[missing].itertuples()]
            if None in made:
                raise RepositoryError('index lines without a URL and no base URL to resolve them')
            url[missing] = made
        return url

    @functools.cached_property
    def sessions(self) -> pd.DataFrame:
        """One row per session (index: the session path), columns lab, subject, date, number."""
        cats = self.df['session'].cat.categories
        columns = _session_field_values(cats)
        index = pd.Index(cats, name='session')
        return pd.DataFrame(dict(zip(SESSION_FIELDS, columns)), index, SESSION_FIELDS)

    @functools.cached_property
    def eids(self) -> pd.Series:
        """The eid (``uuid.UUID``) of every session, indexed by session path."""
        cats, ids = self.df['session'].cat.categories, []
        for s in cats:
            known = self.session_ids.get(s)
            known = _as_uuid(known) if isinstance(known, str) else known
            ids.append(known or _eid(*_session_fields(s)))
        return pd.Series(ids, index=pd.Index(cats, name='session'), dtype=object)

    @functools.cached_property
    def _by_eid(self) -> dict:
        return dict(zip(self.eids.to_numpy(), self.eids.index))

    @staticmethod
    def newest_first(sessions: pd.DataFrame) -> list:
        """Session paths of a table of sessions (``Index.sessions`` rows) in ONE's order:
        date, subject, number, lab, newest first. Sorting only what a search found is what
        keeps a search on a million-line index in milliseconds."""
        columns = [sessions[c].tolist() for c in ('date', 'subject', 'number', 'lab')]
        keys = [(d, s, int(n), lab) for d, s, n, lab in zip(*columns)]
        order = sorted(range(len(keys)), key=keys.__getitem__, reverse=True)
        paths = sessions.index.tolist()
        return [paths[i] for i in order]

    def _nearest_session(self, wanted: dict) -> str:
        """``'; the nearest: <session>'``: the subject's session nearest in date, or a
        session of the subject whose name is nearest; '' when nothing is near."""
        table = self.sessions
        subject = wanted['subject']
        if not (table['subject'] == subject).any():
            subject = nearest_word(subject, table['subject'].unique())
        mine = table[(table['subject'] == subject).to_numpy()] if subject else table[:0]
        if mine.empty:
            return ''
        day = _dt.date.fromisoformat(wanted['date'])
        gaps = [abs((_dt.date.fromisoformat(d) - day).days) for d in mine['date']]
        return f'; the nearest: {mine.index[int(np.argmin(gaps))]}'

    def resolve_session(self, session) -> str:
        """Find the index's session path for a user's session identifier.

        Any form ``parse_session_id`` accepts: an eid, an experiment reference, a session
        path or the path of a file in it. Session numbers compare as numbers (``1`` finds
        ``001``); a missing lab matches any lab when only one has that subject, date and
        number.
        """
        if isinstance(session, str) and session in self.df['session'].cat.categories:
            return session  # already the index's own spelling
        wanted = parse_session_id(session)
        if isinstance(wanted, uuid.UUID):
            found = self._by_eid.get(wanted)
            if found is None:
                raise ALFObjectNotFound(f'no session of this repository has the id {wanted}')
            return found
        table = self.sessions
        hit = (
            (table['subject'] == wanted['subject'])
            & (table['date'] == wanted['date'])
            & (table['number'].astype(int) == int(wanted['number']))
        )
        if wanted['lab']:
            hit &= table['lab'] == wanted['lab']
        found = list(table.index[hit.to_numpy()])
        if not found:
            raise ALFObjectNotFound(
                f'session {_session_text(wanted)} is not in this repository '
                f'({plural(len(table), "session")}){self._nearest_session(wanted)}'
            )
        if len(found) > 1:
            raise AmbiguousError(
                f'session {_session_text(wanted)} matches several sessions: '
                f'{", ".join(found)}; give the lab too'
            )
        return found[0]

    def session_files(self, session: str) -> pd.DataFrame:
        """Rows of one (resolved) session, as a small frame of plain Python values.

        The last sessions asked for are kept, so that loading several objects of a session
        finds its rows at once.
        """
        rows = self._session_cache.get(session)
        if rows is None:
            code = self.df['session'].cat.categories.get_loc(session)
            selected = self.df.iloc[
                np.flatnonzero(self.df['session'].cat.codes.to_numpy() == code)
            ]
            # plain Python values in object columns (pandas would make strings Arrow-backed,
            # whose every selection costs more than a small session's whole load)
            index = selected.index
            rows = pd.DataFrame(
                {
                    c: pd.Series(column_values(selected[c]), index=index, dtype=object)
                    for c in selected.columns
                }
            )
            rows['is_alf'] = rows['is_alf'].astype(bool)
            rows['rel'] = pd.Series(rel_paths(rows), index=index, dtype=object)
            rows['path'] = session + '/' + rows['rel']
            if len(self._session_cache) >= 256:
                self._session_cache.pop(next(iter(self._session_cache)))
            self._session_cache[session] = rows
        return rows

    def term_mask(self, term, wildcards: bool = True) -> np.ndarray:
        """Boolean mask of the files a dataset term matches (see ``name_matcher``).

        The matcher runs once per distinct file name and term: what it said is kept (for
        the last TERM_CACHE terms) while the index has the same file names, so that a
        notebook's repeated searches index an array instead of matching names again."""
        filenames = self.df['filename'].array
        key = (tuple(str(p) for p in _as_list(term)), wildcards)
        kept = self._term_flags.pop(key, None)
        if kept is None or kept[0] is not filenames.categories:
            match = name_matcher(term, wildcards)
            flags = np.fromiter(map(match, filenames.categories), bool, len(filenames.categories))
            kept = (filenames.categories, np.append(flags, False))  # code -1: no name
        self._term_flags[key] = kept  # the most recent last
        while len(self._term_flags) > TERM_CACHE:
            del self._term_flags[next(iter(self._term_flags))]
        return kept[1][filenames.codes]


def _default_revisions(rows: pd.DataFrame, latest: bool = False) -> np.ndarray:
    """Which rows hold the default revision of their file: the release's own choice where its
    tables say, otherwise (or with ``latest``) the latest, per collection and file name
    (unrevised files count as the oldest)."""
    if not len(rows):
        return np.zeros(0, dtype=bool)
    revisions = rows['revision']
    if isinstance(revisions.dtype, pd.CategoricalDtype):
        revised = any(isinstance(r, str) and r for r in revisions.cat.categories)
    else:
        revised = any(isinstance(r, str) and r for r in revisions.tolist())
    if not revised:
        return np.ones(len(rows), dtype=bool)  # nothing revised: every file is its own default
    if not latest:
        given = pd.Series(rows['default_revision'].to_numpy(object))
        if given.notna().all():
            return given.astype(bool).to_numpy()
    key = pd.DataFrame(
        {
            's': rows['session'].astype(str).to_numpy(object),
            'c': rows['collection'].astype(object).fillna('').to_numpy(object),
            'f': rows['filename'].astype(str).to_numpy(object),
            'r': rows['revision'].astype(object).fillna('').to_numpy(object),
        }
    )
    latest = key.groupby(['s', 'c', 'f'], sort=False)['r'].transform('max')
    return (key['r'] == latest).to_numpy(bool)


def _duplicates(session: pd.Categorical, rest: pd.Categorical, candidates) -> np.ndarray:
    """Lines whose path an earlier line already had (compared by category codes)."""
    key = session.codes.astype(np.int64) * (len(rest.categories) + 1) + rest.codes
    key = np.where(candidates, key, -1 - np.arange(len(key)))  # others never collide
    return pd.Series(key).duplicated(keep='first').to_numpy()


def column_values(column: pd.Series) -> np.ndarray:
    """A column as an object array of Python values, None where missing; a categorical's
    rows share its category objects (its Arrow strings would become a new text per row).

    >>> column_values(pd.Series(['a', None, 'a'], dtype='category')).tolist()
    ['a', None, 'a']
    """
    if isinstance(column.dtype, pd.CategoricalDtype):  # (only the categories used)
        used, at = np.unique(column.cat.codes.to_numpy(), return_inverse=True)
        values = np.asarray(column.cat.categories[used[used >= 0]], dtype=object)
        return np.insert(values, 0, None)[at] if len(used) and used[0] < 0 else values[at]
    return column.to_numpy(object, na_value=None)


def given_url(row) -> str | None:
    """The URL an index line gave for a row (``itertuples``), None where it gave none."""
    if isinstance(row.url, str) and row.url:
        return row.url
    base = getattr(row, 'url_base', None)
    if isinstance(base, str):  # the URL was this + the path (``_elided_urls``)
        return base + quote_path(f'{row.session}/{row.dirs}{row.filename}')
    return None


def row_url(row, base_url: str | None) -> str | None:
    """The download URL of a row: the one its line gave (a relative one below ``base_url``),
    else ``base_url`` + its path (None without a base URL)."""
    url = given_url(row)
    if url is not None and not url.startswith(('http://', 'https://')):
        return base_url + url if base_url else None  # a file of the repository
    if url is None and base_url:
        url = join_url(base_url, f'{row.session}/{row.dirs}{row.filename}')
    return url


def byte_range_of(url: str) -> tuple:
    """(URL, first byte, length) of a URL ending in ``#bytes=FIRST-LAST`` (a member of a
    volume; an empty one ends before it starts); (URL, None, None) otherwise.

    >>> byte_range_of('https://h/v.zip#bytes=100-109'), byte_range_of('v.zip#bytes=7-6')
    (('https://h/v.zip', 100, 10), ('v.zip', 7, 0))
    """
    m = re.fullmatch(r'(.*)#bytes=([0-9]{1,18})-([0-9]{1,18})', url or '')
    if not m or int(m[3]) < int(m[2]) - 1:
        return url, None, None
    return m[1], int(m[2]), int(m[3]) - int(m[2]) + 1


def rel_paths(rows: pd.DataFrame) -> np.ndarray:
    """The path of each row in its session folder (``alf/#v2#/spikes.times.npy``)."""
    return (rows['dirs'].astype(str) + rows['filename'].astype(str)).to_numpy(object)


def row_paths(rows: pd.DataFrame) -> np.ndarray:
    """The path of each row in its repository (``lab/Subjects/m1/2020-01-01/001/alf/...``):
    index rows keep its parts (a session's rows from ``session_files`` add it)."""
    if 'path' in rows.columns:
        return rows['path'].to_numpy(object)
    return (rows['session'].astype(str) + '/' + rel_paths(rows)).to_numpy(object)


def positions_by_path(rows: list, other: list) -> np.ndarray:
    """For each row of ``rows``, the position of the first row of ``other`` with the same
    path, -1 where none: both given as the categoricals of their session, folders and file
    name, row for row (pandas compares them by their category codes, never as texts).

    >>> cat = pd.Categorical
    >>> positions_by_path([cat(['s', 's']), cat(['a/', 'b/']), cat(['x', 'x'])],
    ...                   [cat(['s']), cat(['b/']), cat(['x'])]).tolist()
    [-1, 0]
    """
    if not len(rows[0]) or not len(other[0]):
        return np.full(len(rows[0]), -1)
    theirs = pd.MultiIndex.from_arrays(other)
    whole = np.logical_and.reduce([part.codes >= 0 for part in other])  # no part missing
    first = np.flatnonzero(~theirs.duplicated() & whole)
    at = theirs[first].get_indexer(pd.MultiIndex.from_arrays(rows))
    found = (at >= 0) & np.logical_and.reduce([part.codes >= 0 for part in rows])
    return np.where(found, first[at], -1)


def _session_fields(session: str) -> tuple:
    lab, _, subject, date, number = session.split('/')
    return lab, subject, date, number


def _session_text(parts: dict) -> str:
    head = f'{parts["lab"]}/Subjects/' if parts.get('lab') else ''
    return f'{head}{parts["subject"]}/{parts["date"]}/{parts["number"]}'


def _as_list(value) -> list:
    if value is None:
        return []
    if isinstance(value, (str, bytes, int, _dt.date, dict)):
        return [value]
    return list(value)


def dataset_aliases(filename: str) -> list:
    """The names a search term may match for one file, with and without the namespace.

    A term matches a file when it matches the whole of its object, ``object.attribute``,
    ``object.attribute_timescale`` or its file name.

    >>> dataset_aliases('_ibl_trials.goCue_times_bpod.npy')[:4]
    ['trials', '_ibl_trials', 'trials.goCue_times', '_ibl_trials.goCue_times']
    """
    m = FILE_RE.match(filename)
    if not m:
        return [filename]
    obj, attr, ts, ns = (
        m.group('object'),
        m.group('attribute'),
        m.group('timescale'),
        m.group('namespace'),
    )
    names = [obj, f'{obj}.{attr}']
    if ts:
        names.append(f'{obj}.{attr}_{ts}')
    bare = filename[len(ns) + 2 :] if ns else filename
    out = []
    for name in names:
        out += [name, f'_{ns}_{name}'] if ns else [name]
    out += [bare, filename] if ns else [filename]
    return out


def name_matcher(patterns, wildcards: bool = True):
    """The one rule that matches file names to dataset terms: search, list filters, loads.

    A pattern (a string or a list of them, any of which may match) matches a file when

    - with ``*`` as a wildcard, it matches the whole of one of the file's names
      (``dataset_aliases``: object, ``object.attribute``, ``object.attribute_timescale`` or
      the file name, with or without the namespace), or
    - read as a regular expression, as ONE-api reads it, it matches the whole file name.

    So every name ONE-api matches is matched, and ``'wheel.timestamps'`` finds
    ``_ibl_wheel.timestamps.npy`` too. With ``wildcards=False`` a ``*`` is literal in the
    first rule.

    >>> match = name_matcher(['spikes.times', '.+[.]imec[.].+'])
    >>> match('spikes.times_ephysClock.npy'), match('a.imec.lf.npy'), match('spikesorting.a.npy')
    (True, True, False)
    """
    texts = [str(p) for p in _as_list(patterns)]
    globs = [wildcard_regex(t) if wildcards else re.compile(re.escape(t)) for t in texts]
    regexes = [r for r in map(_regex_or_none, texts) if r is not None]

    def match(filename: str) -> bool:
        if any(r.fullmatch(filename) for r in regexes):
            return True
        return any(g.fullmatch(a) for a in dataset_aliases(filename) for g in globs)

    return match


@functools.lru_cache(maxsize=256)
def _regex_or_none(text: str):
    try:
        return re.compile(text)
    except re.error:
        return None


def _line_paths(cols: _IndexColumns, rows) -> list:
    """The paths of some lines (positions): as written where a line names no session
    folder, otherwise its session folder and the rest."""
    out = []
    for i in rows:
        given = None if cols.path is None else cols.path.iloc[i]
        session, rest = cols.session[i], cols.rest[i]
        out.append(given if isinstance(given, str) else f'{session}/{rest}')
    return out


def _report_bad_lines(linenos, reasons, paths, origin, strict):
    """Warn about the first bad lines (or, strict, raise for the first one)."""
    paths = list(paths[:_MAX_WARNINGS])
    if strict:
        raise IndexFormatError(
            f'{origin} line {linenos[0]}: {reasons[0]} ({_printable(paths[0])})'
        )
    for n, reason, path in list(zip(linenos, reasons, paths))[:_MAX_WARNINGS]:
        logger.warning('%s line %d skipped: %s (%s)', origin, n, reason, _printable(path))
    if len(linenos) > _MAX_WARNINGS:
        logger.warning('%s: %d more bad lines skipped', origin, len(linenos) - _MAX_WARNINGS)


@dataclass
class ScanResult:
    """What ``scan`` found under a folder."""

    root: Path
    files: list  # relative paths inside session folders, '/'-separated, sorted
    outside: list  # files that are not inside a session folder (not indexed)
    paths: list = field(default_factory=list, repr=False)  # the files' local paths
    cite: str | None = None  # of the index written from it (``write_index``)

    def index(self, base_url: str | None = None) -> Index:
        return Index.from_paths(self.files, base_url=base_url)

    def one_tables(self, checksums: bool = False) -> OneTables:
        """ONE's cache tables of the scanned tree (made once per scan and ``checksums``)."""
        made = self._tables
        if checksums not in made:
            md5s = self.md5s if checksums else None
            made[checksums] = OneTables.from_index(
                self.index(), self.sizes, md5s, self.date_modified
            )
        return made[checksums]

    @functools.cached_property
    def _tables(self) -> dict:
        return {}

    def require_sessions(self, what: str) -> ScanResult:
        """Self, when the folder holds session folders; otherwise NotFoundError saying which
        folder to give (a subject's or a session's folder is not a repository root)."""
        if self.files:
            return self
        found = f'; {len(self.outside)} file(s) outside session folders' if self.outside else ''
        parts = self.root.parts
        above = (  # the folder holding the lab folder, where ROOT is inside one
            Path(*parts[: parts.index('Subjects') - 1])
            if 'Subjects' in parts[2:]
            else self.root.parent
            if (self.root / 'Subjects').is_dir()
            else None
        )
        raise NotFoundError(
            f'{what}: {self.root} holds no session folder '
            f'(lab/Subjects/subject/yyyy-mm-dd/number/){found}: give the folder that holds '
            'the lab folders' + (f' ({above}?)' if above else '')
        )

    @property
    def local_paths(self) -> list:
        """The files' paths on this computer (from the scan itself when it made them)."""
        return self.paths or [safe_join(self.root, f) for f in self.files]

    @functools.cached_property
    def stats(self) -> list:
        """The files' ``os.stat`` (made when first asked: a scan itself never stats)."""
        return list(map(os.stat, self.local_paths))

    @functools.cached_property
    def sizes(self) -> list:
        """The files' sizes in bytes."""
        return [st.st_size for st in self.stats]

    @property
    def date_modified(self) -> str:
        """When the newest file was written (``YYYY-MM-DD HH:MM``, local time): the tables'
        ``date_created``, the same for an unchanged tree."""
        newest = max((st.st_mtime for st in self.stats), default=0.0)
        return _dt.datetime.fromtimestamp(newest).strftime('%Y-%m-%d %H:%M')

    @functools.cached_property
    def md5s(self) -> list:
        """The files' md5 digests (computed when first asked)."""
        return [md5sum(p) for p in self.local_paths]

    @property
    def sessions(self) -> list:
        """The session folders that hold files, sorted."""
        return sorted({'/'.join(f.split('/', 5)[:5]) for f in self.files})


def scan(root) -> ScanResult:
    """List the files under ``root`` (recursively, with ``os.scandir``).

    Every regular file inside a session folder is kept (ALF or not); hidden files, ``.one_root``,
    ``.DS_Store`` and partial downloads are skipped; files outside session folders are reported.
    Checks run once per folder and per distinct file name, so a scan costs little more than
    listing the folders.
    """
    root = Path(root).expanduser()
    if not root.is_dir():
        raise NotFoundError(f'not a folder: {root}')
    files, outside, foreign = [], [], []
    real_root = os.path.realpath(root)
    safe_names = {}  # name -> None (skipped), True (safe) or False (not a safe segment)
    # (relative prefix, folder, depth, inside a session folder)
    stack = [('', os.fspath(root), 0, False)]
    while stack:
        prefix, folder, depth, in_session = stack.pop()
        try:
            entries = list(os.scandir(folder))
        except OSError as e:
            logger.warning('cannot read folder %s: %s', folder, e.strerror)
            continue
        for entry in entries:
            name = entry.name
            safe = safe_names.get(name, '')
            if safe == '':  # a name not seen yet: checked once
                skipped = name[0] == '.' or name in SKIPPED_NAMES or is_partial_name(name)
                safe = safe_names[name] = None if skipped else is_safe_segment(name)
            if safe is None:
                continue
            if entry.is_dir(follow_symlinks=False):
                rel = prefix + name
                session = in_session or (depth == 4 and SESSION_FOLDER_RE.fullmatch(rel))
                if safe:
                    stack.append((rel + '/', entry.path, depth + 1, bool(session)))
                else:
                    outside.append(rel + '/')
            elif entry.is_file():
                if entry.is_symlink() and not _links_inside(entry.path, real_root):
                    foreign.append(prefix + name)
                elif in_session and safe:
                    files.append((prefix + name, entry.path))
                else:
                    outside.append(prefix + name)
    if foreign:  # never publish what a link brings in from elsewhere (~/.ssh, /etc)
        logger.warning(
            'scan: %d symlink(s) to files outside %s left out, e.g. %s',
            len(foreign),
            root,
            _printable(foreign[0]),
        )
    files.sort()
    # the local paths come from scandir: stat needs no joining of paths again
    return ScanResult(root, [r for r, _ in files], sorted(outside), [p for _, p in files])


def _links_inside(path: str, real_root: str) -> bool:
    """Whether the symlink ``path`` leads to a file inside ``real_root`` (a resolved path)."""
    target = os.path.realpath(path)
    return os.path.commonpath([target, real_root]) == real_root


def open_source(source):
    """``source`` open for reading in binary: a path, or an object with its own ``open`` (a
    ``ScannedFile``, which checks it is still the file scanned)."""
    return source.open('rb') if hasattr(source, 'open') else open(source, 'rb')


def md5sum(path, chunk: int = 1 << 20) -> str:
    """The md5 hex digest of a file (a path, a ``ScannedFile`` or a file open for reading,
    read to its end and left open), read in 1 MiB chunks."""
    import hashlib

    digest = hashlib.md5(usedforsecurity=False)
    opened = hasattr(path, 'read')
    with contextlib.nullcontext(path) if opened else open_source(path) as f:
        for block in iter(lambda: f.read(chunk), b''):
            digest.update(block)
    return digest.hexdigest()


def md5_of_bytes(data: bytes) -> str:
    """The md5 hex digest of bytes in memory (an index, a cached body)."""
    import hashlib

    return hashlib.md5(data, usedforsecurity=False).hexdigest()


def index_bytes(
    result: ScanResult, *, base_url: str | None = None, checksums=False, placed=None
) -> bytes:
    """The ``.one_root`` of a scanned tree.

    With ``base_url`` 2 columns (path, URL); without, 1 column (readers add their base URL).
    ``checksums=True`` adds size and md5 (4 columns; the URL cell is empty when there is no
    base URL, and readers then use their own). ``placed``: files published under other
    names (flat keys, members of volumes), ``{path: (URL cell, size, md5)}``: 4 columns.
    """
    if placed is not None:
        rows = [placed[rel] for rel in result.files]
        return index_text(result.files, *([row[k] for row in rows] for k in range(3)))
    urls = _urls_of(base_url, result.files) if base_url else None
    if checksums:
        return index_text(result.files, urls, result.sizes, result.md5s)
    return index_text(result.files, urls)


def index_text(paths: list, urls=None, sizes=None, md5s=None) -> bytes:
    """The bytes of a ``.one_root`` (the one place its lines are written): a line a path, of
    one column (the path; readers add their base URL), two (path, URL) or, with sizes or
    md5s, four (path, URL, size, md5: an unknown cell, or a URL readers make, empty).

    >>> index_text(['a/b.c.d'], sizes=[3])
    b'a/b.c.d\\t\\t3\\t\\n'
    """
    columns, blank = [paths], [''] * len(paths)
    if urls is not None or sizes is not None or md5s is not None:
        columns.append(blank if urls is None else urls)
    if sizes is not None or md5s is not None:
        for cells in (sizes, md5s):
            columns.append(blank if cells is None else ['' if c is None else c for c in cells])
    return ''.join('\t'.join(map(str, line)) + '\n' for line in zip(*columns)).encode('utf-8')


def _urls_of(base_url: str, paths: list) -> list:
    """``join_url`` for many paths, quoting each distinct folder and file name once."""
    base, quote = base_url.rstrip('/') + '/', functools.lru_cache(maxsize=None)(quote_path)
    return [f'{base}{quote(f)}/{quote(n)}' for f, _, n in (p.rpartition('/') for p in paths)]


def write_index(
    root,
    *,
    base_url: str | None = None,
    checksums: bool | None = None,
    one_cache: bool = False,
    require_sessions: bool = False,
) -> ScanResult:
    """Scan ``root`` and write ``root/.one_root`` atomically (see ``index_files``); with
    ``one_cache``, ONE's cache tables too (``result.one_tables(checksums)`` gives them).
    ``checksums`` None: as the index there (md5s again where it has them).
    ``require_sessions``: a folder without session folders is a NotFoundError, not an
    empty index."""
    result = scan(root)
    if require_sessions:
        result.require_sessions('nothing to index')
    if checksums is None:
        checksums = index_has_md5(result.root / INDEX_NAME)
    for name, data in index_files(result, base_url, checksums, one_cache).items():
        atomic_write_bytes(result.root / name, data)
    result.cite = cite_of(data)  # (the index: written last)
    return result


def index_has_md5(path: Path) -> bool:
    """Whether the index at ``path`` (its first 64 KiB) has an md5 column: a rerun of
    ``index`` keeps it rather than silently dropping what an earlier run wrote."""
    try:
        with open(path, 'rb') as f:
            head = f.read(1 << 16).decode('utf-8', 'replace').splitlines()
    except OSError:
        return False
    rows = [line.split('\t') for line in head if line and not line.startswith('#')]
    return any(len(r) >= 4 and re.fullmatch(MD5_PATTERN, r[3].strip()) for r in rows[:100])


def index_files(
    result: ScanResult, base_url=None, checksums=False, one_cache=False, placed=None
) -> dict:
    """The files that publish a scanned tree, in the order to publish them: ONE's cache
    tables when asked for, then ``.one_root`` (last, so that it never names what is not there
    yet; see ``index_bytes``)."""
    out = {}
    if one_cache:
        out.update(result.one_tables(checksums or placed is not None).files())
    out[INDEX_NAME] = index_bytes(result, base_url=base_url, checksums=checksums, placed=placed)
    return out


def cite_of(index) -> str:
    """What cites a release: the SHA-256 of its ``.one_root`` (``sha256:<hex>``), given as
    bytes or as a file read from where it is (and left there)."""
    import hashlib

    if isinstance(index, bytes):
        return 'sha256:' + hashlib.sha256(index).hexdigest()
    start, hashed = index.tell(), hashlib.sha256()
    for chunk in iter(lambda: index.read(1 << 20), b''):
        hashed.update(chunk)
    index.seek(start)
    return 'sha256:' + hashed.hexdigest()


# =============================================================================================
# ONE cache tables
# =============================================================================================
# ONE-api opens a folder by its parquet tables ``sessions.pqt`` (index ``id``: lab, subject,
# date, number, task_protocol, projects) and ``datasets.pqt`` (index ``(eid, id)``: rel_path,
# file_size, hash, exists, qc, default_revision), each with ``one_metadata`` (JSON holding
# ``date_created``) in its parquet schema. onelight writes them beside ``.one_root`` so that
# ONE-api opens what onelight publishes, and reads them, so that onelight opens ONE releases.

ONE_TABLES = ('sessions.pqt', 'datasets.pqt')
ONE_CACHE_ZIP = 'cache.zip'
CACHE_INFO_NAME = 'cache_info.json'


@dataclass
class OneTables:
    """ONE's two cache tables as flat frames (ids in the columns ``id``, and ``eid`` for
    datasets; written with ONE's indexes); ``left_out`` counts the files that ONE cannot
    hold (not ALF)."""

    sessions: pd.DataFrame
    datasets: pd.DataFrame
    left_out: int = 0
    date_created: str = ''
    sources: list = field(default_factory=list)  # the URLs they were read from, if any

    @classmethod
    def from_index(cls, index: Index, sizes=None, md5s=None, date_created: str = '') -> OneTables:
        """The tables of an index (its ALF files), with the index's stable ids.

        ``sizes`` and ``md5s`` (one per index row) fill ``file_size`` and ``hash``; without
        md5s the hash column is all null, which ONE-api then does not check.
        """
        df = index.df
        eid_text = np.array([str(e) for e in index.eids.to_numpy()] + [''], dtype=object)
        t = index.sessions
        sessions = pd.DataFrame(
            {
                'id': eid_text[:-1],
                'lab': t['lab'].to_numpy(object),
                'subject': t['subject'].to_numpy(object),
                'date': [_dt.date.fromisoformat(d) for d in t['date']],
                'number': t['number'].astype(int).to_numpy(np.uint16),
                'task_protocol': '',
                'projects': '',
            }
        )
        if index.session_meta is not None:
            for column in ('task_protocol', 'projects'):
                if column in index.session_meta.columns:
                    values = index.session_meta[column].reindex(t.index)
                    sessions[column] = values.fillna('').to_numpy(object)
        alf = df['is_alf'].to_numpy(bool)
        rows = df[alf]
        if sizes is not None:
            rows = rows.assign(size=pd.array(sizes, dtype='Int64')[alf])
        if md5s is not None:
            rows = rows.assign(md5=pd.Series(list(md5s), dtype=object)[alf].to_numpy(object))
        datasets = datasets_table(rows, index.eids)
        date = date_created or _dt.datetime.now().strftime('%Y-%m-%d %H:%M')
        return cls(sessions, datasets, int((~alf).sum()), date)

    def files(self) -> dict:
        """The bytes of ``sessions.pqt``, ``datasets.pqt`` and ``cache_info.json``."""
        meta = {'date_created': self.date_created, 'origin': f'onelight {__version__}'}
        out = {
            'sessions.pqt': _parquet_bytes(self.sessions, meta, ['id']),
            'datasets.pqt': _parquet_bytes(self.datasets, meta, ['eid', 'id']),
        }
        info = {
            **meta,
            'min_api_version': '2.0',
            'tables': {
                name[:-4]: {'nrecs': len(table), 'size': len(out[name])}
                for name, table in zip(ONE_TABLES, (self.sessions, self.datasets))
            },
        }
        out[CACHE_INFO_NAME] = (json.dumps(info, indent=1) + '\n').encode()
        return out

    @classmethod
    def from_files(
        cls, files: dict, origin: str, limit: int = 1 << 30, sources: tuple = ()
    ) -> OneTables:
        """Read the tables from their bytes or open files (closed then): ``{'sessions.pqt':
        ..., 'datasets.pqt': ...}`` or ``{'cache.zip': bytes}``; DataFormatError when they
        are not ONE's tables, TooLargeError when one decodes to more than ``limit`` bytes."""
        if ONE_CACHE_ZIP in files:
            zipped = files[ONE_CACHE_ZIP]
            with contextlib.nullcontext() if isinstance(zipped, bytes) else zipped:
                files = _unzip_tables(zipped, origin, limit)
        frames, created = [], ''
        try:
            for name in ONE_TABLES:
                if name not in files:
                    raise DataFormatError(f'{origin}: no {name} among the ONE cache tables')
                table = _read_parquet(files[name], f'{origin}: {name}', limit)
                meta = (table.schema.metadata or {}).get(b'one_metadata')
                if meta:
                    with contextlib.suppress(ValueError, AttributeError):
                        created = str(parse_json(meta).get('date_created', created))
                # no index: flat; each column freed once converted, not the table at the end
                frames.append(
                    table.to_pandas(ignore_metadata=True, self_destruct=True, split_blocks=True)
                )
                del table
        finally:
            for source in files.values():
                if not isinstance(source, bytes):
                    source.close()
        sessions = _flat_table(frames[0], ['id'], ('lab', 'subject', 'date', 'number'), origin)
        datasets = _flat_table(frames[1], ['id'], ('rel_path',), origin)
        datasets = _flat_table(_eids_from_session_paths(sessions, datasets), ['eid'], (), origin)
        return cls(*_checked_tables(sessions, datasets, origin), 0, created, list(sources))

    @functools.cached_property
    def located(self) -> tuple:
        """Where each dataset is: its session folder and its rel_path as categoricals, row
        for row (code -1: its eid names no session of the table), worked out once per
        session and per distinct rel_path, never per row in Python."""
        paths = self.session_paths()
        codes, folders = pd.factorize(paths.to_numpy(object))
        eid = pd.Categorical(self.datasets['eid'])
        found = pd.Index(paths.index).get_indexer(eid.categories)
        per_eid = np.append(np.where(found >= 0, codes[found], -1), -1)
        rest = pd.Categorical(self.datasets['rel_path'])
        return (
            _object_categories(per_eid[eid.codes], folders),
            _object_categories(rest.codes, rest.categories),
        )

    def index_columns(self, url_of=None, every_row: bool = False, spelling=None):
        """The datasets as the columns of an index's lines, to be checked as lines are
        (``Index.from_columns``), with their ids, QC and default revisions: those that exist,
        or ``every_row``. ``url_of(paths, ids)`` gives URLs (none: readers add the base
        URL); ``spelling`` maps session folders to a folder's own (``1`` for ``001``)."""
        import pyarrow as pa
        import pyarrow.compute as pc

        d, (session, rest) = self.datasets, self.located
        if spelling:
            session = _object_categories(
                session.codes, [spelling.get(p, p) for p in session.categories]
            )
        keep = (session.codes >= 0) & (every_row or _exists(d))
        if not keep.all():
            d, session, rest = d[keep], session[keep], rest[keep]
        ids, n, paths = _arrow_text(d['id']), len(d), None
        url = pa.nulls(n, pa.string())
        if url_of is not None:
            paths = _joined(session, rest)
            urls = url_of(pd.Series(pd.arrays.ArrowStringArray(paths)), pd.Series(ids))
            url = pa.array(urls.to_numpy(object), pa.string())
        size = d.get('file_size', pd.Series(pd.NA, index=d.index, dtype='Int64'))
        md5 = _arrow_text(d.get('hash', pd.Series(None, index=d.index, dtype=object)))
        md5 = pc.if_else(pc.match_substring_regex(md5, _MD5_RE), md5, None)  # '': unknown
        qc = d.get('qc', pd.Series('NOT_SET', index=d.index))
        revision = d.get('default_revision', pd.Series(None, index=d.index, dtype=object))
        try:
            revision = pd.array(revision, dtype='boolean')
        except (TypeError, ValueError):  # not booleans: the release does not say
            revision = pd.array([None] * n, dtype='boolean')
        url_ok = pc.or_kleene(pc.is_null(url), pc.match_substring_regex(url, SAFE_URL_PATTERN))
        ok, no = np.ones(n, dtype=bool), np.zeros(n, dtype=bool)
        return _IndexColumns(
            lineno=np.flatnonzero(keep) + 1,  # the row of datasets.pqt
            ncols=np.full(n, 4),
            too_long=no,
            not_utf8=no,
            path=paths,
            url=url,
            url_ok=_np(url_ok),
            size=pa.array(pd.array(size, dtype='Int64'), pa.int64()),
            size_ok=ok,
            md5=pc.utf8_lower(md5),
            md5_ok=ok,
            session=session,
            rest=rest,
            extra={
                'exists': _exists(d),
                'id': pd.arrays.ArrowStringArray(ids),
                'qc': qc_levels(qc),
                'default_revision': revision,
            },
        )

    def to_index(self, *, url_of=None, base_url=None, strict=False, origin='') -> Index:
        """The index of a repository that publishes tables only: the datasets that exist."""
        cols = _concat_columns([self.index_columns(url_of)])
        index = Index.from_columns(cols, base_url=base_url, strict=strict, origin=origin)
        return self.attach_sessions(index)

    def session_paths(self) -> pd.Series:
        """``lab/Subjects/subject/date/NNN`` of every session id (str)."""
        return self._session_paths

    @functools.cached_property
    def _session_paths(self) -> pd.Series:
        return _table_session_paths(self.sessions)

    def catalogue(self, result: ScanResult, origin: str) -> Index:
        """The index of a folder whose tables are its catalogue, as in ONE: what the tables
        list is there with the tables' ``exists`` (False: a dataset search does not match
        it) even when its file is not on disk (a load of it is then ALFObjectNotFound), and
        so are sessions without datasets; files on disk that the
        tables do not list are there too."""
        spelling = {normalised_session(*_session_fields(s)): s for s in result.sessions}
        cols = self.index_columns(every_row=True, spelling=spelling)
        extra, n, files = cols.extra, len(cols.lineno), result.files
        disk = _concat_columns(
            [_arrow_chunk('\n'.join(files).encode('utf-8', 'surrogateescape'), 1)]
        )
        listed = _path_parts(cols.session, cols.rest)
        at = positions_by_path(_path_parts(disk.session, disk.rest), listed)
        unlisted = [f for f, i in zip(files, at) if i < 0]
        parts = [cols]
        if unlisted:
            text = '\n'.join(unlisted).encode('utf-8', 'surrogateescape')
            parts.append(_arrow_chunk(text, n + 1))
        cols = _concat_columns(parts)
        del parts, disk  # (their columns are copied)
        if unlisted:  # their defaults after the tables' rows
            taken = np.append(np.arange(n), np.full(len(unlisted), -1))
            extra = {k: _take(v, taken, Index.FILE_DEFAULTS[k]) for k, v in extra.items()}
        cols.extra = extra
        index = Index.from_columns(cols, origin=origin)
        listed = {spelling.get(p, p) for p in self.located[0].categories}
        index.add_sessions(sorted(listed - set(index.df['session'].cat.categories)))
        return self.attach_sessions(index)

    def attach_sessions(self, index: Index) -> Index:
        """Give an index the tables' session ids and metadata (``projects``,
        ``task_protocol``)."""
        paths = self.session_paths()
        known = set(index.df['session'].cat.categories)
        meta = self.sessions
        meta = meta.assign(session=meta['id'].map(paths)).dropna(subset=['session'])
        meta = meta.drop_duplicates('session').set_index('session')
        columns = [c for c in ('task_protocol', 'projects') if c in meta.columns]
        index.set_session_info(  # ids as text until asked for
            {p: i for i, p in paths.items() if p in known},
            meta[columns].astype(object).where(meta[columns].notna(), ''),
        )
        index.from_tables = True
        return index

    def attach_to(self, index: Index) -> Index:
        """Give an index read from ``.one_root`` the tables' ids (session and dataset),
        metadata and QC, matched by path (the datasets that exist)."""
        cols = self.index_columns()
        at = positions_by_path(_index_path_parts(index.df), _path_parts(cols.session, cols.rest))
        for column, values in cols.extra.items():
            if column != 'exists':
                index.set_file_column(column, _take(values, at, Index.FILE_DEFAULTS[column]))
        return self.attach_sessions(index)


def _path_parts(session: pd.Categorical, rest: pd.Categorical) -> list:
    """(session, folders, file name) categoricals of paths split after their session."""
    return [session, *_split_rest(rest)]


def _index_path_parts(rows: pd.DataFrame) -> list:
    return [rows[c].array for c in ('session', 'dirs', 'filename')]


def _arrow_text(values):
    """A column of a table as a pyarrow string array (nulls kept; not text: as text)."""
    import pyarrow as pa

    array = pa.array(values, from_pandas=True)
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    return array if array.type in (pa.string(), pa.large_string()) else array.cast(pa.string())


def _take(values, positions: np.ndarray, default):
    """``values`` at ``positions`` (an array), ``default`` where a position is -1."""
    if not len(values):
        values = pd.array([default])
        positions = np.zeros(len(positions), dtype=np.intp)
    if isinstance(values, np.ndarray):
        return np.where(positions >= 0, values[positions], default)
    return pd.api.extensions.take(values, positions, allow_fill=True, fill_value=default)


def _exists(datasets: pd.DataFrame) -> np.ndarray:
    if 'exists' not in datasets.columns:
        return np.ones(len(datasets), dtype=bool)
    return datasets['exists'].fillna(True).astype(bool).to_numpy()


def adopt_ids(index: Index, source: Index) -> Index:
    """Give ``index`` the ids, metadata and QC that ``source`` has for the same sessions and
    files (a download folder keeps its repository's ids)."""
    ids = source.eids
    index.set_session_info(
        {s: ids[s] for s in index.df['session'].cat.categories if s in ids.index},
        source.session_meta,
    )
    at = positions_by_path(_index_path_parts(index.df), _index_path_parts(source.df))
    for column in ('id', 'qc'):
        index.set_file_column(column, _take(source.df[column].array, at, None))
    index.from_tables = source.from_tables
    return index


def datasets_table(rows: pd.DataFrame, eids: pd.Series) -> pd.DataFrame:
    """ONE's datasets table (flat: ``eid, id, rel_path, file_size, hash, exists, qc,
    default_revision``) of index rows; ``eids`` maps session paths to eids.

    Ids are a release's own (an ``id`` column) or ``uuid3(eid, rel_path)``; a hash is an md5
    or null, never ''.
    """
    eid_text = pd.Series([str(e) for e in eids.to_numpy()], index=eids.index.astype(str))
    if isinstance(rows['session'].dtype, pd.CategoricalDtype):  # once per session
        codes = rows['session'].cat.codes.to_numpy()
        per_session = eid_text.reindex(rows['session'].cat.categories.astype(str))
        eid_of = np.append(per_session.to_numpy(object), '')[codes]
    else:
        eid_of = rows['session'].astype(str).map(eid_text).to_numpy(object)
    rels = rel_paths(rows)
    space = {e: uuid.UUID(e).bytes for e in eid_text}
    given = rows['id'].to_numpy(object)
    made = [i for i, g in enumerate(given) if not (isinstance(g, str) and g)]
    ids = list(given)
    for i, text in zip(made, uuid3_texts([space[eid_of[i]] for i in made], rels[made])):
        ids[i] = text
    md5 = pd.Series(rows['md5'].to_numpy(object), dtype=object)
    return pd.DataFrame(
        {
            'eid': eid_of,
            'id': ids,
            'rel_path': rels,
            'file_size': pd.array(rows['size'], dtype='UInt64'),
            'hash': md5.where(md5.notna(), None).to_numpy(object),
            'exists': rows['exists'].astype(bool).to_numpy(),
            'qc': qc_levels(rows['qc']),
            'default_revision': _default_revisions(rows),
        }
    )


def _parquet_bytes(frame: pd.DataFrame, meta: dict, index: list) -> bytes:
    """A table as parquet bytes, with ONE's ``one_metadata`` in its schema; the ``index``
    columns are its index for pandas (as ``frame.set_index(index)`` would write them, without
    building that index: for a million ids, most of the time of the write)."""
    pa = _require('pyarrow', 'parquet', 'writing ONE cache tables')
    import pyarrow.parquet as pq

    frame = frame[[c for c in frame.columns if c not in index] + list(index)]
    table = pa.Table.from_pandas(frame, preserve_index=False)
    pandas_meta = json.loads(table.schema.metadata[b'pandas'])
    pandas_meta['index_columns'] = list(index)
    table = table.replace_schema_metadata(
        {**table.schema.metadata, b'pandas': json.dumps(pandas_meta).encode()}
    )
    # ONE-api's own tables hold plain strings (pandas 3 would write large ones)
    schema = pa.schema(
        [f.with_type(pa.string()) if f.type == pa.large_string() else f for f in table.schema],
        metadata=table.schema.metadata,
    )
    table = table.cast(schema)
    table = table.replace_schema_metadata(
        {**(table.schema.metadata or {}), b'one_metadata': json.dumps(meta).encode()}
    )
    sink = io.BytesIO()
    pq.write_table(table, sink)
    return sink.getvalue()


def _unzip_tables(data, origin: str, limit: int = 1 << 30) -> dict:
    """The tables inside ``cache.zip`` (temporary files), each at most ``limit`` bytes once
    inflated (counted as it inflates, whatever the zip's directory claims); DataFormatError
    naming the file for anything else (a bad CRC, corrupt deflate, encryption, an unknown
    method)."""
    import tempfile
    import zipfile
    import zlib

    where, out = f'{origin}: {ONE_CACHE_ZIP}', {}
    try:
        with zipfile.ZipFile(io.BytesIO(data) if isinstance(data, bytes) else data) as z:
            names = {PurePosixPath(n).name: n for n in z.namelist()}
            for table in ONE_TABLES:
                if table not in names:
                    continue
                body = out[table] = tempfile.SpooledTemporaryFile(SPOOL_BYTES)
                with z.open(names[table]) as member:
                    while chunk := member.read(1 << 20):  # counted before it is kept
                        if body.tell() + len(chunk) > limit:
                            raise TooLargeError(
                                f'{where}: {table} is larger than {limit >> 20} MiB inflated; '
                                'refused (raise the max_index_mb setting if it is right)'
                            )
                        body.write(chunk)
                body.seek(0)
            return out
    except BaseException as e:
        for body in out.values():
            body.close()
        if isinstance(e, (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError)):
            raise DataFormatError(
                f'{where} is not a readable zip file: {_first_line(e)}'
            ) from None
        if isinstance(e, (NotImplementedError, RuntimeError)):  # an unknown method, encryption
            raise DataFormatError(f'{where} cannot be read: {_first_line(e)}') from None
        raise


REPEATED_COLUMNS = ('eid', 'rel_path', 'qc', 'session_path')


def _read_parquet(source, what: str, limit: int):
    """A parquet table from bytes or a file (closed then), refused (TooLargeError) when its
    metadata says it decodes to more than ``limit`` bytes: its uncompressed size, or 8 bytes
    a value (a column of one value repeated is small on disk and large once decoded)."""
    pq = _require('pyarrow.parquet', 'parquet', 'reading ONE cache tables')
    try:
        with io.BytesIO(source) if isinstance(source, bytes) else source as f:
            # one file, read by its own reader: read_table goes through pyarrow's dataset
            # layer, 22 MB more of libraries in memory for a table of any size
            # the columns that repeat a few values (a session's eid, the rel_paths, QC) are
            # read as dictionaries: categoricals, a code a row instead of a text
            names = set(pq.ParquetFile(f).schema_arrow.names)
            f.seek(0)
            reader = pq.ParquetFile(f, read_dictionary=[c for c in REPEATED_COLUMNS if c in names])
            meta = reader.metadata
            stored = sum(meta.row_group(i).total_byte_size for i in range(meta.num_row_groups))
            if max(stored, meta.num_rows * meta.num_columns * 8) > limit:
                raise TooLargeError(
                    f'{what} holds {meta.num_rows:,} rows that decode to more than '
                    f'{limit >> 20} MiB; refused (raise the max_index_mb setting if it is right)'
                )
            return reader.read()
    except TooLargeError:
        raise
    except Exception as e:  # pyarrow raises several kinds for a bad file
        raise DataFormatError(f'{what} is not a parquet table: {_first_line(e)}') from None


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return _printable(text.splitlines()[0], 160) if text else type(error).__name__


def _flat_table(frame: pd.DataFrame, keys: list, columns, origin: str) -> pd.DataFrame:
    """A table with its ids as text columns, whether or not it stored them as its index
    (ONE-api takes the columns named like ``id`` then). ONE's older schema, which ONE still
    opens, is read too: ids as two int64 columns (``id_0``, ``id_1``), ``project``, and
    datasets naming their session by ``session_path``."""
    if not isinstance(frame.index, pd.RangeIndex):
        frame = frame.reset_index()
    for key in ('id', 'eid'):
        frame = _uuid_from_int_pairs(frame, key)
    if 'project' in frame.columns and 'projects' not in frame.columns:
        frame = frame.rename(columns={'project': 'projects'})
    name = 'sessions.pqt' if keys == ['id'] else 'datasets.pqt'
    missing = [c for c in (*keys, *columns) if c not in frame.columns]
    if missing:
        raise DataFormatError(f'{origin}: {name} lacks the column(s) {", ".join(missing)}')
    return frame.assign(**{k: _as_text(frame[k]) for k in keys})


def _as_text(values: pd.Series) -> pd.Series:
    """A column of ids as text (a categorical's categories, not its rows)."""
    if isinstance(values.dtype, pd.CategoricalDtype):
        texts = values.cat.categories.astype(str)
        if texts.is_unique:
            return values.cat.rename_categories(texts)
        values = values.astype(object)
    return values if pd.api.types.is_string_dtype(values.dtype) else values.astype(str)


def _uuid_from_int_pairs(frame: pd.DataFrame, key: str) -> pd.DataFrame:
    """``key`` as UUID text from the ``key_0``, ``key_1`` int64 columns of ONE's older tables
    (the two halves of the UUID's 16 bytes, little-endian)."""
    halves = [f'{key}_0', f'{key}_1']
    if key in frame.columns or not all(h in frame.columns for h in halves):
        return frame
    try:
        pairs = np.stack([frame[h].to_numpy(dtype='<i8') for h in halves], axis=1)
    except (TypeError, ValueError):
        return frame  # not numbers: the missing column is reported by the caller
    text = [str(uuid.UUID(bytes=pair.tobytes())) for pair in pairs]
    return frame.drop(columns=halves).assign(**{key: text})


def _iso_day(value) -> str:
    """``'2020-01-31'`` of a date, a datetime or a text starting with one; '' otherwise."""
    try:
        return _dt.date.fromisoformat(str(value)[:10]).isoformat()
    except ValueError:
        return ''


def _table_session_paths(sessions: pd.DataFrame, every_row: bool = False):
    """``lab/Subjects/subject/date/NNN`` of every session of a sessions table, by its id;
    with ``every_row``, an array row for row, None where a row names no session."""
    s = sessions
    number = pd.to_numeric(s['number'], errors='coerce')
    number = number.where((number >= 0) & (number <= 999) & (number == number.round()))
    try:  # a release has a few hundred days: each read once
        codes, days = pd.factorize(s['date'])
        date = np.array([_iso_day(d) for d in days] + [''], dtype=object)[codes]
    except TypeError:  # values that are not even hashable
        date = s['date'].map(_iso_day).to_numpy(object)
    date = pd.Series(date, index=s.index)
    text = [s[c].map(lambda v: v if isinstance(v, str) else None) for c in ('lab', 'subject')]
    path = text[0] + '/Subjects/' + text[1] + '/' + date
    path = path + '/' + number.fillna(-1).astype(int).map('{:03d}'.format)
    ok = (text[0].notna() & text[1].notna() & number.notna()).to_numpy()
    path = np.where(ok, path.to_numpy(object), None)
    if every_row:
        return path
    return pd.Series(path[ok], index=s['id'].to_numpy(object)[ok])


def _eids_from_session_paths(sessions: pd.DataFrame, datasets: pd.DataFrame) -> pd.DataFrame:
    """Datasets of ONE's older tables name their session by path: their eids."""
    if 'eid' in datasets.columns or 'session_path' not in datasets.columns:
        return datasets
    paths = _table_session_paths(sessions)
    by_path = pd.Series(paths.index.to_numpy(object), index=paths.to_numpy(object))
    by_path = by_path[~by_path.index.duplicated()]
    return datasets.assign(eid=datasets['session_path'].astype(str).map(by_path))


def _checked_tables(sessions: pd.DataFrame, datasets: pd.DataFrame, origin: str) -> tuple:
    """ONE cache tables read from outside, checked before anything in them names a path or
    a URL. A row that names no session folder (a lab, subject, date or number that is none,
    ``/``, ``..``, control characters), a rel_path that would leave its folder or is no text,
    a file_size that is no count of bytes, a duplicate session id (the first wins): left
    out, with
    one warning a table and reason that counts them. DataFormatError (one line) only where
    a table is unusable whole: sessions without a row, or without one usable row."""
    if len(sessions) == 0 and len(datasets):
        raise DataFormatError(f'{origin}: sessions.pqt has no rows')
    paths = _table_session_paths(sessions, every_row=True)
    ok = np.array([isinstance(p, str) and bool(SESSION_FOLDER_RE.fullmatch(p)) for p in paths])
    ok[ok] = _safe_relpaths(paths[ok])
    if len(sessions) and not ok.any():
        raise DataFormatError(
            f'{origin}: sessions.pqt names no session (lab, subject, date, number) onelight '
            'can read'
        )
    why = 'not a session: a lab, subject, date or number that is none'
    sessions = _drop_rows(sessions, ~ok, origin, 'sessions.pqt', why)
    dup = sessions['id'].duplicated().to_numpy()
    sessions = _drop_rows(sessions, dup, origin, 'sessions.pqt', 'duplicate id')
    rel = pd.Categorical(datasets['rel_path'])  # each distinct rel_path checked once
    slashed = [str(r).replace('\\', '/') for r in rel.categories]
    safe = [isinstance(r, str) for r in rel.categories] & _safe_relpaths(slashed)
    datasets = datasets.assign(rel_path=_recoded(rel, slashed))
    ok = np.append(safe, False)[rel.codes]
    datasets = _drop_rows(datasets, ~ok, origin, 'datasets.pqt', 'unsafe or no rel_path')
    if 'file_size' in datasets.columns:
        size = pd.to_numeric(datasets['file_size'], errors='coerce')
        size = size.where((size >= 0) & (size < 1 << 60) & (size == size.round()))
        bad = (size.isna() & datasets['file_size'].notna()).to_numpy()
        datasets = _drop_rows(datasets, bad, origin, 'datasets.pqt', 'file_size is no size')
        datasets = datasets.assign(file_size=pd.array(size[~bad], dtype='Int64'))
    return sessions, datasets


def _recoded(values: pd.Categorical, categories: list) -> pd.Categorical:
    """``values`` with each category replaced (two may become one)."""
    codes, uniques = pd.factorize(np.array(categories, dtype=object))
    return pd.Categorical.from_codes(np.append(codes, -1)[values.codes], categories=uniques)


def _drop_rows(table: pd.DataFrame, bad, origin: str, name: str, why: str) -> pd.DataFrame:
    bad = np.asarray(bad, dtype=bool)
    if not bad.any():
        return table
    first = table[bad].iloc[0].to_dict()
    logger.warning(
        '%s: %s: %d row(s) left out (%s), e.g. %s',
        origin,
        name,
        int(bad.sum()),
        why,
        _printable(str(first), 160),
    )
    return table[~bad].reset_index(drop=True)


def write_one_tables(root: Path, index: Index, sizes, md5s=None, date_created='') -> OneTables:
    """Write ONE's cache tables and ``cache_info.json`` into ``root`` (atomically)."""
    tables = OneTables.from_index(index, sizes, md5s, date_created)
    for name, data in tables.files().items():
        atomic_write_bytes(Path(root) / name, data)
    return tables


def read_local_tables(root: Path, origin: str) -> OneTables | None:
    """The ONE cache tables in a folder (the two ``.pqt`` files or ``cache.zip``), if any."""
    present = {n: Path(root, n) for n in (*ONE_TABLES, ONE_CACHE_ZIP) if Path(root, n).is_file()}
    if ONE_CACHE_ZIP in present and not all(n in present for n in ONE_TABLES):
        return OneTables.from_files({ONE_CACHE_ZIP: present[ONE_CACHE_ZIP].read_bytes()}, origin)
    if all(n in present for n in ONE_TABLES):
        return OneTables.from_files({n: open(present[n], 'rb') for n in ONE_TABLES}, origin)
    return None


# =============================================================================================
# Files on disk
# =============================================================================================
# Folders are shared (a lab's server, a download folder others can write): every file
# onelight writes goes through a file of its own beside the final name, opened in its folder
# without following a symlink, locked, and read and written through that one descriptor
# until it is renamed into place, complete and verified. A final file is never partial, and
# a name or a folder swapped for a link meanwhile is never written through.

_DIR_FD = os.open in os.supports_dir_fd and os.rename in os.supports_dir_fd
# Windows refuses to rename or delete an open file: there a .part is closed first. POSIX
# moves it while still holding its lock, so that a process waiting for that lock never
# writes into a file already moved away.
OPEN_FILES_MOVE = os.name != 'nt'


def part_path(dest: Path) -> Path:
    """The file a download writes before it is renamed into ``dest``."""
    return dest.with_name(dest.name + PARTIAL_SUFFIX)


def journal_path(dest: Path) -> Path:
    """What the bytes of a download's ``.part`` are (``Journal``), beside it."""
    return dest.with_name(dest.name + JOURNAL_SUFFIX)


def _identity(info: os.stat_result) -> tuple:
    """What tells a file from another one put at its name, or from itself rewritten: device,
    inode, size and change time (which no one can set back)."""
    return info.st_dev, info.st_ino, info.st_size, info.st_ctime_ns


class _Descriptor:
    """Something used through one descriptor (``fd``), closed once, at the end of a ``with``."""

    fd: int | None = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self) -> None:
        if self.fd is not None:
            fd, self.fd = self.fd, None
            os.close(fd)


class Folder(_Descriptor):
    """A folder entered from a trusted ``root`` without following a symlink below it; the
    files in it are opened, renamed and removed through its descriptor (POSIX), so that a
    folder swapped for a link meanwhile is never written through. Windows has no such
    calls: there each name is checked to be no link before it is used."""

    def __init__(self, path: Path, fd: int | None = None):
        self.path, self.fd = Path(path), fd

    @classmethod
    def enter(cls, root: Path, parts=(), create: bool = True) -> Folder:
        """``root / parts...``, each made when missing and ``create``, entered without
        following a link (the root itself may be one: another disk); TransferError at one."""
        root = path = Path(root)
        if create:
            root.mkdir(parents=True, exist_ok=True)
        fd = os.open(root, os.O_RDONLY | getattr(os, 'O_DIRECTORY', 0)) if _DIR_FD else None
        try:
            for name in parts:
                path = path / name
                if fd is None:
                    if create:
                        path.mkdir(exist_ok=True)
                    if path.is_symlink() or not path.is_dir():
                        raise OSError(errno.ELOOP, 'a symlink', str(path))
                    continue
                try:
                    child = _open_folder(fd, name, create)
                finally:
                    os.close(fd)
                fd = child
        except OSError as e:
            if e.errno in (errno.ELOOP, errno.ENOTDIR) and os.path.islink(path):
                raise TransferError(
                    f'refused to write through the symlink {path} (inside {root}); remove it'
                ) from None
            raise
        return cls(path, fd)

    def _name(self, name: str):
        """What the system calls take for a name here: the name (with ``dir_fd``) or a path."""
        return name if self.fd is not None else str(self.path / name)

    def open(self, name: str, flags: int, mode: int = 0o644) -> int:
        """A descriptor of ``name``, never through a symlink: one planted where a file is
        made is removed (with a warning) and the file made anew."""
        for _ in range(2):
            if self.fd is None and os.path.islink(self.path / name):
                os.unlink(self.path / name)
            try:
                return os.open(self._name(name), flags | _NOFOLLOW, mode, dir_fd=self.fd)
            except OSError as e:
                if e.errno != errno.ELOOP or not flags & os.O_CREAT:
                    raise
                logger.warning('removed the symlink %s (a file is written here)', self.path / name)
                self.unlink(name)
        raise TransferError(f'cannot open {self.path / name}: a symlink keeps coming back')

    def stat(self, name: str):
        return os.stat(self._name(name), dir_fd=self.fd, follow_symlinks=False)

    def unlink(self, name: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self._name(name), dir_fd=self.fd)

    def replace(self, src: str, dst: str) -> None:
        os.replace(self._name(src), self._name(dst), src_dir_fd=self.fd, dst_dir_fd=self.fd)

    def write_new(self, name: str, write, mode: int = 0o644) -> None:
        """``write(file)`` into a new file of its own, then renamed to ``name``: readers see
        the old file or the new one, and no name someone planted is written through."""
        tmp = f'.{name}.{os.getpid()}.{threading.get_ident()}{PARTIAL_SUFFIX}'
        self.unlink(tmp)
        fd = self.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
        try:
            with os.fdopen(fd, 'wb') as f:
                write(f)
            self.replace(tmp, name)
        except BaseException:
            self.unlink(tmp)
            raise

    def read_small(self, name: str, limit: int = 1 << 20) -> bytes | None:
        """A small file's bytes (at most ``limit``), None when it is not there or no file."""
        try:
            fd = self.open(name, os.O_RDONLY)
        except OSError:
            return None
        with os.fdopen(fd, 'rb') as f:
            return f.read(limit)


def _open_folder(fd: int, name: str, create: bool) -> int:
    """The descriptor of the folder ``name`` inside the folder ``fd`` (made when missing),
    never through a link."""
    flags = os.O_RDONLY | os.O_DIRECTORY | _NOFOLLOW
    try:
        return os.open(name, flags, dir_fd=fd)
    except FileNotFoundError:
        if not create:
            raise
    with contextlib.suppress(FileExistsError):
        os.mkdir(name, 0o777, dir_fd=fd)
    return os.open(name, flags, dir_fd=fd)


@dataclass(frozen=True)
class ScannedFile(os.PathLike):
    """A file found by ``scan`` (a path, for reading its name), read only while it is still
    the file scanned: someone who can write in the folder may swap it for a link to a secret,
    or for other bytes, after the scan.

    >>> with ScannedFile.of(path, real_root).open('rb') as f: ...   # doctest: +SKIP
    """

    path: str
    real_root: str  # the scanned folder, resolved
    identity: tuple  # of the file when scanned (a link inside the folder: of its target)

    @classmethod
    def of(cls, path, real_root: str, info: os.stat_result | None = None) -> ScannedFile:
        """``path`` as it is now (``info``: its ``os.stat``, when already made)."""
        return cls(os.fspath(path), real_root, _identity(info or os.stat(path)))

    def __fspath__(self) -> str:
        return self.path

    def open(self, mode: str = 'rb', *, unchanged: bool = True):
        """The file open for reading: its real folders below the real root entered without
        following a link, and what is opened checked to be the file scanned (and with
        ``unchanged``, not rewritten since). TransferError when it is not (then nothing of
        it is read)."""
        parts = Path(os.path.relpath(os.path.realpath(self.path), self.real_root)).parts
        fd = None
        with contextlib.suppress(OSError, TransferError):
            if parts and '..' not in parts:
                with Folder.enter(Path(self.real_root), parts[:-1], create=False) as folder:
                    fd = folder.open(parts[-1], os.O_RDONLY)
        info = os.fstat(fd) if fd is not None else None
        n = 4 if unchanged else 2  # (device, inode), then size and change time
        if (
            info is None
            or not stat.S_ISREG(info.st_mode)
            or _identity(info)[:n] != self.identity[:n]
        ):
            if fd is not None:
                os.close(fd)
            raise TransferError(
                f'{self.path} is no longer the file scanned (removed, changed, or swapped for '
                'a link or another file): not read'
            )
        return os.fdopen(fd, mode)


def copy_into(root: Path, rel: str, src: Path) -> int:
    """Copy the file ``src`` to ``root / rel`` (a safe relative path): folders made and
    entered without following links, the bytes through a new file of their own renamed
    into place. Returns the bytes copied."""
    import shutil

    *folders, name = rel.split('/')
    with Folder.enter(root, folders) as folder, open_source(src) as fin:
        folder.write_new(name, lambda out: shutil.copyfileobj(fin, out, 1 << 20))
        return os.fstat(fin.fileno()).st_size


def _lock(fd: int, wait: bool = True) -> bool:
    """Take the exclusive lock of a ``.part``; without ``wait``, False when another download
    holds it. Windows has no advisory lock here: one process per download folder."""
    try:
        import fcntl
    except ImportError:
        return True
    try:
        fcntl.flock(fd, fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


class PartFile(_Descriptor):
    """The ``.part`` of a download into ``folder / name``: opened there without following a
    symlink, locked (two processes take turns; the second then finds the final file), read
    and written through that descriptor only until it is renamed into place or removed.
    ``contended``: another download held the lock when it was asked for."""

    def __init__(self, folder: Folder, name: str):
        self.folder, self.name, self.part = folder, name, name + PARTIAL_SUFFIX
        self.journal, self.journaled = name + JOURNAL_SUFFIX, False  # may one stand beside?
        self.lock = threading.Lock()  # where there is no pwrite: seek and write together
        while True:
            fd = folder.open(self.part, os.O_RDWR | os.O_CREAT)
            try:
                self.contended = not _lock(fd, wait=False)
                if self.contended:
                    _lock(fd)
                info = os.fstat(fd)
                if not stat.S_ISREG(info.st_mode):
                    raise TransferError(f'{folder.path / self.part} is not a regular file')
                with contextlib.suppress(FileNotFoundError):
                    if os.path.samestat(info, folder.stat(self.part)):
                        self.fd = fd
                        return
            except BaseException:
                os.close(fd)
                raise
            os.close(fd)  # the file locked was renamed into place meanwhile: again

    @property
    def size(self) -> int:
        return os.fstat(self.fd).st_size

    def truncate(self, size: int = 0) -> None:
        os.ftruncate(self.fd, size)

    def pwrite(self, data, offset: int) -> None:
        view = memoryview(data)
        while view:
            if hasattr(os, 'pwrite'):
                done = os.pwrite(self.fd, view, offset)
            else:
                with self.lock:
                    os.lseek(self.fd, offset, os.SEEK_SET)
                    done = os.write(self.fd, view)
            view, offset = view[done:], offset + done

    def pread(self, n: int, offset: int) -> bytes:
        if hasattr(os, 'pread'):
            return os.pread(self.fd, n, offset)
        with self.lock:
            os.lseek(self.fd, offset, os.SEEK_SET)
            return os.read(self.fd, n)

    def commit(self) -> None:
        """Rename the ``.part`` into place (its journal removed); TransferError when what
        then stands there is not this file (a name swapped meanwhile: it is removed)."""
        if self.journaled:
            self.folder.unlink(self.journal)
        info = os.fstat(self.fd)
        if not OPEN_FILES_MOVE:
            self.close()
        self.folder.replace(self.part, self.name)
        if not os.path.samestat(info, self.folder.stat(self.name)):
            self.folder.unlink(self.name)
            raise TransferError(f'{self.folder.path / self.name} was swapped while written')

    def discard(self) -> None:
        """Remove the ``.part`` and its journal: nothing of it can be vouched for."""
        self.folder.unlink(self.journal)
        if OPEN_FILES_MOVE:
            self.truncate(0)  # a process waiting for the lock finds nothing to keep
        else:
            self.close()
        self.folder.unlink(self.part)


def discard_stray_part(dest: Path) -> bool:
    """Remove the ``.part`` (and its journal) left beside a complete file by a download that
    stopped (an interrupted ``--force``), unless a download in another process holds it;
    True when removed."""
    part = part_path(dest)
    if not os.path.lexists(part):
        return False
    try:
        fd = os.open(part, os.O_RDONLY | _NOFOLLOW)
    except OSError:  # gone meanwhile, or a symlink: nothing of ours to keep
        with contextlib.suppress(OSError):
            if part.is_symlink():
                part.unlink()
        return False
    held = _lock(fd, wait=False)
    os.close(fd)  # before the unlink: Windows removes no open file
    if held:  # else a download is writing it
        with contextlib.suppress(OSError):
            part.unlink()
            journal_path(dest).unlink(missing_ok=True)
            return True
    return False


def local_copy_problem(path: Path, size: int | None, md5: str | None) -> str | None:
    """What is wrong with a local copy (``missing``, ``incomplete`` when only its ``.part``
    is there, ``not a regular file``, ``truncated``, ``wrong size``, ``wrong md5``), or None
    when it has the expected size, and md5 when known: the one rule for "is this local copy
    good"."""
    try:
        info = os.stat(path)
    except OSError:
        return 'incomplete' if part_path(path).exists() else 'missing'
    return _stat_problem(info, path, size, md5)


def _stat_problem(info: os.stat_result, path: Path, size, md5) -> str | None:
    if not stat.S_ISREG(info.st_mode):
        return 'not a regular file'
    if size is not None and info.st_size != size:
        return 'truncated' if info.st_size < size else 'wrong size'
    if md5 and md5sum(path) != md5.lower():
        return 'wrong md5'
    return None


def file_is_complete(path: Path, size: int | None, md5: str | None) -> bool:
    """``local_copy_problem`` is None, in one call to the system for a missing file."""
    try:
        return _stat_problem(os.stat(path), path, size, md5) is None
    except OSError:
        return False


# How a download is cut: large files come in ranges over several connections (one stream is
# capped by one connection's rate: CDNs and object stores limit each, a whole link is not).
# A file whose size the index does not give asks for its first range first, as aria2 does:
# the answer says the size.
SEGMENT_THRESHOLD = 64 << 20
SEGMENT_SIZE = 16 << 20
SEGMENT_CONNECTIONS = 8
# Members of a volume at most this far apart come in one request (a session's files are
# next to each other, 30 bytes and a name apart): one request instead of hundreds, at the
# cost of the bytes between.
SPAN_GAP = 64 << 10
# How often the journal of a download in progress is saved: an interruption the process
# cannot see (SIGKILL) loses at most this much. A file that moved less than 256 KiB since
# waits up to 2 s (a small file is over before it has a journal).
JOURNAL_SECONDS = 0.1
JOURNAL_BYTES = 8 << 20


def _header_safe(value) -> bool:
    """Whether ``value`` may be sent as a header value (printable ASCII, bounded)."""
    return isinstance(value, str) and re.fullmatch(r'[\x20-\x7e]{1,1024}', value) is not None


class Journal:
    """What the bytes of a ``.part`` are, kept beside it (``.part.ranges``, JSON): the
    version of the file (``validator``, sent back as ``If-Range``), its size, and for each
    range ``[start, end, got, crc]``, how many of its first bytes are on disk and their
    CRC-32. One stream is one range (``end`` None while the size is unknown); a large file
    is many. Saved while bytes arrive (JOURNAL_SECONDS, JOURNAL_BYTES) and at every
    interruption the process sees.

    Read back as hostile (someone else may have written it): a journal that does not fit
    the file counts for nothing, nor does a range whose bytes fail their CRC; bytes without
    a journal are fetched again, whatever the file's size."""

    def __init__(self, part: PartFile, size: int | None = None):
        self.part, self.size, self.learned, self.validator = part, size, False, None
        self.ranges: list = []  # [start, end or None, got, crc]
        self.lock = threading.Lock()
        self.mark = (time.monotonic(), 0)  # when it was last saved, and the bytes then

    def plan(self, size: int | None, learned: bool = False, whole: bool = False) -> None:
        """The ranges of a file of ``size`` bytes: several when it is large (a size learned
        from the server: above one range, as its first one is asked for anyway)."""
        self.size, self.learned = size, learned
        many = size is not None and size > SEGMENT_SIZE and (learned or size >= SEGMENT_THRESHOLD)
        step = max(SEGMENT_SIZE, -(-(size or 0) // 4096))  # at most 4,096 ranges
        if many and not whole:
            self.ranges = [[s, min(s + step, size), 0, 0] for s in range(0, size, step)]
        else:
            self.ranges = [[0, size, 0, 0]]

    def restart(self, size: int | None) -> None:
        """Nothing kept: the file is planned again (of ``size`` when the index gives it)."""
        self.size, self.learned, self.validator, self.ranges = size, False, None, []

    def kept(self) -> int:
        return sum(r[2] for r in self.ranges)

    def todo(self) -> list:
        return [r for r in self.ranges if r[1] is None or r[2] < r[1] - r[0]]

    def prefix(self) -> int:
        """Where the bytes complete from the start end."""
        done = 0
        for start, end, got, _ in self.ranges:
            if start != done:
                break
            done = start + got
            if end is None or got < end - start:
                break
        return done

    def agree(self, validator: str | None) -> bool:
        """Take the file's version from an answer; False when it is another version than
        the bytes kept."""
        with self.lock:
            if self.validator is None:
                self.validator = validator
            return validator is None or validator == self.validator

    def advance(self, rng: list, chunk) -> None:
        """``chunk`` was written at the end of ``rng``'s prefix; saved now and then."""
        with self.lock:
            rng[2] += len(chunk)
            rng[3] = zlib.crc32(chunk, rng[3])
        now, kept = time.monotonic(), self.kept()
        elapsed, moved = now - self.mark[0], kept - self.mark[1]
        if moved >= JOURNAL_BYTES or elapsed >= (JOURNAL_SECONDS if moved >> 18 else 2.0):
            self.mark = (now, kept)
            self.save()

    def save(self) -> bool:
        """Write the journal beside the ``.part``; False when its bytes cannot be vouched
        for (no validator: the server could send another version unseen)."""
        if self.validator is None:
            return False
        with self.lock:
            data = {'size': self.size, 'learned': self.learned, 'validator': self.validator}
            data['ranges'] = [list(r) for r in self.ranges]
        self.part.journaled = True
        try:
            text = json.dumps(data).encode()
            self.part.folder.write_new(self.part.journal, lambda f: f.write(text), 0o600)
        except OSError as e:
            logger.debug('cannot save %s: %s', self.part.journal, e)
            return False
        return True

    @classmethod
    def load(cls, part: PartFile, size: int | None) -> Journal | None:
        """The journal beside ``part`` when it fits a file of ``size`` bytes (None: the
        index does not say), its ranges checked against their CRC; None otherwise."""
        part.journaled = True
        try:
            data = parse_json(part.folder.read_small(part.journal) or b'null')
        except ValueError:
            return None
        if not isinstance(data, dict) or not _header_safe(data.get('validator')):
            return None
        journal = cls(part, data.get('size'))
        journal.learned, journal.validator = data.get('learned') is True, data['validator']
        if not (size is None or journal.size == size) or not _tiles(
            data.get('ranges'), journal.size
        ):
            return None
        journal.ranges, end_of_file = [list(r) for r in data['ranges']], part.size
        for rng in journal.ranges:
            start, _, got, crc = rng
            if got and (start + got > end_of_file or _crc_of(part, start, got) != crc):
                rng[2:] = [0, 0]  # bytes that do not match their record count for nothing
        return journal if journal.kept() else None


def _tiles(ranges, size) -> bool:
    """Whether ``ranges`` (from a journal) are ``[start, end, got, crc]`` lists of numbers
    that cover a file of ``size`` bytes in order (an unknown size: one range)."""
    if not isinstance(ranges, list) or not 0 < len(ranges) <= 4096:
        return False
    if size is not None and (type(size) is not int or not 0 <= size < 1 << 60):
        return False
    at = 0
    for rng in ranges:
        if not (isinstance(rng, list) and len(rng) == 4):
            return False
        start, end, got, crc = rng
        if not all(type(v) is int and v >= 0 for v in (start, got, crc)) or start != at:
            return False
        if end is None and (size is not None or len(ranges) > 1):
            return False
        if end is not None and (type(end) is not int or not start < end or start + got > end):
            return False
        at = end
    return at == size


def _crc_of(part: PartFile, start: int, length: int) -> int:
    crc = 0
    while length:
        data = part.pread(min(1 << 20, length), start)
        if not data:
            return -1
        crc, start, length = zlib.crc32(data, crc), start + len(data), length - len(data)
    return crc


class _Md5:
    """The md5 of a file written in ranges, as its complete prefix grows: bytes written at
    the end of the prefix are hashed as they arrive; the others are read back (from the page
    cache) once the ranges before them are done."""

    def __init__(self):
        import hashlib

        self.digest, self.offset = hashlib.md5(usedforsecurity=False), 0

    def update(self, offset: int, data) -> None:
        if offset == self.offset:
            self.digest.update(data)
            self.offset += len(data)

    def follow(self, part: PartFile, end: int) -> None:
        while self.offset < end:
            data = part.pread(min(8 << 20, end - self.offset), self.offset)
            if not data:
                return
            self.update(self.offset, data)

    def result(self, part: PartFile, size: int) -> str:
        self.follow(part, size)
        return self.digest.hexdigest()


class _Folders:
    """The folder each worker wrote its last file in, kept open for its next one: a
    session's files share a few folders, entered once instead of once per file."""

    def __init__(self):
        self.local, self.opened, self.lock = threading.local(), [], threading.Lock()

    def enter(self, root: Path, folder: Path) -> Folder:
        held = getattr(self.local, 'folder', None)
        if held is not None and held.path == folder:
            return held
        entered = Folder.enter(root, folder.relative_to(root).parts)
        if held is not None:
            held.close()
        self.local.folder = entered
        with self.lock:
            self.opened.append(entered)
        return entered

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        for folder in self.opened:
            folder.close()


# =============================================================================================
# Progress
# =============================================================================================
# What a person watching a long transfer sees: tqdm's display where tqdm is installed (a
# widget in a notebook), else click's bar; nothing in scripts and CI logs.


def in_notebook() -> bool:
    """True inside a Jupyter (IPython kernel) session, where stderr is no terminal but a
    progress display still renders."""
    ipython = sys.modules.get('IPython')
    shell = getattr(ipython, 'get_ipython', lambda: None)() if ipython else None
    return type(shell).__name__ == 'ZMQInteractiveShell'


def _installed(*modules) -> bool:
    import importlib.util

    try:
        return all(importlib.util.find_spec(m) is not None for m in modules)
    except (ImportError, ValueError, AttributeError):  # a module set to None: not installed
        return False


class Progress:
    """Bytes and files done, counted by the workers and shown where a person watches: with
    tqdm where it is installed (``tqdm.auto``: a widget in a notebook with ipywidgets, a bar
    on a terminal), else click's bar; nothing in scripts and CI logs. The display starts at
    the first ``refresh`` (a call that ends before shows nothing), from the bytes downloads
    kept from before: a resumed download starts there, and its rate counts what moves."""

    FORMAT = (
        '{desc}: {n_fmt}B of {total_fmt}B |{bar}| {percentage:3.0f}% {rate_fmt} ETA '
        '{remaining}{postfix}'
    )

    def __init__(self, total: int, label: str, files: int = 0, enabled: bool | None = None):
        self.total, self.label, self.files = total or None, label, files
        self.shown, self.bar = 0, None
        # a counter per worker thread, summed when shown: no lock taken by every chunk
        self.local, self.counts, self.lock = threading.local(), [], threading.Lock()
        self.notebook = enabled is None and in_notebook()
        on = (sys.stderr.isatty() or self.notebook) if enabled is None else enabled
        self.on, self.started = bool(label) and on, time.monotonic()

    def _count(self) -> list:
        count = getattr(self.local, 'count', None)
        if count is None:
            count = self.local.count = [0, 0, 0]  # bytes moved, bytes kept, files done
            with self.lock:
                self.counts.append(count)
        return count

    def add(self, nbytes: int) -> None:
        """Bytes received (or sent) now; negative when a download starts over."""
        self._count()[0] += nbytes

    def keep(self, nbytes: int) -> None:
        """Bytes a download already had (resumed)."""
        self._count()[1] += nbytes

    def file_done(self) -> None:
        self._count()[2] += 1

    moved = property(lambda self: sum(c[0] for c in self.counts))
    kept = property(lambda self: sum(c[1] for c in self.counts))

    def refresh(self) -> None:
        """Show what is done so far (called by the thread that coordinates the work)."""
        if not self.on:
            return
        if self.bar is None:
            self.bar, self.shown = self._make_bar(), self.kept
        done = self.moved + self.kept
        self.bar.update(done - self.shown)
        self.shown = done
        if self.files > 1 and hasattr(self.bar, 'set_postfix_str'):
            files = sum(c[2] for c in self.counts)
            self.bar.set_postfix_str(f'{files}/{self.files} files', refresh=False)

    def _make_bar(self):
        out = sys.stdout if self.notebook else sys.stderr
        if not _installed('tqdm'):
            bar = click.progressbar(
                length=self.total or 0,
                label=self.label,
                file=out,
                show_pos=False,
                show_percent=bool(self.total),
                show_eta=bool(self.total),
                item_show_func=lambda _: self._text(),
            )
            bar.update(self.kept)
            return bar
        from tqdm import tqdm

        if self.notebook and _installed('tqdm.auto', 'ipywidgets'):
            from tqdm.auto import tqdm  # a widget: its own layout
        try:  # a terminal that says it has no size (a bare pty) gets the usual one
            shape = {} if all(os.get_terminal_size(out.fileno())) else _SHAPE
        except (OSError, ValueError, AttributeError):
            shape = _SHAPE
        text = self.total and tqdm.__module__ == 'tqdm.std'
        unit = {'unit': 'B', 'unit_scale': True, 'unit_divisor': 1000, 'file': out}
        fmt = self.FORMAT if text else None
        return tqdm(
            total=self.total, initial=self.kept, desc=self.label, bar_format=fmt, **unit, **shape
        )

    def _text(self) -> str:
        """What click's bar shows beside it: bytes of the total, and the mean rate."""
        moved, seconds = self.moved, time.monotonic() - self.started
        total = f' of {byte_size(self.total)}' if self.total else ''
        text = byte_size(moved + self.kept) + total
        return text + (f', {byte_size(moved / seconds)}/s' if moved and seconds else '')

    def close(self) -> None:
        """The last state, then a new line: what is printed next starts on its own line."""
        if self.bar is not None:
            self.refresh()
            (getattr(self.bar, 'close', None) or self.bar.render_finish)()  # tqdm's, click's


_SHAPE = {'ncols': 100, 'nrows': 24}


class _CountingReader:
    """A file that tells a Progress the bytes read from it (uploads)."""

    def __init__(self, fileobj, progress: Progress):
        self.fileobj, self.progress = fileobj, progress
        self.seek, self.tell = fileobj.seek, fileobj.tell

    def read(self, n=-1):
        data = self.fileobj.read(n)
        self.progress.add(len(data))
        return data


# =============================================================================================
# Transfers
# =============================================================================================
# Every request goes through urllib3's public API (a PoolManager, its Retry, HTTPResponse),
# the engine requests itself runs on: the same loop on a requests.Session moves half as many
# small files a second (bench/ case 13). Downloads are parallel, resumable and verified,
# through the ``.part`` files of the section above.

CHUNK_SIZE = 1 << 20
MAX_REDIRECTS = 10
RETRY_STATUSES = (429, 500, 502, 503, 504)
# A server may ask to be left alone for a while (Retry-After): at most this long, or the
# repository's timeout when shorter ("Retry-After: 100000" is no reason to hang).
MAX_RETRY_WAIT = 30.0
MAX_BACKOFF = 10.0
# Methods sent again after a broken connection: the server ends in the same state however
# often it saw them. A POST is sent again only after a 429 or 503 (it was not acted on); its
# caller looks before it sends again after a break (MaybeSentError).
REPEATABLE_METHODS = frozenset({'GET', 'HEAD', 'PUT', 'DELETE', 'OPTIONS', 'MKCOL'})
# Bodies read whole (API answers, listings) are capped; indexes and tables have their own
# cap, a repository setting (max_index_mb).
MAX_RESPONSE_BYTES = 64 << 20


@dataclass
class TransferReport:
    """What an upload or download did."""

    files: int = 0
    skipped: int = 0
    bytes: int = 0
    seconds: float = 0.0
    paths: list = field(default_factory=list)
    cite: str | None = None  # an upload's: the digest of the index it published

    def summary(self, verb: str) -> str:
        """One line for a person: what moved, how fast, what was already there.

        >>> TransferReport(files=1, bytes=2_500_000, seconds=0.5).summary('downloaded')
        'downloaded 1 file (2.5 MB) in 0.5 s (5.0 MB/s)'
        >>> TransferReport(skipped=3).summary('uploaded')
        'nothing uploaded: 3 files already up to date'
        >>> TransferReport(files=2, skipped=1, bytes=10).summary('would download')
        'would download 2 files (10 bytes); 1 file already there'
        """
        there = plural(self.skipped, 'file')
        if verb.startswith('would'):  # a plan: nothing moved, no time to tell
            text = f'{verb} {plural(self.files, "file")} ({byte_size(self.bytes)})'
            if not self.files:
                text = f'nothing to {verb.split(" ", 1)[1]}'
            return text + (f'; {there} already there' if self.skipped else '')
        if not self.files:
            return f'nothing {verb}' + (f': {there} already up to date' if self.skipped else '')
        text = f'{verb} {plural(self.files, "file")} ({byte_size(self.bytes)})'
        if self.seconds >= 0.05:
            text += f' in {self.seconds:.1f} s ({byte_size(self.bytes / self.seconds)}/s)'
        return text + (f'; {self.skipped} already up to date' if self.skipped else '')


# ------------------------------------------------------------------------ URLs and retries
def origin_of(url: str) -> tuple:
    """The (scheme, host, port) a URL is sent to, read by urllib3, the parser that opens
    the connection, from a URL that passed ``check_url`` (where every parser agrees).

    >>> origin_of('https://Host.org/a'), origin_of('http://h:8080/')
    (('https', 'host.org', 443), ('http', 'h', 8080))
    """
    from urllib3.util import parse_url

    parts = parse_url(url)
    scheme = (parts.scheme or '').lower()
    return scheme, (parts.host or '').lower(), parts.port or {'http': 80, 'https': 443}[scheme]


@functools.cache
def _retry_class():
    """urllib3's Retry with onelight's rules, made on first use (importing urllib3 is more
    than all the rest of a command that reads no data)."""
    import urllib3

    class Retry(urllib3.Retry):
        """The one rule for trying again: urllib3's counts and backoff, and a redirect only
        to a URL ``check_url`` accepts (UnsafeURLError), a POST again only after a 429 or
        503, waits cut short by ``stop`` (Ctrl-C).

        >>> _retry_class()(retry_after_max=30).parse_retry_after('100000')
        30
        """

        stop = None  # a threading.Event

        def new(self, **kw):
            new = super().new(**kw)
            new.stop = self.stop
            return new

        def is_retry(self, method, status_code, has_retry_after=False):
            if method.upper() == 'POST':
                return status_code in (429, 503) and self.status != 0
            return super().is_retry(method, status_code, has_retry_after)

        def increment(self, method=None, url=None, response=None, error=None, **kw):
            if _unreachable(error):  # asking again soon changes nothing
                raise urllib3.exceptions.MaxRetryError(kw.get('_pool'), url, error)
            location = response.get_redirect_location() if response is not None else None
            if location:
                target = urllib.parse.urljoin(url or '', location.strip())
                if unsafe_url_reason(target):
                    response.close()  # its connection: never read on, never pooled again
                    text = f'refused the redirect from {mask_url(url)} to {_printable(target)}'
                    logger.warning('%s: %s', text, unsafe_url_reason(target))
                    raise UnsafeURLError(f'{text}: {unsafe_url_reason(target)}')
            return super().increment(method, url, response, error, **kw)

        def sleep(self, response=None):
            try:
                after = self.get_retry_after(response) if response is not None else None
            except urllib3.exceptions.InvalidHeader:  # a date that is none: the backoff
                after = None
            if after is None and response is not None:
                after = rate_limit_wait(response.headers)
            seconds = self.get_backoff_time() if after is None else after
            last = self.history[-1] if self.history else None
            if last is not None:  # one line a retry (overwritten on a terminal)
                why = _reason(last.error) if last.error else f'the server answered {last.status}'
                when = f'in {seconds:.1f} s' if seconds >= 0.05 else 'now'
                logger.warning('retrying %s: %s', when, why, extra={'transient': True})
            if self.stop is None:
                time.sleep(seconds)
            elif self.stop.wait(seconds):
                raise _Stopped()

    return Retry


def rate_limit_wait(headers) -> float | None:
    """Seconds until a server's rate limit lets requests through again, when its answer
    says none is left (``X-RateLimit-Remaining: 0``; ``X-RateLimit-Reset``: a Unix time, or
    seconds), at most MAX_RETRY_WAIT; None when it says nothing of the kind."""
    if (headers.get('x-ratelimit-remaining') or '').strip() != '0':
        return None
    reset = _number((headers.get('x-ratelimit-reset') or '').strip()) or 1
    wait = reset - time.time() if reset > 1e9 else reset
    return min(max(wait, 0.0), MAX_RETRY_WAIT)


def _unreachable(error) -> bool:
    """Whether a failed connection means no server listens there (refused) or no such host
    (not a name server's temporary failure): not worth a retry."""
    import socket

    cause = getattr(error, '__cause__', None)
    if isinstance(cause, ConnectionRefusedError):
        return True
    permanent = {getattr(socket, n, None) for n in ('EAI_NONAME', 'EAI_NODATA')} - {None}
    return isinstance(cause, socket.gaierror) and cause.errno in permanent


def retrying(action, retry, what, errors: tuple, *, on_retry=None):
    """``action(attempt)`` until it returns, again after ``errors`` by ``retry``'s count and
    waits (urllib3's Retry: the one rule); once spent, a TransferError with the last reason.
    For what a request's own retries cannot see: a body that broke half-way, an FTP command,
    a POST that may have reached the server. ``what``: text, or a function making it."""
    import urllib3

    for attempt in itertools.count():
        try:
            return action(attempt)
        except errors as e:
            if on_retry is not None:
                on_retry(e)
            try:
                retry = retry.increment(error=_Attempt(_reason(e)))
            except urllib3.exceptions.MaxRetryError:
                tries = plural(attempt + 1, 'attempt')
                what = what() if callable(what) else what
                raise TransferError(f'{what} kept failing after {tries} ({_reason(e)})') from None
            retry.sleep()


def poll(check, what: str, *, limit: float):
    """Ask ``check()`` until it returns something other than None, waiting 0.05 s, doubling
    up to 2 s, for at most ``limit`` seconds in all; then a TransferError saying what is still
    awaited (a server's state, not a failure: no retry is counted)."""
    deadline, delay = time.monotonic() + limit, 0.05
    while (answer := check()) is None:
        if time.monotonic() + delay > deadline:
            raise TransferError(f'{what} (gave up after {limit:.0f} s)')
        time.sleep(delay)
        delay = min(delay * 2, 2.0)
    return answer


def _reason(exc: BaseException) -> str:
    """A short human reason for an exception of urllib3, ftplib or the system."""
    text = str(getattr(exc, 'reason', None) or exc)  # MaxRetryError: what made it give up
    for marker in (
        'Read timed out',
        'timed out',
        'Connection refused',
        'Connection reset',
        'IncompleteRead',
        'Connection broken',
        'Name or service not known',
        'certificate verify failed',
    ):
        if marker in text:
            return marker.lower()
    return text.splitlines()[0][:200] if text else type(exc).__name__


class _Attempt(Exception):
    """A failed attempt, as urllib3's Retry counts it (``other``)."""


class _Stopped(Exception):
    """The user interrupted the transfer (seen between two chunks)."""


class _Broken(Exception):
    """An answer that stopped short, or one to ask again: what arrived is kept and a new
    request (with Range) goes on from there."""


class _Restart(Exception):
    """The server has another version of the file than the bytes kept (or no ranges for
    it): start again from byte 0, with ``whole`` (a 200 answer) when it was sent already."""

    def __init__(self, reason: str, whole=None, ranges_refused: bool = False):
        super().__init__(reason)
        self.whole, self.ranges_refused = whole, ranges_refused


def _tls_options() -> dict:
    """Certificates are checked against the bundle requests uses (certifi, or
    REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE), so that onelight trusts what requests trusts."""
    bundle = os.environ.get('REQUESTS_CA_BUNDLE') or os.environ.get('CURL_CA_BUNDLE')
    if not bundle:
        try:
            import certifi
        except ImportError:
            return {}
        bundle = certifi.where()
    return {'cert_reqs': 'CERT_REQUIRED', 'ca_certs': bundle}


@dataclass
class Reply:
    """An answer read whole (``TransferEngine.request``): status, headers, the body (decoded,
    bounded) and the URL that answered after redirects."""

    status: int
    reason: str
    headers: object
    content: bytes
    url: str

    status_code = property(lambda self: self.status)
    text = property(lambda self: self.content.decode('utf-8', 'replace'))

    def json(self):
        return parse_json(self.content)


@dataclass
class Download:
    """One file to fetch: where from, where to (below ``root``, a folder onelight may write
    in: the folders between are made without following links), and what it must be."""

    url: str
    dest: Path
    size: int | None = None
    md5: str | None = None
    root: Path | None = None  # None: dest's own folder
    offset: int | None = None  # the file is ``size`` bytes of url's from here (a member)


def needs_fetch(item: Download, force: bool = False, check_hash: bool = True) -> bool:
    """Whether a download fetches ``item``: not when a complete copy is in place (the right
    size and, with ``check_hash``, the md5 the item gives), unless ``force``."""
    return force or not file_is_complete(item.dest, item.size, item.md5 if check_hash else None)


def _validator_of(resp) -> str | None:
    """What identifies the version of a file a server sent, for ``If-Range``: its strong
    ETag, else its Last-Modified (None: nothing, and then a broken download starts over)."""
    etag = resp.headers.get('etag') or ''
    value = etag if etag and not etag.startswith('W/') else resp.headers.get('last-modified')
    return value if _header_safe(value) else None


def _content_range(value: str | None) -> tuple:
    """``'bytes 10-99/100'`` -> ``(10, 100)``; ``'bytes */100'`` -> ``(None, 100)``."""
    m = re.fullmatch(r'bytes\s+(?:(\d{1,20})-\d{1,20}|\*)/(\d{1,20}|\*)', (value or '').strip())
    if not m:
        return None, None
    return int(m[1]) if m[1] else None, int(m[2]) if m[2] != '*' else None


def _done_with(resp) -> None:
    """Be done with an answer not wanted: a short body is read so that its connection is
    reused; a long or unknown one closes the connection."""
    if (_number(resp.headers.get('content-length')) or 1 << 20) <= 1 << 16:
        with contextlib.suppress(Exception):
            resp.drain_conn()
            resp.release_conn()
            return
    resp.close()


@contextlib.contextmanager
def _deferred_signals():
    """While a call's workers run (main thread only), Ctrl-C, SIGTERM and SIGHUP (the
    terminal closed) are noted in the list yielded, not acted on wherever the main thread
    is: the coordinating loop raises them where it holds no lock (a KeyboardInterrupt inside
    ``concurrent.futures.wait`` leaves a future's lock taken, and the workers wait on it for
    ever), once the workers saved what they hold. Python's own handlers only."""
    import signal

    caught, previous = [], {}
    if threading.current_thread() is threading.main_thread():
        for name, default in (
            ('SIGINT', signal.default_int_handler),
            ('SIGTERM', signal.SIG_DFL),
            ('SIGHUP', signal.SIG_DFL),
        ):
            signum = getattr(signal, name, None)
            if signum is not None and signal.getsignal(signum) is default:
                previous[signum] = signal.signal(signum, lambda s, _: caught.append(s))
    try:
        yield caught
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


# ---------------------------------------------------------------------------------- engine
class TransferEngine:
    """The one HTTP code path of every remote backend: every request (indexes, tables,
    listings, downloads, ranges, uploads, the figshare API, S3) goes through ``send``, on
    urllib3's pools; each URL is checked (``check_url``) and the credential goes only to the
    trusted origins as urllib3 parses them (urllib3 drops it on a redirect elsewhere)."""

    def __init__(
        self,
        *,
        name: str = 'repository',
        auth=None,
        trusted: tuple = (),
        jobs: int = 32,
        timeout: float = 60.0,
        retries: int = 5,
        backoff: float = 0.5,
        transient_download_statuses: tuple = (),
        progress: bool | None = None,
    ):
        import urllib.request

        import urllib3

        self.name, self.auth, self.progress = name, auth, progress  # auth(method, url) -> headers
        self.trusted = {origin_of(check_url(u, name)) for u in trusted}
        self.jobs, self.timeout, self.retries, self.backoff = jobs, timeout, retries, backoff
        # statuses a download host answers for a while before it serves the file again
        self.transient_download_statuses = transient_download_statuses
        self.headers = {'User-Agent': f'onelight/{__version__}'}
        self.pool_options = dict(
            num_pools=16,
            maxsize=jobs + SEGMENT_CONNECTIONS,
            timeout=urllib3.Timeout(connect=min(10.0, timeout), read=timeout),
            **_tls_options(),
        )
        self.pools = urllib3.PoolManager(**self.pool_options)
        self.proxies, self.proxy_pools = urllib.request.getproxies(), {}  # read once
        self.paused, self.ranges = {}, {}  # origin -> when its rate limit lifts; url -> 206?

    def close(self) -> None:
        for manager in (self.pools, *self.proxy_pools.values()):
            manager.clear()

    def retry(self, stop=None):
        """A new Retry of this repository's settings (the one rule for trying again)."""
        retry = _retry_class()(
            total=None,
            connect=self.retries,
            read=self.retries,
            status=self.retries,
            other=self.retries,
            redirect=MAX_REDIRECTS,
            allowed_methods=REPEATABLE_METHODS,
            status_forcelist=RETRY_STATUSES,
            backoff_factor=self.backoff,
            backoff_max=MAX_BACKOFF,
            retry_after_max=min(self.timeout, MAX_RETRY_WAIT),
            raise_on_status=False,
            remove_headers_on_redirect={'authorization', 'cookie', 'x-amz-security-token'},
        )
        retry.stop = stop
        return retry

    # ---------------------------------------------------------------------------- requests
    def _manager(self, url: str):
        """The urllib3 PoolManager for ``url``: a proxy's when the environment names one."""
        if self.proxies:
            import requests.utils
            import urllib3

            proxy = requests.utils.select_proxy(url, self.proxies)
            if proxy and not requests.utils.should_bypass_proxies(url, None):
                if proxy not in self.proxy_pools:
                    self.proxy_pools[proxy] = urllib3.ProxyManager(proxy, **self.pool_options)
                return self.proxy_pools[proxy]
        return self.pools

    def send(self, method: str, url: str, *, headers=None, body=None, stop=None, redirect=True):
        """Send one request and return urllib3's unread response, after its retries (failed
        connections, RETRY_STATUSES with their Retry-After, redirects to safe URLs)."""
        import urllib3

        check_url(url, self.name)
        send = {**self.headers, **(headers or {})}
        if self.auth is not None and origin_of(url) in self.trusted:
            send.update(self.auth(method, url))
        where = f'{self.name}: {method} {mask_url(url)}'
        wait = self.paused.get(origin_of(url), 0) - time.monotonic()  # a rate limit's
        if wait > 0 and (stop.wait(wait) if stop is not None else time.sleep(wait)):
            raise _Stopped()
        try:
            resp = self._manager(url).urlopen(
                method,
                url,
                body=body,
                headers=send,
                retries=self.retry(stop),
                redirect=redirect,
                preload_content=False,
                decode_content=False,
            )
            if (wait := rate_limit_wait(resp.headers)) is not None:  # none left: wait
                self.paused[origin_of(url)] = time.monotonic() + wait
            return resp
        except urllib3.exceptions.MaxRetryError as e:
            tries = plural(self.retries + 1, 'attempt')
            if isinstance(e.reason, urllib3.exceptions.NewConnectionError):
                after = '' if _unreachable(e.reason) else f' after {tries}'
                raise TransferError(
                    f'{where}: cannot reach the server ({_reason(e)}){after}; check the '
                    'address and the network, or work from what is cached with --offline'
                ) from None
            if isinstance(e.reason, urllib3.exceptions.ResponseError):
                raise TransferError(f'{where}: too many redirects') from None
            raise TransferError(f'{where} kept failing after {tries} ({_reason(e)})') from None
        except (urllib3.exceptions.HTTPError, OSError) as e:
            if method in REPEATABLE_METHODS:
                raise TransferError(f'{where} failed ({_reason(e)})') from None
            raise MaybeSentError(
                f'{where} broke off ({_reason(e)}); it may have reached the server'
            ) from None

    def request(
        self,
        method: str,
        url: str,
        *,
        params: dict | None = None,
        json=None,
        data=None,
        headers: dict | None = None,
        redirect: bool = True,
        limit: int = MAX_RESPONSE_BYTES,
        what: str = 'answer',
        into=None,
    ) -> Reply:
        """``send`` a request and read its answer whole, decoded (gzip, deflate) in bounded
        steps, at most ``limit`` bytes of it (TooLargeError beyond): into memory, or written
        to the file ``into`` as it inflates (then ``content`` is empty), so that a small gzip
        bomb never takes more than a chunk of memory."""
        import urllib3

        headers = {'Accept-Encoding': 'gzip, deflate', **(headers or {})}
        if params:
            url += ('&' if '?' in url else '?') + urllib.parse.urlencode(params)
        if json is not None:
            import json as json_module

            data = json_module.dumps(json).encode()
            headers.setdefault('Content-Type', 'application/json')
        resp = self.send(method, url, headers=headers, body=data, redirect=redirect)
        answered, chunks, size = resp.geturl() or url, [], 0
        try:
            for chunk in resp.stream(CHUNK_SIZE, decode_content=True):
                size += len(chunk)
                if size > limit:
                    raise TooLargeError(
                        f'{self.name}: the {what} from {mask_url(answered)} is larger than '
                        f'{limit / 2**20:.0f} MiB (decoded); refused'
                    )
                if into is None:
                    chunks.append(chunk)
                else:
                    into.write(chunk)
        except BaseException as e:
            resp.close()
            if isinstance(e, urllib3.exceptions.HTTPError):
                where = f'{self.name}: the {what} from {mask_url(answered)}'
                raise TransferError(f'{where} broke off ({_reason(e)})') from None
            raise
        resp.release_conn()
        return Reply(resp.status, resp.reason, resp.headers, b''.join(chunks), answered)

    def check(self, resp, what: str = 'request') -> None:
        """Raise the onelight error that a failed answer (``Reply`` or urllib3's) means."""
        if resp.status < 400:
            return
        url = mask_url(resp.url if isinstance(resp, Reply) else resp.geturl() or '')
        detail = f'{resp.status} {resp.reason or ""}'.strip()
        if resp.status in (401, 403):
            raise AuthError(
                f'{self.name}: access refused ({detail}) for {url}; check the repository '
                'credentials'
            )
        if resp.status == 404:
            raise NotFoundError(f'{self.name}: not found on the server: {url}')
        raise TransferError(f'{self.name}: {what} failed ({detail}) for {url}')

    def put_file(self, url: str, path: Path, progress: Progress | None = None) -> Reply:
        """PUT a file's bytes (streamed) to ``url``."""
        with open_source(path) as f:
            size = os.fstat(f.fileno()).st_size
            body = _CountingReader(f, progress) if progress else f
            headers = {'Content-Type': 'application/octet-stream', 'Content-Length': str(size)}
            return self.request('PUT', url, data=body, headers=headers, redirect=False)

    # ---------------------------------------------------------------------------- parallel
    def run_parallel(self, func, items: list, *, label: str, total_bytes: int = 0) -> list:
        """``func(item, progress, stop)`` of every item on a fixed pool of ``jobs`` workers;
        the results in order. The workers take the next item from a shared cursor: a call
        holds one result slot an item besides the items. Ctrl-C, SIGTERM and SIGHUP stop
        the workers between chunks (each keeps what it has) and raise Interrupted; failures
        are gathered and raised together."""
        from concurrent.futures import ThreadPoolExecutor, wait

        if not items:  # nothing to do: nothing shown
            return []
        progress = Progress(total_bytes, label, len(items), self.progress)
        stop, results, failures = threading.Event(), [None] * len(items), {}
        cursor = iter(range(len(items)))  # (next() of a range iterator is atomic)

        def work():
            while not stop.is_set() and (i := next(cursor, None)) is not None:
                try:
                    results[i] = func(items[i], progress, stop)
                    progress.file_done()
                except _Stopped:
                    return
                except BaseException as e:  # reported by the caller, with the others
                    failures[i] = e

        n = max(1, min(self.jobs, len(items)))
        pool = ThreadPoolExecutor(max_workers=n, thread_name_prefix='onelight')
        with _deferred_signals() as caught:
            try:
                pending = {pool.submit(work) for _ in range(n)}
                while pending and not caught:
                    _, pending = wait(pending, timeout=0.1)  # wakes to redraw and see signals
                    progress.refresh()
            except KeyboardInterrupt:  # (where no handler of ours could be set)
                caught.append(2)
            finally:
                stop.set()
                pool.shutdown(wait=True, cancel_futures=True)
                progress.close()
        if caught:  # raised here, where no lock is held, once every worker saved its state
            raise Interrupted(
                f'{label}: interrupted; what is done is kept (partial files as .part), and '
                'running the same again resumes',
                signum=caught[0],
            )
        if failures:
            raise _combine_errors([failures[i] for i in sorted(failures)], len(items))
        return results

    # --------------------------------------------------------------------------- downloads
    def download(
        self, items, *, force: bool = False, check_hash: bool = True, learnt=None, spans=None
    ) -> TransferReport:
        """Download files (a sequence of Download) in parallel; a complete file already in
        place is never fetched.

        A local copy counts as complete with the right size and, with ``check_hash``, the
        right md5 (when known); what is downloaded is always verified. ``learnt(path, size,
        md5 or None)`` is called, from the worker that verified it, for each file fetched
        whose item gave no size or no md5: what was received. With ``spans`` (a folder),
        neighbouring members of a volume come in one request (``_download_spans``).
        """
        start, todo, total = time.perf_counter(), [], 0
        members = {}  # position -> (volume, offset, size) of members: not a Download each
        for i, d in enumerate(items):  # positions only: items may be made as they are read
            if needs_fetch(d, force, check_hash):
                todo.append(i)
                total += d.size or 0
                if spans is not None and d.offset is not None:
                    members[i] = (d.url, d.offset, d.size)
            else:
                discard_stray_part(d.dest)  # left by an interrupted --force: of no use now
        packed = TransferReport()
        if members:
            taken, packed = self._download_spans(items, members, spans)
            todo = [i for i in todo if i not in taken]
            total -= sum(members[i][2] for i in taken)

        def fetch(i, progress, stop):
            item = items[i]
            result = self._download_one(item, progress, stop, force, folders)
            if result is not None and learnt and (item.size is None or item.md5 is None):
                learnt(item.dest, *result[1:])
            return None if result is None else result[0]

        with _Folders() as folders:
            results = self.run_parallel(
                fetch, todo, label=f'downloading {plural(len(todo), "file")}', total_bytes=total
            )
        fetched = [n for n in results if n is not None]  # None: another process did it
        return TransferReport(
            files=len(fetched) + packed.files,
            skipped=len(items) - len(fetched) - packed.files,
            bytes=sum(fetched) + packed.bytes,
            seconds=time.perf_counter() - start,
        )

    # ----------------------------------------------------------------- members of volumes
    def ranges_honoured(self, url: str) -> bool:
        """Whether the server of ``url`` answers a Range request with its range, by asking
        for its first byte (a 206, not what a HEAD says: servers that ignore ranges often
        claim them). Asked once per URL and engine."""
        known = self.ranges
        if url not in known:
            headers = {'Range': 'bytes=0-0', 'Accept-Encoding': 'identity'}
            resp = self.send('GET', url, headers=headers)
            try:
                if resp.status not in (200, 206):
                    self.check(resp, 'download')
            finally:
                _done_with(resp)
            known[url] = resp.status == 206
        return known[url]

    def _download_spans(self, items, members: dict, folder: Path) -> tuple:
        """Members of volumes to fetch (``{position in items: (volume, offset, size)}``)
        that lie next to each other come as one range (a session's files are one span),
        saved in ``folder`` and unpacked, each member verified; from a server that ignores
        ranges, a volume comes whole, once. Returns (the positions done, what it fetched)."""
        import hashlib

        empty = [i for i, (_, _, size) in members.items() if size == 0]
        _unpack_members(None, 0, [items[i] for i in empty])  # (nothing to ask for)
        by_volume, spans = {}, []  # spans: (Download of the span, its first byte, positions)
        for i, (url, _, size) in sorted(members.items(), key=lambda kv: kv[1][1]):
            if size:
                by_volume.setdefault(url, []).append(i)
        for url, group in by_volume.items():
            runs = [[0, None, group]]  # the whole volume, from a server that ignores ranges
            if self.ranges_honoured(url):
                runs = []
                for i in group:
                    _, offset, size = members[i]
                    if runs and offset - runs[-1][1] <= SPAN_GAP:
                        runs[-1][1:] = [offset + size, [*runs[-1][2], i]]
                    else:
                        runs.append([offset, offset + size, [i]])
                runs = [r for r in runs if len(r[2]) > 1]  # one member: fetched as itself
            else:
                logger.warning(
                    '%s: the server of %s ignores Range requests: the volume is downloaded '
                    'whole, once, and unpacked',
                    self.name,
                    mask_url(url),
                )
            for first, end, positions in runs:
                key = f'{url}\n{first}\n{end}'.encode()
                dest = folder / (hashlib.sha1(key, usedforsecurity=False).hexdigest() + '.span')
                size, offset = (None, None) if end is None else (end - first, first)
                spans.append((Download(url, dest, size, None, folder, offset), first, positions))
        report = TransferReport()
        if spans:
            private_folder(folder)
            report = self.download([d for d, _, _ in spans])
        for span, first, positions in spans:
            try:
                _unpack_members(span.dest, first, [items[i] for i in positions])
            finally:
                span.dest.unlink(missing_ok=True)  # (bad bytes: fetched again next time)
        taken = {i for _, _, positions in spans for i in positions} | set(empty)
        report.files = len(taken)
        return taken, report

    def _download_one(self, item: Download, progress, stop, force: bool, folders: _Folders):
        """One file: lock its ``.part``, resume what its journal vouches for (Range and
        If-Range), hash on the way, verify, rename into place. Returns (bytes fetched now,
        size, md5 or None), or None when another process finished it meanwhile."""
        folder = folders.enter(item.root or item.dest.parent, item.dest.parent)
        with PartFile(folder, item.dest.name) as part:
            if part.contended and not force and file_is_complete(item.dest, item.size, item.md5):
                part.discard()
                return None
            journal = None if force or not part.size else Journal.load(part, item.size)
            if journal is None:
                if part.size:
                    part.truncate(0)  # bytes nobody vouches for are fetched again
                journal = Journal(part, item.size)
            kept = journal.kept()
            progress.keep(kept)
            try:
                md5 = self._fill(part, journal, item, progress, stop, resumed=kept > 0)
            except (_Stopped, TransferError) as e:
                if isinstance(e, IntegrityError) or not journal.save():
                    part.discard()
                elif isinstance(e, TransferError):
                    raise type(e)(f'{e}; the partial file is kept for resuming') from None
                raise
            except OSError as e:
                part.discard()
                raise TransferError(f'cannot write {item.dest}: {e.strerror or e}') from None
            part.commit()
            return max(journal.size - kept, 0), journal.size, md5 or item.md5

    def _fill(self, part, journal, item: Download, progress, stop, resumed: bool):
        """Fetch what the ``.part`` lacks and verify the whole; its md5 when computed. Another
        version of the file than the bytes kept starts it again from byte 0 (no retry used),
        and so does a failed md5 of bytes kept from before, once. A 200 to a range stops the
        other ranges: they go on once more, then the file comes in one stream."""
        first, restarts = None, 0
        while True:
            try:
                return self._verify(
                    part, journal, item, self._fetch(part, journal, item, progress, stop, first)
                )
            except (_Restart, IntegrityError) as e:
                whole = getattr(e, 'whole', None)
                if isinstance(e, IntegrityError) and not resumed:
                    raise
                restarts += 1
                if restarts > 3:
                    raise TransferError(f'{self._what(item)}: {e}, again and again') from None
                if getattr(e, 'ranges_refused', False) and restarts == 1:
                    whole.close()  # the ranges once more, what they hold kept
                    first = None
                    continue
                logger.debug('%s: %s; starting again from byte 0', self._what(item), e)
                progress.add(-journal.kept())
                part.truncate(0)
                journal.restart(item.size)
                first, resumed = whole, False

    def _fetch(self, part, journal, item, progress, stop, first=None) -> str | None:
        """Plan the file when nothing is planned (its size learned from the first answer
        when the index gives none), then fetch its ranges: several at once, or one stream.
        ``first``: an answer with the whole file (a 200), sent already."""
        if not journal.ranges:
            size, learned = journal.size, journal.learned
            if size is None and first is None:
                first = self._open(item, {'Range': f'bytes=0-{SEGMENT_SIZE - 1}'}, stop)
                start, total = _content_range(first.headers.get('content-range'))
                if first.status == 206 and start == 0 and total is not None:
                    size, learned = total, True
                elif first.status != 200:  # a 416 (some say so of empty files), an odd 206
                    _done_with(first)
                    first = None
            whole = first is not None and first.status == 200  # Range ignored: one stream
            if whole and size is None:
                size, learned = _number(first.headers.get('content-length')), True
            try:
                self._check_room(item, size, learned)
            except TransferError:
                if first is not None:
                    first.close()
                raise
            journal.plan(size, learned, whole)
            if len(journal.ranges) > 1:
                part.truncate(size)  # preallocated (sparse where the system allows)
        todo = journal.todo()
        if len(todo) > 1:
            return self._fetch_ranges(part, journal, todo, item, progress, stop, first)
        md5 = _Md5() if item.md5 or not journal.kept() else None
        if todo:
            self._fetch_range(part, journal, todo[0], item, progress, stop, first, md5)
        return md5.result(part, part.size) if md5 else None

    def _fetch_ranges(self, part, journal, todo, item, progress, stop, first):
        """Ranges over up to SEGMENT_CONNECTIONS connections, each by the same range writer;
        the first failure stops the others at once (each keeping its prefix). The md5, when
        the index gives one, follows the complete prefix as ranges finish."""
        from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait

        md5, halt = _Md5() if item.md5 else None, threading.Event()
        pool = ThreadPoolExecutor(min(SEGMENT_CONNECTIONS, len(todo)), 'onelight-range')
        fetch = functools.partial(
            self._fetch_range, part, journal, item=item, progress=progress, stop=halt
        )
        pending = {pool.submit(fetch, todo[0], first=first)}
        pending |= {pool.submit(fetch, rng) for rng in todo[1:]}
        try:
            while pending:
                done, pending = wait(pending, timeout=0.1, return_when=FIRST_COMPLETED)
                if stop.is_set():
                    raise _Stopped()
                for future in done:
                    future.result()
                if md5:
                    md5.follow(part, journal.prefix())
        finally:
            halt.set()
            pool.shutdown(wait=True, cancel_futures=True)
        return md5.result(part, journal.size) if md5 else None

    def _fetch_range(self, part, journal, rng, item, progress, stop, first=None, md5=None):
        """One range (or the whole file) into its place in the ``.part``, resumed where its
        answer broke off: the one retry loop of our own, on urllib3's Retry."""

        def attempt(n):
            resp = first if n == 0 else None
            if stop.is_set():
                if resp is not None:
                    resp.close()
                raise _Stopped()
            if resp is None:
                offset, end, headers = rng[0] + rng[2], rng[1], {}
                if item.offset is not None:  # a member: always its own bytes of the volume
                    last = item.offset + (journal.size if end is None else end) - 1
                    headers['Range'] = f'bytes={item.offset + offset}-{last}'
                elif offset or (end is not None and end != journal.size):
                    last = '' if end is None or end == journal.size else end - 1
                    headers['Range'] = f'bytes={offset}-{last}'
                if headers and journal.validator:
                    headers['If-Range'] = journal.validator
                resp = self._open(item, headers, stop)
            self._take(resp, part, journal, rng, item, progress, stop, md5)

        retrying(attempt, self.retry(stop), lambda: self._what(item), (_Broken,))

    def _what(self, item: Download) -> str:
        return f'{self.name}: download of {mask_url(item.url)}'

    def _open(self, item: Download, headers: dict, stop):
        return self.send(
            'GET', item.url, headers={'Accept-Encoding': 'identity', **headers}, stop=stop
        )

    def _take(self, resp, part, journal, rng, item, progress, stop, md5) -> None:
        """Check an answer for ``rng`` and write its body at the range's place (pwrite on the
        locked descriptor), at most to the range's end: what a server sends past it is never
        written. A body that stops short is _Broken, what arrived kept."""
        offset, whole_file = rng[0] + rng[2], len(journal.ranges) == 1
        try:
            if resp.status in self.transient_download_statuses:
                raise _Broken(f'the download host answered {resp.status}')
            if resp.status == 416 and offset:
                raise _Restart('the file is shorter than the bytes kept')
            self.check(resp, 'download')
            if resp.status == 206:
                start, total = _content_range(resp.headers.get('content-range'))
                if start != offset + (item.offset or 0):
                    raise _Broken('the server sent another range')
                mismatch = total is not None and journal.size not in (None, total)
                if mismatch and item.offset is None:  # (a member's total: its volume's)
                    raise self._size_mismatch(item, journal, total)
            elif resp.status == 200 and item.offset is not None:
                raise TransferError(
                    f'{self._what(item)}: the server sent the whole volume, not the member '
                    'asked for (it ignores Range requests)'
                )
            elif resp.status == 200 and (offset or not whole_file):
                raise _Restart('the server sent the whole file', resp, not whole_file)
            elif (length := _number(resp.headers.get('content-length'))) is not None:
                if journal.size is not None and length != journal.size:
                    raise self._size_mismatch(item, journal, length)
            if not journal.agree(_validator_of(resp)):
                raise _Restart('the file changed on the server')
            self._write(resp, part, journal, rng, progress, stop, md5)
        except BaseException as e:
            if getattr(e, 'whole', None) is not resp:
                resp.close()
            raise

    def _write(self, resp, part, journal, rng, progress, stop, md5) -> None:
        import urllib3

        left = None if rng[1] is None else rng[1] - rng[0] - rng[2]
        read = getattr(resp, 'read1', None) or resp.read  # read1: whatever has arrived
        try:
            while left is None or left > 0:
                if stop.is_set():
                    raise _Stopped()
                chunk = read(CHUNK_SIZE if left is None else min(CHUNK_SIZE, left))
                if not chunk:
                    break
                offset = rng[0] + rng[2]
                part.pwrite(chunk, offset)
                journal.advance(rng, chunk)
                if md5:
                    md5.update(offset, chunk)
                progress.add(len(chunk))
                left = None if left is None else left - len(chunk)
        except urllib3.exceptions.HTTPError as e:
            raise _Broken(_reason(e)) from None
        if left:
            raise _Broken('the connection closed before the end')
        if left is None or resp.length_remaining == 0 or not read(1):
            resp.release_conn()  # read to its end: the connection is reused
        else:
            resp.close()  # more than asked for: that connection is done

    def _size_mismatch(self, item: Download, journal, total: int) -> Exception:
        if journal.learned:  # another size than its first answer said: a new version
            return _Restart('the file changed on the server')
        return IntegrityError(
            f'{self.name}: {mask_url(item.url)} is {total} bytes on the server but '
            f'{journal.size} in the index; nothing was saved'
        )

    def _check_room(self, item: Download, size: int | None, learned: bool) -> None:
        """A TransferError, before anything is written, when the download folder has less
        free space than a large file needs (a size the index or the server announced)."""
        import shutil

        if size is None or size <= SEGMENT_SIZE:
            return
        try:
            free = shutil.disk_usage(item.dest.parent).free
        except OSError:
            return
        if size > free:
            where = 'the server says' if learned else 'the index says'
            raise TransferError(
                f'{self.name}: {item.dest.name} is {byte_size(size)} ({where}), more than '
                f'the {byte_size(free)} free in {item.dest.parent}; nothing was written'
            )

    def _verify(self, part, journal, item: Download, md5: str | None) -> str | None:
        """Check the size (and md5 when known) of a finished ``.part``; its md5."""
        size = part.size
        journal.size = size if journal.size is None else journal.size
        if item.size is not None and size != item.size:
            raise IntegrityError(
                f'{self.name}: {item.dest.name} arrived with {size} bytes, the index says '
                f'{item.size}; it was discarded'
            )
        if item.md5 and (md5 := md5 or _Md5().result(part, size)) != item.md5.lower():
            raise IntegrityError(
                f'{self.name}: {item.dest.name} failed its md5 check (expected {item.md5}, '
                f'got {md5}); it was discarded'
            )
        return md5


def _unpack_members(span: Path, first: int, members: list) -> None:
    """Write each member (a Download: ``offset``, ``size``, ``md5``) from ``span``, a file
    holding the volume's bytes from ``first`` (None: empty members only), through its own
    ``.part``: verified, then renamed into place. IntegrityError when one is not what its
    index says."""
    import hashlib

    opened = (
        io.BytesIO() if span is None else os.fdopen(os.open(span, os.O_RDONLY | _NOFOLLOW), 'rb')
    )
    with opened as src, _Folders() as folders:
        for m in members:
            folder = folders.enter(m.root or m.dest.parent, m.dest.parent)
            with PartFile(folder, m.dest.name) as part:
                part.truncate(0)
                digest, done = hashlib.md5(usedforsecurity=False), 0
                src.seek(m.offset - first)
                while done < m.size:
                    data = src.read(min(CHUNK_SIZE, m.size - done))
                    if not data:
                        break
                    part.pwrite(data, done)
                    digest.update(data)
                    done += len(data)
                if done != m.size or (m.md5 and digest.hexdigest() != m.md5.lower()):
                    part.discard()
                    raise IntegrityError(
                        f'{m.dest.name} (bytes {m.offset}-{m.offset + m.size - 1} of '
                        f'{mask_url(m.url)}) is not what the index says; it was discarded'
                    )
                part.commit()


def _combine_errors(errors: list, total: int) -> Exception:
    """One exception for several failed transfers (the first's class when they agree)."""
    errors = [e if isinstance(e, OneLightError) else TransferError(str(e)) for e in errors]
    if len(errors) == 1:
        return errors[0]
    kinds = {type(e) for e in errors}
    cls = kinds.pop() if len(kinds) == 1 else TransferError
    return cls(f'{len(errors)} of {total} transfers failed; first: {errors[0]}')


# =============================================================================================
# Repositories (backends)
# =============================================================================================
# A repository publishes a ``.one_root`` index and the files it names. Every type fills in
# the same small interface: ``read_index()`` (its listing, an Index), ``fetch(rows)`` (local
# paths of index rows, downloading what is needed), ``upload(root)`` (publish a local ALF
# tree, the index last) and ``describe()`` (settings, secrets masked). ``local`` reads a
# folder in place; the others download into the download folder.


@dataclass(frozen=True)
class Setting:
    """One setting of a repository type, declared once: its kind, default, secrecy and help
    give config validation, ``add_repo``'s options, masking and the settings table (docs).

    Kinds: ``text``, ``url`` (http(s), a folder: a trailing slash is added), ``folder`` (an
    existing local folder), ``int``, ``float`` (with ``low``/``high``), ``bool``, ``article``
    (a figshare article number or URL), ``record`` (a Zenodo record number or URL),
    ``digest`` (``sha256:<hex>``).
    """

    name: str
    kind: str = 'text'
    default: object = None
    help: str = ''
    low: float | None = None  # the range of a number
    high: float | None = None
    secret: bool = False
    required: bool = False
    off_flag: str | None = None  # the command-line name of a bool's "no" (--public)

    def convert(self, value, origin: str):
        """The setting's value in its kind; ConfigError naming it when it is not one."""
        what = f'{origin}: {self.name}'
        if value is None or (value == '' and self.kind != 'text'):
            return self.default if value is None else None
        if self.kind == 'bool':
            return value if isinstance(value, bool) else str(value).lower() in ('1', 'true', 'yes')
        if self.kind in ('int', 'float'):
            try:
                number = (int if self.kind == 'int' else float)(value)
            except (TypeError, ValueError):
                raise ConfigError(f'{what} must be a number, not {value!r}') from None
            if not self.low <= number <= self.high:
                raise ConfigError(
                    f'{what} must be between {self.low} and {self.high}, not {value!r}'
                )
            return number
        if self.kind == 'url':
            url, parts = str(value).strip(), urllib.parse.urlsplit(str(value).strip())
            if parts.scheme not in ('http', 'https') or not parts.hostname:
                raise ConfigError(f'{what} must be an http(s) URL, not {mask_url(url)!r}')
            return url if url.endswith('/') else url + '/'  # a folder
        if self.kind == 'folder':
            folder = Path(str(value)).expanduser()
            if not folder.is_dir():
                raise ConfigError(f'{what} {folder} is not a folder')
            return str(folder)
        if self.kind == 'digest':  # what cites a release: sha256:<64 hex digits>
            text = str(value).strip().lower().removeprefix('sha256:')
            if not re.fullmatch('[0-9a-f]{64}', text):
                raise ConfigError(f'{what} must be sha256:<64 hex digits>, not {value!r}')
            return 'sha256:' + text
        if self.kind == 'record':
            return parse_record_id(value)
        return parse_article_id(value) if self.kind == 'article' else value


REPOSITORY_TYPES: dict = {}  # type name -> class: every Repository subclass with a type


# --------------------------------------------------------------------------- packed volumes
# A release of many small files can be packed into ZIP volumes: plain zip files (a person can
# unzip them by hand) whose members are stored, not compressed, so that each file is one
# byte range of its volume; the index names that range (``volume.zip#bytes=FIRST-LAST``),
# with the file's size and md5. Volumes are built the same from the same files (fixed dates
# and attributes, members in path order), so an unchanged release makes the same volumes,
# named by their session and md5, and a rerun sends nothing.
ZIP_DATE = (1980, 1, 1, 0, 0, 0)
ZIP_OVERHEAD = 76  # bytes a member adds besides its data and twice its name


def volume_groups(items: list, volume_bytes: int) -> list:
    """Upload items ``(rel, path, size)`` in volumes of at most ``volume_bytes``: sessions in
    order, never split across volumes unless a session alone is larger.

    >>> volume_groups([('a/b/c/d/1/x', None, 6), ('a/b/c/d/2/y', None, 6)], 200)
    [[('a/b/c/d/1/x', None, 6)], [('a/b/c/d/2/y', None, 6)]]
    """
    groups, used = [], volume_bytes + 1

    def cost(item):
        return item[2] + ZIP_OVERHEAD + 2 * len(item[0].encode())

    for _, members in itertools.groupby(items, key=lambda item: item[0].split('/', 5)[:5]):
        members = list(members)
        size = sum(map(cost, members))
        if used + size > volume_bytes:
            groups.append([])
            used = 0
        for item in members:  # a session larger than a volume: split by file
            if groups[-1] and used + cost(item) > volume_bytes:
                groups.append([])
                used = 0
            groups[-1].append(item)
            used += cost(item)
    return groups


def build_volume(items: list, folder: Path) -> tuple:
    """Pack upload items ``(rel, ScannedFile, size)`` into a ZIP in ``folder``; (its upload
    item ``(name, path, size)``, ``{rel: (first byte, size, md5)}`` of its members)."""
    import hashlib
    import shutil
    import struct
    import tempfile
    import zipfile

    fd, tmp = tempfile.mkstemp(suffix='.zip', dir=folder)
    md5s = {}
    with os.fdopen(fd, 'w+b') as f:
        with zipfile.ZipFile(f, 'w', zipfile.ZIP_STORED, allowZip64=True) as zf:
            for rel, path, size in items:
                info = zipfile.ZipInfo(rel, ZIP_DATE)
                info.create_system, info.external_attr, info.file_size = 3, 0o644 << 16, size
                digest = hashlib.md5(usedforsecurity=False)
                with open_source(path) as src, zf.open(info, 'w') as dst:
                    for chunk in iter(lambda: src.read(CHUNK_SIZE), b''):
                        digest.update(chunk)
                        dst.write(chunk)
                md5s[rel] = digest.hexdigest()
            infos = zf.infolist()
        members = {}
        for info in infos:  # where each member's data starts: after its local header
            f.seek(info.header_offset + 26)  # (the lengths of its name and extra field)
            first = info.header_offset + 30 + sum(struct.unpack('<HH', f.read(4)))
            members[info.filename] = (first, info.file_size, md5s[info.filename])
        f.seek(0)
        volume_md5 = md5sum(f)
        size = f.seek(0, os.SEEK_END)
    lab, _, *fields = items[0][0].split('/')[:5]  # named by its first session and md5
    name = f'{re.sub(r"[^A-Za-z0-9_.-]", "-", "_".join([lab, *fields]))}.{volume_md5[:10]}.zip'
    shutil.move(tmp, folder / name)
    return (name, folder / name, size), members


def pack_items(items: list, volume_bytes: int, folder: Path) -> tuple:
    """The volumes of upload items, built in ``folder``: (their upload items, ``{rel: (URL
    cell, size, md5)}`` for the index). TransferError when the disk has no room."""
    import shutil

    need, free = sum(size for _, _, size in items), shutil.disk_usage(folder).free
    if need > free:
        raise TransferError(
            f'packing needs {byte_size(need)} in {folder} and it has {byte_size(free)} free; '
            'nothing was sent'
        )
    volumes, placed = [], {}
    try:
        for group in volume_groups(items, volume_bytes):
            volume, members = build_volume(group, folder)
            volumes.append(volume)
            for rel, (first, size, md5) in members.items():
                placed[rel] = (
                    f'{quote_path(volume[0])}#bytes={first}-{first + size - 1}',
                    size,
                    md5,
                )
    except OSError as e:
        raise TransferError(f'cannot pack volumes in {folder}: {e.strerror or e}') from None
    return volumes, placed


class UploadSession:
    """One upload to a repository: its state (what the repository holds, folders made,
    clients) and the type's small operations, for the one flow of ``Repository.upload``:
    ``have`` (the only place that tells what is already there), ``prepare`` (checks of the
    whole upload before anything is sent), ``send_all`` / ``send`` (every file is sent: the
    plan already left out what is there) and ``publish`` (the index, last)."""

    def __init__(self, repository: Repository):
        self.repository = repository

    def have(self, rels: list) -> dict:
        """What the repository already holds of these paths: ``{rel: (size, md5 or None)}``."""
        return {}

    def check_release(self, items: list, besides: int) -> None:
        """Checks of the whole release (a repository's caps), before anything is sent;
        ``besides``: the small files published with the items (the index, tables)."""

    def prepare(self, items: list) -> None:
        """Checks of the files to send, all together, before the first is sent."""

    def send_all(self, items: list) -> list:
        """Send ``(rel, local path, size)`` items in parallel; the bytes sent for each."""
        return self.repository.engine.run_parallel(
            self.send,
            items,
            label=f'uploading {plural(len(items), "file")}',
            total_bytes=sum(size for _, _, size in items),
        )

    def send(self, item: tuple, progress, stop) -> int | None:
        raise NotImplementedError

    def send_bytes(self, name: str, data: bytes) -> None:
        """Publish a small file (an index, a table) at the repository root."""
        raise NotImplementedError

    def close(self) -> None:
        """End the upload (its connections), whether it completed or not."""

    def publish(
        self, scan: ScanResult, *, checksums=False, one_cache=False, changed=True, placed=None
    ) -> str:
        """Publish ``.one_root`` (ONE's tables first with ``one_cache``) for a tree whose
        files are all in place (``placed``: under other names, see ``index_bytes``); what
        cites it (``cite_of``)."""
        base = self.repository.index_base_url
        for name, data in index_files(scan, base, checksums, one_cache, placed).items():
            self.send_bytes(name, data)
        return cite_of(data)  # (the index: sent last)


@dataclass
class UploadPlan:
    """The files of a local tree to publish: ``(rel, local path, size)`` items."""

    scan: ScanResult
    items: list
    complete: bool  # False when --limit leaves files out (then the index is not published)
    placed: dict | None = None  # packed: {path: (URL cell, size, md5)} (``pack_items``)

    @classmethod
    def make(cls, root, limit: int | None) -> UploadPlan:
        result = scan(root).require_sessions('nothing to upload')
        real = os.path.realpath(result.root)
        items = [  # each read later only while it is still the file scanned
            (rel, ScannedFile.of(path, real, info), info.st_size)
            for rel, path, info in zip(result.files, result.local_paths, result.stats)
        ]
        result.paths = [file for _, file, _ in items]  # the index's md5s read them so too
        complete = limit is None or limit >= len(items)
        return cls(result, items[:limit] if limit else items, complete)

    def pack(self, volume_bytes: int, folder: Path) -> None:
        """Send volumes (built in ``folder``) instead of the files (see ``pack_items``)."""
        self.items, self.placed = pack_items(self.items, volume_bytes, folder)

    def report(self, sizes: list | None = None) -> TransferReport:
        """What sending the files did (the bytes sent for each, None: not sent), or without
        ``sizes`` what a dry run would send."""
        if sizes is None:
            paths = [r for r, _, _ in self.items]
            return TransferReport(len(paths), 0, sum(s for _, _, s in self.items), paths=paths)
        sent = [n for n in sizes if n is not None]
        return TransferReport(len(sent), len(self.items) - len(sent), sum(sent))


def _has_copy(item: tuple, known: tuple | None) -> bool:
    """Whether a repository's copy ``(size, md5 or None)`` is the local file ``item``."""
    return known is not None and known[0] == item[2] and known[1] in (None, md5sum(item[1]))


class Repository:
    """Base class of the repository types.

    A type is one subclass: its ``type`` name, its ``settings`` (``Setting`` declarations,
    added to its parent's), the keyword that makes an ad-hoc repository of it
    (``adhoc_key``), and the operations it supplies. Declaring the class registers it.
    """

    type = ''
    settings_spec = (
        Setting('pin', 'digest', help="the index's digest (cite: sha256:...); others refused"),
    )
    adhoc_key: str | None = None
    adhoc_also: tuple = ()  # other settings that name a repository of this type
    is_local = False
    # derived from the declarations of the class and its parents:
    declared: dict = {}
    required: tuple = ()
    optional: dict = {}

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        declared = {}
        for klass in reversed(cls.__mro__):
            declared.update({s.name: s for s in klass.__dict__.get('settings_spec', ())})
        cls.declared = declared
        cls.required = tuple(n for n, s in declared.items() if s.required)
        cls.optional = {n: s.default for n, s in declared.items() if not s.required}
        if cls.type:
            REPOSITORY_TYPES[cls.type] = cls

    def __init__(
        self,
        name: str,
        settings: dict,
        *,
        dirs: Dirs | None = None,
        download_dir: str = DEFAULT_DOWNLOAD_DIR,
        strict: bool = False,
        offline: bool = False,
        progress: bool | None = None,
    ):
        self.name, self.dirs = name, dirs or app_dirs()
        self.settings = self.validate(settings, origin=f'repository "{name}"')
        self.download_dir, self.strict, self.offline = download_dir, strict, offline
        self.progress = progress  # None: a progress display where a person watches

    @classmethod
    def validate(cls, settings: dict, origin: str) -> dict:
        """Check a repository's settings against the declarations; return them converted,
        with defaults filled in (keys nobody declared are kept as they are)."""
        out = {k: v for k, v in settings.items() if k not in ('name', 'type')}
        missing = [k for k in cls.required if out.get(k) in (None, '')]
        unknown = sorted(set(out) - set(cls.declared))
        if missing:
            raise ConfigError(
                f'{origin} ({cls.type}) needs {", ".join(missing)}'
                + _unknown_keys_hint(unknown, cls)
            )
        if unknown:  # kept (another version may know them), but said
            logger.warning(
                '%s: unknown setting(s) %s', origin, _unknown_keys_hint(unknown, cls)[2:]
            )
        for name, setting in cls.declared.items():
            out[name] = setting.convert(out.get(name), origin)
        cls.check(out, origin)
        for name, setting in cls.declared.items():
            reason = setting.kind == 'url' and out.get(name) and unsafe_url_reason(out[name])
            if reason:
                raise ConfigError(
                    f'{origin}: {name} {mask_url(out[name])} is refused: {reason} (credentials '
                    'go in their own settings)'
                )
        return out

    @classmethod
    def check(cls, settings: dict, origin: str) -> None:
        """Rules between settings (a password needs a login...): ConfigError when broken."""

    @classmethod
    def check_new(cls, settings: dict, origin: str) -> None:
        """What ``add_repo`` checks of a new repository's (validated) settings beyond their
        rules, where it is cheap (a local folder's layout): ConfigError or NotFoundError."""

    @classmethod
    def adhoc_name(cls, settings: dict) -> str:
        """The name of an unnamed ad-hoc repository of this type."""
        return cls.type

    def describe(self) -> dict:
        return {'name': self.name, 'type': self.type, **mask_secrets(self.settings)}

    @property
    def location(self) -> str:
        """Where the repository is: the setting that names it (``root_dir``, ``base_url``,
        ``bucket``, ``article_id`` or ``collection_id``, an FTP ``host``), secrets masked."""
        shown = mask_secrets(self.settings)
        keys = (self.adhoc_key, *self.adhoc_also, *self.required)
        return next((str(shown[k]) for k in keys if shown.get(k) is not None), self.name)

    def read_index(self) -> Index:
        raise NotImplementedError

    def check_pin(self, index, origin: str) -> None:
        """With a ``pin``, an IntegrityError unless the index (bytes, or a file open at its
        start, left there) is the one pinned: a cited release, not whatever is there now."""
        pin = self.settings.get('pin')
        if pin is None:
            return
        if index is None:
            raise IntegrityError(f'repository "{self.name}" is pinned to {pin} but has no index')
        if (digest := cite_of(index)) != pin:
            raise IntegrityError(
                f'repository "{self.name}": its index ({origin}) is {digest[:19]}..., not the '
                f'pinned {pin[:19]}...; refused (the release changed since it was cited)'
            )

    def fetch(self, rows: pd.DataFrame, *, force=False, check_hash=True, dry_run=False):
        """Local paths of index rows (``LocalPaths``), downloading what is missing or not
        good (with ``check_hash``: a local copy must match the index's md5 where it has
        one); ``dry_run``: nothing is fetched, the report says what would be."""
        raise NotImplementedError

    def local_copies(self, rows: pd.DataFrame) -> list:
        """Where each index row is (or would be) on this computer, with its expected size
        and md5, as Download items."""
        raise NotImplementedError

    # -------------------------------------------------------------- publishing (one flow)
    def upload(
        self,
        root,
        *,
        dry_run: bool = False,
        limit: int | None = None,
        force: bool = False,
        checksums: bool = False,
        one_cache: bool = False,
        pack: bool | None = None,
    ) -> TransferReport:
        """Publish the ALF tree under ``root``: the one upload flow of every type.

        The files are planned (``limit``: the first N only); ``dry_run`` stops there and
        lists them. With ``pack`` (None: the ``pack`` setting, or where the repository
        needs it) they go in ZIP volumes. Files the repository already has (same size, and
        same md5 where it knows one) are skipped unless ``force``; the rest are sent. Then
        the index (and ONE's cache tables with ``one_cache``) is published, last, and not
        at all when ``limit`` left files out, so that an index never names a file that is
        not there yet. The report's ``cite`` is the digest of the index (``cite_of``).
        """
        import shutil
        import tempfile

        plan = UploadPlan.make(root, limit)
        if dry_run:
            return plan.report()
        self._require_online('upload')
        start, session, staging = time.perf_counter(), self.begin_upload(), None
        try:
            besides = 1 + one_cache * (len(ONE_TABLES) + 1)  # the index (and the tables)
            if self.packs(plan.items, pack, besides):
                staging = Path(tempfile.mkdtemp(dir=private_folder(self.dirs.cache / 'volumes')))
                plan.pack(self.settings['volume_mb'] << 20, staging)
            session.check_release(plan.items, besides)
            # the one place that decides what the repository already has
            known = {} if force else session.have([rel for rel, _, _ in plan.items])
            todo = [i for i in plan.items if force or not _has_copy(i, known.get(i[0]))]
            if todo:
                session.prepare(todo)
            sent = session.send_all(todo) if todo else []
            report = plan.report([None] * (len(plan.items) - len(todo)) + sent)
            if plan.complete:
                changed = report.files > 0
                report.cite = session.publish(
                    plan.scan,
                    checksums=checksums,
                    one_cache=one_cache,
                    changed=changed,
                    placed=plan.placed,
                )
            else:
                logger.warning('--limit: the index was not updated until every file is uploaded')
        finally:
            session.close()
            if staging is not None:
                shutil.rmtree(staging, ignore_errors=True)
        report.seconds = time.perf_counter() - start
        return report

    def packs(self, items: list, pack: bool | None, besides: int = 1) -> bool:
        """Whether an upload of ``items`` (and ``besides`` small files: the index...) goes
        in volumes (``pack``, else the setting)."""
        return bool(self.settings.get('pack') if pack is None else pack)

    def _require_online(self, what: str) -> None:
        if self.offline:
            raise OfflineError(f'repository "{self.name}": cannot {what} while offline')

    def begin_upload(self) -> UploadSession:
        """The state of one upload and the type's operations (an ``UploadSession``)."""
        raise NotImplementedError

    @property
    def index_base_url(self) -> str | None:
        """The base URL written into a published index (None: readers use their own)."""
        return None

    def make_public(self, *, checksums: bool = False) -> dict:
        """Make what was uploaded visible to everyone, where a type has such a step."""
        raise ConfigError(
            f'clean_publish is for figshare and zenodo; "{self.name}" is {self.type}, whose '
            'files are public as soon as they are uploaded'
        )

    def session_dir(self, session: str) -> Path:
        """The local folder of a session (for remote repositories, under the download dir)."""
        fields = dict(zip(SESSION_FIELDS, _session_fields(session)))
        return session_download_dir(
            self.download_dir, data_dir=self.dirs.data, repository=self.name, **fields
        )

    # ------------------------------------------------------------------- cached indexes
    def _cache_name(self, key: str) -> str:
        """The name of this repository's cache files for ``key``: its name made safe, and
        the digest of the key, which keeps two repositories apart whatever their names hold
        (dots included: never ``with_suffix``, which would cut a name at its last dot)."""
        import hashlib

        digest = hashlib.sha1(key.encode(), usedforsecurity=False).hexdigest()[:16]
        return re.sub(r'[^\w.-]', '_', self.name) + '-' + digest

    def _index_cache(self, key: str) -> tuple:
        """The cache files (body, validators) of an index fetched from ``key``."""
        folder, stem = self.dirs.cache / 'index', self._cache_name(key)
        suffix = PurePosixPath(urllib.parse.urlsplit(key).path).suffix or '.one_root'
        return folder / f'{stem}{suffix}', folder / f'{stem}.json'

    def _read_cached_index(self, key: str, body: bool = True) -> tuple:
        """The cached index bytes (not read without ``body``: None) and their validators, or
        (None, {}) when absent or corrupt (someone else may have written them)."""
        body_path, meta_path = self._index_cache(key)
        try:
            meta = parse_json(read_cache_file(meta_path))
        except (OSError, ValueError):
            return None, {}
        if not isinstance(meta, dict):
            return None, {}
        if not body:
            return None, meta if body_path.exists() else {}
        f = self._cached_body(key, meta.get('md5'))
        if f is None:
            return None, {}
        with f:
            return f.read(), meta

    def _cached_body(self, key: str, md5: str | None):
        """The cached body of ``key`` open for reading, when it still has ``md5``, the md5
        recorded when it was fetched (someone else may have written it); None otherwise.
        Checked and then read through the same descriptor, never through a link."""
        body_path, _ = self._index_cache(key)
        try:
            f = os.fdopen(os.open(body_path, os.O_RDONLY | _NOFOLLOW), 'rb')
        except OSError:
            return None
        if not md5 or md5sum(f) != md5:
            f.close()
            return None
        f.seek(0)
        return f

    def _read_cached_meta(self, key: str) -> dict:
        return self._read_cached_index(key, body=False)[1]

    def _write_cached_index(self, key: str, body: bytes | None, meta: dict) -> None:
        """Cache a body and its validators (None: add facts to the validators only)."""
        body_path, meta_path = self._index_cache(key)
        with contextlib.suppress(OSError):  # a read-only cache only costs speed
            if body is not None:
                write_cache_file(body_path, body)
                meta = {**meta, 'md5': md5_of_bytes(body)}
            write_cache_file(meta_path, json.dumps(meta).encode())


class LocalRepository(Repository):
    """A folder of ALF data on this computer (or a mounted share), read in place: its index
    is a fresh scan of the folder; ``upload`` copies a tree in and writes its ``.one_root``."""

    type = 'local'
    adhoc_key = 'root_dir'
    is_local = True
    settings_spec = (
        Setting('root_dir', 'folder', required=True, help='the folder holding lab/Subjects/...'),
        Setting('tables_dir', 'folder', help='where its ONE cache tables are (default: root)'),
    )

    @classmethod
    def adhoc_name(cls, settings):
        return 'local'

    @classmethod
    def check_new(cls, settings: dict, origin: str) -> None:
        # a folder holding files but no session folder (a lab's, one level too deep) is
        # refused as index refuses it; an empty one is a place to upload to
        root = Path(settings['root_dir']).expanduser()
        if root.is_dir() and any(root.iterdir()) and not (root / INDEX_NAME).is_file():
            scan(root).require_sessions(origin)

    @property
    def root(self) -> Path:
        return Path(self.settings['root_dir'])

    def read_index(self) -> Index:
        """A fresh scan of the folder; ONE cache tables there (or in ``tables_dir``) give the
        sessions' ids, metadata and QC. Pinned: its ``.one_root``, the one cited."""
        if self.settings.get('pin'):  # the cited index, not what the folder holds now
            path = self.root / INDEX_NAME
            try:
                data = read_cache_file(path)
            except OSError:
                data = None
            self.check_pin(data, str(path))
            return Index.from_bytes(data, strict=self.strict, origin=str(path))
        result = scan(self.root)
        folder = Path(self.settings.get('tables_dir') or self.root).expanduser()
        tables = read_local_tables(folder, what := f'ONE cache tables in {folder}')
        return result.index() if tables is None else tables.catalogue(result, what)

    def session_dir(self, session: str) -> Path:
        return safe_join(self.root, session)

    def local_copies(self, rows):
        sizes = [None if pd.isna(n) else int(n) for n in rows['size']]
        return [Download('', safe_join(self.root, p), n) for p, n in zip(row_paths(rows), sizes)]

    def fetch(self, rows, *, force=False, check_hash=True, dry_run=False):
        paths = [self.root / p for p in row_paths(rows)]  # the folder's own scan: all are safe
        missing = [p for p in paths if not p.is_file()]
        if missing:  # deleted since the folder was read: ALFObjectNotFound, as ONE raises
            raise ALFObjectNotFound(
                f'{len(missing)} indexed file(s) are missing from {self.root}, e.g. {missing[0]}'
            )
        if check_hash and rows['md5'].notna().any():  # files read in place: warn, as ONE does
            for path, size, md5 in zip(paths, rows['size'], rows['md5']):
                size, md5 = None if pd.isna(size) else int(size), _md5(md5)
                if problem := local_copy_problem(path, size, md5):
                    logger.warning('local file %s: %s against the index', path, problem)
        return LocalPaths(paths, TransferReport(skipped=len(paths)) if dry_run else None)

    def begin_upload(self) -> LocalUpload:
        return LocalUpload(self)

    def packs(self, items, pack, besides=1):
        if pack:
            raise ConfigError(
                f'repository "{self.name}" is a local folder, read in place: volumes are for '
                'remote repositories'
            )
        return False


class LocalUpload(UploadSession):
    """An upload into a folder: files copied in (atomically), then the folder's index."""

    def have(self, rels):
        root, copies = self.repository.root, {}
        for rel in rels:
            with contextlib.suppress(OSError):
                copies[rel] = (safe_join(root, rel).stat().st_size, None)
        return copies

    def send_all(self, items):
        root, sizes = self.repository.root, []
        for rel, path, _ in items:
            dest = safe_join(root, rel)
            same = dest.exists() and os.path.samefile(path, dest)  # uploading to itself
            sizes.append(None if same else copy_into(root, rel, path))
        return sizes

    def publish(self, scan, *, checksums=False, one_cache=False, changed=True, placed=None):
        # the folder may hold more than the tree just copied in: its index lists it all
        root = self.repository.root
        return write_index(root, checksums=checksums or None, one_cache=one_cache).cite


class LocalPaths(collections.abc.Sequence):
    """The local paths of fetched files, in order, with ``report``: what fetching them did
    (files and bytes downloaded, seconds; None when nothing needed the network). A
    sequence made as it is read (a million Paths would take half a gigabyte); it compares
    equal to a list of the same paths.

    >>> LocalPaths([Path('a')]) == [Path('a')]
    True
    """

    def __init__(self, paths=(), report: TransferReport | None = None):
        self._items, self.report = paths, report

    def __len__(self) -> int:
        return len(self._items)

    def __getitem__(self, i):
        if isinstance(i, slice):
            return [self[j] for j in range(len(self))[i]]
        item = self._items[i]
        return item.dest if isinstance(item, Download) else item

    def __eq__(self, other) -> bool:
        return isinstance(other, (list, tuple, LocalPaths)) and list(self) == list(other)

    __hash__ = None

    def __add__(self, other) -> list:
        return list(self) + list(other)

    def __radd__(self, other) -> list:
        return list(other) + list(self)

    def __reduce__(self):  # pickled (and copied) as the paths, not the plan behind them
        return LocalPaths, (list(self), self.report)

    def __repr__(self) -> str:
        return repr(list(self))


_UrlRow = collections.namedtuple('_UrlRow', 'session dirs filename url url_base')


class DownloadPlan(collections.abc.Sequence):
    """The Download of each index row, into its session's download folder, made when asked
    for: a plan of a million files holds the rows' columns, not a million URLs and Paths.
    Where the index gives no size (or, ``with_md5``, no md5), what was verified when the
    file was downloaded stands in (``VerifiedCopies``)."""

    def __init__(self, repository: RemoteRepository, rows: pd.DataFrame, with_md5=False):
        self.repository, self.with_md5, self.folders = repository, with_md5, {}
        self.root = repository.download_root
        none = np.full(len(rows), None, dtype=object)
        names = (*_UrlRow._fields, 'size', 'md5')
        self.columns = {c: column_values(rows[c]) if c in rows else none for c in names}
        self.rel = rows['rel'].to_numpy(object) if 'rel' in rows else rel_paths(rows)
        unknown = pd.isna(self.columns['size']).any()
        unknown |= with_md5 and pd.isna(self.columns['md5']).any()
        self.known = repository.verified_copies.known if unknown else {}

    def __len__(self) -> int:
        return len(self.rel)

    def __getitem__(self, i):
        if isinstance(i, slice):
            return [self[j] for j in range(len(self))[i]]
        values = {c: v[i] for c, v in self.columns.items()}
        folder, trusted = self._folder(values['session'])
        dest = safe_join(folder, self.rel[i])
        size, md5 = values['size'], _md5(values['md5'])
        if size is None or (self.with_md5 and md5 is None):
            known_size, known_md5 = self.known.get(str(dest), (None, None))
            size = known_size if size is None else size
            md5 = known_md5 if self.with_md5 and md5 is None else md5
        row = _UrlRow(*(values[c] for c in _UrlRow._fields))
        size = None if size is None else int(size)
        url, offset, length = byte_range_of(self.repository.file_url(row))
        if offset is not None and length != size:
            raise IndexFormatError(
                f'repository "{self.repository.name}": the index gives {self.rel[i]} '
                f'{length} bytes of {mask_url(url)} but a size of {size}'
            )
        return Download(url, dest, size, md5, trusted, offset)

    @functools.cached_property
    def packed(self) -> bool:
        """Whether some rows are members of volumes (their URLs end in ``#bytes=``)."""
        return any(isinstance(url, str) and '#bytes=' in url for url in self.columns['url'])

    def _folder(self, session: str) -> tuple:
        """A session's download folder, and the root onelight may make folders below
        (None where the folder is not below it): the same for all the files of a session."""
        if session not in self.folders:
            folder = self.repository.session_dir(str(session))
            self.folders[session] = (
                folder,
                (self.root if self.root in (folder, *folder.parents) else None),
            )
        return self.folders[session]


class RemoteRepository(Repository):
    """A repository reached over the network through the transfer engine."""

    settings_spec = (
        Setting('jobs', 'int', 32, 'transfers at once', low=1, high=64),
        Setting('timeout', 'float', 60, 'seconds before a silent server is gone', 0.01, 3600),
        Setting('retries', 'int', 5, 'retries of a failed request', low=0, high=20),
        Setting('backoff', 'float', 0.5, 'seconds before the first retry, doubling', 0, 60),
        Setting('one_cache', 'bool', False, "downloads keep ONE's cache tables up to date"),
        Setting(
            'max_index_mb',
            'int',
            1024,
            'largest index, table or listing, MiB decoded',
            low=1,
            high=1 << 20,
        ),
        Setting('pack', 'bool', False, 'upload files in ZIP volumes read by byte ranges'),
        Setting('volume_mb', 'int', 2000, 'the largest ZIP volume, MiB', low=1, high=1 << 20),
    )

    @property
    def index_limit(self) -> int:
        """The most bytes an index, a table (or a member of ``cache.zip``) or a listing
        may hold, decoded: a small compressed bomb stops there."""
        return self.settings['max_index_mb'] << 20

    def _engine_options(self) -> dict:
        s = self.settings
        options = {k: s[k] for k in ('jobs', 'timeout', 'retries', 'backoff')}
        return dict(name=f'repository "{self.name}"', progress=self.progress, **options)

    @functools.cached_property
    def engine(self) -> TransferEngine:
        return TransferEngine(**self._engine_options())

    def file_url(self, row) -> str:
        """The download URL of an index row."""
        url = given_url(row)
        if url is None:
            raise RepositoryError(
                f'repository "{self.name}": no URL for {row.session}/{row.dirs}{row.filename}'
            )
        return url

    def downloads(self, rows: pd.DataFrame, *, with_md5: bool = False) -> DownloadPlan:
        """The Download of each index row (a ``DownloadPlan``)."""
        return DownloadPlan(self, rows, with_md5)

    def local_copies(self, rows: pd.DataFrame) -> list:
        return self.downloads(rows, with_md5=True)

    @property
    def download_root(self) -> Path:
        """The folder of the download template before its first session field: downloads
        make and enter the folders below it without following a link (it may be one)."""
        template = self.download_dir.replace('{data_dir}', str(self.dirs.data))
        root = os.path.expanduser(template.replace('{repository}', self.name))
        return Path(root.split('{', 1)[0])

    @functools.cached_property
    def verified_copies(self) -> VerifiedCopies:
        name = self._cache_name(f'{self.name}\n{self.download_dir}\n{self.dirs.data}')
        return VerifiedCopies(self.dirs.cache / 'verified' / f'{name}.tsv')

    def fetch(self, rows, *, force=False, check_hash=True, dry_run=False):
        items = self.downloads(rows)
        if self.offline or dry_run:
            force = force and dry_run  # (offline, what is here is what there is)
            wanted = [
                (i, d.size) for i, d in enumerate(items) if needs_fetch(d, force, check_hash)
            ]
            if dry_run:
                size, skipped = sum(n or 0 for _, n in wanted), len(items) - len(wanted)
                return LocalPaths(items, TransferReport(len(wanted), skipped, size))
            if wanted:
                raise OfflineError(
                    f'{len(wanted)} of {len(items)} files are not available offline, e.g. '
                    f'{items[wanted[0][0]].dest}'
                )
            return LocalPaths(items)
        report = self.engine.download(
            items,
            force=force,
            check_hash=check_hash,
            learnt=self.verified_copies.add,
            spans=self.dirs.cache / 'spans' if items.packed else None,
        )
        return LocalPaths(items, report)


class FetchedBody:
    """A body written to a temporary file in a cache folder as it arrives, with its md5;
    then kept (renamed into place and read back through the same descriptor) or discarded."""

    def __init__(self, folder: Path):
        import hashlib
        import tempfile

        fd, self.tmp = tempfile.mkstemp(
            prefix='.fetch.', suffix='.tmp', dir=private_folder(folder)
        )
        self.file, self.digest = os.fdopen(fd, 'w+b'), hashlib.md5(usedforsecurity=False)

    def write(self, data) -> int:
        self.digest.update(data)
        return self.file.write(data)

    @property
    def md5(self) -> str:
        return self.digest.hexdigest()

    def keep_as(self, path: Path):
        """The body, renamed to ``path``, open for reading from its start."""
        self.file.flush()
        try:
            os.replace(self.tmp, path)
        except OSError:  # not kept (a cache only costs speed): read from the unnamed file
            with contextlib.suppress(OSError):
                os.unlink(self.tmp)
        self.file.seek(0)
        return self.file

    def discard(self) -> None:
        self.file.close()
        with contextlib.suppress(OSError):
            os.unlink(self.tmp)


class VerifiedCopies:
    """What was verified of each file downloaded from an index that gives no size or md5
    (every 1- and 2-column ``.one_root``): its size as received and the md5 of the bytes
    received, kept in onelight's cache (a TSV: path, size, md5), so that ``verify`` and the
    next download catch a copy damaged since (truncated, overwritten) with any index. Read
    back as hostile: a line that does not parse is ignored."""

    def __init__(self, path: Path):
        self.path, self.lock = path, threading.Lock()

    @functools.cached_property
    def known(self) -> dict:
        return self._read()

    def _read(self) -> dict:
        """The record, written anew first when mostly superseded or grown to half of what
        is read back (the oldest half then dropped: a cache only)."""
        known, lines = {}, []
        with contextlib.suppress(OSError, UnicodeDecodeError):
            lines = read_cache_file(self.path, MAX_RESPONSE_BYTES).decode('utf-8').splitlines()
            for cells in (line.split('\t') for line in lines):
                if len(cells) == 3 and _number(cells[1]) is not None:
                    known[cells[0]] = (int(cells[1]), _md5(cells[2]))
        size = sum(map(len, lines))
        if len(lines) > 2 * len(known) + 1000 or size > MAX_RESPONSE_BYTES // 2:
            if size > MAX_RESPONSE_BYTES // 2:
                known = dict(list(known.items())[len(known) // 2 :])
            text = ''.join(f'{p}\t{s}\t{m or ""}\n' for p, (s, m) in known.items())
            with contextlib.suppress(OSError):
                write_cache_file(self.path, text.encode())
        return known

    def add(self, path, size: int, md5: str | None) -> None:
        """Record a file just downloaded and verified (from any thread); a record grown
        to half the size ``known`` reads is written anew first."""
        with self.lock:
            with contextlib.suppress(OSError):
                if os.stat(self.path).st_size > MAX_RESPONSE_BYTES // 2:
                    self._read()
            self.__dict__.pop('known', None)  # read again when next asked for
            try:
                private_folder(self.path.parent)
                flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND | _NOFOLLOW  # never a link
                with os.fdopen(os.open(self.path, flags, 0o600), 'ab') as f:
                    f.write(f'{path}\t{size}\t{md5 or ""}\n'.encode())
            except OSError as e:  # a cache: only the later checks lose
                logger.debug('cannot record a verified copy in %s: %s', self.path, e)


PARSED_CACHE_MIN_LINES = 10_000  # smaller indexes parse faster than their copy loads


class WebRepository(RemoteRepository):
    """What every repository read over HTTP(S) shares: ``base_url + '.one_root'`` (cached with
    its ``ETag`` / ``Last-Modified``, revalidated once per client), ONE cache tables, and
    downloads through the transfer engine. A type supplies ``base_url``."""

    settings_spec = (
        Setting('tables_url', 'url', help='where ONE cache tables are, when not at base_url'),
        Setting('uuid_names', 'bool', False, 'files are stored as name.<dataset id>.ext'),
    )

    @classmethod
    def check(cls, settings, origin):
        url = settings.get('tables_url')
        if url and url.endswith('.zip/'):  # a zip is a file, not a folder
            settings['tables_url'] = url[:-1]

    @property
    def base_url(self) -> str:
        raise NotImplementedError

    @property
    def index_url(self) -> str:
        return self.base_url + INDEX_NAME

    def file_url(self, row) -> str:
        return row_url(row, self.base_url)

    # ------------------------------------------------------------------------------ reading
    def read_index(self) -> Index:
        """``.one_root``, and ONE cache tables where the repository has them: their ids win,
        ``.one_root`` gives the URLs. With tables only, the index is built from them."""
        origin, key = mask_url(self.index_url), self.index_url
        self._validated = {}  # each file is asked about once per reading
        meta = self._read_cached_meta(key)
        pinned = self.settings.get('pin') is not None  # (then the index read is hashed)
        index = None if pinned else self._load_parsed()
        if index is not None:
            return index
        tables = None
        try:
            data = self._cached_get(key)
        except NotFoundError:
            data = None
        except OfflineError as offline:  # unless a release of tables only was cached
            try:
                tables, data = self.read_tables(required=True), None
            except (OfflineError, NotFoundError):
                raise offline from None
        with data if data is not None else contextlib.nullcontext():
            if pinned:
                self.check_pin(data, origin)
            index, tables = self._index_of(data, meta, tables if data is None else None, origin)
        if len(index) >= PARSED_CACHE_MIN_LINES and not self.offline:
            self._save_parsed(
                index, tables.sources if tables is not None else [], data is not None
            )
        return index

    def _index_of(self, data, meta: dict, tables, origin: str) -> tuple:
        """(index, the tables it was made with) of the body of ``.one_root`` (a file; None:
        the repository has none) and the tables beside it."""
        key = self.index_url
        changed = self._read_cached_meta(key).get('md5') != meta.get('md5')
        if data is not None and (changed or self.settings['tables_url']):
            tables = self._tables_beside_index()
            new = {**self._read_cached_meta(key), 'tables': tables is not None}
            self._write_cached_index(key, None, new)  # said once per version of the index
        elif data is not None:
            tables = self._tables_beside_index() if meta.get('tables') else None
        elif not self.offline:
            tables = self.read_tables(required=True)
        if data is None and tables is None:  # offline, and the cached copy is damaged
            raise OfflineError(
                f'repository "{self.name}": its cached index is damaged; connect once '
                'without --offline'
            )
        if data is None:
            index = tables.to_index(
                url_of=self._uuid_name_urls if self.settings['uuid_names'] else None,
                base_url=self.base_url,
                strict=self.strict,
                origin=f'ONE cache tables of {mask_url(self.tables_location)}',
            )
        else:
            index = Index.from_bytes(
                data, base_url=self.base_url, strict=self.strict, origin=origin
            )
            index = index if tables is None else tables.attach_to(index)
        return index, tables

    # A large index is kept parsed (``<cache>.parsed.arrow``, Arrow IPC read back memory-
    # mapped), with what it was made from in its schema: the md5s of the index (none for a
    # release of tables only) and of each table it was built with, and the ids and metadata
    # the tables gave. A new process revalidates those files without reading them and uses
    # the copy only when none changed.
    def _parsed_path(self) -> Path:
        body_path, _ = self._index_cache(self.index_url)
        return body_path.with_name(body_path.name + '.parsed.arrow')

    def _parsed_shape(self) -> dict:
        """What else decides the index made from the same files."""
        return {
            'version': __version__,
            'schema': 4,  # the columns of Index rows
            'strict': self.strict,
            'base_url': self.base_url,
            'uuid_names': bool(self.settings['uuid_names']),
        }

    def _save_parsed(self, index: Index, sources: list, with_index: bool) -> None:
        """Keep ``index``, made from ``.one_root`` (``with_index``) and the table files at
        ``sources`` (an unreadable copy is only speed lost)."""
        files = [[url, self._read_cached_meta(url).get('md5')] for url in sources]
        meta = index.session_meta
        extra = {
            'index': self._read_cached_meta(self.index_url).get('md5') if with_index else None,
            'tables': files,
            **self._parsed_shape(),
            'session_ids': {p: str(i) for p, i in index.session_ids.items()},
            'from_tables': index.from_tables,
            'session_meta': None if meta is None else meta.to_dict(orient='split'),
        }
        if not all(md5 for _, md5 in files):
            return
        try:
            import pyarrow as pa
            import pyarrow.feather as feather

            table = pa.Table.from_pandas(index.df, preserve_index=False)
            metadata = {**(table.schema.metadata or {}), b'onelight': json.dumps(extra).encode()}
            table = table.replace_schema_metadata(metadata)  # uncompressed: mapped, not copied
            write_cache_file(
                self._parsed_path(), lambda f: feather.write_feather(table, f, 'uncompressed')
            )
        except (ImportError, OSError, ValueError, TypeError) as e:
            logger.debug('no parsed copy of the index: %s', e)

    def _load_parsed(self) -> Index | None:
        """The index an earlier process kept, when the index and the tables it was made from
        are all unchanged; None otherwise (then made anew)."""
        path = self._parsed_path()
        try:
            import mmap

            import pyarrow as pa
            import pyarrow.feather as feather

            with os.fdopen(os.open(path, os.O_RDONLY | _NOFOLLOW), 'rb') as f:  # never a link
                mapped = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
            table = feather.read_table(pa.BufferReader(pa.py_buffer(mapped)))
            extra = parse_json((table.schema.metadata or {}).get(b'onelight', b'null'))
            index = Index(table.to_pandas())
        except Exception:  # pyarrow missing, or the file is gone, cut short or not Arrow
            return None
        if not isinstance(extra, dict):
            return None
        if any(extra.get(k) != v for k, v in self._parsed_shape().items()):
            return None
        sound = index.looks_sound()
        if not sound:
            logger.warning('ignoring a damaged parsed copy of the index at %s', path)
        files = [(self.index_url, extra.get('index')), *map(tuple, extra.get('tables') or [])]
        if not sound or not all(self._still(url, md5) for url, md5 in files):
            with contextlib.suppress(OSError):  # damaged or stale: never asked about again
                path.unlink()
            return None
        index.base_url, meta = self.base_url, extra.get('session_meta')
        if meta is not None:
            index_of = pd.Index(meta['index'], name='session')
            meta = pd.DataFrame(meta['data'], index=index_of, columns=meta['columns'])
        index.set_session_info(extra['session_ids'], meta)  # ids stay text until asked for
        index.from_tables = extra.get('from_tables') is True
        return index

    def _still(self, url: str, md5: str | None) -> bool:
        """Whether the file at ``url`` still has ``md5`` (None: is still absent), asking the
        server with its validators, without reading the cached body."""
        try:
            body = self._cached_get(url, body_if_unchanged=False)
            if body is not None:  # changed: read again by whoever needs it
                body.close()
        except NotFoundError:
            return md5 is None
        except OfflineError:
            return md5 is None and not self._read_cached_meta(url)
        return md5 is not None and self._read_cached_meta(url).get('md5') == md5

    @property
    def tables_location(self) -> str:
        """Where the ONE cache tables are: ``tables_url`` (a folder, or ``cache.zip``), or
        the base URL."""
        return self.settings.get('tables_url') or self.base_url

    def _tables_beside_index(self) -> OneTables | None:
        """The tables of a repository that has a ``.one_root``: optional, so that tables
        that cannot be read (a catch-all server's HTML page, a broken zip, a bomb) cost one
        warning, and the index is used without them."""
        try:
            return self.read_tables()
        except (DataFormatError, TooLargeError) as e:
            logger.warning('%s; using %s without ONE cache tables', e, INDEX_NAME)
            return None

    def read_tables(self, required: bool = False) -> OneTables | None:
        """The repository's ONE cache tables (cached like the index), None when it has none;
        ``required``: their absence is a NotFoundError. ``sources`` lists the URLs read."""
        where = self.tables_location
        if where.endswith('.zip'):
            sources = [(ONE_CACHE_ZIP, where)]
        else:
            base = where if where.endswith('/') else where.rsplit('/', 1)[0] + '/'
            sources = [(name, base + name) for name in (*ONE_TABLES, ONE_CACHE_ZIP)]
        files, read = {}, []
        try:
            for name, url in sources:
                if name == ONE_CACHE_ZIP and len(files) == len(ONE_TABLES):
                    break
                try:
                    files[name] = self._cached_get(url, what='ONE cache table')
                    read.append(url)
                except NotFoundError:
                    if name == ONE_TABLES[0] and not required and not self.settings['tables_url']:
                        return None  # a plain repository: one request tells
                except OfflineError:
                    if required:
                        raise
                    return None
        finally:
            if ONE_CACHE_ZIP not in files and len(files) < len(ONE_TABLES):  # not used
                for f in files.values():
                    f.close()
        if ONE_CACHE_ZIP not in files and len(files) < len(ONE_TABLES):
            if required:
                raise NotFoundError(
                    f'repository "{self.name}": no index at {mask_url(self.index_url)} and no '
                    f'ONE cache tables at {mask_url(where)} (is base_url right? publish with '
                    '"onelight upload" or "onelight index")'
                )
            return None
        return OneTables.from_files(
            files, f'ONE cache tables at {mask_url(where)}', self.index_limit, read
        )

    def _uuid_name_urls(self, paths: pd.Series, ids: pd.Series) -> pd.Series:
        """URLs of files stored with their dataset id before the extension
        (``spikes.times.<uuid>.npy``), as the IBL release stores them. An id that is not
        letters, digits and hyphens would take the URL out of its folder: no URL."""
        good = ids.str.fullmatch(r'[0-9A-Za-z-]{1,64}').fillna(False).to_numpy(bool)
        if not good.all():
            logger.warning(
                'repository "%s": %d dataset id(s) refused for file names, e.g. %s',
                self.name,
                int((~good).sum()),
                _printable(str(ids[~good].iloc[0])),
            )
            ids = ids.where(good, '')
        head, _, ext = (paths.str.rpartition('.')[i] for i in range(3))
        urls = pd.Series(
            _urls_of(self.base_url, (head + '.' + ids + '.' + ext).tolist()), paths.index
        )
        return urls.where(good, 'refused:')  # not http(s): the index skips that line

    def _cached_get(self, url: str, what: str = 'index', body_if_unchanged: bool = True):
        """GET a file through the cache, as a file open for reading (the caller closes it):
        revalidated with ETag / Last-Modified, once per reading of the index
        (``_validated``). A body is written to the cache as it arrives and read back through
        the same descriptor, never held whole in memory. With ``body_if_unchanged=False``
        an unchanged file is not even read from the cache: None."""
        meta, validated = self._read_cached_meta(url), getattr(self, '_validated', {})

        def cached():
            return self._cached_body(url, meta.get('md5')) if body_if_unchanged else None

        if self.offline:
            if not meta:
                raise OfflineError(
                    f'repository "{self.name}": its {what} is not cached yet; connect once '
                    'without --offline'
                )
            return cached()
        if url in validated:  # the server was asked already: the cache answers
            if not validated[url]:
                raise self._missing(what, url)
            body = cached()
            if body is not None or not body_if_unchanged:
                return body
        headers = {}
        if _header_safe(meta.get('etag')):  # read back from a cache file: checked
            headers['If-None-Match'] = meta['etag']
        if _header_safe(meta.get('last_modified')):
            headers['If-Modified-Since'] = meta['last_modified']
        resp, fetched = self._get_bounded(url, headers, what)
        if resp.status_code == 304 and meta:
            fetched.discard()
            validated[url] = True
            body = cached()
            if body is not None or not body_if_unchanged:
                return body
            resp, fetched = self._get_bounded(url, {}, what)  # the cached copy is corrupt
        if resp.status_code >= 400:
            fetched.discard()
            if resp.status_code == 404:
                validated[url] = False
                raise self._missing(what, url)
            self.engine.check(resp, f'{what} download')
        headers = resp.headers
        meta = {'etag': headers.get('etag'), 'last_modified': headers.get('last-modified')}
        body_path, _ = self._index_cache(url)
        body = fetched.keep_as(body_path)
        self._write_cached_index(url, None, {'url': mask_url(url), **meta, 'md5': fetched.md5})
        validated[url] = True
        return body

    def _get_bounded(self, url: str, headers: dict, what: str) -> tuple:
        """GET an index, table or listing, at most ``max_index_mb`` of it, inflated into a
        file in the cache as it arrives (a bomb is refused before it takes more than a
        chunk of memory): (the answer, the ``FetchedBody``)."""
        fetched = FetchedBody(private_folder(self.dirs.cache) / 'index')
        try:
            resp = self.engine.request(
                'GET', url, headers=headers, limit=self.index_limit, what=what, into=fetched
            )
        except BaseException as e:
            fetched.discard()
            if isinstance(e, TooLargeError):
                raise TooLargeError(
                    f'{e} (raise the max_index_mb setting if it is right)'
                ) from None
            raise
        return resp, fetched

    def _missing(self, what: str, url: str) -> NotFoundError:
        return NotFoundError(
            f'repository "{self.name}": no {what} at {mask_url(url)} (is base_url right? '
            'publish one with "onelight upload" or "onelight index")'
        )


class HttpRepository(WebRepository):
    """Files behind any web server, listed by ``base_url + '.one_root'``; ``upload`` sends
    files by WebDAV ``PUT`` (folders made with ``MKCOL``), then the index, last."""

    type = 'http'
    adhoc_key = 'base_url'
    settings_spec = (
        Setting('base_url', 'url', required=True, help='the web address of the repository root'),
        Setting('login', help='user name for HTTP basic auth (downloads, WebDAV uploads)'),
        Setting('password', secret=True, help='password for HTTP basic auth'),
    )

    @classmethod
    def check(cls, settings, origin):
        _move_userinfo(settings, 'base_url')
        super().check(settings, origin)
        if settings.get('password') and not settings.get('login'):
            raise ConfigError(f'{origin}: a password needs a login')

    @classmethod
    def adhoc_name(cls, settings):
        parts = urllib.parse.urlsplit(str(settings['base_url']))
        return '-'.join(str(p) for p in (parts.hostname, parts.port) if p) or 'http'

    @property
    def base_url(self) -> str:
        return self.settings['base_url']

    @property
    def index_base_url(self):
        return self.base_url

    def _engine_options(self) -> dict:
        s, auth = self.settings, None
        if s.get('login'):
            import base64

            basic = base64.b64encode(f'{s["login"]}:{s.get("password") or ""}'.encode())
            header = {'Authorization': f'Basic {basic.decode()}'}
            auth = lambda method, url: header  # noqa: E731 - the same for every request
        return {**super()._engine_options(), 'auth': auth, 'trusted': (self.base_url,)}

    def begin_upload(self) -> WebDavUpload:
        return WebDavUpload(self)


class WebDavUpload(UploadSession):
    """An upload by WebDAV: what the server holds is asked by HEAD (a web server tells
    nothing cheaper), for every file at once; each file is PUT, its missing folders made
    once (MKCOL)."""

    def __init__(self, repository):
        super().__init__(repository)
        self.lock, self.folders = threading.Lock(), set()  # folders known to exist

    def have(self, rels):
        r = self.repository

        def head(rel, progress, stop):
            resp = r.engine.request('HEAD', join_url(r.base_url, rel))
            if resp.status_code in (401, 403):
                r.engine.check(resp, 'upload')
            length = _number(resp.headers.get('content-length'))
            return (length, None) if resp.status_code == 200 and length is not None else None

        found = r.engine.run_parallel(head, rels, label='')
        return {rel: copy for rel, copy in zip(rels, found) if copy is not None}

    def send(self, item, progress, stop):
        rel, path, size = item
        url = join_url(self.repository.base_url, rel)
        resp = self.repository.engine.put_file(url, path, progress)
        if resp.status_code in (409, 404):  # missing parent folders (Apache, wsgidav)
            self._make_folders(rel)
            resp = self.repository.engine.put_file(url, path, progress)
        self._check_put(resp)
        return size

    def send_bytes(self, name, data):
        r = self.repository
        self._check_put(
            r.engine.request('PUT', join_url(r.base_url, name), data=data, redirect=False)
        )

    def _check_put(self, resp) -> None:
        r = self.repository
        if 300 <= resp.status_code < 400:  # whatever it points to, nothing was stored
            where = _printable(resp.headers.get('location') or 'nowhere')
            raise RepositoryError(
                f'repository "{r.name}": the server redirected the upload ({resp.status_code}) '
                f'to {where}: nothing was stored (is that the base_url to use?)'
            )
        if resp.status_code in (405, 501):
            raise RepositoryError(
                f'repository "{r.name}": the server refuses uploads ({resp.status_code}); '
                'copy the files there yourself and run "onelight index ROOT --base-url URL"'
            )
        r.engine.check(resp, 'upload')

    def _make_folders(self, rel: str) -> None:
        """MKCOL each missing parent folder of ``rel``, one thread at a time."""
        r, folders = self.repository, rel.split('/')[:-1]
        with self.lock:
            for prefix in ('/'.join(folders[:i]) + '/' for i in range(1, len(folders) + 1)):
                if prefix not in self.folders:
                    url = join_url(r.base_url, prefix)
                    resp = r.engine.request('MKCOL', url, redirect=False)
                    if resp.status_code not in (200, 201, 301, 405):  # 405: it exists already
                        r.engine.check(resp, 'MKCOL')
                        raise TransferError(f'MKCOL {mask_url(url)} answered {resp.status_code}')
                    self.folders.add(prefix)


class FtpRepository(HttpRepository):
    """Uploads by FTP (or FTPS) to ``remote_root``; downloads over HTTP from ``base_url``, the
    public web address of ``remote_root`` (as in the original ONE light)."""

    type = 'ftp'
    adhoc_key = None  # the http address it shares would make an http repository
    settings_spec = (
        Setting('host', required=True, help='the FTP server host name'),
        Setting('port', 'int', 21, 'the FTP port', low=1, high=65535),
        Setting('ftp_login', default='anonymous', help='FTP user name'),
        Setting('ftp_password', default='', secret=True, help='FTP password'),
        Setting('remote_root', default='/', help='the FTP folder that base_url shows'),
        Setting('tls', 'bool', False, 'use FTPS'),
    )

    @classmethod
    def check(cls, settings, origin):
        super().check(settings, origin)
        settings['remote_root'] = '/' + str(settings['remote_root']).strip('/')

    def begin_upload(self) -> FtpUpload:
        return FtpUpload(self)


class FtpUpload(UploadSession):
    """An upload by FTP(S): one connection for the whole upload (FTP servers limit them) that
    reconnects after a drop; what the server holds asked by SIZE; one file at a time."""

    def __init__(self, repository):
        super().__init__(repository)
        self.ftp, self.folders = None, set()
        s = self.settings = repository.settings
        self.name, self.root = f'repository "{repository.name}"', s['remote_root'].rstrip('/')

    def close(self) -> None:
        if self.ftp is not None:
            with contextlib.suppress(Exception):
                self.ftp.close()
        self.ftp = None
        self.folders.clear()

    def connect(self):
        import ftplib

        if self.ftp is None:
            s = self.settings
            ftp = ftplib.FTP_TLS() if s['tls'] else ftplib.FTP()
            try:
                ftp.connect(s['host'], s['port'], timeout=s['timeout'])
                ftp.login(s['ftp_login'] or 'anonymous', s.get('ftp_password') or '')
            except ftplib.error_perm as e:
                ftp.close()
                raise AuthError(
                    f'{self.name}: the FTP server refused the login ({_first_line(e)}); check '
                    'ftp_login and ftp_password'
                ) from None
            if s['tls']:
                ftp.prot_p()
            ftp.voidcmd('TYPE I')
            self.ftp = ftp
        return self.ftp

    def _retrying(self, action, what: str):
        """``action(ftp)`` on a live connection, reconnecting and retrying after drops; a
        permanent refusal (5xx) is not retried."""
        import ftplib

        def attempt(_):
            try:
                return action(self.connect())
            except ftplib.error_perm as e:
                raise RepositoryError(f'{self.name}: FTP {what}: {_first_line(e)}') from None

        errors = (ftplib.Error, OSError, EOFError)
        retry = self.repository.engine.retry()
        return retrying(
            attempt, retry, f'{self.name}: FTP {what}', errors, on_retry=lambda e: self.close()
        )

    def have(self, rels):
        import ftplib

        def size(ftp, rel):
            try:
                reply = ftp.sendcmd(f'SIZE {self.root}/{rel}')
            except ftplib.error_perm:
                return None  # not there
            size = _number(reply[4:]) if reply[:4] == '213 ' else None
            if size is None:
                raise RepositoryError(
                    f'{self.name}: FTP SIZE of {rel}: the server answered '
                    f'{_printable(reply)}, not a size'
                )
            return size

        sizes = {r: self._retrying(functools.partial(size, rel=r), f'SIZE of {r}') for r in rels}
        return {rel: (n, None) for rel, n in sizes.items() if n is not None}

    def _store(self, ftp, reader, rel: str, callback=None) -> None:
        import ftplib

        target = f'{self.root}/{rel}'
        parts = [p for p in target.split('/')[:-1] if p]
        for path in ('/' + '/'.join(parts[:i]) for i in range(1, len(parts) + 1)):
            if path not in self.folders:
                with contextlib.suppress(ftplib.error_perm):  # there (or the STOR says why)
                    ftp.mkd(path)
                self.folders.add(path)
        ftp.storbinary(
            f'STOR {target}{PARTIAL_SUFFIX}', reader, blocksize=CHUNK_SIZE, callback=callback
        )
        try:
            ftp.rename(target + PARTIAL_SUFFIX, target)
        except Exception:
            ftp.delete(target)
            ftp.rename(target + PARTIAL_SUFFIX, target)

    def send_all(self, items):
        progress = Progress(
            sum(s for _, _, s in items), 'uploading', enabled=self.repository.progress
        )
        sizes = []
        try:
            for rel, path, size in items:

                def send(ftp, rel=rel, path=path):
                    with open_source(path) as f:
                        self._store(ftp, f, rel, callback=lambda block: progress.add(len(block)))

                self._retrying(send, f'upload of {rel}')
                sizes.append(size)
                progress.refresh()
        finally:
            progress.close()
        return sizes

    def send_bytes(self, name, data):
        self._retrying(lambda ftp: self._store(ftp, io.BytesIO(data), name), f'upload of {name}')


S3_NAMESPACE = '{http://s3.amazonaws.com/doc/2006-03-01/}'
S3_MULTIPART_THRESHOLD = 8 << 20  # boto3's default: larger files go up in parallel parts


class S3Repository(WebRepository):
    """An S3 bucket (AWS, or any S3-compatible store: MinIO, Ceph, Wasabi, Swift's S3 API).

    Reading needs no SDK for a public bucket: ``prefix/.one_root`` (or ONE cache tables) when
    there is one, otherwise the bucket listing (ListObjectsV2, 1,000 keys a page), all through
    the transfer engine; a private bucket's requests are signed (SigV4, botocore). Uploads use
    boto3 (the ``s3`` extra): parallel multipart for large files, each file's md5 in its
    metadata, the index last; what is already there is told by one listing.
    """

    type = 's3'
    adhoc_key = 'bucket'
    settings_spec = (
        Setting('bucket', required=True, help='the bucket name'),
        Setting('prefix', default='', help='the folder inside the bucket'),
        Setting('endpoint_url', 'url', help='an S3-compatible store (default: AWS)'),
        Setting('region', default='us-east-1', help='the AWS region'),
        Setting('public', 'bool', False, 'read anonymously, without credentials'),
        Setting('profile', help='the AWS profile (~/.aws) whose credentials to use'),
        Setting('access_key', secret=True, help='AWS access key id (else the AWS chain)'),
        Setting('secret_key', secret=True, help='AWS secret access key'),
    )

    @classmethod
    def check(cls, settings, origin):
        super().check(settings, origin)
        settings['prefix'] = str(settings.get('prefix') or '').strip('/')
        if bool(settings.get('access_key')) != bool(settings.get('secret_key')):
            raise ConfigError(f'{origin}: access_key and secret_key go together')

    @classmethod
    def adhoc_name(cls, settings):
        return f's3-{settings["bucket"]}'

    @property
    def bucket_url(self) -> str:
        s = self.settings
        if s.get('endpoint_url'):  # S3-compatible stores: path-style addressing
            return f'{s["endpoint_url"]}{quote_path(s["bucket"])}/'
        return f'https://{s["bucket"]}.s3.{s["region"]}.amazonaws.com/'

    @property
    def base_url(self) -> str:
        prefix = self.settings['prefix']
        return self.bucket_url + (quote_path(prefix) + '/' if prefix else '')

    def _key(self, rel: str) -> str:
        return f'{self.settings["prefix"]}/{rel}' if self.settings['prefix'] else rel

    def _credentials(self):
        """botocore credentials (keys, profile or the AWS chain), None to read anonymously."""
        s = self.settings
        if s['public'] and not s.get('access_key'):
            return None
        try:
            import botocore.credentials
            import botocore.session
        except ImportError:
            if s.get('access_key') or s.get('profile'):
                raise MissingDependencyError(
                    f'repository "{self.name}": signed S3 requests need botocore: '
                    + _install_hint('boto3', 's3')
                ) from None
            return None  # anonymous reads need no SDK
        if s.get('access_key'):
            return botocore.credentials.Credentials(s['access_key'], s['secret_key'])
        credentials = botocore.session.Session(profile=s.get('profile')).get_credentials()
        return credentials.get_frozen_credentials() if credentials else None

    def _engine_options(self) -> dict:
        credentials = self._credentials()
        auth = functools.partial(self._signed, credentials) if credentials else None
        return {**super()._engine_options(), 'auth': auth, 'trusted': (self.bucket_url,)}

    def _signed(self, credentials, method: str, url: str) -> dict:
        """The headers of AWS Signature Version 4 (botocore's) for a request to the bucket;
        only reads are signed here (uploads go through boto3)."""
        from botocore.auth import S3SigV4Auth
        from botocore.awsrequest import AWSRequest

        request = AWSRequest(method=method, url=url, data=b'')
        S3SigV4Auth(credentials, 's3', self.settings['region']).add_auth(request)
        return dict(request.headers.items())

    # ------------------------------------------------------------------------------ reading
    def read_index(self) -> Index:
        """``prefix/.one_root`` or ONE cache tables when the bucket has them, otherwise its
        listing: a 4-column index of the objects inside session folders."""
        try:
            return super().read_index()
        except NotFoundError:
            pass
        except OfflineError:
            if not self.offline:
                raise
        key = f's3-listing:{self.base_url}'
        if self.offline:
            body = self._read_cached_index(key)[0]
            if body is None:
                raise OfflineError(
                    f'repository "{self.name}": its listing is not cached yet; connect once '
                    'without --offline'
                ) from None
        else:
            keys = sorted(self.list_objects().items())
            unsafe = [rel for rel, _ in keys if _CONTROL.search(rel)]  # a newline: two lines
            if unsafe:
                logger.warning(
                    'repository "%s": %d key(s) with control characters refused, e.g. %s',
                    self.name,
                    len(unsafe),
                    _printable(unsafe[0]),
                )
            keys = [
                (rel, size, md5)
                for rel, (size, md5) in keys
                if in_session_folder(rel) and not is_partial_name(rel) and not _CONTROL.search(rel)
            ]
            rels, sizes, md5s = (list(c) for c in zip(*keys)) if keys else ([], [], [])
            body = index_text(rels, None, sizes, md5s)
            self._write_cached_index(key, body, {'url': self.base_url})
        origin = f'listing of {self.base_url}'
        return Index.from_bytes(body, base_url=self.base_url, strict=self.strict, origin=origin)

    def list_objects(self) -> dict:
        """Every object under the prefix: ``{path relative to the prefix: (size, md5 or
        None)}``, page by page (never more than the 1,000 keys a page S3 returns). A
        single-part ETag is the md5; a multipart one (``-N``) is not."""
        prefix = self.settings['prefix'] + '/' if self.settings['prefix'] else ''
        path_style = bool(self.settings.get('endpoint_url'))
        url = self.bucket_url.rstrip('/') if path_style else self.bucket_url
        found, token, seen, where = {}, None, set(), f'the listing of {self.bucket_url}'
        most = self.index_limit // 64  # keys at most: a listing as large as an index may be
        while True:
            params = {'list-type': '2', 'max-keys': '1000', 'encoding-type': 'url'}
            params.update({'prefix': prefix} if prefix else {})
            params.update({'continuation-token': token} if token else {})
            query = urllib.parse.urlencode(params, quote_via=urllib.parse.quote)
            resp = self.engine.request('GET', f'{url}?{query}', what='bucket listing')
            if resp.status_code == 404:
                raise NotFoundError(
                    f'repository "{self.name}": bucket {self.settings["bucket"]} does not exist '
                    f'at {mask_url(self.bucket_url)}'
                )
            self.engine.check(resp, 'bucket listing')
            page = _parse_xml(resp.content, where, f'{S3_NAMESPACE}ListBucketResult')
            for item in page.iter(f'{S3_NAMESPACE}Contents'):
                key = item.findtext(f'{S3_NAMESPACE}Key')
                size = (item.findtext(f'{S3_NAMESPACE}Size') or '').strip()
                if key is None or _number(size) is None:
                    raise DataFormatError(
                        f'{where}: an entry without a Key or with a Size that is no number '
                        f'({_printable(str(key))}, {_printable(size)})'
                    )
                key, etag = urllib.parse.unquote(key), item.findtext(f'{S3_NAMESPACE}ETag')
                if key.startswith(prefix):
                    found[key[len(prefix) :]] = (int(size), _md5((etag or '').strip('"')))
            if len(found) > most:
                raise TooLargeError(
                    f'{where} holds more than {most} keys; refused (raise the max_index_mb '
                    'setting if it is right)'
                )
            token = page.findtext(f'{S3_NAMESPACE}NextContinuationToken')
            if page.findtext(f'{S3_NAMESPACE}IsTruncated') != 'true' or not token:
                return found
            if token in seen:
                raise RepositoryError(f'{where} repeats a continuation token: it would never end')
            seen.add(token)

    # ---------------------------------------------------------------------------- uploading
    def _client(self):
        boto3 = _require('boto3', 's3', f'uploading to S3 (repository "{self.name}")')
        from botocore.config import Config

        s = self.settings
        config = Config(
            region_name=s['region'],
            retries={'max_attempts': s['retries'] + 1, 'mode': 'standard'},
            connect_timeout=min(10.0, s['timeout']),
            read_timeout=s['timeout'],
            # some S3-compatible stores refuse the CRC32 checksums boto3 sends by default
            request_checksum_calculation='when_required',
            response_checksum_validation='when_required',
            s3={'addressing_style': 'path'} if s.get('endpoint_url') else {},
        )
        session = boto3.session.Session(
            aws_access_key_id=s.get('access_key'),
            aws_secret_access_key=s.get('secret_key'),
            profile_name=None if s.get('access_key') else s.get('profile'),
        )
        endpoint = s['endpoint_url'].rstrip('/') if s.get('endpoint_url') else None
        return session.client('s3', endpoint_url=endpoint, config=config)

    def begin_upload(self) -> S3Upload:
        return S3Upload(self)

    @contextlib.contextmanager
    def _s3_errors(self, what: str):
        """botocore's exceptions as onelight's, in one line."""
        import botocore.exceptions as bx

        who = f'repository "{self.name}"'
        try:
            yield
        except bx.ClientError as e:
            error = e.response.get('Error', {})
            code, message = str(error.get('Code', '')), error.get('Message') or str(e)
            if code in ('NoSuchBucket', '404'):
                raise NotFoundError(
                    f'{who}: bucket {self.settings["bucket"]} does not exist ({what})'
                ) from None
            if code in ('AccessDenied', 'InvalidAccessKeyId', 'SignatureDoesNotMatch', '403'):
                raise AuthError(
                    f'{who}: S3 refused the credentials ({code}: {message}) to {what}; check '
                    'access_key/secret_key or the AWS profile'
                ) from None
            raise TransferError(f'{who}: S3 answered {code}: {message} ({what})') from None
        except bx.NoCredentialsError:
            raise AuthError(
                f'{who}: no AWS credentials to {what}: set access_key and secret_key, a '
                'profile, or the AWS_* environment variables'
            ) from None
        except (bx.EndpointConnectionError, bx.ConnectionError) as e:
            raise TransferError(f'{who}: cannot reach S3 to {what}: {_reason(e)}') from None
        except OSError as e:  # the local file
            raise TransferError(f'{who}: cannot read {e.filename}: {e.strerror}') from None


class S3Upload(UploadSession):
    """An upload to a bucket through boto3: one listing tells what is there (size, and the
    md5 where the ETag is one: a multipart upload's is not)."""

    def __init__(self, repository):
        super().__init__(repository)
        self.client = repository._client()
        with repository._s3_errors('list'):
            self.objects = repository.list_objects()

    def have(self, rels):
        return {rel: self.objects[rel] for rel in rels if rel in self.objects}

    def send(self, item, progress, stop):
        from boto3.s3.transfer import TransferConfig

        (rel, path, size), r = item, self.repository
        parts = dict(
            multipart_threshold=S3_MULTIPART_THRESHOLD, multipart_chunksize=S3_MULTIPART_THRESHOLD
        )
        with r._s3_errors(f'upload {rel}'), open_source(path) as f:
            self.client.upload_fileobj(
                f,
                r.settings['bucket'],
                r._key(rel),
                ExtraArgs={'Metadata': {'md5': md5sum(path)}},
                Config=TransferConfig(max_concurrency=4, **parts),
                Callback=progress.add,
            )
        return size

    def send_bytes(self, name, data):
        r, md5 = self.repository, md5_of_bytes(data)
        if self.objects.get(name, (None, None))[1] != md5:  # else the same bytes are there
            with r._s3_errors(f'upload {name}'):
                meta = {'md5': md5}
                self.client.put_object(
                    Bucket=r.settings['bucket'], Key=r._key(name), Body=data, Metadata=meta
                )


def _parse_xml(data: bytes, what: str, root: str | None = None):
    """The XML document of a server's answer; a DTD (entities that expand) is refused, and
    so is a document whose root element is not ``root``."""
    import xml.etree.ElementTree as ET

    if re.search(rb'<!(DOCTYPE|ENTITY)', data, re.IGNORECASE):
        raise DataFormatError(f'{what} holds a DTD; refused')
    try:
        tree = ET.fromstring(data)
    except ET.ParseError as e:
        raise DataFormatError(f'{what} is not XML: {e}') from None
    if root is not None and tree.tag != root:
        raise DataFormatError(f'{what} is not an S3 listing (its root is {_printable(tree.tag)})')
    return tree


FIGSHARE_API_URL = 'https://api.figshare.com/v2'
# Where figshare.com serves private files (with the token): its documented download host
FIGSHARE_DOWNLOADS_URL = 'https://ndownloader.figshare.com/'
FIGSHARE_PAGE_SIZE = 1000
# In the index article, beside .one_root: the other articles a release spans (JSON)
FIGSHARE_ARTICLES_NAME = '.one_articles'
FIGSHARE_USAGE_MARKER = 'onelight-usage'
FIGSHARE_USAGE = """<div id="{marker}"><h3>Download this dataset with onelight (ONE light)</h3>
<p>This article holds ALF files named by their relative paths (<code>/</code> written as
<code>~</code>) and a <code>.one_root</code> index. To search and load it:</p>
<pre>pip install onelight
onelight add_repo NAME --type figshare --article-id {article_id}
onelight search
python -c "import onelight as one; print(one.search(['trials']))"</pre></div>"""


def parse_article_id(value) -> int:
    """A figshare article id from a number or an article URL.

    >>> parse_article_id('https://figshare.com/articles/dataset/Steinmetz_2019/9598406/2')
    9598406
    """
    text = str(value).strip()
    if text.isdigit():
        return int(text)
    digits = [p for p in urllib.parse.urlsplit(text).path.split('/') if p.isdigit()]
    if 'figshare' in text and digits:
        # /articles/<title>/<id>[/<version>]: the id is the first number when two follow
        return int(digits[-2] if len(digits) >= 2 and len(digits[-1]) < 4 else digits[-1])
    raise ConfigError(f'article_id must be a number or a figshare article URL, not {text!r}')


def flat_name(rel: str) -> str:
    """A path as a name where there are no folders (figshare files, Zenodo keys): ONE light
    writes ``/`` as ``~``."""
    return rel.replace('/', '~')


class FigshareRepository(RemoteRepository):
    """A figshare article, through the figshare REST API v2.

    Reading lists the article's files (paginated), takes its newest ``.one_root`` as the index
    and downloads files by their ``download_url``. Uploading creates one figshare file per ALF
    file (named by its path with ``~`` for ``/``), in parts, resuming incomplete uploads and
    skipping files already there, over as many articles (in a project) as the per-article cap
    needs, then publishes a new ``.one_root``.
    """

    type = 'figshare'
    adhoc_key = 'article_id'
    adhoc_also = ('collection_id',)
    settings_spec = (
        Setting('article_id', 'article', help='the index article: its number or URL'),
        Setting(
            'collection_id',
            'int',
            help='a published collection whose release to read (instead of article_id)',
            low=1,
            high=(1 << 63) - 1,
        ),
        Setting('token', secret=True, help='personal token (upload, private articles)'),
        Setting('private', 'bool', False, 'read the private draft', off_flag='public'),
        Setting('api_url', 'url', FIGSHARE_API_URL, 'the figshare API address'),
        Setting('downloads_url', 'url', help="the host of private files (figshare.com's own)"),
        Setting(
            'max_files_per_article',
            'int',
            500,
            'files onelight puts in one figshare article (figshare.com: 500; figshare+: 5000)',
            low=1,
            high=100_000,
        ),
    )

    @classmethod
    def check(cls, settings, origin):
        settings['api_url'] = settings['api_url'].rstrip('/')
        if settings['private'] and not settings.get('token'):
            raise ConfigError(f'{origin}: a private article needs a token')
        if settings.get('article_id') is None and settings.get('collection_id') is None:
            raise ConfigError(f'{origin} (figshare) needs article_id (or collection_id)')

    @classmethod
    def adhoc_name(cls, settings):
        if settings.get('article_id') is None:
            return f'figshare-collection-{settings["collection_id"]}'
        return f'figshare-{parse_article_id(settings["article_id"])}'

    @functools.cached_property
    def article_id(self) -> int:
        """The index article: configured, or the article of the configured (published)
        collection that holds a ``.one_root``."""
        if self.settings.get('article_id') is not None:
            return self.settings['article_id']
        collection = self.settings['collection_id']
        self._require_online(f'find the index article of figshare collection {collection}')
        for entry in self._pages(f'collections/{collection}/articles', f'collection {collection}'):
            article = _figshare_id(
                entry.get('id') if isinstance(entry, dict) else entry, 'article'
            )
            if any(f['name'] == INDEX_NAME for f in self.list_files(article=article)):
                return article
        raise NotFoundError(
            f'repository "{self.name}": no article of figshare collection {collection} holds '
            f'a {INDEX_NAME} (publish with "onelight upload ROOT", then "onelight clean_publish")'
        )

    @property
    def private(self) -> bool:
        return self.settings['private']

    def _engine_options(self) -> dict:
        """The token goes to the API and to the host figshare serves private files from,
        both fixed by the settings: a listing (whose links an editor writes) adds none."""
        s = self.settings
        header = {'Authorization': f'token {s.get("token")}'}
        official = s['api_url'] == FIGSHARE_API_URL
        downloads = s['downloads_url'] or (FIGSHARE_DOWNLOADS_URL if official else None)
        return {
            **super()._engine_options(),
            'auth': (lambda method, url: header) if s.get('token') else None,
            'trusted': tuple(filter(None, (s['api_url'] + '/', downloads))),
            # figshare's download host refuses automated clients now and then
            'transient_download_statuses': (403,),
        }

    # ---------------------------------------------------------------------------------- API
    def api(self, method: str, path: str, *, expect=(200,), **kwargs):
        """Call the API; return the decoded JSON (None for an empty body). Retries are
        the engine's (a POST only when it cannot have been acted upon)."""
        resp = self.engine.request(method, f'{self.settings["api_url"]}/{path}', **kwargs)
        if resp.status_code in expect:
            return resp.json() if resp.content else None
        raise self._api_error(resp, path)

    def _api_error(self, resp, path: str) -> OneLightError:
        try:
            body = resp.json()
            message, code = body.get('message') or resp.reason, str(body.get('code') or '')
        except (ValueError, AttributeError):
            message, code = resp.reason, ''
        status, who = resp.status_code, f'repository "{self.name}"'
        if re.search(r'quota|too large|size|limit|maximum|exceed', f'{code} {message}', re.I):
            return RepositoryError(
                f'{who}: figshare refused: {message} (a limit of the account: ask figshare for '
                'more, or use figshare+; for files per article, see max_files_per_article)'
            )
        if status in (401, 403) and not self.settings.get('token'):
            return AuthError(
                f'{who}: figshare needs a token for this ({status} {message}); '
                'set the "token" key (figshare.com/account/applications)'
            )
        if status in (401, 403):
            return AuthError(
                f'{who}: figshare refused the token ({status} {message}); check the "token" key'
            )
        if status == 404 and re.fullmatch(r'(account/)?articles/\d+(/files)?', path):
            return NotFoundError(
                f'{who}: figshare article {self.article_id} does not exist or '
                'is private (private articles need "token" and "private")'
            )
        return RepositoryError(f'{who}: figshare answered {status}: {message}')

    def _pages(self, path: str, what: str, check=None) -> list:
        """Every record of a paged listing (``page_size`` 1000, until a short page); a page
        sent twice (a listing that would never end) is a RepositoryError."""
        records, page, seen = [], 1, set()
        most = self.index_limit // 256  # records at most: a listing as large as an index
        while True:
            batch = self.api('GET', path, params={'page': page, 'page_size': FIGSHARE_PAGE_SIZE})
            if not isinstance(batch, list):
                raise RepositoryError(f'repository "{self.name}": figshare sent no list')
            digest = md5_of_bytes(json.dumps(batch, sort_keys=True, default=str).encode())
            if digest in seen:
                raise RepositoryError(
                    f'repository "{self.name}": figshare {what} sends page {page} again, as '
                    'an earlier one; refused (a listing that would never end)'
                )
            seen.add(digest)
            records += check(batch) if check else batch
            if len(batch) < FIGSHARE_PAGE_SIZE:
                return records
            if len(records) > most:
                raise TooLargeError(
                    f'repository "{self.name}": figshare {what} lists more than {most} '
                    'records; refused (raise the max_index_mb setting if it is right)'
                )
            page += 1

    def _files_path(self, private: bool, article: int | None = None) -> str:
        return f'{"account/" if private else ""}articles/{article or self.article_id}/files'

    def list_files(self, private: bool | None = None, article: int | None = None) -> list:
        """Every file of an article (the index article by default)."""
        private = self.private if private is None else private
        article = article or self.article_id
        where = f'figshare article {article}'
        check = functools.partial(_checked_file_records, where=where)
        return self._pages(self._files_path(private, article), f'article {article}', check)

    # ------------------------------------------------------------------------------ reading
    def read_index(self) -> Index:
        key = f'figshare:{self.settings["api_url"]}:{self.article_id}:{self.private}'
        body, listing = self._read_cached_index(key)[0], None
        if self.offline and body is None:
            raise OfflineError(
                f'repository "{self.name}": its index is not cached yet; '
                'connect once without --offline'
            )
        if not self.offline:
            listing = self.list_files()
            roots = [f for f in listing if f['name'] == INDEX_NAME]
            if not roots:
                raise NotFoundError(
                    f'repository "{self.name}": figshare article '
                    f'{self.article_id} has no {INDEX_NAME} yet (publish one '
                    'with "onelight upload ROOT")'
                )
            body = self._file_by_id(max(roots, key=lambda f: f['id']), key)
        origin = f'figshare article {self.article_id} {INDEX_NAME}'
        self.check_pin(body, origin)
        index = Index.from_bytes(body, strict=self.strict, origin=origin)
        if listing is not None:  # sizes and md5s where the index lines have none
            newest = _newest_available(listing + self._other_listings(listing))
            names = pd.Series(row_paths(index.df), dtype=object).str.replace('/', '~')
            sizes = names.map({n: f.get('size') for n, f in newest.items()})
            md5s = names.map({n: f.get('computed_md5') or None for n, f in newest.items()})
            df = index.df
            df['size'] = df['size'].fillna(pd.Series(pd.array(sizes, dtype='Int64'), df.index))
            df['md5'] = df['md5'].astype(object).where(df['md5'].notna(), md5s.astype(object))
        return index

    def _other_listings(self, index_listing: list) -> list:
        """The files of the other articles of a release (sizes and md5s for its index); a
        release whose other articles cannot be listed is read without them, with a warning."""
        if not any(f['name'] == FIGSHARE_ARTICLES_NAME for f in index_listing):
            return []
        try:
            articles = self._read_manifest(index_listing)['articles']
            return [f for article in articles for f in self.list_files(article=article)]
        except (NotFoundError, AuthError, DataFormatError) as e:
            logger.warning('%s; its files are checked by their index alone', e)
            return []

    def _file_by_id(self, entry: dict, key: str) -> bytes:
        """A small file of an article (its index, ``.one_articles``), cached by its figshare
        file id (an id names the same bytes for good: a cached copy needs no request),
        fetched through the transfer engine, verified by its md5, at most ``max_index_mb``."""
        body, meta = self._read_cached_index(key)
        if body is not None and meta.get('file_id') == entry['id']:
            return body
        if not isinstance(entry.get('size'), int) or entry['size'] > self.index_limit:
            raise TooLargeError(
                f'repository "{self.name}": the {INDEX_NAME} of figshare article '
                f'{self.article_id} is larger than {self.index_limit >> 20} MiB or has no size; '
                'refused (raise the max_index_mb setting if it is right)'
            )
        private_folder(self.dirs.cache)
        tmp = self.dirs.cache / f'.figshare-{self.article_id}-{entry["id"]}.one_root'
        md5 = entry.get('computed_md5') or None
        try:
            self.engine.download(
                [Download(entry['download_url'], tmp, entry['size'], md5)], force=True
            )
            body = read_cache_file(tmp)
        finally:
            tmp.unlink(missing_ok=True)
        self._write_cached_index(key, body, {'file_id': entry['id']})
        return body

    # ---------------------------------------------------------------------------- uploading
    def _require_token(self, what: str) -> None:
        if not self.settings.get('token'):
            raise ConfigError(
                f'repository "{self.name}": {what} needs a figshare token; set '
                'the "token" key (figshare.com/account/applications)'
            )

    def begin_upload(self) -> FigshareUpload:
        """Read where the release's files are: the index article and the articles its
        ``.one_articles`` names, with their listings (the state of this upload)."""
        self._require_token('upload')
        index_listing = self.list_files(private=True)
        manifest = self._read_manifest(index_listing)
        listings = {self.article_id: index_listing}
        for article in manifest['articles']:
            listings[article] = self.list_files(private=True, article=article)
        cap = self.settings['max_files_per_article']
        return FigshareUpload(self, listings, manifest['project'], manifest['collection'], cap)

    def _read_manifest(self, index_listing: list) -> dict:
        """The ``.one_articles`` of the index article: ``{"articles": [ids], "project": id,
        "collection": id}`` (the articles that hold the files besides the index article)."""
        entries = [
            f
            for f in index_listing
            if f['name'] == FIGSHARE_ARTICLES_NAME and _status(f) == 'available'
        ]
        if not entries:
            return {'articles': [], 'project': None, 'collection': None}
        key = f'figshare-articles:{self.settings["api_url"]}:{self.article_id}'
        try:
            data = parse_json(self._file_by_id(max(entries, key=lambda f: f['id']), key))
        except (ValueError, UnicodeDecodeError):
            data = None
        if not isinstance(data, dict) or not isinstance(data.get('articles'), list):
            raise DataFormatError(
                f'repository "{self.name}": {FIGSHARE_ARTICLES_NAME} of figshare article '
                f'{self.article_id} is not the list of articles onelight writes'
            )
        articles = [_figshare_id(a, 'article') for a in data['articles']]
        ids = {
            k: _figshare_id(data[k], k) if data.get(k) is not None else None
            for k in ('project', 'collection')
        }
        return {'articles': [a for a in articles if a != self.article_id], **ids}

    def _write_manifest(self, upload: FigshareUpload) -> None:
        data = {
            'articles': [a for a in upload.listings if a != upload.index],
            'project': upload.project,
            'collection': upload.collection,
        }
        self.replace_file(
            FIGSHARE_ARTICLES_NAME, json.dumps(data).encode(), self.list_files(private=True)
        )

    def _place_files(self, upload: FigshareUpload, items: list) -> None:
        """Before anything is sent: the account's quota and largest file (``GET /account``),
        then a place for every file: the article it is already in, else one with room (new
        articles, in a project, are made here, one at a time)."""
        account = self.api('GET', 'account')
        if not isinstance(account, dict):
            raise RepositoryError(f'repository "{self.name}": figshare sent no account record')

        def number(key):  # a count of bytes (an int; None as 0)
            value = account.get(key)
            return value if isinstance(value, int) and not isinstance(value, bool) else 0

        free, largest = number('quota') - number('used_quota'), number('maximum_file_size')
        too_big = [(rel, size) for rel, _, size in items if largest and size > largest]
        if too_big:
            rel, size = too_big[0]
            raise RepositoryError(
                f'repository "{self.name}": {rel} is {byte_size(size)}, more than the '
                f'{byte_size(largest)} figshare accepts in one file on this account'
            )
        total = sum(size for _, _, size in items)
        if account.get('quota') is not None and total > free:
            raise RepositoryError(
                f'repository "{self.name}": the upload needs {byte_size(total)} and the figshare '
                f'account has {byte_size(max(free, 0))} free; nothing was sent (ask figshare '
                'for more storage, or publish with figshare+ or an institutional account)'
            )
        for rel, _, _ in items:
            if upload.article_of(flat_name(rel)) is None:
                article = upload.article_with_room() or self._new_data_article(upload)
                upload.placed[flat_name(rel)] = article

    def _new_data_article(self, upload: FigshareUpload) -> int:
        """Make one more article for files, inside the release's project (made with the
        first), recorded in ``.one_articles`` at once. A create whose connection broke is
        looked for in the project (by its title) before it is sent again."""
        release = self._index_title()
        if upload.project is None:
            title = f'{release} (onelight release)'
            body = self.api('POST', 'account/projects', expect=(201,), json={'title': title})
            upload.project = _figshare_id(body.get('entity_id') or body.get('location'), 'project')
        title = f'{release} (files, part {len(upload.listings)})'
        path = f'account/projects/{upload.project}/articles'

        def attempt(number):
            if number:
                listed = self.api('GET', path, params={'page': 1, 'page_size': 1000})
                for entry in listed if isinstance(listed, list) else []:
                    if isinstance(entry, dict) and entry.get('title') == title:
                        return _figshare_id(entry.get('id'), 'article')
            body = self.api('POST', path, expect=(201,), json={'title': title})
            return _figshare_id(body.get('entity_id') or body.get('location'), 'article')

        what = f'repository "{self.name}": creating {title} on figshare'
        article = retrying(attempt, self.engine.retry(), what, (MaybeSentError,))
        upload.listings[article] = []
        self._write_manifest(upload)
        return article

    def _index_title(self) -> str:
        article = self.api('GET', f'account/articles/{self.article_id}')
        return str((article or {}).get('title') or f'article {self.article_id}')[:200]

    def _publish_release(
        self, upload: FigshareUpload, scan, *, checksums, one_cache, changed, placed
    ) -> str:
        """figshare's index names each file's own download URL: it is built from the
        articles' listings (read again when files were sent), then usage notes join the
        index article's description."""
        if changed:
            for article in list(upload.listings):
                upload.listings[article] = self.list_files(private=True, article=article)
        listing = upload.listings[upload.index]
        if one_cache:
            for name, data in index_files(scan, None, checksums, True).items():
                if name != INDEX_NAME:
                    self.replace_file(name, data, listing)
        cite = self.publish_listing_index(
            scan.files,
            checksums=checksums,
            available=upload.available(),
            listing=listing,
            placed=placed,
        )
        path = f'account/articles/{self.article_id}'  # then onelight's usage notes, once
        description = self.api('GET', path).get('description') or ''
        usage = FIGSHARE_USAGE.format(marker=FIGSHARE_USAGE_MARKER, article_id=self.article_id)
        if FIGSHARE_USAGE_MARKER in description:
            return cite
        if len(description) + len(usage) > 20000:
            logger.warning('the article description is too long to add the usage notes')
            return cite
        self.api('PUT', path, json={'description': description + usage}, expect=(200, 205))
        return cite

    def make_public(self, *, checksums: bool = False) -> dict:
        return self.clean_publish(checksums=checksums)

    def publish_listing_index(
        self, paths: list, *, checksums=False, available=None, listing=None, placed=None
    ) -> str:
        """Upload a ``.one_root`` naming ``paths`` (each file's download URL, from whichever
        article holds it; ``placed``: members of volumes, see ``index_bytes``), then delete
        the older ones (see ``replace_file``). Returns what cites it (``cite_of``)."""
        listing = self.list_files(private=True) if listing is None else listing
        available = _newest_available(listing) if available is None else available
        names = [
            urllib.parse.unquote(byte_range_of(placed[rel][0])[0]) if placed else rel
            for rel in paths
        ]
        entries = [available.get(flat_name(name)) for name in names]
        if None in entries:
            rel = paths[entries.index(None)]
            raise RepositoryError(
                f'repository "{self.name}": {rel} is not available on figshare; the index was '
                'not published'
            )
        urls = [e['download_url'] for e in entries]
        sizes, md5s = ([e[k] for e in entries] for k in ('size', 'computed_md5'))
        if placed:  # a member's URL: its volume's, and its byte range there
            urls = [u + '#' + placed[rel][0].split('#')[1] for u, rel in zip(urls, paths)]
            sizes, md5s = ([placed[rel][k] for rel in paths] for k in (1, 2))
        data = index_text(paths, urls, *((sizes, md5s) if checksums or placed else ()))
        self.replace_file(INDEX_NAME, data, listing)
        return cite_of(data)

    def replace_file(self, name: str, data: bytes, listing: list) -> bool:
        """Publish a small file (an index, a table) under ``name`` in the index article,
        then delete its older copies; nothing at all when the newest available copy has the
        same md5 (a rerun never touches the article: on a published one, a new file makes a
        new version). Returns whether a new copy was uploaded."""
        old = [f for f in listing if f['name'] == name]
        ready = [f for f in old if _status(f) == 'available']
        current = max(ready, key=lambda f: f['id']) if ready else None
        if current and current.get('computed_md5') == md5_of_bytes(data):
            for f in old:  # leftovers of an interrupted earlier publication
                if f is not current:
                    self._delete_file(f, self.article_id)
            return False
        import tempfile

        fd, tmp = tempfile.mkstemp(prefix='upload.', dir=private_folder(self.dirs.cache))
        try:
            with os.fdopen(fd, 'wb') as f:
                f.write(data)
            progress = Progress(0, '', enabled=False)
            self._upload_file(Path(tmp), name, [], progress, threading.Event(), self.article_id)
        finally:
            os.unlink(tmp)
        for f in old:
            self._delete_file(f, self.article_id)
        return True

    def _delete_file(self, record: dict, article: int) -> None:
        self.api('DELETE', f'{self._files_path(True, article)}/{record["id"]}', expect=(204, 404))

    def _upload_file(
        self, path: Path, name: str, existing: list, progress, stop, article: int
    ) -> int:
        """Upload one file into ``article`` (its ``existing`` records: an upload of the same
        bytes waiting for its parts is resumed, other unfinished ones deleted, older complete
        copies replaced once the new one is in); its size."""
        size, md5 = os.path.getsize(path), md5sum(path)
        resumable = None
        for f in existing:
            status = _status(f)
            if status == 'ic_failure':
                logger.warning(
                    '%s: figshare rejected an earlier upload (md5 check); uploading it again', name
                )
            if (
                status == 'created'
                and resumable is None
                and (f.get('supplied_md5'), f.get('size')) == (md5, size)
            ):
                resumable = f
            elif status != 'available':
                self._delete_file(f, article)
        if resumable:
            record = self._file_record(resumable['id'], article)
        else:
            record = self._create(name, size, md5, article)
        self._send_parts(record, path, progress, stop)
        self._complete(record, article)
        for f in existing:  # older complete copies are replaced by the new one
            if _status(f) == 'available':
                self._delete_file(f, article)
        return size

    def _create(self, name: str, size: int, md5: str, article: int) -> dict:
        """Create a file record. A POST whose connection broke may have created it: before
        sending it again, the article's listing is asked for a record of this name, size
        and md5 still waiting for its parts, which is then used (no duplicate file)."""

        def attempt(number):
            if number:
                for f in self.list_files(private=True, article=article):
                    same = (f.get('name'), f.get('size'), f.get('supplied_md5')) == (
                        name,
                        size,
                        md5,
                    )
                    if same and _status(f) == 'created':
                        return self._file_record(int(f['id']), article)
            body = self.api(
                'POST',
                self._files_path(True, article),
                expect=(201,),
                json={'name': name, 'size': size, 'md5': md5},
            )
            return self._file_record(_figshare_id(body.get('location'), 'file'), article)

        what = f'repository "{self.name}": creating {name} on figshare'
        return retrying(attempt, self.engine.retry(), what, (MaybeSentError,))

    def _file_record(self, file_id: int, article: int) -> dict:
        """GET a file record; a new one can answer 404 for a short while."""
        path = f'{self._files_path(True, article)}/{file_id}'
        url, last = f'{self.settings["api_url"]}/{path}', []

        def answered():
            last[:] = [self.engine.request('GET', url)]
            return None if last[0].status_code == 404 else last[0]

        try:
            resp = poll(answered, f'{path} is not there yet', limit=10.0)
        except TransferError:
            resp = last[0]
        if resp.status_code != 200:
            raise self._api_error(resp, path)
        record = resp.json()
        if not isinstance(record, dict):
            raise RepositoryError(f'repository "{self.name}": figshare sent no file record')
        return record

    def _send_parts(self, record: dict, path: Path, progress, stop) -> None:
        """PUT the parts the upload service does not have yet (several at once if big)."""
        from concurrent.futures import ThreadPoolExecutor

        upload_url = record.get('upload_url')
        if not isinstance(upload_url, str):
            raise RepositoryError(f'repository "{self.name}": figshare sent no upload address')
        resp = self.engine.request('GET', upload_url)
        self.engine.check(resp, 'upload session')
        where = f'repository "{self.name}": {mask_url(upload_url)}'
        pending = _pending_parts(resp, where, os.path.getsize(path))

        def send(part):
            if stop.is_set():
                raise _Stopped()
            number, start, end = part
            with open_source(path) as f:
                f.seek(start)
                data = f.read(end - start + 1)
            answer = self.engine.request(
                'PUT', f'{upload_url}/{number}', data=data, redirect=False
            )
            self.engine.check(answer, 'part upload')
            progress.add(len(data))

        with ThreadPoolExecutor(max_workers=max(1, min(4, len(pending)))) as pool:
            list(pool.map(send, pending))

    def _complete(self, record: dict, article: int) -> None:
        """Tell figshare the parts are in, then wait for its md5 check to pass."""
        self.api('POST', f'{self._files_path(True, article)}/{record["id"]}', expect=(201, 202))

        def checked():
            status = _status(self._file_record(record['id'], article))
            if status == 'ic_failure':
                raise IntegrityError(
                    f'repository "{self.name}": figshare found that '
                    f'{record["name"]} does not match its md5; it will be '
                    'uploaded again next time'
                )
            return True if status == 'available' else None

        poll(
            checked,
            f'repository "{self.name}": {record["name"]} is not yet available on figshare; '
            'run the upload again later',
            limit=max(60.0, self.settings['timeout']),
        )

    def _packed_rows(self, upload: FigshareUpload) -> dict:
        """The members of volumes the index article's index names, where its volumes are
        still there: ``{path: (volume#bytes=FIRST-LAST, size, md5)}`` (see ``index_bytes``)."""
        roots = [
            f
            for f in upload.listings[upload.index]
            if f['name'] == INDEX_NAME and _status(f) == 'available'
        ]
        if not roots:
            return {}
        key = f'figshare:{self.settings["api_url"]}:{self.article_id}:{True}'
        body = self._file_by_id(max(roots, key=lambda f: f['id']), key)
        rows = Index.from_bytes(body, origin=f'figshare article {self.article_id}').df
        names = {f.get('download_url'): name for name, f in upload.available().items()}
        out = {}
        for rel, url, size, md5 in zip(row_paths(rows), rows['url'], rows['size'], rows['md5']):
            volume, first, length = byte_range_of(url if isinstance(url, str) else '')
            if first is not None and volume in names and not pd.isna(size):
                cell = f'{quote_path(names[volume])}#bytes={first}-{first + length - 1}'
                out[rel] = (cell, int(size), md5)
        return out

    def clean_publish(self, *, checksums: bool = False) -> dict:
        """Remove duplicate and broken files, rebuild the index, publish every article of the
        release and, when it spans several, a collection holding them all (one DOI)."""
        self._require_online('publish')
        self._require_token('publishing')
        upload = self.begin_upload()
        removed, kept = 0, []
        for article, listing in upload.listings.items():
            groups = {}
            for f in sorted(listing, key=lambda f: f['id']):
                groups.setdefault(f['name'], []).append(f)
            for name, files in groups.items():
                if name in (INDEX_NAME, FIGSHARE_ARTICLES_NAME) and article == upload.index:
                    continue
                complete = [f for f in files if _status(f) == 'available']
                keep = complete[-1] if complete else None
                for f in files:
                    if f is not keep:
                        self._delete_file(f, article)
                        removed += 1
                rel = name.replace('~', '/')
                if keep is not None and in_session_folder(rel) and is_safe_relpath(rel):
                    kept.append(rel)
            upload.listings[article] = self.list_files(private=True, article=article)
        packed = self._packed_rows(upload)  # a packed release: rebuilt from its index
        cite = self.publish_listing_index(
            sorted(packed or kept),
            checksums=checksums,
            available=upload.available(),
            listing=upload.listings[upload.index],
            placed=packed or None,
        )
        for article in upload.listings:
            self.api('POST', f'account/articles/{article}/publish', expect=(201,))
        out = {'removed': removed, 'files': len(kept), 'article_id': self.article_id}
        out['cite'] = cite
        if len(upload.listings) > 1:
            articles = list(upload.listings)
            if upload.collection is None:
                title = self._index_title()
                body = self.api(
                    'POST',
                    'account/collections',
                    expect=(201,),
                    json={'title': title, 'articles': articles},
                )
                upload.collection = _figshare_id(
                    body.get('entity_id') or body.get('location'), 'collection'
                )
                self._write_manifest(upload)
                self.api('POST', f'account/articles/{self.article_id}/publish', expect=(201,))
            else:
                path = f'account/collections/{upload.collection}/articles'
                self.api('POST', path, expect=(200, 201), json={'articles': articles})
            self.api('POST', f'account/collections/{upload.collection}/publish', expect=(201,))
            out.update(collection_id=upload.collection, articles=articles)
        return out


class FigshareUpload(UploadSession):
    """One upload to a figshare release: every article's listing (the index article first),
    where each new file goes (``placed``), and how full each article is (at most ``cap``
    files)."""

    RESERVED = 4  # room kept in the index article: .one_root, .one_articles and two tables

    def __init__(self, repository, listings: dict, project, collection, cap: int):
        super().__init__(repository)
        self.index, self.listings = next(iter(listings)), listings  # article id -> records
        self.project, self.collection, self.cap = project, collection, cap
        self.placed = {}  # figshare name -> article, for new files

    def have(self, rels):
        """The articles' listings answer: size and figshare's computed md5 of every
        available file (no request per file)."""
        available, names = self.available(), {rel: flat_name(rel) for rel in rels}
        return {
            rel: (available[n].get('size'), available[n].get('computed_md5') or None)
            for rel, n in names.items()
            if n in available
        }

    def prepare(self, items):
        self.repository._place_files(self, items)

    def send(self, item, progress, stop):
        """Send one file into its article (the plan left out what is there already: an
        older copy is a changed file, replaced once the new one is in)."""
        rel, path, _ = item
        name = flat_name(rel)
        article = self.article_of(name)
        existing = sorted(
            (f for f in self.listings.get(article, []) if f['name'] == name), key=lambda f: f['id']
        )
        return self.repository._upload_file(path, name, existing, progress, stop, article)

    def publish(self, scan, *, checksums=False, one_cache=False, changed=True, placed=None):
        return self.repository._publish_release(
            self, scan, checksums=checksums, one_cache=one_cache, changed=changed, placed=placed
        )

    def available(self) -> dict:
        """``{name: record}`` of the newest available copy of every file."""
        return _newest_available(f for listing in self.listings.values() for f in listing)

    def article_of(self, name: str) -> int | None:
        """The article a file is in (or was placed in); None for a new file."""
        if name in self.placed:
            return self.placed[name]
        return next(
            (a for a, files in self.listings.items() if any(f['name'] == name for f in files)),
            None,
        )

    def article_with_room(self) -> int | None:
        def count(article):
            names = {f['name'] for f in self.listings[article]}
            names |= {n for n, a in self.placed.items() if a == article}
            return len(names) + (self.RESERVED if article == self.index else 0)

        return next((a for a in self.listings if count(a) < self.cap), None)


def _figshare_id(value, what: str) -> int:
    """The number at the end of a figshare ``location`` URL (or a number); RepositoryError
    when the API sent something else."""
    text = str(value or '').rstrip('/').rsplit('/', 1)[-1]
    if _number(text) is None:
        raise RepositoryError(f'figshare sent a {what} location that is no id: {_printable(text)}')
    return int(text)


def _status(entry: dict) -> str:
    """A listing entry's status; public entries (no status) are available."""
    return entry.get('status') or 'available'


def _newest_available(listing) -> dict:
    """``{name: record}`` of the newest available copy of each file of figshare listings."""
    return {
        f['name']: f for f in sorted(listing, key=lambda f: f['id']) if _status(f) == 'available'
    }


def _checked_file_records(batch, where: str) -> list:
    """A page of figshare's file listing, read as hostile: a list of records, each with an
    integer id and a name without control characters (others are left out, with a
    warning), a size that is a number or none, and a download URL that passes
    ``check_url`` or none."""
    out, refused = [], []
    for f in batch:
        if not isinstance(f, dict):
            raise DataFormatError(f'{where}: the file listing holds a record that is no object')
        ok = (
            isinstance(f.get('id'), int)
            and isinstance(f.get('name'), str)
            and not _CONTROL.search(f['name'])
            and (f.get('size') is None or _number(str(f['size'])) is not None)
            and (f.get('download_url') is None or not unsafe_url_reason(f['download_url']))
        )
        (out if ok else refused).append(f)
    if refused:
        logger.warning(
            '%s: %d file record(s) refused (no id, a name with control characters or a URL '
            'that is not plain), e.g. %s',
            where,
            len(refused),
            _printable(str(refused[0]), 160),
        )
    return out


def _pending_parts(resp, where: str, size: int) -> list:
    """``(number, start, end)`` of each part of a figshare upload the service does not have
    yet, from its answer (``{"parts": [{"partNo", "startOffset", "endOffset", "status"}]}``),
    checked against the file's ``size``."""
    try:
        answer = resp.json()
    except ValueError:
        answer = None
    parts = answer.get('parts') if isinstance(answer, dict) else None
    if not isinstance(parts, list):
        raise RepositoryError(f'{where}: the upload service sent no list of parts')
    pending = []
    for part in parts:
        fields = [
            part.get(k) if isinstance(part, dict) else None
            for k in ('partNo', 'startOffset', 'endOffset')
        ]
        if not all(isinstance(v, int) and not isinstance(v, bool) for v in fields):
            raise RepositoryError(f'{where}: the upload service sent a malformed part')
        number, start, end = fields
        if min(number, start, end + 1) < 0 or end < start - 1 or end >= size:
            raise RepositoryError(f'{where}: the upload service sent a malformed part')
        if part.get('status') != 'COMPLETE':
            pending.append((number, start, end))
    return pending


ZENODO_API_URL = 'https://zenodo.org/api/'
ZENODO_MAX_FILES = 100  # a record's files (a quota extension raises its bytes only)


def parse_record_id(value) -> int:
    """A Zenodo record id from a number, a record URL or a Zenodo DOI.

    >>> parse_record_id('https://zenodo.org/records/1234567'), parse_record_id('10.5281/zenodo.42')
    (1234567, 42)
    """
    text = str(value).strip()
    m = re.fullmatch(r'(?:.*?(?:/(?:records?|uploads|deposit)/|zenodo\.))?([0-9]{1,18})/?', text)
    if not m:
        raise ConfigError(f'record_id must be a number or a Zenodo record URL, not {text!r}')
    return int(m[1])


class ZenodoRepository(WebRepository):
    """A Zenodo record (InvenioRDM): read as any web repository, its files under flat keys
    (``/records/ID/files/KEY``), a release of more than 99 files packed in ZIP volumes.
    Uploads fill the record's draft, or a new version's, by the one upload flow;
    ``clean_publish`` publishes it. The token's owner reads a draft through the API."""

    type = 'zenodo'
    adhoc_key = 'record_id'
    settings_spec = (
        Setting('record_id', 'record', required=True, help='the record: its number or URL'),
        Setting('token', secret=True, help='personal access token (upload, publish)'),
        Setting('api_url', 'url', ZENODO_API_URL, 'the Zenodo API (or sandbox.zenodo.org/api)'),
        Setting(
            'record_gb', 'int', 50, 'GB a record holds (50; more with a quota extension)', 1, 1000
        ),
    )

    @classmethod
    def adhoc_name(cls, settings):
        return f'zenodo-{parse_record_id(settings["record_id"])}'

    @property
    def record_id(self) -> int:
        return self.settings['record_id']

    @functools.cached_property
    def reads_draft(self) -> bool:
        """Whether this reads an unpublished draft of the token's owner (asked once; a
        token refused reads the published record)."""
        with contextlib.suppress(AuthError):
            return self.is_draft()
        return False

    def is_draft(self) -> bool:
        """Whether the record is an unpublished draft of the token's owner."""
        if not self.settings.get('token') or self.offline:
            return False
        try:
            self.api('GET', f'records/{self.record_id}/draft')
        except NotFoundError:
            return False
        return True

    @property
    def base_url(self) -> str:
        if self.reads_draft:
            return f'{self.settings["api_url"]}records/{self.record_id}/draft/files/'
        site = self.settings['api_url'].removesuffix('api/')
        return f'{site}records/{self.record_id}/files/'

    @property
    def index_url(self) -> str:
        return self._content(super().index_url)

    def file_url(self, row) -> str:
        return self._content(super().file_url(row))

    def _content(self, url: str) -> str:
        """A draft's file URL is its API ``/content`` (a byte range kept after it)."""
        if not self.reads_draft or url is None:
            return url
        head, sep, fragment = url.partition('#')
        return f'{head}/content{sep}{fragment}'

    def _engine_options(self) -> dict:
        header = {'Authorization': f'Bearer {self.settings.get("token")}'}
        return {
            **super()._engine_options(),
            'auth': (lambda method, url: header) if self.settings.get('token') else None,
            'trusted': (self.settings['api_url'],),
        }

    def packs(self, items: list, pack: bool | None, besides: int = 1) -> bool:
        """Also when the release has more files than a record holds."""
        self.check_fits(besides, sum(size for _, _, size in items))  # (before volumes)
        too_many = len(items) + besides > ZENODO_MAX_FILES
        return super().packs(items, pack, besides) or (pack is None and too_many)

    def check_fits(self, n_files: int, total: int) -> None:
        """A RepositoryError, before anything is sent, unless a record holds the release."""
        most = self.settings['record_gb'] * 10**9
        if n_files > ZENODO_MAX_FILES or total > most:
            raise RepositoryError(
                f'repository "{self.name}": the release is {plural(n_files, "file")} '
                f'({byte_size(total)}) with its index (and tables); a Zenodo record holds at most '
                f'{ZENODO_MAX_FILES} files and {byte_size(most)} (larger volumes: the '
                'volume_mb setting; more room: a quota extension from Zenodo, then record_gb)'
            )

    def read_index(self) -> Index:
        try:
            index = super().read_index()
        except NotFoundError:
            raise NotFoundError(
                f'repository "{self.name}": no {INDEX_NAME} in Zenodo record {self.record_id} '
                '(a draft is read once published: "onelight upload ROOT", then "onelight '
                'clean_publish")'
            ) from None
        if not (self.offline or self.reads_draft or self.__dict__.get('told')):
            self.told, latest = True, self.latest_version(self.record_id)  # (once)
            if latest != self.record_id:
                logger.warning(
                    'repository "%s": Zenodo record %d has a newer version, %d (record_id %d '
                    'reads it)',
                    self.name,
                    self.record_id,
                    latest,
                    latest,
                )
        return index

    # ---------------------------------------------------------------------------------- API
    def api(self, method: str, path: str, *, expect=(200,), **kwargs):
        """Call the API; the decoded JSON (None for an empty body)."""
        resp = self.engine.request(method, self.settings['api_url'] + path, **kwargs)
        with contextlib.suppress(ValueError):
            if resp.status in expect:
                return resp.json() if resp.content else None
        if resp.status in expect:
            raise DataFormatError(f'repository "{self.name}": Zenodo sent no JSON')
        message = resp.reason
        with contextlib.suppress(ValueError, AttributeError):
            message = str(resp.json().get('message') or resp.reason)
        who = f'repository "{self.name}": Zenodo {method} {path} answered {resp.status}'
        if resp.status in (401, 403):
            hint = 'check the "token" key' if self.settings.get('token') else 'set the "token" key'
            raise AuthError(f'{who} ({_printable(message)}); {hint} (zenodo.org: Applications)')
        if resp.status == 404:
            raise NotFoundError(f'{who}: no such record, or not yours')
        raise RepositoryError(f'{who}: {_printable(message, 200)}')

    def list_files(self, path: str) -> dict:
        """``{key: {size, md5, status}}`` of a files listing (``records/ID/files`` or a
        draft's), read as hostile: a key without ``/`` or control characters (others are
        left out, with a warning), an integer size, an md5."""
        body = self.api('GET', path, limit=self.index_limit)
        entries = body.get('entries') if isinstance(body, dict) else None
        if not isinstance(entries, list):
            raise DataFormatError(f'repository "{self.name}": Zenodo sent no list of files')
        out = {}
        for e in entries:
            key = e.get('key') if isinstance(e, dict) else None
            if not isinstance(key, str) or _CONTROL.search(key) or '/' in key:
                logger.warning('%s: a file entry refused: %s', self.name, _printable(str(e)))
                continue
            size = e.get('size') if isinstance(e.get('size'), int) else None
            md5 = _md5(str(e.get('checksum') or '').removeprefix('md5:'))
            out[key] = {'size': size, 'md5': md5, 'status': e.get('status') or 'completed'}
        return out

    def latest_version(self, record: int) -> int:
        return _record_id(self.api('GET', f'records/{record}/versions/latest'))

    # ---------------------------------------------------------------------------- uploading
    def begin_upload(self) -> ZenodoUpload:
        if not self.settings.get('token'):
            raise ConfigError(f'repository "{self.name}": uploading to Zenodo needs a "token"')
        return ZenodoUpload(self)

    def draft(self) -> tuple:
        """(the draft that holds the release, its published version or None): the record
        when it is a draft, else the new version draft of its latest version (Zenodo
        answers with the one there is, or makes it), the files carried over."""
        if self.is_draft():
            return self.record_id, None
        latest = self.latest_version(self.record_id)
        draft = _record_id(self.api('POST', f'records/{latest}/versions', expect=(200, 201)))
        if not self.list_files(f'records/{draft}/draft/files'):
            self.api('POST', f'records/{draft}/draft/actions/files-import', expect=(200, 201))
        return draft, latest

    def delete_file(self, draft: int, key: str) -> None:
        self.api('DELETE', f'records/{draft}/draft/files/{quote_path(key)}', expect=(204, 404))

    def make_public(self, *, checksums: bool = False) -> dict:
        """Publish the draft (a new version of a published record): its unfinished files
        removed, a publication date set where a new version has none."""
        self._require_online('publish')
        self.begin_upload()  # (the token)
        draft, previous = self.draft()
        files = self.list_files(f'records/{draft}/draft/files')
        unfinished = [key for key, e in files.items() if e['status'] != 'completed']
        for key in unfinished:
            self.delete_file(draft, key)
        if INDEX_NAME not in files:
            raise NotFoundError(
                f'repository "{self.name}": Zenodo draft {draft} has no {INDEX_NAME}; '
                'nothing published (run "onelight upload ROOT" first)'
            )
        record = self.api('GET', f'records/{draft}/draft')
        metadata = record.get('metadata') if isinstance(record, dict) else None
        if isinstance(metadata, dict) and not metadata.get('publication_date'):
            metadata['publication_date'] = _dt.date.today().isoformat()
            self.api('PUT', f'records/{draft}/draft', json=record)
        path = f'{self.settings["api_url"]}records/{draft}/draft/files/{INDEX_NAME}/content'
        index = self.engine.request('GET', path, limit=self.index_limit)
        self.engine.check(index, 'index download')
        self.api('POST', f'records/{draft}/draft/actions/publish', expect=(200, 202))
        self.__dict__.pop('reads_draft', None)  # (read as published from now on)
        return dict(
            record_id=draft,
            previous=previous,
            files=len(files) - len(unfinished),
            removed=len(unfinished),
            cite=cite_of(index.content),
        )


class ZenodoUpload(UploadSession):
    """One upload to a Zenodo record: what the release holds now (the draft's files, or
    its latest version's until a draft is needed) and the draft, made at the first write,
    so that an unchanged release sends nothing."""

    def __init__(self, repository: ZenodoRepository):
        super().__init__(repository)
        self.lock, self.draft = threading.Lock(), None
        if repository.is_draft():
            self._use(repository.record_id)
        else:
            latest = repository.latest_version(repository.record_id)
            self.entries = repository.list_files(f'records/{latest}/files')

    def _use(self, draft: int) -> None:
        self.draft, self.entries = (
            draft,
            self.repository.list_files(f'records/{draft}/draft/files'),
        )

    def _writable(self) -> int:
        """The draft to write in, made (a new version) when first needed."""
        with self.lock:
            if self.draft is None:
                self._use(self.repository.draft()[0])
            return self.draft

    def have(self, rels):
        return {
            rel: (e['size'], e['md5'])
            for rel in rels
            if (e := self.entries.get(flat_name(rel))) and e['status'] == 'completed'
        }

    def check_release(self, items, besides):
        self.repository.check_fits(len(items) + besides, sum(size for _, _, size in items))

    def send(self, item, progress, stop):
        if stop.is_set():
            raise _Stopped()
        with open_source(item[1]) as f:
            return self._put(flat_name(item[0]), f, item[2], progress)

    def send_bytes(self, name, data):
        self._put(name, io.BytesIO(data), len(data), None)

    def _put(self, key: str, source, size: int, progress) -> int | None:
        """A file into the draft, unless it holds it already: an older entry of its key
        deleted, then started, sent and committed; Zenodo's md5 of it checked."""
        md5 = md5sum(source)
        source.seek(0)
        held = {'size': size, 'md5': md5, 'status': 'completed'}  # (as list_files has it)
        if self.entries.get(key) == held:
            return None  # an unchanged index
        repo, draft = self.repository, self._writable()
        if (entry := self.entries.get(key)) == held:
            return None  # the draft's (now that there is one): an interrupted upload sent it
        files = f'records/{draft}/draft/files'
        if entry:
            repo.delete_file(draft, key)

        def start(attempt):  # a POST that broke may have made the entry: looked for first
            if not attempt or key not in repo.list_files(files):
                repo.api('POST', files, expect=(200, 201), json=[{'key': key}])

        retrying(start, repo.engine.retry(), f'creating {key} on Zenodo', (MaybeSentError,))
        body = _CountingReader(source, progress) if progress else source
        headers = {'Content-Type': 'application/octet-stream', 'Content-Length': str(size)}
        repo.api('PUT', f'{files}/{quote_path(key)}/content', data=body, headers=headers)
        answer = repo.api('POST', f'{files}/{quote_path(key)}/commit', expect=(200, 201))
        got = _md5(str((answer or {}).get('checksum') or '').removeprefix('md5:'))
        if got != md5:
            raise IntegrityError(
                f'repository "{repo.name}": Zenodo holds {key} with md5 {got}, not {md5}; '
                'it will be sent again next time'
            )
        self.entries[key] = held
        return size

    def publish(self, scan, *, checksums=False, one_cache=False, changed=True, placed=None):
        """The index names each file by its key (or its volume's byte range), with size
        and md5; files of an earlier release that this one no longer has are removed."""
        if placed is None:  # loose: by their keys
            entries = {rel: (flat_name(rel), self.entries[flat_name(rel)]) for rel in scan.files}
            placed = {r: (quote_path(k), e['size'], e['md5']) for r, (k, e) in entries.items()}
        files = index_files(scan, None, True, one_cache, placed)
        wanted = {urllib.parse.unquote(cell.split('#')[0]) for cell, _, _ in placed.values()}
        for key in [k for k in self.entries if k not in wanted | set(files)]:
            self.repository.delete_file(self._writable(), key)
            del self.entries[key]
        for name, data in files.items():
            self.send_bytes(name, data)
        if self.draft is not None:
            logger.warning(
                'repository "%s": the release is in Zenodo draft %d; publish it with '
                '"onelight clean_publish"',
                self.repository.name,
                self.draft,
            )
        return cite_of(data)


def _record_id(body) -> int:
    """The id of a record Zenodo sent (a number or digits); RepositoryError otherwise."""
    value = body.get('id') if isinstance(body, dict) else None
    if _number(str(value)) is None:
        raise RepositoryError(f'Zenodo sent a record without an id: {_printable(str(body))}')
    return int(value)


def _move_userinfo(settings: dict, key: str) -> None:
    """``http://user:pw@host/`` in a URL setting: the user and password move to ``login``
    and ``password`` (unless set), and the URL loses them, so that no URL onelight prints,
    caches or sends holds a password."""
    url = settings.get(key)
    parts = urllib.parse.urlsplit(url or '')
    if not url or '@' not in parts.netloc:
        return
    user, _, password = parts.netloc.rpartition('@')[0].partition(':')
    settings['login'] = settings.get('login') or urllib.parse.unquote(user)
    if not settings.get('password') and password:
        settings['password'] = urllib.parse.unquote(password)
    settings[key] = urllib.parse.urlunsplit(parts._replace(netloc=parts.netloc.rpartition('@')[2]))


def make_repository(
    settings: dict,
    *,
    config: dict | None = None,
    strict: bool = False,
    offline: bool = False,
    dirs: Dirs | None = None,
    progress: bool | None = None,
) -> Repository:
    """Build the backend for one repository entry of the configuration (``progress``:
    None shows progress where a person watches)."""
    config, rtype = config or default_config(), settings.get('type')
    if rtype not in REPOSITORY_TYPES:
        raise ConfigError(
            f'unknown repository type {rtype!r} (known: {", ".join(sorted(REPOSITORY_TYPES))})'
        )
    return REPOSITORY_TYPES[rtype](
        settings.get('name') or rtype,
        settings,
        dirs=dirs,
        download_dir=config['download_dir'],
        strict=strict,
        offline=offline,
        progress=progress,
    )


# =============================================================================================
# Serving a folder over HTTP
# =============================================================================================
# ``onelight serve ROOT`` publishes a folder as an ``http`` repository: the files a scan finds,
# with Range support, and a 1-column ``.one_root`` (so it works behind any host name).
# Read-only; anything not in the index is a 404.


def parse_range(header: str, size: int) -> tuple | None:
    """The inclusive byte range of a single-range ``Range`` header, or None if unsatisfiable.

    >>> parse_range('bytes=10-', 100), parse_range('bytes=-10', 100), parse_range('bytes=200-', 9)
    ((10, 99), (90, 99), None)
    """
    m = re.fullmatch(r'\s*bytes=(\d*)-(\d*)\s*', header or '')
    if not m or not (m.group(1) or m.group(2)):
        return None
    if m.group(1):
        start = int(m.group(1))
        end = min(int(m.group(2)), size - 1) if m.group(2) else size - 1
    else:
        start, end = max(size - int(m.group(2)), 0), size - 1
    return (start, end) if start <= end else None


@functools.cache
def _serving() -> tuple:
    """``(RangeRequestHandler, AlfServer)``, made on first use: http.server is imported only
    by what serves (it costs a command that reads no data a fifth of its start-up)."""
    import email.utils
    import http.server
    import socket

    class RangeRequestHandler(http.server.BaseHTTPRequestHandler):
        """GET and HEAD of the files the server publishes, with single byte ranges."""

        protocol_version = 'HTTP/1.1'
        server_version = f'onelight/{__version__}'
        timeout = 60  # seconds a socket may block (a reader that stopped reading is let go)
        # headers and body go out in two writes: without this, Nagle's algorithm and delayed ACKs
        # hold every kept-alive response for 40 ms
        disable_nagle_algorithm = True

        def log_message(self, fmt, *args):
            logger.debug('serve: ' + fmt, *args)

        def do_GET(self):
            self.serve(head=False)

        def do_HEAD(self):
            self.serve(head=True)

        def requested_path(self) -> str:
            return urllib.parse.unquote(urllib.parse.urlsplit(self.path).path).lstrip('/')

        def serve(self, head: bool) -> None:
            rel = self.requested_path()
            if rel == INDEX_NAME:
                self.send_index(head)
                return
            self.send_file(rel, head)

        def handle_one_request(self):
            self.server.expect(self.connection)  # the request line and headers, in time
            super().handle_one_request()

        def parse_request(self):
            parsed = super().parse_request()
            self.server.expect(self.connection, done=True)
            return parsed

        def send_index(self, head: bool) -> None:
            agent = self.headers.get('User-Agent') or ''
            body = self.server.index_for(self.headers.get('Host'), agent.startswith('onelight/'))
            etag = '"' + md5_of_bytes(body) + '"'
            if self.headers.get('If-None-Match') == etag:
                self.send_response(304)
                self.send_header('ETag', etag)
                self.send_header('Content-Length', '0')
                self.end_headers()
                return
            self.send_response(200)
            self.send_header('Content-Type', 'text/tab-separated-values; charset=utf-8')
            self.send_header('Content-Length', str(len(body)))
            self.send_header('ETag', etag)
            self.end_headers()
            if not head:
                self.wfile.write(body)

        def send_file(self, rel: str, head: bool) -> None:
            f = self.server.open_file(rel)
            if f is None:
                self.send_error(404)
                return
            with f:
                stat = os.fstat(f.fileno())
                size = stat.st_size
                etag = f'"{stat.st_mtime_ns:x}-{size:x}"'
                modified = email.utils.formatdate(stat.st_mtime, usegmt=True)
                start, end, status = 0, size - 1, 200
                if_range = self.headers.get('If-Range')
                if self.headers.get('Range') and size and if_range in (None, etag, modified):
                    span = parse_range(self.headers['Range'], size)
                    if span is None:
                        self.send_response(416)
                        self.send_header('Content-Range', f'bytes */{size}')
                        self.send_header('Content-Length', '0')
                        self.end_headers()
                        return
                    (start, end), status = span, 206
                length = max(end - start + 1, 0)
                self.send_response(status)
                self.send_header('Content-Type', 'application/octet-stream')
                self.send_header('Content-Length', str(length))
                self.send_header('Accept-Ranges', 'bytes')
                self.send_header('ETag', etag)
                self.send_header('Last-Modified', modified)
                if status == 206:
                    self.send_header('Content-Range', f'bytes {start}-{end}/{size}')
                self.end_headers()
                if not head and length:
                    self.send_body(f, start, length)

        def send_body(self, f, start: int, length: int) -> None:
            self.connection.sendfile(f, start, length)

    class AlfServer(http.server.ThreadingHTTPServer):
        """A read-only HTTP server for the ALF files under ``root``.

        >>> server = AlfServer('/data/alf', port=0).start()   # doctest: +SKIP
        >>> One(base_url=server.url).search()                 # doctest: +SKIP
        """

        daemon_threads = True
        block_on_close = False
        request_queue_size = 64
        # connections at once, in all and from one address (a client of onelight's opens up
        # to 72: 64 jobs and 8 ranges); more are closed at once
        max_connections, max_per_client = 256, 80
        header_seconds = 10.0  # for a request line and its headers, or between requests

        def __init__(self, root, bind: str = '127.0.0.1', port: int = 0, handler=None):
            result = scan(root)
            self.files = {rel: safe_join(result.root, rel) for rel in result.files}
            self.real_root = real = os.path.realpath(result.root)
            self.scanned = {  # what each name is now: served as it is
                rel: ScannedFile.of(path, real, info)
                for (rel, path), info in zip(self.files.items(), result.stats)
            }
            self.guard, self.clients, self.deadlines = threading.Lock(), {}, {}
            self.closed = threading.Event()
            own = result.root / INDEX_NAME
            if own.is_file() and not own.is_symlink():  # the folder's own index, as published
                self.index_data = self.plain_index = own.read_bytes()
            else:  # sizes for onelight's readers; the original client asserts two columns
                self.index_data = index_text(result.files, sizes=result.sizes)
                self.plain_index = None
            self.result = result
            self.root = result.root
            if ':' in bind:
                self.address_family = socket.AF_INET6
            super().__init__((bind, port), handler or RangeRequestHandler)

        def open_file(self, rel: str):
            """The file scanned at ``rel`` (a file object), opened without following a link
            and checked to be that very file, unchanged: None when it is gone, was changed, or
            was swapped for a link or another file since the server started."""
            path = self.files.get(rel)
            if path is None:
                return None
            try:
                scanned = self.scanned.get(rel) or self.scanned.setdefault(
                    rel,  # a file the code running the server added: read in its own folder
                    ScannedFile.of(path, os.path.realpath(Path(path).parent)),
                )
                return scanned.open(unchanged=False)  # a file rewritten: its new bytes
            except (OSError, TransferError):
                return None

        def process_request(self, request, client_address):
            """A thread for the connection, unless too many are open (from that address, or
            in all): then it is closed at once."""
            client = client_address[0]
            with self.guard:
                admitted = sum(self.clients.values()) < self.max_connections
                admitted = admitted and self.clients.get(client, 0) < self.max_per_client
                if admitted:
                    self.clients[client] = self.clients.get(client, 0) + 1
            if admitted:
                super().process_request(request, client_address)
            else:
                self.shutdown_request(request)

        def process_request_thread(self, request, client_address):
            try:
                super().process_request_thread(request, client_address)
            finally:
                with self.guard:
                    self.clients[client_address[0]] -= 1
                    self.deadlines.pop(request, None)

        def expect(self, connection, done: bool = False) -> None:
            """A request (line and headers) is awaited on ``connection`` for at most
            ``header_seconds``; ``done``: it came."""
            with self.guard:
                if done:
                    self.deadlines.pop(connection, None)
                else:
                    self.deadlines[connection] = time.monotonic() + self.header_seconds

        def _close_late(self) -> None:
            """Shut the connections whose request did not come in time (a slow or idle
            client holds a thread, and the others would wait for it)."""
            while not self.closed.wait(min(0.25, self.header_seconds / 4)):
                now = time.monotonic()
                with self.guard:
                    late = [c for c, deadline in self.deadlines.items() if deadline < now]
                    for connection in late:
                        del self.deadlines[connection]
                for connection in late:
                    with contextlib.suppress(OSError):
                        connection.shutdown(socket.SHUT_RDWR)

        def server_activate(self):
            super().server_activate()
            threading.Thread(target=self._close_late, daemon=True, name='onelight-late').start()

        def server_close(self):
            self.closed.set()
            super().server_close()

        def index_for(self, host: str | None, onelight_reader: bool) -> bytes:
            """The index a reader gets: the folder's own, else sizes for onelight and two
            columns (path, URL on the host the reader asked for) for the original client."""
            if onelight_reader or self.plain_index is not None or self.index_data is None:
                return self.index_data
            base = self.url
            if host and re.fullmatch(
                r'[A-Za-z0-9.-]+(:[0-9]{1,5})?|\[[0-9A-Fa-f:.]+\](:[0-9]{1,5})?', host
            ):
                base = f'http://{host}/'
            return index_bytes(self.result, base_url=base)

        @property
        def url(self) -> str:
            host, port = self.server_address[:2]
            host = f'[{host}]' if ':' in host else host
            return f'http://{host}:{port}/'

        def handle_error(self, request, client_address):
            """One line in the log instead of a traceback on stderr (clients do hang up)."""
            error = sys.exc_info()[1]
            if isinstance(error, (ConnectionError, TimeoutError)):
                logger.debug('serve: %s went away: %s', client_address[0], error)
            else:
                logger.warning('serve: error answering %s: %s', client_address[0], error)

        def start(self):
            """Serve from a daemon thread; return self."""
            threading.Thread(target=self.serve_forever, daemon=True, name='onelight-serve').start()
            return self

        def stop(self) -> None:
            self.shutdown()
            self.server_close()

        def __enter__(self):
            return self.start()

        def __exit__(self, *exc):
            self.stop()

    for made in (RangeRequestHandler, AlfServer):
        made.__qualname__ = made.__name__  # as if defined at the top of the module
    return RangeRequestHandler, AlfServer


def __getattr__(name: str):
    """``onelight.AlfServer`` and ``onelight.RangeRequestHandler``, made on first use."""
    if name in ('RangeRequestHandler', 'AlfServer'):
        handler, server = _serving()
        return handler if name == 'RangeRequestHandler' else server
    raise AttributeError(f'module {__name__!r} has no attribute {name!r}')


# =============================================================================================
# The One client
# =============================================================================================
# ONE-api's names, signatures and semantics wherever onelight has no reason to differ (the
# docs/api.md's "Coming from ONE" lists where it does). Sessions are named by their path, which
# search returns; every method also takes an eid, an experiment reference or a file's path.

SEARCH_KEYWORDS = {
    # canonical term (ONE's, in ONE's order, then onelight's): every spelling accepted
    'datasets': ('datasets', 'dataset', 'dataset_types', 'dataset_type'),
    'date_range': ('date_range', 'date'),
    'laboratory': ('laboratory', 'lab'),
    'number': ('number',),
    'projects': ('projects', 'project'),
    'subject': ('subject',),
    'task_protocol': ('task_protocol',),
    'dataset_qc_lte': ('dataset_qc_lte',),
    'collection': ('collection',),
}
# Terms answered only by a repository that publishes ONE cache tables (their metadata).
SESSION_META_TERMS = ('projects', 'task_protocol')
MODES = ('auto', 'local', 'remote')
ALF_FILTERS = ('namespace', 'attribute', 'timescale', 'extra', 'extension')


def resolve_search_keyword(key: str, terms=()) -> str:
    """Map a keyword, an alias or an unambiguous prefix of one (any case) to its term; an
    unknown one is a SearchError naming the nearest keyword and ``terms`` (what the
    repository answers, or a function giving them; all terms when empty).

    >>> resolve_search_keyword('subj'), resolve_search_keyword('lab')
    ('subject', 'laboratory')
    """
    low = key.lower()
    for canonical, spellings in SEARCH_KEYWORDS.items():
        if low in spellings:
            return canonical
    found = {
        c for c, spellings in SEARCH_KEYWORDS.items() if any(s.startswith(low) for s in spellings)
    }
    if len(found) == 1:
        return found.pop()
    if found:
        what, hint = 'ambiguous', f' ({" or ".join(sorted(found))}?)'
    else:
        near = nearest_word(low, [s for names in SEARCH_KEYWORDS.values() for s in names])
        what, hint = 'unknown', f'; did you mean {near!r}?' if near else ''
    terms = terms() if callable(terms) else terms  # asked only now: what the repository answers
    raise SearchError(
        f'{what} search keyword {key!r}{hint}; search terms: {", ".join(terms or SEARCH_KEYWORDS)}'
    )


def _as_date(value, what: str) -> str | None:
    if value is None or value == '':
        return None
    if isinstance(value, _dt.datetime):
        return value.date().isoformat()
    if isinstance(value, _dt.date):
        return value.isoformat()
    text = str(value)
    try:
        return _dt.date.fromisoformat(text[:10]).isoformat()
    except ValueError:
        raise SearchError(f'{what} {text!r} is not a date (yyyy-mm-dd)') from None


def parse_date_range(value) -> tuple:
    """Normalise a date range to inclusive ISO bounds, either of which may be None (open).

    As in ONE: one date is that day, a one-item list is from that day on, a pair is
    inclusive with None for an open end.

    >>> parse_date_range('2020-01-01'), parse_date_range(['2020-01-01'])
    (('2020-01-01', '2020-01-01'), ('2020-01-01', None))
    """
    if isinstance(value, (str, _dt.date)):
        day = _as_date(value, 'date')
        return day, day
    values = list(value)
    if len(values) == 1:
        return _as_date(values[0], 'start date'), None
    if len(values) != 2:
        raise SearchError('date_range takes one date, [start] or [start, end]')
    start, end = _as_date(values[0], 'start date'), _as_date(values[1], 'end date')
    if start and end and end < start:
        raise SearchError(f'date_range ends ({end}) before it starts ({start}): swap them')
    return start, end


def _pattern(text: str, wildcards: bool) -> re.Pattern:
    """A filter pattern: a glob (``*``) with wildcards, as in ONE; otherwise a regex."""
    return wildcard_regex(text) if wildcards else re.compile(text)


def _glob_mask(values, patterns, wildcards: bool = True) -> np.ndarray:
    """Which values (None counts as '') fully match one of the patterns; each distinct value
    is tested once."""
    regexes = [_pattern(str(p), wildcards) for p in _as_list(patterns)]
    return _per_distinct(values, lambda v: any(r.fullmatch(v) for r in regexes))


def collection_mask(values, collection, wildcards: bool = True) -> np.ndarray:
    """The one collection filter of search, list, load and download: globs (regexes without
    ``wildcards``) matching the whole collection, ``''`` the session folder, and a trailing
    ``/`` ignored (``'alf/'`` is ``'alf'``)."""
    patterns = [str(c).rstrip('/') if str(c) != '/' else '' for c in _as_list(collection)]
    return _glob_mask(values, patterns, wildcards)


def _per_distinct(values, test) -> np.ndarray:
    """``test`` of every value (None as ''), run once per distinct value."""
    if not isinstance(values, pd.Series) and len(values) < 256:  # small: plain Python
        verdict = {}
        out = np.empty(len(values), dtype=bool)
        for i, v in enumerate(values):
            v = '' if v is None or v is pd.NA or v != v else str(v)
            found = verdict.get(v)
            if found is None:
                found = verdict[v] = bool(test(v))
            out[i] = found
        return out
    values = pd.Series(values)
    if isinstance(values.dtype, pd.CategoricalDtype):
        codes, distinct = values.cat.codes.to_numpy(), list(values.cat.categories)
    else:
        codes, distinct = pd.factorize(values.fillna(''))
        distinct = list(distinct)
    verdict = np.array([bool(test(str(v))) for v in distinct] + [bool(test(''))], dtype=bool)
    return verdict[codes]  # code -1 (a missing category) takes the verdict of ''


def text_mask(values, patterns, wildcards: bool = True) -> np.ndarray:
    """ONE's rule for lab, subject, projects and task_protocol: a partial, case-sensitive
    match (``'Cor'`` finds ``Cori``), a regular expression with wildcards; onelight's ``*``
    globs (``'IBL-*'``) match too. Patterns in a list are alternatives.

    >>> text_mask(['Cori', 'cori', 'Theiler'], ['Cor', 'Th*r']).tolist()
    [True, False, True]
    """
    tests = []
    for text in map(str, _as_list(patterns)):
        if wildcards:
            regex, glob = _regex_or_none(text), wildcard_regex(text)
            tests.append(lambda v, r=regex, g=glob: bool((r and r.search(v)) or g.fullmatch(v)))
        else:
            tests.append(lambda v, t=text: t in v)
    return _per_distinct(values, lambda v: any(t(v) for t in tests))


def _number_mask(numbers: pd.Series, wanted) -> np.ndarray:
    """Sessions whose number is one of ``wanted`` (ints, digits, or globs such as ``'00*'``);
    SearchError for what no session number can be."""
    mask = np.zeros(len(numbers), dtype=bool)
    for value in _as_list(wanted):
        text = str(value).strip()
        if isinstance(value, bool) or not (
            (text.isdigit() and int(text) <= 999)
            or (re.fullmatch(r'[0-9*?\[\]-]+', text) and re.search(r'[*?\[]', text))
        ):
            raise SearchError(
                f'session number {value!r} is not one: give 0 to 999 (or a glob like 00*)'
            )
        if text.isdigit():
            mask |= numbers.astype(int).to_numpy() == int(text)
        else:
            mask |= numbers.str.fullmatch(wildcard_regex(text).pattern).to_numpy(dtype=bool)
    return mask


def _qc_level(value) -> int:
    """The rank of a QC level given as a name (any case), ONE's number or its QC enum."""
    try:
        number = int(value) if isinstance(value, np.integer) else value
        return QC_LEVELS.index(QC.validate(number).name)
    except (ValueError, TypeError):
        raise SearchError(f'unknown QC level {value!r}; levels: {", ".join(QC_LEVELS)}') from None


def _each(method):
    """ONE's convention for the identifier methods: a list (or tuple) gives a list."""

    @functools.wraps(method)
    def each(self, value, *args, **kwargs):
        if isinstance(value, (list, tuple)):
            return [each(self, v, *args, **kwargs) for v in value]
        return method(self, value, *args, **kwargs)

    return each


class One:
    """A client for one repository: search sessions, list their files and load ALF data.

    >>> one = One(cache_dir='~/data/steinmetz', mode='local')  # a folder  # doctest: +SKIP
    >>> one = One('nick19')  # a repository from the config  # doctest: +SKIP
    >>> sessions = one.search(['spikes', 'trials'], subject='Cori')  # doctest: +SKIP
    >>> spikes = one.load_object(sessions[0], 'spikes')  # doctest: +SKIP

    The repository is, first match wins: ``cache_dir=`` / ``root_dir=`` (a local folder),
    ``base_url=`` (an http repository; ``username`` and ``password`` for basic auth),
    ``article_id=`` (figshare), ``repository`` naming an existing folder (a configured
    repository's bare name wins: ``'./name'`` or a ``Path`` is the folder), or the configured
    repository of that name (the current one when None). An explicit location never falls
    back to the configuration. Other keywords are settings of that repository type; an
    unknown one is a TypeError.

    ``mode='local'`` works offline (cached index and local files); ``'auto'`` reads the
    index once per client; ``'remote'`` (or ``query_type='remote'`` on a call) reads it again.
    ``wildcards=True``: filters are globs and search strings regular expressions, as in ONE.
    """

    def __init__(
        self,
        repository=None,
        *,
        cache_dir=None,
        tables_dir=None,
        mode: str = 'auto',
        wildcards: bool = True,
        root_dir=None,
        base_url: str | None = None,
        username: str | None = None,
        password: str | None = None,
        strict: bool = False,
        offline: bool | None = None,
        download_dir: str | None = None,
        progress: bool | None = None,
        jobs: int | None = None,
        silent: bool = False,
        cache_rest=None,
        **settings,
    ):
        # ONE's silent (no prompts: onelight never prompts) and cache_rest (no REST cache)
        # change nothing here; a local mode reads cache_dir only, as ONE's does
        del silent, cache_rest
        if mode == 'local' and cache_dir is not None:
            if username is not None or password is not None:
                warnings.warn(
                    "username and password are ignored: mode='local' reads cache_dir only",
                    stacklevel=2,
                )
            base_url = username = password = None
        if mode not in MODES:  # 'refresh' too: ONE 3's One refuses it (a ValueError)
            raise ModeError(f'mode must be one of {", ".join(MODES)}, not {mode!r}')
        self.mode, self.wildcards, dirs = mode, bool(wildcards), app_dirs()
        settings.update(
            {k: v for k, v in (('login', username), ('password', password)) if v is not None}
        )
        if base_url is not None and cache_dir is not None and download_dir is None:
            # ONE's layout: downloads under cache_dir/lab/Subjects/subject/date/number
            download_dir = str(
                Path(cache_dir, '{lab}', 'Subjects', '{subject}', '{date}', '{number}')
            )
            cache_dir = None
        location = {'root_dir': root_dir, 'base_url': base_url}
        adhoc = _adhoc_repository(repository, cache_dir=cache_dir, **location, **settings)
        # an ad-hoc repository never reads or writes the configuration
        config = default_config() if adhoc else load_config(dirs)
        if download_dir:
            check_download_template(download_dir, 'download_dir')
            config = {**config, 'download_dir': download_dir}
        if not adhoc and _looks_like_a_path(repository, config):
            raise NotFoundError(f'no folder {repository} (nor a repository of that name)')
        entry = adhoc or {**_find_repository(config, repository), **settings}
        if tables_dir is not None and entry.get('type') == 'local':
            entry['tables_dir'] = str(tables_dir)  # elsewhere ONE's tables_dir has no use
        backend = REPOSITORY_TYPES.get(entry.get('type'))
        if backend is not None:
            if jobs is not None and 'jobs' in backend.optional:
                entry['jobs'] = jobs
            known = {'name', 'type', *backend.required, *backend.optional}
            unknown = sorted(set(settings) - known)
            if unknown:
                raise TypeError(
                    f'One() got an unexpected keyword argument {unknown[0]!r} (settings of a '
                    f'{backend.type} repository: {", ".join(sorted(known - {"name", "type"}))})'
                )
        if offline is None:
            offline = os.environ.get('ONELIGHT_OFFLINE', '').lower() in ('1', 'true', 'yes')
        offline = offline or mode == 'local'
        self.repository = make_repository(
            entry, config=config, strict=strict, offline=offline, dirs=dirs, progress=progress
        )
        self._index = None

    def __repr__(self):
        """Where the data are and how they are read, e.g.
        ``One(repository='lab', type='local', location='/data/lab', mode='auto')``."""
        r = self.repository
        where = f'repository={r.name!r}, type={r.type!r}, location={r.location!r}'
        return f'One({where}, mode={self.mode!r})'

    @property
    def index(self) -> Index:
        """The repository's index, read once per client (see ``mode``)."""
        if self._index is None:
            self._index = self.repository.read_index()
        return self._index

    def _current_index(self, query_type=None) -> Index:
        """The index, read again first when the mode or ``query_type`` asks for remote."""
        if query_type not in (None, *MODES, 'refresh'):  # ONE-Alyx code passes 'refresh'
            raise SearchError(f'query_type must be one of {", ".join(MODES)}, not {query_type!r}')
        if query_type in ('remote', 'refresh') or (query_type is None and self.mode == 'remote'):
            self._index = None
        return self.index

    # ------------------------------------------------------------------- session identifiers
    @_each
    def to_eid(self, id_):
        """The eid (``uuid.UUID``) of a session identifier, None if the repository has no such
        session; a list gives a list."""
        try:
            return None if id_ is None else self.index.eids[self.index.resolve_session(id_)]
        except NotFoundError:
            return None

    @_each
    def eid2path(self, eid):
        """The local folder of a session (``root/lab/Subjects/subject/date/NNN`` of a local
        repository; the download folder of a remote one), None if unknown."""
        try:
            return self.ref2path(eid)
        except NotFoundError:
            return None

    @_each
    def path2eid(self, path):
        """The eid of the session a local path is in (the lab is used only to tell apart
        sessions that share subject, date and number), None if unknown."""
        try:
            parts = parse_session(path)
        except ALFError:
            return None
        try:
            return self.to_eid({**parts, 'lab': None})
        except AmbiguousError:
            return self.to_eid(parts)

    @_each
    def eid2ref(self, eid, as_dict: bool = True, parse: bool = True):
        """The experiment reference of a session: ``{'subject', 'date', 'sequence'}`` (a date
        and an int, or strings with ``parse=False``), or ``'2020-01-01_1_subject'``."""
        try:
            ref = self.path2ref(self.index.resolve_session(eid), parse=parse)
        except NotFoundError:
            return None
        return ref if as_dict else f'{ref["date"]}_{ref["sequence"]}_{ref["subject"]}'

    @staticmethod
    def path2ref(path, as_dict: bool = True, parse: bool = True):
        """The experiment reference of a session path, None if it is not one; as text, with
        the number as the path writes it (as ONE-api does).

        >>> One.path2ref('lab/Subjects/m1/2020-01-01/002', as_dict=False)
        '2020-01-01_002_m1'
        """
        if isinstance(path, (list, tuple)):
            return [One.path2ref(p, as_dict, parse) for p in path]
        try:
            parts = parse_session(path)
        except ALFError:
            return None
        date, number = parts['date'], parts['number']
        if len(number) not in (1, 3) and number.startswith('0'):
            return None  # a padded number has three digits ('01' is no session number)
        if not as_dict:
            return f'{date}_{number}_{parts["subject"]}'
        if parse:
            return {
                'subject': parts['subject'],
                'date': _dt.date.fromisoformat(date),
                'sequence': int(number),
            }
        return {'subject': parts['subject'], 'date': date, 'sequence': f'{int(number):03d}'}

    @staticmethod
    def is_exp_ref(ref):
        """Whether ``ref`` is an experiment reference (``'2020-01-01_1_m1'`` or a dict with
        subject, date and sequence); a list gives a list.

        >>> One.is_exp_ref('2018-07-13_001_flowers'), One.is_exp_ref('2018-invalid_ref-s')
        (True, False)
        """
        if isinstance(ref, (list, tuple)):
            return [One.is_exp_ref(r) for r in ref]
        if isinstance(ref, dict):
            return all(k in ref for k in ('subject', 'date', 'sequence'))
        return isinstance(ref, str) and _REF_RE.fullmatch(ref) is not None

    @staticmethod
    def ref2dict(ref, parse: bool = True):
        """An experiment reference as ``{'date', 'sequence', 'subject'}`` (a date and an int
        with ``parse``, else text as written); a dict is returned as it is; a list, a list.

        >>> One.ref2dict('2018-07-13_001_flowers', parse=False)
        {'date': '2018-07-13', 'sequence': '001', 'subject': 'flowers'}
        """
        if isinstance(ref, (list, tuple)):
            return [One.ref2dict(r, parse) for r in ref]
        if isinstance(ref, dict):
            return ref
        m = _REF_RE.fullmatch(str(ref))
        if m is None:
            raise ALFInvalid(
                f'not an experiment reference: {ref!r} (expected date_number_subject)'
            )
        date, number = m['date'], m['number']
        if parse:
            date, number = _dt.date.fromisoformat(date), int(number)
        return {'date': date, 'sequence': number, 'subject': m['subject']}

    @staticmethod
    def dict2ref(ref_dict):
        """``'2018-07-13_001_flowers'`` from ``{'date', 'sequence', 'subject'}`` (or Alyx's
        ``start_time`` and ``number``); None for an empty dict; a list gives a list."""
        if isinstance(ref_dict, (list, tuple)):
            return [One.dict2ref(r) for r in ref_dict]
        if not ref_dict:
            return None
        date = ref_dict.get('date', ref_dict.get('start_time'))
        date = date.date() if isinstance(date, _dt.datetime) else date
        date = date.isoformat() if isinstance(date, _dt.date) else str(date)[:10]
        return f'{date}_{ref_dict.get("sequence", ref_dict.get("number"))}_{ref_dict["subject"]}'

    def path2record(self, path):
        """The record of a local path: a dataset's (a Series named by its id, as
        ``list_datasets(details=True)`` rows) for a file, the session's (as
        ``get_details``) for a session folder; None when the repository has no such thing."""
        try:
            session = self.index.resolve_session(parse_session(path))
        except (ALFError, NotFoundError):
            return None
        m = SESSION_TAIL_RE.search(str(path).replace('\\', '/').rstrip('/'))
        rel = m.string[m.end() :].lstrip('/') if m else ''
        if not rel:
            return self.get_details(session)
        table = self.list_datasets(session, details=True)
        found = table[table['rel_path'] == rel]
        return found.iloc[0] if len(found) else None

    @_each
    def ref2eid(self, ref):
        """The eid of an experiment reference; NotFoundError unless exactly one session."""
        return self.index.eids[self.index.resolve_session(ref)]

    @_each
    def ref2path(self, ref):
        """The local folder of the session an experiment reference names."""
        return ALFPath(self.repository.session_dir(self.index.resolve_session(ref)))

    # ------------------------------------------------------------------------------- search
    def search_terms(self, query_type=None) -> tuple:
        """The search keywords this repository can answer (ONE's names, then onelight's)."""
        index = self._current_index(query_type)
        has = set() if index.session_meta is None else set(index.session_meta.columns)
        return tuple(
            t
            for t in SEARCH_KEYWORDS
            if (t not in SESSION_META_TERMS or t in has)
            and (t != 'dataset_qc_lte' or index.from_tables)
        )

    def search(self, dataset_types=(), *, details: bool = False, query_type=None, **filters):
        """Return the session paths that have every requested dataset, newest first.

        A dataset term matches a file as ``name_matcher`` says: with ``*`` wildcards, the
        whole of its object, ``object.attribute``, ``object.attribute_timescale`` or file name,
        with or without the namespace (``spikes`` matches ``spikes.times.npy`` but not
        ``spikesorting.x.npy``), or, as in ONE, the term as a regex matching the file name.

        Filters, as in ONE: ``laboratory``/``lab``, ``subject``, ``projects``,
        ``task_protocol`` (partial, case-sensitive, regexes; a list is any of them),
        ``date_range`` (a date, ``[start]`` from that day on, or ``[start, end]``),
        ``number``, ``dataset_qc_lte``; onelight's ``collection`` keeps datasets of that
        collection. Any unambiguous prefix of a keyword works (``subj=``).

        ``details=True`` returns ``(sessions, records)`` with ONE's record keys and the eid
        (``([], None)`` when nothing matches).
        """
        terms = {'datasets': _as_list(dataset_types)}
        for key, value in filters.items():
            canonical = resolve_search_keyword(key, self.search_terms)
            if canonical == 'datasets':
                terms['datasets'] = [*terms['datasets'], *_as_list(value)]
            elif value is not None:
                terms[canonical] = value
        index = self._current_index(query_type)
        sessions = index.sessions
        keep = np.ones(len(sessions), dtype=bool)
        for key, column in (('laboratory', 'lab'), ('subject', 'subject')):
            if key in terms:
                keep &= text_mask(sessions[column], terms[key], self.wildcards)
        for key in SESSION_META_TERMS:
            if key in terms:
                meta = index.session_meta
                if meta is None or key not in meta.columns:
                    raise SearchError(
                        f'repository "{self.repository.name}" has no {key} metadata (it comes '
                        'with ONE cache tables, which this repository does not publish); '
                        f'search terms here: {", ".join(self.search_terms())}'
                    )
                values = meta[key].reindex(sessions.index)
                keep &= text_mask(values, terms[key], self.wildcards)
        if 'number' in terms:
            keep &= _number_mask(sessions['number'], terms['number'])
        if 'date_range' in terms:
            start, end = parse_date_range(terms['date_range'])
            dates = sessions['date'].to_numpy(dtype=object)
            keep &= (dates >= (start or '')) & (dates <= (end or '9999'))
        keep &= self._sessions_with_datasets(index, terms)
        found = index.newest_first(sessions[keep])
        if not details:
            return found
        return (found, [self._session_record(index, s) for s in found]) if found else ([], None)

    def _sessions_with_datasets(self, index: Index, terms: dict) -> np.ndarray:
        """Which sessions have a file for every dataset term (within the file filters)."""
        df, file_filter = index.df, None
        if 'collection' in terms:
            file_filter = collection_mask(df['collection'], terms['collection'], self.wildcards)
        if 'dataset_qc_lte' in terms:
            if not index.from_tables:
                raise SearchError(
                    f'repository "{self.repository.name}" has no dataset QC (it comes with ONE '
                    'cache tables, which this repository does not publish)'
                )
            ok = df['qc'].cat.codes.to_numpy() <= _qc_level(terms['dataset_qc_lte'])
            file_filter = ok if file_filter is None else file_filter & ok
        keep, codes = np.ones(len(index.sessions), dtype=bool), df['session'].cat.codes.to_numpy()
        present = df['exists'].to_numpy(bool)  # (a file the tables say is gone: as ONE)
        for term in terms['datasets'] or ([None] if file_filter is not None else []):
            mask = index.term_mask(term, self.wildcards) if term is not None else file_filter
            if file_filter is not None and term is not None:
                mask = mask & file_filter
            mask = mask & present
            has = np.zeros(len(index.sessions), dtype=bool)
            has[codes[mask]] = True
            keep &= has
        return keep

    def _session_record(self, index: Index, session: str) -> dict:
        """ONE's session record (lab, subject, date, number, task_protocol, projects) + eid."""
        lab, subject, date, number = _session_fields(session)
        meta, extra = index.session_meta, {'task_protocol': '', 'projects': ''}  # ONE's blanks
        if meta is not None and session in meta.index:
            extra.update({k: _none(meta.at[session, k]) or '' for k in extra if k in meta.columns})
        date = _dt.date.fromisoformat(date)
        return {
            'lab': lab,
            'subject': subject,
            'date': date,
            'number': int(number),
            **extra,
            'eid': index.eids[session],
        }

    # ------------------------------------------------------------------------------ listing
    def list_(self, session, collection=None) -> list:
        """The files of a session (ALF or not), relative to the session folder, sorted."""
        rows = self._session_rows(session)[1]
        if collection is not None:
            rows = rows[collection_mask(rows['collection'], collection, self.wildcards)]
        return sorted(rows['rel'])

    list = list_

    def _session_rows(self, eid, query_type=None) -> tuple:
        """(session path, its rows) of a session identifier."""
        index = self._current_index(query_type)
        session = index.resolve_session(eid)
        return session, index.session_files(session)

    def _listed_rows(self, eid, query_type, filename, collection, revision) -> pd.DataFrame:
        """The rows that ONE's list_* methods select, for one session or every session: by
        ``filename`` (dataset terms, or a dict of ALF parts), ``collection`` (``''`` is the
        session folder) and ``revision`` (globs)."""
        index = self._current_index(query_type)
        if eid is None:
            rows = index.df.assign(rel=rel_paths(index.df))
        else:
            try:
                rows = index.session_files(index.resolve_session(eid))
            except ALFObjectNotFound:  # as in ONE: nothing to list
                rows = index.df.iloc[:0].assign(rel=pd.Series([], dtype=object))
        keep = np.ones(len(rows), dtype=bool)
        if isinstance(filename, dict):
            keep &= _parts_mask(rows, filename, self.wildcards)
        elif filename is not None:
            match = name_matcher(filename, self.wildcards)
            keep &= np.array([match(f) for f in rows['filename']], dtype=bool)
        if collection is not None:
            keep &= collection_mask(rows['collection'], collection, self.wildcards)
        if revision is not None:
            keep &= _glob_mask(rows['revision'], revision, self.wildcards)
        return rows[keep]

    def list_datasets(
        self,
        eid=None,
        filename=None,
        collection=None,
        revision=None,
        qc=QC_LEVELS[3],
        ignore_qc_not_set: bool = False,
        details: bool = False,
        query_type=None,
        default_revisions_only: bool = False,
        keep_eid_index: bool = False,
    ):
        """The datasets of a session (``collection/#revision#/name``, sorted), or of every
        session (unique paths) when ``eid`` is None.

        Filters as in ONE (``filename`` is matched as search matches dataset terms, or is a
        dict of ALF parts). ``default_revisions_only`` keeps the revision a load would take.
        ``details=True`` returns ONE's dataset table (index ``id``; ``(eid, id)`` with
        ``keep_eid_index``).
        """
        rows = self._listed_rows(eid, query_type, filename, collection, revision)
        if self.index.from_tables:
            ranks = qc_levels(rows['qc']).codes
            ok = ranks <= _qc_level(qc)
            rows = rows[ok & (ranks != 0) if ignore_qc_not_set else ok]
        if default_revisions_only:
            rows = rows[_default_revisions(rows)]
        if details:  # every session: the eid level stays, as in ONE
            return self._dataset_table(rows, keep_eid_index or eid is None)
        return list(dict.fromkeys(rows['rel'])) if eid is None else sorted(rows['rel'])

    def _dataset_table(self, rows: pd.DataFrame, keep_eid_index: bool = False) -> pd.DataFrame:
        """ONE's datasets table for index rows (index ``id``, or ``(eid, id)``, as UUIDs)."""
        if self.repository.is_local and pd.isna(rows['size']).any():  # a scan never stats
            copies = self.repository.local_copies(rows)
            sizes = [_file_size(d.dest) if pd.isna(n) else n for n, d in zip(rows['size'], copies)]
            rows = rows.assign(size=sizes)
        table = datasets_table(rows, self.index.eids)
        keys = ['eid', 'id'] if keep_eid_index else ['id']
        table = table.assign(**{k: [_as_uuid(v) or v for v in table[k]] for k in keys})
        return table.set_index(keys).drop(columns=[] if keep_eid_index else ['eid'])

    def list_collections(
        self,
        eid=None,
        filename=None,
        collection=None,
        revision=None,
        details=False,
        query_type=None,
    ):
        """The collections (``''`` is the session folder), sorted; ``details=True`` gives
        ``{collection: datasets table}``."""
        return self._list_by(
            'collection', eid, filename, collection, revision, details, query_type
        )

    def list_revisions(
        self,
        eid=None,
        filename=None,
        collection=None,
        revision=None,
        details=False,
        query_type=None,
    ):
        """The revisions (``''`` is unrevised), sorted; ``details=True`` gives
        ``{revision: datasets table}``."""
        return self._list_by('revision', eid, filename, collection, revision, details, query_type)

    def _list_by(self, column, eid, filename, collection, revision, details, query_type):
        rows = self._listed_rows(eid, query_type, filename, collection, revision)
        names = rows[column].astype(object).fillna('').astype(str)
        found = sorted(set(names))
        if not details:
            return found
        return {n: self._dataset_table(rows[(names == n).to_numpy(bool)]) for n in found}

    def list_subjects(self) -> list:
        """Every subject of the repository, sorted."""
        return sorted(set(self.index.sessions['subject']))

    def get_details(self, eid, full: bool = False, query_type=None):
        """A session's record (lab, subject, date, number, task_protocol, projects) as a
        Series named by its eid; ``full=True``: its datasets table with those columns."""
        session, rows = self._session_rows(eid, query_type)
        record = self._session_record(self.index, session)
        eid = record.pop('eid')
        return (
            self._dataset_table(rows).assign(**record, eid=eid)
            if full
            else pd.Series(record, name=eid)
        )

    # ------------------------------------------------------------------------------ loading
    def load_object(
        self,
        eid,
        obj: str,
        collection=None,
        revision=None,
        query_type=None,
        download_only: bool = False,
        check_hash: bool = True,
        short_keys: bool = False,
        **kwargs,
    ):
        """Load an ALF object of a session as a Bunch (the same keys and values as ONE-api).

        ``obj`` and ``collection`` may hold ``*``; ``'wheel'`` also takes ``_ibl_wheel.*``
        files (``'_ibl_wheel'`` only those). An object in several collections needs
        ``collection=``. The latest revision of each file wins; ``revision='X'`` takes the
        last at or before X. Keyword filters on ALF parts (``attribute``, ``namespace``,
        ``timescale``, ``extra``, ``extension``; globs or lists) narrow the files.
        ``download_only=True`` returns the local paths. ``check_hash`` verifies local copies
        against the index's md5 where it has one. Keys are ``attribute[_timescale][.extra]``,
        without the extra parts with ``short_keys=True``.
        """
        session, rows = self._session_rows(eid, query_type)
        wanted, data, pairs = _object_rows(
            rows, obj, collection, revision, kwargs, self.wildcards, session
        )
        paths = dict(zip(wanted['path'], self.repository.fetch(wanted, check_hash=check_hash)))
        if download_only:
            return [ALFPath(paths[p]) for p in wanted['path']]
        return _assemble_rows(data, paths, pairs, obj, short_keys)

    def load_dataset(
        self,
        eid,
        dataset,
        collection=None,
        revision=None,
        query_type=None,
        download_only: bool = False,
        check_hash: bool = True,
    ):
        """Load one dataset: a name or term (``spikes.times.npy``, ``spikes.times``, globs),
        an exact path in the session (``alf/#2021-06-01#/spikes.times.npy``) or a dict of ALF
        parts. Returns an array, a DataFrame or what the file type loads to; with
        ``download_only=True``, its local path."""
        rows = self._session_rows(eid, query_type)[1]
        row = _dataset_row(rows, dataset, collection, revision, self.wildcards)
        path = self.repository.fetch(row, check_hash=check_hash)[0]
        return ALFPath(path) if download_only else load_file_content(path)

    def load_datasets(
        self,
        eid,
        datasets,
        collections=None,
        revisions=None,
        query_type=None,
        assert_present: bool = True,
        download_only: bool = False,
        check_hash: bool = True,
    ) -> tuple:
        """Load several datasets: ``(data, records)`` in the order asked, as in ONE.

        ``collections`` and ``revisions`` are one value for all or a list, one per dataset.
        A missing dataset raises ALFObjectNotFound, or with ``assert_present=False`` gives
        None in both lists. Records hold ``eid, id, rel_path, file_size, hash, exists, qc,
        revision``.
        """
        if isinstance(datasets, (str, dict)):
            raise TypeError('datasets must be a list of datasets, not a single one')
        if isinstance(datasets, pd.DataFrame):  # list_datasets(details=True) of the session
            datasets = datasets['rel_path'].tolist()
        datasets = list(datasets)
        kinds = {isinstance(d, dict) for d in datasets}
        if len(kinds) > 1 or not all(isinstance(d, (str, dict)) for d in datasets):
            raise ValueError('datasets must be a list of only strings or only dicts')
        # one path with a folder makes every string a path, as in ONE: 'spikes.times.npy' is
        # then the file in the session folder, not a search
        as_paths = any(isinstance(d, str) and '/' in d.replace('\\', '/') for d in datasets)
        if as_paths and (collections is not None or revisions is not None):
            raise ValueError('collections and revisions must be None when datasets are paths')
        collections = _per_dataset(collections, len(datasets), 'collections')
        revisions = _per_dataset(revisions, len(datasets), 'revisions')
        try:
            session, rows = self._session_rows(eid, query_type)
        except ALFObjectNotFound:
            if assert_present:
                raise
            logger.warning('no datasets found for session %s', eid)
            return None, []
        if not datasets:
            return None, []
        found = []
        for dataset, coll, rev in zip(datasets, collections, revisions):
            try:
                if as_paths:
                    found.append(_exact_rel_row(rows, dataset, session))
                else:
                    found.append(_dataset_row(rows, dataset, coll, rev, self.wildcards))
            except ALFObjectNotFound:
                if assert_present:
                    raise
                found.append(None)
        present = [r for r in found if r is not None]
        paths = iter(
            self.repository.fetch(pd.concat(present), check_hash=check_hash) if present else []
        )
        data, records = [], []
        for row in found:
            path = None if row is None else next(paths)
            data.append(
                None
                if row is None
                else ALFPath(path)
                if download_only
                else load_file_content(path)
            )
            if row is not None:
                record = self._dataset_table(row).reset_index().iloc[0].to_dict()
                record.pop('default_revision', None)
                record['revision'] = _none(row['revision'].iloc[0]) or ''
                row = {'eid': self.index.eids[str(row['session'].iloc[0])], **record}
            records.append(row)
        return data, records

    def load_collection(
        self,
        eid,
        collection: str,
        object=None,
        revision=None,
        query_type=None,
        download_only: bool = False,
        check_hash: bool = True,
        **kwargs,
    ):
        """Load the ALF objects directly in one collection (``''``: the session folder) as
        ``{object: Bunch}``; ``download_only=True`` gives a tuple of local paths.

        (``object`` is ONE's keyword: the builtin is shadowed in here.)"""
        session, rows = self._session_rows(eid, query_type)
        folder = str(collection or '').strip('/')
        colls = rows['collection'].astype('O').fillna('')
        sel = rows[(colls == folder).to_numpy(bool) & rows['is_alf'].to_numpy(bool)]
        if object is not None:
            sel = sel[_glob_mask(sel['object'], object, self.wildcards)]
        sel = _filter_parts(sel, kwargs, self.wildcards)
        if sel.empty:
            raise ALFObjectNotFound(
                f'no ALF objects in collection {folder!r} of {session}; collections: '
                f'{", ".join(sorted(set(colls))) or "none"}'
            )
        sel = _pick_revision(sel, revision, f'collection {folder!r}')
        paths = dict(zip(sel['path'], self.repository.fetch(sel, check_hash=check_hash)))
        if download_only:
            return tuple(ALFPath(paths[p]) for p in sel['path'])
        out = Bunch()
        for name in sorted(set(sel['object'])):
            objects = sel[(sel['object'] == name).to_numpy(bool)]
            data = objects[~objects['filename'].map(is_metadata_file).to_numpy(bool)]
            out[name] = _assemble_rows(data, paths, _metadata_pairs(data, objects), name)
        return out

    def download(
        self,
        session,
        obj: str | None = None,
        *,
        collection=None,
        dry_run: bool = False,
        force: bool = False,
        one_cache: bool | None = None,
    ) -> list:
        """Make a session's files (or one object's) available locally; return their paths.

        Files already complete locally are not fetched again (``force=True`` re-downloads).
        With ``dry_run=True`` nothing is fetched: the paths the files would have are returned.
        ``one_cache`` (default: the repository's ``one_cache`` setting) keeps ONE's cache
        tables of the download folder up to date, so that ONE-api opens it.
        """
        name, rows = self._session_rows(session)
        if obj is not None:
            rows = _object_rows(rows, obj, collection, None, {}, self.wildcards, name)[0]
        elif collection is not None:
            rows = rows[collection_mask(rows['collection'], collection, self.wildcards)]
        if rows.empty:
            raise ALFObjectNotFound(f'no files in {name} (collection={collection!r})')
        paths = self.repository.fetch(rows, force=force, dry_run=dry_run)
        if dry_run:  # the paths, and a report of what a download would fetch
            return paths
        if one_cache or (one_cache is None and self.repository.settings.get('one_cache')):
            self.write_download_tables(name)
        return paths

    def write_download_tables(self, session) -> OneTables:
        """Write ONE's cache tables for the download folder that holds a session (its
        ``lab/Subjects/...`` root), listing what is on disk with the repository's ids."""
        if self.repository.is_local:
            raise ConfigError(
                'a local repository is read in place: write its tables with '
                '"onelight index ROOT --one-cache"'
            )
        session = self.index.resolve_session(session)
        folder = self.repository.session_dir(session)
        lab, subject, date, number = _session_fields(session)
        if folder.parts[-5:] != (lab, 'Subjects', subject, date, number):
            raise ConfigError(
                'ONE cache tables of downloads need a download_dir ending in '
                "{lab}/Subjects/{subject}/{date}/{number} (ONE's layout)"
            )
        result = scan(folder.parents[4])
        index = adopt_ids(result.index(), self.index)
        return write_one_tables(result.root, index, result.sizes, None, result.date_modified)

    def upload(
        self,
        root,
        *,
        dry_run: bool = False,
        limit: int | None = None,
        force: bool = False,
        checksums: bool = False,
        one_cache: bool = False,
        pack: bool | None = None,
    ) -> TransferReport:
        """Publish the ALF tree under ``root`` to this repository (see ``Repository.upload``):
        what is there already is skipped, the index goes last. Returns what was done (with
        ``dry_run``, the paths that would be sent in ``report.paths``; ``report.cite``, the
        digest that cites the release)."""
        options = dict(dry_run=dry_run, limit=limit, force=force, checksums=checksums)
        report = self.repository.upload(root, one_cache=one_cache, pack=pack, **options)
        self._index = None  # read again: it changed
        return report

    def publish(self, *, checksums: bool = False) -> dict:
        """Make the uploaded files public where the repository type has such a step
        (figshare: remove duplicates, rebuild the index, publish the article; zenodo: publish
        the draft, a new version of a published record); ``'cite'`` is its index's digest."""
        return self.repository.make_public(checksums=checksums)

    def verify(self, sessions=(), *, repair: bool = False) -> list:
        """Check local copies against the index: size, and md5 where the index knows it.

        Named sessions are checked whole; without sessions, every file that has a local copy
        (or a partial ``.part``) is. Returns the problems as ``(problem, local path)``
        pairs: ``missing``, ``incomplete`` (only a ``.part``), ``truncated``, ``wrong size``,
        ``wrong md5``, or ``stray partial`` (a ``.part`` beside a good copy). With
        ``repair=True`` those files are downloaded again (stray partials removed) first, and
        what is still wrong is returned.
        """
        index, rows = self.index, self.index.df
        if sessions:
            names = [index.resolve_session(s) for s in _as_list(sessions)]
            rows = rows[rows['session'].isin(names).to_numpy(bool)]
        checks = self.repository.local_copies(rows)
        if not sessions:
            keep = np.array([d.dest.exists() or part_path(d.dest).exists() for d in checks], bool)
            rows, checks = rows[keep], [d for d, k in zip(checks, keep) if k]

        def problems(among) -> list:
            found = []
            for d in among:
                problem = local_copy_problem(d.dest, d.size, d.md5)
                if problem:
                    found.append((problem, d))
                elif os.path.lexists(part_path(d.dest)):  # beside a good copy: of no use
                    found.append(('stray partial', d))
            return found

        found = problems(checks)
        if repair and found:
            for what, d in found:
                if what == 'stray partial':  # an incomplete file's .part is kept: it resumes
                    discard_stray_part(d.dest)
            broken = {str(d.dest) for what, d in found if what != 'stray partial'}
            if broken:
                mask = np.array([str(d.dest) in broken for d in checks], dtype=bool)
                self.repository.fetch(rows[mask], force=True)
            found = problems([d for _, d in found])
        return [
            (what, part_path(d.dest) if what == 'stray partial' else d.dest) for what, d in found
        ]


ONE = One


def _none(value):
    if value is None or value is pd.NA:
        return None
    return None if isinstance(value, float) and np.isnan(value) else value


def _file_size(path: Path) -> int | None:
    try:
        return path.stat().st_size
    except OSError:
        return None


def _per_dataset(values, n: int, what: str) -> list:
    if values is None or isinstance(values, str):
        return [values] * n
    values = list(values)
    if len(values) != n:
        raise SearchError(f'{what} must have one entry per dataset ({n}), not {len(values)}')
    return values


def _split_namespace(obj: str, objects: set) -> tuple:
    """``'_ibl_trials'`` -> ``('ibl', 'trials')`` unless ``_ibl_trials`` is itself an object."""
    m = re.fullmatch(r'_([a-zA-Z0-9]+)_(\w+|\*)', obj)
    if m and obj not in objects:
        return m.group(1), m.group(2)
    return None, obj


def _parts_mask(rows: pd.DataFrame, parts: dict, wildcards: bool = True) -> np.ndarray:
    """Rows whose ALF parts match a dict of patterns (``{'object': 'spikes', ...}``)."""
    keep = rows['is_alf'].to_numpy(bool).copy()
    for part, pattern in parts.items():
        if part not in (*PATH_PARTS, 'object'):
            raise SearchError(f'unknown ALF part {part!r}; parts: {", ".join(PATH_PARTS)}')
        if pattern is not None:
            keep &= _glob_mask(rows[part], pattern, wildcards)
    return keep


def _filter_parts(rows: pd.DataFrame, filters: dict, wildcards: bool = True) -> pd.DataFrame:
    """ONE's keyword filters on ALF parts; ``attribute`` also matches attribute_timescale."""
    unknown = sorted(set(filters) - set(ALF_FILTERS))
    if unknown:
        raise TypeError(
            f'unexpected keyword argument {unknown[0]!r} (filters: {", ".join(ALF_FILTERS)})'
        )
    keep = np.ones(len(rows), dtype=bool)
    for part, pattern in filters.items():
        if pattern is None:
            continue
        ok = _glob_mask(rows[part], pattern, wildcards)
        if part == 'attribute':
            timescale = ['_' + t if t else '' for t in rows['timescale'].fillna('')]
            full = [f'{a}{t}' for a, t in zip(rows['attribute'].fillna(''), timescale)]
            ok |= _glob_mask(full, pattern, wildcards)
        keep &= ok
    return rows[keep]


def _object_rows(rows, obj, collection, revision, filters, wildcards, session) -> tuple:
    """Rows of an object: (every file to fetch, the data files, metadata pairs).

    The selection runs on column arrays and takes rows from the frame once: a session's
    frame is small, and each frame selection costs more than the arithmetic.
    """
    alf = np.flatnonzero(rows['is_alf'].to_numpy(bool))
    names_of = rows['object'].to_numpy(object)[alf]
    objects = {str(o) for o in names_of if o is not None}
    namespace, name = _split_namespace(obj, objects)
    keep = _glob_mask(names_of, name, wildcards)
    if namespace:
        keep &= rows['namespace'].to_numpy(object)[alf] == namespace
    if not keep.any():
        raise ALFObjectNotFound(
            f'object {obj!r} is not in session {session}; objects: '
            f'{", ".join(sorted(objects)) or "none"}'
        )
    names = sorted(set(names_of[keep]))
    if len(names) > 1:
        raise ALFMultipleObjectsFound(
            f'{obj!r} matches several objects in {session}: {", ".join(names)}; name one'
        )
    sel = rows.iloc[alf[keep]]
    sel = _pick_collection(sel, collection, f'object {obj!r}', session, wildcards)
    sel = _pick_revision(sel, revision, f'object {obj!r}')
    is_meta = np.array([is_metadata_file(f) for f in sel['filename']], dtype=bool)
    data = sel[~is_meta] if is_meta.any() else sel
    if filters:
        data = _filter_parts(data, filters, wildcards)
        if data.empty:
            raise ALFObjectNotFound(f'object {obj!r} in {session} has no files matching {filters}')
    if not is_meta.any():
        return data, data, []
    pairs = _metadata_pairs(data, sel)
    metas = {m for _, m in pairs}
    wanted = pd.concat([data, sel[sel['path'].isin(metas).to_numpy(bool)]])
    return wanted, data, pairs


def _assemble_rows(
    data: pd.DataFrame, paths: dict, pairs: list, name: str, short_keys=False
) -> Bunch:
    """``assemble_object`` for index rows whose local paths are known."""
    parts = {k: data[k].tolist() for k in ALF_PARTS}
    files = [
        (paths[p], {k: _none(parts[k][i]) for k in ALF_PARTS}) for i, p in enumerate(data['path'])
    ]
    metadata = {paths[d]: paths[m] for d, m in pairs}
    return assemble_object(files, metadata, name=name, short_keys=short_keys)


def _dataset_row(rows, dataset, collection, revision, wildcards) -> pd.DataFrame:
    """The one row a dataset names in a session (see ``One.load_dataset``)."""
    session = str(rows['session'].iloc[0]) if len(rows) else ''
    if isinstance(dataset, dict):
        sel = rows[_parts_mask(rows, dataset, wildcards)]
    else:
        name = str(dataset).replace('\\', '/').strip('/')
        exact = rows[(rows['rel'] == name).to_numpy(bool)] if '/' in name else rows.iloc[:0]
        if not exact.empty:  # a path in the session names that very file
            if collection is not None or revision is not None:
                raise SearchError(
                    f'dataset {dataset!r} is a path: give no collection or revision with it'
                )
            _warn_if_not_default(exact, rows)
            return exact
        if '/' in name:
            if '*' in name:  # as ONE warns: a path names one file
                warnings.warn(
                    'Wildcards should not be used with relative path as input.', stacklevel=3
                )
            folder, name = name.rsplit('/', 1)
            if collection is not None and collection != folder:
                raise SearchError(f'dataset {dataset!r} and collection={collection!r} disagree')
            collection = folder
        match = name_matcher(name, wildcards)
        sel = rows[np.array([match(f) for f in rows['filename']], dtype=bool)]
    if sel.empty:
        raise ALFObjectNotFound(f'dataset {dataset!r} is not in session {session}')
    sel = _pick_collection(sel, collection, f'dataset {dataset!r}', session, wildcards)
    sel = _pick_revision(sel, revision, f'dataset {dataset!r}')
    if len(sel) > 1:
        raise ALFMultipleObjectsFound(
            f'dataset {dataset!r} matches several files in {session}: '
            f'{", ".join(sorted(sel["rel"]))}'
        )
    return sel


def _warn_if_not_default(picked: pd.DataFrame, rows: pd.DataFrame) -> None:
    """ONE's ALFWarning when an exact path loads a revision that is not the default one."""
    if picked.empty or not rows['revision'].notna().any():
        return
    default = pd.Series(_default_revisions(rows), index=rows.index)
    old = [r for r, i in zip(picked['rel'], picked.index) if not default.get(i, True)]
    if old:
        warnings.warn(
            f'{", ".join(old)}: not the default revision (it may have been revised since); '
            'give revision= or use load_dataset with a name to take the default',
            ALFWarning,
            stacklevel=3,
        )


def _exact_rel_row(rows: pd.DataFrame, rel: str, session: str) -> pd.DataFrame:
    """The row of a relative path in the session, taken literally: ``'spikes.times.npy'``
    is the unrevised file in the session folder (as ONE reads a list of paths)."""
    found = rows[(rows['rel'] == rel.replace('\\', '/').strip('/')).to_numpy(bool)]
    if found.empty:
        raise ALFObjectNotFound(f'dataset {rel!r} is not in session {session}')
    _warn_if_not_default(found, rows)
    return found


def _pick_collection(rows, collection, what: str, session: str, wildcards=True) -> pd.DataFrame:
    colls = rows['collection'].astype(object).fillna('')
    if collection is not None:
        picked = rows[collection_mask(colls, collection, wildcards)]
        if picked.empty:
            raise ALFObjectNotFound(
                f'{what} is not in collection {collection!r} of {session}; it is in '
                f'{", ".join(sorted(set(c or "(session folder)" for c in colls)))}'
            )
        rows, colls = picked, picked['collection'].astype(object).fillna('')
    found = sorted(set(colls))
    if len(found) > 1:
        raise ALFMultipleCollectionsFound(
            f'{what} is in several collections of {session}: '
            f'{", ".join(c or "(session folder)" for c in found)}; pass collection= '
            '(--collection on the command line)'
        )
    return rows


def _pick_revision(rows: pd.DataFrame, revision, what: str) -> pd.DataFrame:
    """Keep, per file, the latest revision (at or before ``revision`` when given)."""
    if revision is not None:
        revs = rows['revision'].astype(object).fillna('').to_numpy(object)
        rows = rows[revs <= str(revision)]
        if rows.empty:
            raise ALFObjectNotFound(f'{what} has no revision at or before {revision!r}')
        return rows[_default_revisions(rows, latest=True)]
    default = _default_revisions(rows)
    return rows if default.all() else rows[default]


def _metadata_pairs(data: pd.DataFrame, candidates: pd.DataFrame) -> list:
    """(data path, metadata path) pairs: a metadata file in the same folder, as ONE finds it."""
    metas = [
        (d, n, p)
        for d, n, p in zip(
            candidates['dirs'].astype(str), candidates['filename'].astype(str), candidates['path']
        )
        if is_metadata_file(n)
    ]
    pairs = []
    if not metas:
        return pairs
    for d, n, p in zip(data['dirs'].astype(str), data['filename'].astype(str), data['path']):
        pattern = metadata_pattern(n)
        match = sorted(mp for md, mn, mp in metas if md == d and fnmatch.fnmatchcase(mn, pattern))
        if match:
            pairs.append((p, match[0]))
    return pairs


def _adhoc_repository(name, *, cache_dir=None, **settings) -> dict | None:
    """The configuration entry of a repository given by its location, if any.

    The first type whose ``adhoc_key`` is among the settings makes it (``base_url=``: http,
    ``root_dir=``: local, ``article_id=``: figshare); ONE's ``cache_dir=`` and a ``name``
    that is an existing folder are local folders. Unnamed, a repository takes its type's
    ``adhoc_name`` (an http one its host and port, a figshare one its article), so that two
    never share a download folder. Otherwise None: ``name`` is a configured repository, and
    the settings override its own (``One('lab', jobs=4)``).
    """
    location = {k: v for k, v in settings.items() if v is not None}
    if cache_dir is not None:
        location.setdefault('root_dir', str(cache_dir))
    elif (
        isinstance(name, (str, os.PathLike))
        and _is_folder(name)
        and not _is_configured_name(name)
        and not any(
            cls.adhoc_key in location for cls in REPOSITORY_TYPES.values() if cls.adhoc_key
        )
    ):
        location['root_dir'], name = os.fspath(name), None
    for cls in sorted(REPOSITORY_TYPES.values(), key=lambda c: c.adhoc_key != 'base_url'):
        if cls.adhoc_key and (
            cls.adhoc_key in location or any(k in location for k in cls.adhoc_also)
        ):
            if cls.adhoc_key == 'root_dir':
                location['root_dir'] = str(location['root_dir'])
            return {'name': name or cls.adhoc_name(location), 'type': cls.type, **location}
    return None


def _is_configured_name(name) -> bool:
    """True for a bare name (text, no folder separator) of a configured repository: it wins
    over a folder of that name in the working directory, which ``./name`` still opens."""
    if not isinstance(name, str) or re.search(r'[/\\~]|^\.', name):
        return False
    try:
        return any(r['name'] == name for r in load_config(app_dirs())['repositories'])
    except OneLightError:  # a broken configuration: the folder, as before
        return False


def _is_folder(path) -> bool:
    try:
        return Path(path).expanduser().is_dir()
    except (OSError, ValueError):
        return False


def _looks_like_a_path(name, config: dict) -> bool:
    """Whether a repository name that is no configured repository was meant as a folder."""
    if name is None or any(r['name'] == name for r in config['repositories']):
        return False
    return (
        isinstance(name, os.PathLike)
        or any(c in str(name) for c in '/\\~')
        or str(name).startswith('.')
    )


def _find_repository(config: dict, name: str | None) -> dict:
    repos = {r['name']: r for r in config['repositories']}
    configured = ', '.join(sorted(repos)) or 'none'
    if name is None and config.get('current_repository') not in (None, *repos):
        raise ConfigError(
            f'the current repository "{config["current_repository"]}" is not configured '
            f'(configured: {configured}); choose one with "onelight repo NAME"'
        )
    name = name or config.get('current_repository')
    if name is None and repos:
        raise ConfigError(
            f'no current repository (configured: {configured}); choose one with '
            '"onelight repo NAME" or pass -r NAME'
        )
    if name is None:
        raise ConfigError(
            'no repository is configured: run "onelight add_repo NAME --type local '
            '--root-dir FOLDER" (or use One(cache_dir=...))'
        )
    if name not in repos:
        raise NotFoundError(f'no repository named {name!r} (configured: {configured})')
    return repos[name]


# =============================================================================================
# Module-level API
# =============================================================================================
# ``import onelight as one; one.search(['trials'])`` uses a default One, built on first use
# from the configuration's current repository. ``load_object`` and ``load_dataset`` given an
# existing folder read it directly, as ONE-api's ``one.alf.io`` does.

_default_client: One | None = None


def default_one() -> One:
    """The lazily built client behind the module-level functions."""
    global _default_client
    if _default_client is None:
        _default_client = One()
    return _default_client


def reset_default() -> None:
    """Forget the default client (the next call reads the configuration again)."""
    global _default_client
    _default_client = None


def search_terms() -> tuple:
    """The search keywords the current repository answers; see ``One.search_terms``."""
    return default_one().search_terms()


def search(dataset_types=(), **filters) -> list:
    """Search the current repository; see ``One.search``."""
    return default_one().search(dataset_types, **filters)


def to_eid(id_):
    """The eid of a session of the current repository; see ``One.to_eid``."""
    return default_one().to_eid(id_)


def list_(session, collection=None) -> list:
    """List a session's files in the current repository; see ``One.list_``."""
    return default_one().list_(session, collection=collection)


def load_object(session, obj, collection=None, **kwargs):
    """Load an ALF object; see ``One.load_object``.

    ``session`` may be an existing folder: the folder holding the object's files (as
    ``one.alf.io.load_object`` reads it), or a session folder with ``collection=``.
    Otherwise it names a session of the current repository.
    """
    if _is_local_folder(session):
        for ignored in ('download_only', 'check_hash', 'query_type'):  # nothing to fetch
            kwargs.pop(ignored, None)
        revision = kwargs.pop('revision', None)
        rows = _folder_rows(_data_folder(session, collection))
        wanted, data, pairs = _object_rows(rows, obj, None, revision, kwargs, True, str(session))
        paths = {p: Path(p) for p in wanted['path']}
        return _assemble_rows(data, paths, pairs, obj)
    return default_one().load_object(session, obj, collection, **kwargs)


def load_dataset(session, dataset, collection=None, **kwargs):
    """Load one dataset; ``session`` may be an existing folder (see ``load_object``)."""
    if _is_local_folder(session):
        folder = _data_folder(session, collection)
        exact = safe_join(folder, str(dataset).replace('\\', '/')) if '/' in str(dataset) else None
        if exact is not None and exact.is_file():
            return load_file_content(exact)
        rows = _folder_rows(folder)
        row = _dataset_row(rows, dataset, None, kwargs.get('revision'), True)
        return load_file_content(row['path'].iloc[0])
    return default_one().load_dataset(session, dataset, collection, **kwargs)


def _is_local_folder(session) -> bool:
    return isinstance(session, (str, os.PathLike)) and _is_folder(session)


def _data_folder(folder, collection) -> Path:
    folder = Path(folder).expanduser()
    return safe_join(folder, str(collection).strip('/')) if collection else folder


def _folder_rows(folder: Path) -> pd.DataFrame:
    """The files directly in a folder, as index rows (what the loaders select from)."""
    try:
        names = sorted(e.name for e in os.scandir(folder) if e.is_file() and e.name[0] != '.')
    except OSError as e:
        raise NotFoundError(f'cannot read folder {folder}: {e.strerror}') from None
    rows = pd.DataFrame([dataset_parts(n) for n in names], columns=[*PATH_PARTS, 'is_alf'])
    paths = [str(Path(folder, n)) for n in names]
    fixed = dict(dirs='', session=str(folder), size=None, md5=None, **Index.FILE_DEFAULTS)
    return rows.assign(path=paths, filename=names, rel=names, **fixed)


def set_repository(name: str) -> None:
    """Make ``name`` the current repository (saved in the configuration)."""
    dirs = app_dirs()
    config = load_config(dirs)
    _find_repository(config, name)
    config['current_repository'] = name
    save_config(config, dirs.config_file)
    reset_default()


def set_download_dir(template: str) -> None:
    """Set where remote sessions are downloaded (a template with {lab}, {subject}, ...)."""
    dirs = app_dirs()
    config = load_config(dirs)
    check_download_template(template, 'download_dir')
    config['download_dir'] = template
    save_config(config, dirs.config_file)
    reset_default()


# ONE's ``one.alf`` modules, as namespaces of this module, so that porting a notebook is one
# changed import: ``from one.alf import io as alfio`` -> ``from onelight import alfio``.
def _namespace(name: str, doc: str, names: str, **members):
    """A module ``onelight.<name>`` holding the functions of this module that ``names``
    lists (space-separated, ONE's names for them) and ``members``."""
    import types

    module = types.ModuleType(f'{__name__}.{name}', doc)
    module.__dict__.update({n: globals()[n] for n in names.split()}, **members)
    sys.modules[module.__name__] = module  # ``import onelight.alfio`` works too
    return module


def _spec_regex(spec: str = ALF_SHAPES['full_path'] + '$', **kwargs) -> re.Pattern:
    """ONE's ``one.alf.spec.regex``: a compiled pattern of a spec string with named parts."""
    return re.compile(alf_regex(spec, **kwargs))


alfspec = _namespace(
    'alfspec',
    "ONE's one.alf.spec: the ALF grammar.",
    'QC is_session_path is_uuid_string is_uuid to_alf',
    SPEC=ALF_SPEC,
    SESSION_SPEC=ALF_SHAPES['session'],
    COLLECTION_SPEC=ALF_SHAPES['collection'],
    FILE_SPEC=ALF_SHAPES['file'] + '$',
    REL_PATH_SPEC=ALF_SHAPES['rel_path'] + '$',
    FULL_SPEC=ALF_SHAPES['full_path'] + '$',
    regex=_spec_regex,
    path_pattern=lambda: re.sub(r'[{}?*\\$]', '', ALF_SHAPES['full_path'] + '$'),
    readableALF=readable_alf,
    is_valid=is_alf_filename,
)
alfpath = _namespace(
    'alfpath',
    "ONE's one.alf.path: ALF path parts and ALFPath.",
    'ALFPath PureALFPath PosixALFPath WindowsALFPath PurePosixALFPath PureWindowsALFPath '
    'ensure_alf_path rel_path_parts session_path_parts filename_parts full_path_parts '
    'get_session_path get_alf_path add_uuid_string remove_uuid_string padded_sequence '
    'without_revision',
    folder_parts=alf_folder_parts,
)
alfio = _namespace(
    'alfio',
    "ONE's one.alf.io: ALF objects straight from folders.",
    'dataframe check_dimensions read_ts load_file_content filter_by iter_sessions '
    'iter_datasets save_object_npy save_metadata next_num_folder remove_empty_folders '
    'find_variants',
    AlfBunch=Bunch,
    ts2vec=timestamps_to_vector,
    load_object=alf_load_object,
    exists=alf_exists,
)


# =============================================================================================
# Demo data
# =============================================================================================
# A small dataset shaped like the real releases (Steinmetz et al. 2019, the IBL behaviour
# release, newer IBL sessions): MATLAB-style (n, 1) columns, (2, 2) sync timestamps, tables
# with headers, a non-ALF multi-dot file name, collections and a revision folder.


def _save_npy(path: Path, array) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    np.save(path, np.asarray(array))


def _column(values) -> np.ndarray:
    return np.asarray(values).reshape(-1, 1)


def make_steinmetz_session(
    folder: Path,
    rng: np.random.Generator,
    *,
    n_trials=214,
    n_spikes=20000,
    n_clusters=60,
    probe='M2',
    with_eye=True,
) -> None:
    """Write one Steinmetz-like session (``alf/`` collection) into ``folder``."""
    alf = folder / 'alf'
    starts = np.cumsum(rng.uniform(4, 8, n_trials))
    trials = {
        'feedbackType': rng.choice([-1, 1], n_trials),
        'feedback_times': starts + 1.5,
        'goCue_times': starts + 0.6,
        'included': rng.random(n_trials) > 0.1,
        'repNum': rng.integers(1, 4, n_trials),
        'response_choice': rng.choice([-1, 0, 1], n_trials),
        'response_times': starts + 1.4,
        'visualStim_contrastLeft': rng.choice([0, 0.25, 0.5, 1], n_trials),
        'visualStim_contrastRight': rng.choice([0, 0.25, 0.5, 1], n_trials),
        'visualStim_times': starts + 0.5,
    }
    for attr, values in trials.items():
        _save_npy(alf / f'trials.{attr}.npy', _column(values))
    _save_npy(alf / 'trials.intervals.npy', np.c_[starts, starts + 3.0])
    times = np.sort(rng.uniform(0, starts[-1] + 5, n_spikes))
    _save_npy(alf / 'spikes.times.npy', _column(times))
    _save_npy(alf / 'spikes.clusters.npy', _column(rng.integers(0, n_clusters, n_spikes)))
    _save_npy(alf / 'spikes.amps.npy', _column(rng.gamma(2.0, 50e-6, n_spikes)))
    _save_npy(
        alf / 'spikes.depths.npy', _column(rng.uniform(0, 3820, n_spikes).astype(np.float32))
    )
    _save_npy(alf / 'clusters.depths.npy', _column(rng.uniform(0, 3820, n_clusters)))
    _save_npy(alf / 'clusters._phy_annotation.npy', _column(rng.integers(0, 4, n_clusters)))
    _save_npy(alf / 'clusters.probes.npy', _column(np.zeros(n_clusters, dtype=int)))
    _save_npy(alf / 'clusters.peakChannel.npy', _column(rng.integers(1, 375, n_clusters)))
    n_wheel = 5000
    _save_npy(alf / 'wheel.position.npy', _column(np.cumsum(rng.normal(0, 0.1, n_wheel))))
    _save_npy(alf / 'wheel.timestamps.npy', np.array([[0, 0.0], [n_wheel - 1, starts[-1]]]))
    moves = np.sort(rng.uniform(0, starts[-1], (40, 2)), axis=1)
    _save_npy(alf / 'wheelMoves.intervals.npy', moves)
    _save_npy(alf / 'wheelMoves.type.npy', _column(rng.integers(0, 3, 40)))
    if with_eye:
        n_eye = 3000
        _save_npy(alf / 'eye.area.npy', _column(rng.uniform(100, 200, n_eye)))
        _save_npy(alf / 'eye.xyPos.npy', rng.normal(0, 1, (n_eye, 2)))
        _save_npy(alf / 'eye.timestamps.npy', np.array([[0, 0.0], [n_eye - 1, starts[-1]]]))
    _save_npy(alf / 'licks.times.npy', _column(np.sort(rng.uniform(0, starts[-1], 300))))
    channels = pd.DataFrame(
        {
            'ccf_ap': rng.uniform(-5000, 0, 374),
            'ccf_dv': rng.uniform(0, 5000, 374),
            'ccf_lr': rng.uniform(0, 5000, 374),
            'allen_ontology': rng.choice(['MOs', 'ACA', 'CP', 'root'], 374),
        }
    )
    channels.to_csv(alf / 'channels.brainLocation.tsv', sep='\t', index=False)
    pd.DataFrame({'description': [f'Neuropixels probe {probe}']}).to_csv(
        alf / 'probes.description.tsv', sep='\t', index=False
    )
    name = f'{folder.parent.parent.name}_{folder.parent.name}_{probe}_g0_t0.imec.lf.timestamps.npy'
    _save_npy(alf / name, np.array([[0, 0.0], [100000, starts[-1]]]))


def make_ibl_session(folder: Path, rng: np.random.Generator, n_trials: int = 600) -> None:
    """Write one IBL-like session: ``_ibl_trials`` attributes, probes, a revision, raw data."""
    alf = folder / 'alf'
    starts = np.cumsum(rng.uniform(2, 5, n_trials))
    trials = {
        'choice': rng.choice([-1, 0, 1], n_trials),
        'contrastLeft': rng.choice([np.nan, 0, 0.0625, 0.125, 0.25, 1], n_trials),
        'contrastRight': rng.choice([np.nan, 0, 0.0625, 0.125, 0.25, 1], n_trials),
        'feedbackType': rng.choice([-1, 1], n_trials),
        'feedback_times': starts + 1.2,
        'goCue_times': starts + 0.4,
        'probabilityLeft': rng.choice([0.2, 0.5, 0.8], n_trials),
        'response_times': starts + 1.1,
        'stimOn_times': starts + 0.4,
        'rewardVolume': rng.choice([0, 1.5], n_trials),
    }
    for attr, values in trials.items():
        _save_npy(alf / f'_ibl_trials.{attr}.npy', values)
    _save_npy(alf / '_ibl_trials.intervals.npy', np.c_[starts, starts + 2.0])
    # a later revision of one attribute
    _save_npy(alf / '#2021-06-01#' / '_ibl_trials.stimOn_times.npy', starts + 0.41)
    for probe in ('probe00', 'probe01'):
        n = 5000
        _save_npy(alf / probe / 'spikes.times.npy', np.sort(rng.uniform(0, starts[-1], n)))
        _save_npy(alf / probe / 'spikes.clusters.npy', rng.integers(0, 40, n))
        _save_npy(alf / probe / 'spikes.times_ephysClock.npy', np.sort(rng.uniform(0, 1e3, n)))
    raw = folder / 'raw_behavior_data'
    raw.mkdir(parents=True, exist_ok=True)
    pos = pd.DataFrame({'re_ts': np.arange(100) * 1000, 're_pos': rng.integers(-50, 50, 100)})
    pos.to_csv(raw / '_iblrig_encoderPositions.raw.ssv', sep=' ', index=False)
    with open(raw / '_iblrig_taskData.raw.jsonable', 'w') as f:
        for i in range(5):
            f.write(json.dumps({'trial_num': i + 1, 'contrast': float(rng.choice([0, 1]))}) + '\n')


def make_demo_data(root) -> list:
    """Generate the demo dataset under ``root``; return its session paths."""
    root = Path(root)
    rng = np.random.default_rng(2019)
    sessions = [
        'nicklab/Subjects/Cori/2016-12-14/001',
        'nicklab/Subjects/Cori/2016-12-18/001',
        'nicklab/Subjects/Theiler/2017-10-11/001',
    ]
    for i, session in enumerate(sessions):
        make_steinmetz_session(root / session, rng, with_eye=i != 1, probe=('M2', 'V1', 'K1')[i])
    for session in (
        'angelakilab/Subjects/IBL-T1/2019-02-20/001',
        'churchlandlab/Subjects/CSH_ZAD_003/2021-06-01/001',
    ):
        make_ibl_session(root / session, rng)
        sessions.append(session)
    return sorted(sessions)


# =============================================================================================
# Command-line interface
# =============================================================================================


class _Group(click.Group):
    """A click group that turns onelight errors into one line on stderr and exit status 1;
    without arguments it prints its help (exit status 0)."""

    def parse_args(self, ctx, args):
        if not args and self.no_args_is_help:
            click.echo(ctx.get_help())
            ctx.exit(0)
        return super().parse_args(ctx, args)

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except OneLightError as e:
            _fail(ctx, str(e))
        except KeyboardInterrupt as e:
            with contextlib.suppress(OSError):  # (the terminal may be gone: SIGHUP)
                click.echo(str(e) or 'interrupted', err=True)
            raise click.exceptions.Exit(128 + getattr(e, 'signum', 2)) from None
        except BrokenPipeError:
            raise  # the reader stopped early (``| head``): click exits quietly
        except OSError as e:
            where = f': {e.filename}' if getattr(e, 'filename', None) else ''
            _fail(ctx, f'{e.strerror or e}{where}')


def _fail(ctx, message: str):
    if (ctx.obj or {}).get('verbose'):
        raise
    click.echo(f'error: {message}', err=True)
    raise click.exceptions.Exit(1)


def _setup_logging(verbose: bool, quiet: bool) -> None:
    if isinstance(logger, _LazyLogger):
        _LazyLogger.setup = (verbose, quiet)  # applied when something first logs
    else:
        _configure_logger(logger, verbose, quiet)


def _configure_logger(log, verbose: bool, quiet: bool) -> None:
    import logging

    class Handler(logging.StreamHandler):
        """On a terminal, a transient line (a retry) is overwritten by the next line."""

        pending = False

        def emit(self, record):
            transient = getattr(record, 'transient', False) and self.stream.isatty()
            try:
                text = ('\r\x1b[K' if self.pending else '') + self.format(record)
                self.stream.write(text + ('' if transient else '\n'))
                self.flush()
            except (OSError, ValueError):  # (the terminal may be gone)
                pass
            self.pending = transient

    handler = Handler(sys.stderr)
    handler.setFormatter(logging.Formatter('%(levelname)s: %(message)s'))
    log.handlers[:] = [handler]
    log.propagate = False
    log.setLevel(logging.DEBUG if verbose else logging.ERROR if quiet else logging.WARNING)


def _client(ctx, **settings) -> One:
    obj = ctx.obj
    if obj.get('client') is None:
        obj['client'] = One(
            obj.get('repository'),
            strict=obj.get('strict', False),
            offline=obj.get('offline') or None,
            progress=False if obj.get('quiet') else None,
            **{k: v for k, v in settings.items() if v is not None},
        )
    return obj['client']


def _say(ctx, message: str) -> None:
    """Print a status message on stderr unless --quiet."""
    if not ctx.obj.get('quiet'):
        click.echo(message, err=True)


def _emit(items, as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(items, indent=1, default=str))
    else:
        for item in items:
            click.echo(item)


@click.group(cls=_Group, context_settings={'help_option_names': ['-h', '--help']})
@click.version_option(__version__, prog_name='onelight')
@click.option('-v', '--verbose', is_flag=True, help='Debug output and full tracebacks.')
@click.option('-q', '--quiet', is_flag=True, help='Only results and errors.')
@click.option('-r', '--repository', metavar='NAME', help='Use this repository, not the current.')
@click.option('--strict', is_flag=True, help='A malformed index line is an error, not a warning.')
@click.option(
    '--offline',
    is_flag=True,
    help='Use the cached index and local files only (ONELIGHT_OFFLINE=1).',
)
@click.pass_context
def cli(ctx, verbose, quiet, repository, strict, offline):
    """onelight: publish and fetch ALF experiment data without a database server."""
    ctx.ensure_object(dict)
    ctx.obj.update(
        verbose=verbose, quiet=quiet, repository=repository, strict=strict, offline=offline
    )
    _setup_logging(verbose, quiet)


@cli.command()
@click.argument('name', required=False)
@click.pass_context
def repo(ctx, name):
    """List repositories (current one starred), or make NAME the current one."""
    if name:
        set_repository(name)
        _say(ctx, f'current repository: {name}')
        return
    config = load_config()
    if not config['repositories']:
        _say(
            ctx,
            'no repositories yet: add one with "onelight add_repo NAME --type local '
            '--root-dir FOLDER"',
        )
    rows = []
    for entry in config['repositories']:
        star = '*' if entry['name'] == config['current_repository'] else ' '
        backend = REPOSITORY_TYPES[entry['type']]
        rest = {k: v for k, v in entry.items() if k not in ('name', 'type')}
        shown = mask_secrets(_non_defaults(backend, rest))
        details = '  '.join(
            f'{k}={v if isinstance(v, str) else json.dumps(v)}' for k, v in sorted(shown.items())
        )
        rows.append((star, entry['name'], f'({entry["type"]})', details))
    name_width = max((len(r[1]) for r in rows), default=0)
    type_width = max((len(r[2]) for r in rows), default=0)
    for star, repo_name, kind, details in rows:
        line = f'{star} {repo_name.ljust(name_width)}  {kind.ljust(type_width)}  {details}'
        click.echo(line.rstrip())
    current = config['current_repository']
    if current and current not in {e['name'] for e in config['repositories']}:
        _say(ctx, f'the current repository "{current}" is not configured: onelight repo NAME')


def _non_defaults(backend, settings: dict) -> dict:
    """The settings that differ from the type's defaults (what a user set), in order."""
    declared = backend.declared
    return {
        k: v
        for k, v in settings.items()
        if k not in declared or declared[k].required or v != declared[k].default
    }


def all_settings() -> list:
    """Every declared setting once, with the repository types that have it:
    ``[(Setting, [type, ...]), ...]``."""
    seen = {}
    for cls in REPOSITORY_TYPES.values():
        for setting in cls.declared.values():
            seen.setdefault(setting.name, (setting, []))[1].append(cls.type)
    return list(seen.values())


def _setting_options(func):
    """One command-line option per declared setting of every repository type."""
    for setting, types in reversed(all_settings()):
        flag = '--' + setting.name.replace('_', '-')
        default = '' if setting.default in (None, '') else f' (default {setting.default})'
        text = f'{", ".join(types)}: {setting.help}{default}.'
        if setting.kind == 'bool':
            off = '--' + (setting.off_flag or 'no-' + setting.name.replace('_', '-'))
            func = click.option(f'{flag}/{off}', setting.name, default=None, help=text)(func)
        else:
            kind = {'int': int, 'float': float}.get(setting.kind, str)
            func = click.option(flag, setting.name, type=kind, help=text)(func)
    return func


def settings_table() -> str:
    """The table of every repository type's settings (docs/configuration.md), from their
    declarations."""
    lines = ['| setting | types | kind | default | secret | what it is |', '| --- ' * 6 + '|']
    for s, types in all_settings():
        default = 'required' if s.required else f'`{json.dumps(s.default)}`'
        secret = 'yes' if s.secret else ''
        kind = f'{s.kind}, {s.low:,} to {s.high:,}' if s.low is not None else s.kind
        text = f'| `{s.name}` | {", ".join(types)} | {kind} | {default} | {secret} | {s.help} |'
        lines.append(text)
    return '\n'.join(lines) + '\n'


@cli.command('add_repo')
@click.argument('name')
@click.option(
    '--type',
    'rtype',
    required=True,
    type=click.Choice(sorted(REPOSITORY_TYPES)),
    help='Repository type.',
)
@_setting_options
@click.option(
    '--set-current/--no-set-current',
    default=True,
    help='Make it the current repository (default: yes).',
)
@click.pass_context
def add_repo(ctx, name, rtype, set_current, **options):
    """Add a repository to the configuration."""
    dirs = app_dirs()
    config = load_config(dirs)
    if any(r['name'] == name for r in config['repositories']):
        raise ConfigError(f'a repository named {name!r} exists already')
    backend = REPOSITORY_TYPES[rtype]
    given = {k: v for k, v in options.items() if v not in (None, '')}
    foreign = sorted(set(given) - set(backend.declared))
    if foreign:
        raise ConfigError(
            f'--{foreign[0].replace("_", "-")} is not a setting of {rtype} repositories '
            f'(theirs: {", ".join("--" + n.replace("_", "-") for n in backend.declared)})'
        )
    entry = {'name': name, 'type': rtype, **given}
    for key in backend.required:
        if entry.get(key) in (None, ''):
            if not sys.stdin.isatty():
                raise ConfigError(f'{rtype} repository needs --{key.replace("_", "-")}')
            entry[key] = click.prompt(key.replace('_', ' '), hide_input=is_secret_key(key))
    settings = backend.validate(entry, origin=f'repository "{name}"')
    entry.update(_non_defaults(backend, settings))  # what the user set, checked
    config['repositories'].append(entry)
    if set_current:
        config['current_repository'] = name
    config = validate_config(config, dirs.config_file)  # (its name first)
    backend.check_new(settings, f'repository "{name}"')
    save_config(config, dirs.config_file)
    reset_default()
    _say(
        ctx,
        f'added repository {name} ({rtype})'
        + (' [current]' if config['current_repository'] == name else ''),
    )


@cli.command('config')
def config_cmd():
    """Show the configuration file and the effective settings (secrets masked)."""
    dirs = app_dirs()
    config = load_config(dirs)
    shown = dict(config, repositories=[mask_secrets(r) for r in config['repositories']])
    click.echo(
        f'config file: {dirs.config_file}'
        + ('' if dirs.config_file.exists() else ' (not written yet)')
    )
    click.echo(f'data dir:    {dirs.data}')
    click.echo(f'cache dir:   {dirs.cache}')
    click.echo(json.dumps(shown, indent=2))


@cli.command('scan')
@click.argument('root', type=click.Path(file_okay=False))
@click.option('--sessions-only', is_flag=True, help='List sessions, not files.')
@click.pass_context
def scan_cmd(ctx, root, sessions_only):
    """List the files (or sessions) of an ALF tree under ROOT."""
    result = scan(root)
    index = result.index()
    sessions = list(index.sessions.index)
    if sessions_only:
        _emit(sessions, False)
    else:
        for path, is_alf in zip(row_paths(index.df), index.df['is_alf']):
            click.echo(path if is_alf else f'{path}\t(not ALF)')
    not_alf = int((~index.df['is_alf']).sum())
    _say(
        ctx,
        f'{len(index)} files in {len(sessions)} sessions; {not_alf} not ALF (listed and '
        f'downloadable, not part of objects); {len(result.outside)} outside session folders '
        '(not indexed)',
    )
    for path in result.outside[:5]:
        _say(ctx, f'  outside a session folder: {path}')


@cli.command('index')
@click.argument('root', type=click.Path(file_okay=False))
@click.option('--base-url', help='Public URL of ROOT; writes 2 columns (path, URL).')
@click.option('--checksums', is_flag=True, help='Add size and md5 columns.')
@click.option(
    '--one-cache', is_flag=True, help="Write ONE-api's sessions.pqt and datasets.pqt too."
)
@click.pass_context
def index_cmd(ctx, root, base_url, checksums, one_cache):
    """Write ROOT/.one_root for a folder you publish yourself."""
    if base_url and not re.match(r'^https?://', base_url):
        raise ConfigError(f'--base-url must be an http(s) URL, not {base_url!r}')
    kept = not checksums and index_has_md5(Path(root) / INDEX_NAME)
    checksums = checksums or kept
    result = write_index(
        root, base_url=base_url, checksums=checksums, one_cache=one_cache, require_sessions=True
    )
    _say(
        ctx,
        f'wrote {result.root / INDEX_NAME}: {plural(len(result.files), "file")} in '
        f'{plural(len(result.sessions), "session")}'
        + (' (with md5s, as the index it replaced had them)' if kept else ''),
    )
    if one_cache:
        _say(ctx, _tables_summary(result.one_tables(checksums)))
    click.echo(f'cite: {result.cite}')


def _tables_summary(tables: OneTables) -> str:
    left = f'; {tables.left_out} non-ALF files left out (ONE cannot hold them)'
    return (
        f'wrote ONE cache tables: {len(tables.sessions)} sessions, {len(tables.datasets)} '
        f'datasets{left if tables.left_out else ""}'
    )


@cli.command('search')
@click.argument('datasets', nargs=-1)
@click.option('--lab', multiple=True, help='Lab (partial, a regex or * glob; repeat for OR).')
@click.option(
    '--subject', multiple=True, help='Subject (partial, a regex or * glob; repeat for OR).'
)
@click.option(
    '--date-range',
    nargs=2,
    metavar='START END',
    help='Inclusive dates yyyy-mm-dd; "-" leaves an end open.',
)
@click.option('--date', 'day', help='A single day.')
@click.option('--number', multiple=True, help='Session number.')
@click.option('--collection', multiple=True, help='Only datasets in this collection.')
@click.option('--json', 'as_json', is_flag=True, help='Print a JSON list.')
@click.pass_context
def search_cmd(ctx, datasets, lab, subject, date_range, day, number, collection, as_json):
    """Search sessions having every DATASET (e.g. trials, spikes.times, '_ibl_trials.*'),
    newest first; --json gives each session's record and eid."""
    filters = {}
    for key, value in (
        ('lab', lab),
        ('subject', subject),
        ('number', number),
        ('collection', collection),
    ):
        if value:
            filters[key] = list(value)
    if date_range:
        filters['date_range'] = [None if d in ('-', '') else d for d in date_range]
    if day:
        filters['date_range'] = day
    one = _client(ctx)
    if not as_json:
        found = one.search(list(datasets), **filters)
        _emit(found, False)
    else:
        found, records = one.search(list(datasets), details=True, **filters)
        _emit([{'session': s, **r} for s, r in zip(found, records or [])], True)
    if not found:  # said on stderr: stdout stays what a script reads; the exit status is 0
        subjects = one.list_subjects()
        near = [
            f'; no subject has {s!r} (did you mean {w!r}?)'
            for s in subject
            if not any(s.lower() in x.lower() for x in subjects)
            and (w := nearest_word(s, subjects))
        ]
        _say(
            ctx,
            f'no sessions match (the repository has {plural(len(one.search()), "session")}'
            f' of {plural(len(subjects), "subject")}){"".join(near)}',
        )


@cli.command('list')
@click.argument('session')
@click.option('--collection', help='Only this collection.')
@click.option('--json', 'as_json', is_flag=True, help='Print a JSON list.')
@click.pass_context
def list_cmd(ctx, session, collection, as_json):
    """List the files of SESSION (lab/Subjects/subject/date/number)."""
    _emit(_client(ctx).list_(session, collection=collection), as_json)


@cli.command('download')
@click.argument('session')
@click.argument('obj', metavar='[OBJECT]', required=False)
@click.option('--collection', help='Only this collection.')
@click.option('--dry-run', is_flag=True, help='Show the local paths without downloading.')
@click.option('--force', is_flag=True, help='Download again files that are already complete.')
@click.option(
    '-j',
    '--jobs',
    type=click.IntRange(1, 64),
    help='Downloads at once (default 32).',
)
@click.option(
    '--one-cache',
    is_flag=True,
    default=None,
    help="Keep ONE-api's cache tables of the download folder up to date.",
)
@click.pass_context
def download_cmd(ctx, session, obj, collection, dry_run, force, jobs, one_cache):
    """Download a session (or one OBJECT of it); print the local paths."""
    one = _client(ctx, jobs=jobs)
    paths = one.download(
        session, obj, collection=collection, dry_run=dry_run, force=force, one_cache=one_cache
    )
    _emit([str(p) for p in paths], False)
    if getattr(paths, 'report', None) is not None:
        _say(ctx, paths.report.summary('would download' if dry_run else 'downloaded'))


@cli.command('verify')
@click.argument('sessions', nargs=-1)
@click.option('--repair', is_flag=True, help='Download again what is missing or wrong.')
@click.pass_context
def verify_cmd(ctx, sessions, repair):
    """Check local copies against the index (size, and md5 where known); exit 1 if wrong."""
    problems = _client(ctx).verify(list(sessions), repair=repair)
    for problem, path in problems:
        click.echo(f'{problem:10s} {path}')
    if problems:
        _say(
            ctx,
            f'{plural(len(problems), "file")} missing, different or left partial'
            + (' after repair' if repair else '; "onelight verify --repair" puts them right'),
        )
        raise click.exceptions.Exit(1)
    _say(ctx, 'all local copies match the index')


@cli.command('upload')
@click.argument('root', type=click.Path(file_okay=False))
@click.option('--dry-run', is_flag=True, help='Show what would be sent.')
@click.option('--limit', type=click.IntRange(min=1), help='Upload at most N files.')
@click.option('--force', is_flag=True, help='Send files that look up to date too.')
@click.option('--checksums', is_flag=True, help='Publish size and md5 in the index.')
@click.option('--one-cache', is_flag=True, help="Publish ONE-api's cache tables beside the index.")
@click.option(
    '--pack/--no-pack',
    default=None,
    help='Send the files in ZIP volumes (default: the "pack" setting; zenodo: when needed).',
)
@click.pass_context
def upload_cmd(ctx, root, dry_run, limit, force, checksums, one_cache, pack):
    """Publish the ALF tree under ROOT to the repository; the index goes last."""
    report = _client(ctx).upload(
        root,
        dry_run=dry_run,
        limit=limit,
        force=force,
        checksums=checksums,
        one_cache=one_cache,
        pack=pack,
    )
    if dry_run:
        _emit(report.paths, False)
    _say(ctx, report.summary('would upload' if dry_run else 'uploaded'))
    if report.cite:
        click.echo(f'cite: {report.cite}')


@cli.command('clean_publish')
@click.option('--checksums', is_flag=True, help='Publish size and md5 in the index.')
@click.pass_context
def clean_publish_cmd(ctx, checksums):
    """figshare, zenodo: publish what was uploaded (a new version where one is out)."""
    done = _client(ctx).publish(checksums=checksums)
    if 'record_id' in done:
        again = f' (a new version of {done["previous"]})' if done['previous'] else ''
        _say(ctx, f'published Zenodo record {done["record_id"]}{again}: {done["files"]} files')
    else:
        _say(
            ctx,
            f'published article {done["article_id"]}: {done["files"]} files, '
            f'{done["removed"]} duplicate or broken files removed',
        )
    click.echo(f'cite: {done["cite"]}')


@cli.command('serve')
@click.argument('root', type=click.Path(file_okay=False))
@click.option(
    '--host',
    '--bind',
    'bind',
    default='127.0.0.1',
    show_default=True,
    help='Address to listen on (0.0.0.0: every network of this computer).',
)
@click.option(
    '--port', default=8780, show_default=True, type=click.IntRange(0, 65535), help='0: any free.'
)
@click.pass_context
def serve_cmd(ctx, root, bind, port):
    """Publish the ALF folder ROOT over HTTP (read-only) until Ctrl-C, as it is now: files
    added later are served after a restart; a file replaced by another or by a link is
    not served (a file rewritten in place is, with its new bytes)."""
    try:
        server = _serving()[1](root, bind=bind, port=port)
    except OSError as e:
        if e.errno != errno.EADDRINUSE:
            raise
        raise ConfigError(
            f'port {port} is in use: choose another with --port, or --port 0 for any free one'
        ) from None
    click.echo(f'serving {len(server.files)} files of {server.root} at {server.url}')
    import socket

    host, port = socket.gethostname(), server.server_address[1]
    add = 'onelight add_repo NAME --type http --base-url'
    if bind.startswith('127.') or bind in ('localhost', '::1'):  # no one else reaches it
        click.echo(f'add it on this computer with: {add} {server.url}')
        click.echo(
            f'to serve colleagues: onelight serve ROOT --host 0.0.0.0 --port {port}; they '
            f"add http://{host}:{port}/ (or this computer's address)"
        )
    else:
        url = server.url.replace(bind, host) if bind in ('0.0.0.0', '::') else server.url
        click.echo(f'a colleague adds it with: {add} {url}')
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        _say(ctx, 'stopped')
    finally:
        server.server_close()


@cli.command('demo')
@click.pass_context
def demo_cmd(ctx):
    """Generate a small ALF dataset, serve it on 127.0.0.1, search, download and load it."""
    import shutil

    start = time.perf_counter()
    dirs = app_dirs()
    root = dirs.data / 'demo'
    if root.exists():
        shutil.rmtree(root)
    sessions = make_demo_data(root)
    click.echo(f'generated {len(sessions)} sessions under {root}')
    for old in (*dirs.cache.glob('index/demo-*'), *dirs.cache.glob('verified/demo-*')):
        old.unlink(missing_ok=True)  # an earlier run's server had another port: another key
    with _serving()[1](root, port=0) as server:
        click.echo(f'serving them at {server.url} (like "onelight serve")')
        template = str(
            Path('{data_dir}', 'demo-downloads', '{lab}', '{subject}', '{date}', '{number}')
        )
        downloads = dirs.data / 'demo-downloads'
        shutil.rmtree(downloads, ignore_errors=True)
        one = One('demo', base_url=server.url, download_dir=template, progress=False)
        click.echo(f'index: {len(one.index)} files; search terms: {", ".join(one.search_terms())}')
        found = one.search(['trials', 'spikes'], subject='Cori')
        click.echo(f"search(['trials', 'spikes'], subject='Cori') -> {found}")
        click.echo(
            f"search(['wheel']) -> {len(one.search(['wheel']))} sessions; "
            f"search(['_ibl_trials.*']) -> {one.search(['_ibl_trials.*'])}"
        )
        paths = one.download(found[0])
        click.echo(f'download({found[0]!r}): {paths.report.summary("downloaded")}')
        trials = one.load_object(found[0], 'trials')
        click.echo(f'load_object({found[0]!r}, "trials") from {paths[0].parents[1]}:')
        for key, value in sorted(trials.items()):
            click.echo(f'  {key:26s} {getattr(value, "shape", "")} {getattr(value, "dtype", "")}')
        correct = float(np.mean(trials.feedbackType == 1))
        click.echo(f'  {len(trials.goCue_times)} trials, {correct:.0%} rewarded')
        spikes = one.load_object(found[0], 'spikes')
        click.echo(
            f'load_object(..., "spikes"): {len(spikes.times)} spikes, '
            f'{len(np.unique(spikes.clusters))} clusters'
        )
    click.echo(
        f'server stopped; done in {time.perf_counter() - start:.1f} s. Serve it yourself with: '
        f'onelight serve "{root}"'
    )
    click.echo(_register_demo(dirs, root))


def _register_demo(dirs: Dirs, root: Path) -> str:
    """Make the demo data the ``demo`` repository when no repository is configured, so that
    the next command (``onelight search spikes``) has something to answer; what was done."""
    config = load_config(dirs)
    if any(r['name'] == 'demo' for r in config['repositories']):
        return 'the repository "demo" holds this data: onelight -r demo search spikes'
    if config['repositories']:
        return f'to search it: onelight add_repo demo --type local --root-dir "{root}"'
    entry = {'name': 'demo', 'type': 'local', 'root_dir': str(root)}
    config['repositories'].append(entry)
    config['current_repository'] = 'demo'
    save_config(validate_config(config, dirs.config_file), dirs.config_file)
    reset_default()
    return 'registered it as the repository "demo" (the current one); try: onelight search spikes'


if __name__ == '__main__':
    cli()
