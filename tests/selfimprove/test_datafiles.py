"""Reading task data and the run's own books: each bad input named by file, place and fix, in one line."""

import gzip
import json

import pytest

from selfimprove.datafiles import FileFormatError, read_json, read_jsonl


def fails(path) -> str:
    with pytest.raises(FileFormatError) as err:
        read_jsonl(path)
    message = str(err.value)
    assert str(path) in message and "\n" not in message
    return message


def test_rows_are_read_and_blank_lines_skipped(tmp_path):
    path = tmp_path / "ok.jsonl"
    path.write_text('{"question": "1 + 2", "answer": "3"}\n\n{"question": "é", "answer": "4"}\r\n')
    assert read_jsonl(path) == [{"question": "1 + 2", "answer": "3"}, {"question": "é", "answer": "4"}]
    packed = tmp_path / "ok.jsonl.gz"
    packed.write_bytes(gzip.compress(path.read_bytes()))
    assert read_jsonl(packed) == read_jsonl(path)


@pytest.mark.parametrize("content", [b"", b"\n  \n"])
def test_empty_file(tmp_path, content):
    path = tmp_path / "empty.jsonl"
    path.write_bytes(content)
    assert "the file is empty" in fails(path)


def test_malformed_line_names_its_number(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text('{"question": "1", "answer": "1"}\n\n{"question": "2", "answer": \n{"question": "3"}\n')
    message = fails(path)
    assert f"{path}:3:" in message and "line 3 is not valid JSON" in message and "column 28" in message


def test_a_line_that_is_not_an_object(tmp_path):
    path = tmp_path / "list.jsonl"
    path.write_text('{"question": "1"}\n[1, 2]\n')
    assert "line 2 is a JSON list, not an object" in fails(path)


def test_non_utf8_bytes_name_the_byte_offset(tmp_path):
    path = tmp_path / "latin1.jsonl"
    first = '{"question": "1", "answer": "1"}\n'.encode()
    path.write_bytes(first + '{"question": "caf'.encode() + b"\xe9" + b'", "answer": "2"}\n')
    message = fails(path)
    assert f"byte {len(first) + 17} (line 2) is not UTF-8 (0xe9)" in message and "iconv" in message


def test_truncated_json_names_the_file_and_the_fix(tmp_path):
    path = tmp_path / "manifest.json"
    path.write_text(json.dumps({"version": 1, "files": [{"round": 1}]})[:20])
    with pytest.raises(FileFormatError) as err:
        read_json(path, fix="restore it")
    assert str(err.value).startswith(f"{path}: truncated or not JSON") and str(err.value).endswith("; restore it")
