"""The .one_root index: reading (1, 2, 4 columns; malformed lines), writing, and scanning."""

import logging

import pytest

import onelight

S = 'lab/Subjects/NYU-01/2020-01-01/001'


@pytest.fixture(autouse=True, params=['arrow', 'pandas'])
def reader(request, monkeypatch):
    """Every index test runs with both readers: pyarrow's and the pandas fallback."""
    readers = {
        'arrow': lambda data: onelight._columns_with_arrow(onelight._line_chunks(data, 64)),
        'pandas': lambda data: onelight._columns_with_pandas(
            (data if isinstance(data, bytes) else data.read_bytes()).removeprefix(b'\xef\xbb\xbf')
        ),
    }
    monkeypatch.setattr(onelight, '_index_columns', readers[request.param])
    return request.param


URL = 'https://example.org/repo/'


def read(text, **kwargs):
    data = text.encode('utf-8') if isinstance(text, str) else text
    return onelight.Index.from_bytes(data, base_url=kwargs.pop('base_url', URL), **kwargs)


def test_two_columns_with_crlf_bom_and_blank_lines():
    text = (
        f'\ufeff{S}/alf/spikes.times.npy\thttps://h/files/1\r\n\r\n'
        f'{S}/alf/spikes.clusters.npy\thttps://h/files/2\r\n\n'
    )
    index = read(text)
    assert list(onelight.row_paths(index.df)) == [
        f'{S}/alf/spikes.times.npy',
        f'{S}/alf/spikes.clusters.npy',
    ]
    assert list(index.urls()) == ['https://h/files/1', 'https://h/files/2']
    row = index.df.iloc[0]
    assert (row['lab'], row['subject'], row['date'], row['number']) == (
        'lab',
        'NYU-01',
        '2020-01-01',
        '001',
    )
    assert (row['collection'], row['object'], row['attribute']) == ('alf', 'spikes', 'times')


def test_one_column_urls_are_base_plus_quoted_path():
    index = read(f'{S}/alf/#2021-01-01#/my obj.attr.npy\n')
    assert index.urls().iloc[0] == (
        'https://example.org/repo/lab/Subjects/NYU-01/2020-01-01/001/alf/%232021-01-01%23/'
        'my%20obj.attr.npy'
    )
    assert index.df['revision'].iloc[0] == '2021-01-01'
    assert index.df['collection'].iloc[0] == 'alf'


def test_four_columns_keep_size_and_md5():
    md5 = 'D41D8CD98F00B204E9800998ECF8427E'
    index = read(f'{S}/a.b.npy\thttps://h/1\t128\t{md5}\n')
    assert int(index.df['size'].iloc[0]) == 128
    assert index.df['md5'].iloc[0] == md5.lower()
    assert index.df['collection'].isna().all()


def test_one_column_without_base_url_fails_only_when_urls_are_needed():
    index = read(f'{S}/a.b.npy\n', base_url=None)
    assert len(index) == 1
    with pytest.raises(onelight.RepositoryError):
        index.urls()


BAD_LINES = {
    'absolute': f'/{S}/a.b.npy',
    'traversal': f'{S}/../../../etc/passwd',
    'dot segment': f'{S}/./a.b.npy',
    'backslash': f'{S}/alf\\..\\a.b.npy',
    'empty segment': f'{S}//a.b.npy',
    'control char': f'{S}/a\x07.b.npy',
    'nul': f'{S}/a\x00.b.npy',
    'outside session': 'lab/Subjects/NYU-01/a.b.npy',
    'no Subjects': 'lab/NYU-01/2020-01-01/001/a.b.npy',
    'bad date': 'lab/Subjects/NYU-01/2020-1-01/001/a.b.npy',
    'drive letter': f'{S}/C:/a.b.npy',
    'three columns': f'{S}/a.b.npy\thttps://h/1\t12',
    'five columns': f'{S}/a.b.npy\thttps://h/1\t12\t{"0" * 32}\textra',
    'bad url': f'{S}/a.b.npy\tfile:///etc/passwd',
    'bad size': f'{S}/a.b.npy\thttps://h/1\tbig\t{"0" * 32}',
    'bad md5': f'{S}/a.b.npy\thttps://h/1\t12\tnot-an-md5',
    'overlong': f'{S}/' + 'x' * 9000 + '.b.npy',
    'index itself': f'{S}/.one_root',
    'partial download': f'{S}/a.b.npy.part',
    'encoded dot dot': f'{S}/alf/%2e%2e/%2e%2e/x.y.npy',
    'encoded dot dot, upper case': f'{S}/alf/%2E%2E/x.y.npy',
    'encoded dot': f'{S}/%2e/x.y.npy',
    'double-encoded dot dot': f'{S}/alf/%252e%252E/x.y.npy',
    'encoded slash': f'{S}/alf/a%2fb/x.y.npy',
    'encoded backslash': f'{S}/alf/..%5c..%5Cx.y.npy',
    'encoded control char': f'{S}/alf/x%0a.y.npy',
    'encoded dot dot session': 'lab/Subjects/%2e%2e/2020-01-01/001/x.y.npy',
}


@pytest.mark.parametrize('kind', sorted(BAD_LINES))
def test_each_bad_line_is_skipped_with_a_warning_naming_it(kind, caplog):
    good = f'{S}/alf/trials.goCue_times.npy\thttps://h/0'
    text = f'{good}\n{BAD_LINES[kind]}\n{good.replace("goCue", "stimOn")}\n'
    with caplog.at_level(logging.WARNING, logger='onelight'):
        index = read(text)
    assert sorted(index.df['filename'].astype(str)) == [
        'trials.goCue_times.npy',
        'trials.stimOn_times.npy',
    ]
    assert any('line 2 skipped' in r.getMessage() for r in caplog.records), caplog.text


@pytest.mark.parametrize('kind', sorted(BAD_LINES))
def test_strict_mode_makes_a_bad_line_an_error(kind):
    with pytest.raises(onelight.IndexFormatError, match='line 2'):
        read(f'{S}/a.b.npy\thttps://h/0\n{BAD_LINES[kind]}\n', strict=True)


def test_index_file_read_in_chunks(tmp_path):
    lines = [f'{S}/alf/obj{i}.attr.npy\thttps://h/{i}' for i in range(500)]
    lines.insert(250, f'{S}/../bad.npy\thttps://h/x')
    (tmp_path / 'i').write_bytes(b'\xef\xbb\xbf' + '\r\n'.join(lines).encode())
    index = onelight.Index.from_file(tmp_path / 'i')
    assert list(onelight.row_paths(index.df)) == [
        line.split('\t')[0] for line in lines if '..' not in line
    ]
    assert list(index.urls())[-1] == 'https://h/499'


def test_non_utf8_line_is_skipped(caplog):
    data = f'{S}/a.b.npy\thttps://h/0\n'.encode() + b'lab/Subjects/x/2020-01-01/001/\xff.npy\n'
    with caplog.at_level(logging.WARNING, logger='onelight'):
        index = read(data)
    assert len(index) == 1
    assert 'not UTF-8' in caplog.text


def test_duplicate_paths_keep_the_first_line(caplog):
    with caplog.at_level(logging.WARNING, logger='onelight'):
        index = read(f'{S}/a.b.npy\thttps://h/1\n{S}/a.b.npy\thttps://h/2\n')
    assert list(index.urls()) == ['https://h/1']
    assert 'duplicate' in caplog.text


def test_many_bad_lines_are_summarised(caplog):
    text = '\n'.join(f'bad line {i}' for i in range(50))
    with caplog.at_level(logging.WARNING, logger='onelight'):
        index = read(text)
    assert len(index) == 0
    assert '40 more bad lines' in caplog.text


def test_scan_lists_every_file_in_sessions_and_reports_the_rest(alf_root):
    from conftest import EDGE_SESSION

    result = onelight.scan(alf_root)
    assert f'{EDGE_SESSION}/notes.txt' in result.files
    assert f'{EDGE_SESSION}/alf/empty.thing.npy' in result.files
    assert not any('.DS_Store' in f or '.hidden' in f for f in result.files)
    assert result.outside == ['README.txt']
    assert result.files == sorted(result.files)
    index = result.index()
    steinmetz = index.df[index.df['filename'].astype(str).str.contains('imec.lf')]
    assert len(steinmetz) == 3 and not steinmetz['is_alf'].any()
    assert index.df['is_alf'].sum() == len(index) - 4  # 3 imec + notes.txt


def test_write_index_round_trips_with_checksums(alf_root):
    result = onelight.write_index(alf_root, base_url='http://host/data/', checksums=True)
    text = (alf_root / '.one_root').read_text()
    first = text.splitlines()[0].split('\t')
    assert len(first) == 4
    assert first[1] == 'http://host/data/' + onelight.quote_path(first[0])
    again = onelight.Index.from_bytes((alf_root / '.one_root').read_bytes(), strict=True)
    assert list(onelight.row_paths(again.df)) == result.files
    path = alf_root / first[0]
    assert first[3] == onelight.md5sum(path) and int(first[2]) == path.stat().st_size


def test_write_index_defaults(alf_root):
    onelight.write_index(alf_root)
    assert (alf_root / '.one_root').stat().st_mode & 0o777 == 0o644  # a web server reads it
    lines = (alf_root / '.one_root').read_text().splitlines()
    assert all('\t' not in line for line in lines)
    onelight.write_index(alf_root, base_url='https://h/x')
    lines = (alf_root / '.one_root').read_text().splitlines()
    assert all(len(line.split('\t')) == 2 for line in lines)
    assert '.one_root' not in (alf_root / '.one_root').read_text()


def test_scan_of_missing_folder_is_an_error(tmp_path):
    with pytest.raises(onelight.NotFoundError):
        onelight.scan(tmp_path / 'nope')


def test_scan_and_index_refuse_percent_encoded_traversal(tmp_path, reader):
    session = tmp_path / S
    (session / 'alf' / '%2e%2e').mkdir(parents=True)
    (session / 'alf' / '%2e%2e' / 'x.y.npy').write_bytes(b'1')
    (session / 'alf' / 'a%2Fb.c.npy').write_bytes(b'2')
    (session / 'alf' / 'ok%20name.c.npy').write_bytes(b'3')
    result = onelight.write_index(tmp_path)
    assert result.files == [f'{S}/alf/ok%20name.c.npy']
    assert sorted(result.outside) == [f'{S}/alf/%2e%2e/', f'{S}/alf/a%2Fb.c.npy']
    assert (tmp_path / '.one_root').read_text() == f'{S}/alf/ok%20name.c.npy\n'


def test_urls_that_are_a_base_plus_the_path_give_back_each_url_exactly():
    base = 'https://data.example.org/release/'
    lines = [
        f'{S}/alf/spikes.times.npy\t{base}{S}/alf/spikes.times.npy',
        f'{S}/alf/#2021-01-01#/a.b.npy\t{base}{S}/alf/%232021-01-01%23/a.b.npy',  # quoted
        f'{S}/alf/c.d.npy\thttps://elsewhere.org/files/7',
        f'{S}/alf/e.f.npy\thttps://data.example.org/other/{S}/alf/e.f.npy',
        f'{S}/alf/g.h.npy',  # one column: the repository's base URL
        f'{S}/alf/i.j.npy\t{base}{S}/alf/i.j.npy',
    ]
    index = read('\n'.join(lines) + '\n')
    expected = [line.split('\t')[1] for line in lines if '\t' in line]
    expected.insert(4, f'{URL}{S}/alf/g.h.npy')
    assert list(index.urls()) == expected
    assert [onelight.given_url(r) for r in index.df.itertuples()] == [
        *expected[:4],
        None,
        expected[5],
    ]


def test_a_base_that_only_looks_like_one_is_not_taken():
    # the first URL does not end with '/' + its path: every URL stays as written
    lines = [
        f'{S}/alf/a.b.npy\thttps://h/x{S}/alf/a.b.npy',
        f'{S}/alf/c.d.npy\thttps://h/x{S}/alf/c.d.npy',
    ]
    index = read('\n'.join(lines) + '\n')
    assert list(index.urls()) == [line.split('\t')[1] for line in lines]


def test_paths_are_matched_by_their_parts():
    import pandas as pd

    cat = pd.Categorical
    rows = [
        cat(['s1', 's2', 's1', 's3']),
        cat(['a/', 'b/', 'b/', 'a/']),
        cat(['x', 'y', 'x', 'x']),
    ]
    other = [
        cat(['s1', 's1', 's2', 's1']),
        cat(['b/', 'a/', 'b/', 'b/']),
        cat(['x', 'x', 'y', 'x']),
    ]
    expected = [1, 2, 0, -1]  # the first of a path wins; s3 is not there
    assert onelight.positions_by_path(rows, other).tolist() == expected
