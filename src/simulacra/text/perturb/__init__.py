"""Rule-based perturbation of texts: EDA (synonym replacement, random insertion, swap and deletion).

Formerly ``simulacra.text.augment`` (that path still works, with a DeprecationWarning). Generative
augmentation with an LLM (paraphrases, new labelled examples, class quotas and the label-consistency
filter) is :mod:`simulacra.augment.text`, through the text task :mod:`simulacra.text.tasks.paraphrase`.
"""

from simulacra.text.perturb.eda import EDA, default_num_aug, eda, stop_words
from simulacra.text.perturb.synonyms import EmbeddingSynonyms, WordNetSynonyms, nltk_data_dirs

__all__ = ["EDA", "EmbeddingSynonyms", "WordNetSynonyms", "default_num_aug", "eda", "nltk_data_dirs", "stop_words"]
