"""The per-chapter time summary groups tests by the chapter their id names."""

from chapter_times import chapter_of


def test_tests_are_grouped_by_the_chapter_they_name():
    assert chapter_of("tests/test_ch02_content.py::test_conv2d_stride") == "ch02"
    assert chapter_of("tests/test_validate_chapters.py::test_validate[ch05_self_supervised]") == "ch05"
    assert chapter_of("tests/test_zoo_chapters.py::test_bug[ch07_reinforcement-gae_no_bootstrap]") == "ch07"
    assert chapter_of("tests/test_cli.py::test_grade_writes_gradebook") == "engine"
    assert chapter_of("tests/test_side_properties.py::test_x[ch99]") == "engine"  # the fixture course
    assert chapter_of("tests/test_ids.py::test_x[ch123]") == "engine"
