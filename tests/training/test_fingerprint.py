from icflow.core.naming import RUN_ID_LENGTH
from icflow.core.pipeline_config import parse_pipeline_config
from icflow.training.fingerprint import run_id

OBJECTS = {
    "datasets/cats/train/a.rec": '"9b2cf535f27731c974343645a3985328"',
    "datasets/cats/validation/b.rec": '"2c1743a391305fbf367df8e4f069f9f9"',
}
CONFIG = parse_pipeline_config('{"hyperparameters": {"epochs": 5}}')
# run_id("bucket", "cats", OBJECTS, CONFIG) as computed before pipeline.json had a `split` section (commit a01d3ff).
RUN_ID_BEFORE_SPLIT = "1f77c0123c2f"


def test_a_run_id_is_short_hex_and_stable():
    first = run_id("bucket", "cats", OBJECTS, CONFIG)
    assert len(first) == RUN_ID_LENGTH and int(first, 16) >= 0
    assert run_id("bucket", "cats", dict(reversed(list(OBJECTS.items()))), CONFIG) == first


def test_formatting_and_json_spelling_of_pipeline_json_do_not_make_a_new_run():
    reformatted = parse_pipeline_config('{\n  "hyperparameters": {"epochs": "5"},\n  "tuning": {"enabled": false}\n}')
    assert run_id("bucket", "cats", OBJECTS, reformatted) == run_id("bucket", "cats", OBJECTS, CONFIG)


def test_etag_quoting_and_case_do_not_matter():
    unquoted = {key: etag.strip('"').upper() for key, etag in OBJECTS.items()}
    assert run_id("bucket", "cats", unquoted, CONFIG) == run_id("bucket", "cats", OBJECTS, CONFIG)


def test_new_data_new_configuration_or_another_place_is_a_new_run():
    base = run_id("bucket", "cats", OBJECTS, CONFIG)
    changed = {**OBJECTS, "datasets/cats/train/a.rec": '"00000000000000000000000000000000"'}
    added = {**OBJECTS, "datasets/cats/train/c.rec": '"11"'}
    others = {
        run_id("bucket", "cats", changed, CONFIG),
        run_id("bucket", "cats", added, CONFIG),
        run_id("bucket", "cats", OBJECTS, parse_pipeline_config('{"hyperparameters": {"epochs": 6}}')),
        run_id("bucket", "cats", OBJECTS, parse_pipeline_config('{"hyperparameters": {"epochs": 5}, "tuning": {}}')),
        run_id(
            "bucket",
            "cats",
            OBJECTS,
            parse_pipeline_config(
                '{"hyperparameters": {"epochs": 5}, "quality_gate": {"min_validation_accuracy": 0.9}}'
            ),
        ),
        run_id("other-bucket", "cats", OBJECTS, CONFIG),
        run_id("bucket", "dogs", {k.replace("cats", "dogs"): v for k, v in OBJECTS.items()}, CONFIG),
    }
    assert base not in others and len(others) == 7


def test_class_names_deploy_settings_and_non_channel_objects_are_not_part_of_the_run():
    base = run_id("bucket", "cats", OBJECTS, CONFIG)
    presentation = parse_pipeline_config(
        '{"hyperparameters": {"epochs": 5}, "class_names": ["a", "b"], '
        '"deploy": {"realtime": {"enabled": true}, "top_k": 1}}'
    )
    assert run_id("bucket", "cats", OBJECTS, presentation) == base
    extra = {
        **OBJECTS,
        "datasets/cats/classes.txt": '"1"',
        "datasets/cats/pipeline.json": '"2"',
        "datasets/dogs/train/x.rec": '"3"',
        "batch/cats/x.jpg": '"4"',
    }
    assert run_id("bucket", "cats", extra, CONFIG) == base


FOLDERS = {
    "datasets/cats/images/tabby/1.jpg": '"aa"',
    "datasets/cats/images/siamese/2.jpg": '"bb"',
}


def test_class_folders_are_the_run_and_their_classes_txt_too():
    base = run_id("bucket", "cats", FOLDERS, CONFIG)
    # classes.txt orders the classes, so it decides every image's label.
    assert run_id("bucket", "cats", {**FOLDERS, "datasets/cats/classes.txt": '"1"'}, CONFIG) != base
    assert run_id("bucket", "cats", {**FOLDERS, "datasets/cats/images/tabby/3.jpg": '"cc"'}, CONFIG) != base
    assert run_id("bucket", "cats", {**FOLDERS, "datasets/cats/images/tabby/.DS_Store": '"dd"'}, CONFIG) == base
    split = parse_pipeline_config('{"hyperparameters": {"epochs": 5}, "split": {"seed": 1}}')
    assert run_id("bucket", "cats", FOLDERS, split) != base


def test_settings_added_later_keep_the_run_ids_of_before_they_existed_until_used():
    # The recipe's identity for this dataset and configuration, computed before `split`, `training.incremental` and
    # `training.keep_alive_seconds` were added.
    assert run_id("bucket", "cats", OBJECTS, CONFIG) == RUN_ID_BEFORE_SPLIT
    for used in ('"training": {"incremental": true}', '"training": {"keep_alive_seconds": 60}', '"split": {}'):
        config = parse_pipeline_config('{"hyperparameters": {"epochs": 5}, ' + used + "}")
        assert run_id("bucket", "cats", OBJECTS, config) != RUN_ID_BEFORE_SPLIT, used
