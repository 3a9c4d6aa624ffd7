"""Image evaluation: the metrics react to what they measure, memorisation catches copies, the report
shows grids and closest pairs; classic augmentation is seeded and keeps classes."""

from __future__ import annotations

import numpy as np
import pytest

from simulacra.errors import InputError
from simulacra.images.augment import augment_images, parse_methods
from simulacra.images.data import ImageSet
from simulacra.images.evaluate import evaluate_images

from .conftest import shapes


def _set(n, seed):
    x, y = shapes(n, seed)
    return ImageSet(x, y, ["c0", "c1", "c2"])


@pytest.fixture(scope="module")
def real():
    return _set(90, 0)


def test_good_synthetic_scores_near_the_holdout_and_copies_are_caught(real):
    holdout, fresh = _set(30, 1), _set(60, 2)
    good = evaluate_images(real, fresh, holdout=holdout, classifier_steps=80)
    assert good.scores["class_accuracy"] == 1.0 and good.memorisation["no_closer_than_reference"]
    copies = evaluate_images(real, real.subset(np.arange(60)), holdout=holdout, classifier_steps=80)
    assert copies.memorisation["exact_copies"] == 60 and not copies.memorisation["no_closer_than_reference"]
    wrong = ImageSet(fresh.images, (fresh.labels + 1) % 3, fresh.classes)  # every image labelled as another class
    bad = evaluate_images(real, wrong, holdout=holdout, classifier_steps=80)
    assert bad.scores["class_accuracy"] == 0.0
    noise = ImageSet(np.random.default_rng(0).integers(0, 255, (60, 8, 8, 1), dtype=np.uint8), fresh.labels, fresh.classes)
    far = evaluate_images(real, noise, holdout=holdout, classifier_steps=80)
    assert far.scores["frechet_distance"] > 5 * good.scores["frechet_distance"]
    assert far.scores["precision"] < good.scores["precision"]


def test_a_holdout_that_overlaps_the_real_images_is_said(real):
    """A holdout taken from the training folder (test/ inside digits/) gave 'held-out real' accuracy 1.0 and a
    memorisation baseline of 0 without a word; the report now says how many holdout images are real ones."""
    fresh = _set(30, 1)
    inside = ImageSet(np.concatenate([real.images[:20], fresh.images[:10]]),
                      np.concatenate([real.labels[:20], fresh.labels[:10]]), real.classes)
    ev = evaluate_images(real, _set(30, 3), holdout=inside, classifier_steps=40)
    assert any("20 of the 30 holdout images (67%) are also among the real images" in n for n in ev.notes)
    apart = evaluate_images(real, _set(30, 3), holdout=fresh, classifier_steps=40)
    assert not any("holdout images" in n for n in apart.notes)


def test_report_text_and_html(real, tmp_path):
    ev = evaluate_images(real, _set(30, 3), classifier_steps=40)
    text = ev.to_text()
    assert "class accuracy of a real-trained CNN" in text and "memorisation" in text
    assert any("not Inception" in n or "not \nInception" in n for n in ev.notes) or "Inception" in ev.notes[0]
    ev.save_html(tmp_path / "r.html")
    page = (tmp_path / "r.html").read_text()
    assert page.count("data:image/png;base64,") >= 4  # two grids, the pairs, the plot
    assert "closest pairs" in page and "held-out real" in page


def test_synthetic_class_unknown_to_the_real_set(real):
    other = ImageSet(real.images[:4], np.array([0, 0, 1, 1]), ["c0", "zz"])
    with pytest.raises(InputError, match="'zz' are not among the real classes"):
        evaluate_images(real, other)


def test_classic_augmentation_is_seeded_and_keeps_classes(real):
    a = augment_images(real, "rotate,shift,crop", per_image=2, random_state=3)
    b = augment_images(real, "rotate,shift,crop", per_image=2, random_state=3)
    assert np.array_equal(a.images, b.images) and np.array_equal(a.labels, np.repeat(real.labels, 2))
    assert not np.array_equal(a.images, np.repeat(real.images, 2, axis=0))
    with pytest.raises(InputError, match="Unknown augmentation.*sharpen.*choose among flip"):
        parse_methods("flip,sharpen")
