import pytest
import torch
from torch import nn

from icflow_tools.trainer.api import AlgorithmError, ClientError
from icflow_tools.trainer.hyperparameters import ImageShape
from icflow_tools.trainer.resnet import ResidualUnit, ResNet, architecture

# Depth = weighted layers on the main path: the stem convolution, the residual units' convolutions and fc.
UNITS = {18: 8, 34: 16, 50: 16, 101: 33, 152: 50, 200: 66, 20: 9, 32: 15, 44: 21, 56: 27, 110: 54}


def weighted_layers(model: ResNet) -> int:
    shortcuts = {id(unit.shortcut) for unit in model.modules() if isinstance(unit, ResidualUnit)}
    return sum(
        1 for module in model.modules() if isinstance(module, (nn.Conv2d, nn.Linear)) and id(module) not in shortcuts
    )


@pytest.mark.parametrize("num_layers", sorted(UNITS))
def test_every_depth_has_its_layers_and_output_size(num_layers):
    # On the meta device, modules get no storage and forward passes only propagate shapes: the deep
    # networks cost milliseconds. 40 pixels high takes the large-image stem (7x7/2 and max pooling).
    with torch.device("meta"):
        model = ResNet(num_layers, 7, ImageShape(3, 40, 40)).eval()
        assert sum(isinstance(module, ResidualUnit) for module in model.modules()) == UNITS[num_layers]
        assert weighted_layers(model) == num_layers
        assert model(torch.empty(2, 3, 40, 40)).shape == (2, 7)


@pytest.mark.parametrize(("num_layers", "shape"), [(18, ImageShape(3, 40, 40)), (20, ImageShape(3, 28, 28))])
def test_a_real_forward_pass_gives_finite_scores(num_layers, shape):
    model = ResNet(num_layers, 7, shape).eval()
    with torch.inference_mode():
        scores = model(torch.rand(2, shape.channels, shape.height, shape.width) * 255)
    assert scores.shape == (2, 7) and torch.isfinite(scores).all()


def test_small_images_get_the_3x3_stem_and_keep_their_resolution_into_the_first_stage():
    model = ResNet(20, 4, ImageShape(3, 28, 28))
    assert isinstance(model.stem, nn.Conv2d) and model.stem.kernel_size == (3, 3) and model.stem.stride == (1, 1)
    widths = [unit.body[-1].out_channels for unit in model.stages]
    assert widths == [16] * 3 + [32] * 3 + [64] * 3


def test_bottleneck_depths_widen_to_2048_and_basic_depths_to_512():
    assert ResNet(50, 3, ImageShape(3, 64, 64)).fc.in_features == 2048
    assert ResNet(34, 3, ImageShape(3, 64, 64)).fc.in_features == 512


def test_greyscale_and_non_square_images():
    model = ResNet(20, 5, ImageShape(1, 20, 30)).eval()
    with torch.inference_mode():
        assert model(torch.rand(3, 1, 20, 30)).shape == (3, 5)


def test_data_batchnorm_keeps_gamma_fixed_at_one():
    model = ResNet(20, 2, ImageShape(3, 8, 8))
    assert not model.bn_data.weight.requires_grad
    assert torch.equal(model.bn_data.weight, torch.ones(3))


def test_a_depth_without_a_network_is_the_algorithm_failing_not_the_customer():
    # parse_hyperparameters admits only the documented depths, so reaching here is the algorithm's own fault
    with pytest.raises(AlgorithmError, match="num_layers 7 is not a ResNet depth") as raised:
        architecture(7)
    assert not isinstance(raised.value, ClientError)
