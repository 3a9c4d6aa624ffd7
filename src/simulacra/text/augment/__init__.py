"""Classic text augmentation: EDA (synonym replacement, random insertion, swap and deletion).

Generative augmentation with an LLM (paraphrases, new labelled examples, class quotas and the
label-consistency filter) lives in :mod:`simulacra.augment.text`.
"""

from simulacra.text.augment.eda import EDA, default_num_aug, eda, stop_words
from simulacra.text.augment.synonyms import EmbeddingSynonyms, WordNetSynonyms, nltk_data_dirs

__all__ = ["EDA", "EmbeddingSynonyms", "WordNetSynonyms", "default_num_aug", "eda", "nltk_data_dirs", "stop_words"]
