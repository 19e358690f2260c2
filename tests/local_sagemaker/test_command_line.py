from pathlib import Path

from icflow_tools.local_sagemaker.__main__ import parse_args


def test_jobs_go_under_the_projects_local_state_folder_by_default():
    assert parse_args([]).work_dir == Path(".icflow") / "local-sagemaker"


def test_the_work_folder_can_be_chosen(tmp_path):
    assert parse_args(["--work-dir", str(tmp_path)]).work_dir == tmp_path
