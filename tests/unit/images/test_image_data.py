"""Reading image folders: layouts, modes, sizes, and every kind of bad input with its message."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from simulacra.errors import InputError
from simulacra.images.data import ImageSet, read_image_folder, write_image_folder


def test_folder_per_class_is_read_at_its_size(folder):
    data = read_image_folder(folder)
    assert data.images.shape == (30, 8, 8, 1) and data.classes == ["c0", "c1", "c2"]
    assert data.counts() == {"c0": 10, "c1": 10, "c2": 10}
    assert data.notes == []


def test_flat_folder_is_one_class(tmp_path):
    for i in range(3):
        Image.new("RGB", (10, 6), (i * 50, 0, 0)).save(tmp_path / f"{i}.png")
    data = read_image_folder(tmp_path)
    assert data.classes == [""] and data.images.shape == (3, 12, 12, 3)
    assert "resized to 12x12" in data.notes[0]


def test_empty_folder_is_refused(tmp_path):
    (tmp_path / "cls").mkdir()
    with pytest.raises(InputError, match="holds no images"):
        read_image_folder(tmp_path)


def test_missing_folder_is_refused(tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        read_image_folder(tmp_path / "nope")


def test_unreadable_image_is_named(folder):
    (folder / "c0" / "broken.png").write_bytes(b"not a png at all")
    with pytest.raises(InputError, match=r"1 of 31 files cannot be read as images: '.*broken\.png'"):
        read_image_folder(folder)


def test_mixed_modes_are_refused_unless_a_mode_is_chosen(folder):
    Image.new("RGB", (8, 8), (255, 0, 0)).save(folder / "c0" / "red.png")
    # the examples name the class folder ('0.png' and '0.png' said nothing), and the option of the command line
    with pytest.raises(InputError, match=r"mixes grey \(30, e.g. 'c0.*'\) and colour images \(1, e.g. 'c0/red.png'\); "
                                         r"choose one mode \(--mode L or RGB, mode='L' or 'RGB' in Python\)"):
        read_image_folder(folder)
    grey = read_image_folder(folder, mode="L")
    colour = read_image_folder(folder, mode="RGB")
    assert grey.channels == 1 and colour.channels == 3 and len(grey) == 31


def test_class_with_one_image_is_refused(folder):
    d = folder / "lonely"
    d.mkdir()
    Image.new("L", (8, 8)).save(d / "x.png")
    with pytest.raises(InputError, match=r"Class\(es\) 'lonely' \(1\) .* fewer than 2 images"):
        read_image_folder(folder)


def test_large_images_are_brought_down_with_a_note(tmp_path):
    for i in range(2):
        Image.new("L", (300, 200), i * 100).save(tmp_path / f"{i}.png")
    data = read_image_folder(tmp_path)
    assert data.resolution == 64
    assert "300x200 are too large to train on a CPU" in data.notes[0] and "64x64" in data.notes[0]
    assert "with --resolution, at most 64" in data.notes[0]  # the option that exists (it said resolution=)


def test_too_large_resolution_is_refused_with_the_one_it_will_use(folder):
    # no max_resolution option on the command line: it is named as read_image_folder's
    with pytest.raises(InputError, match=r"Resolution 256 is too large .* use resolution 64 or less \(--resolution, "
                                         r"resolution=\), or from Python raise max_resolution= of read_image_folder"):
        read_image_folder(folder, resolution=256)
    with pytest.raises(InputError, match="multiple of 4"):
        read_image_folder(folder, resolution=10)


def test_loose_images_beside_class_folders_are_refused(folder):
    Image.new("L", (8, 8)).save(folder / "loose.png")
    with pytest.raises(InputError, match="both images .* and class folders"):
        read_image_folder(folder)


def test_transparent_images_are_put_on_white(tmp_path):
    for i in range(2):
        Image.new("RGBA", (8, 8), (0, 0, 0, 0)).save(tmp_path / f"{i}.png")
    assert read_image_folder(tmp_path).images.min() == 255


def test_write_then_read_round_trips(tmp_path, folder):
    data = read_image_folder(folder)
    write_image_folder(data.images, data.labels, data.classes, tmp_path / "out")
    again = read_image_folder(tmp_path / "out")
    assert again.classes == data.classes
    order = np.argsort(data.labels, kind="stable")
    assert np.array_equal(again.images, data.images[order])


def test_split_is_stratified():
    s = ImageSet(np.zeros((20, 8, 8, 1), np.uint8), np.repeat([0, 1], 10), ["a", "b"])
    rest, held = s.split(0.2, random_state=0)
    assert held.counts() == {"a": 2, "b": 2} and rest.counts() == {"a": 8, "b": 8}
