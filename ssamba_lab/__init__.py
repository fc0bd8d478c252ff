"""ssamba-lab: self-supervised audio representation learning with selective state-space models."""
__version__ = "0.1.0"


def __getattr__(name: str):
    # Lazy so that ``import ssamba_lab`` stays light (no torch import until a model is asked for).
    if name == "load_pretrained":
        from .interop.pretrained import load_pretrained

        return load_pretrained
    raise AttributeError(f"module 'ssamba_lab' has no attribute {name!r}")


__all__ = ["load_pretrained", "__version__"]
