import math

import pytest
import torch

from ssamba_lab.train.metrics import accuracy, average_precision, mean_average_precision, per_second_map


def test_average_precision_by_hand():
    # ranking: + - + - : precision at the positives 1/1 and 2/3 -> AP = (1 + 2/3) / 2
    scores = torch.tensor([0.9, 0.8, 0.7, 0.1])
    pos = torch.tensor([True, False, True, False])
    assert average_precision(scores, pos) == pytest.approx((1 + 2 / 3) / 2)


def test_average_precision_groups_ties_like_sklearn():
    # all tied: one threshold, precision 1/2 at recall 1
    assert average_precision(torch.zeros(4), torch.tensor([1, 0, 1, 0]).bool()) == pytest.approx(0.5)
    assert math.isnan(average_precision(torch.rand(3), torch.zeros(3, dtype=torch.bool)))


def test_map_skips_classes_without_positives_and_per_second_flattens():
    scores = torch.tensor([[2.0, 0.0, 1.0], [0.0, 3.0, 1.0], [1.0, 0.5, 0.0]])
    targets = torch.tensor([0, 1, 0])
    assert mean_average_precision(scores, targets) == pytest.approx(1.0)  # class 2 has no positive
    wrong = torch.tensor([1, 0, 1])
    assert mean_average_precision(scores, wrong) < 0.7
    assert per_second_map(scores[None], targets[None]) == pytest.approx(1.0)
    assert accuracy(scores, targets) == pytest.approx(1.0) and accuracy(scores, wrong) == pytest.approx(0.0)
