"""Brief training of the small fixture models on a synthetic language, shared by
gen_gemma_fixtures.py and gen_qwen35_fixtures.py.

Why: a random-weight model's next-token logits are near ties (top-1 and top-2
apart by less than the rounding of Q8_0 weights moves them), so even
transformers on the dequantized Q8_0 weights disagrees with its own f32 run on
2-25% of the positions. Trained models have a clear top-1 at most positions;
the quantization bounds of the issues (Q8_0 top-1 >= 98%, mean KL < 0.01) are
bounds for such models. A few hundred steps on this language give that.

The language: a walk of PERIOD tokens after <bos> where each token (<bos>
included) has four successors (drawn once per language) taken with
probabilities 0.6, 0.25, 0.1 and 0.05, then the walk repeated. The walk makes peaked but not certain
predictions (about what a real model has on text); the repeats can only be
predicted by attending PERIOD tokens back, further than the fixtures' sliding
windows, so the trained model uses its global attention layers.
"""
import numpy as np
import torch

PERIOD = 20
SUCCESSOR_P = np.array([0.6, 0.25, 0.1, 0.05])
BOS, FIRST_ID = 2, 3  # ids below FIRST_ID are special tokens
STEPS, BATCH, LR = 600, 16, 3e-3


class Language:
    def __init__(self, vocab, seed):
        self.rng = np.random.default_rng(seed)
        self.successors = self.rng.integers(FIRST_ID, vocab, size=(vocab, len(SUCCESSOR_P)))

    def sample(self, n, length):
        """n sequences of the language, int64 [n][length]."""
        out = np.empty((n, length), dtype=np.int64)
        out[:, 0] = BOS
        for t in range(1, length):
            if t <= PERIOD:
                pick = self.rng.choice(len(SUCCESSOR_P), size=n, p=SUCCESSOR_P)
                out[:, t] = self.successors[out[:, t - 1], pick]
            else:
                out[:, t] = out[:, t - PERIOD]
        return out


def train(model, lang, seed, length):
    """Trains model (a transformers causal LM, float32) in place on sentences of lang of the given
    length; then rounds every parameter to a bfloat16 value, as the random fixtures are. Returns the
    last loss."""
    torch.manual_seed(seed)
    model.train()
    opt = torch.optim.AdamW(model.parameters(), lr=LR, weight_decay=0.0)
    for _ in range(STEPS):
        x = torch.from_numpy(lang.sample(BATCH, length))
        loss = model(x, labels=x).loss
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.eval()
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(p.to(torch.bfloat16).float())
    return loss.item()


def agreement(ref, other):
    """Top-1 agreement and mean KL(ref || other) of two logits arrays [positions][vocab]."""
    lp = torch.log_softmax(torch.from_numpy(ref).double(), -1)
    lq = torch.log_softmax(torch.from_numpy(other).double(), -1)
    kl = (lp.exp() * (lp - lq)).sum(-1).mean().item()
    return float((ref.argmax(-1) == other.argmax(-1)).mean()), kl
