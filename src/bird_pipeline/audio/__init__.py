"""Audio decoding, windowing and the mel front end."""

from bird_pipeline.audio.decode import (
    AudioDecodeError,
    check_samples,
    decode_file,
    read_audio,
    to_mono_at_rate,
)
from bird_pipeline.audio.frontend import MelFrontend
from bird_pipeline.audio.windows import count_windows, split_windows

__all__ = [
    "AudioDecodeError",
    "MelFrontend",
    "check_samples",
    "count_windows",
    "decode_file",
    "read_audio",
    "split_windows",
    "to_mono_at_rate",
]
