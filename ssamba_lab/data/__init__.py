"""Data: official-layout adapters, SSAST-compatible manifests, datasets/loaders, bad-audio handling, demo corpus.

Public API (what trainers and notebooks call)::

    from ssamba_lab.data import build_dataloader, prepare_task, build_demo_corpus
    loader = build_dataloader(get_task("ks1"), split="train", data_root="data/demo", batch_size=32,
                              num_workers=2, seed=0)          # dict batches, see ssamba_lab.data.dataset
    prepared = prepare_task(get_task("esc"), data_root=..., out_dir="runs/manifests", fold=1)
    build_demo_corpus("data/demo", config=DemoConfig(seed=0))
"""
from .adapters import ADAPTERS, AdapterOutput
from .bad_audio import AudioCheckConfig, BadAudioReport, audit_entries, inspect_file, load_waveform
from .dataset import AudioDataset, DataConfig
from .demo import DemoConfig, build_demo_corpus
from .layout import LayoutError
from .loader import build_dataloader, build_dataset, resolve_stats
from .manifest import LabelMap, Manifest, read_label_csv, read_manifest, write_label_csv, write_manifest
from .prepare import PreparedTask, prepare_task
from .stats import class_counts, fbank_stats

__all__ = [
    "ADAPTERS", "AdapterOutput", "AudioCheckConfig", "BadAudioReport", "audit_entries", "inspect_file",
    "load_waveform", "AudioDataset", "DataConfig", "DemoConfig", "build_demo_corpus", "LayoutError",
    "build_dataloader", "build_dataset", "resolve_stats", "LabelMap", "Manifest", "read_label_csv",
    "read_manifest", "write_label_csv", "write_manifest", "PreparedTask", "prepare_task", "class_counts",
    "fbank_stats",
]
