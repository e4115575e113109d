"""benchmarks/results/README.md is generated from the records; this keeps the committed index current."""

import json

import pytest

from benchmarks.self_improve_bench import record, results_index


def test_the_committed_index_is_current():
    committed = (results_index.RESULTS / results_index.INDEX).read_text()
    assert committed == results_index.render(), (
        "benchmarks/results/README.md is stale; regenerate it with: "
        "python -m benchmarks.self_improve_bench.results_index")


def test_every_committed_record_has_a_rendering_or_says_why_not():
    # what a reader opens is the .md; a JSON-only record must be one no script renders
    json_only = {stem for *_, stem in results_index.records() if not (results_index.RESULTS / f"{stem}.md").exists()}
    assert json_only <= {"refine_grpo_2026-11-23"}, json_only


def test_records_newest_first_with_their_files(tmp_path):
    for name in ("self_improve_2026-11-30", "self_improve_2026-12-01b", "self_improve_2026-12-01", "rollouts_2026-12-01"):
        (tmp_path / f"{name}.json").write_text("{}")
    (tmp_path / "self_improve_2026-12-01b.md").write_text("# x\n")
    (tmp_path / "self_improve_2026-12-01b.png").write_bytes(b"")
    lines = [line for line in results_index.render(tmp_path).splitlines() if line.startswith("- ")]
    assert [line.split("[", 1)[1].split("]", 1)[0] for line in lines] == [
        "self_improve_2026-12-01b", "self_improve_2026-12-01", "rollouts_2026-12-01", "self_improve_2026-11-30"]
    assert lines[0].startswith("- 2026-12-01 [self_improve_2026-12-01b](self_improve_2026-12-01b.md): ")
    assert lines[0].endswith("; [json](self_improve_2026-12-01b.json), [png](self_improve_2026-12-01b.png)")
    assert "(rollouts_2026-12-01.json)" in lines[2]  # no .md: the JSON is the link


@pytest.mark.parametrize("name, error", [("mystery_2026-12-01.json", "unknown benchmark 'mystery'"),
                                         ("self_improve.json", "is named <benchmark>_<YYYY-MM-DD>")])
def test_a_record_the_index_cannot_describe_is_refused(tmp_path, name, error):
    (tmp_path / name).write_text("{}")
    with pytest.raises(ValueError, match=error):
        results_index.render(tmp_path)


def test_notes_are_rendered_from_the_record_and_outputs_follow_its_name(tmp_path):
    assert record.notes_markdown({}) == ""
    assert record.notes_markdown({"notes": ["a CI run overlapped scoring"]}) == \
        "\n## Notes\n\n- a CI run overlapped scoring\n"
    assert record.outputs(tmp_path / "results.json", "table.md", "gains.png") == \
        (tmp_path / "table.md", tmp_path / "gains.png")
    assert record.outputs(tmp_path / "x_2026-12-01.json", "table.md", "gains.png") == \
        (tmp_path / "x_2026-12-01.md", tmp_path / "x_2026-12-01.png")


def test_a_committed_record_renders_to_its_md():
    import benchmarks.compact_decode as compact_decode

    source = results_index.RESULTS / "compact_decode_2026-12-01.json"
    assert compact_decode.markdown(json.loads(source.read_text())) == source.with_suffix(".md").read_text()


def test_render_writes_the_md_beside_the_record_and_leaves_the_index_of_results_alone(tmp_path, capsys):
    path = tmp_path / "rollouts_2026-12-01.json"
    path.write_text(json.dumps({"model": "m"}))
    index_before = (results_index.RESULTS / results_index.INDEX).read_text()
    record.render(path, lambda r: f"# {r['model']}\n")
    assert path.with_suffix(".md").read_text() == "# m\n"
    assert capsys.readouterr().out == f"wrote {path.with_suffix('.md')}\n"
    assert (results_index.RESULTS / results_index.INDEX).read_text() == index_before
    args = record.script_parser("doc").parse_args(["--render", str(path)])
    assert (args.render, args.model) == (path, "builtin:smollm2-135m-instruct")
