"""kexue.text.Tokenizer: every kind against its library, user dictionaries, pickling."""

from __future__ import annotations

import pickle
import re

import jieba
import pytest
import rjieba

from kexue.text import WORD_PATTERN, Tokenizer
from kexue.text import tokenizers as tokenizers_module

SAMPLES = ["我们中出了一个叛徒", "北京大学生前来应聘 hello, world  3.14", "", "   ",
           "南京市长江大桥"]


@pytest.mark.parametrize("text", SAMPLES)
def test_jieba_matches_module_level_jieba(text):
    assert Tokenizer("jieba")(text) == jieba.lcut(text)


@pytest.mark.parametrize("text", SAMPLES)
def test_rjieba_matches_rjieba(text):
    assert Tokenizer("rjieba")(text) == rjieba.cut(text)


def test_char_and_regex():
    assert Tokenizer("char")("中文 ab") == ["中", "文", " ", "a", "b"]
    text = "Su Jianlin's blog, 科学空间: 3.14 and 1,000 items_x"
    assert Tokenizer("regex")(text) == re.findall(WORD_PATTERN, text)
    assert Tokenizer("regex")(text) == ["Su", "Jianlin's", "blog", "科", "学", "空", "间",
                                        "3.14", "and", "1,000", "items", "x"]
    assert Tokenizer(r"regex:\d+")("a1b22") == ["1", "22"]
    assert Tokenizer(r"regex:(a)(b)")("abab") == ["ab", "ab"]


def test_module_function():
    assert Tokenizer("builtins:str.split")(" a  b ") == ["a", "b"]
    assert Tokenizer("re:escape")("a.") == ["a", "\\", "."]


@pytest.mark.parametrize("spec", ["jieba", "rjieba"])
def test_user_dict(tmp_path, spec):
    text = "我们中出了一个叛徒"
    assert "一个叛徒" not in Tokenizer(spec)(text)
    user = tmp_path / "user.txt"
    user.write_text("一个叛徒 100 n\n\n中出了一\n", encoding="utf-8")
    tokens = Tokenizer(spec, user)(text)
    assert "一个叛徒" in tokens and "".join(tokens) == text


def test_bad_specs_name_the_argument(tmp_path):
    with pytest.raises(ValueError, match="`tokenizer` must be one of .* received 'spacy'"):
        Tokenizer("spacy")
    with pytest.raises(TypeError, match="`tokenizer` must be a string; received 3"):
        Tokenizer(3)
    with pytest.raises(ValueError, match="cannot import 'no_such_module_xyz'"):
        Tokenizer("no_such_module_xyz:cut")
    with pytest.raises(ValueError, match="has no callable 'nothing'"):
        Tokenizer("builtins:nothing")
    with pytest.raises(ValueError, match="invalid regular expression"):
        Tokenizer("regex:(")
    with pytest.raises(FileNotFoundError, match="user dictionary not found: .*missing.txt"):
        Tokenizer("jieba", tmp_path / "missing.txt")
    with pytest.raises(ValueError, match="jieba and rjieba tokenizers only"):
        Tokenizer("char", tmp_path / "missing.txt")
    bad = tmp_path / "bad.txt"
    bad.write_text("a 1 n extra\n", encoding="utf-8")
    with pytest.raises(ValueError, match="bad.txt:1: expected 'word"):
        Tokenizer("jieba", bad)


def test_pickle_sends_spec_and_cache_is_per_process(tmp_path):
    user = tmp_path / "u.txt"
    user.write_text("一个叛徒 100\n", encoding="utf-8")
    tokenizer = Tokenizer("jieba", user)
    data = pickle.dumps(tokenizer)
    assert len(data) < 500  # no dictionary inside
    clone = pickle.loads(data)
    assert clone.spec == "jieba" and clone.user_dict == str(user)
    assert clone.function is tokenizer.function  # one jieba.Tokenizer per process
    assert (tokenizer.spec, tokenizer.user_dict) in tokenizers_module._PROCESS_CACHE
