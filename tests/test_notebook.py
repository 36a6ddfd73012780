"""Notebooks: a progress display where no terminal is, and downloads inside a running event
loop (as in Jupyter); plain scripts stay quiet."""

import asyncio
import importlib.machinery
import sys
import types

from conftest import http_one

import onelight

CORI1 = 'nicklab/Subjects/Cori/2016-12-14/001'


class ZMQInteractiveShell:
    """What IPython's get_ipython() returns inside a Jupyter kernel (by its class name)."""


def pretend_notebook(monkeypatch, with_tqdm=False):
    fake = types.ModuleType('IPython')
    fake.get_ipython = ZMQInteractiveShell
    monkeypatch.setitem(sys.modules, 'IPython', fake)
    if not with_tqdm:  # as if tqdm were not installed
        monkeypatch.setitem(sys.modules, 'tqdm', None)
        monkeypatch.setitem(sys.modules, 'tqdm.auto', None)


def test_a_notebook_shows_one_updating_line(alf_root, serve, tmp_path, monkeypatch, capsys):
    server = serve(alf_root)
    pretend_notebook(monkeypatch)
    assert onelight.in_notebook()
    http_one(server, tmp_path).download(CORI1)
    out = capsys.readouterr().out
    assert out.startswith('\rdownloading') and ' MB' in out and out.endswith('\n')


def test_tqdm_without_ipywidgets_falls_back_to_the_line(
    alf_root, serve, tmp_path, monkeypatch, capsys
):
    """tqdm.auto without ipywidgets draws nothing and warns "IProgress not found": the text
    line is shown instead."""
    server = serve(alf_root)
    pretend_notebook(monkeypatch, with_tqdm=True)
    made = []
    fake_tqdm = types.ModuleType('tqdm')
    fake_auto = types.ModuleType('tqdm.auto')
    fake_auto.tqdm = lambda *a, **k: made.append(k)
    fake_tqdm.auto = fake_auto
    monkeypatch.setitem(sys.modules, 'tqdm', fake_tqdm)
    monkeypatch.setitem(sys.modules, 'tqdm.auto', fake_auto)
    fake_auto.__spec__ = importlib.machinery.ModuleSpec('tqdm.auto', None)
    monkeypatch.setitem(sys.modules, 'ipywidgets', None)  # as if not installed
    http_one(server, tmp_path).download(CORI1)
    assert made == [] and capsys.readouterr().out.startswith('\rdownloading')
    widgets = types.ModuleType('ipywidgets')
    widgets.__spec__ = importlib.machinery.ModuleSpec('ipywidgets', None)
    monkeypatch.setitem(sys.modules, 'ipywidgets', widgets)  # with it, tqdm draws
    assert onelight.Progress(10, 'x').mode == 'tqdm' and made


def test_scripts_and_ci_logs_stay_quiet(alf_root, serve, tmp_path, capsys):
    assert not onelight.in_notebook()
    http_one(server := serve(alf_root), tmp_path).download(CORI1)
    captured = capsys.readouterr()
    assert captured.out == '' and 'downloading' not in captured.err
    assert server.requests  # it did download


def test_download_inside_a_running_event_loop(alf_root, serve, tmp_path):
    server = serve(alf_root)
    one = http_one(server, tmp_path)

    async def cell():  # a notebook cell runs inside the kernel's loop
        assert asyncio.get_running_loop().is_running()
        return one.download(CORI1)

    paths = asyncio.run(asyncio.wait_for(cell(), timeout=60))
    assert paths and all(p.is_file() for p in paths)
    assert paths.report.files == len(paths)
