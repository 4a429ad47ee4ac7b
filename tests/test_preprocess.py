"""The preprocess pipeline on a generated folder of good and bad recordings."""

from __future__ import annotations

import multiprocessing
import os
import time
import unicodedata

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
import torch
from kedro.io import DataCatalog, MemoryDataset
from kedro.runner import SequentialRunner

from bird_pipeline.datasets import (
    AudioCacheDataset,
    AudioFolderDataset,
    CSVTableDataset,
)
from bird_pipeline.datasets.audio_cache import write_entry
from bird_pipeline.pipelines.loader_benchmark.nodes import (
    DecodeOnTheFlyDataset,
    benchmark_loaders,
)
from bird_pipeline.pipelines.preprocess import create_pipeline
from bird_pipeline.pipelines.preprocess import nodes as preprocess_nodes
from bird_pipeline.pipelines.preprocess.nodes import (
    build_class_lists,
    decode_recordings,
    enforce_max_skipped,
    report_bad_recordings,
    validate_metadata_node,
)
from bird_pipeline.training.data import ClipDataset, crop_or_tile, crop_recording

SAMPLE_RATE = 32000
PARAMS = {
    "sample_rate": SAMPLE_RATE,
    "max_skipped": 50,
    "workers": 2,
    "block_seconds": 1.0,
    "min_seconds": 0.1,
    "min_decoded_fraction": 0.9,
    "labels_outside_taxonomy": "drop",
}
TAXONOMY = pd.DataFrame({"primary_label": ["aaa", "bbb", "ccc", "ddd"]})
CAFE_NFC = unicodedata.normalize("NFC", "café")
CAFE_NFD = unicodedata.normalize("NFD", "café")

# Every skipped row of the generated folder: recording id -> (reason, stage).
EXPECTED_SKIPS = {
    "aaa/good.ogg": ("duplicate row", "metadata"),
    "zzz/unknown.wav": ("label not in taxonomy", "metadata"),
    "bbb/missing.ogg": ("file not found", "metadata"),
    "bbb/garbage.ogg": ("unreadable", "decode"),
    "bbb/zero_bytes.ogg": ("empty", "decode"),
    "bbb/zero_frames.wav": ("empty", "decode"),
    "bbb/cut.flac": ("unreadable", "decode"),
    "bbb/cut.mp3": ("truncated", "decode"),
    "ccc/nan.wav": ("non-finite samples", "decode"),
    "ccc/inf.wav": ("non-finite samples", "decode"),
    "ccc/silent.wav": ("silent", "decode"),
    "ccc/tiny.wav": ("too short", "decode"),
}
# Decoded into the cache, then skipped by the length rules.
LENGTH_RULE_SKIPS = ["bbb/cut.mp3", "ccc/tiny.wav"]
KEPT = [
    "aaa/good.ogg",
    "aaa/stereo.wav",
    "aaa/six_channels.flac",
    "aaa/rate8k.wav",
    "aaa/rate96k.flac",
    "aaa/same_name.ogg",
    "ccc/same_name.ogg",
    "bbb/short.wav",
    "ccc/clipped.wav",
    f"ccc/{CAFE_NFC}_disk_nfd.ogg",
    f"ccc/{CAFE_NFC}_disk_nfc.ogg",
]


def tone(seconds: float, rate: int = SAMPLE_RATE, amplitude: float = 0.3) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return (amplitude * np.sin(2 * np.pi * 880 * t)).astype(np.float32)


def write_truncated(path, rate: int) -> None:
    sf.write(path, tone(3.0, rate), rate)
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def write_audio_files(audio) -> None:
    for folder in ("aaa", "bbb", "ccc"):
        (audio / folder).mkdir(parents=True)
    sf.write(audio / "aaa/good.ogg", tone(6.0), SAMPLE_RATE)
    sf.write(audio / "aaa/stereo.wav", np.stack([tone(3.0, 44100)] * 2, 1), 44100)
    sf.write(
        audio / "aaa/six_channels.flac", np.stack([tone(2.0, 48000)] * 6, 1), 48000
    )
    sf.write(audio / "aaa/rate8k.wav", tone(2.0, 8000), 8000)
    sf.write(audio / "aaa/rate96k.flac", tone(2.0, 96000), 96000)
    sf.write(audio / "aaa/same_name.ogg", tone(2.0), SAMPLE_RATE)
    sf.write(audio / "ccc/same_name.ogg", tone(3.0), SAMPLE_RATE)
    sf.write(audio / "bbb/short.wav", tone(1.0), SAMPLE_RATE)
    (audio / "bbb/garbage.ogg").write_bytes(b"not audio at all")
    (audio / "bbb/zero_bytes.ogg").write_bytes(b"")
    sf.write(audio / "bbb/zero_frames.wav", np.zeros(0, np.float32), SAMPLE_RATE)
    write_truncated(audio / "bbb/cut.flac", 48000)
    write_truncated(audio / "bbb/cut.mp3", 48000)
    for name, value in (("nan", np.nan), ("inf", np.inf)):
        samples = tone(2.0)
        samples[5000] = value
        sf.write(audio / f"ccc/{name}.wav", samples, SAMPLE_RATE, subtype="FLOAT")
    sf.write(audio / "ccc/silent.wav", np.zeros(SAMPLE_RATE, np.float32), SAMPLE_RATE)
    sf.write(audio / "ccc/tiny.wav", tone(0.05), SAMPLE_RATE)
    clipped = np.clip(tone(2.0, amplitude=3.0), -1.0, 1.0)
    sf.write(audio / "ccc/clipped.wav", clipped, SAMPLE_RATE, subtype="PCM_16")
    # The CSV names both files in NFC; one is stored decomposed on disk.
    sf.write(audio / f"ccc/{CAFE_NFD}_disk_nfd.ogg", tone(2.0), SAMPLE_RATE)
    sf.write(audio / f"ccc/{CAFE_NFC}_disk_nfc.ogg", tone(2.0), SAMPLE_RATE)


@pytest.fixture
def raw_folder(tmp_path):
    """A BirdCLEF-layout folder with one file or row for every kind of bad input."""
    audio = tmp_path / "raw" / "train_audio"
    write_audio_files(audio)
    files = [*KEPT, *EXPECTED_SKIPS]
    labels = [name.split("/")[0] for name in files]
    metadata = pd.DataFrame(
        {
            "primary_label": labels,
            "secondary_labels": ["['bbb', 'yyy']", *["[]"] * (len(files) - 1)],
            "rating": ["4"] * len(files),
            "filename": files,
        }
    )
    # The CSV spells one name decomposed although the disk stores it composed.
    metadata.loc[files.index(f"ccc/{CAFE_NFC}_disk_nfc.ogg"), "filename"] = (
        f"ccc/{CAFE_NFD}_disk_nfc.ogg"
    )
    # The duplicate row repeats aaa/good.ogg with another label.
    metadata.loc[files.index("aaa/good.ogg", len(KEPT)), "primary_label"] = "bbb"
    return tmp_path, metadata


def run_nodes(root, metadata, params=PARAMS):
    """Run the preprocess nodes up to `bad_recordings`; return cache, table, report."""
    train_audio = AudioFolderDataset(str(root / "raw/train_audio")).load()
    cache = AudioCacheDataset(str(root / "cache"))
    recordings, metadata_skips = validate_metadata_node(
        metadata, train_audio, TAXONOMY, pd.DataFrame(), params
    )
    decoded, decode_skips = decode_recordings(
        recordings, train_audio, cache.load(), params
    )
    bad = report_bad_recordings(recordings, metadata_skips, decode_skips)
    return cache.load(), decoded, bad


@pytest.fixture
def preprocessed(raw_folder):
    root, metadata = raw_folder
    return run_nodes(root, metadata)


def test_bad_recordings_report_rows(preprocessed):
    _, _, bad = preprocessed
    assert list(bad.columns) == ["recording_id", "path", "reason", "detail", "stage"]
    rows = {row.recording_id: (row.reason, row.stage) for row in bad.itertuples()}
    assert rows == EXPECTED_SKIPS
    assert len(bad) == len(EXPECTED_SKIPS)


def test_bad_recordings_paths_and_details(raw_folder, preprocessed):
    root, _ = raw_folder
    _, _, bad = preprocessed
    by_id = bad.set_index("recording_id")
    assert by_id.loc["bbb/missing.ogg", "path"] == "train_audio/bbb/missing.ogg"
    assert by_id.loc["ccc/nan.wav", "path"] == str(root / "raw/train_audio/ccc/nan.wav")
    assert "other labels" in by_id.loc["aaa/good.ogg", "detail"]
    assert "below min_decoded_fraction=0.9" in by_id.loc["bbb/cut.mp3", "detail"]
    assert "NaN or infinite" in by_id.loc["ccc/inf.wav", "detail"]


def test_kept_recordings_and_columns(preprocessed):
    cache, decoded, _ = preprocessed
    assert sorted(decoded["recording_id"]) == sorted(KEPT)
    # Length rules apply after decoding, so changing them needs no new decode.
    assert sorted(cache) == sorted([*KEPT, *LENGTH_RULE_SKIPS])
    by_id = decoded.set_index("recording_id")
    assert by_id.loc["aaa/stereo.wav", "channels"] == 2
    assert by_id.loc["aaa/six_channels.flac", "channels"] == 6
    assert by_id.loc["aaa/rate8k.wav", "source_rate"] == 8000
    assert by_id.loc["aaa/rate96k.flac", "duration_seconds"] == pytest.approx(2.0)
    assert by_id.loc["bbb/short.wav", "duration_seconds"] == pytest.approx(1.0)
    assert by_id.loc["ccc/clipped.wav", "clipped_fraction"] > 0.5
    assert by_id.loc["aaa/good.ogg", "clipped_fraction"] == 0.0
    assert by_id.loc["aaa/good.ogg", "primary_label"] == "aaa"  # first row kept
    assert by_id.loc["aaa/good.ogg", "secondary_labels"] == "bbb"
    assert by_id.loc["aaa/good.ogg", "dropped_secondary_labels"] == "yyy"


def test_same_file_name_in_two_folders(preprocessed):
    cache, _, _ = preprocessed
    assert len(cache["aaa/same_name.ogg"]) == 2 * SAMPLE_RATE
    assert len(cache["ccc/same_name.ogg"]) == 3 * SAMPLE_RATE


def test_cache_matches_serial_decode(raw_folder, preprocessed, tmp_path):
    cache, _, _ = preprocessed
    root, metadata = raw_folder
    serial_root = tmp_path / "serial"
    (serial_root / "raw").mkdir(parents=True)
    (serial_root / "raw/train_audio").symlink_to(root / "raw/train_audio")
    serial, _, _ = run_nodes(serial_root, metadata, {**PARAMS, "workers": 1})
    for recording_id in KEPT:
        np.testing.assert_array_equal(serial[recording_id], cache[recording_id])


def test_short_recording_tiled_to_clip(preprocessed):
    """Recordings shorter than a clip are kept and repeated to fill it at crop time."""
    cache, decoded, _ = preprocessed
    short = decoded[decoded["recording_id"] == "bbb/short.wav"]
    dataset = ClipDataset(
        short, np.ones((1, 1), np.float32), np.ones(1), cache, 5 * SAMPLE_RATE
    )
    clip, _, _ = dataset[0]
    assert clip.shape == (5 * SAMPLE_RATE,)
    np.testing.assert_array_equal(
        clip[:SAMPLE_RATE], clip[SAMPLE_RATE : 2 * SAMPLE_RATE]
    )


def test_max_skipped_names_files(preprocessed):
    _, decoded, bad = preprocessed
    assert enforce_max_skipped(decoded, bad, {"max_skipped": len(bad)}) is decoded
    with pytest.raises(RuntimeError, match="12 metadata rows or files") as error:
        enforce_max_skipped(decoded, bad, {"max_skipped": 11})
    assert "ccc/silent.wav (silent)" in str(error.value)
    assert "raise preprocess.max_skipped" in str(error.value)


def test_skip_summary_logged(raw_folder, caplog):
    root, metadata = raw_folder
    with caplog.at_level("WARNING"):
        run_nodes(root, metadata)
    assert "Skipped 12 of 23 metadata rows" in caplog.text
    assert "'decode: non-finite samples': 2" in caplog.text
    assert "1 recordings have at least 1% clipped samples" in caplog.text


def test_class_without_recording_reported(preprocessed, caplog):
    _, decoded, _ = preprocessed
    pretrain, train, coverage = build_class_lists(decoded, TAXONOMY, pd.DataFrame())
    assert train == ["aaa", "bbb", "ccc", "ddd"]
    assert "ddd" not in pretrain
    assert coverage.set_index("primary_label").loc["ddd", "primary_recordings"] == 0
    assert "keep their submission column: ['ddd']" in caplog.text


def recording_decodes(monkeypatch) -> list[str]:
    """Record the ids that `decode_recordings` sends to the decoder."""
    decoded_ids: list[str] = []
    original = preprocess_nodes.run_decode_tasks

    def spy(tasks, workers):
        decoded_ids.extend(task.recording_id for task in tasks)
        return original(tasks, 1)

    monkeypatch.setattr(preprocess_nodes, "run_decode_tasks", spy)
    return decoded_ids


def test_second_run_reuses_cache(raw_folder, preprocessed, monkeypatch):
    root, metadata = raw_folder
    decoded_ids = recording_decodes(monkeypatch)
    cache, decoded, bad = run_nodes(root, metadata)
    # Only files that failed before are tried again; no cached entry is redone.
    assert set(decoded_ids) == {
        recording_id
        for recording_id, (_, stage) in EXPECTED_SKIPS.items()
        if stage == "decode" and recording_id not in LENGTH_RULE_SKIPS
    }
    assert sorted(decoded["recording_id"]) == sorted(KEPT)
    assert len(bad) == len(EXPECTED_SKIPS)


def test_changed_file_decoded_again(raw_folder, preprocessed, monkeypatch):
    root, metadata = raw_folder
    audio = root / "raw/train_audio"
    sf.write(audio / "aaa/rate8k.wav", tone(4.0, 8000), 8000)  # new size
    stat = (audio / "aaa/good.ogg").stat()
    os.utime(audio / "aaa/good.ogg", ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    decoded_ids = recording_decodes(monkeypatch)
    cache, decoded, _ = run_nodes(root, metadata)
    assert {"aaa/rate8k.wav", "aaa/good.ogg"} <= set(decoded_ids)
    assert not set(decoded_ids) & (set(KEPT) - {"aaa/rate8k.wav", "aaa/good.ogg"})
    assert len(cache["aaa/rate8k.wav"]) == 4 * SAMPLE_RATE


def test_incomplete_entries_decoded_again(raw_folder, preprocessed, monkeypatch):
    root, metadata = raw_folder
    cache, _, _ = preprocessed
    # Killed between the two renames: the .npy is there, its info file is not.
    cache.info_path_of("aaa/stereo.wav").unlink()
    # A .npy cut short, which an atomic write never leaves, is caught too.
    path = cache.path_of("bbb/short.wav")
    path.write_bytes(path.read_bytes()[:1000])
    stale = cache.root / "aaa" / ".good.ogg.npy.abc123.tmp"
    stale.write_bytes(b"half a write")
    decoded_ids = recording_decodes(monkeypatch)
    cache, decoded, _ = run_nodes(root, metadata)
    assert {"aaa/stereo.wav", "bbb/short.wav"} <= set(decoded_ids)
    assert not stale.exists()
    assert len(cache["bbb/short.wav"]) == SAMPLE_RATE
    assert sorted(decoded["recording_id"]) == sorted(KEPT)


def _write_forever(root) -> None:
    def blocks():
        yield np.ones(1000, dtype=np.float32)
        time.sleep(60)
        yield np.ones(1000, dtype=np.float32)

    write_entry(root, "aaa/good.ogg", blocks(), dict)


def test_killed_write_leaves_no_entry(raw_folder, monkeypatch):
    root, metadata = raw_folder
    cache_root = root / "cache"
    writer = multiprocessing.get_context("fork").Process(
        target=_write_forever, args=(cache_root,)
    )
    writer.start()
    try:
        deadline = time.monotonic() + 30
        while not list(cache_root.rglob(".*.tmp")) and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        writer.kill()
        writer.join()
    assert list(cache_root.rglob(".*.tmp"))
    assert not (cache_root / "aaa/good.ogg.npy").exists()

    cache, decoded, _ = run_nodes(root, metadata)
    assert not list(cache_root.rglob(".*.tmp"))
    assert len(cache["aaa/good.ogg"]) == 6 * SAMPLE_RATE


def test_pipeline_saves_report_before_failing(raw_folder, tmp_path):
    """Past max_skipped the run fails, and bad_recordings.csv is already written."""
    root, metadata = raw_folder
    report = tmp_path / "report" / "bad_recordings.csv"
    catalog = DataCatalog(
        {
            "train_metadata": MemoryDataset(metadata),
            "train_audio": AudioFolderDataset(str(root / "raw/train_audio")),
            "taxonomy": MemoryDataset(TAXONOMY),
            "sample_submission": MemoryDataset(pd.DataFrame()),
            "audio_cache": AudioCacheDataset(str(tmp_path / "cache")),
            "bad_recordings": CSVTableDataset(str(report)),
            "params:preprocess": MemoryDataset({**PARAMS, "max_skipped": 3}),
        }
    )
    pipeline = create_pipeline().to_outputs("recordings")
    with pytest.raises(RuntimeError, match="more than preprocess.max_skipped=3"):
        SequentialRunner().run(pipeline, catalog)
    written = pd.read_csv(report, keep_default_na=False)
    assert set(written["recording_id"]) == set(EXPECTED_SKIPS)


def test_loader_benchmark_report(preprocessed, raw_folder):
    root, _ = raw_folder
    cache, decoded, _ = preprocessed
    train_audio = AudioFolderDataset(str(root / "raw/train_audio")).load()
    params = {
        "sample_rate": SAMPLE_RATE,
        "clip_seconds": 5.0,
        "items": 8,
        "warmup_items": 2,
        "batch_size": 4,
        "num_workers": 0,
        "max_recordings": 3,
        "seed": 0,
    }
    report = benchmark_loaders(decoded, cache, train_audio, params)
    assert report["cache"]["items"] == 8
    assert report["decode_on_the_fly"]["items"] == 8
    assert report["recordings"] == 3
    assert report["speedup"] > 0
    assert report["torch_threads"] == 1
    with pytest.raises(ValueError, match="no decoded recordings"):
        benchmark_loaders(decoded.head(0), cache, train_audio, params)


def test_on_the_fly_clips_match_cache(preprocessed, raw_folder):
    """Both benchmark loaders yield the same audio for a recording."""
    root, _ = raw_folder
    cache, _, _ = preprocessed
    files = AudioFolderDataset(str(root / "raw/train_audio")).load()
    dataset = DecodeOnTheFlyDataset(
        [files["aaa/stereo.wav"]], SAMPLE_RATE, 3 * SAMPLE_RATE
    )
    clip = dataset[0].numpy()
    np.testing.assert_allclose(clip, cache["aaa/stereo.wav"], atol=1e-6)


def test_cache_read_range_matches_map(preprocessed):
    cache, decoded, _ = preprocessed
    recording_id = "aaa/stereo.wav"
    waveform = cache[recording_id]
    part = cache.read_range(recording_id, 100, 2000)
    np.testing.assert_array_equal(part, waveform[100:2100])
    assert part.flags.writeable
    assert cache.num_samples(recording_id) == len(waveform)
    with pytest.raises(ValueError, match="lie outside recording"):
        cache.read_range(recording_id, len(waveform) - 10, 20)
    with pytest.raises(KeyError, match="not in the audio cache"):
        cache.read_range("zzz/missing.wav", 0, 10)


def test_crop_recording_matches_crop_or_tile(preprocessed):
    """Reading only the crop draws the same offset as cropping the whole waveform."""
    cache, decoded, _ = preprocessed
    for recording_id in decoded["recording_id"]:
        torch.manual_seed(7)
        clip, start, num_samples = crop_recording(cache, recording_id, SAMPLE_RATE)
        torch.manual_seed(7)
        expected, expected_start = crop_or_tile(cache[recording_id], SAMPLE_RATE)
        np.testing.assert_array_equal(clip, expected)
        assert start == expected_start
        assert num_samples == len(cache[recording_id])
