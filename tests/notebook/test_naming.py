import pytest

from kale_ext.notebook import pipeline_name_for


@pytest.mark.parametrize(
    "path, name",
    [
        ("wine.ipynb", "wine"),
        ("dir/sub/wine.ipynb", "wine"),
        ("/abs/dir/wine.ipynb", "wine"),
        ("dir/notes.txt", "notes.txt"),
        ("dir/a.ipynb.ipynb", "a.ipynb"),
    ],
)
def test_pipeline_name_is_the_file_name_without_its_suffix(path, name):
    assert pipeline_name_for(path) == name


def test_accepts_path_objects(tmp_path):
    assert pipeline_name_for(tmp_path / "x.ipynb") == "x"
