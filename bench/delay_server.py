"""A static file server that waits before each response, like a server across a real network.

    python bench/delay_server.py ROOT --delay 0.02

Prints ``serving at http://127.0.0.1:PORT/`` and serves GET and HEAD of the files under ROOT
over HTTP/1.1 keep-alive, each response sent ``--delay`` seconds after its request arrived.
It is asyncio, one process: waiting costs no thread, so hundreds of requests can wait at once
and the delay, not the server, limits a client. Bench-only: no Range, no directory listings.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import urllib.parse
from pathlib import Path


def resolve(root: Path, target: str) -> Path | None:
    """The file a request target names under ``root``, or None (outside, missing)."""
    path = urllib.parse.unquote(urllib.parse.urlsplit(target).path)
    parts = [p for p in path.split('/') if p]
    if any(p in ('.', '..') for p in parts):
        return None
    file = root.joinpath(*parts)
    return file if file.is_file() else None


async def handle(root: Path, delay: float, reader, writer) -> None:
    try:
        while True:
            request = await reader.readline()
            if not request:
                return
            while (await reader.readline()) not in (b'\r\n', b'\n', b''):
                pass  # headers: nothing here needs them
            method, target, _ = request.decode('latin-1').split(' ', 2)
            await asyncio.sleep(delay)
            file = resolve(root, target)
            body = file.read_bytes() if file else b'not found\n'
            status = '200 OK' if file else '404 Not Found'
            head = (
                f'HTTP/1.1 {status}\r\nContent-Length: {len(body)}\r\n'
                'Content-Type: application/octet-stream\r\n\r\n'
            )
            writer.write(head.encode() + (body if method != 'HEAD' else b''))
            await writer.drain()
    except (ConnectionError, ValueError):
        pass
    finally:
        writer.close()


async def serve(root: Path, delay: float, port: int) -> None:
    server = await asyncio.start_server(
        lambda r, w: handle(root, delay, r, w), '127.0.0.1', port, backlog=1024
    )
    print(f'serving at http://127.0.0.1:{server.sockets[0].getsockname()[1]}/', flush=True)
    async with server:
        await server.serve_forever()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('root', type=Path)
    parser.add_argument('--delay', type=float, default=0.02, help='seconds before each response')
    parser.add_argument('--port', type=int, default=0)
    args = parser.parse_args()
    try:
        asyncio.run(serve(args.root.resolve(), args.delay, args.port))
    except KeyboardInterrupt:
        sys.exit(0)


if __name__ == '__main__':
    main()
