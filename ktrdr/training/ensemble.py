"""Train many small networks together as one batched module (seed ensembles, DESIGN §11).

Every member has its own initial weights (its own seed), its own training and validation rows
(members of one walk-forward fold share them), its own class weights, shuffling, gradient
clipping, Adam state, learning-rate schedule and early stopping. The members' weights are
stacked (``torch.func.stack_module_state``); an MLP runs all members at once as batched matrix
products, LSTM/GRU loop over the members inside each batch (``functional_call``). Members that
stopped early are no longer computed.
"""

from __future__ import annotations

import copy
import logging
import math
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.func import functional_call, stack_module_state

from ktrdr.errors import ValidationError
from ktrdr.training._tensors import feature_tensor, label_tensor, output_classes
from ktrdr.training.losses import class_weights_from_labels
from ktrdr.training.models import MLPClassifier
from ktrdr.training.trainer import PLATEAU_FACTOR, EpochReport, TrainerConfig

logger = logging.getLogger(__name__)

ADAM_BETAS = (0.9, 0.999)
ADAM_EPS = 1e-8
CLIP_EPS = 1e-6  # as torch.nn.utils.clip_grad_norm_
PLATEAU_THRESHOLD = 1e-4  # ReduceLROnPlateau's default relative threshold
VALIDATION_CHUNK = 8192


@contextmanager
def _deterministic(device: torch.device) -> Iterator[None]:
    """Force deterministic kernels on CPU for the duration, restoring the caller's setting."""
    if device.type != "cpu":
        yield
        return
    enabled = torch.are_deterministic_algorithms_enabled()
    warn_only = torch.is_deterministic_algorithms_warn_only_enabled()
    torch.use_deterministic_algorithms(True)
    try:
        yield
    finally:
        torch.use_deterministic_algorithms(enabled, warn_only=warn_only)


@dataclass(frozen=True)
class MemberData:
    """The rows one group of members trains and early-stops on (e.g. one walk-forward fold)."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray


@dataclass(frozen=True)
class MemberOutcome:
    """What training did to one member: 1-based ``best_epoch`` (None if stopped before one)."""

    seed: int
    epochs_run: int
    best_epoch: int | None
    best_val_loss: float | None
    history: dict[str, list[float]] = field(repr=False)


@dataclass(frozen=True)
class EnsembleOutcome:
    """The trained members (best weights, eval mode) and how each one trained."""

    members: tuple[nn.Module, ...]
    outcomes: tuple[MemberOutcome, ...]
    epochs_run: int
    stopped: bool


@dataclass
class _Batches:
    """Every group's rows padded to one tensor, so a batch for all members is one gather."""

    x_train: torch.Tensor  # (groups, rows, ...)
    y_train: torch.Tensor  # (groups, rows)
    n_train: torch.Tensor  # (groups,)
    x_val: torch.Tensor
    y_val: torch.Tensor
    n_val: torch.Tensor


def _pad(arrays: Sequence[torch.Tensor]) -> torch.Tensor:
    longest = max(len(a) for a in arrays)
    out = arrays[0].new_zeros((len(arrays), longest, *arrays[0].shape[1:]))
    for i, array in enumerate(arrays):
        out[i, : len(array)] = array
    return out


def _stack_data(data: Sequence[MemberData], n_classes: int, device: torch.device) -> _Batches:
    x_train = [feature_tensor(d.x_train, f"group {g} x_train", device) for g, d in enumerate(data)]
    x_val = [feature_tensor(d.x_val, f"group {g} x_val", device) for g, d in enumerate(data)]
    y_train = [
        label_tensor(d.y_train, f"group {g} y_train", len(x), n_classes, device)
        for g, (d, x) in enumerate(zip(data, x_train, strict=True))
    ]
    y_val = [
        label_tensor(d.y_val, f"group {g} y_val", len(x), n_classes, device)
        for g, (d, x) in enumerate(zip(data, x_val, strict=True))
    ]
    return _Batches(
        x_train=_pad(x_train),
        y_train=_pad(y_train),
        n_train=torch.tensor([len(x) for x in x_train], device=device),
        x_val=_pad(x_val),
        y_val=_pad(y_val),
        n_val=torch.tensor([len(x) for x in x_val], device=device),
    )


class _StackedForward:
    """Call all members on their own inputs: (members, rows, ...) -> (members, rows, classes).

    An MLP runs its own layers with every Linear as one batched matrix product over the stacked
    weights (``baddbmm``; one dropout call draws an independent mask per member). Measured on
    the example MLP, this costs 0.5 ms a training step against 1.9 ms for ``torch.vmap`` over
    ``functional_call`` (whose module swapping dominates for small models). LSTM/GRU, which
    have no vmap rule in torch, call ``functional_call`` once per member.
    """

    def __init__(self, template: nn.Module) -> None:
        self.base = copy.deepcopy(template).to("meta")
        self.layers = (
            list(self.base.network.named_children())
            if isinstance(template, MLPClassifier)
            else None
        )

    def __call__(
        self, params: dict[str, torch.Tensor], buffers: dict[str, torch.Tensor], x: torch.Tensor
    ) -> torch.Tensor:
        if self.layers is not None:
            return self._mlp(params, x)
        return torch.stack(
            [
                functional_call(
                    self.base,
                    ({k: v[i] for k, v in params.items()}, {k: v[i] for k, v in buffers.items()}),
                    (x[i],),
                )
                for i in range(len(x))
            ]
        )

    def _mlp(self, params: dict[str, torch.Tensor], x: torch.Tensor) -> torch.Tensor:
        for name, layer in self.layers or ():
            if isinstance(layer, nn.Linear):
                weight = params[f"network.{name}.weight"]
                bias = params[f"network.{name}.bias"]
                x = torch.baddbmm(bias.unsqueeze(1), x, weight.transpose(1, 2))
            else:
                x = layer(x)  # activation or dropout: no weights of its own
        return x

    def train(self, mode: bool) -> None:
        self.base.train(mode)


def _member_losses(
    logits: torch.Tensor,
    labels: torch.Tensor,
    valid: torch.Tensor,
    class_weights: torch.Tensor | None,
    config: TrainerConfig,
) -> torch.Tensor:
    """Per member: the (class-weighted) cross-entropy or focal loss over its valid rows."""
    log_p = F.log_softmax(logits, dim=-1).gather(-1, labels.unsqueeze(-1)).squeeze(-1)
    losses = -log_p
    if config.loss == "focal":
        losses = losses * (1.0 - log_p.exp()).pow(config.focal_gamma)
    weights = valid.to(logits.dtype)
    if class_weights is not None:
        weights = weights * class_weights.gather(1, labels)
    return (losses * weights).sum(dim=1) / weights.sum(dim=1).clamp_min(
        torch.finfo(weights.dtype).tiny
    )


def _view(mask: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    return mask.view(-1, *([1] * (like.ndim - 1)))


class _MaskedAdam:
    """Adam over the stacked weights of the members training this epoch.

    A member whose mask is False in a step (it has no rows left this epoch) is left untouched.
    """

    def __init__(
        self,
        params: dict[str, torch.Tensor],
        first: dict[str, torch.Tensor],
        second: dict[str, torch.Tensor],
        steps: torch.Tensor,
        learning_rate: torch.Tensor,
    ) -> None:
        self.params, self.first, self.second = params, first, second
        self.steps, self.learning_rate = steps, learning_rate

    @torch.no_grad()
    def step(self, mask: torch.Tensor, clip_norm: float | None) -> None:
        grads = {
            k: (v.grad if v.grad is not None else torch.zeros_like(v))
            for k, v in self.params.items()
        }
        if clip_norm is not None:
            norms = torch.sqrt(sum(g.pow(2).flatten(1).sum(dim=1) for g in grads.values()))
            scale = (clip_norm / (norms + CLIP_EPS)).clamp(max=1.0)
            grads = {k: g * _view(scale, g) for k, g in grads.items()}
        everyone = bool(mask.all())
        beta1, beta2 = ADAM_BETAS
        self.steps += mask.to(self.steps.dtype)
        steps = self.steps.clamp_min(1.0)
        step_size = self.learning_rate / (1.0 - beta1**steps)
        root_correction = torch.sqrt(1.0 - beta2**steps)
        for name, param in self.params.items():
            grad, first, second = grads[name], self.first[name], self.second[name]
            if everyone:
                first.mul_(beta1).add_(grad, alpha=1 - beta1)
                second.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
            else:
                keep = _view(mask, param)
                first.copy_(torch.where(keep, first * beta1 + grad * (1 - beta1), first))
                second.copy_(torch.where(keep, second * beta2 + grad * grad * (1 - beta2), second))
            denominator = second.sqrt() / _view(root_correction, param) + ADAM_EPS
            update = _view(step_size, param) * first / denominator
            if not everyone:
                update = update * _view(mask, update)
            param.sub_(update)
            param.grad = None


class _AdamState:
    """Every member's Adam moments, step count and learning rate, between epochs.

    The rates stay Python floats (the exact scheduled values, as reported per epoch); each
    epoch's optimiser gets them as a tensor.
    """

    def __init__(self, params: dict[str, torch.Tensor], learning_rate: float) -> None:
        self.first = {k: torch.zeros_like(v) for k, v in params.items()}
        self.second = {k: torch.zeros_like(v) for k, v in params.items()}
        n_members = len(next(iter(params.values())))
        self.device = next(iter(params.values())).device
        self.steps = torch.zeros(n_members, device=self.device)
        self.learning_rates = [learning_rate] * n_members

    def live(self, members: torch.Tensor, params: dict[str, torch.Tensor]) -> _MaskedAdam:
        """An optimiser over ``params``, the stacked weights of ``members`` (indices)."""
        return _MaskedAdam(
            params,
            {k: v[members] for k, v in self.first.items()},
            {k: v[members] for k, v in self.second.items()},
            self.steps[members],
            torch.tensor([self.learning_rates[m] for m in members.tolist()], device=self.device),
        )

    def store(self, members: torch.Tensor, optimizer: _MaskedAdam) -> None:
        """Keep what ``optimizer`` (made by ``live(members, ...)``) learnt this epoch."""
        for name in self.first:
            self.first[name][members] = optimizer.first[name]
            self.second[name][members] = optimizer.second[name]
        self.steps[members] = optimizer.steps


class _PlateauSchedule:
    """ReduceLROnPlateau per member: halve a member's rate after ``patience`` flat epochs."""

    def __init__(self, n_members: int, patience: int) -> None:
        self.best = [math.inf] * n_members
        self.flat = [0] * n_members
        self.patience = patience

    def step(self, state: _AdamState, val_losses: Sequence[float], active: Sequence[bool]) -> None:
        for m, loss in enumerate(val_losses):
            if not active[m]:
                continue
            if loss < self.best[m] * (1.0 - PLATEAU_THRESHOLD):
                self.best[m], self.flat[m] = loss, 0
            else:
                self.flat[m] += 1
            if self.flat[m] > self.patience:
                state.learning_rates[m] *= PLATEAU_FACTOR
                self.flat[m] = 0


def train_ensemble(
    members: Sequence[nn.Module],
    data: Sequence[MemberData],
    config: TrainerConfig,
    *,
    seeds: Sequence[int],
    data_of_member: Sequence[int] | None = None,
    on_epoch: Callable[[EpochReport], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    device: torch.device | str = "cpu",
) -> EnsembleOutcome:
    """Train ``members`` (same architecture, own initial weights) together as one batched module.

    Member m trains on ``data[data_of_member[m]]`` (default: ``data[m]``) and shuffles with
    ``seeds[m]``; dropout draws from ``config.seed``. Each member stops updating once its own
    validation loss has not improved by more than ``min_delta`` for ``patience`` epochs and gets
    its best epoch's weights back; training ends when every member has stopped, after
    ``epochs``, or as soon as ``should_stop`` (polled before every batch) returns True.
    ``on_epoch`` gets the members' mean losses. CPU runs are bit-for-bit reproducible.
    """
    device = torch.device(device)
    n_members = len(members)
    groups = list(range(n_members)) if data_of_member is None else list(data_of_member)
    if n_members == 0 or len(seeds) != n_members or len(groups) != n_members:
        raise ValidationError(
            f"ensemble: {n_members} members need as many seeds and data groups, "
            f"got {len(seeds)} seeds and {len(groups)} groups"
        )
    if any(not 0 <= g < len(data) for g in groups):
        raise ValidationError(
            f"ensemble: data_of_member {groups} must index the {len(data)} data groups"
        )
    for module in members:
        module.to(device)
    n_classes = output_classes(members[0], feature_tensor(data[0].x_train[:1], "x_train", device))
    batches = _stack_data(data, n_classes, device)
    member_group = torch.tensor(groups, device=device)
    class_weights = None
    if config.class_weights:
        table = np.stack([class_weights_from_labels(d.y_train, n_classes) for d in data])
        class_weights = torch.as_tensor(table[groups], dtype=torch.float32, device=device)
    started = time.perf_counter()
    with _deterministic(device):
        torch.manual_seed(config.seed)
        result = _Run(members, batches, member_group, class_weights, config, seeds, device).fit(
            on_epoch, should_stop
        )
    logger.info(
        "trained %d members for %d/%d epochs in %.2fs (best epochs %s, stopped=%s)",
        n_members, result.epochs_run, config.epochs, time.perf_counter() - started,
        [o.best_epoch for o in result.outcomes], result.stopped,
    )  # fmt: skip
    return result


class _Run:
    """One ensemble training: the stacked weights, optimiser and per-member bookkeeping."""

    def __init__(
        self,
        members: Sequence[nn.Module],
        batches: _Batches,
        member_group: torch.Tensor,
        class_weights: torch.Tensor | None,
        config: TrainerConfig,
        seeds: Sequence[int],
        device: torch.device,
    ) -> None:
        self.members = members
        self.batches = batches
        self.member_group = member_group
        self.class_weights = class_weights
        self.config = config
        self.seeds = list(seeds)
        self.device = device
        params, buffers = stack_module_state(list(members))
        self.params = {k: v.detach().clone() for k, v in params.items()}
        self.buffers = {k: v.detach().clone() for k, v in buffers.items()}
        self.forward = _StackedForward(members[0])
        n = len(members)
        self.adam = _AdamState(self.params, config.learning_rate)
        self.plateau = _PlateauSchedule(n, max(1, (config.patience or 2) // 2))
        self.generators = [torch.Generator().manual_seed(int(s)) for s in self.seeds]
        self.histories: list[dict[str, list[float]]] = [
            {"train_loss": [], "val_loss": [], "val_accuracy": []} for _ in range(n)
        ]
        self.best_loss = [math.inf] * n
        self.best_epoch: list[int | None] = [None] * n
        self.best = {k: v.detach().clone() for k, v in self.params.items()}
        self.active = [True] * n

    def fit(
        self,
        on_epoch: Callable[[EpochReport], None] | None,
        should_stop: Callable[[], bool] | None,
    ) -> EnsembleOutcome:
        config = self.config
        stopped = False
        epochs_run = 0
        for epoch in range(1, config.epochs + 1):
            if config.lr_schedule == "cosine":
                factor = 0.5 * (1.0 + math.cos(math.pi * (epoch - 1) / config.epochs))
                self.adam.learning_rates = [config.learning_rate * factor] * len(self.members)
            learning_rate = float(
                np.mean([self.adam.learning_rates[m] for m in self._live().tolist()])
            )
            train_losses = self._train_epoch(should_stop)
            if train_losses is None:
                stopped = True
                break
            epochs_run = epoch
            val_losses, val_accuracies = self._validate()
            self._record(epoch, train_losses, val_losses, val_accuracies)
            if config.lr_schedule == "plateau":
                self.plateau.step(self.adam, val_losses, self.active)
            if on_epoch is not None:
                ran = [m for m, h in enumerate(self.histories) if len(h["train_loss"]) == epoch]
                on_epoch(
                    EpochReport(
                        epoch,
                        config.epochs,
                        float(np.mean([train_losses[m] for m in ran])),
                        float(np.mean([val_losses[m] for m in ran])),
                        float(np.mean([val_accuracies[m] for m in ran])),
                        learning_rate,
                    )
                )
            self._update_patience(epoch)
            if not any(self.active):
                break
        return self._finish(epochs_run, stopped)

    def _live(self) -> torch.Tensor:
        """Indices of the members still training; only they are computed."""
        return torch.tensor([m for m, a in enumerate(self.active) if a], device=self.device)

    def _epoch_order(self, live: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, int]:
        """Per live member a shuffled row order padded to the longest, and which are real."""
        counts = self.batches.n_train[self.member_group[live]].tolist()
        longest = max(counts)
        order = torch.zeros((len(counts), longest), dtype=torch.long)
        valid = torch.zeros((len(counts), longest), dtype=torch.bool)
        for i, (m, count) in enumerate(zip(live.tolist(), counts, strict=True)):
            order[i, :count] = torch.randperm(count, generator=self.generators[m])
            valid[i, :count] = True
        return order.to(self.device), valid.to(self.device), longest

    def _train_epoch(self, should_stop: Callable[[], bool] | None) -> list[float] | None:
        live = self._live()
        params = {k: v[live].requires_grad_(True) for k, v in self.params.items()}
        buffers = {k: v[live] for k, v in self.buffers.items()}
        optimizer = self.adam.live(live, params)
        class_weights = None if self.class_weights is None else self.class_weights[live]
        order, valid, longest = self._epoch_order(live)
        self.forward.train(True)
        batch_size = self.config.batch_size
        group = self.member_group[live].unsqueeze(1)
        totals = torch.zeros(len(live), device=self.device)
        for start in range(0, longest, batch_size):
            if should_stop is not None and should_stop():
                return None
            rows = order[:, start : start + batch_size]
            real = valid[:, start : start + batch_size]
            x = self.batches.x_train[group, rows]
            y = self.batches.y_train[group, rows]
            logits = self.forward(params, buffers, x)
            losses = _member_losses(logits, y, real, class_weights, self.config)
            stepping = real.any(dim=1)
            (losses * stepping).sum().backward()
            optimizer.step(stepping, self.config.grad_clip_norm)
            totals += losses.detach() * real.sum(dim=1)
        with torch.no_grad():
            for name, value in params.items():
                self.params[name][live] = value
        self.adam.store(live, optimizer)
        means = (totals / self.batches.n_train[self.member_group[live]]).tolist()
        return self._spread(live, means)

    def _spread(self, live: torch.Tensor, values: list[float]) -> list[float]:
        """Values of the live members as a list over all members (NaN for stopped ones)."""
        spread = [math.nan] * len(self.members)
        for m, value in zip(live.tolist(), values, strict=True):
            spread[m] = value
        return spread

    @torch.no_grad()
    def _validate(self) -> tuple[list[float], list[float]]:
        self.forward.train(False)
        live = self._live()
        params = {k: v[live] for k, v in self.params.items()}
        buffers = {k: v[live] for k, v in self.buffers.items()}
        class_weights = None if self.class_weights is None else self.class_weights[live]
        group = self.member_group[live].unsqueeze(1)
        n_val = self.batches.n_val[self.member_group[live]]
        longest = int(n_val.max())
        loss_sum = torch.zeros(len(live), device=self.device)
        weight_sum = torch.zeros_like(loss_sum)
        correct = torch.zeros_like(loss_sum)
        for start in range(0, longest, VALIDATION_CHUNK):
            rows = torch.arange(start, min(start + VALIDATION_CHUNK, longest), device=self.device)
            rows = rows.unsqueeze(0).expand(len(live), -1)
            real = rows < n_val.unsqueeze(1)
            x = self.batches.x_val[group, rows]
            y = self.batches.y_val[group, rows]
            logits = self.forward(params, buffers, x)
            weights = real.to(logits.dtype)
            if class_weights is not None:
                weights = weights * class_weights.gather(1, y)
            losses = _member_losses(logits, y, real, class_weights, self.config)
            loss_sum += losses * weights.sum(dim=1)
            weight_sum += weights.sum(dim=1)
            correct += ((logits.argmax(dim=-1) == y) & real).sum(dim=1)
        return (
            self._spread(live, (loss_sum / weight_sum).tolist()),
            self._spread(live, (correct / n_val).tolist()),
        )

    def _record(
        self, epoch: int, train: list[float], val: list[float], accuracy: list[float]
    ) -> None:
        improved = torch.zeros(len(self.members), dtype=torch.bool, device=self.device)
        for m in range(len(self.members)):
            if not self.active[m]:
                continue
            for name, value in (("train loss", train[m]), ("validation loss", val[m])):
                if not math.isfinite(value):
                    raise ValidationError(
                        f"training diverged: {name} of the member with seed {self.seeds[m]} is "
                        f"{value} at epoch {epoch} (learning_rate={self.config.learning_rate}); "
                        "lower the learning rate or check the features"
                    )
            history = self.histories[m]
            history["train_loss"].append(train[m])
            history["val_loss"].append(val[m])
            history["val_accuracy"].append(accuracy[m])
            if val[m] < self.best_loss[m] - self.config.min_delta:
                self.best_loss[m], self.best_epoch[m] = val[m], epoch
                improved[m] = True
        if improved.any():
            with torch.no_grad():
                for name, value in self.params.items():
                    self.best[name][improved] = value[improved]

    def _update_patience(self, epoch: int) -> None:
        patience = self.config.patience
        if patience is None:
            return
        for m in range(len(self.members)):
            if self.active[m] and epoch - (self.best_epoch[m] or 0) >= patience:
                self.active[m] = False

    def _finish(self, epochs_run: int, stopped: bool) -> EnsembleOutcome:
        outcomes = []
        for m, module in enumerate(self.members):
            weights = {k: v[m] for k, v in self.buffers.items()}
            source = self.best if self.best_epoch[m] is not None else self.params
            weights.update({k: v[m].detach().clone() for k, v in source.items()})
            module.load_state_dict(weights)
            module.eval()
            history = self.histories[m]
            outcomes.append(
                MemberOutcome(
                    seed=int(self.seeds[m]),
                    epochs_run=len(history["train_loss"]),
                    best_epoch=self.best_epoch[m],
                    best_val_loss=None if self.best_epoch[m] is None else self.best_loss[m],
                    history=history,
                )
            )
        return EnsembleOutcome(
            members=tuple(self.members),
            outcomes=tuple(outcomes),
            epochs_run=epochs_run,
            stopped=stopped,
        )
