"""An emulator of Zenodo (InvenioRDM's REST API and its file downloads) on 127.0.0.1.

Built from the facts in the project's Zenodo notes: records and drafts, new versions (a draft
with a new id, files carried over by ``files-import``, no publication date until one is set),
files in three steps (start, content, commit) under flat keys, at most 100 files and 50 GB a
record, ``Authorization: Bearer`` with drafts visible to their owner only, public downloads at
``/records/ID/files/KEY`` with ``ETag: "md5:..."`` and byte ranges, and rate limits (429 with
``Retry-After`` and ``X-RateLimit-*``). Switches are plain attributes.
"""

import hashlib
import http.server
import json
import re
import threading
import time
import urllib.parse
from dataclasses import dataclass, field


@dataclass
class Record:
    id: int
    owner: str
    parent: int  # the concept: versions of one work share it
    metadata: dict = field(default_factory=lambda: {'title': 'A dataset'})
    files: dict = field(default_factory=dict)  # key -> {'data', 'status'}
    published: bool = False


class Emulator:
    """Start with ``Emulator()``; stop with ``.stop()``."""

    def __init__(self):
        self.lock = threading.RLock()
        self.records, self.next_id = {}, 100
        self.log = []  # (method, path, range, authorization)
        # switches
        self.max_files, self.max_bytes = 100, 50_000_000_000
        self.ignore_range = False  # downloads answer 200 with the whole file
        self.rate_limit = None  # (requests, seconds): beyond them, 429
        self.refuse_next = 0  # the next N requests: 429 with Retry-After: 1 and nothing else
        self.refused = 0  # 429s sent
        self.window = (0.0, 0)  # (start, requests in it)
        self.drop_after_start = 0  # the next N file starts are acted on, then the reply lost
        self.fail_content_after = None  # after N more contents are taken, 503 to the others
        self.server = http.server.ThreadingHTTPServer(('127.0.0.1', 0), _handler(self))
        self.server.daemon_threads = True
        threading.Thread(
            target=self.server.serve_forever, kwargs={'poll_interval': 0.05}, daemon=True
        ).start()

    @property
    def url(self):
        return f'http://127.0.0.1:{self.server.server_address[1]}'

    @property
    def api_url(self):
        return self.url + '/api'

    def stop(self):
        self.server.shutdown()
        self.server.server_close()

    def new_draft(self, token, parent=None):
        """A draft, as one reserved on the website (a new work unless ``parent``)."""
        with self.lock:
            self.next_id += 1
            record = Record(self.next_id, token, parent or self.next_id)
            self.records[record.id] = record
            return record.id

    def versions(self, parent):
        return sorted(r.id for r in self.records.values() if r.parent == parent and r.published)

    def writes(self):
        return [e for e in self.log if e[0] in ('POST', 'PUT', 'DELETE')]

    def downloads(self):
        return [e for e in self.log if e[0] == 'GET' and e[1].startswith('/records/')]


def _entry(record, key):
    f = record.files[key]
    out = {'key': key, 'status': f['status'], 'links': {}}
    if f['status'] == 'completed':
        out.update(size=len(f['data']), checksum='md5:' + hashlib.md5(f['data']).hexdigest())
    return out


def _handler(emu):
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = 'HTTP/1.1'

        def log_message(self, *args):
            pass

        def reply(self, status, body=None, headers=None, data=None):
            if data is None:
                data = b'' if body is None else json.dumps(body).encode()
            self.send_response(status)
            self.send_header('Content-Type', 'application/json')
            self.send_header('Content-Length', str(len(data)))
            for key, value in {**self.limits, **(headers or {})}.items():
                self.send_header(key, value)
            self.end_headers()
            if self.command != 'HEAD':
                self.wfile.write(data)

        def error(self, status, message):
            self.reply(status, {'status': status, 'message': message})

        def body(self):
            length = int(self.headers.get('Content-Length') or 0)
            return self.rfile.read(length) if length else b''

        def token(self):
            auth = self.headers.get('Authorization') or ''
            return auth[7:] if auth.startswith('Bearer ') else None

        def handle_any(self):
            url = urllib.parse.urlsplit(self.path)
            path = urllib.parse.unquote(url.path)
            self.limits = {}
            with emu.lock:
                emu.log.append((self.command, path, self.headers.get('Range'), self.token()))
                if emu.rate_limit:
                    most, seconds = emu.rate_limit
                    start, n = emu.window
                    if time.time() - start >= seconds:
                        start, n = time.time(), 0
                    emu.window = (start, n + 1)
                    left = max(most - n - 1, 0)
                    self.limits = {
                        'X-RateLimit-Limit': str(most),
                        'X-RateLimit-Remaining': str(left),
                        'X-RateLimit-Reset': str(int(start + seconds) + 1),
                    }
                    if n >= most:
                        self.body()
                        emu.refused += 1
                        return self.error(429, 'Too many requests')
                if emu.refuse_next > 0:
                    emu.refuse_next -= 1
                    emu.refused += 1
                    self.body()
                    return self.reply(429, {'message': 'slow down'}, {'Retry-After': '1'})
                m = re.fullmatch(r'/records/(\d+)/files/(.+)', path)
                if m:
                    return self.download(int(m[1]), m[2])
                if path.startswith('/api/records'):
                    return self.api(path[len('/api/records') :])
            return self.error(404, 'Not found')

        do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = handle_any

        def download(self, record_id, key):
            record = emu.records.get(record_id)
            if record is None or not record.published or key not in record.files or '/' in key:
                return self.error(404, 'The persistent identifier does not exist.')
            data = record.files[key]['data']
            md5 = hashlib.md5(data).hexdigest()
            headers = {'ETag': f'"md5:{md5}"', 'Content-Type': 'application/octet-stream'}
            rng = re.fullmatch(r'bytes=(\d+)-(\d*)', self.headers.get('Range') or '')
            if rng and not emu.ignore_range:
                start = int(rng[1])
                end = min(int(rng[2]), len(data) - 1) if rng[2] else len(data) - 1
                if start > end:
                    return self.reply(416, headers={'Content-Range': f'bytes */{len(data)}'})
                headers['Content-Range'] = f'bytes {start}-{end}/{len(data)}'
                return self.reply(206, headers=headers, data=data[start : end + 1])
            return self.reply(200, headers=headers, data=data)

        def owned(self, record_id):
            record = emu.records.get(record_id)
            if record is None:
                return self.error(404, 'Record not found.')
            if self.token() is None:
                return self.error(401, 'The server could not verify that you are authorized')
            if self.token() != record.owner:
                return self.error(403, 'Permission denied.')
            return record

        def api(self, tail):
            m = re.fullmatch(r'/(\d+)(/.*)?', tail)
            if not m:
                return self.error(404, 'Not found')
            record_id, rest = int(m[1]), m[2] or ''
            record = emu.records.get(record_id)
            if rest in ('', '/files') or rest.startswith('/versions/latest'):
                if record is None or not record.published:
                    return self.error(404, 'Record not found.')
                if rest == '/files':
                    keys = sorted(record.files)
                    return self.reply(200, {'entries': [_entry(record, k) for k in keys]})
                if rest.startswith('/versions/latest'):
                    latest = emu.versions(record.parent)[-1]
                    return self.reply(302, headers={'Location': f'{emu.api_url}/records/{latest}'})
                return self.reply(200, {'id': record.id, 'metadata': record.metadata})
            if rest == '/versions' and self.command == 'POST':
                self.body()
                if (record := self.owned(record_id)) is None:
                    return None
                if not record.published:
                    return self.error(400, 'Cannot create a new version of a draft.')
                drafts = [
                    r
                    for r in emu.records.values()
                    if r.parent == record.parent and not r.published
                ]
                draft = (
                    drafts[0]
                    if drafts
                    else emu.records[emu.new_draft(record.owner, record.parent)]
                )
                if not drafts:
                    draft.metadata = {
                        k: v for k, v in record.metadata.items() if k != 'publication_date'
                    }
                return self.reply(201, {'id': draft.id, 'metadata': draft.metadata})
            m = re.fullmatch(r'/draft(/.*)?', rest)
            if not m:
                return self.error(404, 'Not found')
            data = self.body()
            if (record := self.owned(record_id)) is None:
                return None
            if record.published:
                return self.error(404, 'Draft not found.')
            return self.draft(record, m[1] or '', data)

        def draft(self, record, rest, data):
            if rest == '':
                if self.command == 'PUT':
                    record.metadata = json.loads(data).get('metadata') or {}
                return self.reply(
                    200, {'id': record.id, 'metadata': record.metadata, 'files': {'enabled': True}}
                )
            if rest == '/actions/publish' and self.command == 'POST':
                if not record.metadata.get('publication_date'):
                    return self.reply(
                        400,
                        {
                            'status': 400,
                            'message': 'A validation error occurred.',
                            'errors': [
                                {
                                    'field': 'metadata.publication_date',
                                    'messages': ['Missing data for required field.'],
                                }
                            ],
                        },
                    )
                if any(f['status'] != 'completed' for f in record.files.values()):
                    return self.error(400, 'Files are still pending.')
                record.published = True
                return self.reply(202, {'id': record.id})
            if rest == '/actions/files-import' and self.command == 'POST':
                previous = emu.versions(record.parent)
                if not previous:
                    return self.error(404, 'No previous version.')
                record.files.update(
                    {k: dict(v) for k, v in emu.records[previous[-1]].files.items()}
                )
                return self.reply(
                    201, {'entries': [_entry(record, k) for k in sorted(record.files)]}
                )
            if rest == '/files':
                if self.command == 'GET':
                    return self.reply(
                        200, {'entries': [_entry(record, k) for k in sorted(record.files)]}
                    )
                keys = [e['key'] for e in json.loads(data)]
                if any(k in record.files for k in keys):
                    return self.error(400, 'File with key already exists.')
                if len(record.files) + len(keys) > emu.max_files:
                    return self.error(400, f'Too many files: at most {emu.max_files} per record.')
                for key in keys:
                    record.files[key] = {'data': b'', 'status': 'pending'}
                if emu.drop_after_start > 0:
                    emu.drop_after_start -= 1
                    self.close_connection = True
                    self.connection.shutdown(2)
                    return None
                return self.reply(201, {'entries': [_entry(record, k) for k in keys]})
            m = re.fullmatch(r'/files/(.+?)(/content|/commit)?', rest)
            if not m or m[1] not in record.files:
                return self.error(404, 'File not found.')
            key, what = m[1], m[2]
            if what is None and self.command == 'DELETE':
                del record.files[key]
                return self.reply(204)
            if what == '/content' and self.command == 'PUT':
                if self.headers.get('Content-Type') != 'application/octet-stream':
                    return self.error(415, 'Unsupported media type.')
                if emu.fail_content_after is not None:
                    if emu.fail_content_after <= 0:
                        return self.error(503, 'Service unavailable.')
                    emu.fail_content_after -= 1
                record.files[key]['data'] = data
                return self.reply(200, _entry(record, key))
            if what == '/content' and self.command == 'GET':
                return self.reply(200, data=record.files[key]['data'])
            if what == '/commit' and self.command == 'POST':
                total = sum(len(f['data']) for f in record.files.values())
                if total > emu.max_bytes:
                    return self.error(400, 'Quota exceeded.')
                record.files[key]['status'] = 'completed'
                return self.reply(200, _entry(record, key))
            return self.error(405, 'Method not allowed.')

    return Handler
