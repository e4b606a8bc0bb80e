"""Shared test set-up: Keras tests default to the JAX backend unless KERAS_BACKEND is set."""

import os

os.environ.setdefault("KERAS_BACKEND", "jax")
