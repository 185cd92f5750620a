"""TransCNN (Liu et al., "Transformer in Convolutional Neural Networks", arXiv 2106.03180) in plain PyTorch.

The PyTorch reference for the benchmark table (benchmarks/pytorch/bench.py, benchmarks/run.sh). It is written from
the project's architecture spec (spec/transcnn.md of the project's shared folder: "the architecture exactly as the
official code computes it"), NOT copied from the official file. It was checked against the reference fixtures that
the official code produced (GitHub yun-liu/HAT-Net, formerly yun-liu/TransCNN, `TransCNN.py` at commit 0bd7463, class
`TransCNN`, run under PyTorch 1.13.1 on CPU) by benchmarks/pytorch/check_parity.py: eval logits, the four stage
outputs, train-mode stage 4 and all parameter gradients agree to the fixtures' tolerances, and `state_dict()` keys
equal the official checkpoint keys (the fixtures' model.pth files load with strict=True; the released
TransCNN-*.pth use the same names, but were not available to test here).

Presets (this library's names; the released checkpoints are named differently):
    SMALL  = release TransCNN-Tiny   (paper v1 "Small")  13,315,976 parameters
    BASE   = release TransCNN-Small  (paper v1 "Base")   26,538,824 parameters
    MEDIUM = release TransCNN-Medium                     48,322,504 parameters
    LARGE  = release TransCNN-Large                      80,033,352 parameters
(1000 classes). Like the official code, the input height and width must be multiples of 128 for the release grid
sizes (every window grid must tile its map exactly); this reference does not pad.

Needs only torch (Debian: apt-get install python3-torch; run with /usr/bin/python3).
`/usr/bin/python3 benchmarks/pytorch/transcnn_ref.py` prints the presets' parameter counts and multiply-adds.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F

__all__ = ["TransCNN", "PRESETS", "PRESET_PARAMS", "transcnn", "count_macs", "count_params"]

# Spec section 1: dims, depths, expansions; all share head_dim 64, grid sizes [8,8,8,1], ratios [8,4,2,1],
# depthwise kernel sizes [5,3,5,3].
PRESETS = {
    "SMALL": dict(dims=(64, 128, 256, 512), depths=(2, 2, 4, 2), expansions=(4, 4, 4, 4)),
    "BASE": dict(dims=(64, 128, 256, 512), depths=(3, 4, 8, 3), expansions=(4, 4, 6, 6)),
    "MEDIUM": dict(dims=(64, 128, 320, 640), depths=(3, 4, 12, 3), expansions=(4, 4, 6, 6)),
    "LARGE": dict(dims=(64, 128, 384, 768), depths=(3, 4, 16, 3), expansions=(4, 4, 6, 6)),
}
# Trainable parameters with 1000 classes (spec section 1); transcnn() asserts them.
PRESET_PARAMS = {"SMALL": 13_315_976, "BASE": 26_538_824, "MEDIUM": 48_322_504, "LARGE": 80_033_352}

ACTIVATIONS = {"SILU": nn.SiLU, "GELU": nn.GELU}


def _act(name):
    try:
        return ACTIVATIONS[name.upper()]
    except KeyError:
        raise ValueError(f"activation must be one of {sorted(ACTIVATIONS)}, got {name!r}") from None


class DropPath(nn.Module):
    """Stochastic depth: per-sample Bernoulli keep mask scaled by 1/keep, training only."""

    def __init__(self, p=0.0):
        super().__init__()
        self.p = p

    def forward(self, x):
        if self.p == 0.0 or not self.training:
            return x
        keep = 1.0 - self.p
        mask = x.new_empty((x.shape[0],) + (1,) * (x.dim() - 1)).bernoulli_(keep)
        return x * mask / keep

    def extra_repr(self):
        return f"p={self.p}"


class HMHSA(nn.Module):
    """Hierarchical multi-head self-attention [blocks.S.I.attn].

    grid_size > 1: local attention in grid_size x grid_size windows, then global attention of all tokens to the
    ds_ratio-pooled map. grid_size == 1: plain global multi-head self-attention (stage 4).
    """

    def __init__(self, dim, head_dim, grid_size, ds_ratio, drop=0.0):
        super().__init__()
        assert dim % head_dim == 0, f"dim {dim} is not a multiple of head_dim {head_dim}"
        self.num_heads = dim // head_dim
        self.head_dim = head_dim
        self.grid_size = grid_size
        self.ds_ratio = ds_ratio
        self.scale = head_dim ** -0.5
        # Definition order = the official state_dict order: norm, qkv, proj, grid_norm, ds_norm, q, kv
        self.norm = nn.BatchNorm2d(dim)
        self.qkv = nn.Conv2d(dim, dim * 3, 1)
        self.proj = nn.Conv2d(dim, dim, 1)
        self.drop = nn.Dropout2d(drop)
        if grid_size > 1:
            self.grid_norm = nn.BatchNorm2d(dim)
            self.ds_norm = nn.BatchNorm2d(dim)
            self.q = nn.Conv2d(dim, dim, 1)
            self.kv = nn.Conv2d(dim, dim * 2, 1)

    def _attend(self, q, k, v):
        """softmax(q k^T * scale) v over the last two dimensions (tokens x head_dim)."""
        return ((q * self.scale) @ k.transpose(-2, -1)).softmax(dim=-1) @ v

    def forward(self, x):
        B, C, H, W = x.shape
        n, d = self.num_heads, self.head_dim
        qkv = self.qkv(self.norm(x))  # channel = t*C + head*d + j, t = 0 q, 1 k, 2 v
        if self.grid_size == 1:
            q, k, v = qkv.reshape(B, 3, n, d, H * W).transpose(-2, -1).unbind(1)  # each B, n, HW, d
            a = self._attend(q, k, v).transpose(-2, -1).reshape(B, C, H, W)
            return self.drop(self.proj(a))

        G = self.grid_size
        if H % G or W % G:
            raise ValueError(f"map {H}x{W} is not a multiple of the grid size {G} (the official code needs input "
                             f"sizes that give whole windows at every stage, e.g. multiples of 128)")
        a, b = H // G, W // G
        # Windows: token (u, v) of window (wa, wb) is pixel (wa*G + u, wb*G + v), tokens row-major in the window
        qkv = qkv.reshape(B, 3, n, d, a, G, b, G).permute(1, 0, 2, 4, 6, 5, 7, 3)  # 3, B, n, a, b, u, v, d
        q, k, v = qkv.reshape(3, B * n * a * b, G * G, d).unbind(0)
        local = self._attend(q, k, v).reshape(B, n, a, b, G, G, d)
        local = local.permute(0, 1, 6, 2, 4, 3, 5).reshape(B, C, H, W)  # channel = head*d + j
        x1 = self.grid_norm(x + local)  # residual with the raw input x

        q = self.q(x1).reshape(B, n, d, H * W).transpose(-2, -1)  # B, n, HW, d
        pooled = self.ds_norm(F.avg_pool2d(x1, self.ds_ratio, self.ds_ratio))
        kv = self.kv(pooled)
        k, v = kv.reshape(B, 2, n, d, -1).transpose(-2, -1).unbind(1)  # each B, n, hw, d
        glob = self._attend(q, k, v).transpose(-2, -1).reshape(B, C, H, W)
        return self.drop(self.proj(glob + x1))


class IRB(nn.Module):
    """Inverted residual bottleneck [blocks.S.I.conv]: 1x1 expand, depthwise kxk, 1x1 project; no inner shortcut."""

    def __init__(self, dim, hidden, kernel_size, act, drop=0.0):
        super().__init__()
        self.conv1 = nn.Sequential(nn.Conv2d(dim, hidden, 1, bias=False), nn.BatchNorm2d(hidden), act())
        self.conv2 = nn.Sequential(
            nn.Conv2d(hidden, hidden, kernel_size, padding=(kernel_size - 1) // 2, groups=hidden, bias=False),
            nn.BatchNorm2d(hidden), act(), nn.Dropout2d(drop))
        self.conv3 = nn.Sequential(nn.Conv2d(hidden, dim, 1, bias=False), nn.BatchNorm2d(dim), nn.Dropout2d(drop))

    def forward(self, x):
        return self.conv3(self.conv2(self.conv1(x)))


class Block(nn.Module):
    """x = x + DropPath(HMHSA(x)); x = x + DropPath(IRB(x)) [blocks.S.I]."""

    def __init__(self, dim, head_dim, grid_size, ds_ratio, expansion, kernel_size, act, drop=0.0, drop_path=0.0):
        super().__init__()
        self.attn = HMHSA(dim, head_dim, grid_size, ds_ratio, drop)
        self.conv = IRB(dim, dim * expansion, kernel_size, act, drop)
        self.drop_path = DropPath(drop_path)

    def forward(self, x):
        x = x + self.drop_path(self.attn(x))  # two independent masks
        return x + self.drop_path(self.conv(x))


class TDB(nn.Module):
    """Two-branch downsampling [ds2|ds3|ds4]: act(BN1(conv3x3 s2(x)) + BN2(conv1x1(maxpool2x2(x))))."""

    def __init__(self, dim_in, dim_out, act):
        super().__init__()
        self.conv = nn.Conv2d(dim_in, dim_out, 3, stride=2, padding=1)
        self.residual = nn.Conv2d(dim_in, dim_out, 1)
        self.norm1 = nn.BatchNorm2d(dim_out)
        self.norm2 = nn.BatchNorm2d(dim_out)
        self.act = act()

    def forward(self, x):
        if x.shape[-2] % 2 or x.shape[-1] % 2:
            raise ValueError(f"downsampling needs an even map, got {x.shape[-2]}x{x.shape[-1]}")
        return self.act(self.norm1(self.conv(x)) + self.norm2(self.residual(F.max_pool2d(x, 2, 2))))


class TransCNN(nn.Module):
    def __init__(self, in_chans=3, num_classes=1000, dims=(64, 128, 256, 512), head_dim=64,
                 expansions=(4, 4, 4, 4), grid_sizes=(8, 8, 8, 1), ds_ratios=(8, 4, 2, 1), depths=(2, 2, 4, 2),
                 kernel_sizes=(5, 3, 5, 3), drop_rate=0.0, drop_path_rate=0.0, activation="SILU"):
        super().__init__()
        act = _act(activation)
        self.activation = activation.upper()
        self.num_classes = num_classes
        self.patch_embed = nn.Sequential(
            nn.Conv2d(in_chans, 16, 3, stride=2, padding=1), nn.BatchNorm2d(16), act(),
            nn.Conv2d(16, dims[0], 3, stride=2, padding=1))
        total = sum(depths)
        rates = torch.linspace(0, drop_path_rate, total).tolist()  # drop path rate of block j
        blocks, j = [], 0
        for s in range(4):
            stage = []
            for _ in range(depths[s]):
                stage.append(Block(dims[s], head_dim, grid_sizes[s], ds_ratios[s], expansions[s], kernel_sizes[s],
                                   act, drop_rate, rates[j]))
                j += 1
            blocks.append(nn.ModuleList(stage))
        self.blocks = nn.ModuleList(blocks)
        self.ds2 = TDB(dims[0], dims[1], act)
        self.ds3 = TDB(dims[1], dims[2], act)
        self.ds4 = TDB(dims[2], dims[3], act)
        self.classifier = nn.Sequential(nn.Dropout(0.2), nn.Linear(dims[3], num_classes))  # 0.2 hard-coded
        self.apply(self._init_weights)

    @staticmethod
    def _init_weights(m):
        # Spec section 5 (official): truncated normal std 0.02, zero biases, BN weight 1 / bias 0
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            nn.init.trunc_normal_(m.weight, std=0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)

    def forward_stages(self, x):
        """The outputs of the four stages (strides 4, 8, 16, 32), after each stage's last block."""
        outs = []
        x = self.patch_embed(x)
        for s, stage in enumerate(self.blocks):
            if s > 0:
                x = (self.ds2, self.ds3, self.ds4)[s - 1](x)
            for blk in stage:
                x = blk(x)
            outs.append(x)
        return outs

    def forward(self, x):
        x = self.forward_stages(x)[-1]
        return self.classifier(x.mean(dim=(2, 3)))  # global average pool, no norm after the last stage


def count_params(model):
    """Trainable parameters as PyTorch counts them (BatchNorm running statistics excluded)."""
    return sum(p.numel() for p in model.parameters())


def transcnn(preset="SMALL", num_classes=1000, activation="SILU", **kwargs):
    """A preset (SMALL, BASE, MEDIUM, LARGE); with 1000 classes its parameter count is asserted against the spec."""
    name = preset.upper()
    if name not in PRESETS:
        raise ValueError(f"preset must be one of {list(PRESETS)}, got {preset!r}")
    model = TransCNN(num_classes=num_classes, activation=activation, **PRESETS[name], **kwargs)
    if num_classes == 1000:
        n = count_params(model)
        assert n == PRESET_PARAMS[name], f"{name}: {n:,} parameters, the spec says {PRESET_PARAMS[name]:,}"
    return model


def count_macs(model, height, width, in_chans=3):
    """Multiply-adds per image, counted as the Java ModelSummary counts them: convolutions (depthwise included),
    the linear head and the attention matmuls (q k^T and attention x v); no BatchNorm, pooling or activations."""
    total = [0]

    def conv_hook(m, inp, out):
        total[0] += out[0].numel() * (m.in_channels // m.groups) * m.kernel_size[0] * m.kernel_size[1]

    def linear_hook(m, inp, out):
        total[0] += m.in_features * m.out_features

    def attn_hook(m, inp, out):
        _, C, H, W = inp[0].shape
        if m.grid_size == 1:
            total[0] += 2 * (H * W) * (H * W) * C
        else:
            kv_tokens = (H // m.ds_ratio) * (W // m.ds_ratio)
            total[0] += 2 * H * W * m.grid_size ** 2 * C + 2 * H * W * kv_tokens * C

    hooks = []
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            hooks.append(m.register_forward_hook(conv_hook))
        elif isinstance(m, nn.Linear):
            hooks.append(m.register_forward_hook(linear_hook))
        elif isinstance(m, HMHSA):
            hooks.append(m.register_forward_hook(attn_hook))
    was_training = model.training
    try:
        model.eval()
        with torch.no_grad():
            model(torch.zeros(1, in_chans, height, width))
    finally:
        for h in hooks:
            h.remove()
        model.train(was_training)
    return total[0]


if __name__ == "__main__":
    torch.set_num_threads(2)
    for preset in PRESETS:
        m = transcnn(preset)  # asserts the parameter count
        print(f"{preset:6s} params {count_params(m):,}  MACs/image at 256x256 {count_macs(m, 256, 256):,}")
