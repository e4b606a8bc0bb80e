"""A tiny trained linking run shared by the model tests."""

import pytest
from linking_tiny import TINY, tiny_kb, tiny_texts


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory):
    from kexue.tasks.linking.train import TrainSettings, train

    out = tmp_path_factory.mktemp("linking") / "run"
    metrics = train(tiny_kb(), tiny_texts(120, 0), tiny_texts(20, 1), out,
                    TrainSettings(**TINY), verbose=0)
    return out, metrics


@pytest.fixture(scope="session")
def tiny_linker(tiny_run):
    """The tiny run's best checkpoint with thresholds 0: every match is linked."""
    from kexue.tasks.linking.decode import EntityLinker

    return EntityLinker.from_run(tiny_run[0], mention_threshold=0.0, link_threshold=0.0)
