"""Incremental training: a `model` channel holding an earlier job's model.tar.gz, which the job starts from when it is
the same network, and which fails the job as a ClientError, naming what is wrong, when it is not usable."""

import io
import tarfile
import tempfile
import uuid
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch

from icflow_tools.trainer import Channel, ClientError, train
from icflow_tools.trainer.artifacts import MODEL_CONFIG, read_config

MODEL_CONTENT_TYPE = "application/x-sagemaker-model"
TOLERANCE = 0.05


def tar_folder(folder: Path, tarball: Path) -> None:
    """model_dir tarred as the local SageMaker tars it into model.tar.gz."""
    with tarfile.open(tarball, "w:gz") as archive:
        for path in sorted(folder.iterdir()):
            archive.add(path, arcname=path.name)


def model_channel(model_dir: Path, folder: Path, content_type: str = MODEL_CONTENT_TYPE) -> Channel:
    folder.mkdir(parents=True)
    tar_folder(model_dir, folder / "model.tar.gz")
    return Channel(folder, content_type)


def served_parameters(model_dir: Path) -> dict[str, torch.Tensor]:
    return torch.load(model_dir / read_config(model_dir).params, weights_only=True)


@pytest.fixture(scope="module")
def earlier(kit, tmp_path_factory):
    """Data and a model trained on it for two epochs, shared by the module's tests (none of them changes it)."""
    root = tmp_path_factory.mktemp("earlier")
    channels = kit.recordio_channels(root / "data", kit.coloured_items(48, 3), kit.coloured_items(24, 3, seed=1))
    model_dir = root / "model"
    model_dir.mkdir()
    result = train(kit.small_hyperparameters(epochs="2"), channels, model_dir, None, kit.RecordingHooks())
    return SimpleNamespace(channels=channels, model_dir=model_dir, result=result)


@pytest.fixture
def new_model_dir(tmp_path):
    path = tmp_path / "new-model"
    path.mkdir()
    return path


def test_training_again_from_a_model_starts_where_that_model_ended(kit, earlier, tmp_path, new_model_dir, hooks):
    channels = {**earlier.channels, "model": model_channel(earlier.model_dir, tmp_path / "model")}
    fresh_dir = tmp_path / "fresh"
    fresh_dir.mkdir()
    fresh = train(kit.small_hyperparameters(epochs="1"), earlier.channels, fresh_dir, None, kit.RecordingHooks())

    again = train(kit.small_hyperparameters(epochs="1"), channels, new_model_dir, None, hooks)

    earlier_accuracy = earlier.result.final_metrics["validation:accuracy"]
    accuracy = again.epochs[0]["validation:accuracy"]
    # The same seed and data as the fresh run: only the starting weights differ.
    assert accuracy >= earlier_accuracy - TOLERANCE
    assert accuracy >= fresh.epochs[0]["validation:accuracy"] + 0.2
    assert [epoch for epoch, _ in hooks.reports] == [0]
    assert read_config(new_model_dir).params == "image-classification-0001.pt"  # epochs count from 1 again
    started = [line for line in hooks.lines if line.startswith("Incremental training: starting from")]
    assert started == [
        "Incremental training: starting from the parameters of "
        f"{read_config(earlier.model_dir).params} in the model channel's model.tar.gz; "
        "the optimizer starts fresh and epochs count from 1"
    ]


def test_the_network_starts_from_the_models_parameters_not_from_the_seeded_ones(
    kit, earlier, tmp_path, new_model_dir, hooks
):
    # A learning rate of 0 leaves the weights where they started (the BatchNorm statistics still move).
    channels = {**earlier.channels, "model": model_channel(earlier.model_dir, tmp_path / "model")}
    fresh_dir = tmp_path / "fresh"
    fresh_dir.mkdir()
    still = kit.small_hyperparameters(epochs="1", learning_rate="0")
    train(still, earlier.channels, fresh_dir, None, kit.RecordingHooks())
    train(still, channels, new_model_dir, None, hooks)

    earlier_params = served_parameters(earlier.model_dir)
    started, seeded = served_parameters(new_model_dir), served_parameters(fresh_dir)
    weights = [name for name in earlier_params if name.endswith(".weight")]
    assert len(weights) > 20
    assert all(torch.equal(started[name], earlier_params[name]) for name in weights)
    assert not any(torch.equal(seeded[name], earlier_params[name]) for name in weights if "conv" in name)


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"num_layers": "32"}, "num_layers is 20 for the model and 32 for this job"),
        ({"image_shape": "3,10,10"}, "image_shape is 3,12,12 for the model and 3,10,10 for this job"),
        ({"num_classes": "4"}, "num_classes is 3 for the model and 4 for this job"),
        (
            {"num_layers": "32", "num_classes": "4"},
            "num_layers is 20 for the model and 32 for this job; num_classes is 3 for the model and 4 for this job",
        ),
    ],
    ids=["num_layers", "image_shape", "num_classes", "two"],
)
def test_another_network_fails_the_job_naming_what_differs(
    kit, earlier, tmp_path, new_model_dir, hooks, change, reason
):
    channels = {**earlier.channels, "model": model_channel(earlier.model_dir, tmp_path / "model")}
    with pytest.raises(ClientError) as failure:
        train(kit.small_hyperparameters(epochs="1", **change), channels, new_model_dir, None, hooks)
    message = str(failure.value)
    assert message.startswith("the model channel's model was trained with a different network: " + reason + ".")
    assert message.endswith("Incremental training needs the same num_layers, image_shape and num_classes as the model")
    assert hooks.reports == [] and not any(new_model_dir.iterdir())


def test_other_hyperparameters_may_change(kit, earlier, tmp_path, new_model_dir, hooks):
    channels = {**earlier.channels, "model": model_channel(earlier.model_dir, tmp_path / "model")}
    changed = kit.small_hyperparameters(epochs="1", optimizer="adam", learning_rate="0.001", mini_batch_size="8")
    result = train(changed, channels, new_model_dir, None, hooks)
    assert (
        result.final_metrics["validation:accuracy"] >= earlier.result.final_metrics["validation:accuracy"] - TOLERANCE
    )


def _tarball(folder: Path, members: dict[str, bytes], links: dict[str, str] | None = None) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    with tarfile.open(folder / "model.tar.gz", "w:gz") as archive:
        for name, body in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(body)
            archive.addfile(info, io.BytesIO(body))
        for name, target in (links or {}).items():
            info = tarfile.TarInfo(name)
            info.type, info.linkname = tarfile.SYMTYPE, target
            archive.addfile(info)


def _with_config(earlier_dir: Path, **changes: str) -> dict[str, bytes]:
    members = {path.name: path.read_bytes() for path in earlier_dir.iterdir()}
    config = read_config(earlier_dir)
    text = members[MODEL_CONFIG].decode()
    for field, value in changes.items():
        text = text.replace(f'"{field}": "{getattr(config, field)}"', f'"{field}": "{value}"')
    members[MODEL_CONFIG] = text.encode()
    return members


ESCAPED = f"escaped-{uuid.uuid4().hex}.txt"


def _wrong_content_type(folder: Path, earlier_dir: Path) -> Channel:
    return model_channel(earlier_dir, folder, "application/x-recordio")


def _no_tarball(folder: Path, earlier_dir: Path) -> Channel:
    folder.mkdir()
    (folder / "model.tar").write_bytes(b"not gzipped")
    return Channel(folder, MODEL_CONTENT_TYPE)


def _two_tarballs(folder: Path, earlier_dir: Path) -> Channel:
    model_channel(earlier_dir, folder)
    (folder / "older").mkdir()
    tar_folder(earlier_dir, folder / "older" / "model.tar.gz")
    return Channel(folder, MODEL_CONTENT_TYPE)


def _not_a_tarball(folder: Path, earlier_dir: Path) -> Channel:
    folder.mkdir()
    (folder / "model.tar.gz").write_bytes(b"\x1f\x8b but nothing after")
    return Channel(folder, MODEL_CONTENT_TYPE)


def _member_outside(folder: Path, earlier_dir: Path) -> Channel:
    _tarball(folder, {f"../{ESCAPED}": b"out", **_with_config(earlier_dir)})
    return Channel(folder, MODEL_CONTENT_TYPE)


def _link_outside(folder: Path, earlier_dir: Path) -> Channel:
    _tarball(folder, _with_config(earlier_dir), links={"elsewhere": "../outside"})
    return Channel(folder, MODEL_CONTENT_TYPE)


def _mxnet_model(folder: Path, earlier_dir: Path) -> Channel:
    _tarball(folder, {"image-classification-symbol.json": b"{}", "image-classification-0002.params": b"\0"})
    return Channel(folder, MODEL_CONTENT_TYPE)


def _served_file_outside(folder: Path, earlier_dir: Path) -> Channel:
    _tarball(folder, _with_config(earlier_dir, params="../../image-classification-0002.pt"))
    return Channel(folder, MODEL_CONTENT_TYPE)


def _served_file_damaged(folder: Path, earlier_dir: Path) -> Channel:
    members = _with_config(earlier_dir)
    members[read_config(earlier_dir).params] = b"not a state dict"
    _tarball(folder, members)
    return Channel(folder, MODEL_CONTENT_TYPE)


UNUSABLE = [
    (
        _wrong_content_type,
        "the model channel has content type 'application/x-recordio'; incremental training needs "
        "'application/x-sagemaker-model'",
    ),
    (_no_tarball, "the model channel holds 0 .tar.gz files; incremental training needs exactly one"),
    (
        _two_tarballs,
        "the model channel holds 2 .tar.gz files (model.tar.gz, older/model.tar.gz); incremental training needs "
        "exactly one",
    ),
    (_not_a_tarball, "the model channel's model.tar.gz cannot be extracted"),
    (_member_outside, "the model channel's model.tar.gz cannot be extracted: .* outside the destination"),
    (_link_outside, "the model channel's model.tar.gz cannot be extracted: .*elsewhere"),
    (_mxnet_model, "holds no model-config.json: it is not a model written by the icflow trainer"),
    (_served_file_outside, "serves '../../image-classification-0002.pt', which is not a file of that archive"),
    (_served_file_damaged, "parameter file image-classification-0002.pt in model.tar.gz cannot be loaded"),
]


@pytest.mark.parametrize(
    ("make_channel", "reason"),
    [pytest.param(make, reason, id=make.__name__.strip("_")) for make, reason in UNUSABLE],
)
def test_an_unusable_model_channel_fails_the_job_with_the_reason(
    kit, earlier, tmp_path, new_model_dir, hooks, make_channel, reason
):
    channels = {**earlier.channels, "model": make_channel(tmp_path / "model", earlier.model_dir)}
    with pytest.raises(ClientError, match=reason.replace("(", r"\(").replace(")", r"\)")):
        train(kit.small_hyperparameters(epochs="1"), channels, new_model_dir, None, hooks)
    assert hooks.reports == [] and not any(new_model_dir.iterdir())
    assert not (Path(tempfile.gettempdir()) / ESCAPED).exists()
