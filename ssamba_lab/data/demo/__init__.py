"""The embedded demo corpus: every official layout, synthesised offline from a seed (espeak-ng + procedural
sound events). ``python -m ssamba_lab.data.demo --root data/demo`` builds it."""
from .build import build_demo_corpus
from .config import DemoConfig
from .speech import SpeechUnavailable, Synthesizer, Voice

__all__ = ["build_demo_corpus", "DemoConfig", "SpeechUnavailable", "Synthesizer", "Voice"]
