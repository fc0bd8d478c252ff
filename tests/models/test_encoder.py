"""Token order, position-embedding adaptation, masking substitution, heads."""
import torch

from ssamba_lab.models import adapt_pos_embed, build_model, sincos_2d
from ssamba_lab.models.heads import ClassifierHead, PerSecondHead, pool_per_second


def test_frequency_major_token_order():
    """Token index f * T + t: a single bright patch at (f=2, t=3) lands on token 2 * T + 3."""
    model = build_model("ssamba-tiny", depth=1, input_tdim=64)
    x = torch.zeros(1, 64, 128)  # [b, frames, bins]
    x[0, 3 * 16:4 * 16, 2 * 16:3 * 16] = 1.0  # time patch 3, frequency patch 2
    with torch.no_grad():
        tokens, grid = model.embed_patches(x)
        base, _ = model.embed_patches(torch.zeros_like(x))
    changed = ((tokens - base).abs().sum(-1) > 0).nonzero()[:, 1].tolist()
    assert grid == (8, 4) and changed == [2 * 4 + 3]


def test_time_major_token_order():
    model = build_model("ssam-tiny", depth=1)
    x = torch.zeros(1, 200, 80)
    x[0, 4 * 7:4 * 8, 16 * 1:16 * 2] = 1.0  # time patch 7, frequency patch 1
    with torch.no_grad():
        tokens, grid = model.embed_patches(x)
        base, _ = model.embed_patches(torch.zeros_like(x))
    changed = ((tokens - base).abs().sum(-1) > 0).nonzero()[:, 1].tolist()
    assert grid == (5, 50) and changed == [7 * 5 + 1]


def test_adapt_pos_embed_crops_in_time_and_interpolates_in_frequency():
    pos = torch.randn(1, 1 + 8 * 64, 4)
    out = adapt_pos_embed(pos, (8, 64), (8, 32), num_prefix_tokens=1)
    grid_in = pos[0, 1:].reshape(8, 64, 4)
    assert torch.equal(out[0, 0], pos[0, 0])  # CLS kept
    assert torch.equal(out[0, 1:].reshape(8, 32, 4), grid_in[:, 16:48])  # centre crop
    up = adapt_pos_embed(pos, (8, 64), (12, 101), num_prefix_tokens=1)
    assert up.shape == (1, 1 + 12 * 101, 4)
    assert adapt_pos_embed(pos, (8, 64), (8, 64), num_prefix_tokens=1) is pos


def test_encoder_runs_on_other_lengths_with_adapted_positions():
    model = build_model("ssast-tiny", depth=1, input_tdim=64).eval()
    with torch.no_grad():
        out = model(torch.randn(1, 96, 128))
    assert out.shape == (1, 2 + 8 * 6, 192)


def test_sincos_prefix_is_zero_and_rows_distinct():
    table = sincos_2d(16, (2, 3), token_order="time_major", num_prefix_tokens=1)
    assert table.shape == (1, 7, 16) and table[0, 0].abs().sum() == 0
    assert torch.unique(table[0, 1:], dim=0).shape[0] == 6


def test_mask_token_replaces_patches_before_positions():
    """Two clips that differ only inside a masked patch give identical outputs."""
    model = build_model("ssamba-tiny", depth=1, input_tdim=32).eval()
    x1 = torch.randn(1, 32, 128)
    x2 = x1.clone()
    x2[0, :16, :16] += 5.0  # patch (f=0, t=0) -> token 0
    mask = torch.zeros(1, 16, dtype=torch.bool)
    mask[0, 0] = True
    token = torch.randn(1, 1, 192)
    with torch.no_grad():
        assert torch.allclose(model(x1, mask=mask, mask_token=token), model(x2, mask=mask, mask_token=token))
        assert not torch.allclose(model(x1), model(x2))


def test_classifier_mean_pool_excludes_prefix():
    head = ClassifierHead(dim=4, num_classes=3, num_prefix_tokens=2)
    tokens = torch.randn(2, 7, 4)
    changed = tokens.clone()
    changed[:, :2] += 100.0  # prefix tokens must not matter
    assert torch.allclose(head(tokens), head(changed))
    assert head(tokens).shape == (2, 3)


def test_per_second_pooling_averages_time_spans_across_all_bands():
    # Grid 2 frequency rows x 4 time columns, tokens hold (row, column) codes; 2 columns per second.
    nf, nt = 2, 4
    vals = torch.tensor([[10 * f + t for t in range(nt)] for f in range(nf)], dtype=torch.float32)  # [F, T]
    patches = vals.reshape(1, nf * nt, 1)  # frequency-major tokens, D = 1
    centers = torch.tensor([25.0, 75.0, 125.0, 175.0])  # frames: columns 0,1 in second 0; 2,3 in second 1
    pooled = pool_per_second(patches, (nf, nt), centers, 2, token_order="freq_major")
    expected = torch.tensor([[(0 + 1 + 10 + 11) / 4], [(2 + 3 + 12 + 13) / 4]])
    assert torch.allclose(pooled[0], expected)
    head = PerSecondHead(dim=1, num_classes=5, num_prefix_tokens=0, token_order="freq_major")
    assert head(patches, (nf, nt), centers, 2).shape == (1, 2, 5)
