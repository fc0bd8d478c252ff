"""Interoperability with the released SSAMBA / SSAST weights and our own checkpoint format.

``load_pretrained`` (pretrained.py) is the entry point; ``official_ssamba.py`` / ``official_ssast.py`` read the
released layouts, ``key_map.py`` renames their keys, ``official_forward.py`` is the released SSAMBA forward,
``convert.py`` the CLI. Exports are lazy so that ``ssamba_lab.models`` can import ``official_forward`` without
pulling in the loaders.
"""

__all__ = ["load_pretrained", "encoder_of", "convert"]


def __getattr__(name: str):
    if name in ("load_pretrained", "encoder_of"):
        from . import pretrained

        return getattr(pretrained, name)
    if name == "convert":
        from .convert import convert

        return convert
    raise AttributeError(f"module 'ssamba_lab.interop' has no attribute {name!r}")
