"""An emulator of the figshare REST API v2, as real HTTP servers on 127.0.0.1.

Four servers, like figshare's four hosts: the API (``/v2/...``), the upload service
(``/upload/<token>[/<partNo>]``), the download host (``/files/<id>``, which redirects public
files to storage) and the storage host (which rejects an ``Authorization`` header, as S3 does).
It follows figshare's documented behaviour: status codes, JSON bodies, pagination (default page
size 10, at most 1000, no total count), 10 MiB parts, file status transitions with the md5
checked at completion, public and private views, ``Authorization: token`` checks, and switches
for the behaviours real clients met.
"""

import hashlib
import http.server
import json
import re
import threading
import time
import urllib.parse
from dataclasses import dataclass, field

PART_SIZE = 10 * 1024 * 1024


@dataclass
class FileRecord:
    id: int
    name: str
    size: int
    supplied_md5: str
    upload_token: str
    part_size: int
    created: float = field(default_factory=time.monotonic)
    status: str = 'created'
    completed: float | None = None
    parts: dict = field(default_factory=dict)  # partNo -> bytes
    data: bytes = b''
    computed_md5: str = ''
    link: str = ''  # a link-only file: its download_url is this, anywhere

    @property
    def n_parts(self):
        return max(1, -(-self.size // self.part_size))

    def part_range(self, number):
        start = (number - 1) * self.part_size
        return start, min(start + self.part_size, self.size) - 1


@dataclass
class Article:
    id: int
    owner: str
    title: str = 'A dataset'
    description: str = ''
    files: dict = field(default_factory=dict)  # id -> FileRecord
    public_files: list | None = None  # snapshot at the last publish
    version: int = 0
    authors: bool = True


class Emulator:
    """Start with ``Emulator()``; stop with ``.stop()``. Switches are plain attributes."""

    def __init__(self):
        self.lock = threading.RLock()
        self.articles = {}
        self.tokens = set()
        self.next_id = 1000
        self.log = []  # (host, method, path, authorization)
        self.clients = []  # (host, client port) of each request: connections reused or not
        # switches
        self.default_page_size = 10
        self.create_404_window = 0.0  # seconds a new file record answers 404
        self.status_delay = 0.0  # seconds from completion to 'available' / 'ic_failure'
        self.invalid_token_status = 403  # figshare answers 403 in practice (401 documented)
        self.transient_500 = 0  # the next N API requests answer 500
        # the next N "create file" POSTs are acted upon, then the connection drops unanswered
        # (what a client sees when a connection resets after the server took the request)
        self.reset_after_create = 0
        self.download_403 = 0  # the next N download-host requests answer 403
        self.part_size = PART_SIZE
        # figshare.com's limits on a free account (two summaries of its "Account limits" page):
        # 20 GB of storage, 20 GB per file, 500 files per item (article), 500 items. figshare
        # documents no wording for these refusals: the messages below are the emulator's own
        self.quota = 20 * 10**9
        self.maximum_file_size = 20 * 10**9
        self.max_files_per_article = 500
        self.max_items = 500
        self.projects = {}  # id -> {'title', 'owner', 'articles': [ids]}
        self.collections = {}  # id -> {'title', 'owner', 'articles': [ids], 'public': bool}
        self.reset_after_article_create = 0  # like reset_after_create, for new articles
        self.fail_part = None  # callable(record, partNo) -> True to drop the connection
        self.corrupt_parts = 0  # the next N parts are stored with a flipped byte
        self.endless_listing = False  # every page of every listing: the same full page
        self.servers = {}
        for role in ('api', 'upload', 'download', 'storage'):
            server = http.server.ThreadingHTTPServer(('127.0.0.1', 0), _make_handler(self, role))
            server.daemon_threads = True
            self.servers[role] = server
            threading.Thread(
                target=server.serve_forever, kwargs={'poll_interval': 0.05}, daemon=True
            ).start()

    def url(self, role):
        return f'http://127.0.0.1:{self.servers[role].server_address[1]}'

    @property
    def api_url(self):
        return self.url('api') + '/v2'

    def stop(self):
        for server in self.servers.values():
            server.shutdown()
            server.server_close()

    # ------------------------------------------------------------------------------- set-up
    def new_id(self):
        with self.lock:
            self.next_id += 1
            return self.next_id

    def create_article(self, token, title='A dataset'):
        self.tokens.add(token)
        article = Article(self.new_id(), token, title)
        self.articles[article.id] = article
        return article.id

    def used_quota(self, token):
        return sum(
            r.size for a in self.articles.values() if a.owner == token for r in a.files.values()
        )

    def add_available_file(self, article_id, name, data, file_id=None):
        """Put a complete file straight into an article (for large listings, duplicates)."""
        md5 = hashlib.md5(data).hexdigest()
        record = FileRecord(file_id or self.new_id(), name, len(data), md5, 'x', self.part_size)
        record.data, record.computed_md5, record.status = data, md5, 'available'
        self.articles[article_id].files[record.id] = record
        return record

    def names(self, article_id):
        return sorted(r.name for r in self.articles[article_id].files.values())

    def settle(self, record):
        """Move a completed file along created -> ic_checking -> available / ic_failure."""
        if record.status == 'ic_checking' and time.monotonic() - record.completed >= (
            self.status_delay
        ):
            ok = record.computed_md5 == record.supplied_md5
            record.status = 'available' if ok else 'ic_failure'

    def file_json(self, article, record, private):
        self.settle(record)
        available = record.status == 'available'
        out = {
            'id': record.id,
            'name': record.name,
            'size': record.size,
            'is_link_only': bool(record.link),
            'download_url': record.link or f'{self.url("download")}/files/{record.id}',
            'supplied_md5': record.supplied_md5,
            'computed_md5': record.computed_md5 if available else '',
            'mimetype': 'application/octet-stream',
        }
        if private:
            out.update(
                status=record.status,
                viewer_type='',
                preview_state='preview_not_available',
                upload_url=''
                if available
                else f'{self.url("upload")}/upload/{record.upload_token}',
                upload_token=record.upload_token,
                is_attached_to_public_version=bool(
                    article.public_files and record.id in article.public_files
                ),
            )
        return out


def _make_handler(emu, role):
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = 'HTTP/1.1'

        def log_message(self, *args):
            pass

        # ------------------------------------------------------------------------- plumbing
        def reply(self, status, body=None, headers=None):
            data = b'' if body is None else json.dumps(body).encode()
            self.send_response(status)
            self.send_header('Content-Type', 'application/json')
            self.send_header('Content-Length', str(len(data)))
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(data)

        def drop_connection(self):
            """The request was acted upon; the client sees its connection reset."""
            self.close_connection = True
            self.connection.shutdown(2)

        def error(self, status, message, code=None):
            body = {'message': message}
            if code:
                body['code'] = code
            self.reply(status, body)

        def body(self):
            length = int(self.headers.get('Content-Length') or 0)
            return self.rfile.read(length) if length else b''

        def token(self):
            auth = self.headers.get('Authorization') or ''
            return auth[6:] if auth.startswith('token ') else None

        def handle_any(self):
            url = urllib.parse.urlsplit(self.path)
            self.query = urllib.parse.parse_qs(url.query)
            with emu.lock:
                emu.log.append((role, self.command, url.path, self.headers.get('Authorization')))
                emu.clients.append((role, self.client_address[1]))  # which connection
            getattr(self, f'on_{role}')(url.path)

        do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = handle_any

        # ------------------------------------------------------------------------------ API
        def on_api(self, path):
            if emu.transient_500 > 0:
                emu.transient_500 -= 1
                self.body()
                return self.error(500, 'Internal server error')
            if re.fullmatch(r'/v2/(account|account/projects.*|account/collections.*)', path) or (
                re.fullmatch(r'/v2/collections/\d+/articles', path)
            ):
                return self.account_api(path)
            m = re.fullmatch(r'/v2/(account/)?articles/(\d+)(/files(?:/(\d+))?|/publish)?', path)
            if not m:
                self.body()
                return self.error(404, 'Not found', 'EntityNotFound')
            private, article_id, tail, file_id = m.groups()
            article = emu.articles.get(int(article_id))
            if private:
                token = self.token()
                if token is None:
                    self.body()
                    return self.error(401, 'Authentication required')
                if token not in emu.tokens:
                    self.body()
                    return self.error(emu.invalid_token_status, 'Invalid token')
                if article is None or article.owner != token:
                    self.body()
                    return self.error(404, 'Article not found', 'EntityNotFound')
                return self.private_api(article, tail or '', file_id)
            if article is None or article.public_files is None:
                return self.error(404, 'Article not found', 'EntityNotFound')
            return self.public_api(article, tail or '')

        def owner(self):
            """The token of an account request, or None after answering the error."""
            token = self.token()
            if token is None:
                self.body()
                self.error(401, 'Authentication required')
                return None
            if token not in emu.tokens:
                self.body()
                self.error(emu.invalid_token_status, 'Invalid token')
                return None
            return token

        def created(self, kind, entity_id):
            location = f'{emu.api_url}/account/{kind}/{entity_id}'
            # swagger's LocationWarnings: entity_id, location, warnings
            return self.reply(201, {'entity_id': entity_id, 'location': location, 'warnings': []})

        def account_api(self, path):
            """The account, projects (drafts grouped; an article created inside one) and
            collections (published articles under one DOI)."""
            cmd = self.command
            m = re.fullmatch(r'/v2/collections/(\d+)/articles', path)
            if m:  # the public view of a published collection
                collection = emu.collections.get(int(m.group(1)))
                if collection is None or not collection['public']:
                    return self.error(404, 'Collection not found', 'EntityNotFound')
                items = [{'id': a, 'title': emu.articles[a].title} for a in collection['articles']]
                page, problem = self.page(items)
                return self.error(422, problem) if problem else self.reply(200, page)
            token = self.owner()
            if token is None:
                return None
            data = json.loads(self.body() or b'{}') if cmd in ('POST', 'PUT') else {}
            if path == '/v2/account' and cmd == 'GET':
                return self.reply(
                    200,
                    {
                        'id': 1,
                        'quota': emu.quota,
                        'used_quota': emu.used_quota(token),
                        'maximum_file_size': emu.maximum_file_size,
                    },
                )
            if path == '/v2/account/projects' and cmd == 'POST':
                project_id = emu.new_id()
                emu.projects[project_id] = {
                    'title': data.get('title', ''),
                    'owner': token,
                    'articles': [],
                }
                return self.created('projects', project_id)
            m = re.fullmatch(r'/v2/account/projects/(\d+)/articles', path)
            if m:
                project = emu.projects.get(int(m.group(1)))
                if project is None or project['owner'] != token:
                    return self.error(404, 'Project not found', 'EntityNotFound')
                if cmd == 'GET':
                    items = [
                        {'id': a, 'title': emu.articles[a].title}
                        for a in project['articles']
                        if a in emu.articles
                    ]
                    page, problem = self.page(items)
                    return self.error(422, problem) if problem else self.reply(200, page)
                if cmd == 'POST':
                    owned = sum(a.owner == token for a in emu.articles.values())
                    if owned >= emu.max_items:
                        return self.error(
                            403,
                            f'Maximum number of items reached ({emu.max_items})',
                            'LimitExceeded',
                        )
                    article_id = emu.create_article(token, data.get('title', 'A dataset'))
                    project['articles'].append(article_id)
                    if emu.reset_after_article_create > 0:
                        emu.reset_after_article_create -= 1
                        return self.drop_connection()
                    return self.created('articles', article_id)
            if path == '/v2/account/collections' and cmd == 'POST':
                collection_id = emu.new_id()
                emu.collections[collection_id] = {
                    'title': data.get('title', ''),
                    'owner': token,
                    'articles': [int(a) for a in data.get('articles', [])],
                    'public': False,
                }
                return self.created('collections', collection_id)
            m = re.fullmatch(r'/v2/account/collections/(\d+)(/articles|/publish)', path)
            if m:
                collection = emu.collections.get(int(m.group(1)))
                if collection is None or collection['owner'] != token:
                    return self.error(404, 'Collection not found', 'EntityNotFound')
                if m.group(2) == '/articles' and cmd == 'POST':
                    new = [int(a) for a in data.get('articles', [])]
                    collection['articles'] += [a for a in new if a not in collection['articles']]
                    return self.reply(201, {'location': f'{emu.api_url}/collections/{m.group(1)}'})
                if m.group(2) == '/publish' and cmd == 'POST':
                    collection['public'] = True
                    return self.reply(201, {'location': f'{emu.api_url}/collections/{m.group(1)}'})
            return self.error(405, 'Method not allowed')

        def page(self, items):
            q = self.query
            paged = 'page' in q or 'page_size' in q
            offset_style = 'limit' in q or 'offset' in q
            if paged and offset_style:
                return None, 'Mixing page/page_size with limit/offset'
            if offset_style:
                limit = int(q.get('limit', [emu.default_page_size])[0])
                start = int(q.get('offset', [0])[0])
            else:
                limit = int(q.get('page_size', [emu.default_page_size])[0])
                start = (int(q.get('page', [1])[0]) - 1) * limit
            if limit > 1000 or limit < 1:
                return None, 'page_size must be between 1 and 1000'
            if emu.endless_listing and items:  # a lying server: one full page, whatever is asked
                return (items * limit)[:limit], None
            return items[start : start + limit], None

        def listing(self, article, records, private):
            items = [emu.file_json(article, r, private) for r in records]
            page, problem = self.page(items)
            if problem:
                return self.error(422, problem)
            return self.reply(200, page)

        def public_api(self, article, tail):
            if tail == '':
                files = [
                    emu.file_json(article, article.files[i], False)
                    for i in article.public_files
                    if i in article.files
                ][:10]
                return self.reply(
                    200,
                    {
                        'id': article.id,
                        'title': article.title,
                        'description': article.description,
                        'files': files,
                        'version': article.version,
                        'is_public': True,
                    },
                )
            if tail == '/files':
                records = [article.files[i] for i in article.public_files if i in article.files]
                return self.listing(article, records, False)
            return self.error(404, 'Not found')

        def private_api(self, article, tail, file_id):
            cmd = self.command
            if tail == '':
                if cmd == 'GET':
                    files = [emu.file_json(article, r, True) for r in article.files.values()]
                    return self.reply(
                        200,
                        {
                            'id': article.id,
                            'title': article.title,
                            'description': article.description,
                            'files': files[:10],
                            'status': 'draft',
                            'is_public': article.public_files is not None,
                            'version': article.version,
                        },
                    )
                if cmd == 'PUT':
                    data = json.loads(self.body() or b'{}')
                    if len(data.get('description', '')) > 20000:
                        return self.error(422, 'description is too long')
                    article.description = data.get('description', article.description)
                    return self.reply(205)
            if tail == '/publish' and cmd == 'POST':
                self.body()
                if not article.authors:
                    return self.error(400, 'Missing mandatory field for publication - authors')
                for record in article.files.values():
                    emu.settle(record)
                article.public_files = [
                    r.id for r in article.files.values() if r.status == 'available'
                ]
                article.version += 1
                return self.reply(201, {'location': f'{emu.api_url}/articles/{article.id}'})
            if tail == '/files' and cmd == 'GET':
                return self.listing(
                    article, sorted(article.files.values(), key=lambda r: r.id), True
                )
            if tail == '/files' and cmd == 'POST':
                try:
                    data = json.loads(self.body() or b'')
                    name, size, md5 = data['name'], int(data['size']), data['md5']
                except (ValueError, KeyError, TypeError):
                    return self.error(400, 'Invalid JSON body')
                if emu.used_quota(article.owner) + size > emu.quota:
                    return self.error(
                        403, 'Quota exceeded: not enough free space', 'QuotaExceeded'
                    )
                if size > emu.maximum_file_size:
                    return self.error(403, 'File size exceeds the maximum allowed', 'FileTooLarge')
                if len(article.files) >= emu.max_files_per_article:
                    return self.error(
                        403,
                        f'Maximum number of files per item reached ({emu.max_files_per_article})',
                        'LimitExceeded',
                    )
                record = FileRecord(
                    emu.new_id(),
                    name,
                    size,
                    md5,
                    hashlib.sha1(str(time.time_ns()).encode()).hexdigest(),
                    emu.part_size,
                )
                article.files[record.id] = record
                location = f'{emu.api_url}/account/articles/{article.id}/files/{record.id}'
                if emu.reset_after_create > 0:
                    emu.reset_after_create -= 1
                    return self.drop_connection()
                return self.reply(201, {'location': location}, {'Location': location})
            if file_id:
                record = article.files.get(int(file_id))
                if record is None:
                    self.body()
                    return self.error(404, 'File not found', 'EntityNotFound')
                if cmd == 'GET':
                    if time.monotonic() - record.created < emu.create_404_window:
                        return self.error(404, 'File not found', 'EntityNotFound')
                    return self.reply(200, emu.file_json(article, record, True))
                if cmd == 'DELETE':
                    del article.files[record.id]
                    return self.reply(204)
                if cmd == 'POST':
                    self.body()
                    if len(record.parts) != record.n_parts:
                        return self.error(400, 'Not all parts were uploaded')
                    record.data = b''.join(record.parts[i] for i in sorted(record.parts))
                    record.computed_md5 = hashlib.md5(record.data).hexdigest()
                    record.status = 'ic_checking'
                    record.completed = time.monotonic()
                    emu.settle(record)
                    return self.reply(
                        202,
                        {
                            'location': f'{emu.api_url}/account/articles/'
                            f'{article.id}/files/{record.id}'
                        },
                    )
            self.body()
            return self.error(405, 'Method not allowed')

        # ---------------------------------------------------------------------------- upload
        def find_upload(self, token):
            for article in emu.articles.values():
                for record in article.files.values():
                    if record.upload_token == token and record.status == 'created':
                        return record
            return None

        def on_upload(self, path):
            m = re.fullmatch(r'/upload/([0-9a-f]+)(?:/(\d+))?', path)
            record = self.find_upload(m.group(1)) if m else None
            if record is None:
                self.body()
                return self.error(404, 'Upload not found')
            part = int(m.group(2)) if m.group(2) else None
            if part is None and self.command == 'GET':
                parts = []
                for n in range(1, record.n_parts + 1):
                    start, end = record.part_range(n)
                    parts.append(
                        {
                            'partNo': n,
                            'startOffset': start,
                            'endOffset': end,
                            'status': 'COMPLETE' if n in record.parts else 'PENDING',
                            'locked': False,
                        }
                    )
                return self.reply(
                    200,
                    {
                        'token': record.upload_token,
                        'name': f'{record.id}/{record.name}',
                        'size': record.size,
                        'md5': record.supplied_md5,
                        'status': 'PENDING',
                        'parts': parts,
                    },
                )
            if part is None or not 1 <= part <= record.n_parts:
                self.body()
                return self.error(404, 'Part not found')
            if self.command == 'DELETE':
                record.parts.pop(part, None)
                return self.reply(200)
            if self.command == 'PUT':
                start, end = record.part_range(part)
                if int(self.headers.get('Content-Length') or -1) != end - start + 1:
                    self.body()
                    return self.error(400, 'Part size mismatch')
                if emu.fail_part and emu.fail_part(record, part):
                    self.close_connection = True
                    self.connection.close()
                    return None
                data = self.body()
                if emu.corrupt_parts > 0:
                    emu.corrupt_parts -= 1
                    data = bytes([data[0] ^ 0xFF]) + data[1:]
                record.parts[part] = data
                return self.reply(200)
            self.body()
            return self.error(405, 'Method not allowed')

        # -------------------------------------------------------------------------- download
        def find_file(self, file_id):
            for article in emu.articles.values():
                record = article.files.get(file_id)
                if record is not None:
                    emu.settle(record)
                    return article, record
            return None, None

        def on_download(self, path):
            m = re.fullmatch(r'/files/(\d+)', path)
            article, record = self.find_file(int(m.group(1))) if m else (None, None)
            if record is None or record.status != 'available':
                return self.error(404, 'File not found')
            if emu.download_403 > 0:
                emu.download_403 -= 1
                return self.error(403, 'Forbidden')
            public = article.public_files is not None and record.id in article.public_files
            if public:
                self.send_response(302)
                self.send_header('Location', f'{emu.url("storage")}/storage/{record.id}?sig=x')
                self.send_header('Content-Length', '0')
                self.end_headers()
                return None
            if self.token() != article.owner:
                return self.error(403, 'Forbidden')
            # private files come without Content-Length (chunked)
            self.send_response(200)
            self.send_header('Content-Type', 'application/octet-stream')
            self.send_header('Transfer-Encoding', 'chunked')
            self.end_headers()
            data = record.data
            for i in range(0, len(data), 65536):
                chunk = data[i : i + 65536]
                self.wfile.write(f'{len(chunk):x}\r\n'.encode() + chunk + b'\r\n')
            self.wfile.write(b'0\r\n\r\n')
            return None

        def on_storage(self, path):
            m = re.fullmatch(r'/storage/(\d+)', path)
            _, record = self.find_file(int(m.group(1))) if m else (None, None)
            if self.headers.get('Authorization'):
                return self.error(400, 'Only one auth mechanism allowed')
            if record is None:
                return self.error(404, 'NoSuchKey')
            data = record.data
            start, end, status = 0, len(data) - 1, 200
            rng = re.fullmatch(r'bytes=(\d+)-(\d*)', self.headers.get('Range') or '')
            if rng and data:
                start = int(rng.group(1))
                end = min(int(rng.group(2)), end) if rng.group(2) else end
                if start > end:
                    self.send_response(416)
                    self.send_header('Content-Range', f'bytes */{len(data)}')
                    self.send_header('Content-Length', '0')
                    self.end_headers()
                    return None
                status = 206
            self.send_response(status)
            self.send_header('Content-Length', str(end - start + 1))
            if status == 206:
                self.send_header('Content-Range', f'bytes {start}-{end}/{len(data)}')
            self.end_headers()
            if self.command != 'HEAD':
                self.wfile.write(data[start : end + 1])
            return None

    return Handler
