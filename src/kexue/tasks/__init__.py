"""kexue's model systems: title generation, reading-comprehension QA, entity linking.

Each task is a subpackage of the same shape (``data``, ``model``, ``decode``, ``train``) and
keeps its trained state in a run directory (:mod:`kexue.tasks.runs`).
"""
