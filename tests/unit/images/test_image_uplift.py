"""The image uplift experiment: arms paired by repeat, the same number of CNN epochs in every arm, the
generator fitted on real + classic copies when asked, and synthetic images filtered by a real-trained CNN."""

from __future__ import annotations

import numpy as np
import pytest

from simulacra.errors import InputError
from simulacra.images import registry
from simulacra.images.data import ImageSet
from simulacra.images.uplift import classifier_steps_for, keep_confident, run_image_uplift

from .conftest import shapes

FAST = {"steps": 2, "hidden": 16, "latent": 2}  # a VAE that trains in a blink: the plumbing is under test


def _set(n, seed):
    x, y = shapes(n, seed)
    return ImageSet(x, y, ["c0", "c1", "c2"])


@pytest.fixture(scope="module")
def train_test():
    return _set(30, 0), _set(15, 1)


def test_every_arm_gets_the_same_epochs_and_the_same_draw_and_seed(train_test):
    train, test = train_test
    res = run_image_uplift(train, test, per_class=None, repeats=2, classic_per_image=4, synth_per_image=2,
                           generator="vae", generator_params=FAST, classifier_epochs=40)
    runs = res.runs.set_index(["repeat", "method"])
    # 30 real; + 120 classic; + 60 synthetic; + both: each arm makes 40 passes over its own images (at least 60 steps)
    sizes = {"none": 30, "classic": 150, "synth": 90, "classic+synth": 210}
    for (r, method), row in runs.iterrows():
        assert row["n_train"] == sizes[method] and row["cnn_steps"] == classifier_steps_for(sizes[method], 40)
    assert runs.loc[(0, "classic+synth"), "cnn_steps"] > runs.loc[(0, "none"), "cnn_steps"]
    # paired: every arm of a repeat has the same real images and CNN seed
    assert (res.runs.groupby("repeat")[["seed", "n_real"]].nunique() == 1).all().all()
    assert res.info["classifier_epochs"] == 40 and "40 epochs in every arm" in res.info["model"]
    fixed = run_image_uplift(train, test, per_class=None, repeats=1, methods=["none", "classic"],
                             classifier_steps=70)
    assert fixed.runs["cnn_steps"].tolist() == [70, 70] and fixed.info["classifier_epochs"] is None


def test_generator_is_fitted_on_real_plus_classic_copies_only_when_asked(train_test, monkeypatch):
    train, test = train_test
    seen = []
    real_make = registry.make_generator

    def spy(name, **params):
        gen = real_make(name, **params)
        fit = gen.fit
        gen.fit = lambda data, **kw: (seen.append(len(data)), fit(data, **kw))[1]
        return gen

    monkeypatch.setattr(registry, "make_generator", spy)
    for on_classic in (False, True):
        run_image_uplift(train, test, per_class=4, repeats=1, methods=["synth"], classic_per_image=3,
                         generator="vae", generator_params=FAST, generator_on_classic=on_classic,
                         classifier_epochs=5)
    assert seen == [12, 12 + 36]  # 4 real per class x 3 classes; then + 3 classic copies of each


def test_keep_confident_keeps_the_surest_right_ones_per_class():
    labels = np.array([0, 0, 0, 1, 1, 1])
    synth = ImageSet(np.arange(6, dtype=np.uint8).reshape(6, 1, 1, 1), labels, ["a", "b"])

    class Judge:  # the probability of class 1 is written in the pixel: 0.1 .. 0.6 (0.5 is a tie: class 0)
        def predict_proba(self, images):
            p1 = (images[:, 0, 0, 0] + 1) / 10
            return np.stack([1 - p1, p1], axis=1)

    kept = keep_confident(synth, Judge(), np.array([2, 2]))
    # class 0: pixels 0, 1, 2 have P(0) = 0.9, 0.8, 0.7 -> the two surest, 0 and 1;
    # class 1: pixels 3, 4, 5 have P(1) = 0.4 (judged class 0: dropped), 0.5 (a tie, argmax 0: dropped), 0.6
    assert kept.images[:, 0, 0, 0].tolist() == [0, 1, 5] and kept.labels.tolist() == [0, 0, 1]


def test_oversampling_draws_more_and_keeps_what_was_asked(train_test):
    train, test = train_test
    res = run_image_uplift(train, test, per_class=None, repeats=1, methods=["synth"], synth_per_image=1,
                           generator="vae", generator_params={**FAST, "steps": 150}, synth_oversample=3,
                           classifier_epochs=60)
    row = res.runs.set_index("method").loc["synth"]
    kept = row["n_train"] - 30
    assert 0 < kept <= 30 and kept + row["synth_dropped"] == 90  # 3 x 30 drawn, at most 30 kept
    assert res.info["synth_oversample"] == 3


def test_bad_budgets_are_refused(train_test):
    train, test = train_test
    with pytest.raises(InputError, match="synth_oversample must be at least 1"):
        run_image_uplift(train, test, synth_oversample=0.5)
    with pytest.raises(InputError, match="classifier_epochs"):
        run_image_uplift(train, test, classifier_epochs=0)


def test_sample_weight_decides_between_contradicting_labels():
    """The same images labelled 0 and 1: the labels with the larger weight win, both ways."""
    from simulacra.images.cnn import ImageClassifier

    x, _ = shapes(30, 0)
    images, labels = np.concatenate([x, x]), np.repeat([0, 1], 30)
    for heavy in (0, 1):
        weight = np.where(labels == heavy, 1.0, 0.05)
        clf = ImageClassifier(steps=60, random_state=0).fit(images, labels, 2, sample_weight=weight)
        assert (clf.predict(x) == heavy).mean() == 1.0
    for bad in (np.ones(59), np.r_[np.ones(59), -1.0], np.zeros(60), np.r_[np.ones(59), np.nan]):
        with pytest.raises(InputError, match="sample_weight needs one finite, non-negative weight per image"):
            ImageClassifier(steps=5).fit(images, labels, 2, sample_weight=bad)


def _spy_fits(monkeypatch, with_targets=False):
    """Record the images and the sample weights (and the soft labels) each CNN of the experiment is trained on."""
    from simulacra.images import cnn

    seen = []
    real_fit = cnn.ImageClassifier.fit

    def fit(self, images, labels, n_classes=None, *, sample_weight=None, targets=None):
        got = (images.copy(), None if sample_weight is None else np.asarray(sample_weight).copy())
        seen.append(got + ((None if targets is None else np.asarray(targets).copy()),) if with_targets else got)
        return real_fit(self, images, labels, n_classes, sample_weight=sample_weight, targets=targets)

    monkeypatch.setattr(cnn.ImageClassifier, "fit", fit)
    return seen


def test_synthetic_images_are_weighted_in_the_cnn_loss_only_when_asked(train_test, monkeypatch):
    train, test = train_test
    seen = _spy_fits(monkeypatch)
    res = run_image_uplift(train, test, per_class=4, repeats=1, methods=["classic", "synth", "classic+synth"],
                           classic_per_image=2, synth_per_image=3, generator="vae", generator_params=FAST,
                           classifier_epochs=5, synth_weight=0.5)
    none, classic, synth, both = seen  # 12 real; 24 classic copies; 36 synthetic images
    assert none[1] is None and classic[1] is None and len(classic[0]) == 36
    assert synth[1].tolist() == [1.0] * 12 + [0.5] * 36
    assert both[1].tolist() == [1.0] * 36 + [0.5] * 36 and res.info["synth_weight"] == 0.5
    with pytest.raises(InputError, match="synth_weight must be a positive number"):
        run_image_uplift(train, test, synth_weight=0)


def test_classic_transforms_on_synthetic_images_replace_them_one_for_one(train_test, monkeypatch):
    train, test = train_test
    seen = _spy_fits(monkeypatch)
    for synth_classic in (False, True):
        run_image_uplift(train, test, per_class=4, repeats=1, methods=["synth"], synth_per_image=3,
                         generator="vae", generator_params=FAST, classifier_epochs=5, synth_classic=synth_classic)
    (real0, _), (plain, _), (real1, _), (moved, _) = seen
    assert np.array_equal(real0, real1) and plain.shape == moved.shape == (12 + 36, 8, 8, 1)
    assert np.array_equal(plain[:12], moved[:12])  # the real images are untouched
    changed = [not np.array_equal(a, b) for a, b in zip(plain[12:], moved[12:])]
    assert sum(changed) > 18  # most synthetic images were transformed (each transform fires with p = 0.8)


def test_soft_targets_replace_the_labels_in_the_loss():
    """Images labelled 0 whose targets put 0.9 on class 1 are learnt as class 1; bad targets are refused."""
    from simulacra.images.cnn import ImageClassifier

    x, y = shapes(30, 0)
    labels = np.zeros(30, np.int64)
    targets = np.tile([0.05, 0.9, 0.05], (30, 1))
    clf = ImageClassifier(steps=60, random_state=0).fit(x, labels, 3, targets=targets)
    assert (clf.predict(x) == 1).all()
    hard = ImageClassifier(steps=60, random_state=0).fit(x, y, 3)
    one_hot = ImageClassifier(steps=60, random_state=0).fit(x, y, 3, targets=np.eye(3)[y])
    assert np.allclose(hard.predict_proba(x), one_hot.predict_proba(x), atol=1e-4)  # one-hot targets = labels
    for bad in (targets[:29], targets * 2, np.tile([1.5, -0.5, 0.0], (30, 1)), np.eye(2)[labels]):
        with pytest.raises(InputError, match="targets needs one row of 3 class probabilities"):
            ImageClassifier(steps=5).fit(x, labels, 3, targets=bad)


def test_temperature_softens_the_probabilities_and_keeps_the_class():
    from simulacra.images.cnn import ImageClassifier

    x, y = shapes(30, 0)
    clf = ImageClassifier(steps=60, random_state=0).fit(x, y, 3)
    p1, p4 = clf.predict_proba(x), clf.predict_proba(x, temperature=4)
    assert np.array_equal(p1.argmax(1), p4.argmax(1)) and (p4.max(1) < p1.max(1)).all()
    assert np.allclose(p4.sum(1), 1)


def test_synthetic_images_get_the_teachers_soft_labels_only_when_asked(train_test, monkeypatch):
    train, test = train_test
    seen = _spy_fits(monkeypatch, with_targets=True)
    kw = dict(per_class=4, repeats=1, methods=["classic", "synth", "classic+synth"], classic_per_image=2,
              synth_per_image=3, generator="vae", generator_params=FAST, generator_on_classic=True, classifier_epochs=5)
    res = run_image_uplift(train, test, teachers=2, teacher_temperature=3, **kw)
    # none, classic, then the two teachers (on what the generator saw: 12 real + 24 classic), synth, classic+synth
    none, classic, t0, t1, synth, both = seen
    assert none[2] is None and classic[2] is None and t0[2] is None and t1[2] is None
    assert len(t0[0]) == len(t1[0]) == 36 and np.array_equal(t0[0], classic[0])
    for arm, n_hard in ((synth, 12), (both, 36)):  # real (and classic) rows one-hot, synthetic rows soft
        targets = arm[2]
        assert targets.shape == (n_hard + 36, 3) and np.allclose(targets.sum(1), 1)
        assert set(np.unique(targets[:n_hard])) == {0.0, 1.0}
        assert (targets[n_hard:].max(1) < 0.999).all()  # temperature 3 and two teachers: no one-hot row
    assert np.allclose(synth[2][12:], both[2][36:])  # the same teachers label the same synthetic images
    assert (res.info["teachers"], res.info["teacher_temperature"], res.info["distill_real"]) == (2, 3, False)
    seen.clear()
    run_image_uplift(train, test, teachers=1, distill_real=True, **kw)
    assert (seen[-1][2][:36].max(1) < 1).any()  # the real images and classic copies are soft-labelled too
    seen.clear()
    run_image_uplift(train, test, **kw)
    assert len(seen) == 4 and all(s[2] is None for s in seen)  # no teachers, hard labels everywhere
    for bad, match in (({"teachers": -1}, "teachers must be 0"), ({"teachers": 1, "teacher_temperature": 0},
                                                                  "teacher_temperature a positive number"),
                       ({"distill_real": True}, "distill_real needs teachers")):
        with pytest.raises(InputError, match=match):
            run_image_uplift(train, test, **bad)


def test_mixing_blends_the_images_and_their_labels_in_the_same_proportion():
    import torch

    from simulacra.images.cnn import _mix_batch

    rng = np.random.default_rng(0)
    xb = torch.stack([torch.zeros(1, 8, 8), torch.ones(1, 8, 8)])  # a black and a white image
    tb = torch.eye(2)
    for how in ("mixup", "cutmix"):
        for _ in range(20):
            x, t, w = _mix_batch(torch, xb, tb, torch.tensor([1.0, 0.5]), how, 1.0, rng)
            white = x.reshape(2, -1).mean(1)  # the share of each mixed image that is the white one
            assert torch.allclose(t[:, 1], white, atol=1e-6) and torch.allclose(t.sum(1), torch.ones(2))
            assert torch.allclose(w, t[:, 0] * 1.0 + t[:, 1] * 0.5)  # weights mixed alike
            if how == "cutmix":  # whole pixels pasted, no grey
                assert set(x.unique().tolist()) <= {0.0, 1.0}


def test_mixing_and_weight_averaging_train_a_usable_cnn_and_bad_options_are_refused():
    from simulacra.images.cnn import ImageClassifier

    x, y = shapes(60, 0)
    plain = ImageClassifier(steps=80, random_state=0).fit(x, y, 3)
    fitted = {}
    for kw in ({"mix": "mixup", "mix_alpha": 0.4}, {"mix": "cutmix"}, {"swa": 0.25}):
        clf = fitted[kw.get("mix", "swa")] = ImageClassifier(steps=80, random_state=0, **kw).fit(x, y, 3)
        assert (clf.predict(x) == y).mean() > 0.9  # still learns the three shapes
        assert not np.allclose(clf.predict_proba(x), plain.predict_proba(x), atol=1e-4)  # and the lever acted
    tiny = ImageClassifier(steps=40, random_state=0, swa=0.01).fit(x, y, 3)  # 0.4 steps: still one averaged step
    assert not np.allclose(tiny.predict_proba(x), ImageClassifier(steps=40, random_state=0).fit(x, y, 3).predict_proba(x))
    again = ImageClassifier(steps=80, random_state=0, mix="cutmix").fit(x, y, 3)
    assert np.array_equal(again.predict_proba(x), fitted["cutmix"].predict_proba(x))  # seeded
    for bad, match in (({"mix": "blend"}, "Unknown mix"), ({"mix_alpha": 0}, "mix_alpha must be a positive"),
                       ({"swa": 1.0}, "swa is the share"), ({"swa_lr": -1.0}, "swa_lr must be")):
        with pytest.raises(InputError, match=match):
            ImageClassifier(steps=5, **bad).fit(x, y, 3)


def test_init_starts_from_the_given_weights():
    from simulacra.images.cnn import ImageClassifier

    x, y = shapes(30, 0)
    pre = ImageClassifier(steps=60, random_state=0).fit(x, y, 3)
    flipped = (y + 1) % 3  # the fine-tune's labels contradict the pre-training's
    tuned = ImageClassifier(steps=3, learning_rate=1e-5, random_state=1).fit(x, flipped, 3, init=pre)
    fresh = ImageClassifier(steps=3, learning_rate=1e-5, random_state=1).fit(x, flipped, 3)
    assert (tuned.predict(x) == y).mean() > 0.9 and (fresh.predict(x) == y).mean() < 0.7
    with pytest.raises(InputError, match="same 4 classes"):
        ImageClassifier(steps=3).fit(x, y, 4, init=pre)
    with pytest.raises(InputError, match="init must be a fitted classifier"):
        ImageClassifier(steps=3).fit(x, y, 3, init=ImageClassifier())


def _spy_stages(monkeypatch):
    """Record, for each CNN fit, its images, its steps, whether it started from another CNN, and its levers."""
    from simulacra.images import cnn

    seen = []
    real_fit = cnn.ImageClassifier.fit

    def fit(self, images, labels, n_classes=None, *, sample_weight=None, targets=None, init=None):
        seen.append({"images": images.copy(), "steps": self.steps, "init": init, "mix": self.mix, "swa": self.swa,
                     "targets": None if targets is None else np.asarray(targets).copy()})
        return real_fit(self, images, labels, n_classes, sample_weight=sample_weight, targets=targets, init=init)

    monkeypatch.setattr(cnn.ImageClassifier, "fit", fit)
    return seen


def test_two_stage_pretrains_on_synthetic_images_then_finetunes_on_real_and_classic(train_test, monkeypatch):
    train, test = train_test
    kw = dict(per_class=4, repeats=1, methods=["classic", "classic+synth"], classic_per_image=2, synth_per_image=3,
              generator="vae", generator_params=FAST, classifier_epochs=20)
    seen = _spy_stages(monkeypatch)
    res = run_image_uplift(train, test, pretrain="synth", **kw)
    none, classic, pre, fine = seen  # 12 real; 24 classic copies; 36 synthetic images
    assert pre["init"] is None and len(pre["images"]) == 36 and pre["steps"] == classifier_steps_for(36, 20)
    assert fine["init"] is not None and np.array_equal(fine["images"], classic["images"])  # real + classic
    assert fine["steps"] == classic["steps"] == classifier_steps_for(36, 20)  # the classic arm's budget
    row = res.runs.set_index("method").loc["classic+synth"]
    assert row["cnn_steps"] == pre["steps"] + fine["steps"] and res.info["pretrain"] == "synth"
    assert not np.array_equal(pre["images"][:12], fine["images"][:12])  # the first stage saw no real image
    seen.clear()
    run_image_uplift(train, test, pretrain="all", teachers=1, distill_real=True, **kw)
    pre, fine = seen[-2:]
    assert len(pre["images"]) == 72 and pre["targets"].shape == (72, 3)  # everything, soft-labelled
    assert fine["targets"].shape == (36, 3) and fine["init"] is not None  # distilled real + classic
    seen.clear()
    run_image_uplift(train, test, pretrain="all", teachers=1, **kw)
    assert seen[-1]["targets"] is None  # the real images keep their hard labels unless distilled
    with pytest.raises(InputError, match="pretrain must be one of"):
        run_image_uplift(train, test, pretrain="twice")


def test_mixing_and_averaging_go_to_the_synthetic_arms_or_to_every_arm(train_test, monkeypatch):
    train, test = train_test
    kw = dict(per_class=4, repeats=1, methods=["classic", "classic+synth"], classic_per_image=2, synth_per_image=3,
              generator="vae", generator_params=FAST, classifier_epochs=10, mix="cutmix", swa=0.2)
    seen = _spy_stages(monkeypatch)
    res = run_image_uplift(train, test, **kw)
    assert [(s["mix"], s["swa"]) for s in seen] == [("none", 0.0), ("none", 0.0), ("cutmix", 0.2)]
    assert (res.info["mix"], res.info["swa"], res.info["levers_on"]) == ("cutmix", 0.2, "synth")
    seen.clear()
    run_image_uplift(train, test, levers_on="all", **kw)
    assert [(s["mix"], s["swa"]) for s in seen] == [("cutmix", 0.2)] * 3
    for bad, match in (({"levers_on": "real"}, "levers_on one of"), ({"mix": "blend"}, "Unknown mix")):
        with pytest.raises(InputError, match=match):
            run_image_uplift(train, test, **{**kw, **bad})


def test_an_arm_with_one_synthetic_image_is_trained_in_one_stage(monkeypatch):
    """The filter of synth_oversample can keep a single synthetic image in a tiny arm: too few to pre-train
    on (the first stage refused it and the whole run stopped); the arm is trained in one stage, with a warning."""
    from simulacra.images.uplift import train_student

    data = _set(7, 0)  # 6 real images, then 1 synthetic
    seen = _spy_stages(monkeypatch)
    with pytest.warns(UserWarning, match="too few to pre-train on"):
        clf, steps = train_student(data, 1, pretrain="synth", steps_for=lambda n: 5, seed=0)
    assert steps == 5 and len(seen) == 1 and len(seen[0]["images"]) == 7 and seen[0]["init"] is None
    seen.clear()
    train_student(data, 2, pretrain="synth", steps_for=lambda n: 5, seed=0)  # two: the two stages
    assert [len(s["images"]) for s in seen] == [2, 5] and seen[1]["init"] is not None
