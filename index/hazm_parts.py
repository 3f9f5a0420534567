"""The four hazm parts Pasokh uses, imported without hazm's and nltk's package `__init__`.

Why: `import hazm` runs `hazm/__init__.py`, which imports every hazm tool (POS tagger,
chunker, dependency parser, corpus readers) and with them all of nltk, scikit-learn, scipy and
pandas: about 1 s on an idle 2-core machine and 3-4 s on a busy one, of which Pasokh needs
none. The parts it does use (Normalizer, SentenceTokenizer, Stemmer, stopwords_list) are plain
Python over hazm's word lists and need only two small nltk base classes.

How: while these modules load, `hazm`, `nltk`, `nltk.stem` and `nltk.tokenize` are empty
package shells (their real folders, their `__init__` not run), and the shell `hazm` receives
the names its submodules import from it. Afterwards every hazm/nltk module loaded here leaves
`sys.modules` again (this module keeps its four names), so a later `import hazm` or
`import nltk` elsewhere loads both packages whole and consistent, as if this never happened.
If anything here fails (another hazm version, say), the full `import hazm` is used instead.
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
import sys
import types

log = logging.getLogger(__name__)

# hazm submodules in dependency order, as hazm/__init__.py imports them.
_HAZM_MODULES = ("utils", "stemmer", "word_tokenizer", "lemmatizer", "normalizer")
_HAZM_LAST = ("sentence_tokenizer",)
_SHELLS = ("nltk", "nltk.stem", "nltk.tokenize", "hazm")


def _shell(name: str) -> types.ModuleType:
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise ImportError(f"{name} is not installed as a package")
    module = types.ModuleType(name)
    module.__path__ = list(spec.submodule_search_locations)
    module.__package__ = name
    return module


def _import_parts() -> types.ModuleType:
    """A namespace with hazm's Normalizer, SentenceTokenizer, Stemmer and stopwords_list."""
    if "hazm" in sys.modules:  # already imported in full: nothing to save
        return sys.modules["hazm"]
    before = set(sys.modules)
    try:
        for name in _SHELLS:
            if name not in sys.modules:
                sys.modules[name] = _shell(name)
        hazm = sys.modules["hazm"]
        for part in _HAZM_MODULES + _HAZM_LAST:
            module = importlib.import_module(f"hazm.{part}")
            for key, value in vars(module).items():
                if not key.startswith("_"):
                    setattr(hazm, key, value)
        return hazm
    finally:
        for name in set(sys.modules) - before:
            if name.split(".")[0] in {"hazm", "nltk"}:
                del sys.modules[name]


try:
    _hazm = _import_parts()
    Normalizer = _hazm.Normalizer
    Lemmatizer = _hazm.Lemmatizer
    SentenceTokenizer = _hazm.SentenceTokenizer
    Stemmer = _hazm.Stemmer
    stopwords_list = _hazm.stopwords_list
except Exception as err:  # a hazm or nltk layout this shim does not know: import it all
    log.debug("importing hazm in full (%s)", err)
    from hazm import Lemmatizer, Normalizer, SentenceTokenizer, Stemmer, stopwords_list

__all__ = ["Lemmatizer", "Normalizer", "SentenceTokenizer", "Stemmer", "stopwords_list"]
