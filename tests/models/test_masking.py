"""Masking: exact counts, reproducible under a seed, cluster masks made of blocks."""
import pytest
import torch

from ssamba_lab import masking

GRID = (8, 64)


def components(mask_ft: torch.Tensor) -> list[int]:
    """Sizes of 4-connected components of a ``[F, T]`` boolean grid."""
    seen, sizes = set(), []
    cells = {tuple(c) for c in mask_ft.nonzero().tolist()}
    for c in cells:
        if c in seen:
            continue
        stack, size = [c], 0
        seen.add(c)
        while stack:
            f, t = stack.pop()
            size += 1
            for nb in ((f + 1, t), (f - 1, t), (f, t + 1), (f, t - 1)):
                if nb in cells and nb not in seen:
                    seen.add(nb)
                    stack.append(nb)
        sizes.append(size)
    return sizes


@pytest.mark.parametrize("strategy", ["cluster", "random"])
@pytest.mark.parametrize("count", [0, 1, 100, 250, 400, 512])
def test_exact_counts(strategy, count):
    m = masking.make_mask(strategy, 6, GRID, count, token_order="freq_major", generator=torch.Generator().manual_seed(1))
    assert m.shape == (6, 512) and m.dtype == torch.bool
    assert m.sum(1).tolist() == [count] * 6


@pytest.mark.parametrize("strategy", ["cluster", "random", "frame"])
def test_reproducible_under_seed(strategy):
    a = masking.make_mask(strategy, 4, GRID, 96, token_order="freq_major", generator=torch.Generator().manual_seed(7))
    b = masking.make_mask(strategy, 4, GRID, 96, token_order="freq_major", generator=torch.Generator().manual_seed(7))
    c = masking.make_mask(strategy, 4, GRID, 96, token_order="freq_major", generator=torch.Generator().manual_seed(8))
    assert torch.equal(a, b) and not torch.equal(a, c)


def test_cluster_masks_are_made_of_blocks():
    g = torch.Generator().manual_seed(0)
    cl = masking.cluster_masking(16, GRID, 100, generator=g).view(16, *GRID)
    rnd = masking.random_masking(16, GRID, 100, generator=g).view(16, *GRID)
    mean_size = lambda ms: sum(sum(components(m)) / len(components(m)) for m in ms) / len(ms)  # noqa: E731
    # Blocks of side >= 3 give components of ~9+ cells; uniform masking at 20% density gives ~1-2.
    assert mean_size(cl) >= 6.0
    assert mean_size(rnd) < 3.0


def test_cluster_blocks_grow_up_and_right_without_wrapping():
    g = torch.Generator().manual_seed(3)
    nf, nt = GRID
    full_squares = 0
    # Count 9 with side 3: an unclipped first block is the whole mask and must be a 3x3 square grown toward higher
    # frequency and later time. A first block clipped at the top or right edge needs further blocks.
    for _ in range(40):
        m = masking.cluster_masking(1, GRID, 9, cluster_sizes=(3,), generator=g).view(*GRID)
        f, t = m.nonzero().unbind(1)
        square = (f.max() - f.min()) == 2 and (t.max() - t.min()) == 2
        if square:
            full_squares += 1
        else:  # only an edge-clipped first block leaves a non-square mask
            assert m[nf - 2:].any() or m[:, nt - 2:].any(), m.int()
    assert full_squares >= 10
    # Without the quirks a block never wraps from the last time column into the next row's first column; with
    # them, a block started in the last two of 8 columns does (a quarter of single-block masks).
    small = (12, 8)
    m = masking.cluster_masking(256, small, 9, cluster_sizes=(3,), generator=g).view(256, *small)
    q = masking.cluster_masking(256, small, 9, cluster_sizes=(3,), generator=g, original_quirks=True).view(256, *small)
    wraps = (m[:, :-1, -1] & m[:, 1:, 0]).any(1).sum()  # only from two separate blocks
    q_wraps = (q[:, :-1, -1] & q[:, 1:, 0]).any(1).sum()
    assert q_wraps > 40 and q_wraps > 3 * wraps, (int(q_wraps), int(wraps))


def test_original_quirks_never_mask_patch_zero_and_wrap_rows():
    g = torch.Generator().manual_seed(5)
    m = masking.cluster_masking(64, GRID, 400, generator=g, original_quirks=True)
    assert not m[:, 0].any()
    assert m.sum(1).eq(400).all()


def test_frame_masking_masks_whole_columns_in_token_order():
    m = masking.frame_masking(3, (5, 50), 10, token_order="time_major", generator=torch.Generator().manual_seed(0))
    cols = m.view(3, 50, 5)  # time-major: token = t * F + f
    assert (cols.all(-1) == cols.any(-1)).all()  # each time column fully masked or untouched
    assert cols.all(-1).sum(1).tolist() == [10, 10, 10]


def test_unknown_strategy_and_bad_count_are_named():
    with pytest.raises(ValueError, match="cluster"):
        masking.make_mask("checkerboard", 1, GRID, 3, token_order="freq_major")
    with pytest.raises(AssertionError, match="num_masked"):
        masking.random_masking(1, GRID, 600)
