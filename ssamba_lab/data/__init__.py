"""Data: official-layout adapters, SSAST-compatible manifests, datasets/loaders, bad-audio handling, demo corpus.

Public API (what trainers and notebooks call)::

    from ssamba_lab.data import build_dataloader, prepare_task, build_demo_corpus
    loader = build_dataloader(get_task("ks1"), split="train", data_root="data/demo", batch_size=32,
                              num_workers=2, seed=0)          # dict batches, see ssamba_lab.data.dataset
    prepared = prepare_task(get_task("esc"), data_root=..., out_dir="runs/manifests", fold=1)
    build_demo_corpus("data/demo", config=DemoConfig(seed=0))
"""
import importlib

_EXPORTS = {
    "adapters": ("ADAPTERS", "AdapterOutput"),
    "bad_audio": ("AudioCheckConfig", "BadAudioReport", "audit_entries", "inspect_file", "load_waveform"),
    "dataset": ("AudioDataset", "DataConfig"),
    "demo": ("DemoConfig", "build_demo_corpus"),
    "layout": ("LayoutError",),
    "loader": ("build_dataloader", "build_dataset", "resolve_stats"),
    "manifest": ("LabelMap", "Manifest", "read_label_csv", "read_manifest", "write_label_csv", "write_manifest"),
    "prepare": ("PreparedTask", "prepare_task"),
    "stats": ("class_counts", "fbank_stats"),
}
_WHERE = {name: mod for mod, names in _EXPORTS.items() for name in names}
__all__ = sorted(_WHERE)


def __getattr__(name: str):
    """Lazy exports: ``import ssamba_lab.data`` stays light (the demo corpus workers do not load torch)."""
    if name in _WHERE:
        return getattr(importlib.import_module(f".{_WHERE[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
