"""The four optimizers with MXNet's meaning of their hyperparameters, and the step learning-rate schedule.

- sgd: momentum and weight_decay (L2 added to the gradient, as MXNet's wd);
- nag: Nesterov momentum, otherwise as sgd (plain SGD when momentum is 0, as MXNet's NAG then is);
- adam: beta_1, beta_2, eps; weight_decay and momentum are ignored, as documented;
- rmsprop: gamma is the decay of the squared-gradient average (MXNet's gamma1), eps; no momentum.

lr_scheduler_step lists epochs after which the learning rate is multiplied by lr_scheduler_factor.
"""

from __future__ import annotations

from collections.abc import Iterable

import torch
from torch.optim.lr_scheduler import MultiStepLR

from icflow_tools.trainer.hyperparameters import Hyperparameters


def make_optimizer(parameters: Iterable[torch.nn.Parameter], hp: Hyperparameters) -> torch.optim.Optimizer:
    trainable = [parameter for parameter in parameters if parameter.requires_grad]
    if hp.optimizer == "adam":
        return torch.optim.Adam(trainable, lr=hp.learning_rate, betas=(hp.beta_1, hp.beta_2), eps=hp.eps)
    if hp.optimizer == "rmsprop":
        return torch.optim.RMSprop(trainable, lr=hp.learning_rate, alpha=hp.gamma, eps=hp.eps)
    nesterov = hp.optimizer == "nag" and hp.momentum > 0
    return torch.optim.SGD(
        trainable, lr=hp.learning_rate, momentum=hp.momentum, weight_decay=hp.weight_decay, nesterov=nesterov
    )


def make_scheduler(optimizer: torch.optim.Optimizer, hp: Hyperparameters) -> MultiStepLR:
    """Stepped once per epoch; with no lr_scheduler_step the rate stays constant."""
    return MultiStepLR(optimizer, milestones=list(hp.lr_scheduler_step or ()), gamma=hp.lr_scheduler_factor)
