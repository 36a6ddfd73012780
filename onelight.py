"""onelight: publish and fetch ALF experiment data without a database server.

onelight is both a command-line tool (``onelight ...`` or ``python onelight.py ...``) and a
library::

    import onelight as one
    sessions = one.search(['trials'], subject='Cori')
    trials = one.load_object(sessions[0], 'trials')

The module reads from top to bottom: errors, configuration, ALF names, the ``.one_root``
index, transfers, repositories (backends), loaders, the ``One`` client, the module-level API
and, last, the command-line interface.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import fnmatch
import hashlib
import json
import logging
import os
import re
import shutil
import string
import sys
import tempfile
import time
import urllib.parse
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import click
import numpy as np
import pandas as pd

__version__ = '0.1.0'

logger = logging.getLogger('onelight')


# =============================================================================================
# Errors
# =============================================================================================
# Every failure a user can cause raises a subclass of OneLightError. The CLI turns these into
# one line on stderr and exit status 1; library users can catch the specific class.


class OneLightError(Exception):
    """Base class of every error onelight raises on purpose."""


class ConfigError(OneLightError):
    """The configuration file or a repository's settings are missing or malformed."""


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


class DataFormatError(OneLightError):
    """A data file cannot be loaded (corrupt, or unsafe such as a pickled object array)."""


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
SECRET_KEYS = frozenset({'password', 'token', 'ftp_password'})
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


def atomic_write_bytes(path: Path, data: bytes, mode: int | None = None) -> None:
    """Write ``data`` to ``path`` so that readers see the old file or the new one, never a mix.

    The bytes go to a temporary file in the same folder, which then replaces ``path``.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f'.{path.name}.', suffix='.tmp', dir=path.parent)
    try:
        with os.fdopen(fd, 'wb') as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        if mode is not None:
            os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def read_json_file(path: Path, what: str) -> dict:
    """Read a JSON object from ``path``; a syntax error names the file, line and column."""
    try:
        text = Path(path).read_text(encoding='utf-8-sig')
    except UnicodeDecodeError as e:
        raise ConfigError(f'{what} {path} is not UTF-8 text ({e.reason})') from None
    except OSError as e:
        raise ConfigError(f'cannot read {what} {path}: {e.strerror}') from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise ConfigError(
            f'{what} {path} is not valid JSON: line {e.lineno} column {e.colno}: {e.msg}'
        ) from None
    if not isinstance(data, dict):
        raise ConfigError(f'{what} {path} must hold a JSON object, not {type(data).__name__}')
    return data


def default_config() -> dict:
    return {'repositories': [], 'current_repository': None, 'download_dir': DEFAULT_DOWNLOAD_DIR}


def validate_config(cfg: dict, path) -> dict:
    """Check the schema of a configuration and fill in defaults; raise ConfigError if wrong."""
    out = default_config()
    out.update(cfg)
    repos = out['repositories']
    if not isinstance(repos, list) or not all(isinstance(r, dict) for r in repos):
        raise ConfigError(f'config file {path}: "repositories" must be a list of objects')
    names = set()
    for i, repo in enumerate(repos):
        name, rtype = repo.get('name'), repo.get('type')
        if not isinstance(name, str) or not name:
            raise ConfigError(f'config file {path}: repository #{i + 1} has no "name"')
        if name in names:
            raise ConfigError(f'config file {path}: two repositories are named "{name}"')
        names.add(name)
        if rtype not in REPOSITORY_TYPES:
            raise ConfigError(
                f'config file {path}: repository "{name}" has unknown type '
                f'{rtype!r} (known: {", ".join(sorted(REPOSITORY_TYPES))})'
            )
    current = out['current_repository']
    if current is not None and current not in names:
        raise ConfigError(
            f'config file {path}: current_repository "{current}" is not one of '
            f'the repositories ({", ".join(sorted(names)) or "none"})'
        )
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
    new = default_config()
    new['repositories'] = repos
    names = {r['name'] for r in repos}
    if cfg.get('current_repository') in names:
        new['current_repository'] = cfg['current_repository']
    elif repos:
        new['current_repository'] = repos[0]['name']
    if isinstance(cfg.get('download_dir'), str):
        with contextlib.suppress(ConfigError):
            check_download_template(cfg['download_dir'], legacy)
            new['download_dir'] = cfg['download_dir']
    new = validate_config(new, legacy)
    save_config(new, dirs.config_file)
    logger.warning(
        'imported %d repositories from %s into %s', len(repos), legacy, dirs.config_file
    )
    return new


def load_config(dirs: Dirs | None = None) -> dict:
    """Read the configuration (never rewriting it); defaults when there is none yet."""
    dirs = dirs or app_dirs()
    path = dirs.config_file
    if not path.exists():
        return import_legacy_config(dirs) or default_config()
    return validate_config(read_json_file(path, 'config file'), path)


def save_config(cfg: dict, path: Path | None = None) -> None:
    """Write the configuration atomically with mode 0600 (it can hold tokens)."""
    path = path or app_dirs().config_file
    atomic_write_bytes(path, (json.dumps(cfg, indent=2) + '\n').encode(), mode=0o600)


def mask_secrets(settings: dict) -> dict:
    """Return a copy of repository settings with passwords, tokens and URL credentials masked.

    >>> mask_secrets({'token': 'abc', 'base_url': 'https://u:pw@h/'})
    {'token': '****', 'base_url': 'https://u:****@h/'}
    """
    out = {}
    for key, value in settings.items():
        if key in SECRET_KEYS and value:
            out[key] = '****'
        elif isinstance(value, str) and '://' in value:
            out[key] = mask_url(value)
        else:
            out[key] = value
    return out


def mask_url(url: str) -> str:
    """Hide the password in a URL's user-info part."""
    parts = urllib.parse.urlsplit(url)
    if parts.password:
        netloc = f'{parts.username}:****@{parts.hostname}'
        if parts.port:
            netloc += f':{parts.port}'
        return urllib.parse.urlunsplit(parts._replace(netloc=netloc))
    return url


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


def session_download_dir(
    template: str,
    *,
    data_dir: Path,
    repository: str,
    lab: str,
    subject: str,
    date: str,
    number: str,
) -> Path:
    """Expand a download-dir template into the local folder of one session.

    A legacy template ending in ``/alf/`` names the session folder's ``alf`` collection; the
    session folder is its parent, so collections keep their own sub-paths.

    >>> session_download_dir('/d/{lab}/{subject}/{date}/{number}/alf/', data_dir=Path('/x'),
    ...     repository='r', lab='l', subject='s', date='2020-01-01', number='001')
    PosixPath('/d/l/s/2020-01-01/001')
    """
    values = dict(
        data_dir=str(data_dir),
        repository=repository,
        lab=lab,
        subject=subject,
        date=date,
        number=number,
    )
    for key in ('repository', 'lab', 'subject'):
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

_FILE_SPEC = (
    r'_?(?P<namespace>(?<=_)[a-zA-Z0-9]+)?_?(?P<object>\w+)\.'
    r'(?P<attribute>(?:_[a-z]+_)?[a-zA-Z0-9]+(?:_times(?=[_.])|_intervals(?=[_.]))?)'
    r'(?:_(?P<timescale>\w+))?(?:\.(?P<extra>[.\w-]+))*\.(?P<extension>\w+)'
)
_COLLECTION_SPEC = r'(?:(?P<collection>[\w./-]+)/)?(?:#(?P<revision>[\w.-]+)#/)?'
_SESSION_SPEC = (
    r'(?:(?P<lab>\w+)/Subjects/)?(?P<subject>[\w.-]+)/'
    r'(?P<date>\d{4}-\d{2}-\d{2})/(?P<number>\d{1,3})'
)
FILE_RE = re.compile(_FILE_SPEC + '$')
REL_PATH_RE = re.compile(_COLLECTION_SPEC + _FILE_SPEC + '$')
FULL_PATH_RE = re.compile(_SESSION_SPEC + '/' + _COLLECTION_SPEC + _FILE_SPEC + '$')
SESSION_RE = re.compile(_SESSION_SPEC)
SESSION_END_RE = re.compile(_SESSION_SPEC + '/?$')
# Session identifiers given to the API: the tail of a path, lab optional, lab/subject lenient.
SESSION_TAIL_RE = re.compile(
    r'(?:^|/)(?:(?P<lab>[^/]+)/Subjects/)?(?P<subject>[^/]+)/'
    r'(?P<date>\d{4}-\d{2}-\d{2})/(?P<number>\d{1,3})$'
)
_UNSAFE_CHARS_RE = re.compile(r'[\x00-\x1f\x7f\\:*?"<>|\udc80-\udcff]')


def _match_parts(regex: re.Pattern, text: str, what: str, fields) -> dict:
    m = regex.match(text)
    if not m:
        raise ALFError(f'not a valid ALF {what}: {text!r}')
    return {k: m.group(k) for k in fields}


def parse_filename(name: str) -> dict:
    """Split an ALF file name into its parts; raise ALFError if it is not one.

    >>> parse_filename('_ibl_trials.goCue_times_bpod.csv')['timescale']
    'bpod'
    """
    return _match_parts(FILE_RE, name, 'file name', ALF_PARTS)


def is_alf_filename(name: str) -> bool:
    """True when ``name`` is a valid ALF file name (``spikes.times.npy`` is, ``foo.npy`` not)."""
    return FILE_RE.match(name) is not None


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
    raise ALFError(f'not a valid full ALF path: {path!r}')


def is_session_path(path) -> bool:
    """True when ``path`` ends with a session folder (``.../subject/2020-01-01/001``)."""
    return SESSION_END_RE.search(str(path).replace('\\', '/')) is not None


def session_path_parts(path) -> dict:
    """Find the session parts (lab, subject, date, number) anywhere in ``path``.

    Parts not found are None.

    >>> session_path_parts('/mnt/Data/Subjects/m1/2019-12-04/001/alf')['lab']
    'Data'
    """
    m = SESSION_RE.search(str(path).replace('\\', '/'))
    return {k: (m.group(k) if m else None) for k in SESSION_FIELDS}


def parse_session(session) -> dict:
    """Parse a session identifier given by a user into lab, subject, date and number.

    Accepts ``lab/Subjects/subject/date/number``, with a trailing slash, with backslashes, or
    as the tail of a longer local path; ``subject/date/number`` leaves ``lab`` as None.

    >>> parse_session('C:\\\\data\\\\lab\\\\Subjects\\\\m1\\\\2020-01-01\\\\1\\\\')['number']
    '1'
    """
    text = str(session).replace('\\', '/').rstrip('/')
    m = SESSION_TAIL_RE.search(text)
    if not m:
        raise ALFError(
            f'not a session path: {session!r} (expected lab/Subjects/subject/yyyy-mm-dd/number)'
        )
    return {k: m.group(k) for k in SESSION_FIELDS}


def is_safe_segment(segment: str) -> bool:
    """True when one path segment can be written under a folder on every OS without escaping it.

    >>> is_safe_segment('..'), is_safe_segment('C:'), is_safe_segment('alf')
    (False, False, True)
    """
    return (
        bool(segment)
        and segment not in ('.', '..')
        and len(segment.encode('utf-8', 'replace')) <= 255
        and not _UNSAFE_CHARS_RE.search(segment)
        and segment == segment.strip()
    )


def is_safe_relpath(path: str) -> bool:
    """True for a ``/``-separated relative path whose every segment is safe."""
    return (
        bool(path)
        and not path.startswith('/')
        and len(path) <= 4096
        and all(is_safe_segment(s) for s in path.split('/'))
    )


def dataset_parts(filename: str, dirs: str = '') -> dict:
    """Collection, revision and ALF parts of a file inside a session (parts None if not ALF).

    ``dirs`` is the folder path between the session folder and the file, e.g. ``alf/#v2#``.
    """
    dirs = dirs.strip('/')
    collection, revision = dirs, None
    last = dirs.rsplit('/', 1)[-1]
    if len(last) > 2 and last.startswith('#') and last.endswith('#'):
        revision = last[1:-1]
        collection = dirs[: -len(last)].rstrip('/')
    m = FILE_RE.match(filename)
    alf_dirs = (
        (not collection or re.fullmatch(r'[\w./-]+', collection))
        and (revision is None or re.fullmatch(r'[\w.-]+', revision))
        and '#' not in collection
    )
    out = {'collection': collection or None, 'revision': revision, 'is_alf': bool(m and alf_dirs)}
    out.update({k: (m.group(k) if m else None) for k in ALF_PARTS})
    return out


def wildcard_regex(patterns) -> re.Pattern:
    """Compile one or several terms, where ``*`` matches anything, into one full-match regex.

    >>> bool(wildcard_regex(['trials.*', 'wheel']).fullmatch('trials.goCue_times'))
    True
    """
    if isinstance(patterns, str):
        patterns = [patterns]
    alts = [re.escape(str(p)).replace(r'\*', '.*') for p in patterns]
    return re.compile('(?:' + '|'.join(alts) + ')', re.DOTALL)


# =============================================================================================
# The index (.one_root)
# =============================================================================================
# A TSV without header, one line per file: "path<TAB>url" (2 columns), "path" (1 column, the
# URL is the repository's base URL + the percent-encoded path) or "path<TAB>url<TAB>size<TAB>md5".
# It is held as a pandas DataFrame, one row per file, whose ALF parts are categorical columns
# computed once per distinct session, folder and file name (never per row in Python).

INDEX_COLUMNS = ('path', 'url', 'size', 'md5')
SKIPPED_NAMES = frozenset({INDEX_NAME, '.DS_Store', 'Thumbs.db', 'desktop.ini'})
PARTIAL_SUFFIX = '.part'
_INDEX_PATH_RE = (
    r'^(?P<session>[^/]+/Subjects/[^/]+/\d{4}-\d{2}-\d{2}/\d{1,3})/'
    r'(?P<dirs>(?:[^/]+/)*)(?P<filename>[^/]+)$'
)
_MAX_LINE = 8192
_MAX_WARNINGS = 10


def quote_path(path: str) -> str:
    """Percent-encode an index path for a URL, keeping ``/`` (``#`` of revisions is encoded).

    >>> quote_path('lab/Subjects/m 1/2020-01-01/001/alf/#v2#/a.b.npy')
    'lab/Subjects/m%201/2020-01-01/001/alf/%23v2%23/a.b.npy'
    """
    return urllib.parse.quote(path, safe='/')


def join_url(base_url: str, path: str) -> str:
    """The URL of an index path under a repository's base URL."""
    return base_url.rstrip('/') + '/' + quote_path(path)


def _split_index_lines(data: bytes) -> pd.Series:
    text = data.decode('utf-8', 'surrogateescape')
    if text.startswith('\ufeff'):
        text = text[1:]
    return pd.Series(text.split('\n'), dtype=object).str.removesuffix('\r')


def _category_flags(cat: pd.Categorical, check) -> np.ndarray:
    """Evaluate ``check`` once per category and broadcast the booleans to the rows."""
    per_category = np.array([bool(check(c)) for c in cat.categories] + [False], dtype=bool)
    return per_category[cat.codes]  # code -1 (missing) takes the trailing False


def _broadcast_parts(cat: pd.Categorical, parse, columns) -> dict:
    """Apply ``parse`` once per category; return one column per part for the rows.

    Parts named ``is_*`` are booleans; the others become categoricals.
    """
    table = pd.DataFrame([parse(c) for c in cat.categories], columns=columns)
    out = {}
    for col in columns:
        values = table[col]
        if col.startswith('is_'):
            out[col] = np.append(values.to_numpy(dtype=bool), False)[cat.codes]
            continue
        part = pd.Categorical(values.astype(object).where(values.notna(), None))
        codes = np.append(part.codes, -1)[cat.codes]
        out[col] = pd.Categorical.from_codes(codes, categories=part.categories)
    return out


class Index:
    """The parsed ``.one_root`` of a repository: one row per file, ALF parts as columns.

    Columns: ``path`` (relative to the repository root), ``url`` (None for 1-column lines),
    ``size``, ``md5``, ``session``, ``lab``, ``subject``, ``date``, ``number``, ``dirs`` (the
    folders between session and file, ``alf/#v2#/``), ``collection``, ``revision``,
    ``filename``, the ALF parts (``namespace`` ... ``extension``) and ``is_alf``.
    """

    def __init__(self, df: pd.DataFrame, base_url: str | None = None):
        self.df = df
        self.base_url = base_url
        self._sessions = None

    def __len__(self):
        return len(self.df)

    def __repr__(self):
        return f'<Index of {len(self.df)} files in {len(self.sessions)} sessions>'

    # ----------------------------------------------------------------------- reading and writing
    @classmethod
    def from_bytes(
        cls,
        data: bytes,
        *,
        base_url: str | None = None,
        strict: bool = False,
        origin: str = INDEX_NAME,
    ) -> Index:
        """Parse the bytes of a ``.one_root``. Bad lines are skipped with a warning naming them.

        With ``strict=True`` the first bad line raises IndexFormatError instead.
        """
        lines = _split_index_lines(data)
        lineno = np.arange(1, len(lines) + 1)
        keep = lines.str.strip() != ''
        lines, lineno = lines[keep].reset_index(drop=True), lineno[keep.to_numpy()]
        cols = lines.str.split('\t', n=4, expand=True)
        cols = cols.reindex(columns=range(5))
        ncols = cols.notna().sum(axis=1).to_numpy()
        reasons = pd.Series('', index=lines.index, dtype=object)

        def flag(mask, reason):
            mask = np.asarray(mask, dtype=bool) & (reasons.to_numpy() == '')
            reasons[mask] = reason

        flag(lines.str.len().to_numpy() > _MAX_LINE, f'line longer than {_MAX_LINE} characters')
        flag(~np.isin(ncols, (1, 2, 4)), 'expected 1, 2 or 4 tab-separated columns')
        paths = cols[0].fillna('').astype(object)
        flag(paths.str.contains(r'[\udc80-\udcff]', regex=True).to_numpy(), 'not UTF-8')
        parts = paths.str.extract(_INDEX_PATH_RE)
        flag(
            parts['session'].isna().to_numpy(),
            'path is not inside a session folder lab/Subjects/subject/yyyy-mm-dd/number/',
        )
        session = pd.Categorical(parts['session'])
        dirs = pd.Categorical(parts['dirs'].fillna(''))
        filename = pd.Categorical(parts['filename'])
        flag(_category_flags(session, lambda s: not is_safe_relpath(s)), 'unsafe session folder')
        flag(
            _category_flags(dirs, lambda d: d and not is_safe_relpath(d.rstrip('/'))),
            'unsafe folder name (.., backslash, control or reserved character)',
        )
        flag(
            _category_flags(
                filename,
                lambda f: (
                    not is_safe_segment(f) or f in SKIPPED_NAMES or f.endswith(PARTIAL_SUFFIX)
                ),
            ),
            'unsafe or reserved file name',
        )
        url = cols[1].astype(object).where(cols[1].notna() & (cols[1] != ''), None)
        bad_url = url.notna() & ~url.fillna('').str.match(r'^https?://[^\s\x00-\x1f\x7f]+$')
        flag(bad_url.to_numpy(), 'URL column is not an http(s) URL')
        size = pd.to_numeric(cols[2].where(ncols == 4), errors='coerce')
        flag((ncols == 4) & (size.isna() | (size < 0)).to_numpy(), 'size is not a number')
        md5 = cols[3].astype(object).where(ncols == 4, None)
        flag(
            (ncols == 4) & ~md5.fillna('').str.fullmatch(r'[0-9a-fA-F]{32}').to_numpy(),
            'md5 is not 32 hex digits',
        )
        dup = paths.duplicated(keep='first').to_numpy()
        flag(dup, 'duplicate path (the first line wins)')
        bad = reasons.to_numpy() != ''
        if bad.any():
            _report_bad_lines(lineno[bad], reasons[bad], paths[bad], origin, strict)
        good = ~bad
        return cls._build(
            paths[good],
            url[good],
            size[good],
            md5[good],
            session[good],
            dirs[good],
            filename[good],
            base_url=base_url,
        )

    @classmethod
    def from_paths(cls, paths, *, base_url: str | None = None, sizes=None) -> Index:
        """Build an index from relative paths already known to be safe (e.g. from a scan)."""
        data = '\n'.join(paths).encode('utf-8', 'surrogateescape')
        index = cls.from_bytes(data, base_url=base_url, strict=True, origin='scanned folder')
        if sizes is not None:
            index.df['size'] = pd.array(list(sizes), dtype='Int64')
        return index

    @classmethod
    def _build(cls, paths, url, size, md5, session, dirs, filename, base_url):
        session = session.remove_unused_categories()
        dirs = dirs.remove_unused_categories()
        filename = filename.remove_unused_categories()
        df = pd.DataFrame(
            {
                'path': paths.to_numpy(dtype=object),
                'url': url.to_numpy(dtype=object),
                'size': pd.array(size.to_numpy(), dtype='Int64'),
                'md5': md5.str.lower().to_numpy(dtype=object),
                'session': session,
            }
        )
        df = df.assign(
            **_broadcast_parts(
                session, lambda s: dict(zip(SESSION_FIELDS, _session_fields(s))), SESSION_FIELDS
            )
        )
        dir_parts = _broadcast_parts(
            dirs, lambda d: dataset_parts('x.y.z', d), ['collection', 'revision', 'is_alf']
        )
        name_parts = _broadcast_parts(filename, lambda f: dataset_parts(f), [*ALF_PARTS, 'is_alf'])
        df['dirs'] = dirs
        df['collection'] = dir_parts['collection']
        df['revision'] = dir_parts['revision']
        df['filename'] = filename
        for part in ALF_PARTS:
            df[part] = name_parts[part]
        df['is_alf'] = dir_parts['is_alf'] & name_parts['is_alf']
        return cls(df.reset_index(drop=True), base_url=base_url)

    def to_bytes(self, *, columns: int = 2) -> bytes:
        """Serialise as a ``.one_root``: 1, 2 (default) or 4 columns."""
        df = self.df
        if columns == 1:
            rows = df['path']
        else:
            urls = self.urls()
            rows = df['path'] + '\t' + urls
            if columns == 4:
                if df['size'].isna().any() or df['md5'].isna().any():
                    raise IndexFormatError('4-column index needs a size and md5 for every file')
                rows = rows + '\t' + df['size'].astype(str) + '\t' + df['md5'].astype(str)
            elif columns != 2:
                raise ValueError('columns must be 1, 2 or 4')
        return ('\n'.join(rows) + ('\n' if len(rows) else '')).encode('utf-8')

    # --------------------------------------------------------------------------- lookups
    def urls(self, rows: pd.DataFrame | None = None) -> pd.Series:
        """Download URLs of the rows (the base URL + path where a line named none)."""
        rows = self.df if rows is None else rows
        url = rows['url']
        missing = url.isna()
        if missing.any():
            if not self.base_url:
                raise RepositoryError('index lines without a URL and no base URL to resolve them')
            url = url.copy()
            url[missing] = [join_url(self.base_url, p) for p in rows['path'][missing]]
        return url

    @property
    def sessions(self) -> pd.DataFrame:
        """One row per session (index: the session path), columns lab, subject, date, number."""
        if self._sessions is None:
            cats = self.df['session'].cat.categories
            table = pd.DataFrame(
                [dict(zip(SESSION_FIELDS, _session_fields(s))) for s in cats],
                index=pd.Index(cats, name='session'),
                columns=SESSION_FIELDS,
            )
            self._sessions = table
        return self._sessions

    def resolve_session(self, session) -> str:
        """Find the index's session path for a user's session identifier.

        Session numbers compare as numbers (``1`` finds ``001``); a missing lab matches any
        lab when only one has that subject, date and number.
        """
        wanted = parse_session(session)
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
            raise NotFoundError(f'session {_session_text(wanted)} is not in this repository')
        if len(found) > 1:
            raise AmbiguousError(
                f'session {_session_text(wanted)} matches several sessions: '
                f'{", ".join(found)}; give the lab too'
            )
        return found[0]

    def session_files(self, session: str) -> pd.DataFrame:
        """Rows of one (resolved) session."""
        codes = self.df['session'].cat.codes.to_numpy()
        code = self.df['session'].cat.categories.get_loc(session)
        rows = self.df[codes == code]
        return rows.assign(rel=rows['dirs'].astype(str) + rows['filename'].astype(str))

    def term_mask(self, term: str) -> np.ndarray:
        """Boolean mask of the files a dataset term matches (see ``dataset_aliases``)."""
        regex = wildcard_regex(term)
        cat = self.df['filename'].cat
        flags = [any(regex.fullmatch(a) for a in dataset_aliases(f)) for f in cat.categories]
        return np.append(np.array(flags, dtype=bool), False)[cat.codes.to_numpy()]

    def column_mask(self, column: str, values) -> np.ndarray:
        """Rows whose categorical ``column`` matches one of ``values`` (``*`` wildcards)."""
        regex = wildcard_regex(values)
        cat = self.df[column].cat
        flags = [bool(regex.fullmatch(str(c))) for c in cat.categories]
        none_matches = bool(regex.fullmatch(''))
        return np.append(np.array(flags, dtype=bool), none_matches)[cat.codes.to_numpy()]


def _session_fields(session: str) -> tuple:
    lab, _, subject, date, number = session.split('/')
    return lab, subject, date, number


def _session_text(parts: dict) -> str:
    head = f'{parts["lab"]}/Subjects/' if parts.get('lab') else ''
    return f'{head}{parts["subject"]}/{parts["date"]}/{parts["number"]}'


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


def _report_bad_lines(linenos, reasons, paths, origin, strict):
    if strict:
        raise IndexFormatError(
            f'{origin} line {linenos[0]}: {reasons.iloc[0]} ({_printable(paths.iloc[0])})'
        )
    for n, reason, path in list(zip(linenos, reasons, paths))[:_MAX_WARNINGS]:
        logger.warning('%s line %d skipped: %s (%s)', origin, n, reason, _printable(path))
    if len(linenos) > _MAX_WARNINGS:
        logger.warning('%s: %d more bad lines skipped', origin, len(linenos) - _MAX_WARNINGS)


def _printable(text: str, limit: int = 80) -> str:
    """A short, escaped rendering of untrusted text for messages."""
    text = repr(text)[1:-1]
    return text if len(text) <= limit else text[:limit] + '...'


@dataclass
class ScanResult:
    """What ``scan`` found under a folder."""

    root: Path
    files: list  # relative paths inside session folders, '/'-separated, sorted
    sizes: list
    outside: list  # files that are not inside a session folder (not indexed)

    def index(self, base_url: str | None = None) -> Index:
        return Index.from_paths(self.files, base_url=base_url, sizes=self.sizes)


def scan(root) -> ScanResult:
    """List the files under ``root`` (recursively, with ``os.scandir``).

    Every regular file inside a session folder is kept (ALF or not); hidden files, ``.one_root``,
    ``.DS_Store`` and partial downloads are skipped; files outside session folders are reported.
    """
    root = Path(root).expanduser()
    if not root.is_dir():
        raise NotFoundError(f'not a folder: {root}')
    session_re = re.compile(_INDEX_PATH_RE)
    files, sizes, outside = [], [], []
    stack = [('', os.fspath(root))]
    while stack:
        prefix, folder = stack.pop()
        try:
            entries = list(os.scandir(folder))
        except OSError as e:
            logger.warning('cannot read folder %s: %s', folder, e.strerror)
            continue
        for entry in entries:
            name = entry.name
            if name.startswith('.') or name in SKIPPED_NAMES or name.endswith(PARTIAL_SUFFIX):
                continue
            rel = prefix + name
            if entry.is_dir(follow_symlinks=False):
                stack.append((rel + '/', entry.path))
            elif entry.is_file():
                if session_re.match(rel) and is_safe_relpath(rel):
                    files.append(rel)
                    sizes.append(entry.stat().st_size)
                else:
                    outside.append(rel)
    order = sorted(range(len(files)), key=files.__getitem__)
    return ScanResult(root, [files[i] for i in order], [sizes[i] for i in order], sorted(outside))


def md5sum(path, chunk: int = 1 << 20) -> str:
    """The md5 hex digest of a file, read in 1 MiB chunks."""
    digest = hashlib.md5(usedforsecurity=False)
    with open(path, 'rb') as f:
        for block in iter(lambda: f.read(chunk), b''):
            digest.update(block)
    return digest.hexdigest()


def write_index(root, *, base_url: str | None = None, checksums: bool = False) -> Index:
    """Scan ``root`` and write ``root/.one_root`` atomically.

    With ``base_url`` the index has 2 columns (path, URL); without, 1 column (readers add their
    base URL). ``checksums=True`` adds size and md5 (4 columns; the URL cell is left empty
    when there is no base URL, and readers then use their base URL).
    """
    result = scan(root)
    index = result.index(base_url)
    if checksums:
        index.df['md5'] = [md5sum(result.root / p) for p in result.files]
        urls = index.df['url'] if not base_url else index.urls()
        rows = (
            index.df['path']
            + '\t'
            + urls.fillna('')
            + '\t'
            + index.df['size'].astype(str)
            + '\t'
            + index.df['md5']
        )
        data = ''.join(r + '\n' for r in rows).encode('utf-8')
    else:
        data = index.to_bytes(columns=2 if base_url else 1)
    atomic_write_bytes(result.root / INDEX_NAME, data)
    return index


# =============================================================================================
# Transfers
# =============================================================================================
# Every file onelight writes into a download or repository folder goes through a temporary
# ``<name>.part`` beside its destination and is moved into place with ``os.replace`` only once
# complete, so a final file is never partial.


def part_path(dest: Path) -> Path:
    """The temporary file a transfer writes before moving into ``dest``."""
    return dest.with_name(dest.name + PARTIAL_SUFFIX)


def copy_file_atomic(src: Path, dest: Path, chunk: int = 1 << 20) -> int:
    """Copy ``src`` to ``dest`` through ``dest.part``; return the number of bytes copied."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = part_path(dest)
    try:
        with open(src, 'rb') as fin, open(tmp, 'wb') as fout:
            shutil.copyfileobj(fin, fout, chunk)
        os.replace(tmp, dest)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    return dest.stat().st_size


def safe_join(root: Path, rel: str) -> Path:
    """``root / rel`` for an index path, refusing anything that could leave ``root``."""
    if not is_safe_relpath(rel):
        raise RepositoryError(f'unsafe path refused: {_printable(rel)}')
    return Path(root, *PurePosixPath(rel).parts)


@dataclass
class TransferReport:
    """What an upload or download did."""

    files: int = 0
    skipped: int = 0
    bytes: int = 0
    seconds: float = 0.0

    def summary(self, verb: str) -> str:
        mb = self.bytes / 1e6
        rate = mb / self.seconds if self.seconds > 0 else 0.0
        return (
            f'{verb} {self.files} files ({mb:.1f} MB) in {self.seconds:.1f} s '
            f'({rate:.1f} MB/s); {self.skipped} already up to date'
        )


# =============================================================================================
# Repositories (backends)
# =============================================================================================
# A repository publishes a ``.one_root`` index and the files it names. Every backend fills in
# the same small interface:
#   read_index()            -> Index            the repository's listing
#   fetch(rows, force=...)  -> list[Path]       local paths of index rows (downloading if needed)
#   upload(root, ...)       -> TransferReport   publish a local ALF tree and its index, index last
#   describe()              -> dict             settings for display, secrets masked
# ``local`` reads a folder in place; remote backends download into the download directory.


class Repository:
    """Base class of the repository backends."""

    type = ''
    required: tuple = ()
    optional: dict = {}
    is_local = False

    def __init__(
        self,
        name: str,
        settings: dict,
        *,
        dirs: Dirs | None = None,
        download_dir: str = DEFAULT_DOWNLOAD_DIR,
        strict: bool = False,
    ):
        self.name = name
        self.settings = self.validate(settings, origin=f'repository "{name}"')
        self.dirs = dirs or app_dirs()
        self.download_dir = download_dir
        self.strict = strict

    @classmethod
    def validate(cls, settings: dict, origin: str) -> dict:
        """Check a repository's keys; return them with defaults filled in."""
        out = {k: v for k, v in settings.items() if k not in ('name', 'type')}
        missing = [k for k in cls.required if out.get(k) in (None, '')]
        if missing:
            raise ConfigError(f'{origin} ({cls.type}) needs {", ".join(missing)}')
        for key, default in cls.optional.items():
            out.setdefault(key, default)
        return out

    def describe(self) -> dict:
        return {'name': self.name, 'type': self.type, **mask_secrets(self.settings)}

    def read_index(self) -> Index:
        raise NotImplementedError

    def fetch(self, rows: pd.DataFrame, *, force: bool = False) -> list:
        raise NotImplementedError

    def upload(
        self,
        root,
        *,
        dry_run: bool = False,
        limit: int | None = None,
        force: bool = False,
        checksums: bool = False,
    ) -> TransferReport:
        raise NotImplementedError

    def session_dir(self, session: str) -> Path:
        """The local folder of a session (for remote repositories, under the download dir)."""
        lab, subject, date, number = _session_fields(session)
        return session_download_dir(
            self.download_dir,
            data_dir=self.dirs.data,
            repository=self.name,
            lab=lab,
            subject=subject,
            date=date,
            number=number,
        )


class LocalRepository(Repository):
    """A folder of ALF data on this computer (or a mounted share), read in place.

    Its index is a fresh scan of the folder; ``upload`` copies a tree into the folder and
    writes its ``.one_root``.
    """

    type = 'local'
    required = ('root_dir',)
    is_local = True

    @classmethod
    def validate(cls, settings, origin):
        out = super().validate(settings, origin)
        root = Path(str(out['root_dir'])).expanduser()
        if not root.is_dir():
            raise ConfigError(f'{origin}: root_dir {root} is not a folder')
        out['root_dir'] = str(root)
        return out

    @property
    def root(self) -> Path:
        return Path(self.settings['root_dir'])

    def read_index(self) -> Index:
        return scan(self.root).index()

    def session_dir(self, session: str) -> Path:
        return safe_join(self.root, session)

    def fetch(self, rows, *, force=False):
        paths = [safe_join(self.root, p) for p in rows['path']]
        missing = [p for p in paths if not p.is_file()]
        if missing:
            raise NotFoundError(
                f'{len(missing)} indexed file(s) are missing from {self.root}, e.g. {missing[0]}'
            )
        return paths

    def upload(self, root, *, dry_run=False, limit=None, force=False, checksums=False):
        source = scan(root)
        report = TransferReport()
        start = time.perf_counter()
        same_folder = Path(root).resolve() == self.root.resolve()
        todo = [] if same_folder else list(zip(source.files, source.sizes))
        for rel, size in todo[:limit] if limit else todo:
            dest = safe_join(self.root, rel)
            if not force and dest.is_file() and dest.stat().st_size == size:
                report.skipped += 1
                continue
            if not dry_run:
                report.bytes += copy_file_atomic(safe_join(source.root, rel), dest)
            report.files += 1
        if not dry_run:
            write_index(self.root, checksums=checksums)
        report.seconds = time.perf_counter() - start
        return report


REPOSITORY_TYPES = {'local': LocalRepository}


def make_repository(
    settings: dict, *, config: dict | None = None, strict: bool = False, dirs: Dirs | None = None
) -> Repository:
    """Build the backend for one repository entry of the configuration."""
    config = config or default_config()
    rtype = settings.get('type')
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
    )


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

    def check_dimensions(self) -> int:
        """0 when the attributes have consistent lengths (ALF broadcasting rules), else 1."""
        return check_dimensions(self)

    def to_df(self) -> pd.DataFrame:
        """A DataFrame of the attributes; 2-D arrays become ``key_0``, ``key_1``... columns."""
        if check_dimensions(self) != 0:
            raise DataFormatError('attributes have inconsistent lengths; cannot make a table')
        columns = {}
        for key, value in self.items():
            if not isinstance(value, np.ndarray) or value.ndim == 0:
                continue
            if value.ndim == 1:
                columns[key] = value
            elif value.ndim == 2:
                for i in range(min(value.shape[1], 10)):
                    columns[f'{key}_{i}'] = value[:, i]
        return pd.DataFrame(columns)


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


def _load_npy(path: Path):
    try:
        return _flat(np.load(path, mmap_mode='r', allow_pickle=False))
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
    return arrays['arr_0'] if set(arrays) == {'arr_0'} else arrays


def _table_loader(sep: str):
    def load(path: Path):
        try:
            return pd.read_csv(path, sep=sep).squeeze('columns')
        except (pd.errors.ParserError, UnicodeDecodeError) as e:
            raise DataFormatError(f'{path.name} is not a valid table: {e}') from None

    return load


def _load_json(path: Path):
    try:
        with open(path, encoding='utf-8') as f:
            return json.load(f)
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise DataFormatError(f'{path.name} is not valid JSON: {e}') from None


def _load_jsonable(path: Path):
    out = []
    with open(path, encoding='utf-8') as f:
        for n, line in enumerate(f, 1):
            if line.strip():
                try:
                    out.append(json.loads(line))
                except json.JSONDecodeError as e:
                    raise DataFormatError(f'{path.name} line {n} is not JSON: {e.msg}') from None
    return out


def _require(module: str, extra: str, what: str):
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        raise MissingDependencyError(
            f'{what} needs {module}: pip install "onelight[{extra}]"'
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

    ``.npy`` files are memory-mapped read-only and ``(n, 1)`` arrays flattened to ``(n,)``.
    """
    path = Path(path)
    if path.stat().st_size == 0:
        return None
    loader = LOADERS.get(path.suffix.lower())
    return loader(path) if loader else path


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
    data = dict(zip(table.columns, table.to_numpy().T))
    split = sorted(k for k in data if re.match(r'.+?_[01]$', k))
    for k0, k1 in zip(split[::2], split[1::2]):
        data[k0[:-2]] = np.c_[data.pop(k0), data.pop(k1)]
    out.update(data)


def assemble_object(files: list, metadata: dict, name: str = '') -> Bunch:
    """Load the files of one ALF object into a Bunch.

    ``files`` holds ``(path, parts)`` pairs (parts as ``parse_filename`` gives them);
    ``metadata`` maps a data file's path to its ``*.metadata.json`` path.
    """
    keys = []
    for _, p in files:
        attr = f'{p["attribute"]}_{p["timescale"]}' if p['timescale'] else p['attribute']
        keys.append('.'.join(filter(None, (attr, p['extra']))))
    dupes = sorted({k for k in keys if keys.count(k) > 1})
    if dupes:
        raise AmbiguousError(
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


# =============================================================================================
# The One client
# =============================================================================================

SEARCH_KEYWORDS = {
    # canonical term: every spelling accepted (ONE's included)
    'dataset_types': ('dataset_types', 'dataset_type', 'datasets', 'dataset'),
    'lab': ('lab', 'laboratory'),
    'subject': ('subject',),
    'date_range': ('date_range', 'date'),
    'number': ('number',),
    'collection': ('collection',),
}


def search_terms() -> list:
    """The keyword arguments ``search`` understands (any unambiguous prefix works too)."""
    return list(SEARCH_KEYWORDS)


def resolve_search_keyword(key: str) -> str:
    """Map a keyword, an alias or an unambiguous prefix of one to its canonical term.

    >>> resolve_search_keyword('subj'), resolve_search_keyword('data')
    ('subject', 'dataset_types')
    """
    for canonical, spellings in SEARCH_KEYWORDS.items():
        if key in spellings:
            return canonical
    found = {
        c for c, spellings in SEARCH_KEYWORDS.items() if any(s.startswith(key) for s in spellings)
    }
    if len(found) == 1:
        return found.pop()
    what = 'ambiguous' if found else 'unknown'
    raise SearchError(f'{what} search keyword {key!r}; search terms: {", ".join(search_terms())}')


def _as_list(value) -> list:
    if value is None:
        return []
    if isinstance(value, (str, bytes, int, _dt.date)):
        return [value]
    return list(value)


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

    >>> parse_date_range('2020-01-01'), parse_date_range(['2020-01-01', None])
    (('2020-01-01', '2020-01-01'), ('2020-01-01', None))
    """
    if isinstance(value, (str, _dt.date)):
        day = _as_date(value, 'date')
        return day, day
    values = list(value)
    if len(values) == 1:
        day = _as_date(values[0], 'date')
        return day, day
    if len(values) != 2:
        raise SearchError('date_range takes one date or a [start, end] pair')
    return _as_date(values[0], 'start date'), _as_date(values[1], 'end date')


def _wildcard_mask(values: pd.Series, patterns) -> np.ndarray:
    """Which values match one of the patterns (``*`` wildcards); missing values match ''."""
    regex = wildcard_regex(_as_list(patterns))
    return np.array([bool(regex.fullmatch(v)) for v in values.astype(object).fillna('')], bool)


def _number_mask(numbers: pd.Series, wanted) -> np.ndarray:
    mask = np.zeros(len(numbers), dtype=bool)
    for value in _as_list(wanted):
        text = str(value)
        if text.isdigit():
            mask |= numbers.astype(int).to_numpy() == int(text)
        else:
            mask |= numbers.str.fullmatch(wildcard_regex(text).pattern).to_numpy(dtype=bool)
    return mask


class One:
    """A client for one repository: search sessions, list their files and load ALF data.

    >>> one = One(root_dir='~/data/steinmetz')            # an ad-hoc local folder
    >>> one = One('nick19')                               # a repository from the config
    >>> sessions = one.search(['spikes', 'trials'], subject='Cori')
    >>> spikes = one.load_object(sessions[0], 'spikes')
    """

    def __init__(
        self,
        repository: str | None = None,
        *,
        root_dir=None,
        strict: bool = False,
        download_dir: str | None = None,
        **settings,
    ):
        dirs = app_dirs()
        adhoc = _adhoc_repository(repository, root_dir=root_dir, **settings)
        # An ad-hoc repository never reads or writes the configuration.
        config = default_config() if adhoc else load_config(dirs)
        if download_dir:
            check_download_template(download_dir, 'download_dir')
            config = {**config, 'download_dir': download_dir}
        entry = adhoc or _find_repository(config, repository)
        self.repository = make_repository(entry, config=config, strict=strict, dirs=dirs)
        self._index = None

    def __repr__(self):
        return f'One({self.repository.name!r}, type={self.repository.type!r})'

    @property
    def index(self) -> Index:
        """The repository's index, read once per client."""
        if self._index is None:
            self._index = self.repository.read_index()
        return self._index

    # ------------------------------------------------------------------------------- search
    def search_terms(self) -> list:
        return search_terms()

    def search(self, dataset_types=(), **filters) -> list:
        """Return the sorted session paths that have every requested dataset type.

        A dataset term (``*`` is a wildcard) matches a file when it matches the whole of its
        object, ``object.attribute``, ``object.attribute_timescale`` or its file name, with
        or without the namespace: ``spikes`` matches ``spikes.times.npy`` but not
        ``spikesorting.x.npy``; ``trials`` matches ``_ibl_trials.goCue_times.npy``.

        Filters: ``lab``, ``subject``, ``number``, ``collection`` (a string or a list, OR,
        with ``*`` wildcards), ``date_range`` (one date = that day; ``[start, end]``
        inclusive, either may be None). ONE's spellings ``datasets=``, ``laboratory=`` and
        ``date=`` work, and so does any unambiguous prefix (``subj=``).
        """
        terms = {'dataset_types': dataset_types}
        for key, value in filters.items():
            canonical = resolve_search_keyword(key)
            if canonical == 'dataset_types':
                terms['dataset_types'] = [*_as_list(terms['dataset_types']), *_as_list(value)]
            else:
                terms[canonical] = value
        index = self.index
        df = index.df
        sessions = index.sessions
        keep = np.ones(len(sessions), dtype=bool)
        for field in ('lab', 'subject'):
            if terms.get(field) is not None:
                keep &= _wildcard_mask(sessions[field], terms[field])
        if terms.get('number') is not None:
            keep &= _number_mask(sessions['number'], terms['number'])
        if terms.get('date_range') is not None:
            start, end = parse_date_range(terms['date_range'])
            dates = sessions['date'].to_numpy(dtype=object)
            if start:
                keep &= dates >= start
            if end:
                keep &= dates <= end
        file_filter = None
        if terms.get('collection') is not None:
            file_filter = index.column_mask('collection', _as_list(terms['collection']))
        codes = df['session'].cat.codes.to_numpy()
        wanted = _as_list(terms['dataset_types'])
        for term in wanted or ([None] if file_filter is not None else []):
            mask = index.term_mask(str(term)) if term is not None else file_filter
            if file_filter is not None:
                mask = mask & file_filter
            has = np.zeros(len(sessions), dtype=bool)
            has[codes[mask]] = True
            keep &= has
        return sorted(sessions.index[keep])

    # ------------------------------------------------------------------------------ listing
    def list_(self, session, collection=None) -> list:
        """The files of a session (ALF or not), relative to the session folder, sorted."""
        rows = self._session_rows(session, collection)
        return sorted(rows['rel'])

    list = list_

    def _session_rows(self, session, collection=None) -> pd.DataFrame:
        rows = self.index.session_files(self.index.resolve_session(session))
        if collection is not None:
            rows = rows[_wildcard_mask(rows['collection'], collection)]
        return rows

    # ------------------------------------------------------------------------------ loading
    def load_object(
        self,
        session,
        obj: str,
        *,
        collection=None,
        revision=None,
        attribute=None,
        download_only: bool = False,
    ):
        """Load an ALF object of a session as a Bunch (the same keys and values as ONE-api).

        An object found in several collections needs ``collection=``. The latest revision
        of each file wins; ``revision='X'`` takes the last revision at or before X
        (unrevised files count as the oldest). ``attribute`` narrows the attributes
        (``*`` wildcards). With ``download_only=True`` the local paths are returned.
        """
        session = self.index.resolve_session(session)
        rows = self.index.session_files(session)
        alf = rows[rows['is_alf']]
        namespace, name = _split_namespace(obj, set(alf['object'].dropna().astype(str)))
        sel = alf[(alf['object'] == name).to_numpy(bool)]
        if namespace:
            sel = sel[(sel['namespace'] == namespace).to_numpy(bool)]
        if sel.empty:
            objects = sorted(set(alf['object'].dropna().astype(str)))
            raise NotFoundError(
                f'object {obj!r} is not in session {session}; objects: '
                f'{", ".join(objects) or "none"}'
            )
        sel = _pick_collection(sel, collection, f'object {obj!r}', session)
        sel = _pick_revision(sel, revision, f'object {obj!r}')
        data = sel[~sel['filename'].astype(str).map(is_metadata_file).to_numpy(bool)]
        if attribute is not None:
            timescale = ('_' + data['timescale'].astype(str)).where(data['timescale'].notna(), '')
            ok = _wildcard_mask(data['attribute'], attribute) | _wildcard_mask(
                data['attribute'].astype(str) + timescale, attribute
            )
            data = data[np.array(ok, dtype=bool)]
            if data.empty:
                raise NotFoundError(f'object {obj!r} in {session} has no attribute {attribute!r}')
        meta_rows = _metadata_rows(data, sel)
        wanted = pd.concat([data, meta_rows.drop_duplicates('path')]).drop_duplicates('path')
        paths = dict(zip(wanted['path'], self.repository.fetch(wanted)))
        if download_only:
            return [paths[p] for p in wanted['path']]
        files = [
            (paths[r.path], {k: _none(getattr(r, k)) for k in ALF_PARTS})
            for r in data.itertuples()
        ]
        metadata = {paths[d]: paths[m] for d, m in _metadata_pairs(data, sel)}
        return assemble_object(files, metadata, name=obj)

    def load_dataset(
        self, session, dataset: str, *, collection=None, revision=None, download_only: bool = False
    ):
        """Load one dataset (``spikes.times.npy``, ``spikes.times`` or ``alf/spikes.times.npy``).

        Returns an array, a DataFrame or whatever the file type loads to; with
        ``download_only=True``, its local path.
        """
        session = self.index.resolve_session(session)
        rows = self.index.session_files(session)
        name = str(dataset).replace('\\', '/').strip('/')
        if '/' in name:
            folder, name = name.rsplit('/', 1)
            if collection is not None and collection != folder:
                raise SearchError(f'dataset {dataset!r} and collection={collection!r} disagree')
            collection = folder
        regex = wildcard_regex(name)
        names = rows['filename'].astype(str)
        stems = names.str.rsplit('.', n=1).str[0]
        sel = rows[[bool(regex.fullmatch(n) or regex.fullmatch(s)) for n, s in zip(names, stems)]]
        if sel.empty:
            raise NotFoundError(f'dataset {dataset!r} is not in session {session}')
        sel = _pick_collection(sel, collection, f'dataset {dataset!r}', session)
        sel = _pick_revision(sel, revision, f'dataset {dataset!r}')
        if len(sel) > 1:
            raise AmbiguousError(
                f'dataset {dataset!r} matches several files in {session}: '
                f'{", ".join(sorted(sel["rel"]))}'
            )
        path = self.repository.fetch(sel)[0]
        return path if download_only else load_file_content(path)

    def download(
        self, session, obj: str | None = None, *, collection=None, dry_run: bool = False
    ) -> list:
        """Make a session's files (or one object's) available locally; return their paths."""
        if obj is not None:
            if dry_run:
                session = self.index.resolve_session(session)
                rows = self._session_rows(session, collection)
                rows = rows[(rows['object'] == obj).to_numpy(bool)]
                return [
                    self.repository.session_dir(session) / PurePosixPath(r) for r in rows['rel']
                ]
            return self.load_object(session, obj, collection=collection, download_only=True)
        rows = self._session_rows(session, collection)
        if rows.empty:
            raise NotFoundError(f'no files in {session} (collection={collection!r})')
        if dry_run:
            folder = self.repository.session_dir(rows['session'].iloc[0])
            return [folder / PurePosixPath(r) for r in rows['rel']]
        return self.repository.fetch(rows)


ONE = One


def _none(value):
    return None if value is None or (isinstance(value, float) and np.isnan(value)) else value


def _split_namespace(obj: str, objects: set) -> tuple:
    """``'_ibl_trials'`` -> ``('ibl', 'trials')`` unless ``_ibl_trials`` is itself an object."""
    m = re.fullmatch(r'_([a-zA-Z0-9]+)_(\w+)', obj)
    if m and obj not in objects:
        return m.group(1), m.group(2)
    return None, obj


def _pick_collection(rows: pd.DataFrame, collection, what: str, session: str) -> pd.DataFrame:
    colls = rows['collection'].astype(object).fillna('')
    if collection is None:
        found = sorted(set(colls))
        if len(found) > 1:
            raise AmbiguousError(
                f'{what} is in several collections of {session}: '
                f'{", ".join(c or "(session folder)" for c in found)}; '
                'pass collection='
            )
        return rows
    picked = rows[(colls == collection.strip('/')).to_numpy(bool)]
    if picked.empty:
        raise NotFoundError(
            f'{what} is not in collection {collection!r} of {session}; it is in '
            f'{", ".join(sorted(set(c or "(session folder)" for c in colls)))}'
        )
    return picked


def _pick_revision(rows: pd.DataFrame, revision, what: str) -> pd.DataFrame:
    """Keep, per file name, the latest revision (at or before ``revision`` when given)."""
    revs = rows['revision'].astype(object).fillna('')
    rows = rows.assign(_rev=revs.to_numpy(), _name=rows['filename'].astype(str).to_numpy())
    if revision is not None:
        rows = rows[(rows['_rev'] <= str(revision)).to_numpy(bool)]
        if rows.empty:
            raise NotFoundError(f'{what} has no revision at or before {revision!r}')
    rows = rows.sort_values(['_name', '_rev']).drop_duplicates('_name', keep='last')
    return rows.drop(columns=['_rev', '_name'])


def _metadata_pairs(data: pd.DataFrame, candidates: pd.DataFrame) -> list:
    """(data path, metadata path) pairs: a metadata file in the same folder, as ONE finds it."""
    metas = candidates[candidates['filename'].astype(str).map(is_metadata_file).to_numpy(bool)]
    pairs = []
    for row in data.itertuples():
        pattern = metadata_pattern(str(row.filename))
        same = metas[(metas['dirs'].astype(str) == str(row.dirs)).to_numpy(bool)]
        match = sorted(
            p
            for p, f in zip(same['path'], same['filename'].astype(str))
            if fnmatch.fnmatchcase(f, pattern)
        )
        if match:
            pairs.append((row.path, match[0]))
    return pairs


def _metadata_rows(data: pd.DataFrame, candidates: pd.DataFrame) -> pd.DataFrame:
    wanted = {m for _, m in _metadata_pairs(data, candidates)}
    return candidates[candidates['path'].isin(wanted).to_numpy(bool)]


def _adhoc_repository(name, *, root_dir=None, **settings) -> dict | None:
    """The configuration entry of a repository given by keyword (``root_dir=...``), if any."""
    if root_dir is not None:
        return {'name': name or 'local', 'type': 'local', 'root_dir': str(root_dir), **settings}
    if settings:
        raise ConfigError(f'unsupported repository settings: {", ".join(sorted(settings))}')
    return None


def _find_repository(config: dict, name: str | None) -> dict:
    repos = {r['name']: r for r in config['repositories']}
    name = name or config.get('current_repository')
    if name is None:
        raise ConfigError(
            'no repository is configured: run "onelight add_repo NAME --type local '
            '--root-dir FOLDER" (or use One(root_dir=...))'
        )
    if name not in repos:
        raise NotFoundError(
            f'no repository named {name!r} (configured: {", ".join(sorted(repos)) or "none"})'
        )
    return repos[name]


# =============================================================================================
# Module-level API
# =============================================================================================
# ``import onelight as one; one.search(['trials'])`` uses a default One, built on first use
# from the configuration's current repository.

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


def search(dataset_types=(), **filters) -> list:
    """Search the current repository; see ``One.search``."""
    return default_one().search(dataset_types, **filters)


def list_(session, collection=None) -> list:
    """List a session's files in the current repository; see ``One.list_``."""
    return default_one().list_(session, collection=collection)


def load_object(session, obj, **kwargs):
    """Load an ALF object from the current repository; see ``One.load_object``."""
    return default_one().load_object(session, obj, **kwargs)


def load_dataset(session, dataset, **kwargs):
    """Load one dataset from the current repository; see ``One.load_dataset``."""
    return default_one().load_dataset(session, dataset, **kwargs)


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
    """A click group that turns onelight errors into one line on stderr and exit status 1."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except OneLightError as e:
            _fail(ctx, str(e))
        except KeyboardInterrupt:
            click.echo('interrupted', err=True)
            raise click.exceptions.Exit(130) from None
        except OSError as e:
            where = f': {e.filename}' if getattr(e, 'filename', None) else ''
            _fail(ctx, f'{e.strerror or e}{where}')


def _fail(ctx, message: str):
    if (ctx.obj or {}).get('verbose'):
        raise
    click.echo(f'error: {message}', err=True)
    raise click.exceptions.Exit(1)


def _setup_logging(verbose: bool, quiet: bool) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter('%(levelname)s: %(message)s'))
    logger.handlers[:] = [handler]
    logger.propagate = False
    logger.setLevel(logging.DEBUG if verbose else logging.ERROR if quiet else logging.WARNING)


def _client(ctx) -> One:
    obj = ctx.obj
    if obj.get('client') is None:
        obj['client'] = One(obj.get('repository'), strict=obj.get('strict', False))
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
@click.pass_context
def cli(ctx, verbose, quiet, repository, strict):
    """onelight: publish and fetch ALF experiment data without a database server."""
    ctx.ensure_object(dict)
    ctx.obj.update(verbose=verbose, quiet=quiet, repository=repository, strict=strict)
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
    for entry in config['repositories']:
        star = '*' if entry['name'] == config['current_repository'] else ' '
        rest = mask_secrets({k: v for k, v in entry.items() if k not in ('name', 'type')})
        details = '  '.join(f'{k}={v}' for k, v in rest.items())
        click.echo(f'{star} {entry["name"]}  ({entry["type"]})  {details}'.rstrip())


@cli.command('add_repo')
@click.argument('name')
@click.option(
    '--type',
    'rtype',
    required=True,
    type=click.Choice(sorted(REPOSITORY_TYPES)),
    help='Repository type.',
)
@click.option('--root-dir', help='local: the folder holding lab/Subjects/...')
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
    entry = {'name': name, 'type': rtype}
    entry.update({k: v for k, v in options.items() if v not in (None, '')})
    for key in backend.required:
        if entry.get(key) in (None, ''):
            if not sys.stdin.isatty():
                raise ConfigError(f'{rtype} repository needs --{key.replace("_", "-")}')
            entry[key] = click.prompt(key.replace('_', ' '), hide_input=key in SECRET_KEYS)
    settings = backend.validate(entry, origin=f'repository "{name}"')
    entry.update(settings)
    config['repositories'].append(entry)
    if set_current or not config['current_repository']:
        config['current_repository'] = name
    save_config(validate_config(config, dirs.config_file), dirs.config_file)
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
        for path, is_alf in zip(index.df['path'], index.df['is_alf']):
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
@click.pass_context
def index_cmd(ctx, root, base_url, checksums):
    """Write ROOT/.one_root for a folder you publish yourself."""
    if base_url and not re.match(r'^https?://', base_url):
        raise ConfigError(f'--base-url must be an http(s) URL, not {base_url!r}')
    index = write_index(root, base_url=base_url, checksums=checksums)
    _say(
        ctx,
        f'wrote {Path(root) / INDEX_NAME}: {len(index)} files in {len(index.sessions)} sessions',
    )


@cli.command('search')
@click.argument('datasets', nargs=-1)
@click.option('--lab', multiple=True, help='Lab name (repeat for OR; * wildcards).')
@click.option('--subject', multiple=True, help='Subject (repeat for OR; * wildcards).')
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
    """Search sessions having every DATASET (e.g. trials, spikes.times, '_ibl_trials.*')."""
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
    _emit(_client(ctx).search(list(datasets), **filters), as_json)


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
@click.pass_context
def download_cmd(ctx, session, obj, collection, dry_run):
    """Download a session (or one OBJECT of it); print the local paths."""
    paths = _client(ctx).download(session, obj, collection=collection, dry_run=dry_run)
    _emit([str(p) for p in paths], False)


@cli.command('upload')
@click.argument('root', type=click.Path(file_okay=False))
@click.option('--dry-run', is_flag=True, help='Show what would be sent.')
@click.option('--limit', type=click.IntRange(min=1), help='Upload at most N files.')
@click.option('--force', is_flag=True, help='Send files that look up to date too.')
@click.option('--checksums', is_flag=True, help='Publish size and md5 in the index.')
@click.pass_context
def upload_cmd(ctx, root, dry_run, limit, force, checksums):
    """Publish the ALF tree under ROOT to the repository; the index goes last."""
    report = _client(ctx).repository.upload(
        root, dry_run=dry_run, limit=limit, force=force, checksums=checksums
    )
    _say(ctx, report.summary('would upload' if dry_run else 'uploaded'))


@cli.command('demo')
@click.pass_context
def demo_cmd(ctx):
    """Generate a small ALF dataset, then search it and load from it."""
    start = time.perf_counter()
    root = app_dirs().data / 'demo'
    if root.exists():
        shutil.rmtree(root)
    sessions = make_demo_data(root)
    click.echo(f'generated {len(sessions)} sessions under {root}')
    one = One('demo', root_dir=root)
    click.echo(f'indexed {len(one.index)} files; search terms: {", ".join(search_terms())}')
    found = one.search(['trials', 'spikes'], subject='Cori')
    click.echo(f"search(['trials', 'spikes'], subject='Cori') -> {found}")
    click.echo(
        f"search(['wheel']) -> {len(one.search(['wheel']))} sessions; "
        f"search(['_ibl_trials.*']) -> {one.search(['_ibl_trials.*'])}"
    )
    trials = one.load_object(found[0], 'trials')
    click.echo(f'load_object({found[0]!r}, "trials"):')
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
        f'done in {time.perf_counter() - start:.1f} s; keep it with: onelight add_repo '
        f'demo --type local --root-dir "{root}"'
    )


if __name__ == '__main__':
    cli()
