"""Real servers on 127.0.0.1 for the transfer tests: a Range-capable HTTP server with
switchable faults, WebDAV (wsgidav) and FTP (pyftpdlib). Each binds port 0 and is stopped by
the fixture that made it."""

import base64
import gzip
import hashlib
import threading
import time

import onelight


class FaultHandler(onelight.RangeRequestHandler):
    """onelight's own file handler, with faults injected per path from ``server.faults``."""

    def serve(self, head):
        rel = self.requested_path()
        self.server.record(self.command, rel, self.headers)
        if self.server.auth and self.headers.get('Authorization') != self.server.auth:
            self.send_response(401)
            self.send_header('WWW-Authenticate', 'Basic realm="test"')
            self.send_header('Content-Length', '0')
            self.end_headers()
            return
        fault = self.server.take_fault(rel)
        kind = fault[0] if fault else None
        if kind == 'status':
            _, code, headers = fault
            self.send_response(code)
            for key, value in headers.items():
                self.send_header(key, value)
            self.send_header('Content-Length', '0')
            self.end_headers()
            return
        if kind == 'redirect':
            self.send_response(302)
            self.send_header('Location', fault[1] + (rel if len(fault) < 3 else fault[2]))
            self.send_header('Content-Length', '0')
            self.end_headers()
            return
        if kind == 'slow':
            time.sleep(fault[1])
        if self.server.delay and rel != '.one_root':  # a server far away: counts who waits
            with self.server.lock:
                self.server.in_flight += 1
                self.server.most_in_flight = max(self.server.most_in_flight, self.server.in_flight)
            time.sleep(self.server.delay)
            with self.server.lock:
                self.server.in_flight -= 1
        if kind == 'ignore_range':
            del self.headers['Range']
        if kind == 'overrun' and self.headers.get('Range'):  # a 206 past the end asked for
            start = self.headers['Range'].split('=', 1)[1].split('-', 1)[0]
            del self.headers['Range']
            self.headers['Range'] = f'bytes={start}-'
        if kind == 'gzip_bomb':  # decoded, the body is far larger than the file
            body = gzip.compress(b'\0' * fault[1], compresslevel=1)
            self.send_response(200)
            self.send_header('Content-Encoding', 'gzip')
            self.send_header('Content-Length', str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        if kind == 'body':  # any answer at all, e.g. HTML from a catch-all server
            _, code, headers, body = fault
            self.send_response(code)
            for key, value in headers.items():
                self.send_header(key, value)
            self.send_header('Content-Length', str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        self.fault = fault
        super().serve(head)

    def send_index(self, head):
        if self.server.index_data is None:  # a release without .one_root
            self.send_error(404)
            return
        etag = self.server.fixed_etag
        if etag is None:
            return super().send_index(head)
        # a server whose ETag does not depend on the content (as some do)
        body = self.server.index_data
        matched = self.headers.get('If-None-Match') == etag
        self.send_response(304 if matched else 200)
        self.send_header('ETag', etag)
        self.send_header('Content-Length', '0' if matched else str(len(body)))
        self.end_headers()
        if not (head or matched):
            self.wfile.write(body)

    def send_body(self, f, start, length):
        fault = getattr(self, 'fault', None)
        kind = fault[0] if fault else None
        f.seek(start)
        data = f.read(length)
        if kind == 'cut':  # the connection drops after K bytes
            self.wfile.write(data[: fault[1]])
            self.server.count(len(data[: fault[1]]))
            self.close_connection = True
            self.connection.shutdown(2)
            return
        if kind == 'corrupt':
            data = bytes(b ^ 0xFF for b in data[:16]) + data[16:]
        if kind == 'long_body':  # more bytes than Content-Length said
            data += b'garbage' * 10
            self.close_connection = True
        if kind == 'cut_at':  # the connection drops after a share of the body
            data = data[: int(len(data) * fault[1])]
            self.close_connection = True
        if self.server.throttle:  # a slow link: 16 KiB at a time
            for i in range(0, len(data), 1 << 14):
                self.wfile.write(data[i : i + (1 << 14)])
                self.server.count(len(data[i : i + (1 << 14)]))
                time.sleep(self.server.throttle)
        else:
            self.wfile.write(data)
            self.server.count(len(data))
        if kind == 'cut_at':
            self.connection.shutdown(2)

    def send_header(self, keyword, value):
        fault = getattr(self, 'fault', None)
        if fault and fault[0] == 'long_body' and keyword == 'Content-Length':
            value = str(int(value) - 5)
        super().send_header(keyword, value)


class FaultServer(onelight.AlfServer):
    """An AlfServer that records requests and plays queued faults."""

    def __init__(self, root, auth=None, bind='127.0.0.1'):
        super().__init__(root, bind=bind, port=0, handler=FaultHandler)
        self.lock = threading.Lock()
        self.requests = []
        self.faults = {}
        self.throttle = 0
        self.delay = 0  # seconds before each file's response
        self.in_flight = self.most_in_flight = 0
        self.fixed_etag = None
        self.auth = None
        self.sent = 0  # bytes of files sent (bodies, ranges included)
        self.chaos = None  # a function of (rel, headers) giving a fault or None, for soaks
        if auth:
            token = base64.b64encode(f'{auth[0]}:{auth[1]}'.encode()).decode()
            self.auth = f'Basic {token}'

    def record(self, method, rel, headers):
        with self.lock:
            self.requests.append((method, rel, headers.get('Authorization'), headers.get('Range')))

    def count(self, n):
        with self.lock:
            self.sent += n

    def take_fault(self, rel):
        with self.lock:
            queue = self.faults.get(rel) or self.faults.get('*')
            if queue:
                return queue.pop(0)
        return self.chaos(rel) if self.chaos and rel != '.one_root' else None

    def add_fault(self, rel, *faults):
        with self.lock:
            self.faults.setdefault(rel, []).extend(faults)

    def set_index(self, lines):
        self.index_data = ''.join(line + '\n' for line in lines).encode()

    def requests_for(self, rel):
        return [r for r in self.requests if r[1] == rel]


def md5_of(path):
    return hashlib.md5(path.read_bytes()).hexdigest()


class RecordingMiddleware:
    """Records (method, path, Authorization) of every request reaching a WSGI app.

    It also bounds ``wsgi.input`` by Content-Length: wsgidav reads a PUT body to EOF, which
    werkzeug's server (unlike cheroot) does not provide on a kept-alive connection.
    """

    def __init__(self, app):
        self.app = app
        self.requests = []
        self.redirect_puts = None  # (status, location prefix): a PUT is redirected there

    def __call__(self, environ, start_response):
        from werkzeug.wsgi import LimitedStream

        self.requests.append(
            (
                environ['REQUEST_METHOD'],
                environ.get('PATH_INFO', ''),
                environ.get('HTTP_AUTHORIZATION'),
            )
        )
        if self.redirect_puts and environ['REQUEST_METHOD'] == 'PUT':
            status, prefix = self.redirect_puts
            start_response(status, [('Location', prefix + environ.get('PATH_INFO', ''))])
            return [b'']
        length = environ.get('CONTENT_LENGTH') or '0'
        if length.isdigit():
            environ['wsgi.input'] = LimitedStream(environ['wsgi.input'], int(length))
        return self.app(environ, start_response)


class WebDavServer:
    """wsgidav over werkzeug's threaded server on 127.0.0.1, port 0."""

    def __init__(self, root, auth=None):
        from werkzeug.serving import make_server
        from wsgidav.wsgidav_app import WsgiDAVApp

        users = {auth[0]: {'password': auth[1]}} if auth else True
        config = {
            'provider_mapping': {'/': str(root)},
            'simple_dc': {'user_mapping': {'*': users}},
            'http_authenticator': {
                'accept_basic': True,
                'accept_digest': False,
                'default_to_digest': False,
            },
            'verbose': 0,
            'logging': {'enable': False},
            'lock_storage': True,
        }
        self.app = RecordingMiddleware(WsgiDAVApp(config))
        self.server = make_server('127.0.0.1', 0, self.app, threaded=True)
        self.url = f'http://127.0.0.1:{self.server.server_port}/'
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={'poll_interval': 0.05}, daemon=True
        )
        self.thread.start()

    @property
    def requests(self):
        return self.app.requests

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


class FtpServer:
    """pyftpdlib on 127.0.0.1, port 0, one user whose home is ``root``.

    ``drop_after`` closes the control connection once, after that many STOR commands;
    ``size_reply`` is what every SIZE command is answered (a lying server).
    """

    def __init__(self, root, user='uploader', password='s3cret', drop_after=None, size_reply=None):
        from pyftpdlib.authorizers import DummyAuthorizer
        from pyftpdlib.handlers import FTPHandler
        from pyftpdlib.servers import ThreadedFTPServer

        authorizer = DummyAuthorizer()
        authorizer.add_user(user, password, str(root), perm='elradfmwMT')
        state = {'stores': 0, 'dropped': False}
        self.state = state

        class Handler(FTPHandler):
            def ftp_STOR(self, file, mode='w'):
                state['stores'] += 1
                if (
                    drop_after is not None
                    and not state['dropped']
                    and (state['stores'] > drop_after)
                ):
                    state['dropped'] = True
                    self.close()
                    return None
                return super().ftp_STOR(file, mode)

            def ftp_SIZE(self, path):
                if size_reply is None:
                    return super().ftp_SIZE(path)
                self.respond(size_reply)
                return None

        Handler.authorizer = authorizer
        Handler.passive_ports = None
        Handler.auth_failed_timeout = 0.05
        self.server = ThreadedFTPServer(('127.0.0.1', 0), Handler)
        self.port = self.server.address[1]
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={'timeout': 0.05}, daemon=True
        )
        self.thread.start()

    def stop(self):
        self.server.close_all()
        self.thread.join(5)
