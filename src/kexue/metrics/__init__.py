"""Task scores with their official semantics (pure Python / NumPy; no Keras).

Import the module of the score you need: :mod:`kexue.metrics.rouge` (character-level
ROUGE for titles), :mod:`kexue.metrics.qa` (SogouQA, CMRC2018, SQuAD),
:mod:`kexue.metrics.linking` (CCKS micro precision / recall / F1).
"""
