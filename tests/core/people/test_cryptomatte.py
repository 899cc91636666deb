"""The Cryptomatte layers of the per-person EXR: ids, header keys, channels, and a decode back."""
import json

import numpy as np
import OpenImageIO as oiio
import pytest

from rvmatte.people import cryptomatte as cm


@pytest.mark.parametrize("data, seed, expected", [
    # Published MurmurHash3_x86_32 vectors (SMHasher's reference implementation).
    (b"", 0, 0x00000000),
    (b"", 1, 0x514E28B7),
    (b"", 0xFFFFFFFF, 0x81F16F39),
    (b"\x00\x00\x00\x00", 0, 0x2362F9DE),
    (b"\xff\xff\xff\xff", 0, 0x76293B50),
    (b"\x21\x43\x65\x87", 0, 0xF55B516B),
    (b"\x21\x43\x65", 0, 0x7E4A8634),
    (b"\x21\x43", 0, 0xA0F7B07A),
    (b"\x21", 0, 0x72661CF4),
    (b"aaaa", 0x9747B28C, 0x5A97808A),
    (b"aaa", 0x9747B28C, 0x283E0130),
    (b"aa", 0x9747B28C, 0x5D211726),
    (b"a", 0x9747B28C, 0x7FA09EA6),
    (b"abcd", 0x9747B28C, 0xF0478627),
    (b"Hello, world!", 0x9747B28C, 0x24884CBA),
    (b"The quick brown fox jumps over the lazy dog", 0x9747B28C, 0x2FA826CD),
])
def test_murmurhash3_matches_the_published_vectors(data, seed, expected):
    assert cm.murmurhash3_32(data, seed) == expected


def test_ids_never_have_a_denormal_inf_or_nan_exponent():
    for i in range(3000):
        value = np.array([cm.name_hash(f"person{i}")], np.uint32).view(np.float32)[0]
        assert np.isfinite(value) and (value == 0 or abs(value) >= np.finfo(np.float32).tiny)


def test_the_exponent_clamp_flips_only_bit_23_of_a_bad_hash():
    bad = next(n for n in (f"p{i}" for i in range(100000)) if ((cm.murmurhash3_32(n.encode()) >> 23) & 255) in (0, 255))
    assert cm.name_hash(bad) == cm.murmurhash3_32(bad.encode()) ^ (1 << 23)


def test_the_manifest_gives_each_name_its_id_bits_as_8_hex():
    names = ["person1", "person2"]
    manifest = cm.manifest(names)
    for name in names:
        assert manifest[name] == f"{np.array([cm.name_id(name)], np.float32).view(np.uint32)[0]:08x}"


def test_the_layer_key_is_the_first_7_hex_of_the_layer_names_hash():
    assert cm.layer_key("CryptoPerson") == "cryptomatte/" + f"{cm.murmurhash3_32(b'CryptoPerson'):08x}"[:7]


def _two_people(height=24, width=32):
    rng = np.random.default_rng(3)
    a = np.zeros((height, width), np.float32)
    b = np.zeros((height, width), np.float32)
    a[:, :20] = rng.uniform(0, 1, (height, 20))
    b[:, 12:] = rng.uniform(0, 1, (height, width - 12))
    overlap = a + b > 1                      # coverages must not exceed the matte
    b[overlap] = 1 - a[overlap]
    return a, b


def _read(path):
    inp = oiio.ImageInput.open(str(path))
    spec = inp.spec()
    pixels = inp.read_image(0, 0, 0, spec.nchannels, oiio.FLOAT)
    inp.close()
    return spec, np.asarray(pixels)


def test_the_people_exr_is_float_zip_with_person_and_rank_layers(tmp_path):
    a, b = _two_people()
    path = tmp_path / "people.0001.exr"
    cm.write_people_frame(str(path), [a, b], ["person1", "person2"])
    spec, pixels = _read(path)
    assert sorted(spec.channelnames) == sorted(["person1.A", "person2.A"] + [
        f"CryptoPerson{i:02d}.{c}" for i in range(2) for c in "RGBA"])     # EXR stores channels sorted
    assert all(f == oiio.FLOAT for f in spec.channelformats) or spec.format == oiio.FLOAT
    assert spec.get_string_attribute("compression") == "zip"
    key = cm.layer_key()
    assert spec.get_string_attribute(f"{key}/name") == "CryptoPerson"
    assert spec.get_string_attribute(f"{key}/hash") == "MurmurHash3_32"
    assert spec.get_string_attribute(f"{key}/conversion") == "uint32_to_float32"
    assert json.loads(spec.get_string_attribute(f"{key}/manifest")) == cm.manifest(["person1", "person2"])
    names = list(spec.channelnames)
    np.testing.assert_array_equal(pixels[:, :, names.index("person1.A")], a)
    np.testing.assert_array_equal(pixels[:, :, names.index("person2.A")], b)


def test_the_rank_layers_decode_back_to_each_persons_matte(tmp_path):
    a, b = _two_people()
    path = tmp_path / "people.0001.exr"
    cm.write_people_frame(str(path), [a, b], ["person1", "person2"])
    spec, pixels = _read(path)
    decoded = cm.decode(pixels, list(spec.channelnames), spec.get_string_attribute(f"{cm.layer_key()}/manifest"))
    np.testing.assert_allclose(decoded["person1"], a, atol=1e-7)
    np.testing.assert_allclose(decoded["person2"], b, atol=1e-7)


def test_ranks_are_ordered_by_coverage_and_unused_ranks_are_zero(tmp_path):
    a, b = _two_people()
    layers = cm.rank_layers([a, b], ["person1", "person2"])
    coverages = layers[:, :, 1::2]
    assert np.all(coverages[:, :, :-1] >= coverages[:, :, 1:])
    np.testing.assert_array_equal(layers[:, :, 4:], 0)        # ranks 2 and 3: id 0, coverage 0
    only_a = (a > 0) & (b == 0)
    assert np.all(layers[only_a, 2] == 0) and np.all(layers[only_a, 3] == 0)


def test_coverages_add_up_to_the_matte_at_every_pixel():
    a, b = _two_people()
    layers = cm.rank_layers([a, b], ["person1", "person2"])
    np.testing.assert_allclose(layers[:, :, 1::2].sum(axis=2), a + b, atol=1e-6)


def test_five_people_get_three_rank_layers():
    assert cm.rank_channels(5)[-1] == "CryptoPerson02.A"
    mattes = [np.full((2, 2), 0.2, np.float32) for _ in range(5)]
    layers = cm.rank_layers(mattes, [f"person{i}" for i in range(1, 6)])
    np.testing.assert_allclose(layers[:, :, 1::2].sum(axis=2), 1.0, atol=1e-6)
