"""Mask-aware Keras 3 layers and masking functions (backend-agnostic ``keras.ops``).

After Su Jianlin, "“让Keras更酷一些!”:层中层与mask" (kexue.fm/archives/6810): layers are built
from Keras layers, and every sequence operation respects the padding mask. See
``docs/layers.md``.
"""

from kexue.layers.attention_pooling import AttentionPooling1D
from kexue.layers.causal_cross_attention import CausalCrossAttention
from kexue.layers.conditional_layer_normalization import ConditionalLayerNormalization
from kexue.layers.copy_prior import CopyPrior
from kexue.layers.dilated_gated_conv import DilatedGatedConv1D
from kexue.layers.global_average_pooling import MaskedGlobalAveragePooling1D
from kexue.layers.global_max_pooling import MaskedGlobalMaxPooling1D
from kexue.layers.masked_add import MaskedAdd
from kexue.layers.masked_concatenate import MaskedConcatenate
from kexue.layers.masked_conv import MaskedConv1D
from kexue.layers.masking import (
    causal_mask,
    large_number,
    masked_max,
    masked_mean,
    masked_min,
    masked_softmax,
    masked_sum,
    padding_mask,
    reverse_sequence,
    sequence_masking,
)
from kexue.layers.mixed_embedding import MixedEmbedding

__all__ = [
    "AttentionPooling1D",
    "CausalCrossAttention",
    "ConditionalLayerNormalization",
    "CopyPrior",
    "DilatedGatedConv1D",
    "MaskedAdd",
    "MaskedConcatenate",
    "MaskedConv1D",
    "MaskedGlobalAveragePooling1D",
    "MaskedGlobalMaxPooling1D",
    "MixedEmbedding",
    "causal_mask",
    "large_number",
    "masked_max",
    "masked_mean",
    "masked_min",
    "masked_softmax",
    "masked_sum",
    "padding_mask",
    "reverse_sequence",
    "sequence_masking",
]
