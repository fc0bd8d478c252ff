"""Interoperability with the released SSAMBA / SSAST weights and our own checkpoint format.

``load_pretrained`` (pretrained.py) is the entry point; ``official_ssamba.py`` / ``official_ssast.py`` map the
released key layouts, ``official_forward.py`` is the released SSAMBA forward, ``convert.py`` the CLI.
Kept import-free so ``import ssamba_lab.models`` can reach ``official_forward`` without loading the rest.
"""
