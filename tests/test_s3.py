"""s3 repositories against moto's S3 server on 127.0.0.1 (started and stopped by the tests).

moto accepts any keys and anonymous writes unless its signature checks are on, and it honours
max-keys above 1,000: the tests turn the checks on where keys matter, and count the pages
of a listing and the max-keys asked for."""

import hashlib
import logging
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

import onelight

pytest.importorskip('moto')
boto3 = pytest.importorskip('boto3')

CORI1 = 'nicklab/Subjects/Cori/2016-12-14/001'


class Moto:
    """moto's S3 server, and an admin client for setting up buckets."""

    def __init__(self):
        from moto.server import ThreadedMotoServer

        self.server = ThreadedMotoServer(ip_address='127.0.0.1', port=0, verbose=False)
        self.server.start()
        host, port = self.server.get_host_and_port()
        self.url = f'http://{host}:{port}'
        self.admin = self.client('admin', 'admin')

    def client(self, key, secret, service='s3'):
        from botocore.config import Config

        return boto3.client(
            service,
            endpoint_url=self.url,
            region_name='us-east-1',
            aws_access_key_id=key,
            aws_secret_access_key=secret,
            config=Config(
                request_checksum_calculation='when_required',
                response_checksum_validation='when_required',
            ),
        )

    def requests(self, caplog, method=''):
        return [
            r.getMessage()
            for r in caplog.records
            if r.name == 'werkzeug' and f'"{method}' in r.getMessage()
        ]

    def stop(self):
        import requests

        # moto's state lives in this process: leave no bucket and no signature checks behind
        requests.post(f'{self.url}/moto-api/reset-auth', data=b'inf', timeout=5)
        requests.post(f'{self.url}/moto-api/reset', timeout=5)
        self.server.stop()


@pytest.fixture
def moto():
    server = Moto()
    yield server
    server.stop()


def s3_one(moto, tmp_path, **settings):
    template = str(tmp_path / 'dl' / '{lab}' / '{subject}' / '{date}' / '{number}')
    settings.setdefault('backoff', 0.01)
    return onelight.One(
        bucket=settings.pop('bucket', 'lab'),
        endpoint_url=moto.url,
        download_dir=template,
        **settings,
    )


def test_publish_to_a_bucket_and_read_it_anonymously(alf_root, moto, tmp_path, caplog):
    moto.admin.create_bucket(Bucket='lab', ACL='public-read')
    uploader = s3_one(moto, tmp_path, prefix='release/v1', access_key='a', secret_key='b')
    source = onelight.scan(alf_root)
    report = uploader.upload(alf_root, checksums=True)
    assert report.files == len(source.files)
    head = moto.admin.head_object(Bucket='lab', Key=f'release/v1/{CORI1}/alf/eye.area.npy')
    expected = hashlib.md5((alf_root / CORI1 / 'alf/eye.area.npy').read_bytes()).hexdigest()
    assert head['Metadata']['md5'] == expected  # the md5 in the object's metadata
    reader = s3_one(moto, tmp_path, prefix='release/v1', public=True)
    assert len(reader.search()) == 6
    area = reader.load_dataset(CORI1, 'eye.area')
    np.testing.assert_array_equal(area, np.load(alf_root / CORI1 / 'alf/eye.area.npy')[:, 0])
    # an unchanged rerun sends no PUT at all, the index included
    caplog.clear()
    with caplog.at_level(logging.INFO, logger='werkzeug'):
        report = uploader.upload(alf_root, checksums=True)
    assert report.files == 0 and moto.requests(caplog, 'PUT') == []


def test_a_release_without_index_is_read_from_its_listing(moto, tmp_path, caplog):
    """More than 1,000 objects: the listing is read page by page, 1,000 keys at most."""
    moto.admin.create_bucket(Bucket='lab', ACL='public-read')
    keys = [
        f'data/lab/Subjects/m{i % 7}/2020-01-01/{1 + i // 7:03d}/alf/x.y.npy' for i in range(1003)
    ]

    def put(key):
        moto.admin.put_object(Bucket='lab', Key=key, Body=key.encode())

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(put, keys))
    moto.admin.put_object(Bucket='lab', Key='data/README.txt', Body=b'not data')
    caplog.clear()
    with caplog.at_level(logging.INFO, logger='werkzeug'):
        one = s3_one(moto, tmp_path, prefix='data', public=True)
        assert len(one.index) == 1003
    listings = [m for m in moto.requests(caplog, 'GET') if 'list-type=2' in m]
    assert len(listings) == 2 and all('max-keys=1000' in m for m in listings)
    # sizes and single-part ETags (md5s) verify the downloads
    assert one.index.df['md5'].notna().all()
    path = one.load_dataset('lab/Subjects/m0/2020-01-01/001', 'x.y.npy', download_only=True)
    assert path.read_bytes() == keys[0].encode()
    # cached: offline works from the listing
    offline = s3_one(moto, tmp_path, prefix='data', public=True, offline=True)
    assert len(offline.index) == 1003


def test_multipart_upload_of_a_large_file(moto, tmp_path):
    moto.admin.create_bucket(Bucket='lab')
    root = tmp_path / 'big'
    folder = root / 'lab' / 'Subjects' / 'm1' / '2020-01-01' / '001' / 'alf'
    folder.mkdir(parents=True)
    data = np.random.default_rng(1).integers(0, 255, 9 << 20, dtype=np.uint8).tobytes()
    (folder / 'raw.data.bin').write_bytes(data)
    uploader = s3_one(moto, tmp_path, access_key='a', secret_key='b')
    assert uploader.upload(root).files == 1
    key = 'lab/Subjects/m1/2020-01-01/001/alf/raw.data.bin'
    head = moto.admin.head_object(Bucket='lab', Key=key)
    assert head['ETag'].strip('"').endswith('-2')  # two parts
    assert head['Metadata']['md5'] == hashlib.md5(data).hexdigest()
    reader = s3_one(moto, tmp_path, access_key='a', secret_key='b')
    path = reader.load_dataset('lab/Subjects/m1/2020-01-01/001', 'raw.data.bin')
    assert path.read_bytes() == data  # .bin loads as its path
    # a rerun compares sizes (a multipart ETag is not an md5): nothing is sent
    assert uploader.upload(root).files == 0


def test_private_bucket_with_signatures_and_wrong_keys(alf_root, moto, tmp_path):
    iam = moto.client('admin', 'admin', service='iam')
    iam.create_user(UserName='lab')
    policy = iam.create_policy(
        PolicyName='all',
        PolicyDocument='{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", '
        '"Action": "s3:*", "Resource": "*"}]}',
    )
    iam.attach_user_policy(UserName='lab', PolicyArn=policy['Policy']['Arn'])
    key = iam.create_access_key(UserName='lab')['AccessKey']
    owner = moto.client(key['AccessKeyId'], key['SecretAccessKey'])
    owner.create_bucket(Bucket='private')
    import requests

    requests.post(f'{moto.url}/moto-api/reset-auth', data=b'0', timeout=5).raise_for_status()
    good = {'access_key': key['AccessKeyId'], 'secret_key': key['SecretAccessKey']}
    uploader = s3_one(moto, tmp_path, bucket='private', **good)
    assert uploader.upload(alf_root).files == len(onelight.scan(alf_root).files)
    reader = s3_one(moto, tmp_path, bucket='private', **good)
    assert len(reader.search()) == 6
    trials = reader.load_object(CORI1, 'trials')
    assert trials.goCue_times.shape == (214,)
    with pytest.MonkeyPatch.context() as env:  # the standard AWS chain: the environment
        env.setenv('AWS_ACCESS_KEY_ID', key['AccessKeyId'])
        env.setenv('AWS_SECRET_ACCESS_KEY', key['SecretAccessKey'])
        env.setenv('AWS_EC2_METADATA_DISABLED', 'true')
        assert len(s3_one(moto, tmp_path, bucket='private').search()) == 6
    wrong = s3_one(moto, tmp_path, bucket='private', access_key=key['AccessKeyId'], secret_key='x')
    with pytest.raises(onelight.AuthError, match='access refused'):
        wrong.search()
    with pytest.raises(onelight.AuthError, match='access refused'):
        wrong.upload(alf_root)
    shown = repr(reader.repository.describe())
    assert key['SecretAccessKey'] not in shown and '****' in shown


def test_missing_bucket_and_bad_settings(moto, tmp_path, alf_root):
    with pytest.raises(onelight.NotFoundError, match='bucket nothing does not exist'):
        s3_one(moto, tmp_path, bucket='nothing', public=True).search()
    with pytest.raises(onelight.NotFoundError, match='bucket nothing does not exist'):
        s3_one(moto, tmp_path, bucket='nothing', access_key='a', secret_key='b').upload(alf_root)
    with pytest.raises(onelight.ConfigError, match='go together'):
        s3_one(moto, tmp_path, access_key='a')


def test_uploading_without_the_s3_extra_says_so(moto, tmp_path, monkeypatch, alf_root):
    import sys

    monkeypatch.setitem(sys.modules, 'boto3', None)  # as if it were not installed
    one = s3_one(moto, tmp_path, access_key='a', secret_key='b')
    with pytest.raises(onelight.MissingDependencyError, match=r'pip install boto3 .*\.\[s3\]'):
        one.upload(alf_root)
