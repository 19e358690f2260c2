from __future__ import annotations

import pytest

from icflow.core.class_names import (
    FROM_CLASSES_FILE,
    FROM_INDEX,
    FROM_PIPELINE,
    choose_class_names,
    load_class_names,
    parse_classes_txt,
    parse_pipeline_classes,
)
from icflow.core.errors import IcflowError
from icflow.core.s3_objects import S3Objects


def test_line_i_names_class_i():
    assert parse_classes_txt("001.ak47\n002.american-flag\n003.backpack\n") == (
        "001.ak47",
        "002.american-flag",
        "003.backpack",
    )


def test_bom_crlf_spaces_and_trailing_blank_lines_are_tolerated():
    data = "\ufeffcat\r\n dog \r\nbird\r\n\r\n\n  \n".encode()
    assert parse_classes_txt(data) == ("cat", "dog", "bird")


def test_no_trailing_newline():
    assert parse_classes_txt(b"cat\ndog") == ("cat", "dog")


def test_only_lf_and_crlf_end_lines():
    # A form feed or a Unicode line separator inside a name must not create a class.
    assert parse_classes_txt("a\u2028b\nc\n") == ("a\u2028b", "c")


def test_an_empty_line_in_the_middle_names_its_line():
    with pytest.raises(IcflowError, match="line 2 is empty"):
        parse_classes_txt("cat\n\ndog\n")


def test_a_duplicate_names_both_lines():
    with pytest.raises(IcflowError, match=r"line 3: class name 'cat' repeats line 1"):
        parse_classes_txt("cat\ndog\ncat\n")


def test_a_slash_would_split_the_labeled_folder():
    with pytest.raises(IcflowError, match="line 2.*'/'"):
        parse_classes_txt("cat\nyes/no\n")


@pytest.mark.parametrize("data", [b"", b"\n\n", "\ufeff".encode()])
def test_an_empty_file_is_refused(data):
    with pytest.raises(IcflowError, match="is empty"):
        parse_classes_txt(data)


def test_not_utf8_is_refused():
    with pytest.raises(IcflowError, match="not UTF-8"):
        parse_classes_txt("caf\u00e9\n".encode("latin-1"))


def test_pipeline_list_is_checked_like_classes_txt():
    assert parse_pipeline_classes(["cat", "dog"]) == ("cat", "dog")
    for bad in ([], "cat,dog", ["cat", 1], ["cat", " "], ["cat", "cat"], ["a/b"]):
        with pytest.raises(IcflowError):
            parse_pipeline_classes(bad)


def test_classes_txt_wins_then_pipeline_then_index():
    both = choose_class_names("cat\ndog\n", ["chat", "chien"])
    assert (both.names, both.source) == (("cat", "dog"), FROM_CLASSES_FILE)
    pipeline = choose_class_names(None, ["chat", "chien"])
    assert (pipeline.names, pipeline.source) == (("chat", "chien"), FROM_PIPELINE)
    index = choose_class_names(None, None)
    assert (index.source, index.count, index.label(7)) == (FROM_INDEX, None, "7")
    assert both.count == 2 and both.label(1) == "dog"


def test_load_reads_the_datasets_classes_txt(s3, helpers):
    helpers.put(s3, "datasets/pets/classes.txt", b"cat\ndog\n")
    assert load_class_names(S3Objects(s3, helpers.BUCKET), "pets", ["x", "y"]).source == FROM_CLASSES_FILE
    other = load_class_names(S3Objects(s3, helpers.BUCKET), "birds", ["robin"])
    assert (other.names, other.source) == (("robin",), FROM_PIPELINE)


@pytest.mark.parametrize(
    ("data", "hint"),
    [
        ("cat\ncafé\n".encode("latin-1"), "classes.txt is not UTF-8 text: byte 0xe9 at offset 7"),
        ("cat\ndog\n".encode("utf-16"), "classes.txt is UTF-16 text"),
    ],
)
def test_classes_txt_is_decoded_by_the_same_rule_as_pipeline_json(data, hint):
    with pytest.raises(IcflowError, match="save it as UTF-8") as caught:
        parse_classes_txt(data)
    assert str(caught.value).startswith(hint)
