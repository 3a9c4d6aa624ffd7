"""EDA: the four operations, stop words, per-operation control, paper defaults, reproducibility."""

from __future__ import annotations

import pandas as pd
import pytest

from simulacra.errors import InputError
from simulacra.text.perturb import EDA, default_num_aug, stop_words
from simulacra.text.perturb.synonyms import EmbeddingSynonyms, nltk_data_dirs

SYN = {"film": ["movie", "picture"], "great": ["outstanding"], "story": ["tale"], "the": ["THE_STOP"]}
SENT = "the film is a great story about the sea"


def fake_synonyms(word: str) -> list[str]:
    return SYN.get(word, [])


def only(op: str, **kw: float) -> EDA:
    rates = {"alpha_sr": 0.0, "alpha_ri": 0.0, "alpha_rs": 0.0, "p_rd": 0.0}
    rates[{"sr": "alpha_sr", "ri": "alpha_ri", "rs": "alpha_rs", "rd": "p_rd"}[op]] = kw.get("rate", 0.3)
    return EDA(synonyms=fake_synonyms, random_state=0, **rates)


def test_synonym_replacement_uses_synonyms_and_never_stop_words() -> None:
    out = only("sr", rate=0.5).augment(SENT, 20)
    assert len(out) == 20
    assert all("THE_STOP" not in s for s in out)
    changed = [s for s in out if s != SENT]
    assert changed and all(len(s.split()) == len(SENT.split()) for s in changed)
    assert any(w in " ".join(changed) for w in ("movie", "picture", "outstanding", "tale"))


def test_random_insertion_adds_synonyms_of_content_words() -> None:
    out = only("ri").augment(SENT, 10)
    base = SENT.split()
    for s in out:
        words = s.split()
        assert len(words) > len(base)
        extra = set(words) - set(base)
        assert extra <= {"movie", "picture", "outstanding", "tale"}


def test_random_swap_keeps_the_bag_of_words() -> None:
    out = only("rs").augment(SENT, 10)
    assert all(sorted(s.split()) == sorted(SENT.split()) for s in out)
    assert any(s != SENT for s in out)


def test_random_deletion_drops_words_but_never_all() -> None:
    out = only("rd", rate=0.99).augment(SENT, 10)
    assert all(1 <= len(s.split()) < len(SENT.split()) for s in out)
    assert only("rd", rate=0.5).augment("alone", 3) == ["alone"] * 3


def test_seed_reproduces_and_ops_are_mixed() -> None:
    a = EDA(synonyms=fake_synonyms, random_state=3, n_aug=8).augment(SENT)
    b = EDA(synonyms=fake_synonyms, random_state=3, n_aug=8).augment(SENT)
    assert a == b and len(a) == 8
    assert EDA(synonyms=fake_synonyms, random_state=4, n_aug=8).augment(SENT) != a


def test_paper_defaults() -> None:
    e = EDA()
    assert (e.alpha_sr, e.alpha_ri, e.alpha_rs, e.p_rd) == (0.1, 0.1, 0.1, 0.1)
    assert [default_num_aug(n) for n in (500, 2000, 5000, 50_000)] == [16, 8, 4, 4]
    df = pd.DataFrame({"t": [SENT] * 600, "y": [1] * 600})
    out = EDA(synonyms=fake_synonyms, random_state=0).augment_frame(df, "t")
    assert len(out) == 600 * (1 + 8)  # 600 rows -> the paper's 8 per sentence
    assert (out["y"] == 1).all() and set(out["augmentation"]) == {"real", "eda"}


def test_bad_parameters_are_explained() -> None:
    with pytest.raises(InputError, match="all rates are 0"):
        EDA(alpha_sr=0, alpha_ri=0, alpha_rs=0, p_rd=0).augment(SENT)
    with pytest.raises(InputError, match="between 0 and 1"):
        EDA(alpha_sr=2.0).augment(SENT)
    with pytest.raises(InputError, match="Text column"):
        EDA(synonyms="none").augment_frame(pd.DataFrame({"a": ["x"]}), "b")


def test_stop_words_list() -> None:
    sw = stop_words()
    assert {"the", "a", "is", "not"} <= sw and "film" not in sw


def test_embedding_synonyms_nearest_neighbours() -> None:
    emb = EmbeddingSynonyms({"good": [1, 0.1], "great": [0.95, 0.12], "fine": [0.9, 0.3], "car": [0, 1]}, k=2)
    assert emb("good") == ["great", "fine"]
    assert emb("unknown") == []


def _wordnet_present() -> bool:
    return any((d / "corpora" / "wordnet" / "data.noun").exists() for d in nltk_data_dirs())


@pytest.mark.skipif(not _wordnet_present(), reason="WordNet not installed (scripts/setup.d/augment.sh)")
def test_wordnet_synonyms_offline() -> None:
    from simulacra.text.perturb import WordNetSynonyms

    syn = WordNetSynonyms()
    assert "movie" in syn("film")
    assert syn("the") == [] or "the" not in syn("the")
    out = EDA(alpha_sr=0.5, alpha_ri=0, alpha_rs=0, p_rd=0, random_state=0).augment("a wonderful film", 5)
    assert any(s != "a wonderful film" for s in out)


def test_the_old_import_path_still_works_with_a_deprecation_warning() -> None:
    import simulacra.text.perturb as perturb
    from simulacra.text.perturb import synonyms

    with pytest.warns(DeprecationWarning, match="renamed simulacra.text.perturb"):
        from simulacra.text.augment import EDA as OldEDA
    assert OldEDA is perturb.EDA
    with pytest.warns(DeprecationWarning, match="simulacra.text.perturb.synonyms"):
        from simulacra.text.augment.synonyms import EmbeddingSynonyms as Old
    assert Old is synonyms.EmbeddingSynonyms
    import simulacra.text.augment as old

    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        old.nope  # noqa: B018
