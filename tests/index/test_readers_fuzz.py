"""Hostile input, generated (issue 10): whatever a file holds, the reader returns articles
or named skips, in bounded memory, and a good file read in the same run always lands.

Hypothesis generates the inputs: random bytes, truncated UTF-8, random JSON shapes and
types, huge and deep structures, control characters, mixed encodings, line separators
inside JSONL strings, and YAML front matter (anchors and aliases included).
"""

from __future__ import annotations

import json
import tempfile
import tracemalloc
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from index.readers import read_paths

EXAMPLES = 250
PERSIAN = "به گزارش ایرنا، وزیر امور خارجه امروز به مسکو سفر کرد. او با همتای روسی دیدار کرد."
GOOD = "به گزارش ایسنا، هیئت ایرانی روز ۲۴ اسفند در تاشکند با مقام‌های ازبک دیدار کرد./ایسنا"
SUFFIXES = (".txt", ".md", ".json", ".jsonl")
FIELDS = ("id", "title", "text", "body", "content", "source", "agency", "url", "published")

persian_text = st.text(
    alphabet=st.sampled_from("ابپتثجچحخدذرزژسشصضطظعغفقکگلمنوهیآأؤئءۀ ‌،.؟«»۰۱۲۳۴۵۶۷۸۹0123456789\n"),
    max_size=300,
)
hostile_chars = st.text(
    alphabet=st.one_of(
        st.characters(codec="utf-8"),
        st.sampled_from("\x00\x07\x08\x0b\x0c\x1b\r\x7f\x85\u2028\u2029\u200c\u200f\u202e\ufeff"),
    ),
    max_size=300,
)
json_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True), persian_text,
    hostile_chars,
)  # fmt: skip
json_values = st.recursive(
    json_scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=5), st.dictionaries(st.sampled_from(FIELDS), inner, max_size=6)
    ),
    max_leaves=30,
)
records = st.dictionaries(st.sampled_from(FIELDS), json_values, max_size=len(FIELDS))


def _json_bytes(value: object) -> bytes:
    return json.dumps(value, ensure_ascii=False, allow_nan=True).encode("utf-8", "surrogatepass")


@st.composite
def truncated_utf8(draw) -> tuple[str, bytes]:
    data = (draw(persian_text) + PERSIAN).encode("utf-8")
    return draw(st.sampled_from(SUFFIXES)), data[: draw(st.integers(0, len(data)))]


@st.composite
def json_documents(draw) -> tuple[str, bytes]:
    suffix = draw(st.sampled_from((".json", ".jsonl")))
    items = draw(st.lists(st.one_of(records, json_values), max_size=8))
    if suffix == ".json":
        return suffix, _json_bytes(items if draw(st.booleans()) else (items or [{}])[0])
    lines = [_json_bytes(i) for i in items]
    if draw(st.booleans()):  # a line separator inside a string, valid JSON
        lines.append(_json_bytes({"text": "بند یک\u2028بند دو\u2029", "id": "ls"}))
    return suffix, b"\n".join(lines)


@st.composite
def huge_or_deep(draw) -> tuple[str, bytes]:
    depth = draw(st.sampled_from((500, 5_000, 100_000)))
    kind = draw(st.sampled_from(("list", "object", "string", "many", "yaml")))
    suffix = draw(st.sampled_from((".json", ".jsonl")))
    if kind == "list":
        return suffix, b"[" * depth + b"]" * draw(st.sampled_from((0, depth)))
    if kind == "object":
        return suffix, b'{"a":' * depth + b"1" + b"}" * depth
    if kind == "string":
        return suffix, _json_bytes({"text": "متن " * (depth * 2), "title": "ع" * depth})
    if kind == "many":
        return ".jsonl", b"\n".join(_json_bytes({"text": "ب."}) for _ in range(depth // 50))
    return ".md", b"---\nx: " + b"[" * depth + b"\n---\n" + PERSIAN.encode()


@st.composite
def mixed_encodings(draw) -> tuple[str, bytes]:
    parts = draw(
        st.lists(
            st.sampled_from(("utf-8", "cp1256", "utf-16", "latin-1-noise", "bom")),
            min_size=1,
            max_size=4,
        )
    )
    out = b""
    for part in parts:
        if part == "cp1256":
            out += PERSIAN.replace("ی", "ي").replace("ک", "ك").encode("cp1256")
        elif part == "utf-16":
            out += PERSIAN.encode("utf-16")
        elif part == "latin-1-noise":
            out += draw(st.binary(min_size=1, max_size=40))
        elif part == "bom":
            out += b"\xef\xbb\xbf"
        else:
            out += PERSIAN.encode("utf-8")
    return draw(st.sampled_from(SUFFIXES)), out


FRONT_LINES = (
    "title: سفر", "title: 1402", "date: 2023-03-28", "source: [ایرنا, 5]",
    "a: &a [x, x, x, x, x, x, x, x]", "b: &b [*a, *a, *a, *a, *a, *a]", "title: *b",
    "source: {a: 1}", "url: !!python/object:os.system ls", "title: [", "? complex key",
    "- list", "date: 99999-99-99",
)  # fmt: skip


@st.composite
def front_matter(draw) -> tuple[str, bytes]:
    lines = draw(
        st.lists(
            st.one_of(
                st.sampled_from(FRONT_LINES),
                hostile_chars.map(lambda s: "title: " + s.replace("\n", " ")),
            ),
            max_size=6,
        )
    )
    body = draw(st.one_of(persian_text, hostile_chars))
    return ".md", ("---\n" + "\n".join(lines) + "\n---\n" + body).encode("utf-8", "surrogatepass")


hostile_files = st.one_of(
    st.tuples(st.sampled_from(SUFFIXES), st.binary(max_size=2048)),
    truncated_utf8(),
    json_documents(),
    huge_or_deep(),
    st.tuples(st.sampled_from(SUFFIXES), hostile_chars.map(lambda s: s.encode("utf-8", "replace"))),
    mixed_encodings(),
    front_matter(),
)

seen: list[int] = []


@settings(
    max_examples=EXAMPLES,
    deadline=None,  # no timing: memory is bounded below, hangs by the test's timeout
    database=None,  # nothing written into the checkout
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(hostile=hostile_files)
def _read_hostile_beside_good(hostile: tuple[str, bytes]) -> None:
    suffix, data = hostile
    seen.append(1)
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        bad = root / f"hostile{suffix}"
        bad.write_bytes(data)
        (root / "zz-good.txt").write_text(GOOD, encoding="utf-8")
        tracemalloc.start()
        try:
            result = read_paths([root])
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert peak < 64 * 1024 * 1024 + 100 * len(data), f"{peak / 1e6:.0f} MB for {len(data)} B"
    good = [a for a in result.articles if a.path.endswith("zz-good.txt")]
    assert [a.id for a in good] == ["zz-good"], result.problems
    mine = [a for a in result.articles if a.path == str(bad)]
    named = [p for p in result.problems if p.path == str(bad)]
    assert mine or named, "neither an article nor a named skip"
    for problem in named:
        line = str(problem)
        assert problem.message.strip() and "\n" not in line and line.startswith(str(bad))
    for article in mine:
        assert isinstance(article.id, str) and article.id.strip() == article.id and article.id
        assert isinstance(article.text, str) and article.text.strip()
        assert isinstance(article.title, str) and isinstance(article.url, str)
        assert all(isinstance(s, str) for s in article.sources)
        assert isinstance(article.published, str)


@pytest.mark.timeout(600)  # a hang guard, not a speed measure
def test_hostile_inputs_give_articles_or_named_skips_and_good_files_land():
    seen.clear()
    _read_hostile_beside_good()
    assert len(seen) >= 200
