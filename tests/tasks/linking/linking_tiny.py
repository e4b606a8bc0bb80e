"""A tiny synthetic linking set (shared by the linking tests)."""

import random

from kexue.tasks.linking.data import NIL, Entity, KnowledgeBase, Mention, Text


def tiny_kb():
    return KnowledgeBase([
        Entity("JLP", "吉林省", ("吉林省", "吉林"), ("province",), (("类型", "省"),)),
        Entity("JLC", "吉林市", ("吉林市", "吉林"), ("city",),
               (("类型", "市"), ("所属省份", "吉林省"))),
        Entity("BJ", "北京市", ("北京市", "北京"), ("province",), (("类型", "直辖市"),)),
        Entity("SH", "上海市", ("上海市", "上海"), ("province",), (("类型", "直辖市"),)),
        Entity("CY", "朝阳区", ("朝阳区", "朝阳"), ("county",),
               (("类型", "区"), ("所属省份", "北京市"))),
    ])


def tiny_texts(n, seed):
    """Texts where 北京 / 上海 are mentions except before 大学, 朝阳 is a mention only as
    朝阳区, and 吉林 is the province after 省内 and the city after 市内."""
    rng = random.Random(seed)
    texts = []
    for i in range(n):
        kind = rng.randrange(5)
        if kind == 0:
            name = rng.choice(["北京", "上海"])
            text = f"我们去{name}开会。"
            mentions = [Mention(name, 3, {"北京": "BJ", "上海": "SH"}[name])]
        elif kind == 1:
            name = rng.choice(["北京", "上海"])
            text = f"{name}大学招生，欢迎报名。"
            mentions = []
        elif kind == 2:
            text = "朝阳升起，朝阳区也醒了。"
            mentions = [Mention("朝阳区", 5, "CY")]
        elif kind == 3:
            text = "省内新闻：吉林发布消息。"
            mentions = [Mention("吉林", 5, "JLP")]
        else:
            text = "市内新闻：吉林发布公告，欧洲来客。"
            mentions = [Mention("吉林", 5, "JLC"), Mention("欧洲", 12, NIL)]
        texts.append(Text(f"{seed}-{i}", text, mentions))
    return texts


TINY = dict(epochs=2, batch_size=8, steps_per_epoch=6, word_dim=8, embedding_dim=8,
            lstm_units=8, conv_filters=8, heads=2, head_size=4, hidden=8, tokenizer="char",
            dev_texts=None, threshold=5.0, min_count=2, learning_rate=1e-2)
