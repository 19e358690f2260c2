import pytest
import torch

from icflow_tools.trainer.early_stopping import EarlyStopping
from icflow_tools.trainer.hyperparameters import parse_hyperparameters
from icflow_tools.trainer.labels import class_weights
from icflow_tools.trainer.metrics import Accuracy
from icflow_tools.trainer.optim import make_optimizer, make_scheduler


def hyperparameters(**values: str):
    return parse_hyperparameters({"num_classes": "3", "num_training_samples": "10", **values})


def parameters():
    return [torch.nn.Parameter(torch.zeros(2)), torch.nn.Parameter(torch.zeros(1), requires_grad=False)]


@pytest.mark.parametrize(
    ("values", "kind", "settings"),
    [
        (
            {"optimizer": "sgd", "momentum": "0.8", "weight_decay": "0.01"},
            torch.optim.SGD,
            {"momentum": 0.8, "weight_decay": 0.01, "nesterov": False},
        ),
        ({"optimizer": "nag", "momentum": "0.7"}, torch.optim.SGD, {"momentum": 0.7, "nesterov": True}),
        ({"optimizer": "nag", "momentum": "0"}, torch.optim.SGD, {"momentum": 0.0, "nesterov": False}),
        (
            {"optimizer": "adam", "beta_1": "0.8", "beta_2": "0.99", "eps": "1e-6", "weight_decay": "0.5"},
            torch.optim.Adam,
            {"betas": (0.8, 0.99), "eps": 1e-6, "weight_decay": 0},
        ),
        ({"optimizer": "rmsprop", "gamma": "0.95", "eps": "1e-7"}, torch.optim.RMSprop, {"alpha": 0.95, "eps": 1e-7}),
    ],
)
def test_optimizers_take_mxnet_meanings_and_only_trainable_parameters(values, kind, settings):
    optimizer = make_optimizer(parameters(), hyperparameters(learning_rate="0.3", **values))
    assert type(optimizer) is kind
    group = optimizer.param_groups[0]
    assert group["lr"] == 0.3 and len(group["params"]) == 1
    assert {name: group[name] for name in settings} == settings


def test_learning_rate_drops_by_the_factor_after_each_listed_epoch():
    optimizer = make_optimizer(parameters(), hyperparameters(learning_rate="0.1"))
    scheduler = make_scheduler(optimizer, hyperparameters(lr_scheduler_step="2,4", lr_scheduler_factor="0.5"))
    rates = []
    for _ in range(6):
        rates.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    assert rates == pytest.approx([0.1, 0.1, 0.05, 0.05, 0.025, 0.025])


def test_without_steps_the_learning_rate_stays():
    optimizer = make_optimizer(parameters(), hyperparameters(learning_rate="0.1"))
    scheduler = make_scheduler(optimizer, hyperparameters())
    for _ in range(5):
        optimizer.step()
        scheduler.step()
    assert optimizer.param_groups[0]["lr"] == pytest.approx(0.1)


def test_early_stopping_waits_for_min_epochs_and_patience():
    stopping = EarlyStopping(min_epochs=4, patience=2, tolerance=0.0)
    decisions = [stopping.update(epoch, accuracy) for epoch, accuracy in enumerate([0.5, 0.6, 0.6, 0.6, 0.6])]
    assert decisions == [False, False, False, True, True]


def test_early_stopping_tolerance_is_relative_to_the_best():
    stopping = EarlyStopping(min_epochs=1, patience=1, tolerance=0.1)
    assert not stopping.update(0, 0.50)
    assert not stopping.update(1, 0.56)  # +12%: an improvement
    assert stopping.update(2, 0.60)  # +7% of 0.56: below the tolerance


def test_top_k_and_multi_label_accuracy():
    accuracy = Accuracy(multi_label=False, top_k=2)
    accuracy.update(torch.tensor([[3.0, 2.0, 1.0], [1.0, 2.0, 3.0], [2.0, 3.0, 1.0]]), torch.tensor([0, 1, 2]))
    assert accuracy.values() == pytest.approx({"accuracy": 1 / 3, "top_k_accuracy_2": 2 / 3})
    multi = Accuracy(multi_label=True, top_k=2)
    multi.update(torch.tensor([[1.0, -1.0, 1.0], [-1.0, -1.0, -1.0]]), torch.tensor([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]]))
    assert multi.values() == pytest.approx({"accuracy": 4 / 6})


def test_weighted_loss_weighs_rare_classes_up_by_inverse_frequency():
    labels = torch.tensor([[1.0, 0.0, 0.0], [1.0, 0.0, 0.0], [1.0, 1.0, 0.0], [1.0, 0.0, 0.0]])
    # positives 4, 1 and none (counted as 1): inverse frequencies 1, 4, 4, scaled to mean 1
    assert class_weights(labels).tolist() == pytest.approx([1 / 3, 4 / 3, 4 / 3])
