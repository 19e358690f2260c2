import pytest

from icflow_tools.trainer.api import Channel, ClientError
from icflow_tools.trainer.datasets import read_channel


def test_recordio_and_image_lst_channels_give_the_same_samples(kit, tmp_path):
    items = kit.coloured_items(10, 3) + [kit.Item(kit.coloured_items(1, 3)[0].image, (2.0,))]
    recordio = {"train": kit.write_recordio(tmp_path / "rec", items)}
    images, lst = kit.write_images(tmp_path / "images", tmp_path / "lst", items)
    image_lst = {"train": images, "train_lst": lst}

    from_recordio = read_channel(recordio, "train")
    from_images = read_channel(image_lst, "train")

    assert [(s.image, s.labels) for s in from_recordio] == [(s.image, s.labels) for s in from_images]
    assert [(item.image, item.labels) for item in items] == [(s.image, s.labels) for s in from_recordio]
    assert from_recordio[3].source == "train/data.rec record 3"
    assert from_images[3].source == "train/class0/00003.png"


def test_every_rec_file_of_the_channel_is_read_in_name_order(kit, tmp_path):
    kit.write_recordio(tmp_path / "train", kit.coloured_items(3, 2), name="b")
    kit.write_recordio(tmp_path / "train" / "more", kit.coloured_items(2, 2, seed=1), name="a")
    samples = read_channel({"train": Channel(tmp_path / "train", "application/x-recordio")}, "train")
    assert [s.source for s in samples] == [
        "train/b.rec record 0",
        "train/b.rec record 1",
        "train/b.rec record 2",
        "train/more/a.rec record 0",
        "train/more/a.rec record 1",
    ]


def test_multi_label_lst_lines_keep_every_label(kit, tmp_path):
    items = [kit.Item(kit.coloured_items(1, 2)[0].image, (1.0, 0.0, 1.0))]
    images, lst = kit.write_images(tmp_path / "images", tmp_path / "lst", items)
    assert read_channel({"validation": images, "validation_lst": lst}, "validation")[0].labels == (1.0, 0.0, 1.0)


@pytest.mark.parametrize(
    ("channels", "message"),
    [
        ({}, "the train channel is missing"),
        ({"train": ("empty", "application/x-recordio")}, "holds no .rec file"),
        ({"train": ("empty", "text/csv")}, "has content type 'text/csv'; use application/x-recordio"),
        ({"train": ("empty", "application/x-image")}, "the train_lst channel with its .lst file is missing"),
        (
            {"train": ("empty", "application/x-image"), "train_lst": ("empty", "application/x-image")},
            "holds no .lst file",
        ),
    ],
)
def test_unusable_channels_are_named_with_what_to_do(tmp_path, channels, message):
    (tmp_path / "empty").mkdir()
    built = {name: Channel(tmp_path / folder, content_type) for name, (folder, content_type) in channels.items()}
    with pytest.raises(ClientError, match=message):
        read_channel(built, "train")


def test_lst_paths_must_stay_inside_the_image_channel(kit, tmp_path):
    images, lst = kit.write_images(tmp_path / "images", tmp_path / "lst", kit.coloured_items(2, 2))
    (tmp_path / "secret.png").write_bytes(kit.coloured_items(1, 2)[0].image)
    (lst.path / "data.lst").write_text("0\t1.000000\t../secret.png\n")
    with pytest.raises(ClientError, match="'../secret.png', which is not a file of the train channel"):
        read_channel({"train": images, "train_lst": lst}, "train")


def test_corrupt_recordio_is_reported_with_the_channel(tmp_path):
    (tmp_path / "train").mkdir()
    (tmp_path / "train" / "broken.rec").write_bytes(b"this is not recordio at all")
    with pytest.raises(ClientError, match="the train channel cannot be read: not a RecordIO file"):
        read_channel({"train": Channel(tmp_path / "train", "application/x-recordio")}, "train")


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        (b"0\t1.000000\tcaf\xe9.png\n", r"train_lst/data.lst line 1 is not UTF-8 text"),
        (b"0\t1e39\tclass0/00000.png\n", r"train_lst/data.lst line 1 has label 1e\+39"),
    ],
)
def test_unusable_lst_lines_are_a_client_error_naming_the_line(kit, tmp_path, line, problem):
    images, lst = kit.write_images(tmp_path / "images", tmp_path / "lst", kit.coloured_items(1, 2))
    (lst.path / "data.lst").write_bytes(line)
    with pytest.raises(ClientError, match=problem):
        read_channel({"train": images, "train_lst": lst}, "train")
