"""kexue.text word vectors: files round-trip through gensim, training, the cache."""

from __future__ import annotations

import numpy as np
import pytest
from gensim.models import KeyedVectors

from kexue.text import WordVectors, load_word_vectors, train_word_vectors
from kexue.text import word_vectors as wv_module

SENTENCES = [["我", "爱", "北京", "天安门"], ["我", "爱", "上海"], ["北京", "上海", "广州"]] * 30


@pytest.fixture
def cache_dir(tmp_path, monkeypatch):
    folder = tmp_path / "cache"
    monkeypatch.setenv("KEXUE_CACHE_DIR", str(folder))
    return folder / "word_vectors"


def test_lookup_index_and_zero_rows():
    vectors = np.arange(6, dtype=np.float64).reshape(3, 2)
    wv = WordVectors(["a", "bb", "中文"], vectors)
    assert wv.vectors.dtype == np.float32 and wv.dim == 2 and len(wv) == 3
    assert wv.index("中文") == 2 and wv.index("zz") == -1
    assert "bb" in wv and "zz" not in wv
    np.testing.assert_array_equal(wv.lookup(["中文", "zz", "a"]),
                                  [[4, 5], [0, 0], [0, 1]])
    assert wv.lookup([]).shape == (0, 2)


def test_constructor_rejects_bad_shapes_and_duplicates():
    with pytest.raises(ValueError, match="shape"):
        WordVectors(["a"], np.zeros((2, 3)))
    with pytest.raises(ValueError, match="duplicates"):
        WordVectors(["a", "a"], np.zeros((2, 3)))


@pytest.mark.parametrize("name", ["v.txt", "v.bin", "v.vec"])
def test_save_load_round_trip_agrees_with_gensim(tmp_path, name):
    rng = np.random.default_rng(0)
    wv = WordVectors(["北京", "上海", "x"], rng.normal(size=(3, 4)))
    path = tmp_path / name
    wv.save(path)
    again = load_word_vectors(path)
    assert again.words == wv.words
    np.testing.assert_allclose(again.vectors, wv.vectors, rtol=1e-6)
    keyed = KeyedVectors.load_word2vec_format(str(path), binary=name.endswith(".bin"))
    np.testing.assert_allclose(keyed["上海"], wv.vectors[1], rtol=1e-6)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_load_binary_without_bin_suffix_falls_back(tmp_path):
    wv = WordVectors(["甲", "乙"], np.eye(2))
    wv.save(tmp_path / "v.bin")
    (tmp_path / "v.bin").rename(tmp_path / "vectors.w2v")
    assert load_word_vectors(tmp_path / "vectors.w2v").words == ["甲", "乙"]


def test_load_errors_name_the_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="missing.txt"):
        load_word_vectors(tmp_path / "missing.txt")
    bad = tmp_path / "bad.txt"
    bad.write_text("this is not\na word2vec file\n", encoding="utf-8")
    with pytest.raises(ValueError, match="bad.txt"):
        load_word_vectors(bad)
    with pytest.raises(ValueError, match="bad.txt"):
        load_word_vectors(bad, binary=True)


def test_training_is_seeded_and_cached(cache_dir):
    first = train_word_vectors(SENTENCES, dim=8, min_count=1, epochs=2, progress=False)
    files = list(cache_dir.iterdir())
    assert len(files) == 1 and files[0].suffix == ".bin"
    assert sorted(first.words) == ["上海", "北京", "天安门", "广州", "我", "爱"]
    again = train_word_vectors(SENTENCES, dim=8, min_count=1, epochs=2, progress=False)
    np.testing.assert_array_equal(first.vectors, again.vectors)
    assert first.words == again.words
    # no cache: a fresh training with the same seed gives the same vectors
    fresh = train_word_vectors(SENTENCES, dim=8, min_count=1, epochs=2, progress=False,
                               cache=False)
    np.testing.assert_allclose(fresh.vectors, first.vectors, rtol=1e-5, atol=1e-6)
    # a change of inputs or settings trains again, under a new key
    train_word_vectors(SENTENCES + [["新", "句子"]], dim=8, min_count=1, epochs=2,
                       progress=False)
    train_word_vectors(SENTENCES, dim=8, min_count=1, epochs=3, progress=False)
    assert len(list(cache_dir.iterdir())) == 3


def test_cached_file_is_used(cache_dir, monkeypatch):
    train_word_vectors(SENTENCES, dim=6, min_count=1, epochs=1, progress=False)
    import gensim.models

    def refuse(*args, **kwargs):
        raise AssertionError("Word2Vec must not be trained when the cache holds the vectors")

    monkeypatch.setattr(gensim.models, "Word2Vec", refuse)
    wv = train_word_vectors(SENTENCES, dim=6, min_count=1, epochs=1, progress=False)
    assert wv.dim == 6


def test_callable_generator_and_explicit_cache_dir(tmp_path):
    def make():
        return (s for s in SENTENCES)

    folder = tmp_path / "mine"
    from_callable = train_word_vectors(make, dim=5, min_count=1, epochs=1, progress=False,
                                       cache=folder)
    from_iterator = train_word_vectors(iter(SENTENCES), dim=5, min_count=1, epochs=1,
                                       progress=False, cache=folder)
    np.testing.assert_array_equal(from_callable.vectors, from_iterator.vectors)
    assert len(list(folder.iterdir())) == 1


def test_cache_directory_follows_environment(monkeypatch, tmp_path):
    monkeypatch.delenv("KEXUE_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert wv_module.cache_directory() == tmp_path / "kexue" / "word_vectors"


def test_progress_bar_runs(tmp_path):
    wv = train_word_vectors(SENTENCES, dim=4, min_count=1, epochs=2, cache=False,
                            progress=True)
    assert wv.dim == 4


def test_argument_validation():
    with pytest.raises(ValueError, match="`dim` must be a positive integer"):
        train_word_vectors(SENTENCES, dim=0, cache=False)
    with pytest.raises(TypeError, match="token lists"):
        train_word_vectors(["我爱北京"], cache=False, progress=False)
    with pytest.raises(ValueError, match="empty"):
        train_word_vectors([], cache=False, progress=False)
    with pytest.raises(ValueError, match="min_count"):
        train_word_vectors([["a"]], min_count=5, cache=False, progress=False)
