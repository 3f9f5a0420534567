"""kill -9 during a write, and readers during writes, on an index where a write takes > 1 s."""

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from index import catalog
from index.search import KnowledgeBase
from index.store import read_manifest, update_index

from .standin import RandomEmbedder, articles

ROOT = Path(__file__).resolve().parents[2]
BASE, BATCH = 6000, 2500

WRITER = textwrap.dedent(
    """
    import sys
    sys.path.insert(0, {tests!r})
    from standin import RandomEmbedder, articles
    from index.store import update_index

    def progress(done, total):
        if done == 32:
            print("writing", flush=True)

    update_index({index!r}, RandomEmbedder(), articles("w", {batch}, seed=7), progress=progress)
    print("done", flush=True)
    """
)


@pytest.fixture(scope="module")
def big_index(tmp_path_factory):
    index_dir = tmp_path_factory.mktemp("big")
    update_index(index_dir, RandomEmbedder(), articles("a", BASE), fresh=True)
    return index_dir


def _copy(big_index, tmp_path) -> Path:
    import shutil

    target = tmp_path / "index"
    shutil.copytree(big_index, target)
    return target


def _consistent(index_dir: Path) -> dict:
    """The live version opens, searches, and its counts match the catalog."""
    manifest = read_manifest(index_dir)
    kb = KnowledgeBase(index_dir, RandomEmbedder())
    for passage in kb.search("همکاری های اقتصادی مسکو", 5):
        assert kb.article(passage.article_id).text[passage.start : passage.end] == passage.text
    db = catalog.connect(index_dir, readonly=True)
    assert catalog.counts(db, manifest["gen"]) == (manifest["articles"], manifest["chunks"])
    return manifest


def test_a_write_takes_over_a_second(big_index, tmp_path):
    index_dir = _copy(big_index, tmp_path)
    report = update_index(index_dir, RandomEmbedder(), articles("w", BATCH, seed=7))
    assert report.seconds > 1.0  # otherwise the tests below prove little
    assert _consistent(index_dir)["articles"] == BASE + BATCH


@pytest.mark.parametrize("delay", [0.0, 0.4, 0.9, 1.6])
def test_kill_9_mid_write_loses_nothing(big_index, tmp_path, delay):
    index_dir = _copy(big_index, tmp_path)
    before = read_manifest(index_dir)
    script = WRITER.format(tests=str(Path(__file__).parent), index=str(index_dir), batch=BATCH)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    child = subprocess.Popen(
        [sys.executable, "-c", script], stdout=subprocess.PIPE, env=env, text=True
    )
    assert child.stdout.readline().strip() == "writing"
    time.sleep(delay)
    child.send_signal(signal.SIGKILL)
    child.wait()
    after = _consistent(index_dir)
    assert after["articles"] in (BASE, BASE + BATCH)  # the old version, or the whole new one
    assert after["version"] == before["version"] or after["articles"] == BASE + BATCH
    # the next writer cleans up after the dead one, and nothing indexed is lost
    update_index(index_dir, RandomEmbedder(), articles("z", 3, seed=9))
    final = _consistent(index_dir)
    assert final["articles"] == after["articles"] + 3
    assert not [p for p in (index_dir / "segments").iterdir() if p.name.startswith(".")]


def test_readers_never_fail_during_writes(big_index, tmp_path):
    index_dir = _copy(big_index, tmp_path)
    kb = KnowledgeBase(index_dir, RandomEmbedder())
    errors: list[BaseException] = []
    searches = [0]
    stop = threading.Event()

    def reader() -> None:
        while not stop.is_set():
            try:
                kb.reload_if_changed()
                view = kb.pinned()
                for passage in view.search("سفر وزیر به پکن", 5):
                    article = view.article(passage.article_id)
                    assert article.text[passage.start : passage.end] == passage.text
                searches[0] += 1
            except BaseException as error:
                errors.append(error)
                return

    thread = threading.Thread(target=reader)
    thread.start()
    try:
        embedder = RandomEmbedder()
        update_index(index_dir, embedder, articles("w", BATCH, seed=7))
        update_index(index_dir, embedder, remove_ids=[f"a{i}" for i in range(0, BASE, 2)])
        update_index(index_dir, embedder, articles("a", 50, seed=3))  # replaces 50 articles
    finally:
        stop.set()
        thread.join()
    assert not errors, errors[0]
    assert searches[0] > 3
    assert kb.reload_if_changed() or kb.version == read_manifest(index_dir)["version"]
    assert _consistent(index_dir)["articles"] == BASE // 2 + BATCH + 25
