import io

import numpy as np
import pytest
from PIL import Image

from icflow_tools.trainer import ClientError, load_model, train
from icflow_tools.trainer.artifacts import MODEL_CONFIG


@pytest.fixture(scope="module")
def model_dir(kit, tmp_path_factory):
    root = tmp_path_factory.mktemp("inference")
    channels = kit.recordio_channels(root, kit.coloured_items(48, 3), kit.coloured_items(24, 3, seed=1))
    model_dir = root / "model"
    model_dir.mkdir()
    train(kit.small_hyperparameters(epochs="3"), channels, model_dir, None, kit.RecordingHooks())
    return model_dir


@pytest.mark.parametrize("image_format", ["PNG", "JPEG"])
def test_predict_gives_class_probabilities_that_sum_to_one(kit, model_dir, image_format):
    classifier = load_model(model_dir)
    rng = np.random.default_rng(7)
    for label in range(3):
        probabilities = classifier.predict(kit.coloured_image(label, (12, 12), rng, image_format))
        assert len(probabilities) == 3 and all(0.0 <= p <= 1.0 for p in probabilities)
        assert sum(probabilities) == pytest.approx(1.0, abs=1e-5)
        assert int(np.argmax(probabilities)) == label


def test_images_of_other_sizes_and_modes_are_resized_and_converted(kit, model_dir):
    classifier = load_model(model_dir)
    rng = np.random.default_rng(3)
    large = Image.open(io.BytesIO(kit.coloured_image(1, (60, 90), rng)))
    buffer = io.BytesIO()
    large.convert("RGBA").save(buffer, format="PNG")
    probabilities = classifier.predict(buffer.getvalue())
    assert int(np.argmax(probabilities)) == 1


def test_predictions_are_repeatable(kit, model_dir):
    image = kit.coloured_items(1, 3)[0].image
    assert load_model(model_dir).predict(image) == load_model(model_dir).predict(image)


@pytest.mark.parametrize("body", [b"", b"not an image", b"\x89PNG\r\n\x1a\n truncated"])
def test_what_does_not_decode_raises_algorithm_error(model_dir, body):
    with pytest.raises(ClientError, match="the request body is not an image"):
        load_model(model_dir).predict(body)


def test_a_folder_without_a_model_is_refused(tmp_path):
    with pytest.raises(ClientError, match=f"holds no {MODEL_CONFIG}"):
        load_model(tmp_path)


def test_greyscale_models_serve_colour_images(kit, tmp_path):
    channels = kit.recordio_channels(tmp_path, kit.coloured_items(16, 2), kit.coloured_items(8, 2, seed=1))
    model_dir = tmp_path / "model"
    model_dir.mkdir()
    hyperparameters = kit.small_hyperparameters(num_classes="2", epochs="1", image_shape="1,12,12")
    train(hyperparameters, channels, model_dir, None, kit.RecordingHooks())
    assert sum(load_model(model_dir).predict(kit.coloured_items(1, 2)[0].image)) == pytest.approx(1.0, abs=1e-5)
