"""Soundtracks: a WAV muxed into an MP4 as AAC, the clip exactly the scripted frames and fps."""

from __future__ import annotations

import re
import subprocess
import wave
from pathlib import Path

import imageio_ffmpeg
import numpy as np
import pytest

from gencode.graph import Graph, Node, Output
from gencode.render import RenderError, load_script, render
from gencode.runtime.outputs import OutputError, write_mp4, write_outputs

pytestmark = pytest.mark.usefixtures("one_thread")
RATE = 44100
AAC_FRAME = 1024 / RATE  # an AAC track ends on a whole frame of samples


def write_wav(path: Path, seconds: float, hz: float = 440.0) -> Path:
    """A mono 16-bit sine tone."""
    t = np.arange(int(seconds * RATE)) / RATE
    pcm = (0.5 * np.sin(2 * np.pi * hz * t) * 32767).astype("<i2")
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes(pcm.tobytes())
    return path


def probe(path: Path) -> str:
    """ffmpeg's description of a file's streams (it exits 1 when given no output; that's fine)."""
    cmd = [imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-i", str(path)]
    return subprocess.run(cmd, capture_output=True, text=True, check=False).stderr


def decoded_audio(path: Path) -> np.ndarray:
    """The MP4's sound, decoded to mono float samples at RATE."""
    cmd = [imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-i", str(path), "-map", "0:a:0",
           "-f", "s16le", "-ac", "1", "-ar", str(RATE), "-"]  # fmt: skip
    raw = subprocess.run(cmd, capture_output=True, check=True).stdout
    return np.frombuffer(raw, "<i2").astype(np.float32) / 32767


def frames(n: int, size: int = 16) -> np.ndarray:
    """n frames of a moving gradient, (N, H, W, 3) uint8."""
    ramp = np.linspace(0, 255, size, dtype=np.float32)
    return np.stack(
        [np.broadcast_to(((ramp + 20 * i) % 256)[None, :, None], (size, size, 3)) for i in range(n)]
    ).astype(np.uint8)


@pytest.mark.parametrize("seconds", [0.5, 3.0], ids=["padded", "trimmed"])
def test_a_soundtrack_is_padded_or_cut_to_the_exact_clip(tmp_path: Path, seconds: float) -> None:
    wav = write_wav(tmp_path / "track.wav", seconds)
    clip = write_mp4(tmp_path / "clip.mp4", frames(12), 8.0, audio=wav)
    info = probe(clip)
    assert re.search(r"Stream #0:\d.*Audio: aac", info), info
    assert re.search(r"Video: h264.*\b8 fps\b", info), info
    n, _ = imageio_ffmpeg.count_frames_and_secs(str(clip))
    assert n == 12
    sound = decoded_audio(clip)
    assert abs(len(sound) / RATE - 12 / 8) <= AAC_FRAME  # 1.5 s, not the track's length
    tone = np.abs(sound[: int(0.4 * RATE)]).mean()
    assert tone > 0.2  # the sine is there
    if seconds < 1.5:
        assert np.abs(sound[int(0.6 * RATE) :]).max() < 0.01  # then silence


def test_an_mp4_without_a_soundtrack_has_no_audio_stream(tmp_path: Path) -> None:
    clip = write_mp4(tmp_path / "clip.mp4", frames(3), 12.0)
    assert "Audio:" not in probe(clip)


SCRIPT = """model "tiny.safetensors"
size 16
steps 2
fps 12
diffuse "dunes" as still
animate 6 "dunes" zoom 1.05 rotate 3
save "clip.mp4" audio "sound/track.wav"
"""


def test_a_rendered_animation_carries_the_soundtrack_beside_the_script(tiny_dir: Path) -> None:
    (tiny_dir / "sound").mkdir()
    write_wav(tiny_dir / "sound" / "track.wav", 1.0)
    (tiny_dir / "anim.gen").write_text(SCRIPT)
    result = render(tiny_dir / "anim.gen", tiny_dir / "out")
    clip = tiny_dir / "out" / "clip.mp4"
    assert clip in result.written
    assert re.search(r"Audio: aac", probe(clip)) and re.search(r"\b12 fps\b", probe(clip))
    assert imageio_ffmpeg.count_frames_and_secs(str(clip))[0] == 6


def test_a_missing_soundtrack_is_named_and_nothing_is_written(tiny_dir: Path) -> None:
    (tiny_dir / "sound").mkdir()
    wav = write_wav(tiny_dir / "sound" / "track.wav", 1.0)
    (tiny_dir / "anim.gen").write_text(SCRIPT)
    script = load_script(tiny_dir / "anim.gen")
    wav.unlink()  # gone between check and render
    with pytest.raises(RenderError, match="sound/track.wav"):
        render(script, tiny_dir / "out")
    assert not (tiny_dir / "out").exists()  # not even the still written before the clip


def test_a_soundtrack_outside_the_script_folder_is_refused(tmp_path: Path) -> None:
    node = Node.make("const", {}, (), "images", 2)
    graph = Graph(outputs=[Output("clip", node, "clip.mp4", 12.0, audio="../track.wav")])
    write_wav(tmp_path / "track.wav", 0.5)
    (tmp_path / "script").mkdir()
    with pytest.raises(OutputError, match="outside"):
        write_outputs(graph, {"clip": np.zeros(0)}, tmp_path / "out", root_dir=tmp_path / "script")
    assert not (tmp_path / "out").exists()
