"""Real servers on 127.0.0.1 for the transfer tests: a Range-capable HTTP server with
switchable faults, WebDAV (wsgidav) and FTP (pyftpdlib). Each binds port 0 and is stopped by
the fixture that made it."""

import base64
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
            self.send_header('Location', fault[1] + rel)
            self.send_header('Content-Length', '0')
            self.end_headers()
            return
        if kind == 'slow':
            time.sleep(fault[1])
        if kind == 'ignore_range':
            del self.headers['Range']
        self.fault = fault
        super().serve(head)

    def send_body(self, f, start, length):
        fault = getattr(self, 'fault', None)
        kind = fault[0] if fault else None
        f.seek(start)
        data = f.read(length)
        if kind == 'cut':  # the connection drops after K bytes
            self.wfile.write(data[: fault[1]])
            self.close_connection = True
            self.connection.shutdown(2)
            return
        if kind == 'corrupt':
            data = bytes(b ^ 0xFF for b in data[:16]) + data[16:]
        if kind == 'long_body':  # more bytes than Content-Length said
            data += b'garbage' * 10
            self.close_connection = True
        self.wfile.write(data)

    def send_header(self, keyword, value):
        fault = getattr(self, 'fault', None)
        if fault and fault[0] == 'long_body' and keyword == 'Content-Length':
            value = str(int(value) - 5)
        super().send_header(keyword, value)


class FaultServer(onelight.AlfServer):
    """An AlfServer that records requests and plays queued faults."""

    def __init__(self, root, auth=None):
        super().__init__(root, port=0, handler=FaultHandler)
        self.lock = threading.Lock()
        self.requests = []
        self.faults = {}
        self.auth = None
        if auth:
            token = base64.b64encode(f'{auth[0]}:{auth[1]}'.encode()).decode()
            self.auth = f'Basic {token}'

    def record(self, method, rel, headers):
        with self.lock:
            self.requests.append((method, rel, headers.get('Authorization'),
                                  headers.get('Range')))

    def take_fault(self, rel):
        with self.lock:
            queue = self.faults.get(rel) or self.faults.get('*')
            return queue.pop(0) if queue else None

    def add_fault(self, rel, *faults):
        with self.lock:
            self.faults.setdefault(rel, []).extend(faults)

    def set_index(self, lines):
        self.index_data = ''.join(line + '\n' for line in lines).encode()

    def requests_for(self, rel):
        return [r for r in self.requests if r[1] == rel]


def md5_of(path):
    return hashlib.md5(path.read_bytes()).hexdigest()
