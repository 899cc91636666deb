"""Files for the io tests, written and read with OpenImageIO directly (not with the code under test)."""

import numpy as np
import OpenImageIO as oiio


def write_image(path, pixels, channels=None, pixel_type="half", display=None, origin=(0, 0), attributes=None):
    """Write ``pixels`` (H, W, C) as the data window at ``origin`` inside ``display`` = (x, y, w, h)."""
    pixels = np.ascontiguousarray(pixels, dtype=np.float32)
    if pixels.ndim == 2:
        pixels = pixels[:, :, None]
    height, width, nchannels = pixels.shape
    spec = oiio.ImageSpec(width, height, nchannels, pixel_type)
    if channels:
        spec.channelnames = tuple(channels)
    spec.x, spec.y = origin
    if display is not None:
        spec.full_x, spec.full_y, spec.full_width, spec.full_height = display
    for name, value in (attributes or {}).items():
        if isinstance(value, tuple) and isinstance(value[0], oiio.TypeDesc):
            spec.attribute(name, value[0], value[1])
        else:
            spec.attribute(name, value)
    out = oiio.ImageOutput.create(str(path))
    assert out.open(str(path), spec), out.geterror()
    assert out.write_image(pixels), out.geterror()
    assert out.close()
    return path


def write_multipart(path, parts):
    """An EXR with one part per ``(part name, channel names, pixels)``."""
    specs = []
    for name, channels, pixels in parts:
        spec = oiio.ImageSpec(pixels.shape[1], pixels.shape[0], len(channels), "half")
        spec.channelnames = tuple(channels)
        spec.attribute("name", name)
        specs.append(spec)
    out = oiio.ImageOutput.create(str(path))
    assert out.open(str(path), specs), out.geterror()
    for index, (spec, (_, _, pixels)) in enumerate(zip(specs, parts)):
        if index:
            assert out.open(str(path), spec, "AppendSubimage"), out.geterror()
        assert out.write_image(np.ascontiguousarray(pixels, dtype=np.float32)), out.geterror()
    assert out.close()
    return path


def read_image(path):
    """(pixels as float32 in the data window, spec) of a file."""
    inp = oiio.ImageInput.open(str(path))
    assert inp is not None, oiio.geterror()
    spec = inp.spec()
    pixels = inp.read_image(0, 0, 0, spec.nchannels, oiio.FLOAT)
    inp.close()
    assert pixels is not None
    return pixels, spec


def ramp(height=6, width=8, channels=3, seed=0):
    """Distinct, exactly representable-in-half values per pixel and channel."""
    rng = np.random.default_rng(seed)
    return (rng.integers(0, 1024, size=(height, width, channels)) / 1024.0).astype(np.float32)


def make_sequence(directory, name="plate.{:04d}.exr", frames=range(1001, 1004), **kwargs):
    directory.mkdir(parents=True, exist_ok=True)
    for index, frame in enumerate(frames):
        write_image(directory / name.format(frame), ramp(seed=frame), **kwargs)
    return directory
