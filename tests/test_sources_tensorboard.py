"""TensorBoard source: event files written in the test by tensorboardX, read without subsampling."""

from __future__ import annotations

import random
import time
from pathlib import Path

import pytest
from fixtures.trackers import by_name, load, snapshot, write_run
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from predtrack.errors import RuleError, RuleSyntaxError
from predtrack.rules.base import RulePending
from predtrack.rules.sources.tensorboard import TensorboardSource


def write_tensor_run(folder: Path, tag: str, values: list[float]) -> None:
    """Scalars as TF2's `tf.summary.scalar` writes them: one-element tensors, plugin `scalars`.

    Written with TensorBoard's own event writer, protos and tensor encoder (TensorFlow
    itself is not installed here).
    """
    import numpy as np
    from tensorboard.compat.proto import event_pb2, summary_pb2
    from tensorboard.summary.writer.event_file_writer import EventFileWriter
    from tensorboard.util import tensor_util

    meta = summary_pb2.SummaryMetadata(
        plugin_data=summary_pb2.SummaryMetadata.PluginData(plugin_name="scalars")
    )
    w = EventFileWriter(str(folder))
    for step, v in enumerate(values):
        value = np.float32(v) if step % 2 == 0 else np.float64(v)  # float_val and double_val
        summary = summary_pb2.Summary(
            value=[
                summary_pb2.Summary.Value(
                    tag=tag, metadata=meta, tensor=tensor_util.make_tensor_proto(value)
                )
            ]
        )
        w.add_event(event_pb2.Event(step=step, wall_time=time.time(), summary=summary))
    w.close()


def event_file(folder: Path) -> Path:
    (f,) = folder.glob("*tfevents*")
    return f


def test_never_subsampled_20000_scalars_true_maximum(tmp_path: Path) -> None:
    rng = random.Random(7)
    values = [rng.random() for _ in range(20_000)]
    peak = rng.randrange(20_000)
    values[peak] = 1.5  # one point; a 10,000-point reservoir misses it half the time
    write_run(tmp_path / "runs" / "probe", {"val_acc": values})
    chunks, _ = load(TensorboardSource, tmp_path / "runs", {"val_acc"})
    (c,) = chunks
    series = c.run.series["val_acc"]
    assert len(series) == 20_000
    best = max(series, key=lambda p: p.value)
    assert (best.step, best.value) == (peak, 1.5)


def test_runs_latest_times_and_scalar_tensors(tmp_path: Path) -> None:
    start = time.time()
    write_run(tmp_path / "runs" / "a", {"val_acc": [0.5, 0.9, 0.7], "loss": [3.0, 2.0, 1.0]})
    write_tensor_run(tmp_path / "runs" / "b", "val_acc", [0.25, 0.75])
    chunks, evidence = load(TensorboardSource, tmp_path / "runs", {"val_acc"})
    runs = by_name(chunks)
    assert sorted(runs) == ["a", "b"]
    assert runs["a"].records == [{"val_acc": pytest.approx(0.7)}]  # latest step
    assert "loss" not in runs["a"].run.series  # only the tags the rule uses are decoded
    # TF2-style scalars are one-element tensors.
    assert [p.value for p in runs["b"].run.series["val_acc"]] == [0.25, 0.75]
    assert runs["a"].run.fields["run"] == "a"
    wall = [p.time for p in runs["a"].run.series["val_acc"]]
    assert start - 1 <= wall[0] <= wall[-1] <= time.time() + 1
    assert runs["a"].times == [wall[-1]]
    assert sorted(Path(e.path).parent.name for e in evidence) == ["a", "b"]


def test_times_survive_a_copy_that_resets_mtimes(tmp_path: Path) -> None:
    import shutil

    write_run(tmp_path / "orig" / "a", {"val_acc": [0.5, 0.9]})
    written = load(TensorboardSource, tmp_path / "orig", {"val_acc"})[0][0].times
    time.sleep(0.05)
    shutil.copytree(tmp_path / "orig", tmp_path / "copy")  # copytree keeps mtimes: touch them
    for f in (tmp_path / "copy").rglob("*tfevents*"):
        f.touch()
    (c,) = load(TensorboardSource, tmp_path / "copy", {"val_acc"})[0]
    assert c.times == written
    assert c.times[0] is not None
    assert c.times[0] < event_file(tmp_path / "copy" / "a").stat().st_mtime


def test_one_event_file_as_the_path(tmp_path: Path) -> None:
    write_run(tmp_path / "a", {"val_acc": [0.1, 0.2]})
    f = event_file(tmp_path / "a")
    (c,) = load(TensorboardSource, f, {"val_acc"})[0]
    assert c.run.name == "."
    assert c.records == [{"val_acc": pytest.approx(0.2)}]


def test_bad_crc_is_an_error_naming_the_file(tmp_path: Path) -> None:
    write_run(tmp_path / "runs" / "a", {"val_acc": [0.1 * i for i in range(50)]})
    f = event_file(tmp_path / "runs" / "a")
    data = bytearray(f.read_bytes())
    data[len(data) // 2] ^= 0xFF
    f.write_bytes(bytes(data))
    with pytest.raises(RuleError, match=rf"a/{f.name}: bad (data|length) CRC at byte \d+"):
        load(TensorboardSource, tmp_path / "runs", {"val_acc"})


def test_tensorboards_own_loader_stops_silently_where_this_source_fails(tmp_path: Path) -> None:
    # The reason this source frames records itself: TensorBoard's EventFileLoader treats a
    # bad CRC as a truncated tail and stops, so a rule would resolve from part of the file.
    from tensorboard.backend.event_processing.event_file_loader import EventFileLoader

    write_run(tmp_path / "runs" / "a", {"val_acc": [float(i) for i in range(100)]})
    f = event_file(tmp_path / "runs" / "a")
    data = bytearray(f.read_bytes())
    data[len(data) // 2] ^= 0xFF
    f.write_bytes(bytes(data))
    seen = [v.tag for e in EventFileLoader(str(f)).Load() for v in e.summary.value]
    assert 0 < len(seen) < 100  # no error raised, half the scalars gone
    with pytest.raises(RuleError, match="CRC"):
        load(TensorboardSource, tmp_path / "runs", {"val_acc"})


def test_truncated_file_is_an_error_naming_the_file(tmp_path: Path) -> None:
    write_run(tmp_path / "runs" / "a", {"val_acc": [0.1, 0.2, 0.3]})
    f = event_file(tmp_path / "runs" / "a")
    f.write_bytes(f.read_bytes()[:-5])
    with pytest.raises(RuleError, match=rf"{f.name}: truncated record at byte \d+"):
        load(TensorboardSource, tmp_path / "runs", {"val_acc"})


def test_reading_writes_nothing(tmp_path: Path) -> None:
    write_run(tmp_path / "runs" / "a", {"val_acc": [0.1, 0.2]})
    before = snapshot(tmp_path / "runs")
    load(TensorboardSource, tmp_path / "runs", {"val_acc"})
    assert snapshot(tmp_path / "runs") == before


def test_missing_folder_is_pending_and_layout_checks(tmp_path: Path) -> None:
    with pytest.raises(RulePending, match="does not exist yet"):
        load(TensorboardSource, tmp_path / "runs", {"val_acc"})
    (tmp_path / "plain").mkdir()
    (tmp_path / "plain" / "metrics.json").write_text("{}")
    with pytest.raises(RuleSyntaxError, match="not a TensorBoard log folder"):
        TensorboardSource.check_layout(tmp_path / "plain", frozenset({"val_acc"}))
    with pytest.raises(RuleSyntaxError, match="not a TensorBoard event file"):
        TensorboardSource.check_layout(tmp_path / "plain" / "metrics.json", frozenset())
    TensorboardSource.check_layout(tmp_path / "later", frozenset({"val_acc"}))


_TAGS = ("val_acc", "val_acc_top5", "loss", "x" * 130)
_events = st.lists(
    st.tuples(
        st.sampled_from(_TAGS),
        st.one_of(st.just(0), st.integers(-(2**63), 2**63 - 1), st.integers(0, 70_000)),
        st.one_of(st.just(0.0), st.floats(0, 2e9)),
        st.floats(width=32, allow_nan=False),
        st.sampled_from(["simple", "metadata", "two values", "tensor"]),
    ),
    max_size=60,
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(events=_events, wanted=st.sampled_from([("val_acc",), ("val_acc", "loss"), ("x" * 130,)]))
def test_every_record_layout_reads_as_protobuf_parses_it(
    tmp_path: Path, events: list[tuple[str, int, float, float, str]], wanted: tuple[str, ...]
) -> None:
    # Events in the one-scalar layout are decoded in batches, any other by protobuf: both
    # must give what protobuf gives, in file order (steps 0 and negative, wall time 0,
    # long tags, extra fields, several values, tensors).
    import numpy as np
    from tensorboard.compat.proto import event_pb2, summary_pb2
    from tensorboard.summary.writer.event_file_writer import EventFileWriter
    from tensorboard.util import tensor_util

    from predtrack.rules.sources.tensorboard import read_event_file

    folder = tmp_path / f"run{len(list(tmp_path.iterdir()))}"
    w = EventFileWriter(str(folder))
    expected: dict[str, list[tuple[int, float, float]]] = {}
    for tag, step, wall, value, shape in events:
        if shape == "tensor":
            v = summary_pb2.Summary.Value(
                tag=tag, tensor=tensor_util.make_tensor_proto(np.float32(value))
            )
        else:
            v = summary_pb2.Summary.Value(tag=tag, simple_value=value)
            if shape == "metadata":
                v.metadata.plugin_data.plugin_name = "scalars"
        values = (
            [v, summary_pb2.Summary.Value(tag="other", simple_value=1.0)]
            if shape == "two values"
            else [v]
        )
        w.add_event(
            event_pb2.Event(step=step, wall_time=wall, summary=summary_pb2.Summary(value=values))
        )
        if tag in wanted:
            expected.setdefault(tag, []).append((step, wall, float(np.float32(value))))
    w.close()
    with event_file(folder).open("rb") as f:
        got = read_event_file(f, "events", wanted)
    assert {tag: [(p.step, p.time, p.value) for p in s] for tag, s in got.items()} == expected
