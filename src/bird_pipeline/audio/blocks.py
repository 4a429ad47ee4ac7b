"""Decode a recording block by block, so memory stays bounded for hours-long files.

`BlockDecoder` reads `block_seconds` of audio at a time with `soundfile.SoundFile`,
downmixes each block to mono and resamples it with `PolyphaseResampler`, whose
output equals one `scipy.signal.resample_poly` call on the whole recording.
Memory is proportional to the block size, not to the recording length.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from math import gcd
from pathlib import Path

import numpy as np
import soundfile as sf
from scipy.signal import resample_poly

from bird_pipeline.audio.decode import AudioDecodeError
from bird_pipeline.audio.ogg import ends_with_complete_stream

logger = logging.getLogger(__name__)

# |sample| at or above this level counts as clipped. 16-bit full scale decodes to
# 32767 / 32768 = 0.99997, and lossy decoders overshoot 1.0 after clipping.
CLIP_LEVEL = 0.999


class PolyphaseResampler:
    """Streaming form of `scipy.signal.resample_poly(x, up, down)`.

    `push` takes consecutive input blocks and returns the output samples that
    no later input can change; `flush` returns the rest. Together they return
    the same samples as one `resample_poly` call on the whole signal, because
    each step runs `resample_poly` on a slice that starts at a multiple of
    `down` and contains every input sample the emitted outputs depend on.

    Args:
        source_rate: Input sample rate in Hz.
        target_rate: Output sample rate in Hz.
    """

    def __init__(self, source_rate: int, target_rate: int) -> None:
        if source_rate <= 0 or target_rate <= 0:
            raise AudioDecodeError(
                f"invalid sample rate {source_rate} Hz -> {target_rate} Hz",
                reason="invalid sample rate",
            )
        divisor = gcd(source_rate, target_rate)
        self.up = target_rate // divisor
        self.down = source_rate // divisor
        # Half length of scipy's default filter, in upsampled samples.
        self.half_len = 10 * max(self.up, self.down)
        self._buffer = np.zeros(0, dtype=np.float32)
        self._buffer_start = 0  # input index of self._buffer[0]
        self._received = 0  # input samples pushed so far
        self._emitted = 0  # output samples returned so far

    def push(self, block: np.ndarray) -> np.ndarray:
        """Add input samples; return the outputs that are now final."""
        if self.up == self.down:
            self._emitted += len(block)
            return block
        self._buffer = np.concatenate([self._buffer, block])
        self._received += len(block)
        # Output n needs inputs up to floor((n * down + half_len) / up).
        ready = -(-(self._received * self.up - self.half_len) // self.down)
        return self._emit(max(ready, self._emitted))

    def flush(self) -> np.ndarray:
        """Return the remaining outputs; the input has ended."""
        if self.up == self.down:
            return np.zeros(0, dtype=np.float32)
        total = -(-self._received * self.up // self.down)
        return self._emit(total)

    def _first_input(self, output_index: int) -> int:
        """Return a multiple of `down` at or before the first input of an output."""
        first = max(0, -(-(output_index * self.down - self.half_len) // self.up))
        return first // self.down * self.down

    def _emit(self, end: int) -> np.ndarray:
        if end <= self._emitted:
            return np.zeros(0, dtype=np.float32)
        start_input = self._first_input(self._emitted)
        end_input = min(
            self._received, ((end - 1) * self.down + self.half_len) // self.up + 1
        )
        segment = self._buffer[
            start_input - self._buffer_start : end_input - self._buffer_start
        ]
        resampled = resample_poly(segment, self.up, self.down)
        # start_input is a multiple of down, so the slice's outputs line up with
        # the whole signal's outputs at an integer offset.
        offset = self._emitted - start_input * self.up // self.down
        output = resampled[offset : offset + end - self._emitted].astype(np.float32)
        self._emitted = end

        keep_from = self._first_input(self._emitted)
        self._buffer = self._buffer[keep_from - self._buffer_start :]
        self._buffer_start = keep_from
        return output


@dataclass(frozen=True)
class DecodeSummary:
    """Counts and facts from one block-wise decode.

    Attributes:
        source_rate: Sample rate of the file in Hz.
        channels: Channels in the file; they are averaged into mono.
        header_frames: Frames the file header announces (0 when unknown).
        decoded_frames: Frames actually decoded.
        samples: Mono samples written at the target rate.
        clipped_fraction: Share of source samples (all channels) at or above
            `CLIP_LEVEL` in magnitude.
        peak: Largest magnitude of the mono waveform.
    """

    source_rate: int
    channels: int
    header_frames: int
    decoded_frames: int
    samples: int
    clipped_fraction: float
    peak: float


class BlockDecoder:
    """Decode one file into mono blocks at `sample_rate`.

    Iterate `blocks()` once; after it ends, `summary` contains the counts. The
    iteration raises `AudioDecodeError` for a file that soundfile cannot open
    or read (`unreadable`), that has 0 bytes or decodes to zero frames
    (`empty`), that is an Ogg file cut short (`truncated`), that holds
    NaN or infinite samples (`non-finite samples`) or whose samples are all
    zero (`silent`).

    Args:
        path: Audio file in any format soundfile reads.
        sample_rate: Target sample rate in Hz.
        block_seconds: Source audio read per block, in seconds; at least one
            frame is read.
    """

    def __init__(
        self, path: str | Path, sample_rate: int, block_seconds: float
    ) -> None:
        if block_seconds <= 0:
            raise ValueError(f"block_seconds must be positive, got {block_seconds}")
        self.path = Path(path)
        self.sample_rate = sample_rate
        self.block_seconds = block_seconds
        self.summary: DecodeSummary | None = None

    def blocks(self) -> Iterator[np.ndarray]:
        """Yield the mono waveform `(time,)` float32 in consecutive blocks."""
        if self.path.is_file() and self.path.stat().st_size == 0:
            raise AudioDecodeError(f"{self.path} is an empty file (0 bytes)", "empty")
        try:
            sound_file = sf.SoundFile(str(self.path))
        except (sf.LibsndfileError, RuntimeError, TypeError, ValueError) as exc:
            raise AudioDecodeError(f"cannot decode {self.path}: {exc}") from exc
        with sound_file:
            if sound_file.format == "OGG" and not ends_with_complete_stream(self.path):
                raise AudioDecodeError(
                    f"{self.path} is cut short: its last Ogg page is incomplete or "
                    "lacks the end-of-stream flag. Download or convert it again",
                    reason="truncated",
                )
            yield from self._decode(sound_file)

    def _read(self, sound_file: sf.SoundFile) -> np.ndarray:
        block_frames = max(1, round(self.block_seconds * sound_file.samplerate))
        if sound_file.format in ("MPEG", "MP3"):
            # NOTE: libsndfile 1.2.2 returns wrong samples after the first of
            # several reads from an MP3 file (checked against one whole read),
            # so MP3 files are read in one block and their memory is not bounded.
            block_frames = -1
        try:
            return sound_file.read(block_frames, dtype="float32", always_2d=True)
        except (sf.LibsndfileError, RuntimeError) as exc:
            raise AudioDecodeError(
                f"cannot decode {self.path} after "
                f"{sound_file.tell() if sound_file.seekable() else '?'} frames: {exc}"
            ) from exc

    def _decode(self, sound_file: sf.SoundFile) -> Iterator[np.ndarray]:
        resampler = PolyphaseResampler(sound_file.samplerate, self.sample_rate)
        decoded_frames = samples = clipped = 0
        peak = 0.0
        while True:
            frames = self._read(sound_file)
            if not len(frames):
                break
            if not np.isfinite(frames).all():
                raise AudioDecodeError(
                    f"{self.path} contains NaN or infinite samples near frame "
                    f"{decoded_frames}",
                    reason="non-finite samples",
                )
            decoded_frames += len(frames)
            clipped += int(np.count_nonzero(np.abs(frames) >= CLIP_LEVEL))
            mono = frames.mean(axis=1) if frames.shape[1] > 1 else frames[:, 0]
            peak = max(peak, float(np.abs(mono).max()))
            block = resampler.push(np.ascontiguousarray(mono, dtype=np.float32))
            samples += len(block)
            if len(block):
                yield block
        tail = resampler.flush()
        samples += len(tail)
        if len(tail):
            yield tail

        if decoded_frames == 0:
            raise AudioDecodeError(
                f"{self.path} decodes to zero frames (header: {sound_file.frames})",
                reason="empty",
            )
        if peak == 0.0:
            raise AudioDecodeError(
                f"{self.path} is silent: all {decoded_frames} frames are zero",
                reason="silent",
            )
        self.summary = DecodeSummary(
            source_rate=sound_file.samplerate,
            channels=sound_file.channels,
            header_frames=max(int(sound_file.frames), 0),
            decoded_frames=decoded_frames,
            samples=samples,
            clipped_fraction=clipped / (decoded_frames * sound_file.channels),
            peak=peak,
        )
