"""ftp repositories: upload with pyftpdlib on 127.0.0.1, download over HTTP from base_url."""

import logging

import numpy as np
import pytest
from servers import FtpServer

import onelight

CORI1 = 'nicklab/Subjects/Cori/2016-12-14/001'


@pytest.fixture
def ftp_server(tmp_path):
    servers = []

    def start(**kwargs):
        root = tmp_path / 'ftproot'
        root.mkdir(exist_ok=True)
        server = FtpServer(root, **kwargs)
        server.root = root
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()
    logging.getLogger('pyftpdlib').handlers.clear()


def configure(ftp, base_url, tmp_path, **extra):
    config = onelight.load_config()
    config['repositories'] = [
        {
            'name': 'labftp',
            'type': 'ftp',
            'host': '127.0.0.1',
            'port': ftp.port,
            'ftp_login': 'uploader',
            'ftp_password': 's3cret',
            'remote_root': '/pub',
            'base_url': base_url,
            'backoff': 0.01,
            **extra,
        }
    ]
    config['current_repository'] = 'labftp'
    config['download_dir'] = str(tmp_path / 'dl' / '{lab}' / '{subject}' / '{date}' / '{number}')
    onelight.save_config(config)
    return onelight.One()


def test_upload_then_download_over_http(alf_root, ftp_server, serve, tmp_path):
    ftp = ftp_server()
    (ftp.root / 'pub').mkdir()
    one = configure(ftp, 'http://127.0.0.1:1/pub/', tmp_path)
    report = one.upload(alf_root)
    source = onelight.scan(alf_root)
    assert report.files == len(source.files)
    published = ftp.root / 'pub'
    for rel in source.files:
        assert (published / rel).read_bytes() == (alf_root / rel).read_bytes()
    assert not list(published.rglob('*.part'))
    index = (published / '.one_root').read_text().splitlines()
    assert len(index) == len(source.files)
    # publish the FTP folder over HTTP and read it through the ftp repository's base_url
    web = serve(published)
    reader = configure(ftp, web.url, tmp_path)
    web.index_data = (
        (published / '.one_root')
        .read_bytes()
        .replace(b'http://127.0.0.1:1/pub/', web.url.encode())
    )
    spikes = reader.load_object(CORI1, 'spikes')
    np.testing.assert_array_equal(
        spikes.times, np.load(alf_root / CORI1 / 'alf' / 'spikes.times.npy')[:, 0]
    )
    # a second upload skips every file (SIZE matches) and rewrites only the index
    stores = ftp.state['stores']
    report = reader.upload(alf_root)
    assert report.files == 0 and report.skipped == len(source.files)
    assert ftp.state['stores'] == stores + 1


def test_dropped_connection_reconnects(alf_root, ftp_server, tmp_path):
    ftp = ftp_server(drop_after=3)
    (ftp.root / 'pub').mkdir()
    one = configure(ftp, 'http://127.0.0.1:1/pub/', tmp_path)
    report = one.upload(alf_root)
    assert ftp.state['dropped']
    assert report.files == len(onelight.scan(alf_root).files)
    assert sorted(onelight.scan(ftp.root / 'pub').files) == onelight.scan(alf_root).files


def test_wrong_ftp_password(alf_root, ftp_server, tmp_path):
    ftp = ftp_server()
    one = configure(ftp, 'http://127.0.0.1:1/pub/', tmp_path, ftp_password='wrong')
    with pytest.raises(onelight.AuthError, match='ftp_login and ftp_password') as err:
        one.upload(alf_root)
    assert 'wrong' not in str(err.value)


def test_limit_does_not_publish_the_index(alf_root, ftp_server, tmp_path):
    ftp = ftp_server()
    one = configure(ftp, 'http://127.0.0.1:1/pub/', tmp_path)
    report = one.upload(alf_root, limit=4)
    assert report.files == 4
    assert not (ftp.root / 'pub' / '.one_root').exists()
    assert len(onelight.scan(ftp.root / 'pub').files) == 4


@pytest.mark.parametrize(
    'reply',
    ['213 not-a-number', '213 ' + '9' * 5000, '213 12 34', '213 -5'],
    ids=['text', 'huge', 'two-numbers', 'negative'],
)
def test_a_size_reply_that_is_no_number_is_one_line(alf_root, ftp_server, tmp_path, reply):
    """A server that answers SIZE with what is not a size: one clear error, nothing sent."""
    ftp = ftp_server(size_reply=reply)
    (ftp.root / 'pub').mkdir()
    one = configure(ftp, 'http://127.0.0.1:1/pub/', tmp_path)
    with pytest.raises(onelight.RepositoryError, match='SIZE .* not a size'):
        one.upload(alf_root)
    assert ftp.state['stores'] == 0
