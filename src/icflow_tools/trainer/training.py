"""The training job: read the channels, train epoch by epoch, report metrics, save the model.

Per epoch it logs the algorithm's lines (`Epoch[3] Train-accuracy=0.912000`, `Epoch[3] Validation-accuracy=...`)
and hands hooks.epoch_end the same figures named as SageMaker names them (`train:accuracy`,
`validation:accuracy`, `train:top_k_accuracy_5`, ...).

Saving follows the algorithm: without checkpoint_frequency, the parameters of every epoch that sets a new
best validation accuracy; with it, every checkpoint_frequency epochs. The served model is the last file
saved. With a checkpoint_dir, the full training state is written there after every epoch and a job that
finds one resumes after its last finished epoch. With a `model` channel (incremental training, model_channel.py)
the network starts from an earlier job's model instead of random weights.
"""

from __future__ import annotations

import random
import time
from collections.abc import Mapping
from pathlib import Path

import torch
from torch import nn
from torch.optim.lr_scheduler import MultiStepLR

from icflow.core import layout
from icflow_tools.trainer import artifacts
from icflow_tools.trainer.api import Channel, ClientError, TrainingHooks, TrainingResult
from icflow_tools.trainer.batches import ImageSet
from icflow_tools.trainer.datasets import read_channel
from icflow_tools.trainer.device import Precision, choose_device, precision_for, use_available_cores
from icflow_tools.trainer.early_stopping import EarlyStopping
from icflow_tools.trainer.hyperparameters import Hyperparameters, parse_hyperparameters
from icflow_tools.trainer.labels import class_weights, targets
from icflow_tools.trainer.metrics import Accuracy
from icflow_tools.trainer.model_channel import (
    MODEL_CHANNEL,
    StartingModel,
    check_same_network,
    load_into,
    read_model_channel,
)
from icflow_tools.trainer.optim import make_optimizer, make_scheduler
from icflow_tools.trainer.resnet import ResNet

SEED = 0
EVALUATION_BATCH_SIZE = 256


def train(
    hyperparameters: Mapping[str, str],
    channels: Mapping[str, Channel],
    model_dir: Path,
    checkpoint_dir: Path | None,
    hooks: TrainingHooks,
) -> TrainingResult:
    hp = parse_hyperparameters(hyperparameters)
    return Training(hp, channels, model_dir, checkpoint_dir, hooks).run()


class Training:
    def __init__(
        self,
        hp: Hyperparameters,
        channels: Mapping[str, Channel],
        model_dir: Path,
        checkpoint_dir: Path | None,
        hooks: TrainingHooks,
    ) -> None:
        self.hp = hp
        self.channels = channels
        self.model_dir = model_dir
        self.checkpoint_dir = checkpoint_dir
        self.hooks = hooks
        self.epochs: list[dict[str, float]] = []
        self.best_accuracy: float | None = None
        self.served: str | None = None
        self.early_stopping = EarlyStopping(
            hp.early_stopping_min_epochs, hp.early_stopping_patience, hp.early_stopping_tolerance
        )

    def log(self, line: str) -> None:
        self.hooks.log(line)

    # -- setup --------------------------------------------------------------------------------------------------
    def _log_configuration(self, precision: Precision, threads: int) -> None:
        hp = self.hp
        self.log(f"use_pretrained_model: {int(hp.use_pretrained_model)}")
        self.log(f"multi_label: {int(hp.multi_label)}")
        self.log("---- Parameters ----")
        for name, value in (
            ("num_layers", hp.num_layers),
            ("data type", precision.description),
            ("epochs", hp.epochs),
            ("image resize size", hp.resize),
            ("optimizer", hp.optimizer),
            ("momentum", hp.momentum),
            ("weight_decay", hp.weight_decay),
            ("learning_rate", hp.learning_rate),
            ("lr_scheduler_step", ",".join(map(str, hp.lr_scheduler_step or ())) or None),
            ("lr_scheduler_factor", hp.lr_scheduler_factor),
            ("num_training_samples", hp.num_training_samples),
            ("mini_batch_size", hp.mini_batch_size),
            ("image_shape", hp.image_shape),
            ("num_classes", hp.num_classes),
            ("augmentation_type", hp.augmentation_type),
            ("kv_store", hp.kv_store or "device"),
            ("top_k", hp.top_k),
            ("use_weighted_loss", int(hp.use_weighted_loss)),
        ):
            self.log(f"{name}: {value}")
        if hp.checkpoint_frequency is None:
            self.log("checkpoint_frequency not set, will store the best model")
        else:
            self.log(f"checkpoint_frequency: {hp.checkpoint_frequency}")
        if hp.early_stopping:
            self.log(
                f"early_stopping: min_epochs {hp.early_stopping_min_epochs}, patience {hp.early_stopping_patience}, "
                f"tolerance {hp.early_stopping_tolerance}"
            )
        if hp.kv_store is not None:
            self.log(f"kv_store {hp.kv_store}: one host trains here, so there are no weight updates to synchronise")
        self.log("--------------------")
        self.log(f"Setting number of threads: {threads}")

    def _load_sets(self) -> tuple[ImageSet, ImageSet]:
        hp = self.hp
        sets = []
        for name in (layout.TRAIN, layout.VALIDATION):
            samples = read_channel(self.channels, name)
            sets.append(ImageSet(samples, targets(samples, hp.num_classes, hp.multi_label), hp.image_shape, hp.resize))
            self.log(f"{name} channel: {len(samples)} images")
        train_set, validation_set = sets
        ignored = sorted(set(self.channels) - {*layout.CHANNELS, MODEL_CHANNEL})
        if ignored:
            self.log(f"channel(s) {', '.join(ignored)} are not inputs of the algorithm and are ignored")
        if len(train_set) < hp.mini_batch_size:
            raise ClientError(
                f"The number of input images must be bigger or equal to the mini_batch_size: the train channel "
                f"holds {len(train_set)} images and mini_batch_size is {hp.mini_batch_size}"
            )
        if len(train_set) != hp.num_training_samples:
            self.log(
                f"num_training_samples is {hp.num_training_samples} but the train channel holds {len(train_set)} "
                "images; the epochs run over the images present"
            )
        return train_set, validation_set

    def _loss(self, train_set: ImageSet, device: torch.device) -> nn.Module:
        if not self.hp.multi_label:
            return nn.CrossEntropyLoss()
        if self.hp.use_weighted_loss:
            return nn.BCEWithLogitsLoss(weight=class_weights(train_set.labels).to(device))
        return nn.BCEWithLogitsLoss()

    # -- the run ------------------------------------------------------------------------------------------------
    def run(self) -> TrainingResult:
        hp = self.hp
        device = choose_device()
        threads = use_available_cores()
        precision = precision_for(hp.precision_dtype, device)
        self._log_configuration(precision, threads)
        starting_model = self._read_starting_model()  # before the data: a wrong model fails the job at once
        train_set, validation_set = self._load_sets()

        torch.manual_seed(SEED)
        rng = random.Random(SEED)
        model = ResNet(hp.num_layers, hp.num_classes, hp.image_shape).to(device, memory_format=torch.channels_last)
        optimizer = make_optimizer(model.parameters(), hp)
        scheduler = make_scheduler(optimizer, hp)
        scaler = precision.scaler()
        loss_fn = self._loss(train_set, device)
        if starting_model is not None:
            load_into(model, starting_model)
            self.log(
                f"Incremental training: starting from the parameters of {starting_model.config.params} in the model "
                f"channel's {starting_model.tarball}; the optimizer starts fresh and epochs count from 1"
            )
        start_epoch = self._resume(model, optimizer, scheduler, scaler, rng)

        stopped = False
        for epoch in range(start_epoch, hp.epochs):
            started = time.perf_counter()
            train_accuracy = self._train_epoch(model, train_set, optimizer, scaler, loss_fn, rng, device, precision)
            scheduler.step()
            train_seconds = time.perf_counter() - started
            validation_accuracy = self._evaluate(model, validation_set, device, precision)

            metrics = self._report(epoch, train_accuracy.values(), validation_accuracy.values(), train_seconds)
            self._save_model(model, epoch, metrics["validation:accuracy"])
            early_stop = hp.early_stopping and self.early_stopping.update(epoch, metrics["validation:accuracy"])
            self._save_state(model, optimizer, scheduler, scaler, rng, epoch)
            if self.hooks.epoch_end(epoch, metrics):
                self.log(f"Epoch[{epoch}] Training stopped on request after this epoch")
                stopped = True
                break
            if early_stop:
                self.log(
                    f"Epoch[{epoch}] Early stopping: no improvement of validation accuracy in "
                    f"{self.early_stopping.epochs_without_improvement} epochs; stopping training"
                )
                break

        self._finish(model, train_set)
        final = self.epochs[-1] if self.epochs else {}
        return TrainingResult(
            final_metrics=dict(final), epochs=[dict(metrics) for metrics in self.epochs], stopped=stopped
        )

    def _train_epoch(
        self,
        model: nn.Module,
        data: ImageSet,
        optimizer: torch.optim.Optimizer,
        scaler: torch.amp.GradScaler,
        loss_fn: nn.Module,
        rng: random.Random,
        device: torch.device,
        precision: Precision,
    ) -> Accuracy:
        model.train()
        accuracy = Accuracy(self.hp.multi_label, self.hp.top_k)
        for images, labels in data.training_batches(self.hp.mini_batch_size, self.hp.augmentation_type, rng):
            images = images.to(device, non_blocking=True).float().contiguous(memory_format=torch.channels_last)
            labels = labels.to(device, non_blocking=True)
            with precision.autocast():
                logits = model(images)
            loss = loss_fn(logits.float(), labels)
            optimizer.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            scaler.step(optimizer)
            scaler.update()
            accuracy.update(logits, labels)
        return accuracy

    def _evaluate(self, model: nn.Module, data: ImageSet, device: torch.device, precision: Precision) -> Accuracy:
        model.eval()
        accuracy = Accuracy(self.hp.multi_label, self.hp.top_k)
        with torch.inference_mode():
            for images, labels in data.evaluation_batches(EVALUATION_BATCH_SIZE):
                images = images.to(device).float().contiguous(memory_format=torch.channels_last)
                with precision.autocast():
                    logits = model(images)
                accuracy.update(logits, labels.to(device))
        return accuracy

    def _report(
        self, epoch: int, train: dict[str, float], validation: dict[str, float], seconds: float
    ) -> dict[str, float]:
        for name, value in train.items():
            self.log(f"Epoch[{epoch}] Train-{name}={value:.6f}")
        self.log(f"Epoch[{epoch}] Time cost={seconds:.3f}")
        for name, value in validation.items():
            self.log(f"Epoch[{epoch}] Validation-{name}={value:.6f}")
        metrics = {f"train:{name}": value for name, value in train.items()}
        metrics.update({f"validation:{name}": value for name, value in validation.items()})
        self.epochs.append(metrics)
        return metrics

    # -- saving -------------------------------------------------------------------------------------------------
    def _save_model(self, model: nn.Module, epoch: int, accuracy: float) -> None:
        frequency = self.hp.checkpoint_frequency
        if frequency is None:
            if self.best_accuracy is not None and accuracy <= self.best_accuracy:
                return
            self.best_accuracy = accuracy
            self.log(f"Storing the best model with validation accuracy: {accuracy:.6f}")
        elif (epoch + 1) % frequency:
            return
        path = artifacts.save_params(model, epoch, self.model_dir, self.checkpoint_dir)
        self.served = path.name
        self.log(f'Saved checkpoint to "{path}"')

    def _save_state(
        self,
        model: nn.Module,
        optimizer: torch.optim.Optimizer,
        scheduler: MultiStepLR,
        scaler: torch.amp.GradScaler,
        rng: random.Random,
        epoch: int,
    ) -> None:
        if self.checkpoint_dir is None:
            return
        artifacts.save_training_state(
            self.checkpoint_dir,
            {
                "architecture": self._architecture(),
                "epoch": epoch,
                "model": model.state_dict(),
                "optimizer": optimizer.state_dict(),
                "scheduler": scheduler.state_dict(),
                "scaler": scaler.state_dict(),
                "python_rng": rng.getstate(),
                "torch_rng": torch.get_rng_state(),
                "epochs": self.epochs,
                "best_accuracy": self.best_accuracy,
                "served": self.served,
                "early_stopping": self.early_stopping.state(),
            },
        )

    def _architecture(self) -> dict[str, object]:
        hp = self.hp
        return {
            "num_layers": hp.num_layers,
            "num_classes": hp.num_classes,
            "image_shape": str(hp.image_shape),
            "multi_label": hp.multi_label,
        }

    def _read_starting_model(self) -> StartingModel | None:
        """Incremental training: an earlier job's model to start from, which must be the same network."""
        channel = self.channels.get(MODEL_CHANNEL)
        if channel is None:
            return None
        starting_model = read_model_channel(channel)
        config = starting_model.config
        self.log(
            f"model channel: {starting_model.tarball} serves {config.params} (num_layers {config.num_layers}, "
            f"image_shape {config.image_shape}, num_classes {config.num_classes})"
        )
        check_same_network(starting_model, self.hp)
        return starting_model

    def _resume(
        self,
        model: nn.Module,
        optimizer: torch.optim.Optimizer,
        scheduler: MultiStepLR,
        scaler: torch.amp.GradScaler,
        rng: random.Random,
    ) -> int:
        """The epoch to start from: 0, or the one after the checkpoint's."""
        if self.checkpoint_dir is None:
            return 0
        state = artifacts.load_training_state(self.checkpoint_dir)
        if state is None:
            return 0
        if state["architecture"] != self._architecture():
            raise ClientError(
                f"the checkpoint in the job's checkpoint prefix was written for {state['architecture']}, not for this "
                f"job's {self._architecture()}; use a new checkpoint prefix for a different network"
            )
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        scaler.load_state_dict(state["scaler"])
        python_rng = state["python_rng"]
        rng.setstate((python_rng[0], tuple(python_rng[1]), python_rng[2]))
        torch.set_rng_state(state["torch_rng"])
        self.epochs = list(state["epochs"])
        self.best_accuracy = state["best_accuracy"]
        self.served = state["served"]
        self.early_stopping.restore(state["early_stopping"])
        artifacts.restore_params_files(self.checkpoint_dir, self.model_dir)
        self.log(f"Resuming training from the checkpoint after epoch {state['epoch']}")
        return int(state["epoch"]) + 1

    def _finish(self, model: nn.Module, train_set: ImageSet) -> None:
        """Make sure model_dir serves a model (a run can end before any save), then describe it."""
        if self.served is None:
            last_epoch = max(len(self.epochs) - 1, 0)
            path = artifacts.save_params(model, last_epoch, self.model_dir, self.checkpoint_dir)
            self.served = path.name
            self.log(f'Saved checkpoint to "{path}"')
        hp = self.hp
        artifacts.write_config(
            self.model_dir,
            artifacts.ModelConfig(
                num_layers=hp.num_layers,
                num_classes=hp.num_classes,
                image_shape=str(hp.image_shape),
                resize=hp.resize or train_set.median_shorter_side(),
                multi_label=hp.multi_label,
                params=self.served,
            ),
        )
