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
    """tqdm without ipywidgets: its text line, rewritten in place, on the cell's output."""
    server = serve(alf_root)
    pretend_notebook(monkeypatch, with_tqdm=True)
    monkeypatch.setitem(sys.modules, 'ipywidgets', None)  # as if not installed
    server.throttle = 0.01  # long enough for the display to start
    http_one(server, tmp_path).download(CORI1)
    out = capsys.readouterr().out
    assert out.startswith('\rdownloading 30 files') and 'B of ' in out and out.endswith('\n')


def test_a_notebook_with_ipywidgets_gets_the_tqdm_widget(monkeypatch):
    pretend_notebook(monkeypatch, with_tqdm=True)
    import tqdm.auto

    made = []
    monkeypatch.setattr(tqdm.auto, 'tqdm', lambda *a, **k: made.append(k) or FakeBar())
    widgets = types.ModuleType('ipywidgets')
    widgets.__spec__ = importlib.machinery.ModuleSpec('ipywidgets', None)
    monkeypatch.setitem(sys.modules, 'ipywidgets', widgets)
    progress = onelight.Progress(10, 'downloading 1 file', 1)
    progress.add(4)
    progress.refresh()
    assert made and made[0]['total'] == 10 and made[0]['bar_format'] is None


class FakeBar:
    def update(self, n):
        pass

    def close(self):
        pass


def test_without_tqdm_click_draws_the_bar(monkeypatch, capsys):
    """tqdm not installed: click's bar (the command line's library), with bytes and rate."""
    monkeypatch.setitem(sys.modules, 'tqdm', None)
    progress = onelight.Progress(2_000_000, 'downloading 2 files', 2, enabled=True)
    progress.keep(500_000)  # kept from an interrupted download: where the bar starts
    progress.add(500_000)
    progress.refresh()
    progress.add(1_000_000)
    progress.close()
    err = capsys.readouterr().err
    assert err.startswith('downloading 2 files')  # stderr is no terminal here: the label


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
