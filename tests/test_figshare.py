"""figshare repositories against the emulator of the REST API v2 (tests/figshare_emulator.py)."""

import numpy as np
import pytest
from conftest import figshare_one

import onelight

TOKEN = 'a' * 40
CORI1 = 'nicklab/Subjects/Cori/2016-12-14/001'


def upload(emu, article, root, tmp_path, settings=None, **kwargs):
    one = figshare_one(
        emu, article, tmp_path / 'up', token=TOKEN, private=True, **(settings or {})
    )
    return one.upload(root, **kwargs)


def uploads_sent(emu):
    return [e for e in emu.log if e[0] == 'upload' and e[1] == 'PUT']


def test_upload_then_read_a_fresh_client(alf_root, figshare, tmp_path):
    emu = figshare
    emu.create_404_window = 0.1  # a new file record is 404 for a moment
    emu.status_delay = 0.05  # and 'ic_checking' before 'available'
    article = emu.create_article(TOKEN)
    report = upload(emu, article, alf_root, tmp_path)
    source = onelight.scan(alf_root).files
    assert report.files == len(source)
    names = emu.names(article)
    assert names == sorted([onelight.flat_name(p) for p in source] + ['.one_root'])
    assert 'nicklab~Subjects~Cori~2016-12-14~001~alf~eye.area.npy' in names
    assert onelight.FIGSHARE_USAGE_MARKER in emu.articles[article].description

    reader = figshare_one(emu, article, tmp_path / 'down', token=TOKEN, private=True)
    assert reader.search(['eye'], subject='Cori') == [CORI1]
    paths = reader.download(CORI1)
    folder = tmp_path / 'down' / 'nicklab' / 'Cori' / '2016-12-14' / '001'
    for path in paths:
        rel = path.relative_to(folder).as_posix()
        assert path.read_bytes() == (alf_root / CORI1 / rel).read_bytes()
    trials = reader.load_object(CORI1, 'trials')
    np.testing.assert_array_equal(
        trials.goCue_times, np.load(alf_root / CORI1 / 'alf/trials.goCue_times.npy')[:, 0]
    )
    # private downloads carry the token to the download host only
    assert all(auth == f'token {TOKEN}' for host, _, _, auth in emu.log if host == 'download')


def changes(emu):
    """The requests that change an article: file creates, part PUTs and DELETEs."""
    return [
        e
        for e in emu.log
        if (e[0] == 'api' and e[1] == 'POST' and e[2].endswith('/files'))
        or (e[0] == 'upload' and e[1] == 'PUT')
        or e[1] == 'DELETE'
    ]


def test_rerun_sends_nothing_again(alf_root, figshare, tmp_path):
    emu = figshare
    article = emu.create_article(TOKEN)
    upload(emu, article, alf_root, tmp_path)
    index_id = [r.id for r in emu.articles[article].files.values() if r.name == '.one_root']
    before = len(changes(emu))
    assert before > 0
    for _ in range(2):
        report = upload(emu, article, alf_root, tmp_path)
        assert report.files == 0 and report.skipped == len(onelight.scan(alf_root).files)
    assert changes(emu)[before:] == []  # no create, no part, no DELETE: the index is the same
    assert [r.id for r in emu.articles[article].files.values() if r.name == '.one_root'] == (
        index_id
    )
    # a changed tree publishes a new index and deletes the old one
    (alf_root / CORI1 / 'alf' / 'new.thing.npy').write_bytes(b'new')
    upload(emu, article, alf_root, tmp_path)
    assert emu.names(article).count('.one_root') == 1
    new_id = [r.id for r in emu.articles[article].files.values() if r.name == '.one_root']
    assert new_id != index_id


def test_rerun_over_more_than_1000_files_sends_nothing(figshare, tmp_path):
    emu = figshare
    emu.max_files_per_article = 5000  # a figshare+ item
    article = emu.create_article(TOKEN)
    root = tmp_path / 'big'
    for i in range(1003):  # already on figshare (as from an earlier upload)
        rel = f'lab/Subjects/m{i % 3}/2020-01-01/{1 + i // 3:03d}/alf/obj.attr.npy'
        (root / rel).parent.mkdir(parents=True)
        (root / rel).write_bytes(b'x' * (i % 4))
        emu.add_available_file(article, onelight.flat_name(rel), b'x' * (i % 4))
    report = upload(emu, article, root, tmp_path, checksums=True)
    assert report.files == 0 and len(emu.articles[article].files) == 1004  # the index
    before = len(changes(emu))
    listings = len([e for e in emu.log if e[0] == 'api' and e[2].endswith('/files')])
    report = upload(emu, article, root, tmp_path, checksums=True)
    assert report.files == 0 and report.skipped == 1003
    assert changes(emu)[before:] == []
    # one paginated listing (2 pages) for the whole rerun
    after = len([e for e in emu.log if e[0] == 'api' and e[2].endswith('/files')])
    assert after - listings == 2


def test_interrupted_upload_is_completed_without_duplicates(alf_root, figshare, tmp_path):
    emu = figshare
    article = emu.create_article(TOKEN)

    def drop_some(record, part):  # the connection drops on every try, for these files
        return 'spikes.times' in record.name

    emu.fail_part = drop_some
    with pytest.raises(onelight.TransferError):
        upload(
            emu,
            article,
            alf_root,
            tmp_path,
        )
    assert '.one_root' not in emu.names(article)  # no index naming missing files
    emu.fail_part = None
    report = upload(emu, article, alf_root, tmp_path)
    assert 0 < report.files < len(onelight.scan(alf_root).files)
    names = emu.names(article)
    assert len(names) == len(set(names))
    reader = figshare_one(emu, article, tmp_path / 'down', token=TOKEN, private=True)
    spikes = reader.load_object(CORI1, 'spikes')
    assert spikes.times.shape == (20000,)


def test_md5_failure_is_reported_and_redone(alf_root, figshare, tmp_path):
    emu = figshare
    article = emu.create_article(TOKEN)
    emu.corrupt_parts = 1
    with pytest.raises(onelight.IntegrityError, match='does not match its md5'):
        upload(emu, article, alf_root, tmp_path)
    statuses = [r.status for r in emu.articles[article].files.values()]
    assert 'ic_failure' in statuses
    upload(emu, article, alf_root, tmp_path)
    statuses = [r.status for r in emu.articles[article].files.values()]
    assert set(statuses) == {'available'}
    names = emu.names(article)
    assert len(names) == len(set(names))


def test_multipart_upload_and_transient_errors(tmp_path, figshare):
    emu = figshare
    emu.part_size = 1 << 20
    article = emu.create_article(TOKEN)
    root = tmp_path / 'big'
    folder = root / 'lab/Subjects/m1/2020-01-01/001/raw_ephys_data'
    folder.mkdir(parents=True)
    data = np.random.default_rng(0).integers(0, 255, 2_600_000, dtype=np.uint8).tobytes()
    (folder / '_spikeglx_ephysData_g0_t0.imec0.ap.bin').write_bytes(data)
    emu.transient_500 = 2
    upload(emu, article, root, tmp_path)
    assert len(uploads_sent(emu)) == 3 + 1  # three 1 MiB parts, and the index
    (record,) = [r for r in emu.articles[article].files.values() if r.name != '.one_root']
    assert record.data == data
    emu.download_403 = 2  # the download host refuses automated clients for a while
    reader = figshare_one(emu, article, tmp_path / 'down', token=TOKEN, private=True)
    path = reader.load_dataset(
        'lab/Subjects/m1/2020-01-01/001', 'raw_ephys_data/_spikeglx_ephysData_g0_t0.imec0.ap.bin'
    )
    assert path.read_bytes() == data


def test_public_article_after_clean_publish(alf_root, figshare, tmp_path):
    emu = figshare
    article = emu.create_article(TOKEN)
    upload(emu, article, alf_root, tmp_path)
    # an older duplicate left behind by some earlier tool (a lower id)
    dup = emu.add_available_file(
        article, 'nicklab~Subjects~Cori~2016-12-14~001~alf~eye.area.npy', b'old', file_id=7
    )
    with pytest.raises(onelight.NotFoundError, match='does not exist or is private'):
        figshare_one(emu, article, tmp_path / 'pub').search()  # not published yet
    owner = figshare_one(emu, article, tmp_path / 'up', token=TOKEN, private=True)
    done = owner.publish()
    assert done['removed'] == 1  # the duplicate (the old index is replaced)
    assert dup.id not in emu.articles[article].files
    public = figshare_one(emu, article, tmp_path / 'pub')
    assert public.search(['eye'], subject='Cori') == [CORI1]
    area = public.load_dataset(CORI1, 'eye.area')
    np.testing.assert_array_equal(area, np.load(alf_root / CORI1 / 'alf/eye.area.npy')[:, 0])
    storage = [e for e in emu.log if e[0] == 'storage']
    assert storage and all(auth is None for *_, auth in storage)  # no token to storage


def test_more_than_1000_files(figshare, tmp_path):
    emu = figshare
    article = emu.create_article(TOKEN)
    lines = []
    for i in range(1205):
        rel = f'lab/Subjects/m{i % 7}/2020-01-01/{1 + i // 7:03d}/alf/obj.attr.npy'
        record = emu.add_available_file(article, onelight.flat_name(rel), b'x' * (i % 5))
        lines.append(f'{rel}\t{emu.url("download")}/files/{record.id}')
    emu.add_available_file(article, '.one_root', ('\n'.join(lines) + '\n').encode())
    emu.articles[article].public_files = list(emu.articles[article].files)
    one = figshare_one(emu, article, tmp_path)
    assert len(one.index) == 1205 and len(one.search()) == 1205
    listings = [e for e in emu.log if e[0] == 'api' and e[2].endswith('/files')]
    assert len(listings) == 2  # page_size 1000: two pages
    # the listing's size and md5 verify downloads
    assert one.index.df['md5'].notna().all() and one.index.df['size'].notna().all()


def test_index_cached_by_file_id(alf_root, figshare, tmp_path):
    emu = figshare
    article = emu.create_article(TOKEN)
    upload(emu, article, alf_root, tmp_path)
    figshare_one(emu, article, tmp_path / 'a', token=TOKEN, private=True).search()
    n_downloads = len([e for e in emu.log if e[0] == 'download'])
    again = figshare_one(emu, article, tmp_path / 'b', token=TOKEN, private=True)
    assert len(again.search()) == 6
    assert len([e for e in emu.log if e[0] == 'download']) == n_downloads  # one listing only
    offline = figshare_one(emu, article, tmp_path / 'c', token=TOKEN, private=True, offline=True)
    assert len(offline.search()) == 6


@pytest.mark.parametrize('status', [401, 403])
def test_wrong_token(alf_root, figshare, tmp_path, status):
    emu = figshare
    emu.invalid_token_status = status
    article = emu.create_article(TOKEN)
    one = figshare_one(emu, article, tmp_path, token='wrong-token-123', private=True)
    with pytest.raises(onelight.AuthError, match='check the "token" key') as err:
        one.search()
    assert 'wrong-token-123' not in str(err.value)
    with pytest.raises(onelight.AuthError):
        one.upload(alf_root)


def test_missing_article_and_missing_token(alf_root, figshare, tmp_path):
    emu = figshare
    with pytest.raises(onelight.NotFoundError, match='article 424242 does not exist'):
        figshare_one(emu, 424242, tmp_path).search()
    article = emu.create_article(TOKEN)
    with pytest.raises(onelight.ConfigError, match='needs a figshare token'):
        figshare_one(emu, article, tmp_path).upload(alf_root)
    with pytest.raises(onelight.ConfigError, match='needs a token'):
        figshare_one(emu, article, tmp_path, private=True)
    with pytest.raises(onelight.NotFoundError, match=r'has no \.one_root'):
        figshare_one(emu, article, tmp_path, token=TOKEN, private=True).search()


def test_article_urls():
    assert onelight.parse_article_id(9598406) == 9598406
    assert (
        onelight.parse_article_id(
            'https://figshare.com/articles/Dataset_from_Steinmetz_et_al_2019/9598406'
        )
        == 9598406
    )
    assert (
        onelight.parse_article_id(
            'https://figshare.com/articles/dataset/Dataset_from_Steinmetz/9598406/2'
        )
        == 9598406
    )
    with pytest.raises(onelight.ConfigError):
        onelight.parse_article_id('https://example.org/nothing')


def test_cli_figshare(alf_root, figshare, tmp_path):
    from click.testing import CliRunner

    emu = figshare
    article = emu.create_article(TOKEN)

    def run(*args):
        return CliRunner().invoke(onelight.cli, [str(a) for a in args], catch_exceptions=False)

    result = run(
        'add_repo',
        'fs',
        '--type',
        'figshare',
        '--article-id',
        article,
        '--token',
        TOKEN,
        '--private',
        '--api-url',
        emu.api_url,
        '--downloads-url',
        emu.url('download'),
    )
    assert result.exit_code == 0, result.output
    assert TOKEN not in run('repo').stdout and 'token=****' in run('repo').stdout
    dry = run('upload', alf_root, '--dry-run')
    assert f'{CORI1}/alf/eye.area.npy' in dry.stdout.split() and not emu.names(article)
    result = run('upload', alf_root, '--checksums')
    assert result.exit_code == 0 and 'uploaded' in result.stderr
    assert run('search', 'eye').stdout.split()[-1] == CORI1  # newest first
    result = run('clean_publish')
    assert result.exit_code == 0 and 'published article' in result.stderr
    wrong = run('add_repo', 'x', '--type', 'figshare', '--article-id', 'nope')
    assert wrong.exit_code == 1 and 'article_id must be' in wrong.stderr


def test_limits_are_checked_before_anything_is_sent(alf_root, figshare, tmp_path):
    emu = figshare
    emu.quota = 1000
    article = emu.create_article(TOKEN)
    with pytest.raises(
        onelight.RepositoryError, match='account has 1.0 kB free; nothing was sent'
    ):
        upload(emu, article, alf_root, tmp_path)
    assert uploads_sent(emu) == [] and emu.articles[article].files == {}
    emu.quota, emu.maximum_file_size = 20 * 10**9, 1000
    with pytest.raises(onelight.RepositoryError, match='more than the 1.0 kB figshare accepts'):
        upload(emu, article, alf_root, tmp_path)
    assert uploads_sent(emu) == []


def test_a_limit_figshare_enforces_is_reported_in_its_words(alf_root, figshare, tmp_path):
    emu = figshare
    emu.max_files_per_article = 20  # the account's limit is lower than the setting says
    article = emu.create_article(TOKEN)
    with pytest.raises(onelight.RepositoryError, match=r'files per item reached \(20\)') as err:
        upload(emu, article, alf_root, tmp_path)
    assert not isinstance(err.value, onelight.AuthError) and 'max_files_per_article' in str(
        err.value
    )


def test_a_create_that_broke_off_is_looked_for_before_it_is_sent_again(
    alf_root, figshare, tmp_path
):
    """The connection resets after figshare created the file record: the upload finds that
    record and uses it, instead of failing or creating a second one."""
    emu = figshare
    article = emu.create_article(TOKEN)
    emu.reset_after_create = 2
    report = upload(emu, article, alf_root, tmp_path)
    source = onelight.scan(alf_root).files
    assert report.files == len(source)
    names = emu.names(article)
    assert len(names) == len(set(names)) == len(source) + 1
    creates = [e for e in emu.log if e[0] == 'api' and e[1] == 'POST' and e[2].endswith('/files')]
    assert len(creates) == len(source) + 1  # each file (and the index) created exactly once


def release(root, n, start=0):
    """``n`` small ALF files over sessions of 7 files, with distinct contents."""
    rels = []
    for i in range(start, start + n):
        rel = f'lab/Subjects/m{i % 5}/2020-01-01/{1 + i // 35:03d}/alf/obj{i % 7}.attr.npy'
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(f'file {i}'.encode())
        rels.append(rel)
    return rels


def articles_of(emu, article):
    """The articles a release spans, by where each file is: {article: [names]}."""
    out = {}
    for a in emu.articles.values():
        if a.owner == emu.articles[article].owner:
            out[a.id] = sorted(r.name for r in a.files.values())
    return out


def test_a_release_spans_articles_under_the_per_article_cap(figshare, tmp_path):
    """1,203 files under figshare's 500 files per article: three articles in one project, an
    unchanged rerun writes nothing, a changed file is replaced in its own article, new files
    go where there is room, and one collection publishes them all."""
    emu = figshare
    article = emu.create_article(TOKEN, 'Steinmetz release')
    root = tmp_path / 'release'
    rels = release(root, 1203)
    report = upload(emu, article, root, tmp_path)
    assert report.files == 1203
    spread = articles_of(emu, article)
    assert len(spread) == 3 and all(len(names) <= 500 for names in spread.values())
    assert '.one_root' in spread[article] and '.one_articles' in spread[article]
    (project,) = emu.projects.values()
    assert sorted(project['articles']) == sorted(a for a in spread if a != article)
    # a fresh reader configures the index article only, and finds every file
    reader = figshare_one(emu, article, tmp_path / 'read', token=TOKEN, private=True)
    assert len(reader.index) == 1203
    assert reader.index.df['md5'].notna().all()  # from the listings of the three articles
    session = 'lab/Subjects/m0/2020-01-01/035'
    paths = reader.download(session)
    assert all(
        p.read_bytes() == (root / session / p.relative_to(paths[0].parents[1])).read_bytes()
        for p in paths
    )
    # rerun unchanged: nothing written
    before = len(changes(emu))
    assert upload(emu, article, root, tmp_path).files == 0
    assert changes(emu)[before:] == []
    # a changed file stays in its article; ten new files go where there is room
    changed = rels[1000]
    home = next(
        a for a, names in articles_of(emu, article).items() if onelight.flat_name(changed) in names
    )
    (root / changed).write_bytes(b'changed')
    new = release(root, 10, start=1203)
    report = upload(emu, article, root, tmp_path)
    assert report.files == 11
    after = articles_of(emu, article)
    assert after[home].count(onelight.flat_name(changed)) == 1
    assert len(after) == 3 and all(len(names) <= 500 for names in after.values())
    assert all(any(onelight.flat_name(r) in names for names in after.values()) for r in new)
    # one citable release: every article published, in one collection
    result = reader.repository.clean_publish()
    assert result['files'] == 1213 and len(result['articles']) == 3
    (collection,) = emu.collections.values()
    assert collection['public'] and sorted(collection['articles']) == sorted(after)
    assert all(emu.articles[a].public_files for a in after)


def test_an_interrupted_article_creation_leaves_no_orphan(figshare, tmp_path):
    emu = figshare
    emu.max_files_per_article = 20
    article = emu.create_article(TOKEN)
    root = tmp_path / 'release'
    release(root, 30)
    emu.reset_after_article_create = 1  # created, then the connection drops unanswered
    report = upload(emu, article, root, tmp_path, {'max_files_per_article': 20})
    assert report.files == 30
    spread = articles_of(emu, article)
    assert len(spread) == 2  # the article made before the reset was found, not made again
    names = [n for ns in spread.values() for n in ns if n.endswith('.npy')]
    assert len(names) == len(set(names)) == 30  # no duplicate file
    before = len(changes(emu))
    assert upload(emu, article, root, tmp_path, {'max_files_per_article': 20}).files == 0
    assert changes(emu)[before:] == []


def published_release(emu, tmp_path):
    """30 files published over two articles (20 files each at most) and one collection:
    ``(index article, local root, paths, what clean_publish returned)``."""
    emu.max_files_per_article = 20
    article = emu.create_article(TOKEN)
    root = tmp_path / 'release'
    rels = release(root, 30)
    upload(emu, article, root, tmp_path, {'max_files_per_article': 20})
    published = figshare_one(emu, article, tmp_path / 'p', token=TOKEN).repository.clean_publish()
    return article, root, rels, published


def test_the_original_client_reads_a_release_that_spans_articles(figshare, tmp_path):
    """ONE light's read_root_file: the public .one_root of the index article, two columns,
    each URL downloading the file, whichever article holds it."""
    import requests

    emu = figshare
    article, root, rels, _ = published_release(emu, tmp_path)
    files = requests.get(
        f'{emu.api_url}/articles/{article}/files', params={'page_size': 1000}, timeout=5
    ).json()
    (entry,) = [f for f in files if f['name'] == '.one_root']
    text = requests.get(entry['download_url'], timeout=5).text
    lines = [line.split('\t') for line in text.splitlines()]
    assert sorted(r for r, _ in lines) == sorted(rels) and all(len(cols) == 2 for cols in lines)
    for rel, url in lines[:5] + lines[-5:]:
        assert requests.get(url, timeout=5).content == (root / rel).read_bytes()


def test_chunked_private_downloads_reuse_their_connections(alf_root, figshare, tmp_path):
    """A private file comes chunked (no Content-Length): reading it to its announced size
    also reads the last chunk, so the connection goes back to the pool instead of being
    reset under the server."""
    emu = figshare
    article = emu.create_article(TOKEN)
    upload(emu, article, alf_root, tmp_path)
    one = figshare_one(emu, article, tmp_path / 'r', token=TOKEN, private=True, jobs=1)
    one.download(CORI1)
    ports = [port for role, port in emu.clients if role == 'download']
    assert len(ports) >= 10 and len(set(ports)) <= 2


def test_a_reader_can_name_the_collection_instead(figshare, tmp_path):
    emu = figshare
    _, _, rels, published = published_release(emu, tmp_path)
    template = str(tmp_path / 'c' / '{lab}' / '{subject}' / '{date}' / '{number}')
    one = onelight.One(
        collection_id=published['collection_id'], api_url=emu.api_url, download_dir=template
    )
    assert len(one.index) == 30 and one.repository.name.startswith('figshare-collection-')
    paths = one.download('lab/Subjects/m0/2020-01-01/001')
    assert paths and all(p.is_file() for p in paths)
    assert sorted(one.list_datasets(details=False))[0] in [r.split('/', 5)[5] for r in rels]
    with pytest.raises(onelight.ConfigError, match=r'needs article_id \(or collection_id\)'):
        onelight.make_repository({'name': 'x', 'type': 'figshare'})


def test_a_listing_that_sends_the_same_page_again_ends(figshare, tmp_path):
    """A collection whose article listing repeats one full page would be read for ever: the
    second time a page comes, the listing is refused."""
    emu = figshare
    _, _, _, published = published_release(emu, tmp_path)
    emu.endless_listing = True
    template = str(tmp_path / 'c' / '{lab}' / '{subject}' / '{date}' / '{number}')
    one = onelight.One(
        collection_id=published['collection_id'], api_url=emu.api_url, download_dir=template
    )
    asked = len(emu.log)
    with pytest.raises(onelight.RepositoryError, match='sends page 2 again'):
        one.search()
    assert len(emu.log) - asked <= 3


def test_the_list_of_articles_is_read_once_per_version(figshare, tmp_path):
    """``.one_articles`` is cached by its figshare file id, as the index is: a second reader
    of an unchanged release downloads neither."""
    emu = figshare
    article, _, _, _ = published_release(emu, tmp_path)
    figshare_one(emu, article, tmp_path / 'a').search()
    downloads = len([e for e in emu.log if e[0] == 'download'])
    again = figshare_one(emu, article, tmp_path / 'b')
    assert len(again.index) == 30
    assert len([e for e in emu.log if e[0] == 'download']) == downloads


def test_a_packed_release(alf_root, figshare, tmp_path):
    emu = figshare
    article = emu.create_article(TOKEN)
    report = upload(emu, article, alf_root, tmp_path, pack=True)
    names = emu.names(article)
    assert all(n.endswith('.zip') for n in names if n != '.one_root')
    owner = figshare_one(emu, article, tmp_path / 'up', token=TOKEN, private=True)
    done = owner.publish()  # rebuilt from the index: the members of the volumes kept
    assert done['cite'] == report.cite
    public = figshare_one(emu, article, tmp_path / 'pub', pin=report.cite)
    area = public.load_dataset(CORI1, 'eye.area')
    np.testing.assert_array_equal(area, np.load(alf_root / CORI1 / 'alf/eye.area.npy')[:, 0])
    assert public.verify() == []
