"""The contract of every repository type, each against its real server on 127.0.0.1: the same
scenarios for all. A new type passes by adding a Target to TARGETS."""

import logging
import shutil

import numpy as np
import pytest
from conftest import figshare_one

import onelight

TOKEN = 'c' * 40


class Target:
    """One repository type under test: how to make its clients, and how to read what it
    published (the raw ``.one_root``, None when there is none)."""

    def __init__(self, tmp_path):
        self.tmp_path = tmp_path
        self.readers = 0

    def download_dir(self):
        self.readers += 1
        folder = self.tmp_path / f'dl{self.readers}'
        return str(folder / '{lab}' / '{subject}' / '{date}' / '{number}')

    def stop(self):
        pass


class Local(Target):
    def __init__(self, tmp_path):
        super().__init__(tmp_path)
        self.root = tmp_path / 'target'
        self.root.mkdir()

    def client(self):
        return onelight.One(root_dir=self.root)

    def published_index(self):
        path = self.root / '.one_root'
        return path.read_bytes() if path.exists() else None


class Http(Target):
    def __init__(self, tmp_path):
        from servers import WebDavServer

        super().__init__(tmp_path)
        self.root = tmp_path / 'dav'
        self.root.mkdir()
        self.server = WebDavServer(self.root)

    def client(self):
        return onelight.One(
            base_url=self.server.url, backoff=0.01, download_dir=self.download_dir()
        )

    def published_index(self):
        path = self.root / '.one_root'
        return path.read_bytes() if path.exists() else None

    def stop(self):
        self.server.stop()


class Ftp(Http):
    def __init__(self, tmp_path):
        from servers import FtpServer

        super().__init__(tmp_path)  # the web server shows what FTP uploads
        self.ftp = FtpServer(self.root)

    def client(self):
        return onelight.One(
            'labftp',
            type='ftp',
            host='127.0.0.1',
            port=self.ftp.port,
            ftp_login='uploader',
            ftp_password='s3cret',
            base_url=self.server.url,
            backoff=0.01,
            download_dir=self.download_dir(),
        )

    def stop(self):
        self.ftp.stop()
        logging.getLogger('pyftpdlib').handlers.clear()
        super().stop()


class Figshare(Target):
    def __init__(self, tmp_path):
        from figshare_emulator import Emulator

        super().__init__(tmp_path)
        self.emulator = Emulator()
        self.article = self.emulator.create_article(TOKEN)

    def client(self):
        folder = self.tmp_path / f'fs{self.readers}'
        self.readers += 1
        return figshare_one(self.emulator, self.article, folder, token=TOKEN, private=True)

    def published_index(self):
        files = self.emulator.articles[self.article].files.values()
        ready = [r for r in files if r.name == '.one_root' and r.status == 'available']
        return max(ready, key=lambda r: r.id).data if ready else None

    def stop(self):
        self.emulator.stop()


class S3(Target):
    def __init__(self, tmp_path):
        pytest.importorskip('moto')
        from test_s3 import Moto

        super().__init__(tmp_path)
        self.moto = Moto()
        self.moto.admin.create_bucket(Bucket='lab')

    def client(self):
        return onelight.One(
            bucket='lab',
            prefix='release',
            endpoint_url=self.moto.url,
            access_key='a',
            secret_key='b',
            backoff=0.01,
            download_dir=self.download_dir(),
        )

    def published_index(self):
        try:
            answer = self.moto.admin.get_object(Bucket='lab', Key='release/.one_root')
        except self.moto.admin.exceptions.NoSuchKey:
            return None
        return answer['Body'].read()

    def stop(self):
        self.moto.stop()


class Zenodo(Target):
    """A Zenodo draft (read by its owner, through the API) on the emulator."""

    def __init__(self, tmp_path):
        from zenodo_emulator import Emulator

        super().__init__(tmp_path)
        self.emulator = Emulator()
        self.record = self.emulator.new_draft(TOKEN)

    def client(self):
        return onelight.One(
            record_id=self.record,
            api_url=self.emulator.api_url,
            token=TOKEN,
            backoff=0.01,
            download_dir=self.download_dir(),
        )

    def published_index(self):
        entry = self.emulator.records[self.record].files.get('.one_root')
        return entry['data'] if entry and entry['status'] == 'completed' else None

    def stop(self):
        self.emulator.stop()


TARGETS = {
    'local': Local,
    'http': Http,
    'ftp': Ftp,
    'figshare': Figshare,
    's3': S3,
    'zenodo': Zenodo,
}


@pytest.fixture(params=sorted(TARGETS))
def target(request, tmp_path):
    made = TARGETS[request.param](tmp_path)
    yield made
    made.stop()


@pytest.fixture
def tree(tmp_path):
    """A small tree: two sessions, an object, a revision, a non-ALF file."""
    root = tmp_path / 'source'
    a = root / 'lab' / 'Subjects' / 'm1' / '2021-01-01' / '001'
    (a / 'alf' / '#2021-02-01#').mkdir(parents=True)
    np.save(a / 'alf' / 'trials.goCue_times.npy', np.arange(5.0))
    np.save(a / 'alf' / 'trials.choice.npy', np.ones(5))
    np.save(a / 'alf' / '#2021-02-01#' / 'trials.choice.npy', -np.ones(5))
    (a / 'notes.txt').write_text('not ALF\n')
    b = root / 'lab' / 'Subjects' / 'm2' / '2021-01-02' / '001' / 'alf'
    b.mkdir(parents=True)
    np.save(b / 'spikes.times.npy', np.arange(100.0))
    return root


def test_upload_then_read_everything(target, tree):
    source = onelight.scan(tree)
    report = target.client().upload(tree)
    assert report.files == len(source.files) and report.skipped == 0
    reader = target.client()
    assert reader.search() == ['lab/Subjects/m2/2021-01-02/001', 'lab/Subjects/m1/2021-01-01/001']
    session = 'lab/Subjects/m1/2021-01-01/001'
    assert reader.list_(session) == sorted(f.split('/', 5)[5] for f in source.files[:4])
    for path in reader.download(session):
        rel = path.as_posix().split('2021-01-01/001/')[1]
        assert path.read_bytes() == (tree / session / rel).read_bytes()
    assert reader.load_object(session, 'trials').choice.tolist() == [-1.0] * 5  # the revision
    assert reader.load_dataset(session, 'notes.txt', download_only=True).is_file()


def test_dry_run_lists_and_sends_nothing(target, tree):
    report = target.client().upload(tree, dry_run=True)
    assert report.paths == onelight.scan(tree).files
    assert target.published_index() is None
    try:  # nothing is there: an empty folder, or no index at all
        found = target.client().search()
    except onelight.NotFoundError:
        found = []
    assert found == []


def test_limit_keeps_the_old_index_and_a_rerun_completes_it(target, tree):
    uploader = target.client()
    uploader.upload(tree, limit=2)  # an upload cut short: no index at all yet
    assert target.published_index() is None
    report = uploader.upload(tree)  # the rerun sends the rest, then the index
    assert report.files == len(onelight.scan(tree).files) - 2 and report.skipped == 2
    first = target.published_index()
    assert first is not None
    extra = tree / 'lab' / 'Subjects' / 'm2' / '2021-01-02' / '001' / 'alf' / 'spikes.amps.npy'
    np.save(extra, np.zeros(3))
    target.client().upload(tree, limit=1)
    assert target.published_index() == first  # --limit never publishes an index
    report = target.client().upload(tree)
    assert report.files == 1
    assert b'spikes.amps.npy' in target.published_index()
    assert 'alf/spikes.amps.npy' in target.client().list_('lab/Subjects/m2/2021-01-02/001')


def test_rerun_uploads_nothing(target, tree):
    target.client().upload(tree, checksums=True)
    first = target.published_index()
    report = target.client().upload(tree, checksums=True)
    assert report.files == 0 and report.skipped == len(onelight.scan(tree).files)
    assert target.published_index() == first


def test_a_changed_file_is_sent_again(target, tree):
    target.client().upload(tree)
    path = tree / 'lab' / 'Subjects' / 'm2' / '2021-01-02' / '001' / 'alf' / 'spikes.times.npy'
    np.save(path, np.arange(200.0))  # another size
    report = target.client().upload(tree)
    assert report.files == 1
    reader = target.client()
    np.testing.assert_array_equal(
        reader.load_dataset('lab/Subjects/m2/2021-01-02/001', 'spikes.times'), np.arange(200.0)
    )


def test_uploading_a_folder_twice_into_a_fresh_repository(target, tree, tmp_path):
    copy = tmp_path / 'copy'
    shutil.copytree(tree, copy)
    target.client().upload(copy)
    assert target.client().upload(tree).files == 0  # the same files, from another folder


def test_the_examples_in_docstrings_hold():
    import doctest

    result = doctest.testmod(onelight, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 20 and result.failed == 0


def test_a_packed_release(target, tree):
    if isinstance(target, Local):  # read in place: nothing to pack
        with pytest.raises(onelight.ConfigError, match='read in place'):
            target.client().upload(tree, pack=True)
        return
    report = target.client().upload(tree, pack=True)
    index = target.published_index().decode()
    assert report.cite and all('#bytes=' in line for line in index.splitlines())
    reader = target.client()
    session = 'lab/Subjects/m1/2021-01-01/001'
    assert reader.load_object(session, 'trials').choice.tolist() == [-1.0] * 5
    for path in reader.download(session):
        rel = path.as_posix().split('2021-01-01/001/')[1]
        assert path.read_bytes() == (tree / session / rel).read_bytes()
    assert reader.verify() == []
    assert target.client().upload(tree, pack=True).files == 0  # the same volumes: nothing sent
