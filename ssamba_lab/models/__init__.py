"""Encoders (SSAMBA, SSAM, SSAST), their registry of presets, heads and the masked pretrainer."""
from .config import EncoderConfig, grid_size
from .encoder import AudioEncoder
from .graphed import GraphedInference, GraphedTrainStep
from .heads import ClassifierHead, PerSecondHead, pooled_embedding, prediction_head, reconstruction_head
from .mamba_encoder import MambaEncoder
from .mamba_mixer import MambaMixer
from .pos_embed import adapt_pos_embed, sincos_2d
from .pretrainer import MaskedPretrainer, ObjectiveConfig
from .registry import PRESETS, build_encoder, build_model, get_config, list_models
from .transformer_encoder import TransformerEncoder

__all__ = [
    "EncoderConfig", "grid_size", "AudioEncoder", "GraphedInference", "GraphedTrainStep", "MambaEncoder",
    "MambaMixer", "TransformerEncoder",
    "ClassifierHead", "PerSecondHead", "pooled_embedding", "prediction_head", "reconstruction_head",
    "adapt_pos_embed", "sincos_2d", "MaskedPretrainer", "ObjectiveConfig", "PRESETS", "build_encoder",
    "build_model", "get_config", "list_models",
]
