"""Uploading to an http repository by WebDAV (wsgidav on 127.0.0.1), then reading it back."""

import numpy as np
import pytest
from conftest import http_one

import onelight

CORI1 = 'nicklab/Subjects/Cori/2016-12-14/001'


def tree_bytes(root):
    return {rel: (root / rel).read_bytes() for rel in onelight.scan(root).files}


@pytest.mark.parametrize('auth', [None, ('alice', 's3cret')], ids=['anonymous', 'basic-auth'])
def test_upload_then_search_download_load(alf_root, webdav, tmp_path, auth):
    dav = webdav(auth=auth)
    creds = {'login': auth[0], 'password': auth[1]} if auth else {}
    uploader = http_one(dav, tmp_path / 'up', **creds)
    report = uploader.upload(alf_root)
    source = tree_bytes(alf_root)
    assert report.files == len(source) and report.skipped == 0
    assert tree_bytes(dav.root) == source  # every file, byte for byte
    methods = [m for m, _, _ in dav.requests]
    assert 'MKCOL' in methods  # wsgidav answers 409 until the parent folders exist
    puts = [p for m, p, _ in dav.requests if m == 'PUT']
    assert puts[-1] == '/.one_root'  # the index goes last
    index = (dav.root / '.one_root').read_text().splitlines()
    assert len(index) == len(source) and index[0].split('\t')[1].startswith(dav.url)
    if auth:
        assert all(a and a.startswith('Basic ') for _, _, a in dav.requests)

    reader = http_one(dav, tmp_path / 'down', **creds)
    assert reader.search(['eye'], subject='Cori') == [CORI1]
    spikes = reader.load_object(CORI1, 'spikes')
    np.testing.assert_array_equal(
        spikes.times, np.load(alf_root / CORI1 / 'alf/spikes.times.npy')[:, 0]
    )

    # a second upload sends nothing but the index
    before = len(dav.requests)
    report = http_one(dav, tmp_path / 'up', **creds).upload(alf_root)
    assert report.files == 0 and report.skipped == len(source)
    assert [p for m, p, _ in dav.requests[before:] if m == 'PUT'] == ['/.one_root']


def test_upload_wrong_password_is_refused(alf_root, webdav, tmp_path):
    dav = webdav(auth=('alice', 's3cret'))
    with pytest.raises(onelight.AuthError, match='access refused'):
        http_one(dav, tmp_path, login='alice', password='nope').upload(alf_root)
    assert not (dav.root / '.one_root').exists()


def test_dry_run_and_limit(alf_root, webdav, tmp_path):
    dav = webdav()
    repo = http_one(dav, tmp_path).repository
    report = repo.upload(alf_root, dry_run=True)
    assert report.files == len(onelight.scan(alf_root).files) and not dav.requests
    report = repo.upload(alf_root, limit=5)
    assert report.files == 5
    assert len(onelight.scan(dav.root).files) == 5
    assert not (dav.root / '.one_root').exists()  # never an index naming missing files


def test_force_sends_again(alf_root, webdav, tmp_path):
    dav = webdav()
    repo = http_one(dav, tmp_path).repository
    repo.upload(alf_root)
    report = repo.upload(alf_root, force=True, checksums=True)
    assert report.files == len(onelight.scan(alf_root).files)
    first = (dav.root / '.one_root').read_text().splitlines()[0].split('\t')
    assert len(first) == 4 and first[3] == onelight.md5sum(alf_root / first[0])


def test_server_refusing_put_suggests_index(alf_root, serve, tmp_path):
    server = serve(alf_root)  # onelight's own read-only server: PUT is 501
    with pytest.raises(onelight.RepositoryError, match='onelight index'):
        http_one(server, tmp_path, retries=0).upload(alf_root, force=True)


@pytest.mark.parametrize(
    'status, where',
    [
        ('301 Moved Permanently', 'https://127.0.0.1'),
        ('302 Found', 'http://127.0.0.1/login?next='),
    ],
    ids=['to-https', 'to-login'],
)
def test_a_put_answered_by_a_redirect_is_no_success(alf_root, webdav, tmp_path, status, where):
    """A server that redirects uploads (to https, or to a login page) stored nothing: the
    upload fails, one line naming where it points, and no index is claimed published."""
    dav = webdav()
    dav.app.redirect_puts = (status, where)
    with pytest.raises(onelight.RepositoryError, match='redirected the upload') as caught:
        http_one(dav, tmp_path).upload(alf_root)
    assert where.split('?')[0] in str(caught.value) and '\n' not in str(caught.value)
    assert onelight.scan(dav.root).files == []
